"""Token store: encryption at rest, safe single-use refresh, reconnect handling."""

from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from _fortnox_testkit import FakeTokenServer

from include.fortnox.config import FortnoxSettings
from include.fortnox.errors import NotConnected, TokenKeyError
from include.fortnox.models import ReconnectRequired, TokenSet
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.token_schema import create_token_tables
from include.fortnox.tokens import TokenCipher, TokenStore, _file_lock

KEY = TokenCipher.generate_key()
TENANT = "1234567"


def settings_for(base_url: str) -> FortnoxSettings:
    return FortnoxSettings(
        client_id=FakeTokenServer.CLIENT_ID,
        client_secret=FakeTokenServer.CLIENT_SECRET,
        api_url=f"{base_url}/3",
        token_url=f"{base_url}/oauth-v1/token",
        revoke_url=f"{base_url}/oauth-v1/revoke",
    )


def expiring_tokens(refresh: str | None, seconds: int = 60) -> TokenSet:
    return TokenSet(
        access_token="old-access-SECRET",
        refresh_token=refresh,
        expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
        scope="bookkeeping",
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tokens.db'}"


@pytest.fixture
def token_server():
    with FakeTokenServer(refresh_delay=0.2) as server:
        yield server


def make_store(url: str, server: FakeTokenServer | None = None, **kwargs) -> TokenStore:
    oauth = FortnoxOAuth(settings_for(server.base_url)) if server else None
    store = TokenStore(url, TokenCipher([KEY]), oauth, **kwargs)
    create_token_tables(store.engine)
    return store


def connect(store: TokenStore, server: FakeTokenServer, *, seconds: int = 60) -> None:
    first = server.issue(refresh=True)
    store.save_connection(
        TENANT,
        expiring_tokens(str(first["refresh_token"]), seconds),
        company_name="Åkesson Bygg AB",
        org_number="556677-8899",
    )


def raw_row(store: TokenStore) -> dict[str, object]:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(store.table)).mappings().one())


def test_tokens_are_encrypted_at_rest(sqlite_url: str) -> None:
    store = make_store(sqlite_url)
    store.save_connection(
        TENANT,
        TokenSet(
            "plain-access-SECRET", "plain-refresh-SECRET", datetime.now(UTC) + timedelta(hours=1)
        ),
        company_name="Acme AB",
        org_number="556000-0001",
    )
    row = raw_row(store)
    dump = repr(row)
    assert "plain-access-SECRET" not in dump and "plain-refresh-SECRET" not in dump
    db_bytes = Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()
    assert b"plain-access-SECRET" not in db_bytes and b"plain-refresh-SECRET" not in db_bytes
    assert store.get_access_token(TENANT) == "plain-access-SECRET"  # fresh: no OAuth needed
    conn = store.connection(TENANT)
    assert (conn.company_name, conn.status, conn.refresh_count) == ("Acme AB", "connected", 0)
    assert "SECRET" not in repr(conn) and "SECRET" not in repr(store)


def test_missing_or_wrong_key_is_a_clear_error(sqlite_url: str) -> None:
    with pytest.raises(TokenKeyError, match="FORTNOX_TOKEN_KEY is not set"):
        TokenCipher.from_env({})
    with pytest.raises(TokenKeyError, match="not a valid Fernet key"):
        TokenCipher.from_env({"FORTNOX_TOKEN_KEY": "short"})
    store = make_store(sqlite_url)
    store.save_connection(
        TENANT,
        TokenSet("a-SECRET", "r-SECRET", datetime.now(UTC) + timedelta(hours=1)),
        company_name="Acme AB",
    )
    other = TokenStore(sqlite_url, TokenCipher([TokenCipher.generate_key()]))
    with pytest.raises(TokenKeyError, match="Acme AB") as info:
        other.get_access_token(TENANT)
    assert "SECRET" not in str(info.value)


def test_key_rotation(sqlite_url: str) -> None:
    store = make_store(sqlite_url)
    store.save_connection(
        TENANT, TokenSet("a-SECRET", "r-SECRET", datetime.now(UTC) + timedelta(hours=1))
    )
    new_key = TokenCipher.generate_key()
    rotating = TokenStore(
        sqlite_url, TokenCipher.from_env({"FORTNOX_TOKEN_KEY": f"{new_key},{KEY}"})
    )
    assert rotating.get_access_token(TENANT) == "a-SECRET"
    assert rotating.rotate_keys() == 1
    only_new = TokenStore(sqlite_url, TokenCipher([new_key]))
    assert only_new.get_access_token(TENANT) == "a-SECRET"


