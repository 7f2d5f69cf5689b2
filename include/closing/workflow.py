"""The closing's steps, shared by the closing DAG and the command line (the same code runs).

    partition, gate = check_gate(url, "556677-8899", "2025-01-01")      # refuses a blocked one
    prepared = prepare_closing(url, "556677-8899", "2025-01-01", client_for=session.client)
    approval = record_decision(url, prepared, approved=True, decided_by="anna", via="ui")

``prepare_closing`` computes the proposals again on the current books (decisions kept), builds
the voucher set, validates it against Fortnox and writes the summary a person approves, with
the set's checksum. ``record_decision`` records the decision only if the set still has that
checksum and the books were not reloaded or found failing since: what is approved is exactly
what was shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from include.closing.approval import Approval, VoucherSetChanged, record_approval
from include.closing.config import ClosingConfig, load_config
from include.closing.proposals import read_proposals, refresh_proposals
from include.closing.store import read_voucher_set, resolve_partition
from include.closing.summary import closing_summary
from include.closing.validation import FortnoxReader, check_voucher_set, fetch_fortnox_facts
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

if TYPE_CHECKING:
    from include.quality.gate import QualityGate
    from include.quality.partitions import Partition

ClientFor = Callable[[str], AbstractContextManager[FortnoxReader]]


class ClosingRefused(RuntimeError):
    """The closing cannot go on; ``problems`` lists every reason, each naming what it is about."""

    def __init__(self, headline: str, problems: Sequence[str] = ()) -> None:
        self.headline = headline
        self.problems = tuple(problems)
        text = headline + "".join(f"\n  - {p}" for p in self.problems)
        super().__init__(text)


@dataclass(frozen=True, slots=True)
class PreparedClosing:
    """What was shown for approval (JSON-able, it travels through XCom)."""

    company_id: int
    company_key: str
    org_number: str | None
    company_name: str
    fiscal_year_start: str  # ISO dates
    fiscal_year_end: str
    fortnox_tenant_id: str
    checksum: str
    voucher_count: int
    load_stamp: dict[str, str | None]
    approvers: list[str]
    subject: str
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreparedClosing:
        return cls(**data)


def _stamp_dict(conn: sa.Connection, partition: Partition) -> dict[str, str | None]:
    from include.quality.partitions import partition_stamp

    stamp = partition_stamp(conn, partition.company_id, partition.fiscal_year_start)
    assert stamp is not None
    return {
        "extract_id": stamp.extract_id,
        "loaded_at": stamp.loaded_at.isoformat(),
        "subledger_stamp": stamp.subledger_stamp,
    }


def _gate(url_or_engine: EngineLike, partition: Partition) -> QualityGate:
    from include.quality.gate import quality_gate

    gate = quality_gate(url_or_engine, partition.company_id, partition.fiscal_year_start)
    if gate.blocks:
        raise ClosingRefused(
            f"The closing of {partition.label} cannot go on: {gate.reason}",
            [f"failed check: {name}" for name in gate.failed_checks],
        )
    return gate


def check_gate(
    url_or_engine: EngineLike, company: str, fiscal_year: str | date
) -> tuple[Partition, QualityGate]:
    """The partition and its quality gate; :class:`ClosingRefused` while the gate blocks."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            partition = resolve_partition(conn, company, fiscal_year)
        return partition, _gate(engine, partition)
    finally:
        if owned:
            engine.dispose()


def _tenant(conn: sa.Connection, partition: Partition) -> str:
    c = schema.company
    tenant = conn.scalar(
        sa.select(c.c.fortnox_tenant_id).where(c.c.company_id == partition.company_id)
    )
    if not tenant:
        raise ClosingRefused(
            f"{partition.label} has no Fortnox connection in the warehouse (its books were not "
            "extracted from Fortnox): connect it and load its books through fortnox_extract"
        )
    return str(tenant)


