"""The export against a running sandbox: exactly once, refusals, unknown outcomes, 4xx, 429,
the read-back, approvals that share vouchers, two exporters at once; SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.closing.approval import NotApproved, VoucherSetChanged
from include.closing.export import ExportRefused, ExportReport, compare_voucher, export_approval
from include.closing.export_testing import (
    approve,
    closing_voucher,
    closing_vouchers,
    link_company,
    refused_voucher,
    sandbox_count,
)
from include.closing.fortnox_body import fortnox_voucher_body
from include.closing.models import ClosingRow, ClosingVoucher
from include.closing.outbox import (
    Outbox,
    OutboxConflict,
    OutboxRace,
    fortnox_file_name,
    idempotency_key,
)
from include.closing.store import current_voucher_set
from include.closing.testing import put_voucher_set
from include.fortnox.pacing import NoPacer
from include.fortnox.session import FortnoxSession
from include.fortnox_sandbox.local import connected_sandbox
from include.warehouse import schema
from tests.closing._export_testkit import NO_FAULTS, World, export_world

pytestmark = [pytest.mark.sandbox]

YEAR = date(2025, 1, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with export_world(tmp_path_factory.mktemp("export")) as w:
        yield w


@pytest.fixture
def session(world: World) -> Iterator[FortnoxSession]:
    s = world.session()
    yield s
    s.close()
    world.faults(**NO_FAULTS)


@dataclasses.dataclass
class Closing:
    url: str
    company_id: int
    tenant: dict[str, Any]

    def approve(self, vouchers: tuple[ClosingVoucher, ...], **kw: Any):  # type: ignore[no-untyped-def]
        return approve(self.url, self.company_id, YEAR, vouchers, **kw)

    def tag(self, name: str) -> str:
        """A tag per database: both runs of a test share the sandbox tenant."""
        return f"{name}-{'pg' if self.url.startswith('postgresql') else 'lite'}"

    def keys(self, vouchers: tuple[ClosingVoucher, ...]) -> list[str]:
        voucher_set = current_voucher_set(self.url, self.company_id, YEAR)
        return [idempotency_key(voucher_set, v) for v in vouchers]

    def outbox(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.url)
        with engine.connect() as conn:
            rows = conn.execute(sa.select(schema.export_outbox)).mappings().all()
        engine.dispose()
        return [dict(r) for r in rows]


def _closing(url: str, world: World, index: int) -> Closing:
    tenant = world.tenant(index)
    return Closing(url, link_company(url, tenant), tenant)


@pytest.fixture
def closing(warehouse_url: str, world: World) -> Closing:
    return _closing(warehouse_url, world, 0)


@pytest.fixture
def sqlite_closing(sqlite_url: str, world: World) -> Closing:
    return _closing(sqlite_url, world, 1)


def run(closing: Closing, approval_id: str, session: FortnoxSession, **kw: Any) -> ExportReport:
    lines: list[str] = []
    report = export_approval(
        closing.url, approval_id, session.client, say=lines.append, sleep=lambda s: None, **kw
    )
    print("\n".join(lines))
    return report


def test_sends_each_voucher_once_with_its_file_and_a_rerun_sends_nothing(
    closing: Closing, world: World, session: FortnoxSession
) -> None:
    vouchers = (
        *closing_vouchers(2, tag=closing.tag("happy")),
        closing_voucher(3, tag=closing.tag("happy"), attachment=False),
    )
    approval = closing.approve(vouchers)
    keys = closing.keys(vouchers)

    report = run(closing, approval.approval_id, session)

    assert report.ok, report.text()
    assert [v.reference for v in report.vouchers] == [v.reference for v in vouchers]
    assert report.sent_now == 3
    held = world.count(closing.tenant, keys)
    assert held.duplicates() == []
    assert sorted(held.vouchers) == sorted(keys)  # every voucher, once
    assert len(held.files) == 2 and len(held.connections) == 2
    for line in report.vouchers:
        assert held.vouchers[line.idempotency_key] == [(line.fortnox_series, line.fortnox_number)]
        if line.file_id:
            assert held.connections[line.file_id] == (line.fortnox_series, line.fortnox_number)
    assert [v.file_state for v in report.vouchers] == ["connected", "connected", "none"]
    as_json = report.to_json()
    assert as_json["ok"] is True and len(as_json["vouchers"]) == 3
    assert set(as_json["vouchers"][0]) >= {
        "reference",
        "idempotency_key",
        "state",
        "series",
        "number",
        "file_id",
        "verified",
    }
    # A new SIE extract of the year shows them, rows and amounts as approved.
    from include.sie4.reader import read_sie

    with session.client(closing.tenant["TenantId"]) as client:
        sie = read_sie(client.sie(report.vouchers[0].financial_year_id or 0))
    in_sie = {(v.series, v.number): v for v in sie.vouchers}
    for line, voucher in zip(report.vouchers, vouchers, strict=True):
        exported = in_sie[(line.fortnox_series, str(line.fortnox_number))]
        assert exported.text == voucher.description and exported.date == voucher.voucher_date
        assert sorted((r.account, r.amount) for r in exported.postings) == sorted(
            (r.account, r.amount) for r in voucher.rows
        )

    rows = {r["idempotency_key"]: r for r in closing.outbox()}
    assert {r["state"] for r in rows.values()} == {"sent"}
    assert {r["attempts"] for r in rows.values()} == {1}
    assert {r["verify_state"] for r in rows.values()} == {"verified"}

    # Clearing and rerunning a finished export: nothing sent, not even a request made.
    before = world.requests(closing.tenant)
    again = run(closing, approval.approval_id, session)
    assert again.ok and again.sent_now == 0
    assert world.requests(closing.tenant) == before
    assert world.count(closing.tenant, keys) == held


def test_changed_voucher_set_after_approval_is_refused(
    closing: Closing, world: World, session: FortnoxSession
) -> None:
    vouchers = closing_vouchers(2, tag=closing.tag("changed"))
    approval = closing.approve(vouchers)
    first = vouchers[0]
    bigger = ClosingRow(first.rows[0].account, first.rows[0].debit + Decimal("0.01"), Decimal(0))
    changed = dataclasses.replace(first, rows=(bigger, *first.rows[1:]))
    put_voucher_set(closing.url, closing.company_id, YEAR, (changed, vouchers[1]))
    before = world.requests(closing.tenant)

    with pytest.raises(VoucherSetChanged, match="nothing may be exported"):
        run(closing, approval.approval_id, session)

    assert world.requests(closing.tenant) == before  # Fortnox was not even asked
    assert closing.outbox() == []


def test_rejected_approval_is_refused(
    closing: Closing, world: World, session: FortnoxSession
) -> None:
    rejection = closing.approve(closing_vouchers(2, tag=closing.tag("rejected")), state="rejected")
    before = world.requests(closing.tenant)
    with pytest.raises(NotApproved, match="rejection"):
        run(closing, rejection.approval_id, session)
    assert world.requests(closing.tenant) == before
    assert closing.outbox() == []


def test_refusal_fails_the_voucher_without_retry_the_others_go(
    sqlite_closing: Closing, world: World, session: FortnoxSession
) -> None:
    closing = sqlite_closing
    good = closing_vouchers(2, tag="refusal")
    bad = refused_voucher(9, tag="refusal", attachment=True)  # account 9999: no such account
    approval = closing.approve((good[0], bad, good[1]))
    report = run(closing, approval.approval_id, session)

    assert not report.ok and not report.should_retry  # a person must act
    states = {v.reference: (v.state, v.verify_state) for v in report.vouchers}
    assert states[bad.reference] == ("failed", "unverified")
    assert "account 9999 not found" in report.vouchers[1].detail
    assert [states[v.reference] for v in good] == [("sent", "verified")] * 2
    rows = {r["reference"]: r for r in closing.outbox()}
    assert rows[bad.reference]["attempts"] == 1  # 4xx: never retried
    assert rows[bad.reference]["file_state"] == "pending"  # nothing uploaded for it
    assert world.count(closing.tenant, closing.keys((bad,))).vouchers == {}

    # A rerun leaves it failed; retry_failed tries once more (Fortnox still refuses).
    assert run(closing, approval.approval_id, session).sent_now == 0
    assert {r["reference"]: r for r in closing.outbox()}[bad.reference]["attempts"] == 1
    retried = run(closing, approval.approval_id, session, retry_failed=True)
    assert retried.vouchers[1].state == "failed"
    assert {r["reference"]: r for r in closing.outbox()}[bad.reference]["attempts"] == 2


def test_unknown_outcomes_are_looked_up_not_sent_again(
    sqlite_closing: Closing, world: World, session: FortnoxSession
) -> None:
    closing = sqlite_closing
    vouchers = closing_vouchers(2, tag="dropped")
    approval = closing.approve(vouchers)
    # The voucher POST, the upload and the connection of the first voucher all commit in
    # Fortnox and then lose their answer.
    world.faults(commit_then_drop=3)
    report = run(closing, approval.approval_id, session)

    assert report.ok, report.text()
    assert report.sent_now == 2
    held = world.count(closing.tenant, closing.keys(vouchers))
    assert held.duplicates() == []
    assert len(held.vouchers) == 2 and len(held.files) == 2 and len(held.connections) == 2
    first = {r["reference"]: r for r in closing.outbox()}[vouchers[0].reference]
    assert (first["attempts"], first["upload_attempts"], first["connect_attempts"]) == (1, 1, 1)


def test_a_crash_around_the_post_is_resolved_by_the_key(
    sqlite_closing: Closing, world: World, session: FortnoxSession
) -> None:
    """Rows left in `sending` by a killed worker: one whose POST reached Fortnox, one whose
    POST never left. The first is found, the second sent, each exactly once."""
    closing = sqlite_closing
    vouchers = closing_vouchers(2, tag="crash", attachments=False)
    approval = closing.approve(vouchers)
    outbox = Outbox(sa.create_engine(closing.url))
    voucher_set = current_voucher_set(closing.url, closing.company_id, YEAR)
    reached, lost = outbox.schedule(approval.approval_id, voucher_set)
    reached = outbox.save(reached, state="sending", attempts=1, financial_year_id=2)
    outbox.save(lost, state="sending", attempts=1, financial_year_id=2)
    with session.client(closing.tenant["TenantId"]) as client:  # the killed worker's POST
        client.create_voucher(2, fortnox_voucher_body(vouchers[0], reached.idempotency_key))

    report = run(closing, approval.approval_id, session)

    assert report.ok, report.text()
    assert report.sent_now == 1  # the lost one; the other was found by its key
    held = world.count(closing.tenant, closing.keys(vouchers))
    assert {k: len(v) for k, v in held.vouchers.items()} == {
        reached.idempotency_key: 1,
        lost.idempotency_key: 1,
    }
    attempts = {r["reference"]: r["attempts"] for r in closing.outbox()}
    assert attempts == {vouchers[0].reference: 1, vouchers[1].reference: 2}


def test_rate_limited_posts_wait_and_send_once(
    tmp_path: Path, sqlite_url: str, world: World
) -> None:
    """No client-side pacing against a strict limit: the 429s are waited out, nothing twice."""
    with connected_sandbox(  # the token key comes from the module's world
        token_store_url=f"sqlite:///{tmp_path / 'strict.db'}",
        companies=1,
        seed=5,
        rate_limit=4,
        rate_window_s=1.0,
    ) as strict:
        closing = _closing_for(sqlite_url, strict.tenants[0])
        vouchers = closing_vouchers(3, tag="limited")
        approval = closing.approve(vouchers)
        unpaced = FortnoxSession(strict.settings, pacer=NoPacer())
        try:
            report = run(closing, approval.approval_id, unpaced)
        finally:
            unpaced.close()
        stats = strict.admin("GET", "/admin/stats")["tenants"][str(closing.tenant["TenantId"])]
        records = strict.admin("GET", "/admin/records")
    assert report.ok, report.text()
    assert stats["rate_limited"] > 0  # the limit was hit ...
    assert stats["max_in_window"] <= 4  # ... and held
    held = sandbox_count(records, closing.tenant["TenantId"], closing.keys(vouchers))
    assert held.duplicates() == [] and len(held.vouchers) == 3 and len(held.connections) == 3


def _closing_for(url: str, tenant: dict[str, Any]) -> Closing:
    return Closing(url, link_company(url, tenant), tenant)


def test_a_new_approval_shares_sent_vouchers_and_refuses_changed_ones(
    sqlite_closing: Closing, world: World, session: FortnoxSession
) -> None:
    closing = sqlite_closing
    first_two = closing_vouchers(2, tag="shared")
    first = closing.approve(first_two)
    assert run(closing, first.approval_id, session).ok

    # The same two plus a third: only the third is sent.
    three = (*first_two, closing_voucher(3, tag="shared"))
    second = closing.approve(three)
    report = run(closing, second.approval_id, session)
    assert report.ok, report.text()
    assert [v.sent_now for v in report.vouchers] == [False, False, True]
    held = world.count(closing.tenant, closing.keys(three))
    assert held.duplicates() == [] and len(held.vouchers) == 3

    # A sent voucher changed (or dropped) in a later set: refused, nothing sent.
    changed = dataclasses.replace(three[1], description=three[1].description + " (rättad)")
    third = closing.approve((three[0], changed, three[2]))
    before = world.requests(closing.tenant)
    with pytest.raises(OutboxConflict, match=f"{three[1].reference} \\(Fortnox A \\d+"):
        run(closing, third.approval_id, session)
    assert world.requests(closing.tenant) == before


def test_two_exporters_of_one_approval_at_once_send_once(
    closing: Closing, world: World, session: FortnoxSession
) -> None:
    vouchers = closing_vouchers(3, tag=closing.tag("twice"))
    approval = closing.approve(vouchers)
    reports: list[ExportReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def exporter() -> None:
        own = world.session()
        try:
            start.wait()
            reports.append(run(closing, approval.approval_id, own))
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=exporter) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert all(r.ok for r in reports) and len(reports) == 2
    assert sorted(r.sent_now for r in reports) == [0, 3]  # one sent, the other found it done
    held = world.count(closing.tenant, closing.keys(vouchers))
    assert held.duplicates() == [] and len(held.vouchers) == 3 and len(held.connections) == 3


def test_company_without_fortnox_tenant_is_refused(sqlite_url: str) -> None:
    from include.closing.testing import ensure_company

    company_id = ensure_company(sqlite_url, "556000-0001", "Utan Fortnox AB")
    approval = approve(sqlite_url, company_id, YEAR, closing_vouchers(1, tag="x"))
    with pytest.raises(ExportRefused, match="has no Fortnox tenant"):
        export_approval(sqlite_url, approval.approval_id, lambda tenant: None)  # type: ignore[arg-type,return-value]


def test_outbox_refuses_a_writer_that_lost_the_row(sqlite_closing: Closing) -> None:
    vouchers = closing_vouchers(1, tag="race")
    approval = sqlite_closing.approve(vouchers)
    outbox = Outbox(sa.create_engine(sqlite_closing.url))
    voucher_set = current_voucher_set(sqlite_closing.url, sqlite_closing.company_id, YEAR)
    (row,) = outbox.schedule(approval.approval_id, voucher_set)
    outbox.save(row, state="sending", attempts=1)  # another writer got there first
    with pytest.raises(OutboxRace, match="changed by another exporter"):
        outbox.save(row, state="sending", attempts=1)


def test_keys_follow_the_content_and_file_names_carry_them() -> None:
    from include.closing.models import VoucherSet

    a = closing_voucher(1, tag="k")
    base = VoucherSet(1, "556677-8899", YEAR, (a,))
    key = idempotency_key(base, a)
    assert key.startswith("ce1-") and len(key) == 44
    assert idempotency_key(dataclasses.replace(base, company_id=7), a) == key  # not the serial
    assert idempotency_key(base, dataclasses.replace(a, description="x")) != key
    other_year = dataclasses.replace(base, fiscal_year_start=date(2024, 1, 1))
    assert idempotency_key(other_year, a) != key
    assert a.attachment is not None
    name = fortnox_file_name(key, a.attachment)
    assert name == f"{key}_underlag_ADJ-k-1.pdf"
    swedish = dataclasses.replace(a.attachment, file_name="Hyresavi dec/jan (Årsskifte).pdf")
    assert fortnox_file_name(key, swedish) == f"{key}_Hyresavi_dec_jan_Årsskifte_.pdf"
    long = dataclasses.replace(a.attachment, file_name="å" * 300 + ".pdf")
    assert (
        fortnox_file_name(key, long).endswith(".pdf") and len(fortnox_file_name(key, long)) <= 160
    )


def test_compare_voucher_names_every_difference() -> None:
    voucher = closing_voucher(1, tag="cmp")
    key = "ce1-" + "0" * 40
    body = fortnox_voucher_body(voucher, key)["Voucher"]
    fortnox = {
        **body,
        "VoucherRows": [
            {**r, "CostCenter": r.get("CostCenter", ""), "Removed": False}
            for r in body["VoucherRows"]
        ],
    }
    assert compare_voucher(voucher, key, fortnox) == []
    wrong = dict(fortnox)
    wrong["VoucherRows"] = [
        {**fortnox["VoucherRows"][0], "Debit": fortnox["VoucherRows"][0]["Debit"] + 1},
        *fortnox["VoucherRows"][1:],
        {"Account": 1930, "Debit": 0, "Credit": 0, "Removed": True},  # struck out: ignored
    ]
    wrong["Comments"] = "no key"
    problems = compare_voucher(voucher, key, wrong)
    assert problems[0] == "its Comments do not carry the idempotency key"
    assert problems[1].startswith("rows missing: 6540 debit 2973.00 cc 200")
    assert problems[2].startswith("rows not approved: 6540 debit 2974.00 cc 200")


def test_approvals_to_export_from_events_and_manual_params(sqlite_closing: Closing) -> None:
    from include.closing.export_dag import ExportNotDone, approvals_to_export, final_failure

    closing = sqlite_closing
    first = closing.approve(closing_vouchers(1, tag="events"))
    second = closing.approve(closing_vouchers(2, tag="events"))
    events = [
        {"approval_id": first.approval_id},
        {"approval_id": second.approval_id},
        {"approval_id": first.approval_id},  # the same event delivered twice
    ]
    assert approvals_to_export(closing.url, events) == [first.approval_id, second.approval_id]
    assert approvals_to_export(closing.url, events, approval_id="apr-x") == ["apr-x"]
    org = closing.tenant["OrganizationNumber"]
    by_company = approvals_to_export(closing.url, [], company=org, fiscal_year=2025)
    assert by_company == [second.approval_id]  # the latest decision
    with pytest.raises(ExportRefused, match="no approval"):
        approvals_to_export(closing.url, [], company=org, fiscal_year=2024)

    assert final_failure(NotApproved("rejected")) and final_failure(OutboxConflict("sent"))
    assert not final_failure(RuntimeError("anything else: let Airflow retry"))
    pending = ExportReport("a", "k", YEAR, "t", (), error="HTTP 503", retryable=True)
    assert not final_failure(ExportNotDone(pending))
    refused = ExportReport("a", "k", YEAR, "t", (), error="HTTP 403", retryable=False)
    assert final_failure(ExportNotDone(refused))
