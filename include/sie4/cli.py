"""Command line: ``python -m include.sie4 inspect FILE [--lenient] [--json]``.

Exit status: 0 no errors, 1 errors (the counts are still printed), 2 the file
cannot be read at all (missing, empty, binary, no SIE records).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.sie4.reader import ParseResult, parse
from include.sie4.records import RowKind

__all__ = ["inspect_summary", "main"]


def inspect_summary(result: ParseResult) -> dict[str, Any]:
    """The JSON object ``inspect --json`` prints for one parse result."""
    doc = result.document
    counts = result.label_counts
    debit = Decimal(0)
    unbalanced = []
    for voucher in doc.vouchers:
        for row in voucher.rows:
            if row.kind is RowKind.TRANS and row.amount > 0:
                debit += row.amount
        difference = voucher.balance_difference
        if difference:
            unbalanced.append(
                {
                    "series": voucher.series,
                    "number": voucher.number,
                    "line": voucher.line,
                    "difference": str(difference),
                }
            )
    return {
        "file": result.source_name,
        "sie_type": doc.sie_type,
        "variant": doc.variant,
        "encoding": doc.encoding,
        "program": list(doc.program),
        "company_name": doc.company.name,
        "org_number": doc.company.org_number,
        "fiscal_years": [
            {"index": y.index, "start": y.start.isoformat(), "end": y.end.isoformat()}
            for y in doc.fiscal_years
        ],
        "accounts": len(doc.accounts),
        "vouchers": counts.get("#VER", 0),
        "transactions": counts.get("#TRANS", 0),
        "added_rows": counts.get("#RTRANS", 0),
        "removed_rows": counts.get("#BTRANS", 0),
        "balances": len(doc.balances),
        "period_balances": len(doc.period_balances),
        "debit_total": str(debit),
        "unbalanced_vouchers": unbalanced,
        "ksumma": doc.ksumma.value,
        "errors": [{"line": d.line, "message": d.message} for d in result.errors],
        "warnings": [{"line": d.line, "message": d.message} for d in result.warnings],
    }


def _human(summary: dict[str, Any], out: Any) -> None:
    variant = summary["variant"] or ""
    kind = f"SIE {summary['sie_type']}{variant}"
    print(f"{summary['file']}: {kind} ({summary['encoding']})", file=out)
    name = summary["company_name"] or "(no name)"
    org = summary["org_number"] or "no org. number"
    print(f"  company: {name}, {org}", file=out)
    for year in summary["fiscal_years"]:
        print(f"  fiscal year {year['index']}: {year['start']} .. {year['end']}", file=out)
    print(
        f"  {summary['accounts']} accounts, {summary['vouchers']} vouchers, "
        f"{summary['transactions']} #TRANS, {summary['added_rows']} #RTRANS, "
        f"{summary['removed_rows']} #BTRANS; debit total {summary['debit_total']}",
        file=out,
    )
    print(f"  checksum: {summary['ksumma']}", file=out)
    for v in summary["unbalanced_vouchers"]:
        print(
            f"  unbalanced voucher {v['series']} {v['number']} (line {v['line']}): "
            f"{v['difference']}",
            file=out,
        )
    for kind in ("errors", "warnings"):
        items = summary[kind]
        if items:
            print(f"  {len(items)} {kind}:", file=out)
            for d in items[:20]:
                print(f"    line {d['line']}: {d['message']}", file=out)
            if len(items) > 20:
                print(f"    ... and {len(items) - 20} more", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.sie4", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    inspect = commands.add_parser("inspect", help="read a SIE file and summarise it")
    inspect.add_argument("file", type=Path)
    inspect.add_argument("--lenient", action="store_true", help="tolerable defects as warnings")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    result = parse(args.file, lenient=args.lenient)
    summary = inspect_summary(result)
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif result.unreadable:
        print(f"{result.source_name}: {result.errors[0].message}", file=sys.stderr)
    else:
        _human(summary, sys.stdout)
    if result.unreadable:
        return 2
    return 1 if result.errors else 0
