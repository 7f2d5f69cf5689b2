"""The analyst views give the same answers on SQLite and on PostgreSQL.

The same books go into a SQLite and a PostgreSQL warehouse, in the same order: the
fixture files, generated books (include/books) with their open items as a Fortnox extract
brings them (one company's short of an invoice each, its control accounts configured), a
file of edge amounts, and every corpus file the reader accepts in lenient mode. Then the
same SQL runs on both: every view, and every example query of docs/warehouse.md. Results
are compared as a raw SQL client sees them (DB-API values, only turned into text: a date,
a Decimal, an integer), not through the warehouse's own column types. The reconciliation
views are also held against the quality checks they mirror.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from include.books import generate_books, write_large_sie
from include.quality.checks import AccountRange
from include.quality.partitions import Partition
from include.quality.results import CheckResult
from include.quality.runner import check_partition, lookup_partition, set_control_ranges
from include.quality.testing import books_with_open_items, open_items_at, sie_bytes
from include.sie4 import write_sie
from include.sie4.errors import SieError
from include.sie4.records import SieDocument
from include.warehouse import create_warehouse_engine, load_sie, migrate
from include.warehouse.engine import temporary_schema
from include.warehouse.migrate import current_revision, downgrade, head_revision
from include.warehouse.partition import SourceKind
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


@dataclass(frozen=True)
class BookFile:
    """A file to load, with what a Fortnox extract brings beside it."""

    name: str
    data: bytes
    open_items: dict[str, list[dict[str, Any]]] | None = None  # None: no subledger
    source_kind: SourceKind = "cli"
    control_ranges: dict[str, list[str]] = field(default_factory=dict)  # set after the load


# Generated company whose subledgers lack an invoice each (the reconciliations fail), and
# whose customer control accounts are configured: overlapping ranges, one without a balance.
DAMAGED_COMPANY = 3
DAMAGED_AR_RANGES = ["1500-1512", "1510-1519", "1580"]


def _book_files(folder: Path) -> list[BookFile]:
    """In load order: fixtures, generated books (with their open items, as from Fortnox),
    edges, then the corpus."""
    files = [BookFile(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.se"))]
    for company_index, years in ((0, 2), (1, 1), (DAMAGED_COMPANY, 1)):
        books = generate_books(31, company_index=company_index, years=years)
        for year in books.years:
            start = year.fiscal_year.start
            open_items = open_items_at(books, year.fiscal_year.end)
            ranges = {}
            if company_index == DAMAGED_COMPANY:
                open_items = {kind: rows[1:] for kind, rows in open_items.items()}
                ranges = {"ar": DAMAGED_AR_RANGES}
            files.append(
                BookFile(
                    f"generated-{company_index}-{start.year}.se",
                    write_sie(books.to_sie(start)),
                    open_items,
                    "fortnox",
                    ranges,
                )
            )
    large = folder / "cost-centres.se"
    write_large_sie(large, seed=5, rows=3000, company_index=2, objects_on_every_row=True)
    files.append(BookFile(large.name, large.read_bytes()))
    files.append(BookFile("edges.se", _edge_file()))
    if CORPUS_DIR.is_dir():  # the corpus test of its own (below) says when it is absent
        files += [
            BookFile(p.name, p.read_bytes())
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


def _load_all(name: str, url: str, files: list[BookFile]) -> Warehouse:
    migrate(url)
    engine = create_warehouse_engine(url)
    warehouse = Warehouse(name, engine, [], [])
    for book in files:
        try:
            result = load_sie(
                book.data,
                engine,
                lenient=True,
                file_name=book.name,
                source_kind=book.source_kind,
                open_items=book.open_items,
            )
        except SieError:
            warehouse.rejected.append(book.name)
            continue
        warehouse.loaded.append(book.name)
        for ledger, ranges in book.control_ranges.items():
            parsed = [AccountRange.parse(r) for r in ranges]
            set_control_ranges(engine, result.company_id, ledger, parsed)
    return warehouse


@pytest.fixture(scope="module")
def book_files(tmp_path_factory: pytest.TempPathFactory) -> list[BookFile]:
    return _book_files(tmp_path_factory.mktemp("books"))


@pytest.fixture(scope="module")
def warehouses(
    book_files: list[BookFile],
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


# Views of one row per partition (company, fiscal year).
PARTITION_VIEWS = {"ar_reconciliation", "ap_reconciliation"}


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
    view = VIEWS[view_name]
    if view_name in PARTITION_VIEWS:
        _, [(partitions,)] = lite.raw("SELECT COUNT(*) FROM fiscal_year WHERE year_index = 0")
        assert len(rows) == partitions  # one row per partition, every partition
        count_at = [c.name for c in view.columns].index("open_item_count")
        counts = [row[count_at] for row in rows]
        assert sum(c is not None for c in counts) == 4  # the generated books, from Fortnox
        assert None in counts  # the other files bring no subledger
    else:
        assert len(rows) > 100, "the comparison must cover real books"
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
    assert answer("Costs per project") == [("P1", "800000")]  # 5010 {1 200 6 P1} 8000.00

    # The generated books reconcile; the damaged company's subledgers lack an invoice each.
    books = generate_books(31, company_index=DAMAGED_COMPANY, years=1)
    org = books.company.org_number
    full = open_items_at(books, books.years[0].fiscal_year.end)
    missing_ar, missing_ap = full["ar"][0]["open_amount"], full["ap"][0]["open_amount"]
    receivables = answer("Receivables against the customer control accounts")
    assert [r[0] for r in receivables].count(org) == 1 and len(receivables) == 4
    for row in receivables:
        if row[0] != org:
            assert row[2] == "1510-1519" and row[3] == row[4] and row[6] == "0.00", row
    (damaged,) = [r for r in receivables if r[0] == org]
    assert damaged[2] == ", ".join(DAMAGED_AR_RANGES)
    assert damaged[5] == str(len(full["ar"]) - 1)
    assert damaged[6] == kronor_text(-missing_ar)  # a receivable short: negative
    payables = answer("Payables in the books' sign")
    for row in payables:
        closing, open_total, owed = (str(v) for v in row[2:5])
        assert closing.startswith("-") and open_total.startswith("-")  # credit, both of them
        assert owed == open_total.replace("-", "").replace(".", "").lstrip("0")
    (damaged,) = [r for r in payables if r[0] == org]
    assert damaged[5] == kronor_text(missing_ap)  # a payable short: positive (books' sign)
    assert sorted(answer("Subledgers that do not reconcile")) == [
        ("ap", books.company.name, "2024-01-01", "2440-2449", str(int(missing_ap * 100))),
        (
            "ar",
            books.company.name,
            "2024-01-01",
            ", ".join(DAMAGED_AR_RANGES),
            str(int(-missing_ar * 100)),
        ),
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


# ------------------------------------------- reconciliation views and the quality checks

OpenItems = dict[str, list[dict[str, Any]]]


def _reconciliation_row(url: str, ledger: str, partition: Partition) -> dict[str, Any]:
    """The view's row of the partition, read through schema.VIEWS (Decimal kronor)."""
    view = VIEWS[f"{ledger}_reconciliation"]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(view).where(
                    view.c.company_id == partition.company_id,
                    view.c.fiscal_year_start == partition.fiscal_year_start,
                )
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)


