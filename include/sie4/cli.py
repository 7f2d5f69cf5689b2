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
from include.sie4.summary import SummaryFigures, summarise, summary_json

__all__ = ["inspect_summary", "main"]


def inspect_summary(result: ParseResult) -> dict[str, Any]:
    """The JSON object ``inspect --json`` prints, from a record-path parse result.

    The reference for the fast path (``summary.summarise``), which gives the same
    object without a record per row.
    """
    doc = result.document
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
    figures = SummaryFigures(
        document=doc,
        errors=result.errors,
        warnings=result.warnings,
        label_counts=result.label_counts,
        debit_total=str(debit),
        unbalanced=unbalanced,
    )
    return summary_json(result.source_name, figures)


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

    # The counts and sums from vectorised scans; the record path where those cannot vouch.
    fast = summarise(args.file, lenient=args.lenient)
    if fast is not None:
        summary, status = fast
    else:
        result = parse(args.file, lenient=args.lenient)
        summary = inspect_summary(result)
        status = 2 if result.unreadable else 1 if result.errors else 0
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif status == 2:
        print(f"{summary['file']}: {summary['errors'][0]['message']}", file=sys.stderr)
    else:
        _human(summary, sys.stdout)
    return status
