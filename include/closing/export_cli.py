"""``python -m include.closing export``: send an approved closing to Fortnox, exactly once.

    python -m include.closing export --url URL --approval ID [--json] [--retry-failed]

The same code the ``voucher_export`` DAG runs (:func:`include.closing.export.export_approval`).
Fortnox is configured from the environment (``AIRFLOW_CONN_FORTNOX_DEFAULT`` or
``FORTNOX_*``, token key ``FORTNOX_TOKEN_KEY``; see ``docs/fortnox-client.md``).

Output: a line per step while it runs (on stderr with ``--json``), then the report: a line
per voucher, or with ``--json`` one JSON object listing every voucher with its idempotency
key, state, Fortnox series and number, file id and whether it was verified.

Exit status: 0 when every voucher is sent, its attachment connected and both read back
unchanged; 1 when not (something failed, did not match, or is left for a rerun); 2 when the
export was refused (a rejection, a voucher set changed since its approval, no Fortnox tenant,
vouchers in Fortnox the set no longer contains) or the command is misconfigured.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from include.settings import default_warehouse_url

EXIT_OK, EXIT_NOT_DONE, EXIT_REFUSED = 0, 1, 2


def add_export_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``export`` to a ``python -m include.closing`` parser (``set_defaults(run=...)``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="send an approved closing's vouchers and attachments to Fortnox, exactly once",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        default=None,
        help="the warehouse's SQLAlchemy URL (default: WAREHOUSE_URL or data/warehouse.db)",
    )
    parser.add_argument("--approval", required=True, help="the approval id (apr-...)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="send vouchers and attachments Fortnox refused earlier again (after a fix)",
    )
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another export of the same closing (default 900)",
    )
    parser.set_defaults(run=run_export)
    return parser


def run_export(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run ``export`` from parsed arguments; returns the exit status."""
    from datetime import timedelta

    import sqlalchemy as sa

    from include.closing.approval import ApprovalError
    from include.closing.export import ExportBusy, ExportRefused, ExportSettings, export_approval
    from include.fortnox.config import FortnoxSettings
    from include.fortnox.models import FortnoxError
    from include.fortnox.session import FortnoxSession

    out = out or sys.stdout
    progress = sys.stderr if args.json else out
    url = args.url or default_warehouse_url()
    settings = ExportSettings()
    if args.lock_wait is not None:
        settings = ExportSettings(lock_wait=timedelta(seconds=args.lock_wait))

    def refused(message: str, status: int) -> int:
        print(f"export refused: {message}", file=sys.stderr)
        if args.json:
            body = {"approval_id": args.approval, "ok": False, "refused": message, "vouchers": []}
            print(json.dumps(body, indent=2, ensure_ascii=False), file=out)
        return status

    try:
        session = FortnoxSession(FortnoxSettings.from_env())
    except FortnoxError as exc:
        return refused(f"Fortnox is not configured: {exc}", EXIT_REFUSED)
    try:
        report = export_approval(
            url,
            args.approval,
            session.client,
            settings=settings,
            say=lambda line: print(line, file=progress, flush=True),
            retry_failed=args.retry_failed,
        )
    except (ApprovalError, ExportRefused) as exc:
        return refused(str(exc), EXIT_REFUSED)
    except ExportBusy as exc:
        return refused(str(exc), EXIT_NOT_DONE)
    except sa.exc.DBAPIError as exc:  # e.g. the warehouse is locked or unreachable
        # The driver's message only: SQLAlchemy's own text would add the statement.
        print(f"error: the warehouse failed: {exc.orig}", file=sys.stderr)
        return EXIT_NOT_DONE
    finally:
        session.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False), file=out)
    else:
        print(report.text(), file=out)
    return EXIT_OK if report.ok else EXIT_NOT_DONE
