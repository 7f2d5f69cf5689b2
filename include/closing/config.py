"""The closing's configuration: accounts, rates, rounding, voucher series and approvers.

Every default is here, in :class:`ClosingConfig`. A TOML file overrides them for all
companies (``[defaults]``) and per company (``[companies."<org number or company key>"]``):

    [defaults]
    series = "A"
    approvers = ["admin"]

    [companies."556677-8899"]
    series = "Y"
    approvers = ["anna", "bo"]
    non_deductible_accounts = ["6072", "6992"]
    reserve_accounts = { 2025 = "2125" }
    other_tax_adjustment = "-15000.00"

The file is ``CLOSING_CONFIG`` (a path), else none. Amounts and rates are strings or integers
in the file (``"0.206"``), never floats. An unknown key is an error naming the file and key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

Rounding = Literal["krona_down", "ore"]


class ConfigError(ValueError):
    """The closing configuration is invalid; the message names the file and key."""


def default_reserve_account(year_end: date) -> str:
    """BAS 2120-2129: one periodiseringsfond account per year (2125 for the 2025 reserve)."""
    if not 2020 <= year_end.year <= 2029:
        raise ConfigError(
            f"no default reserve account for the year {year_end.year}: "
            "set reserve_accounts in the closing configuration"
        )
    return f"21{year_end.year % 100:02d}"


@dataclass(frozen=True, slots=True)
class ClosingConfig:
    """What the closing books and how; see docs/closing.md for the rules behind each."""

    # Fortnox voucher series of every closing voucher (must be a manual series).
    series: str = "A"
    # Airflow user ids that may approve; empty: anyone allowed to answer the DAG's tasks.
    approvers: tuple[str, ...] = ("admin",)
    # Aktiebolag: corporate income tax and the 25 % tax allocation reserve apply.
    limited_company: bool = True
    propose_reserve: bool = True
    propose_tax: bool = True
    propose_result_transfer: bool = True
    # Result before appropriations and tax: BAS classes 3-8 up to 8799.
    result_accounts: tuple[str, str] = ("3000", "8799")
    # Appropriations (bokslutsdispositioner) already booked count in the tax base.
    appropriation_accounts: tuple[str, str] = ("8800", "8899")
    tax_accounts: tuple[str, str] = ("8900", "8989")
    # Tax allocation reserve (periodiseringsfond).
    reserve_max_share: Decimal = Decimal("0.25")
    reserve_expense_account: str = "8811"
    reserve_accounts: Mapping[int, str] = field(default_factory=dict)  # year -> 21xx account
    # Income tax.
    tax_rate: Decimal = Decimal("0.206")
    tax_expense_account: str = "8910"
    tax_liability_account: str = "2512"
    non_deductible_accounts: tuple[str, ...] = ("6072", "6342", "6982", "6992", "7622", "8423")
    non_taxable_accounts: tuple[str, ...] = ("8254", "8314")
    # Taxable amounts the accounts do not show (e.g. the standard income on earlier reserves,
    # positive; a deficit from earlier years, negative), added before the reserve is computed.
    other_tax_adjustment: Decimal = Decimal("0.00")
    tax_base_rounding: Rounding = "krona_down"
    tax_rounding: Rounding = "ore"
    reserve_rounding: Rounding = "krona_down"
    # The year's result.
    result_transfer_account: str = "8999"
    result_equity_account: str = "2099"

    def reserve_account(self, year_end: date) -> str:
        return self.reserve_accounts.get(year_end.year) or default_reserve_account(year_end)

    def fingerprint(self) -> str:
        """The settings that change what is proposed, as text (kept with the proposals)."""
        values = dataclasses.asdict(self)
        values.pop("approvers")
        return repr(sorted((k, str(v)) for k, v in values.items()))


_DECIMALS = {"reserve_max_share", "tax_rate", "other_tax_adjustment"}
_TEXT_TUPLES = {"approvers", "non_deductible_accounts", "non_taxable_accounts"}
_RANGES = {"result_accounts", "appropriation_accounts", "tax_accounts"}
_BOOLS = {"limited_company", "propose_reserve", "propose_tax", "propose_result_transfer"}
_ROUNDINGS = {"tax_base_rounding", "tax_rounding", "reserve_rounding"}
_FIELDS = {f.name for f in dataclasses.fields(ClosingConfig)}


def _convert(name: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {name} must be {expected}, not {value!r}")

    if name in _DECIMALS:
        if isinstance(value, (float, bool)):
            raise bad('an exact number written as a string (e.g. "0.206")')
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise bad("a number") from None
        if not number.is_finite():
            raise bad("a finite number")
        return number
    if name in _TEXT_TUPLES:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if name in _RANGES:
        if not (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)
        ):
            raise bad('a pair of accounts, e.g. ["3000", "8799"]')
        return (value[0], value[1])
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if name in _ROUNDINGS:
        if value not in ("krona_down", "ore"):
            raise bad('"krona_down" or "ore"')
        return value
    if name == "reserve_accounts":
        if not isinstance(value, dict):
            raise bad('a table of year = "account"')
        try:
            return {int(year): str(account) for year, account in value.items()}
        except ValueError:
            raise bad('a table of year = "account"') from None
    if not isinstance(value, str) or not value:
        raise bad("a non-empty string")
    return value


def _apply(config: ClosingConfig, values: Mapping[str, Any], where: str) -> ClosingConfig:
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    changes = {name: _convert(name, value, where) for name, value in values.items()}
    return dataclasses.replace(config, **changes)


def config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    value = env.get("CLOSING_CONFIG")
    return Path(value) if value else None


def load_config(
    company_keys: tuple[str | None, ...] = (),
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ClosingConfig:
    """The configuration for a company named by any of ``company_keys`` (org number, key)."""
    path = path or config_path(environ)
    config = ClosingConfig()
    if path is None:
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: the closing configuration file does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - {"defaults", "companies"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}")
    config = _apply(config, data.get("defaults", {}), f"{path} [defaults]")
    companies = data.get("companies", {})
    for key, values in companies.items():  # every section is checked, not only this company's
        _apply(ClosingConfig(), values, f'{path} [companies."{key}"]')
    for key in dict.fromkeys(k for k in company_keys if k):
        if key in companies:
            config = _apply(config, companies[key], f'{path} [companies."{key}"]')
    return config
