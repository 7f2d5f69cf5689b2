"""The Fortnox rate-limit pacer's table (fortnox_pacer) in the application database.

Used when the pacer is configured as ``database`` (workers on several hosts share one
window per tenant). The table is defined once, in include/fortnox/pacer_schema.py;
``create_pacer_tables`` may have created it already, so this migration only creates it when
it is not there yet.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.fortnox.pacer_schema import build_pacer_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("fortnox_pacer"):
        build_pacer_table(sa.MetaData()).create(bind)


def downgrade() -> None:
    op.drop_table("fortnox_pacer")
