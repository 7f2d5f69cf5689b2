"""Benchmark: the data-quality checks, on one big partition and at scale through the DAGs.

    .venv/bin/python bench/bench_quality.py --write-results          # both parts, both databases
    .venv/bin/python bench/bench_quality.py --part suite --rows 1000000 --db sqlite --runs 3
    .venv/bin/python bench/bench_quality.py --part scale --companies 200 --rows 20000

suite: the whole suite on a 1,000,000-row partition (the books generator's large file, with
a subledger that reconciles so that every check runs its SQL). Each run is the command a
user runs, ``python -m include.quality run --url URL --company ORG``, in a fresh process:
interpreter start, GX import and context, the checks, recording, Data Docs. A separate
child reports where the time goes (GX import, the checks in-process, each check's SQL run
alone). Target: under 10 s per database.

scale: 200 companies of about 20,000 rows each: generated (two processes), dropped into the
inbox, loaded by ``airflow dags test sie4_to_warehouse`` and checked by ``airflow dags test
data_quality`` (one mapped task per partition), in a scratch Airflow home and data folder.
Target: under 10 minutes. Inbox files carry no subledger, so the reconciliations are
skipped there (the suite part times their SQL).

Results go to bench/RESULTS-quality.md with --write-results (notes below the marker are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = REPO_ROOT / "bench"
for _path in (REPO_ROOT, BENCH):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_load import (  # noqa: E402  (the load benchmark's file, databases and machine facts)
    DEFAULT_PG_URL,
    bench_file,
    fresh_database,
    machine,
    pg_version,
)

NOTES_MARKER = "<!-- NOTES: hand-written below, kept by --write-results -->"
RESULTS = BENCH / "RESULTS-quality.md"


def loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# ----------------------------------------------------------------- suite on one partition


def prepare_partition(url: str, file: Path) -> dict[str, Any]:
    """Load the big file and give it year-end open items equal to its control accounts."""
    import sqlalchemy as sa

    from include.quality.checks import DEFAULT_AP_RANGES, DEFAULT_AR_RANGES
    from include.warehouse import schema
    from include.warehouse.engine import create_warehouse_engine
    from include.warehouse.loader import load_open_items, load_sie

    result = load_sie(file, url, source_kind="fortnox", file_name=file.name)
    engine = create_warehouse_engine(url)
    fy, bal, row = result.fiscal_year_start, schema.balance, schema.voucher_row
    closing: dict[str, Any] = {}
    with engine.begin() as conn:
        conn.execute(  # the large file has no #KSUMMA: what the loader will record
            sa.update(schema.extract)
            .where(schema.extract.c.extract_id == result.extract_id)
            .values(ksumma="absent")
        )
        # The ledger's closing balances from the base tables: #IB 0 + the counted rows.
        for table, *where in (
            (bal, bal.c.kind == "IB", bal.c.year_index == 0, bal.c.is_effective),
            (row, row.c.in_balance),
        ):
            for account, amount in conn.execute(
                sa.select(table.c.account, sa.func.sum(table.c.amount))
                .where(table.c.company_id == result.company_id, table.c.fiscal_year_start == fy)
                .where(*where)
                .group_by(table.c.account)
            ):
                closing[account] = closing.get(account, 0) + amount
    engine.dispose()

    def total(ranges: Any) -> Any:
        return sum(
            (
                v
                for a, v in closing.items()
                for r in ranges
                if len(a) == len(r.first) and r.first <= a <= r.last
            ),
            start=0,
        )

    for kind, amount in (("ar", total(DEFAULT_AR_RANGES)), ("ap", -total(DEFAULT_AP_RANGES))):
        party = "customer" if kind == "ar" else "supplier"
        item = {
            "invoice_number": "1",
            f"{party}_number": "1",
            f"{party}_name": "All open items",
            "invoice_date": fy.replace(month=12, day=31),
            "due_date": None,
            "total": amount,
            "open_amount": amount,
            "currency": "SEK",
        }
        load_open_items(
            kind,  # type: ignore[arg-type]
            [item] if amount else [],
            url,
            company_id=result.company_id,
            fiscal_year_start=fy,
            extract_id=result.extract_id,
        )
    return {"org": result.org_number, "rows": result.counts["voucher_row"]}


def child(url: str, org: str, data_root: Path) -> None:
    """In one process: where the time goes. Prints a JSON line."""
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    t1 = time.perf_counter()
    from include.quality.runner import check_partition, resolve_partitions

    (partition,) = resolve_partitions(url, org)
    t2 = time.perf_counter()
    run = check_partition(url, data_root, partition)
    t3 = time.perf_counter()
    sql = sql_alone(url, partition.company_id, partition.fiscal_year_start)
    print(
        json.dumps(
            {
                "import_gx_s": t1 - t0,
                "check_partition_s": t3 - t2,
                "status": run.run.status,
                "statuses": {r.name: r.status for r in run.run.results},
                "sql_s": sql,
            }
        )
    )


def sql_alone(url: str, company_id: int, start: Any) -> dict[str, float]:
    """Each check's query run once on the warehouse's own engine (a warm cache, no GX)."""
    from include.quality.checks import CHECKS, CheckConfig, Sql
    from include.quality.gx_suite import _partition_query
    from include.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(url)
    batch = f"({_partition_query(company_id, start)})"
    out: dict[str, float] = {}
    with engine.connect() as conn:
        for check in CHECKS:
            query = check.query(Sql(engine.dialect.name), CheckConfig()).replace("{batch}", batch)
            begin = time.perf_counter()
            conn.exec_driver_sql(query).fetchmany(200)
            out[check.name] = time.perf_counter() - begin
    engine.dispose()
    return out


def run_command(url: str, org: str, data_root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(  # the URL goes by environment: it may hold a password (ps)
        [
            sys.executable,
            "-m",
            "include.quality",
            "run",
            "--company",
            org,
            "--json",
            "--data-dir",
            str(data_root),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, "WAREHOUSE_URL": url, "PYTHONPATH": str(REPO_ROOT)},
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"quality run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done.returncode


def bench_suite(dbs: list[str], rows: int, seed: int, runs: int, pg_url: str) -> list[str]:
    file = bench_file(rows, seed, "objects", BENCH / "out")
    lines = [
        "### Whole suite on one partition",
        "",
        f"File: {file.name} ({file.stat().st_size / 1e6:.0f} MB); subledger: one open item per "
        "ledger equal to its control accounts, so every check runs its SQL. "
        f"`command s`: wall time of `python -m include.quality run --company ORG` in a fresh "
        f"process (median and best of {runs}); `GX import` and `checks` from one more process.",
        "",
        "| database | voucher rows | command s (median) | best | GX import s "
        "| checks s (in process) | SQL alone s | status | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    details: list[str] = []
    for db in dbs:
        with fresh_database(db, pg_url) as url, tempfile.TemporaryDirectory() as tmp:
            facts = prepare_partition(url, file)
            walls = []
            for _ in range(runs):
                wall, _code = run_command(url, facts["org"], Path(tmp))
                walls.append(wall)
                print(f"{db}: command {wall:.2f} s", flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--child", facts["org"], "--data-root", tmp],
                capture_output=True,
                text=True,
                check=False,
                cwd=REPO_ROOT,
                env={**os.environ, "BENCH_QUALITY_URL": url, "PYTHONPATH": str(REPO_ROOT)},
            )
            if done.returncode != 0:
                raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
            info = json.loads(done.stdout.strip().splitlines()[-1])
        median = statistics.median(walls)
        verdict = "meets" if median < 10 else "misses"
        lines.append(
            f"| {db} | {facts['rows']:,} | {median:.2f} | {min(walls):.2f} | "
            f"{info['import_gx_s']:.2f} | {info['check_partition_s']:.2f} | "
            f"{sum(info['sql_s'].values()):.2f} | {info['status']} | 10 s ({verdict}) |"
        )
        details.append(
            f"| {db} | " + " | ".join(f"{info['sql_s'][name]:.2f}" for name in info["sql_s"]) + " |"
        )
        names = list(info["sql_s"])
    lines += [
        "",
        "Each check's SQL alone (seconds, one run on the warehouse engine after the suite):",
        "",
        "| database | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---:|" * len(names),
        *details,
    ]
    return lines


# ----------------------------------------------------------------- scale through the DAGs


def _generate(args: tuple[Path, int, int, int]) -> int:
    from include.books.large import write_large_sie

    folder, seed, index, rows = args
    target = folder / f"company-{index:03d}.se"
    return write_large_sie(target, seed, rows, company_index=index).rows


@contextmanager
def scratch_project(db: str, pg_url: str) -> Iterator[tuple[Path, dict[str, str], str]]:
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        root = Path(tmp)
        data = root / "data"
        (data / "inbox").mkdir(parents=True)
        with fresh_database(db, pg_url) if db == "postgres" else _sqlite(data) as url:
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "AIRFLOW_HOME": str(root / "airflow_home"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PROJECT_DATA_DIR": str(data),
                "WAREHOUSE_URL": url,
                "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps(
                    {"conn_type": "generic", "extra": {"sqlalchemy_url": url}}
                ),
            }
            env.pop("AIRFLOW_CONN_AIRFLOW_API", None)
            yield data, env, url


@contextmanager
def _sqlite(data: Path) -> Iterator[str]:
    from include.warehouse.migrate import migrate

    url = f"sqlite:///{data / 'warehouse.db'}"
    migrate(url)
    yield url


def _timed(command: list[str], env: dict[str, str], log: Path) -> float:
    start = time.perf_counter()
    with log.open("w") as handle:
        done = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command[:4])} failed ({done.returncode}):\n{tail}")
    return elapsed


def bench_scale(
    db: str, companies: int, rows: int, seed: int, pg_url: str, logs: Path
) -> list[str]:
    import sqlalchemy as sa

    airflow = str(Path(sys.executable).parent / "airflow")
    logs.mkdir(parents=True, exist_ok=True)
    with scratch_project(db, pg_url) as (data, env, url):
        before = loadavg()
        started = time.perf_counter()
        with Pool(2) as pool:
            made = pool.map(_generate, [(data / "inbox", seed, i, rows) for i in range(companies)])
        generate_s = time.perf_counter() - started
        migrate_s = _timed([airflow, "db", "migrate"], env, logs / "scale-db-migrate.log")
        conf = json.dumps({"include_inbox": True, "inbox_settle_seconds": 0})
        load_s = _timed(
            [airflow, "dags", "test", "sie4_to_warehouse", "--conf", conf],
            env,
            logs / "scale-load.log",
        )
        check_s = _timed(
            [airflow, "dags", "test", "data_quality", "--conf", "{}"],
            env,
            logs / "scale-quality.log",
        )
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(sa.text("SELECT status, COUNT(*) FROM dq_run GROUP BY status")).all()
            )
            loaded = conn.scalar(sa.text("SELECT COUNT(*) FROM voucher_row"))
        engine.dispose()
        after = loadavg()
    total = generate_s + load_s + check_s
    verdict = "meets" if total < 600 else "misses"
    return [
        f"### Scale: {companies} companies through the DAGs ({db})",
        "",
        f"Load average (1/5/15 min) before / after: {before} | {after}",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| generate {companies} SIE files ({sum(made):,} rows; 2 processes) | {generate_s:.0f} |",
        f"| `airflow dags test sie4_to_warehouse` (inbox, {companies} mapped loads) "
        f"| {load_s:.0f} |",
        f"| `airflow dags test data_quality` ({companies} mapped checks, Data Docs, note) "
        f"| {check_s:.0f} |",
        f"| **total (target 600 s: {verdict})** | **{total:.0f}** |",
        f"| (`airflow db migrate` of the scratch Airflow home, not in the total) "
        f"| {migrate_s:.0f} |",
        "",
        f"Rows in the warehouse: {loaded:,}; quality runs by status: {statuses}.",
    ]


# ----------------------------------------------------------------- main


def write_results(lines: list[str]) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    notes = old[old.index(NOTES_MARKER) :] if NOTES_MARKER in old else NOTES_MARKER + "\n"
    RESULTS.write_text("\n".join(lines) + "\n\n" + notes, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["suite", "scale", "both"], default="both")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rows", type=int, default=None, help="suite 1,000,000; scale 20,000")
    parser.add_argument("--companies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale-db", default="sqlite", help="database of the scale run")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(os.environ["BENCH_QUALITY_URL"], args.child, Path(args.data_root))
        return
    pg_url = os.environ.get("WAREHOUSE_TEST_PG_URL", DEFAULT_PG_URL)
    dbs = [d for d in args.db.split(",") if d]
    facts = machine()
    lines = [
        "## Data quality (bench/bench_quality.py)",
        "",
        f"Command: `.venv/bin/python bench/bench_quality.py {' '.join(sys.argv[1:])}`",
        "",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1/5/15 min) at start: "
        f"{loadavg()}",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
    ]
    if "postgres" in dbs or args.scale_db == "postgres":
        lines.append(f"- postgresql: {pg_version(pg_url)}")
    lines.append("")
    if args.part in ("suite", "both"):
        lines += bench_suite(dbs, args.rows or 1_000_000, args.seed, args.runs, pg_url)
        lines.append("")
    if args.part in ("scale", "both"):
        lines += bench_scale(
            args.scale_db, args.companies, args.rows or 20_000, args.seed, pg_url, BENCH / "out"
        )
        lines.append("")
    lines.append(f"Load average at the end: {loadavg()}")
    print("\n".join(lines))
    if args.write_results:
        write_results(lines)


if __name__ == "__main__":
    main()
