"""Year-end open items load with their books, in the same transaction."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.warehouse import migrate, schema
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


def open_amounts(url: str) -> list[tuple[str, Decimal]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                schema.ar_open_item.c.invoice_number, schema.ar_open_item.c.open_amount
            ).order_by(schema.ar_open_item.c.invoice_number)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    migrate(url)
    return url


def test_open_items_come_with_the_books(url: str) -> None:
    result = load_sie(FIXTURE, url, open_items={"ar": [item("7", "1250.50")], "ap": []})
    assert result.counts["ar_open_item"] == 1 and result.counts["ap_open_item"] == 0
    assert open_amounts(url) == [("7", Decimal("1250.50"))]

    # Same books again (a repeated extract): books untouched, open items replaced.
    again = load_sie(FIXTURE, url, extract_id="x2", open_items={"ar": [item("8", "10.00")]})
    assert again.skipped
    assert open_amounts(url) == [("8", Decimal("10.00"))]


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
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.voucher)) == 0
    engine.dispose()
