"""Fortnox's rate limit with workers on several hosts: the database pacer.

Worker processes are started with ``spawn`` (nothing shared but what a separate host would
share: the application database and Fortnox), all working the same tenants at once against
one PostgreSQL and a running sandbox. Counted from the sandbox's own request log
(``/admin/stats``): with the database pacer no request is refused (429) and no tenant gets
more than 25 requests in any 5 s window. The control run gives each worker its own file
pacer directory, as separate hosts have, and must be refused: it shows the check can fail.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from include.fortnox.config import FortnoxSettings
from include.fortnox.pacer_schema import create_pacer_tables
from include.fortnox.pacing import DatabasePacer, FilePacer
from include.fortnox.session import FortnoxSession
from include.fortnox_sandbox.local import LocalFortnox, connected_sandbox

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox, pytest.mark.slow]

HOSTS = 4  # worker processes, each standing for a host
LIMIT, WINDOW = 25, 5.0  # Fortnox's, enforced by the sandbox


@pytest.fixture
def sandbox(
    pg_schema_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[LocalFortnox]:
    monkeypatch.setenv("FORTNOX_TOKEN_KEY", Fernet.generate_key().decode())  # spawn inherits it
    monkeypatch.setenv("PROJECT_DATA_DIR", str(tmp_path / "data"))
    with connected_sandbox(token_store_url=pg_schema_url, companies=2, seed=4) as local:
        engine = sa.create_engine(pg_schema_url)
        create_pacer_tables(engine)  # production: migration 0008
        engine.dispose()
        yield local


def _host(settings: FortnoxSettings, tenants: list[str], calls: int, start: Any) -> int:
    """One host's worker: its own session (engines, HTTP clients), calls for every tenant."""
    with FortnoxSession(settings) as session:
        clients = [session.client(t) for t in tenants]
        for client in clients:
            client.company_information()  # the token in hand before the race starts
        start.wait(120)
        done = 0
        for _ in range(calls):
            for client in clients:
                client.company_information()
                done += 1
        for client in clients:
            client.close()
    return done


def _run_hosts(settings: list[FortnoxSettings], tenants: list[str], calls: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(settings))
    procs = [ctx.Process(target=_host, args=(s, tenants, calls, start)) for s in settings]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(300)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def _stats(local: LocalFortnox) -> dict[str, dict[str, Any]]:
    return dict(local.admin("GET", "/admin/stats")["tenants"])


def _reset(local: LocalFortnox) -> None:
    httpx.post(f"{local.base_url}/admin/reset-stats").raise_for_status()


def test_hosts_sharing_the_database_pacer_stay_under_the_limit(sandbox: LocalFortnox) -> None:
    settings = dataclasses.replace(sandbox.settings, pacer="database")  # pacer_url: token store
    with FortnoxSession(settings) as probe:
        assert isinstance(probe.pacer, DatabasePacer)
        assert probe.pacer.engine.dialect.name == "postgresql"
    calls = 12  # per host and tenant: 48 a tenant, over two windows' worth at 20 / 5 s
    _reset(sandbox)
    _run_hosts([settings] * HOSTS, sandbox.tenant_ids, calls)
    stats = _stats(sandbox)
    for tenant in sandbox.tenant_ids:
        assert stats[tenant]["requests"] == HOSTS * (1 + calls), stats[tenant]  # 1: warm-up
        assert stats[tenant]["rate_limited"] == 0, stats[tenant]
        assert stats[tenant]["max_in_window"] <= LIMIT, stats[tenant]


def test_control_file_pacers_on_separate_hosts_exceed_the_limit(
    sandbox: LocalFortnox, tmp_path: Path
) -> None:
    """Each host's file pacer holds its own share only: together they are refused."""
    hosts = [
        dataclasses.replace(sandbox.settings, pacer="file", pacer_dir=str(tmp_path / f"host{i}"))
        for i in range(HOSTS)
    ]
    with FortnoxSession(hosts[0]) as probe:
        assert isinstance(probe.pacer, FilePacer)
    _reset(sandbox)
    _run_hosts(hosts, sandbox.tenant_ids, calls=8)  # 32 a tenant at once
    stats = _stats(sandbox)
    assert any(stats[t]["rate_limited"] > 0 for t in sandbox.tenant_ids), stats
