"""Engines for the application database (token store, rate-limit pacer).

SQLite gets SQLAlchemy's documented pysqlite recipe (``isolation_level=None`` and an explicit
``BEGIN``), so that a transaction can take the write lock at once with ``BEGIN IMMEDIATE``:
``conn.execution_options(**BEGIN_IMMEDIATE)`` before ``conn.begin()``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

_IMMEDIATE_OPTION = "fortnox_begin_immediate"
BEGIN_IMMEDIATE: dict[str, Any] = {_IMMEDIATE_OPTION: True}


def open_engine(database: str | URL | Engine) -> Engine:
    """An engine for ``database`` (an engine given is prepared and returned as is)."""
    if isinstance(database, Engine):
        engine = database
    else:
        url = make_url(database)
        kwargs: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            # Waiting processes queue on the write lock instead of failing at once.
            kwargs["connect_args"] = {"timeout": 60}
        engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_explicit_begin(engine)
    return engine


def _sqlite_explicit_begin(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so locks can be taken with BEGIN IMMEDIATE.

    This is SQLAlchemy's documented recipe for pysqlite transactions.
    """
    if event.contains(engine, "begin", _sqlite_on_begin):
        return
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    engine.dispose()  # pooled connections made before the listener must not be reused


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
