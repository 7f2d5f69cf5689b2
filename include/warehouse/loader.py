"""Load a SIE file into the warehouse: one (company, fiscal year) partition per load.

A load runs in ONE transaction: it locks the partition, deletes its rows from
every partition table and writes the new ones, so readers see the old books
or the new, never a mix, and a failure leaves the old books untouched.
Vouchers and rows come from the bulk path (Arrow tables): binary COPY on
PostgreSQL (fields rendered column-wise by numpy/Arrow), ``executemany`` on
SQLite with NULLs, empty texts and partition keys as SQL literals. No
per-row Python code on PostgreSQL, no per-row objects on either.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from include.sie4.errors import SieError
from include.sie4.records import Diagnostic, SieDocument
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for
from include.warehouse.types import quantity_text, to_ore

if TYPE_CHECKING:
    from include.sie4.bulk import SieColumns

SourceKind = Literal["fortnox", "inbox", "cli"]
SOURCE_KINDS: tuple[str, ...] = ("fortnox", "inbox", "cli")
AfterTable = Callable[[str], None]
# {"ar": rows, "ap": rows}: year-end open receivables / payables (see load_open_items)
OpenItems = Mapping[str, "Iterable[Mapping[str, Any]] | pa.Table"]

_COPY_BATCH_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load did. ``skipped`` is True when the partition already held this file."""

    company_id: int
    org_number: str | None
    company_name: str
    fiscal_year_start: date
    fiscal_year_end: date
    extract_id: str
    sha256: str
    counts: dict[str, int]
    skipped: bool
    warnings: tuple[Diagnostic, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CompanyIdentity:
    """How a file names its company; ``key`` is the warehouse's unique identity."""

    key: str
    org_number: str | None
    name: str
    program_company_id: str | None


# ----------------------------------------------------------------- identity


def normalise_org_number(raw: str) -> str | None:
    """``NNNNNN-NNNN`` from the forms seen in real files, else None.

    Accepts 5565678901, 556567-8901 and the 12-digit form with a century
    prefix (16, 19, 20) that some programs write.
    """
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 12 and digits[:2] in ("16", "19", "20"):
        digits = digits[2:]
    if len(digits) != 10:
        return None
    return f"{digits[:6]}-{digits[6:]}"


def company_identity(doc: SieDocument, *, sha256: str) -> CompanyIdentity:
    """The company key: organisation number, else #FNR, else #FNAMN, else the file's hash.

    The last fallback makes every readable file loadable; such a company is
    one file's books and gets a warning.
    """
    info = doc.company
    raw_org = info.org_number.strip()
    org = normalise_org_number(raw_org) if raw_org else None
    name = info.name.strip()
    fnr = info.company_id.strip() or None
    if org:
        key = org
    elif raw_org:
        key = f"orgnr:{raw_org}"
    elif fnr:
        key = f"fnr:{fnr}"
    elif name:
        key = f"name:{name}"
    else:
        key = f"file:{sha256[:16]}"
    return CompanyIdentity(key=key, org_number=org, name=name or key, program_company_id=fnr)


def current_fiscal_year(
    doc: SieDocument, vouchers: pa.Table, *, source: str | None = None
) -> tuple[date, date, bool]:
    """(start, end, from_file) of the partition's year.

    Without ``#RAR 0`` (common in 4I files) the year is the calendar year of
    the earliest voucher, else of ``#GEN``; a file with neither is rejected.
    """
    year = doc.fiscal_year(0)
    if year is not None:
        return year.start, year.end, True
    anchor: date | None = None
    if vouchers.num_rows:
        anchor = pc.min(vouchers.column("date")).as_py()
    if anchor is None:
        anchor = doc.generated_on
    if anchor is None:
        raise SieError(
            [Diagnostic(1, "no #RAR 0, no vouchers and no #GEN date: fiscal year unknown")],
            source=source,
        )
    return date(anchor.year, 1, 1), date(anchor.year, 12, 31), False


# ----------------------------------------------------------------- header rows


def _objects_json(objects: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(pair) for pair in objects], ensure_ascii=False)


