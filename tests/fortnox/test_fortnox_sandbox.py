"""The client, token store and CLI against the local Fortnox sandbox (over real HTTP)."""

from __future__ import annotations

import io
import json
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from include.fortnox import cli, errors
from include.fortnox.client import RetryPolicy
from include.fortnox.config import FortnoxSettings
from include.fortnox.models import ReconnectRequired
from include.fortnox.pacing import FilePacer
from include.fortnox.session import FortnoxSession
from include.fortnox.tokens import TokenCipher, TokenStore

sandbox_module = pytest.importorskip("include.fortnox_sandbox")
SandboxConfig = sandbox_module.SandboxConfig
SandboxServer = sandbox_module.SandboxServer

pytestmark = pytest.mark.sandbox
SECRET = "sandbox-client-SECRET"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(**overrides: object) -> SandboxServer:
    config = SandboxConfig(
        client_secret=SECRET,
        companies=2,
        vouchers_per_year=40,
        redirect_uri=f"http://127.0.0.1:{free_port()}/callback",
        **overrides,
    )
    return SandboxServer(config)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with start_sandbox() as server:
        yield server


def admin(server: SandboxServer, method: str, path: str, body: object = None) -> dict:
    answer = httpx.request(method, f"{server.base_url}/admin/{path}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def tenants(server: SandboxServer) -> list[dict]:
    return admin(server, "GET", "tenants")["Tenants"]


@pytest.fixture
def env(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "FORTNOX_CLIENT_ID": sandbox.config.client_id,
        "FORTNOX_CLIENT_SECRET": SECRET,
        "FORTNOX_API_URL": f"{sandbox.base_url}/3",
        "FORTNOX_REDIRECT_URI": sandbox.config.redirect_uri,
        "FORTNOX_TOKEN_STORE_URL": f"sqlite:///{tmp_path / 'tokens.db'}",
        "FORTNOX_TOKEN_KEY": TokenCipher.generate_key(),
        "FORTNOX_PACER_DIR": str(tmp_path / "pacer"),
    }
    monkeypatch.delenv("AIRFLOW_CONN_FORTNOX_DEFAULT", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run_cli(*args: str) -> str:
    out = io.StringIO()
    assert cli.main(list(args), out=out) == 0
    return out.getvalue()


def connected_session(server: SandboxServer, tenant_id: int) -> FortnoxSession:
    output = run_cli("connect", "--auto", "--tenant", str(tenant_id))
    assert f"tenant {tenant_id}" in output
    return FortnoxSession(FortnoxSettings.from_env())


def test_connect_list_revoke_cli(sandbox: SandboxServer, env: dict[str, str]) -> None:
    second = tenants(sandbox)[1]
    output = run_cli("connect", "--auto", "--tenant", str(second["TenantId"]))
    summary = output.strip().splitlines()[-1]
    assert summary == (
        f"Connected {second['CompanyName']} (org nr {second['OrganizationNumber']}), "
        f"tenant {second['TenantId']}"
    )
    assert "state=" in output  # the consent URL was printed
    listing = run_cli("list")
    assert listing.startswith(f"{second['TenantId']}\tconnected\t{second['CompanyName']}")
    # Tokens never appear in output, and are encrypted at rest.
    engine = sa.create_engine(env["FORTNOX_TOKEN_STORE_URL"])
    with engine.connect() as conn:
        row = conn.execute(sa.text("select * from fortnox_connection")).mappings().one()
    engine.dispose()
    cipher = TokenCipher([env["FORTNOX_TOKEN_KEY"]])
    access = cipher.decrypt(row["access_token_encrypted"], company="x")
    assert access not in output + listing and access not in repr(dict(row))
    revoked = run_cli("revoke", "--tenant", str(second["TenantId"]))
    assert revoked.startswith("Revoked")
    assert "\trevoked\t" in run_cli("list")


def test_read_everything(sandbox: SandboxServer, env: dict[str, str]) -> None:
    tenant = tenants(sandbox)[0]
    session = connected_session(sandbox, tenant["TenantId"])
    with session.client(tenant["TenantId"]) as client:
        info = client.company_information().item("CompanyInformation")
        assert info["CompanyName"] == tenant["CompanyName"]
        years = client.financial_years()
        assert [y["Id"] for y in years] == [y["Id"] for y in tenant["FinancialYears"]]
        fy = years.items[0]["Id"]
        assert client.financial_year(fy).item("FinancialYear")["Id"] == fy
        sie = client.sie(fy)
        assert sie.startswith(b"#FLAGGA") and b"#SIETYP 4" in sie
        reader = pytest.importorskip("include.sie4.reader")
        document = reader.read_sie(sie, lenient=True)
        assert document.vouchers
        accounts = client.accounts(fy)
        assert {a["Number"] for a in accounts} >= {1930}
        assert any(s["Code"] == "A" and s["Manual"] for s in client.voucher_series(fy))
        vouchers = client.vouchers(fy)
        assert len(vouchers) > 0 and len(vouchers.pages) >= 1
        first = vouchers.items[0]
        one = client.voucher(first["VoucherSeries"], first["VoucherNumber"], fy)
        assert one.item("Voucher")["VoucherNumber"] == first["VoucherNumber"]
        for listing in (
            client.invoices(fromdate="2024-01-01", todate="2025-12-31"),
            client.invoice_payments(),
            client.supplier_invoices(),
            client.supplier_invoice_payments(),
        ):
            assert listing.pages[0].raw.startswith(b"{")
            assert json.loads(listing.pages[0].raw)  # stored bytes are the JSON answer
        assert client.locked_period().item("LockedPeriod")["EndDate"] == tenant["LockedPeriodEnd"]
        with pytest.raises(errors.NotFound):
            client.voucher("A", 999999, fy)
    session.close()


def test_create_voucher_and_refusals(sandbox: SandboxServer, env: dict[str, str]) -> None:
    tenant = tenants(sandbox)[0]
    session = connected_session(sandbox, tenant["TenantId"])
    open_year = tenant["FinancialYears"][-1]
    locked_year = tenant["FinancialYears"][0]

    def body(day: str, series: str = "A") -> dict:
        return {
            "VoucherSeries": series,
            "TransactionDate": day,
            "Description": "Bokslutspost test",
            "Comments": "key:test-1",
            "VoucherRows": [
                {"Account": 1930, "Debit": Decimal("100.25"), "Credit": Decimal("0")},
                {"Account": 2099, "Debit": Decimal("0"), "Credit": Decimal("100.25")},
            ],
        }

    with session.client(tenant["TenantId"]) as client:
        created = client.create_voucher(open_year["Id"], body(open_year["ToDate"])).item("Voucher")
        assert created["VoucherNumber"] >= 1
        fetched = client.voucher("A", created["VoucherNumber"], open_year["Id"]).item("Voucher")
        assert fetched["Comments"] == "key:test-1"
        with pytest.raises(errors.PeriodLocked):
            client.create_voucher(locked_year["Id"], body(locked_year["ToDate"]))
        # The next POST commits, then the connection drops: outcome unknown, never retried.
        admin(sandbox, "POST", "faults", {"commit_then_drop": 1})
        try:
            with pytest.raises(errors.OutcomeUnknown):
                client.create_voucher(open_year["Id"], body(open_year["ToDate"]))
        finally:
            admin(sandbox, "POST", "faults", {"commit_then_drop": 0})
    session.close()


def test_get_retries_through_injected_errors(sandbox: SandboxServer, env: dict[str, str]) -> None:
    tenant = tenants(sandbox)[0]
    session = connected_session(sandbox, tenant["TenantId"])
    session.retry = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05)
    admin(sandbox, "POST", "faults", {"error_rate": 0.5})
    try:
        with session.client(tenant["TenantId"]) as client:
            for _ in range(6):
                assert client.company_information().item("CompanyInformation")
    finally:
        admin(sandbox, "POST", "faults", {"error_rate": 0.0})
    session.close()


def _refresh_worker(env: dict[str, str], tenant_id: str, barrier, results) -> None:
    try:
        settings = FortnoxSettings.from_env(env)
        store = FortnoxSession(settings, environ=env).store
        barrier.wait(30)
        token = store.get_access_token(tenant_id)
        results.put({"ok": len(token) > 0, "tail": token[-12:]})
    except Exception as exc:
        results.put({"error": type(exc).__name__, "message": str(exc)})


@pytest.mark.slow
def test_eight_processes_refresh_once_against_sandbox(
    sandbox: SandboxServer, env: dict[str, str]
) -> None:
    tenant_id = str(tenants(sandbox)[0]["TenantId"])
    session = connected_session(sandbox, int(tenant_id))
    store = session.store
    # Make the stored access token look nearly expired so that every worker wants a refresh.
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(store.table).values(
                access_expires_at=datetime.now(UTC) + timedelta(seconds=30)
            )
        )
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(8), ctx.Queue()
    procs = [
        ctx.Process(target=_refresh_worker, args=(env, tenant_id, barrier, results))
        for _ in range(8)
    ]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    # The sandbox revokes the whole grant when a used refresh token comes back: a double
    # refresh would make every later call fail.
    assert all(a.get("ok") for a in answers), answers
    assert len({a["tail"] for a in answers}) == 1
    assert store.connection(tenant_id).refresh_count == 1
    with session.client(tenant_id) as client:
        assert client.company_information().item("CompanyInformation")
    session.close()


