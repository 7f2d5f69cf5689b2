"""Migrations: up on empty SQLite and PostgreSQL; the result matches schema.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from include.fortnox import pacer_schema, token_schema
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
    "voucher_row_object",
    "ar_open_item",
    "ap_open_item",
}
# The migrations create the warehouse tables, the BAS reference tables, the token store's and
# the pacer's table.
MIGRATED_METADATA = [
    schema.metadata,
    schema.reference_metadata,
    token_schema.metadata,
    pacer_schema.metadata,
]
EXPECTED_VIEWS = {"trial_balance", "general_ledger", "balance_sheet", "income_statement"}


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