def _header_rows(
    doc: SieDocument, fy_start: date, fy_end: date, from_file: bool
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the small partition tables (without company_id/fiscal_year_start/extract_id)."""
    years: dict[int, dict[str, Any]] = {}
    for y in doc.fiscal_years:
        years[y.index] = {"year_index": y.index, "start_date": y.start, "end_date": y.end}
    if 0 not in years:
        years[0] = {"year_index": 0, "start_date": fy_start, "end_date": fy_end}
    for row in years.values():
        row["from_file"] = from_file or row["year_index"] != 0

    # Repeated definitions: the later record wins, as in SieDocument.balances_of.
    accounts = {
        a.number: {
            "account": a.number,
            "name": a.name,
            "account_type": a.account_type,
            "unit": a.unit,
            "sru_code": a.sru_codes[0] if a.sru_codes else None,
            "sru_codes": " ".join(a.sru_codes) if a.sru_codes else None,
            "line": a.line,
        }
        for a in doc.accounts
    }
    dimensions = {
        d.number: {"dimension": d.number, "name": d.name, "parent": d.parent, "line": d.line}
        for d in doc.dimensions
    }
    objects = {
        (o.dimension, o.object_id): {
            "dimension": o.dimension,
            "object_id": o.object_id,
            "name": o.name,
            "line": o.line,
        }
        for o in doc.objects
    }
    last_of: dict[tuple[str, int, str], int] = {}
    for i, b in enumerate(doc.balances):
        last_of[(b.kind.value, b.year_index, b.account)] = i
    balances = [
        {
            "record_index": i,
            "kind": b.kind.value,
            "year_index": b.year_index,
            "account": b.account,
            "amount": b.amount,
            "quantity": b.quantity,
            "is_effective": last_of[(b.kind.value, b.year_index, b.account)] == i,
            "line": b.line,
        }
        for i, b in enumerate(doc.balances)
    ]
    period_balances = [
        {
            "record_index": i,
            "kind": p.kind.value,
            "year_index": p.year_index,
            "period": p.period,
            "account": p.account,
            "objects": _objects_json(p.objects),
            "amount": p.amount,
            "quantity": p.quantity,
            "line": p.line,
        }
        for i, p in enumerate(doc.period_balances)
    ]
    object_balances = [
        {
            "record_index": i,
            "kind": o.kind.value,
            "year_index": o.year_index,
            "account": o.account,
            "dimension": o.objects[0][0] if o.objects else None,
            "object_id": o.objects[0][1] if o.objects else None,
            "objects": _objects_json(o.objects),
            "amount": o.amount,
            "quantity": o.quantity,
            "line": o.line,
        }
        for i, o in enumerate(doc.object_balances)
    ]
    return {
        "fiscal_year": sorted(years.values(), key=lambda r: r["year_index"]),
        "account": list(accounts.values()),
        "dimension": list(dimensions.values()),
        "object": list(objects.values()),
        "balance": balances,
        "period_balance": period_balances,
        "object_balance": object_balances,
    }


# ----------------------------------------------------------------- bulk tables

# Warehouse column <- Arrow column of the bulk path (include/sie4/columns.py).
_VOUCHER_COLUMNS = (
    ("voucher_index", "voucher_index"),
    ("series", "series"),
    ("number", "number"),
    ("voucher_date", "date"),
    ("text", "text"),
    ("registered_on", "registered_on"),
    ("signature", "signature"),
    ("line", "line"),
)
_ROW_COLUMNS = (
    ("row_index", "row_index"),
    ("voucher_index", "voucher_index"),
    ("kind", "kind"),
    ("account", "account"),
    ("amount", "amount"),
    ("row_date", "date"),
    ("text", "text"),
    ("quantity", "quantity"),
    ("signature", "signature"),
    ("line", "line"),
    ("in_balance", "in_balance"),
)
_ROW_OBJECT_COLUMNS = (
    ("row_index", "row_index"),
    ("position", "position"),
    ("dimension", "dimension"),
    ("object_id", "object_id"),
)


@dataclass(frozen=True, slots=True)
class _Partition:
    company_id: int
    fiscal_year_start: date
    extract_id: str


def _with_nulls(values: list[Any], chunk: pa.Array) -> list[Any]:
    if chunk.null_count:
        for i in np.flatnonzero(~np.asarray(chunk.is_valid())).tolist():
            values[i] = None
    return values


def _quantity_texts(chunk: pa.Array) -> list[str | None]:
    """Canonical quantity text (8 decimals, as ``quantity_text``) built by Arrow, not per value."""
    t = chunk.type
    low, high = _decimal_words(chunk)
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
            return _with_nulls(_decimal_words(chunk)[0].tolist(), chunk)
        return _quantity_texts(chunk)
    if pa.types.is_date(t):
        return pc.cast(chunk, pa.string()).to_pylist()
    if pa.types.is_boolean(t):
        chunk = pc.cast(chunk, pa.int8())
    if pa.types.is_integer(chunk.type):
        dtype = (
            f"<{'i' if pa.types.is_signed_integer(chunk.type) else 'u'}{chunk.type.bit_width // 8}"
        )
        return _with_nulls(
            _fixed_values(chunk, dtype).tolist(), chunk
        )  # much faster than to_pylist
    return chunk.to_pylist()


def _sqlite_column(array: pa.ChunkedArray) -> list[Any]:
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


def _insert_sqlite(
    conn: sa.Connection,
    table: sa.Table,
    data: pa.Table,
    mapping: Sequence[tuple[str, str]],
    part: _Partition,
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
            columns = [_sqlite_column(group.column(s)) for _, s in mapping if s not in literals]
            rows = zip(*columns, strict=True) if columns else repeat((), group.num_rows)
            cursor.executemany(sql, rows)  # type: ignore[arg-type]  # takes any iterable
    finally:
        cursor.close()


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
                low, high = _decimal_words(chunk)
                if not np.array_equal(high, low >> 63):
                    return False
    return True


def _decimal_words(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 64-bit words of a decimal128 array (nulls as zero)."""
    n = len(array)
    words = np.frombuffer(array.buffers()[1], dtype="<i8", count=2 * (n + array.offset))
    low, high = words[2 * array.offset :: 2], words[2 * array.offset + 1 :: 2]
    if array.null_count:
        mask = np.asarray(array.is_valid())
        low, high = np.where(mask, low, 0), np.where(mask, high, 0)
    return low, high


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
    low, _ = _decimal_words(array)  # _fits_binary checked the high words
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


def _fixed_values(array: pa.Array, dtype: str) -> np.ndarray:
    """The values buffer of a fixed-width array (null slots hold anything; they are masked)."""
    n = len(array)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=n + array.offset)[array.offset :]


