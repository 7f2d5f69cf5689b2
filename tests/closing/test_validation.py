"""Validation before approval, against the running Fortnox sandbox: a locked period, a series
that is not manual, an unknown account are refused with messages naming voucher and row."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from include.closing.adjustments import import_adjustments
from include.closing.config import ClosingConfig
from include.closing.models import VoucherSet
from include.closing.proposals import propose
from include.closing.validation import (
    FortnoxAccount,
    FortnoxFacts,
    check_voucher_set,
    fetch_fortnox_facts,
)
from include.closing.workflow import ClosingRefused, prepare_closing
from include.fortnox.client import FortnoxClient
from tests.closing._closing_testkit import sample_vouchers
from tests.closing._world import SAMPLE_CSV, START, ClosingWorld, closing_world

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
ALL = ("tax_allocation_reserve", "income_tax", "result_transfer")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ClosingWorld]:
    with closing_world(tmp_path) as world:
        import_adjustments(world.url, SAMPLE_CSV, world.org_number, START.isoformat())
        yield world


def _prepare(world: ClosingWorld, config: ClosingConfig | None = None):  # type: ignore[no-untyped-def]
    return prepare_closing(
        world.url, world.org_number, START.isoformat(), client_for=world.client_for, config=config
    )


def _refusal(world: ClosingWorld, config: ClosingConfig | None = None) -> list[str]:
    with pytest.raises(ClosingRefused) as refused:
        _prepare(world, config)
    return list(refused.value.problems)


def test_a_good_set_passes_and_the_body_is_accepted_by_fortnox(world: ClosingWorld) -> None:
    propose(world.url, world.org_number, START.isoformat(), accept=ALL)
    prepared = _prepare(world)
    assert prepared.voucher_count == 5
    assert "ADJ-1" in prepared.summary and "avskrivningsplan-2025.pdf" in prepared.summary
    assert "PROPOSAL-TAX" in prepared.summary and prepared.checksum in prepared.summary
    assert prepared.fortnox_tenant_id == world.tenant


def test_locked_period_is_refused_naming_each_voucher(world: ClosingWorld) -> None:
    tenant = world.tenant_state
    old = tenant.locked_until
    tenant.locked_until = date(2025, 12, 31)  # the accountant closed the year in Fortnox
    try:
        problems = _refusal(world)
    finally:
        tenant.locked_until = old
    assert problems == [
        f"voucher {ref}: date 2025-12-31 is in the locked period (locked up to 2025-12-31): "
        "Fortnox refuses vouchers there"
        for ref in ("ADJ-1", "ADJ-2")
    ]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ("B", "voucher series 'B' is not a manual series: Fortnox refuses vouchers in it"),
        ("Q", "voucher series 'Q' does not exist in Fortnox financial year 2"),
    ],
)
def test_a_series_that_is_not_manual_is_refused(
    world: ClosingWorld, series: str, message: str
) -> None:
    config = ClosingConfig(series=series)  # B is Kundfaktura in Fortnox: not a manual series
    import_adjustments(world.url, SAMPLE_CSV, world.org_number, START.isoformat(), config=config)
    problems = _refusal(world, config)
    assert [p.split(": ", 1)[0] for p in problems] == ["voucher ADJ-1", "voucher ADJ-2"]
    assert all(message in p for p in problems), problems


def test_an_unknown_account_is_refused_with_voucher_and_row(world: ClosingWorld) -> None:
    # A configuration naming an account the company's Fortnox chart does not have.
    config = ClosingConfig(tax_liability_account="2513")
    propose(world.url, world.org_number, START.isoformat(), accept=ALL, config=config)
    assert _refusal(world, config) == [
        "voucher PROPOSAL-TAX row 2: account 2513 does not exist in Fortnox financial year 2"
    ]


def test_the_facts_come_from_fortnox(world: ClosingWorld) -> None:
    with world.client_for(world.tenant) as client:
        facts = fetch_fortnox_facts(client, START)
        missing = fetch_fortnox_facts(client, date(2023, 1, 1))
    assert facts.financial_year_id == 2 and facts.year_end == date(2025, 12, 31)
    assert facts.series["A"] is True and facts.series["B"] is False
    assert facts.locked_until == date(2024, 12, 31)
    assert facts.accounts["2125"].active and "7832" in facts.accounts
    assert missing.financial_year_id is None


def test_the_sandbox_takes_the_built_body(world: ClosingWorld) -> None:
    """What validation lets through, Fortnox (the sandbox) accepts: the body builder's output."""
    from include.closing.fortnox_body import fortnox_voucher_body, idempotency_key_in
    from include.closing.store import current_voucher_set

    voucher = current_voucher_set(world.url, world.company_id, START).vouchers[0]
    client: FortnoxClient
    with world.client_for(world.tenant) as client:
        answer = client.create_voucher(2, fortnox_voucher_body(voucher, "test-key-0001"))
    created = answer.item("Voucher")
    assert created["VoucherSeries"] == "A"
    assert idempotency_key_in(created["Comments"]) == "test-key-0001"


def _facts(**accounts: FortnoxAccount) -> FortnoxFacts:
    return FortnoxFacts(
        financial_year_id=7,
        year_start=date(2025, 1, 1),
        year_end=date(2025, 12, 31),
        accounts=accounts,
        series={"A": True},
        locked_until=None,
    )


def test_inactive_accounts_and_object_settings() -> None:
    """Fortnox's account settings as its API gives them (the sandbox's accounts are all active)."""
    accrual, tax = sample_vouchers()
    facts = _facts(
        **{
            "5010": FortnoxAccount("5010", "Lokalhyra", False, "ALLOWED", "ALLOWED"),
            "2990": FortnoxAccount(
                "2990", "Övriga upplupna kostnader", True, "NOTALLOWED", "MANDATORY"
            ),
            "8910": FortnoxAccount("8910", "Skatt", True, "ALLOWED", "ALLOWED"),
            "2512": FortnoxAccount("2512", "Beräknad skatt", True, "ALLOWED", "ALLOWED"),
        }
    )
    rows = (accrual.rows[0], dataclasses.replace(accrual.rows[1], cost_centre="100"))
    accrual = dataclasses.replace(accrual, rows=rows)
    unbalanced = dataclasses.replace(
        tax, rows=(dataclasses.replace(tax.rows[0], debit=Decimal("20600.01")), tax.rows[1])
    )
    problems = check_voucher_set(
        VoucherSet(1, "x", date(2025, 1, 1), (accrual, unbalanced)), facts, date(2025, 12, 31)
    )
    assert [str(p) for p in problems] == [
        "voucher PROPOSAL-TAX: does not balance: debit 20600.01, credit 20600.00, difference 0.01",
        "voucher ADJ-1 row 1: account 5010 (Lokalhyra) is inactive in Fortnox financial year 7",
        "voucher ADJ-1 row 2: account 2990 does not allow a cost centre (100)",
        "voucher ADJ-1 row 2: account 2990 requires a project",
    ]
