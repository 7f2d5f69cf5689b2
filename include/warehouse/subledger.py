"""Year-end open items (the receivables and payables subledgers) of a partition.

Values are checked one by one and a bad one names the record, the invoice and
the field: money is exact (Decimal, int or str; floats and more than two
decimals are refused), dates are dates or ``YYYY-MM-DD``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for
from include.warehouse.types import to_ore

# {"ar": rows, "ap": rows}: year-end open receivables / payables (see load_open_items)
OpenItems = Mapping[str, "Iterable[Mapping[str, Any]] | pa.Table"]

_OPEN_ITEM_FIELDS = {
    "ar": ("invoice_number", "customer_number", "customer_name"),
    "ap": ("invoice_number", "supplier_number", "supplier_name"),
}
_COMMON_FIELDS = ("invoice_date", "due_date", "total", "open_amount", "currency")


def _as_date(value: Any, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"{what}: expected a date or YYYY-MM-DD, not {type(value).__name__}")


def _open_item_row(kind: str, i: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    fields = (*_OPEN_ITEM_FIELDS[kind], *_COMMON_FIELDS)
    missing = [f for f in fields if f not in raw and f != "due_date"]
    if missing:
        raise ValueError(f"{kind} open item {i}: missing {', '.join(missing)}")
    row = {f: raw.get(f) for f in fields}
    for f in _OPEN_ITEM_FIELDS[kind]:
        row[f] = str(row[f])
    field = ""
    try:  # name the record and the field in any problem with a value
        for field in ("invoice_date", "due_date"):
            row[field] = _as_date(row[field], field)
        for field in ("total", "open_amount"):
            row[field] = Decimal(to_ore(row[field])) / 100  # exact, floats refused
    except (TypeError, ValueError) as error:
        invoice = row[_OPEN_ITEM_FIELDS[kind][0]]
        raise type(error)(f"{kind} open item {i} (invoice {invoice}) {field}: {error}") from error
    return row


def load_open_items(
    kind: Literal["ar", "ap"],
    rows: Iterable[Mapping[str, Any]] | pa.Table,
    url_or_engine: EngineLike,
    *,
    company_id: int,
    fiscal_year_start: date,
    extract_id: str,
) -> int:
    """Replace the open receivables (``ar``) or payables (``ap``) of one partition.

    Rows hold invoice_number, customer_/supplier_number and _name, invoice_date,
    due_date (optional), total, open_amount (Decimal, int or str) and currency.
    ``extract_id`` must name a registered extract. Returns the rows written.
    """
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            return replace_open_items(conn, kind, rows, company_id, fiscal_year_start, extract_id)
    finally:
        if owned:
            engine.dispose()


def replace_open_items(
    conn: sa.Connection,
    kind: str,
    rows: Iterable[Mapping[str, Any]] | pa.Table,
    company_id: int,
    fiscal_year_start: date,
    extract_id: str,
) -> int:
    if kind not in _OPEN_ITEM_FIELDS:
        raise ValueError(f"kind must be 'ar' or 'ap', not {kind!r}")
    table = schema.ar_open_item if kind == "ar" else schema.ap_open_item
    items = rows.to_pylist() if isinstance(rows, pa.Table) else list(rows)
    prepared = [
        {
            "company_id": company_id,
            "fiscal_year_start": fiscal_year_start,
            "extract_id": extract_id,
            **_open_item_row(kind, i, raw),
        }
        for i, raw in enumerate(items)
    ]
    conn.execute(
        sa.delete(table).where(
            table.c.company_id == company_id,
            table.c.fiscal_year_start == fiscal_year_start,
        )
    )
    if prepared:
        conn.execute(sa.insert(table), prepared)
    return len(prepared)
