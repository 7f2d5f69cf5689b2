"""OAuth state: random, bound to the person and their browser, single use, expiring."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.fortnox.database import open_engine
from include.integrations.oauth_state import (
    OAuthStateStore,
    StateRefused,
    create_state_tables,
    oauth_state,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_state_tables(engine)
    create_state_tables(engine)  # checkfirst: a second call is harmless
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(engine: sa.Engine, clock: Clock) -> OAuthStateStore:
    return OAuthStateStore(engine, clock=clock)


def test_issue_then_consume_once(store: OAuthStateStore) -> None:
    issued = store.issue("admin", service_account=True)
    request = store.consume(issued.state, username="admin", nonce=issued.nonce)
    assert request.username == "admin" and request.service_account is True
    with pytest.raises(StateRefused, match="already used"):
        store.consume(issued.state, username="admin", nonce=issued.nonce)


def test_states_are_random_and_stored_only_as_digests(
    store: OAuthStateStore, engine: sa.Engine
) -> None:
    issued = [store.issue("admin") for _ in range(20)]
    assert len({i.state for i in issued}) == 20 and len({i.nonce for i in issued}) == 20
    assert all(len(i.state) >= 40 for i in issued)
    with engine.connect() as conn:
        stored = str(conn.execute(sa.select(oauth_state)).all())
    assert not [i for i in issued if i.state in stored or i.nonce in stored]
    assert "state=" not in repr(issued[0]) and issued[0].state not in repr(issued[0])


@pytest.mark.parametrize("state", [None, "", "not-a-state-we-issued"])
def test_missing_or_unknown_state_is_refused(store: OAuthStateStore, state: str | None) -> None:
    store.issue("admin")
    with pytest.raises(StateRefused, match=r"no state|does not belong"):
        store.consume(state, username="admin", nonce="whatever")


def test_expired_state_is_refused(store: OAuthStateStore, clock: Clock) -> None:
    issued = store.issue("admin")
    clock.now += timedelta(minutes=10, seconds=1)
    with pytest.raises(StateRefused, match="expired"):
        store.consume(issued.state, username="admin", nonce=issued.nonce)


def test_state_of_another_user_or_browser_is_refused(store: OAuthStateStore) -> None:
    issued = store.issue("admin")
    with pytest.raises(StateRefused, match="another Airflow user"):
        store.consume(issued.state, username="mallory", nonce=issued.nonce)
    second = store.issue("admin")
    with pytest.raises(StateRefused, match="another browser"):
        store.consume(second.state, username="admin", nonce="cookie-of-another-browser")
    third = store.issue("admin")
    with pytest.raises(StateRefused, match="another browser"):
        store.consume(third.state, username="admin", nonce=None)


def test_a_refused_presentation_burns_the_state(store: OAuthStateStore) -> None:
    # Presented by the wrong person first, the state cannot be used by anyone afterwards.
    issued = store.issue("admin")
    with pytest.raises(StateRefused):
        store.consume(issued.state, username="mallory", nonce=issued.nonce)
    with pytest.raises(StateRefused, match="already used"):
        store.consume(issued.state, username="admin", nonce=issued.nonce)


def test_two_workers_presenting_one_state_at_once_one_wins(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engine = open_engine(url)
    create_state_tables(engine)
    issued = OAuthStateStore(engine).issue("admin")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        own = open_engine(url)  # each worker its own engine, as separate processes would
        barrier.wait()
        try:
            OAuthStateStore(own).consume(issued.state, username="admin", nonce=issued.nonce)
            outcomes.append("accepted")
        except StateRefused:
            outcomes.append("refused")
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(outcomes) == ["accepted"] + ["refused"] * 5


def test_old_states_are_cleaned_up(store: OAuthStateStore, engine: sa.Engine, clock: Clock) -> None:
    store.issue("admin")
    clock.now += timedelta(days=2)
    store.issue("admin")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(oauth_state)).scalar() == 1


@pytest.mark.postgres
def test_consume_once_on_postgres(pg_schema_url: str) -> None:
    engine = open_engine(pg_schema_url)
    try:
        create_state_tables(engine)
        store = OAuthStateStore(engine)
        issued = store.issue("admin")
        assert store.consume(issued.state, username="admin", nonce=issued.nonce).username == "admin"
        with pytest.raises(StateRefused, match="already used"):
            store.consume(issued.state, username="admin", nonce=issued.nonce)
    finally:
        engine.dispose()
