"""Read a SIE file (type 4E/4I and the balance types 1-3) into typed records.

    doc = read_sie("books.se")                 # strict: SieError lists every error
    doc = read_sie(data, lenient=True, source_name="upload.se")
    result = parse("books.se")                 # never raises: document + all diagnostics

The error/warning rules are in ``include.sie4.validation``'s docstring and in
docs/sie4.md. Decisions worth knowing:

* encoding: CP437 unless the whole file is valid UTF-8 with non-ASCII bytes
  (UTF-8) or its non-ASCII bytes are Swedish letters in Latin-1/cp1252
  (``latin-1``); a warning when that contradicts ``#FORMAT PC8``;
* ``variant`` of a type-4 file is "E" when it holds balance records (#IB, #UB,
  #RES, #OIB, #OUB, #PSALDO, #PBUDGET) and "I" otherwise: ``#SIETYP`` says only
  "4". No ``#SIETYP`` means type 1 (the spec), or 4 if the file has vouchers;
* ``#RTRANS`` directly followed by a ``#TRANS`` (its twin, paired by position)
  gets ``in_balance=False``; an ``#RTRANS`` without twin counts; ``#BTRANS``
  never counts;
* a ``#VER`` with an empty ``{}`` block is loaded with no rows and a warning;
* ``#KTYP``, ``#ENHET`` and ``#SRU`` are folded into their ``Account``; for an
  account with no ``#KONTO`` they create one with an empty name (warning).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MemberDescriptorType
from typing import Any

from include.sie4.checksum import KsummaAccumulator
from include.sie4.errors import SieError
from include.sie4.lexer import Field, LexError, has_control_characters, split_line
from include.sie4.records import (
    Account,
    Address,
    Balance,
    BalanceKind,
    CompanyInfo,
    Diagnostic,
    Dimension,
    FiscalYear,
    KsummaStatus,
    ObjectBalance,
    ObjectBalanceKind,
    ObjectDef,
    ObjectList,
    PeriodBalance,
    PeriodBalanceKind,
    RowKind,
    SieDocument,
    Voucher,
    VoucherRow,
)
from include.sie4.validation import (
    ValueProblem,
    check_account,
    parse_amount,
    parse_date,
    parse_optional_date,
    parse_period,
    parse_quantity,
    parse_year_index,
)

__all__ = ["ParseResult", "decode_sie_bytes", "parse", "read_sie"]

Source = str | Path | bytes

# Swedish letters: their bytes in CP437 and in Latin-1/cp1252.
_CP437_SWEDISH = frozenset(b"\x86\x84\x94\x8f\x8e\x99\x82\x90\x81\x9a")
_LATIN1_SWEDISH = frozenset(b"\xe5\xe4\xf6\xc5\xc4\xd6\xe9\xc9\xfc\xdc")
_ASCII_BYTES = bytes(range(0x80))
_FORMAT_LINE = re.compile(r"^[ \t]*#FORMAT\b[ \t]*(\S*)", re.MULTILINE)

MANDATORY_LABELS = ("#FLAGGA", "#PROGRAM", "#FORMAT", "#GEN", "#SIETYP", "#FNAMN")
ROW_LABELS = {"#TRANS": RowKind.TRANS, "#RTRANS": RowKind.RTRANS, "#BTRANS": RowKind.BTRANS}
BALANCE_LABELS = frozenset({"#IB", "#UB", "#RES", "#OIB", "#OUB", "#PSALDO", "#PBUDGET"})
# Fast path for the common voucher row: account, object list, amount, then
# optionally date, text, quantity and signature, each plain (texts quoted, read
# with the lexer's own pattern). The general path reads such a line the same way;
# anything else (and anything it would warn about) takes the general lexer.
_PLAIN_TEXT = r'"((?:\\"|[^"])*+)"'
_FAST_ROW = re.compile(
    r"(#(?:TRANS|RTRANS|BTRANS))[ \t]+(\d{1,6})[ \t]+\{([^{}\\]*)\}[ \t]+(-?\d+(?:\.\d{1,2})?)"
    r'(?:[ \t]+(?:(\d{8})|"")'
    r"(?:[ \t]+" + _PLAIN_TEXT + r'(?:[ \t]+(?:(-?\d+(?:\.\d{1,8})?)|"")'
    r"(?:[ \t]+" + _PLAIN_TEXT + r")?)?)?)?"
)
_PLAIN_WORD = r'(?:"([^"\\]*)"|([^ \t"{}]+))'
# A plain #VER line: series, number, date, then optionally text, registration date
# and signature.
_FAST_VER = re.compile(
    r"#VER[ \t]+" + _PLAIN_WORD + r"[ \t]+" + _PLAIN_WORD + r"[ \t]+(\d{8})"
    r"(?:[ \t]+" + _PLAIN_TEXT + r'(?:[ \t]+(?:(\d{8})|"")(?:[ \t]+' + _PLAIN_TEXT + r")?)?)?"
)
# Control characters other than line ends: a file without them needs no per-line check.
_CONTROL_NOT_LINE_END = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ZERO = Decimal(0)


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a frozen slots dataclass's fields, in field order.

    Setting the slots directly, as the frozen ``__init__`` does through
    ``object.__setattr__``, builds a record about three times faster. The
    fast path must set every field, so a change to the record's fields stops
    the import here rather than leave a field unset.
    """
    actual = tuple(f.name for f in fields(cls))
    descriptors = [cls.__dict__.get(name) for name in names]
    if (
        actual != names
        or hasattr(cls, "__post_init__")
        or not all(isinstance(d, MemberDescriptorType) for d in descriptors)
    ):
        raise RuntimeError(
            f"{cls.__name__} fields are {actual}, the reader's fast path sets {names}: "
            "update include/sie4/reader.py"
        )
    return tuple(d.__set__ for d in descriptors if isinstance(d, MemberDescriptorType))


