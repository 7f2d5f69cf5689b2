from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from include.ingest.open_items import items_from_pages, loads_exact, payables_at, receivables_at

YEAR_END = date(2025, 12, 31)


def invoice(number: int, day: str, total: str, **extra: object) -> dict[str, object]:
    return {
        "DocumentNumber": str(number),
        "CustomerNumber": "10",
        "CustomerName": "Kund AB",
        "InvoiceDate": day,
        "DueDate": day,
        "Total": Decimal(total),
        "Booked": True,
        "Cancelled": False,
        **extra,
    }


def payment(invoice_number: int, day: str, amount: str, **extra: object) -> dict[str, object]:
    return {"InvoiceNumber": invoice_number, "PaymentDate": day, "Amount": Decimal(amount), **extra}


def test_receivables_at_year_end_not_today() -> None:
    invoices = [
        invoice(1, "2025-11-01", "1250.00"),  # paid in November: closed
        invoice(2, "2025-12-20", "625.00"),  # paid in January: open at year end
        invoice(3, "2025-12-10", "1000.00"),  # half paid in December
        invoice(4, "2026-01-05", "500.00"),  # next year's invoice: not yet existing
        invoice(5, "2025-10-01", "800.00", Cancelled=True),
        invoice(6, "2025-10-01", "900.00", Booked=False),
    ]
    payments = [
        payment(1, "2025-11-20", "1250.00"),
        payment(2, "2026-01-10", "625.00"),
        payment(3, "2025-12-28", "400.00"),
        payment(3, "2025-12-29", "100.00", Booked=False),  # not in the ledger
    ]
    items = receivables_at(invoices, payments, YEAR_END)
    assert [(i.invoice_number, i.open_amount) for i in items] == [
        ("3", Decimal("600.00")),
        ("2", Decimal("625.00")),
    ]
    assert sum(i.open_amount for i in items) == Decimal("1225.00")
    assert items[0].paid == Decimal("400.00")


def test_payables_use_given_number_and_string_money() -> None:
    supplier_invoices = [
        {
            "GivenNumber": "7",
            "SupplierNumber": "3",
            "SupplierName": "Lev AB",
            "InvoiceDate": "2025-12-01",
            "DueDate": "2025-12-31",
            "Total": "2500.50",
            "Booked": True,
            "Cancel": False,
        },
        {
            "GivenNumber": "8",
            "SupplierNumber": "3",
            "SupplierName": "Lev AB",
            "InvoiceDate": "2025-12-01",
            "Total": "99.00",
            "Booked": True,
            "Cancel": True,
        },
    ]
    payments = [{"InvoiceNumber": "7", "PaymentDate": "2025-12-15", "Amount": "500.50"}]
    items = payables_at(supplier_invoices, payments, YEAR_END)
    assert [(i.invoice_number, i.party_name, i.open_amount) for i in items] == [
        ("7", "Lev AB", Decimal("2000.00"))
    ]


def test_float_money_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        receivables_at([invoice(1, "2025-01-01", "1.00") | {"Total": 0.1}], [], YEAR_END)


def test_pages_parse_money_exactly() -> None:
    page = json.dumps({"Invoices": [{"Total": 0.1}, {"Total": 1e2}]}).encode()
    items = items_from_pages([page], "Invoices")
    assert [type(i["Total"]) for i in items] == [Decimal, Decimal]
    assert items[0]["Total"] == Decimal("0.1")
    assert loads_exact(b'{"a": 1.10}')["a"] == Decimal("1.10")


@pytest.mark.parametrize(
    ("field", "value"),
    [("Total", Decimal("100.005")), ("Total", "1.999"), ("Amount", Decimal("0.001"))],
)
def test_more_than_two_decimals_is_refused_not_rounded(field: str, value: object) -> None:
    invoices = [invoice(1, "2025-01-01", "100.00")]
    payments = [payment(1, "2025-02-01", "50.00")]
    (invoices if field == "Total" else payments)[0][field] = value
    with pytest.raises(ValueError, match=rf"invoice 1 .*{field}.*more than 2 decimals"):
        receivables_at(invoices, payments, YEAR_END)


def eur_invoice(number: int, day: str, total: str, rate: str = "11.2345") -> dict[str, object]:
    return invoice(
        number,
        day,
        total,
        Currency="EUR",
        CurrencyRate=Decimal(rate),
        CurrencyUnit=1,
        Balance=Decimal(total),  # Fortnox's Balance is in the invoice's currency
    )


