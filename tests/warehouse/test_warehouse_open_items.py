"""Year-end open items belong to their partition's extract: one lineage with the books.

They are written in the same transaction as the books, replaced when another
extract replaces the partition (removed when that extract has none: an inbox
or CLI file), and left as they are by a no-op load. Every test runs on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.warehouse import load_open_items, partition_checksum, schema
from include.warehouse.loader import load_sie

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sie4" / "clean_4e.se"


def item(number: str, amount: object) -> dict[str, object]:
    return {
        "invoice_number": number,
        "customer_number": "10",
        "customer_name": "Kund AB",
        "invoice_date": "2024-12-20",
        "due_date": "2025-01-19",
        "total": amount,
        "open_amount": amount,
        "currency": "SEK",
    }


def supplier_item(number: str, amount: object) -> dict[str, object]:
    return {
        "invoice_number": number,
        "supplier_number": "9",
        "supplier_name": "Hyresvärden AB",
        "invoice_date": "2024-12-01",
        "total": amount,
        "open_amount": amount,
        "currency": "SEK",
    }


def _rows(url: str, stmt: sa.Select) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]
    finally:
        engine.dispose()


def open_amounts(url: str, table: sa.Table = schema.ar_open_item) -> list[tuple[object, ...]]:
    return _rows(
        url,
        sa.select(table.c.invoice_number, table.c.open_amount).order_by(table.c.invoice_number),
    )


def lineage(url: str) -> dict[str, set[object]]:
    """Extract ids per partition table: one lineage means one id everywhere."""
    return {
        t.name: {r[0] for r in _rows(url, sa.select(t.c.extract_id))}
        for t in schema.PARTITION_TABLES
    }


def changed_books() -> bytes:
    """Other bytes for the same partition, written the same day (so not older)."""
    return FIXTURE.read_bytes().replace(b'"Anna Andersson"', b'"Anna A"', 1)


@pytest.fixture
def url(warehouse_url: str) -> str:
    return warehouse_url


def test_open_items_come_with_the_books(url: str) -> None:
    result = load_sie(FIXTURE, url, open_items={"ar": [item("7", "1250.50")], "ap": []})
    assert result.counts["ar_open_item"] == 1 and result.counts["ap_open_item"] == 0
    assert open_amounts(url) == [("7", Decimal("1250.50"))]
    assert {ids for ids in map(frozenset, lineage(url).values()) if ids} == {
        frozenset({result.extract_id})
    }

    # The same books with other open items (a later fetch): the partition becomes that
    # extract's, books and open items alike.
    again = load_sie(FIXTURE, url, extract_id="x2", open_items={"ar": [item("8", "10.00")]})
    assert not again.skipped and again.extract_id == "x2"
    assert open_amounts(url) == [("8", Decimal("10.00"))]
    assert {ids for ids in map(frozenset, lineage(url).values()) if ids} == {frozenset({"x2"})}


def test_new_books_without_a_subledger_remove_the_old_open_items(url: str) -> None:
    """An inbox or CLI file replaces the books: the old extract's subledger goes with them."""
    load_sie(
        FIXTURE,
        url,
        source_kind="fortnox",
        extract_id="fx-1",
        open_items={"ar": [item("7", "1250.50")], "ap": [supplier_item("55", "800.00")]},
    )
    result = load_sie(changed_books(), url, source_kind="inbox", file_name="books.se")
    assert not result.skipped
    assert open_amounts(url) == []
    assert open_amounts(url, schema.ap_open_item) == []
    assert (result.counts["ar_open_item"], result.counts["ap_open_item"]) == (0, 0)
    assert {frozenset(ids) for ids in lineage(url).values() if ids} == {
        frozenset({result.extract_id})
    }


def test_a_no_op_load_keeps_the_open_items_and_their_lineage(url: str) -> None:
    items = {"ar": [item("7", "1250.50")], "ap": [supplier_item("55", "800.00")]}
    first = load_sie(FIXTURE, url, source_kind="fortnox", extract_id="fx-1", open_items=items)
    checksum = partition_checksum(url, first.company_id, first.fiscal_year_start)

    # A repeated fetch: same books, same open items (other order), a new extract id.
    reordered = {"ar": items["ar"], "ap": list(reversed(items["ap"]))}
    again = load_sie(FIXTURE, url, source_kind="fortnox", extract_id="fx-2", open_items=reordered)
    assert again.skipped and again.extract_id == "fx-1"
    assert again.counts["ar_open_item"] == 1 and again.counts["ap_open_item"] == 1
    # The same bytes dropped in the inbox: no subledger comes with them, nothing changes.
    inbox = load_sie(FIXTURE, url, source_kind="inbox", file_name="same.se")
    assert inbox.skipped and inbox.extract_id == "fx-1"

    assert partition_checksum(url, first.company_id, first.fiscal_year_start) == checksum
    assert {frozenset(ids) for ids in lineage(url).values() if ids} == {frozenset({"fx-1"})}
    extracts = _rows(url, sa.select(schema.extract.c.extract_id).order_by("extract_id"))
    assert [e[0] for e in extracts] == ["fx-1", "fx-2", f"inbox-{first.sha256[:24]}"]


def test_a_failure_half_way_keeps_old_books_and_old_open_items(url: str) -> None:
    load_sie(FIXTURE, url, open_items={"ar": [item("7", "1250.50")]})

    def fail(table: str) -> None:
        if table == "voucher_row":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        load_sie(FIXTURE, url, force=True, after_table=fail, open_items={"ar": []})
    assert open_amounts(url) == [("7", Decimal("1250.50"))]


def test_bad_open_item_rolls_back_the_whole_load(url: str) -> None:
    with pytest.raises(TypeError):
        load_sie(FIXTURE, url, open_items={"ar": [item("7", 12.5)]})  # a float: refused
    assert _rows(url, sa.select(sa.func.count()).select_from(schema.voucher)) == [(0,)]


@pytest.mark.parametrize("amount", ["1250.505", "0.001", "1E-3"])
def test_more_than_two_decimals_is_refused_naming_invoice_and_field(url: str, amount: str) -> None:
    """Never rounded: the load fails and says which invoice and field."""
    bad = {**item("7", "100.00"), "open_amount": Decimal(amount)}
    with pytest.raises(ValueError, match=r"ar open item 1 \(invoice 7\) open_amount: .*2 decimals"):
        load_sie(FIXTURE, url, open_items={"ar": [item("6", "5.00"), bad]})
    assert _rows(url, sa.select(sa.func.count()).select_from(schema.voucher)) == [(0,)]
    assert open_amounts(url) == []


def test_same_invoice_twice_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="ar open items 0 and 1: invoice 7 twice"):
        load_sie(FIXTURE, url, open_items={"ar": [item("7", "1.00"), item("7", "2.00")]})


def test_load_open_items_only_for_the_partitions_own_extract(url: str) -> None:
    books = load_sie(FIXTURE, url, source_kind="fortnox", extract_id="fx-1")
    keys = {"company_id": books.company_id, "fiscal_year_start": books.fiscal_year_start}
    assert load_open_items("ar", [item("7", "1.00")], url, extract_id="fx-1", **keys) == 1
    with pytest.raises(ValueError, match="holds the books of 'fx-1'"):
        load_open_items("ar", [item("8", "2.00")], url, extract_id="fx-0", **keys)
    assert open_amounts(url) == [("7", Decimal("1.00"))]
