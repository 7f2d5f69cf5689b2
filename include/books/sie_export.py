"""Company books -> SIE 4E document, shaped like a Fortnox export.

This module knows the books only by the shape below (``ExportableBooks``), so
that ``models`` can offer ``CompanyBooks.to_sie`` without an import circle:
models imports this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from include.books.chart import COST_CENTRE_DIMENSION, COST_CENTRES
from include.sie4.records import (
    Account,
    Address,
    Balance,
    BalanceKind,
    CompanyInfo,
    Dimension,
    FiscalYear,
    ObjectDef,
    SieDocument,
    Voucher,
)


class _Profile(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def org_number(self) -> str: ...
    @property
    def address_street(self) -> str: ...
    @property
    def address_postal(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def database_number(self) -> int: ...


class _Year(Protocol):
    @property
    def fiscal_year(self) -> FiscalYear: ...
    @property
    def opening_balances(self) -> Mapping[str, Decimal]: ...
    @property
    def vouchers(self) -> tuple[Voucher, ...]: ...
    @property
    def closing_balances(self) -> Mapping[str, Decimal]: ...
    @property
    def results(self) -> Mapping[str, Decimal]: ...


class ExportableBooks(Protocol):
    """What the export reads of ``models.CompanyBooks``."""

    @property
    def company(self) -> _Profile: ...
    @property
    def accounts(self) -> tuple[Account, ...]: ...
    @property
    def years(self) -> Sequence[_Year]: ...


FORTNOX_PROGRAM = ("Fortnox", "3.0")


def export_date(books: ExportableBooks) -> date:
    """A fixed #GEN date (deterministic output): mid-February after the latest year."""
    return books.years[-1].fiscal_year.end + timedelta(days=46)


def books_to_sie(books: ExportableBooks, year_start: date | None = None) -> SieDocument:
    """The SIE 4E document of one fiscal year (default the latest).

    Year index 0 is the exported year; -1 the year before. ``#RAR -1`` is always
    written (the company existed before its first generated year: it has retained
    earnings), its balances only where the books know them.
    """
    position = len(books.years) - 1
    if year_start is not None:
        starts = [y.fiscal_year.start for y in books.years]
        if year_start not in starts:
            raise KeyError(f"no fiscal year starting {year_start}")
        position = starts.index(year_start)
    year = books.years[position]
    previous = books.years[position - 1] if position > 0 else None
    start, end = year.fiscal_year.start, year.fiscal_year.end
    previous_start = previous.fiscal_year.start if previous else date(start.year - 1, 1, 1)
    fiscal_years = (
        FiscalYear(0, start, end),
        FiscalYear(-1, previous_start, start - timedelta(days=1)),
    )
    profile = books.company
    balances: list[Balance] = []

    def add(kind: BalanceKind, index: int, amounts: Mapping[str, Decimal], account: str) -> None:
        amount = amounts.get(account)
        if amount is not None and amount != 0:
            balances.append(Balance(kind=kind, year_index=index, account=account, amount=amount))

    balance_accounts = sorted(
        set(year.opening_balances)
        | set(year.closing_balances)
        | (set(previous.opening_balances) | set(previous.closing_balances) if previous else set())
    )
    for account in balance_accounts:
        add(BalanceKind.IB, 0, year.opening_balances, account)
        if previous:
            add(BalanceKind.IB, -1, previous.opening_balances, account)
        add(BalanceKind.UB, 0, year.closing_balances, account)
        if previous:
            add(BalanceKind.UB, -1, previous.closing_balances, account)
    result_accounts = sorted(set(year.results) | (set(previous.results) if previous else set()))
    for account in result_accounts:
        add(BalanceKind.RES, 0, year.results, account)
        if previous:
            add(BalanceKind.RES, -1, previous.results, account)

    return SieDocument(
        sie_type=4,
        variant="E",
        flag=0,
        program=FORTNOX_PROGRAM,
        file_format="PC8",
        generated_on=export_date(books),
        company=CompanyInfo(
            name=profile.name,
            org_number=profile.org_number,
            company_id=str(profile.database_number),
            address=Address(
                contact=profile.name,
                street=profile.address_street,
                postal=profile.address_postal,
                phone=profile.phone,
            ),
        ),
        fiscal_years=fiscal_years,
        tax_year=end.year + 1,
        chart_type="BAS2014",
        accounts=books.accounts,
        dimensions=(Dimension(*COST_CENTRE_DIMENSION),),
        objects=tuple(
            ObjectDef(COST_CENTRE_DIMENSION[0], number, name) for number, name in COST_CENTRES
        ),
        balances=tuple(balances),
        vouchers=year.vouchers,
    )
