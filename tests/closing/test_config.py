"""The closing configuration: documented defaults, a file, per-company overrides, strictness."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from include.closing.config import ClosingConfig, ConfigError, load_config
from tests.closing._world import SAMPLES


def test_defaults() -> None:
    config = ClosingConfig()
    assert config.tax_rate == Decimal("0.206") and config.reserve_max_share == Decimal("0.25")
    assert config.reserve_account(date(2025, 12, 31)) == "2125"
    assert config.non_deductible_accounts == ("6072", "6342", "6982", "6992", "7622", "8423")
    with pytest.raises(ConfigError, match="2031"):
        config.reserve_account(date(2031, 12, 31))


def test_the_sample_file_and_company_overrides(tmp_path: Path) -> None:
    assert load_config(path=SAMPLES / "closing.toml") == ClosingConfig()
    path = tmp_path / "closing.toml"
    path.write_text(
        '[defaults]\nseries = "Y"\n'
        '[companies."556677-8899"]\napprovers = ["anna", "bo"]\n'
        'reserve_accounts = { 2031 = "2111" }\nother_tax_adjustment = "-15000.00"\n',
        encoding="utf-8",
    )
    other = load_config(("559000-0001",), path)
    assert other.series == "Y" and other.approvers == ("admin",)
    mine = load_config(("556677-8899", "556677-8899"), path)
    assert mine.series == "Y" and mine.approvers == ("anna", "bo")
    assert mine.reserve_account(date(2031, 12, 31)) == "2111"
    assert mine.other_tax_adjustment == Decimal("-15000.00")
    env = load_config(("556677-8899",), environ={"CLOSING_CONFIG": str(path)})
    assert env == mine


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[defaults]\ntax_rat = "0.2"\n', r"\[defaults\]: unknown setting\(s\) tax_rat"),
        ("[defaults]\ntax_rate = 0.206\n", "exact number written as a string"),
        ('[companies."x"]\nlimited_company = "yes"\n', r'\[companies."x"\]: limited_company'),
        ("[other]\n", "unknown section"),
        ("[defaults\n", "closing.toml"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "closing.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(("556677-8899",), path)
