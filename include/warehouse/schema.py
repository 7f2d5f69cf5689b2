"""The warehouse schema in SQLAlchemy Core.

Every table below ``company`` and ``extract`` is partitioned by
``(company_id, fiscal_year_start)``, where ``fiscal_year_start`` is the start
of the file's current year (``#RAR 0``). A load replaces a whole partition.
Fact tables have deterministic keys (positions in the file), never serial ids,
so loading the same file twice gives identical rows. Every partition row
carries ``extract_id`` (lineage back to the file it came from).

The analyst views (trial_balance, general_ledger, balance_sheet,
income_statement, ar_reconciliation, ap_reconciliation) are created by the
migrations; ``VIEWS`` describes their columns so Python code can select from
them with exact types. The BAS class and group names the statement views show
are reference tables (``reference_metadata``), seeded by the migrations.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from include.warehouse.types import Kronor, Money, Quantity

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
    sa.Column(
        "ksumma",
        sa.String(8),
        nullable=True,
        comment="#KSUMMA outcome of the read: ok, absent or mismatch; null: not recorded",
    ),
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

# ----------------------------------------------------------------- data quality
# Written by include.quality: one dq_run per check of a partition, its dq_result per check
# and the offending rows. Kept when the partition is reloaded (the history of its checks).

dq_run = sa.Table(
    "dq_run",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True, comment="dq-<UTC time>-<random>: sorts by time"),
    *_partition_columns(),
    sa.Column(
        "extract_id",
        sa.Text,
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
        sa.Text,
        comment="Open items when checked (extract, count, total per ledger); null: none",
    ),
    sa.Column("status", sa.String(8), nullable=False, comment="passed, warnings or failed"),
    sa.Column("error_count", sa.Integer, nullable=False, comment="Failed error-severity checks"),
    sa.Column("warning_count", sa.Integer, nullable=False, comment="Failed warning checks"),
    sa.Column("skipped_count", sa.Integer, nullable=False, comment="Checks that could not apply"),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("triggered_by", sa.Text, nullable=False, comment="cli, airflow:<dag>/<run id>, ..."),
    sa.Column("gx_version", sa.Text, comment="Great Expectations version, when GX ran the checks"),
    sa.Column("data_docs_page", sa.Text, comment="This run's Data Docs page (file path)"),
    sa.CheckConstraint("status IN ('passed', 'warnings', 'failed')", name="ck_dq_run_status"),
    sa.Index("ix_dq_run_partition", "company_id", "fiscal_year_start", "finished_at"),
    comment="One data-quality run over one (company, fiscal year) partition",
)

dq_result = sa.Table(
    "dq_result",
    metadata,
    sa.Column("run_id", sa.Text, sa.ForeignKey("dq_run.run_id"), nullable=False),
    sa.Column("check_name", sa.Text, nullable=False, comment="Stable name, e.g. voucher_balances"),
    *_partition_columns(),
    sa.Column("position", sa.SmallInteger, nullable=False, comment="Order of the checks"),
    sa.Column("severity", sa.String(7), nullable=False, comment="error or warning"),
    sa.Column("status", sa.String(7), nullable=False, comment="passed, failed or skipped"),
    sa.Column("summary", sa.Text, nullable=False, comment="What failed, or why it was skipped"),
    sa.Column(
        "failing_row_count",
        sa.Integer,
        nullable=False,
        comment="Offending rows found (dq_failing_row keeps the first 200)",
    ),
    sa.PrimaryKeyConstraint("run_id", "check_name"),
    sa.CheckConstraint("severity IN ('error', 'warning')", name="ck_dq_result_severity"),
    sa.CheckConstraint("status IN ('passed', 'failed', 'skipped')", name="ck_dq_result_status"),
    comment="The outcome of one check in one data-quality run",
)

dq_failing_row = sa.Table(
    "dq_failing_row",
    metadata,
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("check_name", sa.Text, nullable=False),
    sa.Column("row_number", sa.Integer, nullable=False, comment="0, 1, ... within the check"),
    *_partition_columns(),
    sa.Column("series", sa.Text, comment="Voucher series, for voucher checks"),
    sa.Column("number", sa.Text, comment="Voucher number, for voucher checks"),
    sa.Column("voucher_date", sa.Date),
    sa.Column("account", sa.Text, comment="Account (or control-account range)"),
    sa.Column("expected", Money, comment="What the books imply, e.g. opening + movements"),
    sa.Column("actual", Money, comment="What was found, e.g. the file's #UB"),
    sa.Column("difference", Money, comment="actual - expected (voucher_balances: the row sum)"),
    sa.Column("detail", sa.Text, nullable=False, comment="JSON of the whole row (decimal strings)"),
    sa.PrimaryKeyConstraint("run_id", "check_name", "row_number"),
    sa.ForeignKeyConstraint(["run_id", "check_name"], ["dq_result.run_id", "dq_result.check_name"]),
    comment="Offending rows of failed checks: vouchers, accounts, amounts and differences",
)

dq_control_account = sa.Table(
    "dq_control_account",
    metadata,
    sa.Column("company_id", sa.Integer, sa.ForeignKey("company.company_id"), nullable=False),
    sa.Column("ledger", sa.String(2), nullable=False, comment="ar (customers) or ap (suppliers)"),
    sa.Column("first_account", sa.Text, nullable=False),
    sa.Column("last_account", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("company_id", "ledger", "first_account"),
    sa.CheckConstraint("ledger IN ('ar', 'ap')", name="ck_dq_control_account_ledger"),
    comment="A company's control-account ranges; none: 1510-1519 (ar) and 2440-2449 (ap)",
)

# ----------------------------------------------------------------- closing
# Written by include.closing: the accountants' adjustments (CSV import), the proposals the
# pipeline computes, their attachments, and the approvals. Kept when the partition is reloaded:
# they are people's work and decisions, not part of the books' file.

CLOSING_ORIGINS = ("adjustment", "proposal")
CLOSING_KINDS = ("adjustment", "tax_allocation_reserve", "income_tax", "result_transfer")
PROPOSAL_STATES = ("proposed", "accepted", "dropped")
APPROVAL_STATES = ("approved", "rejected")
APPROVAL_CHANNELS = ("ui", "cli")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


closing_attachment = sa.Table(
    "closing_attachment",
    metadata,
    sa.Column("company_id", sa.Integer, sa.ForeignKey("company.company_id"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the content"),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False, comment="The file's bytes"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("company_id", "sha256"),
    comment="Supporting documents of closing vouchers, one copy per company and content",
)

closing_import = sa.Table(
    "closing_import",
    metadata,
    *_partition_columns(),
    sa.Column("file_name", sa.Text, nullable=False, comment="The CSV file as given to the import"),
    sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the CSV's bytes"),
    sa.Column(
        "fingerprint",
        sa.String(64),
        nullable=False,
        comment="SHA-256 over the CSV and its attachments: the same import again is a no-op",
    ),
    sa.Column("voucher_count", sa.Integer, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("attachment_count", sa.Integer, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("imported_by", sa.Text, nullable=False, comment="cli, airflow:<dag>/<run id>, ..."),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start"),
    comment="The partition's current adjustments file (one per company and fiscal year)",
)

closing_adjustment = sa.Table(
    "closing_adjustment",
    metadata,
    *_partition_columns(),
    sa.Column("reference", sa.Text, nullable=False, comment="Voucher reference, unique per year"),
    sa.Column("row_number", sa.SmallInteger, nullable=False, comment="1, 2, ... in the voucher"),
    sa.Column("voucher_position", sa.Integer, nullable=False, comment="Order of the vouchers"),
    sa.Column("origin", sa.String(10), nullable=False, comment="adjustment (CSV) or proposal"),
    sa.Column(
        "kind",
        sa.String(24),
        nullable=False,
        comment="adjustment, tax_allocation_reserve, income_tax or result_transfer",
    ),
    sa.Column("series", sa.Text, nullable=False, comment="Fortnox voucher series"),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False, comment="The voucher's text"),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("debit", Money, nullable=False),
    sa.Column("credit", Money, nullable=False),
    sa.Column("text", sa.Text, nullable=False, comment="The row's text"),
    sa.Column("cost_centre", sa.Text, nullable=False, comment="Cost centre code, or empty"),
    sa.Column("project", sa.Text, nullable=False, comment="Project code, or empty"),
    sa.Column("source_file", sa.Text, comment="The CSV file (adjustments); null for proposals"),
    sa.Column("source_line", sa.Integer, comment="The row's line in the CSV file"),
    sa.Column("attachment_sha256", sa.String(64), comment="The voucher's attachment, if any"),
    sa.Column("attachment_name", sa.Text),
    sa.Column("attachment_media_type", sa.Text),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "reference", "row_number"),
    sa.ForeignKeyConstraint(
        ["company_id", "attachment_sha256"],
        ["closing_attachment.company_id", "closing_attachment.sha256"],
    ),
    sa.CheckConstraint(_in("origin", CLOSING_ORIGINS), name="ck_closing_adjustment_origin"),
    sa.CheckConstraint(_in("kind", CLOSING_KINDS), name="ck_closing_adjustment_kind"),
    sa.CheckConstraint(
        "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)",
        name="ck_closing_adjustment_amount",
    ),
    comment="The accepted closing vouchers' rows: adjustments and accepted proposals",
)

closing_proposal = sa.Table(
    "closing_proposal",
    metadata,
    *_partition_columns(),
    sa.Column("kind", sa.String(24), nullable=False, comment="What the proposal books"),
    sa.Column("position", sa.SmallInteger, nullable=False, comment="Order of the calculation"),
    sa.Column("reference", sa.Text, nullable=False, comment="Its voucher reference if accepted"),
    sa.Column("state", sa.String(8), nullable=False, comment="proposed, accepted or dropped"),
    sa.Column("amount", Money, nullable=False, comment="The figure proposed (0: nothing to book)"),
    sa.Column("series", sa.Text, nullable=False, comment="Fortnox voucher series"),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("rows", sa.Text, nullable=False, comment="JSON rows (decimal strings)"),
    sa.Column("calculation", sa.Text, nullable=False, comment="The calculation, as text"),
    sa.Column("attachment_sha256", sa.String(64), comment="The calculation as a PDF"),
    sa.Column("attachment_name", sa.Text),
    sa.Column("attachment_media_type", sa.Text),
    sa.Column(
        "basis",
        sa.Text,
        nullable=False,
        comment="What it was computed on: extract, load time, adjustments fingerprint",
    ),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text, comment="Who accepted or dropped it"),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "kind"),
    sa.ForeignKeyConstraint(
        ["company_id", "attachment_sha256"],
        ["closing_attachment.company_id", "closing_attachment.sha256"],
    ),
    sa.CheckConstraint(_in("kind", CLOSING_KINDS[1:]), name="ck_closing_proposal_kind"),
    sa.CheckConstraint(_in("state", PROPOSAL_STATES), name="ck_closing_proposal_state"),
    comment="Proposals the pipeline computed (tax allocation reserve, income tax, result)",
)

approval = sa.Table(
    "approval",
    metadata,
    sa.Column("approval_id", sa.Text, primary_key=True, comment="apr-<UTC time>-<random>"),
    *_partition_columns(),
    sa.Column("state", sa.String(8), nullable=False, comment="approved or rejected"),
    sa.Column("decided_by", sa.Text, nullable=False, comment="The person (Airflow user)"),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("via", sa.String(3), nullable=False, comment="ui (Airflow approval task) or cli"),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column(
        "checksum",
        sa.String(64),
        nullable=False,
        comment="SHA-256 of the exact voucher set decided on, attachments' bytes included",
    ),
    sa.Column("voucher_count", sa.Integer, nullable=False),
    sa.Column("dag_run_id", sa.Text, unique=True, comment="The closing DAG run; null from the CLI"),
    sa.Column("snapshot", sa.Text, nullable=False, comment="JSON of the voucher set decided on"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(_in("state", APPROVAL_STATES), name="ck_approval_state"),
    sa.CheckConstraint(_in("via", APPROVAL_CHANNELS), name="ck_approval_via"),
    sa.Index("ix_approval_partition", "company_id", "fiscal_year_start", "decided_at"),
    comment="Approvals and rejections of closings; the export sends only approved sets",
)

# ----------------------------------------------------------------- export outbox
# Written by include.closing.outbox: one row per distinct approved voucher of a partition, the
# record that makes its send to Fortnox happen exactly once (docs/closing.md, "Export").

EXPORT_STATES = ("pending", "sending", "sent", "failed")
EXPORT_FILE_STATES = (
    "none",
    "pending",
    "uploading",
    "uploaded",
    "connecting",
    "connected",
    "failed",
)
EXPORT_VERIFY_STATES = ("unverified", "verified", "mismatch")

export_outbox = sa.Table(
    "export_outbox",
    metadata,
    sa.Column(
        "idempotency_key",
        sa.String(64),
        primary_key=True,
        comment="Written into the Fortnox voucher's Comments; derived from the voucher's content",
    ),
    *_partition_columns(),
    sa.Column(
        "approval_id",
        sa.Text,
        sa.ForeignKey("approval.approval_id"),
        nullable=False,
        comment="The approval that first scheduled the voucher (a later one may share it)",
    ),
    sa.Column("reference", sa.Text, nullable=False, comment="The voucher's reference in its set"),
    sa.Column("position", sa.Integer, nullable=False, comment="Export order within the set"),
    sa.Column("series", sa.Text, nullable=False, comment="The voucher series asked for"),
    sa.Column("voucher_date", sa.Date, nullable=False),
    sa.Column("state", sa.String(8), nullable=False, comment="pending, sending, sent or failed"),
    sa.Column("attempts", sa.Integer, nullable=False, comment="POST /3/vouchers made for it"),
    sa.Column("financial_year_id", sa.Integer, comment="Fortnox's financial year Id"),
    sa.Column("fortnox_series", sa.Text, comment="The voucher's series in Fortnox, once sent"),
    sa.Column("fortnox_number", sa.Integer, comment="The voucher's number in Fortnox, once sent"),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("failure", sa.Text, comment="Why Fortnox refused the voucher (state failed)"),
    sa.Column(
        "file_name",
        sa.Text,
        comment="The attachment's unique name in Fortnox's inbox (it carries the key)",
    ),
    sa.Column("file_sha256", sa.String(64), comment="SHA-256 of the attachment's bytes"),
    sa.Column(
        "file_state",
        sa.String(10),
        nullable=False,
        comment="none, pending, uploading, uploaded, connecting, connected or failed",
    ),
    sa.Column("upload_attempts", sa.Integer, nullable=False),
    sa.Column("connect_attempts", sa.Integer, nullable=False),
    sa.Column("fortnox_file_id", sa.Text, comment="The uploaded file's Id in Fortnox"),
    sa.Column("file_failure", sa.Text, comment="Why Fortnox refused the upload or connection"),
    sa.Column(
        "verify_state",
        sa.String(10),
        nullable=False,
        comment="unverified, verified or mismatch (read back from Fortnox after sending)",
    ),
    sa.Column("verify_detail", sa.Text, comment="What did not match"),
    sa.Column("verified_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(_in("state", EXPORT_STATES), name="ck_export_outbox_state"),
    sa.CheckConstraint(_in("file_state", EXPORT_FILE_STATES), name="ck_export_outbox_file_state"),
    sa.CheckConstraint(
        _in("verify_state", EXPORT_VERIFY_STATES), name="ck_export_outbox_verify_state"
    ),
    sa.CheckConstraint(
        "state <> 'sent' OR (fortnox_series IS NOT NULL AND fortnox_number IS NOT NULL "
        "AND financial_year_id IS NOT NULL)",
        name="ck_export_outbox_sent",
    ),
    # One outbox row per Fortnox voucher and per Fortnox file, whatever goes wrong.
    sa.UniqueConstraint(
        "company_id",
        "financial_year_id",
        "fortnox_series",
        "fortnox_number",
        name="uq_export_outbox_fortnox_voucher",
    ),
    sa.UniqueConstraint("company_id", "fortnox_file_id", name="uq_export_outbox_fortnox_file"),
    sa.Index("ix_export_outbox_partition", "company_id", "fiscal_year_start", "position"),
    comment="Closing vouchers on their way to Fortnox: state, Fortnox number, file, verification",
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

# ------------------------------------------------------------ reference data
# Not books: seeded by the migrations, never written by a load (their own metadata, so
# nothing that empties the warehouse tables touches them).
reference_metadata = sa.MetaData()

bas_account_class = sa.Table(
    "bas_account_class",
    reference_metadata,
    sa.Column("account_class", sa.Text, primary_key=True, comment="First digit of an account"),
    sa.Column("name", sa.Text, nullable=False, comment="The class's name in BAS"),
    sa.Column("name_en", sa.Text, nullable=False, comment="English gloss of the name"),
    comment="BAS account classes (kontoklasser) 1-8",
)

bas_account_group = sa.Table(
    "bas_account_group",
    reference_metadata,
    sa.Column("account_group", sa.Text, primary_key=True, comment="First two digits of an account"),
    sa.Column(
        "account_class",
        sa.Text,
        sa.ForeignKey("bas_account_class.account_class"),
        nullable=False,
    ),
    sa.Column("name", sa.Text, nullable=False, comment="The group's name in BAS"),
    sa.Column("name_en", sa.Text, nullable=False, comment="English gloss of the name"),
    comment="BAS account groups (kontogrupper) 10-89",
)

# ----------------------------------------------------------------- views
# Column descriptions of the views the migrations create, for typed selects. Each amount
# is there twice: in kronor (Kronor: Decimal on both databases) and as integer öre
# (``<name>_ore``), which is what sorts, sums and compares with numbers on both.
view_metadata = sa.MetaData()


def _amounts(*names: str) -> list[sa.Column[Any]]:
    kronor: list[sa.Column[Any]] = [sa.Column(name, Kronor) for name in names]
    return kronor + [sa.Column(f"{name}_ore", sa.BigInteger) for name in names]


def _partition_header() -> list[sa.Column[Any]]:
    """The leading columns of a view over partitions: who and which fiscal year."""
    return [
        sa.Column("company_id", sa.Integer),
        sa.Column("org_number", sa.String),
        sa.Column("company_name", sa.Text),
        sa.Column("fiscal_year_start", sa.Date),
        sa.Column("fiscal_year_end", sa.Date),
    ]


trial_balance_view = sa.Table(
    "trial_balance",
    view_metadata,
    *_partition_header(),
    sa.Column("account", sa.String),
    sa.Column("account_name", sa.Text),
    sa.Column("sru_code", sa.String),
    *_amounts("opening_balance", "movements", "closing_balance", "reported_closing_balance"),
)

general_ledger_view = sa.Table(
    "general_ledger",
    view_metadata,
    sa.Column("company_id", sa.Integer),
    sa.Column("org_number", sa.String),
    sa.Column("company_name", sa.Text),
    sa.Column("fiscal_year_start", sa.Date),
    sa.Column("account", sa.String),
    sa.Column("account_name", sa.Text),
    sa.Column("posting_date", sa.Date),
    sa.Column("series", sa.String),
    sa.Column("voucher_number", sa.String),
    sa.Column("voucher_index", sa.Integer),
    sa.Column("row_index", sa.BigInteger),
    sa.Column("text", sa.Text),
    *_amounts("amount", "opening_balance", "running_balance"),
    sa.Column("cost_centre", sa.Text),
    sa.Column("project", sa.Text),
)


def _statement_view(name: str) -> sa.Table:
    return sa.Table(
        name,
        view_metadata,
        *_partition_header(),
        sa.Column("account_class", sa.String),
        sa.Column("class_name", sa.Text),
        sa.Column("account_group", sa.String),
        sa.Column("group_name", sa.Text),
        sa.Column("sru_code", sa.String),
        sa.Column("account_count", sa.Integer),
        *_amounts("opening_balance", "movements", "closing_balance"),
        sa.Column("class_name_en", sa.Text),
        sa.Column("group_name_en", sa.Text),
    )


balance_sheet_view = _statement_view("balance_sheet")
income_statement_view = _statement_view("income_statement")


def _reconciliation_view(name: str) -> sa.Table:
    # Amounts in the books' sign (payables negative); difference = open items - closing
    # balance. The open-item columns are null when the partition has no subledger.
    return sa.Table(
        name,
        view_metadata,
        *_partition_header(),
        sa.Column("first_account", sa.String),
        sa.Column("last_account", sa.String),
        sa.Column("control_accounts", sa.String),
        sa.Column("open_item_count", sa.Integer),
        *_amounts(
            "opening_balance",
            "movements",
            "closing_balance",
            "reported_closing_balance",
            "open_items_total",
            "difference",
        ),
    )


ar_reconciliation_view = _reconciliation_view("ar_reconciliation")
ap_reconciliation_view = _reconciliation_view("ap_reconciliation")

VIEWS: dict[str, sa.Table] = {t.name: t for t in view_metadata.sorted_tables}
