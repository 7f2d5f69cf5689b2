"""Run the checks on partitions and record them: what the DAG, the CLI and the demo call.

    runs = run_quality(url, data_root, company="556677-8899", fiscal_year="2024-01-01")
    runs[0].status, runs[0].failed_error_checks

Per partition: read its load stamp and a few counts (which checks apply), run the GX suite
of the applicable checks, turn the unexpected rows into results with exact money, record
the run (``dq_run``, ``dq_result``, ``dq_failing_row``) against the stamp read BEFORE the
checks ran (a load committing meanwhile makes the run stale, so the gate blocks). Then
render the Data Docs pages of the new runs and rebuild the site's index, once for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from include.quality.checks import (
    CHECKS,
    DEFAULT_AP_RANGES,
    DEFAULT_AR_RANGES,
    DEFAULT_MAX_EXTRACT_AGE,
    AccountRange,
    CheckConfig,
    PartitionFacts,
    freshness_extra,
)
from include.quality.partitions import (
    Partition,
    find_partitions,
    get_partition,
    not_found,
    partition_stamp,
)
from include.quality.results import CheckResult
from include.quality.store import RecordedRun, new_run_id, record_run
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PartitionRun:
    """A recorded run with the partition it was made on (what people are shown)."""

    partition: Partition
    run: RecordedRun
    seconds: float
    docs_key: Any = None  # the GX validation result behind its Data Docs page

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def failed_error_checks(self) -> tuple[str, ...]:
        return self.run.failed_error_checks


def control_ranges(
    conn: sa.Connection, company_id: int
) -> tuple[tuple[AccountRange, ...], tuple[AccountRange, ...]]:
    """The company's (ar, ap) control-account ranges; the defaults where none are set."""
    t = schema.dq_control_account
    rows = conn.execute(
        sa.select(t.c.ledger, t.c.first_account, t.c.last_account)
        .where(t.c.company_id == company_id)
        .order_by(t.c.ledger, t.c.first_account)
    ).all()
    ar = tuple(AccountRange(r.first_account, r.last_account) for r in rows if r.ledger == "ar")
    ap = tuple(AccountRange(r.first_account, r.last_account) for r in rows if r.ledger == "ap")
    return ar or DEFAULT_AR_RANGES, ap or DEFAULT_AP_RANGES


def set_control_ranges(
    url_or_engine: EngineLike,
    company_id: int,
    ledger: str,
    ranges: Sequence[AccountRange],
) -> None:
    """Replace a company's control accounts for ``ar`` or ``ap``; empty: the defaults."""
    if ledger not in ("ar", "ap"):
        raise ValueError("ledger must be 'ar' or 'ap'")
    t = schema.dq_control_account
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.company_id == company_id, t.c.ledger == ledger))
            if ranges:
                conn.execute(
                    sa.insert(t),
                    [
                        {
                            "company_id": company_id,
                            "ledger": ledger,
                            "first_account": r.first,
                            "last_account": r.last,
                        }
                        for r in ranges
                    ],
                )
    finally:
        if owned:
            engine.dispose()


def partition_facts(
    conn: sa.Connection, company_id: int, fiscal_year_start: date
) -> PartitionFacts:
    fy, ex, bal = schema.fiscal_year, schema.extract, schema.balance

    def count(table: sa.Table, *where: Any) -> Any:
        return (
            sa.select(sa.func.count())
            .select_from(table)
            .where(
                table.c.company_id == company_id,
                table.c.fiscal_year_start == fiscal_year_start,
                *where,
            )
            .scalar_subquery()
        )

    def balances(kind: str) -> Any:
        return count(bal, bal.c.kind == kind, bal.c.year_index == 0, bal.c.is_effective)

    row = conn.execute(
        sa.select(
            ex.c.sie_type,
            ex.c.source_kind,
            ex.c.file_name,
            ex.c.ksumma,
            count(schema.voucher).label("vouchers"),
            count(schema.account).label("accounts"),
            balances("IB").label("ib"),
            balances("UB").label("ub"),
            balances("RES").label("res"),
            count(schema.ar_open_item).label("ar"),
            count(schema.ap_open_item).label("ap"),
        )
        .select_from(fy.join(ex, ex.c.extract_id == fy.c.extract_id))
        .where(
            fy.c.company_id == company_id,
            fy.c.fiscal_year_start == fiscal_year_start,
            fy.c.year_index == 0,
        )
    ).one_or_none()
    if row is None:
        raise not_found(company_id, fiscal_year_start)
    return PartitionFacts(
        sie_type=int(row.sie_type),
        source_kind=str(row.source_kind),
        file_name=str(row.file_name),
        ksumma=row.ksumma,
        vouchers=int(row.vouchers),
        accounts=int(row.accounts),
        opening_balances=int(row.ib),
        closing_balances=int(row.ub),
        results=int(row.res),
        ar_items=int(row.ar),
        ap_items=int(row.ap),
    )


