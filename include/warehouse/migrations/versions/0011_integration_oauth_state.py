"""The Integrations view's OAuth state table (integration_oauth_state).

The table is defined once, in include/integrations/oauth_state.py; the view creates it on
first use when it is missing (``checkfirst``), so this migration only creates it when it is
not there yet, as 0003 does for the token store.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.integrations.oauth_state import build_state_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("integration_oauth_state"):
        build_state_table(sa.MetaData()).create(bind)


def downgrade() -> None:
    op.drop_table("integration_oauth_state")
