"""Value rules: amounts, quantities, dates, periods, account numbers, year indices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from include.sie4.validation import (
    ValueProblem,
    check_account,
    parse_amount,
    parse_date,
    parse_period,
    parse_quantity,
    parse_year_index,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100", "100"),
        ("-1250.50", "-1250.50"),
        ("0.5", "0.5"),
        ("12345678901234.99", "12345678901234.99"),
    ],
)
def test_amounts(text: str, value: str) -> None:
    parsed = parse_amount(text)
    assert parsed == Decimal(value) and isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.345", "more than 2 decimals"),
        ("1,50", "bad amount"),
        ("+5", "bad amount"),
        ("", "missing amount"),
        (".5", "bad amount"),
        ("1e3", "bad amount"),
        ("1 000", "bad amount"),
    ],
)
def test_bad_amounts(text: str, message: str) -> None:
    with pytest.raises(ValueProblem, match=message):
        parse_amount(text)


def test_quantities() -> None:
    assert parse_quantity("") is None
    assert parse_quantity("1.12345678") == Decimal("1.12345678")
    with pytest.raises(ValueProblem):
        parse_quantity("1.123456789")


def test_dates() -> None:
    assert parse_date("20240229") == date(2024, 2, 29)
    for bad in ("180501", "2018-05-01", "20230229", "20241301", ""):
        with pytest.raises(ValueProblem):
            parse_date(bad)


def test_periods_accounts_years() -> None:
    assert parse_period("202412") == "202412"
    with pytest.raises(ValueProblem):
        parse_period("202413")
    assert check_account("1930") == "1930"
    assert check_account("193012") == "193012"
    for bad in ("11100111", "11AF", "", "19 30"):
        with pytest.raises(ValueProblem):
            check_account(bad)
    assert parse_year_index("-2") == -2
    with pytest.raises(ValueProblem):
        parse_year_index("1")
