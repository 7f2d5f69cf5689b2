"""`dag.test()` of the closing DAG against the Fortnox sandbox, answered through Airflow's own
REST API (an `airflow api-server` on this test session's metadata DB), as a person would:

- a partition whose quality run failed is refused before anything is built;
- an approval records who approved, when, the comment and the exact set's checksum, and
  emits the `closing_approved` asset event;
- a user who is not an assigned approver is refused by Airflow; a rejection is recorded with
  its comment and emits nothing;
- a voucher set changed while the approval waited is not approved, and emits nothing.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from include.closing.adjustments import import_adjustments
from include.closing.airflow_api import (
    AirflowApiError,
    airflow_token,
    answer_approval,
    wait_for_approval_task,
)
from include.closing.cli import main
from include.closing.proposals import propose
from include.closing.store import current_voucher_set
from include.fortnox_sandbox.local import free_port
from include.quality.testing import record_checks
from tests.closing._world import SAMPLE_CSV, START, ClosingWorld, closing_world

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.airflow, pytest.mark.sandbox, pytest.mark.slow]
ALL = ("tax_allocation_reserve", "income_tax", "result_transfer")


@pytest.fixture(scope="module")
def api_server(
    airflow_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """`airflow api-server` (core API, simple auth manager) on the tests' metadata DB."""
    root = tmp_path_factory.mktemp("api-server")
    passwords = {"admin": secrets.token_urlsafe(12), "bo": secrets.token_urlsafe(12)}
    password_file = root / "passwords.json"
    password_file.write_text(json.dumps(passwords))
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,bo:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }
    log = (root / "api-server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow",
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--apps",
            "core",
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with every child
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"api-server exited:\n{(root / 'api-server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("api-server did not start in 180 s")
            time.sleep(1)
        yield {"base": base, "passwords": passwords}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClosingWorld]:
    with closing_world(tmp_path) as world:
        for conn_id, conn in world.airflow_connections().items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        import_adjustments(world.url, SAMPLE_CSV, world.org_number, START.isoformat())
        propose(world.url, world.org_number, START.isoformat(), accept=ALL)
        yield world


@pytest.fixture
def closing_dag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "closing.py"))
    assert bag.import_errors == {}
    return bag.get_dag("closing")


def _states(run) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _approvals(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from approval order by decided_at")).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def _approval_events(run_id: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.scalars(
            sa.select(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == "closing_approved", AssetEvent.source_run_id == run_id)
        ).all()
        return [dict(e.extra) for e in events]


class Responder(threading.Thread):
    """Waits for the closing's approval task through the REST API, then does ``act``."""

    def __init__(
        self, server: dict[str, Any], world: ClosingWorld, act: Callable[..., Any]
    ) -> None:
        super().__init__(daemon=True)
        self.server, self.world, self.act = server, world, act
        self.detail: dict[str, Any] | None = None
        self.result: Any = None
        self.error: BaseException | None = None

    def token(self, user: str) -> str:
        return airflow_token(self.server["base"], user, self.server["passwords"][user])

    def run(self) -> None:
        try:
            token = self.token("admin")
            self.detail = wait_for_approval_task(
                self.server["base"], token, subject_contains=self.world.org_number, timeout=300
            )
            run_id = str(self.detail["task_instance"]["dag_run_id"])
            self.result = self.act(self, run_id)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _run(closing_dag, world: ClosingWorld, responder: Responder | None = None):  # type: ignore[no-untyped-def]
    if responder is not None:
        responder.start()
    run = closing_dag.test(run_conf={"company": world.org_number, "fiscal_year": START.isoformat()})
    if responder is not None:
        responder.join(timeout=60)
        assert responder.error is None, repr(responder.error)
    return run


def test_a_blocking_quality_run_refuses_the_closing(closing_dag, world: ClosingWorld) -> None:  # type: ignore[no-untyped-def]
    record_checks(world.url, world.company_id, START, failed=("voucher_balances",))
    run = _run(closing_dag, world)
    states = _states(run)
    assert states["check_quality_gate"] == "failed"
    assert states["build_voucher_set"] == "upstream_failed"
    assert states["approve_closing"] == "upstream_failed"
    assert states["report"] == "failed"
    assert str(run.state) == "failed"
    assert _approvals(world.url) == []


