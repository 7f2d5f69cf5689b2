"""The checks on real loads: clean books pass everything; each kind of damage fails exactly the
check that should fail, with the offending rows; checks that cannot apply are skipped."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.quality.checks import CHECK_NAMES, AccountRange
from include.quality.runner import PartitionRun, check_partition, lookup_partition
from include.quality.testing import books_with_open_items, sie_bytes
from include.sie4.records import Balance, BalanceKind, RowKind, SieDocument, Voucher, VoucherRow
from include.warehouse import schema
from include.warehouse.loader import load_sie

OpenItems = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def clean() -> tuple[SieDocument, OpenItems]:
    return books_with_open_items(seed=7)


def load_and_check(
    url: str,
    data_root: Path,
    doc: SieDocument,
    open_items: OpenItems | None,
    *,
    ksumma: str | None = "ok",
    source_kind: str = "fortnox",
    **check_kwargs: Any,
) -> PartitionRun:
    """Load leniently (damaged books load with warnings), record KSUMMA as the loader will,
    and run every check."""
    result = load_sie(
        sie_bytes(doc),
        url,
        lenient=True,
        file_name="books.se",
        source_kind=source_kind,  # type: ignore[arg-type]
        open_items=open_items,
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.extract)
            .where(schema.extract.c.extract_id == result.extract_id)
            .values(ksumma=ksumma)
        )
    engine.dispose()
    partition = lookup_partition(url, result.company_id, result.fiscal_year_start)
    return check_partition(url, data_root, partition, build_docs=False, **check_kwargs)


def statuses(run: PartitionRun) -> dict[str, str]:
    return {r.name: r.status for r in run.run.results}


def failed(run: PartitionRun) -> set[str]:
    return {r.name for r in run.run.results if r.status == "failed"}


def rows_of(run: PartitionRun, name: str) -> list[dict[str, Any]]:
    (result,) = [r for r in run.run.results if r.name == name]
    return [dict(row) for row in result.failing_rows]


def with_balance(doc: SieDocument, kind: BalanceKind, account: str, delta: str) -> SieDocument:
    def change(b: Balance) -> Balance:
        if b.kind is kind and b.year_index == 0 and b.account == account:
            return dataclasses.replace(b, amount=b.amount + Decimal(delta))
        return b

    assert any(b.kind is kind and b.year_index == 0 and b.account == account for b in doc.balances)
    return dataclasses.replace(doc, balances=tuple(change(b) for b in doc.balances))


def with_voucher(doc: SieDocument, index: int, **changes: Any) -> SieDocument:
    vouchers = list(doc.vouchers)
    vouchers[index] = dataclasses.replace(vouchers[index], **changes)
    return dataclasses.replace(doc, vouchers=tuple(vouchers))


def extra_row(voucher: Voucher, account: str, amount: str) -> tuple[VoucherRow, ...]:
    return (*voucher.rows, VoucherRow(RowKind.TRANS, account, (), Decimal(amount)))


def test_clean_books_pass_every_check(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    run = load_and_check(warehouse_url, tmp_path, *clean)
    assert statuses(run) == dict.fromkeys(CHECK_NAMES, "passed")
    assert run.status == "passed"
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(schema.dq_result.c.check_name, schema.dq_result.c.status).where(
                schema.dq_result.c.run_id == run.run.run_id
            )
        ).all()
    engine.dispose()
    assert dict(stored) == dict.fromkeys(CHECK_NAMES, "passed")


def test_unbalanced_voucher_fails_voucher_balances_only(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    voucher = doc.vouchers[3]
    # 2941 is in the chart with no opening or closing balance: only the voucher is wrong.
    damaged = with_voucher(doc, 3, rows=extra_row(voucher, "2941", "125.50"))
    run = load_and_check(warehouse_url, tmp_path, damaged, open_items)
    assert failed(run) == {"voucher_balances"}
    assert run.status == "failed" and run.failed_error_checks == ("voucher_balances",)
    (row,) = rows_of(run, "voucher_balances")
    assert (row["series"], row["number"], row["difference"]) == (
        voucher.series,
        voucher.number,
        Decimal("125.50"),
    )
    assert row["voucher_date"] == voucher.date


def test_tampered_closing_balances_fail_continuity_with_both_accounts(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    # 100.00 moved between two closing balances: the balance sheet still balances.
    damaged = with_balance(
        with_balance(doc, BalanceKind.UB, "1930", "100"), BalanceKind.UB, "1220", "-100"
    )
    run = load_and_check(warehouse_url, tmp_path, damaged, open_items)
    assert failed(run) == {"closing_balance_continuity"}
    rows = {r["account"]: r for r in rows_of(run, "closing_balance_continuity")}
    assert set(rows) == {"1220", "1930"}
    ub = {
        b.account: b.amount for b in doc.balances if b.kind is BalanceKind.UB and b.year_index == 0
    }
    assert rows["1930"]["expected"] == ub["1930"]  # opening + movements: the untampered figure
    assert rows["1930"]["actual"] == ub["1930"] + 100
    assert rows["1930"]["difference"] == Decimal("100.00")
    assert rows["1220"]["difference"] == Decimal("-100.00")


def test_one_tampered_closing_balance_also_unbalances_the_balance_sheet(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    run = load_and_check(
        warehouse_url, tmp_path, with_balance(doc, BalanceKind.UB, "1930", "0.01"), open_items
    )
    assert failed(run) == {"closing_balance_continuity", "balance_sheet_balances"}
    (row,) = rows_of(run, "balance_sheet_balances")
    # assets (expected) are 0.01 more than equity, liabilities and the result (actual)
    assert row["difference"] == Decimal("-0.01")
    assert row["actual"] - row["expected"] == row["difference"]


def test_results_moved_between_accounts_fail_result_matches_res(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    damaged = with_balance(
        with_balance(doc, BalanceKind.RES, "3001", "-40"), BalanceKind.RES, "4010", "40"
    )
    run = load_and_check(warehouse_url, tmp_path, damaged, open_items)
    assert failed(run) == {"result_matches_res"}
    rows = {r["account"]: r for r in rows_of(run, "result_matches_res")}
    assert rows["3001"]["difference"] == Decimal("-40.00")
    assert rows["4010"]["actual"] - rows["4010"]["expected"] == Decimal("40.00")


def test_receivable_missing_from_subledger_fails_ar_reconciliation(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    missing = open_items["ar"][0]
    run = load_and_check(
        warehouse_url, tmp_path, doc, {"ar": open_items["ar"][1:], "ap": open_items["ap"]}
    )
    assert failed(run) == {"ar_reconciliation"}
    (row,) = rows_of(run, "ar_reconciliation")
    assert row["account"] == "1510-1519"
    assert row["difference"] == -missing["open_amount"]
    assert row["actual"] == row["expected"] - missing["open_amount"]


def test_payable_missing_from_subledger_fails_ap_reconciliation(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    missing = open_items["ap"][0]
    run = load_and_check(warehouse_url, tmp_path, doc, {"ar": open_items["ar"], "ap": []})
    assert failed(run) == {"ap_reconciliation"}
    (row,) = rows_of(run, "ap_reconciliation")
    assert (row["expected"], row["actual"]) == (missing["open_amount"], Decimal("0.00"))


def test_voucher_dated_outside_the_year_fails_dates_in_fiscal_year(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    outside = date(2025, 1, 3)
    damaged = with_voucher(doc, 5, date=outside)
    run = load_and_check(warehouse_url, tmp_path, damaged, open_items)
    assert failed(run) == {"dates_in_fiscal_year"}
    (row,) = rows_of(run, "dates_in_fiscal_year")
    assert (row["series"], row["number"], row["voucher_date"]) == (
        doc.vouchers[5].series,
        doc.vouchers[5].number,
        outside,
    )
    assert (row["year_start"], row["year_end"]) == (date(2024, 1, 1), date(2024, 12, 31))


def _last_of_series(doc: SieDocument, series: str) -> int:
    return max(i for i, v in enumerate(doc.vouchers) if v.series == series)


def test_duplicate_voucher_number_fails_unique_voucher_numbers(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    last = _last_of_series(doc, "B")
    previous = str(int(doc.vouchers[last].number) - 1)
    run = load_and_check(
        warehouse_url, tmp_path, with_voucher(doc, last, number=previous), open_items
    )
    assert failed(run) == {"unique_voucher_numbers"}  # the last number: no gap either
    (row,) = rows_of(run, "unique_voucher_numbers")
    assert (row["series"], row["number"], row["voucher_count"]) == ("B", previous, 2)


def test_gap_in_numbering_is_a_warning(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    last = _last_of_series(doc, "C")
    number = int(doc.vouchers[last].number)
    run = load_and_check(
        warehouse_url, tmp_path, with_voucher(doc, last, number=str(number + 3)), open_items
    )
    assert failed(run) == {"voucher_number_gaps"}
    assert run.status == "warnings" and run.failed_error_checks == ()
    (row,) = rows_of(run, "voucher_number_gaps")
    assert (row["series"], row["number"], row["first_missing"], row["last_missing"]) == (
        "C",
        str(number - 1),
        number,
        number + 2,
    )


def test_account_outside_the_chart_fails_accounts_in_chart(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, open_items = clean
    voucher = doc.vouchers[2]
    rows = (
        *extra_row(voucher, "9999", "10.00"),
        VoucherRow(RowKind.TRANS, "2941", (), Decimal("-10.00")),
    )
    run = load_and_check(warehouse_url, tmp_path, with_voucher(doc, 2, rows=rows), open_items)
    assert failed(run) == {"accounts_in_chart"}
    (row,) = rows_of(run, "accounts_in_chart")
    assert (row["account"], row["row_count"], row["amount"]) == ("9999", 1, Decimal("10.00"))
    assert (row["series"], row["number"]) == (voucher.series, voucher.number)


def test_ksumma_absent_is_a_warning_and_unrecorded_is_skipped(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    absent = load_and_check(warehouse_url, tmp_path, *clean, ksumma="absent")
    assert failed(absent) == {"ksumma"} and absent.status == "warnings"
    assert rows_of(absent, "ksumma")[0]["ksumma"] == "absent"
    unknown = load_and_check(warehouse_url, tmp_path, *clean, ksumma=None)
    assert statuses(unknown)["ksumma"] == "skipped"
    (result,) = [r for r in unknown.run.results if r.name == "ksumma"]
    assert "did not record" in result.summary


def test_old_extract_is_a_freshness_warning(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    later = datetime.now(UTC) + timedelta(days=8)
    run = load_and_check(warehouse_url, tmp_path, *clean, now=later)
    assert failed(run) == {"extract_freshness"} and run.status == "warnings"
    (row,) = rows_of(run, "extract_freshness")
    assert row["max_age_days"] == Decimal("7.0") and row["age_days"] >= Decimal("7.9")
    fine = load_and_check(
        warehouse_url, tmp_path, *clean, now=later, max_extract_age=timedelta(days=9)
    )
    assert statuses(fine)["extract_freshness"] == "passed"


def test_files_without_subledger_or_vouchers_skip_what_cannot_apply(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    doc, _ = clean
    inbox = load_and_check(warehouse_url, tmp_path, doc, None, source_kind="inbox")
    assert statuses(inbox)["ar_reconciliation"] == "skipped"
    assert statuses(inbox)["ap_reconciliation"] == "skipped"
    assert inbox.status == "passed"
    (ar,) = [r for r in inbox.run.results if r.name == "ar_reconciliation"]
    assert ar.summary.startswith("skipped: no subledger")

    # SIE 3 books: balances, no vouchers.
    sie3 = dataclasses.replace(doc, sie_type=3, variant=None, vouchers=())
    run = load_and_check(warehouse_url, tmp_path, sie3, None, source_kind="cli")
    skipped = {name for name, status in statuses(run).items() if status == "skipped"}
    assert skipped == {
        "voucher_balances",
        "closing_balance_continuity",
        "result_matches_res",
        "dates_in_fiscal_year",
        "accounts_in_chart",
        "unique_voucher_numbers",
        "voucher_number_gaps",
        "ar_reconciliation",
        "ap_reconciliation",
    }
    assert statuses(run)["balance_sheet_balances"] == "passed"


def test_control_accounts_are_configured_per_company(
    warehouse_url: str, tmp_path: Path, clean: tuple[SieDocument, OpenItems]
) -> None:
    from include.quality.runner import set_control_ranges

    doc, open_items = clean
    first = load_and_check(warehouse_url, tmp_path, doc, open_items)
    company_id = first.partition.company_id
    # Receivables said to be kept on 1519 only: the ledger shows nothing there.
    set_control_ranges(warehouse_url, company_id, "ar", [AccountRange.parse("1519")])
    partition = first.partition
    run = check_partition(warehouse_url, tmp_path, partition, build_docs=False)
    assert failed(run) == {"ar_reconciliation"}
    assert rows_of(run, "ar_reconciliation")[0]["account"] == "1519"
    set_control_ranges(warehouse_url, company_id, "ar", [AccountRange("1500", "1519")])
    assert failed(check_partition(warehouse_url, tmp_path, partition, build_docs=False)) == set()


def test_a_check_that_cannot_run_fails_the_run_and_records_nothing(
    warehouse_url: str,
    tmp_path: Path,
    clean: tuple[SieDocument, OpenItems],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from include.quality import runner
    from include.quality.checks import CHECKS

    broken = dataclasses.replace(CHECKS[0], query=lambda sql, config: "SELECT nope FROM {batch} b")
    monkeypatch.setattr(runner, "CHECKS", (broken, *CHECKS[1:]))
    with pytest.raises(RuntimeError, match="voucher_balances could not run"):
        load_and_check(warehouse_url, tmp_path, *clean)
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.dq_run)) == 0
    engine.dispose()
