"""Sandbox throughput: requests per second for the calls the pipeline makes.

    .venv/bin/python bench/bench_fortnox_sandbox.py [--vouchers-per-year 3000] [--rounds 200]

The rate limit is lifted here (it would cap everything at 5 requests per second);
figures are wall-clock medians on this machine, client and server in one process.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.fortnox_sandbox import SandboxConfig, SandboxServer


def measure(name: str, rounds: int, call: Callable[[], httpx.Response]) -> None:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = call()
        times.append(time.perf_counter() - started)
        assert answer.status_code in (200, 201), answer.text[:200]
    median = statistics.median(times)
    print(f"| {name} | {rounds} | {median * 1000:.2f} ms | {1 / median:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vouchers-per-year", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(16)
    started = time.perf_counter()
    config = SandboxConfig(
        client_secret=secret,
        companies=1,
        vouchers_per_year=args.vouchers_per_year,
        rate_limit=1_000_000,
    )
    with SandboxServer(config) as server, httpx.Client(base_url=server.base_url) as http:
        print(
            f"startup with {args.vouchers_per_year} vouchers/year: "
            f"{time.perf_counter() - started:.2f} s"
        )
        tenant = next(iter(server.sandbox.apis))
        auth = (config.client_id, secret)

        def token() -> httpx.Response:
            return http.post(
                "/oauth-v1/token",
                data={"grant_type": "client_credentials"},
                auth=auth,
                headers={"TenantId": str(tenant)},
            )

        bearer = {"Authorization": f"Bearer {token().json()['access_token']}"}
        print("| call | rounds | median | per second |")
        print("|---|---|---|---|")
        measure("POST /oauth-v1/token (client_credentials)", args.rounds, token)
        measure(
            "GET /3/companyinformation",
            args.rounds,
            lambda: http.get("/3/companyinformation", headers=bearer),
        )
        measure(
            "GET /3/vouchers?limit=500",
            args.rounds,
            lambda: http.get("/3/vouchers", params={"limit": 500}, headers=bearer),
        )
        measure(
            "GET /3/invoices?limit=500",
            args.rounds,
            lambda: http.get("/3/invoices", params={"limit": 500}, headers=bearer),
        )
        body = {
            "Voucher": {
                "VoucherSeries": "A",
                "TransactionDate": "2025-12-31",
                "Description": "bench",
                "VoucherRows": [{"Account": 6110, "Debit": 1}, {"Account": 1930, "Credit": 1}],
            }
        }
        started = time.perf_counter()
        first = http.get("/3/sie/4", headers=bearer)
        print(
            f"| GET /3/sie/4 cold ({len(first.content)} bytes) | 1 | "
            f"{(time.perf_counter() - started) * 1000:.2f} ms | - |"
        )
        measure("GET /3/sie/4 (cached)", 20, lambda: http.get("/3/sie/4", headers=bearer))
        measure(
            "POST /3/vouchers",
            args.rounds,
            lambda: http.post("/3/vouchers", json=body, headers=bearer),
        )
        measure(
            "GET /3/sie/4 after each POST (rebuilt)",
            5,
            lambda: (
                http.post("/3/vouchers", json=body, headers=bearer),
                http.get("/3/sie/4", headers=bearer),
            )[1],
        )


if __name__ == "__main__":
    main()
