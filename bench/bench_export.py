"""Closing export against the local sandbox at Fortnox's rate limit: the wall time to export
N vouchers (default 500, each with an attachment) to one company, and the share of the rate
limit the export used.

    PYTHONPATH=. .venv/bin/python bench/bench_export.py [--vouchers 500] [--write]
        [--no-attachments]

What is timed is the command an operator runs, start-up included:
``python -m include.closing export --url ... --approval ... --json`` in a fresh process,
against a SandboxServer in this process with Fortnox's limit (25 requests per sliding 5 s)
and the client's own pacing (20 per 5 s, the margin it keeps against Fortnox). Then the same
command again on the finished export (it must send nothing). The vouchers are shaped like a
closing's: three rows each (a cost centre on one), long texts, a PDF-like attachment of a few
hundred bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.closing.export_testing import (  # noqa: E402
    approve,
    closing_vouchers,
    link_company,
    sandbox_count,
)
from include.fortnox.pacing import DEFAULT_MAX_REQUESTS, DEFAULT_WINDOW_SECONDS  # noqa: E402
from include.fortnox_sandbox.local import connected_sandbox  # noqa: E402
from include.warehouse.migrate import migrate  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-export.md"
NOTES_MARK = "<!-- NOTES: hand-written below, kept by --write -->"
LIMIT, WINDOW = 25, 5.0


def _run_cli(url: str, approval_id: str, env: dict[str, str]) -> tuple[float, dict, int]:
    started = time.monotonic()
    command = ["-m", "include.closing", "export", "--url", url, "--approval", approval_id]
    done = subprocess.run(
        [sys.executable, *command, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=7200,
        check=False,
    )
    wall = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"export failed with exit status {done.returncode}")
    return wall, json.loads(done.stdout), done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vouchers", type=int, default=500)
    parser.add_argument("--no-attachments", action="store_true")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-export-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FORTNOX_TOKEN_KEY": Fernet.generate_key().decode(),
        "FORTNOX_PACER_DIR": str(root / "pacer"),
    }
    os.environ.update({k: env[k] for k in ("FORTNOX_TOKEN_KEY", "FORTNOX_PACER_DIR")})
    url = f"sqlite:///{root / 'warehouse.db'}"
    migrate(url)
    load_before = os.getloadavg()
    with connected_sandbox(
        token_store_url=url, companies=1, seed=2026, vouchers_per_year=300
    ) as local:
        env["AIRFLOW_CONN_FORTNOX_DEFAULT"] = json.dumps(local.airflow_connection())
        tenant = local.tenants[0]
        company_id = link_company(url, tenant)
        vouchers = closing_vouchers(args.vouchers, tag="bench", attachments=not args.no_attachments)
        approval = approve(url, company_id, date(2025, 1, 1), vouchers)
        local.admin("POST", "/admin/reset-stats")

        wall, report, status = _run_cli(url, approval.approval_id, env)
        stats = local.admin("GET", "/admin/stats")["tenants"][str(tenant["TenantId"])]
        rerun_wall, rerun, _ = _run_cli(url, approval.approval_id, env)
        rerun_stats = local.admin("GET", "/admin/stats")["tenants"][str(tenant["TenantId"])]
        keys = [v["idempotency_key"] for v in report["vouchers"]]
        held = sandbox_count(local.admin("GET", "/admin/records"), tenant["TenantId"], keys)
    load_after = os.getloadavg()

    requests = int(stats["requests"])
    allowed = wall * LIMIT / WINDOW
    paced = wall * DEFAULT_MAX_REQUESTS / DEFAULT_WINDOW_SECONDS
    per_endpoint = ", ".join(f"{k} {v}" for k, v in sorted(stats["by_endpoint"].items()))
    attachments = "none" if args.no_attachments else "one per voucher"
    lines = [
        "# Closing export: vouchers to one company at Fortnox's rate limit",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} at start, "
        f"{load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} at end.",
        "",
        "Command: `PYTHONPATH=. .venv/bin/python bench/bench_export.py "
        f"--vouchers {args.vouchers}{' --no-attachments' if args.no_attachments else ''} --write`",
        "",
        "| measure | value |",
        "|---|---|",
        f"| vouchers, attachments | {args.vouchers}, {attachments} |",
        f"| exit status, vouchers sent and verified | {status}, "
        f"{sum(v['ok'] for v in report['vouchers'])} of {len(report['vouchers'])} |",
        f"| wall time of `python -m include.closing export` | {wall:.1f} s "
        f"({args.vouchers / wall:.2f} vouchers/s) |",
        f"| API requests | {requests} ({requests / args.vouchers:.1f} per voucher; "
        f"{per_endpoint}) |",
        f"| request rate | {requests / wall:.2f} req/s |",
        f"| share of Fortnox's limit used (25 per 5 s) | {requests / allowed:.0%} |",
        f"| share of the client's own pace (20 per 5 s) | {requests / paced:.0%} |",
        f"| most requests in any 5 s window, 429 answers | {stats['max_in_window']}, "
        f"{stats['rate_limited']} |",
        f"| in the sandbox afterwards: vouchers, files, connections, duplicates | "
        f"{len(held.vouchers)}, {len(held.files)}, {len(held.connections)}, "
        f"{len(held.duplicates())} |",
        f"| rerun of the finished export: wall time, requests, sent | {rerun_wall:.1f} s, "
        f"{int(rerun_stats['requests']) - requests}, {rerun['sent_in_this_run']} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        notes = ""
        if RESULTS.exists() and NOTES_MARK in RESULTS.read_text():
            notes = RESULTS.read_text().split(NOTES_MARK, 1)[1]
        RESULTS.write_text(text + "\n" + NOTES_MARK + notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
