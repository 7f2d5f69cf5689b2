"""Closing: closing_attachment, closing_import, closing_adjustment, closing_proposal, approval.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.warehouse.types import Money

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ORIGINS = "origin IN ('adjustment', 'proposal')"
KINDS = "kind IN ('adjustment', 'tax_allocation_reserve', 'income_tax', 'result_transfer')"
PROPOSAL_KINDS = "kind IN ('tax_allocation_reserve', 'income_tax', 'result_transfer')"


def _partition_columns() -> list[sa.Column[object]]:
    return [
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
    ]


def _attachment_columns(comment: str) -> list[sa.Column[object]]:
    return [
        sa.Column("attachment_sha256", sa.String(length=64), nullable=True, comment=comment),
        sa.Column("attachment_name", sa.Text(), nullable=True),
        sa.Column("attachment_media_type", sa.Text(), nullable=True),
    ]


def _attachment_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["company_id", "attachment_sha256"],
        ["closing_attachment.company_id", "closing_attachment.sha256"],
    )


def upgrade() -> None:
    op.create_table(
        "closing_attachment",
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("company.company_id"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False, comment="SHA-256 of the content"),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False, comment="The file's bytes"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "sha256"),
        comment="Supporting documents of closing vouchers, one copy per company and content",
    )
    op.create_table(
        "closing_import",
        *_partition_columns(),
        sa.Column(
            "file_name", sa.Text(), nullable=False, comment="The CSV file as given to the import"
        ),
        sa.Column(
            "sha256", sa.String(length=64), nullable=False, comment="SHA-256 of the CSV's bytes"
        ),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 over the CSV and its attachments: the same import again is a no-op",
        ),
        sa.Column("voucher_count", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("attachment_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "imported_by", sa.Text(), nullable=False, comment="cli, airflow:<dag>/<run id>, ..."
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start"),
        comment="The partition's current adjustments file (one per company and fiscal year)",
    )
    op.create_table(
        "closing_adjustment",
        *_partition_columns(),
        sa.Column(
            "reference", sa.Text(), nullable=False, comment="Voucher reference, unique per year"
        ),
        sa.Column(
            "row_number", sa.SmallInteger(), nullable=False, comment="1, 2, ... in the voucher"
        ),
        sa.Column(
            "voucher_position", sa.Integer(), nullable=False, comment="Order of the vouchers"
        ),
        sa.Column(
            "origin", sa.String(length=10), nullable=False, comment="adjustment (CSV) or proposal"
        ),
        sa.Column(
            "kind",
            sa.String(length=24),
            nullable=False,
            comment="adjustment, tax_allocation_reserve, income_tax or result_transfer",
        ),
        sa.Column("series", sa.Text(), nullable=False, comment="Fortnox voucher series"),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, comment="The voucher's text"),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("debit", Money(), nullable=False),
        sa.Column("credit", Money(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False, comment="The row's text"),
        sa.Column("cost_centre", sa.Text(), nullable=False, comment="Cost centre code, or empty"),
        sa.Column("project", sa.Text(), nullable=False, comment="Project code, or empty"),
        sa.Column(
            "source_file",
            sa.Text(),
            nullable=True,
            comment="The CSV file (adjustments); null for proposals",
        ),
        sa.Column(
            "source_line", sa.Integer(), nullable=True, comment="The row's line in the CSV file"
        ),
        *_attachment_columns("The voucher's attachment, if any"),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "reference", "row_number"),
        _attachment_fk(),
        sa.CheckConstraint(ORIGINS, name="ck_closing_adjustment_origin"),
        sa.CheckConstraint(KINDS, name="ck_closing_adjustment_kind"),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)",
            name="ck_closing_adjustment_amount",
        ),
        comment="The accepted closing vouchers' rows: adjustments and accepted proposals",
    )
    op.create_table(
        "closing_proposal",
        *_partition_columns(),
        sa.Column("kind", sa.String(length=24), nullable=False, comment="What the proposal books"),
        sa.Column(
            "position", sa.SmallInteger(), nullable=False, comment="Order of the calculation"
        ),
        sa.Column(
            "reference", sa.Text(), nullable=False, comment="Its voucher reference if accepted"
        ),
        sa.Column(
            "state", sa.String(length=8), nullable=False, comment="proposed, accepted or dropped"
        ),
        sa.Column(
            "amount", Money(), nullable=False, comment="The figure proposed (0: nothing to book)"
        ),
        sa.Column("series", sa.Text(), nullable=False, comment="Fortnox voucher series"),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False, comment="JSON rows (decimal strings)"),
        sa.Column("calculation", sa.Text(), nullable=False, comment="The calculation, as text"),
        *_attachment_columns("The calculation as a PDF"),
        sa.Column(
            "basis",
            sa.Text(),
            nullable=False,
            comment="What it was computed on: extract, load time, adjustments fingerprint",
        ),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True, comment="Who accepted or dropped it"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "kind"),
        _attachment_fk(),
        sa.CheckConstraint(PROPOSAL_KINDS, name="ck_closing_proposal_kind"),
        sa.CheckConstraint(
            "state IN ('proposed', 'accepted', 'dropped')", name="ck_closing_proposal_state"
        ),
        comment="Proposals the pipeline computed (tax allocation reserve, income tax, result)",
    )
    op.create_table(
        "approval",
        sa.Column("approval_id", sa.Text(), nullable=False, comment="apr-<UTC time>-<random>"),
        *_partition_columns(),
        sa.Column("state", sa.String(length=8), nullable=False, comment="approved or rejected"),
        sa.Column("decided_by", sa.Text(), nullable=False, comment="The person (Airflow user)"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "via",
            sa.String(length=3),
            nullable=False,
            comment="ui (Airflow approval task) or cli",
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column(
            "checksum",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the exact voucher set decided on, attachments' bytes included",
        ),
        sa.Column("voucher_count", sa.Integer(), nullable=False),
        sa.Column(
            "dag_run_id",
            sa.Text(),
            nullable=True,
            comment="The closing DAG run; null from the CLI",
        ),
        sa.Column(
            "snapshot", sa.Text(), nullable=False, comment="JSON of the voucher set decided on"
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id"),
        sa.UniqueConstraint("dag_run_id"),
        sa.CheckConstraint("state IN ('approved', 'rejected')", name="ck_approval_state"),
        sa.CheckConstraint("via IN ('ui', 'cli')", name="ck_approval_via"),
        comment="Approvals and rejections of closings; the export sends only approved sets",
    )
    op.create_index(
        "ix_approval_partition", "approval", ["company_id", "fiscal_year_start", "decided_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_approval_partition", table_name="approval")
    op.drop_table("approval")
    op.drop_table("closing_proposal")
    op.drop_table("closing_adjustment")
    op.drop_table("closing_import")
    op.drop_table("closing_attachment")
