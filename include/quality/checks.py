"""The checks: stable names, severities, and the SQL that finds each one's offending rows.

Every check is one SQL query over the warehouse's BASE tables (never the views) for one
partition. Great Expectations runs it (``include.quality.gx_suite``) with ``{batch}`` standing
for the partition's ``fiscal_year`` row (company, fiscal year, its dates and extract), so one
suite serves every partition. The query returns the offending rows, with money as integer
öre on both databases (``CAST(x * 100 AS BIGINT)`` of PostgreSQL's NUMERIC(18,2), the stored
integers on SQLite): exact through GX and JSON, turned into ``Decimal`` here. Each query also
returns ``failing_row_count`` (``COUNT(*) OVER ()``): the exact number of offending rows from
the same execution that returns the first 200.

A check that cannot apply to a partition (no vouchers in a SIE 1-3 file, no closing
balances, no subledger for a file from the inbox) is not run: ``skip_reason`` says why, and
the run records it as skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from include.quality.results import CheckResult, Severity

COUNT_COLUMN = "failing_row_count"
CENT = Decimal("0.01")


# ----------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class AccountRange:
    """Accounts ``first``..``last`` of the same length (``1510``..``1519``)."""

    first: str
    last: str

    def __post_init__(self) -> None:
        if not (_ACCOUNT.fullmatch(self.first) and _ACCOUNT.fullmatch(self.last)):
            raise ValueError(f"an account range is two account numbers, not {self}")
        if len(self.first) != len(self.last) or self.first > self.last:
            raise ValueError(f"account range {self.first}-{self.last}: same length, first <= last")

    @classmethod
    def parse(cls, text: str) -> AccountRange:
        """``1510-1519`` or a single account ``1510``."""
        first, _, last = text.strip().partition("-")
        return cls(first.strip(), (last or first).strip())

    def __str__(self) -> str:
        return self.first if self.first == self.last else f"{self.first}-{self.last}"


_ACCOUNT = re.compile(r"\d{1,6}")
DEFAULT_AR_RANGES = (AccountRange("1510", "1519"),)
DEFAULT_AP_RANGES = (AccountRange("2440", "2449"),)
DEFAULT_MAX_EXTRACT_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Per-run settings: control accounts (per company) and the freshness limit."""

    ar_ranges: tuple[AccountRange, ...] = DEFAULT_AR_RANGES
    ap_ranges: tuple[AccountRange, ...] = DEFAULT_AP_RANGES
    max_extract_age: timedelta = DEFAULT_MAX_EXTRACT_AGE
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def ranges_text(ranges: Sequence[AccountRange]) -> str:
    return ", ".join(str(r) for r in ranges)


# ----------------------------------------------------------------- SQL per database


@dataclass(frozen=True, slots=True)
class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    dialect: str  # "sqlite" or "postgresql"

    def ore(self, expr: str) -> str:
        """Money as integer öre: SQLite stores öre; NUMERIC(18,2) * 100 is integral."""
        if self.dialect == "sqlite":
            return f"({expr})"
        return f"CAST(({expr}) * 100 AS BIGINT)"

    def iso_date(self, expr: str) -> str:
        if self.dialect == "sqlite":
            return f"({expr})"
        return f"to_char({expr}, 'YYYY-MM-DD')"

    def iso_timestamp(self, expr: str) -> str:
        """UTC ``YYYY-MM-DD HH:MM:SS``: SQLite keeps the UTC text SQLAlchemy wrote."""
        if self.dialect == "sqlite":
            return f"substr({expr}, 1, 19)"
        return f"to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

    def timestamp(self, moment: datetime) -> str:
        """A literal comparable with a ``DateTime(timezone=True)`` column."""
        utc = moment.astimezone(UTC)
        if self.dialect == "sqlite":
            return f"'{utc.replace(tzinfo=None).isoformat(sep=' ', timespec='microseconds')}'"
        return f"CAST('{utc.isoformat()}' AS TIMESTAMP WITH TIME ZONE)"

    def all_digits(self, expr: str) -> str:
        if self.dialect == "sqlite":
            return f"({expr} <> '' AND {expr} NOT GLOB '*[^0-9]*' AND length({expr}) <= 18)"
        # No braces: GX formats the query, so a regex quantifier would be a placeholder.
        return f"({expr} ~ '^[0-9]+$' AND length({expr}) <= 18)"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS {'INTEGER' if self.dialect == 'sqlite' else 'BIGINT'})"


