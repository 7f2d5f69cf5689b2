"""Helpers shared by the Fortnox tests (imported by name: tests/fortnox is on sys.path)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

API = "https://api.fortnox.test/3"
ACCESS_TOKEN = "access-token-SECRET-1"


@dataclass
class Recorder:
    """Records requests and answers them from a handler."""

    handler: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


@dataclass
class FakeTime:
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def json_response(
    status: int, payload: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(payload).encode(), headers=headers)


def error_body(code: int, message: str = "fel", *, capitalised: bool = False) -> dict[str, object]:
    if capitalised:
        return {"ErrorInformation": {"Error": 1, "Message": message, "Code": code}}
    return {"ErrorInformation": {"error": 1, "message": message, "code": code}}


class FakeTokenServer:
    """A tiny OAuth token endpoint on localhost with single-use refresh tokens.

    Counts refreshes; a refresh token already used (or unknown) gets ``invalid_grant``, as in
    Fortnox. Runs in a thread so that other processes can reach it.
    """

    CLIENT_ID = "test-client"
    CLIENT_SECRET = "test-secret-DO-NOT-LEAK"

    def __init__(self, refresh_delay: float = 0.0) -> None:
        import base64
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        self.refresh_delay = refresh_delay
        self.valid_refresh: set[str] = set()
        self.refresh_calls = 0
        self.client_credential_calls = 0
        self.revoked: list[str] = []
        self._lock = threading.Lock()
        self._serial = 0
        expected_auth = (
            "Basic " + base64.b64encode(f"{self.CLIENT_ID}:{self.CLIENT_SECRET}".encode()).decode()
        )
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.headers.get("Authorization") != expected_auth:
                    return self._send(401, {"error": "invalid_client"})
                if self.path == "/oauth-v1/revoke":
                    server.revoked.append(form.get("token", ""))
                    return self._send(200, {})
                grant = form.get("grant_type")
                if grant == "refresh_token":
                    with server._lock:
                        server.refresh_calls += 1
                        token = form.get("refresh_token", "")
                        if token not in server.valid_refresh:
                            return self._send(
                                400,
                                {
                                    "error": "invalid_grant",
                                    "error_description": "Invalid refresh token",
                                },
                            )
                        server.valid_refresh.discard(token)
                    time.sleep(server.refresh_delay)
                    return self._send(200, server.issue(refresh=True))
                if grant == "client_credentials":
                    with server._lock:
                        server.client_credential_calls += 1
                    if not self.headers.get("TenantId"):
                        return self._send(400, {"error": "invalid_request"})
                    return self._send(200, server.issue(refresh=False))
                return self._send(400, {"error": "unsupported_grant_type"})

            def _send(self, status: int, payload: dict[str, object]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def issue(self, *, refresh: bool) -> dict[str, object]:
        with self._lock:
            self._serial += 1
            serial = self._serial
            answer: dict[str, object] = {
                "access_token": f"access-{serial}-SECRET",
                "expires_in": 3600,
                "token_type": "bearer",
                "scope": "bookkeeping companyinformation",
            }
            if refresh:
                token = f"refresh-{serial}-SECRET"
                self.valid_refresh.add(token)
                answer["refresh_token"] = token
            return answer

    def __enter__(self) -> FakeTokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
