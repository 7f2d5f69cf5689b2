"""PostgreSQL binary COPY: edge values arrive exactly as the CSV path writes them.

The loader writes the bulk tables with ``COPY ... (FORMAT binary)``, encoding
NUMERIC, dates and texts itself; the CSV path (kept as the fallback for
quantities beyond 64 bits) is the reference. Both loads must give identical
rows, checked value by value and by the partition checksum.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from include.sie4.bulk import read_columns
from include.warehouse import load_sie, partition_checksum, pg_copy, schema

D = Decimal
FY2024 = date(2024, 1, 1)

# (amount, quantity) of each #TRANS: signs, zero, the largest NUMERIC(18,2),
# one öre, quantities with 8 decimals, missing quantities, and a text needing
# escapes in CSV (quote, backslash, comma, non-ASCII).
EDGE_ROWS: list[tuple[str, str | None]] = [
    ("0.00", None),
    ("-0.01", "0.00000001"),
    ("0.01", "-0.00000001"),
    ("9999999999999999.99", "123456789012.12345678"),
    ("-9999999999999999.99", "-123456789012.12345678"),
    ("10000.00", "1"),
    ("-10000.00", "10000"),
    ("1234.5", "2.5"),
    ("-0.10", None),
]
BIG_QUANTITY = "12345678901234567890.12345678"  # beyond int64 as unscaled öre-of-quantity


def _sie(rows: list[tuple[str, str | None]], *, plain: bool = False) -> bytes:
    """A one-voucher file; ``plain`` rows have no date, text or twin (all-constant columns)."""
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "Test" 1',
        "#FORMAT PC8",
        "#GEN 20250110",
        "#SIETYP 4",
        "#ORGNR 556000-0001",
        '#FNAMN "Kantfall AB"',
        "#RAR 0 20240101 20241231",
        '#KONTO 1930 "Bank"',
        '#KONTO 3010 "F\x94rs\x84ljning"',
        '#VER A 1 20240115 "Citat \\"x\\", komma; b\\\\s \x86\x84\x94" 20240116',
        "{",
    ]
    total = D(0)
    for amount, quantity in rows:
        total += D(amount)
        q = f" {quantity}" if quantity is not None else ""
        if plain:
            lines.append(f"   #TRANS 3010 {{}} {amount}")
            continue
        lines.append(f'   #TRANS 3010 {{1 100}} {amount} 20240116 "r\\\\ad, \\"x\\""{q}')
    if plain:
        lines += [f"   #TRANS 1930 {{}} {-total}", "}"]
        return ("\r\n".join(lines) + "\r\n").encode("latin-1")
    lines.append(f"   #TRANS 1930 {{}} {-total - 5}")  # the RTRANS twin below adds 5
    lines.append('   #RTRANS 1930 {} 5.00 "" "" "" sign')
    lines.append('   #TRANS 1930 {} 5.00 "" "" "" sign')
    lines.append("   #BTRANS 1930 {} 7.00")
    lines.append("}")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def _voucher_rows(url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    t = schema.voucher_row
    try:
        with engine.connect() as conn:
            stmt = sa.select(
                t.c.row_index, t.c.amount, t.c.quantity, t.c.row_date, t.c.text, t.c.in_balance
            ).order_by(t.c.row_index)
            return [tuple(r) for r in conn.execute(stmt)]
    finally:
        engine.dispose()


def _load_both_ways(
    url: str, data: bytes, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[object, ...]], str, list[tuple[object, ...]], str]:
    result = load_sie(data, url, file_name="edge.se")
    binary_rows = _voucher_rows(url)
    binary_sum = partition_checksum(url, result.company_id, FY2024)
    with monkeypatch.context() as m:
        m.setattr(pg_copy, "_fits_binary", lambda _data: False)
        again = load_sie(data, url, file_name="edge.se", force=True)
    assert again.counts == result.counts
    return (
        binary_rows,
        binary_sum,
        _voucher_rows(url),
        partition_checksum(url, again.company_id, FY2024),
    )


@pytest.mark.postgres
def test_binary_copy_equals_csv_copy(
    pg_warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary_rows, binary_sum, csv_rows, csv_sum = _load_both_ways(
        pg_warehouse_url, _sie(EDGE_ROWS), monkeypatch
    )
    assert binary_rows == csv_rows
    assert binary_sum == csv_sum
    amounts = [r[1] for r in binary_rows[: len(EDGE_ROWS)]]
    assert amounts == [D(a).quantize(D("0.01")) for a, _ in EDGE_ROWS]
    quantities = [r[2] for r in binary_rows[: len(EDGE_ROWS)]]
    assert quantities == [
        None if q is None else D(q).quantize(D("0.00000001")) for _, q in EDGE_ROWS
    ]
    assert binary_rows[0][3] == date(2024, 1, 16)
    texts = read_columns(_sie(EDGE_ROWS)).rows.column("text").to_pylist()
    assert [r[4] for r in binary_rows] == texts
    assert '"x"' in texts[0] and "," in texts[0] and "\\" in texts[0]
    assert [r[5] for r in binary_rows[-3:]] == [False, True, False]  # RTRANS twin, TRANS, BTRANS


@pytest.mark.postgres
def test_binary_copy_of_constant_columns(
    pg_warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All-NULL quantity/date and all-empty texts go as constants in the COPY head."""
    data = _sie([("1.00", None), ("-3.50", None)], plain=True)
    source = read_columns(data).rows
    layout = pg_copy._binary_layout(source.select(["quantity", "text", "amount", "kind"]), {})
    assert layout.constants == ("quantity", "text") and layout.fixed == ("amount",)
    binary_rows, binary_sum, csv_rows, csv_sum = _load_both_ways(
        pg_warehouse_url, data, monkeypatch
    )
    assert binary_rows == csv_rows and binary_sum == csv_sum
    assert [(r[1], r[2], r[3], r[4]) for r in binary_rows] == [
        (D("1.00"), None, None, ""),
        (D("-3.50"), None, None, ""),
        (D("2.50"), None, None, ""),
    ]


