"""The Fortnox token store's table (fortnox_connection) in the application database.

The table is defined once, in include/fortnox/token_schema.py; the CLI creates it when it is
missing (``checkfirst``), so this migration only creates it when it is not there yet.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.fortnox.token_schema import build_connection_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("fortnox_connection"):
        build_connection_table(sa.MetaData()).create(bind)


def downgrade() -> None:
    op.drop_table("fortnox_connection")