def check_partition(
    url: str,
    data_root: Path,
    partition: Partition,
    *,
    max_extract_age: timedelta = DEFAULT_MAX_EXTRACT_AGE,
    now: datetime | None = None,
    triggered_by: str = "cli",
    build_docs: bool = True,
) -> PartitionRun:
    """Run every check on one partition and record the run."""
    from include.quality.gx_suite import build_data_docs, page_path, quality_context, run_suite

    started_clock = time.perf_counter()
    started = datetime.now(UTC)
    config = CheckConfig(max_extract_age=max_extract_age, now=now or started)
    engine, owned = engine_for(url)
    try:
        with engine.connect() as conn:
            stamp = partition_stamp(conn, partition.company_id, partition.fiscal_year_start)
            if stamp is None:
                raise not_found(partition.company_id, partition.fiscal_year_start)
            facts = partition_facts(conn, partition.company_id, partition.fiscal_year_start)
            ar, ap = control_ranges(conn, partition.company_id)
        config = replace(config, ar_ranges=ar, ap_ranges=ap)
        skips = {c.name: c.skip_reason(facts) for c in CHECKS}
        applicable = [c for c in CHECKS if skips[c.name] is None]
        run_id = new_run_id(started)
        qc = quality_context(url, data_root)
        suite = run_suite(
            qc,
            company_id=partition.company_id,
            company_key=partition.company_key,
            fiscal_year_start=partition.fiscal_year_start,
            checks=applicable,
            config=config,
            run_name=run_id,
            run_time=started,
        )
        results: list[CheckResult] = []
        for check in CHECKS:
            reason = skips[check.name]
            if reason is not None:
                results.append(check.skipped(reason))
                continue
            rows = suite.rows[check.name]
            extra = freshness_extra(rows, config) if check.name == "extract_freshness" else None
            results.append(check.result(rows, extra))
        page = None
        if suite.result_key is not None:
            page = str(page_path(data_root, suite.result_key))
            if build_docs:
                build_data_docs(qc, [suite.result_key])
        recorded = record_run(
            engine,
            partition.company_id,
            partition.fiscal_year_start,
            results,
            stamp=stamp,
            started_at=started,
            triggered_by=triggered_by,
            gx_version=suite.gx_version,
            data_docs_page=page,
            run_id=run_id,
        )
    finally:
        if owned:
            engine.dispose()
    return PartitionRun(partition, recorded, time.perf_counter() - started_clock, suite.result_key)


def resolve_partitions(
    url: str, company: str | None = None, fiscal_year: str | int | date | None = None
) -> list[Partition]:
    return _read(url, lambda conn: find_partitions(conn, company, fiscal_year))


def lookup_partition(url: str, company_id: int, fiscal_year_start: date) -> Partition:
    return _read(url, lambda conn: get_partition(conn, company_id, fiscal_year_start))


def _read(url: str, query: Callable[[sa.Connection], T]) -> T:
    engine, owned = engine_for(url)
    try:
        with engine.connect() as conn:
            return query(conn)
    finally:
        if owned:
            engine.dispose()


def run_quality(
    url: str,
    data_root: Path,
    *,
    company: str | None = None,
    fiscal_year: str | int | date | None = None,
    max_extract_age: timedelta = DEFAULT_MAX_EXTRACT_AGE,
    now: datetime | None = None,
    triggered_by: str = "cli",
) -> list[PartitionRun]:
    """Check the named partitions (all when neither is given); Data Docs built once."""
    from include.quality.gx_suite import build_data_docs, quality_context

    partitions = resolve_partitions(url, company, fiscal_year)
    runs = [
        check_partition(
            url,
            data_root,
            p,
            max_extract_age=max_extract_age,
            now=now,
            triggered_by=triggered_by,
            build_docs=False,
        )
        for p in partitions
    ]
    keys = [r.docs_key for r in runs if r.docs_key is not None]
    if keys:
        build_data_docs(quality_context(url, data_root), keys)
    return runs
