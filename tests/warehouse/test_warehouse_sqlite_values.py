"""SQLite bulk values: the vectorised Arrow -> Python conversion equals the per-value rules.

Money must become integer öre (``to_ore``) and quantities the canonical
8-decimal text (``quantity_text``), whatever the sign, size, chunking or nulls.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from include.warehouse.sqlite_writer import sqlite_column
from include.warehouse.types import quantity_text, to_ore

D = Decimal
AMOUNT = pa.decimal128(18, 2)
QUANTITY = pa.decimal128(28, 8)

amounts = st.decimals(
    min_value=D("-9999999999999999.99"), max_value=D("9999999999999999.99"), places=2
)
quantities = st.decimals(
    min_value=D("-99999999999999999999.99999999"),
    max_value=D("99999999999999999999.99999999"),
    places=8,
)


def _chunked(values: list[object], type_: pa.DataType, split: int) -> pa.ChunkedArray:
    split = min(split, len(values))
    return pa.chunked_array(
        [pa.array(values[:split], type_), pa.array(values[split:], type_)], type=type_
    )


@settings(deadline=None, max_examples=200)  # first call imports pandas (pyarrow)
@given(st.lists(st.none() | amounts, max_size=40), st.integers(0, 40))
def test_money_becomes_integer_ore(values: list[Decimal | None], split: int) -> None:
    expected = [None if v is None else to_ore(v) for v in values]
    assert sqlite_column(_chunked(values, AMOUNT, split)) == expected


@settings(deadline=None, max_examples=200)  # first call imports pandas (pyarrow)
@given(st.lists(st.none() | quantities, max_size=40), st.integers(0, 40))
def test_quantity_becomes_canonical_text(values: list[Decimal | None], split: int) -> None:
    expected = [None if v is None else quantity_text(v) for v in values]
    assert sqlite_column(_chunked(values, QUANTITY, split)) == expected


def test_edge_quantities_and_other_types() -> None:
    edge = [D("0"), D("-0.00000001"), D("0.00000001"), D("-92233720368.54775808"), None]
    assert sqlite_column(pa.chunked_array([pa.array(edge, QUANTITY)])) == [
        "0.00000000",
        "-0.00000001",
        "0.00000001",
        "-92233720368.54775808",
        None,
    ]
    assert sqlite_column(pa.chunked_array([pa.array([True, None, False])])) == [1, None, 0]
    assert sqlite_column(pa.chunked_array([pa.array([3, None, -4], pa.int16())])) == [
        3,
        None,
        -4,
    ]
    days = pa.array([date(2024, 2, 29), None], pa.date32())
    assert sqlite_column(pa.chunked_array([days.slice(0), days.slice(1)])) == [
        "2024-02-29",
        None,
        None,
    ]
    sliced = pa.array([1, 2, 3, 4], pa.int64()).slice(1, 2)
    assert sqlite_column(pa.chunked_array([sliced])) == [2, 3]
    assert sqlite_column(pa.chunked_array([pa.array([None, None], QUANTITY)])) == [None, None]
