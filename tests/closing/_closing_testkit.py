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


# A small limited company whose closing figures are worked out by hand in the tests:
# sales 1 000 494,80, rent 400 000, representation (not deductible) 10 000, tax-free interest
# 2 000. Cost centres 100 and 200, project P1.
TAX_ORG = "559000-0001"
TAX_BOOKS = """#FLAGGA 0
#PROGRAM "Fortnox" 3.57.11
#FORMAT PC8
#GEN 20260110
#SIETYP 4
#FNR 9001
#ORGNR 559000-0001
#FNAMN "Skattebolaget AB"
#RAR 0 20250101 20251231
#KPTYP BAS2014
#KONTO 1229 "Ackumulerade avskrivningar på inventarier och verktyg"
#KONTO 1930 "Företagskonto"
#KONTO 2081 "Aktiekapital"
#KONTO 2099 "Årets resultat"
#KONTO 2125 "Periodiseringsfond 2025"
#KONTO 2512 "Beräknad inkomstskatt"
#KONTO 2920 "Upplupna semesterlöner"
#KONTO 3001 "Försäljning inom Sverige, 25 % moms"
#KONTO 5010 "Lokalhyra"
#KONTO 6072 "Representation, ej avdragsgill"
#KONTO 7010 "Löner till kollektivanställda"
#KONTO 7832 "Avskrivningar på inventarier och verktyg"
#KONTO 8314 "Skattefria ränteintäkter"
#KONTO 8811 "Avsättning till periodiseringsfond"
#KONTO 8910 "Skatt som belastar årets resultat"
#KONTO 8999 "Årets resultat"
#DIM 1 "Kostnadsställe"
#OBJEKT 1 100 "Administration"
#OBJEKT 1 200 "Försäljning"
#DIM 6 "Projekt"
#OBJEKT 6 P1 "Projekt 1"
#IB 0 1930 100000.00
#IB 0 2081 -100000.00
#UB 0 1930 692494.80
#UB 0 2081 -100000.00
#RES 0 3001 -1000494.80
#RES 0 5010 400000.00
#RES 0 6072 10000.00
#RES 0 8314 -2000.00
#VER A 1 20250331 "Försäljning"
{
#TRANS 1930 {} 1000494.80
#TRANS 3001 {} -1000494.80
}
#VER A 2 20250630 "Hyra"
{
#TRANS 5010 {1 "100"} 400000.00
#TRANS 1930 {} -400000.00
}
#VER A 3 20250915 "Kundmiddag"
{
#TRANS 6072 {1 "200"} 10000.00
#TRANS 1930 {} -10000.00
}
#VER A 4 20251130 "Skattefri ränta"
{
#TRANS 1930 {} 2000.00
#TRANS 8314 {} -2000.00
}
"""


def tax_books_sie() -> bytes:
    return TAX_BOOKS.replace("\n", "\r\n").encode("cp437")


ADJUSTMENTS_CSV = """voucher,date,account,debit,credit,text,cost_centre,project,attachment
ADJ-1,2025-12-31,7832,8000.00,,Avskrivning inventarier 2025,,,avskrivningar-2025.pdf
ADJ-1,2025-12-31,1229,,8000.00,Avskrivning inventarier 2025,,,
ADJ-2,2025-12-31,7010,12500.00,,Upplupen semesterlön,100,P1,
ADJ-2,2025-12-31,2920,,12500.00,Upplupen semesterlön,,,
"""


def write_adjustments(folder, text: str = ADJUSTMENTS_CSV, attachment: bytes = b"%PDF-1.4 plan\n"):  # type: ignore[no-untyped-def]
    """The CSV and its attachment in ``folder``; returns the CSV's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "avskrivningar-2025.pdf").write_bytes(attachment)
    path = folder / "adjustments.csv"
    path.write_text(text, encoding="utf-8")
    return path
