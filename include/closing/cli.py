"""``python -m include.closing``: import adjustments, compute proposals, approve, answer in Airflow.

    python -m include.closing import FILE.csv --company 556677-8899 --fiscal-year 2025-01-01
    python -m include.closing propose --company 556677-8899 --fiscal-year 2025-01-01 --accept all
    python -m include.closing show    --company 556677-8899 --fiscal-year 2025-01-01
    python -m include.closing approve --company 556677-8899 --fiscal-year 2025-01-01 --by anna
    python -m include.closing answer  --run-id RUN --approve --user admin --password-file F

``--url`` is the warehouse (default ``WAREHOUSE_URL``, else the embedded SQLite file). The
company is its org number (any form) or company key; the fiscal year its start date. These
commands run the same code as the closing DAG's tasks. ``approve`` is a command-line approval
for automation (recorded as ``via cli``); a person normally approves in the Airflow UI.
Exit status: 0 done, 1 refused (every reason printed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from include.closing.export_cli import add_export_command, run_export
from include.closing.formatting import kronor
from include.closing.proposals import PROPOSAL_KINDS, Proposal

Handler = Callable[[argparse.Namespace, TextIO], int]


def _partition_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="warehouse SQLAlchemy URL (default: WAREHOUSE_URL)")
    parser.add_argument("--company", required=True, help="org number (NNNNNN-NNNN) or company key")
    parser.add_argument(
        "--fiscal-year", required=True, help="the fiscal year's start date, YYYY-MM-DD"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _kinds(value: str) -> list[str]:
    if value == "all":
        return list(PROPOSAL_KINDS)
    kinds = [k.strip() for k in value.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in PROPOSAL_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown proposal {', '.join(unknown)}; one of {', '.join(PROPOSAL_KINDS)} or all"
        )
    return kinds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m include.closing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_export_command(sub)

    imp = sub.add_parser("import", help="import a company-year's adjustments CSV (all or nothing)")
    imp.add_argument("file", type=Path, help="the CSV file (attachments relative to it)")
    _partition_args(imp)

    pro = sub.add_parser("propose", help="compute the proposals; accept or drop them")
    _partition_args(pro)
    pro.add_argument("--accept", type=_kinds, default=[], help="kinds to accept (comma list, all)")
    pro.add_argument("--drop", type=_kinds, default=[], help="kinds to drop (comma list, all)")
    pro.add_argument("--reset", type=_kinds, default=[], help="kinds back to 'proposed'")
    pro.add_argument("--by", default="cli", help="who decides (recorded with the decision)")
    pro.add_argument("--calculation", action="store_true", help="print each calculation")

    show = sub.add_parser("show", help="the voucher set as accepted now, and the proposals")
    _partition_args(show)

    app = sub.add_parser(
        "approve", help="approve from the command line (quality gate and Fortnox checks first)"
    )
    _partition_args(app)
    app.add_argument("--by", required=True, help="the person approving")
    app.add_argument("--comment", default="")

    ans = sub.add_parser("answer", help="answer a closing run's approval task in Airflow (REST)")
    ans.add_argument("--api-url", default="http://127.0.0.1:8080", help="Airflow's base URL")
    ans.add_argument("--run-id", help="the closing DAG run (default: the one waiting)")
    ans.add_argument("--subject", help="without --run-id: the waiting approval naming this")
    ans.add_argument("--dag-id", default="closing")
    ans.add_argument("--user", default="admin")
    ans.add_argument(
        "--password-file",
        type=Path,
        help='JSON {"user": "password"} (e.g. airflow_home/passwords.json); else AIRFLOW_PASSWORD',
    )
    decision = ans.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true")
    decision.add_argument("--reject", action="store_true")
    ans.add_argument("--comment", default="")
    ans.add_argument("--timeout", type=float, default=600, help="seconds to wait for the task")
    return parser


def _url(args: argparse.Namespace) -> str:
    from include.warehouse.engine import default_url

    return str(args.url or default_url())


def _emit(args: argparse.Namespace, out: TextIO, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str), file=out)
    else:
        print(text, file=out)


def cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from include.closing.adjustments import import_adjustments

    result = import_adjustments(_url(args), args.file, args.company, args.fiscal_year)
    _emit(args, out, asdict(result), result.summary())
    return 0


def _proposal_text(p: Proposal, calculation: bool) -> str:
    where = "in the voucher set" if p.in_voucher_set else "not in the voucher set"
    lines = [f"{p.reference} {p.title}: {kronor(p.amount)} kr, {p.state} ({where})"]
    if p.voucher is not None:
        for row in p.voucher.rows:
            side = "debit " if row.debit else "credit"
            lines.append(f"    {side} {row.account} {kronor(row.debit or row.credit):>16}")
    if calculation:
        lines += [f"    | {line}" for line in p.calculation]
    return "\n".join(lines)


def cmd_propose(args: argparse.Namespace, out: TextIO) -> int:
    from include.closing.proposals import propose

    partition, proposals = propose(
        _url(args),
        args.company,
        args.fiscal_year,
        accept=args.accept,
        drop=args.drop,
        reset=args.reset,
        decided_by=args.by,
    )
    data = [
        {
            "kind": p.kind,
            "reference": p.reference,
            "state": p.state,
            "amount": str(p.amount),
            "in_voucher_set": p.in_voucher_set,
            "rows": [r.canonical() for r in p.voucher.rows] if p.voucher else [],
            "attachment": p.attachment.file_name,
            "calculation": list(p.calculation),
        }
        for p in proposals
    ]
    text = "\n".join(
        [f"Proposals for {partition.label}:"]
        + [_proposal_text(p, args.calculation) for p in proposals]
    )
    _emit(args, out, data, text)
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from include.closing.approval import latest_approval
    from include.closing.proposals import read_proposals
    from include.closing.store import read_voucher_set, resolve_partition
    from include.closing.summary import closing_summary
    from include.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(_url(args))
    try:
        with engine.connect() as conn:
            partition = resolve_partition(conn, args.company, args.fiscal_year)
            start = partition.fiscal_year_start
            voucher_set = read_voucher_set(conn, partition.company_id, start)
            proposals = read_proposals(conn, partition.company_id, start)
        approval = latest_approval(engine, partition.company_id, start)
    finally:
        engine.dispose()
    decided = (
        f"latest decision: {approval.state} by {approval.decided_by} "
        f"({approval.decided_at:%Y-%m-%d %H:%M} UTC, via {approval.via}, {approval.approval_id}, "
        f"{'matches' if approval.checksum == voucher_set.checksum() else 'does NOT match'} "
        "the set now)"
        if approval
        else "no decision yet"
    )
    text = closing_summary(
        title=f"Closing of {partition.label}",
        voucher_set=voucher_set,
        proposals=proposals,
        account_names={},
        sources={},
        gate_reason="not checked by `show`",
        fortnox="not checked by `show`",
    )
    data = {
        "company": partition.company_key,
        "fiscal_year_start": start.isoformat(),
        "checksum": voucher_set.checksum(),
        "vouchers": [v.canonical() for v in voucher_set.vouchers],
        "latest_decision": asdict(approval) if approval else None,
    }
    _emit(args, out, data, f"{text}\n{decided}")
    return 0


@contextmanager
def fortnox_clients() -> Iterator[Callable[[str], Any]]:
    """Fortnox clients per tenant, configured as for ``python -m include.fortnox``."""
    from include.fortnox.config import FortnoxSettings
    from include.fortnox.session import FortnoxSession

    session = FortnoxSession(FortnoxSettings.from_env())
    try:
        yield session.client
    finally:
        session.close()


def cmd_approve(args: argparse.Namespace, out: TextIO) -> int:
    from include.closing.workflow import approve_closing

    with fortnox_clients() as client_for:
        prepared, approval = approve_closing(
            _url(args),
            args.company,
            args.fiscal_year,
            decided_by=args.by,
            comment=args.comment,
            client_for=client_for,
        )
    data = {**asdict(approval), "subject": prepared.subject}
    text = (
        f"{prepared.summary}\nApproved by {approval.decided_by} (via cli): approval "
        f"{approval.approval_id}, {approval.voucher_count} vouchers, checksum {approval.checksum}"
    )
    _emit(args, out, data, text)
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        passwords = json.loads(args.password_file.read_text())
        if args.user not in passwords:
            raise ValueError(f"{args.password_file} has no password for {args.user!r}")
        return str(passwords[args.user])
    password = os.environ.get("AIRFLOW_PASSWORD")
    if not password:
        raise ValueError("give --password-file or set AIRFLOW_PASSWORD")
    return password


def cmd_answer(args: argparse.Namespace, out: TextIO) -> int:
    from include.closing.airflow_api import airflow_token, answer_approval, wait_for_approval_task

    token = airflow_token(args.api_url, args.user, _password(args))
    detail = wait_for_approval_task(
        args.api_url,
        token,
        args.run_id,
        dag_id=args.dag_id,
        subject_contains=args.subject,
        timeout=args.timeout,
    )
    run_id = str(detail["task_instance"]["dag_run_id"])
    answer = answer_approval(
        args.api_url,
        token,
        run_id,
        approve=args.approve,
        comment=args.comment,
        dag_id=args.dag_id,
    )
    print(
        f"{answer['chosen_options'][0]} by {answer['responded_by']['name']} "
        f"at {answer['responded_at']} (run {run_id}): {detail['subject']}",
        file=out,
    )
    return 0


COMMANDS: dict[str, Handler] = {
    "import": cmd_import,
    "propose": cmd_propose,
    "show": cmd_show,
    "approve": cmd_approve,
    "answer": cmd_answer,
    "export": lambda args, out: run_export(args, out=out),
}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    from include.closing.adjustments import AdjustmentsRejected
    from include.closing.airflow_api import AirflowApiError
    from include.closing.approval import ApprovalError
    from include.closing.config import ConfigError
    from include.closing.proposals import ProposalError
    from include.closing.workflow import ClosingRefused
    from include.fortnox.errors import FortnoxError

    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if getattr(args, "fiscal_year", None):
        try:
            date.fromisoformat(args.fiscal_year)
        except ValueError:
            print(
                f"--fiscal-year must be the start date YYYY-MM-DD, not {args.fiscal_year!r}",
                file=sys.stderr,
            )
            return 2
    try:
        return COMMANDS[args.command](args, out)
    except (
        AdjustmentsRejected,
        ClosingRefused,
        ApprovalError,
        ConfigError,
        ProposalError,
        AirflowApiError,
        FortnoxError,
        LookupError,
        ValueError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
