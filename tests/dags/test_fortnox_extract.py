"""`fortnox_extract` through Airflow against the sandbox: extracts land, events carry the
contract, and no token or secret appears in any task log."""

from __future__ import annotations

import io
import json
import secrets
import socket
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.airflow, pytest.mark.sandbox, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    from include.fortnox.cli import connect
    from include.fortnox.config import FortnoxSettings
    from include.fortnox.session import FortnoxSession
    from include.fortnox.token_schema import create_token_tables
    from include.fortnox.tokens import TokenCipher
    from include.fortnox_sandbox.server import SandboxConfig, SandboxServer

    data = tmp_path / "data"
    fernet_key = Fernet.generate_key().decode()
    client_secret = secrets.token_urlsafe(24)
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    store_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("PROJECT_DATA_DIR", str(data))
    monkeypatch.setenv("FORTNOX_TOKEN_KEY", fernet_key)
    monkeypatch.setenv("FORTNOX_PACER_DIR", str(tmp_path / "pacer"))

    config = SandboxConfig(
        client_secret=client_secret,
        companies=3,
        seed=5,
        vouchers_per_year=40,
        redirect_uri=redirect,
    )
    with SandboxServer(config) as server:
        base = server.base_url
        conn = {
            "conn_type": "fortnox",
            "host": f"{base}/3",
            "login": config.client_id,
            "password": client_secret,
            "extra": {
                "auth_url": f"{base}/oauth-v1/auth",
                "token_url": f"{base}/oauth-v1/token",
                "revoke_url": f"{base}/oauth-v1/revoke",
                "redirect_uri": redirect,
                "token_store_url": store_url,
            },
        }
        monkeypatch.setenv("AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(conn))
        settings = FortnoxSettings.from_mapping(
            {
                "api_url": f"{base}/3",
                "auth_url": conn["extra"]["auth_url"],
                "token_url": conn["extra"]["token_url"],
                "revoke_url": conn["extra"]["revoke_url"],
                "client_id": config.client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect,
                "token_store_url": store_url,
            }
        )
        session = FortnoxSession(settings)
        create_token_tables(session.store.engine)
        tenants = httpx.get(f"{base}/admin/tenants").json()["Tenants"]
        for tenant in tenants:
            connect(
                settings,
                session.oauth,
                session.store,
                auto=True,
                tenant=str(tenant["TenantId"]),
                out=io.StringIO(),
            )

        dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "fortnox_extract.py")).get_dag(
            "fortnox_extract"
        )
        run = dag.test()
        states = sorted((ti.task_id, str(ti.state)) for ti in run.get_task_instances())

        cipher = TokenCipher([fernet_key])
        needles = {"client secret": client_secret, "fernet key": fernet_key}
        for row in session.store.list_connections():
            needles[f"access token {row.tenant_id}"] = session.store.get_access_token(row.tenant_id)
        import sqlalchemy as sa

        with session.store.engine.connect() as db:
            for row in db.execute(sa.select(session.store.table)).mappings():
                needles[f"refresh token {row['tenant_id']}"] = cipher.decrypt(
                    row["refresh_token_encrypted"], company=row["tenant_id"]
                )
        session.close()

    assert str(run.state) == "success", states
    publishes = [s for t, s in states if t == "company.publish_extract"]
    assert publishes == ["success"] * 3
    extracts = sorted(data.glob("landing/*/*/*/manifest.json"))
    assert len(extracts) == 3

    captured = capfd.readouterr()
    logs = captured.out + captured.err
    for path in Path(airflow_db).rglob("*"):
        if path.is_file() and path.suffix in (".log", ".json", ".txt", ""):
            logs += path.read_text(errors="replace")
    for path in data.rglob("*.json"):
        logs += path.read_text(errors="replace")
    assert "publish_extract" in logs  # we are looking at the task logs
    assert find_secrets(logs, needles) == []