# The partition (GX's {batch}: one fiscal_year row) as a CTE. GX substitutes {batch} as a
# bare parenthesised subquery when the query has a JOIN, so the CTE joins its company: the
# alias below is then always right on both databases.
PART = (
    "part AS (SELECT b.company_id, b.fiscal_year_start, b.start_date, b.end_date, b.extract_id "
    "FROM {batch} b JOIN company c ON c.company_id = b.company_id)"
)


def of_part(alias: str) -> str:
    """Rows of the partition: a primary-key prefix, so an index range on every table."""
    return (
        f"{alias}.company_id = (SELECT company_id FROM part) "
        f"AND {alias}.fiscal_year_start = (SELECT fiscal_year_start FROM part)"
    )


def _in_ranges(column: str, ranges: Sequence[AccountRange]) -> str:
    # Text comparison is numeric order only between numbers of the same length.
    parts = [
        f"(length({column}) = {len(r.first)} AND {column} BETWEEN '{r.first}' AND '{r.last}')"
        for r in ranges
    ]
    return "(" + " OR ".join(parts) + ")"


def _movements(accounts: str) -> str:
    # Only the rows of the accounts compared: on SQLite the GROUP BY sort is the cost.
    return (
        "SELECT r.account, SUM(r.amount) AS amount FROM voucher_row r "
        f"WHERE {of_part('r')} AND r.in_balance AND r.account IN ({accounts}) "
        "GROUP BY r.account"
    )


def q_voucher_balances(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART},
unbalanced AS (
    SELECT r.voucher_index, SUM(r.amount) AS total, COUNT(*) AS row_count
    FROM voucher_row r
    WHERE {of_part("r")} AND r.in_balance
    GROUP BY r.voucher_index
    HAVING SUM(r.amount) <> 0
)
SELECT v.series, v.number, {sql.iso_date("v.voucher_date")} AS voucher_date, v.line,
    u.row_count, {sql.ore("u.total")} AS difference, COUNT(*) OVER () AS {COUNT_COLUMN}
FROM unbalanced u
JOIN voucher v ON {of_part("v")} AND v.voucher_index = u.voucher_index
ORDER BY v.voucher_index"""


def q_closing_balance_continuity(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART},
stated AS (
    SELECT bal.account,
        SUM(CASE WHEN bal.kind = 'IB' THEN bal.amount ELSE 0 END) AS opening,
        SUM(CASE WHEN bal.kind = 'UB' THEN bal.amount ELSE 0 END) AS closing
    FROM balance bal
    WHERE {of_part("bal")} AND bal.year_index = 0 AND bal.is_effective
        AND bal.kind IN ('IB', 'UB')
    GROUP BY bal.account
),
moved AS ({_movements("SELECT account FROM stated")})
SELECT s.account, a.name AS account_name, {sql.ore("s.opening")} AS opening,
    {sql.ore("COALESCE(m.amount, 0)")} AS movements,
    {sql.ore("s.opening + COALESCE(m.amount, 0)")} AS expected,
    {sql.ore("s.closing")} AS actual,
    {sql.ore("s.closing - s.opening - COALESCE(m.amount, 0)")} AS difference,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM stated s
LEFT JOIN moved m ON m.account = s.account
LEFT JOIN account a ON {of_part("a")} AND a.account = s.account
WHERE s.opening + COALESCE(m.amount, 0) <> s.closing
ORDER BY s.account"""


def q_result_matches_res(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART},
reported AS (
    SELECT bal.account, bal.amount FROM balance bal
    WHERE {of_part("bal")} AND bal.year_index = 0 AND bal.is_effective AND bal.kind = 'RES'
),
moved AS ({_movements("SELECT account FROM reported")})
SELECT res.account, a.name AS account_name,
    {sql.ore("COALESCE(m.amount, 0)")} AS expected, {sql.ore("res.amount")} AS actual,
    {sql.ore("res.amount - COALESCE(m.amount, 0)")} AS difference,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM reported res
