"""The warehouse schema in SQLAlchemy Core.

Every table below ``company`` and ``extract`` is partitioned by
``(company_id, fiscal_year_start)``, where ``fiscal_year_start`` is the start
of the file's current year (``#RAR 0``). A load replaces a whole partition.
Fact tables have deterministic keys (positions in the file), never serial ids,
so loading the same file twice gives identical rows. Every partition row
carries ``extract_id`` (lineage back to the file it came from).

The analyst views (trial_balance, general_ledger, balance_sheet,
income_statement) are created by the migrations; ``VIEWS`` describes their
columns so Python code can select from them with exact types.
"""

from __future__ import annotations

import sqlalchemy as sa

from include.warehouse.types import Money, Quantity

metadata = sa.MetaData()

# Foreign keys are declared on the small tables; the bulk-loaded fact tables
# (voucher, voucher_row) rely on the loader writing whole partitions in one
# transaction, because per-row FK checks would halve COPY speed. A row's objects
# are columns of voucher_row (the view voucher_row_object lists them one per row).


def _partition_columns(*, fk: bool = True) -> list[sa.Column[object]]:
    company_fk = [sa.ForeignKey("company.company_id")] if fk else []
    return [
        sa.Column("company_id", sa.Integer, *company_fk, nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date,
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
    ]


def _extract_column(*, fk: bool = True) -> sa.Column[object]:
    extract_fk = [sa.ForeignKey("extract.extract_id")] if fk else []
    return sa.Column(
        "extract_id",
        sa.Text,
        *extract_fk,
        nullable=False,
        comment="Lineage: the extract (file) this row was loaded from",
    )


company = sa.Table(
    "company",
    metadata,
    sa.Column("company_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "company_key",
        sa.Text,
        nullable=False,
        unique=True,
        comment="Identity: the organisation number, else 'fnr:<#FNR>', else 'name:<#FNAMN>'",
    ),
    sa.Column(
        "org_number",
        sa.Text,
        nullable=True,
        unique=True,
        comment="Swedish organisation number NNNNNN-NNNN (#ORGNR), when the file has one",
    ),
    sa.Column("name", sa.Text, nullable=False, comment="Company name (#FNAMN) of the latest load"),
    sa.Column(
        "fortnox_tenant_id",
        sa.Text,
        nullable=True,
        unique=True,
        comment="Fortnox DatabaseNumber, when the books come from Fortnox",
    ),
    sa.Column("program_company_id", sa.Text, comment="#FNR: the program's own company id"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    comment="One row per company whose books are in the warehouse",
)

extract = sa.Table(
    "extract",
    metadata,
    sa.Column("extract_id", sa.Text, primary_key=True, comment="Lineage id of one file"),
    sa.Column("company_id", sa.Integer, sa.ForeignKey("company.company_id"), nullable=False),
    sa.Column("fiscal_year_start", sa.Date, nullable=False),
    sa.Column("source_kind", sa.String(10), nullable=False, comment="fortnox, inbox or cli"),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the file's bytes"),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("program", sa.Text, nullable=False, comment="#PROGRAM name and version"),
    sa.Column("encoding", sa.String(10), nullable=False, comment="cp437, utf-8 or latin-1"),
    sa.Column("sie_type", sa.Integer, nullable=False, comment="#SIETYP"),
    sa.Column("landing_path", sa.Text, comment="Landing-zone folder, when from Fortnox"),
    sa.Column("warning_count", sa.Integer, nullable=False, comment="Reader warnings"),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("generated_on", sa.Date, comment="#GEN: the day the file was written"),
    sa.CheckConstraint("source_kind IN ('fortnox', 'inbox', 'cli')", name="ck_extract_source_kind"),
    comment="Every file loaded (lineage); a partition points at its current extract",
)

fiscal_year = sa.Table(
    "fiscal_year",
    metadata,
    *_partition_columns(),
    sa.Column("year_index", sa.Integer, nullable=False, comment="0 current, -1 previous, ..."),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column(
        "from_file",
        sa.Boolean,
        nullable=False,
        comment="False when the file had no #RAR 0 and the year was derived",
    ),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "year_index"),
    comment="The file's #RAR years; the year_index 0 row names the partition's extract",
)

account = sa.Table(
    "account",
    metadata,
    *_partition_columns(),
    sa.Column("account", sa.Text, nullable=False, comment="Account number (#KONTO)"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("account_type", sa.Text, comment="#KTYP: T assets, S liabilities, K, I"),
    sa.Column("unit", sa.Text, comment="#ENHET"),
    sa.Column("sru_code", sa.Text, comment="First #SRU code"),
    sa.Column("sru_codes", sa.Text, comment="All #SRU codes, space separated"),
    sa.Column("line", sa.Integer, nullable=False, comment="Line of #KONTO in the file"),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "account"),
    comment="Chart of accounts",
)

dimension = sa.Table(
    "dimension",
    metadata,
    *_partition_columns(),
    sa.Column("dimension", sa.Text, nullable=False, comment="#DIM / #UNDERDIM number"),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent", sa.Text, comment="Parent dimension of an #UNDERDIM"),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "dimension"),
    comment="Dimensions (1 cost centre, 6 project, ...)",
)

object_ = sa.Table(
    "object",
    metadata,
    *_partition_columns(),
    sa.Column("dimension", sa.Text, nullable=False),
    sa.Column("object_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "dimension", "object_id"),
    comment="Objects of a dimension (#OBJEKT)",
)

balance = sa.Table(
    "balance",
    metadata,
    *_partition_columns(),
    sa.Column("record_index", sa.Integer, nullable=False, comment="Position among balances"),
    sa.Column("kind", sa.String(3), nullable=False, comment="IB, UB or RES"),
    sa.Column("year_index", sa.Integer, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("quantity", Quantity),
    sa.Column(
        "is_effective",
        sa.Boolean,
        nullable=False,
        comment="False when a later record of the file repeats kind/year/account (later wins)",
    ),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
    sa.CheckConstraint("kind IN ('IB', 'UB', 'RES')", name="ck_balance_kind"),
    comment="Opening (#IB), closing (#UB) and result (#RES) balances by year index",
)

period_balance = sa.Table(
    "period_balance",
    metadata,
    *_partition_columns(),
    sa.Column("record_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(7), nullable=False, comment="PSALDO or PBUDGET"),
    sa.Column("year_index", sa.Integer, nullable=False),
    sa.Column("period", sa.String(6), nullable=False, comment="YYYYMM"),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("objects", sa.Text, nullable=False, comment="JSON [[dimension, object_id], ...]"),
    sa.Column("amount", Money, nullable=False),
    sa.Column("quantity", Quantity),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
    comment="Period balances and budgets (#PSALDO, #PBUDGET)",
)

object_balance = sa.Table(
    "object_balance",
    metadata,
    *_partition_columns(),
    sa.Column("record_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(3), nullable=False, comment="OIB or OUB"),
    sa.Column("year_index", sa.Integer, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("dimension", sa.Text, comment="First object's dimension"),
    sa.Column("object_id", sa.Text, comment="First object's id"),
    sa.Column("objects", sa.Text, nullable=False, comment="JSON [[dimension, object_id], ...]"),
    sa.Column("amount", Money, nullable=False),
    sa.Column("quantity", Quantity),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "record_index"),
    comment="Opening/closing balances per object (#OIB, #OUB)",
)

voucher = sa.Table(
    "voucher",
    metadata,
    *_partition_columns(fk=False),
    sa.Column("voucher_index", sa.Integer, nullable=False, comment="Position in the file"),
    sa.Column("series", sa.Text, nullable=False),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("registered_on", sa.Date),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    _extract_column(fk=False),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "voucher_index"),
    comment="Vouchers (#VER)",
    sqlite_with_rowid=False,  # one B-tree (the key) instead of two: faster bulk insert
)

voucher_row = sa.Table(
    "voucher_row",
    metadata,
    *_partition_columns(fk=False),
    sa.Column("row_index", sa.BigInteger, nullable=False, comment="Position in the file"),
    sa.Column("voucher_index", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(6), nullable=False, comment="TRANS, RTRANS or BTRANS"),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("row_date", sa.Date, comment="The row's own date; null means the voucher's"),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("quantity", Quantity),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column(
        "in_balance",
        sa.Boolean,
        nullable=False,
        comment="Counts towards balances (TRANS; RTRANS without twin; never BTRANS)",
    ),
    sa.Column(
        "cost_centre",
        sa.Text,
        comment="Object of dimension 1 (cost centre) on the row, the first if several",
    ),
    sa.Column(
        "project",
        sa.Text,
        comment="Object of dimension 6 (project) on the row, the first if several",
    ),
    sa.Column(
        "objects",
        sa.Text,
        comment="All objects on the row, JSON [[dimension, object_id], ...]; null when none",
    ),
    _extract_column(fk=False),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "row_index"),
    comment="Voucher rows (#TRANS, #RTRANS, #BTRANS)",
    sqlite_with_rowid=False,  # one B-tree (the key) instead of two: faster bulk insert
)


def _open_item_table(name: str, party: str, comment: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        *_partition_columns(),
        sa.Column("invoice_number", sa.Text, nullable=False),
        sa.Column(f"{party}_number", sa.Text, nullable=False),
        sa.Column(f"{party}_name", sa.Text, nullable=False),
        sa.Column("invoice_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("total", Money, nullable=False, comment="Invoice total incl. VAT"),
        sa.Column("open_amount", Money, nullable=False, comment="Unpaid at year end"),
        sa.Column("currency", sa.String(3), nullable=False),
        _extract_column(),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "invoice_number"),
        comment=comment,
    )


ar_open_item = _open_item_table(
    "ar_open_item", "customer", "Open customer invoices (receivables) at year end"
)
ap_open_item = _open_item_table(
    "ap_open_item", "supplier", "Open supplier invoices (payables) at year end"
)

# Delete order (children before parents) when a partition is replaced. The open items
# belong to the partition's extract too: replaced, kept or removed with its books.
PARTITION_TABLES: tuple[sa.Table, ...] = (
    ar_open_item,
    ap_open_item,
    voucher_row,
    voucher,
    object_balance,
    period_balance,
    balance,
    object_,
    dimension,
    account,
    fiscal_year,
)

# ----------------------------------------------------------------- views
# Column descriptions of the views the migrations create, for typed selects.
view_metadata = sa.MetaData()

trial_balance_view = sa.Table(
    "trial_balance",
    view_metadata,
    sa.Column("company_id", sa.Integer),
    sa.Column("org_number", sa.String),
    sa.Column("company_name", sa.Text),
    sa.Column("fiscal_year_start", sa.Date),
    sa.Column("fiscal_year_end", sa.Date),
    sa.Column("account", sa.String),
    sa.Column("account_name", sa.Text),
    sa.Column("sru_code", sa.String),
    sa.Column("opening_balance", Money),
    sa.Column("movements", Money),
    sa.Column("closing_balance", Money),
    sa.Column("reported_closing_balance", Money),
)

general_ledger_view = sa.Table(
    "general_ledger",
    view_metadata,
    sa.Column("company_id", sa.Integer),
    sa.Column("org_number", sa.String),
    sa.Column("fiscal_year_start", sa.Date),
    sa.Column("account", sa.String),
    sa.Column("account_name", sa.Text),
    sa.Column("posting_date", sa.Date),
    sa.Column("series", sa.String),
    sa.Column("voucher_number", sa.String),
    sa.Column("voucher_index", sa.Integer),
    sa.Column("row_index", sa.BigInteger),
    sa.Column("text", sa.Text),
    sa.Column("amount", Money),
    sa.Column("opening_balance", Money),
    sa.Column("running_balance", Money),
)


def _statement_view(name: str) -> sa.Table:
    return sa.Table(
        name,
        view_metadata,
        sa.Column("company_id", sa.Integer),
        sa.Column("org_number", sa.String),
        sa.Column("fiscal_year_start", sa.Date),
        sa.Column("fiscal_year_end", sa.Date),
        sa.Column("account_class", sa.String),
        sa.Column("class_name", sa.String),
        sa.Column("account_group", sa.String),
        sa.Column("sru_code", sa.String),
        sa.Column("account_count", sa.Integer),
        sa.Column("opening_balance", Money),
        sa.Column("movements", Money),
        sa.Column("closing_balance", Money),
    )


balance_sheet_view = _statement_view("balance_sheet")
income_statement_view = _statement_view("income_statement")

VIEWS: dict[str, sa.Table] = {t.name: t for t in view_metadata.sorted_tables}