def test_approval_through_the_rest_api_is_recorded_and_emits_the_event(  # type: ignore[no-untyped-def]
    closing_dag, world: ClosingWorld, api_server
) -> None:
    def approve(responder: Responder, run_id: str) -> Any:
        return answer_approval(
            api_server["base"], responder.token("admin"), run_id, approve=True, comment="Stämmer"
        )

    responder = Responder(api_server, world, approve)
    run = _run(closing_dag, world, responder)
    states = _states(run)
    assert states["record_approval"] == "success", states
    assert states["record_rejection"] == "skipped"
    assert str(run.state) == "success"
    # What the approver saw: every voucher, its rows and attachment, the checksum.
    detail = responder.detail
    assert detail is not None
    checksum = current_voucher_set(world.url, world.company_id, START).checksum()
    assert detail["subject"].startswith("Approve: Closing of ")
    for text in (
        "ADJ-1",
        "ADJ-2",
        "PROPOSAL-RESERVE",
        "PROPOSAL-TAX",
        "PROPOSAL-RESULT",
        "avskrivningsplan-2025.pdf",
        "inkomstskatt-2025.pdf",
        checksum,
    ):
        assert text in detail["body"], text
    assert [u["id"] for u in detail["assigned_users"]] == ["admin"]
    assert responder.result["responded_by"]["name"] == "admin"
    (approval,) = _approvals(world.url)
    assert approval["state"] == "approved" and approval["via"] == "ui"
    assert approval["decided_by"] == "admin" and approval["comment"] == "Stämmer"
    assert approval["checksum"] == checksum and approval["voucher_count"] == 5
    assert approval["dag_run_id"] == run.run_id
    assert _approval_events(run.run_id) == [
        {
            "company_id": world.company_id,
            "org_number": world.org_number,
            "company_name": world.local.tenants[0]["CompanyName"],
            "fiscal_year_start": "2025-01-01",
            "approval_id": approval["approval_id"],
        }
    ]


def test_rejection_is_recorded_with_its_comment_and_exports_nothing(  # type: ignore[no-untyped-def]
    closing_dag, world: ClosingWorld, api_server, tmp_path: Path
) -> None:
    password_file = tmp_path / "passwords.json"
    password_file.write_text(json.dumps(api_server["passwords"]))

    def reject(responder: Responder, run_id: str) -> Any:
        with pytest.raises(AirflowApiError, match="403"):  # bo is not an assigned approver
            answer_approval(api_server["base"], responder.token("bo"), run_id, approve=True)
        out = io.StringIO()  # the command line the demo and operators use
        code = main(
            [
                "answer",
                "--reject",
                "--comment",
                "ADJ-2: fel kostnadsställe",
                "--api-url",
                api_server["base"],
                "--subject",
                world.org_number,
                "--user",
                "admin",
                "--password-file",
                str(password_file),
            ],
            out=out,
        )
        assert code == 0
        return out.getvalue()

    responder = Responder(api_server, world, reject)
    run = _run(closing_dag, world, responder)
    states = _states(run)
    assert states["record_approval"] == "skipped", states
    assert states["record_rejection"] == "success"
    assert responder.result.startswith("Reject by admin at ")
    (rejection,) = _approvals(world.url)
    assert rejection["state"] == "rejected" and rejection["decided_by"] == "admin"
    assert rejection["comment"] == "ADJ-2: fel kostnadsställe"
    assert _approval_events(run.run_id) == []


def test_a_set_changed_while_waiting_is_not_approved(  # type: ignore[no-untyped-def]
    closing_dag, world: ClosingWorld, api_server, tmp_path: Path
) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "avskrivningsplan-2025.pdf").write_bytes(
        (SAMPLE_CSV.parent / "avskrivningsplan-2025.pdf").read_bytes()
    )
    (changed / "adjustments.csv").write_text(
        SAMPLE_CSV.read_text(encoding="utf-8").replace("18000.00", "19000.00"), encoding="utf-8"
    )

    def change_then_approve(responder: Responder, run_id: str) -> Any:
        import_adjustments(world.url, changed / "adjustments.csv", world.org_number, "2025-01-01")
        return answer_approval(api_server["base"], responder.token("admin"), run_id, approve=True)

    run = _run(closing_dag, world, Responder(api_server, world, change_then_approve))
    states = _states(run)
    assert states["record_approval"] == "failed", states
    assert str(run.state) == "failed"
    assert _approvals(world.url) == []
    assert _approval_events(run.run_id) == []