def test_revoked_grant_becomes_reconnect_required(
    sandbox: SandboxServer, env: dict[str, str]
) -> None:
    tenant = tenants(sandbox)[1]
    session = connected_session(sandbox, tenant["TenantId"])
    store: TokenStore = session.store
    tenant_id = str(tenant["TenantId"])
    cipher = TokenCipher([env["FORTNOX_TOKEN_KEY"]])
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(store.table)).mappings().one()
    refresh = cipher.decrypt(row["refresh_token_encrypted"], company="x")
    session.oauth.revoke(refresh)  # as if the customer disconnected the integration
    with store.engine.begin() as conn:
        conn.execute(sa.update(store.table).values(access_expires_at=datetime.now(UTC)))
    with pytest.raises(ReconnectRequired, match=tenant["CompanyName"]):
        store.get_access_token(tenant_id)
    assert store.connection(tenant_id).status == "reconnect_required"
    session.close()


@pytest.mark.slow
def test_pacer_keeps_threads_under_sandbox_rate_limit(tmp_path: Path, monkeypatch) -> None:
    # A strict sandbox (6 per second) and a pacer under it with margin for network jitter
    # (as 20 per 5 s is under Fortnox's 25); no retries allowed, so any 429 fails the test.
    with start_sandbox(rate_limit=6, rate_window_s=1.0) as server:
        monkeypatch.setenv("FORTNOX_CLIENT_ID", server.config.client_id)
        monkeypatch.setenv("FORTNOX_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("FORTNOX_API_URL", f"{server.base_url}/3")
        monkeypatch.setenv("FORTNOX_REDIRECT_URI", server.config.redirect_uri)
        monkeypatch.setenv("FORTNOX_TOKEN_STORE_URL", f"sqlite:///{tmp_path / 't.db'}")
        monkeypatch.setenv("FORTNOX_TOKEN_KEY", TokenCipher.generate_key())
        monkeypatch.delenv("AIRFLOW_CONN_FORTNOX_DEFAULT", raising=False)
        tenant_id = tenants(server)[0]["TenantId"]
        run_cli("connect", "--auto", "--tenant", str(tenant_id))
        session = FortnoxSession(
            FortnoxSettings.from_env(),
            pacer=FilePacer(tmp_path / "pacer", 4, 1.2),
            retry=RetryPolicy(max_attempts=1),
        )
        time.sleep(1.1)  # let the consent flow's own request leave the sandbox's window
        admin(server, "POST", "reset-stats")
        failures: list[Exception] = []

        def work() -> None:
            with session.client(tenant_id) as client:
                for _ in range(5):
                    try:
                        client.company_information()
                    except Exception as exc:
                        failures.append(exc)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = admin(server, "GET", "stats")
        session.close()
    assert failures == []
    tenant_stats = stats["tenants"][str(tenant_id)]
    assert tenant_stats["requests"] > 0 and tenant_stats["rate_limited"] == 0, stats
