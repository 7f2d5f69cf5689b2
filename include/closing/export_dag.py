"""What the ``voucher_export`` DAG's tasks call (no Airflow imports here).

* :func:`approvals_to_export`: the approvals a run exports: the triggering ``closing_approved``
  events' approval ids, or for a manual run the ``approval_id`` given, or the latest decision
  of ``company`` (+ ``fiscal_year``).
* :func:`run_export_task`: one approval, logged a line per step and voucher, then the report;
  raises :class:`ExportNotDone` unless every voucher is sent and verified.
* :func:`approval_label`: the mapped task's label, company name and fiscal year.
* :func:`final_failure`: whether a task's exception is one a retry cannot fix (the DAG turns
  those into ``AirflowFailException``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from include.closing.approval import ApprovalError
from include.closing.export import ExportRefused, ExportReport, export_approval
from include.fortnox.session import FortnoxSession
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for


class ExportNotDone(RuntimeError):
    """The run ended with vouchers not sent, not connected or not verified."""

    def __init__(self, report: ExportReport) -> None:
        self.report = report
        left = [v.reference for v in report.vouchers if not v.ok]
        reason = report.error or f"{len(left)} voucher(s) not done: {', '.join(left)}"
        super().__init__(f"export of {report.approval_id} not complete: {reason}")


def final_failure(exc: BaseException) -> bool:
    """True when running the task again will not help (a person must act first)."""
    if isinstance(exc, ApprovalError | ExportRefused):
        return True
    if isinstance(exc, ExportNotDone):
        return not exc.report.should_retry
    return False


def approvals_to_export(
    warehouse: EngineLike,
    events: Iterable[Mapping[str, Any]],
    *,
    approval_id: str | None = None,
    company: str | None = None,
    fiscal_year: int | None = None,
) -> list[str]:
    """Approval ids in the order to export them, each once."""
    if approval_id:
        return [approval_id]
    if company:
        return [_latest_decision(warehouse, company, fiscal_year)]
    seen: list[str] = []
    for extra in events:
        found = str(extra.get("approval_id") or "")
        if found and found not in seen:  # the same event can arrive twice
            seen.append(found)
    return seen


def _latest_decision(warehouse: EngineLike, company: str, fiscal_year: int | None) -> str:
    from include.quality.partitions import company_ids_named

    ap = schema.approval
    engine, owned = engine_for(warehouse)
    try:
        with engine.connect() as conn:
            ids = company_ids_named(conn, company)
            rows = conn.execute(
                sa.select(ap.c.approval_id, ap.c.fiscal_year_start)
                .where(ap.c.company_id.in_(ids))
                .order_by(ap.c.decided_at.desc(), ap.c.approval_id.desc())
            ).all()
    finally:
        if owned:
            engine.dispose()
    if fiscal_year is not None:
        rows = [r for r in rows if r.fiscal_year_start.year == fiscal_year]
    years = sorted({r.fiscal_year_start for r in rows})
    if not rows:
        year = f", fiscal year {fiscal_year}" if fiscal_year is not None else ""
        raise ExportRefused(f"no approval of company {company!r}{year} in the warehouse")
    if len(years) > 1:
        listed = ", ".join(str(y) for y in years)
        raise ExportRefused(f"company {company!r} has approvals of {listed}: give fiscal_year")
    return str(rows[0].approval_id)


def approval_label(warehouse: EngineLike, approval_id: str) -> str:
    """The export task's label: ``Bergström Bygg AB 2025-01-01`` (the id if not found)."""
    ap, co = schema.approval, schema.company
    engine, owned = engine_for(warehouse)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(co.c.name, ap.c.fiscal_year_start)
                .join(co, co.c.company_id == ap.c.company_id)
                .where(ap.c.approval_id == approval_id)
            ).first()
    except sa.exc.SQLAlchemyError:  # a label never fails the task; the export says why
        row = None
    finally:
        if owned:
            engine.dispose()
    return f"{row.name} {row.fiscal_year_start.isoformat()}" if row else approval_id


def run_export_task(
    warehouse: EngineLike, approval_id: str, session: FortnoxSession, *, retry_failed: bool
) -> dict[str, Any]:
    """Export one approval; print the report; raise :class:`ExportNotDone` unless done."""
    report = export_approval(
        warehouse,
        approval_id,
        session.client,
        say=lambda line: print(line, flush=True),
        retry_failed=retry_failed,
    )
    print(report.text(), flush=True)
    if not report.ok:
        raise ExportNotDone(report)
    return report.to_json()
