"""Pacers: the sliding window is never exceeded, across threads and across processes; the
database pacer on PostgreSQL (several hosts against the sandbox: in
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


@pytest.fixture
def pacer_db(pg_schema_url: str) -> str:
    """A fresh PostgreSQL schema with the pacer table."""
    engine = sa.create_engine(pg_schema_url)
    create_pacer_tables(engine)
    engine.dispose()
    return pg_schema_url


@pytest.mark.parametrize(
    "kind", ["memory", "file", pytest.param("database", marks=pytest.mark.postgres)]
)
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
        url = request.getfixturevalue("pacer_db")
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


@pytest.mark.postgres
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


@pytest.mark.postgres
def test_database_pacer_uses_the_database_clock(pacer_db: str) -> None:
    pacer = DatabasePacer(pacer_db, 1, 3600.0)
    pacer.acquire("k")
    with pacer.engine.connect() as conn:
        log = conn.execute(sa.select(pacer.table.c.starts)).scalar_one()
        server_now = conn.execute(sa.text("SELECT extract(epoch FROM now())")).scalar_one()
    assert abs(float(log) - float(server_now)) < 60
    pacer.close()


@pytest.mark.postgres
def test_database_pacer_without_its_table_says_so(pg_schema_url: str) -> None:
    pacer = DatabasePacer(pg_schema_url)
    with pytest.raises(PacerTableMissing, match=r"fortnox_pacer is missing.*migrate"):
        pacer.acquire("k")
    pacer.close()


def test_database_pacer_refuses_sqlite(tmp_path: Path) -> None:
    with pytest.raises(FortnoxError, match=r"needs PostgreSQL.*pacer=file"):
        DatabasePacer(f"sqlite:///{tmp_path / 'app.db'}")


@pytest.mark.postgres
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


@pytest.mark.postgres
def test_session_builds_the_configured_pacer(tmp_path: Path, pacer_db: str) -> None:
    env = {"FORTNOX_TOKEN_KEY": TokenCipher.generate_key()}
    sqlite_store = f"sqlite:///{tmp_path / 'tokens.db'}"
    local = settings(token_store_url=sqlite_store, pacer_dir=str(tmp_path))
    with FortnoxSession(local, environ=env) as session:
        assert isinstance(session.pacer, FilePacer)
    with pytest.raises(FortnoxError, match="needs PostgreSQL"):
        FortnoxSession(local, environ={**env, "FORTNOX_PACER": "database"})
    # Without a pacer_url: the token store's database and engine.
    shared = FortnoxSession(settings(token_store_url=pacer_db, pacer="database"), environ=env)
    assert isinstance(shared.pacer, DatabasePacer)
    assert shared.pacer.engine is shared.store.engine
    shared.close()
    # A pacer_url of its own: its own engine, disposed with the session.
    separate = FortnoxSession(
        settings(token_store_url=sqlite_store, pacer="database", pacer_url=pacer_db), environ=env
    )
    assert isinstance(separate.pacer, DatabasePacer)
    assert separate.pacer.engine is not separate.store.engine
    separate.pacer.acquire("k")
    assert separate.pacer.engine.pool.checkedin() == 1
    separate.close()
    assert separate.pacer.engine.pool.checkedin() == 0
