"""Migrations: up on empty SQLite and PostgreSQL; the result matches schema.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from include.fortnox import pacer_schema, token_schema
from include.integrations import oauth_state
from include.warehouse import current_revision_ok, head_revision, migrate, schema
from include.warehouse.migrate import current_revision, downgrade

EXPECTED_TABLES = {
    "company",
    "extract",
    "fiscal_year",
    "account",
    "dimension",
    "object",
    "balance",
    "period_balance",
    "object_balance",
    "voucher",
    "voucher_row",
    "ar_open_item",
    "ap_open_item",
}
# The migrations create the warehouse tables, the BAS reference tables, the token store's and
# the pacer's and the Integrations view's OAuth state table.
MIGRATED_METADATA = [
    schema.metadata,
    schema.reference_metadata,
    token_schema.metadata,
    pacer_schema.metadata,
    oauth_state.metadata,
]
EXPECTED_VIEWS = {
    "trial_balance",
    "general_ledger",
    "balance_sheet",
    "income_statement",
    "voucher_row_object",
    "ar_reconciliation",
    "ap_reconciliation",
}


def _check_migrated(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) >= EXPECTED_TABLES
        assert set(inspector.get_view_names()) == EXPECTED_VIEWS
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), MIGRATED_METADATA)
            assert diffs == [], diffs
            for view in EXPECTED_VIEWS:  # every view compiles and runs
                conn.execute(sa.text(f"SELECT * FROM {view}")).all()
    finally:
        engine.dispose()


def test_migrate_empty_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'warehouse.db'}"
    assert current_revision(url) is None
    assert not current_revision_ok(url)
    assert migrate(url) == head_revision()
    assert current_revision_ok(url)
    _check_migrated(url)
    assert migrate(url) == head_revision()  # running it again is harmless


def test_downgrade_and_upgrade_again_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    assert downgrade(url, "0001") == "0001"
    assert not current_revision_ok(url)
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_view_names() == []
    engine.dispose()
    migrate(url)
    _check_migrated(url)


@pytest.mark.postgres
def test_migrate_empty_postgres(pg_schema_url: str) -> None:
    assert not current_revision_ok(pg_schema_url)
    assert migrate(pg_schema_url) == head_revision()
    assert current_revision_ok(pg_schema_url)
    _check_migrated(pg_schema_url)


@pytest.mark.postgres
def test_money_is_numeric_on_postgres(pg_warehouse_url: str) -> None:
    engine = sa.create_engine(pg_warehouse_url)
    try:
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("voucher_row")}
    finally:
        engine.dispose()
    assert isinstance(columns["amount"], sa.Numeric)
    assert (columns["amount"].precision, columns["amount"].scale) == (18, 2)


def test_money_is_integer_ore_on_sqlite(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    try:
        columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("voucher_row")}
    finally:
        engine.dispose()
    assert isinstance(columns["amount"], sa.BigInteger)


def test_token_store_table_is_migrated_even_when_the_cli_made_it_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from include.fortnox.token_schema import create_token_tables

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(fresh)
    early = f"sqlite:///{tmp_path / 'early.db'}"
    engine = sa.create_engine(early)
    create_token_tables(engine)  # `python -m include.fortnox connect` before any migration
    engine.dispose()
    migrate(early)
    for url in (fresh, early):
        engine = sa.create_engine(url)
        assert "fortnox_connection" in sa.inspect(engine).get_table_names()
        engine.dispose()
        assert current_revision_ok(url)


def test_head_and_current_revision_agree_with_alembic(tmp_path: Path) -> None:
    """The cheap check (version files' text, one SELECT) sees what Alembic sees."""
    from alembic.script import ScriptDirectory

    from include.warehouse.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    for target in ("0001", "head"):
        migrate(url, target)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert current_revision(url) == MigrationContext.configure(conn).get_current_revision()
        engine.dispose()


@pytest.fixture(
    params=[pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]
)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that was never migrated: a new SQLite file or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def test_ensure_current_migrates_only_when_behind(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from include.warehouse.migrate import ensure_current

    upgrades: list[str] = []
    real_upgrade = command.upgrade

    def counting_upgrade(config, revision, **kwargs):  # type: ignore[no-untyped-def]
        upgrades.append(revision)
        return real_upgrade(config, revision, **kwargs)

    monkeypatch.setattr(command, "upgrade", counting_upgrade)
    assert ensure_current(empty_url) == head_revision()
    assert upgrades == ["head"]
    for _ in range(3):  # the load DAG's schema task, run after run: no migration
        assert ensure_current(empty_url) == head_revision()
    assert upgrades == ["head"]
    downgrade(empty_url, "0002")
    assert ensure_current(empty_url) == head_revision()  # behind again: migrated
    assert upgrades == ["head", "head"]
    _check_migrated(empty_url)


def test_concurrent_migrations_of_one_database_wait_for_each_other(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs both find the schema behind and migrate at once: one waits, then no-ops."""
    import importlib
    import threading

    migrate_module = importlib.import_module("include.warehouse.migrate")  # not the function

    both_behind = threading.Barrier(2, timeout=30)
    real_migrate = migrate_module.migrate

    def migrate_together(*args, **kwargs):  # type: ignore[no-untyped-def]
        both_behind.wait()  # both have seen the schema behind before either migrates
        return real_migrate(*args, **kwargs)

    monkeypatch.setattr(migrate_module, "migrate", migrate_together)
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(migrate_module.ensure_current(empty_url))
        except Exception as exc:  # collected: the assertion below shows it
            outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes == [head_revision(), head_revision()]
    _check_migrated(empty_url)
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            (head_revision(),)
        ]
    engine.dispose()
