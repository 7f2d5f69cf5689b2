"""Fortnox extraction against the local sandbox: wall time of a 20-company extraction and the
request rate achieved per tenant under the client's pacing (25 requests / 5 s at Fortnox).

    PYTHONPATH=. .venv/bin/python bench/bench_extract.py [--companies 20] [--workers 6] [--write]

Everything runs on loopback: a SandboxServer in this process, workers as forked processes
sharing the file pacer and the token store (as Airflow's task processes do).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.fortnox.config import FortnoxSettings  # noqa: E402
from include.fortnox.session import FortnoxSession  # noqa: E402
from include.fortnox_sandbox.local import connected_sandbox  # noqa: E402
from include.ingest import extract as steps  # noqa: E402

TODAY = date(2026, 3, 1)


def _plain_signals() -> None:
    """Default signal handling in a forked worker, whatever the parent had installed."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)


def _extract(args: tuple[FortnoxSettings, str, Path, str]) -> float:
    settings, tenant, data_root, run_id = args
    session = FortnoxSession(settings)
    started = time.monotonic()
    try:
        with session.client(tenant) as client:
            stage = steps.staging_dir(data_root, run_id, tenant)
            selection = steps.resolve_fiscal_year(client, stage, None, TODAY)
            steps.fetch_sie(client, stage, selection)
            steps.fetch_subledgers(client, stage, selection)
            steps.publish(stage, data_root, tenant, run_id)
    finally:
        session.close()
    return time.monotonic() - started


def _hammer(args: tuple[FortnoxSettings, str, int]) -> int:
    settings, tenant, calls = args
    session = FortnoxSession(settings)
    try:
        with session.client(tenant) as client:
            for _ in range(calls):
                client.company_information()
    finally:
        session.close()
    return calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--vouchers-per-year", type=int, default=300)
    parser.add_argument("--single-tenant-calls", type=int, default=60)
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-extract.md")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    os.environ.update(
        {
            "FORTNOX_TOKEN_KEY": Fernet.generate_key().decode(),
            "FORTNOX_PACER_DIR": str(root / "pacer"),
        }
    )
    with connected_sandbox(
        token_store_url=f"sqlite:///{root / 'app.db'}",
        companies=args.companies,
        seed=2026,
        vouchers_per_year=args.vouchers_per_year,
        today=TODAY,
    ) as local:
        base, settings, tenants = local.base_url, local.settings, local.tenant_ids
        pool = multiprocessing.get_context("fork").Pool(args.workers, initializer=_plain_signals)
        httpx.post(f"{base}/admin/reset-stats")
        started = time.monotonic()
        per_company = pool.map(_extract, [(settings, t, root / "data", "bench") for t in tenants])
        wall = time.monotonic() - started
        stats = httpx.get(f"{base}/admin/stats").json()["tenants"]
        requests = sum(s["requests"] for s in stats.values())
        limited = sum(s["rate_limited"] for s in stats.values())
        max_window = max(s["max_in_window"] for s in stats.values())

        # One tenant asked for more than its budget by 4 processes at once: the pacer's rate.
        httpx.post(f"{base}/admin/reset-stats")
        share = args.single_tenant_calls // 4
        started = time.monotonic()
        pool.map(_hammer, [(settings, tenants[0], share)] * 4)
        single = time.monotonic() - started
        single_stats = httpx.get(f"{base}/admin/stats").json()["tenants"][tenants[0]]
        pool.close()
        pool.join()

    load = os.getloadavg()
    lines = [
        "# Fortnox extraction against the local sandbox",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}.",
        "",
        "Command: `PYTHONPATH=. .venv/bin/python bench/bench_extract.py "
        f"--companies {args.companies} --workers {args.workers} --write`",
        "",
        "| measure | value |",
        "|---|---|",
        f"| companies, worker processes | {args.companies}, {args.workers} |",
        f"| wall time of the whole extraction | {wall:.1f} s |",
        f"| per company (min / median / max) | {min(per_company):.2f} / "
        f"{sorted(per_company)[len(per_company) // 2]:.2f} / {max(per_company):.2f} s |",
        f"| API requests in total | {requests} ({requests / wall:.1f} req/s over all tenants) |",
        f"| 429 answers | {limited} |",
        f"| most requests of one tenant in any 5 s window | {max_window} (limit 25) |",
        f"| one tenant, {4 * share} calls from 4 processes | {single:.1f} s = "
        f"{4 * share / single:.2f} req/s; 429s {single_stats['rate_limited']}, "
        f"max in 5 s {single_stats['max_in_window']} |",
        "",
        "The client paces itself at 20 requests per 5 s per tenant (4 req/s), a margin under",
        "Fortnox's 25 for network jitter; companies run in parallel, so the total rate grows",
        "with the number of companies while each tenant stays under its own limit.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "bench" / "RESULTS-extract.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
