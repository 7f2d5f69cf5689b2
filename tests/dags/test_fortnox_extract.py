"""`fortnox_extract` through Airflow against the sandbox: extracts land, events carry the
contract, every task closes the Fortnox sessions and clients it opened (HTTP clients and
database engines), and no token or secret appears in any task log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.airflow, pytest.mark.sandbox, pytest.mark.slow]


def find_secrets(text: str, needles: dict[str, str]) -> list[str]:
    """Names of the secrets whose value (or a long piece of it) occurs in ``text``."""
    found = []
    for name, value in needles.items():
        if value and (value in text or (len(value) > 40 and value[:40] in text)):
            found.append(name)
    return found


def test_find_secrets_detects_a_leak() -> None:
    # The leak check below is only worth something if it can fail.
    assert find_secrets("token=abc123secretvalue", {"t": "abc123secretvalue"}) == ["t"]
    assert find_secrets("nothing here", {"t": "abc123secretvalue"}) == []


def test_extract_dag_lands_every_company_and_logs_no_secret(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from include.fortnox.session import FortnoxSession
    from include.fortnox.tokens import TokenCipher
    from include.fortnox_sandbox.local import connected_sandbox

    data = tmp_path / "data"
    fernet_key = Fernet.generate_key().decode()
    monkeypatch.setenv("PROJECT_DATA_DIR", str(data))
    monkeypatch.setenv("FORTNOX_TOKEN_KEY", fernet_key)
    monkeypatch.setenv("FORTNOX_PACER_DIR", str(tmp_path / "pacer"))

    store_url = f"sqlite:///{tmp_path / 'app.db'}"
    opened = record_sessions_and_clients(monkeypatch)
    with connected_sandbox(token_store_url=store_url, companies=3, seed=5) as local:
        monkeypatch.setenv("AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(local.airflow_connection()))
        dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "fortnox_extract.py")).get_dag(
            "fortnox_extract"
        )
        run = dag.test()
        states = sorted((ti.task_id, str(ti.state)) for ti in run.get_task_instances())
        labels: dict[str, list[str]] = {}
        for ti in run.get_task_instances():
            labels.setdefault(ti.task_id, []).append(str(ti.rendered_map_index))

        # Every secret there is: the app's, the key, and each company's current tokens.
        session = FortnoxSession(local.settings)
        cipher = TokenCipher([fernet_key])
        needles = {"client secret": local.client_secret, "fernet key": fernet_key}
        with session.store.engine.connect() as db:
            for row in db.execute(sa.select(session.store.table)).mappings():
                tenant = row["tenant_id"]
                for kind in ("access", "refresh"):
                    needles[f"{kind} token {tenant}"] = cipher.decrypt(
                        row[f"{kind}_token_encrypted"], company=tenant
                    )
        session.close()

    assert str(run.state) == "success", states
    publishes = [s for t, s in states if t == "company.publish_extract"]
    assert publishes == ["success"] * 3
    extracts = sorted(data.glob("landing/*/*/*/manifest.json"))
    assert len(extracts) == 3

    # Every mapped task is labelled by company name and fiscal year, not by tenant id.
    manifests = [json.loads(path.read_text()) for path in extracts]
    expected = sorted(f"{m['company_name']} {m['fiscal_year_start']}" for m in manifests)
    assert all(m["company_name"] for m in manifests)
    for task_id in ("resolve_fiscal_year", "fetch_sie", "fetch_subledgers", "publish_extract"):
        assert sorted(labels[f"company.{task_id}"]) == expected, task_id
    tenants = {m["company"] for m in manifests}
    assert not any(t in label for t in tenants for group in labels.values() for label in group)

    captured = capfd.readouterr()
    logs = captured.out + captured.err
    for path in Path(airflow_db).rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".txt", ""):
            logs += path.read_text(errors="replace")
    for path in data.rglob("*.json"):
        logs += path.read_text(errors="replace")
    assert "publish_extract" in logs  # we are looking at the task logs
    assert find_secrets(logs, needles) == []

    # Each task body closed what it opened: 1 listing + 3 companies x 3 fetching tasks.
    sessions, clients = opened["sessions"], opened["clients"]
    assert len(sessions) == 10 and len(clients) == 9
    assert all(session.oauth._http.is_closed for session in sessions)
    assert [open_connections(s.store.engine) for s in sessions] == [0] * len(sessions)
    assert all(client._http.is_closed for client in clients)


def open_connections(engine) -> int:  # type: ignore[no-untyped-def]
    """Connections the engine's pool holds (idle or in use); 0 once disposed."""
    return int(engine.pool.checkedin() + engine.pool.checkedout())


def record_sessions_and_clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Keep every Fortnox session the hook creates and every client made from one."""
    from fortnox.hooks import FortnoxHook
    from include.fortnox.session import FortnoxSession

    opened: dict[str, list[Any]] = {"sessions": [], "clients": []}
    get_conn, client = FortnoxHook.get_conn, FortnoxSession.client

    def recording_get_conn(self):  # type: ignore[no-untyped-def]
        fresh = self._session is None
        session = get_conn(self)
        if fresh:
            opened["sessions"].append(session)
        return session

    def recording_client(self, tenant_id):  # type: ignore[no-untyped-def]
        made = client(self, tenant_id)
        opened["clients"].append(made)
        return made

    monkeypatch.setattr(FortnoxHook, "get_conn", recording_get_conn)
    monkeypatch.setattr(FortnoxSession, "client", recording_client)
    return opened