def _check_and_view(
    url: str, data_root: Path, partition: Partition
) -> dict[str, tuple[CheckResult, dict[str, Any]]]:
    """Each ledger's check result and view row, after a quality run on the partition."""
    run = check_partition(url, data_root, partition, build_docs=False)
    results = {r.name: r for r in run.run.results}
    return {
        ledger: (results[f"{ledger}_reconciliation"], _reconciliation_row(url, ledger, partition))
        for ledger in ("ar", "ap")
    }


def _assert_view_shows_the_check(ledger: str, result: CheckResult, row: dict[str, Any]) -> None:
    """The view's figures are the check's: its status, and its failing row's amounts (the
    check counts payables as positive amounts, the view in the books' sign)."""
    if row["open_item_count"] is None:  # no subledger
        assert result.status == "skipped", result.summary
        assert row["open_items_total"] is row["difference"] is row["difference_ore"] is None
        return
    assert row["difference"] == row["open_items_total"] - row["closing_balance"]
    assert row["difference_ore"] == row["difference"] * 100
    if row["difference"] == 0:
        assert result.status == "passed", result.summary
        return
    assert result.status == "failed", result.summary
    (failing,) = result.failing_rows
    sign = 1 if ledger == "ar" else -1
    assert failing["account"] == row["control_accounts"]
    assert failing["open_items"] == row["open_item_count"]
    assert failing["expected"] == sign * row["closing_balance"]
    assert failing["actual"] == sign * row["open_items_total"]
    assert failing["difference"] == sign * row["difference"]