def test_refresh_persists_new_refresh_token(sqlite_url: str, token_server: FakeTokenServer) -> None:
    store = make_store(sqlite_url, token_server)
    connect(store, token_server)
    token = store.get_access_token(TENANT)
    assert token.startswith("access-") and token_server.refresh_calls == 1
    # A different store (another process, in effect) sees the rotated refresh token.
    reader = TokenStore(sqlite_url, TokenCipher([KEY]))
    row = raw_row(reader)
    refresh = TokenCipher([KEY]).decrypt(str(row["refresh_token_encrypted"]), company="x")
    assert refresh in token_server.valid_refresh
    assert reader.connection(TENANT).refresh_count == 1
    assert reader.get_access_token(TENANT) == token  # now fresh: no second refresh
    assert token_server.refresh_calls == 1


def test_access_token_not_returned_when_persisting_fails(
    sqlite_url: str, token_server: FakeTokenServer
) -> None:
    store = make_store(sqlite_url, token_server)
    connect(store, token_server)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER no_update BEFORE UPDATE ON fortnox_connection "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(sa.exc.DatabaseError, match="disk full"):
        store.get_access_token(TENANT)
    assert token_server.refresh_calls == 1


def test_invalid_grant_marks_reconnect_and_then_fails_fast(
    sqlite_url: str, token_server: FakeTokenServer
) -> None:
    store = make_store(sqlite_url, token_server)
    store.save_connection(
        TENANT, expiring_tokens("refresh-never-issued"), company_name="Åkesson Bygg AB"
    )
    with pytest.raises(ReconnectRequired, match="Åkesson Bygg AB") as info:
        store.get_access_token(TENANT)
    assert "must reconnect" in str(info.value) and "SECRET" not in str(info.value)
    assert token_server.refresh_calls == 1
    conn = store.connection(TENANT)
    assert conn.status == "reconnect_required"
    assert conn.status_reason == "Invalid refresh token"
    assert store.list_connected() == []
    for _ in range(3):
        with pytest.raises(ReconnectRequired):
            store.get_access_token(TENANT)
    assert token_server.refresh_calls == 1  # no retry storm


def test_unknown_company(sqlite_url: str) -> None:
    store = make_store(sqlite_url)
    with pytest.raises(NotConnected, match="999"):
        store.get_access_token("999")


def test_client_credentials_connection(sqlite_url: str, token_server: FakeTokenServer) -> None:
    store = make_store(sqlite_url, token_server)
    store.save_connection(
        TENANT, expiring_tokens(None), company_name="Service AB", grant_type="client_credentials"
    )
    token = store.get_access_token(TENANT)
    assert token.startswith("access-")
    assert token_server.client_credential_calls == 1 and token_server.refresh_calls == 0
    assert store.connection(TENANT).refresh_count == 1


def test_revoke(sqlite_url: str, token_server: FakeTokenServer) -> None:
    store = make_store(sqlite_url, token_server)
    connect(store, token_server, seconds=3600)
    conn = store.revoke(TENANT)
    assert conn.status == "revoked"
    assert len(token_server.revoked) == 1 and token_server.revoked[0].startswith("refresh-")
    row = raw_row(store)
    assert row["refresh_token_encrypted"] is None and row["access_token_encrypted"] is None
    with pytest.raises(ReconnectRequired):
        store.get_access_token(TENANT)


def test_provider_caches_until_near_expiry(sqlite_url: str) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(
            200,
            json={"access_token": f"new-{calls['n']}", "refresh_token": "r2", "expires_in": 3600},
        )

    settings = settings_for("https://fortnox.test")
    oauth = FortnoxOAuth(settings, transport=httpx.MockTransport(handler))
    store = TokenStore(sqlite_url, TokenCipher([KEY]), oauth)
    create_token_tables(store.engine)
    store.save_connection(TENANT, expiring_tokens("r1"))
    provider = store.provider(TENANT)
    assert [provider() for _ in range(5)] == ["new-1"] * 5
    assert calls["n"] == 1
    assert "new-1" not in repr(provider)


def test_threads_refresh_once(sqlite_url: str, token_server: FakeTokenServer) -> None:
    store = make_store(sqlite_url, token_server)
    connect(store, token_server)
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.get_access_token(TENANT)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert token_server.refresh_calls == 1


