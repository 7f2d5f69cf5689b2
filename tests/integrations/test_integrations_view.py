"""The Integrations view in Airflow's own API app: login, permissions, the consent's state,
CSRF, disconnect, fetch, and no secret in any page or log."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from _view_testkit import (
    CALLBACK,
    ORIGIN,
    USERS,
    Person,
    alert_of,
    approve_on_sandbox,
    closed_and_exported,
    csrf_of,
)
from cryptography.fernet import Fernet

from include.fortnox.config import FortnoxSettings
from include.fortnox.errors import InvalidGrant
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.session import FortnoxSession
from include.fortnox.tokens import TokenCipher
from include.fortnox_sandbox import SandboxConfig, SandboxServer
from include.integrations.oauth_state import oauth_state
from include.warehouse.schema import company

pytestmark = [pytest.mark.airflow, pytest.mark.sandbox]


@dataclass
class View:
    app: Any
    sandbox: SandboxServer
    settings: FortnoxSettings
    client_secret: str
    fernet_key: str
    tenants: list[str]
    passwords: dict[str, str]
    warehouse_url: str

    def person(self, name: str) -> Person:
        return Person(self.app, name, self.passwords[name])

    def session(self) -> FortnoxSession:
        return FortnoxSession(self.settings)

    def stored(self, tenant: str) -> dict[str, Any] | None:
        with self.session() as session, session.store.engine.connect() as conn:
            table = session.store.table
            row = conn.execute(sa.select(table).where(table.c.tenant_id == tenant)).first()
        return dict(row._mapping) if row else None

    def secrets(self) -> dict[str, str]:
        """Every secret there is: the app's, the key, each company's stored tokens."""
        found = {"client secret": self.client_secret, "fernet key": self.fernet_key}
        cipher = TokenCipher([self.fernet_key])
        with self.session() as session, session.store.engine.connect() as conn:
            for row in conn.execute(sa.select(session.store.table)).mappings():
                for kind in ("access", "refresh"):
                    if row[f"{kind}_token_encrypted"]:
                        found[f"{kind} token {row['tenant_id']}"] = cipher.decrypt(
                            row[f"{kind}_token_encrypted"], company=row["tenant_id"]
                        )
        return found


@pytest.fixture(scope="module")
def view(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[View]:
    folder = tmp_path_factory.mktemp("view")
    passwords = {name: secrets.token_urlsafe(12) for name in USERS}
    (folder / "passwords.json").write_text(json.dumps(passwords))
    client_secret = secrets.token_urlsafe(24)
    fernet_key = Fernet.generate_key().decode()
    warehouse_url = f"sqlite:///{folder / 'warehouse.db'}"
    config = SandboxConfig(
        client_secret=client_secret,
        companies=3,
        seed=21,
        vouchers_per_year=30,
        redirect_uri=CALLBACK,
    )
    with SandboxServer(config) as sandbox, pytest.MonkeyPatch.context() as env:
        base = sandbox.base_url
        connection = {
            "conn_type": "fortnox",
            "host": f"{base}/3",
            "login": config.client_id,
            "password": client_secret,
            "extra": {"redirect_uri": CALLBACK},
        }
        env.setenv(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
            ",".join(f"{name}:{role}" for name, role in USERS.items()),
        )
        env.setenv(
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(folder / "passwords.json")
        )
        env.setenv("AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(connection))
        env.setenv(
            "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
            json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": warehouse_url}}),
        )
        env.setenv("WAREHOUSE_URL", warehouse_url)
        env.setenv("FORTNOX_TOKEN_KEY", fernet_key)
        env.setenv("FORTNOX_PACER_DIR", str(folder / "pacer"))
        env.setenv("PROJECT_DATA_DIR", str(folder / "data"))
        from airflow.api_fastapi.app import create_app

        tenants = [str(t) for t in sorted(sandbox.sandbox.apis)]
        settings = FortnoxSettings.from_mapping(
            {
                "api_url": f"{base}/3",
                "client_id": config.client_id,
                "client_secret": client_secret,
                "redirect_uri": CALLBACK,
                "token_store_url": warehouse_url,
            }
        )
        yield View(
            create_app(),
            sandbox,
            settings,
            client_secret,
            fernet_key,
            tenants,
            passwords,
            warehouse_url,
        )


def test_anonymous_is_sent_to_the_login_and_changes_nothing(view: View) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(view.app, base_url=ORIGIN, follow_redirects=False)
    answer = anonymous.get("/integrations/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/auth/login?next=")
    assert "integrations" in answer.headers["location"]
    for path in (
        "/integrations/fortnox/connect",
        f"/integrations/fortnox/{view.tenants[0]}/disconnect",
    ):
        refused = anonymous.post(path, data={"csrf_token": "x"}, headers={"Origin": ORIGIN})
        assert refused.status_code == 401 and "not logged in" in refused.text
    # The callback never sends the code on to the login page.
    refused = anonymous.get("/integrations/fortnox/callback?code=abc123abc&state=def456def")
    assert refused.status_code == 401 and "location" not in refused.headers
    forged = TestClient(view.app, base_url=ORIGIN, follow_redirects=False)
    forged.cookies.set("_token", "not.a.jwt")
    assert forged.get("/integrations/").status_code == 303


def test_connect_lists_the_company_and_no_page_or_log_holds_a_secret(
    view: View, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = view.person("admin")
    tenant = view.tenants[0]
    auth_url = admin.start_consent()
    query = dict(parse_qsl(urlsplit(auth_url).query))
    assert query["redirect_uri"] == CALLBACK and query["access_type"] == "offline"
    assert len(query["state"]) >= 40
    callback = approve_on_sandbox(auth_url, tenant)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    answer = admin.get(callback)
    assert answer.status_code == 303 and answer.headers["location"] == "/integrations/"

    page = admin.view()
    name = view.sandbox.sandbox.apis[int(tenant)].tenant.books.company.name
    assert f'data-tenant="{tenant}"' in page and name in page
    assert "Connected " in page  # the flash message after the redirect
    row = view.stored(tenant)
    assert row is not None and row["status"] == "connected" and row["refresh_token_encrypted"]
    engine = sa.create_engine(view.warehouse_url)
    with engine.connect() as conn:
        listed = conn.execute(sa.select(company).where(company.c.fortnox_tenant_id == tenant)).all()
    engine.dispose()
    assert len(listed) == 1 and listed[0].name == name

    needles = {**view.secrets(), "authorisation code": code}
    assert {f"access token {tenant}", f"refresh token {tenant}"} <= set(needles)
    captured = capfd.readouterr()
    lines = [f"{r.name}: {r.getMessage()}" for r in caplog.records]
    lines += (captured.out + captured.err).splitlines()
    logs = "\n".join(line for line in lines if not browser_side(line))
    assert "fortnox/callback" in logs  # we are looking at the access log
    shown = "\n".join(admin.pages)
    assert [k for k, v in needles.items() if v in shown] == []
    assert [k for k, v in needles.items() if v in logs] == []


def browser_side(line: str) -> bool:
    """A log line of the test's own HTTP client, which plays the person's browser (it logs
    the addresses it opens, as a browser's history keeps them), not of the server."""
    client = "httpx" in line or "httpcore" in line
    return client and ("testserver" in line or "/oauth-v1/auth" in line)


def test_browser_side_lines_are_only_the_clients() -> None:
    # The filter must not hide the server's own lines, or the leak check proves nothing.
    assert browser_side("httpx: HTTP Request: GET http://testserver/integrations/x?code=1")
    assert not browser_side("[info] request finished [http.access] path=/x query=code=1")
    assert not browser_side("httpx: HTTP Request: POST http://127.0.0.1:1/oauth-v1/token")


def test_wrong_missing_expired_and_reused_states_are_refused(view: View) -> None:
    admin = view.person("admin")
    tenant = view.tenants[1]
    callback = approve_on_sandbox(admin.start_consent(), tenant)
    params = dict(parse_qsl(urlsplit(callback).query))

    def refused(query: dict[str, str], words: str) -> None:
        answer = admin.get(f"/integrations/fortnox/callback?{urlencode(query)}")
        assert answer.status_code == 400, answer.text
        assert words in alert_of(answer.text)
        assert view.stored(tenant) is None  # nothing saved

    refused({**params, "state": secrets.token_urlsafe(32)}, "does not belong")
    refused({"code": params["code"]}, "carries no state")
    # Expired: a consent started more than ten minutes ago.
    late = dict(parse_qsl(urlsplit(approve_on_sandbox(admin.start_consent(), tenant)).query))
    engine = sa.create_engine(view.warehouse_url)
    with engine.begin() as conn:
        conn.execute(
            sa.update(oauth_state)
            .where(oauth_state.c.used_at.is_(None))
            .values(expires_at=sa.func.datetime("now", "-1 minute"))
        )
    engine.dispose()
    refused(late, "expired")
    # A fresh consent completes once; the same answer again is refused.
    params = dict(parse_qsl(urlsplit(approve_on_sandbox(admin.start_consent(), tenant)).query))
    assert admin.get(f"/integrations/fortnox/callback?{urlencode(params)}").status_code == 303
    assert view.stored(tenant)["status"] == "connected"
    again = admin.get(f"/integrations/fortnox/callback?{urlencode(params)}")
    assert again.status_code == 400 and "already used" in alert_of(again.text)


def test_the_state_belongs_to_the_person_and_browser_that_started(view: View) -> None:
    admin, op = view.person("admin"), view.person("op")
    tenant = view.tenants[2]
    callback = approve_on_sandbox(admin.start_consent(), tenant)
    answer = op.get(callback)  # another user with the right to connect
    assert answer.status_code == 400 and "another Airflow user" in alert_of(answer.text)
    callback = approve_on_sandbox(admin.start_consent(), tenant)
    admin.client.cookies.delete("integrations_oauth")  # the same user, another browser
    answer = admin.get(callback)
    assert answer.status_code == 400 and "another browser" in alert_of(answer.text)
    assert view.stored(tenant) is None or view.stored(tenant)["status"] != "connected"


def test_a_declined_consent_saves_nothing(view: View) -> None:
    admin = view.person("admin")
    callback = approve_on_sandbox(admin.start_consent(), view.tenants[2], approve=False)
    answer = admin.get(callback)
    assert answer.status_code == 400 and "declined" in alert_of(answer.text)


def test_a_viewer_cannot_connect_or_disconnect(view: View) -> None:
    tenant = view.tenants[0]
    admin, viewer = view.person("admin"), view.person("viewer")
    assert admin.connect(tenant).status_code == 303
    page = viewer.view()
    assert f'data-tenant="{tenant}"' in page  # viewers see the list
    assert "Connect Fortnox</button>" not in page and ">Disconnect<" not in page
    assert "Fetch SIE4 data" not in page
    token = viewer.valid_csrf()
    answer = viewer.post("/integrations/fortnox/connect", {"csrf_token": token})
    assert answer.status_code == 403 and "does not allow you to connect" in answer.text
    answer = viewer.post(f"/integrations/fortnox/{tenant}/disconnect", {"csrf_token": token})
    assert answer.status_code == 403 and "does not allow you to disconnect" in answer.text
    assert viewer.get(f"/integrations/fortnox/{tenant}/disconnect").status_code == 403
    # The callback refuses a viewer too, even with an answer from Fortnox in hand.
    callback = approve_on_sandbox(admin.start_consent(), tenant)
    assert viewer.get(callback).status_code == 403
    row = view.stored(tenant)
    assert row["status"] == "connected" and row["refresh_token_encrypted"]
    with view.session() as session:
        assert session.store.get_access_token(tenant)  # still usable


def test_posts_need_the_csrf_token_of_this_person_and_this_origin(view: View) -> None:
    admin, op = view.person("admin"), view.person("op")
    token = csrf_of(admin.view())
    engine = sa.create_engine(view.warehouse_url)

    def states() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(oauth_state)).scalar())

    before = states()
    cases = [
        ({}, {"Origin": ORIGIN}),  # no token
        ({"csrf_token": csrf_of(op.view())}, {"Origin": ORIGIN}),  # someone else's token
        ({"csrf_token": token}, {"Origin": "http://evil.example"}),  # another site
        ({"csrf_token": token}, {"Referer": "http://evil.example/page"}),
        ({"csrf_token": token}, {}),  # neither Origin nor Referer
    ]
    for data, headers in cases:
        answer = admin.post("/integrations/fortnox/connect", data, headers=headers)
        assert answer.status_code == 403 and "Nothing was changed" in answer.text, (data, headers)
    assert states() == before  # no consent was started
    ok = admin.post("/integrations/fortnox/connect", {"csrf_token": token})
    assert ok.status_code == 303
    assert states() == before + 1
    engine.dispose()


