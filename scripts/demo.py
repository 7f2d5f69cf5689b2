"""The end-to-end demo behind `make demo`: the real DAGs through `airflow dags test`.

1. Generate a company's books, write SIE 4E, read it back strictly, summarise.
2. Drop the file into the inbox and run `sie4_to_warehouse`; print the trial balance totals.
3. Start the local Fortnox sandbox, connect three companies through OAuth consent, run
   `fortnox_extract` and `sie4_to_warehouse` on the landed extracts; summarise per company.
4. Run `data_quality` (Great Expectations) on every partition; print each one's checks, the
   closing gate and where the Data Docs are.

Airflow's own output goes to airflow_home/logs/demo-*.log; this prints what a person reads.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from include.settings import data_dir, default_warehouse_url  # noqa: E402

VENV_BIN = Path(sys.executable).parent
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8710"))
REDIRECT_PORT = 8765
DEMO_SEED = 2026


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 72 - len(text)), flush=True)


def money(value: Decimal | int | str | None) -> str:
    if value is None:
        return "-"
    return f"{Decimal(str(value)):,.2f}".replace(",", " ")


def run_dag(dag_id: str, conf: dict[str, object], log_name: str) -> None:
    """`airflow dags test` one DAG; its log goes to a file, failures show its tail."""
    log = AIRFLOW_HOME / "logs" / f"demo-{log_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as handle:
        result = subprocess.run(
            [str(VENV_BIN / "airflow"), "dags", "test", dag_id, "--conf", json.dumps(conf)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            check=False,
        )
    text = log.read_text(errors="replace")
    finished = [ln for ln in text.splitlines() if "DagRun Finished" in ln]
    state = "unknown"
    if finished and (found := re.search(r"\bstate=(\w+)", finished[-1])):
        state = found.group(1)
    print(
        f"   airflow dags test {dag_id}: exit {result.returncode}, run {state}, "
        f"{time.monotonic() - started:.0f} s (log: {log.relative_to(ROOT)})"
    )
    if result.returncode != 0 or state != "success":
        errors = [ln for ln in text.splitlines() if "Error" in ln or "rejected" in ln]
        print("\n".join(errors[-20:] or text.splitlines()[-40:]))
        raise SystemExit(f"{dag_id} did not succeed (state {state}); see {log}")


def stage_books() -> Path:
    from include.books import generate_books
    from include.sie4 import read_sie, write_sie

    heading("1. Books -> SIE 4E -> read back")
    # company_index 3: not one of the three sandbox tenants (0-2), so sources never collide
    books = generate_books(DEMO_SEED, company_index=3, years=2, vouchers_per_year=400)
    latest = books.years[-1]
    doc = books.to_sie(latest.fiscal_year.start)
    target = data_dir() / "demo" / f"{books.company.org_number}_{latest.fiscal_year.start.year}.se"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_sie(doc, target, ksumma=True)
    back = read_sie(target)  # strict: any error would stop the demo here
    rows = sum(len(v.rows) for v in back.vouchers)
    debit = sum((r.amount for v in back.vouchers for r in v.rows if r.amount > 0), Decimal(0))
    unbalanced = [v for v in back.vouchers if v.balance_difference != 0]
    print(f"   company        {back.company.name} ({back.company.org_number})")
    years = ", ".join(f"{y.index}: {y.start}..{y.end}" for y in back.fiscal_years)
    print(f"   fiscal years   {years}")
    print(
        f"   file           {target.relative_to(ROOT)} ({target.stat().st_size:,} bytes, "
        f"{back.encoding}, KSUMMA {back.ksumma.value})"
    )
    print(
        f"   accounts {len(back.accounts)}, vouchers {len(back.vouchers)}, rows {rows}, "
        f"debit total {money(debit)}, unbalanced vouchers {len(unbalanced)}"
    )
    return target


def stage_inbox(sie_file: Path, warehouse_url: str) -> None:
    heading("2. Inbox -> sie4_to_warehouse -> warehouse")
    inbox = data_dir() / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy2(sie_file, inbox / sie_file.name)
    print(f"   dropped {sie_file.name} into {inbox.relative_to(ROOT)}/")
    # The demo wrote the file whole just now: no copy in progress to wait for.
    run_dag("sie4_to_warehouse", {"include_inbox": True, "inbox_settle_seconds": 0}, "load-inbox")
    where = "processed" if (inbox / "processed" / sie_file.name).exists() else "NOT processed"
    print(f"   {sie_file.name}: {where}")
    print_trial_balances(warehouse_url)


def print_trial_balances(warehouse_url: str) -> None:
    """Per partition: assets, equity and liabilities, the year's result, and the #UB check."""
    import sqlalchemy as sa

    from include.warehouse.schema import trial_balance_view as tb

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:  # typed select: Decimal kronor on SQLite and PostgreSQL
        rows = conn.execute(
            sa.select(
                tb.c.org_number,
                tb.c.fiscal_year_start,
                tb.c.account,
                tb.c.closing_balance,
                tb.c.reported_closing_balance,
            ).order_by(tb.c.org_number, tb.c.fiscal_year_start)
        ).all()
    engine.dispose()
    totals: dict[tuple[str, str], dict[str, Decimal | int]] = {}
    for r in rows:
        key = (r.org_number, str(r.fiscal_year_start))
        t = totals.setdefault(
            key,
            {
                "accounts": 0,
                "assets": Decimal(0),
                "equity_liabilities": Decimal(0),
                "result": Decimal(0),
                "off": 0,
            },
        )
        t["accounts"] += 1
        cls = r.account[:1]
        if cls == "1":
            t["assets"] += r.closing_balance
        elif cls == "2":
            t["equity_liabilities"] -= r.closing_balance
        else:
            t["result"] -= r.closing_balance
        if r.reported_closing_balance is not None and (
            r.reported_closing_balance != r.closing_balance
        ):
            t["off"] += 1
    print("   trial balance per company and year (closing = opening + movements):")
    print(
        f"   {'org number':<13} {'year from':<10} {'accounts':>8} {'assets':>15} "
        f"{'equity+liab.':>15} {'year result':>14}  vs file #UB/#RES"
    )
    for (org, start), t in totals.items():
        check = "all agree" if not t["off"] else f"{t['off']} accounts differ"
        print(
            f"   {org:<13} {start:<10} {t['accounts']:>8} {money(t['assets']):>15} "
            f"{money(t['equity_liabilities']):>15} {money(t['result']):>14}  {check}"
        )


