"""Proposals on books whose closing is worked out by hand: reserve, tax, result, consistent."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from include.closing.adjustments import import_adjustments
from include.closing.config import ClosingConfig
from include.closing.pdf import text_pdf
from include.closing.proposals import ProposalError, base_balances, propose
from include.closing.store import current_voucher_set
from include.warehouse import create_warehouse_engine, load_sie
from tests.closing._closing_testkit import TAX_ORG, tax_books_sie, write_adjustments

YEAR = "2025-01-01"
START = date(2025, 1, 1)
ALL = ("tax_allocation_reserve", "income_tax", "result_transfer")


@pytest.fixture
def books(warehouse_url: str) -> str:
    load_sie(tax_books_sie(), warehouse_url, file_name="skattebolaget.se")
    return warehouse_url


def _rows(voucher) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(r.account, str(r.debit), str(r.credit)) for r in voucher.rows]


def test_the_hand_worked_closing(books: str) -> None:
    partition, proposals = propose(books, TAX_ORG, YEAR, accept=ALL)
    reserve, tax, result = proposals
    # Tax base 592 494,80 + 10 000 (6072) - 2 000 (8314) = 600 494,80 -> 600 494;
    # 25 % = 150 123,50 -> 150 123 (whole kronor, down).
    assert reserve.amount == Decimal("150123.00")
    assert _rows(reserve.voucher) == [("8811", "150123.00", "0.00"), ("2125", "0.00", "150123.00")]
    # After the reserve: 450 371,80 -> 450 371; 20,6 % = 92 776,426 -> 92 776,43.
    assert tax.amount == Decimal("92776.43")
    assert _rows(tax.voucher) == [("8910", "92776.43", "0.00"), ("2512", "0.00", "92776.43")]
    # 592 494,80 - 150 123 - 92 776,43 = 349 595,37 to 2099.
    assert result.amount == Decimal("349595.37")
    assert _rows(result.voucher) == [("8999", "349595.37", "0.00"), ("2099", "0.00", "349595.37")]
    voucher_set = current_voucher_set(books, partition.company_id, START)
    assert [v.reference for v in voucher_set.vouchers] == [
        "PROPOSAL-RESERVE",
        "PROPOSAL-TAX",
        "PROPOSAL-RESULT",
    ]
    assert all(
        v.voucher_date == date(2025, 12, 31) and v.series == "A" for v in voucher_set.vouchers
    )
    # After all three the income statement sums to zero, and the balance sheet balances.
    engine = create_warehouse_engine(books)
    with engine.connect() as conn:
        balances = base_balances(conn, partition.company_id, START)
    engine.dispose()
    for voucher in voucher_set.vouchers:
        balances.apply(voucher)
    assert balances.between(("3000", "8999")) == 0
    assert balances.between(("1000", "2999")) == 0
    attachment = voucher_set.vouchers[1].attachment
    assert attachment is not None and attachment.file_name == "inkomstskatt-2025.pdf"
    assert attachment.content.startswith(b"%PDF-1.4")
    assert b"(= Skatt att bokf\\366ra" in attachment.content  # "ö" in WinAnsiEncoding


def test_a_dropped_reserve_changes_the_tax(books: str) -> None:
    _, (reserve, tax, result) = propose(
        books,
        TAX_ORG,
        YEAR,
        accept=("income_tax", "result_transfer"),
        drop=("tax_allocation_reserve",),
    )
    assert reserve.state == "dropped" and not reserve.in_voucher_set
    # 600 494 * 20,6 % = 123 701,764 -> 123 701,76
    assert tax.amount == Decimal("123701.76")
    assert result.amount == Decimal("468793.04")
    # A proposal not yet accepted is not in the computation either.
    _, (reserve, tax, _) = propose(books, TAX_ORG, YEAR, reset=("tax_allocation_reserve",))
    assert reserve.state == "proposed" and tax.amount == Decimal("123701.76")
    refs = [v.reference for v in current_voucher_set(books, 1, START).vouchers]
    assert refs == ["PROPOSAL-TAX", "PROPOSAL-RESULT"]


def test_adjustments_flow_into_the_proposals(books: str, tmp_path: Path) -> None:
    partition, _ = propose(books, TAX_ORG, YEAR, accept=ALL)
    import_adjustments(books, write_adjustments(tmp_path), TAX_ORG, YEAR)  # 20 500 more costs
    voucher_set = current_voucher_set(books, partition.company_id, START)
    by_ref = {v.reference: v for v in voucher_set.vouchers}
    assert list(by_ref) == ["ADJ-1", "ADJ-2", "PROPOSAL-RESERVE", "PROPOSAL-TAX", "PROPOSAL-RESULT"]
    # 571 994,80 + 8 000 -> base 579 994,80; reserve 144 998; tax 434 996 * 20,6 % = 89 609,18
    assert by_ref["PROPOSAL-RESERVE"].total_debit == Decimal("144998.00")
    assert by_ref["PROPOSAL-TAX"].total_debit == Decimal("89609.18")
    assert by_ref["PROPOSAL-RESULT"].total_debit == Decimal("337387.62")


def test_a_loss_books_no_reserve_no_tax_and_reverses_the_transfer(
    books: str, tmp_path: Path
) -> None:
    loss = (
        "voucher,date,account,debit,credit,text\n"
        "ADJ-9,2025-12-31,5010,700000.00,,Hyra\n"
        "ADJ-9,2025-12-31,1930,,700000.00,Hyra\n"
    )
    import_adjustments(books, write_adjustments(tmp_path, loss), TAX_ORG, YEAR)
    _, (reserve, tax, result) = propose(books, TAX_ORG, YEAR, accept=ALL)
    assert reserve.amount == 0 and reserve.voucher is None
    assert tax.amount == 0 and tax.voucher is None
    assert "ingen skatt" in "\n".join(tax.calculation)
    assert result.amount == Decimal("-107505.20")
    assert _rows(result.voucher) == [("2099", "107505.20", "0.00"), ("8999", "0.00", "107505.20")]


def test_recomputing_gives_the_same_bytes(books: str) -> None:
    partition, _ = propose(books, TAX_ORG, YEAR, accept=ALL)
    first = current_voucher_set(books, partition.company_id, START).checksum()
    propose(books, TAX_ORG, YEAR)
    assert current_voucher_set(books, partition.company_id, START).checksum() == first


def test_configuration_changes_what_is_proposed(books: str) -> None:
    config = ClosingConfig(
        tax_rate=Decimal("0.20"), reserve_accounts={2025: "2125"}, propose_reserve=False, series="Y"
    )
    _, proposals = propose(books, TAX_ORG, YEAR, accept=("income_tax",), config=config)
    assert [p.kind for p in proposals] == ["income_tax", "result_transfer"]
    assert proposals[0].amount == Decimal("120098.80")  # 600 494 * 20 %
    assert proposals[0].voucher is not None and proposals[0].voucher.series == "Y"
    with pytest.raises(ProposalError, match="switched off"):
        propose(books, TAX_ORG, YEAR, accept=("tax_allocation_reserve",), config=config)
    with pytest.raises(ProposalError, match="unknown proposal"):
        propose(books, TAX_ORG, YEAR, accept=("dividend",))


def test_pdf_is_well_formed() -> None:
    lines = [f"Rad {i}: åäö (parentes) \\ slut" for i in range(150)]
    data = text_pdf("Titel", lines)
    assert data == text_pdf("Titel", lines)  # deterministic
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")
    xref = int(re.search(rb"startxref\n(\d+)\n", data).group(1))  # type: ignore[union-attr]
    assert data[xref:].startswith(b"xref\n")
    count = int(re.search(rb"xref\n0 (\d+)\n", data).group(1))  # type: ignore[union-attr]
    entries = data[xref:].split(b"\n")[3 : 3 + count - 1]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)
    assert b"/Count 3" in data  # 150 lines: three A4 pages
    assert b"(Rad 0: \\345\\344\\366 \\(parentes\\) \\\\ slut)" in data
