"""Fixtures: one in-process sandbox per test module (see _sandbox_testkit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _sandbox_testkit import Sandbox, make_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One server per test module; its rate limit is raised so that only the rate-limit tests
    (which start their own server with Fortnox's 25 per 5 s) ever see a 429."""
    yield from make_sandbox(rate_limit=10_000)


@pytest.fixture(scope="module")
def tenant(sandbox: Sandbox) -> int:
    return sandbox.tenants[0]


@pytest.fixture(scope="module")
def token(sandbox: Sandbox, tenant: int) -> str:
    return sandbox.service_token(tenant)
