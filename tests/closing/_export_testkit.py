"""A connected sandbox for the export's tests, with a shortened rate window (same semantics)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from include.closing.export_testing import SandboxCount, paced_session, sandbox_count
from include.fortnox.client import RetryPolicy
from include.fortnox.session import FortnoxSession
from include.fortnox_sandbox.local import LocalFortnox, connected_sandbox

# Fortnox's 25 requests per sliding window, the window shortened from 5 s to 1 s; the
# client paces itself at 20 per window as it does against Fortnox.
RATE_LIMIT, RATE_WINDOW = 25, 1.0
PACE = 20
FAST_RETRY = RetryPolicy(base_delay=0.05, max_delay=0.5)


@dataclass
class World:
    local: LocalFortnox
    root: Path
    env: dict[str, str]

    def session(self, retry: RetryPolicy | None = FAST_RETRY) -> FortnoxSession:
        return paced_session(
            self.local.settings,
            self.root / "pacer",
            max_requests=PACE,
            window=RATE_WINDOW,
            retry=retry,
        )

    def tenant(self, index: int) -> dict[str, Any]:
        return self.local.tenants[index]

    def count(self, tenant: dict[str, Any], keys: list[str]) -> SandboxCount:
        return sandbox_count(self.local.admin("GET", "/admin/records"), tenant["TenantId"], keys)

    def faults(self, **changes: object) -> None:
        self.local.admin("POST", "/admin/faults", **changes)

    def requests(self, tenant: dict[str, Any]) -> int:
        stats = self.local.admin("GET", "/admin/stats")["tenants"]
        return int(stats.get(str(tenant["TenantId"]), {}).get("requests", 0))


@contextmanager
def export_world(root: Path, *, companies: int = 3, seed: int = 21) -> Iterator[World]:
    env = {
        "FORTNOX_TOKEN_KEY": Fernet.generate_key().decode(),
        "FORTNOX_PACER_DIR": str(root / "pacer"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with connected_sandbox(
            token_store_url=f"sqlite:///{root / 'tokens.db'}",
            companies=companies,
            seed=seed,
            vouchers_per_year=30,
            rate_limit=RATE_LIMIT,
            rate_window_s=RATE_WINDOW,
        ) as local:
            yield World(local, root, env)


NO_FAULTS = {
    "error_rate": 0,
    "latency_ms": 0,
    "drop_rate": 0,
    "commit_then_drop": 0,
    "commit_then_drop_rate": 0,
}
