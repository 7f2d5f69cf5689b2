"""A person's browser against the Integrations view mounted in Airflow's real API app.

The API app is Airflow's own (``airflow.api_fastapi.app.create_app``) with the simple auth
manager; the Fortnox side is the sandbox over real HTTP. Only the browser is simulated (a
TestClient keeping cookies), so every check of the view runs as in the API server.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import sqlalchemy as sa

from include.fortnox.cli import _FormReader

ORIGIN = "http://testserver"
CALLBACK = f"{ORIGIN}/integrations/fortnox/callback"
USERS = {"admin": "admin", "op": "op", "user": "user", "viewer": "viewer"}  # name: role


def approve_on_sandbox(auth_url: str, tenant: str, *, approve: bool = True) -> str:
    """Approve (or decline) the consent as the person would; the callback's path + query."""
    page = httpx.get(auth_url, timeout=30)
    page.raise_for_status()
    form = _FormReader()  # the command line's reader of the sandbox's consent form
    form.feed(page.text)
    assert tenant in form.tenants, (tenant, form.tenants)
    answer = httpx.post(
        urljoin(auth_url, form.action),
        data={**form.fields, "tenant": tenant, "approve": "yes" if approve else "no"},
        timeout=30,
    )
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["location"]
    assert location.startswith(CALLBACK), location
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def alert_of(html: str) -> str:
    match = re.search(r'role="alert">\s*([^<]+?)\s*<', html)
    return match.group(1) if match else ""


class Person:
    """A logged-in Airflow user's browser (cookies kept between requests)."""

    def __init__(self, app: Any, username: str, password: str) -> None:
        from fastapi.testclient import TestClient

        self.username = username
        self.client = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        answer = self.client.post("/auth/token", json={"username": username, "password": password})
        assert answer.status_code == 201, answer.text
        self.client.cookies.set("_token", answer.json()["access_token"])
        self.pages: list[str] = []  # every HTML page this person was shown

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        self.pages.append(response.text)
        return response

    def view(self) -> str:
        response = self.get("/integrations/")
        assert response.status_code == 200, response.text
        return response.text

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {"Origin": ORIGIN})
        if data is None:
            data = {"csrf_token": csrf_of(self.view())}
        response = self.client.post(path, data=data, headers=headers, **kwargs)
        self.pages.append(response.text)
        return response

    def valid_csrf(self) -> str:
        """The CSRF token a form on this person's page would carry (a viewer's page has no
        form): with it, only the permission check stands between them and the action."""
        from include.integrations.security import Signer, csrf_token
        from integrations.airflow_auth import signing_secret

        self.view()  # sets the browser's CSRF cookie
        secret = self.client.cookies.get("integrations_csrf")
        return csrf_token(Signer(signing_secret(), "csrf"), secret, self.username)

    def start_consent(self, **form: str) -> str:
        """Press Connect Fortnox; the consent page's URL."""
        answer = self.post(
            "/integrations/fortnox/connect", {"csrf_token": csrf_of(self.view()), **form}
        )
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]

    def connect(self, tenant: str) -> httpx.Response:
        callback = approve_on_sandbox(self.start_consent(), tenant)
        return self.get(callback)


def closed_and_exported(url: str, tenant: str, books_sie: bytes) -> tuple[int, date]:
    """A Fortnox company's books loaded, checked, approved, one voucher sent (A 301)."""
    from include.closing.approval import approved_voucher_set
    from include.closing.export_testing import approve, closing_vouchers
    from include.closing.outbox import Outbox
    from include.quality.testing import record_checks
    from include.warehouse.loader import load_sie
    from include.warehouse.migrate import migrate

    migrate(url)
    result = load_sie(books_sie, url, source_kind="fortnox", fortnox_tenant_id=tenant)
    company_id, start = result.company_id, result.fiscal_year_start
    record_checks(url, company_id, start)
    approval = approve(url, company_id, start, closing_vouchers(2, tag="ui", attachments=False))
    engine = sa.create_engine(url)
    outbox = Outbox(engine)
    voucher_set = approved_voucher_set(url, approval.approval_id)
    first, _ = outbox.schedule(approval.approval_id, voucher_set)
    sent = {"fortnox_series": "A", "fortnox_number": 301, "financial_year_id": 2}
    outbox.save(first, state="sent", **sent)
    engine.dispose()
    return company_id, start
