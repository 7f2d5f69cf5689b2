"""``python -m include.warehouse migrate | load FILE | trial-balance --org ORG``."""

from __future__ import annotations

import argparse
import importlib.abc
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from include.warehouse.engine import create_warehouse_engine, default_url
from include.warehouse.migrate import current_revision_ok, migrate
from include.warehouse.schema import trial_balance_view


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m include.warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    url_help = "SQLAlchemy URL (default: $WAREHOUSE_URL or sqlite:///<repo>/data/warehouse.db)"

    p = sub.add_parser("migrate", help="create or upgrade the warehouse schema")
    p.add_argument("--url", help=url_help)

    p = sub.add_parser("load", help="load one SIE file (replaces its company/fiscal year)")
    p.add_argument("file", type=Path)
    p.add_argument("--url", help=url_help)
    p.add_argument("--lenient", action="store_true", help="tolerable defects become warnings")
    p.add_argument(
        "--force",
        action="store_true",
        help="reload even if already loaded, or over newer books (an older file)",
    )

    p = sub.add_parser("trial-balance", help="print a company's trial balance")
    p.add_argument("--org", required=True, help="organisation number (or company key)")
    p.add_argument("--year-start", type=date.fromisoformat, help="YYYY-MM-DD (default: latest)")
    p.add_argument("--url", help=url_help)
    return parser


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}".replace(",", " ")


def _cmd_migrate(url: str) -> int:
    revision = migrate(url)
    print(f"warehouse at revision {revision}: {sa.make_url(url).render_as_string()}")
    return 0


def _cmd_load(url: str, file: Path, *, lenient: bool, force: bool) -> int:
    from include.sie4.errors import SieError
    from include.warehouse.loader import OlderExtractError, load_sie

    engine = create_warehouse_engine(url)  # one connection pool for the check and the load
    try:
        if not current_revision_ok(engine):
            print("error: warehouse schema is not current; run: migrate", file=sys.stderr)
            return 1
        result = load_sie(file, engine, lenient=lenient, force=force)
    except SieError as exc:
        print(f"error: {exc.source or file}: rejected, {len(exc.errors)} error(s)", file=sys.stderr)
        for diagnostic in exc.errors:
            print(f"  line {diagnostic.line}: {diagnostic.message}", file=sys.stderr)
        return 1
    except OlderExtractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    state = "already loaded, skipped" if result.skipped else "loaded"
    print(f"{file.name}: {state}")
    print(f"  company      {result.company_name} ({result.org_number or 'no org number'})")
    print(f"  fiscal year  {result.fiscal_year_start} .. {result.fiscal_year_end}")
    print(f"  extract      {result.extract_id}")
    for table, count in result.counts.items():
        print(f"  {table:<20} {count:>10}")
    for warning in result.warnings:
        print(f"  warning: line {warning.line}: {warning.message}")
    return 0


def _cmd_trial_balance(url: str, org: str, year_start: date | None) -> int:
    from include.warehouse.loader import normalise_org_number

    tb = trial_balance_view
    org_number = normalise_org_number(org) or org
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            if year_start is None:
                year_start = conn.execute(
                    sa.select(sa.func.max(tb.c.fiscal_year_start)).where(
                        tb.c.org_number == org_number
                    )
                ).scalar_one()
            rows = conn.execute(
                sa.select(tb)
                .where(tb.c.org_number == org_number, tb.c.fiscal_year_start == year_start)
                .order_by(tb.c.account)
            ).all()
    finally:
        engine.dispose()
    if not rows:
        print(f"error: no books for {org_number}", file=sys.stderr)
        return 1
    first = rows[0]
    print(f"Trial balance  {first.company_name} ({first.org_number})")
    print(f"Fiscal year    {first.fiscal_year_start} .. {first.fiscal_year_end}\n")
    header = (
        f"{'Account':<8} {'Name':<30} {'Opening':>15} {'Movements':>15} "
        f"{'Closing':>15} {'Reported':>15}"
    )
    print(header)
    print("-" * len(header))
    totals = [Decimal(0), Decimal(0), Decimal(0)]
    for r in rows:
        flag = "" if r.reported_closing_balance in (None, r.closing_balance) else "  *"
        print(
            f"{r.account:<8} {(r.account_name or '')[:30]:<30} {_money(r.opening_balance):>15} "
            f"{_money(r.movements):>15} {_money(r.closing_balance):>15} "
            f"{_money(r.reported_closing_balance):>15}{flag}"
        )
        totals = [
            totals[0] + r.opening_balance,
            totals[1] + r.movements,
            totals[2] + r.closing_balance,
        ]
    print("-" * len(header))
    print(f"{'Total':<39} {_money(totals[0]):>15} {_money(totals[1]):>15} {_money(totals[2]):>15}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.url or default_url()
    if args.command == "migrate":
        return _cmd_migrate(url)
    if args.command == "load":
        return _cmd_load(url, args.file, lenient=args.lenient, force=args.force)
    return _cmd_trial_balance(url, args.org, args.year_start)


class _SkipImports(importlib.abc.MetaPathFinder):
    """Makes ``import <name>`` fail for the given top-level packages (and their modules)."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname}: not imported by this command", name=fullname)


def _skip_unused_imports() -> None:
    """Keep two optional libraries out of this short process: about 0.5 s of a 5 s load.

    pyarrow imports pandas (0.25 s) on its first ``pa.array`` call only to ask whether the
    argument is a DataFrame, and numba imports scipy.linalg (0.25 s) when it loads the
    reader's cached kernels only to see whether BLAS is there. Neither is used here, and
    both treat a failed import as "not installed". Only for ``python -m``: ``main()``
    called in-process leaves the process alone.
    """
    if not {"pandas", "scipy"} & set(sys.modules):
        sys.meta_path.insert(0, _SkipImports("pandas", "scipy"))


if __name__ == "__main__":
    _skip_unused_imports()
    sys.exit(main())
