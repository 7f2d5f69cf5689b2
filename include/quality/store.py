"""Recording quality runs in ``dq_run`` / ``dq_result`` / ``dq_failing_row``, and reading them.

``record_run`` is the one writer: the checks' runner calls it, and tests (the closing's too)
call it to record a run of their own making. A run is written in one transaction, so a reader
sees a whole run or none of it. Runs are never updated or deleted: rerunning the checks
records a new run, and the newest one (``finished_at``, then ``run_id``) is the one that counts.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from include.quality.partitions import LoadStamp, not_found, partition_stamp
from include.quality.results import (
    MAX_KEPT_ROWS,
    TYPED_ROW_KEYS,
    CheckResult,
    RunStatus,
    detail_json,
    run_status,
)
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A run as stored (``results`` in check order)."""

    run_id: str
    company_id: int
    fiscal_year_start: date
    status: RunStatus
    stamp: LoadStamp
    started_at: datetime
    finished_at: datetime
    triggered_by: str
    results: tuple[CheckResult, ...]
    data_docs_page: str | None = None

    @property
    def failed_error_checks(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.results if r.blocks)

    @property
    def failed_warning_checks(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.results if r.status == "failed" and not r.blocks)

    @property
    def skipped_checks(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.results if r.status == "skipped")


def new_run_id(now: datetime | None = None) -> str:
    """``dq-20261202T014100123456Z-1a2b3c4d``: sorts by time, unique across processes."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"dq-{moment:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def record_run(
    url_or_engine: EngineLike | sa.Connection,
    company_id: int,
    fiscal_year_start: date,
    results: Sequence[CheckResult],
    *,
    stamp: LoadStamp | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    triggered_by: str = "cli",
    gx_version: str | None = None,
    data_docs_page: str | None = None,
    run_id: str | None = None,
) -> RecordedRun:
    """Store one run of checks over a partition; returns it as recorded.

    ``stamp`` is the partition's load stamp the checks saw (read before they ran); None
    reads it now, which is right for a caller that made the results itself (tests).
    Raises PartitionNotFound when the partition does not exist.
    """
    names = [r.name for r in results]
    if len(set(names)) != len(names):
        raise ValueError(f"a check appears twice in one run: {names}")
    finished = finished_at or datetime.now(UTC)
    started = started_at or finished
    run_id = run_id or new_run_id(started)

    def write(conn: sa.Connection) -> RecordedRun:
        nonlocal stamp
        if stamp is None:
            stamp = partition_stamp(conn, company_id, fiscal_year_start)
            if stamp is None:
                raise not_found(company_id, fiscal_year_start)
        status = run_status(results)
        partition = {"company_id": company_id, "fiscal_year_start": fiscal_year_start}
        conn.execute(
            sa.insert(schema.dq_run).values(
                run_id=run_id,
                **partition,
                extract_id=stamp.extract_id,
                extract_loaded_at=stamp.loaded_at,
                subledger_stamp=stamp.subledger_stamp,
                status=status,
                error_count=sum(r.blocks for r in results),
                warning_count=sum(r.status == "failed" and not r.blocks for r in results),
                skipped_count=sum(r.status == "skipped" for r in results),
                started_at=started,
                finished_at=finished,
                triggered_by=triggered_by,
                gx_version=gx_version,
                data_docs_page=data_docs_page,
            )
        )
        checks = [
            {
                "run_id": run_id,
                "check_name": r.name,
                **partition,
                "position": position,
                "severity": r.severity,
                "status": r.status,
                "summary": r.summary,
                "failing_row_count": r.failing_row_count,
            }
            for position, r in enumerate(results)
        ]
        if checks:
            conn.execute(sa.insert(schema.dq_result), checks)
        failing = [
            {
                "run_id": run_id,
                "check_name": r.name,
                "row_number": number,
                **partition,
                **{key: row.get(key) for key in TYPED_ROW_KEYS},
                "detail": detail_json(row),
            }
            for r in results
            for number, row in enumerate(r.failing_rows[:MAX_KEPT_ROWS])
        ]
        if failing:
            conn.execute(sa.insert(schema.dq_failing_row), failing)
        return RecordedRun(
            run_id=run_id,
            company_id=company_id,
            fiscal_year_start=fiscal_year_start,
            status=status,
            stamp=stamp,
            started_at=started,
            finished_at=finished,
            triggered_by=triggered_by,
            results=tuple(results),
            data_docs_page=data_docs_page,
        )

    if isinstance(url_or_engine, sa.Connection):
        return write(url_or_engine)
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            return write(conn)
    finally:
        if owned:
            engine.dispose()


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A stored run without its offending rows (what the gate and the overviews need)."""

    run_id: str
    status: RunStatus
    stamp: LoadStamp
    finished_at: datetime
    triggered_by: str
    failed_error_checks: tuple[str, ...]
    failed_warning_checks: tuple[str, ...]
    skipped_checks: tuple[str, ...]
    data_docs_page: str | None


def latest_run(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> RunSummary | None:
    """The partition's newest recorded run, None if it was never checked."""
    run, res = schema.dq_run, schema.dq_result
    row = conn.execute(
        sa.select(run)
        .where(run.c.company_id == company_id, run.c.fiscal_year_start == fiscal_year_start)
        .order_by(run.c.finished_at.desc(), run.c.run_id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    checks = conn.execute(
        sa.select(res.c.check_name, res.c.severity, res.c.status)
        .where(res.c.run_id == row.run_id)
        .order_by(res.c.position)
    ).all()
    return RunSummary(
        run_id=row.run_id,
        status=row.status,
        stamp=LoadStamp(row.extract_id, row.extract_loaded_at, row.subledger_stamp),
        finished_at=row.finished_at,
        triggered_by=row.triggered_by,
        failed_error_checks=tuple(
            c.check_name for c in checks if c.status == "failed" and c.severity == "error"
        ),
        failed_warning_checks=tuple(
            c.check_name for c in checks if c.status == "failed" and c.severity == "warning"
        ),
        skipped_checks=tuple(c.check_name for c in checks if c.status == "skipped"),
        data_docs_page=row.data_docs_page,
    )
