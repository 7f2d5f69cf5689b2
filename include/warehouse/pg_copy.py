"""The PostgreSQL writer: Arrow columns into ``COPY ... FROM STDIN (FORMAT binary)``.

The server skips text parsing of every field (about half its COPY time).
Each field is rendered column-wise by numpy (integers, dates, booleans,
NUMERIC as base-10000 digits from the decimal128 unscaled value) or by Arrow's
element-wise binary join (texts, nullable fields), in C++ with the GIL
released, so the next chunk renders while COPY sends one. No Python code runs
per row. Decimals beyond 64 bits fall back to CSV COPY for that table.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from include.warehouse.arrow_buffers import decimal_words, fixed_values
from include.warehouse.bulk_tables import Partition

_COPY_BATCH_ROWS = 50_000

# PostgreSQL binary COPY: the server skips text parsing of every field (about
# half its COPY time). Rows are assembled by Arrow's element-wise binary join,
# in C++ with the GIL released, so the next chunk renders while COPY sends one.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, extension length
_COPY_TRAILER = b"\xff\xff"
_NULL_FIELD = b"\xff\xff\xff\xff"  # field length -1
_PG_EPOCH_SHIFT = 10_957  # days from 1970-01-01 (Arrow) to 2000-01-01 (PostgreSQL)
_NUMERIC_NEG = 0x4000


def _fits_binary(data: pa.Table) -> bool:
    """True unless a decimal column holds a value beyond 64 bits (then COPY uses CSV)."""
    for column in data.columns:
        t = column.type
        if not pa.types.is_decimal(t):
            continue
        if t.scale > 18:
            return False
        if t.precision > 18:
            for chunk in column.chunks:
                if len(chunk) == 0:
                    continue
                low, high = decimal_words(chunk)
                if not np.array_equal(high, low >> 63):
                    return False
    return True


def _prefixed(payload: np.ndarray, valid: pa.Array | None) -> pa.Array:
    """Binary array of ``length + payload`` per row from an (n, width) uint8 matrix."""
    n, width = payload.shape
    prefix = np.broadcast_to(np.array([width], ">i4").view(np.uint8), (n, 4))
    block = np.ascontiguousarray(np.concatenate([prefix, payload], axis=1))
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width + 4), n, [None, pa.py_buffer(block)]
    )
    values = fixed.cast(pa.binary())
    if valid is not None:
        values = pc.if_else(valid, values, pa.scalar(_NULL_FIELD, pa.binary()))
    return values


def _numeric_payload(array: pa.Array) -> np.ndarray:
    """NUMERIC binary form (ndigits, weight, sign, dscale, base-10000 digits) per value.

    Every value gets the same digit count; the server strips leading and
    trailing zero digits, so the stored numbers equal the text input's.
    """
    t = array.type
    n = len(array)
    low, _ = decimal_words(array)  # _fits_binary checked the high words
    negative = low < 0
    magnitude = np.abs(low).astype(np.uint64)  # |int64 min| is out of decimal range anyway
    scale = t.scale
    fraction_digits = -(-scale // 4)
    pad = np.uint64(10 ** (4 * fraction_digits - scale))
    unit = np.uint64(10**scale)
    whole, fraction = magnitude // unit, magnitude % unit * pad
    largest = int(whole.max()) if n else 0
    whole_digits = 1
    while 10_000**whole_digits <= largest:
        whole_digits += 1
    digits = [
        whole // np.uint64(10_000**i) % np.uint64(10_000) for i in range(whole_digits - 1, -1, -1)
    ] + [
        fraction // np.uint64(10_000**i) % np.uint64(10_000)
        for i in range(fraction_digits - 1, -1, -1)
    ]
    head = np.empty((n, 4), ">i2")
    head[:, 0] = whole_digits + fraction_digits
    head[:, 1] = whole_digits - 1  # weight of the first digit
    head[:, 2] = np.where(negative, _NUMERIC_NEG, 0)
    head[:, 3] = scale
    body = np.stack(digits, axis=1).astype(">i2")
    return np.concatenate([head.view(np.uint8), body.view(np.uint8).reshape(n, -1)], axis=1)


def _fixed_payload(array: pa.Array) -> np.ndarray | None:
    """(n, width) uint8 matrix of a fixed-width column's binary values; None for texts."""
    t = array.type
    if pa.types.is_decimal(t):
        return _numeric_payload(array)
    if pa.types.is_date32(t):
        payload = (fixed_values(array, "<i4") - _PG_EPOCH_SHIFT).astype(">i4")
    elif pa.types.is_boolean(t):
        flags = pc.coalesce(array, False) if array.null_count else array
        payload = flags.to_numpy(zero_copy_only=False).astype(np.uint8)
    elif pa.types.is_integer(t):
        width = t.bit_width // 8
        kind = "i" if pa.types.is_signed_integer(t) else "u"
        payload = fixed_values(array, f"<{kind}{width}").astype(f">{kind}{width}")
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        return None
    else:
        raise TypeError(f"no binary COPY encoding for {t}")
    return payload.view(np.uint8).reshape(len(array), -1)


