"""Analyst views in kronor on both databases; BAS class and group names.

Storage stays as it is (integer öre on SQLite, NUMERIC(18,2) on PostgreSQL), so
the views used to show öre on SQLite and kronor on PostgreSQL. Now every view
computes in integer öre and shows each amount twice, the same on both databases:
``<name>`` in kronor (NUMERIC(18,2) on PostgreSQL; on SQLite the exact text
``-16502155.90``, built with integer arithmetic, one text per amount) and
``<name>_ore``, an integer, for arithmetic and ordering. Only the SQL differs per
dialect; an analyst's query over the views is the same.

``bas_account_class`` and ``bas_account_group`` hold the BAS chart's class and
two-digit group names (Swedish as BAS names them, with an English gloss);
``balance_sheet`` and ``income_statement`` gain ``company_name``, ``group_name``
and the names of both.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# BAS kontoplan: class and group names as BAS publishes them (bas.se, "Kontoplan BAS").
BAS_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("1", "Tillgångar", "Assets"),
    ("2", "Eget kapital och skulder", "Equity and liabilities"),
    ("3", "Rörelsens inkomster/intäkter", "Operating income"),
    (
        "4",
        "Utgifter/kostnader för varor, material och vissa köpta tjänster",
        "Costs of goods, materials and certain purchased services",
    ),
    ("5", "Övriga externa rörelseutgifter/kostnader", "Other external operating costs"),
    ("6", "Övriga externa rörelseutgifter/kostnader", "Other external operating costs"),
    (
        "7",
        "Utgifter/kostnader för personal, avskrivningar m.m.",
        "Personnel costs, depreciation etc.",
    ),
    (
        "8",
        "Finansiella och andra inkomster/intäkter och utgifter/kostnader",
        "Financial and other income and costs",
    ),
)

_FREE = ("(Fri kontogrupp)", "(Free group)")
BAS_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("10", "Immateriella anläggningstillgångar", "Intangible fixed assets"),
    ("11", "Byggnader och mark", "Buildings and land"),
    ("12", "Maskiner och inventarier", "Machinery and equipment"),
    ("13", "Finansiella anläggningstillgångar", "Financial fixed assets"),
    (
        "14",
        "Lager, produkter i arbete och pågående arbeten",
        "Inventories, work in progress and contracts in progress",
    ),
    ("15", "Kundfordringar", "Accounts receivable"),
    ("16", "Övriga kortfristiga fordringar", "Other current receivables"),
    ("17", "Förutbetalda kostnader och upplupna intäkter", "Prepaid expenses and accrued income"),
    ("18", "Kortfristiga placeringar", "Short-term investments"),
    ("19", "Kassa och bank", "Cash and bank"),
    ("20", "Eget kapital", "Equity"),
    ("21", "Obeskattade reserver", "Untaxed reserves"),
    ("22", "Avsättningar", "Provisions"),
    ("23", "Långfristiga skulder", "Long-term liabilities"),
    (
        "24",
        "Kortfristiga skulder till kreditinstitut, kunder och leverantörer",
        "Current liabilities to credit institutions, customers and suppliers",
    ),
    ("25", "Skatteskulder", "Tax liabilities"),
    ("26", "Moms och särskilda punktskatter", "VAT and excise duties"),
    (
        "27",
        "Personalens skatter, avgifter och löneavdrag",
        "Employees' taxes, charges and payroll deductions",
    ),
    ("28", "Övriga kortfristiga skulder", "Other current liabilities"),
    ("29", "Upplupna kostnader och förutbetalda intäkter", "Accrued expenses and prepaid income"),
    ("30", "Huvudintäkter", "Main revenue"),
    ("31", "Huvudintäkter", "Main revenue"),
    ("32", "Huvudintäkter", "Main revenue"),
    ("33", "Huvudintäkter", "Main revenue"),
    ("34", "Huvudintäkter", "Main revenue"),
    ("35", "Fakturerade kostnader", "Invoiced costs"),
    ("36", "Rörelsens sidointäkter", "Secondary operating income"),
    ("37", "Intäktskorrigeringar", "Revenue adjustments"),
    ("38", "Aktiverat arbete för egen räkning", "Own work capitalised"),
    ("39", "Övriga rörelseintäkter", "Other operating income"),
    ("40", "Inköp av varor och material", "Purchases of goods and materials"),
    ("41", "Inköp av varor och material", "Purchases of goods and materials"),
    ("42", "Inköp av varor och material", "Purchases of goods and materials"),
    ("43", "Inköp av varor och material", "Purchases of goods and materials"),
    ("44", "Inköp av varor och material", "Purchases of goods and materials"),
    ("45", "Inköp av varor och material", "Purchases of goods and materials"),
    ("46", "Legoarbeten, underentreprenader", "Contract work and subcontracting"),
    ("47", "Reduktion av inköpspriser", "Purchase price reductions"),
    ("48", *_FREE),
    (
        "49",
        "Förändring av lager, produkter i arbete och pågående arbeten",
        "Change in inventories, work in progress and contracts in progress",
    ),
    ("50", "Lokalkostnader", "Premises costs"),
    ("51", "Fastighetskostnader", "Property costs"),
    ("52", "Hyra av anläggningstillgångar", "Rental of fixed assets"),
    ("53", "Energikostnader", "Energy costs"),
    (
        "54",
        "Förbrukningsinventarier och förbrukningsmaterial",
        "Consumable equipment and supplies",
    ),
    ("55", "Reparation och underhåll", "Repairs and maintenance"),
    ("56", "Kostnader för transportmedel", "Vehicle costs"),
    ("57", "Frakter och transporter", "Freight and transport"),
    ("58", "Resekostnader", "Travel expenses"),
    ("59", "Reklam och PR", "Advertising and PR"),
    ("60", "Övriga försäljningskostnader", "Other selling expenses"),
    ("61", "Kontorsmateriel och trycksaker", "Office supplies and printed matter"),
    ("62", "Tele och post", "Telecommunications and postage"),
    (
        "63",
        "Företagsförsäkringar och övriga riskkostnader",
        "Business insurance and other risk costs",
    ),
    ("64", "Förvaltningskostnader", "Administrative expenses"),
    ("65", "Övriga externa tjänster", "Other external services"),
    ("66", *_FREE),
    ("67", *_FREE),
    ("68", "Inhyrd personal", "Hired staff"),
    ("69", "Övriga externa kostnader", "Other external costs"),
    ("70", "Löner till kollektivanställda", "Wages of workers"),
    ("71", *_FREE),
    (
        "72",
        "Löner till tjänstemän och företagsledare",
        "Salaries of salaried employees and management",
    ),
    ("73", "Kostnadsersättningar och förmåner", "Expense allowances and benefits"),
    ("74", "Pensionskostnader", "Pension costs"),
    (
        "75",
        "Sociala och andra avgifter enligt lag och avtal",
        "Statutory and contractual social charges",
    ),
    ("76", "Övriga personalkostnader", "Other personnel costs"),
    (
        "77",
        "Nedskrivningar och återföring av nedskrivningar",
        "Impairments and reversals of impairments",
    ),
    ("78", "Avskrivningar enligt plan", "Depreciation according to plan"),
    ("79", "Övriga rörelsekostnader", "Other operating expenses"),
    ("80", "Resultat från andelar i koncernföretag", "Result from shares in group companies"),
    ("81", "Resultat från andelar i intresseföretag", "Result from shares in associated companies"),
    (
        "82",
        "Resultat från övriga värdepapper och långfristiga fordringar (anläggningstillgångar)",
        "Result from other securities and long-term receivables (fixed assets)",
    ),
    (
        "83",
        "Övriga ränteintäkter och liknande resultatposter",
        "Other interest income and similar items",
    ),
    ("84", "Räntekostnader och liknande resultatposter", "Interest expenses and similar items"),
    ("85", *_FREE),
    ("86", *_FREE),
    ("87", *_FREE),
    ("88", "Bokslutsdispositioner", "Appropriations"),
    ("89", "Skatter och årets resultat", "Taxes and result for the year"),
)


class _Money(NamedTuple):  # not a dataclass: Alembic's module is not in sys.modules
    """The per-dialect SQL of the views' money; everything else is the same SQL."""

    ore: Callable[[str], str]  # a stored amount (or a sum of them) -> integer öre
    sum: Callable[[str], str]  # SUM of integer öre -> integer öre
    kronor: Callable[[str], str]  # integer öre -> kronor as the view shows it


