"""Deterministic generator of one company's books over consecutive calendar years.

Everything is drawn from one ``random.Random`` seeded by (seed, company_index), in a
fixed order, so the same arguments always give the same books. Amounts are integer
öre inside the generator and ``Decimal`` (two decimals) in the published types.

The generator first plans the subledgers and recurring events of every year
(invoices, payments, salaries, VAT periods, depreciation, tax-account
settlements), then walks the years in order, numbering vouchers per series and
accumulating balances, because next year's opening balances and the profit
appropriation depend on the previous year's result. Voucher rows are rendered
from the plan on demand, so the object path (``generate_books``) and the
streaming path (``write_large_sie``) produce the same books.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from include.books import identity
from include.books.chart import (
    COST_CENTRES,
    SALES_ACCOUNTS,
    chart_accounts,
    is_balance_sheet_account,
)
from include.books.models import (
    CompanyBooks,
    CompanyProfile,
    CustomerInvoice,
    InvoicePayment,
    Party,
    SupplierInvoice,
    SupplierInvoicePayment,
    YearBooks,
)
from include.sie4.records import FiscalYear, ObjectList, RowKind, Voucher, VoucherRow

# One voucher row before it becomes a record: account, objects, amount in öre.
RowSpec = tuple[str, ObjectList, int]

_NO_OBJECTS: ObjectList = ()
_CC: dict[str, ObjectList] = {cc: (("1", cc),) for cc, _ in COST_CENTRES}
_MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip

EMPLOYER_CONTRIBUTION_RATE_BP = 3142  # 31.42 % in basis points
DEPRECIATION_PERCENT_PER_YEAR = 20

# Supplier cost profiles: (cost account, VAT percent, min kr, max kr, weight)
_COST_PROFILES: tuple[tuple[str, int, int, int, int], ...] = (
    ("4010", 25, 800, 45_000, 30),
    ("5410", 25, 400, 9_000, 8),
    ("5460", 25, 150, 3_500, 10),
    ("6110", 25, 100, 2_500, 12),
    ("6212", 25, 300, 1_800, 8),
    ("6230", 25, 300, 1_500, 6),
    ("6310", 0, 2_000, 14_000, 3),
    ("6540", 25, 500, 18_000, 20),
    ("1220", 25, 12_000, 80_000, 2),
)
# Customer invoice net amounts: (min kr, max kr, weight)
_SALE_BUCKETS: tuple[tuple[int, int, int], ...] = (
    (1_000, 5_000, 15),
    (5_000, 25_000, 40),
    (25_000, 80_000, 35),
    (80_000, 200_000, 10),
)
_SALE_WEIGHTS = tuple((i, b[2]) for i, b in enumerate(_SALE_BUCKETS))
_COST_WEIGHTS = tuple((i, p[4]) for i, p in enumerate(_COST_PROFILES))
_MEAN_SALE_ORE = 38_000_00  # rough mean of the buckets, for sizing the company
_VAT_WEIGHTS: tuple[tuple[int, int], ...] = ((25, 80), (12, 12), (6, 8))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects:
    its repeated full passes over them otherwise cost more than the building."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def money(ore: int) -> Decimal:
    """Integer öre -> Decimal with exactly two decimals."""
    return Decimal(ore).scaleb(-2)


def _pick(rng: random.Random, weighted: tuple[tuple[int, int], ...]) -> int:
    """Integer-weighted choice (value, weight) without floats."""
    total = sum(w for _, w in weighted)
    roll = rng.randrange(total)
    for value, weight in weighted:
        roll -= weight
        if roll < 0:
            return value
    raise AssertionError("unreachable")


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _previous_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


# --------------------------------------------------------------------------- drafts


@dataclass(slots=True)
class _CustomerInvoiceDraft:
    number: int
    customer: Party
    invoice_date: date
    due_date: date
    net: int
    vat: int
    rate: int
    cost_centre: ObjectList
    voucher_number: int = 0


@dataclass(slots=True)
class _SupplierInvoiceDraft:
    given_number: int
    supplier: Party
    supplier_invoice_number: str
    invoice_date: date
    registered_on: date
    due_date: date
    net: int
    vat: int
    cost_account: str
    cost_centre: ObjectList
    voucher_number: int = 0


@dataclass(slots=True)
class _CustomerPaymentDraft:
    number: int
    invoice: _CustomerInvoiceDraft
    payment_date: date
    amount: int
    voucher_number: int = 0


@dataclass(slots=True)
class _SupplierPaymentDraft:
    number: int
    invoice: _SupplierInvoiceDraft
    payment_date: date
    amount: int
    voucher_number: int = 0


@dataclass(slots=True)
class _Spec:
    """A voucher of the manual (A) or salary (L) series, rows already decided."""

    series: str
    day: date
    text: str
    rows: tuple[RowSpec, ...]
    voucher_number: int = 0


_Item = (
    _CustomerInvoiceDraft
    | _CustomerPaymentDraft
    | _SupplierInvoiceDraft
    | _SupplierPaymentDraft
    | _Spec
)

# A rendered voucher: series, number, date, text, registered on, rows.
RenderedVoucher = tuple[str, int, date, str, date, tuple[RowSpec, ...]]


@dataclass(slots=True)
class _YearPlan:
    start: date
    end: date
    series: dict[str, list[_Item]] = field(default_factory=dict)
    opening: dict[str, int] = field(default_factory=dict)
    closing: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class GeneratedCompany:
    """The generator's internal result, before conversion to the published dataclasses."""

    seed: int
    company: CompanyProfile
    customers: tuple[Party, ...]
    suppliers: tuple[Party, ...]
    customer_invoices: list[_CustomerInvoiceDraft]
    supplier_invoices: list[_SupplierInvoiceDraft]
    customer_payments: list[_CustomerPaymentDraft]
    supplier_payments: list[_SupplierPaymentDraft]
    years: list[_YearPlan]