@pytest.mark.postgres
def test_quantity_beyond_64_bits_falls_back_to_csv(pg_warehouse_url: str) -> None:
    data = _sie([("1.00", BIG_QUANTITY), ("2.00", "1.5")])
    load_sie(data, pg_warehouse_url, file_name="big.se")
    rows = _voucher_rows(pg_warehouse_url)
    assert [r[2] for r in rows[:2]] == [D(BIG_QUANTITY), D("1.50000000")]


def test_fits_binary_spots_wide_decimals() -> None:
    import pyarrow as pa

    q = pa.decimal128(28, 8)
    small = pa.table({"q": pa.array([D("1.5"), None, D("-92233720368.54775807")], q)})
    wide = pa.table({"q": pa.array([D("1.5"), None, D("92233720368.54775808")], q)})
    assert pg_copy._fits_binary(small)
    assert not pg_copy._fits_binary(wide)


def test_mixed_nulls_load_exactly(warehouse_url: str) -> None:
    """Rows with and without quantity/row date (SQLite groups them by null pattern)."""
    data = _sie(EDGE_ROWS)
    result = load_sie(data, warehouse_url, file_name="edge.se")
    expected = read_columns(data).rows
    rows = _voucher_rows(warehouse_url)
    assert [r[0] for r in rows] == expected.column("row_index").to_pylist()
    assert [r[1] for r in rows] == expected.column("amount").to_pylist()
    assert [r[2] for r in rows] == expected.column("quantity").to_pylist()
    assert [r[3] for r in rows] == expected.column("date").to_pylist()
    assert [r[4] for r in rows] == expected.column("text").to_pylist()
    assert [r[5] for r in rows] == expected.column("in_balance").to_pylist()
    assert None in [r[2] for r in rows] and None in [r[3] for r in rows]
    assert {r[2] for r in rows} - {None} and {r[3] for r in rows} - {None}
    again = load_sie(data, warehouse_url, file_name="edge.se", force=True)
    assert again.counts == result.counts
    assert _voucher_rows(warehouse_url) == rows
