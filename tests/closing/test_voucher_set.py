"""The voucher set's checksum: every field and every attachment byte counts; stable across
processes and databases; the set read back from SQLite and PostgreSQL is the same set."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from include.closing.models import Attachment, ClosingRow, ClosingVoucher, VoucherSet
from include.closing.store import current_voucher_set
from include.closing.testing import ensure_company, put_voucher_set
from tests.closing._closing_testkit import ORG, YEAR_START, sample_vouchers

# The checksum of sample_vouchers(): pinned, so that a change of the canonical form (which
# would make every recorded approval unverifiable) cannot happen by accident.
SAMPLE_CHECKSUM = "36b59731082d2e28a56dad48048c12fca3fe6f863c536f9d72494ad8bd49c197"


def _set(vouchers: tuple[ClosingVoucher, ...]) -> VoucherSet:
    return VoucherSet(
        company_id=1, company_key=ORG, fiscal_year_start=YEAR_START, vouchers=vouchers
    )


def _replace_row(voucher: ClosingVoucher, index: int, **changes: object) -> ClosingVoucher:
    rows = list(voucher.rows)
    rows[index] = dataclasses.replace(rows[index], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(voucher, rows=tuple(rows))


def test_checksum_is_pinned_and_ignores_the_database_id(vouchers) -> None:  # type: ignore[no-untyped-def]
    first = _set(vouchers)
    assert first.checksum() == SAMPLE_CHECKSUM
    assert dataclasses.replace(first, company_id=99).checksum() == SAMPLE_CHECKSUM
    assert _set(sample_vouchers()).checksum() == SAMPLE_CHECKSUM  # rebuilt: equal


def test_checksum_is_the_same_in_another_process(vouchers) -> None:  # type: ignore[no-untyped-def]
    code = (
        "from tests.closing._closing_testkit import *\n"
        "from include.closing.models import VoucherSet\n"
        "print(VoucherSet(7, ORG, YEAR_START, sample_vouchers()).checksum())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == _set(vouchers).checksum()


def _changes(vouchers: tuple[ClosingVoucher, ...]) -> dict[str, tuple[ClosingVoucher, ...]]:
    accrual, tax = vouchers
    assert accrual.attachment is not None
    flipped = bytearray(accrual.attachment.content)
    flipped[-2] ^= 0x01
    return {
        "attachment byte": (
            dataclasses.replace(
                accrual, attachment=dataclasses.replace(accrual.attachment, content=bytes(flipped))
            ),
            tax,
        ),
        "attachment name": (
            dataclasses.replace(
                accrual,
                attachment=Attachment(
                    "hyresavi.pdf", "application/pdf", accrual.attachment.content
                ),
            ),
            tax,
        ),
        "attachment removed": (dataclasses.replace(accrual, attachment=None), tax),
        "amount": (
            _replace_row(
                _replace_row(accrual, 0, debit=Decimal("12500.01")), 1, credit=Decimal("12500.01")
            ),
            tax,
        ),
        "row order": (dataclasses.replace(accrual, rows=accrual.rows[::-1]), tax),
        "voucher order": (tax, accrual),
        "date": (dataclasses.replace(accrual, voucher_date=date(2025, 12, 30)), tax),
        "account": (_replace_row(accrual, 0, account="5011"), tax),
        "row text": (_replace_row(accrual, 0, text="Hyra december"), tax),
        "cost centre": (_replace_row(accrual, 0, cost_centre="200"), tax),
        "project": (_replace_row(accrual, 1, project="P2"), tax),
        "series": (dataclasses.replace(accrual, series="B"), tax),
        "description": (dataclasses.replace(accrual, description="Upplupen hyra"), tax),
        "reference": (dataclasses.replace(accrual, reference="ADJ-2"), tax),
        "voucher dropped": (accrual,),
    }


@pytest.mark.parametrize("change", list(_changes(sample_vouchers())))
def test_any_change_changes_the_checksum(vouchers, change: str) -> None:  # type: ignore[no-untyped-def]
    changed = _changes(vouchers)[change]
    assert _set(changed).checksum() != _set(vouchers).checksum()


def test_company_and_year_are_part_of_the_checksum(vouchers) -> None:  # type: ignore[no-untyped-def]
    base = _set(vouchers)
    assert dataclasses.replace(base, company_key="556677-8898").checksum() != base.checksum()
    assert dataclasses.replace(base, fiscal_year_start=date(2024, 1, 1)).checksum() != (
        base.checksum()
    )


def test_attachment_repr_leaves_the_bytes_out() -> None:
    secret = b"personnummer 19121212-1212"
    attachment = Attachment("underlag.txt", "text/plain", secret)
    assert "1212" not in repr(attachment)
    assert attachment.sha256 in repr(attachment)


def test_rows_are_exact_and_one_sided() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ClosingRow("1930", Decimal("1.00"), Decimal("1.00"))
    with pytest.raises(ValueError, match="two decimals"):
        ClosingRow("1930", Decimal("1.005"), Decimal("0"))
    with pytest.raises(TypeError):
        ClosingRow("1930", 1.5, Decimal("0"))  # type: ignore[arg-type]
    assert ClosingRow("1930", Decimal("0"), Decimal("7.5")).amount == Decimal("-7.50")


def test_references_are_unique_in_a_set(vouchers) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="twice"):
        _set((vouchers[0], vouchers[0]))


def test_read_back_is_the_same_set_on_both_databases(warehouse_url: str, vouchers) -> None:  # type: ignore[no-untyped-def]
    company_id = ensure_company(warehouse_url, ORG, "Testbolaget AB")
    put_voucher_set(warehouse_url, company_id, YEAR_START, vouchers)
    back = current_voucher_set(warehouse_url, company_id, YEAR_START)
    assert back.vouchers == vouchers
    assert back.checksum() == SAMPLE_CHECKSUM
    assert [a.content for a in back.attachments] == [v.attachment.content for v in vouchers]  # type: ignore[union-attr]
    # Written again: identical; an empty partition is an empty set.
    put_voucher_set(warehouse_url, company_id, YEAR_START, vouchers)
    assert current_voucher_set(warehouse_url, company_id, YEAR_START).checksum() == SAMPLE_CHECKSUM
    assert len(current_voucher_set(warehouse_url, company_id, date(2024, 1, 1))) == 0


def test_snapshot_names_attachments_by_hash(vouchers) -> None:  # type: ignore[no-untyped-def]
    snapshot = json.loads(_set(vouchers).snapshot_json())
    attachment = snapshot["vouchers"][0]["attachment"]
    assert attachment["sha256"] == vouchers[0].attachment.sha256
    assert snapshot["vouchers"][0]["rows"][0]["debit"] == "12500.00"