def _capture(fn, errors: list[BaseException]):
    def run(*args):
        try:
            return fn(*args)
        except BaseException as exc:  # re-raised by the test through ``errors``
            errors.append(exc)
            raise

    return run


def test_sqlite_refresh_save_waits_out_a_long_load(sqlite_url: str) -> None:
    # Fortnox has answered, so the old refresh token is dead: the save must wait for a load
    # holding SQLite's write lock longer than the store's usual busy timeout (1 s here).
    with FakeTokenServer(refresh_delay=0.3) as server:
        store = make_store(sqlite_url, server)
        connect(store, server)
        impatient = TokenStore(
            sa.create_engine(sqlite_url, connect_args={"timeout": 1}, pool_size=1),
            TokenCipher([KEY]),
            FortnoxOAuth(settings_for(server.base_url)),
        )
        load = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=5)
        load.execute("PRAGMA journal_mode = WAL")
        load.execute("BEGIN IMMEDIATE")  # a load takes the write lock and keeps it ...
        load.execute("CREATE TABLE warehouse_load_marker (x INTEGER)")
        errors: list[BaseException] = []
        results: list[str] = []
        refresher = threading.Thread(
            target=_capture(lambda t: results.append(impatient.get_access_token(t)), errors),
            args=(TENANT,),
        )
        refresher.start()
        deadline = time.monotonic() + 10
        while server.refresh_calls == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.refresh_calls == 1  # Fortnox is answering: the old token is dead
        time.sleep(0.3 + 1.5)  # ... past its answer and past the 1 s busy timeout
        assert refresher.is_alive()  # still waiting to save, not failed
        load.execute("COMMIT")
        load.close()
        refresher.join(30)
        assert not refresher.is_alive() and not errors
    assert server.refresh_calls == 1
    row = raw_row(store)
    assert TokenCipher([KEY]).decrypt(str(row["refresh_token_encrypted"]), company="x") in (
        server.valid_refresh
    )
    assert store.connection(TENANT).status == "connected"
    assert results and results[0] == store.get_access_token(TENANT)
    with impatient.engine.connect() as conn:  # the pooled connection has its usual timeout back
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000
    impatient.engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///{dir}/wh.db", "{dir}/.wh.db.fortnox-55_1.lock"),
        ("sqlite:///{dir}/link.db", "{dir}/.wh.db.fortnox-55_1.lock"),  # a symlink to wh.db
        ("sqlite:///file:{dir}/wh.db?uri=true", "{dir}/.wh.db.fortnox-55_1.lock"),
        ("sqlite:///file://localhost{dir}/wh.db?uri=true", "{dir}/.wh.db.fortnox-55_1.lock"),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("sqlite://", None),
    ],
)
def test_sqlite_lock_file_is_one_per_database_and_company(
    tmp_path: Path, url: str, expected: str | None
) -> None:
    (tmp_path / "wh.db").touch()
    (tmp_path / "link.db").symlink_to(tmp_path / "wh.db")
    dir_ = tmp_path.resolve()
    store = TokenStore(url.format(dir=tmp_path), TokenCipher([KEY]))
    path = store._tenant_lock_path("55/1")
    assert (str(path) if path else None) == (expected.format(dir=dir_) if expected else None)


def test_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".wh.db.fortnox-1.lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT)  # another process stuck mid-refresh
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        waiting = _file_lock(path, wait=timedelta(seconds=0.3))
        with pytest.raises(TimeoutError, match="held by another process"), waiting:
            pass
    finally:
        os.close(holder)
    with _file_lock(path, wait=timedelta(seconds=0.3)):  # free again once the holder is gone
        pass


