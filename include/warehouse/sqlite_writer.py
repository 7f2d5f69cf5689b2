"""The SQLite writer: Arrow columns into ``executemany`` with as little binding as possible.

Money goes in as integer öre straight from the decimal128 words, quantities as
canonical text built by Arrow; NULLs, empty texts and the partition's keys are
SQL literals in the statement (binding ``None`` costs sqlite3 an adapter lookup).
No object is made per row beyond the tuple sqlite3 binds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from include.warehouse.arrow_buffers import decimal_words, fixed_values
from include.warehouse.bulk_tables import Partition
from include.warehouse.types import quantity_text


def _with_nulls(values: list[Any], chunk: pa.Array) -> list[Any]:
    if chunk.null_count:
        for i in np.flatnonzero(~np.asarray(chunk.is_valid())).tolist():
            values[i] = None
    return values


def _quantity_texts(chunk: pa.Array) -> list[str | None]:
    """Canonical quantity text (8 decimals, as ``quantity_text``) built by Arrow, not per value."""
    t = chunk.type
    low, high = decimal_words(chunk)
    if (
        t.scale != 8
        or not np.array_equal(high, low >> 63)
        or bool((low == np.iinfo(np.int64).min).any())  # no int64 magnitude
    ):
        return [None if v is None else quantity_text(v) for v in chunk.to_pylist()]
    magnitude = np.abs(low)
    unit = 10**8
    missing = ~np.asarray(chunk.is_valid()) if chunk.null_count else None
    whole = pc.cast(pa.array(magnitude // unit, mask=missing), pa.string())
    signed = pc.binary_join_element_wise(pa.array(np.where(low < 0, "-", "")), whole, "")
    fraction = pc.utf8_lpad(pc.cast(pa.array(magnitude % unit), pa.string()), 8, "0")
    texts: list[str | None] = pc.binary_join_element_wise(signed, fraction, ".").to_pylist()
    return texts


def _sqlite_chunk(chunk: pa.Array) -> list[Any]:
    """Python values of one Arrow chunk in the exact form the SQLite column types store."""
    t = chunk.type
    n = len(chunk)
    if chunk.null_count == n:
        return [None] * n
    if pa.types.is_decimal(t):
        if t.scale == 2 and t.precision <= 18:  # money: the unscaled value is integer öre
            return _with_nulls(decimal_words(chunk)[0].tolist(), chunk)
        return _quantity_texts(chunk)
    if pa.types.is_date(t):
        return pc.cast(chunk, pa.string()).to_pylist()
    if pa.types.is_boolean(t):
        chunk = pc.cast(chunk, pa.int8())
    if pa.types.is_integer(chunk.type):
        dtype = (
            f"<{'i' if pa.types.is_signed_integer(chunk.type) else 'u'}{chunk.type.bit_width // 8}"
        )
        return _with_nulls(fixed_values(chunk, dtype).tolist(), chunk)  # much faster than to_pylist
    return chunk.to_pylist()


def sqlite_column(array: pa.ChunkedArray) -> list[Any]:
    """Python values in the exact form the SQLite column types store."""
    values: list[Any] = []
    for chunk in array.chunks:
        values.extend(_sqlite_chunk(chunk))
    return values


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _literal_groups(data: pa.Table) -> Iterator[tuple[dict[str, str], pa.Table]]:
    """The table split by which columns are NULL or empty text, each part in file order.

    Each part gets its own statement with those values as SQL literals: binding
    ``None`` costs sqlite3 about as much as a whole integer column (it goes
    through the adapter lookup) and every bound string is copied. Usually one
    part holds nearly every row (no quantity, no row date, empty texts).
    """
    tests: list[tuple[str, str, pa.ChunkedArray]] = []  # (column, literal, mask)
    for name in data.column_names:
        column = data.column(name)
        if column.null_count:
            tests.append((name, "NULL", column.is_null()))
        if pa.types.is_string(column.type):
            empty = pc.equal(pc.binary_length(column), 0)
            if pc.any(empty).as_py():
                tests.append((name, "''", pc.fill_null(empty, False)))
    if not tests:
        yield {}, data
        return
    pattern = np.zeros(data.num_rows, dtype=np.int64)
    for bit, (_, _, mask) in enumerate(tests):
        pattern |= np.asarray(mask).astype(np.int64) << bit
    for value in np.unique(pattern).tolist():
        literals = {name: sql for bit, (name, sql, _) in enumerate(tests) if value >> bit & 1}
        rows = np.flatnonzero(pattern == value)
        yield literals, data if len(rows) == data.num_rows else data.take(rows)


def insert_sqlite(
    conn: sa.Connection,
    table: sa.Table,
    data: pa.Table,
    mapping: Sequence[tuple[str, str]],
    part: Partition,
) -> None:
    if data.num_rows == 0:
        return
    names = ["company_id", "fiscal_year_start", *(w for w, _ in mapping), "extract_id"]
    # The partition's own values are literals too (int, ISO date, quoted text).
    head = [str(int(part.company_id)), _sql_text(part.fiscal_year_start.isoformat())]
    tail = [_sql_text(part.extract_id)]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for literals, group in _literal_groups(data.select([src for _, src in mapping])):
            values = [*head, *(literals.get(src, "?") for _, src in mapping), *tail]
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(values)})"
            columns = [sqlite_column(group.column(s)) for _, s in mapping if s not in literals]
            rows = zip(*columns, strict=True) if columns else repeat((), group.num_rows)
            cursor.executemany(sql, rows)  # type: ignore[arg-type]  # takes any iterable
    finally:
        cursor.close()
