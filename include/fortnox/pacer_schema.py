"""The database pacer's table (SQLAlchemy Core, its own MetaData).

One row per pacer key (``client_id:tenant_id``) holding the start times of the key's requests
in the current window. The warehouse's Alembic migrations create it in production;
``create_pacer_tables`` is for tests and local use.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, MetaData, String, Table, Text


def build_pacer_table(
    metadata: MetaData, name: str = "fortnox_pacer", schema: str | None = None
) -> Table:
    """The pacer table; tests may pass their own name/schema."""
    return Table(
        name,
        metadata,
        Column("key", String(255), primary_key=True),
        # Start times (seconds since the epoch on the database's clock), one per line.
        Column("starts", Text, nullable=False, default=""),
        schema=schema,
    )


metadata = MetaData()
fortnox_pacer = build_pacer_table(metadata)


def create_pacer_tables(engine: Engine, table: Table = fortnox_pacer) -> None:
    """Create the pacer table if missing (tests and local use; production uses Alembic)."""
    table.create(engine, checkfirst=True)
