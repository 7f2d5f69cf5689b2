"""Loading SIE files: every table, the views, idempotence, atomicity, partitions.

Each test runs on SQLite and on PostgreSQL (``warehouse_url``). Expected
figures are worked out by hand from tests/warehouse/fixtures/testbolaget_2024.se.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.sie4.errors import SieError
from include.warehouse import load_open_items, load_sie, partition_checksum, schema
from include.warehouse.loader import OlderExtractError
from include.warehouse.schema import (
    balance_sheet_view,
    general_ledger_view,
    income_statement_view,
    trial_balance_view,
)

D = Decimal
FY2024 = date(2024, 1, 1)


class Boom(RuntimeError):
    pass


@pytest.fixture
def main_file(fixtures_dir: Path) -> Path:
    return fixtures_dir / "testbolaget_2024.se"


def _rows(url: str, stmt: sa.Select) -> list[sa.Row]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(stmt))
    finally:
        engine.dispose()


def _count(url: str, table: sa.Table) -> int:
    return _rows(url, sa.select(sa.func.count()).select_from(table))[0][0]


def test_load_fills_every_table(warehouse_url: str, main_file: Path) -> None:
    result = load_sie(main_file, warehouse_url, fortnox_tenant_id="8123001")

    assert not result.skipped
    assert result.org_number == "556677-8899"
    assert result.company_name == "Testbolaget i Norr AB"
    assert (result.fiscal_year_start, result.fiscal_year_end) == (FY2024, date(2024, 12, 31))
    assert result.counts == {
        "fiscal_year": 2,
        "account": 7,
        "dimension": 1,
        "object": 2,
        "balance": 13,
        "period_balance": 3,
        "object_balance": 2,
        "voucher": 5,
        "voucher_row": 16,
        "ar_open_item": 0,
        "ap_open_item": 0,
    }
    company = _rows(warehouse_url, sa.select(schema.company))
    assert [(c.company_key, c.org_number, c.name, c.fortnox_tenant_id) for c in company] == [
        ("556677-8899", "556677-8899", "Testbolaget i Norr AB", "8123001")
    ]
    (extract,) = _rows(warehouse_url, sa.select(schema.extract))
    assert extract.extract_id == result.extract_id
    assert extract.sha256 == result.sha256 and len(extract.sha256) == 64
    assert extract.size_bytes == main_file.stat().st_size
    assert (extract.source_kind, extract.file_name, extract.encoding) == (
        "cli",
        "testbolaget_2024.se",
        "cp437",
    )
    assert extract.program == "Fortnox 3.57.11"

    years = _rows(warehouse_url, sa.select(schema.fiscal_year).order_by("year_index"))
    assert [(y.year_index, y.start_date, y.end_date, y.from_file) for y in years] == [
        (-1, date(2023, 1, 1), date(2023, 12, 31), True),
        (0, FY2024, date(2024, 12, 31), True),
    ]
    accounts = {a.account: a for a in _rows(warehouse_url, sa.select(schema.account))}
    assert accounts["1930"].name == "Företagskonto"
    assert (accounts["1930"].account_type, accounts["1930"].sru_code) == ("T", "7281")
    assert accounts["6110"].sru_code is None
    (dim,) = _rows(warehouse_url, sa.select(schema.dimension))
    assert (dim.dimension, dim.name) == ("1", "Kostnadsställe")
    objects = _rows(warehouse_url, sa.select(schema.object_).order_by("object_id"))
    assert [(o.object_id, o.name) for o in objects] == [("100", "Stockholm"), ("200", "Luleå")]

    balances = _rows(warehouse_url, sa.select(schema.balance).order_by("record_index"))
    assert (balances[4].kind, balances[4].year_index, balances[4].account) == ("IB", 0, "1930")
    assert balances[4].amount == D("100000.00")
    assert all(b.is_effective for b in balances)
    assert sum(b.amount for b in balances if b.kind == "RES") == D("-11400.00")
    obal = _rows(warehouse_url, sa.select(schema.object_balance).order_by("record_index"))
    assert [(o.kind, o.dimension, o.object_id, o.amount) for o in obal] == [
        ("OIB", "1", "100", D("5000.00")),
        ("OUB", "1", "100", D("5250.50")),
    ]
    pbal = _rows(warehouse_url, sa.select(schema.period_balance).order_by("record_index"))
    assert [(p.kind, p.period, json.loads(p.objects), p.amount) for p in pbal] == [
        ("PSALDO", "202401", [], D("-10000.00")),
        ("PSALDO", "202401", [["1", "100"]], D("-10000.00")),
        ("PBUDGET", "202401", [], D("-12000.00")),
    ]

    vouchers = _rows(warehouse_url, sa.select(schema.voucher).order_by("voucher_index"))
    assert [(v.series, v.number, v.voucher_date) for v in vouchers] == [
        ("A", "1", date(2024, 1, 15)),
        ("A", "2", date(2024, 2, 10)),
        ("B", "1", date(2024, 3, 1)),
        ("A", "3", date(2024, 3, 20)),
        ("C", "1", date(2024, 4, 15)),
    ]
    assert vouchers[0].registered_on == date(2024, 1, 16)
    assert vouchers[1].registered_on is None

    rows = _rows(warehouse_url, sa.select(schema.voucher_row).order_by("row_index"))
    assert [r.row_index for r in rows] == list(range(16))
    assert rows[1].amount == D("-10000.00") and rows[1].quantity == D("2.5")
    assert sum(r.amount for r in rows if r.in_balance) == 0
    last = rows[10:]
    assert [(r.kind, r.account, r.amount, r.in_balance) for r in last] == [
        ("TRANS", "6110", D("500.00"), True),
        ("TRANS", "1930", D("-500.00"), True),
        ("BTRANS", "6110", D("400.00"), False),
        ("RTRANS", "6110", D("100.00"), False),
        ("TRANS", "6110", D("100.00"), True),
        ("TRANS", "1930", D("-100.00"), True),
    ]
    assert (last[0].row_date, last[0].text) == (date(2024, 4, 14), "Pennor")
    assert last[1].row_date is None
    assert {r.extract_id for r in rows} == {result.extract_id}
    assert [(r.row_index, r.cost_centre, r.project, r.objects) for r in rows if r.objects] == [
        (1, "100", None, '[["1", "100"]]'),
        (5, "200", "P1", '[["1", "200"], ["6", "P1"]]'),
    ]
    # The view voucher_row_object: tests/warehouse/test_warehouse_row_objects.py


EXPECTED_TRIAL_BALANCE = {
    # account: (opening, movements, closing, reported)
    "1510": (D("0"), D("12500.00"), D("12500.00"), D("12500.00")),
    "1930": (D("100000.00"), D("3900.00"), D("103900.00"), D("103900.00")),
    "2081": (D("-100000.00"), D("0"), D("-100000.00"), D("-100000.00")),
    "2610": (D("0"), D("-5000.00"), D("-5000.00"), D("-5000.00")),
    "3010": (D("0"), D("-20000.00"), D("-20000.00"), D("-20000.00")),
    "5010": (D("0"), D("8000.00"), D("8000.00"), D("8000.00")),
    "6110": (D("0"), D("600.00"), D("600.00"), D("600.00")),
}


def test_trial_balance_view(warehouse_url: str, main_file: Path) -> None:
    load_sie(main_file, warehouse_url)
    rows = _rows(warehouse_url, sa.select(trial_balance_view).order_by("account"))
    got = {
        r.account: (r.opening_balance, r.movements, r.closing_balance, r.reported_closing_balance)
        for r in rows
    }
    assert got == EXPECTED_TRIAL_BALANCE
    for value in got.values():
        assert all(isinstance(v, Decimal) for v in value)
    first = rows[0]
    assert (first.org_number, first.company_name) == ("556677-8899", "Testbolaget i Norr AB")
    assert (first.fiscal_year_start, first.fiscal_year_end) == (FY2024, date(2024, 12, 31))
    assert {r.account: r.account_name for r in rows}["1930"] == "Företagskonto"


def test_general_ledger_view(warehouse_url: str, main_file: Path) -> None:
    load_sie(main_file, warehouse_url)
    gl = general_ledger_view
    rows = _rows(
        warehouse_url,
        sa.select(gl).where(gl.c.account == "1930").order_by(gl.c.posting_date, gl.c.row_index),
    )
    assert [
        (r.posting_date, r.series, r.voucher_number, r.amount, r.running_balance) for r in rows
    ] == [
        (date(2024, 2, 10), "A", "2", D("12500.00"), D("112500.00")),
        (date(2024, 3, 1), "B", "1", D("-8000.00"), D("104500.00")),
        (date(2024, 4, 15), "C", "1", D("-500.00"), D("104000.00")),
        (date(2024, 4, 15), "C", "1", D("-100.00"), D("103900.00")),
    ]
    assert {r.opening_balance for r in rows} == {D("100000.00")}
    # 6110: the row date wins over the voucher date; BTRANS and the twinned RTRANS are left out.
    rows = _rows(
        warehouse_url, sa.select(gl).where(gl.c.account == "6110").order_by(gl.c.row_index)
    )
    assert [(r.posting_date, r.text, r.amount, r.running_balance) for r in rows] == [
        (date(2024, 4, 14), "Pennor", D("500.00"), D("500.00")),
        (date(2024, 4, 15), "Kontorsmateriel", D("100.00"), D("600.00")),
    ]
    total = _rows(warehouse_url, sa.select(sa.func.count()).select_from(gl))[0][0]
    assert total == 14  # 16 rows minus one BTRANS and one twinned RTRANS


def test_statement_views(warehouse_url: str, main_file: Path) -> None:
    load_sie(main_file, warehouse_url)
    bs = _rows(warehouse_url, sa.select(balance_sheet_view))
    got_bs = {
        (r.account_class, r.class_name, r.account_group, r.group_name, r.sru_code): (
            r.account_count,
            r.closing_balance,
        )
        for r in bs
    }
    assert got_bs == {
        ("1", "Tillgångar", "15", "Kundfordringar", "7251"): (1, D("12500.00")),
        ("1", "Tillgångar", "19", "Kassa och bank", "7281"): (1, D("103900.00")),
        ("2", "Eget kapital och skulder", "20", "Eget kapital", None): (1, D("-100000.00")),
        ("2", "Eget kapital och skulder", "26", "Moms och särskilda punktskatter", None): (
            1,
            D("-5000.00"),
        ),
    }
    assert {r.company_name for r in bs} == {"Testbolaget i Norr AB"}
    assert {(r.account_class, r.class_name_en) for r in bs} == {
        ("1", "Assets"),
        ("2", "Equity and liabilities"),
    }
    income = _rows(warehouse_url, sa.select(income_statement_view))
    got_is = {(r.account_class, r.account_group, r.sru_code): r.closing_balance for r in income}
    assert got_is == {
        ("3", "30", "7410"): D("-20000.00"),
        ("5", "50", "7513"): D("8000.00"),
        ("6", "61", None): D("600.00"),
    }
    # The result of the year: income statement total equals the change in equity needed.
    assert sum(got_is.values()) == D("-11400.00")


def test_same_file_twice_is_a_no_op_and_force_gives_identical_rows(
    warehouse_url: str, main_file: Path
) -> None:
    first = load_sie(main_file, warehouse_url)
    checksum = partition_checksum(warehouse_url, first.company_id, FY2024)

    again = load_sie(main_file, warehouse_url)
    assert again.skipped
    assert again.counts == first.counts
    assert partition_checksum(warehouse_url, first.company_id, FY2024) == checksum

    forced = load_sie(main_file, warehouse_url, force=True)
    assert not forced.skipped
    assert forced.counts == first.counts
    assert partition_checksum(warehouse_url, first.company_id, FY2024) == checksum
    assert _count(warehouse_url, schema.extract) == 1
    assert _count(warehouse_url, schema.company) == 1


def test_checksum_sees_a_changed_amount(warehouse_url: str, main_file: Path) -> None:
    first = load_sie(main_file, warehouse_url)
    before = partition_checksum(warehouse_url, first.company_id, FY2024)
    changed = main_file.read_bytes().replace(b"#UB 0 1510 12500.00", b"#UB 0 1510 12500.01")
    second = load_sie(changed, warehouse_url, file_name="changed.se")
    assert not second.skipped
    assert partition_checksum(warehouse_url, first.company_id, FY2024) != before


def test_readers_see_the_old_books_until_the_commit(warehouse_url: str, main_file: Path) -> None:
    first = load_sie(main_file, warehouse_url)
    old = partition_checksum(warehouse_url, first.company_id, FY2024)
    changed = main_file.read_bytes().replace(b"Faktura 1", "Faktura 1 (rättad)".encode("cp437"))
    seen: dict[str, str] = {}

    def look(table: str) -> None:  # mid-load, from another connection, without waiting
        seen[table] = partition_checksum(warehouse_url, first.company_id, FY2024)

    load_sie(changed, warehouse_url, file_name="v2.se", after_table=look)

    assert {"account", "balance", "voucher", "voucher_row"} <= set(seen)
    assert set(seen.values()) == {old}  # never a mix, never empty
    assert partition_checksum(warehouse_url, first.company_id, FY2024) != old  # now the new


@pytest.mark.parametrize("fail_after", ["account", "balance", "voucher", "voucher_row"])
def test_failure_half_way_leaves_old_books(
    warehouse_url: str, main_file: Path, fail_after: str
) -> None:
    first = load_sie(main_file, warehouse_url)
    checksum = partition_checksum(warehouse_url, first.company_id, FY2024)
    changed = main_file.read_bytes().replace(b"Faktura 1", "Faktura 1 (rättad)".encode("cp437"))

    def explode(table: str) -> None:
        if table == fail_after:
            raise Boom(table)

    with pytest.raises(Boom):
        load_sie(changed, warehouse_url, file_name="v2.se", after_table=explode)

    assert partition_checksum(warehouse_url, first.company_id, FY2024) == checksum
    extracts = _rows(warehouse_url, sa.select(schema.extract.c.extract_id))
    assert [e.extract_id for e in extracts] == [first.extract_id]
    # and the new version still loads afterwards
    assert not load_sie(changed, warehouse_url, file_name="v2.se").skipped
    assert partition_checksum(warehouse_url, first.company_id, FY2024) != checksum


def test_failure_on_first_load_writes_nothing(warehouse_url: str, main_file: Path) -> None:
    def explode(table: str) -> None:
        raise Boom(table)

    with pytest.raises(Boom):
        load_sie(main_file, warehouse_url, after_table=explode)
    for table in (*schema.PARTITION_TABLES, schema.extract, schema.company):
        assert _count(warehouse_url, table) == 0, table.name


def test_rejected_file_writes_nothing(warehouse_url: str, fixtures_dir: Path) -> None:
    with pytest.raises(SieError) as info:
        load_sie(fixtures_dir / "rejected_bad_amount.se", warehouse_url)
    assert "rejected_bad_amount.se" in str(info.value)
    assert any(e.line == 60 and "12x500.00" in e.message for e in info.value.errors)
    assert _count(warehouse_url, schema.company) == 0
    assert _count(warehouse_url, schema.voucher_row) == 0


def test_second_company_and_second_year_do_not_disturb(
    warehouse_url: str, main_file: Path, fixtures_dir: Path
) -> None:
    first = load_sie(main_file, warehouse_url)
    checksum = partition_checksum(warehouse_url, first.company_id, FY2024)

    year2 = load_sie(fixtures_dir / "testbolaget_2025.se", warehouse_url)
    other = load_sie(fixtures_dir / "annat_bolag_2024.se", warehouse_url)
    assert year2.company_id == first.company_id
    assert year2.fiscal_year_start == date(2025, 1, 1)
    assert other.company_id != first.company_id
    assert (other.org_number, other.fiscal_year_start) == ("559000-1234", date(2024, 7, 1))
    # reloading one partition leaves the others alone
    load_sie(fixtures_dir / "testbolaget_2025.se", warehouse_url, force=True)
    assert partition_checksum(warehouse_url, first.company_id, FY2024) == checksum

    tb = trial_balance_view
    rows = _rows(
        warehouse_url,
        sa.select(tb.c.org_number, tb.c.fiscal_year_start, tb.c.account, tb.c.closing_balance)
        .where(tb.c.account == "1930")
        .order_by(tb.c.org_number, tb.c.fiscal_year_start),
    )
    assert [tuple(r) for r in rows] == [
        ("556677-8899", FY2024, "1930", D("103900.00")),
        ("556677-8899", date(2025, 1, 1), "1930", D("104900.00")),
        ("559000-1234", date(2024, 7, 1), "1930", D("75.25")),
    ]
    assert _count(warehouse_url, schema.company) == 2
    assert _count(warehouse_url, schema.voucher) == 7


def test_file_without_rar_and_orgnr_gets_fallback_keys(warehouse_url: str) -> None:
    data = (
        "#FLAGGA 0\n#PROGRAM Kassa 1.0\n#FORMAT PC8\n#GEN 20240105\n#SIETYP 4\n"
        "#FNR KASSA7\n#FNAMN Kiosken\n#KONTO 1910 Kassa\n#KONTO 3010 Försäljning\n"
        '#VER "" "" 20240103 "Dagskassa"\n{\n#TRANS 1910 {} 99.50\n#TRANS 3010 {} -99.50\n}\n'
    ).encode("cp437")
    result = load_sie(data, warehouse_url, lenient=True, file_name="kassa.si")
    assert result.org_number is None
    assert (result.fiscal_year_start, result.fiscal_year_end) == (FY2024, date(2024, 12, 31))
    assert any("no #RAR 0" in w.message for w in result.warnings)
    (company,) = _rows(warehouse_url, sa.select(schema.company))
    assert company.company_key == "fnr:KASSA7"
    (year,) = _rows(warehouse_url, sa.select(schema.fiscal_year))
    assert not year.from_file


def test_open_items_replace_their_partition(warehouse_url: str, main_file: Path) -> None:
    loaded = load_sie(main_file, warehouse_url)
    item = {
        "invoice_number": "1001",
        "customer_number": "17",
        "customer_name": "Kund AB",
        "invoice_date": "2024-03-20",
        "due_date": date(2024, 4, 19),
        "total": D("12500.00"),
        "open_amount": "12500.00",
        "currency": "SEK",
    }
    keys = {
        "company_id": loaded.company_id,
        "fiscal_year_start": FY2024,
        "extract_id": loaded.extract_id,
    }
    assert (
        load_open_items("ar", [item, {**item, "invoice_number": "1002"}], warehouse_url, **keys)
        == 2
    )
    assert load_open_items("ar", [item], warehouse_url, **keys) == 1
    (row,) = _rows(warehouse_url, sa.select(schema.ar_open_item))
    assert (row.invoice_number, row.open_amount, row.due_date) == (
        "1001",
        D("12500.00"),
        date(2024, 4, 19),
    )

    supplier = {
        "invoice_number": "55",
        "supplier_number": "9",
        "supplier_name": "Hyresvärden AB",
        "invoice_date": date(2024, 3, 1),
        "total": D("8000.00"),
        "open_amount": D("0.00"),
        "currency": "SEK",
    }
    assert load_open_items("ap", [supplier], warehouse_url, **keys) == 1
    with pytest.raises(TypeError, match="float"):
        load_open_items("ap", [{**supplier, "total": 8000.0}], warehouse_url, **keys)
    assert _count(warehouse_url, schema.ap_open_item) == 1  # failed call changed nothing
    with pytest.raises(ValueError, match="missing supplier_name"):
        load_open_items(
            "ap",
            [{k: v for k, v in supplier.items() if k != "supplier_name"}],
            warehouse_url,
            **keys,
        )


def test_same_bytes_under_a_new_extract_id_is_recorded_but_changes_no_books(
    warehouse_url: str, main_file: Path
) -> None:
    first = load_sie(main_file, warehouse_url, source_kind="fortnox", extract_id="fx-1")
    checksum = partition_checksum(warehouse_url, first.company_id, FY2024)
    again = load_sie(main_file, warehouse_url, source_kind="fortnox", extract_id="fx-2")
    assert again.skipped
    assert partition_checksum(warehouse_url, first.company_id, FY2024) == checksum
    ids = _rows(warehouse_url, sa.select(schema.extract.c.extract_id).order_by("extract_id"))
    assert [r.extract_id for r in ids] == ["fx-1", "fx-2"]
    (current,) = _rows(
        warehouse_url,
        sa.select(schema.fiscal_year.c.extract_id).where(schema.fiscal_year.c.year_index == 0),
    )
    assert current.extract_id == "fx-1"  # the books still come from the first extract


def test_file_without_any_year_is_rejected_naming_the_file(warehouse_url: str) -> None:
    data = b"#FLAGGA 0\n#PROGRAM X 1\n#FORMAT PC8\n#SIETYP 4\n#FNAMN Tom\n"
    with pytest.raises(SieError) as info:
        load_sie(data, warehouse_url, lenient=True, file_name="tom.si")
    assert str(info.value).startswith("tom.si: ")
    assert "fiscal year unknown" in str(info.value)
    assert _count(warehouse_url, schema.company) == 0


def _written_on(data: bytes, day: str) -> bytes:
    """The same books with another #GEN date (and so other bytes)."""
    assert data.count(b"#GEN 20250110") == 1
    return data.replace(b"#GEN 20250110", f"#GEN {day}".encode())


