"""``python -m include.quality run | gate | control-accounts``: the checks from a shell.

    python -m include.quality run --url URL [--company ORG_OR_KEY] [--fiscal-year YYYY-MM-DD]
                                 [--max-age-days N] [--json]
    python -m include.quality gate --url URL --company ORG_OR_KEY --fiscal-year YYYY-MM-DD [--json]
    python -m include.quality control-accounts --url URL --company ORG_OR_KEY
                                 [--ar 1510-1519,1580] [--ap 2440-2449] [--default]
    python -m include.quality corpus FOLDER [--url URL] [--markdown]

``run`` checks the named partition, or every partition when neither is given, and records
the runs. Exit status: 0 when no run has a failed error check, 1 when one has, 2 when the
warehouse or the partition cannot be read (a clear message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2
URL_HELP = "SQLAlchemy URL (default: $WAREHOUSE_URL or sqlite:///<repo>/data/warehouse.db)"


class Unreadable(Exception):
    """The warehouse or the partition cannot be read: exit 2 with this message."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m include.quality",
        description="Data quality checks of the warehouse's books (docs/quality.md).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the checks on partitions and record them")
    p.add_argument("--url", help=URL_HELP)
    p.add_argument("--company", help="organisation number, company key or Fortnox tenant id")
    p.add_argument("--fiscal-year", help="start of the fiscal year, YYYY-MM-DD (or YYYY)")
    p.add_argument(
        "--max-age-days",
        type=float,
        default=7.0,
        help="extract_freshness: warn when the books are older than this (default 7)",
    )
    p.add_argument("--data-dir", type=Path, help="data folder (default: $PROJECT_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")

    p = sub.add_parser("gate", help="may this partition be closed? (the latest run)")
    p.add_argument("--url", help=URL_HELP)
    p.add_argument("--company", required=True)
    p.add_argument("--fiscal-year", required=True)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "corpus", help="load a folder of SIE files leniently, check each, report (docs table)"
    )
    p.add_argument("folder", type=Path)
    p.add_argument("--url", help="warehouse to load into (default: a new temporary SQLite)")
    p.add_argument("--markdown", action="store_true", help="the docs/quality.md section")

    p = sub.add_parser("control-accounts", help="show or set a company's control accounts")
    p.add_argument("--url", help=URL_HELP)
    p.add_argument("--company", required=True)
    p.add_argument("--ar", help="customer control accounts, e.g. 1510-1519,1580")
    p.add_argument("--ap", help="supplier control accounts, e.g. 2440-2449")
    p.add_argument("--default", action="store_true", help="back to 1510-1519 and 2440-2449")
    return parser


def _shown_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _unreadable(url: str, error: Exception) -> str:
    return f"cannot read the warehouse at {_shown_url(url)}: {getattr(error, 'orig', error)}"


def _check_schema(url: str) -> None:
    from include.warehouse.migrate import current_revision, head_revision

    parsed = sa.make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).is_file():
        raise Unreadable(f"no warehouse file at {file}")  # reading must not create one
    try:
        revision = current_revision(url)
    except sa.exc.SQLAlchemyError as error:
        raise Unreadable(_unreadable(url, error)) from None
    if revision is None:
        raise Unreadable(
            f"no warehouse at {_shown_url(url)} (never migrated): "
            "run python -m include.warehouse migrate"
        )
    if revision < "0004":
        raise Unreadable(
            f"the warehouse at {_shown_url(url)} is at revision {revision}, before the "
            f"quality tables; run python -m include.warehouse migrate (head {head_revision()})"
        )


def _money_rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    from include.quality.results import json_row

    return [json_row(r) for r in rows]


def _run_json(runs: Sequence[Any], index: Path | None) -> dict[str, Any]:
    return {
        "runs": [
            {
                "company": r.partition.company_name,
                "org_number": r.partition.org_number,
                "company_key": r.partition.company_key,
                "fiscal_year_start": r.partition.fiscal_year_start.isoformat(),
                "run_id": r.run.run_id,
                "status": r.run.status,
                "data_docs_page": r.run.data_docs_page,
                "checks": [
                    {
                        "name": c.name,
                        "severity": c.severity,
                        "status": c.status,
                        "summary": c.summary,
                        "failing_row_count": c.failing_row_count,
                        "failing_rows": _money_rows(c.failing_rows),
                    }
                    for c in r.run.results
                ],
            }
            for r in runs
        ],
        "data_docs": str(index) if index else None,
    }