_ROW_SETTERS = _slot_setters(
    VoucherRow,
    (
        "kind",
        "account",
        "objects",
        "amount",
        "date",
        "text",
        "quantity",
        "signature",
        "line",
        "in_balance",
    ),
)
_VOUCHER_SETTERS = _slot_setters(
    Voucher,
    ("series", "number", "date", "text", "registered_on", "signature", "rows", "line"),
)
# Known records that carry nothing the model keeps.
IGNORED_LABELS = frozenset({"#PROSA", "#KSUMMA", "#BKOD_TEXT"})


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything found in one file, whether or not it has errors.

    ``document`` is a best-effort reading (records with bad values left out);
    ``label_counts`` counts records by label as written (``#VER``, ``#TRANS``, ...).
    """

    document: SieDocument
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    label_counts: dict[str, int]
    source_name: str
    unreadable: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def decode_sie_bytes(data: bytes) -> tuple[str, str, list[Diagnostic]]:
    """Decode a file's bytes: (text, encoding name, warnings).

    CP437 is the format's encoding and the default (every byte maps). A file
    whose bytes are all valid UTF-8 and include non-ASCII ones is UTF-8; one
    whose non-ASCII bytes are mostly Latin-1 Swedish letters is Latin-1
    (decoded as cp1252 where possible). A non-CP437 file gets a warning on its
    ``#FORMAT`` line (or line 1).
    """
    warnings: list[Diagnostic] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.isascii():
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            high = data.translate(None, _ASCII_BYTES)
            latin = sum(high.count(b) for b in _LATIN1_SWEDISH)
            cp437 = sum(high.count(b) for b in _CP437_SWEDISH)
            if latin > cp437:
                encoding = "latin-1"
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
            else:
                encoding = "cp437"
                text = data.decode("cp437")
    else:
        encoding = "cp437"
        text = data.decode("ascii")
    if encoding != "cp437":
        m = _FORMAT_LINE.search(text)
        if m is not None:
            line = text.count("\n", 0, m.start()) + 1
            declared = m.group(1).strip('"') or "(empty)"
            warnings.append(
                Diagnostic(
                    line,
                    f"bytes are {encoding} but #FORMAT says {declared}; SIE files are "
                    "CP437 (#FORMAT PC8). Read as " + encoding,
                    "warning",
                )
            )
        else:
            warnings.append(
                Diagnostic(1, f"bytes are {encoding}, not CP437 as SIE requires", "warning")
            )
    return text, encoding, warnings


def read_sie(
    source: Source,
    *,
    lenient: bool = False,
    verify_checksum: bool = True,
    source_name: str | None = None,
) -> SieDocument:
    """Read a SIE file (path or bytes). Raises SieError listing every error found."""
    result = parse(
        source, lenient=lenient, verify_checksum=verify_checksum, source_name=source_name
    )
    if result.errors:
        raise SieError(
            result.errors,
            source=result.source_name,
            warnings=result.warnings,
            unreadable=result.unreadable,
        )
    return result.document


def parse(
    source: Source,
    *,
    lenient: bool = False,
    verify_checksum: bool = True,
    source_name: str | None = None,
) -> ParseResult:
    """Read a SIE file without raising: a best-effort document plus all diagnostics."""
    if isinstance(source, bytes):
        name = source_name or "<bytes>"
        data = source
    else:
        name = source_name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            return _unreadable(name, f"cannot read file: {exc.strerror or exc}")
    if not data.strip():
        return _unreadable(name, "file is empty")
    if b"\x00" in data:
        return _unreadable(name, "file holds NUL bytes: binary, not SIE")
    text, encoding, decode_warnings = decode_sie_bytes(data)
    parser = _Parser(lenient=lenient, verify_checksum=verify_checksum)
    parser.warnings.extend(decode_warnings)
    # Without control characters inside lines (a CR only right before an LF, which
    # the line strip removes) the per-line check can be skipped.
    check_controls = _CONTROL_NOT_LINE_END.search(text) is not None or text.count(
        "\r"
    ) != text.count("\r\n")
    # Reading builds many small objects and no reference cycles: pausing the cyclic
    # garbage collector meanwhile saves its repeated scans of them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        parser.run(text.split("\n"), check_controls=check_controls)
    finally:
        if gc_was_enabled:
            gc.enable()
    if not parser.known_records:
        return _unreadable(name, "no SIE records found: not a SIE file")
    document = parser.build(encoding)
    errors = tuple(sorted(parser.errors, key=lambda d: d.line))
    warnings = tuple(sorted(parser.warnings, key=lambda d: d.line))
    return ParseResult(
        document=replace(document, warnings=warnings),
        errors=errors,
        warnings=warnings,
        label_counts=dict(parser.counts),
        source_name=name,
    )


def _unreadable(name: str, message: str) -> ParseResult:
    return ParseResult(
        document=SieDocument(),
        errors=(Diagnostic(0, message),),
        warnings=(),
        label_counts={},
        source_name=name,
        unreadable=True,
    )


# A #VER line's values: series, number, date, text, registered_on, signature.
_VoucherHeader = tuple[str, str, date, str, date | None, str]


@dataclass(slots=True)
class _OpenVoucher:
    header: _VoucherHeader | None  # None when the #VER line itself had errors
    line: int
    broken: bool = False  # a row had errors: its balance is unknown
    has_rtrans: bool = False  # only then can a row be left out of the balance by its twin
    rows: list[VoucherRow] = field(default_factory=list)


@dataclass(slots=True)
class _AccountParts:
    number: str
    name: str | None = None
    account_type: str | None = None
    unit: str | None = None
    sru_codes: list[str] = field(default_factory=list)
    line: int = 0


def _text(fields: Sequence[Field], index: int) -> str:
    """Field ``index`` as text; empty when absent. An object list there is a problem."""
    if index >= len(fields):
        return ""
    value = fields[index]
    if isinstance(value, tuple):
        raise ValueProblem(f"object list where field {index + 1} should be a value")
    return value


def _object_list(inner: str) -> tuple[ObjectList, str] | None:
    """The text between a row's braces as (objects, their items joined for #KSUMMA).

    None when the lexer would report something (unterminated quote, odd item
    count): the general path reads such a row. Lexing the braces alone gives
    the same items as lexing the whole line: ``inner`` holds no brace or
    backslash, and a quote left open inside it raises here.
    """
    try:
        fields = split_line("{" + inner + "}")
    except LexError:
        return None
    if len(fields) != 1 or not isinstance(fields[0], tuple) or len(fields[0]) % 2:
        return None
    items = fields[0]
    return tuple(zip(items[::2], items[1::2], strict=True)), "".join(items)


def _objects(items: tuple[str, ...]) -> ObjectList:
    if len(items) % 2:
        raise ValueProblem(f"object list {{{' '.join(items)}}} has an odd number of items")
    return tuple((items[i], items[i + 1]) for i in range(0, len(items), 2))


class _Parser:
    def __init__(self, *, lenient: bool, verify_checksum: bool) -> None:
        self.lenient = lenient
        self.verify_checksum = verify_checksum
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.counts: dict[str, int] = {}
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
        self.accounts: dict[str, _AccountParts] = {}
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
        self.pending: _OpenVoucher | None = None  # #VER seen, waiting for '{'
        self.open: _OpenVoucher | None = None  # inside '{' ... '}'
        self.handlers: dict[str, Callable[[int, Sequence[Field]], None]] = {
            "#FLAGGA": self._flagga,
            "#PROGRAM": self._program,
            "#FORMAT": self._format,
            "#GEN": self._gen,
            "#SIETYP": self._sietyp,
            "#FNAMN": self._fnamn,
            "#ORGNR": self._orgnr,
            "#FNR": self._simple("#FNR", "company_id"),
            "#FTYP": self._simple("#FTYP", "company_type"),
            "#BKOD": self._simple("#BKOD", "sni_code"),
            "#ADRESS": self._adress,
            "#RAR": self._rar,
            "#TAXAR": self._taxar,
            "#OMFATTN": self._omfattn,
            "#KPTYP": self._kptyp,
            "#VALUTA": self._valuta,
            "#KONTO": self._konto,
            "#KTYP": self._ktyp,
            "#ENHET": self._enhet,
            "#SRU": self._sru,
            "#DIM": self._dim,
            "#UNDERDIM": self._underdim,
            "#OBJEKT": self._objekt,
            "#IB": self._balance(BalanceKind.IB),
            "#UB": self._balance(BalanceKind.UB),
            "#RES": self._balance(BalanceKind.RES),
            "#OIB": self._object_balance(ObjectBalanceKind.OIB),
            "#OUB": self._object_balance(ObjectBalanceKind.OUB),
            "#PSALDO": self._period_balance(PeriodBalanceKind.PSALDO),
            "#PBUDGET": self._period_balance(PeriodBalanceKind.PBUDGET),
            "#VER": self._ver,
        }

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

    # -- main loop -----------------------------------------------------------
    def run(self, lines: list[str], *, check_controls: bool = True) -> None:
        """Read the lines (``lines[i]`` is line ``i + 1``).

        ``check_controls=False`` skips the per-line control-character check; only
        for text already known to hold none inside a line (see ``parse``).
        """
        ksumma = self.ksumma
        counts = self.counts
        fast_row = _FAST_ROW.fullmatch
        fast_ver = _FAST_VER.fullmatch
        row_kinds = ROW_LABELS
        btrans = RowKind.BTRANS
        rtrans = RowKind.RTRANS
        first_use = self.first_use
        dates: dict[str, date] = {}
        object_lists: dict[str, tuple[ObjectList, str] | None] = {}
        # #KSUMMA text of fast-path rows, added to the CRC before the next record.
        crc_text: list[str] = []
        crc_on = ksumma.opened_at is not None and not ksumma.closed
        fast_ok = not ksumma.closed  # after the closing #KSUMMA every row gets a warning
        trans_rows = other_rows = 0  # fast-path rows (#TRANS counted at the end)
        new = object.__new__
        (
            set_kind,
            set_account,
            set_objects,
            set_amount,
            set_date,
            set_text,
            set_quantity,
            set_signature,
            set_line,
            set_in_balance,
        ) = _ROW_SETTERS
        open_ = self.open
        # Bound to the open voucher's rows whenever ``open_`` changes to one.
        no_rows: list[VoucherRow] = []
        append_row = open_.rows.append if open_ is not None else no_rows.append
        for number, raw in enumerate(lines, start=1):
            text = raw.strip(" \t\r")
            if not text:
                continue
            if text[0] != "#":
                if text == "{":
                    if self.pending is not None and open_ is None:
                        open_ = self.open = self.pending
                        append_row = open_.rows.append
                        self.pending = None
                        continue
                    self._open_block(number)
                elif text == "}":
                    if open_ is not None and self.pending is None:
                        self._finish_voucher(open_)
                        open_ = self.open = None
                        continue
                    self._close_block(number)
                else:
                    shown = text if len(text) <= 40 else text[:37] + "..."
                    self.tolerable(number, f"not a SIE record: {shown!r}")
                open_ = self.open
                if open_ is not None:
                    append_row = open_.rows.append
                continue
            if check_controls and has_control_characters(text):
                self.warn(number, "control characters in the record")
            elif open_ is not None and fast_ok and (m := fast_row(text)) is not None:
                # The common voucher row, read without the lexer. Anything the
                # general path would report on goes there instead.
                label, account, inner, amount, row_date, row_text, quantity, signature = m.groups()
                try:
                    entry = object_lists[inner]
                except KeyError:
                    entry = object_lists[inner] = _object_list(inner)
                if entry is not None:
                    day: date | None = None
                    if row_date is not None:
                        day = dates.get(row_date)
                        if day is None:
                            try:
                                day = dates[row_date] = parse_date(row_date)
                            except ValueProblem:
                                entry = None
                if entry is not None:
                    objects, flat = entry
                    kind = row_kinds[label]
                    if row_text and "\\" in row_text:
                        row_text = row_text.replace('\\"', '"')
                    if signature and "\\" in signature:
                        signature = signature.replace('\\"', '"')
                    # VoucherRow(kind, account, ...) with its slots set directly.
                    row = new(VoucherRow)
                    set_kind(row, kind)
                    set_account(row, account)
                    set_objects(row, objects)
                    set_amount(row, Decimal(amount))
                    set_date(row, day)
                    set_text(row, row_text or "")
                    set_quantity(row, Decimal(quantity) if quantity else None)
                    set_signature(row, signature or "")
                    set_line(row, number)
                    set_in_balance(row, kind is not btrans)
                    append_row(row)
                    if kind is rtrans:
                        open_.has_rtrans = True
                    if account not in first_use:
                        first_use[account] = number
                    if label == "#TRANS":
                        if not trans_rows:
                            counts.setdefault(label, 0)
                        trans_rows += 1
                    else:
                        counts[label] = counts.get(label, 0) + 1
                        other_rows += 1
                    if crc_on:
                        crc_text.append(
                            f"{label}{account}{flat}{amount}{row_date or ''}{row_text or ''}"
                            f"{quantity or ''}{signature or ''}"
                        )
                    continue
            elif fast_ok and (m := fast_ver(text)) is not None:
                # A plain #VER line; an unreadable date goes to the general path.
                (q_series, series, q_number, voucher_number, ver_date, ver_text, registered_on,
                 signature) = m.groups()  # fmt: skip
                day = dates.get(ver_date)
                if day is None:
                    try:
                        day = dates[ver_date] = parse_date(ver_date)
                    except ValueProblem:
                        day = None
                registered: date | None = None
                if registered_on is not None and day is not None:
                    registered = dates.get(registered_on)
                    if registered is None:
                        try:
                            registered = dates[registered_on] = parse_date(registered_on)
                        except ValueProblem:
                            day = None
                if day is not None:
                    if ver_text and "\\" in ver_text:
                        ver_text = ver_text.replace('\\"', '"')
                    if signature and "\\" in signature:
                        signature = signature.replace('\\"', '"')
                    if series is None:
                        series = q_series
                    if voucher_number is None:
                        voucher_number = q_number
                    counts["#VER"] = counts.get("#VER", 0) + 1
                    self.known_records += 1
                    if crc_on:
                        crc_text.append(
                            f"#VER{series}{voucher_number}{ver_date}{ver_text or ''}"
                            f"{registered_on or ''}{signature or ''}"
                        )
                    if self.pending is not None:
                        self.error(self.pending.line, "#VER without its { } block of rows")
                    if open_ is not None:
                        self.error(open_.line, "voucher block not closed before the next #VER")
                        self._finish_voucher(open_)
                        open_ = self.open = None
                    header = (
                        series,
                        voucher_number,
                        day,
                        ver_text or "",
                        registered,
                        signature or "",
                    )
                    self.pending = _OpenVoucher(header, number)
                    continue
            if crc_text:
                ksumma.add_text("".join(crc_text))
                crc_text.clear()
            self._record(number, text)
            open_ = self.open
            if open_ is not None:
                append_row = open_.rows.append
            crc_on = ksumma.opened_at is not None and not ksumma.closed
            fast_ok = not ksumma.closed
        if crc_text:
            ksumma.add_text("".join(crc_text))
        self.known_records += trans_rows + other_rows
        if trans_rows:
            counts["#TRANS"] += trans_rows
        last = len(lines)
        if self.pending is not None:
            self.error(self.pending.line, "#VER without its { } block of rows")
        if self.open is not None:
            self.error(
                self.open.line,
                f"voucher block opened on line {self.open.line} is never closed "
                f"(truncated file?) at line {last}",
            )
        status, diagnostics = self.ksumma.finish()
        self.ksumma_status = status
        for d in diagnostics:
            if "mismatch" in d.message and not self.verify_checksum:
                continue
            self.errors.append(d)
        self._check_declared_accounts()

    def _record(self, number: int, text: str) -> None:
        """The general path: one record (``text`` starts with ``#``) through the lexer."""
        counts = self.counts
        ksumma = self.ksumma
        problems: list[str] = []
        try:
            fields = split_line(text, problems)
        except LexError as exc:
            bad_label = text.split()[0]
            counts[bad_label] = counts.get(bad_label, 0) + 1
            self.error(number, f"{bad_label}: {exc}")
            return
        for problem in problems:
            self.warn(number, problem)
        first_field = fields[0]
        if isinstance(first_field, tuple):  # pragma: no cover - text starts with '#'
            return
        label = first_field
        counts[label] = counts.get(label, 0) + 1
        values = fields[1:]
        if ksumma.closed and label != "#KSUMMA":
            self.warn(number, "record after the closing #KSUMMA is not covered by it")
        else:
            ksumma.add(number, label, values)
        kind = ROW_LABELS.get(label)
        if self.pending is not None:
            if kind is not None:
                # Rows right after #VER: the '{' is missing; read them as its block.
                self.error(self.pending.line, "#VER block has no opening '{'")
                self.open = self.pending
            else:
                self.error(self.pending.line, "#VER without its { } block of rows")
            self.pending = None
        if kind is not None:
            self.known_records += 1
            self._row(number, kind, values)
            return
        handler = self.handlers.get(label)
        if handler is not None:
            self.known_records += 1
            if self.open is not None and label != "#VER":
                self.error(number, f"{label} is not allowed inside a voucher's {{ }} block")
                return
            try:
                handler(number, values)
            except ValueProblem as exc:
                self.error(number, f"{label}: {exc}")
        elif label in IGNORED_LABELS:
            self.known_records += 1
        else:
            self.warn(number, f"unknown record {label} ignored")

    # -- vouchers ------------------------------------------------------------
    def _ver(self, line: int, f: Sequence[Field]) -> None:
        if self.open is not None:
            self.error(self.open.line, "voucher block not closed before the next #VER")
            self._finish_voucher(self.open)
            self.open = None
        header: _VoucherHeader | None = None
        try:
            series = _text(f, 0)
            number = _text(f, 1)
            if len(f) < 3:
                raise ValueProblem("missing voucher date")
            ver_date = parse_date(_text(f, 2), "voucher date")
            text = _text(f, 3)
            registered = parse_optional_date(_text(f, 4), "registration date")
            signature = _text(f, 5)
            header = (series, number, ver_date, text, registered, signature)
            self.extra(line, "#VER", f, 6)
        except ValueProblem as exc:
            self.error(line, f"#VER: {exc}")
        self.pending = _OpenVoucher(header, line)

    def _open_block(self, line: int) -> None:
        if self.pending is None:
            self.error(line, "'{' without a #VER before it")
            # Swallow the block so its rows are not also reported as outside one.
            self.open = _OpenVoucher(None, line)
            return
        if self.open is not None:  # pragma: no cover - pending implies not open
            self.open = None
        self.open = self.pending
        self.pending = None

    def _close_block(self, line: int) -> None:
        if self.pending is not None:
            self.error(self.pending.line, "#VER without its { } block of rows")
            self.pending = None
            self.error(line, "'}' without an opening '{'")
            return
        if self.open is None:
            self.error(line, "'}' without an opening '{'")
            return
        self._finish_voucher(self.open)
        self.open = None

    def _finish_voucher(self, v: _OpenVoucher) -> None:
        header = v.header
        if header is None:
            return
        rows = v.rows
        if not rows:
            self.warn(v.line, "voucher has an empty { } block: no rows")
        if v.has_rtrans:
            for i, row in enumerate(rows):
                if row.kind is RowKind.RTRANS and i + 1 < len(rows):
                    twin = rows[i + 1]
                    if twin.kind is RowKind.TRANS:
                        rows[i] = replace(row, in_balance=False)
                        if twin.account != row.account or twin.amount != row.amount:
                            self.warn(
                                twin.line,
                                f"#TRANS after #RTRANS (line {row.line}) differs in account "
                                "or amount; paired by position",
                            )
        total = sum([r.amount for r in rows if r.in_balance], _ZERO)
        if total and not v.broken:
            self.tolerable(
                v.line,
                f"voucher {header[0] or '-'} {header[1] or '-'} does not "
                f"balance: rows sum to {total}",
            )
        # Voucher(*header, tuple(rows), v.line) with its slots set directly.
        voucher = object.__new__(Voucher)
        (
            set_series,
            set_number,
            set_date,
            set_text,
            set_registered,
            set_signature,
            set_rows,
            set_line,
        ) = _VOUCHER_SETTERS
        series, number, day, text, registered_on, signature = header
        set_series(voucher, series)
        set_number(voucher, number)
        set_date(voucher, day)
        set_text(voucher, text)
        set_registered(voucher, registered_on)
        set_signature(voucher, signature)
        set_rows(voucher, tuple(rows))
        set_line(voucher, v.line)
        self.vouchers.append(voucher)

    def _row(self, line: int, kind: RowKind, f: Sequence[Field]) -> None:
        label = "#" + kind.value
        if self.open is None:
            self.error(line, f"{label} outside a voucher's {{ }} block")
            return
        try:
            account = check_account(_text(f, 0))
            if len(f) > 1 and isinstance(f[1], tuple):
                objects = _objects(f[1])
                rest = f[2:]
            else:
                self.warn(line, f"{label}: object list {{}} missing")
                objects = ()
                rest = f[1:]
            if not rest:
                raise ValueProblem("row without amount")
            amount = parse_amount(_text(rest, 0))
            row_date = parse_optional_date(_text(rest, 1), "transaction date")
            quantity = parse_quantity(_text(rest, 3))
            row = VoucherRow(
                kind=kind,
                account=account,
                objects=objects,
                amount=amount,
                date=row_date,
                text=_text(rest, 2),
                quantity=quantity,
                signature=_text(rest, 4),
                line=line,
                in_balance=kind is not RowKind.BTRANS,
            )
            if len(rest) > 5:
                self.warn(line, f"{label}: {len(rest) - 5} extra field(s) ignored")
        except ValueProblem as exc:
            self.error(line, f"{label}: {exc}")
            self.open.broken = True
            return
        self.open.rows.append(row)
        if kind is RowKind.RTRANS:
            self.open.has_rtrans = True
        if account not in self.first_use:
            self.first_use[account] = line

    def _check_declared_accounts(self) -> None:
        if not self.declared:
            return  # no chart of accounts in the file (4I): nothing to check against
        for account, line in self.first_use.items():
            if account not in self.declared:
                self.tolerable(line, f"account {account} is used but not declared by #KONTO")

    # -- identification ------------------------------------------------------
    def _flagga(self, line: int, f: Sequence[Field]) -> None:
        value = _text(f, 0)
        if value not in ("0", "1"):
            self.warn(line, f"#FLAGGA should be 0 or 1, not {value!r}")
        self.flag = 1 if value == "1" else 0
        self.extra(line, "#FLAGGA", f, 1)

    def _program(self, line: int, f: Sequence[Field]) -> None:
        self.program = (_text(f, 0), _text(f, 1))
        if not self.program[0]:
            self.warn(line, "#PROGRAM without a program name")
        self.extra(line, "#PROGRAM", f, 2)

    def _format(self, line: int, f: Sequence[Field]) -> None:
        value = _text(f, 0)
        if value != "PC8":
            self.warn(line, f"#FORMAT {value!r}: SIE files are PC8 (CP437)")
        self.file_format = value or "PC8"
        self.extra(line, "#FORMAT", f, 1)

    def _gen(self, line: int, f: Sequence[Field]) -> None:
        self.generated_on = parse_date(_text(f, 0), "generation date")
        self.generated_by = _text(f, 1)
        self.extra(line, "#GEN", f, 2)

    def _sietyp(self, line: int, f: Sequence[Field]) -> None:
        value = _text(f, 0)
        if value not in ("1", "2", "3", "4"):
            raise ValueProblem(f"unknown SIE type {value!r} (expected 1-4)")
        self.sie_type = int(value)
        self.extra(line, "#SIETYP", f, 1)

    def _fnamn(self, line: int, f: Sequence[Field]) -> None:
        words = [_text(f, i) for i in range(len(f))]
        if len(words) > 1:
            self.warn(line, "#FNAMN: name with spaces is not quoted; fields joined")
        self.company["name"] = " ".join(words)
        if not self.company["name"].strip():
            self.warn(line, "#FNAMN: company name is empty")

    def _orgnr(self, line: int, f: Sequence[Field]) -> None:
        self.company["org_number"] = _text(f, 0)
        self.company["acquisition_number"] = _text(f, 1)
        self.extra(line, "#ORGNR", f, 3)

    def _simple(self, label: str, key: str) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            self.company[key] = _text(f, 0)
            self.extra(line, label, f, 1)

        return handle

    def _adress(self, line: int, f: Sequence[Field]) -> None:
        if len(f) != 4:
            self.warn(line, f"#ADRESS has {len(f)} fields, expected 4")
        self.address = Address(_text(f, 0), _text(f, 1), _text(f, 2), _text(f, 3))

    def _rar(self, line: int, f: Sequence[Field]) -> None:
        index = parse_year_index(_text(f, 0))
        if len(f) < 2 or not any(f[1:]):
            self.warn(line, f"#RAR {index} without dates ignored")
            return
        start = parse_date(_text(f, 1), "fiscal year start")
        end = parse_date(_text(f, 2), "fiscal year end")
        if end < start:
            raise ValueProblem(f"fiscal year {index} ends ({end}) before it starts ({start})")
        if any(y.index == index for y in self.fiscal_years):
            self.warn(line, f"#RAR {index} given twice; the later one is used")
            self.fiscal_years = [y for y in self.fiscal_years if y.index != index]
        self.fiscal_years.append(FiscalYear(index, start, end))
        self.year_lines[index] = line
        self.extra(line, "#RAR", f, 3)

    def _taxar(self, line: int, f: Sequence[Field]) -> None:
        value = _text(f, 0)
        if len(value) == 4 and value.isdigit():
            self.tax_year = int(value)
        else:
            self.warn(line, f"#TAXAR: tax year {value!r} is not a year; ignored")
        self.extra(line, "#TAXAR", f, 1)

    def _omfattn(self, line: int, f: Sequence[Field]) -> None:
        self.period_covered_to = parse_date(_text(f, 0), "#OMFATTN date")
        self.extra(line, "#OMFATTN", f, 1)

    def _kptyp(self, line: int, f: Sequence[Field]) -> None:
        self.chart_type = _text(f, 0)
        self.extra(line, "#KPTYP", f, 1)

    def _valuta(self, line: int, f: Sequence[Field]) -> None:
        self.currency = _text(f, 0)
        self.extra(line, "#VALUTA", f, 1)

    # -- chart of accounts ---------------------------------------------------
    def _parts(self, number: str, line: int) -> _AccountParts:
        parts = self.accounts.get(number)
        if parts is None:
            parts = self.accounts[number] = _AccountParts(number, line=line)
        return parts

    def _konto(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(_text(f, 0))
        parts = self._parts(number, line)
        if parts.name is not None:
            self.warn(line, f"#KONTO {number} declared twice; the later name is used")
        parts.name = _text(f, 1)
        parts.line = line
        self.declared.add(number)
        self.extra(line, "#KONTO", f, 2)

    def _ktyp(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(_text(f, 0))
        value = _text(f, 1)
        if value not in ("T", "S", "K", "I"):
            self.warn(line, f"#KTYP {number}: account type {value!r} is not T, S, K or I")
        self._parts(number, line).account_type = value or None
        self.extra(line, "#KTYP", f, 2)

    def _enhet(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(_text(f, 0))
        self._parts(number, line).unit = _text(f, 1)
        self.extra(line, "#ENHET", f, 2)

    def _sru(self, line: int, f: Sequence[Field]) -> None:
        number = check_account(_text(f, 0))
        code = _text(f, 1).strip()
        parts = self._parts(number, line)
        if not code:
            self.warn(line, f"#SRU {number}: empty SRU code ignored")
        else:
            parts.sru_codes.append(code)
        self.extra(line, "#SRU", f, 2)

    def _dim(self, line: int, f: Sequence[Field]) -> None:
        number = _text(f, 0)
        if not number:
            raise ValueProblem("missing dimension number")
        self.dimensions.append(Dimension(number, _text(f, 1), None, line))
        self.extra(line, "#DIM", f, 2)

    def _underdim(self, line: int, f: Sequence[Field]) -> None:
        number = _text(f, 0)
        if not number:
            raise ValueProblem("missing dimension number")
        self.dimensions.append(Dimension(number, _text(f, 1), _text(f, 2) or None, line))
        self.extra(line, "#UNDERDIM", f, 3)

    def _objekt(self, line: int, f: Sequence[Field]) -> None:
        dim = _text(f, 0)
        if not dim:
            raise ValueProblem("missing dimension number")
        self.objects.append(ObjectDef(dim, _text(f, 1), _text(f, 2), line))
        self.extra(line, "#OBJEKT", f, 3)

    # -- balances ------------------------------------------------------------
    def _balance(self, kind: BalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(_text(f, 0))
            account = check_account(_text(f, 1))
            if len(f) < 3:
                raise ValueProblem("missing amount")
            amount = parse_amount(_text(f, 2))
            quantity = parse_quantity(_text(f, 3))
            self.balances.append(Balance(kind, year, account, amount, quantity, line))
            self.extra(line, "#" + kind.value, f, 4)

        return handle

    def _object_balance(self, kind: ObjectBalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(_text(f, 0))
            account = check_account(_text(f, 1))
            objects, rest = self._objects_then_rest(line, "#" + kind.value, f, 2)
            if not rest:
                raise ValueProblem("missing amount")
            amount = parse_amount(_text(rest, 0))
            quantity = parse_quantity(_text(rest, 1))
            self.object_balances.append(
                ObjectBalance(kind, year, account, objects, amount, quantity, line)
            )
            if len(rest) > 2:
                self.warn(line, f"#{kind.value}: {len(rest) - 2} extra field(s) ignored")

        return handle

    def _period_balance(self, kind: PeriodBalanceKind) -> Callable[[int, Sequence[Field]], None]:
        def handle(line: int, f: Sequence[Field]) -> None:
            year = parse_year_index(_text(f, 0))
            period = parse_period(_text(f, 1))
            account = check_account(_text(f, 2))
            objects, rest = self._objects_then_rest(line, "#" + kind.value, f, 3)
            if not rest:
                raise ValueProblem("missing amount")
            amount = parse_amount(_text(rest, 0))
            quantity = parse_quantity(_text(rest, 1))
            self.period_balances.append(
                PeriodBalance(kind, year, period, account, objects, amount, quantity, line)
            )
            if len(rest) > 2:
                self.warn(line, f"#{kind.value}: {len(rest) - 2} extra field(s) ignored")

        return handle

    def _objects_then_rest(
        self, line: int, label: str, f: Sequence[Field], at: int
    ) -> tuple[ObjectList, Sequence[Field]]:
        if len(f) > at and isinstance(f[at], tuple):
            return _objects(f[at]), f[at + 1 :]  # type: ignore[arg-type]
        self.warn(line, f"{label}: object list {{}} missing")
        return (), f[at:]

    # -- result --------------------------------------------------------------
    def build(self, encoding: str) -> SieDocument:
        for label in MANDATORY_LABELS:
            if label not in self.counts:
                self.warn(1, f"file has no {label} record")
        years = {y.index: y for y in self.fiscal_years}
        for index, year in years.items():
            later = years.get(index + 1)
            if later is not None and (later.start - year.end).days != 1:
                self.warn(
                    self.year_lines[index],
                    f"fiscal year {index} ends {year.end} but year {index + 1} "
                    f"starts {later.start}: not consecutive",
                )
        has_balances = any(label in self.counts for label in BALANCE_LABELS)
        sie_type = self.sie_type
        if sie_type is None:
            sie_type = 4 if self.vouchers or "#VER" in self.counts else 1
        variant = ("E" if has_balances else "I") if sie_type == 4 else None
        accounts = []
        for parts in self.accounts.values():
            if parts.name is None:
                self.warn(parts.line, f"account {parts.number} has no #KONTO; empty name used")
            accounts.append(
                Account(
                    number=parts.number,
                    name=parts.name or "",
                    account_type=parts.account_type,
                    unit=parts.unit,
                    sru_codes=tuple(parts.sru_codes),
                    line=parts.line,
                )
            )
        company = CompanyInfo(
            name=self.company.get("name", ""),
            org_number=self.company.get("org_number", ""),
            company_id=self.company.get("company_id", ""),
            address=self.address,
            company_type=self.company.get("company_type", ""),
            sni_code=self.company.get("sni_code", ""),
            acquisition_number=self.company.get("acquisition_number", ""),
        )
        return SieDocument(
            sie_type=sie_type,
            variant=variant,
            flag=self.flag,
            program=self.program,
            file_format=self.file_format,
            generated_on=self.generated_on,
            generated_by=self.generated_by,
            company=company,
            fiscal_years=tuple(sorted(self.fiscal_years, key=lambda y: -y.index)),
            tax_year=self.tax_year,
            period_covered_to=self.period_covered_to,
            chart_type=self.chart_type,
            currency=self.currency,
            accounts=tuple(accounts),
            dimensions=tuple(self.dimensions),
            objects=tuple(self.objects),
            balances=tuple(self.balances),
            object_balances=tuple(self.object_balances),
            period_balances=tuple(self.period_balances),
            vouchers=tuple(self.vouchers),
            encoding=encoding,
            ksumma=getattr(self, "ksumma_status", KsummaStatus.ABSENT),
        )
