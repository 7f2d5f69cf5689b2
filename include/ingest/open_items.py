"""Year-end open receivables and payables, rebuilt from invoices and payments.

Fortnox has no "open items as of a date": ``filter=unpaid`` is today's state, not the year
end's. An invoice is open at the year end when it was dated on or before the year end, is
booked and not cancelled, and its payments dated on or before the year end do not cover its
total. The result reconciles with the closing balances of the control accounts (1510
customers, 2440 suppliers): amounts are in SEK, a foreign-currency invoice's at the rate it
was booked at (``CurrencyRate`` SEK per ``CurrencyUnit``). JSON money is read as Decimal
(``parse_float=Decimal``); a float or an amount with more than two decimals is refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from include.warehouse.types import to_ore

ACCOUNTING_CURRENCY = "SEK"  # the currency of the books (and of 1510/2440)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One invoice still open at the year end.

    ``total``, ``paid`` and ``open_amount`` are in SEK (``currency``) at the rate the invoice
    was booked at: the amounts the control account (1510/2440) carries. An invoice in another
    currency keeps its own currency, rate and amounts beside them, for reference (for a SEK
    invoice they equal the SEK ones). ``open_amount`` = ``total`` - ``paid``.
    """

    invoice_number: str
    party_number: str
    party_name: str
    invoice_date: date
    due_date: date | None
    total: Decimal
    paid: Decimal
    open_amount: Decimal
    currency: str  # always ACCOUNTING_CURRENCY: the currency of the three amounts above
    invoice_currency: str
    currency_rate: Decimal  # SEK per currency_unit of invoice_currency (Fortnox's CurrencyRate)
    currency_unit: Decimal
    total_in_invoice_currency: Decimal
    paid_in_invoice_currency: Decimal
    open_amount_in_invoice_currency: Decimal

    def to_json(self) -> dict[str, str | None]:
        row = asdict(self)
        return {k: (None if v is None else str(v)) for k, v in row.items()}


def loads_exact(raw: bytes | str) -> Any:
    """JSON with every non-integer number as Decimal (never float)."""
    return json.loads(raw, parse_float=Decimal)


def _money(value: object, where: str) -> Decimal:
    """An exact amount: floats and more than two decimals are refused, as in the warehouse."""
    try:
        return (Decimal(to_ore(value)) / 100).quantize(CENT)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _rate(value: object, where: str) -> Decimal:
    """A currency rate or unit: exact, positive (any number of decimals)."""
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{where}: must be exact (Decimal, int or str), not {value!r}")
    try:
        rate = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"{where}: {value!r} must be a positive number")
    return rate


