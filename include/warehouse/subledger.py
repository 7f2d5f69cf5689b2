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
KINDS = ("ar", "ap")


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
    except (TypeError, ValueError, ArithmeticError) as error:  # ArithmeticError: Infinity
        invoice = row[_OPEN_ITEM_FIELDS[kind][0]]
        problem = error if isinstance(error, TypeError | ValueError) else ValueError(error)
        raise type(problem)(f"{kind} open item {i} (invoice {invoice}) {field}: {error}") from error
    return row


def _table(kind: str) -> sa.Table:
    if kind not in _OPEN_ITEM_FIELDS:
        raise ValueError(f"kind must be 'ar' or 'ap', not {kind!r}")
    return schema.ar_open_item if kind == "ar" else schema.ap_open_item


def _checked(kind: str, rows: Iterable[Mapping[str, Any]] | pa.Table) -> list[dict[str, Any]]:
    _table(kind)
    items = rows.to_pylist() if isinstance(rows, pa.Table) else list(rows)
    prepared = [_open_item_row(kind, i, raw) for i, raw in enumerate(items)]
    first: dict[str, int] = {}
    for i, row in enumerate(prepared):
        j = first.setdefault(row["invoice_number"], i)
        if j != i:
            raise ValueError(
                f"{kind} open items {j} and {i}: invoice {row['invoice_number']} twice"
            )
    return prepared


def check_open_items(open_items: OpenItems) -> dict[str, list[dict[str, Any]]]:
    """Both kinds' rows, each value checked; a kind that is not given has no open items."""
    unknown = sorted(set(open_items) - set(KINDS))
    if unknown:
        raise ValueError(f"open items: kinds are 'ar' and 'ap', not {', '.join(unknown)}")
    return {kind: _checked(kind, open_items.get(kind, ())) for kind in KINDS}


def _partition_of(
    table: sa.Table, company_id: int, fiscal_year_start: date
) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.company_id == company_id, table.c.fiscal_year_start == fiscal_year_start)


def same_open_items(
    conn: sa.Connection,
    checked: Mapping[str, list[dict[str, Any]]],
    company_id: int,
    fiscal_year_start: date,
) -> bool:
    """True when the partition already holds exactly these open items (order aside)."""
    for kind, rows in checked.items():
        table = _table(kind)
        fields = (*_OPEN_ITEM_FIELDS[kind], *_COMMON_FIELDS)
        stored = conn.execute(
            sa.select(*(table.c[f] for f in fields)).where(
                _partition_of(table, company_id, fiscal_year_start)
            )
        ).all()
        given = [tuple(row[f] for f in fields) for row in rows]
        if sorted(tuple(r) for r in stored) != sorted(given):
            return False
    return True


def write_open_items(
    conn: sa.Connection,
    checked: Mapping[str, list[dict[str, Any]]],
    company_id: int,
    fiscal_year_start: date,
    extract_id: str,
) -> dict[str, int]:
    """Insert checked open items into a partition whose old ones are deleted already.

    Returns the rows per table; with no open items at all, both tables' count (0).
    """
    keys = {
        "company_id": company_id,
        "fiscal_year_start": fiscal_year_start,
        "extract_id": extract_id,
    }
    counts: dict[str, int] = {}
    for kind in checked or KINDS:
        rows = checked.get(kind, [])
        if rows:
            conn.execute(sa.insert(_table(kind)), [{**keys, **row} for row in rows])
        counts[f"{kind}_open_item"] = len(rows)
    return counts


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
    Open items belong to the partition's extract (one lineage): ``extract_id``
    must be the partition's current extract, else ValueError. Usually they come
    with their books instead (``load_sie(..., open_items=...)``). Returns the rows
    written.
    """
    checked = _checked(kind, rows)
    table = _table(kind)
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            fy = schema.fiscal_year
            current = conn.execute(
                sa.select(fy.c.extract_id).where(
                    _partition_of(fy, company_id, fiscal_year_start), fy.c.year_index == 0
                )
            ).scalar_one_or_none()
            if current != extract_id:
                raise ValueError(
                    f"{kind} open items of extract {extract_id!r}: the partition "
                    f"({company_id}, {fiscal_year_start}) holds the books of "
                    f"{current!r}; open items belong to their books' extract"
                )
            conn.execute(
                sa.delete(table).where(_partition_of(table, company_id, fiscal_year_start))
            )
            write_open_items(conn, {kind: checked}, company_id, fiscal_year_start, extract_id)
            return len(checked)
    finally:
        if owned:
            engine.dispose()
