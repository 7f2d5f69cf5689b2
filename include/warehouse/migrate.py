"""Apply the Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from include.warehouse.engine import EngineLike, engine_for

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(url_or_engine: EngineLike) -> str | None:
    """The database's revision, None for a database that was never migrated."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def current_revision_ok(url_or_engine: EngineLike) -> bool:
    """True when the database is at the newest migration (the DAG's pre-load check)."""
    return current_revision(url_or_engine) == head_revision()


def migrate(url_or_engine: EngineLike, revision: str = "head") -> str:
    """Upgrade the database to ``revision`` (default: newest); returns the new revision."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        rev = current_revision(engine)
        return rev or ""
    finally:
        if owned:
            engine.dispose()


def downgrade(url_or_engine: EngineLike, revision: str) -> str | None:
    """Step the schema back to ``revision`` ("base" drops everything); returns it."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()
