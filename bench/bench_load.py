"""Benchmark: SIE file -> committed warehouse rows, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_load.py                      # 1M rows, both databases, best of 3
    .venv/bin/python bench/bench_load.py --rows 200000 --db sqlite --runs 1

The file is written once by the books generator's large-file path and cached
under bench/out/ (git-ignored). Every run is a fresh process loading into a
freshly migrated, empty database (SQLite file / PostgreSQL schema); the clock
runs from reading the file's bytes to the commit. The same process then
reloads the file (``force=True``: DELETE of the partition + write, one
transaction) and times that too. Stages come from the loader's
``after_table`` hook. Results go to bench/RESULTS-load.md with
--write-results (hand-written notes below the NOTES marker are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
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
TARGETS = {"postgres": 300_000, "sqlite": 200_000}  # rows/s
STAGES = ("prepare", "voucher", "voucher_row", "voucher_row_object", "commit")
NOTES_MARKER = "<!-- NOTES: hand-written below, kept by --write-results -->"


def bench_file(rows: int, seed: int, cache_dir: Path) -> Path:
    from include.books.large import write_large_sie

    path = cache_dir / f"load-{rows}-seed{seed}.se"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        stats = write_large_sie(path, seed, rows)  # complete or absent (it renames at the end)
        print(f"wrote {path} ({stats.rows} rows, {stats.bytes_written / 1e6:.0f} MB)")
    return path


def child(db: str, url: str, file: Path) -> None:
    """One timed load in this (fresh) process; prints a JSON line."""
    import hashlib

    import pyarrow as pa

    from include.sie4.bulk import read_columns
    from include.warehouse.engine import create_warehouse_engine
    from include.warehouse.loader import load_columns

    pa.array([0])  # pyarrow imports pandas on first use: process start-up, not load time
    engine = create_warehouse_engine(url)
    with engine.connect() as conn:  # open the pool outside the clock
        conn.exec_driver_sql("SELECT 1")
    t0 = time.perf_counter()
    data = file.read_bytes()
    columns = read_columns(data)
    t1 = time.perf_counter()
    sha256 = hashlib.sha256(data).hexdigest()
    out: dict[str, float] = {"read_s": t1 - t0}
    for label in ("first", "reload"):
        marks: list[tuple[str, float]] = []

        def mark(name: str, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((name, time.perf_counter()))

        start = time.perf_counter()
        result = load_columns(
            columns,
            engine,
            sha256=sha256,
            size_bytes=len(data),
            file_name=file.name,
            force=label == "reload",
            after_table=mark,
        )
        end = time.perf_counter()
        out[f"{label}_write_s"] = end - start
        stage = dict(marks)
        # Header tables end with object_balance; before them: company, lock, DELETE.
        out[f"{label}_prepare_s"] = stage["object_balance"] - start
        out[f"{label}_voucher_s"] = stage["voucher"] - stage["object_balance"]
        out[f"{label}_voucher_row_s"] = stage["voucher_row"] - stage["voucher"]
        out[f"{label}_voucher_row_object_s"] = stage["voucher_row_object"] - stage["voucher_row"]
        out[f"{label}_commit_s"] = end - stage["voucher_row_object"]
    engine.dispose()
    out["write_s"] = out["first_write_s"]
    out["total_s"] = out["read_s"] + out["write_s"]
    print(json.dumps({"db": db, "rows": result.counts["voucher_row"], **out}))


def _run_child(db: str, url: str, file: Path) -> dict[str, float]:
    done = subprocess.run(  # the URL goes by environment: it may hold a password (ps)
        [sys.executable, __file__, "--child", db, "--file", str(file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_LOAD_URL": url},
    )
    if done.returncode != 0:
        raise SystemExit(f"{db} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_cli(url: str, file: Path) -> float:
    """Wall time of ``python -m include.warehouse load FILE``: interpreter start and imports too."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "include.warehouse", "load", str(file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "WAREHOUSE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"CLI load failed:\n{done.stderr[-3000:]}")
    return elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="best of N")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=REPO_ROOT / "bench" / "out",
        help="where the generated file is kept between runs",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("WAREHOUSE_TEST_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--write-results", action="store_true", help="write bench/RESULTS-load.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, os.environ["BENCH_LOAD_URL"], args.file)
        return

    file = bench_file(args.rows, args.seed, args.cache_dir)
    start_time = time.time()
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    summary: list[str] = []
    stages: list[str] = []
    for db in dbs:
        runs = []
        for i in range(args.runs):
            with fresh_database(db, args.pg_url) as url:
                r = _run_child(db, url, file)
            runs.append(r)
            print(
                f"{db} run {i + 1}: {r['rows']} rows in {r['total_s']:.2f} s "
                f"(read {r['read_s']:.2f} s, write {r['write_s']:.2f} s) "
                f"= {r['rows'] / r['total_s']:,.0f} rows/s; reload write "
                f"{r['reload_write_s']:.2f} s; load avg {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        with fresh_database(db, args.pg_url) as url:
            cli_s = _run_cli(url, file)
        print(f"{db} CLI: {cli_s:.2f} s wall including interpreter start-up", flush=True)
        best = min(runs, key=lambda r: r["total_s"])
        rate = best["rows"] / best["total_s"]
        median = statistics.median(r["rows"] / r["total_s"] for r in runs)
        write_rate = best["rows"] / best["write_s"]
        verdict = "meets" if rate >= TARGETS[db] else "misses"
        summary.append(
            f"| {db} | {int(best['rows']):,} | {best['read_s']:.2f} | {best['write_s']:.2f} | "
            f"{best['total_s']:.2f} | {rate:,.0f} | {median:,.0f} | {write_rate:,.0f} | "
            f"{cli_s:.2f} | {TARGETS[db]:,} ({verdict}) |"
        )
        for label in ("first", "reload"):
            stages.append(
                f"| {db} | {label} | "
                + " | ".join(f"{best[f'{label}_{k}_s']:.2f}" for k in STAGES)
                + f" | {best[f'{label}_write_s']:.2f} |"
            )
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
            f"File: {file.name} ({file.stat().st_size / 1e6:.0f} MB, books generator "
            f"`write_large_sie(seed={args.seed})`); best of {args.runs}, each run a fresh process "
            "into a freshly migrated empty database; clock from reading the bytes to the commit.",
            "",
            *(f"- {k}: {v}" for k, v in info.items()),
            "",
            "Columns: the best run's read / write / total seconds and rows/s end to end; the "
            f"median rows/s end to end of the {args.runs} runs; the best run's write-only rate; "
            "`CLI s` = wall time of one `python -m include.warehouse load FILE` into another "
            "fresh database, interpreter start-up and imports included (numba, pyarrow, "
            "SQLAlchemy: about 1.2 s).",
            "",
            "| database | voucher rows | read s | write s | total s | rows/s end to end "
            "| median rows/s | rows/s write only | CLI s | target rows/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *summary,
            "",
            "Write stages of the best run, seconds (prepare = company row, lock, DELETE of the "
            "old partition, header tables; reload = the same file again with force=True):",
            "",
            "| database | load | prepare | voucher | voucher_row | voucher_row_object | commit "
            "| write |",
            "|---|---|---|---|---|---|---|---|",
            *stages,
            "",
        ]
        write_results(lines)


if __name__ == "__main__":
    main()