def eur_payment(number: int, day: str, sek: str, rate: str) -> dict[str, object]:
    """A list item: Amount in SEK at the payment's own rate."""
    return payment(number, day, sek, Currency="EUR", CurrencyRate=Decimal(rate), CurrencyUnit=1)


def test_a_eur_invoice_is_open_in_sek_at_the_booked_rate() -> None:
    invoices = [
        eur_invoice(1, "2025-12-01", "1000.00"),  # open: 11 234.50 SEK on 1510
        eur_invoice(2, "2025-11-01", "500.00"),  # paid in full at another rate: closed
        eur_invoice(3, "2025-10-01", "200.00"),  # half paid at another rate
        invoice(4, "2025-12-02", "300.00", Currency="SEK", CurrencyRate=1, CurrencyUnit=1),
    ]
    payments = [
        eur_payment(2, "2025-11-20", "5700.00", "11.40"),  # 500.00 EUR at 11.40
        eur_payment(3, "2025-10-20", "1100.00", "11.00"),  # 100.00 EUR at 11.00
    ]
    items = {i.invoice_number: i for i in receivables_at(invoices, payments, YEAR_END)}
    assert sorted(items) == ["1", "3", "4"]
    one = items["1"]
    assert (one.open_amount, one.total, one.currency) == (
        Decimal("11234.50"),
        Decimal("11234.50"),
        "SEK",
    )
    assert (one.invoice_currency, one.currency_rate, one.open_amount_in_invoice_currency) == (
        "EUR",
        Decimal("11.2345"),
        Decimal("1000.00"),
    )
    # The remaining 100.00 EUR at the booked rate; the payment's exchange difference went to
    # the result (3960/7960), not to 1510.
    three = items["3"]
    assert three.open_amount == Decimal("1123.45")
    assert three.total == Decimal("2246.90")
    assert three.paid == Decimal("1123.45")
    assert three.paid_in_invoice_currency == Decimal("100.00")
    assert items["4"].open_amount == items["4"].open_amount_in_invoice_currency == Decimal("300")
    # What 1510 carries for these invoices, not the invoice currency's sum (1000 + 100 + 300).
    assert sum(i.open_amount for i in items.values()) == Decimal("12657.95")


def test_currency_unit_and_amount_currency() -> None:
    # 100 000 JPY at 7.0512 SEK per 100 JPY; a single payment resource gives AmountCurrency.
    jpy = invoice(
        1, "2025-12-01", "100000", Currency="JPY", CurrencyRate="7.0512", CurrencyUnit=100
    )
    paid = payment(1, "2025-12-15", "3525.60", AmountCurrency=Decimal("50000"))
    (item,) = receivables_at([jpy], [paid], YEAR_END)
    assert item.open_amount_in_invoice_currency == Decimal("50000")
    assert item.open_amount == Decimal("3525.60")
    assert item.total == Decimal("7051.20")


def test_supplier_invoice_in_eur_with_string_rate() -> None:
    supplier_invoice = {
        "GivenNumber": "9",
        "SupplierNumber": "3",
        "SupplierName": "Lev GmbH",
        "InvoiceDate": "2025-12-10",
        "Total": "250.50",
        "Currency": "EUR",
        "CurrencyRate": "11.01",  # a string, as in the spec
        "CurrencyUnit": 1,
        "Booked": True,
    }
    (item,) = payables_at([supplier_invoice], [], YEAR_END)
    assert item.open_amount == Decimal("2758.01")  # 2758.005 rounded half up to öre
    assert item.to_json()["open_amount"] == "2758.01"
    assert item.to_json()["open_amount_in_invoice_currency"] == "250.50"
    assert item.to_json()["paid_in_invoice_currency"] == "0.00"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"CurrencyRate": None}, "without a CurrencyRate"),
        ({"CurrencyRate": 11.2}, "must be exact"),
        ({"CurrencyRate": "0"}, "positive"),
    ],
)
def test_a_foreign_invoice_without_a_usable_rate_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"invoice 1\b.*{message}"):
        receivables_at([eur_invoice(1, "2025-12-01", "10.00") | changes], [], YEAR_END)


def test_a_payment_in_another_currency_than_its_invoice_is_refused() -> None:
    paid = payment(1, "2025-12-15", "100.00", Currency="SEK", CurrencyRate=1)
    with pytest.raises(ValueError, match="in SEK, but the invoice is in EUR"):
        receivables_at([eur_invoice(1, "2025-12-01", "10.00")], [paid], YEAR_END)