def _fixed_payload(array: pa.Array) -> np.ndarray | None:
    """(n, width) uint8 matrix of a fixed-width column's binary values; None for texts."""
    t = array.type
    if pa.types.is_decimal(t):
        return _numeric_payload(array)
    if pa.types.is_date32(t):
        payload = (_fixed_values(array, "<i4") - _PG_EPOCH_SHIFT).astype(">i4")
    elif pa.types.is_boolean(t):
        flags = pc.coalesce(array, False) if array.null_count else array
        payload = flags.to_numpy(zero_copy_only=False).astype(np.uint8)
    elif pa.types.is_integer(t):
        width = t.bit_width // 8
        kind = "i" if pa.types.is_signed_integer(t) else "u"
        payload = _fixed_values(array, f"<{kind}{width}").astype(f">{kind}{width}")
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


def _insert_postgres(
    conn: sa.Connection,
    table: sa.Table,
    data: pa.Table,
    mapping: Sequence[tuple[str, str]],
    part: _Partition,
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


def _copy_csv(raw: Any, sql: str, source: pa.Table, part: _Partition) -> None:
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


# ----------------------------------------------------------------- the load


def _read_bytes(source: Path | str | bytes) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, None
    path = Path(source)
    return path.read_bytes(), path.name


def _read_columns(data: bytes, *, lenient: bool, name: str) -> SieColumns:
    from include.sie4.bulk import read_columns

    try:
        return read_columns(data, lenient=lenient)
    except SieError as exc:  # the reader saw bytes: name the file in the message
        raise SieError(
            exc.errors, source=name, warnings=exc.warnings, unreadable=exc.unreadable
        ) from exc


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported warehouse database: {conn.dialect.name}")


def _upsert_company(
    conn: sa.Connection, identity: CompanyIdentity, fortnox_tenant_id: str | None
) -> int:
    c = schema.company
    stmt = (
        _dialect_insert(conn, c)
        .values(
            company_key=identity.key,
            org_number=identity.org_number,
            name=identity.name,
            fortnox_tenant_id=fortnox_tenant_id,
            program_company_id=identity.program_company_id,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["company_key"])
    )
    conn.execute(stmt)
    row = conn.execute(
        sa.select(c.c.company_id, c.c.fortnox_tenant_id).where(c.c.company_key == identity.key)
    ).one()
    company_id = int(row.company_id)
    changes: dict[str, Any] = {"name": identity.name}
    if fortnox_tenant_id is not None:
        if row.fortnox_tenant_id not in (None, fortnox_tenant_id):
            raise ValueError(
                f"company {identity.key} is Fortnox tenant {row.fortnox_tenant_id}, "
                f"not {fortnox_tenant_id}"
            )
        changes["fortnox_tenant_id"] = fortnox_tenant_id
    conn.execute(sa.update(c).where(c.c.company_id == company_id).values(**changes))
    return company_id


def _lock_partition(conn: sa.Connection, company_id: int, fy_start: date) -> None:
    # PostgreSQL: serialise loads of one partition; SQLite: BEGIN IMMEDIATE already did.
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": company_id, "b": fy_start.year * 10000 + fy_start.month * 100 + fy_start.day},
        )