def _sqlite_kronor(ore: str) -> str:
    # Integer arithmetic only: sign, whole kronor, two-digit öre. NULL stays NULL.
    return (
        f"(CASE WHEN {ore} < 0 THEN '-' ELSE '' END || (abs({ore}) / 100) || '.' "
        f"|| substr('0' || (abs({ore}) % 100), -2))"
    )


_SQLITE = _Money(ore=lambda e: e, sum=lambda e: f"SUM({e})", kronor=_sqlite_kronor)
_POSTGRES = _Money(
    ore=lambda e: f"CAST(({e}) * 100 AS BIGINT)",
    sum=lambda e: f"CAST(SUM({e}) AS BIGINT)",  # SUM(bigint) is NUMERIC on PostgreSQL
    kronor=lambda e: f"CAST(({e}) * 0.01 AS NUMERIC(18, 2))",  # exact, faster than / 100
)


def _trial_balance(m: _Money) -> str:
    return f"""
CREATE VIEW trial_balance AS
WITH current_balance AS (
    SELECT company_id, fiscal_year_start, kind, account, {m.ore("amount")} AS amount_ore
    FROM balance
    WHERE year_index = 0 AND is_effective
),
movement AS (
    SELECT company_id, fiscal_year_start, account, {m.ore("SUM(amount)")} AS amount_ore
    FROM voucher_row
    WHERE in_balance
    GROUP BY company_id, fiscal_year_start, account
),
tb_key AS (
    SELECT company_id, fiscal_year_start, account FROM current_balance
    UNION
    SELECT company_id, fiscal_year_start, account FROM movement
),
tb AS (
    SELECT
        k.company_id,
        c.org_number,
        c.name AS company_name,
        k.fiscal_year_start,
        fy.end_date AS fiscal_year_end,
        k.account,
        a.name AS account_name,
        a.sru_code,
        COALESCE(ib.amount_ore, 0) AS opening_balance_ore,
        COALESCE(m.amount_ore, 0) AS movements_ore,
        COALESCE(ib.amount_ore, 0) + COALESCE(m.amount_ore, 0) AS closing_balance_ore,
        COALESCE(ub.amount_ore, res.amount_ore) AS reported_closing_balance_ore
    FROM tb_key k
    JOIN company c ON c.company_id = k.company_id
    JOIN fiscal_year fy
        ON fy.company_id = k.company_id
        AND fy.fiscal_year_start = k.fiscal_year_start
        AND fy.year_index = 0
    LEFT JOIN account a
        ON a.company_id = k.company_id
        AND a.fiscal_year_start = k.fiscal_year_start
        AND a.account = k.account
    LEFT JOIN current_balance ib
        ON ib.company_id = k.company_id
        AND ib.fiscal_year_start = k.fiscal_year_start
        AND ib.account = k.account
        AND ib.kind = 'IB'
    LEFT JOIN current_balance ub
        ON ub.company_id = k.company_id
        AND ub.fiscal_year_start = k.fiscal_year_start
        AND ub.account = k.account
        AND ub.kind = 'UB'
    LEFT JOIN current_balance res
        ON res.company_id = k.company_id
        AND res.fiscal_year_start = k.fiscal_year_start
        AND res.account = k.account
        AND res.kind = 'RES'
    LEFT JOIN movement m
        ON m.company_id = k.company_id
        AND m.fiscal_year_start = k.fiscal_year_start
        AND m.account = k.account
)
SELECT
    company_id,
    org_number,
    company_name,
    fiscal_year_start,
    fiscal_year_end,
    account,
    account_name,
    sru_code,
    {m.kronor("opening_balance_ore")} AS opening_balance,
    {m.kronor("movements_ore")} AS movements,
    {m.kronor("closing_balance_ore")} AS closing_balance,
    {m.kronor("reported_closing_balance_ore")} AS reported_closing_balance,
    opening_balance_ore,
    movements_ore,
    closing_balance_ore,
    reported_closing_balance_ore
FROM tb
"""


