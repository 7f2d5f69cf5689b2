"""Benchmark: SIE file -> committed warehouse rows, the whole command, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_load.py                      # 1M rows, both shapes and databases
    .venv/bin/python bench/bench_load.py --runs 7 --write-results
    .venv/bin/python bench/bench_load.py --rows 200000 --db sqlite --shapes objects --runs 1

Two shapes of file, written once by the books generator's large-file path and
cached under bench/out/ (git-ignored): ``plain`` (objects on a few rows) and
``objects`` (a cost-centre object on every ``#TRANS``, as books kept with cost
centres are).

The figure that counts is the whole command a person runs,
``python -m include.warehouse load FILE``, timed from the process start to its
exit (interpreter, imports, numba's kernel cache, reading, writing, commit),
each run into a freshly migrated empty database (SQLite file / PostgreSQL
schema). Each run notes the 1-minute load average before it and the process's
CPU time, so a run on a busy machine shows as one.

``--stage-runs`` more runs (in a child process, not the CLI) split the time
into read, the write stages (from the loader's ``after_table`` hook) and a
reload of the same file (``force=True``: DELETE of the partition + write, one
transaction). Results go to bench/RESULTS-load.md with --write-results
(hand-written notes below the NOTES marker are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGETS = {"postgres": 300_000, "sqlite": 200_000}  # rows/s, whole command
SHAPES = {"plain": False, "objects": True}  # shape -> objects on every row
STAGES = ("read", "prepare", "voucher", "voucher_row", "commit", "write")
NOTES_MARKER = "<!-- NOTES: hand-written below, kept by --write-results -->"


def bench_file(rows: int, seed: int, shape: str, cache_dir: Path) -> Path:
    from include.books.large import write_large_sie

    suffix = "-objects" if SHAPES[shape] else ""
    path = cache_dir / f"load-{rows}-seed{seed}{suffix}.se"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # complete or absent: the generator renames at the end
        stats = write_large_sie(path, seed, rows, objects_on_every_row=SHAPES[shape])
        print(f"wrote {path} ({stats.rows} rows, {stats.bytes_written / 1e6:.0f} MB)")
    return path


def child(url: str, file: Path) -> None:
    """One staged load (and reload) in this fresh process; prints a JSON line."""
    import hashlib

    import pyarrow as pa

    from include.sie4.bulk import read_columns
    from include.warehouse.engine import create_warehouse_engine
    from include.warehouse.loader import load_columns

    pa.array([0])  # pyarrow's first call imports pandas: start-up, not load time
    engine = create_warehouse_engine(url)
    with engine.connect() as conn:  # open the pool outside the clock
        conn.exec_driver_sql("SELECT 1")
    t0 = time.perf_counter()
    data = file.read_bytes()
    columns = read_columns(data)
    out: dict[str, float] = {"read_s": time.perf_counter() - t0}
    sha256 = hashlib.sha256(data).hexdigest()
    for label in ("first", "reload"):
        marks: dict[str, float] = {}
        start = time.perf_counter()
        result = load_columns(
            columns,
            engine,
            sha256=sha256,
            size_bytes=len(data),
            file_name=file.name,
            force=label == "reload",
            after_table=lambda name, marks=marks: marks.setdefault(name, time.perf_counter()),
        )
        end = time.perf_counter()
        # Header tables end with object_balance; before them: company, lock, DELETE.
        out[f"{label}_prepare_s"] = marks["object_balance"] - start
        out[f"{label}_voucher_s"] = marks["voucher"] - marks["object_balance"]
        out[f"{label}_voucher_row_s"] = marks["voucher_row"] - marks["voucher"]
        out[f"{label}_commit_s"] = end - marks["voucher_row"]
        out[f"{label}_write_s"] = end - start
    engine.dispose()
    print(json.dumps({"rows": result.counts["voucher_row"], **out}))


def _run_child(url: str, file: Path) -> dict[str, float]:
    done = subprocess.run(  # the URL goes by environment: it may hold a password (ps)
        [sys.executable, __file__, "--child", "--file", str(file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_LOAD_URL": url},
    )
    if done.returncode != 0:
        raise SystemExit(f"staged run failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_cli(url: str, file: Path) -> dict[str, float]:
    """``python -m include.warehouse load FILE``: wall and CPU seconds, load average before."""
    load_before = os.getloadavg()[0]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "include.warehouse", "load", str(file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "WAREHOUSE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"CLI load failed:\n{done.stderr[-3000:]}")
    rows = next(
        int(line.split()[-1])
        for line in done.stdout.splitlines()
        if line.split()[:1] == ["voucher_row"]
    )
    cpu = (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "load": load_before, "rows": rows}


@contextlib.contextmanager
def fresh_database(db: str, pg_url: str) -> Iterator[str]:
    """URL of a freshly migrated, empty warehouse: a SQLite file or a PostgreSQL schema."""
    from include.warehouse.engine import temporary_schema
    from include.warehouse.migrate import migrate

    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
            url = f"sqlite:///{tmp}/warehouse.db"
            migrate(url)
            yield url
        return
    with temporary_schema(pg_url, prefix="bench") as url:
        migrate(url)
        yield url


def machine() -> dict[str, str]:
    import sqlite3

    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "cpu": f"{cpu} ({os.cpu_count()} cores visible)",
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def pg_version(pg_url: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def write_results(lines: list[str]) -> None:
    path = REPO_ROOT / "bench" / "RESULTS-load.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    notes = old[old.index(NOTES_MARKER) :] if NOTES_MARKER in old else NOTES_MARKER + "\n"
    path.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")


def _summary_row(db: str, shape: str, file: Path, runs: list[dict[str, float]]) -> str:
    rows = int(runs[0]["rows"])
    walls = sorted(r["wall_s"] for r in runs)
    best, median = walls[0], statistics.median(walls)
    cpu = min(r["cpu_s"] for r in runs)
    loads = sorted(r["load"] for r in runs)
    verdict = "meets" if rows / median >= TARGETS[db] else "misses"
    return (
        f"| {db} | {shape} ({file.stat().st_size / 1e6:.0f} MB) | {rows:,} | {best:.2f} | "
        f"{median:.2f} | {rows / best:,.0f} | {rows / median:,.0f} | {cpu:.2f} | "
        f"{loads[0]:.1f}-{loads[-1]:.1f} | {TARGETS[db]:,} ({verdict}) |"
    )


def _stage_rows(db: str, shape: str, staged: list[dict[str, float]]) -> list[str]:
    best = min(staged, key=lambda r: r["read_s"] + r["first_write_s"])
    lines = []
    for label in ("first", "reload"):
        read = f"{best['read_s']:.2f}" if label == "first" else ""
        cells = [read] + [f"{best[f'{label}_{k}_s']:.2f}" for k in STAGES[1:]]
        lines.append(f"| {db} | {shape} | {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5, help="CLI runs per database and shape")
    parser.add_argument("--stage-runs", type=int, default=1, help="staged runs (0: none)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="plain,objects")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=REPO_ROOT / "bench" / "out",
        help="where the generated files are kept between runs",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("WAREHOUSE_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--write-results", action="store_true", help="write bench/RESULTS-load.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(os.environ["BENCH_LOAD_URL"], args.file)
        return

    shapes = [s for s in args.shapes.split(",") if s]
    files = {shape: bench_file(args.rows, args.seed, shape, args.cache_dir) for shape in shapes}
    start_time = time.time()
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    summary: list[str] = []
    stages: list[str] = []
    for db in dbs:
        for shape, file in files.items():
            runs = []
            for i in range(args.runs):
                with fresh_database(db, args.pg_url) as url:
                    r = run_cli(url, file)
                runs.append(r)
                print(
                    f"{db} {shape} CLI run {i + 1}: {r['rows']:,.0f} rows in {r['wall_s']:.2f} s "
                    f"({r['rows'] / r['wall_s']:,.0f} rows/s), cpu {r['cpu_s']:.2f} s, "
                    f"load avg before {r['load']:.1f}",
                    flush=True,
                )
            summary.append(_summary_row(db, shape, file, runs))
            staged = []
            for _ in range(args.stage_runs):
                with fresh_database(db, args.pg_url) as url:
                    staged.append(_run_child(url, file))
                s = staged[-1]
                print(
                    f"{db} {shape} staged: read {s['read_s']:.2f} s, "
                    f"write {s['first_write_s']:.2f} s (voucher {s['first_voucher_s']:.2f}, "
                    f"voucher_row {s['first_voucher_row_s']:.2f}), "
                    f"reload write {s['reload_write_s']:.2f} s",
                    flush=True,
                )
            if staged:
                stages += _stage_rows(db, shape, staged)
    print("\n".join(summary))
    print("\n".join(stages))
    if args.write_results:
        info = machine()
        info["load average (1/5/15 min) before / after"] = (
            f"{load_before} | {' / '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        if "postgres" in dbs:
            info["postgresql"] = pg_version(args.pg_url)
        from sqlalchemy import make_url

        shown = [  # the recorded command never carries a password
            make_url(a).render_as_string(hide_password=True) if "://" in a else a
            for a in sys.argv[1:]
        ]
        command = " ".join(["python", "bench/bench_load.py", *shown])
        started = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(start_time))
        lines = [
            "## Warehouse load (bench/bench_load.py)",
            "",
            f"Command: `.venv/bin/{command}`",
            "",
            f"Run: {started}",
            "",
            f"Files: books generator `write_large_sie(seed={args.seed})`, {args.rows:,} rows "
            "asked; `plain` has objects on a few rows, `objects` a cost-centre object on every "
            "`#TRANS`.",
            "",
            *(f"- {k}: {v}" for k, v in info.items()),
            "",
            f"The whole command, `python -m include.warehouse load FILE`, {args.runs} runs per "
            "database and file, each a fresh process into a freshly migrated empty database, "
            "wall time from process start to exit (start-up, imports, reading, writing, "
            "commit). Rates are voucher rows per second; the verdict is on the median run. "
            "`cpu s` is the fastest run's CPU time (user + system) of the CLI process; "
            "PostgreSQL's own CPU is not in it. `load` is the 1-minute load average before "
            "the runs: above about 1 the machine was busy and the figures are pessimistic.",
            "",
            "| database | file | voucher rows | best s | median s | rows/s best | "
            "rows/s median | cpu s | load | target rows/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *summary,
            "",
        ]
        if stages:
            lines += [
                f"Where the time goes: the best of {args.stage_runs} staged run(s) in a child "
                "process, seconds (imports and start-up excluded; read = reading the bytes and "
                "parsing them into Arrow tables, numba's kernel load included; prepare = "
                "company row, lock, DELETE of the old partition, header tables; reload = the "
                "same file again with force=True):",
                "",
                "| database | file | load | read | prepare | voucher | voucher_row | commit "
                "| write |",
                "|---|---|---|---|---|---|---|---|---|",
                *stages,
                "",
            ]
        write_results(lines)


if __name__ == "__main__":
    main()