def _current_sha256(conn: sa.Connection, company_id: int, fy_start: date) -> str | None:
    fy, ex = schema.fiscal_year, schema.extract
    return conn.execute(
        sa.select(ex.c.sha256)
        .select_from(fy.join(ex, ex.c.extract_id == fy.c.extract_id))
        .where(
            fy.c.company_id == company_id,
            fy.c.fiscal_year_start == fy_start,
            fy.c.year_index == 0,
        )
    ).scalar_one_or_none()


def _extract_exists(conn: sa.Connection, extract_id: str) -> bool:
    ex = schema.extract
    found = conn.execute(sa.select(ex.c.extract_id).where(ex.c.extract_id == extract_id))
    return found.first() is not None


def partition_counts(conn: sa.Connection, company_id: int, fy_start: date) -> dict[str, int]:
    """Rows per partition table for one (company, fiscal year)."""
    counts: dict[str, int] = {}
    for table in reversed(schema.PARTITION_TABLES):
        counts[table.name] = conn.execute(
            sa.select(sa.func.count()).where(
                table.c.company_id == company_id, table.c.fiscal_year_start == fy_start
            )
        ).scalar_one()
    return counts


def _register_extract(
    conn: sa.Connection, values: dict[str, Any], *, extract_id: str, sha256: str
) -> None:
    ex = schema.extract
    existing = conn.execute(
        sa.select(ex.c.sha256).where(ex.c.extract_id == extract_id)
    ).scalar_one_or_none()
    if existing is None:
        conn.execute(sa.insert(ex).values(extract_id=extract_id, sha256=sha256, **values))
    elif existing == sha256:
        conn.execute(sa.update(ex).where(ex.c.extract_id == extract_id).values(**values))
    else:
        raise ValueError(f"extract id {extract_id!r} already names a different file")


