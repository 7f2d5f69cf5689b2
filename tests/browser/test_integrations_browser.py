"""A person in headless Chromium: log in to Airflow, open Integrations from the navigation,
connect a company through the sandbox's consent page, see it listed, fetch its SIE4 data
and see the extract land and load, open the closing's waiting approval. Screenshots of every
step go to test-artifacts/browser/. No page and no log may hold a token or a secret."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from _browser_testkit import ARTIFACTS, Stack

from include.fortnox.tokens import TokenCipher

pytestmark = [pytest.mark.airflow, pytest.mark.sandbox, pytest.mark.slow, pytest.mark.browser]

LAND_TIMEOUT = 480  # seconds for fortnox_extract and sie4_to_warehouse to run on 2 busy cores


class Person:
    """The browser tab, a record of every page it showed and a screenshot per step."""

    def __init__(self, page: Any, stack: Stack, step: int = 0) -> None:
        self.page = page
        self.stack = stack
        self.shown: list[str] = []
        self.requests: list[str] = []
        self.step = step
        page.on("request", lambda request: self.requests.append(request.url))

    def snapshot(self, name: str, *, record: bool = True) -> Path:
        self.step += 1
        if record:
            self.record()
        path = ARTIFACTS / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def record(self) -> None:
        for frame in self.page.frames:
            try:
                self.shown.append(frame.content())
            except Exception:  # a frame navigating away
                continue

    def view(self) -> Any:
        return self.page

    def open_view(self) -> Any:
        self.page.goto(f"{self.stack.airflow.base_url}/integrations/")
        self.page.locator("h1", has_text="Integrations").wait_for(timeout=60_000)
        return self.page


def stored_secrets(stack: Stack) -> dict[str, str]:
    found = {"client secret": stack.client_secret, "fernet key": stack.fernet_key}
    for key in ("AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        found[key] = stack.airflow.env[key]
    found.update({f"password {u}": p for u, p in stack.airflow.passwords.items()})
    cipher = TokenCipher([stack.fernet_key])
    engine = sa.create_engine(stack.warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM fortnox_connection")).mappings().all()
    engine.dispose()
    for row in rows:
        for kind in ("access", "refresh"):
            value = row[f"{kind}_token_encrypted"]
            if value:
                found[f"{kind} token {row['tenant_id']}"] = cipher.decrypt(value, company="t")
    return found


def test_a_person_connects_fetches_and_opens_the_approval(stack: Stack, browser: Any) -> None:
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    person = Person(page, stack)
    base = stack.airflow.base_url
    tenant = str(sorted(stack.sandbox.sandbox.apis)[0])
    company = stack.sandbox.sandbox.apis[int(tenant)].tenant.books.company

    # 1. Log in through Airflow's own login page.
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", stack.airflow.passwords["admin"])
    person.snapshot("login", record=False)  # the password the person typed is in the form
    page.get_by_role("button", name="Sign in").click()

    # 2. The Airflow UI's navigation entry opens the view (in a tab of its own).
    page.get_by_role("button", name="Admin").click(timeout=120_000)
    entry = page.get_by_role("menuitem", name="Integrations")
    entry.wait_for(timeout=30_000)
    person.snapshot("airflow-navigation")
    with context.expect_page() as opened:
        entry.click()
    page, first = opened.value, person
    person = Person(page, stack, step=first.step)
    person.shown.extend(first.shown)
    page.wait_for_url(re.compile(r".*/integrations/$"), timeout=60_000)
    view = page
    assert view.get_by_role("button", name="Connect Fortnox").is_visible()
    person.snapshot("integrations-empty")

    # 3. Connect Fortnox: the sandbox's consent page, choose the company, approve.
    view.get_by_role("button", name="Connect Fortnox").click()
    page.wait_for_url(re.compile(r".*/oauth-v1/auth\?.*"))
    assert "consent" in page.title()
    page.check(f"input[name=tenant][value='{tenant}']")
    person.snapshot("fortnox-consent")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r".*/integrations/$"), timeout=60_000)
    row = person.view().locator(f"tr[data-tenant='{tenant}']")
    row.wait_for(timeout=60_000)
    assert company.name in row.inner_text() and "connected" in row.inner_text()
    assert "Connected " in person.view().locator("[role=status]").first.inner_text()
    person.snapshot("connected")
    callbacks = [u for u in person.requests if "/integrations/fortnox/callback?" in u]
    assert len(callbacks) == 1
    code = dict(parse_qsl(urlsplit(callbacks[0]).query))["code"]

    # 4. Fetch SIE4 data for the latest ended year; the page shows the extract land.
    row.get_by_role("button", name="Fetch SIE4 data").click()
    status = person.view().locator("[role=status]").first
    status.wait_for(timeout=60_000)
    assert "Fetching SIE4 data" in status.inner_text()
    run_id = status.inner_text().split(": run ", 1)[1].split()[0].rstrip(".")
    person.snapshot("fetch-started")
    deadline = time.monotonic() + LAND_TIMEOUT
    while True:
        text = person.view().locator(f"tr[data-tenant='{tenant}']").inner_text()
        if "fetched" in text and "loaded" in text and "fetch success" in text:
            break
        failed = "fetch failed" in text
        if failed or time.monotonic() > deadline:
            person.snapshot("fetch-did-not-land")
            pytest.fail(f"the extract did not land and load (row: {text!r})")
        time.sleep(5)
        person.open_view()
    person.snapshot("extract-landed")
    # (The DAG's own schedule may have fetched the company too: look for this run's extract.)
    landed = stack.data_dir.glob(f"landing/{tenant}/*/*/manifest.json")
    assert run_id in [json.loads(m.read_text())["run_id"] for m in landed]

    # 5. Export vouchers: the closing run, then its approval waiting for a person.
    open_waiting_approval(person, stack, tenant, company.org_number)

    # No page showed, and no log of Airflow (components and tasks) holds, a secret.
    person.record()
    needles = {**stored_secrets(stack), "authorisation code": code}
    assert {f"access token {tenant}", f"refresh token {tenant}"} <= set(needles)
    shown = "\n".join(person.shown)
    assert [name for name, value in needles.items() if value in shown] == []
    logs = stack.airflow.logs()
    assert "fortnox/callback" in logs and "publish_extract" in logs  # we read the right logs
    assert [name for name, value in needles.items() if value in logs] == []
    context.close()


def accept_proposals(stack: Stack, org_number: str, fiscal_year_start: str) -> None:
    """What the accountants do before Export vouchers: accept the closing's proposals."""
    from include.closing.cli import main as closing_cli

    out = io.StringIO()
    code = closing_cli(
        ["propose", "--url", stack.warehouse_url, "--company", org_number,
         "--fiscal-year", fiscal_year_start, "--accept", "all"],
        out=out,
    )  # fmt: skip
    assert code == 0, out.getvalue()


