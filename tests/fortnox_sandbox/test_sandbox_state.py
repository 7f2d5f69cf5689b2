"""--state-file: a restarted sandbox keeps the tokens it issued and the vouchers posted to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _sandbox_testkit import Sandbox, make_sandbox

from include.fortnox_sandbox.state import StateFileError

pytestmark = pytest.mark.sandbox

VOUCHER = {
    "Voucher": {
        "VoucherSeries": "A",
        "TransactionDate": "2025-12-31",
        "Description": "Bokslut",
        "Comments": "closing-key:state-1",
        "VoucherRows": [{"Account": 6110, "Debit": 10}, {"Account": 2920, "Credit": 10}],
    }
}


def post_voucher(sandbox: Sandbox, token: str) -> int:
    answer = sandbox.http.post(
        "/3/vouchers",
        params={"financialyear": 2},
        content=json.dumps(VOUCHER).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["Voucher"]["VoucherNumber"])


def test_restart_keeps_tokens_and_posted_vouchers(tmp_path: Path) -> None:
    state = tmp_path / "state.pickle"
    first = make_sandbox(state_file=state)
    sandbox = next(first)
    tenant = sandbox.tenants[0]
    tokens = sandbox.connect(tenant)
    number = post_voucher(sandbox, tokens["access_token"])
    secret = sandbox.secret
    first.close()  # the server stops
    assert state.stat().st_mode & 0o777 == 0o600

    second = make_sandbox(state_file=state)
    restarted = next(second)
    try:
        restarted.secret = secret  # the same client secret, as the demo's secrets.env gives
        restarted.server.sandbox.oauth.client = sandbox.server.sandbox.oauth.client
        assert restarted.server.sandbox.restored
        answer = restarted.api(tokens["access_token"], f"vouchers/A/{number}", financialyear=2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["Voucher"]["Comments"] == "closing-key:state-1"
        refreshed = restarted.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text
        assert post_voucher(restarted, refreshed.json()["access_token"]) == number + 1
    finally:
        second.close()


def test_state_of_other_books_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.pickle"
    first = make_sandbox(state_file=state)
    sandbox = next(first)
    sandbox.service_token(sandbox.tenants[0])  # a POST: the state is written
    first.close()
    with pytest.raises(StateFileError, match="other options"):
        next(make_sandbox(state_file=state, seed=4))
