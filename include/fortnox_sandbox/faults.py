"""Fault injection, the rate limiter and per-tenant request statistics."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

RATE_LIMIT = 25  # requests ...
RATE_WINDOW_S = 5.0  # ... per sliding window, per (client id, tenant)


class FaultConfigError(ValueError):
    """A fault setting out of range or of the wrong type."""


@dataclass(slots=True)
class Faults:
    """What goes wrong on /3/ requests. Rates are probabilities in [0, 1]."""

    error_rate: float = 0.0  # answer 500 or 503 instead
    latency_ms: int = 0  # sleep before answering
    drop_rate: float = 0.0  # close the connection without answering
    # The next N creating POSTs (vouchers, inbox uploads, file connections) commit, then drop
    commit_then_drop: int = 0
    commit_then_drop_rate: float = 0.0  # ... or each one with this probability

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def update(self, changes: Mapping[str, object]) -> None:
        """Apply a partial update; checks everything before changing anything."""
        unknown = set(changes) - set(self.as_dict()) - {"expire_tokens_early"}
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        checked: dict[str, float | int] = {}
        for name in ("error_rate", "drop_rate", "commit_then_drop_rate"):
            if name in changes:
                checked[name] = _rate(name, changes[name])
        for name in ("latency_ms", "commit_then_drop"):
            if name in changes:
                checked[name] = _count(name, changes[name])
        for name, value in checked.items():
            setattr(self, name, value)


def _rate(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultConfigError(f"{name} must be a number between 0 and 1")
    # A probability, not money: float is the right type here.
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise FaultConfigError(f"{name} must be between 0 and 1, got {value}")
    return rate


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultConfigError(f"{name} must be a non-negative integer")
    return value


@dataclass(slots=True)
class TenantStats:
    requests: int = 0  # /3/ requests that passed authentication
    rate_limited: int = 0  # of those, answered 429
    max_in_window: int = 0  # most requests admitted in any window
    errors_injected: int = 0
    drops_injected: int = 0
    commit_then_drop: int = 0
    vouchers_created: int = 0
    files_uploaded: int = 0
    file_connections_created: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)


class RateLimiter:
    """Sliding-window limiter; also the per-tenant request log behind /admin/stats."""

    def __init__(
        self,
        limit: int = RATE_LIMIT,
        window_s: float = RATE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int], deque[float]] = {}
        self._stats: dict[int, TenantStats] = {}

    def admit(self, client_id: str, tenant_id: int, endpoint: str) -> float | None:
        """Record a request; None when admitted, else seconds until a slot frees up."""
        now = self._clock()
        with self._lock:
            stats = self._stats.setdefault(tenant_id, TenantStats())
            stats.requests += 1
            stats.by_endpoint[endpoint] = stats.by_endpoint.get(endpoint, 0) + 1
            window = self._windows.setdefault((client_id, tenant_id), deque())
            while window and now - window[0] >= self.window_s:
                window.popleft()
            if len(window) >= self.limit:
                stats.rate_limited += 1
                return max(window[0] + self.window_s - now, 0.001)
            window.append(now)
            stats.max_in_window = max(stats.max_in_window, len(window))
            return None

    def note(self, tenant_id: int, what: str) -> None:
        """Count an injected fault or a created voucher."""
        with self._lock:
            stats = self._stats.setdefault(tenant_id, TenantStats())
            setattr(stats, what, getattr(stats, what) + 1)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            tenants = {str(t): asdict(s) for t, s in sorted(self._stats.items())}
        return {"limit": self.limit, "window_seconds": self.window_s, "tenants": tenants}

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._stats.clear()


class FaultInjector:
    """Thread-safe access to the fault settings and the decisions drawn from them."""

    def __init__(self, faults: Faults | None = None, seed: int | None = None) -> None:
        self.faults = faults or Faults()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def update(self, changes: Mapping[str, object]) -> dict[str, object]:
        with self._lock:
            self.faults.update(changes)
            return self.faults.as_dict()

    def settings(self) -> dict[str, object]:
        with self._lock:
            return self.faults.as_dict()

    def latency_s(self) -> float:
        with self._lock:
            return self.faults.latency_ms / 1000

    def draw(self) -> str | None:
        """'drop', 'error500', 'error503' or None for one request."""
        with self._lock:
            if self.faults.drop_rate and self._rng.random() < self.faults.drop_rate:
                return "drop"
            if self.faults.error_rate and self._rng.random() < self.faults.error_rate:
                return "error503" if self._rng.random() < 0.5 else "error500"
            return None

    def commit_then_drop(self) -> bool:
        """Should this creating POST commit and then drop the connection?"""
        with self._lock:
            if self.faults.commit_then_drop > 0:
                self.faults.commit_then_drop -= 1
                return True
            rate = self.faults.commit_then_drop_rate
            return bool(rate) and self._rng.random() < rate


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
