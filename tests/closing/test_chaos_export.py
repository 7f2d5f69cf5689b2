"""Chaos: the export under lost answers, server errors, latency and killed workers.

Against a running sandbox with 30 % commit-then-drop on every creating POST (vouchers,
uploads, connections: Fortnox commits, the answer is lost), 20 % 5xx answers and added
latency, export runs are made in spawned worker processes, most of them killed with SIGKILL
at a random point (after a random number of steps, plus a random delay) and then run again
until one completes. Every approval adds vouchers with attachments to its company's closing
(a closing grows as adjustments are added), so later runs also carry earlier vouchers.
Then two exporters of the same approval run at once (one of them sometimes killed), on
SQLite and on PostgreSQL.

What is counted is the sandbox's own record of what it holds (``GET /admin/records``): for
every approved voucher exactly one Fortnox voucher carrying its key, exactly one uploaded
file of its attachment, connected to that voucher; nothing else.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.closing.export_testing import approve, closing_vouchers, link_company
from include.closing.fortnox_body import idempotency_key_in
from include.closing.models import ClosingVoucher
from include.closing.outbox import idempotency_key
from include.closing.store import current_voucher_set
from include.warehouse.migrate import migrate
from tests.closing._chaos_worker import EXIT_OK, Job, run_job
from tests.closing._export_testkit import NO_FAULTS, PACE, RATE_WINDOW, World, export_world

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

YEAR = date(2025, 1, 1)
SEED = 2026
COMPANIES = 3  # tenants 0-2; the two-exporters tests use tenants 3 and 4
APPROVALS_PER_COMPANY = 6  # 18 approvals
VOUCHERS_PER_APPROVAL = 3
KILLED_RUNS_PER_APPROVAL = 2  # then runs to completion, then one rerun of the finished export
MAX_RUNS_PER_APPROVAL = 12
CHAOS = {"commit_then_drop_rate": 0.3, "error_rate": 0.2, "latency_ms": 15}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with export_world(tmp_path_factory.mktemp("chaos"), companies=COMPANIES + 2, seed=SEED) as w:
        yield w


@pytest.fixture
def chaos(world: World) -> Iterator[World]:
    world.local.admin("POST", "/admin/reset-stats")
    world.faults(**CHAOS)
    yield world
    world.faults(**NO_FAULTS)


@dataclass
class Tally:
    runs: int = 0
    killed: int = 0
    completed: int = 0
    reruns: int = 0
    lines_before_kill: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *, killed: bool, completed: bool, lines: int) -> None:
        with self.lock:
            self.runs += 1
            self.killed += killed
            self.completed += completed
            if killed:
                self.lines_before_kill.append(lines)


def _report_line(path: Path) -> str:
    (line,) = [x for x in path.read_text().splitlines() if x.startswith("REPORT ")]
    return line.removeprefix("REPORT ")


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _job(world: World, url: str, approval_id: str, progress: Path) -> Job:
    return Job(
        warehouse_url=url,
        approval_id=approval_id,
        settings=world.local.settings,
        pacer_dir=str(world.root / "pacer"),
        max_requests=PACE,
        window=RATE_WINDOW,
        env=world.env,
        progress=str(progress),
    )


# Workers start from a fork server: a clean process (no threads, no sandbox, no pytest) that
# imported the worker's modules once, so each start is cheap and still shares nothing.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["tests.closing._chaos_worker", "include.closing.export"])


def _start(job: Job) -> multiprocessing.process.BaseProcess:
    process = _CONTEXT.Process(target=run_job, args=(job,))
    process.start()
    return process


def _kill_at(
    process: multiprocessing.process.BaseProcess,
    progress: Path,
    after_lines: int,
    extra_delay: float,
    deadline: float,
) -> bool:
    """SIGKILL once the worker has logged ``after_lines`` steps (+ a delay); False if it ended
    first."""
    while process.is_alive() and time.monotonic() < deadline:
        if _lines(progress) >= after_lines:
            time.sleep(extra_delay)
            if process.is_alive():
                assert process.pid is not None
                os.kill(process.pid, signal.SIGKILL)
                process.join(30)
                return True
            break
        time.sleep(0.01)
    process.join(120)
    return False


def _export_until_done(
    world: World, url: str, approval_id: str, rng: random.Random, workdir: Path, tally: Tally
) -> None:
    for attempt in range(1, MAX_RUNS_PER_APPROVAL + 1):
        progress = workdir / f"{approval_id}-{attempt}.log"
        process = _start(_job(world, url, approval_id, progress))
        killed = False
        if attempt <= KILLED_RUNS_PER_APPROVAL:
            killed = _kill_at(
                process,
                progress,
                rng.randint(1, 12),
                rng.uniform(0, 0.15),
                time.monotonic() + 120,
            )
        else:
            process.join(180)
        done = not killed and process.exitcode == EXIT_OK
        tally.add(killed=killed, completed=done, lines=_lines(progress))
        if done:
            _rerun_finished(world, url, approval_id, workdir, tally)
            return
    tail = progress.read_text(errors="replace")[-3000:]
    raise AssertionError(f"{approval_id} not done after {MAX_RUNS_PER_APPROVAL} runs:\n{tail}")


def _approve(url: str, company_id: int, vouchers: tuple[ClosingVoucher, ...]):  # type: ignore[no-untyped-def]
    """``approve`` while other companies' exports write to the same SQLite file.

    record_approval reads, then writes, in one deferred transaction; SQLite answers
    SQLITE_BUSY at once (no busy wait) when another connection committed in between. The
    export's own writes start with their write; this retry is the test harness's.
    """
    for _ in range(50):
        try:
            return approve(url, company_id, YEAR, vouchers)
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.1)
    return approve(url, company_id, YEAR, vouchers)


def _rerun_finished(world: World, url: str, approval_id: str, workdir: Path, tally: Tally) -> None:
    """Run a finished export again (the UI's clear and rerun): it must send nothing."""
    progress = workdir / f"{approval_id}-rerun.log"
    process = _start(_job(world, url, approval_id, progress))
    process.join(180)
    assert process.exitcode == EXIT_OK, progress.read_text(errors="replace")[-2000:]
    assert "nothing to send" in progress.read_text()
    tally.add(killed=False, completed=False, lines=_lines(progress))
    with tally.lock:
        tally.reruns += 1


def _company_sequence(
    world: World,
    url: str,
    index: int,
    company_ids: list[int],
    workdir: Path,
    tally: Tally,
    errors: list[BaseException],
) -> None:
    try:
        rng = random.Random(SEED * 100 + index)
        company_id = company_ids[index]
        vouchers: tuple[ClosingVoucher, ...] = ()
        for n in range(APPROVALS_PER_COMPANY):
            vouchers += closing_vouchers(
                VOUCHERS_PER_APPROVAL, tag=f"chaos{index}", start=n * VOUCHERS_PER_APPROVAL + 1
            )
            approval = _approve(url, company_id, vouchers)
            _export_until_done(world, url, approval.approval_id, rng, workdir, tally)
    except BaseException as exc:
        errors.append(exc)


def _keys(url: str, company_id: int) -> list[str]:
    voucher_set = current_voucher_set(url, company_id, YEAR)
    return [idempotency_key(voucher_set, v) for v in voucher_set.vouchers]


def _assert_exactly_once(world: World, tenant: dict[str, Any], keys: list[str]) -> None:
    """From the sandbox's records: every key once, its file once and connected to it; no
    other closing voucher, no other file."""
    records = world.local.admin("GET", "/admin/records")["Tenants"][str(tenant["TenantId"])]
    by_key: dict[str, list[tuple[str, int]]] = {}
    for v in records["Vouchers"]:
        key = idempotency_key_in(v["Comments"])
        if key is not None:
            by_key.setdefault(key, []).append((v["VoucherSeries"], int(v["VoucherNumber"])))
    duplicates = {k: v for k, v in by_key.items() if len(v) > 1}
    assert duplicates == {}, f"duplicate vouchers: {duplicates}"
    assert sorted(by_key) == sorted(keys), "missing or unexpected vouchers"
    files_by_key: dict[str, list[str]] = {}
    for f in records["Files"]:
        files_by_key.setdefault(str(f["Name"]).split("_", 1)[0], []).append(str(f["Id"]))
    duplicate_files = {k: v for k, v in files_by_key.items() if len(v) > 1}
    assert duplicate_files == {}, f"duplicate uploads: {duplicate_files}"
    assert sorted(files_by_key) == sorted(keys), "missing or unexpected files"
    connections = {
        c["FileId"]: (c["VoucherSeries"], int(c["VoucherNumber"]))
        for c in records["FileConnections"]
    }
    for key in keys:
        (file_id,) = files_by_key[key]
        assert connections.get(file_id) == by_key[key][0], f"{key}: file not connected to it"
    assert len(connections) == len(keys)


def test_fifty_export_runs_with_faults_and_killed_workers_leave_each_voucher_once(
    chaos: World, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    company_ids = [link_company(url, chaos.tenant(i)) for i in range(COMPANIES)]
    tally = Tally()
    errors: list[BaseException] = []
    threads = [
        threading.Thread(
            target=_company_sequence,
            args=(chaos, url, i, company_ids, tmp_path, tally, errors),
            daemon=True,
        )
        for i in range(COMPANIES)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    elapsed = time.monotonic() - started
    assert errors == [], errors
    stats = chaos.local.admin("GET", "/admin/stats")["tenants"]

    print(
        f"chaos: {tally.runs} runs, {tally.killed} killed (after {sorted(tally.lines_before_kill)}"
        f" steps), {tally.completed} completed, {tally.reruns} reruns of finished exports, "
        f"{elapsed:.0f} s; faults: "
        f"{sum(s['commit_then_drop'] for s in stats.values())} commit-then-drop, "
        f"{sum(s['errors_injected'] for s in stats.values())} 5xx"
    )
    assert tally.runs >= 50
    assert tally.completed == COMPANIES * APPROVALS_PER_COMPANY
    assert tally.killed >= 25  # most planned kills landed mid-run, not after the end
    assert sum(s["commit_then_drop"] for s in stats.values()) >= 20  # the faults did happen
    assert sum(s["errors_injected"] for s in stats.values()) >= 20
    assert max(s["max_in_window"] for s in stats.values()) <= 25  # within the rate limit
    for index in range(COMPANIES):
        tenant = chaos.tenant(index)
        keys = _keys(url, company_ids[index])
        assert len(keys) == APPROVALS_PER_COMPANY * VOUCHERS_PER_APPROVAL
        _assert_exactly_once(chaos, tenant, keys)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_exporters_of_one_approval_at_once_with_faults_and_kills(
    chaos: World, tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        migrate(url)
    else:
        url = str(request.getfixturevalue("pg_warehouse_url"))
    index = COMPANIES if database == "sqlite" else COMPANIES + 1
    tenant = chaos.tenant(index)
    company_id = link_company(url, tenant)
    rng = random.Random(SEED + index)
    vouchers: tuple[ClosingVoucher, ...] = ()
    for n in range(3):
        new = closing_vouchers(3, tag=f"pair-{database}", start=n * 3 + 1)
        vouchers += new
        approval = approve(url, company_id, YEAR, vouchers)
        logs = [tmp_path / f"{n}-a.log", tmp_path / f"{n}-b.log"]
        first, second = (_start(_job(chaos, url, approval.approval_id, log)) for log in logs)
        killed = n == 1 and _kill_at(  # once, one of the two dies mid-run
            first, logs[0], rng.randint(1, 8), 0.05, time.monotonic() + 120
        )
        first.join(180)
        second.join(180)
        if not killed:  # both ran to the end; between them they sent each new voucher once
            assert (first.exitcode, second.exitcode) == (EXIT_OK, EXIT_OK)
            sent = [json.loads(_report_line(log))["sent_in_this_run"] for log in logs]
            assert sum(sent) == len(new), sent
        _export_until_done(chaos, url, approval.approval_id, rng, tmp_path, Tally())
    _assert_exactly_once(chaos, tenant, _keys(url, company_id))