def test_sqlite_refresh_does_not_block_other_writers(sqlite_url: str) -> None:
    # The token table shares the warehouse's SQLite file by default: a load must be able to
    # commit while a refresh waits on Fortnox.
    with FakeTokenServer(refresh_delay=3.0) as server:
        store = make_store(sqlite_url, server)
        connect(store, server)
        results: list[str] = []
        refresher = threading.Thread(target=lambda: results.append(store.get_access_token(TENANT)))
        refresher.start()
        deadline = time.monotonic() + 10
        while server.refresh_calls == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.refresh_calls == 1 and refresher.is_alive()  # the refresh is in flight
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.5)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("CREATE TABLE warehouse_load_marker (x INTEGER)")
            other.execute("COMMIT")
        finally:
            other.close()
        assert refresher.is_alive()  # the write went through during the refresh, not after it
        refresher.join(30)
        assert not refresher.is_alive()
    assert results and results[0] != "old-access-SECRET"
    assert server.refresh_calls == 1
    assert store.connection(TENANT).refresh_count == 1


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_reconnect_during_a_refresh_wins(db: str, request: pytest.FixtureRequest) -> None:
    # An operator reconnects a company while a task is refreshing its old grant: the new
    # connection must survive, not be overwritten by the refresh's answer when it comes.
    url = str(request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_schema_url"))
    with FakeTokenServer(refresh_delay=1.5) as server:
        store = make_store(url, server)
        try:
            connect(store, server)
            errors: list[BaseException] = []
            refresher = threading.Thread(
                target=_capture(store.get_access_token, errors), args=(TENANT,)
            )
            refresher.start()
            deadline = time.monotonic() + 10
            while server.refresh_calls == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert server.refresh_calls == 1 and refresher.is_alive()
            reconnected = TokenSet(
                access_token="reconnected-access",
                refresh_token="reconnected-refresh",
                expires_at=datetime.now(UTC) + timedelta(hours=1),
                scope="bookkeeping",
            )
            store.save_connection(TENANT, reconnected, company_name="Åkesson Bygg AB")
            refresher.join(30)
            assert not refresher.is_alive() and not errors
            assert store.connection(TENANT).refresh_count == 0
            assert store.get_access_token(TENANT) == "reconnected-access"
            assert server.refresh_calls == 1
        finally:
            store.engine.dispose()


def _worker(url: str, base_url: str, barrier, results) -> None:
    # A forked process: it builds its own store (own engine and connections), as a task would.
    try:
        store = TokenStore(url, TokenCipher([KEY]), FortnoxOAuth(settings_for(base_url)))
        barrier.wait(30)
        token = store.get_access_token(TENANT)
        results.put({"token_sha": hashlib.sha256(token.encode()).hexdigest()})
    except Exception as exc:
        results.put({"error": type(exc).__name__, "message": str(exc)})


def run_workers(url: str, server: FakeTokenServer, count: int = 8) -> list[dict[str, str]]:
    # fork: the children skip re-importing everything (the suite must stay fast on 2 cores).
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(count)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, server.base_url, barrier, results))
        for _ in range(count)
    ]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    return answers


def assert_one_refresh_for_all(store: TokenStore, server: FakeTokenServer, results) -> None:
    assert all("token_sha" in r for r in results), results
    assert len({r["token_sha"] for r in results}) == 1  # everyone got the one new token
    assert server.refresh_calls == 1
    conn = store.connection(TENANT)
    assert conn.status == "connected" and conn.refresh_count == 1
    row = raw_row(store)
    refresh = TokenCipher([KEY]).decrypt(str(row["refresh_token_encrypted"]), company="x")
    assert refresh in server.valid_refresh  # the stored token is the live one
    access = TokenCipher([KEY]).decrypt(str(row["access_token_encrypted"]), company="x")
    assert hashlib.sha256(access.encode()).hexdigest() == results[0]["token_sha"]


@pytest.mark.slow
def test_eight_processes_refresh_once_sqlite(
    sqlite_url: str, token_server: FakeTokenServer
) -> None:
    store = make_store(sqlite_url, token_server)
    connect(store, token_server)
    results = run_workers(sqlite_url, token_server)
    assert_one_refresh_for_all(store, token_server, results)


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_refresh_once_postgres(
    pg_schema_url: str, token_server: FakeTokenServer
) -> None:
    store = make_store(pg_schema_url, token_server)
    try:
        connect(store, token_server)
        results = run_workers(pg_schema_url, token_server)
        assert_one_refresh_for_all(store, token_server, results)
    finally:
        store.engine.dispose()


@pytest.mark.postgres
def test_invalid_grant_postgres(pg_schema_url: str, token_server: FakeTokenServer) -> None:
    store = make_store(pg_schema_url, token_server)
    try:
        store.save_connection(TENANT, expiring_tokens("bogus"), company_name="Pg AB")
        with pytest.raises(ReconnectRequired, match="Pg AB"):
            store.get_access_token(TENANT)
        with pytest.raises(ReconnectRequired):
            store.get_access_token(TENANT)
        assert token_server.refresh_calls == 1
        assert store.connection(TENANT).access_expires_at.tzinfo is not None
    finally:
        store.engine.dispose()
