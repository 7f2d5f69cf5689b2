"""Client-side pacing under Fortnox's rate limit (25 requests per 5 s per client and tenant).

A pacer hands out request slots from a sliding window: at most ``max_requests`` slots start
within any ``window`` seconds for one key. :class:`MemoryPacer` serves threads of one process;
:class:`FilePacer` serves threads *and* processes on one host (Airflow runs mapped tasks as
separate processes), keeping each key's log of recent slots in a small file guarded by
``fcntl.flock``; :class:`DatabasePacer` serves workers on several hosts, keeping the same log
in a row of the application database (PostgreSQL), locked while a slot is taken. File and
database pacers share one rule (:func:`take_slot`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL

from include.fortnox.database import open_engine
from include.fortnox.models import FortnoxError
from include.fortnox.pacer_schema import fortnox_pacer

# Pace a bit under Fortnox's 25 / 5 s so clock skew and other clients of the tenant fit.
# Fortnox allows 25 per 5 s; requests paced at their start can arrive bunched up by network
# and scheduling jitter (25 arrivals in 5 s were seen at 22 under load), hence 20.
DEFAULT_MAX_REQUESTS = 20
DEFAULT_WINDOW_SECONDS = 5.0


class Pacer(Protocol):
    def acquire(self, key: str) -> None:
        """Block until a request for ``key`` may start, and count it."""


def take_slot(
    starts: Iterable[float], now: float, max_requests: int, window: float
) -> tuple[list[float], float | None]:
    """The sliding-window rule: ``(log, None)`` with ``now`` appended when a slot is free,
    else ``(log, seconds to wait)``. Expired entries and any from the future (a wall clock
    stepped back) are dropped from the log."""
    kept = sorted(s for s in starts if now - window < s <= now + window)
    if len(kept) >= max_requests:
        return kept, kept[-max_requests] + window - now
    kept.append(now)
    return kept, None


def parse_log(text: str) -> list[float]:
    starts = []
    for line in text.split():
        try:
            starts.append(float(line))
        except ValueError:
            continue  # a torn or foreign line: ignore it
    return starts


def format_log(starts: Iterable[float]) -> str:
    return "".join(f"{s:.6f}\n" for s in starts)


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
                starts, wait = take_slot(
                    parse_log(handle.read()), now, self.max_requests, self.window
                )
                if wait is not None:
                    return wait
                handle.seek(0)
                handle.truncate()
                handle.write(format_log(starts))
                handle.flush()
                return None
        finally:
            os.close(fd)  # closing the last descriptor releases the flock


class PacerTableMissing(FortnoxError):
    """The database pacer's table does not exist (migrations not applied)."""


class DatabasePacer:
    """Sliding-window pacer shared by every process on every host that uses one PostgreSQL.

    Each key has a row in ``fortnox_pacer`` holding the start times of its requests in the
    current window (as :class:`FilePacer`'s file does). Taking a slot is one short
    transaction: lock the row (``SELECT ... FOR UPDATE``), read the clock, prune, append,
    commit. Waiting happens outside it. The clock is the database server's, so hosts whose
    clocks disagree still share one window. Entries older than the window are dropped on
    every slot taken, so a row never holds more than ``max_requests`` of them.

    PostgreSQL only: a SQLite file serves one host, where :class:`FilePacer` does the same
    without taking the warehouse's write lock for every request.
    """

    def __init__(
        self,
        database: str | URL | sa.Engine,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        window: float = DEFAULT_WINDOW_SECONDS,
        *,
        table: sa.Table = fortnox_pacer,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1 or window <= 0:
            raise ValueError("max_requests must be >= 1 and window > 0")
        self._owns_engine = not isinstance(database, sa.Engine)
        self.engine = open_engine(database)
        if self.engine.dialect.name != "postgresql":
            url = self.engine.url.render_as_string(hide_password=True)
            self.close()
            raise FortnoxError(
                f"the database pacer needs PostgreSQL, the database every host shares; {url} "
                f"is {self.engine.dialect.name}: on one host use the file pacer (pacer=file)"
            )
        self.table = table
        self.max_requests = max_requests
        self.window = window
        self._clock = clock  # None: the database server's clock
        self._sleep = sleep
        self._checked = False

    def __repr__(self) -> str:
        return f"DatabasePacer({self.engine.url.render_as_string(hide_password=True)!r})"

    def acquire(self, key: str) -> None:
        if not self._checked:
            self._check_table()
        while True:
            wait = self._try_acquire(key)
            if wait is None:
                return
            self._sleep(max(wait, 0.001))

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    def _check_table(self) -> None:
        if not sa.inspect(self.engine).has_table(self.table.name, schema=self.table.schema):
            raise PacerTableMissing(
                f"the Fortnox rate-limit table {self.table.name} is missing in "
                f"{self.engine.url.render_as_string(hide_password=True)}: apply the warehouse "
                f"migrations (`python -m include.warehouse migrate`)"
            )
        self._checked = True

    def _try_acquire(self, key: str) -> float | None:
        with self.engine.begin() as conn:
            log = self._locked_log(conn, key)
            now = self._now(conn)
            starts, wait = take_slot(parse_log(log), now, self.max_requests, self.window)
            if wait is None:
                conn.execute(
                    sa.update(self.table)
                    .where(self.table.c.key == key)
                    .values(starts=format_log(starts))
                )
            return wait

    def _locked_log(self, conn: sa.Connection, key: str) -> str:
        """The key's log, its row locked until the transaction ends."""
        query = sa.select(self.table.c.starts).where(self.table.c.key == key).with_for_update()
        log = conn.execute(query).scalar_one_or_none()
        if log is None:
            # First use of the key: insert its row (another host may do so at once).
            insert = postgresql.insert(self.table).values(key=key, starts="")
            conn.execute(insert.on_conflict_do_nothing())
            log = conn.execute(query).scalar_one()
        return str(log)

    def _now(self, conn: sa.Connection) -> float:
        if self._clock is not None:
            return self._clock()
        epoch = conn.execute(sa.select(sa.extract("epoch", sa.func.clock_timestamp())))
        return float(epoch.scalar_one())