def _binary_field(array: pa.Array) -> pa.Array:
    """One column as PostgreSQL binary COPY fields (length prefix included)."""
    t = array.type
    n = len(array)
    valid = array.is_valid() if array.null_count else None
    payload = _fixed_payload(array)
    if payload is not None:
        return _prefixed(payload, valid)
    dtype = "<i8" if pa.types.is_large_string(t) else "<i4"
    offsets = np.frombuffer(array.buffers()[1], dtype=dtype, count=n + 1 + array.offset)
    lengths = np.diff(offsets[array.offset :]).astype(">i4")
    prefix = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4), n, [None, pa.py_buffer(lengths.tobytes())]
    ).cast(pa.binary())
    values = pc.binary_join_element_wise(prefix, array.cast(pa.binary()), b"")
    return values if valid is None else pc.coalesce(values, pa.scalar(_NULL_FIELD, pa.binary()))


def _binary_constant(value: int | date | str, pg_type: Literal["int4", "date", "text"]) -> bytes:
    if pg_type == "int4":
        assert isinstance(value, int)
        payload = value.to_bytes(4, "big", signed=True)
    elif pg_type == "date":
        assert isinstance(value, date)
        payload = (value - date(2000, 1, 1)).days.to_bytes(4, "big", signed=True)
    else:
        payload = str(value).encode()
    return len(payload).to_bytes(4, "big") + payload


@dataclass(frozen=True, slots=True)
class _BinaryLayout:
    """Column order of a binary COPY: constants, then fixed-width fields, then the rest.

    Fields in a row may come in any order the COPY column list names, so every
    constant (the partition's keys, columns that are all NULL or all empty
    text) is rendered once, the fixed-width fields are one numpy block and
    only texts and nullable fields need Arrow's element-wise join.
    """

    head: bytes  # field count + constant fields
    constants: tuple[str, ...]
    fixed: tuple[str, ...]
    variable: tuple[str, ...]

    @property
    def order(self) -> tuple[str, ...]:
        return (*self.constants, *self.fixed, *self.variable)


def _binary_layout(source: pa.Table, constants: Mapping[str, bytes]) -> _BinaryLayout:
    fields = dict(constants)
    fixed: list[str] = []
    variable: list[str] = []
    for name in source.column_names:
        column = source.column(name)
        textual = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if column.null_count == len(column):
            fields[name] = _NULL_FIELD
        elif textual and column.null_count == 0 and pc.max(pc.binary_length(column)).as_py() == 0:
            fields[name] = bytes(4)  # every value is the empty text
        elif column.null_count == 0 and not textual:
            fixed.append(name)
        else:
            variable.append(name)
    count = len(fields) + len(fixed) + len(variable)
    head = count.to_bytes(2, "big") + b"".join(fields.values())
    return _BinaryLayout(head, tuple(fields), tuple(fixed), tuple(variable))


