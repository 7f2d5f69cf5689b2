"""The closing's quality gate: blocks on a failed error check and on a run older than the load."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from include.quality.gate import PartitionNotFound, QualityGate, quality_gate
from include.quality.testing import record_checks
from include.warehouse import schema
from include.warehouse.loader import load_sie

Books = tuple[bytes, dict[str, list[dict[str, Any]]]]


def _load(url: str, books: Books, **kwargs: Any) -> tuple[int, date]:
    data, open_items = books
    result = load_sie(data, url, file_name="books.se", open_items=open_items, **kwargs)
    return result.company_id, result.fiscal_year_start


def test_never_checked_blocks(warehouse_url: str, good_books: Books) -> None:
    company_id, start = _load(warehouse_url, good_books)
    gate = quality_gate(warehouse_url, company_id, start)
    assert gate == QualityGate(
        company_id=company_id,
        fiscal_year_start=start,
        run_id=None,
        status=None,
        blocks=True,
        reason=gate.reason,
        failed_checks=(),
    )
    assert "never checked" in gate.reason


def test_passed_and_warnings_open_the_gate_errors_block(
    warehouse_url: str, good_books: Books
) -> None:
    company_id, start = _load(warehouse_url, good_books)

    passed = record_checks(warehouse_url, company_id, start, passed=("voucher_balances", "ksumma"))
    gate = quality_gate(warehouse_url, company_id, start)
    assert (gate.run_id, gate.status, gate.blocks, gate.failed_checks) == (
        passed.run_id,
        "passed",
        False,
        (),
    )

    warned = record_checks(warehouse_url, company_id, start, warnings=("voucher_number_gaps",))
    gate = quality_gate(warehouse_url, company_id, start)
    assert (gate.run_id, gate.status, gate.blocks) == (warned.run_id, "warnings", False)
    assert "voucher_number_gaps" in gate.reason

    failed = record_checks(
        warehouse_url,
        company_id,
        start,
        failed=("voucher_balances", "ar_reconciliation"),
        warnings=("ksumma",),
    )
    gate = quality_gate(warehouse_url, company_id, start)
    assert (gate.run_id, gate.status, gate.blocks) == (failed.run_id, "failed", True)
    assert gate.failed_checks == ("voucher_balances", "ar_reconciliation")  # not the warning
    assert "voucher_balances, ar_reconciliation" in gate.reason

    # The newest run counts: a clean rerun opens the gate again.
    again = record_checks(warehouse_url, company_id, start)
    gate = quality_gate(warehouse_url, company_id, start)
    assert (gate.run_id, gate.blocks) == (again.run_id, False)


def test_a_reload_of_other_books_blocks_until_checked_again(
    warehouse_url: str, good_books: Books
) -> None:
    from include.quality.testing import books_with_open_items, sie_bytes

    company_id, start = _load(warehouse_url, good_books)
    record_checks(warehouse_url, company_id, start)
    assert not quality_gate(warehouse_url, company_id, start).blocks

    doc, open_items = books_with_open_items(seed=7, vouchers_per_year=61)  # same company, new books
    other = (sie_bytes(doc), open_items)
    assert _load(warehouse_url, other) == (company_id, start)
    gate = quality_gate(warehouse_url, company_id, start)
    assert gate.blocks and gate.status == "passed"  # the old run passed, but on other books
    assert "No quality run since the last load" in gate.reason
    assert "reloaded from extract" in gate.reason

    record_checks(warehouse_url, company_id, start)
    assert not quality_gate(warehouse_url, company_id, start).blocks


def test_a_force_reload_of_the_same_file_counts_as_a_new_load(
    warehouse_url: str, good_books: Books
) -> None:
    company_id, start = _load(warehouse_url, good_books)
    record_checks(warehouse_url, company_id, start)
    data, open_items = good_books
    same = load_sie(data, warehouse_url, file_name="books.se", open_items=open_items)
    assert same.skipped  # the same extract again changes nothing: the run still holds
    assert not quality_gate(warehouse_url, company_id, start).blocks

    _load(warehouse_url, good_books, force=True)
    gate = quality_gate(warehouse_url, company_id, start)
    assert gate.blocks and "loaded again" in gate.reason


def test_new_open_items_with_the_same_books_block(warehouse_url: str, good_books: Books) -> None:
    data, open_items = good_books
    company_id, start = _load(warehouse_url, good_books)
    record_checks(warehouse_url, company_id, start)

    # A new Fortnox extract of unchanged books with other open items: the partition is
    # replaced under the new extract (books and open items share one lineage).
    fewer = {"ar": open_items["ar"][1:], "ap": open_items["ap"]}
    result = load_sie(data, warehouse_url, file_name="books.se", extract_id="x2", open_items=fewer)
    assert not result.skipped and result.extract_id == "x2"
    gate = quality_gate(warehouse_url, company_id, start)
    assert gate.blocks, gate.reason
    print(gate.reason)


def test_a_run_records_the_load_it_saw_not_the_load_at_recording_time(
    warehouse_url: str, good_books: Books
) -> None:
    """A load that commits while the checks run makes their run stale."""
    from include.quality.partitions import partition_stamp
    from include.quality.store import record_run
    from include.warehouse.engine import create_warehouse_engine

    company_id, start = _load(warehouse_url, good_books)
    engine = create_warehouse_engine(warehouse_url)
    with engine.connect() as conn:
        seen = partition_stamp(conn, company_id, start)
    engine.dispose()
    assert seen is not None
    _load(warehouse_url, good_books, force=True)  # commits "during the checks"
    record_run(warehouse_url, company_id, start, [], stamp=seen)
    assert quality_gate(warehouse_url, company_id, start).blocks


def test_unknown_partition_is_an_error_naming_it(warehouse_url: str, good_books: Books) -> None:
    company_id, _ = _load(warehouse_url, good_books)
    with pytest.raises(PartitionNotFound, match="fiscal year 1999-01-01"):
        quality_gate(warehouse_url, company_id, date(1999, 1, 1))
    with pytest.raises(PartitionNotFound):
        record_checks(warehouse_url, company_id, date(1999, 1, 1))


def test_recorded_run_keeps_its_rows_for_analysts(warehouse_url: str, good_books: Books) -> None:
    company_id, start = _load(warehouse_url, good_books)
    run = record_checks(warehouse_url, company_id, start, failed=("voucher_balances",))
    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.dq_run).where(schema.dq_run.c.run_id == run.run_id))
        row = stored.one()
        failing = conn.execute(sa.select(schema.dq_failing_row)).one()
    engine.dispose()
    assert (row.status, row.error_count, row.warning_count, row.skipped_count) == (
        "failed",
        1,
        0,
        0,
    )
    assert (failing.check_name, str(failing.difference)) == ("voucher_balances", "1.00")
