"""The approval record: who approved (or rejected) which exact voucher set, when and how.

    approval = record_approval(url, company_id, start, decided_by="anna", via="cli")
    approval = get_approval(url, approval.approval_id)
    voucher_set = approved_voucher_set(url, approval.approval_id)   # the export's check

An approval stores the checksum of the voucher set it was given for (attachments' bytes
included) and a JSON snapshot of it. :func:`approved_voucher_set` gives the export the set to
send only while the partition's current set still has that checksum: a voucher, row,
amount, date or attachment byte changed after the approval refuses the export.

``record_approval`` is the one writer. It does not ask the quality gate or Fortnox: the
closing DAG and ``python -m include.closing approve`` do that first (``include.closing.closing``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, Literal

import sqlalchemy as sa

from include.closing.models import VoucherSet
from include.closing.store import (
    current_voucher_set,
    lock_partition,
    now_utc,
    read_voucher_set,
)
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

ApprovalState = Literal["approved", "rejected"]
Channel = Literal["ui", "cli"]

ap = schema.approval


class ApprovalError(RuntimeError):
    """An approval cannot be recorded or used; the message says why, for a person."""


class ApprovalNotFound(ApprovalError, LookupError):
    pass


class VoucherSetChanged(ApprovalError):
    """The partition's voucher set is no longer the one decided on (its checksum differs)."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class AlreadyApproved(ApprovalError):
    """The exact set is approved already (by another run or command): nothing new to approve."""

    def __init__(self, message: str, *, approval: Approval) -> None:
        super().__init__(message)
        self.approval = approval


class NotApproved(ApprovalError):
    """The approval is a rejection: nothing may be exported."""


@dataclass(frozen=True, slots=True)
class Approval:
    approval_id: str
    company_id: int
    fiscal_year_start: date
    state: ApprovalState
    decided_by: str
    decided_at: datetime
    via: Channel
    comment: str
    checksum: str
    voucher_count: int
    dag_run_id: str | None

    @property
    def approved(self) -> bool:
        return self.state == "approved"


def new_approval_id(now: datetime | None = None) -> str:
    """``apr-20261202T014100123456Z-1a2b3c4d``: sorts by time, unique across processes."""
    moment = (now or now_utc()).astimezone(UTC)
    return f"apr-{moment:%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(4)}"


def _aware(moment: datetime) -> datetime:
    # SQLite gives back the stored UTC time without its zone; PostgreSQL an aware time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _approval(row: Any) -> Approval:
    return Approval(
        approval_id=row.approval_id,
        company_id=int(row.company_id),
        fiscal_year_start=row.fiscal_year_start,
        state=row.state,
        decided_by=row.decided_by,
        decided_at=_aware(row.decided_at),
        via=row.via,
        comment=row.comment,
        checksum=row.checksum,
        voucher_count=int(row.voucher_count),
        dag_run_id=row.dag_run_id,
    )


def record_approval(
    url_or_engine: EngineLike,
    company_id: int,
    fiscal_year_start: date,
    *,
    decided_by: str,
    state: ApprovalState = "approved",
    via: Channel = "cli",
    comment: str = "",
    expected_checksum: str | None = None,
    dag_run_id: str | None = None,
    decided_at: datetime | None = None,
) -> Approval:
    """Record a decision on the partition's current voucher set, in one transaction.

    ``expected_checksum``: the checksum the person saw; the current set must still have it
    (else :class:`VoucherSetChanged`, and nothing is recorded). ``dag_run_id``: a closing DAG
    run records at most one decision; recording again returns the first (a task rerun).
    An empty set cannot be approved.
    """
    if state not in ("approved", "rejected"):
        raise ValueError(f"state must be approved or rejected, not {state!r}")
    if via not in ("ui", "cli"):
        raise ValueError(f"via must be ui or cli, not {via!r}")
    if not decided_by.strip():
        raise ApprovalError("an approval needs the name of the person deciding")
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            lock_partition(conn, company_id, fiscal_year_start)  # one decision at a time
            if dag_run_id is not None:
                existing = conn.execute(sa.select(ap).where(ap.c.dag_run_id == dag_run_id)).first()
                if existing is not None:
                    return _approval(existing)
            voucher_set = read_voucher_set(conn, company_id, fiscal_year_start)
            checksum = voucher_set.checksum()
            if expected_checksum is not None and checksum != expected_checksum:
                raise VoucherSetChanged(
                    f"the voucher set of company {voucher_set.company_key}, fiscal year "
                    f"{fiscal_year_start} changed after it was shown for approval "
                    f"(checksum {expected_checksum[:12]}…, now {checksum[:12]}…): "
                    "run the closing again and approve what it shows",
                    expected=expected_checksum,
                    actual=checksum,
                )
            if state == "approved" and not voucher_set.vouchers:
                raise ApprovalError(
                    f"nothing to approve: company {voucher_set.company_key}, fiscal year "
                    f"{fiscal_year_start} has no accepted adjustments or proposals"
                )
            if state == "approved":
                twin = conn.execute(
                    sa.select(ap).where(
                        ap.c.company_id == company_id,
                        ap.c.fiscal_year_start == fiscal_year_start,
                        ap.c.state == "approved",
                        ap.c.checksum == checksum,
                    )
                ).first()
                if twin is not None:  # a second approval would be a second export of the set
                    raise AlreadyApproved(
                        f"this voucher set of company {voucher_set.company_key}, fiscal year "
                        f"{fiscal_year_start} is approved already: approval {twin.approval_id} "
                        f"by {twin.decided_by}",
                        approval=_approval(twin),
                    )
            values = {
                "approval_id": new_approval_id(),
                "company_id": company_id,
                "fiscal_year_start": fiscal_year_start,
                "state": state,
                "decided_by": decided_by.strip(),
                "decided_at": _aware(decided_at) if decided_at else now_utc(),
                "via": via,
                "comment": comment or "",
                "checksum": checksum,
                "voucher_count": len(voucher_set.vouchers),
                "dag_run_id": dag_run_id,
                "snapshot": voucher_set.snapshot_json(),
                "recorded_at": now_utc(),
            }
            conn.execute(ap.insert().values(**values))
            return _approval(SimpleNamespace(**values))
    finally:
        if owned:
            engine.dispose()


