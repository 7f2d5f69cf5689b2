"""The rate limit and every injected fault, seen from a plain HTTP client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from _sandbox_testkit import Sandbox, make_sandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def limited() -> Iterator[Sandbox]:
    """Fortnox's own limit: 25 requests per 5 seconds per client and tenant."""
    yield from make_sandbox(companies=2)


@pytest.fixture
def faulty(limited: Sandbox) -> Iterator[Sandbox]:
    yield limited
    limited.http.post(
        "/admin/faults",
        json={
            "error_rate": 0,
            "latency_ms": 0,
            "drop_rate": 0,
            "commit_then_drop": 0,
            "commit_then_drop_rate": 0,
        },
    )
    limited.http.post("/admin/reset-stats")


def test_rate_limit_is_25_per_5_seconds_per_tenant(faulty: Sandbox) -> None:
    first, second = faulty.tenants
    token = faulty.service_token(first)
    started = time.monotonic()
    statuses = [faulty.api(token, "financialyears").status_code for _ in range(30)]
    if time.monotonic() - started >= 5:
        pytest.skip("30 requests took over 5 s on this machine; the window slid meanwhile")
    assert statuses[:25] == [200] * 25
    assert statuses[25:] == [429] * 5
    refused = faulty.api(token, "financialyears")
    assert refused.json()["ErrorInformation"]["message"].startswith("Too many requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    # Another tenant has its own window.
    other = faulty.service_token(second)
    assert faulty.api(other, "financialyears").status_code == 200
    stats = faulty.http.get("/admin/stats").json()
    mine = stats["tenants"][str(first)]
    assert mine["requests"] == 31
    assert mine["rate_limited"] == 6
    assert mine["max_in_window"] == 25
    assert stats["tenants"][str(second)]["max_in_window"] == 1


@pytest.mark.slow
def test_client_pacing_under_the_limit_is_never_refused(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[1])
    statuses = []
    for _ in range(30):
        statuses.append(faulty.api(token, "financialyears").status_code)
        time.sleep(0.21)  # ~24 per 5 s
    assert set(statuses) == {200}
    stats = faulty.http.get("/admin/stats").json()["tenants"][str(faulty.tenants[1])]
    assert stats["rate_limited"] == 0
    assert stats["max_in_window"] <= 25


def test_error_rate_answers_500_or_503_with_error_information(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[0])
    assert faulty.http.post("/admin/faults", json={"error_rate": 1}).json()["error_rate"] == 1
    answers = [faulty.api(token, "companyinformation") for _ in range(6)]
    assert {a.status_code for a in answers} <= {500, 503}
    assert all(a.json()["ErrorInformation"]["code"] == 1000003 for a in answers)
    faulty.http.post("/admin/faults", json={"error_rate": 0})
    assert faulty.api(token, "companyinformation").status_code == 200
    stats = faulty.http.get("/admin/stats").json()["tenants"][str(faulty.tenants[0])]
    assert stats["errors_injected"] == 6


def test_latency(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[0])
    faulty.http.post("/admin/faults", json={"latency_ms": 300})
    started = time.monotonic()
    assert faulty.api(token, "companyinformation").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_rate_closes_the_connection_without_an_answer(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[0])
    faulty.http.post("/admin/faults", json={"drop_rate": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.api(token, "companyinformation")
    faulty.http.post("/admin/faults", json={"drop_rate": 0})
    assert faulty.api(token, "companyinformation").status_code == 200


def test_commit_then_drop_commits_the_voucher_before_dropping(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[0])
    faulty.http.post("/admin/faults", json={"commit_then_drop": 1})
    body = {
        "Voucher": {
            "VoucherSeries": "A",
            "TransactionDate": "2025-12-31",
            "Description": "Skatt",
            "Comments": "closing-key:dropped-1",
            "VoucherRows": [{"Account": 8910, "Debit": 100}, {"Account": 2510, "Credit": 100}],
        }
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with pytest.raises(httpx.RemoteProtocolError):
        faulty.http.post("/3/vouchers", content=json.dumps(body), headers=headers)
    listed = faulty.api(token, "vouchers/sublist/A", limit=500).json()["Vouchers"]
    assert [v["Comments"] for v in listed].count("closing-key:dropped-1") == 1
    # The count is used up: the next post answers normally.
    again = faulty.http.post("/3/vouchers", content=json.dumps(body), headers=headers)
    assert again.status_code == 201
    assert faulty.http.get("/admin/faults").json()["commit_then_drop"] == 0


def test_expire_tokens_early(faulty: Sandbox) -> None:
    token = faulty.service_token(faulty.tenants[0])
    assert faulty.api(token, "companyinformation").status_code == 200
    answer = faulty.http.post("/admin/faults", json={"expire_tokens_early": True})
    assert answer.json()["expired_tokens"] >= 1
    expired = faulty.api(token, "companyinformation")
    assert expired.status_code == 401
    assert expired.json()["ErrorInformation"]["code"] == 2000311
    fresh = faulty.service_token(faulty.tenants[0])
    assert faulty.api(fresh, "companyinformation").status_code == 200


@pytest.mark.parametrize(
    "bad", [{"error_rate": 2}, {"latency_ms": -1}, {"drop_rate": "x"}, {"typo": 1}, [1]]
)
def test_bad_fault_settings_are_refused_whole(faulty: Sandbox, bad: object) -> None:
    before = faulty.http.get("/admin/faults").json()
    answer = faulty.http.post("/admin/faults", json=bad)
    assert answer.status_code == 400
    assert answer.json()["error"]
    assert faulty.http.get("/admin/faults").json() == before


def test_admin_tenants(faulty: Sandbox) -> None:
    tenants = faulty.http.get("/admin/tenants").json()["Tenants"]
    assert [t["TenantId"] for t in tenants] == faulty.tenants
    assert tenants[0]["LockedPeriodEnd"] == "2024-12-31"
    assert [y["Id"] for y in tenants[0]["FinancialYears"]] == [1, 2]