def _general_ledger(m: _Money) -> str:
    running = m.ore(
        """SUM(r.amount) OVER (
            PARTITION BY r.company_id, r.fiscal_year_start, r.account
            ORDER BY COALESCE(r.row_date, v.voucher_date), r.row_index
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )"""
    )
    return f"""
CREATE VIEW general_ledger AS
SELECT
    company_id,
    org_number,
    company_name,
    fiscal_year_start,
    account,
    account_name,
    posting_date,
    series,
    voucher_number,
    voucher_index,
    row_index,
    text,
    {m.kronor("amount_ore")} AS amount,
    {m.kronor("opening_balance_ore")} AS opening_balance,
    {m.kronor("running_balance_ore")} AS running_balance,
    amount_ore,
    opening_balance_ore,
    running_balance_ore
FROM (
    SELECT
        r.company_id,
        c.org_number,
        c.name AS company_name,
        r.fiscal_year_start,
        r.account,
        a.name AS account_name,
        COALESCE(r.row_date, v.voucher_date) AS posting_date,
        v.series,
        v.number AS voucher_number,
        r.voucher_index,
        r.row_index,
        CASE WHEN r.text <> '' THEN r.text ELSE v.text END AS text,
        {m.ore("r.amount")} AS amount_ore,
        COALESCE({m.ore("ib.amount")}, 0) AS opening_balance_ore,
        COALESCE({m.ore("ib.amount")}, 0) + {running} AS running_balance_ore
    FROM voucher_row r
    JOIN voucher v
        ON v.company_id = r.company_id
        AND v.fiscal_year_start = r.fiscal_year_start
        AND v.voucher_index = r.voucher_index
    JOIN company c ON c.company_id = r.company_id
    LEFT JOIN account a
        ON a.company_id = r.company_id
        AND a.fiscal_year_start = r.fiscal_year_start
        AND a.account = r.account
    LEFT JOIN balance ib
        ON ib.company_id = r.company_id
        AND ib.fiscal_year_start = r.fiscal_year_start
        AND ib.account = r.account
        AND ib.kind = 'IB'
        AND ib.year_index = 0
        AND ib.is_effective
    WHERE r.in_balance
) gl
"""


