"""OAuth calls and settings against mocked HTTP."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from include.fortnox.config import FortnoxSettings, token_store_url_from_env
from include.fortnox.errors import (
    FortnoxConnectionError,
    InvalidClient,
    InvalidGrant,
    OAuthError,
)
from include.fortnox.models import FortnoxError
from include.fortnox.oauth import FortnoxOAuth
from include.settings import default_warehouse_url

SECRET = "client-SECRET-value"
SETTINGS = FortnoxSettings(client_id="cid", client_secret=SECRET)


def oauth_with(handler, requests: list[httpx.Request] | None = None) -> FortnoxOAuth:
    seen = requests if requests is not None else []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return FortnoxOAuth(SETTINGS, transport=httpx.MockTransport(record))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


TOKEN_ANSWER = {
    "access_token": "acc-SECRET",
    "refresh_token": "ref-SECRET",
    "scope": "bookkeeping",
    "expires_in": 3600,
    "token_type": "bearer",
}


def test_authorization_url_has_state_scopes_and_offline() -> None:
    oauth = FortnoxOAuth(SETTINGS)
    first, second = oauth.authorization_url(), oauth.authorization_url()
    assert first.state != second.state and len(first.state) >= 24
    url = urlsplit(first.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://apps.fortnox.se/oauth-v1/auth"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query == {
        "client_id": "cid",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "scope": "bookkeeping invoice supplierinvoice payment companyinformation settings "
        "inbox archive connectfile",
        "state": first.state,
        "access_type": "offline",
        "response_type": "code",
    }
    assert SECRET not in first.url
    service = oauth.authorization_url(service_account=True)
    assert "account_type=service" in service.url


def test_code_exchange_uses_basic_auth_and_form() -> None:
    seen: list[httpx.Request] = []
    oauth = oauth_with(lambda r: httpx.Response(200, json=TOKEN_ANSWER), seen)
    tokens = oauth.exchange_code("the-code")
    request = seen[0]
    assert str(request.url) == "https://apps.fortnox.se/oauth-v1/token"
    assert (
        request.headers["Authorization"]
        == "Basic " + base64.b64encode(f"cid:{SECRET}".encode()).decode()
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://127.0.0.1:8765/callback",
    }
    assert tokens.access_token == "acc-SECRET" and tokens.refresh_token == "ref-SECRET"
    assert "SECRET" not in repr(tokens)


def test_refresh_and_client_credentials() -> None:
    seen: list[httpx.Request] = []
    oauth = oauth_with(lambda r: httpx.Response(200, json=TOKEN_ANSWER), seen)
    oauth.refresh("old-refresh")
    oauth.client_credentials("998877")
    assert form(seen[0]) == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}
    assert form(seen[1]) == {"grant_type": "client_credentials"}
    assert seen[1].headers["TenantId"] == "998877"


def test_revoke() -> None:
    seen: list[httpx.Request] = []
    oauth = oauth_with(lambda r: httpx.Response(200, json={}), seen)
    oauth.revoke("ref-1")
    assert str(seen[0].url) == "https://apps.fortnox.se/oauth-v1/revoke"
    assert form(seen[0]) == {"token_type_hint": "refresh_token", "token": "ref-1"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "Invalid refresh token"},
            InvalidGrant,
        ),
        (401, {"error": "invalid_client"}, InvalidClient),
        (401, None, InvalidClient),
        (400, {"error": "invalid_request"}, OAuthError),
        (500, None, OAuthError),
    ],
)
def test_token_errors(status, body, expected) -> None:
    content = json.dumps(body).encode() if body is not None else b"oops"
    oauth = oauth_with(lambda r: httpx.Response(status, content=content))
    with pytest.raises(expected) as info:
        oauth.refresh("ref-SECRET")
    assert type(info.value) is expected
    assert "SECRET" not in str(info.value)


def test_token_request_not_retried_and_network_error_hides_form() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    oauth = oauth_with(handler, seen)
    with pytest.raises(FortnoxConnectionError) as info:
        oauth.refresh("ref-SECRET")
    assert len(seen) == 1
    assert "SECRET" not in str(info.value) and "ReadTimeout" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "ok"),
    [
        (400, {"error": "invalid_grant"}, True),
        (401, {"error": "invalid_client"}, False),
        (200, TOKEN_ANSWER, False),
        (503, {"error": "temporarily_unavailable"}, False),
    ],
)
def test_check_client(status, body, ok) -> None:
    oauth = oauth_with(lambda r: httpx.Response(status, json=body))
    result, message = oauth.check_client()
    assert result is ok and message


def test_settings_repr_hides_secret() -> None:
    assert SECRET not in repr(SETTINGS)
    with pytest.raises(FortnoxError, match="client secret"):
        FortnoxSettings(client_id="cid", client_secret="")


def test_settings_from_env_json_connection() -> None:
    conn = {
        "conn_type": "fortnox",
        "host": "http://127.0.0.1:8081/3",
        "login": "cid",
        "password": SECRET,
        "extra": {"redirect_uri": "http://127.0.0.1:9000/cb", "scopes": "bookkeeping settings"},
    }
    settings = FortnoxSettings.from_env({"AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(conn)})
    assert settings.api_url == "http://127.0.0.1:8081/3"
    # A non-Fortnox API host implies the OAuth endpoints on the same server (the sandbox).
    assert settings.token_url == "http://127.0.0.1:8081/oauth-v1/token"
    assert settings.auth_url == "http://127.0.0.1:8081/oauth-v1/auth"
    assert settings.redirect_uri == "http://127.0.0.1:9000/cb"
    assert settings.scopes == ("bookkeeping", "settings")
    assert settings.client_secret == SECRET


def test_settings_from_env_uri_connection_and_overrides() -> None:
    env = {
        "AIRFLOW_CONN_FORTNOX_DEFAULT": "fortnox://cid:s%40cret@api.fortnox.se/3?pacer_dir=%2Ftmp%2Fp",
        "FORTNOX_REDIRECT_URI": "http://127.0.0.1:7000/callback",
    }
    settings = FortnoxSettings.from_env(env)
    assert settings.api_url == "https://api.fortnox.se/3"
    assert settings.token_url == "https://apps.fortnox.se/oauth-v1/token"
    assert settings.client_secret == "s@cret"
    assert settings.pacer_dir == "/tmp/p"
    assert settings.redirect_uri == "http://127.0.0.1:7000/callback"


def test_settings_from_fortnox_vars() -> None:
    settings = FortnoxSettings.from_env(
        {"FORTNOX_CLIENT_ID": "a", "FORTNOX_CLIENT_SECRET": "b", "FORTNOX_SCOPES": "bookkeeping"}
    )
    assert settings.api_url == "https://api.fortnox.se/3" and settings.scopes == ("bookkeeping",)
    with pytest.raises(FortnoxError, match="not configured"):
        FortnoxSettings.from_env({})


def test_settings_from_connection_like_object() -> None:
    conn = SimpleNamespace(
        host="api.fortnox.se/3",
        login="cid",
        password=SECRET,
        extra_dejson={"token_store_url": "postgresql+psycopg://x/y"},
    )
    settings = FortnoxSettings.from_connection(conn)
    assert settings.api_url == "https://api.fortnox.se/3"
    assert settings.resolved_token_store_url({}) == "postgresql+psycopg://x/y"


def test_token_store_url_default_chain() -> None:
    # Not relative to the working directory: the same file as the warehouse's default.
    assert token_store_url_from_env({}) == default_warehouse_url({})
    assert default_warehouse_url({}).startswith("sqlite:////")
    assert token_store_url_from_env({"PROJECT_DATA_DIR": "/d"}) == "sqlite:////d/warehouse.db"
    assert token_store_url_from_env({"WAREHOUSE_URL": "sqlite:///w.db"}) == "sqlite:///w.db"
    assert (
        token_store_url_from_env(
            {"WAREHOUSE_URL": "sqlite:///w.db", "FORTNOX_TOKEN_STORE_URL": "x"}
        )
        == "x"
    )
