"""Parse throughput and peak memory: record path (read_sie) vs bulk path (read_columns).

    .venv/bin/python bench/bench_parse.py                 # print a markdown table
    .venv/bin/python bench/bench_parse.py --write         # also write bench/RESULTS-parse.md
    .venv/bin/python bench/bench_parse.py --sizes 100000 --runs 1

Files are generated once and cached under bench/out/ (git-ignored). Each
measurement runs in a fresh subprocess: wall time from the file on disk to the
result (records or Arrow tables), and the peak RSS growth over the process's
RSS after imports (ru_maxrss is the process peak, read after the parse).
Best of N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
NOTES_MARKER = "<!-- NOTES: hand-written below, kept by --write -->"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
path, which = sys.argv[1], sys.argv[2]
import include.sie4.bulk as bulk
import include.sie4.reader as reader
fell_back = False
if which == "bulk":
    original = bulk._record_path
    def counting(*args, **kwargs):
        global fell_back
        fell_back = True
        return original(*args, **kwargs)
    bulk._record_path = counting
def rss_kib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
jit_seconds = jit_kib = 0.0
if which == "bulk":
    # The compiled kernels load from numba's cache on first use: once per process.
    before_jit = rss_kib()
    start = time.perf_counter()
    bulk.warm_up()
    jit_seconds = time.perf_counter() - start
    jit_kib = rss_kib() - before_jit
before = rss_kib()
usage = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
if which == "bulk":
    result = bulk.read_columns(path)
    rows = result.rows.num_rows
else:
    doc = reader.read_sie(path)
    rows = sum(len(v.rows) for v in doc.vouchers)
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows,
                  "peak_delta_kib": after.ru_maxrss - before, "fell_back": fell_back,
                  "jit_seconds": jit_seconds, "jit_kib": jit_kib}))
"""


def ensure_file(rows: int) -> Path:
    from bench_parse_gen import write_file

    path = OUT / f"sie4-{rows}.se"
    if not path.exists():
        write_file(path, rows)
    return path


def measure(path: Path, which: str, runs: int) -> dict[str, float]:
    best: dict[str, float] | None = None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), which],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def cold_compile() -> float:
    """Seconds to compile the bulk path's kernels with an empty numba cache (once per install)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": cache}
        code = (
            "import time, include.sie4.bulk as bulk\n"
            "start = time.perf_counter()\nbulk.warm_up()\n"
            "print(time.perf_counter() - start)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
    return float(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import numba
    import numpy
    import pyarrow

    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pyarrow {pyarrow.__version__}, numba {numba.__version__}"
    )


def load() -> str:
    """The 1/5/15-minute load averages: how busy the shared machine was."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paths", default="record,bulk")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-parse.md")
    args = parser.parse_args()
    info = machine()
    load_before = load()
    busy_before = hasattr(os, "getloadavg") and os.getloadavg()[0] >= 1.0
    lines = [
        "| #TRANS rows | file MB | path | seconds (best) | CPU s | rows/s "
        "| peak RSS growth MB | x file size | fast path | JIT load (once per process) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        path = ensure_file(size)
        mb = path.stat().st_size / 1e6
        for which in args.paths.split(","):
            r = measure(path, which, args.runs)
            peak_mb = r["peak_delta_kib"] * 1024 / 1e6
            fast = "" if which == "record" else ("no (fell back)" if r["fell_back"] else "yes")
            jit = (
                ""
                if which == "record"
                else f"{r['jit_seconds']:.2f} s, {r['jit_kib'] * 1024 / 1e6:.0f} MB"
            )
            lines.append(
                f"| {int(r['rows']):,} | {mb:.1f} | {which} | {r['seconds']:.2f} | "
                f"{r['cpu']:.2f} | {r['rows'] / r['seconds']:,.0f} | {peak_mb:.0f} | "
                f"{peak_mb / mb:.1f} | {fast} | {jit} |"
            )
            print(lines[-1], flush=True)
    compile_seconds = cold_compile() if "bulk" in args.paths else None
    table = "\n".join(lines)
    print(table)
    if args.write:
        command = "cd /work/main && .venv/bin/python bench/bench_parse.py " + " ".join(sys.argv[1:])
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = (
            "## SIE 4 parse: record path vs bulk (columnar) path\n\n"
            f"- Machine: {info}\n"
            f"- Load average (1/5/15 min) at start {load_before}, at end {load()}\n"
            f"- Command: `{command}`\n"
            f"- Date: {when}\n"
            f"- Best of {args.runs} runs, each in a fresh subprocess; "
            "file from bench/bench_parse_gen.py\n"
            "  (CP437, CRLF, 1-4 legs per voucher, objects on 25% of rows, texts/dates/quantities\n"
            "  on ~22%, 1% RTRANS twins and BTRANS). Seconds: file on disk -> records or Arrow\n"
            "  tables (wall clock; CPU s is the process's user + system time for the same\n"
            "  run). Peak RSS growth: ru_maxrss after the parse minus VmRSS after imports\n"
            "  (bulk: and after warm_up).\n"
            + (
                "- The machine's cores were shared with other jobs while this ran (load average\n"
                "  at least 1): figures are noisy and pessimistic.\n"
                if busy_before
                else ""
            )
            + "- Bulk path: its kernels are compiled by numba (include/sie4/_bulk_scan.py) and\n"
            "  cached in __pycache__. Each child first calls bulk.warm_up() (loads them from the\n"
            "  cache: the JIT load column, once per process, not in seconds or RSS growth).\n"
            + (
                f"- Compiling them, empty cache (once per install): {compile_seconds:.1f} s.\n"
                if compile_seconds is not None
                else ""
            )
            + f"\n{table}\n"
        )
        target = BENCH / "RESULTS-parse.md"
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        notes = old[old.index(NOTES_MARKER) :] if NOTES_MARKER in old else NOTES_MARKER + "\n"
        target.write_text(text + "\n" + notes, encoding="utf-8")


if __name__ == "__main__":
    main()
