"""Year-end open receivables and payables, rebuilt from invoices and payments.

Fortnox has no "open items as of a date": ``filter=unpaid`` is today's state, not the year
end's. An invoice is open at the year end when it was dated on or before the year end, is
booked and not cancelled, and its payments dated on or before the year end do not cover its
total. The result reconciles with the closing balances of the control accounts (1510
customers, 2440 suppliers). JSON money is read as Decimal (``parse_float=Decimal``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One invoice still open at the year end. ``open_amount`` = total - payments up to then."""

    invoice_number: str
    party_number: str
    party_name: str
    invoice_date: date
    due_date: date | None
    total: Decimal
    paid: Decimal
    open_amount: Decimal
    currency: str

    def to_json(self) -> dict[str, str | None]:
        row = asdict(self)
        return {k: (None if v is None else str(v)) for k, v in row.items()}


def loads_exact(raw: bytes | str) -> Any:
    """JSON with every non-integer number as Decimal (never float)."""
    return json.loads(raw, parse_float=Decimal)


def _money(value: object) -> Decimal:
    if isinstance(value, float):  # a float here means someone parsed JSON wrongly
        raise TypeError("money must not be a float; parse JSON with parse_float=Decimal")
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _day(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _paid_by_invoice(payments: Iterable[Mapping[str, Any]], year_end: date) -> dict[str, Decimal]:
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in payments:
        paid_on = _day(payment.get("PaymentDate"))
        if paid_on is None or paid_on > year_end:
            continue
        if payment.get("Booked") is False:  # an unbooked payment is not in the ledger yet
            continue
        paid[str(payment["InvoiceNumber"])] += _money(payment["Amount"])
    return paid


@dataclass(frozen=True, slots=True)
class _Fields:
    """Where a kind of invoice keeps its number, party and cancellation flags."""

    number: str
    party_number: str
    party_name: str
    cancelled: tuple[str, ...]


_CUSTOMER = _Fields("DocumentNumber", "CustomerNumber", "CustomerName", ("Cancelled",))
# Supplier invoices say "Cancel"; payments refer to the invoice's GivenNumber.
_SUPPLIER = _Fields("GivenNumber", "SupplierNumber", "SupplierName", ("Cancel", "Cancelled"))


def _open_at(
    invoices: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    year_end: date,
    fields: _Fields,
) -> list[OpenItem]:
    paid = _paid_by_invoice(payments, year_end)
    items = []
    for invoice in invoices:
        invoice_date = _day(invoice.get("InvoiceDate"))
        if invoice_date is None or invoice_date > year_end:
            continue
        if any(invoice.get(flag) for flag in fields.cancelled) or invoice.get("Booked") is False:
            continue
        number = str(invoice[fields.number])
        total = _money(invoice["Total"])
        open_amount = total - paid.get(number, Decimal(0))
        if open_amount != 0:
            items.append(
                OpenItem(
                    invoice_number=number,
                    party_number=str(invoice.get(fields.party_number, "")),
                    party_name=str(invoice.get(fields.party_name, "")),
                    invoice_date=invoice_date,
                    due_date=_day(invoice.get("DueDate")),
                    total=total,
                    paid=paid.get(number, Decimal(0)),
                    open_amount=open_amount,
                    currency=str(invoice.get("Currency") or "SEK"),
                )
            )
    return sorted(items, key=lambda i: (i.invoice_date, i.invoice_number))


def receivables_at(
    invoices: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    year_end: date,
) -> list[OpenItem]:
    """Customer invoices open at ``year_end`` (items of /3/invoices and /3/invoicepayments)."""
    return _open_at(invoices, payments, year_end, _CUSTOMER)


def payables_at(
    supplier_invoices: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    year_end: date,
) -> list[OpenItem]:
    """Supplier invoices open at ``year_end`` (payments refer to the invoice's GivenNumber)."""
    return _open_at(supplier_invoices, payments, year_end, _SUPPLIER)


def items_from_pages(pages: Iterable[bytes], collection: str) -> list[dict[str, Any]]:
    """The list items of raw JSON pages as received (e.g. collection ``Invoices``)."""
    items: list[dict[str, Any]] = []
    for raw in pages:
        items.extend(loads_exact(raw).get(collection, []))
    return items
