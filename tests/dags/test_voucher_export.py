"""`voucher_export` through Airflow (`dag.test()`) against the sandbox: the approval's vouchers
land once with their files, the log has a line per voucher and the report, a rerun sends
nothing, a rejection exports nothing, and no secret reaches a log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.closing._export_testkit import World, export_world
from tests.dags.test_fortnox_extract import find_secrets

REPO_ROOT = Path(__file__).resolve().parents[2]
YEAR = date(2025, 1, 1)

pytestmark = [pytest.mark.airflow, pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with export_world(tmp_path_factory.mktemp("export-dag"), companies=1, seed=31) as w:
        yield w


@pytest.fixture
def airflow_env(
    airflow_db: Path, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("PROJECT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(world.local.airflow_connection()))
    from include.warehouse.migrate import migrate

    migrate(url)
    return {"url": url, "airflow_home": airflow_db}


@pytest.fixture
def export_dag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "voucher_export.py"))
    assert bag.import_errors == {}
    return bag.get_dag("voucher_export")


def _company_name(url: str, company_id: int) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        query = sa.text("select name from company where company_id = :id")
        name = conn.scalar(query, {"id": company_id})
    engine.dispose()
    assert name
    return str(name)


def _states(run) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_dag_exports_once_logs_each_voucher_and_a_rerun_sends_nothing(
    export_dag, airflow_env: dict[str, Any], world: World, capfd
) -> None:  # type: ignore[no-untyped-def]
    from include.closing.export_testing import approve, closing_vouchers, link_company
    from include.closing.outbox import idempotency_key
    from include.closing.store import current_voucher_set

    url = airflow_env["url"]
    tenant = world.tenant(0)
    company_id = link_company(url, tenant)
    vouchers = closing_vouchers(3, tag="dag")
    approval = approve(url, company_id, YEAR, vouchers)
    voucher_set = current_voucher_set(url, company_id, YEAR)
    keys = [idempotency_key(voucher_set, v) for v in vouchers]

    run = export_dag.test(run_conf={"approval_id": approval.approval_id})
    assert str(run.state) == "success", _states(run)
    assert _states(run)["export"] == ["success"]
    # Labelled by company name and fiscal year, not by approval id or tenant id.
    (export_ti,) = [ti for ti in run.get_task_instances() if ti.task_id == "export"]
    assert export_ti.rendered_map_index == f"{_company_name(url, company_id)} {YEAR.isoformat()}"
    held = world.count(tenant, keys)
    assert held.duplicates() == [] and len(held.vouchers) == 3 and len(held.connections) == 3

    captured = capfd.readouterr()
    logs = captured.out + captured.err
    for path in Path(airflow_env["airflow_home"]).rglob("*.log"):
        logs += path.read_text(errors="replace")
    for voucher, key in zip(vouchers, keys, strict=True):
        ((series, number),) = held.vouchers[key]
        assert f"{voucher.reference} [{key}]: sent as {series} {number}" in logs
    assert "3 of 3 vouchers sent and verified; 3 sent in this run." in logs
    needles = {
        "client secret": world.local.client_secret,
        "token key": world.env["FORTNOX_TOKEN_KEY"],
    }
    assert find_secrets(logs, needles) == []

    # Cleared and run again (the UI's rerun): succeeds, sends nothing.
    again = export_dag.test(run_conf={"approval_id": approval.approval_id})
    assert str(again.state) == "success", _states(again)
    assert world.count(tenant, keys) == held
    assert "0 sent in this run." in capfd.readouterr().out + "".join(
        p.read_text(errors="replace") for p in Path(airflow_env["airflow_home"]).rglob("*.log")
    )

    # A manual run naming the company and year exports its latest approval: nothing new.
    by_company = export_dag.test(
        run_conf={"company": tenant["OrganizationNumber"], "fiscal_year": 2025}
    )
    assert str(by_company.state) == "success", _states(by_company)
    assert world.count(tenant, keys) == held


def test_dag_refuses_a_rejection_and_sends_nothing(
    export_dag, airflow_env: dict[str, Any], world: World
) -> None:  # type: ignore[no-untyped-def]
    from include.closing.export_testing import approve, closing_vouchers, link_company

    url = airflow_env["url"]
    tenant = world.tenant(0)
    company_id = link_company(url, tenant)
    rejection = approve(url, company_id, YEAR, closing_vouchers(2, tag="dag-no"), state="rejected")
    before = world.requests(tenant)

    run = export_dag.test(run_conf={"approval_id": rejection.approval_id})

    assert str(run.state) == "failed"
    assert _states(run)["export"] == ["failed"]  # AirflowFailException: no retry
    assert world.requests(tenant) == before
