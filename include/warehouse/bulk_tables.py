"""The bulk tables (voucher, voucher_row) as the reader's Arrow tables map onto them.

A row's objects are three columns of voucher_row, built column-wise from the
reader's ``row_objects`` table (one row per object): ``cost_centre`` and
``project`` (the first object of dimension 1 and 6) and ``objects``, the whole
list as the JSON text ``json.dumps([[dimension, object_id], ...],
ensure_ascii=False)`` writes, null for a row without objects. No Python code
runs per row; a value with a control character is escaped by ``json.dumps``.
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


def _json_string_bodies(strings: pa.Array) -> pa.Array:
    """Each string as it appears between the quotes of a JSON string (json.dumps escapes)."""
    if pc.any(pc.match_substring_regex(strings, r"[\x00-\x1f]")).as_py():
        bodies = [json.dumps(s, ensure_ascii=False)[1:-1] for s in strings.to_pylist()]
        return pa.array(bodies, pa.string())
    for special, escaped in (("\\", "\\\\"), ('"', '\\"')):  # backslash first
        if pc.any(pc.match_substring(strings, special)).as_py():
            strings = pc.replace_substring(strings, special, escaped)
    return strings


def _first_of(dimension: str, dims: pa.Array, ids: pa.Array, slots: np.ndarray, n: int) -> pa.Array:
    """Per row, the id of its first object of ``dimension`` (null when it has none)."""
    hits = np.flatnonzero(np.asarray(pc.equal(dims, dimension)))
    if len(hits) == 0:
        return pa.nulls(n, pa.string())
    rows, first = np.unique(slots[hits], return_index=True)  # slots ascend: the first object
    picks = np.full(n, -1, dtype=np.int64)
    picks[rows] = hits[first]
    return ids.take(pa.array(picks, mask=picks < 0))


def row_dimensions(rows: pa.Table, row_objects: pa.Table) -> dict[str, pa.Array]:
    """voucher_row's ``cost_centre``, ``project`` and ``objects`` for the reader's rows."""
    n = rows.num_rows
    if row_objects.num_rows == 0:
        none = pa.nulls(n, pa.string())
        return {"cost_centre": none, "project": none, "objects": none}
    row_index = np.asarray(row_objects.column("row_index").combine_chunks())
    position = np.asarray(row_objects.column("position").combine_chunks())
    own_index = np.asarray(rows.column("row_index").combine_chunks())
    # The reader numbers rows 0..n-1 in file order; anything else is mapped by search.
    slots = (
        row_index if np.array_equal(own_index, np.arange(n)) else own_index.searchsorted(row_index)
    )
    order = np.lexsort((position, slots))
    if not np.array_equal(order, np.arange(len(order))):
        slots = slots[order]
        row_objects = row_objects.take(pa.array(order))
    dims = row_objects.column("dimension").combine_chunks()
    ids = row_objects.column("object_id").combine_chunks()

    pairs = pc.binary_join_element_wise(
        '["', _json_string_bodies(dims), '", "', _json_string_bodies(ids), '"]', ""
    )
    counts = np.bincount(slots, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(pa.array(offsets), pairs, mask=pa.array(counts == 0))
    objects = pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")
    return {
        "cost_centre": _first_of(COST_CENTRE, dims, ids, slots, n),
        "project": _first_of(PROJECT, dims, ids, slots, n),
        "objects": objects,
    }


def voucher_rows(rows: pa.Table, row_objects: pa.Table) -> pa.Table:
    """The reader's rows with voucher_row's object columns."""
    for name, column in row_dimensions(rows, row_objects).items():
        rows = rows.append_column(name, column)
    return rows
