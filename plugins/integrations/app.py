"""The Integrations view: a FastAPI app the API server mounts at ``/integrations``.

Routes (below the mount point):

| route | what |
|---|---|
| ``GET /`` | the companies and their status; the forms below |
| ``POST /fortnox/connect`` | start the consent: a state bound to the person, then Fortnox |
| ``GET /fortnox/callback`` | Fortnox's answer: check the state, store tokens, list the company |
| ``GET /fortnox/{tenant}/disconnect`` | confirm a disconnect |
| ``POST /fortnox/{tenant}/disconnect`` | revoke at Fortnox and forget the tokens |
| ``POST /companies/{tenant}/fetch`` | trigger ``fortnox_extract`` for the company and a year |
| ``POST /companies/{tenant}/closing`` | trigger ``closing`` (Export vouchers with no run yet) |
| ``GET /companies/{tenant}/export`` | the export report: vouchers, states, Fortnox numbers |

Every POST carries a CSRF token bound to the person and their browser and must come from
this origin. Pages render no token, secret or key; error pages say what happened in plain
words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from include.fortnox.errors import FortnoxError, NotConnected
from include.integrations.connect import CALLBACK_PATH, ConnectError
from include.integrations.oauth_state import StateRefused
from include.integrations.security import (
    Signer,
    csrf_token,
    csrf_token_valid,
    new_csrf_secret,
    origin_of,
    request_origin_allowed,
)
from include.integrations.status import CompanyStatus
from integrations.airflow_api import (
    AirflowApi,
    AirflowApiError,
    PendingAction,
    Run,
    action_url,
    run_url,
)
from integrations.airflow_auth import (
    CLOSING_DAG_ID,
    EXTRACT_DAG_ID,
    Person,
    authenticate,
    login_url,
    signing_secret,
)

log = logging.getLogger("integrations")

HERE = Path(__file__).resolve().parent
ROOT_APP_KEY = "integrations.root_app"  # set by integrations_plugin.LazyApp
CSRF_COOKIE = "integrations_csrf"
NONCE_COOKIE = "integrations_oauth"
FLASH_COOKIE = "integrations_flash"
FLASH_SECONDS = 300
NONCE_SECONDS = 600
YEARS_OFFERED = 5  # Fetch SIE4 data offers the latest ended year and the years before it


# ----------------------------------------------------------------------- plumbing


@dataclass(frozen=True)
class Where:
    """The addresses of this request: the view, the Airflow UI, the public origin."""

    view: str  # the view's own path, e.g. /integrations
    ui_root: str  # the Airflow UI's root path, e.g. /
    origin: str  # scheme://host[:port] the person sees
    secure: bool

    def public(self, path: str) -> str:
        return f"{self.origin}{self.view}{path}"


def where(request: Request) -> Where:
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="") or ""
    view = str(request.scope.get("root_path") or "/integrations").rstrip("/")
    ui_root = view.removesuffix("/integrations") + "/"
    request_origin = origin_of(str(request.url)) or ""
    origin = origin_of(base_url) if base_url and "://" in base_url else None
    origin = origin or request_origin
    return Where(view=view, ui_root=ui_root, origin=origin, secure=origin.startswith("https:"))


class Page:
    """Renders templates with what every page needs (CSRF token, flash, links)."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    def render(
        self,
        request: Request,
        name: str,
        *,
        status_code: int = 200,
        person: Person | None = None,
        consent_origin: str | None = None,
        **context: Any,
    ) -> HTMLResponse:
        signer = _signer("csrf")
        here = where(request)
        secret = request.cookies.get(CSRF_COOKIE) or new_csrf_secret()
        flash = _signer("flash").unsign(request.cookies.get(FLASH_COOKIE))
        response = self.templates.TemplateResponse(
            request,
            name,
            {
                "where": here,
                "person": person,
                "csrf_token": csrf_token(signer, secret, person.user_id) if person else "",
                "flash": _unpack_flash(flash),
                **context,
            },
            status_code=status_code,
        )
        if request.cookies.get(CSRF_COOKIE) != secret:
            _set_cookie(response, here, CSRF_COOKIE, secret)
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path=here.view or "/")
        _no_store(response, consent_origin=consent_origin)
        return response

    def message(
        self,
        request: Request,
        title: str,
        text: str,
        *,
        status_code: int,
        person: Person | None = None,
    ) -> HTMLResponse:
        return self.render(
            request,
            "message.html",
            status_code=status_code,
            person=person,
            title=title,
            text=text,
        )


