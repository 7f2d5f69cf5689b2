"""Pacers: the sliding window is never exceeded, across threads and across processes; the
database pacer on SQLite and on PostgreSQL (the multi-host case with the sandbox is in
tests/integration/test_fortnox_pacer_hosts.py)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.fortnox.config import FortnoxSettings
from include.fortnox.models import FortnoxError
from include.fortnox.pacer_schema import create_pacer_tables
from include.fortnox.pacing import DatabasePacer, FilePacer, MemoryPacer, PacerTableMissing
from include.fortnox.session import FortnoxSession
from include.fortnox.tokens import TokenCipher

MAX = 5
WINDOW = 0.5
# Scheduling delay between the pacer granting a slot and the caller reading the clock.
SLACK = 0.05


def assert_within_window(starts: list[float], max_requests: int, window: float) -> None:
    starts = sorted(starts)
    for first, later in zip(starts, starts[max_requests:], strict=False):
        assert later - first >= window - SLACK, (
            f"{max_requests + 1} requests within {later - first:.3f}s (window {window}s)"
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def make_pacer_db(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database with the pacer table: a SQLite file, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = str(request.getfixturevalue("pg_schema_url"))
    engine = sa.create_engine(url)
    create_pacer_tables(engine)
    engine.dispose()
    return url


@pytest.fixture(params=DATABASES)
def pacer_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_pacer_db(request.param, tmp_path, request)


@pytest.mark.parametrize("kind", ["memory", "file", *DATABASES])
def test_pacer_with_fake_clock_waits_exactly_for_the_oldest_slot(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    clock = FakeClock()
    pacer: MemoryPacer | FilePacer | DatabasePacer
    if kind == "memory":
        pacer = MemoryPacer(3, 5.0, clock=clock, sleep=clock.sleep)
    elif kind == "file":
        pacer = FilePacer(tmp_path, 3, 5.0, clock=clock, sleep=clock.sleep)
    else:
        url = make_pacer_db(kind, tmp_path, request)
        pacer = DatabasePacer(url, 3, 5.0, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(7):
        pacer.acquire("client:1")
        granted.append(clock.now)
        clock.now += 1.0  # a request takes a second
    # Three start at once-a-second, the fourth waits until the first leaves the window.
    assert granted == [1000.0, 1001.0, 1002.0, 1005.0, 1006.0, 1007.0, 1010.0]
    # Another tenant has its own window.
    before = clock.now
    pacer.acquire("client:2")
    assert clock.now == before
    if isinstance(pacer, DatabasePacer):
        pacer.close()


def test_file_pacer_keeps_keys_apart(tmp_path: Path) -> None:
    pacer = FilePacer(tmp_path)
    assert pacer.path_for("a/b") != pacer.path_for("a_b")
    assert pacer.path_for("cid:123").parent == tmp_path


def test_file_pacer_ignores_garbage_and_future_entries(tmp_path: Path) -> None:
    clock = FakeClock()
    pacer = FilePacer(tmp_path, 2, 5.0, clock=clock, sleep=clock.sleep)
    path = pacer.path_for("k")
    path.write_text(f"junk\n{clock.now + 999}\n")
    pacer.acquire("k")
    pacer.acquire("k")
    assert clock.now == 1000.0  # neither the torn line nor the future stamp took a slot


def _threads_acquire(
    pacer: MemoryPacer | FilePacer | DatabasePacer, threads: int, per_thread: int
) -> list[float]:
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(per_thread):
            pacer.acquire("tenant")
            now = time.time()
            with lock:
                starts.append(now)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return starts


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_threads_never_exceed_window(kind: str, tmp_path: Path) -> None:
    pacer = (
        MemoryPacer(MAX, WINDOW, clock=time.time)
        if kind == "memory"
        else FilePacer(tmp_path, MAX, WINDOW)
    )
    starts = _threads_acquire(pacer, threads=4, per_thread=4)
    assert len(starts) == 16
    assert_within_window(starts, MAX, WINDOW)  # implies the three windows 16 slots need


def _process_worker(directory: str, count: int, out: str) -> None:
    pacer = FilePacer(directory, MAX, WINDOW)
    stamps = []
    for _ in range(count):
        pacer.acquire("tenant")
        stamps.append(time.time())
    Path(out).write_text("\n".join(f"{s:.6f}" for s in stamps))


def test_processes_and_threads_never_exceed_window(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    pacer_dir = tmp_path / "pacer"
    outs = [tmp_path / f"out{i}.txt" for i in range(3)]
    procs = [
        ctx.Process(target=_process_worker, args=(str(pacer_dir), 4, str(out))) for out in outs
    ]
    for p in procs:
        p.start()
    # This process joins in with threads on the same directory.
    local = _threads_acquire(FilePacer(pacer_dir, MAX, WINDOW), threads=2, per_thread=2)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    starts = local + [float(x) for out in outs for x in out.read_text().split()]
    assert len(starts) == 16
    assert_within_window(starts, MAX, WINDOW)


def test_database_pacer_ignores_garbage_and_future_entries_and_prunes(pacer_db: str) -> None:
    clock = FakeClock()
    pacer = DatabasePacer(pacer_db, 2, 5.0, clock=clock, sleep=clock.sleep)
    table = pacer.table
    with pacer.engine.begin() as conn:
        conn.execute(sa.insert(table).values(key="k", starts=f"junk\n{clock.now + 999}\n"))
    pacer.acquire("k")
    pacer.acquire("k")
    assert clock.now == 1000.0  # neither the torn line nor the future stamp took a slot
    clock.now += 60
    pacer.acquire("k")
    with pacer.engine.connect() as conn:
        log = conn.execute(sa.select(table.c.starts).where(table.c.key == "k")).scalar_one()
    assert log.split() == ["1060.000000"]  # old entries are removed when a slot is taken
    pacer.close()


def test_database_pacer_without_its_table_says_so(tmp_path: Path) -> None:
    pacer = DatabasePacer(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(PacerTableMissing, match=r"fortnox_pacer is missing.*migrate"):
        pacer.acquire("k")
    pacer.close()


def test_database_pacer_threads_never_exceed_window(pacer_db: str) -> None:
    pacer = DatabasePacer(pacer_db, MAX, WINDOW)
    starts = _threads_acquire(pacer, threads=4, per_thread=4)
    pacer.close()
    assert len(starts) == 16
    assert_within_window(starts, MAX, WINDOW)


def _database_worker(url: str, count: int, out: str, start: Any) -> None:
    pacer = DatabasePacer(url, MAX, WINDOW)  # its own engine and connections, as a host's
    start.wait(60)
    stamps = []
    for _ in range(count):
        pacer.acquire("tenant")
        stamps.append(time.time())
    pacer.close()
    Path(out).write_text("\n".join(f"{s:.6f}" for s in stamps))


@pytest.mark.postgres
def test_database_pacer_processes_never_exceed_window_postgres(
    pg_schema_url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(pg_schema_url)
    create_pacer_tables(engine)
    engine.dispose()
    ctx = multiprocessing.get_context("spawn")  # nothing inherited: like separate hosts
    start = ctx.Barrier(3)
    outs = [tmp_path / f"out{i}.txt" for i in range(3)]
    procs = [
        ctx.Process(target=_database_worker, args=(pg_schema_url, 5, str(out), start))
        for out in outs
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    starts = [float(x) for out in outs for x in out.read_text().split()]
    assert len(starts) == 15
    assert_within_window(starts, MAX, WINDOW)


# -- configuration ---------------------------------------------------------------------------


def settings(**extra: str) -> FortnoxSettings:
    return FortnoxSettings.from_mapping({"client_id": "c", "client_secret": "s", **extra})


def test_pacer_kind_from_the_connection_and_the_environment() -> None:
    assert settings().resolved_pacer({}) == "file"
    assert settings(pacer="Database").resolved_pacer({}) == "database"
    assert settings(pacer="database").resolved_pacer({"FORTNOX_PACER": "file"}) == "file"
    assert settings().resolved_pacer({"FORTNOX_PACER": "database"}) == "database"
    with pytest.raises(FortnoxError, match="pacer is 'redis'"):
        settings(pacer="redis")
    with pytest.raises(FortnoxError, match="FORTNOX_PACER is 'db'"):
        settings().resolved_pacer({"FORTNOX_PACER": "db"})
    # The URL: environment, else the connection, else None (the token store's database).
    assert settings().resolved_pacer_url({}) is None
    assert settings(pacer_url="sqlite:///a.db").resolved_pacer_url({}) == "sqlite:///a.db"
    env = {"FORTNOX_PACER_URL": "sqlite:///b.db"}
    assert settings(pacer_url="sqlite:///a.db").resolved_pacer_url(env) == "sqlite:///b.db"
    assert "a.db" not in repr(settings(pacer_url="postgresql://u:pw@h/a.db"))


def test_session_builds_the_configured_pacer(tmp_path: Path) -> None:
    env = {"FORTNOX_TOKEN_KEY": TokenCipher.generate_key()}
    store = f"sqlite:///{tmp_path / 'tokens.db'}"
    with FortnoxSession(settings(token_store_url=store, pacer_dir=str(tmp_path)), environ=env) as s:
        assert isinstance(s.pacer, FilePacer)
    shared = FortnoxSession(settings(token_store_url=store, pacer="database"), environ=env)
    assert isinstance(shared.pacer, DatabasePacer)
    assert shared.pacer.engine is shared.store.engine  # same database, one engine
    shared.close()
    own_url = f"sqlite:///{tmp_path / 'pacer.db'}"
    own = FortnoxSession(
        settings(token_store_url=store), environ={**env, "FORTNOX_PACER": "database"}
    )
    assert isinstance(own.pacer, DatabasePacer) and own.pacer.engine is own.store.engine
    own.close()
    separate = FortnoxSession(
        settings(token_store_url=store, pacer="database", pacer_url=own_url), environ=env
    )
    assert isinstance(separate.pacer, DatabasePacer)
    assert separate.pacer.engine is not separate.store.engine
    create_pacer_tables(separate.pacer.engine)
    separate.pacer.acquire("k")
    assert separate.pacer.engine.pool.checkedin() == 1
    separate.close()  # disposes the pacer's own engine too
    assert separate.pacer.engine.pool.checkedin() == 0
