"""Validation of the voucher set before anyone approves it: against itself and against Fortnox.

    facts = fetch_fortnox_facts(client, fiscal_year_start)          # 4 GETs
    problems = check_voucher_set(voucher_set, facts, fiscal_year_end)

Every voucher balances and has at least two rows; its accounts exist in Fortnox and are active
in that financial year (with the cost centre or project an account demands or forbids); its
series exists and is a manual series (only those accept vouchers through the API); its date
lies in the fiscal year and after the locked period (``/3/settings/lockedperiod``); its texts
fit Fortnox's limits. Each problem names the voucher and, where it is a row's, the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from include.closing.fortnox_body import fortnox_voucher_body
from include.closing.models import ClosingVoucher, VoucherSet, money_text


class FortnoxReader(Protocol):
    """What validation reads from Fortnox (``include.fortnox.client.FortnoxClient`` does it)."""

    def financial_years(self, date: date | str | None = None) -> Any: ...
    def accounts(self, financial_year: int) -> Any: ...
    def voucher_series(self, financial_year: int) -> Any: ...
    def locked_period(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class FortnoxAccount:
    number: str
    description: str
    active: bool
    cost_centre_settings: str  # ALLOWED, MANDATORY or NOTALLOWED
    project_settings: str


@dataclass(frozen=True, slots=True)
class FortnoxFacts:
    """What Fortnox says about the financial year the closing books into."""

    financial_year_id: int | None  # None: Fortnox has no financial year starting that day
    year_start: date | None
    year_end: date | None
    accounts: dict[str, FortnoxAccount]
    series: dict[str, bool]  # code -> manual
    locked_until: date | None

    def describe(self) -> str:
        locked = self.locked_until.isoformat() if self.locked_until else "nothing locked"
        manual = ", ".join(code for code, is_manual in sorted(self.series.items()) if is_manual)
        return (
            f"Fortnox financial year {self.financial_year_id} ({self.year_start} - "
            f"{self.year_end}), {len(self.accounts)} accounts, manual series {manual or 'none'}, "
            f"locked period until {locked}"
        )


@dataclass(frozen=True, slots=True)
class Problem:
    reference: str | None  # the voucher; None: the set as a whole
    row: int | None  # 1-based row of the voucher; None: the voucher itself
    message: str

    def __str__(self) -> str:
        if self.reference is None:
            return self.message
        where = f"voucher {self.reference}"
        if self.row is not None:
            where += f" row {self.row}"
        return f"{where}: {self.message}"


def _date(value: object) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def fetch_fortnox_facts(client: FortnoxReader, fiscal_year_start: date) -> FortnoxFacts:
    """The financial year starting on ``fiscal_year_start``, its accounts and series, the lock."""
    years = [
        y for y in client.financial_years().items if _date(y.get("FromDate")) == fiscal_year_start
    ]
    locked = _date(client.locked_period().item("LockedPeriod").get("EndDate"))
    if not years:
        return FortnoxFacts(None, None, None, {}, {}, locked)
    year = years[0]
    year_id = int(year["Id"])
    accounts = {
        str(a["Number"]): FortnoxAccount(
            number=str(a["Number"]),
            description=str(a.get("Description", "")),
            active=bool(a.get("Active", True)),
            cost_centre_settings=str(a.get("CostCenterSettings") or "ALLOWED"),
            project_settings=str(a.get("ProjectSettings") or "ALLOWED"),
        )
        for a in client.accounts(year_id).items
    }
    series = {str(s["Code"]): bool(s.get("Manual")) for s in client.voucher_series(year_id).items}
    return FortnoxFacts(
        financial_year_id=year_id,
        year_start=_date(year.get("FromDate")),
        year_end=_date(year.get("ToDate")),
        accounts=accounts,
        series=series,
        locked_until=locked,
    )


def check_balances(voucher_set: VoucherSet) -> list[Problem]:
    """What needs no Fortnox: balance, rows, amounts."""
    problems: list[Problem] = []
    for v in voucher_set.vouchers:
        if len(v.rows) < 2:
            problems.append(Problem(v.reference, None, "has fewer than two rows"))
        if v.difference != 0:
            problems.append(
                Problem(
                    v.reference,
                    None,
                    f"does not balance: debit {money_text(v.total_debit)}, credit "
                    f"{money_text(v.total_credit)}, difference {money_text(v.difference)}",
                )
            )
    return problems


def _check_voucher(v: ClosingVoucher, facts: FortnoxFacts, year_end: date) -> list[Problem]:
    problems: list[Problem] = []

    def add(row: int | None, message: str) -> None:
        problems.append(Problem(v.reference, row, message))

    year_text = f"Fortnox financial year {facts.financial_year_id}"
    if v.series not in facts.series:
        known = ", ".join(sorted(facts.series)) or "none"
        add(None, f"voucher series {v.series!r} does not exist in {year_text} (series: {known})")
    elif not facts.series[v.series]:
        add(
            None,
            f"voucher series {v.series!r} is not a manual series: Fortnox refuses vouchers "
            "in it through the API; configure a manual series for the closing",
        )
    start = facts.year_start
    if start is not None and not start <= v.voucher_date <= year_end:
        add(None, f"date {v.voucher_date} is outside the fiscal year {start} - {year_end}")
    if facts.locked_until is not None and v.voucher_date <= facts.locked_until:
        add(
            None,
            f"date {v.voucher_date} is in the locked period (locked up to "
            f"{facts.locked_until}): Fortnox refuses vouchers there",
        )
    for number, row in enumerate(v.rows, start=1):
        account = facts.accounts.get(row.account)
        if account is None:
            add(number, f"account {row.account} does not exist in {year_text}")
            continue
        if not account.active:
            add(number, f"account {row.account} ({account.description}) is inactive in {year_text}")
        for value, setting, label in (
            (row.cost_centre, account.cost_centre_settings, "cost centre"),
            (row.project, account.project_settings, "project"),
        ):
            if setting == "MANDATORY" and not value:
                add(number, f"account {row.account} requires a {label}")
            if setting == "NOTALLOWED" and value:
                add(number, f"account {row.account} does not allow a {label} ({value})")
    try:
        fortnox_voucher_body(v, "validation-only-key")
    except ValueError as exc:
        add(None, str(exc).removeprefix(f"voucher {v.reference} "))
    return problems


def check_voucher_set(
    voucher_set: VoucherSet, facts: FortnoxFacts, fiscal_year_end: date
) -> list[Problem]:
    """Every problem that would make Fortnox refuse a voucher, or make it wrong."""
    problems = check_balances(voucher_set)
    if facts.financial_year_id is None:
        problems.append(
            Problem(
                None,
                None,
                f"Fortnox has no financial year starting {voucher_set.fiscal_year_start}: "
                "create it in Fortnox first",
            )
        )
        return problems
    if facts.year_end is not None and facts.year_end != fiscal_year_end:
        problems.append(
            Problem(
                None,
                None,
                f"Fortnox's financial year {facts.financial_year_id} ends {facts.year_end}, "
                f"the books' year ends {fiscal_year_end}",
            )
        )
    for voucher in voucher_set.vouchers:
        problems += _check_voucher(voucher, facts, fiscal_year_end)
    return problems
