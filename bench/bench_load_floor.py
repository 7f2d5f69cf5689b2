"""The floor under a load: what the drivers and the server cost per row, outside the loader.

    .venv/bin/python bench/bench_load_floor.py [--rows 1000000] [--pg-url URL]

1. ``sqlite3.executemany`` of rows shaped like ``voucher_row`` (14 bound values, three
   literals) into an in-memory database, one transaction, no index: the binding cost the
   SQLite writer cannot go below.
2. PostgreSQL: the same rows, staged once, written by the server alone
   (``INSERT ... SELECT``, committed) into a table with the ``voucher_row`` primary key and
   into one without it: the server's share of a load, client and parsing left out.

Prints seconds and microseconds per row; nothing is kept (tables are dropped).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
COLUMNS = (
    "company_id int, fiscal_year_start date, row_index bigint, voucher_index int, kind text, "
    "account text, amount bigint, row_date date, text text, quantity text, signature text, "
    "line int, in_balance boolean, extract_id text, cost_centre text, project text, objects text"
)


def rows(n: int) -> list[tuple[object, ...]]:
    return [
        (i, i // 3, "TRANS", str(1000 + i % 50), (i * 37) % 100_000 - 50_000, None,
         f"Faktura {i % 5000} leverans av material till projekt", None, "", i + 10, 1, "98",
         None, '[["1","98"]]')
        for i in range(n)
    ]  # fmt: skip


def sqlite_floor(data: list[tuple[object, ...]]) -> float:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(f"CREATE TABLE voucher_row ({COLUMNS})")
    sql = "INSERT INTO voucher_row VALUES (1, '2024-01-01', " + ", ".join("?" * 14) + ")"
    sql = sql.replace("?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?", "?, ?, ?, ?, ?, ?, ?, ?, ?, "
                      "?, ?, 'cli-x', ?, ?, ?")  # fmt: skip
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany(sql, data)
    db.execute("COMMIT")
    return time.perf_counter() - start


def postgres_floor(data: list[tuple[object, ...]], url: str) -> tuple[float, float]:
    """Seconds the server takes to write the rows (``INSERT ... SELECT`` from a staged copy).

    No client and no parsing in the clock: the heap, the WAL and the primary key.
    """
    import datetime

    import psycopg

    types = ["int4", "date", "int8", "int4", "text", "text", "int8", "date", "text", "text",
             "text", "int4", "bool", "text", "text", "text", "text"]  # fmt: skip
    day = datetime.date(2024, 1, 1)
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TEMPORARY TABLE floor_stage ({COLUMNS})")
        with conn.cursor() as cur, cur.copy("COPY floor_stage FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(types)
            for r in data:
                copy.write_row((1, day, *r[:11], "cli-x", *r[11:]))
        conn.commit()
        times = []
        for key in (", PRIMARY KEY (company_id, fiscal_year_start, row_index)", ""):
            conn.execute(f"CREATE TABLE floor_row ({COLUMNS}{key})")
            conn.commit()
            start = time.perf_counter()
            conn.execute("INSERT INTO floor_row SELECT * FROM floor_stage")
            conn.commit()
            times.append(time.perf_counter() - start)
            conn.execute("DROP TABLE floor_row")
            conn.commit()
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("WAREHOUSE_TEST_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    data = rows(args.rows)
    seconds = sqlite_floor(data)
    print(f"sqlite3 executemany: {seconds:.2f} s, {seconds / args.rows * 1e6:.1f} us/row")
    url = args.pg_url.replace("postgresql+psycopg://", "postgresql://")
    with_key, without = postgres_floor(data, url)
    print(
        f"postgres server write (INSERT ... SELECT, committed): {with_key:.2f} s with the "
        f"primary key, {without:.2f} s without; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
