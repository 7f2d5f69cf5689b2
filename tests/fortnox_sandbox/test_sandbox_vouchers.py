"""POST /3/vouchers: numbering, where the voucher shows up afterwards, and every refusal."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from _sandbox_testkit import Sandbox

from include.fortnox_sandbox import jsonio
from include.sie4.records import BalanceKind

pytestmark = pytest.mark.sandbox


def voucher_body(**changes: object) -> dict[str, object]:
    voucher: dict[str, object] = {
        "VoucherSeries": "A",
        "TransactionDate": "2025-12-31",
        "Description": "Periodisering årsbokslut",
        "Comments": "closing-key:test-0001",
        "VoucherRows": [
            {"Account": 6110, "Debit": 1234.50, "Credit": 0, "TransactionInformation": "kontor"},
            {"Account": 2920, "Debit": 0, "Credit": 1234.50},
        ],
    }
    voucher.update(changes)
    return {"Voucher": voucher}


def post(sandbox: Sandbox, token: str, payload: object, **params: object):  # type: ignore[no-untyped-def]
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return sandbox.http.post(
        "/3/vouchers",
        params=params,
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def test_posted_voucher_is_numbered_listed_and_exported_in_sie(
    sandbox: Sandbox, tenant: int, token: str
) -> None:
    from include.sie4.reader import read_sie

    books = sandbox.books(tenant)
    last_a = max(int(v.number) for v in books.years[-1].vouchers if v.series == "A")
    sie_before = read_sie(sandbox.api(token, "sie/4", financialyear=2).content)
    ub_before = sie_before.balances_of(BalanceKind.UB).get("2920", Decimal(0))
    res_before = sie_before.balances_of(BalanceKind.RES).get("6110", Decimal(0))

    answer = post(sandbox, token, voucher_body(), financialyear=2)
    assert answer.status_code == 201, answer.text
    created = jsonio.loads(answer.content)["Voucher"]
    assert created["VoucherNumber"] == last_a + 1
    assert created["Year"] == 2
    assert created["Comments"] == "closing-key:test-0001"
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in created["VoucherRows"]] == [
        (6110, Decimal("1234.50"), 0),
        (2920, 0, Decimal("1234.50")),
    ]

    listed = jsonio.loads(sandbox.api(token, "vouchers/sublist/A", limit=500).content)
    keys = [(v["VoucherNumber"], v["Comments"]) for v in listed["Vouchers"]]
    assert (last_a + 1, "closing-key:test-0001") in keys
    single = sandbox.api(token, f"vouchers/A/{last_a + 1}", financialyear=2)
    assert single.status_code == 200

    sie_after = read_sie(sandbox.api(token, "sie/4", financialyear=2).content)
    new = [v for v in sie_after.vouchers if v.series == "A" and v.number == str(last_a + 1)]
    assert len(new) == 1
    assert new[0].text == "Periodisering årsbokslut"
    assert [(r.account, r.amount) for r in new[0].rows] == [
        ("6110", Decimal("1234.50")),
        ("2920", Decimal("-1234.50")),
    ]
    assert sie_after.balances_of(BalanceKind.UB)["2920"] == ub_before - Decimal("1234.50")
    assert sie_after.balances_of(BalanceKind.RES)["6110"] == res_before + Decimal("1234.50")

    second = post(sandbox, token, voucher_body(Comments="closing-key:test-0002"))
    assert jsonio.loads(second.content)["Voucher"]["VoucherNumber"] == last_a + 2


@pytest.mark.parametrize(
    ("payload", "params", "code", "fragment"),
    [
        (b"", {}, 2001392, "empty"),
        (b"{not json", {}, 2002115, "Invalid JSON"),
        ({"Something": {}}, {}, 2001392, "Voucher"),
        (
            voucher_body(
                VoucherRows=[{"Account": 6110, "Debit": 100}, {"Account": 2920, "Credit": 99}]
            ),
            {},
            2000588,
            "not balanced",
        ),
        (voucher_body(VoucherSeries="B"), {}, 2000588, "not a manual series"),
        (voucher_body(VoucherSeries="Q"), {}, 2000588, "does not exist"),
        (voucher_body(TransactionDate="2024-12-31"), {"financialyear": 1}, 2000401, "locked"),
        (voucher_body(TransactionDate="2024-06-30"), {}, 2000588, "outside financial year"),
        (
            voucher_body(
                VoucherRows=[{"Account": 1111, "Debit": 5}, {"Account": 2920, "Credit": 5}]
            ),
            {},
            2001304,
            "account 1111 not found",
        ),
        (voucher_body(Description=""), {}, 2000588, "Description is required"),
        (voucher_body(Description="x" * 201), {}, 2000588, "longer than 200"),
        (voucher_body(Comments="x" * 1001), {}, 2000588, "longer than 1000"),
        (
            voucher_body(
                VoucherRows=[{"Account": 6110, "Debit": 1.005}, {"Account": 2920, "Credit": 1.005}]
            ),
            {},
            2000588,
            "two decimals",
        ),
        (
            voucher_body(
                VoucherRows=[{"Account": 6110, "Debit": -5}, {"Account": 2920, "Credit": -5}]
            ),
            {},
            2000588,
            "negative",
        ),
        (voucher_body(VoucherRows=[]), {}, 2000588, "VoucherRows"),
    ],
)
def test_refused_vouchers_leave_nothing_behind(
    sandbox: Sandbox,
    token: str,
    payload: object,
    params: dict[str, object],
    code: int,
    fragment: str,
) -> None:
    before = sandbox.api(token, "vouchers", financialyear=2).json()["MetaInformation"]
    answer = post(sandbox, token, payload, **params)
    assert answer.status_code == 400, answer.text
    error = answer.json()["ErrorInformation"]
    assert error["code"] == code
    assert error["error"] == 1
    assert fragment in error["message"]
    after = sandbox.api(token, "vouchers", financialyear=2).json()["MetaInformation"]
    assert after == before