LEFT JOIN moved m ON m.account = res.account
LEFT JOIN account a ON {of_part("a")} AND a.account = res.account
WHERE COALESCE(m.amount, 0) <> res.amount
ORDER BY res.account"""


def q_balance_sheet_balances(sql: Sql, config: CheckConfig) -> str:
    # The file's own balance sheet (#UB 0 of classes 1-2) and income statement (#RES 0 of
    # classes 3-8): assets + (equity and liabilities, negative) + (result, profit negative) = 0.
    # Three figures explain a failure: the opening balance sheet's own imbalance (#IB 0), the
    # previous year's result (#RES -1: often it is not in the opening equity yet) and results
    # booked outside classes 3-8.
    cls = "substr(bal.account, 1, 1)"
    is_result = f"{cls} BETWEEN '3' AND '8'"

    def total(condition: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN bal.amount ELSE 0 END)"

    return f"""WITH {PART},
totals AS (
    SELECT
        {total(f"bal.year_index = 0 AND bal.kind = 'UB' AND {cls} = '1'")} AS assets,
        {total(f"bal.year_index = 0 AND bal.kind = 'UB' AND {cls} = '2'")} AS claims,
        {total(f"bal.year_index = 0 AND bal.kind = 'RES' AND {is_result}")} AS result,
        {total(f"bal.year_index = 0 AND bal.kind = 'IB' AND {cls} IN ('1', '2')")} AS opening,
        {total(f"bal.year_index = -1 AND bal.kind = 'RES' AND {is_result}")} AS previous,
        {total(f"bal.year_index = 0 AND bal.kind = 'RES' AND NOT {is_result}")} AS elsewhere
    FROM balance bal
    WHERE {of_part("bal")} AND bal.year_index IN (0, -1) AND bal.is_effective
)
SELECT {sql.ore("t.assets")} AS expected,
    {sql.ore("-(t.claims + t.result)")} AS actual,
    {sql.ore("-t.claims")} AS equity_and_liabilities,
    {sql.ore("-t.result")} AS year_result,
    {sql.ore("-(t.assets + t.claims + t.result)")} AS difference,
    {sql.ore("t.opening")} AS opening_difference,
    {sql.ore("-t.previous")} AS previous_year_result,
    {sql.ore("-t.elsewhere")} AS result_outside_3_8,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM totals t
WHERE t.assets + t.claims + t.result <> 0"""


def q_dates_in_fiscal_year(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART}
SELECT v.series, v.number, {sql.iso_date("v.voucher_date")} AS voucher_date, v.line,
    {sql.iso_date("p.start_date")} AS year_start, {sql.iso_date("p.end_date")} AS year_end,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM voucher v
JOIN part p ON p.company_id = v.company_id AND p.fiscal_year_start = v.fiscal_year_start
WHERE {of_part("v")} AND (v.voucher_date < p.start_date OR v.voucher_date > p.end_date)
ORDER BY v.voucher_index"""


def q_accounts_in_chart(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART},
unknown AS (
    SELECT r.account, COUNT(*) AS row_count, SUM(r.amount) AS amount,
        MIN(r.voucher_index) AS first_voucher
    FROM voucher_row r
    WHERE {of_part("r")}
        AND r.account NOT IN (SELECT a.account FROM account a WHERE {of_part("a")})
    GROUP BY r.account
)
SELECT u.account, u.row_count, {sql.ore("u.amount")} AS amount,
    v.series, v.number, {sql.iso_date("v.voucher_date")} AS voucher_date, v.line,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM unknown u
JOIN voucher v ON {of_part("v")} AND v.voucher_index = u.first_voucher
ORDER BY u.account"""


def q_unique_voucher_numbers(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART},
repeated AS (
    SELECT v.series, v.number, COUNT(*) AS voucher_count, MIN(v.line) AS first_line,
        MAX(v.line) AS last_line, MIN(v.voucher_index) AS first_voucher
    FROM voucher v
    WHERE {of_part("v")} AND v.number <> ''
    GROUP BY v.series, v.number
    HAVING COUNT(*) > 1
)
SELECT x.series, x.number, x.voucher_count, x.first_line, x.last_line,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM repeated x
ORDER BY x.first_voucher"""


