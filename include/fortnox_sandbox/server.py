"""The sandbox HTTP server: OAuth endpoints, /3/ API, admin endpoints.

Built on the standard library's ThreadingHTTPServer so tests can start it
in-process on a free port and so a fault can drop a connection without an
answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from include.fortnox_sandbox import jsonio
from include.fortnox_sandbox.api import (
    NOT_AUTHORISED_FOR_SCOPE,
    RESOURCE_SCOPES,
    SYSTEM_ERROR,
    ApiError,
    ApiRequest,
    Reply,
    TenantApi,
    error_body,
    json_reply,
)
from include.fortnox_sandbox.faults import (
    FaultConfigError,
    FaultInjector,
    Faults,
    RateLimiter,
    retry_after_header,
)
from include.fortnox_sandbox.files import FILE_RESOURCES, FileApi
from include.fortnox_sandbox.oauth import (
    AuthorizationRequest,
    AuthorizationServer,
    ClientRegistration,
    OAuthError,
)
from include.fortnox_sandbox.state import StateFile
from include.fortnox_sandbox.state import load as load_state
from include.fortnox_sandbox.state import save as save_state
from include.fortnox_sandbox.tenants import FinancialYearEntry, Tenant

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
# POSTs that create something: the statistic counted, and what commit-then-drop applies to.
CREATED_COUNTERS = {
    "vouchers": "vouchers_created",
    "inbox": "files_uploaded",
    "voucherfileconnections": "file_connections_created",
}
DEFAULT_CLIENT_ID = "sandbox-client"
MAX_BODY = 1_000_000


@dataclass(slots=True)
class SandboxConfig:
    client_secret: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    companies: int = 2
    seed: int = 1
    vouchers_per_year: int = 300
    first_year: int = 2024
    token_ttl: int = 3600
    client_id: str = DEFAULT_CLIENT_ID
    redirect_uri: str = DEFAULT_REDIRECT_URI
    today: date | None = None  # None: the server's clock
    locked_until: date | str | None = "auto"  # "auto": end of the older fiscal year
    faults: Faults = field(default_factory=Faults)
    rate_limit: int = 25
    rate_window_s: float = 5.0
    quiet: bool = True
    # Keep what clients did (posted vouchers, files, tokens) across restarts: state.py.
    state_file: Path | None = None


def build_tenants(config: SandboxConfig) -> list[Tenant]:
    from include.books import generate_books

    return [
        Tenant.from_books(
            generate_books(
                config.seed,
                company_index=i,
                first_year=config.first_year,
                years=2,
                vouchers_per_year=config.vouchers_per_year,
            ),
            config.locked_until,
        )
        for i in range(config.companies)
    ]


def write_tenant_sie(tenant: Tenant, year: FinancialYearEntry) -> bytes:
    from include.sie4.writer import write_sie

    return write_sie(tenant.sie_document(year))


class Sandbox:
    """Everything the request handler needs, independent of the socket."""

    def __init__(self, config: SandboxConfig, tenants: list[Tenant] | None = None) -> None:
        self.config = config
        tenant_list = tenants if tenants is not None else build_tenants(config)
        self.apis: dict[int, TenantApi] = {
            t.tenant_id: TenantApi(t, self.today, write_tenant_sie) for t in tenant_list
        }
        self.file_apis: dict[int, FileApi] = {tid: FileApi(api) for tid, api in self.apis.items()}
        self.oauth = AuthorizationServer(
            ClientRegistration(config.client_id, config.client_secret, config.redirect_uri),
            lambda: set(self.apis),
            token_ttl=config.token_ttl,
        )
        self.limiter = RateLimiter(config.rate_limit, config.rate_window_s)
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.state: StateFile | None = None
        self.restored = False
        if config.state_file is not None:
            self.state = StateFile.at(config.state_file)
            self.restored = load_state(self, self.state)

    def save_state(self) -> None:
        """Write the state file (when configured); after every request that may change it."""
        if self.state is not None:
            save_state(self, self.state)

    def today(self) -> date:
        return self.config.today or date.today()

    def tenants_json(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for tenant_id, api in sorted(self.apis.items()):
            t = api.tenant
            out.append(
                {
                    "TenantId": tenant_id,
                    "CompanyName": t.books.company.name,
                    "OrganizationNumber": t.books.company.org_number,
                    "FinancialYears": [
                        {"Id": y.id, "FromDate": y.start.isoformat(), "ToDate": y.end.isoformat()}
                        for y in t.years
                    ],
                    "LockedPeriodEnd": t.locked_until.isoformat() if t.locked_until else None,
                    "PostedVouchers": len(t.posted),
                }
            )
        return out

    def records_json(self) -> dict[str, object]:
        """What each tenant holds from the API: posted vouchers, uploaded files, connections.

        For tests that count what a client did from the server's own records.
        """
        out: dict[str, object] = {}
        for tenant_id, api in sorted(self.apis.items()):
            with api.lock:
                t = api.tenant
                out[str(tenant_id)] = {
                    "Vouchers": [
                        {
                            "VoucherSeries": p.voucher.series,
                            "VoucherNumber": int(p.voucher.number),
                            "Year": p.year_id,
                            "TransactionDate": p.voucher.date.isoformat(),
                            "Description": p.voucher.text,
                            "Comments": p.comments,
                            "Rows": [
                                {"Account": r.account, "Amount": r.amount} for r in p.voucher.rows
                            ],
                        }
                        for p in t.posted
                    ],
                    "Files": [
                        {
                            "Id": f.id,
                            "Name": f.name,
                            "Folder": f.folder_id,
                            "Size": len(f.content),
                            "Sha256": hashlib.sha256(f.content).hexdigest(),
                            "Connected": f.id in t.file_connections,
                        }
                        for f in t.files.values()
                    ],
                    "FileConnections": [
                        {
                            "FileId": c.file_id,
                            "VoucherSeries": c.series,
                            "VoucherNumber": c.number,
                            "VoucherYear": c.year_id,
                        }
                        for c in t.file_connections.values()
                    ],
                }
        return out


# -- HTML consent page --------------------------------------------------------------------------


def consent_page(sandbox: Sandbox, request: AuthorizationRequest) -> bytes:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in (
            ("client_id", request.client_id),
            ("redirect_uri", request.redirect_uri),
            ("response_type", "code"),
            ("scope", request.scope),
            ("state", request.state),
            ("access_type", request.access_type),
            ("account_type", request.account_type),
        )
    )
    options = "".join(
        f'<label><input type="radio" name="tenant" value="{tid}"{" checked" if i == 0 else ""}>'
        f" {html.escape(api.tenant.books.company.name)} "
        f"({html.escape(api.tenant.books.company.org_number)}, tenant {tid})</label><br>"
        for i, (tid, api) in enumerate(sorted(sandbox.apis.items()))
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Fortnox sandbox: consent</title>"
        "</head><body><h1>Fortnox sandbox</h1>"
        f"<p>The integration <b>{html.escape(request.client_id)}</b> asks for access to: "
        f"<code>{html.escape(request.scope)}</code></p>"
        f'<form method="post" action="/oauth-v1/auth">{hidden}'
        f"<fieldset><legend>Company</legend>{options}</fieldset>"
        '<button type="submit" name="approve" value="yes">Approve</button> '
        '<button type="submit" name="approve" value="no">Deny</button>'
        "</form></body></html>"
    )
    return page.encode("utf-8")


def error_page(error: OAuthError) -> bytes:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Authorisation error</title>"
        f"</head><body><h1>{html.escape(error.error)}</h1>"
        f"<p>{html.escape(error.description)}</p></body></html>"
    ).encode()


# -- request handler ----------------------------------------------------------------------------


class _Dropped(Exception):
    """Raised to close the connection without an answer."""


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a dropped connection is a real event
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "FortnoxSandbox/1.0"
    sandbox: Sandbox  # set on the subclass made per server

    # -- plumbing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: object) -> None:
        if not self.sandbox.config.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Never the query string: it can carry codes or states.
        path = urlsplit(self.path).path
        self.log_message("%s %s %s", self.command, path, code)

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if not 0 <= size <= MAX_BODY:
            raise ApiError(413, 2001392, "Request body too large or bad Content-Length")
        return self.rfile.read(size)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
        path = url.path.rstrip("/") or "/"
        try:
            body = self._read_body()
            reply = self._route(method, path, query, body)
        except _Dropped:
            self._drop()
            return
        except ApiError as exc:
            self.close_connection = True  # the body may not have been read
            reply = exc.reply()
        except Exception as exc:  # an answer, not a hung client, even on a sandbox bug
            reply = json_reply(500, error_body(SYSTEM_ERROR, f"System error: {type(exc).__name__}"))
        finally:
            if method != "GET":  # saved before the answer: what a client saw survives a restart
                self.sandbox.save_state()
        self._send(reply)

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        if path.startswith("/3/"):
            return self._api(method, path[3:], query, body)
        if path.startswith("/oauth-v1/"):
            return self._oauth(method, path, query, body)
        if path.startswith("/admin/"):
            return self._admin(method, path, body)
        if path == "/":
            return Reply(200, b"Fortnox sandbox\n", content_type="text/plain; charset=utf-8")
        return json_reply(404, error_body(2000588, f"Not found: {path}"))

    # -- OAuth --------------------------------------------------------------------------------

    def _oauth(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        oauth = self.sandbox.oauth
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        try:
            if path == "/oauth-v1/auth" and method == "GET":
                request = oauth.check_authorization_request(query)
                return Reply(200, consent_page(self.sandbox, request), "text/html; charset=utf-8")
            if path == "/oauth-v1/auth" and method == "POST":
                request = oauth.check_authorization_request(form)
                approve = form.get("approve", "").lower() in ("yes", "true", "1", "approve")
                tenant = form.get("tenant", "")
                tenant_id = int(tenant) if tenant.isdigit() else None
                location = oauth.decide(request, tenant_id, approve)
                return Reply(302, b"", "text/plain", {"Location": location})
            if path == "/oauth-v1/token" and method == "POST":
                answer = oauth.token(
                    form, self.headers.get("Authorization"), self.headers.get("TenantId")
                )
                reply = json_reply(200, answer)
                reply.headers["Cache-Control"] = "no-store"
                return reply
            if path == "/oauth-v1/revoke" and method == "POST":
                oauth.revoke(form, self.headers.get("Authorization"))
                return json_reply(200, {})
        except OAuthError as exc:
            if path == "/oauth-v1/auth":
                return Reply(exc.status, error_page(exc), "text/html; charset=utf-8")
            reply = json_reply(exc.status, exc.body())
            if exc.status == 401:
                reply.headers["WWW-Authenticate"] = 'Basic realm="fortnox-sandbox"'
            return reply
        return json_reply(404, {"error": "not_found", "error_description": f"{method} {path}"})

    # -- /3/ ----------------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        sandbox = self.sandbox
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return json_reply(401, error_body(2000310, "Missing Authorization: Bearer token"))
        grant = sandbox.oauth.verify_access_token(auth[7:].strip())
        if grant is None:
            return json_reply(401, error_body(2000311, "Invalid or expired access token"))
        api = sandbox.apis.get(grant.tenant_id)
        if api is None:
            return json_reply(401, error_body(2000311, "Unknown tenant"))
        resource = path.split("/", 1)[0]
        wait = sandbox.limiter.admit(grant.client_id, grant.tenant_id, f"{method} {resource}")
        if wait is not None:
            reply = json_reply(
                429, error_body(2000588, "Too many requests: 25 per 5 seconds per tenant")
            )
            reply.headers["Retry-After"] = retry_after_header(wait)
            return reply
        latency = sandbox.faults.latency_s()
        if latency:
            time.sleep(latency)
        fault = sandbox.faults.draw()
        if fault == "drop":
            sandbox.limiter.note(grant.tenant_id, "drops_injected")
            raise _Dropped
        if fault in ("error500", "error503"):
            sandbox.limiter.note(grant.tenant_id, "errors_injected")
            status = 503 if fault == "error503" else 500
            return json_reply(status, error_body(SYSTEM_ERROR, "Injected server error"))
        needed = RESOURCE_SCOPES.get(resource)
        if needed is not None and needed not in grant.scopes:
            return json_reply(
                403,
                error_body(NOT_AUTHORISED_FOR_SCOPE, f"Not authorised for scope {needed}"),
            )
        request = ApiRequest(
            method, path, query, body, self._base_url(), self.headers.get("Content-Type", "")
        )
        if resource in FILE_RESOURCES:
            reply = sandbox.file_apis[grant.tenant_id].handle(request)
        else:
            reply = api.handle(request)
        created = CREATED_COUNTERS.get(resource)
        if method == "POST" and created and reply.status == 201:
            sandbox.limiter.note(grant.tenant_id, created)
            if sandbox.faults.commit_then_drop():
                sandbox.limiter.note(grant.tenant_id, "commit_then_drop")
                raise _Dropped
        return reply

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        if not host:
            host = f"{self.sandbox.config.host}:{self.server.server_port}"  # type: ignore[attr-defined]
        return f"http://{host}"

    # -- admin --------------------------------------------------------------------------------

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        sandbox = self.sandbox
        if path == "/admin/faults" and method == "GET":
            return _admin_reply(200, sandbox.faults.settings())
        if path == "/admin/faults" and method == "POST":
            try:
                changes = jsonio.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise FaultConfigError("the body must be a JSON object")
                changes = {k: float(v) if isinstance(v, Decimal) else v for k, v in changes.items()}
                expire = changes.pop("expire_tokens_early", False)
                settings = sandbox.faults.update(changes)
            except (ValueError, FaultConfigError) as exc:
                return _admin_reply(400, {"error": str(exc)})
            if expire:
                settings = {**settings, "expired_tokens": sandbox.oauth.expire_access_tokens()}
            return _admin_reply(200, settings)
        if path == "/admin/stats" and method == "GET":
            return _admin_reply(200, sandbox.limiter.snapshot())
        if path == "/admin/reset-stats" and method == "POST":
            sandbox.limiter.reset()
            return _admin_reply(200, {"reset": True})
        if path == "/admin/tenants" and method == "GET":
            return _admin_reply(200, {"Tenants": sandbox.tenants_json()})
        if path == "/admin/records" and method == "GET":
            # Amounts: exact JSON (jsonio), not the float-friendly admin encoder.
            return Reply(200, jsonio.dumps({"Tenants": sandbox.records_json()}))
        return _admin_reply(404, {"error": f"unknown admin endpoint {method} {path}"})


def _admin_reply(status: int, body: object) -> Reply:
    # Admin answers hold rates and seconds, never money, so plain json (floats allowed) is right.
    return Reply(status, json.dumps(body).encode("utf-8"))


# -- server lifecycle ---------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that went away mid-answer (killed, timed out) is not a server error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class SandboxServer:
    """The sandbox on a socket; a context manager for tests.

    >>> with SandboxServer(SandboxConfig(client_secret="s")) as server:
    ...     server.base_url  # http://127.0.0.1:<free port>
    """

    def __init__(self, config: SandboxConfig, tenants: list[Tenant] | None = None) -> None:
        self.config = config
        self.sandbox = Sandbox(config, tenants)
        handler: type[SandboxHandler] = type(
            "BoundSandboxHandler", (SandboxHandler,), {"sandbox": self.sandbox}
        )
        self._httpd = _HTTPServer((config.host, config.port), handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fortnox-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, announce: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until shutdown() (the command line's way)."""
        if announce:
            announce(f"Fortnox sandbox listening on {self.base_url}")
        self._httpd.serve_forever()

    def shutdown_from_signal(self) -> None:
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()  # waits for serve_forever, so only when it runs
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
