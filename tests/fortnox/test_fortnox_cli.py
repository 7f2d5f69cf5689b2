"""CLI: the redirect's state is checked, refusals and missing configuration are clear."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from include.fortnox import cli
from include.fortnox.config import FortnoxSettings
from include.fortnox.models import FortnoxError
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.tokens import TokenCipher, TokenStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def browser_redirect(url: str) -> threading.Thread:
    """Hit the callback like a browser would, once the CLI listens."""

    def run() -> None:
        for _ in range(200):
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def parts(tmp_path: Path):
    settings = FortnoxSettings(
        client_id="cid",
        client_secret="SECRET",
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
    )
    token_calls: list[httpx.Request] = []
    oauth = FortnoxOAuth(
        settings,
        transport=httpx.MockTransport(lambda r: token_calls.append(r) or httpx.Response(500)),
    )
    store = TokenStore(f"sqlite:///{tmp_path / 't.db'}", TokenCipher([TokenCipher.generate_key()]))
    return settings, oauth, store, token_calls


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("code=abc&state=forged", "state does not match"),
        ("state={state}&error=access_denied&error_description=nej", "consent refused"),
        ("state={state}", "no authorisation code"),
    ],
)
def test_connect_rejects_bad_redirects(parts, monkeypatch, query: str, message: str) -> None:
    settings, oauth, store, token_calls = parts
    fixed = oauth.authorization_url()
    monkeypatch.setattr(oauth, "authorization_url", lambda **kw: fixed)
    browser_redirect(f"{settings.redirect_uri}?{query.format(state=fixed.state)}")
    out = io.StringIO()
    with pytest.raises(FortnoxError, match=message):
        cli.connect(settings, oauth, store, timeout=20, out=out)
    assert token_calls == []  # no code exchange happened
    assert fixed.state in out.getvalue()  # the consent URL was shown


def test_connect_times_out_without_redirect(parts) -> None:
    settings, oauth, store, _ = parts
    with pytest.raises(FortnoxError, match="no redirect"):
        cli.connect(settings, oauth, store, timeout=0.2, out=io.StringIO())


def test_missing_key_is_a_clear_cli_error(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_FORTNOX_DEFAULT", raising=False)
    monkeypatch.delenv("FORTNOX_TOKEN_KEY", raising=False)
    monkeypatch.setenv("FORTNOX_CLIENT_ID", "cid")
    monkeypatch.setenv("FORTNOX_CLIENT_SECRET", "SECRET")
    monkeypatch.setenv("FORTNOX_TOKEN_STORE_URL", f"sqlite:///{tmp_path / 't.db'}")
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert "FORTNOX_TOKEN_KEY is not set" in err and "SECRET" not in err


def test_genkey_prints_a_usable_key() -> None:
    out = io.StringIO()
    assert cli.main(["genkey"], out=out) == 0
    cipher = TokenCipher([out.getvalue().strip()])
    assert cipher.decrypt(cipher.encrypt("x"), company="c") == "x"
