"""The bulk tables (voucher, voucher_row) as the reader's Arrow tables map onto them.

A row's objects are three columns of voucher_row, built column-wise from the
reader's ``row_objects`` table (one row per object): ``cost_centre`` and
``project`` (the first object of dimension 1 and 6) and ``objects``, the whole
list as the JSON text ``json.dumps([[dimension, object_id], ...],
ensure_ascii=False)`` writes, null for a row without objects. No Python code
runs per row: each distinct dimension and object id is escaped once by ``json.dumps``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COST_CENTRE, PROJECT = "1", "6"  # the SIE format's reserved dimension numbers

# Warehouse column <- Arrow column of the bulk path (include/sie4/columns.py).
VOUCHER_COLUMNS = (
    ("voucher_index", "voucher_index"),
    ("series", "series"),
    ("number", "number"),
    ("voucher_date", "date"),
    ("text", "text"),
    ("registered_on", "registered_on"),
    ("signature", "signature"),
    ("line", "line"),
)
# ... and the columns that row_dimensions adds to the reader's rows.
ROW_COLUMNS = (
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
    ("cost_centre", "cost_centre"),
    ("project", "project"),
    ("objects", "objects"),
)


@dataclass(frozen=True, slots=True)
class Partition:
    """The keys every row of a partition carries."""

    company_id: int
    fiscal_year_start: date
    extract_id: str


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _first_of(
    dimension: int, dims: np.ndarray, ids: pa.Array, slots: np.ndarray, n: int
) -> pa.Array:
    """Per row, the id of its first object of ``dimension`` (null when it has none)."""
    hits = np.flatnonzero(dims == dimension)
    if len(hits) == 0:
        return pa.nulls(n, pa.string())
    rows = slots[hits]  # ascending: a row's first hit is its first such object
    first = np.ones(len(hits), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    picks = np.full(n, -1, dtype=np.int64)
    picks[rows[first]] = hits[first]
    return ids.take(pa.array(picks, mask=picks < 0))


def row_dimensions(rows: pa.Table, row_objects: pa.Table) -> dict[str, pa.Array]:
    """voucher_row's ``cost_centre``, ``project`` and ``objects`` for the reader's rows.

    Books hold few distinct objects (cost centres, projects), so the JSON is built
    once per distinct (dimension, object) pair, in four forms (alone in its list,
    first, middle, last), and each row's list is one join of those texts. (A file
    whose every row had its own object would cost about 2 µs per row here.)
    """
    n = rows.num_rows
    if row_objects.num_rows == 0:
        none = pa.nulls(n, pa.string())
        return {"cost_centre": none, "project": none, "objects": none}
    row_index = np.asarray(row_objects.column("row_index").combine_chunks())
    position = np.asarray(row_objects.column("position").combine_chunks())
    own_index = np.asarray(rows.column("row_index").combine_chunks())
    # The reader numbers rows 0..n-1 in file order and lists a row's objects in order.
    slots = (
        row_index if np.array_equal(own_index, np.arange(n)) else own_index.searchsorted(row_index)
    )
    if not (
        np.all(slots[1:] >= slots[:-1])
        and np.all((slots[1:] > slots[:-1]) | (position[1:] > position[:-1]))
    ):
        order = np.lexsort((position, slots))
        slots = slots[order]
        row_objects = row_objects.take(pa.array(order))
    dim_codes = pc.dictionary_encode(row_objects.column("dimension").combine_chunks())
    id_codes = pc.dictionary_encode(row_objects.column("object_id").combine_chunks())
    ids = row_objects.column("object_id").combine_chunks()
    dim_index = np.asarray(dim_codes.indices, dtype=np.int64)
    id_index = np.asarray(id_codes.indices, dtype=np.int64)

    # Distinct pairs, and each object's place in its row's list: 0 alone, 1 first, 2 middle, 3 last.
    pair_codes = pc.dictionary_encode(pa.array(dim_index * len(id_codes.dictionary) + id_index))
    pair_of = np.asarray(pair_codes.indices, dtype=np.int64)
    starts = np.ones(len(slots), dtype=bool)
    starts[1:] = slots[1:] != slots[:-1]
    ends = np.ones(len(slots), dtype=bool)
    ends[:-1] = starts[1:]
    place = np.where(starts, np.where(ends, 0, 1), np.where(ends, 3, 2))
    dim_text = [_json_string(d) for d in dim_codes.dictionary.to_pylist()]
    id_text = [_json_string(o) for o in id_codes.dictionary.to_pylist()]
    texts = []
    for code in pair_codes.dictionary.to_pylist():
        pair = f"[{dim_text[code // len(id_text)]}, {id_text[code % len(id_text)]}]"
        texts += [f"[{pair}]", f"[{pair}", pair, f"{pair}]"]
    pieces = pa.array(texts, pa.string()).take(pa.array(pair_of * 4 + place))

    counts = np.bincount(slots, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), pieces, mask=pa.array(counts == 0))
    dimensions = dim_codes.dictionary.to_pylist()
    reserved = {d: dimensions.index(d) if d in dimensions else -1 for d in (COST_CENTRE, PROJECT)}
    return {
        "cost_centre": _first_of(reserved[COST_CENTRE], dim_index, ids, slots, n),
        "project": _first_of(reserved[PROJECT], dim_index, ids, slots, n),
        "objects": pc.binary_join(lists, ", "),
    }


def voucher_rows(rows: pa.Table, row_objects: pa.Table) -> pa.Table:
    """The reader's rows with voucher_row's object columns."""
    for name, column in row_dimensions(rows, row_objects).items():
        rows = rows.append_column(name, column)
    return rows