@contextmanager
def sandbox() -> Iterator[str]:
    log = AIRFLOW_HOME / "logs" / "demo-sandbox.log"
    handle = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "include.fortnox_sandbox",
            "--port",
            str(SANDBOX_PORT),
            "--companies",
            "3",
            "--seed",
            str(DEMO_SEED),
            "--redirect-uri",
            f"http://127.0.0.1:{REDIRECT_PORT}/callback",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{SANDBOX_PORT}"
    try:
        deadline = time.monotonic() + 60
        while "listening" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                print(log.read_text(errors="replace")[-3000:])
                raise SystemExit("the Fortnox sandbox did not start")
            time.sleep(0.2)
        print(f"   sandbox listening on {base} (log: {log.relative_to(ROOT)})")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        handle.close()


def stage_fortnox(warehouse_url: str) -> None:
    import httpx

    heading("3. Fortnox sandbox -> OAuth -> fortnox_extract -> sie4_to_warehouse")
    with sandbox() as base:
        os.environ["AIRFLOW_CONN_FORTNOX_DEFAULT"] = json.dumps(
            {
                "conn_type": "fortnox",
                "host": f"{base}/3",
                "login": os.environ["FORTNOX_SANDBOX_CLIENT_ID"],
                "password": os.environ["FORTNOX_SANDBOX_CLIENT_SECRET"],
                "extra": {
                    "auth_url": f"{base}/oauth-v1/auth",
                    "token_url": f"{base}/oauth-v1/token",
                    "revoke_url": f"{base}/oauth-v1/revoke",
                    "redirect_uri": f"http://127.0.0.1:{REDIRECT_PORT}/callback",
                    "token_store_url": warehouse_url,
                },
            }
        )
        tenants = httpx.get(f"{base}/admin/tenants", timeout=10).json()["Tenants"]
        for tenant in tenants:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "include.fortnox",
                    "connect",
                    "--auto",
                    "--tenant",
                    str(tenant["TenantId"]),
                ],
                capture_output=True,
                text=True,
                env=os.environ.copy(),
                check=False,
            )
            line = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            print(f"   connect: {line}")
            if result.returncode != 0:
                print(result.stderr[-2000:])
                raise SystemExit("connecting a company failed")
        run_dag("fortnox_extract", {}, "extract")
        run_dag("sie4_to_warehouse", {"scan_landing": True, "include_inbox": False}, "load-landing")
    print_company_summary(warehouse_url)