# --------------------------------------------------------------------------- rendering


def _render(series: str, item: _Item) -> RenderedVoucher:
    if isinstance(item, _CustomerInvoiceDraft):
        sales_account, vat_account = SALES_ACCOUNTS[item.rate]
        rows: tuple[RowSpec, ...] = (
            ("1510", _NO_OBJECTS, item.net + item.vat),
            (sales_account, item.cost_centre, -item.net),
            (vat_account, _NO_OBJECTS, -item.vat),
        )
        text = f"Kundfaktura {item.number} - {item.customer.name}"
        return (series, item.voucher_number, item.invoice_date, text, item.invoice_date, rows)
    if isinstance(item, _CustomerPaymentDraft):
        rows = (("1930", _NO_OBJECTS, item.amount), ("1510", _NO_OBJECTS, -item.amount))
        text = f"Inbetalning kundfaktura {item.invoice.number}"
        return (series, item.voucher_number, item.payment_date, text, item.payment_date, rows)
    if isinstance(item, _SupplierInvoiceDraft):
        rows = (
            ("2440", _NO_OBJECTS, -(item.net + item.vat)),
            (item.cost_account, item.cost_centre, item.net),
        )
        if item.vat:
            rows += (("2641", _NO_OBJECTS, item.vat),)
        text = f"Leverantörsfaktura {item.given_number} - {item.supplier.name}"
        return (series, item.voucher_number, item.invoice_date, text, item.registered_on, rows)
    if isinstance(item, _SupplierPaymentDraft):
        rows = (("2440", _NO_OBJECTS, item.amount), ("1930", _NO_OBJECTS, -item.amount))
        text = f"Utbetalning leverantörsfaktura {item.invoice.given_number}"
        return (series, item.voucher_number, item.payment_date, text, item.payment_date, rows)
    return (series, item.voucher_number, item.day, item.text, item.day, item.rows)


def render_year(plan: _YearPlan) -> Iterator[RenderedVoucher]:
    """The year's vouchers in export order: by series, then number."""
    for series in sorted(plan.series):
        for item in plan.series[series]:
            yield _render(series, item)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class _Sizing:
    tiny: bool  # no employees, no premises, yearly VAT, yearly depreciation
    customer_invoices: int  # per year
    supplier_invoices: int  # per year, besides rent
    employees: int
    vat_months: int  # 12, 3 or 1
    monthly_rent_ore: int
    bank_fee_ore: int  # per month (per quarter when tiny)