def test_disconnect_revokes_at_fortnox_and_forgets_the_tokens(view: View) -> None:
    tenant = view.tenants[1]
    op = view.person("op")
    assert op.connect(tenant).status_code == 303
    refresh = view.secrets()[f"refresh token {tenant}"]
    confirm = op.get(f"/integrations/fortnox/{tenant}/disconnect")
    assert confirm.status_code == 200 and "Disconnect" in confirm.text
    answer = op.post(
        f"/integrations/fortnox/{tenant}/disconnect", {"csrf_token": csrf_of(confirm.text)}
    )
    assert answer.status_code == 303
    row = view.stored(tenant)
    assert row["status"] == "revoked"
    assert row["access_token_encrypted"] is None and row["refresh_token_encrypted"] is None
    assert f"access token {tenant}" not in view.secrets()
    with FortnoxOAuth(view.settings) as oauth, pytest.raises(InvalidGrant):
        oauth.refresh(refresh)  # revoked at Fortnox as well
    page = op.view()
    assert "Disconnected" in page and "disconnected</span>" in page
    missing = op.post("/integrations/fortnox/999999/disconnect", {"csrf_token": csrf_of(page)})
    assert missing.status_code == 404


@pytest.mark.slow
def test_fetch_triggers_the_extract_for_the_company_and_year(view: View) -> None:
    reserialize = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "reserialize"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert reserialize.returncode == 0, reserialize.stderr[-2000:]
    tenant = view.tenants[2]
    admin, user, viewer = view.person("admin"), view.person("user"), view.person("viewer")
    assert admin.connect(tenant).status_code == 303
    fetch = f"/integrations/companies/{tenant}/fetch"

    denied = viewer.post(fetch, {"csrf_token": viewer.valid_csrf(), "fiscal_year": "2024"})
    assert denied.status_code == 403
    answer = user.post(fetch, {"csrf_token": csrf_of(user.view()), "fiscal_year": "2024"})
    assert answer.status_code == 303, answer.text
    page = user.view()
    assert (
        "Fetching SIE4 data (fiscal year 2024) for" in page
        and "/dags/fortnox_extract/runs/" in page
    )
    runs = user.client.get("/api/v2/dags/fortnox_extract/dagRuns").json()
    confs = [r["conf"] for r in runs["dag_runs"]]
    assert {"company": tenant, "fiscal_year": 2024} in confs
    assert "fetch queued" in page or "fetch running" in page
    bad = user.post(fetch, {"csrf_token": csrf_of(page), "fiscal_year": "1066"})
    assert bad.status_code == 400 and "not a fiscal year" in bad.text
    unknown = user.post(
        "/integrations/companies/999999/fetch", {"csrf_token": csrf_of(page), "fiscal_year": ""}
    )
    assert unknown.status_code == 409 and "connect it first" in unknown.text


def test_the_list_shows_quality_and_closing_and_the_export_report(view: View) -> None:
    from include.sie4 import write_sie

    tenant = view.tenants[0]
    admin, viewer = view.person("admin"), view.person("viewer")
    assert admin.connect(tenant).status_code == 303
    books = view.sandbox.sandbox.apis[int(tenant)].tenant.books
    sie = write_sie(books.to_sie(books.years[-1].fiscal_year.start))
    closed_and_exported(view.warehouse_url, tenant, sie)
    page = viewer.view()
    row = page[page.index(f'data-tenant="{tenant}"') :].split("</tr>", 1)[0]
    assert "passed</span>" in row and "approved</span>" in row and "A301" in row
    assert f"/integrations/companies/{tenant}/export" in row  # Export vouchers: the report
    report = viewer.get(f"/integrations/companies/{tenant}/export")
    assert report.status_code == 200
    assert (
        "A301" in report.text and "sent</span>" in report.text and "pending</span>" in report.text
    )
    assert viewer.get("/integrations/companies/999999/export").status_code == 404