def open_waiting_approval(person: Person, stack: Stack, tenant: str, org_number: str) -> None:
    """The data_quality DAG checks the loaded books (the page shows its verdict); Export
    vouchers starts the closing; the view then leads to its waiting approval."""
    deadline = time.monotonic() + LAND_TIMEOUT
    while True:
        view = person.open_view()
        row = view.locator(f"tr[data-tenant='{tenant}']")
        quality = row.locator("td.quality").inner_text()
        if "passed" in quality or "warnings" in quality:
            break
        if "failed" in quality or time.monotonic() > deadline:
            person.snapshot("quality-not-passed")
            pytest.fail(f"the quality checks did not pass: {quality!r}")
        time.sleep(5)
    person.snapshot("quality-checked")
    start = row.locator("td.load").inner_text().split("fiscal year from ", 1)[1].split()[0]
    accept_proposals(stack, org_number, start)
    row.get_by_role("button", name="Export vouchers").click()
    person.page.wait_for_url(re.compile(r".*/dags/closing/runs/.*"), timeout=60_000)
    person.page.wait_for_load_state("networkidle")
    person.snapshot("closing-started")
    deadline = time.monotonic() + LAND_TIMEOUT
    while True:
        view = person.open_view()
        row = view.locator(f"tr[data-tenant='{tenant}']")
        link = row.get_by_role("link", name=re.compile("open the approval"))
        if link.count():
            break
        if "closing failed" in row.inner_text() or time.monotonic() > deadline:
            person.snapshot("no-waiting-approval")
            pytest.fail(f"the closing run did not come to wait for approval: {row.inner_text()!r}")
        time.sleep(5)
    assert "awaiting approval" in row.inner_text()
    person.snapshot("awaiting-approval")
    link.first.click()
    person.page.wait_for_url(re.compile(r".*/required_actions.*"), timeout=60_000)
    person.page.get_by_role("button", name="Approve").first.wait_for(timeout=90_000)
    person.page.wait_for_load_state("networkidle")
    person.snapshot("approval-page")
