"""The analyst views give the same answers on SQLite and on PostgreSQL.

The same books go into a SQLite and a PostgreSQL warehouse, in the same order: the
fixture files, generated books (include/books), a file of edge amounts, and every
corpus file the reader accepts in lenient mode. Then the same SQL runs on both: every
view, and every example query of docs/warehouse.md. Results are compared as a raw SQL
client sees them (DB-API values, only turned into text: a date, a Decimal, an integer),
not through the warehouse's own column types.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from include.books import generate_books, write_large_sie
from include.sie4 import write_sie
from include.sie4.errors import SieError
from include.warehouse import create_warehouse_engine, load_sie, migrate
from include.warehouse.engine import temporary_schema
from include.warehouse.migrate import current_revision, downgrade, head_revision
from include.warehouse.schema import VIEWS, trial_balance_view
from include.warehouse.types import Kronor, kronor_text

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "sie-corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KRONOR_TEXT = re.compile(r"-?[0-9]+\.[0-9]{2}")

# Amounts at the edges of the text form: signs, less than a krona, zero, many digits.
EDGE_AMOUNTS = {
    "1910": "-0.05",
    "1920": "0.05",
    "1930": "-1.00",
    "1940": "0.00",
    "1950": "-0.99",
    "2010": "-16502155.90",
    "2020": "99999999999.99",
    "2030": "-100.10",
    "2040": "7.00",
}


def _edge_file() -> bytes:
    """No #ORGNR; one file-disagrees #UB, one voucher that does not balance (lenient)."""
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "Test" 1.0',
        "#FORMAT PC8",
        "#GEN 20250110",
        "#SIETYP 4",
        "#FNR EDGE1",
        '#FNAMN "Gränsfall AB"',
        "#RAR 0 20240101 20241231",
        *(f'#KONTO {account} "Konto {account}"' for account in EDGE_AMOUNTS),
        '#KONTO 3740 "Öres- och kronutjämning"',
        *(f"#IB 0 {account} {amount}" for account, amount in EDGE_AMOUNTS.items()),
        "#UB 0 1930 -2.00",  # IB -1.00 and no vouchers: the file disagrees with itself
        '#VER A 1 20240105 "Öresutjämning"',
        "{",
        "   #TRANS 1920 {} -0.37",
        "   #TRANS 3740 {} 0.37",
        "}",
        '#VER A 2 20240106 "Obalanserad"',
        "{",
        "   #TRANS 1950 {} 10.00",
        "   #TRANS 3740 {} -9.99",
        "}",
    ]
    return ("\n".join(lines) + "\n").encode("cp437")


def _book_files(folder: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) in load order: fixtures, generated books, edges, then the corpus."""
    files = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.se"))]
    for company_index, years in ((0, 2), (1, 1)):
        books = generate_books(31, company_index=company_index, years=years)
        for year in books.years:
            start = year.fiscal_year.start
            data = write_sie(books.to_sie(start))
            files.append((f"generated-{company_index}-{start.year}.se", data))
    large = folder / "cost-centres.se"
    write_large_sie(large, seed=5, rows=3000, company_index=2, objects_on_every_row=True)
    files.append((large.name, large.read_bytes()))
    files.append(("edges.se", _edge_file()))
    if CORPUS_DIR.is_dir():  # the corpus test of its own (below) says when it is absent
        files += [
            (p.name, p.read_bytes())
            for p in sorted(CORPUS_DIR.iterdir())
            if p.is_file() and p.name != "MANIFEST.tsv"
        ]
    return files


@dataclass
class Warehouse:
    name: str
    engine: sa.Engine
    loaded: list[str]
    rejected: list[str]

    def raw(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
        """Column names and rows exactly as the DB-API driver returns them (no parameters:
        the SQL goes to the database as written, ``LIKE '5%'`` and all)."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            rows = [tuple(row) for row in cursor.fetchall()]
            cursor.close()
            connection.rollback()
        finally:
            connection.close()
        return names, rows

    def answer(self, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
        """What a SQL client shows: every value as its text (see ``_text``).

        ``company_id`` is a serial number each database hands out in its own way (PostgreSQL's
        sequences have gaps), so it is shown as the company's ``company_key``.
        """
        keys, rows = self.raw(sql)
        company = dict(self.raw("SELECT company_id, company_key FROM company")[1])
        return keys, [
            tuple(
                company[v] if k == "company_id" else _text(v)
                for k, v in zip(keys, row, strict=True)
            )
            for row in rows
        ]


def _load_all(name: str, url: str, files: list[tuple[str, bytes]]) -> Warehouse:
    migrate(url)
    engine = create_warehouse_engine(url)
    warehouse = Warehouse(name, engine, [], [])
    for file_name, data in files:
        try:
            load_sie(data, engine, lenient=True, file_name=file_name)
        except SieError:
            warehouse.rejected.append(file_name)
        else:
            warehouse.loaded.append(file_name)
    return warehouse


@pytest.fixture(scope="module")
def book_files(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes]]:
    return _book_files(tmp_path_factory.mktemp("books"))


