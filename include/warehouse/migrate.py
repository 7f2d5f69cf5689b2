"""Apply the Alembic migrations programmatically (no alembic.ini needed).

Checking the revision is cheap: one ``SELECT`` of ``alembic_version`` against
the head read from the version files' text, without importing Alembic or the
migrations. The load DAG checks every 15 minutes and the CLI before every
load; only :func:`ensure_current` on a database that is behind migrates.

Two migrations of one database never run at once: the migration's
transaction first takes PostgreSQL's advisory lock ``MIGRATION_LOCK`` or, on
SQLite, the write lock (``BEGIN IMMEDIATE``). The second waits, then finds the
schema current and does nothing.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from include.warehouse.engine import SQLITE_IMMEDIATE, EngineLike, engine_for

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# pg_advisory_xact_lock(bigint): its key space is apart from the loader's (int, int) locks.
MIGRATION_LOCK = 0x5157_4D49_4752  # "WMIGR"

log = logging.getLogger(__name__)

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision, from the ``revision`` / ``down_revision`` lines of the version files.

    A test checks that this is Alembic's own head.
    """
    parents: dict[str, tuple[str, ...]] = {}
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        if revision is None:
            continue
        down = _DOWN_REVISION.search(text)
        parents[revision.group(1)] = tuple(_QUOTED.findall(down.group(1))) if down else ()
    referenced = {p for ps in parents.values() for p in ps}
    heads = sorted(set(parents) - referenced)
    if len(heads) != 1:
        raise RuntimeError(f"{VERSIONS_DIR}: expected one head revision, found {heads or 'none'}")
    return heads[0]


def _revision_of(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:  # the history is linear: several rows mean someone branched it
        raise RuntimeError(f"warehouse has several schema revisions: {sorted(versions)}")
    return str(versions[0]) if versions else None


def current_revision(url_or_engine: EngineLike) -> str | None:
    """The database's revision, None for a database that was never migrated."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            return _revision_of(conn)
    finally:
        if owned:
            engine.dispose()


def current_revision_ok(url_or_engine: EngineLike) -> bool:
    """True when the database is at the newest migration (the CLI's pre-load check)."""
    return current_revision(url_or_engine) == head_revision()


def _migration_transaction(conn: sa.Connection) -> sa.RootTransaction:
    conn.execution_options(**{SQLITE_IMMEDIATE: True})  # engines of create_warehouse_engine
    transaction = conn.begin()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    return transaction


def migrate(url_or_engine: EngineLike, revision: str = "head") -> str:
    """Upgrade the database to ``revision`` (default: newest); returns the new revision."""
    from alembic import command

    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn, _migration_transaction(conn):
            command.upgrade(alembic_config(conn), revision)
        return current_revision(engine) or ""
    finally:
        if owned:
            engine.dispose()


def ensure_current(url_or_engine: EngineLike) -> str:
    """The schema at the newest revision: a cheap check, and a migration only when behind.

    Safe to run from several processes at once (see the module docstring). Returns the
    revision.
    """
    engine, owned = engine_for(url_or_engine)
    try:
        head = head_revision()
        found = current_revision(engine)
        if found == head:
            log.info("warehouse schema is current (revision %s)", head)
            return head
        revision = migrate(engine)
        log.info("warehouse schema migrated from %s to %s", found or "empty", revision)
        return revision
    finally:
        if owned:
            engine.dispose()


def downgrade(url_or_engine: EngineLike, revision: str) -> str | None:
    """Step the schema back to ``revision`` ("base" drops everything); returns it."""
    from alembic import command

    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn, _migration_transaction(conn):
            command.downgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()
