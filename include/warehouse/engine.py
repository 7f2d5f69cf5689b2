"""One SQLAlchemy URL selects the warehouse: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from include.settings import default_warehouse_url

EngineLike = str | sa.URL | sa.Engine
# Connection execution option: start SQLite transactions with BEGIN IMMEDIATE (take the
# write lock at once), for transactions that read before they write (a migration).
SQLITE_IMMEDIATE = "warehouse_sqlite_immediate"


def default_url() -> str:
    """``WAREHOUSE_URL`` when set, else the embedded SQLite file under the data folder."""
    return default_warehouse_url()


def _use_wal(cursor: Any, wait_seconds: float = 30.0) -> None:
    """Put the database file in WAL mode (once; the mode is kept in the file).

    Two first connections switching a new file at the same moment get "database is locked"
    at once, without the busy timeout's wait: retry for as long as that timeout would wait.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_setup(engine: sa.Engine) -> None:
    # pysqlite's own implicit transactions are unreliable (DDL, savepoints);
    # take control and start every transaction ourselves (a load's first statement
    # writes, so it takes the write lock at once and busy_timeout queues a second loader).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        # WAL: readers keep seeing the old books while a load commits;
        # synchronous=NORMAL is crash-safe with WAL (may lose the last commit on power loss).
        if engine.url.database not in (None, "", ":memory:"):
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_warehouse_engine(url: str | sa.URL | None = None, **kwargs: Any) -> sa.Engine:
    """An engine for the warehouse URL (default: :func:`default_url`)."""
    url = sa.make_url(url or default_url())
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3: COPY support
    return sa.create_engine(url, **kwargs)


def engine_for(url_or_engine: EngineLike | None) -> tuple[sa.Engine, bool]:
    """(engine, owned): owned engines are created here and must be disposed by the caller."""
    if isinstance(url_or_engine, sa.Engine):
        return url_or_engine, False
    return create_warehouse_engine(url_or_engine), True


@contextmanager
def temporary_schema(postgres_url: str, *, prefix: str = "tmp") -> Iterator[str]:
    """A URL whose ``search_path`` is a new, empty PostgreSQL schema, dropped on exit.

    For tests, benchmarks and trial loads: a whole warehouse that leaves nothing behind.
    The URL it yields carries the password, if any: do not print it.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        base = sa.make_url(postgres_url)
        given = base.query.get("options") or ()
        given = (given,) if isinstance(given, str) else given
        options = " ".join([*given, f"-csearch_path={name}"])
        url = base.update_query_dict({"options": options})  # keeps e.g. a statement_timeout
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()