def _signer(purpose: str) -> Signer:
    return Signer(signing_secret(), purpose)


def _pack_flash(kind: str, text: str, link: str | None = None) -> str:
    import base64
    import json

    raw = json.dumps({"kind": kind, "text": text, "link": link}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack_flash(value: str | None) -> dict[str, Any] | None:
    import base64
    import json

    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _set_cookie(
    response: Response,
    here: Where,
    name: str,
    value: str,
    *,
    path: str | None = None,
    max_age: int | None = None,
) -> None:
    """Cookies of the view: HttpOnly, SameSite=Lax (sent on Fortnox's redirect back, not on
    another site's POST), Secure behind HTTPS, scoped to the view's path."""
    response.set_cookie(
        name,
        value,
        path=path or here.view or "/",
        httponly=True,
        samesite="lax",
        secure=here.secure,
        max_age=max_age,
    )


def _redirect(url: str, here: Where, flash: tuple[str, str, str | None] | None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        value = _signer("flash").sign(_pack_flash(*flash), max_age_seconds=FLASH_SECONDS)
        _set_cookie(response, here, FLASH_COOKIE, value, max_age=FLASH_SECONDS)
    _no_store(response)
    return response


def _no_store(response: Response, *, consent_origin: str | None = None) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # Shown inside the Airflow UI (same origin) only; no script at all. Forms post here only,
    # and Connect Fortnox's answer redirects to the consent page.
    form_action = f"'self' {consent_origin}" if consent_origin else "'self'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors 'self'; base-uri 'none'; form-action {form_action}"
    )


def _fortnox_settings(callback_url: str) -> Any:
    """``fortnox_default``'s settings with this view's callback as the redirect URI."""
    from fortnox.hooks import FortnoxHook
    from include.integrations.connect import view_settings

    return view_settings(FortnoxHook().get_settings(), callback_url)


def _warehouse_url() -> str:
    from pipeline.warehouse import warehouse_url

    return warehouse_url()


def _mask(*values: str | None) -> None:
    """Keep these values out of every log line of this process (the access log included)."""
    from airflow._shared.secrets_masker import mask_secret

    for value in values:
        if value:
            mask_secret(value)


def _latest_by_company(runs: list[Run]) -> dict[str, Run]:
    latest: dict[str, Run] = {}
    for run in runs:  # newest first
        if run.company is not None and run.company not in latest:
            latest[run.company] = run
    return latest


def _org_key(text: str) -> str:
    return re.sub(r"\D", "", text)[-10:]


def _by_tenant(runs_by_org: dict[str, Run], companies: list[CompanyStatus]) -> dict[str, Run]:
    """Closing runs name the company by org number (any form): by tenant id instead."""
    by_org = {_org_key(org): run for org, run in runs_by_org.items() if _org_key(org)}
    return {
        c.tenant_id: by_org[_org_key(c.org_number)]
        for c in companies
        if c.org_number and _org_key(c.org_number) in by_org
    }


def _fiscal_year(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1990 <= int(text) <= 2100:
        raise ValueError(f"{text!r} is not a fiscal year (the year it starts in, e.g. 2025)")
    return int(text)


# ---------------------------------------------------------------------- the app


def create_app() -> FastAPI:
    app = FastAPI(title="Integrations", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["when"] = _when
    templates.env.filters["badge"] = _badge
    page = Page(templates)

    async def person_or_page(request: Request) -> Person | Response:
        person = await authenticate(request)
        if person is None:
            return page.message(
                request,
                "Please log in",
                "You are not logged in to Airflow (or your login has expired). Log in and "
                "try again.",
                status_code=401,
            )
        return person

    async def viewing(request: Request, allowed: Callable[[Person], bool], what: str) -> Any:
        """The person for a page: anonymous to Airflow's login, refused without permission."""
        person = await authenticate(request)
        if person is None:
            return RedirectResponse(login_url(str(request.url)), status_code=303)
        if not allowed(person):
            return page.message(
                request,
                "Not allowed",
                f"Your Airflow role does not allow you to {what}.",
                status_code=403,
                person=person,
            )
        return person

    async def changing(request: Request, allowed: Callable[[Person], bool], what: str) -> Any:
        """The person for a POST, after the login, permission, CSRF and origin checks."""
        found = await person_or_page(request)
        if isinstance(found, Response):
            return found
        if not allowed(found):
            return page.message(
                request,
                "Not allowed",
                f"Your Airflow role does not allow you to {what}. Nothing was changed. Ask an "
                "administrator (connecting and disconnecting needs the right to edit "
                "connections; fetching and exporting the right to trigger the DAG).",
                status_code=403,
                person=found,
            )
        form = await request.form()
        here = where(request)
        origin_ok = request_origin_allowed(
            request.headers.get("origin"),
            request.headers.get("referer"),
            [here.origin, origin_of(str(request.url))],
        )
        token_ok = csrf_token_valid(
            _signer("csrf"),
            request.cookies.get(CSRF_COOKIE),
            found.user_id,
            str(form.get("csrf_token") or ""),
        )
        if not (origin_ok and token_ok):
            log.warning("refused a request to %s: no valid CSRF token or origin", what)
            return page.message(
                request,
                "Form expired",
                "This form could not be checked (it is old, or it was not sent from this "
                "page). Nothing was changed. Reload the Integrations view and try again.",
                status_code=403,
                person=found,
            )
        return found

    # ------------------------------------------------------------------ the list

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        person = await viewing(request, lambda p: p.can_view, "use the Airflow UI")
        if isinstance(person, Response):
            return person
        here = where(request)
        listing = await run_in_threadpool(_load_companies, here)
        root = request.scope.get(ROOT_APP_KEY)
        extract_runs: dict[str, Run] = {}
        closing_runs: dict[str, Run] = {}
        approvals: dict[str, PendingAction] = {}
        paused: list[str] = []
        loaded: list[str] = []  # the buttons of a DAG Airflow has not loaded are not shown
        if root is not None:
            async with AirflowApi(root, person.token) as api:
                extract_runs = _latest_by_company(await api.recent_runs(EXTRACT_DAG_ID))
                closing_runs = _by_tenant(
                    _latest_by_company(await api.recent_runs(CLOSING_DAG_ID)),
                    listing["companies"],
                )
                for tenant, run in closing_runs.items():
                    if run.active:
                        pending = await api.pending_actions(CLOSING_DAG_ID, run.run_id)
                        if pending:
                            approvals[tenant] = pending[0]
                for dag_id in (EXTRACT_DAG_ID, CLOSING_DAG_ID):
                    dag = await api.dag(dag_id)
                    if dag is not None:
                        loaded.append(dag_id)
                    if dag and dag.get("is_paused"):
                        paused.append(dag_id)
        active = any(r.active for r in (*extract_runs.values(), *closing_runs.values()))
        return page.render(
            request,
            "index.html",
            person=person,
            companies=listing["companies"],
            problem=listing["problem"],
            consent_origin=listing["consent_origin"],
            extract_runs=extract_runs,
            closing_runs=closing_runs,
            approvals=approvals,
            paused=paused,
            can_fetch=person.can_fetch and EXTRACT_DAG_ID in loaded,
            can_close=person.can_close and CLOSING_DAG_ID in loaded,
            refresh=active,
            years=_years_offered(),
            run_url=lambda dag_id, run_id: run_url(here.ui_root, dag_id, run_id),
            action_url=lambda action: action_url(here.ui_root, action),
        )

    # -------------------------------------------------------------- connecting

    @app.post("/fortnox/connect")
    async def connect(request: Request, service_account: str = Form("")) -> Response:
        found = await changing(request, lambda p: p.can_connect, "connect Fortnox companies")
        if isinstance(found, Response):
            return found
        here = where(request)
        try:
            start = await run_in_threadpool(
                _start_consent, here, found.user_id, service_account == "yes"
            )
        except (ConnectError, FortnoxError) as exc:
            return page.message(request, "Cannot connect", str(exc), status_code=400, person=found)
        log.info("Fortnox consent started by %s", found.user_id)
        response = RedirectResponse(start.url, status_code=303)
        _set_cookie(
            response,
            here,
            NONCE_COOKIE,
            start.issued.nonce,
            path=f"{here.view}/fortnox",
            max_age=NONCE_SECONDS,
        )
        _no_store(response)
        return response

    @app.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        params = dict(request.query_params)
        _mask(params.get("code"), params.get("state"))
        person = await authenticate(request)
        if person is None:  # never redirect to the login with the code in the address
            return page.message(
                request,
                "Please log in",
                "Fortnox answered, but you are not logged in to Airflow any more. Nothing was "
                "saved. Log in, open Integrations and connect again.",
                status_code=401,
            )
        if not person.can_connect:
            return page.message(
                request,
                "Not allowed",
                "Your Airflow role does not allow you to connect Fortnox companies. Nothing "
                "was saved.",
                status_code=403,
                person=person,
            )
        here = where(request)
        nonce = request.cookies.get(NONCE_COOKIE)
        try:
            connected = await run_in_threadpool(
                _finish_consent, here, params, person.user_id, nonce
            )
        except (StateRefused, ConnectError) as exc:
            log.warning("Fortnox consent answer refused for %s: %s", person.user_id, exc)
            return page.message(request, "Not connected", str(exc), status_code=400, person=person)
        except FortnoxError as exc:  # their messages never hold a token or secret
            log.warning("Fortnox consent failed for %s: %s", person.user_id, exc)
            return page.message(
                request,
                "Not connected",
                f"Fortnox could not complete the connection: {exc}. Nothing was saved. Start "
                "again with Connect Fortnox.",
                status_code=502,
                person=person,
            )
        conn = connected.connection
        log.info("Fortnox company %s connected by %s", conn.label, person.user_id)
        org = f" (org nr {conn.org_number})" if conn.org_number else ""
        response = _redirect(
            f"{here.view}/",
            here,
            ("ok", f"Connected {conn.company_name or conn.tenant_id}{org}.", None),
        )
        response.delete_cookie(NONCE_COOKIE, path=f"{here.view}/fortnox")
        return response

    # ------------------------------------------------------------ disconnecting

    @app.get("/fortnox/{tenant_id}/disconnect", response_class=HTMLResponse)
    async def confirm_disconnect(request: Request, tenant_id: str) -> Response:
        person = await viewing(request, lambda p: p.can_disconnect, "disconnect Fortnox companies")
        if isinstance(person, Response):
            return person
        company = await _company(where(request), tenant_id)
        if company is None:
            return page.message(
                request,
                "Unknown company",
                f"No company with tenant id {tenant_id} is connected.",
                status_code=404,
                person=person,
            )
        return page.render(request, "disconnect.html", person=person, company=company)

    @app.post("/fortnox/{tenant_id}/disconnect")
    async def disconnect(request: Request, tenant_id: str) -> Response:
        found = await changing(request, lambda p: p.can_disconnect, "disconnect Fortnox companies")
        if isinstance(found, Response):
            return found
        here = where(request)
        try:
            conn = await run_in_threadpool(_disconnect, here, tenant_id)
        except NotConnected:
            return page.message(
                request,
                "Unknown company",
                f"No company with tenant id {tenant_id} is connected.",
                status_code=404,
                person=found,
            )
        except FortnoxError as exc:
            return page.message(
                request,
                "Not disconnected",
                f"Fortnox did not confirm the revocation: {exc}. The tokens are kept so that "
                "you can try again.",
                status_code=502,
                person=found,
            )
        log.info("Fortnox company %s disconnected by %s", conn.label, found.user_id)
        text = f"Disconnected {conn.label}: access revoked at Fortnox and its tokens deleted."
        return _redirect(f"{here.view}/", here, ("ok", text, None))

    # --------------------------------------------------- fetching and exporting

    @app.post("/companies/{tenant_id}/fetch")
    async def fetch(request: Request, tenant_id: str, fiscal_year: str = Form("")) -> Response:
        found = await changing(request, lambda p: p.can_fetch, "fetch SIE4 data")
        if isinstance(found, Response):
            return found
        try:
            year = _fiscal_year(fiscal_year)
        except ValueError as exc:
            return page.message(request, "Not started", str(exc), status_code=400, person=found)
        # fortnox_extract's params: the tenant id, and the year the fiscal year starts in.
        return await _trigger(
            request,
            found,
            EXTRACT_DAG_ID,
            tenant_id,
            lambda company: {"company": company.tenant_id, "fiscal_year": year},
            f"Fetching SIE4 data ({f'fiscal year {year}' if year else 'the latest ended year'})",
        )

    @app.post("/companies/{tenant_id}/closing")
    async def start_closing(
        request: Request, tenant_id: str, fiscal_year: str = Form("")
    ) -> Response:
        found = await changing(request, lambda p: p.can_close, "export vouchers")
        if isinstance(found, Response):
            return found
        try:
            start = date.fromisoformat(fiscal_year)
        except ValueError:
            return page.message(
                request,
                "Not started",
                f"{fiscal_year!r} is not a fiscal year's first day (YYYY-MM-DD).",
                status_code=400,
                person=found,
            )
        # closing's params: the company's org number, the fiscal year's first day. Its run
        # page in the Airflow UI shows it on its way to the approval.
        return await _trigger(
            request,
            found,
            CLOSING_DAG_ID,
            tenant_id,
            lambda company: {"company": company.org_number, "fiscal_year": start.isoformat()},
            f"Closing of the fiscal year from {start}",
            open_run=True,
        )

    async def _trigger(
        request: Request,
        person: Person,
        dag_id: str,
        tenant_id: str,
        conf: Callable[[CompanyStatus], dict[str, Any]],
        label: str,
        *,
        open_run: bool = False,
    ) -> Response:
        here = where(request)
        company = await _company(here, tenant_id)
        if company is None or company.connection.status != "connected":
            return page.message(
                request,
                "Not started",
                f"Tenant {tenant_id} is not connected to Fortnox: connect it first.",
                status_code=409,
                person=person,
            )
        root = request.scope.get(ROOT_APP_KEY)
        note = f"{label} for {company.label}, from the Integrations view by {person.name}"
        try:
            async with AirflowApi(root, person.token) as api:
                run = await api.trigger(dag_id, conf(company), note)
        except AirflowApiError as exc:
            return page.message(request, "Not started", str(exc), status_code=400, person=person)
        log.info("%s run %s triggered for %s by %s", dag_id, run.run_id, tenant_id, person.user_id)
        link = run_url(here.ui_root, dag_id, run.run_id)
        if open_run:
            return _redirect(link, here, None)
        text = f"{label} for {company.label}: run {run.run_id}."
        return _redirect(f"{here.view}/", here, ("ok", text, link))

    @app.get("/companies/{tenant_id}/export", response_class=HTMLResponse)
    async def export_report(request: Request, tenant_id: str) -> Response:
        person = await viewing(request, lambda p: p.can_view, "use the Airflow UI")
        if isinstance(person, Response):
            return person
        company = await _company(where(request), tenant_id)
        if company is None or company.closing is None or not company.closing.vouchers:
            return page.message(
                request,
                "No export yet",
                "No vouchers of this company have been exported to Fortnox yet.",
                status_code=404,
                person=person,
            )
        return page.render(request, "export.html", person=person, company=company)

    return app


# ------------------------------------------------ blocking work (in a thread)


SUCCESS = {"connected", "success", "passed", "ok", "sent", "exported", "approved"}
FAILED = {"failed", "must reconnect", "blocked", "rejected", "upstream_failed", "error"}
RUNNING = {"queued", "running", "pending", "sending", "awaiting approval", "deferred"}


def _badge(status: object) -> str:
    """The badge colour of a status word (green, red, yellow, else gray)."""
    text = str(status).lower()
    if text in SUCCESS:
        return "success"
    if text in FAILED:
        return "failed"
    if text in RUNNING or text.startswith("awaiting"):
        return "running"
    return "none"


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


async def _company(here: Where, tenant_id: str) -> CompanyStatus | None:
    listing = await run_in_threadpool(_load_companies, here)
    return next((c for c in listing["companies"] if c.tenant_id == tenant_id), None)


def _years_offered(today: date | None = None) -> list[int]:
    today = today or datetime.now(UTC).date()
    return [today.year - 1 - i for i in range(YEARS_OFFERED)]


def _load_companies(here: Where) -> dict[str, Any]:
    """The companies and their status; ``problem`` is a plain-words configuration issue."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from include.fortnox.session import FortnoxSession
    from include.fortnox.token_schema import create_token_tables
    from include.integrations.status import company_statuses
    from include.settings import data_dir

    empty: dict[str, Any] = {"companies": [], "consent_origin": None}
    try:
        settings = _fortnox_settings(here.public(CALLBACK_PATH))
        with FortnoxSession(settings) as session:
            create_token_tables(session.store.engine)
            connections = session.store.list_connections()
    except (ConnectError, FortnoxError) as exc:
        return {**empty, "problem": str(exc)}
    except AirflowNotFoundException:
        return {
            **empty,
            "problem": "Fortnox is not configured: Airflow has no connection fortnox_default "
            "(the Fortnox app's API URL, client id and client secret).",
        }
    companies = company_statuses(connections, data_root=data_dir(), warehouse_url=_warehouse_url())
    return {"companies": companies, "problem": None, "consent_origin": origin_of(settings.auth_url)}


def _start_consent(here: Where, user_id: str, service_account: bool) -> Any:
    from include.fortnox.session import FortnoxSession
    from include.integrations.connect import start_consent
    from include.integrations.oauth_state import OAuthStateStore, create_state_tables

    settings = _fortnox_settings(here.public(CALLBACK_PATH))
    with FortnoxSession(settings) as session:
        create_state_tables(session.store.engine)
        states = OAuthStateStore(session.store.engine)
        return start_consent(settings, states, user_id, service_account=service_account)


def _finish_consent(here: Where, params: dict[str, str], user_id: str, nonce: str | None) -> Any:
    from include.fortnox.session import FortnoxSession
    from include.fortnox.token_schema import create_token_tables
    from include.integrations.connect import finish_consent
    from include.integrations.oauth_state import OAuthStateStore, create_state_tables

    settings = _fortnox_settings(here.public(CALLBACK_PATH))
    with FortnoxSession(settings) as session:
        create_state_tables(session.store.engine)
        create_token_tables(session.store.engine)
        return finish_consent(
            settings,
            session.oauth,
            session.store,
            OAuthStateStore(session.store.engine),
            params,
            username=user_id,
            nonce=nonce,
            warehouse_url=_warehouse_url(),
        )


def _disconnect(here: Where, tenant_id: str) -> Any:
    from include.fortnox.session import FortnoxSession

    settings = _fortnox_settings(here.public(CALLBACK_PATH))
    with FortnoxSession(settings) as session:
        return session.store.revoke(tenant_id)
