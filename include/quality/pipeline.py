"""What the ``data_quality`` DAG's tasks do, so that the DAG file only declares them.

- ``partitions_to_check``: the partitions named by the triggering ``warehouse_books`` events
  (by their extract id, which names company and fiscal year even without an org number), or
  by the ``company`` / ``fiscal_year`` params, or all of them. An event that says the books
  did not change is skipped when the partition's latest run was made on its current load.
- ``check_one``: run and record the checks of one partition; ``QualityFailed`` names the
  failed error checks (the DAG turns it into a failed task without retries).
- ``finish``: render the Data Docs of the runs this DAG run recorded, and the note text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from include.quality.partitions import Partition, find_partitions, partition_stamp
from include.quality.store import latest_run
from include.warehouse import schema
from include.warehouse.engine import engine_for


class QualityFailed(Exception):
    """A partition failed error-severity checks (the message names them and their rows)."""


def _item(partition: Partition) -> dict[str, Any]:
    return {
        "company_id": partition.company_id,
        "fiscal_year_start": partition.fiscal_year_start.isoformat(),
        "label": f"{partition.company_name} {partition.fiscal_year_start.isoformat()}",
    }


def partitions_to_check(
    url: str,
    events: Iterable[Mapping[str, Any]] = (),
    *,
    company: str | None = None,
    fiscal_year: str | int | None = None,
) -> list[dict[str, Any]]:
    """Work items (company_id, fiscal_year_start, label) for the mapped check task."""
    events = list(events)
    engine, owned = engine_for(url)
    try:
        with engine.connect() as conn:
            if company is not None or fiscal_year is not None or not events:
                return [_item(p) for p in find_partitions(conn, company, fiscal_year)]
            chosen: dict[tuple[int, date], Partition] = {}
            for event in events:
                partition = _partition_of_event(conn, event)
                if partition is None:
                    continue  # the extract was replaced by a later load: its own event follows
                key = (partition.company_id, partition.fiscal_year_start)
                if key in chosen:
                    continue
                if event.get("changed") is False and _checked_already(conn, partition):
                    continue
                chosen[key] = partition
            return [_item(p) for p in chosen.values()]
    finally:
        if owned:
            engine.dispose()


def _partition_of_event(conn: sa.Connection, event: Mapping[str, Any]) -> Partition | None:
    ex, fy = schema.extract, schema.fiscal_year
    row = conn.execute(
        sa.select(ex.c.company_id, ex.c.fiscal_year_start).where(
            ex.c.extract_id == event.get("extract_id")
        )
    ).one_or_none()
    if row is None:
        return None
    current = conn.scalar(
        sa.select(fy.c.extract_id).where(
            fy.c.company_id == row.company_id,
            fy.c.fiscal_year_start == row.fiscal_year_start,
            fy.c.year_index == 0,
        )
    )
    if current is None:
        return None
    from include.quality.partitions import get_partition

    return get_partition(conn, row.company_id, row.fiscal_year_start)


def _checked_already(conn: sa.Connection, partition: Partition) -> bool:
    stamp = partition_stamp(conn, partition.company_id, partition.fiscal_year_start)
    run = latest_run(conn, partition.company_id, partition.fiscal_year_start)
    return stamp is not None and run is not None and stamp.same_load(run.stamp)


def airflow_trigger(dag_id: str, run_id: str) -> str:
    """``dq_run.triggered_by`` of the runs one DAG run records."""
    return f"airflow:{dag_id}/{run_id}"


def failure_message(run: Any) -> str:
    """The failed error checks of a run, each with its summary (what the task log shows)."""
    lines = [
        f"{run.partition.label}: quality run {run.run.run_id} failed "
        f"{len(run.failed_error_checks)} error check(s): {', '.join(run.failed_error_checks)}"
    ]
    for result in run.run.results:
        if result.blocks:
            lines.append(f"  {result.name}: {result.summary}")
    return "\n".join(lines)


def check_one(
    url: str,
    data_root: Path,
    item: Mapping[str, Any],
    *,
    max_extract_age_days: float = 7.0,
    triggered_by: str,
) -> dict[str, Any]:
    """Check one partition, print the table, raise QualityFailed when an error check failed."""
    from include.quality.cli import format_runs
    from include.quality.runner import check_partition, lookup_partition

    partition = lookup_partition(
        url, int(item["company_id"]), date.fromisoformat(item["fiscal_year_start"])
    )
    run = check_partition(
        url,
        data_root,
        partition,
        max_extract_age=timedelta(days=max_extract_age_days),
        triggered_by=triggered_by,
        build_docs=False,  # once, for the whole DAG run, in its last task
    )
    print(format_runs([run], None))
    if run.failed_error_checks:
        raise QualityFailed(failure_message(run))
    return {
        "label": item["label"],
        "run_id": run.run.run_id,
        "status": run.run.status,
        "warnings": list(run.run.failed_warning_checks),
    }


@dataclass(frozen=True, slots=True)
class Finished:
    """What a DAG run recorded: its runs, the partitions that failed, the note and the docs."""

    runs: int
    failed: tuple[str, ...]  # "<label>: check, check"
    warned: tuple[str, ...]
    note: str
    data_docs: Path | None


def finish(url: str, data_root: Path, triggered_by: str, expected: int) -> Finished:
    """Summarise the runs recorded under ``triggered_by`` and render their Data Docs."""
    run, res, c = schema.dq_run, schema.dq_result, schema.company
    engine, owned = engine_for(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    run.c.run_id,
                    run.c.company_id,
                    run.c.fiscal_year_start,
                    run.c.status,
                    c.c.name,
                    res.c.check_name,
                    res.c.severity,
                    res.c.status.label("check_status"),
                )
                .select_from(
                    run.join(c, c.c.company_id == run.c.company_id).join(
                        res, res.c.run_id == run.c.run_id
                    )
                )
                .where(run.c.triggered_by == triggered_by)
                .order_by(c.c.name, run.c.fiscal_year_start, run.c.finished_at, res.c.position)
            ).all()
    finally:
        if owned:
            engine.dispose()
    # A task cleared and rerun records a second run of its partition: the newest counts.
    latest = {(r.company_id, r.fiscal_year_start): r.run_id for r in rows}
    by_run: dict[str, dict[str, Any]] = {}
    for r in rows:
        if latest[(r.company_id, r.fiscal_year_start)] != r.run_id:
            continue
        entry = by_run.setdefault(
            r.run_id, {"label": f"{r.name} {r.fiscal_year_start}", "errors": [], "warnings": []}
        )
        if r.check_status == "failed":
            entry["errors" if r.severity == "error" else "warnings"].append(r.check_name)
    failed = tuple(
        f"{e['label']}: {', '.join(e['errors'])}" for e in by_run.values() if e["errors"]
    )
    warned = tuple(
        f"{e['label']}: {', '.join(e['warnings'])}" for e in by_run.values() if e["warnings"]
    )
    docs = _render_docs(url, data_root, list(by_run)) if by_run else None
    return Finished(
        len(by_run), failed, warned, note_text(len(by_run), expected, failed, warned), docs
    )


def note_text(runs: int, expected: int, failed: Sequence[str], warned: Sequence[str]) -> str:
    """The DAG run's note (Markdown): failed checks per partition first."""
    lines = [f"**Data quality**: {runs} of {expected} partition(s) checked, {len(failed)} failed."]
    if failed:
        lines.append("")
        lines.append("Failed error checks (these block the closing):")
        lines += [f"- {line}" for line in failed]
    if warned:
        lines.append("")
        lines.append("Warnings:")
        lines += [f"- {line}" for line in warned]
    if runs < expected:
        lines.append("")
        lines.append(f"{expected - runs} partition(s) could not be checked: see their task logs.")
    return "\n".join(lines)


def _render_docs(url: str, data_root: Path, run_ids: Sequence[str]) -> Path:
    from include.quality.gx_suite import build_data_docs, index_page, quality_context, result_keys

    qc = quality_context(url, data_root)
    build_data_docs(qc, result_keys(qc, run_ids))
    return index_page(data_root)


def post_note(credentials: Any, dag_id: str, run_id: str, note: str) -> str:
    """Set the DAG run's note via the REST API; a line for the log either way.

    ``credentials`` (base_url, username, password) come from the ``airflow_api`` connection;
    None means it is not configured. A refused note does not fail the run: the log has it.
    """
    import httpx

    from include.quality.run_note import set_dag_run_note

    if credentials is None:
        return "Run note not set: no airflow_api connection (docs/quality.md)."
    try:
        set_dag_run_note(
            credentials.base_url,
            credentials.username,
            credentials.password,
            dag_id,
            run_id,
            note,
        )
    except httpx.HTTPError as error:
        return f"Run note not set: {type(error).__name__}: {error}"
    return f"Run note set through {credentials.base_url}."
