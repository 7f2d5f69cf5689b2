"""Helpers shared by the Fortnox tests (imported by name: tests/fortnox is on sys.path)."""

from __future__ import annotations

import json
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
