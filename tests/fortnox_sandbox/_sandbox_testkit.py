"""Test helpers: an in-process sandbox on a free port and a client that walks the OAuth flow."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx

from include.fortnox_sandbox import SandboxConfig, SandboxServer

REDIRECT_URI = "http://127.0.0.1:8765/callback"
ALL_SCOPES = "bookkeeping invoice supplierinvoice payment companyinformation settings"
TODAY = date(2025, 12, 1)  # some invoices are still open on this day


@dataclass
class Sandbox:
    server: SandboxServer
    secret: str
    http: httpx.Client

    @property
    def client_id(self) -> str:
        return self.server.config.client_id

    @property
    def tenants(self) -> list[int]:
        return sorted(self.server.sandbox.apis)

    def books(self, tenant: int):  # type: ignore[no-untyped-def]
        return self.server.sandbox.apis[tenant].tenant.books

    def authorize(self, tenant: int, scope: str = ALL_SCOPES, state: str = "st-1") -> str:
        """Walk the consent page like a person; return the code from the redirect."""
        page = self.http.get(
            "/oauth-v1/auth",
            params={
                "client_id": self.client_id,
                "response_type": "code",
                "state": state,
                "scope": scope,
                "redirect_uri": REDIRECT_URI,
                "access_type": "offline",
            },
        )
        assert page.status_code == 200, page.text
        form = {
            k: html.unescape(v)
            for k, v in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text)
        }
        assert str(tenant) in re.findall(r'name="tenant" value="(\d+)"', page.text)
        answer = self.http.post(
            "/oauth-v1/auth", data={**form, "tenant": str(tenant), "approve": "yes"}
        )
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        assert query["state"] == [state]
        return query["code"][0]

    def token(self, **form: str) -> httpx.Response:
        return self.http.post("/oauth-v1/token", data=form, auth=(self.client_id, self.secret))

    def connect(self, tenant: int, scope: str = ALL_SCOPES) -> dict[str, str]:
        code = self.authorize(tenant, scope)
        answer = self.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def service_token(self, tenant: int) -> str:
        answer = self.http.post(
            "/oauth-v1/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.secret),
            headers={"TenantId": str(tenant)},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def api(self, token: str, path: str, **params: object) -> httpx.Response:
        return self.http.get(
            f"/3/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )


def make_sandbox(**overrides: object) -> Iterator[Sandbox]:
    secret = secrets.token_urlsafe(16)
    settings: dict[str, object] = {
        "companies": 2,
        "seed": 3,
        "vouchers_per_year": 80,
        "today": TODAY,
        **overrides,
    }
    config = SandboxConfig(client_secret=secret, **settings)  # type: ignore[arg-type]
    with (
        SandboxServer(config) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
    ):
        yield Sandbox(server, secret, http)