def get_approval(url_or_engine: EngineLike, approval_id: str) -> Approval:
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(ap).where(ap.c.approval_id == approval_id)).first()
    finally:
        if owned:
            engine.dispose()
    if row is None:
        raise ApprovalNotFound(f"no approval {approval_id!r} in the warehouse")
    return _approval(row)


def latest_approval(
    url_or_engine: EngineLike, company_id: int, fiscal_year_start: date
) -> Approval | None:
    """The partition's most recent decision (approval or rejection), None if there is none."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(ap)
                .where(ap.c.company_id == company_id, ap.c.fiscal_year_start == fiscal_year_start)
                .order_by(ap.c.decided_at.desc(), ap.c.approval_id.desc())
                .limit(1)
            ).first()
    finally:
        if owned:
            engine.dispose()
    return _approval(row) if row is not None else None


def check_unchanged(approval: Approval, voucher_set: VoucherSet) -> None:
    """Raise :class:`VoucherSetChanged` unless ``voucher_set`` is exactly what was approved."""
    actual = voucher_set.checksum()
    if actual != approval.checksum:
        raise VoucherSetChanged(
            f"approval {approval.approval_id} was given for another voucher set: company "
            f"{voucher_set.company_key}, fiscal year {approval.fiscal_year_start} now has "
            f"checksum {actual[:12]}…, approved {approval.checksum[:12]}… "
            f"({approval.voucher_count} vouchers approved, {len(voucher_set)} now); "
            "nothing may be exported until the closing is approved again",
            expected=approval.checksum,
            actual=actual,
        )


def approved_voucher_set(url_or_engine: EngineLike, approval_id: str) -> VoucherSet:
    """The set to export for ``approval_id``: refused when rejected or changed since."""
    approval = get_approval(url_or_engine, approval_id)
    if not approval.approved:
        raise NotApproved(
            f"approval {approval_id} is a rejection by {approval.decided_by} "
            f"({approval.decided_at:%Y-%m-%d %H:%M} UTC): nothing may be exported"
        )
    voucher_set = current_voucher_set(
        url_or_engine, approval.company_id, approval.fiscal_year_start
    )
    check_unchanged(approval, voucher_set)
    return voucher_set


def approval_event_extra(url_or_engine: EngineLike, approval: Approval) -> dict[str, Any]:
    """The ``closing_approved`` asset event's extra for an approval."""
    if not approval.approved:
        raise NotApproved(f"approval {approval.approval_id} is a rejection: no approval event")
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            company = conn.execute(
                sa.select(schema.company.c.org_number, schema.company.c.name).where(
                    schema.company.c.company_id == approval.company_id
                )
            ).one()
    finally:
        if owned:
            engine.dispose()
    return {
        "company_id": approval.company_id,
        "org_number": company.org_number,
        "company_name": company.name,
        "fiscal_year_start": approval.fiscal_year_start.isoformat(),
        "approval_id": approval.approval_id,
    }
