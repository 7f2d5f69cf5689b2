"""Overheads of the Fortnox client core (not a test; see bench/RESULTS-fortnox-client.md).

Measures what the client adds per request, without a network: pacer slots (memory and
flock file), token-store reads (fresh token from SQLite, cached provider), and paging with
Decimal parsing through httpx.MockTransport.

    .venv/bin/python bench/bench_fortnox_client.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.fortnox.client import FortnoxClient
from include.fortnox.models import TokenSet
from include.fortnox.pacing import FilePacer, MemoryPacer
from include.fortnox.token_schema import create_token_tables
from include.fortnox.tokens import TokenCipher, TokenStore


def per_call(fn: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Median over repeats of the mean seconds per call."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - start) / calls)
    return statistics.median(runs)


def page_body(page: int, pages: int, per_page: int) -> bytes:
    items = [
        {
            "DocumentNumber": str(page * per_page + i),
            "CustomerNumber": "1001",
            "InvoiceDate": "2024-05-31",
            "Total": f"{1000 + i}.50",
            "Balance": f"{i}.25",
            "Booked": True,
        }
        for i in range(per_page)
    ]
    text = json.dumps(
        {
            "MetaInformation": {
                "@TotalResources": pages * per_page,
                "@TotalPages": pages,
                "@CurrentPage": page,
            },
            "Invoices": items,
        }
    )
    # Amounts as JSON numbers, as Fortnox sends them.
    return text.replace('"Total": "', '"Total": ').replace('.50"', ".50").encode()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows: list[tuple[str, float, str]] = []
        memory = MemoryPacer(10**9, 5.0)
        rows.append(
            ("MemoryPacer.acquire (no wait)", per_call(lambda: memory.acquire("k"), 20000), "")
        )
        # A tiny window keeps the log short; the cost is the lock and the file rewrite.
        file_pacer = FilePacer(Path(tmp) / "pacer", 10**9, 0.01)
        rows.append(
            (
                "FilePacer.acquire (flock + rewrite)",
                per_call(lambda: file_pacer.acquire("k"), 2000),
                "",
            )
        )

        store = TokenStore(f"sqlite:///{tmp}/tokens.db", TokenCipher([TokenCipher.generate_key()]))
        create_token_tables(store.engine)
        store.save_connection(
            "1", TokenSet("a" * 900, "r" * 40, datetime.now(UTC) + timedelta(hours=1))
        )
        rows.append(
            (
                "TokenStore.get_access_token (fresh, SQLite)",
                per_call(lambda: store.get_access_token("1"), 500),
                "",
            )
        )
        provider = store.provider("1")
        rows.append(("cached provider()", per_call(provider, 20000), ""))

        pages, per_page = 10, 500
        bodies = {p: page_body(p, pages, per_page) for p in range(1, pages + 1)}

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=bodies[int(request.url.params["page"])])

        client = FortnoxClient(
            "https://api.fortnox.test/3", lambda: "t", transport=httpx.MockTransport(handler)
        )
        seconds = per_call(lambda: client.invoices().items, 1, repeats=5)
        size = sum(len(b) for b in bodies.values())
        rows.append(
            (
                f"invoices(): {pages} pages x {per_page} items ({size // 1024} KiB)",
                seconds,
                f"{pages * per_page / seconds:,.0f} items/s",
            )
        )

    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load:.2f}")
    print("| what | per call | note |")
    print("|---|---|---|")
    for name, secs, note in rows:
        shown = f"{secs * 1e6:,.1f} µs" if secs < 1e-3 else f"{secs * 1e3:,.2f} ms"
        print(f"| {name} | {shown} | {note} |")


if __name__ == "__main__":
    main()