def prepare_closing(
    url_or_engine: EngineLike,
    company: str,
    fiscal_year: str | date,
    *,
    client_for: ClientFor,
    config: ClosingConfig | None = None,
) -> PreparedClosing:
    """Gate, proposals, voucher set, validation against Fortnox, summary; refuses any problem."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            partition = resolve_partition(conn, company, fiscal_year)
        gate = _gate(engine, partition)
        config = config or load_config((partition.org_number, partition.company_key))
        with engine.begin() as conn:
            refresh_proposals(conn, partition, config)
            start = partition.fiscal_year_start
            voucher_set = read_voucher_set(conn, partition.company_id, start)
            proposals = read_proposals(conn, partition.company_id, start)
            names = _account_names(conn, partition)
            sources = _sources(conn, partition)
            stamp = _stamp_dict(conn, partition)
            tenant = _tenant(conn, partition)
    finally:
        if owned:
            engine.dispose()
    if not voucher_set.vouchers:
        raise ClosingRefused(
            f"Nothing to approve for {partition.label}: import adjustments "
            "(python -m include.closing import) or accept proposals (... propose --accept)"
        )
    with client_for(tenant) as client:
        facts = fetch_fortnox_facts(client, start)
    problems = check_voucher_set(voucher_set, facts, partition.fiscal_year_end)
    if problems:
        raise ClosingRefused(
            f"The voucher set of {partition.label} would be refused by Fortnox or is wrong "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):",
            [str(p) for p in problems],
        )
    title = (
        f"Closing of {partition.company_name} ({partition.org_number or partition.company_key}), "
        f"fiscal year {start.isoformat()} - {partition.fiscal_year_end.isoformat()}"
    )
    summary = closing_summary(
        title=title,
        voucher_set=voucher_set,
        proposals=proposals,
        account_names=names,
        sources=sources,
        gate_reason=gate.reason,
        fortnox=facts.describe(),
    )
    return PreparedClosing(
        company_id=partition.company_id,
        company_key=partition.company_key,
        org_number=partition.org_number,
        company_name=partition.company_name,
        fiscal_year_start=start.isoformat(),
        fiscal_year_end=partition.fiscal_year_end.isoformat(),
        fortnox_tenant_id=tenant,
        checksum=voucher_set.checksum(),
        voucher_count=len(voucher_set),
        load_stamp=stamp,
        approvers=list(config.approvers),
        subject=f"Approve: {title}, {len(voucher_set)} vouchers",
        summary=summary,
    )


def _account_names(conn: sa.Connection, partition: Partition) -> dict[str, str]:
    a = schema.account
    rows = conn.execute(
        sa.select(a.c.account, a.c.name).where(
            a.c.company_id == partition.company_id,
            a.c.fiscal_year_start == partition.fiscal_year_start,
        )
    )
    return {r.account: r.name for r in rows}


def _sources(conn: sa.Connection, partition: Partition) -> dict[str, str]:
    """Where each adjustment came from: ``closing.csv lines 2, 3``."""
    adj = schema.closing_adjustment
    rows = conn.execute(
        sa.select(adj.c.reference, adj.c.source_file, adj.c.source_line)
        .where(
            adj.c.company_id == partition.company_id,
            adj.c.fiscal_year_start == partition.fiscal_year_start,
            adj.c.source_file.is_not(None),
        )
        .order_by(adj.c.reference, adj.c.row_number)
    )
    found: dict[str, tuple[str, list[int]]] = {}
    for r in rows:
        found.setdefault(r.reference, (r.source_file, []))[1].append(r.source_line)
    return {
        ref: f"{name} line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"
        for ref, (name, lines) in found.items()
    }


def record_decision(
    url_or_engine: EngineLike,
    prepared: PreparedClosing,
    *,
    approved: bool,
    decided_by: str,
    via: str,
    comment: str = "",
    dag_run_id: str | None = None,
    decided_at: datetime | None = None,
) -> Approval:
    """Record the decision on what was shown; an approval is refused (and nothing recorded)
    when the set, the books or their quality changed while the person decided."""
    from include.quality.partitions import get_partition

    start = date.fromisoformat(prepared.fiscal_year_start)
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            partition = get_partition(conn, prepared.company_id, start)
            stamp = _stamp_dict(conn, partition)
        if approved:
            if stamp != prepared.load_stamp:
                raise ClosingRefused(
                    f"Not approved: the books of {partition.label} were loaded again while "
                    f"waiting for approval (extract {stamp['extract_id']}, loaded "
                    f"{stamp['loaded_at']}): run the closing again and approve what it shows"
                )
            _gate(engine, partition)
        kwargs: dict[str, Any] = {
            "decided_by": decided_by,
            "state": "approved" if approved else "rejected",
            "via": via,
            "comment": comment,
            "dag_run_id": dag_run_id,
            "decided_at": decided_at,
        }
        try:
            approval = record_approval(
                engine, prepared.company_id, start, expected_checksum=prepared.checksum, **kwargs
            )
        except VoucherSetChanged:
            if approved:
                raise
            # A rejection is kept even when the set changed meanwhile; it says what was shown.
            kwargs["comment"] = (
                f"{comment} (the set shown had checksum {prepared.checksum}; it changed since)"
            ).strip()
            approval = record_approval(engine, prepared.company_id, start, **kwargs)
    finally:
        if owned:
            engine.dispose()
    if approval.state != kwargs["state"]:
        raise ClosingRefused(
            f"This run's decision was recorded already: {approval.state} by "
            f"{approval.decided_by} at {approval.decided_at:%Y-%m-%d %H:%M} UTC "
            f"(approval {approval.approval_id}); a new decision needs a new closing run"
        )
    return approval


def approve_closing(
    url_or_engine: EngineLike,
    company: str,
    fiscal_year: str | date,
    *,
    decided_by: str,
    client_for: ClientFor,
    comment: str = "",
) -> tuple[PreparedClosing, Approval]:
    """The command line's approval: prepare (gate, proposals, Fortnox), then record it."""
    prepared = prepare_closing(url_or_engine, company, fiscal_year, client_for=client_for)
    approval = record_decision(
        url_or_engine, prepared, approved=True, decided_by=decided_by, via="cli", comment=comment
    )
    return prepared, approval


