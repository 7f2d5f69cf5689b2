"""Alembic environment: the caller passes a live connection (see include.warehouse.migrate)."""

from __future__ import annotations

from alembic import context

from include.fortnox.pacer_schema import metadata as pacer_metadata
from include.fortnox.token_schema import metadata as token_metadata
from include.integrations.oauth_state import metadata as oauth_state_metadata
from include.warehouse.schema import metadata, reference_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `python -m include.warehouse migrate [--url URL]`, "
        "which passes the database connection to Alembic"
    )

context.configure(
    connection=connection,
    target_metadata=[
        metadata,
        reference_metadata,
        token_metadata,
        pacer_metadata,
        oauth_state_metadata,
    ],
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
