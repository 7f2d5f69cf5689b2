"""Client-side pacing under Fortnox's rate limit (25 requests per 5 s per client and tenant).

A pacer hands out request slots from a sliding window: at most ``max_requests`` slots start
within any ``window`` seconds for one key. :class:`MemoryPacer` serves threads of one process;
:class:`FilePacer` serves threads *and* processes on one host (Airflow runs mapped tasks as
separate processes), keeping each key's log of recent slots in a small file guarded by
``fcntl.flock``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

# Pace a bit under Fortnox's 25 / 5 s so clock skew and other clients of the tenant fit.
# Fortnox allows 25 per 5 s; requests paced at their start can arrive bunched up by network
# and scheduling jitter (25 arrivals in 5 s were seen at 22 under load), hence 20.
DEFAULT_MAX_REQUESTS = 20
DEFAULT_WINDOW_SECONDS = 5.0


class Pacer(Protocol):
    def acquire(self, key: str) -> None:
        """Block until a request for ``key`` may start, and count it."""


class NoPacer:
    """Does not pace (for tests and one-off calls)."""

    def acquire(self, key: str) -> None:
        return None


class MemoryPacer:
    """Sliding-window pacer shared by the threads of one process."""

    def __init__(
        self,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        window: float = DEFAULT_WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or window <= 0:
            raise ValueError("max_requests must be >= 1 and window > 0")
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> None:
        while True:
            with self._lock:
                now = self._clock()
                starts = self._starts.setdefault(key, deque())
                while starts and starts[0] <= now - self.window:
                    starts.popleft()
                if len(starts) < self.max_requests:
                    starts.append(now)
                    return
                wait = starts[0] + self.window - now
            self._sleep(max(wait, 0.001))


class FilePacer:
    """Sliding-window pacer shared by every process on the host that uses ``directory``.

    Each key has a file holding the start times (wall clock, one per line) of the requests in
    the current window. Reading, pruning and appending happen under an exclusive ``flock``;
    waiting happens outside it. Every call opens its own file description, so threads of one
    process exclude each other through the same lock.
    """

    def __init__(
        self,
        directory: str | Path,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        window: float = DEFAULT_WINDOW_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or window <= 0:
            raise ValueError("max_requests must be >= 1 and window > 0")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_requests = max_requests
        self.window = window
        self._clock = clock
        self._sleep = sleep

    def path_for(self, key: str) -> Path:
        # Readable prefix for operators, hash suffix so distinct keys never share a file.
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:60]
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self.directory / f"{safe}-{digest}.pacer"

    def acquire(self, key: str) -> None:
        path = self.path_for(key)
        while True:
            wait = self._try_acquire(path)
            if wait is None:
                return
            self._sleep(max(wait, 0.001))

    def _try_acquire(self, path: Path) -> float | None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "r+", encoding="ascii") as handle:
                now = self._clock()
                starts = []
                for line in handle.read().split():
                    try:
                        started = float(line)
                    except ValueError:
                        continue  # a torn or foreign line: ignore it
                    # Drop expired entries and any from the future (wall clock stepped back).
                    if now - self.window < started <= now + self.window:
                        starts.append(started)
                starts.sort()
                if len(starts) >= self.max_requests:
                    return starts[-self.max_requests] + self.window - now
                starts.append(now)
                handle.seek(0)
                handle.truncate()
                handle.write("".join(f"{s:.6f}\n" for s in starts))
                handle.flush()
                return None
        finally:
            os.close(fd)  # closing the last descriptor releases the flock
