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