def _current_extract(url: str) -> str:
    fy = schema.fiscal_year
    (row,) = _rows(url, sa.select(fy.c.extract_id).where(fy.c.year_index == 0))
    return str(row.extract_id)


def test_older_file_is_refused_unless_forced(warehouse_url: str, main_file: Path) -> None:
    """A file written (#GEN) before the partition's books does not replace them."""
    data = main_file.read_bytes()
    newer = load_sie(_written_on(data, "20250301"), warehouse_url, file_name="march.se")
    checksum = partition_checksum(warehouse_url, newer.company_id, FY2024)

    with pytest.raises(OlderExtractError) as info:
        load_sie(data, warehouse_url, source_kind="inbox", file_name="january.se")
    message = str(info.value)
    assert message.startswith("january.se: not loaded: ")
    assert "2025-01-10" in message and "2025-03-01" in message and "march.se" in message
    assert "force=True (CLI: --force)" in message
    assert partition_checksum(warehouse_url, newer.company_id, FY2024) == checksum
    assert _current_extract(warehouse_url) == newer.extract_id

    # The same day is not older; and force loads an older file anyway.
    same_day = _written_on(data.replace(b"Faktura 1", b"Faktura 1b"), "20250301")
    assert not load_sie(same_day, warehouse_url, file_name="march-b.se").skipped
    forced = load_sie(data, warehouse_url, file_name="january.se", force=True)
    assert not forced.skipped and _current_extract(warehouse_url) == forced.extract_id
    (generated,) = _rows(
        warehouse_url,
        sa.select(schema.extract.c.generated_on).where(
            schema.extract.c.extract_id == forced.extract_id
        ),
    )
    assert generated.generated_on == date(2025, 1, 10)


