"""Accounting properties of the generated books: they must hold for every company."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from include.books import CompanyBooks, generate_books, is_valid_org_number, luhn_check_digit
from include.books.chart import is_balance_sheet_account

ZERO = Decimal(0)


def movements(books: CompanyBooks, year_index: int) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for voucher in books.years[year_index].vouchers:
        for row in voucher.rows:
            sums[row.account] += row.amount
    return sums


def test_same_seed_gives_identical_books() -> None:
    assert generate_books(5, vouchers_per_year=200) == generate_books(5, vouchers_per_year=200)


def test_different_seed_or_company_gives_different_books() -> None:
    base = generate_books(5, vouchers_per_year=200)
    other_seed = generate_books(6, vouchers_per_year=200)
    other_company = generate_books(5, company_index=1, vouchers_per_year=200)
    assert base.years[0].vouchers != other_seed.years[0].vouchers
    assert base.company.org_number != other_company.company.org_number
    assert base.company.database_number != other_company.company.database_number
    assert base.years[0].vouchers != other_company.years[0].vouchers


def test_luhn_check_digit_matches_known_numbers() -> None:
    assert luhn_check_digit("556012579") == 0  # 556012-5790, a real aktiebolag
    assert is_valid_org_number("556012-5790")
    assert not is_valid_org_number("556012-5791")
    assert not is_valid_org_number("5560125790")


def test_company_identity(books: CompanyBooks) -> None:
    company = books.company
    assert is_valid_org_number(company.org_number)
    assert company.org_number.startswith("55")
    assert company.name.endswith(" AB")
    assert 1_000_000 <= company.database_number <= 9_999_999
    assert re.fullmatch(r"\d{3} \d{2} \w+", company.address_postal), company.address_postal
    for party in books.customers + books.suppliers:
        assert is_valid_org_number(party.org_number), party


def test_chart_has_types_and_ink2_sru_codes(books: CompanyBooks) -> None:
    accounts = {a.number: a for a in books.accounts}
    expected = {"1930": "7281", "1510": "7251", "2440": "7365", "2510": "7368", "3001": "7410",
                "2081": "7301", "2091": "7302", "7010": "7514", "7832": "7515"}  # fmt: skip
    for number, sru in expected.items():
        assert accounts[number].sru_codes == (sru,)
    for account in books.accounts:
        kind = account.account_type
        assert kind == ("T" if account.number[0] == "1" else "S") or account.number[0] not in "12"
        assert kind in {"T", "S", "I", "K"} and len(account.sru_codes) == 1
    used = {r.account for y in books.years for v in y.vouchers for r in v.rows}
    assert used <= set(accounts), used - set(accounts)


def test_every_voucher_balances_and_lies_in_its_year(books: CompanyBooks) -> None:
    for year in books.years:
        for voucher in year.vouchers:
            assert voucher.balance_difference == ZERO, voucher
            assert year.fiscal_year.start <= voucher.date <= year.fiscal_year.end
            assert voucher.registered_on is not None and voucher.registered_on >= voucher.date
            for row in voucher.rows:
                assert row.amount != ZERO and row.amount == row.amount.quantize(Decimal("0.01"))


def test_voucher_numbers_run_from_one_per_series_and_year(books: CompanyBooks) -> None:
    for year in books.years:
        numbers: dict[str, list[int]] = defaultdict(list)
        for voucher in year.vouchers:
            numbers[voucher.series].append(int(voucher.number))
        for series, seen in numbers.items():
            assert seen == list(range(1, len(seen) + 1)), series
        assert {"A", "B", "C", "D", "E"} <= set(numbers)
        # numbers follow the date order within a series
        for series in numbers:
            dates = [v.date for v in year.vouchers if v.series == series]
            assert dates == sorted(dates)


def test_opening_plus_movements_is_closing(books: CompanyBooks) -> None:
    for index, year in enumerate(books.years):
        moved = movements(books, index)
        accounts = set(moved) | set(year.opening_balances) | set(year.closing_balances)
        for account in accounts:
            if is_balance_sheet_account(account):
                expected = year.opening_balances.get(account, ZERO) + moved.get(account, ZERO)
                assert year.closing_balances.get(account, ZERO) == expected, account
            else:
                assert year.results.get(account, ZERO) == moved.get(account, ZERO), account
                assert account not in year.opening_balances


def test_balance_sheet_balances(books: CompanyBooks) -> None:
    for year in books.years:
        assert sum(year.opening_balances.values(), ZERO) == ZERO
        result = sum(year.results.values(), ZERO)
        assets = sum((v for a, v in year.closing_balances.items() if a[0] == "1"), ZERO)
        equity_and_liabilities = -sum(
            (v for a, v in year.closing_balances.items() if a[0] == "2"), ZERO
        )
        assert assets == equity_and_liabilities - result  # result: negative is a profit


def test_next_year_opens_with_previous_closing_and_result_on_2099(books: CompanyBooks) -> None:
    for previous, year in zip(books.years, books.years[1:], strict=False):
        result = sum(previous.results.values(), ZERO)
        expected = dict(previous.closing_balances)
        expected["2099"] = expected.get("2099", ZERO) + result
        expected = {a: v for a, v in expected.items() if v != ZERO}
        assert year.opening_balances == expected
        # the profit appropriation then moves it to retained earnings (2091)
        assert year.closing_balances.get("2099", ZERO) == ZERO
        appropriation = [v for v in year.vouchers if v.text.startswith("Vinstdisposition")]
        assert len(appropriation) == 1
        rows = {r.account: r.amount for r in appropriation[0].rows}
        assert rows == {"2099": result * -1, "2091": result}


def test_first_year_opening_balance_sheet(books: CompanyBooks) -> None:
    opening = books.years[0].opening_balances
    assert opening["2081"] in {Decimal(-25_000), Decimal(-50_000), Decimal(-100_000)}
    assert opening["2091"] < ZERO and opening["1930"] > ZERO and opening["1220"] > ZERO
    assert -opening["1229"] < opening["1220"]


def test_control_accounts_equal_open_items_at_year_end(books: CompanyBooks) -> None:
    for year in books.years:
        end = year.fiscal_year.end
        receivables = sum(
            (i.total for i in books.customer_invoices if i.invoice_date <= end), ZERO
        ) - sum((p.amount for p in books.invoice_payments if p.payment_date <= end), ZERO)
        payables = sum(
            (i.total for i in books.supplier_invoices if i.invoice_date <= end), ZERO
        ) - sum((p.amount for p in books.supplier_invoice_payments if p.payment_date <= end), ZERO)
        assert year.closing_balances.get("1510", ZERO) == receivables
        assert year.closing_balances.get("2440", ZERO) == -payables
        assert receivables > ZERO, "some December invoices are open at year end"


def test_year_end_items_are_paid_in_the_next_year(books: CompanyBooks) -> None:
    if len(books.years) < 2:
        pytest.skip("one year only")
    first_end = books.years[0].fiscal_year.end
    late = [p for p in books.invoice_payments if p.payment_date > first_end]
    invoices = {i.number: i for i in books.customer_invoices}
    assert any(invoices[p.invoice_number].invoice_date <= first_end for p in late)


def test_subledger_documents_point_at_their_vouchers(books: CompanyBooks) -> None:
    vouchers = {
        (y.fiscal_year.start, v.series, v.number): v for y in books.years for v in y.vouchers
    }
    for invoice in books.customer_invoices:
        voucher = vouchers[(invoice.fiscal_year_start, "B", str(invoice.voucher_number))]
        rows = {r.account: r.amount for r in voucher.rows}
        assert rows["1510"] == invoice.total and voucher.date == invoice.invoice_date
        # VAT is rounded to the öre, halves up (as Swedish invoicing does)
        vat = (invoice.net * invoice.vat_rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert invoice.vat == vat
        sales = {"0.25": "3001", "0.12": "3002", "0.06": "3003"}[str(invoice.vat_rate)]
        assert rows[sales] == -invoice.net
    for payment in books.invoice_payments:
        voucher = vouchers[(payment.fiscal_year_start, "C", str(payment.voucher_number))]
        assert {r.account: r.amount for r in voucher.rows} == {
            "1930": payment.amount,
            "1510": -payment.amount,
        }
    for supplier_invoice in books.supplier_invoices:
        key = (supplier_invoice.fiscal_year_start, "D", str(supplier_invoice.voucher_number))
        rows = {r.account: r.amount for r in vouchers[key].rows}
        assert rows["2440"] == -supplier_invoice.total
        assert rows[supplier_invoice.cost_account] == supplier_invoice.net
    for supplier_payment in books.supplier_invoice_payments:
        key = (supplier_payment.fiscal_year_start, "E", str(supplier_payment.voucher_number))
        assert {r.account: r.amount for r in vouchers[key].rows} == {
            "2440": supplier_payment.amount,
            "1930": -supplier_payment.amount,
        }
    totals = {i.number: i.total for i in books.customer_invoices}
    for payment in books.invoice_payments:
        assert payment.amount == totals[payment.invoice_number]


def test_vat_is_settled_at_each_year_end(books: CompanyBooks) -> None:
    for year in books.years:
        for account in ("2611", "2621", "2631", "2641"):
            assert year.closing_balances.get(account, ZERO) == ZERO, account
        assert year.closing_balances.get("2650", ZERO) < ZERO  # VAT owed for the last period


def test_payroll_when_the_company_has_employees(default_books: CompanyBooks) -> None:
    year = default_books.years[0]
    salaries = [v for v in year.vouchers if v.series == "L"]
    assert len(salaries) == 12
    for voucher in salaries:
        rows = {r.account: r.amount for r in voucher.rows}
        expected = (rows["7010"] * Decimal("0.3142")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert rows["7510"] == expected == -rows["2731"]
        assert rows["1930"] == -(rows["7010"] + rows["2710"])
    # December's withholding tax and contributions are owed at year end
    december = {r.account: r.amount for r in salaries[-1].rows}
    assert year.closing_balances["2710"] == december["2710"]
    assert year.closing_balances["2731"] == december["2731"]
    assert year.closing_balances.get("1630", ZERO) == ZERO


def test_depreciation_never_exceeds_cost(books: CompanyBooks) -> None:
    for year in books.years:
        closing = year.closing_balances
        assert ZERO < -closing["1229"] <= closing["1220"]
        assert year.results["7832"] > ZERO


def test_a_typical_company_is_plausible(default_books: CompanyBooks) -> None:
    for year in default_books.years:
        revenue = -sum((year.results.get(a, ZERO) for a in ("3001", "3002", "3003")), ZERO)
        result = -sum(year.results.values(), ZERO)
        assert revenue > Decimal(500_000)
        assert Decimal("-0.2") * revenue < result < Decimal("0.4") * revenue
        assert year.closing_balances["1930"] > ZERO
    mix = Counter(str(i.vat_rate) for i in default_books.customer_invoices)
    assert set(mix) == {"0.25", "0.12", "0.06"} and mix["0.25"] > mix["0.12"]


def test_cost_centre_objects_on_some_rows(default_books: CompanyBooks) -> None:
    rows = [r for y in default_books.years for v in y.vouchers for r in v.rows]
    with_objects = [r for r in rows if r.objects]
    assert 0 < len(with_objects) < len(rows)
    assert {r.objects[0][0] for r in with_objects} == {"1"}
    assert all(not r.account.startswith(("1", "2")) for r in with_objects)


@pytest.mark.parametrize(
    ("knob", "low", "high"), [(30, 15, 60), (300, 240, 360), (3000, 2600, 3300)]
)
def test_size_knob(knob: int, low: int, high: int) -> None:
    books = generate_books(3, years=1, vouchers_per_year=knob)
    assert low <= len(books.years[0].vouchers) <= high


@pytest.mark.slow
def test_size_knob_large() -> None:
    books = generate_books(3, years=1, vouchers_per_year=120_000)
    year = books.years[0]
    rows = sum(len(v.rows) for v in year.vouchers)
    assert 100_000 <= len(year.vouchers) <= 130_000 and rows > 250_000
    assert all(v.balance_difference == ZERO for v in year.vouchers)
    assert year.fiscal_year.start == date(2024, 1, 1)