@pytest.fixture(scope="module")
def warehouses(
    book_files: list[tuple[str, bytes]],
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Warehouse, Warehouse]]:
    """The same books in a SQLite and a PostgreSQL warehouse."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('views') / 'warehouse.db'}"
    lite = _load_all("sqlite", sqlite_url, book_files)
    with temporary_schema(postgres_url, prefix="views") as pg_url:
        pg = _load_all("postgres", pg_url, book_files)
        try:
            assert (lite.loaded, lite.rejected) == (pg.loaded, pg.rejected)
            yield lite, pg
        finally:
            lite.engine.dispose()
            pg.engine.dispose()


def _text(value: object) -> object:
    """What a SQL client prints: dates and numbers as their text, None as None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date | Decimal | int) and not isinstance(value, bool):
        return str(value)
    raise AssertionError(f"unexpected value {value!r} ({type(value).__name__})")


def _same_answer(
    lite: Warehouse, pg: Warehouse, sql: str, *, ordered: bool
) -> list[tuple[object, ...]]:
    lite_keys, got_lite = lite.answer(sql)
    pg_keys, got_pg = pg.answer(sql)
    assert lite_keys == pg_keys
    if not ordered:  # a view has no order; compare as multisets (collation-neutral)
        got_lite, got_pg = sorted(got_lite, key=repr), sorted(got_pg, key=repr)
    if got_lite != got_pg:
        diff = [(a, b) for a, b in zip(got_lite, got_pg, strict=False) if a != b][:5]
        pytest.fail(
            f"{len(got_lite)} rows on SQLite, {len(got_pg)} on PostgreSQL; first differences "
            f"(sqlite, postgres): {diff}"
        )
    return got_lite


def _money_columns(view: sa.Table) -> list[str]:
    return [c.name for c in view.columns if isinstance(c.type, Kronor)]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("view_name", sorted(VIEWS))
def test_every_view_gives_the_same_rows_on_both(
    warehouses: tuple[Warehouse, Warehouse], view_name: str
) -> None:
    lite, pg = warehouses
    rows = _same_answer(lite, pg, f"SELECT * FROM {view_name}", ordered=False)
    assert len(rows) > 100, "the comparison must cover real books"
    view = VIEWS[view_name]
    keys, _ = lite.raw(f"SELECT * FROM {view_name} LIMIT 0")
    assert keys == [c.name for c in view.columns]  # schema.VIEWS describes the view
    # Raw types: kronor are NUMERIC(18,2) on PostgreSQL and exact text on SQLite,
    # *_ore integers on both, and the two always agree.
    for warehouse, kronor_type in ((lite, str), (pg, Decimal)):
        _, raw = warehouse.raw(f"SELECT * FROM {view_name}")
        for name in _money_columns(view):
            kronor_at, ore_at = keys.index(name), keys.index(f"{name}_ore")
            for row in raw:
                kronor, ore = row[kronor_at], row[ore_at]
                if kronor is None:
                    assert ore is None
                    continue
                assert isinstance(kronor, kronor_type) and type(ore) is int, (name, row)
                assert KRONOR_TEXT.fullmatch(str(kronor)), (name, kronor)
                assert Decimal(kronor) * 100 == ore, (name, row)


