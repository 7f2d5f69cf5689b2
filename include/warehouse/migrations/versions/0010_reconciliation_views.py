"""Reconciliation views ar_reconciliation and ap_reconciliation; general_ledger shows row objects.

``ar_reconciliation`` and ``ap_reconciliation`` put the subledger beside the general ledger:
one row per partition (company, fiscal year) with the control accounts' closing balance
(``#IB 0`` + the year's ``in_balance`` rows, and the file's own ``#UB 0``), the open items'
total and count, and ``difference = open_items_total - closing_balance``. They compute what
the quality checks ``ar_reconciliation`` / ``ap_reconciliation`` compute:

- the control accounts are the company's ``dq_control_account`` ranges of the ledger, else
  1510-1519 (customers) and 2440-2449 (suppliers); several ranges are summed into one row
  (the open items belong to no one account), an account in two ranges counted once;
- every amount has the books' sign: payables are credit, so ``ap_reconciliation`` shows the
  open payables negated (``-SUM(open_amount)``) and ``difference`` is 0 when they reconcile;
- a partition without a subledger (no open items, books not from a Fortnox extract: the
  check is skipped) shows NULL open-item columns; a Fortnox extract with nothing open shows
  0 (its control accounts must then be 0).

``general_ledger`` gains ``cost_centre`` and ``project`` (voucher_row's columns, revision
0006) after its existing columns, so their positions stay.

Money as revision 0005 shows it: kronor (NUMERIC(18,2) on PostgreSQL, exact text on SQLite)
with ``<name>_ore`` integers beside. This revision is a snapshot: the SQL helpers are copied
from 0005, and the downgrade restores 0005's general_ledger text exactly.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The quality checks' defaults (include.quality.checks DEFAULT_AR_RANGES / DEFAULT_AP_RANGES);
# a test keeps the two equal.
DEFAULT_RANGES = {"ar": ("1510", "1519"), "ap": ("2440", "2449")}


class _Money(NamedTuple):  # as in 0005 (not a dataclass: Alembic's module is not in sys.modules)
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


def _general_ledger(m: _Money, *, row_objects: bool) -> str:
    """0005's general_ledger; with ``row_objects``, ``cost_centre`` and ``project`` appended."""
    outer = ",\n    cost_centre,\n    project" if row_objects else ""
    inner = ",\n        r.cost_centre,\n        r.project" if row_objects else ""
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
    running_balance_ore{outer}
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
        COALESCE({m.ore("ib.amount")}, 0) + {running} AS running_balance_ore{inner}
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


def _is_control(alias: str) -> str:
    # As the check's ranges: text order is numeric order only between numbers of one length.
    # EXISTS, not a join: an account in two of a company's ranges counts once.
    return f"""EXISTS (
        SELECT 1 FROM control_range cr
        WHERE cr.company_id = {alias}.company_id
            AND length({alias}.account) = length(cr.first_account)
            AND {alias}.account BETWEEN cr.first_account AND cr.last_account
    )"""


