"""Tables: company, extract and the (company, fiscal year) partition tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from include.warehouse.types import Money, Quantity

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "company",
        sa.Column("company_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "company_key",
            sa.Text(),
            nullable=False,
            comment="Identity: the organisation number, else 'fnr:<#FNR>', else 'name:<#FNAMN>'",
        ),
        sa.Column(
            "org_number",
            sa.Text(),
            nullable=True,
            comment="Swedish organisation number NNNNNN-NNNN (#ORGNR), when the file has one",
        ),
        sa.Column(
            "name", sa.Text(), nullable=False, comment="Company name (#FNAMN) of the latest load"
        ),
        sa.Column(
            "fortnox_tenant_id",
            sa.Text(),
            nullable=True,
            comment="Fortnox DatabaseNumber, when the books come from Fortnox",
        ),
        sa.Column(
            "program_company_id",
            sa.Text(),
            nullable=True,
            comment="#FNR: the program's own company id",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("company_id"),
        sa.UniqueConstraint("company_key"),
        sa.UniqueConstraint("fortnox_tenant_id"),
        sa.UniqueConstraint("org_number"),
        comment="One row per company whose books are in the warehouse",
    )
    op.create_table(
        "voucher",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("voucher_index", sa.Integer(), nullable=False, comment="Position in the file"),
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "voucher_index"),
        comment="Vouchers (#VER)",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "voucher_row",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("row_index", sa.BigInteger(), nullable=False, comment="Position in the file"),
        sa.Column("voucher_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=6), nullable=False, comment="TRANS, RTRANS or BTRANS"),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column(
            "row_date",
            sa.Date(),
            nullable=True,
            comment="The row's own date; null means the voucher's",
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("quantity", Quantity(), nullable=True),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "in_balance",
            sa.Boolean(),
            nullable=False,
            comment="Counts towards balances (TRANS; RTRANS without twin; never BTRANS)",
        ),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "row_index"),
        comment="Voucher rows (#TRANS, #RTRANS, #BTRANS)",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "voucher_row_object",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("row_index", sa.BigInteger(), nullable=False),
        sa.Column(
            "position", sa.SmallInteger(), nullable=False, comment="Order in the object list"
        ),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "row_index", "position"),
        comment="Objects on a voucher row ({dimension object_id ...})",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "extract",
        sa.Column("extract_id", sa.Text(), nullable=False, comment="Lineage id of one file"),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year_start", sa.Date(), nullable=False),
        sa.Column(
            "source_kind", sa.String(length=10), nullable=False, comment="fortnox, inbox or cli"
        ),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column(
            "sha256", sa.String(length=64), nullable=False, comment="SHA-256 of the file's bytes"
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("program", sa.Text(), nullable=False, comment="#PROGRAM name and version"),
        sa.Column(
            "encoding", sa.String(length=10), nullable=False, comment="cp437, utf-8 or latin-1"
        ),
        sa.Column("sie_type", sa.Integer(), nullable=False, comment="#SIETYP"),
        sa.Column(
            "landing_path",
            sa.Text(),
            nullable=True,
            comment="Landing-zone folder, when from Fortnox",
        ),
        sa.Column("warning_count", sa.Integer(), nullable=False, comment="Reader warnings"),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source_kind IN ('fortnox', 'inbox', 'cli')", name="ck_extract_source_kind"
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.PrimaryKeyConstraint("extract_id"),
        comment="Every file loaded (lineage); a partition points at its current extract",
    )
    op.create_table(
        "account",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("account", sa.Text(), nullable=False, comment="Account number (#KONTO)"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "account_type", sa.Text(), nullable=True, comment="#KTYP: T assets, S liabilities, K, I"
        ),
        sa.Column("unit", sa.Text(), nullable=True, comment="#ENHET"),
        sa.Column("sru_code", sa.Text(), nullable=True, comment="First #SRU code"),
        sa.Column("sru_codes", sa.Text(), nullable=True, comment="All #SRU codes, space separated"),
        sa.Column("line", sa.Integer(), nullable=False, comment="Line of #KONTO in the file"),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "account"),
        comment="Chart of accounts",
    )
    op.create_table(
        "ap_open_item",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("invoice_number", sa.Text(), nullable=False),
        sa.Column("supplier_number", sa.Text(), nullable=False),
        sa.Column("supplier_name", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total", Money(), nullable=False, comment="Invoice total incl. VAT"),
        sa.Column("open_amount", Money(), nullable=False, comment="Unpaid at year end"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "invoice_number"),
        comment="Open supplier invoices (payables) at year end",
    )
    op.create_table(
        "ar_open_item",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("invoice_number", sa.Text(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("customer_name", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("total", Money(), nullable=False, comment="Invoice total incl. VAT"),
        sa.Column("open_amount", Money(), nullable=False, comment="Unpaid at year end"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "invoice_number"),
        comment="Open customer invoices (receivables) at year end",
    )
    op.create_table(
        "balance",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("record_index", sa.Integer(), nullable=False, comment="Position among balances"),
        sa.Column("kind", sa.String(length=3), nullable=False, comment="IB, UB or RES"),
        sa.Column("year_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("quantity", Quantity(), nullable=True),
        sa.Column(
            "is_effective",
            sa.Boolean(),
            nullable=False,
            comment="False when a later record of the file repeats kind/year/account (later wins)",
        ),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.CheckConstraint("kind IN ('IB', 'UB', 'RES')", name="ck_balance_kind"),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
        comment="Opening (#IB), closing (#UB) and result (#RES) balances by year index",
    )
    op.create_table(
        "dimension",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("dimension", sa.Text(), nullable=False, comment="#DIM / #UNDERDIM number"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=True, comment="Parent dimension of an #UNDERDIM"),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "dimension"),
        comment="Dimensions (1 cost centre, 6 project, ...)",
    )
    op.create_table(
        "fiscal_year",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column(
            "year_index", sa.Integer(), nullable=False, comment="0 current, -1 previous, ..."
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "from_file",
            sa.Boolean(),
            nullable=False,
            comment="False when the file had no #RAR 0 and the year was derived",
        ),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "year_index"),
        comment="The file's #RAR years; the year_index 0 row names the partition's extract",
    )
    op.create_table(
        "object",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "dimension", "object_id"),
        comment="Objects of a dimension (#OBJEKT)",
    )
    op.create_table(
        "object_balance",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("record_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=3), nullable=False, comment="OIB or OUB"),
        sa.Column("year_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=True, comment="First object's dimension"),
        sa.Column("object_id", sa.Text(), nullable=True, comment="First object's id"),
        sa.Column(
            "objects", sa.Text(), nullable=False, comment="JSON [[dimension, object_id], ...]"
        ),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("quantity", Quantity(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
        comment="Opening/closing balances per object (#OIB, #OUB)",
    )
    op.create_table(
        "period_balance",
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("record_index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=7), nullable=False, comment="PSALDO or PBUDGET"),
        sa.Column("year_index", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False, comment="YYYYMM"),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column(
            "objects", sa.Text(), nullable=False, comment="JSON [[dimension, object_id], ...]"
        ),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("quantity", Quantity(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.company_id"],
        ),
        sa.ForeignKeyConstraint(
            ["extract_id"],
            ["extract.extract_id"],
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
        comment="Period balances and budgets (#PSALDO, #PBUDGET)",
    )


def downgrade() -> None:
    op.drop_table("period_balance")
    op.drop_table("object_balance")
    op.drop_table("object")
    op.drop_table("fiscal_year")
    op.drop_table("dimension")
    op.drop_table("balance")
    op.drop_table("ar_open_item")
    op.drop_table("ap_open_item")
    op.drop_table("account")
    op.drop_table("extract")
    op.drop_table("voucher_row_object")
    op.drop_table("voucher_row")
    op.drop_table("voucher")
    op.drop_table("company")
