"""A row's objects: columns of voucher_row, the view voucher_row_object, the migration.

The loader builds ``cost_centre``, ``project`` and ``objects`` column-wise; the
expected values come from the record path (``read_sie``) and ``json.dumps``.
The view must list exactly the objects the reader saw, on both databases, and
migrating a warehouse down to the former table and up again must give back
the same rows.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from include.sie4.bulk import read_columns
from include.sie4.reader import read_sie
from include.warehouse import load_sie, partition_checksum, schema
from include.warehouse.bulk_tables import row_dimensions
from include.warehouse.migrate import downgrade, migrate

D = Decimal
FY2024 = date(2024, 1, 1)
VIEW = sa.table(
    "voucher_row_object",
    sa.column("company_id", sa.Integer),
    sa.column("fiscal_year_start", sa.Date),
    sa.column("row_index", sa.BigInteger),
    sa.column("position", sa.Integer),
    sa.column("dimension", sa.Text),
    sa.column("object_id", sa.Text),
    sa.column("extract_id", sa.Text),
)

# Rows with no object, a cost centre, a project, both, a repeated dimension, other
# dimensions, and ids that JSON must escape (quote, backslash) or keep (non-ASCII).
ROWS = [
    ("5010", "{}", "1000.00"),
    ("5010", '{1 "100"}', "2000.00"),
    ("5010", '{6 "P1"}', "300.00"),
    ("5010", '{1 "200" 6 "P2"}', "400.00"),
    ("5010", '{6 "P3" 1 "300" 1 "301"}', "500.00"),
    ("5010", '{7 "Anna" 20 "x"}', "600.00"),
    ("6110", '{1 "Sk\x94vde \\"C\\"" 6 "a\\b"}', "700.00"),
    ("6110", '{1 "100"}', "-50.00"),
]


def _sie(rows: list[tuple[str, str, str]] = ROWS) -> bytes:
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "Test" 1',
        "#FORMAT PC8",
        "#GEN 20250110",
        "#SIETYP 4",
        "#ORGNR 556000-0002",
        '#FNAMN "Objekt AB"',
        "#RAR 0 20240101 20241231",
        "#DIM 1 Kostnadsst\x84lle",  # cp437, as the file is written
        "#DIM 6 Projekt",
        '#KONTO 1930 "Bank"',
        '#KONTO 5010 "Lokalhyra"',
        '#KONTO 6110 "Kontorsmateriel"',
        '#VER A 1 20240115 "Hyra"',
        "{",
    ]
    total = D(0)
    for account, objects, amount in rows:
        total += D(amount)
        lines.append(f"   #TRANS {account} {objects} {amount}")
    lines += [f"   #TRANS 1930 {{}} {-total}", "}"]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def _expected(data: bytes) -> list[tuple[int, str | None, str | None, str | None]]:
    """(row_index, cost_centre, project, objects) from the record path, rows with objects."""
    doc = read_sie(data)
    expected = []
    row_index = 0
    for voucher in doc.vouchers:
        for row in voucher.rows:
            if row.objects:
                pairs = [list(p) for p in row.objects]
                first = {d: next((o for dd, o in pairs if dd == d), None) for d in ("1", "6")}
                expected.append(
                    (row_index, first["1"], first["6"], json.dumps(pairs, ensure_ascii=False))
                )
            row_index += 1
    return expected


def _select(url: str, stmt: sa.Select) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]
    finally:
        engine.dispose()


def test_columns_and_view_hold_every_object(warehouse_url: str) -> None:
    data = _sie()
    result = load_sie(data, warehouse_url, file_name="objekt.se")
    vr = schema.voucher_row
    got = _select(
        warehouse_url,
        sa.select(vr.c.row_index, vr.c.cost_centre, vr.c.project, vr.c.objects)
        .where(vr.c.objects.is_not(None))
        .order_by(vr.c.row_index),
    )
    assert got == _expected(data)
    assert got[3][1:3] == ("300", "P3")  # the first of a repeated dimension
    assert got[4][1:3] == (None, None)  # other dimensions only
    assert got[5][1:3] == ('Skövde "C"', "a\\b")

    # The view: one row per object, as the reader's row_objects table (the former table).
    reader = read_columns(data).row_objects.to_pylist()
    view = _select(warehouse_url, sa.select(VIEW).order_by(VIEW.c.row_index, VIEW.c.position))
    assert view == [
        (
            result.company_id,
            FY2024,
            o["row_index"],
            o["position"],
            o["dimension"],
            o["object_id"],
            result.extract_id,
        )
        for o in reader
    ]


def test_costs_per_cost_centre_old_and_new_query_agree(warehouse_url: str) -> None:
    load_sie(_sie(), warehouse_url, file_name="objekt.se")
    new = sa.text(
        "SELECT cost_centre, SUM(amount) FROM voucher_row "
        "WHERE in_balance AND account LIKE '5%' AND cost_centre IS NOT NULL "
        "GROUP BY cost_centre ORDER BY cost_centre"
    )
    old = sa.text(  # the query written for the former table, now on the view
        "SELECT o.object_id, SUM(r.amount) FROM voucher_row r "
        "JOIN voucher_row_object o USING (company_id, fiscal_year_start, row_index) "
        "WHERE r.in_balance AND o.dimension = '1' AND r.account LIKE '5%' "
        "GROUP BY o.object_id ORDER BY o.object_id"
    )
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            got_new = [tuple(r) for r in conn.execute(new)]
            got_old = [tuple(r) for r in conn.execute(old)]
    finally:
        engine.dispose()
    scale = 1 if warehouse_url.startswith("postgresql") else D(100)  # raw SQL: öre on SQLite
    assert [(c, D(a) / scale) for c, a in got_new] == [
        ("100", D("2000.00")),
        ("200", D("400.00")),
        ("300", D("500.00")),
    ]
    # The old query counts every dimension-1 object: row 4 has two (300 and 301).
    assert got_old == [*got_new, ("301", got_new[2][1])]


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def own_warehouse_url(request: pytest.FixtureRequest) -> str:
    """A migrated warehouse of this test's own (it migrates it down and up)."""
    if request.param == "sqlite":
        url = str(request.getfixturevalue("sqlite_url"))
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
        migrate(url)
    return url