def _reconciliation(m: _Money, ledger: str) -> str:
    """The ledger's control accounts against its open items, in the books' sign."""
    table, (first, last) = f"{ledger}_open_item", DEFAULT_RANGES[ledger]
    # Open payables are positive amounts owed: credit, negative, in the books.
    sign = "-" if ledger == "ap" else ""
    return f"""
CREATE VIEW {ledger}_reconciliation AS
WITH RECURSIVE control_range AS (
    SELECT company_id, first_account, last_account
    FROM dq_control_account
    WHERE ledger = '{ledger}'
    UNION ALL
    SELECT c.company_id, '{first}', '{last}'
    FROM company c
    WHERE NOT EXISTS (
        SELECT 1 FROM dq_control_account d
        WHERE d.company_id = c.company_id AND d.ledger = '{ledger}'
    )
),
numbered_range AS (
    SELECT
        company_id,
        first_account,
        last_account,
        CASE WHEN first_account = last_account THEN first_account
            ELSE first_account || '-' || last_account END AS label,
        ROW_NUMBER() OVER (PARTITION BY company_id ORDER BY first_account) AS position,
        COUNT(*) OVER (PARTITION BY company_id) AS range_count
    FROM control_range
),
-- '1510-1519, 1580' as the check names its ranges (no ordered string aggregate on both)
range_list (company_id, position, range_count, first_account, last_account, control_accounts)
AS (
    SELECT company_id, position, range_count, first_account, last_account, label
    FROM numbered_range
    WHERE position = 1
    UNION ALL
    SELECT l.company_id, n.position, l.range_count, l.first_account, n.last_account,
        l.control_accounts || ', ' || n.label
    FROM range_list l
    JOIN numbered_range n ON n.company_id = l.company_id AND n.position = l.position + 1
),
company_range AS (
    SELECT company_id, first_account, last_account, control_accounts
    FROM range_list
    WHERE position = range_count
),
part AS (
    SELECT fy.company_id, fy.fiscal_year_start, fy.end_date, e.source_kind
    FROM fiscal_year fy
    JOIN extract e ON e.extract_id = fy.extract_id
    WHERE fy.year_index = 0
),
control_balance AS (
    SELECT
        b.company_id,
        b.fiscal_year_start,
        {m.ore("SUM(CASE WHEN b.kind = 'IB' THEN b.amount ELSE 0 END)")} AS opening_ore,
        {m.ore("SUM(CASE WHEN b.kind = 'UB' THEN b.amount ELSE 0 END)")} AS reported_ore
    FROM balance b
    WHERE b.year_index = 0 AND b.is_effective AND b.kind IN ('IB', 'UB') AND {_is_control("b")}
    GROUP BY b.company_id, b.fiscal_year_start
),
closing_reported AS (
    -- Partitions whose file states closing balances (#UB 0): a control account without one is 0.
    SELECT DISTINCT company_id, fiscal_year_start
    FROM balance
    WHERE kind = 'UB' AND year_index = 0 AND is_effective
),
control_movement AS (
    SELECT r.company_id, r.fiscal_year_start, {m.ore("SUM(r.amount)")} AS movements_ore
    FROM voucher_row r
    WHERE r.in_balance AND {_is_control("r")}
    GROUP BY r.company_id, r.fiscal_year_start
),
open_item_sum AS (
    SELECT company_id, fiscal_year_start, COUNT(*) AS item_count,
        {m.ore(f"{sign}SUM(open_amount)")} AS total_ore
    FROM {table}
    GROUP BY company_id, fiscal_year_start
),
rec AS (
    SELECT
        p.company_id,
        c.org_number,
        c.name AS company_name,
        p.fiscal_year_start,
        p.end_date AS fiscal_year_end,
        cr.first_account,
        cr.last_account,
        cr.control_accounts,
        COALESCE(cb.opening_ore, 0) AS opening_balance_ore,
        COALESCE(cm.movements_ore, 0) AS movements_ore,
        COALESCE(cb.opening_ore, 0) + COALESCE(cm.movements_ore, 0) AS closing_balance_ore,
        CASE WHEN rep.company_id IS NOT NULL THEN COALESCE(cb.reported_ore, 0) END
            AS reported_closing_balance_ore,
        -- No subledger unless open items came, or the books came from Fortnox (which always
        -- brings both subledgers, possibly with nothing open): the check's skip rule.
        CASE WHEN o.company_id IS NOT NULL THEN o.item_count
            WHEN p.source_kind = 'fortnox' THEN 0 END AS open_item_count,
        CASE WHEN o.company_id IS NOT NULL THEN o.total_ore
            WHEN p.source_kind = 'fortnox' THEN 0 END AS open_items_total_ore
    FROM part p
    JOIN company c ON c.company_id = p.company_id
    JOIN company_range cr ON cr.company_id = p.company_id
    LEFT JOIN control_balance cb
        ON cb.company_id = p.company_id AND cb.fiscal_year_start = p.fiscal_year_start
    LEFT JOIN closing_reported rep
        ON rep.company_id = p.company_id AND rep.fiscal_year_start = p.fiscal_year_start
    LEFT JOIN control_movement cm
        ON cm.company_id = p.company_id AND cm.fiscal_year_start = p.fiscal_year_start
    LEFT JOIN open_item_sum o
        ON o.company_id = p.company_id AND o.fiscal_year_start = p.fiscal_year_start
)
SELECT
    company_id,
    org_number,
    company_name,
    fiscal_year_start,
    fiscal_year_end,
    first_account,
    last_account,
    control_accounts,
    open_item_count,
    {m.kronor("opening_balance_ore")} AS opening_balance,
    {m.kronor("movements_ore")} AS movements,
    {m.kronor("closing_balance_ore")} AS closing_balance,
    {m.kronor("reported_closing_balance_ore")} AS reported_closing_balance,
    {m.kronor("open_items_total_ore")} AS open_items_total,
    {m.kronor("open_items_total_ore - closing_balance_ore")} AS difference,
    opening_balance_ore,
    movements_ore,
    closing_balance_ore,
    reported_closing_balance_ore,
    open_items_total_ore,
    open_items_total_ore - closing_balance_ore AS difference_ore
FROM rec
"""


def _money(dialect: str) -> _Money:
    return _SQLITE if dialect == "sqlite" else _POSTGRES


def views(dialect: str) -> tuple[tuple[str, str], ...]:
    """(name, CREATE VIEW) this revision creates, for ``dialect`` ("sqlite" or "postgresql")."""
    m = _money(dialect)
    return (
        ("general_ledger", _general_ledger(m, row_objects=True)),
        ("ar_reconciliation", _reconciliation(m, "ar")),
        ("ap_reconciliation", _reconciliation(m, "ap")),
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW general_ledger")  # no view reads it
    for _name, sql in views(dialect):
        op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, _sql in reversed(views(dialect)):
        op.execute(f"DROP VIEW {name}")
    op.execute(_general_ledger(_money(dialect), row_objects=False))