def q_voucher_number_gaps(sql: Sql, config: CheckConfig) -> str:
    # Numeric numbers only. A series has a gap when its span is wider than its distinct
    # numbers (one sort); only such series are then walked in order to name the gaps.
    return f"""WITH {PART},
numbered AS (
    SELECT v.series, {sql.bigint("v.number")} AS num
    FROM voucher v
    WHERE {of_part("v")} AND {sql.all_digits("v.number")}
),
gapped AS (
    SELECT n.series FROM numbered n
    GROUP BY n.series
    HAVING MAX(n.num) - MIN(n.num) + 1 > COUNT(DISTINCT n.num)
),
following AS (
    SELECT n.series, n.num, LEAD(n.num) OVER (PARTITION BY n.series ORDER BY n.num) AS next_num
    FROM numbered n
    WHERE n.series IN (SELECT series FROM gapped)
)
SELECT f.series, CAST(f.num AS TEXT) AS number, f.num + 1 AS first_missing,
    f.next_num - 1 AS last_missing, f.next_num - f.num - 1 AS missing,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM following f
WHERE f.next_num > f.num + 1
ORDER BY f.series, f.num"""


def _reconciliation(sql: Sql, table: str, ranges: Sequence[AccountRange], sign: str) -> str:
    # The general ledger's closing balance of the control accounts (#IB 0 + the year's
    # rows) against the open items' total; payables are credit (negative) in the ledger.
    accounts = _in_ranges("x.account", ranges)
    return f"""WITH {PART},
ledger AS (
    SELECT SUM(x.amount) AS closing FROM (
        SELECT bal.account, bal.amount FROM balance bal
        WHERE {of_part("bal")} AND bal.year_index = 0 AND bal.is_effective AND bal.kind = 'IB'
        UNION ALL
        SELECT r.account, r.amount FROM voucher_row r WHERE {of_part("r")} AND r.in_balance
    ) x
    WHERE {accounts}
),
subledger AS (
    SELECT COUNT(*) AS items, SUM(o.open_amount) AS total FROM {table} o WHERE {of_part("o")}
)
SELECT '{ranges_text(ranges)}' AS account, s.items AS open_items,
    {sql.ore(f"{sign}COALESCE(l.closing, 0)")} AS expected,
    {sql.ore("COALESCE(s.total, 0)")} AS actual,
    {sql.ore(f"COALESCE(s.total, 0) - {sign}COALESCE(l.closing, 0)")} AS difference,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM ledger l
JOIN subledger s ON 1 = 1
WHERE COALESCE(l.closing, 0) <> {sign}COALESCE(s.total, 0)"""


def q_ar_reconciliation(sql: Sql, config: CheckConfig) -> str:
    return _reconciliation(sql, "ar_open_item", config.ar_ranges, "")


def q_ap_reconciliation(sql: Sql, config: CheckConfig) -> str:
    return _reconciliation(sql, "ap_open_item", config.ap_ranges, "-")


def q_ksumma(sql: Sql, config: CheckConfig) -> str:
    return f"""WITH {PART}
SELECT e.extract_id, e.file_name, e.ksumma, COUNT(*) OVER () AS {COUNT_COLUMN}
FROM extract e
JOIN part p ON p.extract_id = e.extract_id
WHERE e.ksumma <> 'ok'"""


def q_extract_freshness(sql: Sql, config: CheckConfig) -> str:
    # The newest extract of the same bytes counts: a repeated fetch of unchanged books is as
    # good as a new one (the partition keeps pointing at the first).
    cutoff = sql.timestamp(config.now - config.max_extract_age)
    return f"""WITH {PART},
same_books AS (
    SELECT e.extract_id, e.file_name, e.loaded_at FROM extract e
    JOIN extract cur ON cur.extract_id = (SELECT extract_id FROM part)
    WHERE {of_part("e")} AND e.sha256 = cur.sha256
),
newest AS (SELECT MAX(s.loaded_at) AS loaded_at FROM same_books s)
SELECT s.extract_id, s.file_name, {sql.iso_timestamp("s.loaded_at")} AS loaded_at,
    COUNT(*) OVER () AS {COUNT_COLUMN}
FROM same_books s
JOIN newest n ON n.loaded_at = s.loaded_at
WHERE n.loaded_at < {cutoff}"""


