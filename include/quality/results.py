"""What a check found: its status and the offending rows, with exact money.

Failing rows are dicts of plain values: ``Decimal`` for money, ``date`` for dates, ``str``
and ``int`` otherwise. The keys ``series``, ``number``, ``voucher_date``, ``account``,
``expected``, ``actual`` and ``difference`` land in typed columns of ``dq_failing_row``;
every key (those included) is kept in its JSON ``detail``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Severity = Literal["error", "warning"]
CheckStatus = Literal["passed", "failed", "skipped"]
RunStatus = Literal["passed", "warnings", "failed"]

SEVERITIES: tuple[Severity, ...] = ("error", "warning")
CHECK_STATUSES: tuple[CheckStatus, ...] = ("passed", "failed", "skipped")
TYPED_ROW_KEYS = ("series", "number", "voucher_date", "account", "expected", "actual", "difference")
MAX_KEPT_ROWS = 200  # offending rows kept per check (GX returns at most this many)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome. ``failing_row_count`` is exact; ``failing_rows`` the first ones."""

    name: str
    severity: Severity
    status: CheckStatus
    summary: str
    failing_rows: tuple[Mapping[str, Any], ...] = ()
    failing_row_count: int = 0

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.name}: severity must be error or warning")
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"{self.name}: status must be passed, failed or skipped")
        if self.status == "failed" and self.failing_row_count < len(self.failing_rows):
            raise ValueError(f"{self.name}: failing_row_count below the rows given")

    @property
    def blocks(self) -> bool:
        return self.status == "failed" and self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "summary": self.summary,
            "failing_row_count": self.failing_row_count,
            "failing_rows": [json_row(row) for row in self.failing_rows],
        }


def run_status(results: Iterable[CheckResult]) -> RunStatus:
    """failed: an error check failed; warnings: only warning checks failed; else passed."""
    results = list(results)
    if any(r.blocks for r in results):
        return "failed"
    if any(r.status == "failed" for r in results):
        return "warnings"
    return "passed"


def json_value(value: Any) -> Any:
    """Decimals as decimal strings, dates as ISO text: exact, and readable by any client."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):  # a float means money was converted wrongly somewhere
        raise TypeError("a failing row holds a float; money must stay Decimal")
    return value


def json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: json_value(value) for key, value in row.items()}


def detail_json(row: Mapping[str, Any]) -> str:
    return json.dumps(json_row(row), ensure_ascii=False, sort_keys=False)
