"""`dag.test()` of the quality DAG: a clean partition passes, a damaged one fails its own mapped
task naming the check, the other partition still passes, and a rerun records new runs."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def quality_dag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "data_quality.py"))
    assert bag.import_errors == {}
    return bag.get_dag("data_quality")


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    from include.warehouse import migrate

    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    monkeypatch.setenv("PROJECT_DATA_DIR", str(data))
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}}),
    )
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    return data, url


def _load_two_companies(url: str) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    """A clean company and one with an unbalanced voucher (loaded leniently)."""
    from include.quality.testing import books_with_open_items, sie_bytes
    from include.sie4.records import RowKind, VoucherRow
    from include.warehouse.loader import load_sie

    names = []
    for index, damaged in ((0, False), (1, True)):
        doc, open_items = books_with_open_items(seed=11, company_index=index)
        if damaged:
            vouchers = list(doc.vouchers)
            bad = vouchers[4]
            row = VoucherRow(RowKind.TRANS, "2941", (), Decimal("7.00"))
            vouchers[4] = dataclasses.replace(bad, rows=(*bad.rows, row))
            doc = dataclasses.replace(doc, vouchers=tuple(vouchers))
        result = load_sie(
            sie_bytes(doc),
            url,
            lenient=True,
            file_name=f"company{index}.se",
            source_kind="fortnox",
            open_items=open_items,
        )
        names.append((result.company_name, result.org_number))
    return names[0], names[1]


def _states(run) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_damaged_partition_fails_its_task_and_the_clean_one_passes(
    quality_dag, warehouse, capsys
) -> None:  # type: ignore[no-untyped-def]
    data, url = warehouse
    (clean, clean_org), (damaged, _) = _load_two_companies(url)

    run = quality_dag.test(run_conf={})

    by_label = {
        ti.rendered_map_index: str(ti.state)
        for ti in run.get_task_instances()
        if ti.task_id == "check_partition"
    }
    assert by_label == {f"{clean} 2024-01-01": "success", f"{damaged} 2024-01-01": "failed"}
    assert _states(run)["summarise"] == ["failed"]  # a failed partition turns the run red
    assert str(run.state) == "failed"
    output = capsys.readouterr().out
    assert "failed 1 error check(s): voucher_balances" in output  # the failed task's log
    assert "rows sum to 7.00" in output  # with the offending voucher
    assert "Run note not set: no airflow_api connection" in output

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        runs = conn.execute(
            sa.text(
                "SELECT c.name, r.status, r.triggered_by FROM dq_run r "
                "JOIN company c ON c.company_id = r.company_id ORDER BY c.name"
            )
        ).all()
    engine.dispose()
    assert {(name, status) for name, status, _ in runs} == {
        (clean, "passed"),
        (damaged, "failed"),
    }
    assert all(t == f"airflow:data_quality/{run.run_id}" for _, _, t in runs)
    assert (data / "quality" / "data_docs" / "index.html").is_file()

    # Rerunning is safe and records new runs.
    again = quality_dag.test(run_conf={"company": clean_org, "fiscal_year": 2024})
    assert _states(again)["check_partition"] == ["success"]
    assert str(again.state) == "success"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT COUNT(*) FROM dq_run")) == 3
    engine.dispose()


@pytest.fixture
def api_server(airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Airflow's real API server (the FastAPI app, served by uvicorn) on a free port."""
    import socket
    import threading
    import time

    import uvicorn

    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"quality": "note-writer"}))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "quality:admin")
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-only-secret-for-this-api-server")
    from airflow.api_fastapi.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app("core"), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.1)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIRFLOW_API",
        json.dumps(
            {
                "conn_type": "http",
                "host": f"http://127.0.0.1:{port}",
                "login": "quality",
                "password": "note-writer",
            }
        ),
    )
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_the_run_note_lists_the_failed_checks(quality_dag, warehouse, api_server) -> None:  # type: ignore[no-untyped-def]
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    _, url = warehouse
    _, (damaged, _) = _load_two_companies(url)

    run = quality_dag.test(run_conf={})

    with create_session() as session:
        stored = session.query(DagRun).filter_by(dag_id="data_quality", run_id=run.run_id).one()
        note = stored.note
    assert note is not None, "the summarise task did not set the run's note"
    assert "2 of 2 partition(s) checked, 1 failed" in note
    assert f"- {damaged} 2024-01-01: voucher_balances" in note
