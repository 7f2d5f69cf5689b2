"""Throughput of the SIE record path (read_sie / write_sie) on a synthetic file.

    .venv/bin/python bench/bench_sie4_reader.py [--vouchers N]

Prints #TRANS rows per second for read_sie (strict) and write_sie. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.sie4.reader import read_sie
from include.sie4.writer import write_sie


def synthetic(vouchers: int) -> bytes:
    lines = [
        "#FLAGGA 0",
        '#PROGRAM "Bench" 1.0',
        "#FORMAT PC8",
        "#GEN 20250101",
        "#SIETYP 4",
        '#FNAMN "Bench AB"',
        "#RAR 0 20240101 20241231",
        '#KONTO 1930 "Bank"',
        '#KONTO 3010 "Försäljning"',
        '#KONTO 2611 "Utgående moms"',
        "#IB 0 1930 1000.00",
    ]
    for n in range(1, vouchers + 1):
        day = 1 + n % 28
        lines.append(f'#VER A {n} 202401{day:02d} "Faktura {n}" 202401{day:02d}')
        lines.append("{")
        lines.append(f'   #TRANS 1930 {{}} 1250.00 202401{day:02d} "Kund {n}"')
        lines.append('   #TRANS 3010 {"1" "100"} -1000.00')
        lines.append("   #TRANS 2611 {} -250.00")
        lines.append("}")
    return ("\n".join(lines) + "\n").encode("cp437")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vouchers", type=int, default=70_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = synthetic(args.vouchers)
    rows = 3 * args.vouchers
    print(f"file: {len(data) / 1e6:.1f} MB, {args.vouchers} vouchers, {rows} #TRANS rows")
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        doc = read_sie(data)
        best = min(best, time.perf_counter() - start)
    print(f"read_sie:  {best:.2f} s  = {rows / best:,.0f} rows/s (best of {args.repeat})")
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        write_sie(doc, ksumma=True)
        best = min(best, time.perf_counter() - start)
    print(f"write_sie: {best:.2f} s  = {rows / best:,.0f} rows/s (best of {args.repeat})")


if __name__ == "__main__":
    main()
