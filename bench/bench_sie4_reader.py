"""Throughput of the SIE record path (read_sie / write_sie) on synthetic files.

    .venv/bin/python bench/bench_sie4_reader.py [--rows N] [--repeat R]

Two files of about N voucher rows each: "simple" (three rows per voucher, as
below) and "realistic" (bench_parse_gen: CRLF, 1-5 rows per voucher, object
lists, quantities, Swedish texts, some RTRANS/BTRANS). Prints #TRANS rows per
second for read_sie (strict) and write_sie (with #KSUMMA), by wall time and by
the process's own CPU time (less sensitive to other load on a shared machine),
best of R. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_parse_gen import generate_lines

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


def realistic(rows: int) -> bytes:
    return ("\r\n".join(generate_lines(rows, seed=1)) + "\r\n").encode("cp437")


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) over ``repeat`` runs."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - w)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    calibration = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000
    print(f"calibration: sum(range(1000)) = {calibration * 1e6:.1f} us")
    for name, data in (("simple", synthetic(args.rows // 3)), ("realistic", realistic(args.rows))):
        doc = read_sie(data)
        rows = sum(len(v.rows) for v in doc.vouchers)
        print(f"{name}: {len(data) / 1e6:.1f} MB, {len(doc.vouchers)} vouchers, {rows} rows")
        for label, run in (
            ("read_sie ", lambda data=data: read_sie(data)),
            ("write_sie", lambda doc=doc: write_sie(doc, ksumma=True)),
        ):
            wall, cpu = best_of(args.repeat, run)
            print(
                f"  {label}: {wall:.2f} s wall = {rows / wall:>9,.0f} rows/s; "
                f"{cpu:.2f} s CPU = {rows / cpu:>9,.0f} rows/s"
            )


if __name__ == "__main__":
    main()
