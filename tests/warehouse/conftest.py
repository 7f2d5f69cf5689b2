"""Warehouse fixtures: a migrated SQLite file per test (copied from one template) and
one migrated PostgreSQL schema per session (emptied before each test)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.warehouse import schema
from include.warehouse.engine import temporary_schema
from include.warehouse.migrate import migrate

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warehouse-template") / "warehouse.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "warehouse.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_session_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for this session, migrated once, dropped at the end."""
    with temporary_schema(postgres_url, prefix="wh") as url:
        migrate(url)
        yield url


@pytest.fixture
def pg_warehouse_url(pg_session_url: str) -> str:
    """The session's PostgreSQL warehouse, emptied."""
    engine = sa.create_engine(pg_session_url)
    names = ", ".join(f'"{t.name}"' for t in schema.metadata.sorted_tables)
    for attempt in range(3):  # autovacuum's locks can make the server pick TRUNCATE in a deadlock
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            break
        except sa.exc.OperationalError as error:
            if "deadlock detected" not in str(error) or attempt == 2:
                raise
    engine.dispose()
    return pg_session_url


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated warehouse: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_warehouse_url"))