def load_columns(
    columns: SieColumns,
    url_or_engine: EngineLike,
    *,
    sha256: str,
    size_bytes: int,
    file_name: str,
    source_kind: SourceKind = "cli",
    fortnox_tenant_id: str | None = None,
    extract_id: str | None = None,
    landing_path: str | None = None,
    force: bool = False,
    after_table: AfterTable | None = None,
    open_items: OpenItems | None = None,
) -> LoadResult:
    """Replace one partition with already-read columns (see :func:`load_sie`)."""
    if source_kind not in SOURCE_KINDS:
        raise ValueError(f"source_kind must be one of {SOURCE_KINDS}, not {source_kind!r}")
    doc = columns.document
    warnings = list(doc.warnings)
    identity = company_identity(doc, sha256=sha256)
    if identity.key.startswith("file:"):
        warnings.append(
            Diagnostic(1, "no #ORGNR, #FNR or #FNAMN: company keyed by the file hash", "warning")
        )
    fy_start, fy_end, from_file = current_fiscal_year(doc, columns.vouchers, source=file_name)
    if not from_file:
        warnings.append(
            Diagnostic(1, f"no #RAR 0: fiscal year taken as {fy_start}..{fy_end}", "warning")
        )
    extract_id = extract_id or f"{source_kind}-{sha256[:24]}"
    header = _header_rows(doc, fy_start, fy_end, from_file)

    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            company_id = _upsert_company(conn, identity, fortnox_tenant_id)
            _lock_partition(conn, company_id, fy_start)
            result = LoadResult(
                company_id=company_id,
                org_number=identity.org_number,
                company_name=identity.name,
                fiscal_year_start=fy_start,
                fiscal_year_end=fy_end,
                extract_id=extract_id,
                sha256=sha256,
                counts={},
                skipped=True,
                warnings=tuple(warnings),
            )
            extract_values = {
                "company_id": company_id,
                "fiscal_year_start": fy_start,
                "source_kind": source_kind,
                "file_name": file_name,
                "size_bytes": size_bytes,
                "program": " ".join(p for p in doc.program if p),
                "encoding": doc.encoding,
                "sie_type": doc.sie_type,
                "landing_path": landing_path,
                "warning_count": len(warnings),
                "loaded_at": datetime.now(UTC),
            }
            if not force and _current_sha256(conn, company_id, fy_start) == sha256:
                # Same books: the partition is untouched. A new extract id for the
                # same bytes (a repeated Fortnox fetch) is still recorded as received.
                if not _extract_exists(conn, extract_id):
                    _register_extract(conn, extract_values, extract_id=extract_id, sha256=sha256)
                counts = partition_counts(conn, company_id, fy_start)
                counts |= _write_open_items(conn, open_items, company_id, fy_start, extract_id)
                return _replace(result, counts=counts)

            for table in schema.PARTITION_TABLES:
                conn.execute(
                    sa.delete(table).where(
                        table.c.company_id == company_id, table.c.fiscal_year_start == fy_start
                    )
                )
            _register_extract(conn, extract_values, extract_id=extract_id, sha256=sha256)
            part = _Partition(company_id, fy_start, extract_id)
            counts = _write_partition(conn, part, header, columns, after_table)
            counts |= _write_open_items(conn, open_items, company_id, fy_start, extract_id)
        return _replace(result, counts=counts, skipped=False)
    finally:
        if owned:
            engine.dispose()


def _write_open_items(
    conn: sa.Connection,
    open_items: OpenItems | None,
    company_id: int,
    fy_start: date,
    extract_id: str,
) -> dict[str, int]:
    """Year-end open items that came with the file, in the same transaction as its books."""
    return {
        f"{kind}_open_item": _replace_open_items(conn, kind, rows, company_id, fy_start, extract_id)
        for kind, rows in (open_items or {}).items()
    }


def _replace(result: LoadResult, **changes: Any) -> LoadResult:
    from dataclasses import replace

    return replace(result, **changes)