def _statement(m: _Money, name: str, classes: str) -> str:
    return f"""
CREATE VIEW {name} AS
SELECT
    s.company_id,
    s.org_number,
    s.company_name,
    s.fiscal_year_start,
    s.fiscal_year_end,
    s.account_class,
    cl.name AS class_name,
    s.account_group,
    g.name AS group_name,
    s.sru_code,
    s.account_count,
    {m.kronor("s.opening_balance_ore")} AS opening_balance,
    {m.kronor("s.movements_ore")} AS movements,
    {m.kronor("s.closing_balance_ore")} AS closing_balance,
    s.opening_balance_ore,
    s.movements_ore,
    s.closing_balance_ore,
    cl.name_en AS class_name_en,
    g.name_en AS group_name_en
FROM (
    SELECT
        company_id,
        org_number,
        company_name,
        fiscal_year_start,
        fiscal_year_end,
        substr(account, 1, 1) AS account_class,
        substr(account, 1, 2) AS account_group,
        sru_code,
        COUNT(*) AS account_count,
        {m.sum("opening_balance_ore")} AS opening_balance_ore,
        {m.sum("movements_ore")} AS movements_ore,
        {m.sum("closing_balance_ore")} AS closing_balance_ore
    FROM trial_balance
    WHERE substr(account, 1, 1) IN ({classes})
    GROUP BY
        company_id, org_number, company_name, fiscal_year_start, fiscal_year_end,
        substr(account, 1, 1), substr(account, 1, 2), sru_code
) s
LEFT JOIN bas_account_class cl ON cl.account_class = s.account_class
LEFT JOIN bas_account_group g ON g.account_group = s.account_group
"""


def views(dialect: str) -> tuple[tuple[str, str], ...]:
    """(name, CREATE VIEW) in creation order, for ``dialect`` ("sqlite" or "postgresql")."""
    m = _SQLITE if dialect == "sqlite" else _POSTGRES
    return (
        ("trial_balance", _trial_balance(m)),
        ("general_ledger", _general_ledger(m)),
        ("balance_sheet", _statement(m, "balance_sheet", "'1', '2'")),
        ("income_statement", _statement(m, "income_statement", "'3', '4', '5', '6', '7', '8'")),
    )


def _previous_views() -> tuple[tuple[str, str], ...]:
    """The views of revision 0002, which a downgrade restores (one SQL for both dialects)."""
    path = Path(__file__).with_name("0002_analyst_views.py")
    spec = importlib.util.spec_from_file_location("_warehouse_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.VIEWS)


def _drop_views(names: list[str]) -> None:
    for name in reversed(names):  # the statements read trial_balance: drop them first
        op.execute(f"DROP VIEW {name}")


def upgrade() -> None:
    _drop_views([name for name, _sql in _previous_views()])
    classes = op.create_table(
        "bas_account_class",
        sa.Column("account_class", sa.Text(), nullable=False, comment="First digit of an account"),
        sa.Column("name", sa.Text(), nullable=False, comment="The class's name in BAS"),
        sa.Column("name_en", sa.Text(), nullable=False, comment="English gloss of the name"),
        sa.PrimaryKeyConstraint("account_class"),
        comment="BAS account classes (kontoklasser) 1-8",
    )
    groups = op.create_table(
        "bas_account_group",
        sa.Column(
            "account_group", sa.Text(), nullable=False, comment="First two digits of an account"
        ),
        sa.Column("account_class", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, comment="The group's name in BAS"),
        sa.Column("name_en", sa.Text(), nullable=False, comment="English gloss of the name"),
        sa.ForeignKeyConstraint(["account_class"], ["bas_account_class.account_class"]),
        sa.PrimaryKeyConstraint("account_group"),
        comment="BAS account groups (kontogrupper) 10-89",
    )
    op.bulk_insert(
        classes, [{"account_class": c, "name": n, "name_en": e} for c, n, e in BAS_CLASSES]
    )
    op.bulk_insert(
        groups,
        [
            {"account_group": g, "account_class": g[0], "name": n, "name_en": e}
            for g, n, e in BAS_GROUPS
        ],
    )
    for _name, sql in views(op.get_bind().dialect.name):
        op.execute(sql)


def downgrade() -> None:
    _drop_views([name for name, _sql in views(op.get_bind().dialect.name)])
    op.drop_table("bas_account_group")
    op.drop_table("bas_account_class")
    for _name, sql in _previous_views():
        op.execute(sql)
