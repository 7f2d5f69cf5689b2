"""Each read endpoint, paging and financial-year handling, checked against the generated books."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from _sandbox_testkit import TODAY, Sandbox

from include.fortnox_sandbox import jsonio

pytestmark = pytest.mark.sandbox


def body(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return jsonio.loads(response.content)


def test_company_information(sandbox: Sandbox, tenant: int, token: str) -> None:
    company = sandbox.books(tenant).company
    info = body(sandbox.api(token, "companyinformation"))["CompanyInformation"]
    assert info["CompanyName"] == company.name
    assert info["OrganizationNumber"] == company.org_number
    assert info["DatabaseNumber"] == tenant
    assert f"{info['ZipCode']} {info['City']}" == company.address_postal


def test_financial_years_list_by_id_and_by_date(sandbox: Sandbox, tenant: int, token: str) -> None:
    years = body(sandbox.api(token, "financialyears"))["FinancialYears"]
    assert [(y["Id"], y["FromDate"], y["ToDate"]) for y in years] == [
        (1, "2024-01-01", "2024-12-31"),
        (2, "2025-01-01", "2025-12-31"),
    ]
    one = body(sandbox.api(token, "financialyears/1"))["FinancialYear"]
    assert one["FromDate"] == "2024-01-01"
    dated = body(sandbox.api(token, "financialyears", date="2025-06-30"))["FinancialYears"]
    assert [y["Id"] for y in dated] == [2]
    assert body(sandbox.api(token, "financialyears", date="2030-01-01"))["FinancialYears"] == []
    missing = sandbox.api(token, "financialyears/9")
    assert missing.status_code == 404
    bad = sandbox.api(token, "financialyears", date="30/06/2025")
    assert bad.status_code == 400
    assert bad.json()["ErrorInformation"]["code"] == 2000588


def test_financialyear_omitted_means_the_latest_year_silently(
    sandbox: Sandbox, tenant: int, token: str
) -> None:
    books = sandbox.books(tenant)
    latest = body(sandbox.api(token, "vouchers", limit=500))
    older = body(sandbox.api(token, "vouchers", limit=500, financialyear=1))
    assert latest["MetaInformation"]["@TotalResources"] == len(books.years[-1].vouchers)
    assert older["MetaInformation"]["@TotalResources"] == len(books.years[0].vouchers)
    assert {v["Year"] for v in latest["Vouchers"]} == {2}
    assert all(v["TransactionDate"].startswith("2024") for v in older["Vouchers"])
    unknown = sandbox.api(token, "vouchers", financialyear=7)
    assert unknown.status_code == 400
    assert unknown.json()["ErrorInformation"] == {
        "error": 1,
        "message": "Financial year 7 not found",
        "code": 2000588,
    }


def test_paging_covers_every_item_once(sandbox: Sandbox, tenant: int, token: str) -> None:
    expected = len(sandbox.books(tenant).years[-1].vouchers)
    first = body(sandbox.api(token, "vouchers", limit=7))
    meta = first["MetaInformation"]
    assert meta == {
        "@TotalResources": expected,
        "@TotalPages": -(-expected // 7),
        "@CurrentPage": 1,
    }
    seen = []
    for page in range(1, meta["@TotalPages"] + 1):
        chunk = body(sandbox.api(token, "vouchers", limit=7, page=page))
        assert chunk["MetaInformation"]["@CurrentPage"] == page
        seen += [(v["VoucherSeries"], v["VoucherNumber"]) for v in chunk["Vouchers"]]
    assert len(seen) == len(set(seen)) == expected
    assert body(sandbox.api(token, "vouchers", limit=7, page=999))["Vouchers"] == []
    default = body(sandbox.api(token, "vouchers"))
    assert len(default["Vouchers"]) == min(100, expected)


@pytest.mark.parametrize("params", [{"limit": 501}, {"limit": 0}, {"page": 0}, {"page": "x"}])
def test_bad_paging_parameters(sandbox: Sandbox, token: str, params: dict[str, object]) -> None:
    answer = sandbox.api(token, "accounts", **params)
    assert answer.status_code == 400
    assert answer.json()["ErrorInformation"]["code"] == 2000588


def test_accounts_carry_opening_balance_of_the_year(
    sandbox: Sandbox, tenant: int, token: str
) -> None:
    books = sandbox.books(tenant)
    accounts = body(sandbox.api(token, "accounts", financialyear=2, limit=500))["Accounts"]
    assert {str(a["Number"]) for a in accounts} == {a.number for a in books.accounts}
    opening = books.years[-1].opening_balances
    for account in accounts:
        assert account["BalanceBroughtForward"] == opening.get(str(account["Number"]), 0)
        assert account["Year"] == 2
    one = body(sandbox.api(token, "accounts/1930"))["Account"]
    assert one["Number"] == 1930
    assert sandbox.api(token, "accounts/1111").json()["ErrorInformation"]["code"] == 2001304


def test_voucher_series_only_a_is_manual(sandbox: Sandbox, token: str) -> None:
    series = body(sandbox.api(token, "voucherseries"))["VoucherSeriesCollection"]
    manual = {s["Code"]: s["Manual"] for s in series}
    assert manual["A"] is True
    assert {code for code, is_manual in manual.items() if is_manual} == {"A"}
    assert {"B", "C", "D", "E"} <= set(manual)


def test_voucher_sublist_and_single_voucher_with_rows(
    sandbox: Sandbox, tenant: int, token: str
) -> None:
    year = sandbox.books(tenant).years[-1]
    series_b = [v for v in year.vouchers if v.series == "B"]
    sub = body(sandbox.api(token, "vouchers/sublist/B", limit=500))["Vouchers"]
    assert [v["VoucherNumber"] for v in sub] == [int(v.number) for v in series_b]
    assert {v["ReferenceType"] for v in sub} == {"INVOICE"}
    assert "VoucherRows" not in sub[0]  # list items carry no rows
    source = series_b[0]
    one = body(sandbox.api(token, f"vouchers/B/{source.number}", financialyear=2))["Voucher"]
    assert one["TransactionDate"] == source.date.isoformat()
    rows = [(str(r["Account"]), r["Debit"] - r["Credit"]) for r in one["VoucherRows"]]
    assert rows == [(r.account, r.amount) for r in source.rows]
    missing = sandbox.api(token, "vouchers/B/99999", financialyear=2)
    assert missing.status_code == 404


def test_voucher_date_range(sandbox: Sandbox, token: str) -> None:
    march = body(
        sandbox.api(token, "vouchers", fromdate="2025-03-01", todate="2025-03-31", limit=500)
    )["Vouchers"]
    assert march
    assert all("2025-03-01" <= v["TransactionDate"] <= "2025-03-31" for v in march)


def _invoice_balance(books, number: int, today: date) -> Decimal:  # type: ignore[no-untyped-def]
    invoice = next(i for i in books.customer_invoices if i.number == number)
    paid = sum(
        (
            p.amount
            for p in books.invoice_payments
            if p.invoice_number == number and p.payment_date <= today
        ),
        Decimal(0),
    )
    return invoice.total - paid


def in_sek(item: dict, field: str) -> Decimal:  # type: ignore[type-arg]
    """An amount of a document in SEK: Fortnox's amounts are in the document's currency."""
    rate = Decimal(str(item["CurrencyRate"])) / Decimal(str(item["CurrencyUnit"]))
    return (Decimal(str(item[field])) * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_invoices_show_balance_as_of_today(sandbox: Sandbox, tenant: int, token: str) -> None:
    books = sandbox.books(tenant)
    invoices = body(sandbox.api(token, "invoices", limit=500))["Invoices"]
    visible = [i for i in books.customer_invoices if i.invoice_date <= TODAY]
    assert len(invoices) == len(visible)
    for item in invoices:
        number = int(item["DocumentNumber"])
        assert in_sek(item, "Balance") == _invoice_balance(books, number, TODAY)
        assert in_sek(item, "Total") == next(i.total for i in visible if i.number == number)
    unpaid = body(sandbox.api(token, "invoices", filter="unpaid", limit=500))["Invoices"]
    assert unpaid, "the test day is chosen so that some invoices are open"
    assert all(i["Balance"] != 0 for i in unpaid)
    assert len(unpaid) == sum(1 for i in invoices if i["Balance"] != 0)
    paid = body(sandbox.api(token, "invoices", filter="fullypaid", limit=500))["Invoices"]
    assert len(paid) + len(unpaid) == len(invoices)
    assert sandbox.api(token, "invoices", filter="nonsense").status_code == 400


def test_invoice_date_range_and_payments(sandbox: Sandbox, tenant: int, token: str) -> None:
    books = sandbox.books(tenant)
    in_2024 = body(
        sandbox.api(token, "invoices", fromdate="2024-01-01", todate="2024-12-31", limit=500)
    )["Invoices"]
    assert len(in_2024) == sum(1 for i in books.customer_invoices if i.invoice_date.year == 2024)
    payments = body(sandbox.api(token, "invoicepayments", limit=500))["InvoicePayments"]
    expected = [p for p in books.invoice_payments if p.payment_date <= TODAY]
    assert sorted((int(p["Number"]), p["Amount"]) for p in payments) == sorted(
        (p.number, p.amount) for p in expected
    )
    one = expected[0]
    for_one = body(sandbox.api(token, "invoicepayments", invoicenumber=one.invoice_number))
    assert {p["InvoiceNumber"] for p in for_one["InvoicePayments"]} == {one.invoice_number}


def test_supplier_invoices_and_payments(sandbox: Sandbox, tenant: int, token: str) -> None:
    books = sandbox.books(tenant)
    invoices = body(sandbox.api(token, "supplierinvoices", limit=500))["SupplierInvoices"]
    visible = [i for i in books.supplier_invoices if i.invoice_date <= TODAY]
    assert len(invoices) == len(visible)
    by_number = {str(i.given_number): i for i in visible}
    for item in invoices:
        source = by_number[item["GivenNumber"]]
        paid = sum(
            (
                p.amount
                for p in books.supplier_invoice_payments
                if p.given_number == source.given_number and p.payment_date <= TODAY
            ),
            Decimal(0),
        )
        assert isinstance(item["Total"], str)  # strings, as in the spec
        assert in_sek(item, "Total") == source.total
        assert in_sek(item, "Balance") == source.total - paid
    payments = body(sandbox.api(token, "supplierinvoicepayments", limit=500))
    assert len(payments["SupplierInvoicePayments"]) == sum(
        1 for p in books.supplier_invoice_payments if p.payment_date <= TODAY
    )


def test_locked_period(sandbox: Sandbox, token: str) -> None:
    assert body(sandbox.api(token, "settings/lockedperiod")) == {
        "LockedPeriod": {"EndDate": "2024-12-31"}
    }


def test_sie_export_is_cp437_sie4_of_the_requested_year(
    sandbox: Sandbox, tenant: int, token: str
) -> None:
    from include.sie4.reader import read_sie

    answer = sandbox.api(token, "sie/4", financialyear=1)
    assert answer.status_code == 200
    assert b"#FORMAT PC8" in answer.content
    doc = read_sie(answer.content, source_name="sandbox-sie")
    books = sandbox.books(tenant)
    assert doc.fiscal_year(0).start == date(2024, 1, 1)
    assert len(doc.vouchers) == len(books.years[0].vouchers)
    assert doc.company.name == books.company.name
    latest = read_sie(sandbox.api(token, "sie/4").content)
    assert latest.fiscal_year(0).start == date(2025, 1, 1)
    assert sandbox.api(token, "sie/3").status_code == 400


def test_unknown_resource_is_404(sandbox: Sandbox, token: str) -> None:
    answer = sandbox.api(token, "articles")
    assert answer.status_code == 404
    assert set(answer.json()["ErrorInformation"]) == {"error", "message", "code"}


def _year_end_state(payments: list[dict], number: str, year_end: str) -> bool:  # type: ignore[type-arg]
    return any(str(p["InvoiceNumber"]) == number and p["PaymentDate"] <= year_end for p in payments)


@pytest.mark.parametrize(
    ("path", "key", "number", "payments_path", "payments_key"),
    [
        ("invoices", "Invoices", "DocumentNumber", "invoicepayments", "InvoicePayments"),
        (
            "supplierinvoices",
            "SupplierInvoices",
            "GivenNumber",
            "supplierinvoicepayments",
            "SupplierInvoicePayments",
        ),
    ],
)
def test_some_invoices_are_in_eur_and_book_exactly_in_sek(
    sandbox: Sandbox,
    tenant: int,
    token: str,
    path: str,
    key: str,
    number: str,
    payments_path: str,
    payments_key: str,
) -> None:
    items = body(sandbox.api(token, path, limit=500))[key]
    payments = body(sandbox.api(token, payments_path, limit=500))[payments_key]
    eur = [i for i in items if i["Currency"] == "EUR"]
    year_end = "2024-12-31"  # TODAY is in 2025: the older year's end is behind us
    in_2024 = [i for i in eur if i["InvoiceDate"] <= year_end]
    # One open at the year end and one paid within the year.
    assert sorted(_year_end_state(payments, i[number], year_end) for i in in_2024) == [False, True]
    for item in eur:
        rate = Decimal(str(item["CurrencyRate"]))
        assert abs(rate - Decimal("11.2345")) < Decimal("0.05") and item["CurrencyUnit"] == 1
        # The amounts are in EUR, a tenth or so of the SEK the books hold.
        assert Decimal(str(item["Total"])) * 10 < in_sek(item, "Total")
        for paid in (p for p in payments if str(p["InvoiceNumber"]) == item[number]):
            # Paid at the booked rate: Amount (SEK) is the booked SEK total.
            assert (paid["Currency"], Decimal(str(paid["CurrencyRate"]))) == ("EUR", rate)
            assert paid["Amount"] == in_sek(item, "Total")
    assert all(
        i["Currency"] == "SEK" and i["CurrencyRate"] in (1, "1") for i in items if i not in eur
    )