def print_company_summary(warehouse_url: str) -> None:
    """Fortnox companies: volumes, and year-end open items against the control accounts."""
    import sqlalchemy as sa

    from include.warehouse import schema as w

    def count(table: sa.Table, company_id: int, start: object) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.company_id == company_id, table.c.fiscal_year_start == start)
        )
        return int(conn.scalar(query) or 0)

    def open_items(table: sa.Table, company_id: int, start: object) -> tuple[int, Decimal]:
        amounts = conn.scalars(
            sa.select(table.c.open_amount).where(
                table.c.company_id == company_id, table.c.fiscal_year_start == start
            )
        ).all()
        return len(amounts), sum(amounts, Decimal(0))

    engine = sa.create_engine(warehouse_url)
    heading("Summary: Fortnox companies in the warehouse")
    with engine.connect() as conn:
        partitions = conn.execute(
            sa.select(
                w.company.c.company_id,
                w.company.c.org_number,
                w.company.c.name,
                w.company.c.fortnox_tenant_id,
                w.fiscal_year.c.fiscal_year_start,
                w.fiscal_year.c.end_date,
            )
            .join_from(
                w.fiscal_year, w.company, w.company.c.company_id == w.fiscal_year.c.company_id
            )
            .where(w.fiscal_year.c.year_index == 0, w.company.c.fortnox_tenant_id.is_not(None))
            .order_by(w.company.c.name)
        ).all()
        tb = w.trial_balance_view
        for p in partitions:
            control = {
                row.account: row.closing_balance
                for row in conn.execute(
                    sa.select(tb.c.account, tb.c.closing_balance).where(
                        tb.c.company_id == p.company_id,
                        tb.c.fiscal_year_start == p.fiscal_year_start,
                        tb.c.account.in_(["1510", "2440"]),
                    )
                )
            }
            ar_count, ar_open = open_items(w.ar_open_item, p.company_id, p.fiscal_year_start)
            ap_count, ap_open = open_items(w.ap_open_item, p.company_id, p.fiscal_year_start)
            ub_1510 = control.get("1510", Decimal(0))
            ub_2440 = control.get("2440", Decimal(0))
            ar_check = "reconciles" if ub_1510 == ar_open else "DIFFERS"
            ap_check = "reconciles" if -ub_2440 == ap_open else "DIFFERS"
            print(f"   {p.name} ({p.org_number}, Fortnox tenant {p.fortnox_tenant_id})")
            print(
                f"     fiscal year {p.fiscal_year_start}..{p.end_date}: "
                f"{count(w.voucher, p.company_id, p.fiscal_year_start)} vouchers, "
                f"{count(w.voucher_row, p.company_id, p.fiscal_year_start)} rows"
            )
            print(
                f"     receivables at year end: {ar_count} open invoices {money(ar_open):>14}"
                f"  | 1510 closing {money(ub_1510):>14}  {ar_check}"
            )
            print(
                f"     payables at year end:    {ap_count} open invoices {money(ap_open):>14}"
                f"  | 2440 closing {money(ub_2440):>14}  {ap_check}"
            )
    engine.dispose()
    print_trial_balances(warehouse_url)


def stage_quality(warehouse_url: str) -> None:
    heading("4. Data quality: data_quality (Great Expectations) -> dq_run, Data Docs")
    # `airflow dags test` runs one DAG: the asset event that schedules data_quality after a
    # load does not chain here, so it runs by hand, on every partition (no params).
    run_dag("data_quality", {}, "quality")
    print_quality_summary(warehouse_url)


def print_quality_summary(warehouse_url: str) -> None:
    """Per partition: the latest run's outcome, what failed or was skipped, the gate."""
    from include.quality.gate import quality_gate
    from include.quality.gx_suite import index_page
    from include.quality.partitions import find_partitions
    from include.quality.store import latest_run
    from include.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(warehouse_url)
    with engine.connect() as conn:
        partitions = find_partitions(conn)
        runs = {
            (p.company_id, p.fiscal_year_start): latest_run(conn, p.company_id, p.fiscal_year_start)
            for p in partitions
        }
    print(
        f"   {'company':<44} {'year from':<10} {'status':<9} {'closing':<8} failed / skipped checks"
    )
    open_gates = 0
    for p in partitions:
        run = runs[(p.company_id, p.fiscal_year_start)]
        gate = quality_gate(engine, p.company_id, p.fiscal_year_start)
        open_gates += not gate.blocks
        failed = [*run.failed_error_checks, *run.failed_warning_checks] if run else []
        skipped = list(run.skipped_checks) if run else []
        notes = ", ".join(failed) or "none failed"
        if skipped:
            notes += f"; skipped: {', '.join(skipped)}"
        name = f"{p.company_name} ({p.org_number or p.company_key})"
        print(
            f"   {name[:44]:<44} {p.fiscal_year_start.isoformat():<10} "
            f"{(run.status if run else 'unchecked'):<9} {'blocked' if gate.blocks else 'open':<8} "
            f"{notes}"
        )
    engine.dispose()
    print(f"   closing gate open for {open_gates} of {len(partitions)} partition(s)")
    print(f"   Data Docs: {index_page(data_dir()).relative_to(ROOT)}")
    print("   (skipped is not passed: an inbox file has no subledger; the loader does not")
    print("   record #KSUMMA yet. Details: python -m include.quality run, docs/quality.md)")


def main() -> int:
    started = time.monotonic()
    warehouse_url = default_warehouse_url()
    data_dir().mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "include.warehouse", "migrate", "--url", warehouse_url],
        check=True,
        env=os.environ.copy(),
    )
    sie_file = stage_books()
    stage_inbox(sie_file, warehouse_url)
    stage_fortnox(warehouse_url)
    stage_quality(warehouse_url)
    heading(f"Demo finished in {time.monotonic() - started:.0f} s")
    print(f"   warehouse: {warehouse_url}")
    print("   explore:   make airflow  (UI http://127.0.0.1:8080, user admin,")
    print("              password in airflow_home/passwords.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