def format_runs(runs: Sequence[Any], index: Path | None) -> str:
    """The table a person reads: one block per partition, one line per check."""
    lines: list[str] = []
    failed = sum(r.run.status == "failed" for r in runs)
    warned = sum(r.run.status == "warnings" for r in runs)
    lines.append(
        f"Quality checks: {len(runs)} partition(s), {failed} failed, {warned} with warnings"
    )
    for r in runs:
        run = r.run
        errors, warnings = len(run.failed_error_checks), len(run.failed_warning_checks)
        lines.append("")
        lines.append(
            f"{r.partition.label}  {run.status.upper()}  "
            f"({errors} error(s), {warnings} warning(s), {len(run.skipped_checks)} skipped)"
            f"  run {run.run_id}"
        )
        for c in run.results:
            mark = {"passed": "ok", "failed": "FAILED", "skipped": "skipped"}[c.status]
            summary = c.summary if c.status != "passed" else ""
            if len(summary) > 150:
                summary = summary[:147] + "..."
            lines.append(f"  {c.name:<28} {c.severity:<8} {mark:<8} {summary}".rstrip())
    if index is not None:
        lines.append("")
        lines.append(f"Data Docs: {index}")
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace, url: str) -> int:
    from include.quality.gx_suite import index_page
    from include.quality.partitions import PartitionNotFound
    from include.quality.runner import run_quality
    from include.settings import data_dir

    _check_schema(url)
    root = args.data_dir or data_dir()
    try:
        runs = run_quality(
            url,
            root,
            company=args.company,
            fiscal_year=args.fiscal_year,
            max_extract_age=timedelta(days=args.max_age_days),
        )
    except (PartitionNotFound, ValueError) as error:
        raise Unreadable(str(error).strip("'\"")) from None
    index = index_page(root) if runs else None
    if args.json:
        print(json.dumps(_run_json(runs, index), ensure_ascii=False, indent=2))
    elif not runs:
        print("The warehouse holds no books yet: nothing to check.")
    else:
        print(format_runs(runs, index))
    return EXIT_ERRORS if any(r.run.status == "failed" for r in runs) else EXIT_OK


def _one_partition(url: str, company: str, fiscal_year: str) -> Any:
    from include.quality.partitions import PartitionNotFound
    from include.quality.runner import resolve_partitions

    try:
        partitions = resolve_partitions(url, company, fiscal_year)
    except (PartitionNotFound, ValueError) as error:
        raise Unreadable(str(error).strip("'\"")) from None
    if len(partitions) != 1:
        names = ", ".join(p.label for p in partitions)
        raise Unreadable(f"{company} {fiscal_year} names {len(partitions)} partitions: {names}")
    return partitions[0]


def _cmd_gate(args: argparse.Namespace, url: str) -> int:
    from dataclasses import asdict

    from include.quality.gate import quality_gate

    _check_schema(url)
    partition = _one_partition(url, args.company, args.fiscal_year)
    gate = quality_gate(url, partition.company_id, partition.fiscal_year_start)
    if args.json:
        data = asdict(gate) | {"fiscal_year_start": gate.fiscal_year_start.isoformat()}
        data["failed_checks"] = list(gate.failed_checks)
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        verdict = "BLOCKS the closing" if gate.blocks else "allows the closing"
        print(f"{partition.label}: {verdict}")
        print(f"  {gate.reason}")
    return EXIT_ERRORS if gate.blocks else EXIT_OK


def _cmd_control_accounts(args: argparse.Namespace, url: str) -> int:
    from include.quality.checks import AccountRange, ranges_text
    from include.quality.partitions import PartitionNotFound, company_ids_named
    from include.quality.runner import control_ranges, set_control_ranges
    from include.warehouse.engine import create_warehouse_engine

    _check_schema(url)
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            ids = company_ids_named(conn, args.company)
        if len(ids) != 1:
            raise PartitionNotFound(f"no company {args.company!r} in the warehouse")
        (company_id,) = ids
        try:
            for ledger, given in (("ar", args.ar), ("ap", args.ap)):
                if args.default or given:
                    ranges = (
                        [] if args.default else [AccountRange.parse(t) for t in given.split(",")]
                    )
                    set_control_ranges(engine, company_id, ledger, ranges)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ERRORS
        with engine.connect() as conn:
            ar, ap = control_ranges(conn, company_id)
    except PartitionNotFound as error:
        raise Unreadable(str(error).strip("'\"")) from None
    finally:
        engine.dispose()
    print(f"{args.company}: receivables {ranges_text(ar)}; payables {ranges_text(ap)}")
    return EXIT_OK


def _cmd_corpus(args: argparse.Namespace, url: str | None) -> int:
    import tempfile

    from include.quality.corpus import check_corpus, markdown
    from include.warehouse.migrate import migrate

    if not args.folder.is_dir():
        raise Unreadable(f"no folder {args.folder}")
    with tempfile.TemporaryDirectory(prefix="quality-corpus-") as tmp:
        target = url or f"sqlite:///{Path(tmp) / 'corpus.db'}"
        migrate(target)
        report = check_corpus(args.folder, target, Path(tmp))
    text = markdown(report)
    if not args.markdown:
        text = text.replace("`", "")
    print(text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from include.warehouse.engine import default_url

    args = _parser().parse_args(argv)
    url = args.url or default_url()
    commands = {"run": _cmd_run, "gate": _cmd_gate, "control-accounts": _cmd_control_accounts}
    try:
        if args.command == "corpus":  # its own temporary warehouse unless --url
            return _cmd_corpus(args, args.url)
        return commands[args.command](args, url)
    except Unreadable as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    except sa.exc.OperationalError as error:
        print(
            f"error: cannot read the warehouse at {_shown_url(url)}: {error.orig}", file=sys.stderr
        )
        return EXIT_UNREADABLE
