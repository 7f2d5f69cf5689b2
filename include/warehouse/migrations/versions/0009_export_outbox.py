"""Export outbox: export_outbox (closing vouchers on their way to Fortnox, exactly once).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATES = "state IN ('pending', 'sending', 'sent', 'failed')"
FILE_STATES = (
    "file_state IN ('none', 'pending', 'uploading', 'uploaded', 'connecting', 'connected', "
    "'failed')"
)
VERIFY_STATES = "verify_state IN ('unverified', 'verified', 'mismatch')"


def upgrade() -> None:
    op.create_table(
        "export_outbox",
        sa.Column(
            "idempotency_key",
            sa.String(length=64),
            nullable=False,
            comment="Written into the Fortnox voucher's Comments; derived from the voucher's "
            "content",
        ),
        sa.Column(
            "company_id",
            sa.Integer(),
            sa.ForeignKey("company.company_id"),
            nullable=False,
            comment="Owning company",
        ),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column(
            "approval_id",
            sa.Text(),
            sa.ForeignKey("approval.approval_id"),
            nullable=False,
            comment="The approval that first scheduled the voucher (a later one may share it)",
        ),
        sa.Column(
            "reference", sa.Text(), nullable=False, comment="The voucher's reference in its set"
        ),
        sa.Column("position", sa.Integer(), nullable=False, comment="Export order within the set"),
        sa.Column("series", sa.Text(), nullable=False, comment="The voucher series asked for"),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column(
            "state", sa.String(length=8), nullable=False, comment="pending, sending, sent or failed"
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="POST /3/vouchers made for it"),
        sa.Column(
            "financial_year_id", sa.Integer(), nullable=True, comment="Fortnox's financial year Id"
        ),
        sa.Column(
            "fortnox_series",
            sa.Text(),
            nullable=True,
            comment="The voucher's series in Fortnox, once sent",
        ),
        sa.Column(
            "fortnox_number",
            sa.Integer(),
            nullable=True,
            comment="The voucher's number in Fortnox, once sent",
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "failure",
            sa.Text(),
            nullable=True,
            comment="Why Fortnox refused the voucher (state failed)",
        ),
        sa.Column(
            "file_name",
            sa.Text(),
            nullable=True,
            comment="The attachment's unique name in Fortnox's inbox (it carries the key)",
        ),
        sa.Column(
            "file_sha256",
            sa.String(length=64),
            nullable=True,
            comment="SHA-256 of the attachment's bytes",
        ),
        sa.Column(
            "file_state",
            sa.String(length=10),
            nullable=False,
            comment="none, pending, uploading, uploaded, connecting, connected or failed",
        ),
        sa.Column("upload_attempts", sa.Integer(), nullable=False),
        sa.Column("connect_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "fortnox_file_id",
            sa.Text(),
            nullable=True,
            comment="The uploaded file's Id in Fortnox",
        ),
        sa.Column(
            "file_failure",
            sa.Text(),
            nullable=True,
            comment="Why Fortnox refused the upload or connection",
        ),
        sa.Column(
            "verify_state",
            sa.String(length=10),
            nullable=False,
            comment="unverified, verified or mismatch (read back from Fortnox after sending)",
        ),
        sa.Column("verify_detail", sa.Text(), nullable=True, comment="What did not match"),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key"),
        sa.CheckConstraint(STATES, name="ck_export_outbox_state"),
        sa.CheckConstraint(FILE_STATES, name="ck_export_outbox_file_state"),
        sa.CheckConstraint(VERIFY_STATES, name="ck_export_outbox_verify_state"),
        sa.CheckConstraint(
            "state <> 'sent' OR (fortnox_series IS NOT NULL AND fortnox_number IS NOT NULL "
            "AND financial_year_id IS NOT NULL)",
            name="ck_export_outbox_sent",
        ),
        sa.UniqueConstraint(
            "company_id",
            "financial_year_id",
            "fortnox_series",
            "fortnox_number",
            name="uq_export_outbox_fortnox_voucher",
        ),
        sa.UniqueConstraint("company_id", "fortnox_file_id", name="uq_export_outbox_fortnox_file"),
        comment="Closing vouchers on their way to Fortnox: state, Fortnox number, file, "
        "verification",
    )
    op.create_index(
        "ix_export_outbox_partition",
        "export_outbox",
        ["company_id", "fiscal_year_start", "position"],
    )


def downgrade() -> None:
    op.drop_index("ix_export_outbox_partition", table_name="export_outbox")
    op.drop_table("export_outbox")
