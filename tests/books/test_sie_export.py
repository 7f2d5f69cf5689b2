"""The SIE 4E export: Fortnox-shaped header, balances, and a strict round trip."""

from __future__ import annotations

import ast
import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from include.books import CompanyBooks, generate_books
from include.sie4.reader import read_sie
from include.sie4.records import BalanceKind, KsummaStatus, SieDocument
from include.sie4.writer import write_sie


def without_lines(record: Any) -> Any:
    """The record with source line numbers zeroed: the reader sets them, the generator not."""
    changes: dict[str, Any] = {"line": 0}
    if hasattr(record, "rows"):
        changes["rows"] = tuple(without_lines(r) for r in record.rows)
    return dataclasses.replace(record, **changes)


def test_header_is_shaped_like_a_fortnox_export(default_books: CompanyBooks) -> None:
    doc = default_books.to_sie(date(2025, 1, 1))
    assert (doc.sie_type, doc.variant, doc.flag, doc.file_format) == (4, "E", 0, "PC8")
    assert doc.program == ("Fortnox", "3.0")
    assert doc.company.name == default_books.company.name
    assert doc.company.org_number == default_books.company.org_number
    assert doc.company.company_id == str(default_books.company.database_number)
    assert doc.company.address is not None
    assert doc.company.address.postal == default_books.company.address_postal
    assert [(y.index, y.start, y.end) for y in doc.fiscal_years] == [
        (0, date(2025, 1, 1), date(2025, 12, 31)),
        (-1, date(2024, 1, 1), date(2024, 12, 31)),
    ]
    assert doc.tax_year == 2026 and doc.chart_type == "BAS2014"
    assert [(d.number, d.name) for d in doc.dimensions] == [("1", "Kostnadsställe")]
    declared = {(o.dimension, o.object_id) for o in doc.objects}
    used = {obj for v in doc.vouchers for r in v.rows for obj in r.objects}
    assert used and used <= declared


def test_default_year_is_the_latest(default_books: CompanyBooks) -> None:
    assert default_books.to_sie() == default_books.to_sie(date(2025, 1, 1))
    with pytest.raises(KeyError, match="2023-01-01"):
        default_books.to_sie(date(2023, 1, 1))


def test_balances_of_both_years(default_books: CompanyBooks) -> None:
    first, second = default_books.years
    doc = default_books.to_sie(date(2025, 1, 1))
    assert doc.balances_of(BalanceKind.IB, 0) == second.opening_balances
    assert doc.balances_of(BalanceKind.UB, 0) == second.closing_balances
    assert doc.balances_of(BalanceKind.RES, 0) == second.results
    assert doc.balances_of(BalanceKind.IB, -1) == first.opening_balances
    assert doc.balances_of(BalanceKind.UB, -1) == first.closing_balances
    assert doc.balances_of(BalanceKind.RES, -1) == first.results
    assert doc.vouchers == second.vouchers
    # the first year knows no balances of the year before it
    first_doc = default_books.to_sie(date(2024, 1, 1))
    assert first_doc.balances_of(BalanceKind.UB, -1) == {}
    assert first_doc.fiscal_year(-1) is not None


def _assert_same_books(read: SieDocument, written: SieDocument) -> None:
    assert tuple(map(without_lines, read.vouchers)) == written.vouchers
    assert tuple(map(without_lines, read.balances)) == written.balances
    assert tuple(map(without_lines, read.accounts)) == written.accounts
    assert tuple(map(without_lines, read.objects)) == written.objects
    assert read.fiscal_years == written.fiscal_years
    assert read.company == written.company
    assert (read.program, read.generated_on, read.tax_year, read.chart_type) == (
        written.program,
        written.generated_on,
        written.tax_year,
        written.chart_type,
    )


@pytest.mark.parametrize("ksumma", [False, True])
def test_written_file_passes_strict_reader_and_round_trips(
    books: CompanyBooks, ksumma: bool
) -> None:
    for year in books.years:
        doc = books.to_sie(year.fiscal_year.start)
        data = write_sie(doc, ksumma=ksumma)
        read = read_sie(data, source_name="generated.se")
        assert read.warnings == ()
        assert read.ksumma is (KsummaStatus.OK if ksumma else KsummaStatus.ABSENT)
        assert read.encoding == "cp437"
        _assert_same_books(read, doc)


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    def export(seed: int) -> bytes:
        return write_sie(generate_books(seed, vouchers_per_year=150).to_sie(), ksumma=True)

    assert export(42) == export(42)
    assert export(42) != export(43)


def test_swedish_letters_survive_cp437(default_books: CompanyBooks) -> None:
    data = write_sie(default_books.to_sie())
    assert "Årets resultat".encode("cp437") in data
    assert Decimal(0) not in default_books.years[0].closing_balances.values()


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_models_and_sie_export_import_one_way_only() -> None:
    books_dir = Path(__file__).resolve().parents[2] / "include" / "books"
    assert "include.books.models" not in _imported_modules(books_dir / "sie_export.py")
    assert "include.books.sie_export" in _imported_modules(books_dir / "models.py")
    # ...and at module level: no import hidden in a function body to dodge a circle.
    tree = ast.parse((books_dir / "models.py").read_text(encoding="utf-8"))
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        assert not any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(function))