# ----------------------------------------------------------------- what a partition holds


@dataclass(frozen=True, slots=True)
class PartitionFacts:
    """Counts that decide which checks apply (read before GX runs)."""

    sie_type: int
    source_kind: str
    file_name: str
    ksumma: str | None
    vouchers: int
    accounts: int
    opening_balances: int  # effective #IB 0 records
    closing_balances: int  # effective #UB 0 records
    results: int  # effective #RES 0 records
    ar_items: int
    ap_items: int


def _no_vouchers(facts: PartitionFacts) -> str | None:
    if facts.vouchers == 0:
        return f"no vouchers in the file (SIE type {facts.sie_type})"
    return None


def _skip_continuity(facts: PartitionFacts) -> str | None:
    if facts.closing_balances == 0 and facts.opening_balances == 0:
        return "the file has no opening or closing balances (#IB 0, #UB 0)"
    if facts.closing_balances == 0:
        return "the file has no closing balances (#UB 0)"
    if facts.vouchers == 0 and facts.sie_type < 4:
        return f"no vouchers in a SIE {facts.sie_type} file: the year's movements are not in it"
    return None


def _skip_res(facts: PartitionFacts) -> str | None:
    if facts.results == 0:
        return "the file has no results (#RES 0)"
    if facts.vouchers == 0 and facts.sie_type < 4:
        return f"no vouchers in a SIE {facts.sie_type} file: the year's movements are not in it"
    return None


def _skip_balance_sheet(facts: PartitionFacts) -> str | None:
    if facts.closing_balances == 0:
        return "the file has no closing balances (#UB 0)"
    return None


def _skip_chart(facts: PartitionFacts) -> str | None:
    if facts.accounts == 0:
        return "the file declares no chart of accounts (#KONTO)"
    return _no_vouchers(facts)


def _skip_subledger(kind: str) -> Callable[[PartitionFacts], str | None]:
    def skip(facts: PartitionFacts) -> str | None:
        items = facts.ar_items if kind == "ar" else facts.ap_items
        # Fortnox extracts always bring both subledgers (possibly with nothing open);
        # other files bring none, and a load from them leaves no open items.
        if items == 0 and facts.source_kind != "fortnox":
            party = "customer" if kind == "ar" else "supplier"
            return (
                f"no subledger: the books came from a file ({facts.source_kind}: "
                f"{facts.file_name}) without the {party} invoices"
            )
        return None

    return skip


def _skip_ksumma(facts: PartitionFacts) -> str | None:
    if facts.ksumma is None:
        return "the load did not record the file's #KSUMMA outcome"
    return None


# ----------------------------------------------------------------- turning rows into results

Row = dict[str, Any]


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float | bool):
        raise TypeError(f"money in öre must be an integer, not {value!r}")
    return (Decimal(int(value)) / 100).quantize(CENT)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _voucher(row: Row) -> str:
    # Import files (SIE 4I) often leave the number to the importing program: name the line.
    if not row.get("number") and row.get("line"):
        return f"{row.get('series') or '-'} (no number, line {row['line']})"
    return f"{row.get('series') or '-'} {row.get('number') or '-'}"


def _first(rows: Sequence[Row], show: Callable[[Row], str], count: int, limit: int = 3) -> str:
    shown = "; ".join(show(r) for r in rows[:limit])
    more = f"; and {count - limit} more" if count > limit else ""
    return shown + more