def _write_partition(
    conn: sa.Connection,
    part: _Partition,
    header: Mapping[str, list[dict[str, Any]]],
    columns: SieColumns,
    after_table: AfterTable | None,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    keys = {
        "company_id": part.company_id,
        "fiscal_year_start": part.fiscal_year_start,
        "extract_id": part.extract_id,
    }
    tables = schema.metadata.tables
    for name, rows in header.items():
        if rows:
            conn.execute(sa.insert(tables[name]), [{**keys, **row} for row in rows])
        counts[name] = len(rows)
        if after_table is not None:
            after_table(name)

    insert = _insert_postgres if conn.dialect.name == "postgresql" else _insert_sqlite
    bulk = (
        (schema.voucher, columns.vouchers, _VOUCHER_COLUMNS),
        (schema.voucher_row, columns.rows, _ROW_COLUMNS),
        (schema.voucher_row_object, columns.row_objects, _ROW_OBJECT_COLUMNS),
    )
    for table, data, mapping in bulk:
        insert(conn, table, data, mapping, part)
        counts[table.name] = data.num_rows
        if after_table is not None:
            after_table(table.name)
    return counts


def load_sie(
    source: Path | str | bytes,
    url_or_engine: EngineLike,
    *,
    lenient: bool = False,
    source_kind: SourceKind = "cli",
    file_name: str | None = None,
    fortnox_tenant_id: str | None = None,
    extract_id: str | None = None,
    landing_path: str | None = None,
    force: bool = False,
    after_table: AfterTable | None = None,
    open_items: OpenItems | None = None,
) -> LoadResult:
    """Load one SIE file, replacing its (company, fiscal year) partition atomically.

    The same file (same SHA-256) already current in its partition is a no-op
    (``skipped=True``) unless ``force``. A rejected file raises ``SieError``
    naming the file and lines, and nothing is written. ``after_table(name)``
    is called after each table is written (a test hook to fail mid-load).
    ``open_items`` ({"ar": rows, "ap": rows}, see :func:`load_open_items`) replace the
    partition's year-end open items in the same transaction as its books.
    """
    data, path_name = _read_bytes(source)
    name = file_name or path_name or "<bytes>"
    columns = _read_columns(data, lenient=lenient, name=name)
    return load_columns(
        columns,
        url_or_engine,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        file_name=name,
        source_kind=source_kind,
        fortnox_tenant_id=fortnox_tenant_id,
        extract_id=extract_id,
        landing_path=landing_path,
        force=force,
        after_table=after_table,
        open_items=open_items,
    )


# ----------------------------------------------------------------- open items

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
            return _replace_open_items(conn, kind, rows, company_id, fiscal_year_start, extract_id)
    finally:
        if owned:
            engine.dispose()


def _replace_open_items(
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


# ----------------------------------------------------------------- checksums


def partition_checksum(
    url_or_engine: EngineLike | sa.Connection,
    company_id: int,
    fiscal_year_start: date,
    tables: Sequence[sa.Table] = schema.PARTITION_TABLES,
) -> str:
    """SHA-256 over every row of the partition, in key order (identical books -> same hash)."""
    digest = hashlib.sha256()

    def feed(conn: sa.Connection) -> None:
        for table in sorted(tables, key=lambda t: t.name):
            digest.update(f"[{table.name}]".encode())
            stmt = (
                sa.select(table)
                .where(
                    table.c.company_id == company_id,
                    table.c.fiscal_year_start == fiscal_year_start,
                )
                .order_by(*table.primary_key.columns)
            )
            for row in conn.execute(stmt):
                digest.update(repr(tuple(row)).encode())
                digest.update(b"\n")

    if isinstance(url_or_engine, sa.Connection):
        feed(url_or_engine)
    else:
        engine, owned = engine_for(url_or_engine)
        try:
            with engine.connect() as conn:
                feed(conn)
        finally:
            if owned:
                engine.dispose()
    return digest.hexdigest()
