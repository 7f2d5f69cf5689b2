"""Analyst views: trial_balance, general_ledger, balance_sheet, income_statement.

One SQL text serves PostgreSQL and SQLite: only COALESCE, SUM, substr, CASE
and a window function are used. Money stays exact on both: NUMERIC sums on
PostgreSQL, integer öre sums on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TRIAL_BALANCE = """
CREATE VIEW trial_balance AS
WITH current_balance AS (
    SELECT company_id, fiscal_year_start, kind, account, amount
    FROM balance
    WHERE year_index = 0 AND is_effective
),
movement AS (
    SELECT company_id, fiscal_year_start, account, SUM(amount) AS amount
    FROM voucher_row
    WHERE in_balance
    GROUP BY company_id, fiscal_year_start, account
),
tb_key AS (
    SELECT company_id, fiscal_year_start, account FROM current_balance
    UNION
    SELECT company_id, fiscal_year_start, account FROM movement
)
SELECT
    k.company_id,
    c.org_number,
    c.name AS company_name,
    k.fiscal_year_start,
    fy.end_date AS fiscal_year_end,
    k.account,
    a.name AS account_name,
    a.sru_code,
    COALESCE(ib.amount, 0) AS opening_balance,
    COALESCE(m.amount, 0) AS movements,
    COALESCE(ib.amount, 0) + COALESCE(m.amount, 0) AS closing_balance,
    COALESCE(ub.amount, res.amount) AS reported_closing_balance
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
"""

GENERAL_LEDGER = """
CREATE VIEW general_ledger AS
SELECT
    r.company_id,
    c.org_number,
    r.fiscal_year_start,
    r.account,
    a.name AS account_name,
    COALESCE(r.row_date, v.voucher_date) AS posting_date,
    v.series,
    v.number AS voucher_number,
    r.voucher_index,
    r.row_index,
    CASE WHEN r.text <> '' THEN r.text ELSE v.text END AS text,
    r.amount,
    COALESCE(ib.amount, 0) AS opening_balance,
    COALESCE(ib.amount, 0) + SUM(r.amount) OVER (
        PARTITION BY r.company_id, r.fiscal_year_start, r.account
        ORDER BY COALESCE(r.row_date, v.voucher_date), r.row_index
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS running_balance
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
"""


def _statement(name: str, classes: str, class_names: str) -> str:
    return f"""
CREATE VIEW {name} AS
SELECT
    company_id,
    org_number,
    fiscal_year_start,
    fiscal_year_end,
    substr(account, 1, 1) AS account_class,
    CASE substr(account, 1, 1) {class_names} END AS class_name,
    substr(account, 1, 2) AS account_group,
    sru_code,
    COUNT(*) AS account_count,
    SUM(opening_balance) AS opening_balance,
    SUM(movements) AS movements,
    SUM(closing_balance) AS closing_balance
FROM trial_balance
WHERE substr(account, 1, 1) IN ({classes})
GROUP BY
    company_id, org_number, fiscal_year_start, fiscal_year_end,
    substr(account, 1, 1), substr(account, 1, 2), sru_code
"""


BALANCE_SHEET = _statement(
    "balance_sheet",
    "'1', '2'",
    "WHEN '1' THEN 'Assets' WHEN '2' THEN 'Equity and liabilities'",
)
INCOME_STATEMENT = _statement(
    "income_statement",
    "'3', '4', '5', '6', '7', '8'",
    "WHEN '3' THEN 'Operating income' "
    "WHEN '4' THEN 'Goods, materials and services' "
    "WHEN '5' THEN 'Other external costs' "
    "WHEN '6' THEN 'Other external costs' "
    "WHEN '7' THEN 'Personnel costs and depreciation' "
    "WHEN '8' THEN 'Financial items, appropriations and tax'",
)

VIEWS = (
    ("trial_balance", TRIAL_BALANCE),
    ("general_ledger", GENERAL_LEDGER),
    ("balance_sheet", BALANCE_SHEET),
    ("income_statement", INCOME_STATEMENT),
)


def upgrade() -> None:
    for _name, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    for name, _sql in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