def _day(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


@dataclass(frozen=True, slots=True)
class _Currency:
    """An invoice's currency and the rate it was booked at (SEK per ``unit``)."""

    code: str
    rate: Decimal
    unit: Decimal

    @property
    def foreign(self) -> bool:
        return self.code != ACCOUNTING_CURRENCY

    def to_sek(self, amount: Decimal) -> Decimal:
        if not self.foreign:
            return amount
        return (amount * self.rate / self.unit).quantize(CENT, ROUND_HALF_UP)


def _currency(document: Mapping[str, Any], where: str) -> _Currency:
    code = str(document.get("Currency") or ACCOUNTING_CURRENCY).upper()
    if code == ACCOUNTING_CURRENCY:
        return _Currency(code, Decimal(1), Decimal(1))
    if document.get("CurrencyRate") in (None, ""):
        raise ValueError(f"{where}: in {code} but without a CurrencyRate")
    rate = _rate(document["CurrencyRate"], f"{where} CurrencyRate")
    unit = _rate(document.get("CurrencyUnit") or 1, f"{where} CurrencyUnit")
    return _Currency(code, rate, unit)


def _paid_in_invoice_currency(
    payment: Mapping[str, Any], invoice: _Currency, where: str
) -> Decimal:
    """What a payment paid off, in the invoice's currency.

    ``Amount`` is in SEK; ``AmountCurrency`` (single payments only) is in the invoice's
    currency. Without it, a payment of a foreign invoice is converted back at its own rate.
    """
    if payment.get("AmountCurrency") not in (None, ""):
        return _money(payment["AmountCurrency"], f"{where} AmountCurrency")
    amount = _money(payment["Amount"], f"{where} Amount")
    if not invoice.foreign:
        return amount
    paid_in = _currency(payment, where)
    if paid_in.code != invoice.code:
        raise ValueError(
            f"{where}: in {paid_in.code}, but the invoice is in {invoice.code}; "
            f"cannot tell what it paid in {invoice.code}"
        )
    return (amount * paid_in.unit / paid_in.rate).quantize(CENT, ROUND_HALF_UP)


def _payments_by_invoice(
    payments: Iterable[Mapping[str, Any]], year_end: date
) -> dict[str, list[Mapping[str, Any]]]:
    """The booked payments dated up to the year end, by the invoice they pay."""
    by_invoice: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for payment in payments:
        paid_on = _day(payment.get("PaymentDate"))
        if paid_on is None or paid_on > year_end:
            continue
        if payment.get("Booked") is False:  # an unbooked payment is not in the ledger yet
            continue
        by_invoice[str(payment["InvoiceNumber"])].append(payment)
    return by_invoice


@dataclass(frozen=True, slots=True)
class _Fields:
    """Where a kind of invoice keeps its number, party and cancellation flags."""

    label: str
    number: str
    party_number: str
    party_name: str
    cancelled: tuple[str, ...]


_CUSTOMER = _Fields("invoice", "DocumentNumber", "CustomerNumber", "CustomerName", ("Cancelled",))
# Supplier invoices say "Cancel"; payments refer to the invoice's GivenNumber.
_SUPPLIER = _Fields(
    "supplier invoice", "GivenNumber", "SupplierNumber", "SupplierName", ("Cancel", "Cancelled")
)


def _open_at(
    invoices: Iterable[Mapping[str, Any]],
    payments: Iterable[Mapping[str, Any]],
    year_end: date,
    fields: _Fields,
) -> list[OpenItem]:
    """Open items in SEK at the booked rate: a foreign invoice's open amount in its own
    currency (total less payments), times ``CurrencyRate`` / ``CurrencyUnit``. Exchange
    differences at payment went to the result, not to the control account."""
    by_invoice = _payments_by_invoice(payments, year_end)
    items = []
    for invoice in invoices:
        invoice_date = _day(invoice.get("InvoiceDate"))
        if invoice_date is None or invoice_date > year_end:
            continue
        if any(invoice.get(flag) for flag in fields.cancelled) or invoice.get("Booked") is False:
            continue
        number = str(invoice[fields.number])
        where = f"{fields.label} {number}"
        currency = _currency(invoice, where)
        total_in = _money(invoice["Total"], f"{where} Total")
        paid_in = sum(
            (
                _paid_in_invoice_currency(p, currency, f"payment {p.get('Number', '?')} of {where}")
                for p in by_invoice.get(number, [])
            ),
            ZERO,
        )
        open_in = total_in - paid_in
        if open_in == 0:
            continue
        total = currency.to_sek(total_in)
        open_amount = currency.to_sek(open_in)
        items.append(
            OpenItem(
                invoice_number=number,
                party_number=str(invoice.get(fields.party_number, "")),
                party_name=str(invoice.get(fields.party_name, "")),
                invoice_date=invoice_date,
                due_date=_day(invoice.get("DueDate")),
                total=total,
                paid=total - open_amount,
                open_amount=open_amount,
                currency=ACCOUNTING_CURRENCY,
                invoice_currency=currency.code,
                currency_rate=currency.rate,
                currency_unit=currency.unit,
                total_in_invoice_currency=total_in,
                paid_in_invoice_currency=paid_in,
                open_amount_in_invoice_currency=open_in,
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
