"""The bulk (columnar) path: a SIE file's vouchers and rows as Arrow tables.

    cols = read_columns("big.se")          # same errors as read_sie, no object per row
    cols = document_to_columns(read_sie("big.se"))   # the same tables, via records

Design: the file is read in chunks of 1 MB (whole lines), so temporaries
stay bounded and the file is never held whole. Each chunk's lines are
classified and the ``#VER`` and row lines split into fields on the raw bytes
by compiled (numba) kernels (``_bulk_scan``), two chunks at a time on worker
threads; amounts become integer öre and dates days, exactly.
The few header lines (everything outside ``#VER`` blocks) go through the record
reader's parser with their own line numbers, so messages and header records are
the record path's own. The voucher checks (balance, undeclared accounts, empty
blocks, RTRANS twins) are vectorised. Anything irregular (a line the fast
grammar does not accept, a bad value, broken block structure, control
characters, Latin-1 bytes, ``#KSUMMA``) falls back to the record path, which
gives the exact diagnostics.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from include.sie4 import _bulk_scan as scan
from include.sie4 import reader as _reader
from include.sie4.columns import (
    AMOUNT_TYPE,
    QUANTITY_TYPE,
    ROW_OBJECT_SCHEMA,
    ROW_SCHEMA,
    VOUCHER_SCHEMA,
)
from include.sie4.decoding import BOM
from include.sie4.errors import SieError
from include.sie4.fastpath import (
    Fallback,
    RowFacts,
    count_voucher_lines,
    line_chunks,
    parse_header,
    sniff_encoding,
    voucher_diagnostics,
    voucher_totals,
)
from include.sie4.records import SieDocument

__all__ = ["SieColumns", "document_to_columns", "read_columns", "warm_up"]


@dataclass(frozen=True, slots=True)
class SieColumns:
    """A SIE file as tables: ``document`` holds the header records (``vouchers=()``)."""

    document: SieDocument
    vouchers: pa.Table
    rows: pa.Table
    row_objects: pa.Table


# -- the record path's tables ----------------------------------------------------


def document_to_columns(doc: SieDocument) -> SieColumns:
    """The tables of a document read by the record path (the reference for the bulk path)."""
    v_cols: dict[str, list[object]] = {f.name: [] for f in VOUCHER_SCHEMA}
    r_cols: dict[str, list[object]] = {f.name: [] for f in ROW_SCHEMA}
    o_cols: dict[str, list[object]] = {f.name: [] for f in ROW_OBJECT_SCHEMA}
    row_index = 0
    for voucher_index, v in enumerate(doc.vouchers):
        v_cols["voucher_index"].append(voucher_index)
        v_cols["series"].append(v.series)
        v_cols["number"].append(v.number)
        v_cols["date"].append(v.date)
        v_cols["text"].append(v.text)
        v_cols["registered_on"].append(v.registered_on)
        v_cols["signature"].append(v.signature)
        v_cols["line"].append(v.line)
        for r in v.rows:
            r_cols["row_index"].append(row_index)
            r_cols["voucher_index"].append(voucher_index)
            r_cols["kind"].append(r.kind.value)
            r_cols["account"].append(r.account)
            r_cols["amount"].append(r.amount)
            r_cols["date"].append(r.date)
            r_cols["text"].append(r.text)
            r_cols["quantity"].append(r.quantity)
            r_cols["signature"].append(r.signature)
            r_cols["line"].append(r.line)
            r_cols["in_balance"].append(r.in_balance)
            for position, (dimension, object_id) in enumerate(r.objects):
                o_cols["row_index"].append(row_index)
                o_cols["position"].append(position)
                o_cols["dimension"].append(dimension)
                o_cols["object_id"].append(object_id)
            row_index += 1
    return SieColumns(
        document=replace(doc, vouchers=()),
        vouchers=pa.table(v_cols, schema=VOUCHER_SCHEMA),
        rows=pa.table(r_cols, schema=ROW_SCHEMA),
        row_objects=pa.table(o_cols, schema=ROW_OBJECT_SCHEMA),
    )


def _record_path(data: bytes, name: str, lenient: bool) -> SieColumns:
    return document_to_columns(_reader.read_sie(data, lenient=lenient, source_name=name))


# -- read_columns ----------------------------------------------------------------


def warm_up() -> None:
    """Load the compiled kernels now rather than in the first read_columns call.

    numba loads them from its cache (``__pycache__``) once per process (~1-2 s
    here); the very first time per install it compiles them (~15 s).
    """
    scan.warm_up()


_CHUNK = 1 << 20  # bytes per chunk: bounds the temporaries (a few times a chunk each)
_THREADS = 2  # chunks scanned at once (the machine has 2 cores)

Read = Callable[[int, int], bytes]


def read_columns(source: str | Path | bytes, *, lenient: bool = False) -> SieColumns:
    """Read a SIE file into Arrow tables; equal to ``document_to_columns(read_sie(source))``.

    Raises SieError with the same errors as read_sie when the file has errors.
    """
    if isinstance(source, bytes):
        data = source
        try:
            return _fast(lambda at, size: data[at : at + size], len(data), "<bytes>", lenient)
        except Fallback:
            return _record_path(data, "<bytes>", lenient)
    name = str(source)
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below, also on fallback
    except OSError:
        # The reader reports a missing or unreadable file in its own words.
        return document_to_columns(_reader.read_sie(source, lenient=lenient))
    try:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        return _fast(lambda at, count: os.pread(fd, count, at), size, name, lenient)
    except Fallback:
        pass
    finally:
        handle.close()
    try:
        data = Path(source).read_bytes()
    except OSError:
        return document_to_columns(_reader.read_sie(source, lenient=lenient))
    return _record_path(data, name, lenient)


@dataclass(slots=True)
class _Parts:
    """The chunks' results, concatenated at the end."""

    classes: list[np.ndarray] = field(default_factory=list)
    header: list[tuple[int, str]] = field(default_factory=list)
    chunks: list[scan.Chunk] = field(default_factory=list)

    def cat(self, name: str) -> np.ndarray:
        """One field of all chunks, concatenated; the chunks' copies are let go."""
        whole = np.concatenate([getattr(c, name) for c in self.chunks])
        for c in self.chunks:
            setattr(c, name, whole[:0])
        return whole

    def arrays(self, name: str, type_: pa.DataType | None = None) -> pa.ChunkedArray:
        arrays = [getattr(c, name) for c in self.chunks]
        return pa.chunked_array(arrays, type=type_ or pa.string())