class TaskInstanceLike(Protocol):
    def xcom_pull(self, *, task_ids: str, key: str = ...) -> Any: ...


def record_hitl_decision(
    url_or_engine: EngineLike,
    ti: TaskInstanceLike,
    dag_run_id: str,
    *,
    approved: bool,
    prepared_task_id: str = "build_voucher_set",
    approval_task_id: str = "approve_closing",
) -> Approval:
    """Record what the DAG's approval task answered (who, when, the comment) for its run
    (its XCom ``answer``, see plugins/pipeline/closing.py)."""
    prepared = PreparedClosing.from_dict(ti.xcom_pull(task_ids=prepared_task_id))
    answer = ti.xcom_pull(task_ids=approval_task_id, key="answer") or {}
    chosen = list(answer.get("chosen_options") or [])
    if chosen != (["Approve"] if approved else ["Reject"]):
        raise ClosingRefused(f"The approval task's answer is {chosen or 'missing'}: not recorded")
    user = answer.get("responded_by_user") or {}
    decided_by = str(user.get("name") or user.get("id") or "")
    if not decided_by:
        raise ClosingRefused("The approval task's answer names no user: not recorded")
    responded_at = answer.get("responded_at")
    if isinstance(responded_at, str):
        responded_at = datetime.fromisoformat(responded_at)
    comment = str((answer.get("params_input") or {}).get("comment") or "")
    return record_decision(
        url_or_engine,
        prepared,
        approved=approved,
        decided_by=decided_by,
        via="ui",
        comment=comment,
        dag_run_id=dag_run_id,
        decided_at=responded_at,
    )