def _balance_sheet_summary(row: Row) -> str:
    text = (
        f"the balance sheet does not balance: assets {row['expected']}, equity and liabilities "
        f"{row['equity_and_liabilities']}, the year's result {row['year_result']}, "
        f"difference {row['difference']}"
    )
    opening, previous = row["opening_difference"], row["previous_year_result"]
    if opening:
        text += f"; the opening balances (#IB 0) already differ by {opening}"
        if previous and opening == previous:
            text += " = the previous year's result (#RES -1), not in the opening equity"
    if row["result_outside_3_8"]:
        text += f"; #RES outside classes 3-8 sums to {row['result_outside_3_8']}"
    return text


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    severity: Severity
    holds: str  # what holds when the check passes (docs, GX description)
    query: Callable[[Sql, CheckConfig], str]
    skip_reason: Callable[[PartitionFacts], str | None]
    money: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    failed_summary: Callable[[Sequence[Row], int], str] = lambda rows, n: f"{n} rows"

    def result(
        self, raw_rows: Sequence[Mapping[str, Any]], extra: Row | None = None
    ) -> CheckResult:
        """A passed or failed result from the query's rows (GX's unexpected rows)."""
        rows = [self.typed(r) for r in raw_rows]
        count = int(raw_rows[0][COUNT_COLUMN]) if raw_rows else 0
        if extra:
            rows = [{**r, **extra} for r in rows]
        if not rows:
            return CheckResult(self.name, self.severity, "passed", self.holds)
        return CheckResult(
            self.name,
            self.severity,
            "failed",
            self.failed_summary(rows, count),
            failing_rows=tuple(rows),
            failing_row_count=count,
        )

    def skipped(self, reason: str) -> CheckResult:
        return CheckResult(self.name, self.severity, "skipped", f"skipped: {reason}")

    def typed(self, raw: Mapping[str, Any]) -> Row:
        row = {k: v for k, v in raw.items() if k != COUNT_COLUMN}
        for key in self.money:
            row[key] = _money(row.get(key))
        for key in self.dates:
            row[key] = _day(row.get(key))
        return row