def _load(
    url: str, doc: SieDocument, open_items: OpenItems | None, source: SourceKind
) -> Partition:
    result = load_sie(
        sie_bytes(doc),
        url,
        file_name="books.se",
        source_kind=source,
        open_items=open_items,
        force=True,  # the same bytes again, from elsewhere: replace the partition all the same
    )
    return lookup_partition(url, result.company_id, result.fiscal_year_start)


def test_reconciliation_views_show_what_the_quality_checks_compute(
    warehouse_url: str, tmp_path: Path
) -> None:
    doc, open_items = books_with_open_items(seed=5, vouchers_per_year=200)
    assert len(open_items["ar"]) == len(open_items["ap"]) == 3  # one can go missing
    missing_ar, missing_ap = open_items["ar"][0], open_items["ap"][0]

    # Reconciled books: difference 0, the checks pass.
    partition = _load(warehouse_url, doc, open_items, "fortnox")
    seen = _check_and_view(warehouse_url, tmp_path, partition)
    for ledger, (result, row) in seen.items():
        _assert_view_shows_the_check(ledger, result, row)
        assert (result.status, row["difference"]) == ("passed", Decimal("0.00"))
        assert row["open_item_count"] == len(open_items[ledger]) > 0
        assert row["control_accounts"] == {"ar": "1510-1519", "ap": "2440-2449"}[ledger]
        assert row["reported_closing_balance"] == row["closing_balance"]
    ar_closing = seen["ar"][1]["closing_balance"]
    assert seen["ar"][1]["open_items_total"] == sum(i["open_amount"] for i in open_items["ar"])
    assert seen["ap"][1]["open_items_total"] == -sum(i["open_amount"] for i in open_items["ap"])
    assert ar_closing > 0 > seen["ap"][1]["closing_balance"]  # debit and credit

    # An invoice removed from each subledger: both fail, with the view's difference.
    short = {"ar": open_items["ar"][1:], "ap": open_items["ap"][1:]}
    partition = _load(warehouse_url, doc, short, "fortnox")
    seen = _check_and_view(warehouse_url, tmp_path, partition)
    for ledger, (result, row) in seen.items():
        _assert_view_shows_the_check(ledger, result, row)
    assert seen["ar"][1]["difference"] == seen["ar"][0].failing_rows[0]["difference"]
    assert seen["ar"][1]["difference"] == -missing_ar["open_amount"]
    assert seen["ap"][1]["difference"] == missing_ap["open_amount"]  # books' sign: debit
    assert seen["ap"][0].failing_rows[0]["difference"] == -missing_ap["open_amount"]

    # The company's own control accounts: overlapping ranges count an account once; a range
    # where the receivables are not leaves them out.
    ranges = [
        AccountRange("1500", "1512"),
        AccountRange("1510", "1519"),
        AccountRange.parse("1580"),
    ]
    set_control_ranges(warehouse_url, partition.company_id, "ar", ranges)
    result, row = _check_and_view(warehouse_url, tmp_path, partition)["ar"]
    _assert_view_shows_the_check("ar", result, row)
    assert (row["control_accounts"], row["first_account"], row["last_account"]) == (
        "1500-1512, 1510-1519, 1580",
        "1500",
        "1580",
    )
    assert row["closing_balance"] == ar_closing
    set_control_ranges(warehouse_url, partition.company_id, "ar", [AccountRange.parse("1519")])
    result, row = _check_and_view(warehouse_url, tmp_path, partition)["ar"]
    _assert_view_shows_the_check("ar", result, row)
    assert (row["control_accounts"], row["closing_balance"]) == ("1519", Decimal("0.00"))
    assert row["difference"] == row["open_items_total"] > 0

    # A Fortnox extract with nothing open: 0 open items, not "no subledger".
    set_control_ranges(warehouse_url, partition.company_id, "ar", [])  # the defaults again
    partition = _load(warehouse_url, doc, {"ar": [], "ap": open_items["ap"]}, "fortnox")
    result, row = _check_and_view(warehouse_url, tmp_path, partition)["ar"]
    _assert_view_shows_the_check("ar", result, row)
    assert (row["open_item_count"], row["open_items_total"]) == (0, Decimal("0.00"))
    assert (result.status, row["difference"]) == ("failed", -ar_closing)

    # Books from a file: no subledger, null open-item columns, the checks skipped.
    partition = _load(warehouse_url, doc, None, "inbox")
    for ledger, (result, row) in _check_and_view(warehouse_url, tmp_path, partition).items():
        _assert_view_shows_the_check(ledger, result, row)
        assert row["open_item_count"] is None and result.status == "skipped"
        assert row["closing_balance"] is not None