def _fast(read: Read, size: int, name: str, lenient: bool) -> SieColumns:
    start = 3 if read(0, 3) == BOM else 0
    encoding = sniff_encoding(read, start, size, _CHUNK)  # blocks not bigger: see _CHUNK
    if encoding == "latin-1":
        raise Fallback  # rare; the reader's cp1252/latin-1 choice needs the whole text
    parts = _Parts()

    def collect(chunk: scan.Chunk, final: bool) -> None:
        classes = chunk.classes if final else chunk.classes[:-1]  # last: the next chunk's
        parts.classes.append(classes)
        chunk.classes = classes[:0]
        parts.header.extend((number, text.decode(encoding)) for number, text in chunk.header)
        chunk.header = []
        parts.chunks.append(chunk)

    # The kernels release the GIL: chunks are scanned on worker threads, in order,
    # with a few in flight (bounded memory) while this thread reads the next.
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        pending: deque[tuple[Future[scan.Chunk], bool]] = deque()
        try:
            line = 1
            for _, block, final in line_chunks(read, start, size, _CHUNK):
                future = pool.submit(scan.scan_chunk, block, line, encoding == "cp437")
                pending.append((future, final))
                line += block.count(b"\n")
                if len(pending) > _THREADS:
                    done, was_final = pending.popleft()
                    collect(done.result(), was_final)
            while pending:
                done, was_final = pending.popleft()
                collect(done.result(), was_final)
        finally:
            for future, _ in pending:
                future.cancel()
    classes = np.concatenate(parts.classes)
    parts.classes = []
    _check_structure(classes)
    del classes

    ver_line = parts.cat("ver_line")
    # Header: the reader's own parser over the header lines, at their line numbers.
    first_voucher = int(ver_line[0]) if len(ver_line) else None
    parser = parse_header(parts.header, encoding, lenient=lenient, first_voucher=first_voucher)

    row_offsets = np.cumsum([0] + [len(c.row_line) for c in parts.chunks])[:-1]
    row_line = parts.cat("row_line")
    kind = parts.cat("row_kind")
    # The voucher of each row, and which rows count: not BTRANS, and not an RTRANS
    # directly followed by TRANS in the same voucher (the twin counts, it does not).
    voucher_index, paired, in_balance = scan.row_vouchers(ver_line, row_line, kind)
    count_voucher_lines(parser, ver_line, row_line, kind)
    if not parser.known_records:
        raise Fallback
    vouchers = pa.Table.from_arrays(
        [
            scan.numbers(np.arange(len(ver_line), dtype=np.int32)),
            parts.arrays("ver_series"),
            parts.arrays("ver_number"),
            parts.arrays("ver_date", pa.date32()),
            parts.arrays("ver_text"),
            parts.arrays("ver_registered", pa.date32()),
            parts.arrays("ver_signature"),
            scan.numbers(ver_line),
        ],
        schema=VOUCHER_SCHEMA,
    )
    facts = RowFacts(
        line=row_line,
        voucher_index=voucher_index,
        paired=paired,
        in_balance=in_balance,
        chunks=parts.chunks,
        first_use=(parts.cat("first_use_key"), parts.cat("first_use_line")),
    )
    errors, warnings = voucher_diagnostics(
        ver_line,
        facts,
        voucher_totals(facts, len(ver_line)),
        lambda indexes: _voucher_names(vouchers, indexes),
        parser,
        lenient,
    )
    if any(d.line == 1 for d in errors + warnings):
        raise Fallback  # would tie with whole-file findings on line 1
    parser.errors.extend(errors)
    parser.warnings.extend(warnings)
    document = parser.build(encoding)
    all_errors = tuple(sorted(parser.errors, key=lambda d: d.line))
    all_warnings = tuple(sorted(parser.warnings, key=lambda d: d.line))
    if all_errors:
        raise SieError(all_errors, source=name, warnings=all_warnings)

    rows = pa.Table.from_arrays(
        [
            scan.numbers(np.arange(len(row_line), dtype=np.int64)),
            scan.numbers(voucher_index),
            parts.arrays("row_kind_name"),
            parts.arrays("row_account"),
            parts.arrays("row_amount", AMOUNT_TYPE),
            parts.arrays("row_date", pa.date32()),
            parts.arrays("row_text"),
            parts.arrays("row_quantity", QUANTITY_TYPE),
            parts.arrays("row_signature"),
            scan.numbers(row_line),
            scan.flags(in_balance),
        ],
        schema=ROW_SCHEMA,
    )
    object_rows = [c.object_row + at for c, at in zip(parts.chunks, row_offsets, strict=True)]
    objects = pa.Table.from_arrays(
        [
            scan.numbers(np.concatenate(object_rows)),
            scan.numbers(parts.cat("object_position")),
            parts.arrays("object_dimension"),
            parts.arrays("object_id"),
        ],
        schema=ROW_OBJECT_SCHEMA,
    )
    return SieColumns(
        document=replace(document, warnings=all_warnings),
        vouchers=vouchers,
        rows=rows,
        row_objects=objects,
    )


def _check_structure(cls: np.ndarray) -> None:
    """Every #VER is followed by '{', rows and '}'; no '{', '}' or row outside those."""
    if not scan.structure_ok(cls):
        raise Fallback


def _voucher_names(vouchers: pa.Table, indexes: list[int]) -> list[tuple[str, str]]:
    # Element access, not take(): the compute kernels cost ~50 MB when first loaded.
    series, number = vouchers.column("series"), vouchers.column("number")
    return [(series[i].as_py(), number[i].as_py()) for i in indexes]
