"""The reader's state while it reads one file, and how it records what it finds.

``ParserState`` holds every value read so far and the diagnostics; the record
handlers (``header_records``, ``voucher_records``) and the main loop
(``parser``) work on it. Whether a finding is an error or a warning is decided
where it is found, by the rules in ``include.sie4.rules`` (and
``validation`` for values): ``tolerable`` findings are errors in strict mode and
warnings in lenient mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from include.sie4.checksum import KsummaAccumulator
from include.sie4.lexer import Field
from include.sie4.records import (
    Address,
    Balance,
    Diagnostic,
    Dimension,
    FiscalYear,
    KsummaStatus,
    ObjectBalance,
    ObjectDef,
    ObjectList,
    PeriodBalance,
    Voucher,
    VoucherRow,
)
from include.sie4.validation import ValueProblem

__all__ = [
    "AccountParts",
    "OpenVoucher",
    "ParserState",
    "VoucherHeader",
    "field_text",
    "object_pairs",
]

# A #VER line's values: series, number, date, text, registered_on, signature.
VoucherHeader = tuple[str, str, date, str, date | None, str]


@dataclass(slots=True)
class OpenVoucher:
    header: VoucherHeader | None  # None when the #VER line itself had errors
    line: int
    broken: bool = False  # a row had errors: its balance is unknown
    has_rtrans: bool = False  # only then can a row be left out of the balance by its twin
    rows: list[VoucherRow] = field(default_factory=list)


@dataclass(slots=True)
class AccountParts:
    number: str
    name: str | None = None
    account_type: str | None = None
    unit: str | None = None
    sru_codes: list[str] = field(default_factory=list)
    line: int = 0


def field_text(fields: Sequence[Field], index: int) -> str:
    """Field ``index`` as text; empty when absent. An object list there is a problem."""
    if index >= len(fields):
        return ""
    value = fields[index]
    if isinstance(value, tuple):
        raise ValueProblem(f"object list where field {index + 1} should be a value")
    return value


def object_pairs(items: tuple[str, ...]) -> ObjectList:
    if len(items) % 2:
        raise ValueProblem(f"object list {{{' '.join(items)}}} has an odd number of items")
    return tuple((items[i], items[i + 1]) for i in range(0, len(items), 2))


class ParserState:
    """Values read so far, diagnostics, and the voucher block being read."""

    def __init__(self, *, lenient: bool, verify_checksum: bool) -> None:
        self.lenient = lenient
        self.verify_checksum = verify_checksum
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.counts: dict[str, int] = {}
        # Label -> line of its first record; and where the fast paths saw their first
        # record (they give the parser the header lines only).
        self.first_lines: dict[str, int] = {}
        self.first_record_at: int | None = None
        self.known_records = 0
        self.ksumma = KsummaAccumulator()
        # Header values.
        self.flag = 0
        self.program: tuple[str, str] = ("", "")
        self.file_format = "PC8"
        self.generated_on: date | None = None
        self.generated_by = ""
        self.sie_type: int | None = None
        self.company: dict[str, str] = {}
        self.address: Address | None = None
        self.fiscal_years: list[FiscalYear] = []
        self.year_lines: dict[int, int] = {}
        self.tax_year: int | None = None
        self.period_covered_to: date | None = None
        self.chart_type = ""
        self.currency = ""
        self.accounts: dict[str, AccountParts] = {}
        self.declared: set[str] = set()
        self.dimensions: list[Dimension] = []
        self.objects: list[ObjectDef] = []
        self.balances: list[Balance] = []
        self.object_balances: list[ObjectBalance] = []
        self.period_balances: list[PeriodBalance] = []
        self.vouchers: list[Voucher] = []
        # Account -> line of its first use on a voucher row (file order).
        self.first_use: dict[str, int] = {}
        # Voucher state.
        self.pending: OpenVoucher | None = None  # #VER seen, waiting for '{'
        self.open: OpenVoucher | None = None  # inside '{' ... '}'
        self.ksumma_status = KsummaStatus.ABSENT

    # -- diagnostics ---------------------------------------------------------
    def error(self, line: int, message: str) -> None:
        self.errors.append(Diagnostic(line, message, "error"))

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Diagnostic(line, message, "warning"))

    def tolerable(self, line: int, message: str) -> None:
        """An error in strict mode, a warning in lenient mode."""
        if self.lenient:
            self.warn(line, message)
        else:
            self.error(line, message)

    def extra(self, line: int, label: str, fields: Sequence[Field], allowed: int) -> None:
        if len(fields) > allowed:
            self.warn(line, f"{label}: {len(fields) - allowed} extra field(s) ignored")
