"""Benchmark: ``python -m include.sie4 inspect --json`` on 1M-row files, the whole process.

    .venv/bin/python bench/bench_inspect.py                  # both shapes, 1M rows, 5 runs each
    .venv/bin/python bench/bench_inspect.py --runs 9 --write # and write bench/RESULTS-inspect.md

Two shapes of file from the books generator's large-file path (cached under
bench/out/, git-ignored): rows without objects, and a cost-centre object on
every ``#TRANS``. Each run is ``/usr/bin/time -v`` around a fresh interpreter
running the command a person types, so start-up (interpreter, imports), the
read and the JSON output are all in the figures: wall clock and max RSS, best
and median of the runs. Target (issue 8): >= 1,000,000 rows/s and peak memory
<= 3x the file size. ``--baseline`` adds one run of the record path (the old
``inspect``: ``parse`` + ``inspect_summary``) for comparison. With --write,
results go to bench/RESULTS-inspect.md (hand-written notes below the NOTES
marker are kept) and bench/RESULTS.md is merged again from its parts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

TIME = "/usr/bin/time"
NOTES_MARKER = "<!-- NOTES: hand-written below, kept by --write -->"
RECORD_PATH = (
    "import json, sys; from include.sie4.cli import inspect_summary; "
    "from include.sie4.reader import parse; "
    "json.dump(inspect_summary(parse(sys.argv[1])), sys.stdout, ensure_ascii=False, indent=2)"
)


def bench_file(rows: int, seed: int, objects: bool, cache_dir: Path) -> Path:
    from include.books.large import write_large_sie

    suffix = "-objects" if objects else ""
    path = cache_dir / f"load-{rows}-seed{seed}{suffix}.se"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        stats = write_large_sie(path, seed, rows, objects_on_every_row=objects)
        print(f"wrote {path} ({stats.rows} rows, {stats.bytes_written / 1e6:.0f} MB)")
    return path


def timed(command: list[str]) -> dict[str, float]:
    """One run under /usr/bin/time -v: wall s, user + system s, max RSS in MB."""
    done = subprocess.run(
        [TIME, "-v", *command],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    json.loads(done.stdout)  # the JSON object came out whole
    fields: dict[str, str] = {}
    for line in done.stderr.splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    h, m, s = (["0", "0", *fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")])[-3:]
    return {
        "wall": int(h) * 3600 + int(m) * 60 + float(s),
        "cpu": float(fields["User time (seconds)"]) + float(fields["System time (seconds)"]),
        "rss_mb": int(fields["Maximum resident set size (kbytes)"]) / 1024,
    }


def load_average() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine() -> str:
    import numpy

    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5, help="runs per file (best and median)")
    parser.add_argument("--baseline", action="store_true", help="one record-path run per file")
    parser.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "bench" / "out")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-inspect.md")
    args = parser.parse_args()

    from include.sie4 import summary

    files = [
        ("no objects", bench_file(args.rows, args.seed, False, args.cache_dir)),
        ("object on every row", bench_file(args.rows, args.seed, True, args.cache_dir)),
    ]
    load_start = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows_out = []
    for shape, path in files:
        fast = summary.summarise(path, lenient=False)
        if fast is None:
            raise SystemExit(f"{path}: inspect fell back to the record path")
        rows = fast[0]["transactions"] + fast[0]["added_rows"] + fast[0]["removed_rows"]
        size_mb = path.stat().st_size / 1e6
        command = [sys.executable, "-m", "include.sie4", "inspect", "--json", str(path)]
        timed(command)  # warm the page cache and the .pyc files
        runs = [timed(command) for _ in range(args.runs)]
        walls = [r["wall"] for r in runs]
        rss = [r["rss_mb"] for r in runs]
        result = {
            "shape": shape,
            "path": path,
            "rows": rows,
            "size_mb": size_mb,
            "wall_best": min(walls),
            "wall_median": statistics.median(walls),
            "cpu_median": statistics.median(r["cpu"] for r in runs),
            "rss_best": min(rss),
            "rss_median": statistics.median(rss),
        }
        if args.baseline:
            base = timed([sys.executable, "-c", RECORD_PATH, str(path)])
            result["baseline_wall"] = base["wall"]
            result["baseline_rss"] = base["rss_mb"]
        rows_out.append(result)
        print(
            f"{shape}: {rows:,} rows, {size_mb:.1f} MB: wall best {result['wall_best']:.2f} s "
            f"({rows / result['wall_best']:,.0f} rows/s), median {result['wall_median']:.2f} s; "
            f"max RSS best {result['rss_best']:.0f} MB ({result['rss_best'] / size_mb:.2f}x), "
            f"median {result['rss_median']:.0f} MB"
        )
    load_end = load_average()

    lines = [
        "## `inspect`: the whole process on 1M-row files",
        "",
        f"- Machine: {machine()}",
        f"- Load average (1/5/15 min) at start {load_start}, at end {load_end}",
        f"- Command: `cd {REPO_ROOT} && .venv/bin/python bench/bench_inspect.py "
        f"--runs {args.runs}{' --baseline' if args.baseline else ''} --write`",
        "- Each run: `/usr/bin/time -v .venv/bin/python -m include.sie4 inspect --json FILE` "
        "(interpreter start, imports, read, JSON out), after one warm-up run.",
        f"- Date: {started}. Files from `include.books.large.write_large_sie(seed={args.seed})`.",
        "",
        "| file | #TRANS rows | file MB | wall best s | rows/s (best) | wall median s "
        "| CPU median s | max RSS best MB | x file size | max RSS median MB |"
        + (" record path wall s | record path RSS MB |" if args.baseline else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|---:|" if args.baseline else ""),
    ]
    for r in rows_out:
        line = (
            f"| {r['shape']} (`{Path(r['path']).name}`) | {r['rows']:,} | {r['size_mb']:.1f} "
            f"| {r['wall_best']:.2f} | {r['rows'] / r['wall_best']:,.0f} | {r['wall_median']:.2f} "
            f"| {r['cpu_median']:.2f} | {r['rss_best']:.0f} | {r['rss_best'] / r['size_mb']:.2f} "
            f"| {r['rss_median']:.0f} |"
        )
        if args.baseline:
            line += f" {r['baseline_wall']:.1f} | {r['baseline_rss']:.0f} |"
        lines.append(line)
    lines.append("")
    print("\n".join(lines))
    if args.write:
        path = REPO_ROOT / "bench" / "RESULTS-inspect.md"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        notes = old[old.index(NOTES_MARKER) :] if NOTES_MARKER in old else NOTES_MARKER + "\n"
        path.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "bench" / "run_all.py"), "--merge-only"], check=True
        )
        print(f"wrote {path} and bench/RESULTS.md")


if __name__ == "__main__":
    main()
