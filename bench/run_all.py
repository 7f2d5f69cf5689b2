"""Run the benchmarks the issues require and rebuild bench/RESULTS.md from their parts.

    PYTHONPATH=. .venv/bin/python bench/run_all.py [--only parse,load,extract] [--merge-only]

Each benchmark writes its own bench/RESULTS-<part>.md (machine, command, figures);
RESULTS.md is their concatenation under one index. Benchmarks are measurements, not tests:
nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RUNS = {
    "parse": [sys.executable, str(BENCH / "bench_parse.py"), "--write"],
    "load": [sys.executable, str(BENCH / "bench_load.py"), "--write-results"],
    "extract": [sys.executable, str(BENCH / "bench_extract.py"), "--write"],
    "inspect": [sys.executable, str(BENCH / "bench_inspect.py"), "--baseline", "--write"],
    "quality": [sys.executable, str(BENCH / "bench_quality.py"), "--write-results"],
    "export": [sys.executable, str(BENCH / "bench_export.py"), "--write"],
}
ORDER = [
    "parse",
    "inspect",
    "sie4-record",
    "books",
    "load",
    "extract",
    "quality",
    "fortnox-client",
    "fortnox-sandbox",
    "export",
]


def merge() -> Path:
    parts = sorted(
        BENCH.glob("RESULTS-*.md"),
        key=lambda p: (ORDER.index(p.stem[8:]) if p.stem[8:] in ORDER else len(ORDER), p.name),
    )
    lines = [
        "# Benchmark results",
        "",
        "Each section below was produced by the command it names, on the machine it names.",
        "Rebuild with `make bench` (runs parse, load, extract and quality) or merge the parts",
        "only with `python bench/run_all.py --merge-only`.",
        "",
        *[f"- [{p.stem[8:]}](#{p.stem[8:]})" for p in parts],
        "",
    ]
    for part in parts:
        lines += [f'<a id="{part.stem[8:]}"></a>', "", part.read_text().rstrip(), "", "---", ""]
    target = BENCH / "RESULTS.md"
    target.write_text("\n".join(lines))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(RUNS))
    parser.add_argument("--merge-only", action="store_true")
    args = parser.parse_args()
    if not args.merge_only:
        for name in args.only.split(","):
            print(f"== {name}", flush=True)
            subprocess.run(RUNS[name], check=True)
    print(f"wrote {merge()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
