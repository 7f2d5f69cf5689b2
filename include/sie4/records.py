"""Typed records of a SIE file (frozen dataclasses).

This module is the contract between the reader, the writer, the bulk (columnar)
path, the books generator and the warehouse loader. Money is ``Decimal``
everywhere; dates are ``datetime.date``; account numbers and object ids stay
strings (leading zeros and non-numeric ids exist in real files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Severity = Literal["error", "warning"]

# A row's objects: ((dimension, object_id), ...) in file order.
ObjectList = tuple[tuple[str, str], ...]


class RowKind(StrEnum):
    """The label a voucher row was written with."""

    TRANS = "TRANS"
    RTRANS = "RTRANS"  # row added after registration
    BTRANS = "BTRANS"  # row removed after registration; never in the balance


class BalanceKind(StrEnum):
    IB = "IB"  # opening balance (balance-sheet accounts)
    UB = "UB"  # closing balance (balance-sheet accounts)
    RES = "RES"  # result for the year (income-statement accounts)


class ObjectBalanceKind(StrEnum):
    OIB = "OIB"
    OUB = "OUB"


class PeriodBalanceKind(StrEnum):
    PSALDO = "PSALDO"
    PBUDGET = "PBUDGET"


class KsummaStatus(StrEnum):
    ABSENT = "absent"
    OK = "ok"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """An error or warning found while reading, always with its line number (1-based)."""

    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class FiscalYear:
    """`#RAR index start end`; index 0 is the current year, -1 the previous one."""

    index: int
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class Address:
    """`#ADRESS contact street postal phone`."""

    contact: str = ""
    street: str = ""
    postal: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """`#KONTO number name`, with `#KTYP`, `#ENHET` and `#SRU` folded in."""

    number: str
    name: str
    account_type: str | None = None  # T/S/K/I (assets, liabilities, costs, income)
    unit: str | None = None
    sru_codes: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Dimension:
    """`#DIM number name` or `#UNDERDIM number name parent`."""

    number: str
    name: str
    parent: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """`#OBJEKT dimension object_id name`."""

    dimension: str
    object_id: str
    name: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class Balance:
    """`#IB`, `#UB` or `#RES`: year index, account, amount, optional quantity."""

    kind: BalanceKind
    year_index: int
    account: str
    amount: Decimal
    quantity: Decimal | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ObjectBalance:
    """`#OIB` / `#OUB year account {dim obj} amount [quantity]`."""

    kind: ObjectBalanceKind
    year_index: int
    account: str
    objects: ObjectList
    amount: Decimal
    quantity: Decimal | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class PeriodBalance:
    """`#PSALDO` / `#PBUDGET year period account {objects} amount [quantity]`."""

    kind: PeriodBalanceKind
    year_index: int
    period: str  # YYYYMM
    account: str
    objects: ObjectList
    amount: Decimal
    quantity: Decimal | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class VoucherRow:
    """`#TRANS`, `#RTRANS` or `#BTRANS account {objects} amount [date] [text] [qty] [sign]`.

    ``in_balance`` says whether the row counts towards balances: TRANS rows
    do; an RTRANS followed by its TRANS twin does not (the twin counts, so the
    pair counts once); an RTRANS without a twin does; BTRANS never does.
    ``date`` is None when the row carries no date of its own (use the voucher's).
    """

    kind: RowKind
    account: str
    objects: ObjectList
    amount: Decimal
    date: dt.date | None = None
    text: str = ""
    quantity: Decimal | None = None
    signature: str = ""
    line: int = 0
    in_balance: bool = True


@dataclass(frozen=True, slots=True)
class Voucher:
    """`#VER series number date [text] [registered_on] [signature]` and its rows."""

    series: str
    number: str
    date: dt.date
    text: str = ""
    registered_on: dt.date | None = None
    signature: str = ""
    rows: tuple[VoucherRow, ...] = ()
    line: int = 0

    @property
    def postings(self) -> tuple[VoucherRow, ...]:
        """The rows that count towards balances."""
        return tuple(r for r in self.rows if r.in_balance)

    @property
    def balance_difference(self) -> Decimal:
        """Sum of the counted rows; zero for a balanced voucher."""
        return sum((r.amount for r in self.rows if r.in_balance), Decimal(0))


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    """Identification records: `#FNAMN`, `#ORGNR`, `#FNR`, `#ADRESS`, `#FTYP`, `#BKOD`."""

    name: str = ""
    org_number: str = ""
    company_id: str = ""  # `#FNR`: the program's own id of the company
    address: Address | None = None
    company_type: str = ""  # `#FTYP`
    sni_code: str = ""  # `#BKOD`
    acquisition_number: str = ""  # second field of `#ORGNR` (förvärvsnummer)


@dataclass(frozen=True, slots=True)
class SieDocument:
    """A whole SIE file as records.

    ``sie_type`` is 1, 2, 3 or 4; ``variant`` is "E" (export) or "I" (import)
    for type 4 and None otherwise. ``encoding`` is the codec the bytes were
    decoded with ("cp437", "utf-8" or "latin-1"); the writer always writes cp437.
    """

    sie_type: int = 4
    variant: str | None = "E"
    flag: int = 0
    program: tuple[str, str] = ("", "")
    file_format: str = "PC8"
    generated_on: dt.date | None = None
    generated_by: str = ""
    company: CompanyInfo = field(default_factory=CompanyInfo)
    fiscal_years: tuple[FiscalYear, ...] = ()
    tax_year: int | None = None  # `#TAXAR`
    period_covered_to: dt.date | None = None  # `#OMFATTN`
    chart_type: str = ""  # `#KPTYP`, e.g. BAS2014
    currency: str = ""  # `#VALUTA`
    accounts: tuple[Account, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    objects: tuple[ObjectDef, ...] = ()
    balances: tuple[Balance, ...] = ()
    object_balances: tuple[ObjectBalance, ...] = ()
    period_balances: tuple[PeriodBalance, ...] = ()
    vouchers: tuple[Voucher, ...] = ()
    encoding: str = "cp437"
    ksumma: KsummaStatus = KsummaStatus.ABSENT
    warnings: tuple[Diagnostic, ...] = ()

    def fiscal_year(self, index: int = 0) -> FiscalYear | None:
        for year in self.fiscal_years:
            if year.index == index:
                return year
        return None

    def balances_of(self, kind: BalanceKind, year_index: int = 0) -> dict[str, Decimal]:
        """Account -> amount for one balance kind and year (later records win)."""
        return {
            b.account: b.amount
            for b in self.balances
            if b.kind is kind and b.year_index == year_index
        }