def test_migrating_down_to_the_table_and_up_again_keeps_every_object(
    own_warehouse_url: str,
) -> None:
    warehouse_url = own_warehouse_url
    data = _sie()
    result = load_sie(data, warehouse_url, file_name="objekt.se")
    before = partition_checksum(warehouse_url, result.company_id, FY2024)
    downgrade(warehouse_url, "0005")  # the revision before 0006
    old_table = sa.table(
        "voucher_row_object",
        *(sa.column(c) for c in ("row_index", "position", "dimension", "object_id")),
    )
    rows = _select(
        warehouse_url, sa.select(old_table).order_by(old_table.c.row_index, old_table.c.position)
    )
    assert rows == [
        (o["row_index"], o["position"], o["dimension"], o["object_id"])
        for o in read_columns(data).row_objects.to_pylist()
    ]
    migrate(warehouse_url)
    assert partition_checksum(warehouse_url, result.company_id, FY2024) == before


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=6)


@settings(deadline=None, max_examples=150)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from(["1", "6", "2", "20"]) | texts, texts), max_size=4),
        max_size=12,
    )
)
def test_row_dimensions_equal_json_dumps(objects_per_row: list[list[tuple[str, str]]]) -> None:
    n = len(objects_per_row)
    flat = [
        (i, p, d, o) for i, pairs in enumerate(objects_per_row) for p, (d, o) in enumerate(pairs)
    ]
    row_objects = pa.table(
        {
            "row_index": pa.array([f[0] for f in flat], pa.int64()),
            "position": pa.array([f[1] for f in flat], pa.int16()),
            "dimension": pa.array([f[2] for f in flat], pa.string()),
            "object_id": pa.array([f[3] for f in flat], pa.string()),
        }
    )
    rows = pa.table({"row_index": pa.array(range(n), pa.int64())})
    got = {k: v.to_pylist() for k, v in row_dimensions(rows, row_objects).items()}

    def first(pairs: list[tuple[str, str]], dimension: str) -> str | None:
        return next((o for d, o in pairs if d == dimension), None)

    assert got == {
        "cost_centre": [first(p, "1") for p in objects_per_row],
        "project": [first(p, "6") for p in objects_per_row],
        "objects": [
            json.dumps([list(x) for x in p], ensure_ascii=False) if p else None
            for p in objects_per_row
        ],
    }
