"""Data quality: dq_run, dq_result, dq_failing_row, dq_control_account; extract.ksumma.

``extract.ksumma`` is nullable: extracts loaded before it existed (and loaders that do not
set it yet) read as "not recorded", which the ``ksumma`` check reports as skipped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.warehouse.types import Money

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


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


def upgrade() -> None:
    op.add_column(
        "extract",
        sa.Column(
            "ksumma",
            sa.String(length=8),
            nullable=True,
            comment="#KSUMMA outcome of the read: ok, absent or mismatch; null: not recorded",
        ),
    )
    op.create_table(
        "dq_run",
        sa.Column(
            "run_id", sa.Text(), nullable=False, comment="dq-<UTC time>-<random>: sorts by time"
        ),
        *_partition_columns(),
        sa.Column(
            "extract_id",
            sa.Text(),
            sa.ForeignKey("extract.extract_id"),
            nullable=False,
            comment="The partition's extract (fiscal_year.extract_id) the checks ran on",
        ),
        sa.Column(
            "extract_loaded_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="That extract's loaded_at when checked: a force reload changes it",
        ),
        sa.Column(
            "subledger_stamp",
            sa.Text(),
            nullable=True,
            comment="Open items when checked (extract, count, total per ledger); null: none",
        ),
        sa.Column(
            "status", sa.String(length=8), nullable=False, comment="passed, warnings or failed"
        ),
        sa.Column(
            "error_count", sa.Integer(), nullable=False, comment="Failed error-severity checks"
        ),
        sa.Column("warning_count", sa.Integer(), nullable=False, comment="Failed warning checks"),
        sa.Column(
            "skipped_count", sa.Integer(), nullable=False, comment="Checks that could not apply"
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "triggered_by", sa.Text(), nullable=False, comment="cli, airflow:<dag>/<run id>, ..."
        ),
        sa.Column(
            "gx_version",
            sa.Text(),
            nullable=True,
            comment="Great Expectations version, when GX ran the checks",
        ),
        sa.Column(
            "data_docs_page",
            sa.Text(),
            nullable=True,
            comment="This run's Data Docs page (file path)",
        ),
        sa.CheckConstraint("status IN ('passed', 'warnings', 'failed')", name="ck_dq_run_status"),
        sa.PrimaryKeyConstraint("run_id"),
        comment="One data-quality run over one (company, fiscal year) partition",
    )
    op.create_index(
        "ix_dq_run_partition", "dq_run", ["company_id", "fiscal_year_start", "finished_at"]
    )
    op.create_table(
        "dq_result",
        sa.Column("run_id", sa.Text(), sa.ForeignKey("dq_run.run_id"), nullable=False),
        sa.Column(
            "check_name", sa.Text(), nullable=False, comment="Stable name, e.g. voucher_balances"
        ),
        *_partition_columns(),
        sa.Column("position", sa.SmallInteger(), nullable=False, comment="Order of the checks"),
        sa.Column("severity", sa.String(length=7), nullable=False, comment="error or warning"),
        sa.Column(
            "status", sa.String(length=7), nullable=False, comment="passed, failed or skipped"
        ),
        sa.Column(
            "summary", sa.Text(), nullable=False, comment="What failed, or why it was skipped"
        ),
        sa.Column(
            "failing_row_count",
            sa.Integer(),
            nullable=False,
            comment="Offending rows found (dq_failing_row keeps the first 200)",
        ),
        sa.PrimaryKeyConstraint("run_id", "check_name"),
        sa.CheckConstraint("severity IN ('error', 'warning')", name="ck_dq_result_severity"),
        sa.CheckConstraint("status IN ('passed', 'failed', 'skipped')", name="ck_dq_result_status"),
        comment="The outcome of one check in one data-quality run",
    )
    op.create_table(
        "dq_failing_row",
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("check_name", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False, comment="0, 1, ... within the check"),
        *_partition_columns(),
        sa.Column("series", sa.Text(), nullable=True, comment="Voucher series, for voucher checks"),
        sa.Column("number", sa.Text(), nullable=True, comment="Voucher number, for voucher checks"),
        sa.Column("voucher_date", sa.Date(), nullable=True),
        sa.Column(
            "account", sa.Text(), nullable=True, comment="Account (or control-account range)"
        ),
        sa.Column(
            "expected",
            Money(),
            nullable=True,
            comment="What the books imply, e.g. opening + movements",
        ),
        sa.Column("actual", Money(), nullable=True, comment="What was found, e.g. the file's #UB"),
        sa.Column(
            "difference",
            Money(),
            nullable=True,
            comment="actual - expected (voucher_balances: the row sum)",
        ),
        sa.Column(
            "detail", sa.Text(), nullable=False, comment="JSON of the whole row (decimal strings)"
        ),
        sa.ForeignKeyConstraint(
            ["run_id", "check_name"], ["dq_result.run_id", "dq_result.check_name"]
        ),
        sa.PrimaryKeyConstraint("run_id", "check_name", "row_number"),
        comment="Offending rows of failed checks: vouchers, accounts, amounts and differences",
    )
    op.create_table(
        "dq_control_account",
        sa.Column("company_id", sa.Integer(), sa.ForeignKey("company.company_id"), nullable=False),
        sa.Column(
            "ledger",
            sa.String(length=2),
            nullable=False,
            comment="ar (customers) or ap (suppliers)",
        ),
        sa.Column("first_account", sa.Text(), nullable=False),
        sa.Column("last_account", sa.Text(), nullable=False),
        sa.CheckConstraint("ledger IN ('ar', 'ap')", name="ck_dq_control_account_ledger"),
        sa.PrimaryKeyConstraint("company_id", "ledger", "first_account"),
        comment="A company's control-account ranges; none: 1510-1519 (ar) and 2440-2449 (ap)",
    )


def downgrade() -> None:
    op.drop_table("dq_control_account")
    op.drop_table("dq_failing_row")
    op.drop_table("dq_result")
    op.drop_index("ix_dq_run_partition", table_name="dq_run")
    op.drop_table("dq_run")
    with op.batch_alter_table("extract") as batch:
        batch.drop_column("ksumma")