CHECKS: tuple[Check, ...] = (
    Check(
        "voucher_balances",
        "error",
        "every voucher's rows sum to zero",
        q_voucher_balances,
        _no_vouchers,
        money=("difference",),
        dates=("voucher_date",),
        failed_summary=lambda rows, n: (
            f"{n} voucher(s) do not balance: "
            + _first(rows, lambda r: f"{_voucher(r)} rows sum to {r['difference']}", n)
        ),
    ),
    Check(
        "closing_balance_continuity",
        "error",
        "per account with an opening or closing balance: opening + the year's movements"
        " = closing (#IB 0 + rows = #UB 0)",
        q_closing_balance_continuity,
        _skip_continuity,
        money=("opening", "movements", "expected", "actual", "difference"),
        failed_summary=lambda rows, n: (
            f"{n} account(s) where opening + movements is not "
            "the closing balance: "
            + _first(
                rows,
                lambda r: f"{r['account']} expected {r['expected']}, #UB {r['actual']}",
                n,
            )
        ),
    ),
    Check(
        "result_matches_res",
        "error",
        "per account with a #RES: the year's movements = #RES",
        q_result_matches_res,
        _skip_res,
        money=("expected", "actual", "difference"),
        failed_summary=lambda rows, n: (
            f"{n} account(s) whose movements are not their #RES: "
            + _first(
                rows, lambda r: f"{r['account']} movements {r['expected']}, #RES {r['actual']}", n
            )
        ),
    ),
    Check(
        "balance_sheet_balances",
        "error",
        "assets = equity + liabilities + the year's result (the file's #UB and #RES)",
        q_balance_sheet_balances,
        _skip_balance_sheet,
        money=(
            "expected",
            "actual",
            "equity_and_liabilities",
            "year_result",
            "difference",
            "opening_difference",
            "previous_year_result",
            "result_outside_3_8",
        ),
        failed_summary=lambda rows, n: _balance_sheet_summary(rows[0]),
    ),
    Check(
        "dates_in_fiscal_year",
        "error",
        "every voucher date lies in the fiscal year",
        q_dates_in_fiscal_year,
        _no_vouchers,
        dates=("voucher_date", "year_start", "year_end"),
        failed_summary=lambda rows, n: (
            f"{n} voucher(s) dated outside "
            f"{rows[0]['year_start']}..{rows[0]['year_end']}: "
            + _first(rows, lambda r: f"{_voucher(r)} on {r['voucher_date']}", n)
        ),
    ),
    Check(
        "accounts_in_chart",
        "error",
        "every voucher row's account is in the chart of accounts (#KONTO)",
        q_accounts_in_chart,
        _skip_chart,
        money=("amount",),
        dates=("voucher_date",),
        failed_summary=lambda rows, n: (
            f"{n} account(s) used on rows but not in the chart: "
            + _first(
                rows, lambda r: f"{r['account']} ({r['row_count']} rows, first {_voucher(r)})", n
            )
        ),
    ),
    Check(
        "unique_voucher_numbers",
        "error",
        "no two vouchers share a (series, number); vouchers without a number are not compared",
        q_unique_voucher_numbers,
        _no_vouchers,
        failed_summary=lambda rows, n: (
            f"{n} voucher number(s) used more than once: "
            + _first(rows, lambda r: f"{_voucher(r)} x{r['voucher_count']}", n)
        ),
    ),
    Check(
        "voucher_number_gaps",
        "warning",
        "each series is numbered without gaps",
        q_voucher_number_gaps,
        _no_vouchers,
        failed_summary=lambda rows, n: (
            f"{n} gap(s) in the voucher numbering: "
            + _first(
                rows,
                lambda r: (
                    f"series {r['series'] or '-'} {r['first_missing']}"
                    + (f"-{r['last_missing']}" if r["missing"] > 1 else "")
                ),
                n,
            )
        ),
    ),
    Check(
        "ar_reconciliation",
        "error",
        "receivables open at the year end sum to the closing balance of the customer control"
        " accounts",
        q_ar_reconciliation,
        _skip_subledger("ar"),
        money=("expected", "actual", "difference"),
        failed_summary=lambda rows, n: (
            f"open receivables {rows[0]['actual']} "
            f"({rows[0]['open_items']} invoices) against {rows[0]['expected']} on "
            f"{rows[0]['account']}: difference {rows[0]['difference']}"
        ),
    ),
    Check(
        "ap_reconciliation",
        "error",
        "payables open at the year end sum to the closing balance of the supplier control"
        " accounts (credit)",
        q_ap_reconciliation,
        _skip_subledger("ap"),
        money=("expected", "actual", "difference"),
        failed_summary=lambda rows, n: (
            f"open payables {rows[0]['actual']} "
            f"({rows[0]['open_items']} invoices) against {rows[0]['expected']} (credit) on "
            f"{rows[0]['account']}: difference {rows[0]['difference']}"
        ),
    ),
    Check(
        "ksumma",
        "warning",
        "the file's #KSUMMA checksum was present and verified",
        q_ksumma,
        _skip_ksumma,
        failed_summary=lambda rows, n: f"#KSUMMA {rows[0]['ksumma']} in {rows[0]['file_name']}",
    ),
    Check(
        "extract_freshness",
        "warning",
        "the books were extracted (or confirmed unchanged) recently",
        q_extract_freshness,
        lambda facts: None,
        failed_summary=lambda rows, n: (
            f"the newest extract of these books, "
            f"{rows[0]['extract_id']}, was loaded {rows[0]['loaded_at']} UTC, "
            f"{rows[0]['age_days']} days ago (limit {rows[0]['max_age_days']})"
        ),
    ),
)

CHECKS_BY_NAME: dict[str, Check] = {c.name: c for c in CHECKS}
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS_BY_NAME)


def freshness_extra(rows: Sequence[Mapping[str, Any]], config: CheckConfig) -> Row:
    """Age figures of the freshness check's row, computed against the run's clock."""
    if not rows:
        return {}
    loaded = datetime.fromisoformat(str(rows[0]["loaded_at"])).replace(tzinfo=UTC)
    age = config.now.astimezone(UTC) - loaded

    def days(span: timedelta) -> Decimal:
        return (Decimal(int(span.total_seconds())) / 86400).quantize(Decimal("0.1"))

    return {"age_days": days(age), "max_age_days": days(config.max_extract_age)}
