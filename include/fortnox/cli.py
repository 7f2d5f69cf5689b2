"""``python -m include.fortnox``: connect a company (OAuth consent), list, revoke, rotate-key.

Configuration comes from the environment (see :meth:`FortnoxSettings.from_env`), the token
store from ``FORTNOX_TOKEN_STORE_URL`` / ``WAREHOUSE_URL`` and its key from
``FORTNOX_TOKEN_KEY``. Nothing this command prints contains a token or a key.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TextIO
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import sqlalchemy as sa

from include.fortnox.client import FortnoxClient
from include.fortnox.config import FortnoxSettings, token_store_url_from_env
from include.fortnox.errors import FortnoxError
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.token_schema import GRANT_AUTHORIZATION_CODE, create_token_tables
from include.fortnox.tokens import TOKEN_KEY_ENV, StoredConnection, TokenCipher, TokenStore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m include.fortnox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    connect = sub.add_parser("connect", help="connect a company: consent in the browser")
    connect.add_argument(
        "--auto",
        action="store_true",
        help="sandbox only: approve the consent form itself (for --tenant, else the first)",
    )
    connect.add_argument("--tenant", help="tenant id to approve with --auto")
    connect.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the browser redirect"
    )
    sub.add_parser("list", help="connected companies and their status")
    revoke = sub.add_parser("revoke", help="revoke a company's tokens and mark it revoked")
    revoke.add_argument("--tenant", required=True)
    sub.add_parser("genkey", help="print a new FORTNOX_TOKEN_KEY (Fernet key)")
    rotate = sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored token with the first key of FORTNOX_TOKEN_KEY "
        "(set it to NEW,OLD first), then check that the first key alone opens them",
    )
    rotate.add_argument(
        "--url",
        help="the token store's database (default: fortnox_default's token_store_url, else "
        "FORTNOX_TOKEN_STORE_URL, else WAREHOUSE_URL)",
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command == "genkey":
        print(TokenCipher.generate_key(), file=out)
        return 0
    if args.command == "rotate-key":  # needs the key and the database, not the Fortnox app
        try:
            print(rotate_key(args.url), file=out)
        except FortnoxError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        settings = FortnoxSettings.from_env()
        oauth = FortnoxOAuth(settings)
        store = TokenStore(settings.resolved_token_store_url(), TokenCipher.from_env(), oauth)
        if args.command == "connect":
            create_token_tables(store.engine)
            connection = connect(
                settings,
                oauth,
                store,
                auto=args.auto,
                tenant=args.tenant,
                timeout=args.timeout,
                out=out,
            )
            print(
                f"Connected {connection.company_name} (org nr {connection.org_number}), "
                f"tenant {connection.tenant_id}",
                file=out,
            )
        elif args.command == "list":
            create_token_tables(store.engine)
            for conn in store.list_connections():
                print(format_connection(conn), file=out)
        elif args.command == "revoke":
            conn = store.revoke(args.tenant)
            print(f"Revoked {conn.label}", file=out)
    except FortnoxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def rotate_key(url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Re-encrypt the stored tokens with the first key of ``FORTNOX_TOKEN_KEY``; then read
    every one back with that key alone, so the older keys can be dropped. Returns the report.

    One transaction: a token no key opens (:class:`TokenKeyError`) changes nothing.
    """
    env = os.environ if environ is None else environ
    cipher = TokenCipher.from_env(env)
    keys = [k.strip() for k in env.get(TOKEN_KEY_ENV, "").split(",") if k.strip()]
    store = TokenStore(url or _token_store_url(env), cipher)
    where = store.engine.url.render_as_string(hide_password=True)
    try:
        if not sa.inspect(store.engine).has_table(store.table.name):
            raise FortnoxError(f"no Fortnox token store in {where} (no table {store.table.name})")
        changed = store.rotate_keys()
        first = TokenCipher(keys[:1])
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(store.table)).all()
        for row in rows:  # the first key alone must open every stored token now
            label = row.company_name or f"tenant {row.tenant_id}"
            for value in (row.access_token_encrypted, row.refresh_token_encrypted):
                if value:
                    first.decrypt(value, company=label)
    finally:
        store.engine.dispose()
    report = (
        f"Re-encrypted the tokens of {changed} of {len(rows)} companies in {where} with the "
        f"first key of {TOKEN_KEY_ENV}; the first key alone opens every stored token."
    )
    if len(keys) == 1:
        return f"{report}\n{TOKEN_KEY_ENV} holds one key: to change it, set NEW,OLD and run again."
    return f"{report}\nThe other keys of {TOKEN_KEY_ENV} may now be removed."


