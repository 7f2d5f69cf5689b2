"""The token store's table (SQLAlchemy Core, its own MetaData).

The warehouse's Alembic migrations create it in production; ``create_token_tables`` is for
tests and local use.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

STATUS_CONNECTED = "connected"
STATUS_RECONNECT_REQUIRED = "reconnect_required"
STATUS_REVOKED = "revoked"
STATUSES = (STATUS_CONNECTED, STATUS_RECONNECT_REQUIRED, STATUS_REVOKED)

GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANTS = (GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS)


def build_connection_table(
    metadata: MetaData, name: str = "fortnox_connection", schema: str | None = None
) -> Table:
    """The connection table; tests pass their own name/schema to avoid clashes."""
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    grants = ", ".join(f"'{g}'" for g in GRANTS)
    return Table(
        name,
        metadata,
        Column("tenant_id", String(64), primary_key=True),
        Column("company_name", String(200), nullable=False, default=""),
        Column("org_number", String(32), nullable=False, default=""),
        # authorization_code: refresh-token connection; client_credentials: service account.
        Column("grant_type", String(32), nullable=False, default=GRANT_AUTHORIZATION_CODE),
        Column("access_token_encrypted", Text, nullable=True),
        Column("access_expires_at", DateTime(timezone=True), nullable=True),
        Column("refresh_token_encrypted", Text, nullable=True),
        Column("scope", Text, nullable=False, default=""),
        Column("status", String(32), nullable=False, default=STATUS_CONNECTED),
        Column("status_reason", Text, nullable=True),
        Column("connected_at", DateTime(timezone=True), nullable=False),
        Column("refreshed_at", DateTime(timezone=True), nullable=True),
        Column("refresh_count", Integer, nullable=False, default=0),
        CheckConstraint(f"status IN ({statuses})", name=f"ck_{name}_status"),
        CheckConstraint(f"grant_type IN ({grants})", name=f"ck_{name}_grant_type"),
        schema=schema,
    )


metadata = MetaData()
fortnox_connection = build_connection_table(metadata)


def create_token_tables(engine: Engine, table: Table = fortnox_connection) -> None:
    """Create the token table if missing (tests and local use; production uses Alembic)."""
    table.create(engine, checkfirst=True)
