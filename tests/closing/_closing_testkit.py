"""A small voucher set like a real closing's: an accrual with a PDF, a proposal with its spec."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from include.closing.models import Attachment, ClosingRow, ClosingVoucher

YEAR_START = date(2025, 1, 1)
YEAR_END = date(2025, 12, 31)
ORG = "556677-8899"


def d(text: str) -> Decimal:
    return Decimal(text)


def sample_vouchers() -> tuple[ClosingVoucher, ...]:
    accrual = ClosingVoucher(
        reference="ADJ-1",
        origin="adjustment",
        kind="adjustment",
        series="A",
        voucher_date=YEAR_END,
        description="Upplupen hyra december",
        rows=(
            ClosingRow("5010", d("12500.00"), d("0"), "Hyra dec", cost_centre="100"),
            ClosingRow("2990", d("0"), d("12500.00"), "Upplupen kostnad"),
        ),
        attachment=Attachment("hyresavi-dec.pdf", "application/pdf", b"%PDF-1.4 hyra\n"),
    )
    tax = ClosingVoucher(
        reference="PROPOSAL-TAX",
        origin="proposal",
        kind="income_tax",
        series="A",
        voucher_date=YEAR_END,
        description="Årets skatt",
        rows=(
            ClosingRow("8910", d("20600.00"), d("0"), "Skatt 20,6 %"),
            ClosingRow("2512", d("0"), d("20600.00"), "Beräknad skatt", project="P1"),
        ),
        attachment=Attachment("skatt-2025.txt", "text/plain", b"Skatt: 20 600,00 kr\n"),
    )
    return (accrual, tax)
