"""One exporter per partition at a time, released the moment its process dies.

Two exporters of the same closing (two task runs, a task and the CLI, a redelivered task)
must not both send: the second could find a voucher the first has in flight, fail to find it
in Fortnox yet, and send it again. The export therefore holds a lock per (company, fiscal
year) for its whole run:

* PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection held for the
  run. Works across hosts; the server drops it when the connection ends, also on SIGKILL.
* SQLite: an ``flock`` on a file beside the database, ``.<db>.export-<company>-<year>.lock``
  (SQLite is one host by nature). The kernel drops it when the process dies.

The lock is per partition rather than per approval because approvals of the same partition
share outbox rows (an unchanged voucher approved again is the same voucher). A second
exporter waits up to ``wait``, then fails with :class:`ExportBusy`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

DEFAULT_WAIT = timedelta(minutes=15)
POLL_SECONDS = 0.1

_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


class ExportBusy(RuntimeError):
    """Another exporter of the same partition kept the lock for longer than the wait."""


def lock_name(company_id: int, fiscal_year_start: date) -> str:
    return f"closing-export:{company_id}:{fiscal_year_start.isoformat()}"


@contextmanager
def partition_lock(
    engine: sa.Engine,
    company_id: int,
    fiscal_year_start: date,
    *,
    wait: timedelta = DEFAULT_WAIT,
) -> Iterator[None]:
    """Hold the partition's export lock for the ``with`` block."""
    name = lock_name(company_id, fiscal_year_start)
    deadline = time.monotonic() + wait.total_seconds()
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name, deadline, wait):
            yield
        return
    path = _sqlite_lock_path(engine, company_id, fiscal_year_start)
    if path is None:
        with _memory_lock(name, deadline, wait):
            yield
        return
    with _file_lock(path, deadline, wait):
        yield


def _busy(name: str, wait: timedelta) -> ExportBusy:
    return ExportBusy(
        f"another export of the same closing ({name}) has been running for over {wait}; "
        "try again when it has finished"
    )


@contextmanager
def _advisory_lock(
    engine: sa.Engine, name: str, deadline: float, wait: timedelta
) -> Iterator[None]:
    # pg advisory locks take a bigint: the first 8 bytes of the name's SHA-256, signed.
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with engine.connect() as conn:
        while True:
            got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            conn.commit()  # session-level: the lock outlives the transaction
            if got:
                break
            if time.monotonic() >= deadline:
                raise _busy(name, wait)
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            # A dead connection has lost the lock already; do not hide the original error.
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()


def _sqlite_lock_path(engine: sa.Engine, company_id: int, fiscal_year_start: date) -> Path | None:
    database = engine.url.database or ""
    if database.startswith("file:"):  # a URI filename
        if engine.url.query.get("mode") == "memory":
            return None
        database = urlsplit(database).path
    if database in ("", ":memory:"):
        return None
    db = Path(database).resolve()  # one lock file whichever path leads to the database
    return db.with_name(f".{db.name}.export-{company_id}-{fiscal_year_start:%Y%m%d}.lock")


@contextmanager
def _file_lock(path: Path, deadline: float, wait: timedelta) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(path.name, wait) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the flock


@contextmanager
def _memory_lock(name: str, deadline: float, wait: timedelta) -> Iterator[None]:
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=max(deadline - time.monotonic(), 0)):
        raise _busy(name, wait)
    try:
        yield
    finally:
        lock.release()