def _token_store_url(env: Mapping[str, str]) -> str:
    try:  # the connection's token_store_url, where the DAGs find the tokens
        return FortnoxSettings.from_env(env).resolved_token_store_url(env)
    except FortnoxError:  # no Fortnox app configured here: the store's own defaults
        return token_store_url_from_env(env)


def format_connection(conn: StoredConnection) -> str:
    refreshed = conn.refreshed_at.isoformat(timespec="seconds") if conn.refreshed_at else "never"
    return (
        f"{conn.tenant_id}\t{conn.status}\t{conn.company_name}\t{conn.org_number}\t"
        f"refreshed {refreshed} ({conn.refresh_count}x)"
    )


@dataclass
class _Callback:
    """What the browser's redirect brought back."""

    params: dict[str, str] = field(default_factory=dict)
    received: threading.Event = field(default_factory=threading.Event)


def _callback_server(redirect_uri: str, callback: _Callback) -> HTTPServer:
    parts = urlsplit(redirect_uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    expected_path = parts.path or "/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != expected_path:
                self.send_error(404)
                return
            callback.params = dict(parse_qsl(url.query))
            callback.received.set()
            body = b"<html><body>Fortnox connection received: you can close this window.</body>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None  # the query string holds the authorisation code

    try:
        return HTTPServer((host, port), Handler)
    except OSError as exc:
        raise FortnoxError(f"cannot listen on {host}:{port} for the redirect: {exc}") from None


def connect(
    settings: FortnoxSettings,
    oauth: FortnoxOAuth,
    store: TokenStore,
    *,
    auto: bool = False,
    tenant: str | None = None,
    timeout: float = 300.0,
    out: TextIO | None = None,
) -> StoredConnection:
    """Run the consent flow and store the connection."""
    out = out or sys.stdout
    request = oauth.authorization_url()
    callback = _Callback()
    server = _callback_server(settings.redirect_uri, callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        print(f"Open this address to connect a Fortnox company:\n{request.url}", file=out)
        if auto:
            approve_sandbox_consent(request.url, tenant)
        if not callback.received.wait(timeout):
            raise FortnoxError(f"no redirect to {settings.redirect_uri} within {timeout:.0f}s")
    finally:
        server.shutdown()
        server.server_close()
    params = callback.params
    if not secrets.compare_digest(params.get("state", ""), request.state):
        raise FortnoxError("the redirect's state does not match: possible CSRF, nothing saved")
    if "error" in params:
        raise FortnoxError(
            f"consent refused: {params['error']} {params.get('error_description', '')}".strip()
        )
    code = params.get("code")
    if not code:
        raise FortnoxError("the redirect carries no authorisation code")
    return complete_consent(settings, oauth, store, code, tenant=tenant)


def complete_consent(
    settings: FortnoxSettings,
    oauth: FortnoxOAuth,
    store: TokenStore,
    code: str,
    *,
    tenant: str | None = None,
    grant_type: str = GRANT_AUTHORIZATION_CODE,
) -> StoredConnection:
    """Exchange the consent's code, name the company from ``/3/companyinformation`` and store
    the connection (shared by this command and the Integrations view's callback)."""
    tokens = oauth.exchange_code(code)
    with FortnoxClient(settings.api_url, lambda: tokens.access_token) as client:
        info = client.company_information().item("CompanyInformation")
    tenant_id = str(info.get("DatabaseNumber") or tenant or "")
    if not tenant_id:
        raise FortnoxError("companyinformation has no DatabaseNumber: pass --tenant")
    return store.save_connection(
        tenant_id,
        tokens,
        company_name=str(info.get("CompanyName") or ""),
        org_number=str(info.get("OrganizationNumber") or ""),
        grant_type=grant_type,
    )


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.tenants: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")
        elif tag == "input" and values.get("name") == "tenant":
            self.tenants.append(values.get("value", ""))


def approve_sandbox_consent(auth_url: str, tenant: str | None) -> None:
    """Submit the sandbox's consent form as a person would (never works against Fortnox)."""
    with httpx.Client(timeout=30.0, follow_redirects=False) as http:
        page = http.get(auth_url)
        if page.status_code != 200:
            raise FortnoxError(f"consent page answered HTTP {page.status_code}")
        form = _FormReader()
        form.feed(page.text)
        if not form.action or not form.tenants:
            raise FortnoxError("--auto works only against the sandbox's consent form")
        chosen = tenant or form.tenants[0]
        if chosen not in form.tenants:
            raise FortnoxError(f"tenant {chosen} is not offered (offered: {form.tenants})")
        answer = http.post(
            urljoin(auth_url, form.action),
            data={**form.fields, "tenant": chosen, "approve": "yes"},
        )
        location = answer.headers.get("Location")
        if answer.status_code not in (302, 303) or not location:
            raise FortnoxError(f"consent form answered HTTP {answer.status_code}")
        http.get(location)  # the browser's redirect to our callback