def _sizing(rng: random.Random, vouchers_per_year: int) -> _Sizing:
    tiny = vouchers_per_year < 120
    vat_months = 12 if tiny else (1 if vouchers_per_year >= 5_000 else 3)
    # Vouchers that come every year whatever the trade: bank fees, depreciation,
    # VAT, tax account, salaries, rent, profit appropriation.
    fixed = 9 if tiny else 12 + 24 + 12 // vat_months + 12 + 12 + 24 + 1
    trading = max(4, vouchers_per_year - fixed)
    customer_invoices = max(2, (trading * 3 + 5) // 10)
    supplier_invoices = max(1, (trading * 2 + 5) // 10)
    expected_revenue = customer_invoices * _MEAN_SALE_ORE
    yearly_cost_per_employee = 42_000_00 * 12 * 13142 // 10000
    # Staff costs about 40 % of revenue, at least one employee (rounded up).
    employees = 0 if tiny else max(1, -(-expected_revenue * 40 // 100 // yearly_cost_per_employee))
    rent = 0 if tiny else (6_000 + 3_500 * employees) * 100
    bank_fee = (rng.randint(95, 180) + min(employees, 400) * 2) * 100
    return _Sizing(
        tiny=tiny,
        customer_invoices=customer_invoices,
        supplier_invoices=supplier_invoices,
        employees=employees,
        vat_months=vat_months,
        monthly_rent_ore=rent,
        bank_fee_ore=bank_fee,
    )


def _random_dates(rng: random.Random, start: date, end: date, count: int) -> list[date]:
    """Sorted random dates; the last one always in December, so that some items
    (30 days' terms) are still open at the year end, as in real books."""
    span = (end - start).days + 1
    dates = sorted(start + timedelta(days=rng.randrange(span)) for _ in range(count))
    if dates and dates[-1] < end - timedelta(days=21):
        dates[-1] = end - timedelta(days=rng.randint(3, 21))
    return dates


def generate(
    seed: int,
    *,
    company_index: int = 0,
    first_year: int = 2024,
    years: int = 2,
    vouchers_per_year: int = 300,
) -> GeneratedCompany:
    """Plan and account a company's books; see ``generate_books`` for the public API."""
    if years < 1:
        raise ValueError(f"years must be at least 1, got {years}")
    if vouchers_per_year < 1:
        raise ValueError(f"vouchers_per_year must be at least 1, got {vouchers_per_year}")
    rng = random.Random(f"fortnox-books:{seed}:{company_index}")
    company = identity.company_profile(rng)
    size = _sizing(rng, vouchers_per_year)
    customers = identity.customers(rng, min(400, max(3, size.customer_invoices // 4)))
    suppliers = identity.suppliers(
        rng, min(60, max(3, size.supplier_invoices // 4 + 1)), landlord=size.monthly_rent_ore > 0
    )
    last_year = first_year + years - 1
    horizon = date(last_year, 12, 31)

    opening = _first_opening_balances(rng, size)

    customer_invoices: list[_CustomerInvoiceDraft] = []
    supplier_invoices: list[_SupplierInvoiceDraft] = []
    customer_payments: list[_CustomerPaymentDraft] = []
    supplier_payments: list[_SupplierPaymentDraft] = []
    specs: list[_Spec] = []
    # Salary taxes and VAT owed to the tax account, by due date.
    tax_due: dict[date, dict[str, int]] = {}

    employees = [rng.randint(280, 550) * 100 for _ in range(size.employees)]  # kr per month
    tax_percents = [rng.randint(27, 33) for _ in range(size.employees)]
    equipment = opening["1220"]
    accumulated_depreciation = opening["1229"]

    for year in range(first_year, last_year + 1):
        start, end = date(year, 1, 1), date(year, 12, 31)
        if year > first_year:
            employees = [salary * 103 // 100 for salary in employees]

        # Customer invoices and their payments.
        first_customer_invoice = len(customer_invoices)
        sale_dates = _random_dates(rng, start, end, size.customer_invoices)
        for position, day in enumerate(sale_dates):
            rate = _pick(rng, _VAT_WEIGHTS)
            low, high, _ = _SALE_BUCKETS[_pick(rng, _SALE_WEIGHTS)]
            net = rng.randint(low, high) * 100 + rng.choice((0, 0, 0, 50, rng.randrange(100)))
            terms = rng.choice((10, 20, 30, 30, 30))
            if position == len(sale_dates) - 1:
                terms = 30
            cost_centre = _CC[rng.choice(("200", "300"))] if rng.randrange(10) < 6 else ()
            invoice = _CustomerInvoiceDraft(
                number=len(customer_invoices) + 1,
                customer=rng.choice(customers),
                invoice_date=day,
                due_date=day + timedelta(days=terms),
                net=net,
                vat=(net * rate + 50) // 100,
                rate=rate,
                cost_centre=cost_centre,
            )
            customer_invoices.append(invoice)
            late = rng.randint(30, 60) if rng.randrange(100) < 3 else rng.randint(-8, 12)
            paid = _next_weekday(max(day + timedelta(days=1), invoice.due_date + timedelta(late)))
            if paid <= horizon:
                customer_payments.append(
                    _CustomerPaymentDraft(
                        len(customer_payments) + 1, invoice, paid, invoice.net + invoice.vat
                    )
                )

        year_customer_invoices = customer_invoices[first_customer_invoice:]

        # Supplier invoices: monthly rent plus purchases.
        first_supplier_invoice = len(supplier_invoices)
        purchases: list[tuple[date, str, int, int, Party]] = []
        if size.monthly_rent_ore:
            for month in range(1, 13):
                landlord = suppliers[0]
                purchases.append(
                    (date(year, month, 1), "5010", size.monthly_rent_ore, 25, landlord)
                )
        others = suppliers[1:] if size.monthly_rent_ore else suppliers
        for day in _random_dates(rng, start, end, size.supplier_invoices):
            account, rate, low, high, _ = _COST_PROFILES[_pick(rng, _COST_WEIGHTS)]
            net = rng.randint(low, high) * 100 + rng.choice((0, 0, rng.randrange(100)))
            purchases.append((day, account, net, rate, rng.choice(others)))
        purchases.sort(key=lambda p: p[0])
        for day, account, net, rate, supplier in purchases:
            is_rent = account == "5010"
            purchase_centre: ObjectList = ()
            if account[0] in "4567" and rng.randrange(2) == 0:
                purchase_centre = _CC[rng.choice(("100", "200", "300"))]
            invoice_s = _SupplierInvoiceDraft(
                given_number=len(supplier_invoices) + 1,
                supplier=supplier,
                supplier_invoice_number=str(rng.randint(10_000, 9_999_999)),
                invoice_date=day,
                registered_on=day + timedelta(days=0 if is_rent else rng.randint(0, 4)),
                due_date=day + timedelta(days=14 if is_rent else 30),
                net=net,
                vat=(net * rate + 50) // 100,
                cost_account=account,
                cost_centre=_CC["100"] if is_rent else purchase_centre,
            )
            supplier_invoices.append(invoice_s)
            paid = _previous_weekday(invoice_s.due_date - timedelta(days=rng.randint(0, 2)))
            paid = max(paid, invoice_s.registered_on)
            if paid <= horizon:
                supplier_payments.append(
                    _SupplierPaymentDraft(
                        len(supplier_payments) + 1, invoice_s, paid, invoice_s.net + invoice_s.vat
                    )
                )

        year_supplier_invoices = supplier_invoices[first_supplier_invoice:]

        # Salaries, paid on the 25th; taxes due on the 12th of the next month.
        for month in range(1, 13):
            if not employees:
                break
            gross_kr = sum(employees)
            tax_kr = sum((s * p + 50) // 100 for s, p in zip(employees, tax_percents, strict=True))
            gross, tax = gross_kr * 100, tax_kr * 100
            contributions = (gross * EMPLOYER_CONTRIBUTION_RATE_BP + 5000) // 10000
            payday = _previous_weekday(date(year, month, 23 if month == 12 else 25))
            specs.append(
                _Spec(
                    "L",
                    payday,
                    f"Lön {_MONTHS[month - 1]} {year}",
                    (
                        ("7010", _CC["300"], gross),
                        ("7510", _CC["300"], contributions),
                        ("2710", _NO_OBJECTS, -tax),
                        ("2731", _NO_OBJECTS, -contributions),
                        ("1930", _NO_OBJECTS, tax - gross),
                    ),
                )
            )
            due_year, due_month = _add_months(year, month, 1)
            due = tax_due.setdefault(_next_weekday(date(due_year, due_month, 12)), {})
            due["2710"] = due.get("2710", 0) + tax
            due["2731"] = due.get("2731", 0) + contributions

        # VAT periods: settle to 2650 at period end, pay via the tax account.
        output_by_period = [{25: 0, 12: 0, 6: 0} for _ in range(0, 12, size.vat_months)]
        input_by_period = [0 for _ in range(0, 12, size.vat_months)]
        for ci in year_customer_invoices:
            output_by_period[(ci.invoice_date.month - 1) // size.vat_months][ci.rate] += ci.vat
        for si in year_supplier_invoices:
            input_by_period[(si.invoice_date.month - 1) // size.vat_months] += si.vat
        for first_month in range(1, 13, size.vat_months):
            period_start = date(year, first_month, 1)
            period_end = _month_end(year, first_month + size.vat_months - 1)
            output = output_by_period[(first_month - 1) // size.vat_months]
            input_vat = input_by_period[(first_month - 1) // size.vat_months]
            payable = sum(output.values()) - input_vat
            rows = [(SALES_ACCOUNTS[r][1], _NO_OBJECTS, output[r]) for r in (25, 12, 6)]
            rows += [("2641", _NO_OBJECTS, -input_vat), ("2650", _NO_OBJECTS, -payable)]
            label = f"{period_start:%Y-%m}" + (
                "" if size.vat_months == 1 else f"--{period_end:%Y-%m}"
            )
            specs.append(_Spec("A", period_end, f"Momsredovisning {label}", _nonzero(rows)))
            if size.vat_months == 12:
                due_day = date(year + 1, 2, 26)
            else:
                due_year, due_month = _add_months(year, period_end.month, 2)
                due_day = date(due_year, due_month, 12)
            due = tax_due.setdefault(_next_weekday(due_day), {})
            due["2650"] = due.get("2650", 0) + payable

        # Depreciation of equipment, straight line on cost, capped at the book value.
        # Purchases count from the period after the purchase.
        period_months = 12 if size.tiny else 1
        purchased = [
            (si.invoice_date, si.net) for si in year_supplier_invoices if si.cost_account == "1220"
        ]
        for first_month in range(1, 13, period_months):
            period_start = date(year, first_month, 1)
            period_end = _month_end(year, first_month + period_months - 1)
            amount = equipment * DEPRECIATION_PERCENT_PER_YEAR * period_months // 1200
            amount = min(amount // 100 * 100, equipment + accumulated_depreciation)
            equipment += sum(net for day, net in purchased if period_start <= day <= period_end)
            if amount > 0:
                accumulated_depreciation -= amount
                label = str(year) if size.tiny else f"{_MONTHS[first_month - 1]} {year}"
                specs.append(
                    _Spec(
                        "A",
                        period_end,
                        f"Avskrivning inventarier {label}",
                        (("7832", _CC["100"], amount), ("1229", _NO_OBJECTS, -amount)),
                    )
                )

        # Bank fees at the end of each month (each quarter for tiny companies).
        for month in range(3 if size.tiny else 1, 13, 3 if size.tiny else 1):
            day = _previous_weekday(_month_end(year, month))
            fee = size.bank_fee_ore + rng.randint(0, 40) * 100
            specs.append(
                _Spec(
                    "A",
                    day,
                    f"Bankavgifter {_MONTHS[month - 1]} {year}",
                    (("6570", _CC["100"], fee), ("1930", _NO_OBJECTS, -fee)),
                )
            )

    # Tax account: pay in from the bank, then the Tax Agency draws what is due.
    for due_day in sorted(tax_due):
        if due_day > horizon:
            continue
        owed = tax_due[due_day]
        total = sum(owed.values())
        if total == 0:
            continue
        month_text = f"{_MONTHS[due_day.month - 1]} {due_day.year}"
        transfer = "Inbetalning till skattekonto" if total > 0 else "Utbetalning från skattekonto"
        specs.append(
            _Spec(
                "A",
                due_day,
                f"{transfer} {month_text}",
                (("1630", _NO_OBJECTS, total), ("1930", _NO_OBJECTS, -total)),
            )
        )
        rows = [
            (account, _NO_OBJECTS, owed[account])
            for account in ("2650", "2710", "2731")
            if account in owed
        ]
        rows.append(("1630", _NO_OBJECTS, -total))
        specs.append(_Spec("A", due_day, f"Skattekonto {month_text}", _nonzero(rows)))

    plans = _account_years(
        first_year,
        last_year,
        opening,
        specs,
        customer_invoices,
        supplier_invoices,
        customer_payments,
        supplier_payments,
    )
    return GeneratedCompany(
        seed=seed,
        company=company,
        customers=customers,
        suppliers=suppliers,
        customer_invoices=customer_invoices,
        supplier_invoices=supplier_invoices,
        customer_payments=customer_payments,
        supplier_payments=supplier_payments,
        years=plans,
    )


def _nonzero(rows: list[RowSpec]) -> tuple[RowSpec, ...]:
    return tuple(row for row in rows if row[2] != 0)


def _first_opening_balances(rng: random.Random, size: _Sizing) -> dict[str, int]:
    """A plausible opening balance sheet for the first year (debit positive)."""
    revenue = size.customer_invoices * _MEAN_SALE_ORE
    equipment = (revenue * rng.randint(5, 12) // 100 // 100_000 * 100_000) + 50_000_00
    depreciated = equipment * rng.randint(20, 50) // 100 // 100 * 100
    bank = (revenue * rng.randint(8, 20) // 100 // 100_000 * 100_000) + 100_000_00
    share_capital = rng.choice((25_000_00, 50_000_00, 100_000_00))
    retained = equipment - depreciated + bank - share_capital
    return {
        "1220": equipment,
        "1229": -depreciated,
        "1930": bank,
        "2081": -share_capital,
        "2091": -retained,
    }


def _account_years(
    first_year: int,
    last_year: int,
    opening: dict[str, int],
    specs: list[_Spec],
    customer_invoices: list[_CustomerInvoiceDraft],
    supplier_invoices: list[_SupplierInvoiceDraft],
    customer_payments: list[_CustomerPaymentDraft],
    supplier_payments: list[_SupplierPaymentDraft],
) -> list[_YearPlan]:
    plans: list[_YearPlan] = []
    by_year: dict[int, dict[str, list[_Item]]] = {
        y: {s: [] for s in "ABCDEL"} for y in range(first_year, last_year + 1)
    }
    for ci in customer_invoices:
        by_year[ci.invoice_date.year]["B"].append(ci)
    for cp in customer_payments:
        by_year[cp.payment_date.year]["C"].append(cp)
    for si in supplier_invoices:
        by_year[si.invoice_date.year]["D"].append(si)
    for sp in supplier_payments:
        by_year[sp.payment_date.year]["E"].append(sp)
    for spec in specs:
        by_year[spec.day.year][spec.series].append(spec)

    balances = dict(opening)
    previous_result: int | None = None
    for year in range(first_year, last_year + 1):
        series = by_year[year]
        if previous_result is not None and balances.get("2099", 0) != 0:
            # Profit appropriation after the annual general meeting (vinstdisposition).
            moved = -balances["2099"]
            series["A"].append(
                _Spec(
                    "A",
                    date(year, 6, 18),
                    f"Vinstdisposition {year - 1} enligt årsstämma",
                    (("2099", _NO_OBJECTS, moved), ("2091", _NO_OBJECTS, -moved)),
                )
            )
        plan = _YearPlan(date(year, 1, 1), date(year, 12, 31))
        plan.opening = {a: v for a, v in sorted(balances.items()) if v != 0}
        for name in sorted(series):
            items = series[name]
            if not items:
                continue
            items.sort(key=_item_date)  # stable: same-day items keep planning order
            for number, item in enumerate(items, start=1):
                item.voucher_number = number
            plan.series[name] = items
        movements: dict[str, int] = {}
        for voucher in render_year(plan):
            for account, _, amount in voucher[5]:
                movements[account] = movements.get(account, 0) + amount
        closing = dict(plan.opening)
        results: dict[str, int] = {}
        for account, amount in movements.items():
            if is_balance_sheet_account(account):
                closing[account] = closing.get(account, 0) + amount
            else:
                results[account] = amount
        plan.closing = {a: v for a, v in sorted(closing.items()) if v != 0}
        plan.results = {a: v for a, v in sorted(results.items()) if v != 0}
        plans.append(plan)
        # Next year opens with this year's closing balances and the result on 2099.
        previous_result = sum(results.values())
        balances = dict(plan.closing)
        balances["2099"] = balances.get("2099", 0) + previous_result
    return plans


def _item_date(item: _Item) -> date:
    if isinstance(item, _CustomerInvoiceDraft | _SupplierInvoiceDraft):
        return item.invoice_date
    if isinstance(item, _CustomerPaymentDraft | _SupplierPaymentDraft):
        return item.payment_date
    return item.day


# --------------------------------------------------------------------------- publishing


def _voucher(rendered: RenderedVoucher) -> Voucher:
    series, number, day, text, registered_on, rows = rendered
    return Voucher(
        series=series,
        number=str(number),
        date=day,
        text=text,
        registered_on=registered_on,
        rows=tuple(
            VoucherRow(kind=RowKind.TRANS, account=a, objects=o, amount=money(v))
            for a, o, v in rows
        ),
    )


def to_company_books(generated: GeneratedCompany, *, with_vouchers: bool = True) -> CompanyBooks:
    """Convert the plan into the published frozen dataclasses."""
    latest = len(generated.years) - 1
    years = tuple(
        YearBooks(
            fiscal_year=FiscalYear(index=i - latest, start=plan.start, end=plan.end),
            opening_balances={a: money(v) for a, v in plan.opening.items()},
            vouchers=tuple(_voucher(v) for v in render_year(plan)) if with_vouchers else (),
            closing_balances={a: money(v) for a, v in plan.closing.items()},
            results={a: money(v) for a, v in plan.results.items()},
        )
        for i, plan in enumerate(generated.years)
    )
    return CompanyBooks(
        seed=generated.seed,
        company=generated.company,
        accounts=chart_accounts(),
        years=years,
        customers=generated.customers,
        suppliers=generated.suppliers,
        customer_invoices=tuple(
            CustomerInvoice(
                number=ci.number,
                customer=ci.customer,
                invoice_date=ci.invoice_date,
                due_date=ci.due_date,
                net=money(ci.net),
                vat=money(ci.vat),
                vat_rate=Decimal(ci.rate).scaleb(-2),
                voucher_series="B",
                voucher_number=ci.voucher_number,
                fiscal_year_start=date(ci.invoice_date.year, 1, 1),
            )
            for ci in generated.customer_invoices
        ),
        invoice_payments=tuple(
            InvoicePayment(
                number=cp.number,
                invoice_number=cp.invoice.number,
                payment_date=cp.payment_date,
                amount=money(cp.amount),
                voucher_series="C",
                voucher_number=cp.voucher_number,
                fiscal_year_start=date(cp.payment_date.year, 1, 1),
            )
            for cp in generated.customer_payments
        ),
        supplier_invoices=tuple(
            SupplierInvoice(
                given_number=si.given_number,
                supplier=si.supplier,
                supplier_invoice_number=si.supplier_invoice_number,
                invoice_date=si.invoice_date,
                due_date=si.due_date,
                net=money(si.net),
                vat=money(si.vat),
                cost_account=si.cost_account,
                voucher_series="D",
                voucher_number=si.voucher_number,
                fiscal_year_start=date(si.invoice_date.year, 1, 1),
            )
            for si in generated.supplier_invoices
        ),
        supplier_invoice_payments=tuple(
            SupplierInvoicePayment(
                number=sp.number,
                given_number=sp.invoice.given_number,
                payment_date=sp.payment_date,
                amount=money(sp.amount),
                voucher_series="E",
                voucher_number=sp.voucher_number,
                fiscal_year_start=date(sp.payment_date.year, 1, 1),
            )
            for sp in generated.supplier_payments
        ),
    )


def generate_books(
    seed: int,
    *,
    company_index: int = 0,
    first_year: int = 2024,
    years: int = 2,
    vouchers_per_year: int = 300,
) -> CompanyBooks:
    """One company's books for ``years`` consecutive calendar years, deterministic in
    (seed, company_index). ``vouchers_per_year`` is the size knob (approximate)."""
    with gc_paused():
        return to_company_books(
            generate(
                seed,
                company_index=company_index,
                first_year=first_year,
                years=years,
                vouchers_per_year=vouchers_per_year,
            )
        )
