"""FortnoxHook: lazy setup, settings from the Airflow connection, test_connection."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _fortnox_testkit import FakeTokenServer

from include.fortnox.tokens import TokenCipher

pytest.importorskip("airflow.sdk")
# plugins/ is on Airflow's import path in production; put it on ours for the import.
PLUGINS_DIR = str(Path(__file__).resolve().parents[2] / "plugins")
if PLUGINS_DIR not in sys.path:
    sys.path.insert(0, PLUGINS_DIR)
from fortnox.hooks import FortnoxHook  # noqa: E402


def set_connection(
    monkeypatch: pytest.MonkeyPatch, base_url: str, tmp_path: Path, secret: str
) -> None:
    conn = {
        "conn_type": "fortnox",
        "host": f"{base_url}/3",
        "login": FakeTokenServer.CLIENT_ID,
        "password": secret,
        "extra": {
            "token_store_url": f"sqlite:///{tmp_path / 'tokens.db'}",
            "pacer_dir": str(tmp_path / "pacer"),
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("FORTNOX_TOKEN_KEY", TokenCipher.generate_key())


def test_hook_is_lazy_and_builds_clients(monkeypatch, tmp_path: Path) -> None:
    with FakeTokenServer() as server:
        set_connection(monkeypatch, server.base_url, tmp_path, FakeTokenServer.CLIENT_SECRET)
        hook = FortnoxHook()
        assert hook._session is None  # nothing opened at construction (parse time)
        assert hook.fortnox_conn_id == "fortnox_default"
        session = hook.get_conn()
        assert hook.get_conn() is session
        assert session.settings.token_url == f"{server.base_url}/oauth-v1/token"
        client = hook.get_client(42)
        assert client.api_url == f"{server.base_url}/3"
        assert (tmp_path / "pacer").is_dir()
        assert FakeTokenServer.CLIENT_SECRET not in repr(session)
        hook.close()


def test_hook_test_connection(monkeypatch, tmp_path: Path) -> None:
    with FakeTokenServer() as server:
        set_connection(monkeypatch, server.base_url, tmp_path, FakeTokenServer.CLIENT_SECRET)
        ok, message = FortnoxHook().test_connection()
        assert ok, message
        set_connection(monkeypatch, server.base_url, tmp_path, "wrong-secret")
        ok, message = FortnoxHook().test_connection()
        assert not ok and "refused" in message
        assert "wrong-secret" not in message


def test_ui_field_behaviour() -> None:
    behaviour = FortnoxHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["login"] == "Client ID"
    assert "port" in behaviour["hidden_fields"]
    assert FortnoxHook.conn_type == "fortnox" and FortnoxHook.conn_name_attr == "fortnox_conn_id"


def open_connections(engine) -> int:  # type: ignore[no-untyped-def]
    """Connections the engine's pool holds (idle or in use); 0 once disposed."""
    return int(engine.pool.checkedin() + engine.pool.checkedout())


def test_hook_as_context_manager_closes_http_client_and_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from include.fortnox.token_schema import create_token_tables

    with FakeTokenServer() as server:
        set_connection(monkeypatch, server.base_url, tmp_path, FakeTokenServer.CLIENT_SECRET)
        with FortnoxHook() as hook:
            session = hook.get_conn()
            create_token_tables(session.store.engine)
            assert hook.list_connected() == []
            assert open_connections(session.store.engine) > 0  # the check below can fail
            assert not session.oauth._http.is_closed
        assert hook._session is None
        assert session.oauth._http.is_closed
        assert open_connections(session.store.engine) == 0
        # A closed hook opens a new session when used again.
        assert hook.get_conn() is not session
        hook.close()