def test_reconciliation_defaults_are_the_checks() -> None:
    from include.quality.checks import DEFAULT_AP_RANGES, DEFAULT_AR_RANGES

    defaults = _migration("0010").DEFAULT_RANGES
    assert [AccountRange(*defaults["ar"])] == list(DEFAULT_AR_RANGES)
    assert [AccountRange(*defaults["ap"])] == list(DEFAULT_AP_RANGES)


# ------------------------------------------------------------------ migration


def _migration(revision: str) -> ModuleType:
    """A version file as a module (Alembic loads them by path, not as a package)."""
    (path,) = (REPO_ROOT / "include/warehouse/migrations/versions").glob(f"{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"_migration_{revision}_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_0010_is_a_snapshot_of_0005s_money_and_general_ledger() -> None:
    old, new = _migration("0005"), _migration("0010")
    for dialect, old_money in (("sqlite", old._SQLITE), ("postgresql", old._POSTGRES)):
        new_money = new._money(dialect)
        for part in ("ore", "sum", "kronor"):
            assert getattr(new_money, part)("x") == getattr(old_money, part)("x")
        # What the downgrade restores is 0005's text, byte for byte.
        assert new._general_ledger(new_money, row_objects=False) == old._general_ledger(old_money)
        assert (
            dict(old.views(dialect))["general_ledger"] != dict(new.views(dialect))["general_ledger"]
        )


def _view_definitions(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {name: inspector.get_view_definition(name) for name in inspector.get_view_names()}
    finally:
        engine.dispose()


def _columns(url: str, view: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql(f"SELECT * FROM {view} LIMIT 0").keys())
    finally:
        engine.dispose()


def _reconciliation_down_and_up(url: str) -> None:
    migrate(url, "0010-1")
    before = _view_definitions(url)
    assert "general_ledger" in before and "ar_reconciliation" not in before
    old_columns = _columns(url, "general_ledger")
    assert migrate(url) == head_revision()
    assert _columns(url, "general_ledger") == [*old_columns, "cost_centre", "project"]
    load_sie(FIXTURES / "testbolaget_2024.se", url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            objects = conn.exec_driver_sql(
                "SELECT cost_centre, project FROM general_ledger WHERE account = '5010'"
            ).all()
            (ar,) = conn.exec_driver_sql("SELECT control_accounts FROM ar_reconciliation").all()
    finally:
        engine.dispose()
    assert objects == [("200", "P1")] and ar == ("1510-1519",)

    downgrade(url, "0010-1")
    assert current_revision(url) != "0010"
    assert _view_definitions(url) == before  # 0005's general_ledger, the new views gone
    assert _columns(url, "general_ledger") == old_columns
    assert migrate(url) == head_revision()
    assert {"ar_reconciliation", "ap_reconciliation"} <= set(_view_definitions(url))
    assert _columns(url, "general_ledger")[-2:] == ["cost_centre", "project"]


def test_reconciliation_views_down_and_up_sqlite(tmp_path: Path) -> None:
    _reconciliation_down_and_up(f"sqlite:///{tmp_path / 'warehouse.db'}")


@pytest.mark.postgres
def test_reconciliation_views_down_and_up_postgres(pg_schema_url: str) -> None:
    _reconciliation_down_and_up(pg_schema_url)


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


SQLITE_KRONOR = _migration("0005")._SQLITE.kronor("x")  # the SQL the views use


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
