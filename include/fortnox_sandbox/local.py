"""A sandbox on loopback with every tenant connected through the real consent flow.

For tests and benchmarks that need "Fortnox with N connected companies":

    with connected_sandbox(companies=20, token_store_url=url) as local:
        session = FortnoxSession(local.settings)
        ...

The client secret is random per run and never printed; the redirect listener gets a free port.
"""

from __future__ import annotations

import io
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from include.fortnox.config import FortnoxSettings
from include.fortnox_sandbox.server import SandboxConfig, SandboxServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LocalFortnox:
    server: SandboxServer
    settings: FortnoxSettings
    tenants: list[dict[str, Any]]
    client_secret: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def tenant_ids(self) -> list[str]:
        return [str(t["TenantId"]) for t in self.tenants]

    def airflow_connection(self) -> dict[str, Any]:
        """The ``fortnox_default`` connection (e.g. for AIRFLOW_CONN_FORTNOX_DEFAULT as JSON)."""
        s = self.settings
        return {
            "conn_type": "fortnox",
            "host": s.api_url,
            "login": s.client_id,
            "password": self.client_secret,
            "extra": {
                "auth_url": s.auth_url,
                "token_url": s.token_url,
                "revoke_url": s.revoke_url,
                "redirect_uri": s.redirect_uri,
                "token_store_url": s.token_store_url,
            },
        }

    def admin(self, method: str, path: str, **body: object) -> dict[str, Any]:
        """Call an admin endpoint (``/admin/stats``, ``/admin/faults``, ...)."""
        answer = httpx.request(method, f"{self.base_url}{path}", json=body or None, timeout=30)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


@contextmanager
def connected_sandbox(
    *,
    token_store_url: str,
    companies: int = 3,
    seed: int = 1,
    vouchers_per_year: int = 60,
    today: date | None = None,
    rate_limit: int = 25,
    rate_window_s: float = 5.0,
) -> Iterator[LocalFortnox]:
    """Start a sandbox and connect every tenant into the token store (needs FORTNOX_TOKEN_KEY).

    ``rate_limit`` per ``rate_window_s``: Fortnox's 25 per 5 s; tests may shorten the window
    (same sliding-window semantics, less waiting).
    """
    from include.fortnox.cli import connect
    from include.fortnox.session import FortnoxSession
    from include.fortnox.token_schema import create_token_tables

    secret = secrets.token_urlsafe(24)
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    config = SandboxConfig(
        client_secret=secret,
        companies=companies,
        seed=seed,
        vouchers_per_year=vouchers_per_year,
        today=today,
        redirect_uri=redirect,
        rate_limit=rate_limit,
        rate_window_s=rate_window_s,
    )
    with SandboxServer(config) as server:
        base = server.base_url
        settings = FortnoxSettings.from_mapping(
            {
                "api_url": f"{base}/3",
                "auth_url": f"{base}/oauth-v1/auth",
                "token_url": f"{base}/oauth-v1/token",
                "revoke_url": f"{base}/oauth-v1/revoke",
                "client_id": config.client_id,
                "client_secret": secret,
                "redirect_uri": redirect,
                "token_store_url": token_store_url,
            }
        )
        tenants: list[dict[str, Any]] = httpx.get(f"{base}/admin/tenants").json()["Tenants"]
        session = FortnoxSession(settings)
        try:
            create_token_tables(session.store.engine)
            for tenant in tenants:
                connect(
                    settings,
                    session.oauth,
                    session.store,
                    auto=True,
                    tenant=str(tenant["TenantId"]),
                    out=io.StringIO(),
                )
        finally:
            session.close()
        yield LocalFortnox(server, settings, tenants, secret)