def _binary_rows(batch: pa.RecordBatch, layout: _BinaryLayout) -> bytes:
    """COPY binary tuples of a batch, fields in ``layout.order``."""
    n = batch.num_rows
    if n == 0:
        return b""
    parts = [np.broadcast_to(np.frombuffer(layout.head, np.uint8), (n, len(layout.head)))]
    for name in layout.fixed:
        payload = _fixed_payload(batch.column(name))
        assert payload is not None
        width = np.array([payload.shape[1]], ">i4").view(np.uint8)
        parts += [np.broadcast_to(width, (n, 4)), payload]
    block = np.ascontiguousarray(np.concatenate(parts, axis=1))
    if not layout.variable:
        return block.tobytes()
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(block.shape[1]), n, [None, pa.py_buffer(block)]
    ).cast(pa.binary())
    variable = [_binary_field(batch.column(name)) for name in layout.variable]
    rows = pc.binary_join_element_wise(fixed, *variable, b"")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1 + rows.offset)
    start, end = int(offsets[rows.offset]), int(offsets[-1])
    return rows.buffers()[2].slice(start, end - start).to_pybytes()


def _csv_of(batch: pa.RecordBatch) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False, batch_size=8192))
    return buffer.getvalue()


def _pipelined(render: Callable[[pa.RecordBatch], bytes], data: pa.Table) -> Iterator[bytes]:
    """Rendered chunks of the table, the next rendered in a thread while COPY sends one.

    pyarrow's compute functions and CSV writer release the GIL, so rendering
    overlaps with the server's work.
    """
    batches = iter(data.to_batches(max_chunksize=_COPY_BATCH_ROWS))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-render") as pool:
        pending: deque[Future[bytes]] = deque()
        for batch in islice(batches, 2):
            pending.append(pool.submit(render, batch))
        while pending:
            chunk = pending.popleft().result()
            following = next(batches, None)
            if following is not None:
                pending.append(pool.submit(render, following))
            yield chunk


def _copy_sql(conn: sa.Connection, table: sa.Table, names: Sequence[str], fmt: str) -> str:
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c) for c in names)
    return f"COPY {quote(table.name)} ({columns}) FROM STDIN (FORMAT {fmt})"


def insert_postgres(
    conn: sa.Connection,
    table: sa.Table,
    data: pa.Table,
    mapping: Sequence[tuple[str, str]],
    part: Partition,
) -> None:
    if data.num_rows == 0:
        return
    names = ["company_id", "fiscal_year_start", *(w for w, _ in mapping), "extract_id"]
    source = data.select([src for _, src in mapping])
    raw = conn.connection.dbapi_connection
    if not _fits_binary(source):
        _copy_csv(raw, _copy_sql(conn, table, names, "csv"), source, part)
        return
    keys = {
        "company_id": _binary_constant(part.company_id, "int4"),
        "fiscal_year_start": _binary_constant(part.fiscal_year_start, "date"),
        "extract_id": _binary_constant(part.extract_id, "text"),
    }
    layout = _binary_layout(source, keys)
    warehouse_name = {src: w for w, src in mapping} | {k: k for k in keys}
    sql = _copy_sql(conn, table, [warehouse_name[c] for c in layout.order], "binary")
    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        copy.write(_COPY_HEADER)
        for chunk in _pipelined(lambda batch: _binary_rows(batch, layout), source):
            copy.write(chunk)
        copy.write(_COPY_TRAILER)


def _copy_csv(raw: Any, sql: str, source: pa.Table, part: Partition) -> None:
    n = source.num_rows
    arrays = [
        pa.repeat(pa.scalar(part.company_id, pa.int32()), n),
        pa.repeat(pa.scalar(part.fiscal_year_start, pa.date32()), n),
        *source.columns,
        pa.repeat(pa.scalar(part.extract_id, pa.string()), n),
    ]
    csv_table = pa.table(
        arrays, names=["company_id", "fiscal_year_start", *source.column_names, "extract_id"]
    )
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for chunk in _pipelined(_csv_of, csv_table):
            copy.write(chunk)
