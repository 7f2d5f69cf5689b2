"""The body of POST /3/vouchers: Fortnox's fields and limits, and the key in Comments."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from include.closing.fortnox_body import fortnox_voucher_body, idempotency_key_in
from include.fortnox.client import encode_json
from tests.closing._closing_testkit import sample_vouchers


def test_body_follows_the_spec() -> None:
    accrual = sample_vouchers()[0]
    body = fortnox_voucher_body(accrual, "apr-1:ADJ-1:0123abcd")
    voucher = body["Voucher"]
    assert voucher["VoucherSeries"] == "A"
    assert voucher["TransactionDate"] == "2025-12-31"
    assert voucher["Description"] == "Upplupen hyra december"
    assert voucher["VoucherRows"] == [
        {
            "Account": 5010,
            "Debit": Decimal("12500.00"),
            "Credit": Decimal("0.00"),
            "CostCenter": "100",
            "TransactionInformation": "Hyra dec",
        },
        {
            "Account": 2990,
            "Debit": Decimal("0.00"),
            "Credit": Decimal("12500.00"),
            "TransactionInformation": "Upplupen kostnad",
        },
    ]
    assert idempotency_key_in(voucher["Comments"]) == "apr-1:ADJ-1:0123abcd"
    assert "hyresavi-dec.pdf" in voucher["Comments"]
    assert '"Debit":12500.00' in encode_json(body)  # exact, never a float


def test_key_is_found_only_on_its_own_line() -> None:
    assert idempotency_key_in(None) is None
    assert idempotency_key_in("Bokslut 2025") is None
    assert idempotency_key_in("text closing-key: x\n") is None
    assert idempotency_key_in("closing-key: abcdefgh1\nmore") == "abcdefgh1"


def test_limits_are_errors_not_truncation() -> None:
    accrual = sample_vouchers()[0]
    with pytest.raises(ValueError, match="200"):
        fortnox_voucher_body(dataclasses.replace(accrual, description="x" * 201), "key-12345")
    long_text = dataclasses.replace(accrual.rows[0], text="y" * 101)
    with pytest.raises(ValueError, match="row 1 text"):
        fortnox_voucher_body(
            dataclasses.replace(accrual, rows=(long_text, accrual.rows[1])), "key-12345"
        )
    with pytest.raises(ValueError, match="idempotency key"):
        fortnox_voucher_body(accrual, "short")
