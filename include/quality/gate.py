"""The quality gate the closing asks before anyone approves: may this partition be closed?

    gate = quality_gate(url, company_id, date(2024, 1, 1))
    if gate.blocks:
        raise SomeError(gate.reason)

It blocks when the partition's latest quality run failed an error-severity check, when the
partition was never checked, and when the latest run was made on another load than the one
the partition holds now (a reload, a force reload of the same file, or new open items): the
checks must have seen the books that will be closed. Warnings and skipped checks do not block.
A partition that does not exist raises PartitionNotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from include.quality.partitions import LoadStamp, PartitionNotFound, not_found, partition_stamp
from include.quality.store import RunSummary, latest_run
from include.warehouse.engine import EngineLike, engine_for

__all__ = ["PartitionNotFound", "QualityGate", "quality_gate"]


@dataclass(frozen=True, slots=True)
class QualityGate:
    company_id: int
    fiscal_year_start: date
    run_id: str | None  # latest dq run of the partition, None if never checked
    status: str | None  # "passed" | "warnings" | "failed" | None
    blocks: bool  # True: any error-severity check failed, or no run since the last load
    reason: str  # a sentence a person reads
    failed_checks: tuple[str, ...]  # names of failed error-severity checks


def _gate(company_id: int, start: date, stamp: LoadStamp, run: RunSummary | None) -> QualityGate:
    def gate(blocks: bool, reason: str) -> QualityGate:
        return QualityGate(
            company_id=company_id,
            fiscal_year_start=start,
            run_id=run.run_id if run else None,
            status=run.status if run else None,
            blocks=blocks,
            reason=reason,
            failed_checks=run.failed_error_checks if run else (),
        )

    if run is None:
        return gate(True, "The books were never checked: run the data quality checks first.")
    changed = stamp.change_since(run.stamp)
    if changed is not None:
        return gate(
            True,
            f"No quality run since the last load: after run {run.run_id}, {changed}; "
            "run the checks again.",
        )
    if run.failed_error_checks:
        names = ", ".join(run.failed_error_checks)
        return gate(True, f"Quality run {run.run_id} failed: {names}.")
    skipped = f" Skipped: {', '.join(run.skipped_checks)}." if run.skipped_checks else ""
    if run.failed_warning_checks:
        names = ", ".join(run.failed_warning_checks)
        return gate(False, f"Quality run {run.run_id} passed, with warnings: {names}.{skipped}")
    return gate(False, f"Quality run {run.run_id} passed every check.{skipped}")


def quality_gate(
    url_or_engine: EngineLike, company_id: int, fiscal_year_start: date
) -> QualityGate:
    """The latest quality run of a partition and whether it blocks the closing."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            stamp = partition_stamp(conn, company_id, fiscal_year_start)
            if stamp is None:
                raise not_found(company_id, fiscal_year_start)
            run = latest_run(conn, company_id, fiscal_year_start)
    finally:
        if owned:
            engine.dispose()
    return _gate(company_id, fiscal_year_start, stamp, run)
