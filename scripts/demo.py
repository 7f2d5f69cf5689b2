"""The end-to-end demo behind `make demo`: the real DAGs, run by a real Airflow scheduler.

It starts the local Fortnox sandbox and `airflow standalone` (each in its own process group,
stopped at the end, also on Ctrl-C or failure) and drives the DAGs only through Airflow's
REST API:

a. generated books, written as SIE 4E into the inbox, loaded by `sie4_to_warehouse`;
b. three sandbox companies connected through the OAuth consent flow; `fortnox_extract`,
   whose asset events run `sie4_to_warehouse`, whose events run `data_quality`;
c. an adjustments CSV with an attachment for one company, its `closing` run approved
   through the REST API (the HITL task), the approval's asset event runs `voucher_export`;
d. a second company's `closing` left waiting for approval, for a person to find in the UI;
e. a task's log read back through the REST API (what the UI shows).

Idempotent: every run starts from a clean slate (data/, the Airflow database and its logs;
the per-machine secrets and password stay). Airflow's own output goes to files under
airflow_home/; this prints what a person reads, and ends with how to open the UI.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import local_stack as stack  # noqa: E402

from include.settings import data_dir, default_warehouse_url  # noqa: E402

DAG_IDS = ("sie4_to_warehouse", "fortnox_extract", "data_quality", "closing", "voucher_export")
ACTIVE = ("queued", "running")
BOOKS_SEED = 2026
SAMPLES = ROOT / "include" / "closing" / "samples"


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 72 - len(text)), flush=True)


def say(text: str) -> None:
    print(f"   {text}", flush=True)


# -- the REST API ---------------------------------------------------------------------------


class Api:
    """Airflow's REST API (`/api/v2`) with a bearer token from `POST /auth/token`."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        from include.closing.airflow_api import airflow_token

        self.base_url = base_url
        self.token = airflow_token(base_url, username, password)
        self.http = httpx.Client(
            base_url=f"{base_url}/api/v2",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=30,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        if not answer.is_success:
            raise SystemExit(
                f"{method} /api/v2{path}: HTTP {answer.status_code}: {answer.text[:500]}"
            )
        return answer.json()

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 100})["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/importErrors")["import_errors"])

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, object]) -> str:
        run = self.call(
            "POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})
        return sorted(answer["dag_runs"], key=lambda r: r.get("run_after") or "")

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return list(self.call("GET", path, params={"limit": 1000})["task_instances"])

    def log_lines(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> list[str]:
        """A task instance's log, as the UI reads it (structured lines' `event`)."""
        path = (
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
            f"/logs/{max(1, int(ti.get('try_number') or 1))}"
        )
        answer = self.call("GET", path, params={"map_index": ti.get("map_index", -1)})
        lines: list[str] = []
        for entry in answer.get("content") or []:
            if isinstance(entry, dict):
                lines.append(str(entry.get("event", "")))
            else:
                lines.extend(str(entry).splitlines())
        return lines


# -- waiting ----------------------------------------------------------------------------------


def wait_until(what: str, check: Callable[[], Any], timeout: float, poll: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def wait_for_run(api: Api, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
    started = time.monotonic()
    run = wait_until(
        f"{dag_id} {run_id}",
        lambda: (r := api.run(dag_id, run_id))["state"] not in ACTIVE and r,
        timeout,
    )
    say(f"{dag_id} {run_id}: {run['state']} ({run_seconds(run, time.monotonic() - started)})")
    return dict(run)


def run_seconds(run: dict[str, Any], waited: float) -> str:
    """The run's own duration (start to end, as Airflow recorded it), else the time waited."""
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(run["start_date"]))
        end = datetime.fromisoformat(str(run["end_date"]))
    except (KeyError, TypeError, ValueError):
        return f"{waited:.0f} s"
    return f"ran {(end - start).total_seconds():.0f} s"


def quiet(api: Api, dag_ids: Iterable[str]) -> bool:
    """No run of these DAGs queued or running."""
    return all(r["state"] not in ACTIVE for d in dag_ids for r in api.runs(d))


def show_failures(api: Api, dag_id: str, run: dict[str, Any]) -> None:
    for ti in api.task_instances(dag_id, run["dag_run_id"]):
        if ti["state"] in ("failed", "upstream_failed"):
            label = ti.get("rendered_map_index") or ti["task_id"]
            say(f"  {ti['task_id']} [{label}] {ti['state']}")
            if ti["state"] == "failed":
                for line in api.log_lines(dag_id, run["dag_run_id"], ti)[-6:]:
                    say(f"    | {line[:150]}")


# -- the stack --------------------------------------------------------------------------------


@dataclass
class Stack:
    """The sandbox and Airflow started by the demo; `stop` ends both groups."""

    processes: list[tuple[stack.Component, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, component: stack.Component, env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = component.start(env)
        self.processes.append((component, process))
        return process

    def stop(self) -> None:
        for component, process in reversed(self.processes):
            stack.stop_group(process.pid, reap=process)
            process.wait(timeout=10)
            component.pid_file.unlink(missing_ok=True)
        self.processes.clear()


def reset() -> None:
    """A clean slate: a running `make airflow` stopped, data/ and Airflow's database and logs
    removed (secrets.env and passwords.json stay), the metadata database migrated again."""
    for component in (stack.AIRFLOW, stack.SANDBOX):
        if component.stop():
            say(f"stopped the running {component.name} (make airflow)")
    shutil.rmtree(data_dir(), ignore_errors=True)
    data_dir().mkdir(parents=True)
    home = stack.AIRFLOW_HOME
    for name in ("airflow.db", "airflow.db-wal", "airflow.db-shm", ".db-migrated"):
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / "logs", ignore_errors=True)
    for log in (stack.AIRFLOW.log_file, stack.SANDBOX.log_file):
        log.unlink(missing_ok=True)
    # A freshly migrated database is kept as a template: later runs copy it (12 s saved).
    from importlib.metadata import version

    template = home / f".airflow-{version('apache-airflow')}-fresh.db"
    if template.exists():
        shutil.copy2(template, home / "airflow.db")
    else:
        migrate_log = home / "db-migrate.log"
        with migrate_log.open("w") as handle:
            done = subprocess.run(
                [str(stack.VENV_BIN / "airflow"), "db", "migrate"],
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if done.returncode != 0:
            raise SystemExit(f"airflow db migrate failed; see {migrate_log}")
        shutil.copy2(home / "airflow.db", template)
    (home / ".db-migrated").touch()


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """A project command line (python -m ...); its output, or the demo stops with it."""
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"{' '.join(args[:3])} failed (exit {done.returncode})")
    return done.stdout


# -- the steps --------------------------------------------------------------------------------


def write_books_to_inbox() -> Path:
    from include.books import generate_books
    from include.sie4 import read_sie, write_sie

    # company_index 3: not one of the sandbox's tenants (0-2), so the sources never collide
    books = generate_books(BOOKS_SEED, company_index=3, years=2, vouchers_per_year=400)
    latest = books.years[-1]
    inbox = data_dir() / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / f"{books.company.org_number}_{latest.fiscal_year.start.year}.se"
    write_sie(books.to_sie(latest.fiscal_year.start), target, ksumma=True)
    back = read_sie(target)  # strict: any error stops the demo here
    rows = sum(len(v.rows) for v in back.vouchers)
    say(
        f"{back.company.name} ({back.company.org_number}): {len(back.vouchers)} vouchers, "
        f"{rows} rows, SIE 4E with #KSUMMA -> {target.relative_to(ROOT)}"
    )
    return target


def unpause_load_and_extract(api: Api, sie_file: Path) -> None:
    """Both have a timetable (the load every 15 minutes, the extract daily) and catchup=False:
    unpausing one makes the scheduler start its latest scheduled run at once. Those runs are
    the inbox load and the extract; a manual trigger as well would only add a second run
    finding nothing new. They run side by side."""
    heading("a. + b. Unpausing sie4_to_warehouse and fortnox_extract: their first runs")
    # The inbox takes files unchanged for 60 s (a copy may be in progress), measured on the
    # inode change time: the file was written before Airflow started; wait out the rest.
    settle = 61 - (time.time() - sie_file.stat().st_ctime)
    if settle > 0:
        say(f"waiting {settle:.0f} s more for the inbox file to settle (60 s unchanged)")
        time.sleep(settle)
    api.unpause("sie4_to_warehouse")
    say("unpaused sie4_to_warehouse: its scheduled run takes the inbox file")
    api.unpause("fortnox_extract")
    say("unpaused fortnox_extract: its scheduled run (today's) extracts every connected company")


def step_inbox(api: Api, sie_file: Path) -> None:
    heading("a. Books as SIE 4E in the inbox -> sie4_to_warehouse -> data_quality")
    run = wait_until(
        "the scheduled run of sie4_to_warehouse",
        lambda: next(
            (r for r in api.runs("sie4_to_warehouse") if r["run_type"] == "scheduled"), None
        ),
        timeout=90,
        poll=1,
    )
    run = wait_for_run(api, "sie4_to_warehouse", run["dag_run_id"])
    if run["state"] != "success":
        show_failures(api, "sie4_to_warehouse", run)
        raise SystemExit("the inbox load failed")
    where = (
        "processed/" if (sie_file.parent / "processed" / sie_file.name).exists() else "NOT moved"
    )
    say(f"{sie_file.name}: {where}")


def connect_companies(env: dict[str, str]) -> list[dict[str, Any]]:
    tenants: list[dict[str, Any]] = httpx.get(
        f"{stack.SANDBOX_URL}/admin/tenants", timeout=10
    ).json()["Tenants"]
    for tenant in tenants:
        out = run_cli(
            ["-m", "include.fortnox", "connect", "--auto", "--tenant", str(tenant["TenantId"])],
            env,
        )
        say(f"connect: {(out.strip().splitlines() or ['(no output)'])[-1]}")
    return tenants


def chain_status(warehouse_url: str, tenant_ids: set[int]) -> str:
    """ "loading" until every tenant's year is loaded, "checking" until each one's quality
    was checked after that load, then "done"."""
    import sqlalchemy as sa

    from include.warehouse import schema as w

    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(w.company.c.company_id, w.company.c.fortnox_tenant_id).where(
                    w.company.c.fortnox_tenant_id.is_not(None)
                )
            ).all()
            loaded = {int(r.fortnox_tenant_id): r.company_id for r in rows}
            if not tenant_ids <= set(loaded):
                return "loading"
            from include.quality.gate import quality_gate

            for tenant_id in tenant_ids:
                company_id = loaded[tenant_id]
                start = conn.scalar(
                    sa.select(sa.func.max(w.fiscal_year.c.fiscal_year_start)).where(
                        w.fiscal_year.c.company_id == company_id
                    )
                )
                if start is None:
                    return "loading"
                if quality_gate(engine, company_id, start).status is None:
                    return "checking"
    except sa.exc.OperationalError:  # tables not there yet
        return "loading"
    finally:
        engine.dispose()
    return "done"


def wait_for_chain(
    api: Api, warehouse_url: str, tenant_ids: set[int], timeout: float = 300
) -> None:
    """Until every company is loaded and checked and no load or check runs any more.

    Airflow 3.3 leaves an asset event that arrives while its consumer is at max_active_runs
    queued until a later event comes (apache/airflow#56050): with three extracts finishing
    close together, the last company can wait for tomorrow's extract. When the chain has
    stopped short, the demo starts what the lost event would have: a load with
    `scan_landing` (every landed extract the warehouse lacks), then the quality checks.
    """
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    nudged: set[str] = set()
    while True:
        status = chain_status(warehouse_url, tenant_ids)
        # loading: the load idle; checking: the load and the checks idle
        watched = (
            ("sie4_to_warehouse",) if status == "loading" else ("sie4_to_warehouse", "data_quality")
        )
        idle = quiet(api, watched)
        if status == "done" and idle:
            return
        now = time.monotonic()
        quiet_since = (quiet_since or now) if idle else None
        if quiet_since is not None and now - quiet_since > 10 and status not in nudged:
            nudged.add(status)
            if status == "loading":
                run_id = api.trigger(
                    "sie4_to_warehouse", {"scan_landing": True, "include_inbox": False}
                )
            else:
                run_id = api.trigger("data_quality", {})
            say(f"an asset event was held back by Airflow (#56050): triggered {run_id}")
            quiet_since = None
        if now > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s: companies {status}")
        time.sleep(2)


def step_fortnox(api: Api, tenants: list[dict[str, Any]], warehouse_url: str) -> None:
    heading("b. Fortnox sandbox -> fortnox_extract -> sie4_to_warehouse -> data_quality")
    # Only when no scheduled run comes (a DAG unpaused before) is one triggered.
    try:
        run = wait_until(
            "the scheduled run of fortnox_extract",
            lambda: next(iter(api.runs("fortnox_extract")), None),
            timeout=45,
            poll=1,
        )
        run_id = str(run["dag_run_id"])
    except SystemExit:
        run_id = api.trigger("fortnox_extract", {})
        say(f"no scheduled run came: triggered {run_id}")
    run = wait_for_run(api, "fortnox_extract", run_id, timeout=300)
    if run["state"] != "success":
        show_failures(api, "fortnox_extract", run)
    # Each company's extract emits its own asset event: the load (and then the quality
    # checks) may run more than once, each run taking the events that came meanwhile.
    wanted = {int(t["TenantId"]) for t in tenants}
    started = time.monotonic()
    wait_for_chain(api, warehouse_url, wanted)
    for dag_id in ("sie4_to_warehouse", "data_quality"):
        runs = [r for r in api.runs(dag_id) if r["run_type"] == "asset_triggered"]
        states = ", ".join(f"{r['dag_run_id']} {r['state']}" for r in runs)
        say(f"{dag_id}, started by asset events: {states}")
        for r in runs:
            if r["state"] != "success":
                show_failures(api, dag_id, r)
    say(f"chain done {time.monotonic() - started:.0f} s after the extract")


@dataclass(frozen=True)
class Partition:
    company_id: int
    name: str
    org_number: str
    tenant_id: str
    fiscal_year_start: date
    fiscal_year_end: date


def fortnox_partitions(warehouse_url: str) -> list[Partition]:
    """The sandbox companies' latest loaded years, by name."""
    import sqlalchemy as sa

    from include.warehouse import schema as w

    engine = sa.create_engine(warehouse_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                w.company.c.company_id,
                w.company.c.name,
                w.company.c.org_number,
                w.company.c.fortnox_tenant_id,
                w.fiscal_year.c.fiscal_year_start,
                w.fiscal_year.c.end_date,
            )
            .join_from(
                w.fiscal_year, w.company, w.company.c.company_id == w.fiscal_year.c.company_id
            )
            .where(w.fiscal_year.c.year_index == 0)
            .order_by(w.company.c.name)
        ).all()
    engine.dispose()
    return [
        Partition(
            r.company_id,
            r.name,
            r.org_number or "",
            str(r.fortnox_tenant_id or ""),
            r.fiscal_year_start,
            r.end_date,
        )
        for r in rows
    ]


def write_adjustments(partition: Partition) -> Path:
    """The accountants' adjustments for the year end, with a supporting document."""
    folder = data_dir() / "demo" / "closing" / partition.org_number
    folder.mkdir(parents=True, exist_ok=True)
    attachment = "avskrivningsplan.pdf"
    shutil.copy2(SAMPLES / "avskrivningsplan-2025.pdf", folder / attachment)
    day = partition.fiscal_year_end.isoformat()
    year = partition.fiscal_year_start.year
    rows = [
        [
            "ADJ-1",
            day,
            "7832",
            "18000.00",
            "",
            f"Avskrivning inventarier {year} enligt plan",
            "",
            attachment,
        ],
        [
            "ADJ-1",
            day,
            "1229",
            "",
            "18000.00",
            f"Avskrivning inventarier {year} enligt plan",
            "",
            "",
        ],
        ["ADJ-2", day, "7010", "24500.00", "", "Semesterlöneskuld vid årets slut", "300", ""],
        ["ADJ-2", day, "2920", "", "24500.00", "Semesterlöneskuld vid årets slut", "", ""],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["voucher", "date", "account", "debit", "credit", "text", "cost_centre", "attachment"]
    )
    writer.writerows(rows)
    target = folder / f"adjustments-{year}.csv"
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return target


def start_closing(api: Api, env: dict[str, str], partition: Partition, *, adjustments: bool) -> str:
    fy = partition.fiscal_year_start.isoformat()
    part = ["--company", partition.org_number, "--fiscal-year", fy]
    if adjustments:
        csv_file = write_adjustments(partition)
        out = run_cli(["-m", "include.closing", "import", str(csv_file), *part], env)
        say(f"import {csv_file.relative_to(ROOT)}: {out.strip().splitlines()[-1]}")
    out = run_cli(["-m", "include.closing", "propose", *part, "--accept", "all"], env)
    for line in out.splitlines():
        if line.strip().startswith("PROPOSAL-"):
            say(f"proposal {line.strip().split(', accepted')[0]}: accepted")
    run_id = api.trigger("closing", {"company": partition.org_number, "fiscal_year": fy})
    say(f"triggered closing {run_id} for {partition.name} {fy}")
    return run_id


def wait_for_approval(api: Api, partition: Partition, run_id: str) -> dict[str, Any]:
    """The approval task's HITL detail once the task waits (state `awaiting_input`).

    Not as soon as the detail exists: the task writes it before it defers, and an answer in
    that moment makes Airflow fail the attempt (the executor sees the state changed under
    it) and ask again on the retry."""
    from include.closing.airflow_api import APPROVAL_TASK_ID, approval_task

    def approval_state() -> tuple[str | None, int]:
        run = api.run("closing", run_id)
        if run["state"] == "failed":
            show_failures(api, "closing", run)
            raise SystemExit(f"the closing of {partition.name} failed before its approval")
        for ti in api.task_instances("closing", run_id):
            if ti["task_id"] == APPROVAL_TASK_ID:
                return ti["state"], int(ti.get("try_number") or 0)
        return None, 0

    def waiting() -> dict[str, Any] | None:
        state, attempt = approval_state()
        if state != "awaiting_input":
            return None
        # The state is set a moment before the task's process has ended: an answer in
        # that moment fails the attempt. The same state and try a few seconds later is safe.
        time.sleep(3)
        if approval_state() != (state, attempt):
            return None
        return approval_task(api.base_url, api.token, run_id)

    detail: dict[str, Any] = wait_until(
        f"closing {run_id} to wait for its approval", waiting, timeout=240, poll=1
    )
    return detail


def approval_try(api: Api, run_id: str) -> int:
    from include.closing.airflow_api import APPROVAL_TASK_ID

    for ti in api.task_instances("closing", run_id):
        if ti["task_id"] == APPROVAL_TASK_ID:
            return int(ti.get("try_number") or 1)
    return 0


def finished_or_asking_again(api: Api, run_id: str, answered: int) -> dict[str, Any] | str | None:
    """The closing run once it has ended, or "asking again" when a later try of its approval
    task waits (the answer of try ``answered`` was lost)."""
    from include.closing.airflow_api import APPROVAL_TASK_ID

    run = api.run("closing", run_id)
    if run["state"] in ("success", "failed"):
        return run
    for ti in api.task_instances("closing", run_id):
        if (
            ti["task_id"] == APPROVAL_TASK_ID
            and ti["state"] == "awaiting_input"
            and int(ti.get("try_number") or 1) > answered
        ):
            return "asking again"
    return None


def step_closing(api: Api, env: dict[str, str], partition: Partition) -> None:
    from include.closing.airflow_api import answer_approval

    heading(f"c. Closing {partition.name}: adjustments, approval via REST, voucher_export")
    run_id = start_closing(api, env, partition, adjustments=True)
    detail = wait_for_approval(api, partition, run_id)
    say(f"approve_closing awaiting input: {detail.get('subject', '')}")
    answered = approval_try(api, run_id)
    answer = answer_approval(
        api.base_url, api.token, run_id, approve=True, comment="Demo: approved"
    )
    who = answer.get("responded_by_user") or answer.get("responded_by") or {}
    say(f"approved as {who.get('name', stack.USER) if isinstance(who, dict) else who}")
    run = wait_until(
        f"closing {run_id} to record the approval",
        lambda: finished_or_asking_again(api, run_id, answered),
        timeout=240,
        poll=2,
    )
    if run == "asking again":  # the answer met the attempt's end: the retry asks again
        wait_for_approval(api, partition, run_id)
        answer_approval(api.base_url, api.token, run_id, approve=True, comment="Demo: approved")
        say("approved again (Airflow's retry of the approval task asked once more)")
    run = wait_for_run(api, "closing", run_id)
    if run["state"] != "success":
        show_failures(api, "closing", run)
        raise SystemExit("the closing did not record the approval")
    export = wait_until(
        "voucher_export started by the approval",
        lambda: next(iter(api.runs("voucher_export")), None),
        timeout=120,
        poll=1,
    )
    export = wait_for_run(api, "voucher_export", export["dag_run_id"], timeout=240)
    if export["state"] != "success":
        show_failures(api, "voucher_export", export)
    print_export_report(default_warehouse_url(), partition)
    check_new_extract(env, default_warehouse_url(), partition)


def outbox_rows(warehouse_url: str, partition: Partition) -> list[Any]:
    from include.closing.outbox import Outbox
    from include.warehouse.engine import engine_for

    engine, owned = engine_for(warehouse_url)
    try:
        return list(
            Outbox(engine).partition_rows(partition.company_id, partition.fiscal_year_start)
        )
    finally:
        if owned:
            engine.dispose()


def check_new_extract(env: dict[str, str], warehouse_url: str, partition: Partition) -> None:
    """A new SIE 4 export of the year from Fortnox holds every sent voucher (series, number)."""
    from include.fortnox.config import FortnoxSettings
    from include.fortnox.session import FortnoxSession
    from include.sie4 import read_sie

    rows = outbox_rows(warehouse_url, partition)
    sent = {(r.fortnox_series, str(r.fortnox_number)) for r in rows if r.state == "sent"}
    with FortnoxSession(FortnoxSettings.from_env(env), environ=env) as session:
        client = session.client(partition.tenant_id)
        year = next(
            int(y["Id"])
            for y in client.financial_years()
            if y["FromDate"] == partition.fiscal_year_start.isoformat()
        )
        document = read_sie(client.sie(year, 4))
    found = {(v.series, v.number) for v in document.vouchers} & sent
    missing = sorted(f"{s}{n}" for s, n in sent - found)
    say(
        f"a new SIE 4 export of the year from Fortnox: {len(document.vouchers)} vouchers, "
        f"{len(found)} of the {len(sent)} sent among them"
        + (f"; MISSING: {', '.join(missing)}" if missing else "")
    )
    if missing:
        raise SystemExit("the exported vouchers are not in Fortnox's SIE export")


def print_export_report(warehouse_url: str, partition: Partition) -> None:
    say("export report (export_outbox):")
    for row in outbox_rows(warehouse_url, partition):
        print(f"     {export_line(row)}")


def export_line(row: Any) -> str:
    number = (
        f"{row.fortnox_series}{row.fortnox_number}"
        if row.fortnox_series and row.fortnox_number is not None
        else "-"
    )
    file = "no file"
    if row.file_name:
        file = f"{row.file_name} {row.file_state}"
        if row.fortnox_file_id:
            file += f" (file {row.fortnox_file_id[:8]}…)"
    return f"{row.reference:<18} {row.state:<7} Fortnox {number:<6} {row.verify_state:<10} {file}"


def step_waiting_closing(api: Api, env: dict[str, str], partition: Partition) -> str:
    heading(f"d. Closing {partition.name}: left waiting for a person's approval")
    run_id = start_closing(api, env, partition, adjustments=False)
    detail = wait_for_approval(api, partition, run_id)
    say(f"approve_closing awaiting input: {detail.get('subject', '')}")
    return run_id


def step_logs(api: Api) -> None:
    heading("e. A task's log through the REST API (what the UI shows)")
    for dag_id, task_id, marker in (
        ("voucher_export", "export", "Fortnox"),
        ("sie4_to_warehouse", "load_file", ""),
    ):
        runs = [r for r in api.runs(dag_id) if r["state"] == "success"]
        if not runs:
            continue
        run_id = runs[-1]["dag_run_id"]
        tis = [t for t in api.task_instances(dag_id, run_id) if t["task_id"] == task_id]
        if not tis:
            continue
        lines = [ln for ln in api.log_lines(dag_id, run_id, tis[0]) if ln.strip()]
        shown = [ln for ln in lines if marker in ln] or lines
        say(
            f"GET .../dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1: "
            f"{len(lines)} lines"
        )
        for line in shown[:3]:
            say(f"  | {line[:140]}")
        return
    say("no task log found")


# -- the summary ------------------------------------------------------------------------------


def summary(
    api: Api, warehouse_url: str, waiting: tuple[Partition, str] | None, seconds: float
) -> None:
    import sqlalchemy as sa

    from include.closing.approval import latest_approval
    from include.closing.outbox import Outbox
    from include.quality.gate import quality_gate
    from include.warehouse import schema as w

    heading("Summary")
    engine = sa.create_engine(warehouse_url)
    partitions = fortnox_partitions(warehouse_url)
    with engine.connect() as conn:
        for p in partitions:

            def count(table: sa.Table, p: Partition = p) -> int:
                query = (
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(
                        table.c.company_id == p.company_id,
                        table.c.fiscal_year_start == p.fiscal_year_start,
                    )
                )
                return int(conn.scalar(query) or 0)

            gate = quality_gate(engine, p.company_id, p.fiscal_year_start)
            source = f"Fortnox tenant {p.tenant_id}" if p.tenant_id else "inbox SIE file"
            print(f"   {p.name} ({p.org_number}), {source}")
            print(
                f"     fiscal year {p.fiscal_year_start}..{p.fiscal_year_end}: "
                f"{count(w.voucher)} vouchers, {count(w.voucher_row)} rows loaded"
            )
            failed = ", ".join(gate.failed_checks) or "none failed"
            print(f"     quality: {gate.status or 'not checked'} ({failed}); {gate.reason}")
            approval = latest_approval(warehouse_url, p.company_id, p.fiscal_year_start)
            if approval is not None:
                rows = Outbox(engine).partition_rows(p.company_id, p.fiscal_year_start)
                numbers = ", ".join(
                    f"{r.reference} -> {r.fortnox_series}{r.fortnox_number}"
                    for r in rows
                    if r.fortnox_number is not None
                )
                print(
                    f"     closing: {approval.state} by {approval.decided_by}; exported: "
                    f"{numbers or 'nothing yet'}"
                )
            elif waiting and p == waiting[0]:
                print("     closing: waiting for approval (see below)")
    engine.dispose()
    print()
    for dag_id in DAG_IDS:
        runs = api.runs(dag_id)
        states = ", ".join(f"{r['run_type']} {r['state']}" for r in runs) or "no runs"
        print(f"   {dag_id:<18} {states}")
    base = stack.API_URL
    password_file = stack.rel(stack.PASSWORDS_FILE)
    print(f"\n   Demo finished in {seconds:.0f} s.")
    print("\n   Open the UI:  make airflow   (the sandbox and Airflow again; make airflow-stop)")
    print(f"     {base}   user admin, password: the value in {password_file}")
    print(f"     Integrations view: Admin -> Integrations, {base}/integrations/")
    if waiting:
        print(f"     Waiting approval:  Browse -> Required Actions, {base}/required_actions")
        print(f"                        the run: {base}/dags/closing/runs/{waiting[1]}")
    print(f"     Airflow's own output: {stack.rel(stack.AIRFLOW.log_file)}, task logs in the UI")
    docs = data_dir() / "quality" / "data_docs" / "index.html"
    if docs.exists():
        print(f"     Data quality (Great Expectations Data Docs): {stack.rel(docs)}")


def closing_candidates(warehouse_url: str) -> list[Partition]:
    from include.quality.gate import quality_gate

    candidates = []
    for p in fortnox_partitions(warehouse_url):
        if not p.tenant_id:
            continue
        gate = quality_gate(warehouse_url, p.company_id, p.fiscal_year_start)
        if gate.blocks:
            say(f"{p.name}: the quality gate blocks the closing ({gate.reason})")
        else:
            candidates.append(p)
    return candidates


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    started = time.monotonic()
    # SIGTERM (and SIGHUP) end the demo like Ctrl-C: the finally below stops both groups.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    running = Stack()
    try:
        heading("Setting up: clean slate, sandbox, Airflow")
        reset()
        warehouse_url = default_warehouse_url()
        env = stack.stack_env()
        run_cli(["-m", "include.warehouse", "migrate", "--url", warehouse_url], env)
        sie_file = write_books_to_inbox()
        stack.wait_for_sandbox(running.start(stack.SANDBOX, env))
        say(f"Fortnox sandbox on {stack.SANDBOX_URL} (log {stack.rel(stack.SANDBOX.log_file)})")
        airflow = running.start(stack.AIRFLOW, env)
        say(f"airflow standalone starting (log {stack.rel(stack.AIRFLOW.log_file)})")
        say("meanwhile: the sandbox's companies connected through the OAuth consent flow")
        tenants = connect_companies(env)
        stack.wait_for_airflow(airflow)
        api = Api(stack.API_URL, stack.USER, stack.admin_password())
        wait_until("the DAGs to be parsed", lambda: set(DAG_IDS) <= api.dag_ids(), 120, 1)
        if errors := api.import_errors():
            raise SystemExit(f"DAG import errors: {json.dumps(errors)[:2000]}")
        for dag_id in ("data_quality", "closing", "voucher_export"):  # no timetable: no run
            api.unpause(dag_id)
        say(f"Airflow healthy on {stack.API_URL} after {time.monotonic() - started:.0f} s")

        unpause_load_and_extract(api, sie_file)
        step_inbox(api, sie_file)
        step_fortnox(api, tenants, warehouse_url)
        candidates = closing_candidates(warehouse_url)
        if not candidates:
            raise SystemExit("no company passed the quality checks: nothing to close")
        step_closing(api, env, candidates[0])
        waiting = None
        if len(candidates) > 1:
            waiting = (candidates[1], step_waiting_closing(api, env, candidates[1]))
        step_logs(api)
        summary(api, warehouse_url, waiting, time.monotonic() - started)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping Airflow and the sandbox", file=sys.stderr)
        return 130
    except SystemExit:
        print(
            f"\nThe demo stopped. Airflow's output: {stack.rel(stack.AIRFLOW.log_file)}; "
            "`make airflow` opens the UI on what ran.",
            file=sys.stderr,
        )
        raise
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
