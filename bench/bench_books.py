"""Benchmark of the books generator: object path and streaming SIE writer.

    .venv/bin/python bench/bench_books.py [--rows 1000000]

Prints one line per case: wall time, vouchers, rows, peak RSS of the process so far.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from include.books import generate_books, write_large_sie
from include.books.large import vouchers_for_rows


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()

    for knob in (300, 3_000, 30_000):
        started, cpu = time.perf_counter(), time.process_time()
        books = generate_books(1, years=2, vouchers_per_year=knob)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        vouchers = sum(len(y.vouchers) for y in books.years)
        rows = sum(len(v.rows) for y in books.years for v in y.vouchers)
        print(
            f"generate_books knob={knob} years=2: {took:.2f} s wall, {cpu:.2f} s CPU, "
            f"{vouchers} vouchers, {rows} rows"
        )

    with tempfile.TemporaryDirectory() as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        stats = write_large_sie(Path(tmp) / "large.se", 1, args.rows)
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"write_large_sie rows={args.rows}: {took:.2f} s wall, {cpu:.2f} s CPU, "
            f"{stats.vouchers} vouchers, {stats.rows} rows, "
            f"{stats.bytes_written / 1e6:.1f} MB, peak RSS {_peak_mb():.0f} MB"
        )

    started, cpu = time.perf_counter(), time.process_time()
    books = generate_books(1, years=1, vouchers_per_year=vouchers_for_rows(args.rows))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = sum(len(v.rows) for v in books.years[0].vouchers)
    print(
        f"generate_books (objects) ~{args.rows} rows: {took:.2f} s wall, {cpu:.2f} s CPU, "
        f"{len(books.years[0].vouchers)} vouchers, {rows} rows, peak RSS {_peak_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