def _documented_queries() -> list[tuple[str, str]]:
    """(comment, SQL) of every query in the "Example queries" block of docs/warehouse.md."""
    text = (REPO_ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")
    section = text.split("## Example queries", 1)[1]
    block = section.split("```sql\n", 1)[1].split("```", 1)[0]
    queries = []
    for statement in block.split(";\n"):
        lines = [line for line in statement.strip().splitlines() if line.strip()]
        if lines:
            assert lines[0].startswith("--"), lines
            queries.append((lines[0][2:].strip(), "\n".join(lines[1:])))
    return queries


DOCUMENTED = _documented_queries()
# Queries over the tables alone (lineage) carry load times: not a view answer to compare.
VIEW_QUERIES = [
    (comment, sql)
    for comment, sql in DOCUMENTED
    if re.search(rf"\b(FROM|JOIN)\s+({'|'.join(VIEWS)})\b", sql)
]


def test_the_docs_have_their_example_queries() -> None:
    assert len(DOCUMENTED) >= 8
    assert len(VIEW_QUERIES) == len(DOCUMENTED) - 1  # all but the lineage query
    assert all("/ 100" not in sql for _, sql in DOCUMENTED)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize(("comment", "sql"), VIEW_QUERIES, ids=[c for c, _ in VIEW_QUERIES])
def test_documented_query_gives_the_same_answer_on_both(
    warehouses: tuple[Warehouse, Warehouse], comment: str, sql: str
) -> None:
    lite, pg = warehouses
    rows = _same_answer(lite, pg, sql, ordered="ORDER BY" in sql)
    assert rows, f"{comment}: the test books must give this query something to show"


@pytest.mark.postgres
@pytest.mark.slow
def test_documented_answers_are_the_right_ones(warehouses: tuple[Warehouse, Warehouse]) -> None:
    """Worked out by hand from testbolaget_2024.se and the edge file (the same on both)."""

    def answer(comment_start: str) -> list[tuple[object, ...]]:
        (sql,) = [sql for comment, sql in VIEW_QUERIES if comment.startswith(comment_start)]
        return warehouses[0].answer(sql)[1]

    trial = answer("Trial balance of one company")
    assert trial[1] == ("1930", "Företagskonto", "100000.00", "3900.00", "103900.00", "103900.00")
    disagree = answer("Accounts where the file's own closing balance disagrees")
    assert ("Gränsfall AB", "2024-01-01", "1930", "-1.00", "-2.00") in disagree
    largest = answer("The largest balances first")
    assert [r[0] for r in largest] == ["1930", "2081", "3010", "1510"]  # not 5010: 8000 kr
    assert answer("Result for the year") == [("-1140000",)]
    unbalanced = answer("Vouchers that do not balance")
    assert ("Gränsfall AB", "2024-01-01", "A", "2", "1") in unbalanced
    sheet = answer("Balance sheet by BAS class and group")
    assert [r[:5] for r in sheet] == [
        ("1", "Tillgångar", "15", "Kundfordringar", "7251"),
        ("1", "Tillgångar", "19", "Kassa och bank", "7281"),
        ("2", "Eget kapital och skulder", "20", "Eget kapital", None),
        ("2", "Eget kapital och skulder", "26", "Moms och särskilda punktskatter", None),
    ]


@pytest.mark.postgres
@pytest.mark.slow
def test_edge_amounts_are_exact_text_on_sqlite_and_numeric_on_postgres(
    warehouses: tuple[Warehouse, Warehouse],
) -> None:
    sql = (
        "SELECT account, opening_balance FROM trial_balance "
        "WHERE company_name = 'Gränsfall AB' AND account < '3000'"
    )
    lite, pg = warehouses
    expected = {account: kronor_text(Decimal(a)) for account, a in EDGE_AMOUNTS.items()}
    assert dict(lite.raw(sql)[1]) == expected
    assert {a: str(v) for a, v in pg.raw(sql)[1]} == expected


@pytest.mark.postgres
@pytest.mark.slow
def test_python_readers_get_decimal_kronor_on_both(
    warehouses: tuple[Warehouse, Warehouse],
) -> None:
    tb = trial_balance_view
    stmt = (
        sa.select(tb.c.account, tb.c.opening_balance, tb.c.opening_balance_ore)
        .where(tb.c.company_name == "Gränsfall AB", tb.c.opening_balance == Decimal("-0.05"))
        .order_by(tb.c.account)
    )
    for warehouse in warehouses:
        with warehouse.engine.connect() as conn:
            assert conn.execute(stmt).all() == [("1910", Decimal("-0.05"), -5)]


@pytest.mark.postgres
@pytest.mark.corpus
@pytest.mark.slow
def test_the_corpus_is_part_of_the_comparison(
    corpus_dir: Path, warehouses: tuple[Warehouse, Warehouse]
) -> None:
    lite, _pg = warehouses
    corpus = {p.name for p in corpus_dir.iterdir() if p.name != "MANIFEST.tsv"}
    assert len(corpus & set(lite.loaded)) >= 50


# ------------------------------------------------------------------ migration


def _trial_balance_sample(url: str) -> tuple[list[str], tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(
                "SELECT * FROM trial_balance WHERE account = '1930' ORDER BY fiscal_year_start"
            )
            return list(result.keys()), tuple(result.first() or ())
    finally:
        engine.dispose()


def _down_and_up(url: str) -> None:
    migrate(url)
    load_sie(FIXTURES / "testbolaget_2024.se", url)
    keys, row = _trial_balance_sample(url)
    assert "closing_balance_ore" in keys
    assert _text(row[keys.index("closing_balance")]) == "103900.00"

    downgrade(url, "0005-1")  # the revision before this one, whatever the lead chains it to
    assert current_revision(url) != "0005"
    keys, row = _trial_balance_sample(url)  # the first views again: öre on SQLite
    assert "closing_balance_ore" not in keys
    old = row[keys.index("closing_balance")]
    expected = 10390000 if url.startswith("sqlite") else Decimal("103900.00")
    assert old == expected and type(old) is type(expected)
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert not tables & {"bas_account_class", "bas_account_group"}
        with engine.connect() as conn:
            names = conn.exec_driver_sql("SELECT DISTINCT class_name FROM balance_sheet").all()
        assert {n for (n,) in names} == {"Assets", "Equity and liabilities"}
    finally:
        engine.dispose()

    assert migrate(url) == head_revision()
    keys, row = _trial_balance_sample(url)
    assert _text(row[keys.index("closing_balance")]) == "103900.00"


def test_downgrade_restores_the_previous_views_sqlite(tmp_path: Path) -> None:
    _down_and_up(f"sqlite:///{tmp_path / 'warehouse.db'}")


@pytest.mark.postgres
def test_downgrade_restores_the_previous_views_postgres(pg_schema_url: str) -> None:
    _down_and_up(pg_schema_url)


# ---------------------------------------------------------------- BAS names


def test_bas_names_are_seeded(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            classes = dict(
                conn.exec_driver_sql("SELECT account_class, name FROM bas_account_class").all()
            )
            groups = dict(
                conn.exec_driver_sql("SELECT account_group, name FROM bas_account_group").all()
            )
    finally:
        engine.dispose()
    assert sorted(classes) == list("12345678")
    assert classes["1"] == "Tillgångar"
    assert classes["8"] == "Finansiella och andra inkomster/intäkter och utgifter/kostnader"
    assert sorted(groups) == [str(n) for n in range(10, 90)]
    assert groups["10"] == "Immateriella anläggningstillgångar"
    assert groups["19"] == "Kassa och bank"
    assert groups["20"] == "Eget kapital"
    assert groups["89"] == "Skatter och årets resultat"


# ------------------------------------------------------------- kronor as text


def _migration_0005() -> ModuleType:
    path = REPO_ROOT / "include/warehouse/migrations/versions/0005_views_in_kronor.py"
    spec = importlib.util.spec_from_file_location("_migration_0005_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SQLITE_KRONOR = _migration_0005()._SQLITE.kronor("x")  # the SQL the views use


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**18) + 1, max_value=10**18 - 1))
def test_sqlite_view_text_is_kronor_text(ore: int) -> None:
    with sqlite3.connect(":memory:") as conn:
        (text,) = conn.execute(f"SELECT {SQLITE_KRONOR} FROM (SELECT ? AS x)", (ore,)).fetchone()
    assert text == kronor_text(Decimal(ore) / 100)
    assert Decimal(text) * 100 == ore


def test_sqlite_view_text_of_null_is_null() -> None:
    with sqlite3.connect(":memory:") as conn:
        assert conn.execute(f"SELECT {SQLITE_KRONOR} FROM (SELECT NULL AS x)").fetchone() == (None,)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0"), "0.00"),
        (Decimal("-0.00"), "0.00"),
        (Decimal("-0.05"), "-0.05"),
        (Decimal("0.5"), "0.50"),
        (Decimal("-16502155.90"), "-16502155.90"),
        (7, "7.00"),
        ("-1234.56", "-1234.56"),
    ],
)
def test_kronor_text(amount: object, text: str) -> None:
    assert kronor_text(amount) == text


def test_kronor_text_refuses_floats_and_fractions_of_ore() -> None:
    with pytest.raises(TypeError, match="float"):
        kronor_text(0.1)
    with pytest.raises(ValueError, match="more than 2 decimals"):
        kronor_text(Decimal("1.005"))


def test_kronor_type_on_sqlite_reads_text_and_refuses_numbers() -> None:
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as conn:

            def read(sql_literal: str) -> object:
                column = sa.literal_column(sql_literal, Kronor)
                return conn.execute(sa.select(column)).scalar_one()

            assert read("'-16502155.90'") == Decimal("-16502155.90")
            assert read("'0.00'") == Decimal("0.00")
            # Not the views' text; öre or kronor, nobody can tell; a float: none is read.
            for wrong in ("'12'", "'1.5'", "'1,50'", "1650215590", "0.5"):
                with pytest.raises(TypeError, match="not exact text"):
                    read(wrong)
            bound = conn.execute(
                sa.select(sa.literal(Decimal("-0.5"), Kronor) == sa.literal_column("'-0.50'"))
            ).scalar_one()
            assert bound == 1  # a Decimal is bound as the view's text
    finally:
        engine.dispose()