def test_older_landing_extract_is_refused_unless_forced(
    warehouse_url: str, main_file: Path
) -> None:
    """Landing-zone extracts compare by publish time: an old run cleared later is refused."""
    data = main_file.read_bytes()
    fetched_first, fetched_later = (
        "20250110T080000123456Z-aaaa0001",
        "20250110T090000000001Z-bbbb0002",
    )
    kw = {"source_kind": "fortnox", "file_name": "sie4.se"}
    load_sie(
        data.replace(b"Faktura 1", b"Faktura 1b"), warehouse_url, extract_id=fetched_later, **kw
    )
    with pytest.raises(OlderExtractError, match="fetched from Fortnox 2025-01-10 08:00:00"):
        load_sie(data, warehouse_url, extract_id=fetched_first, **kw)
    assert _current_extract(warehouse_url) == fetched_later
    load_sie(data, warehouse_url, extract_id=fetched_first, force=True, **kw)
    assert _current_extract(warehouse_url) == fetched_first
    # A later extract replaces it again, whatever its #GEN says.
    third = "20250111T070000000000Z-cccc0003"
    load_sie(_written_on(data, "20250105"), warehouse_url, extract_id=third, **kw)
    assert _current_extract(warehouse_url) == third


def test_the_extract_records_the_files_ksumma(warehouse_url: str, main_file: Path) -> None:
    import dataclasses

    from include.sie4 import read_sie, write_sie

    doc = read_sie(main_file)
    plain = load_sie(write_sie(doc), warehouse_url, file_name="plain.se")
    later = dataclasses.replace(doc, generated_on=date(2025, 3, 1))  # newer books, not refused
    signed = load_sie(write_sie(later, ksumma=True), warehouse_url, file_name="signed.se")
    ex = schema.extract
    rows = dict(_rows(warehouse_url, sa.select(ex.c.extract_id, ex.c.ksumma)))
    assert rows[plain.extract_id] == "absent"
    assert rows[signed.extract_id] == "ok"
