"""The CSV import: every problem by file and line, all or nothing, idempotent, replacing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.closing.adjustments import AdjustmentsRejected, import_adjustments, parse_amount
from include.closing.store import current_voucher_set
from include.warehouse import load_sie
from tests.closing._closing_testkit import (
    ADJUSTMENTS_CSV,
    TAX_ORG,
    tax_books_sie,
    write_adjustments,
)

YEAR = "2025-01-01"


@pytest.fixture
def books(warehouse_url: str) -> str:
    load_sie(tax_books_sie(), warehouse_url, file_name="skattebolaget.se")
    return warehouse_url


def _imports(url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("select file_name, fingerprint, imported_at from closing_import")
        )
        out = [tuple(r) for r in rows]
    engine.dispose()
    return out


def test_import_builds_vouchers_with_lines_and_attachment(books: str, tmp_path: Path) -> None:
    result = import_adjustments(books, write_adjustments(tmp_path), TAX_ORG, YEAR)
    assert result.changed and (result.voucher_count, result.row_count) == (2, 4)
    assert result.attachment_count == 1
    voucher_set = current_voucher_set(books, result.company_id, date(2025, 1, 1))
    depreciation, vacation = voucher_set.vouchers
    assert depreciation.reference == "ADJ-1" and depreciation.description == (
        "Avskrivning inventarier 2025"
    )
    assert depreciation.attachment is not None
    assert depreciation.attachment.content == b"%PDF-1.4 plan\n"
    assert depreciation.attachment.media_type == "application/pdf"
    assert vacation.rows[0].cost_centre == "100" and vacation.rows[0].project == "P1"
    assert vacation.rows[0].debit == Decimal("12500.00") and vacation.rows[1].credit == Decimal(
        "12500.00"
    )
    assert vacation.attachment is None
    engine = sa.create_engine(books)
    with engine.connect() as conn:
        lines = conn.execute(
            sa.text(
                "select reference, source_file, source_line from closing_adjustment order by 1, 3"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in lines] == [
        ("ADJ-1", "adjustments.csv", 2),
        ("ADJ-1", "adjustments.csv", 3),
        ("ADJ-2", "adjustments.csv", 4),
        ("ADJ-2", "adjustments.csv", 5),
    ]


def test_same_file_again_changes_nothing(books: str, tmp_path: Path) -> None:
    path = write_adjustments(tmp_path)
    first = import_adjustments(books, path, TAX_ORG, YEAR)
    before = _imports(books)
    checksum = current_voucher_set(books, first.company_id, date(2025, 1, 1)).checksum()
    again = import_adjustments(books, path, TAX_ORG, YEAR)
    assert not again.changed
    assert _imports(books) == before  # not even the import time moved
    assert current_voucher_set(books, first.company_id, date(2025, 1, 1)).checksum() == checksum


def test_changed_file_or_attachment_replaces_the_import(books: str, tmp_path: Path) -> None:
    first = import_adjustments(books, write_adjustments(tmp_path), TAX_ORG, YEAR)
    start = date(2025, 1, 1)
    checksum = current_voucher_set(books, first.company_id, start).checksum()
    # One attachment byte changed: a new import.
    path = write_adjustments(tmp_path, attachment=b"%PDF-1.4 plan!\n")
    assert import_adjustments(books, path, TAX_ORG, YEAR).changed
    assert current_voucher_set(books, first.company_id, start).checksum() != checksum
    # A file with only the second voucher replaces both.
    only_second = "\n".join(ADJUSTMENTS_CSV.splitlines()[0:1] + ADJUSTMENTS_CSV.splitlines()[3:])
    result = import_adjustments(books, write_adjustments(tmp_path, only_second), TAX_ORG, YEAR)
    assert result.changed and result.voucher_count == 1
    refs = [v.reference for v in current_voucher_set(books, first.company_id, start).vouchers]
    assert refs == ["ADJ-2"]
    engine = sa.create_engine(books)
    with engine.connect() as conn:  # the unused attachment went with its voucher
        assert conn.scalar(sa.text("select count(*) from closing_attachment")) == 0
    engine.dispose()


BAD_CSV = """voucher,date,account,debit,credit,text,cost_centre,project,attachment
ADJ-1,2025-12-31,7832,8000.00,,Avskrivning,,,
ADJ-1,2025-12-31,1229,,7000.00,Avskrivning,,,
ADJ-2,2025-12-31,7010,12 5OO,,Semesterlön,,,
ADJ-2,2025-12-31,2920,,12500.00,Semesterlön,,,
ADJ-3,2025-12-31,1111,100.00,,Okänt konto,,,
ADJ-3,2025-12-31,1930,,100.00,Bank,999,,
ADJ-4,2026-01-15,1930,100.00,,Fel år,,,saknas.pdf
ADJ-4,2026-01-15,3001,,100.00,Fel år,,,
PROPOSAL-TAX,2025-12-31,8910,1.00,,,,,
ADJ-5,2025-12-31,1930,5.00,3.00,Båda sidor,,,
"""


def test_every_problem_is_reported_by_line_and_nothing_is_imported(
    books: str, tmp_path: Path
) -> None:
    good = import_adjustments(books, write_adjustments(tmp_path / "good"), TAX_ORG, YEAR)
    before = current_voucher_set(books, good.company_id, date(2025, 1, 1)).checksum()
    bad = tmp_path / "bad" / "closing.csv"
    bad.parent.mkdir()
    bad.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(AdjustmentsRejected) as rejected:
        import_adjustments(books, bad, TAX_ORG, YEAR)
    text = str(rejected.value)
    assert text.startswith("closing.csv: not imported, 9 problems:")
    expected = [
        "closing.csv:2: voucher ADJ-1 (lines 2, 3) does not balance: debit 8000.00, "
        "credit 7000.00, difference 1000.00",
        "closing.csv:4: debit: bad amount '12 5OO'",
        "closing.csv:6: unknown account 1111",
        "closing.csv:7: unknown cost centre '999'",
        "closing.csv:8: date 2026-01-15 is outside the fiscal year 2025-01-01 – 2025-12-31",
        "closing.csv:8: attachment 'saknas.pdf' not found",
        "closing.csv:9: date 2026-01-15 is outside the fiscal year",
        "closing.csv:10: voucher reference 'PROPOSAL-TAX'",
        "closing.csv:11: exactly one of debit and credit",
    ]
    for message in expected:
        assert message in text, f"{message!r} not in\n{text}"
    # The earlier import is untouched.
    assert current_voucher_set(books, good.company_id, date(2025, 1, 1)).checksum() == before


def test_unbalanced_voucher_is_rejected_with_its_line(books: str, tmp_path: Path) -> None:
    csv_text = ADJUSTMENTS_CSV.replace("2920,,12500.00", "2920,,12000.00")
    with pytest.raises(AdjustmentsRejected) as rejected:
        import_adjustments(books, write_adjustments(tmp_path, csv_text), TAX_ORG, YEAR)
    assert [(p.line, p.message) for p in rejected.value.problems] == [
        (
            4,
            "voucher ADJ-2 (lines 4, 5) does not balance: debit 12500.00, credit 12000.00, "
            "difference 500.00",
        )
    ]
    assert _imports(books) == []


def test_swedish_excel_csv(books: str, tmp_path: Path) -> None:
    text = (
        "Verifikation;Datum;Konto;Debet;Kredit;Text;Kostnadsställe;Projekt;Underlag\r\n"
        "J1;2025-12-31;5010;12 500,50;;Upplupen hyra;100;;\r\n"
        "J1;2025-12-31;2920;;12 500,50;Upplupen hyra;;;\r\n"
    )
    path = tmp_path / "justeringar.csv"
    path.write_bytes(text.encode("cp1252"))  # Excel's "CSV (semikolonavgränsad)"
    result = import_adjustments(books, path, TAX_ORG, YEAR)
    voucher = current_voucher_set(books, result.company_id, date(2025, 1, 1)).vouchers[0]
    assert voucher.rows[0].debit == Decimal("12500.50")
    assert voucher.rows[0].cost_centre == "100"
    assert voucher.description == "Upplupen hyra"


def test_amounts() -> None:
    assert parse_amount("1 234,56", decimal_comma=True) == Decimal("1234.56")
    assert parse_amount("1234.5", decimal_comma=False) == Decimal("1234.50")
    for bad in ("1,234.56", "-5", "1.234", "abc", "1e3"):
        with pytest.raises(ValueError, match="bad amount"):
            parse_amount(bad, decimal_comma=True)


def test_header_problems_and_unknown_company(books: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("voucher,datum,konto,amount\n", encoding="utf-8")
    with pytest.raises(AdjustmentsRejected, match=r"x.csv:1: unknown column 'amount'"):
        import_adjustments(books, path, TAX_ORG, YEAR)
    with pytest.raises(LookupError, match="no company"):
        import_adjustments(books, write_adjustments(tmp_path), "556000-0000", YEAR)
