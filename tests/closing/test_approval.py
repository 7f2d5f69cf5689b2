"""The approval record: what was decided on, by whom; the export's refusal of a changed set."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import sqlalchemy as sa

from include.closing.approval import (
    AlreadyApproved,
    ApprovalError,
    NotApproved,
    VoucherSetChanged,
    approval_event_extra,
    approved_voucher_set,
    get_approval,
    latest_approval,
    record_approval,
)
from include.closing.store import current_voucher_set
from include.closing.testing import ensure_company, put_voucher_set
from tests.closing._closing_testkit import ORG, YEAR_START


@pytest.fixture
def partition(warehouse_url: str, vouchers) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    company_id = ensure_company(warehouse_url, ORG, "Testbolaget AB")
    put_voucher_set(warehouse_url, company_id, YEAR_START, vouchers)
    return warehouse_url, company_id


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(sa.text("select count(*) from approval"))
    engine.dispose()
    return int(count or 0)


def test_approval_records_the_exact_set(partition, vouchers) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    shown = current_voucher_set(url, company_id, YEAR_START).checksum()
    approval = record_approval(
        url, company_id, YEAR_START, decided_by="anna", via="ui", expected_checksum=shown
    )
    back = get_approval(url, approval.approval_id)
    assert back == approval
    assert (back.state, back.decided_by, back.via, back.voucher_count) == (
        "approved",
        "anna",
        "ui",
        2,
    )
    assert back.checksum == shown
    assert back.decided_at.tzinfo is not None
    assert approved_voucher_set(url, approval.approval_id).vouchers == vouchers
    assert latest_approval(url, company_id, YEAR_START) == approval
    assert approval_event_extra(url, approval) == {
        "company_id": company_id,
        "org_number": ORG,
        "company_name": "Testbolaget AB",
        "fiscal_year_start": "2025-01-01",
        "approval_id": approval.approval_id,
    }


def test_changed_set_after_approval_is_refused(partition, vouchers) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    approval = record_approval(url, company_id, YEAR_START, decided_by="anna")
    accrual, tax = vouchers
    rows = (
        dataclasses.replace(accrual.rows[0], debit=Decimal("12000.00")),
        dataclasses.replace(accrual.rows[1], credit=Decimal("12000.00")),
    )
    put_voucher_set(url, company_id, YEAR_START, (dataclasses.replace(accrual, rows=rows), tax))
    with pytest.raises(VoucherSetChanged, match="nothing may be exported") as refused:
        approved_voucher_set(url, approval.approval_id)
    assert refused.value.expected == approval.checksum
    # Put back exactly as approved: the approval holds again.
    put_voucher_set(url, company_id, YEAR_START, vouchers)
    assert approved_voucher_set(url, approval.approval_id).checksum() == approval.checksum


def test_a_changed_attachment_byte_is_refused(partition, vouchers) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    approval = record_approval(url, company_id, YEAR_START, decided_by="anna")
    accrual, tax = vouchers
    attachment = dataclasses.replace(accrual.attachment, content=b"%PDF-1.4 hyra!\n")
    put_voucher_set(
        url, company_id, YEAR_START, (dataclasses.replace(accrual, attachment=attachment), tax)
    )
    with pytest.raises(VoucherSetChanged):
        approved_voucher_set(url, approval.approval_id)


def test_set_changed_while_waiting_records_nothing(partition) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    with pytest.raises(VoucherSetChanged, match="changed after it was shown"):
        record_approval(url, company_id, YEAR_START, decided_by="anna", expected_checksum="0" * 64)
    assert _count(url) == 0


def test_rejection_is_recorded_and_exports_nothing(partition) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    rejection = record_approval(
        url, company_id, YEAR_START, decided_by="bo", state="rejected", comment="Fel konto på ADJ-1"
    )
    assert get_approval(url, rejection.approval_id).comment == "Fel konto på ADJ-1"
    with pytest.raises(NotApproved, match="rejection"):
        approved_voucher_set(url, rejection.approval_id)
    with pytest.raises(NotApproved):
        approval_event_extra(url, rejection)


def test_a_dag_run_records_one_decision(partition) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    first = record_approval(url, company_id, YEAR_START, decided_by="anna", dag_run_id="manual__1")
    again = record_approval(url, company_id, YEAR_START, decided_by="anna", dag_run_id="manual__1")
    assert again == first
    assert _count(url) == 1


def test_the_same_set_is_approved_once(partition, vouchers) -> None:  # type: ignore[no-untyped-def]
    url, company_id = partition
    rejected = record_approval(url, company_id, YEAR_START, decided_by="bo", state="rejected")
    first = record_approval(url, company_id, YEAR_START, decided_by="anna", dag_run_id="run-1")
    # Another run (or the command line) approving the same set would export it twice.
    with pytest.raises(AlreadyApproved, match=first.approval_id) as again:
        record_approval(url, company_id, YEAR_START, decided_by="cecilia", dag_run_id="run-2")
    assert again.value.approval == first
    assert _count(url) == 2 and rejected.state == "rejected"


def test_each_voucher_has_its_own_checksum(vouchers) -> None:  # type: ignore[no-untyped-def]
    accrual, tax = vouchers
    assert accrual.checksum() != tax.checksum()
    assert accrual.checksum() == dataclasses.replace(accrual).checksum()
    moved = dataclasses.replace(
        accrual, attachment=dataclasses.replace(accrual.attachment, content=b"x")
    )
    assert moved.checksum() != accrual.checksum()


def test_an_empty_set_cannot_be_approved(warehouse_url: str) -> None:
    company_id = ensure_company(warehouse_url, ORG, "Testbolaget AB")
    with pytest.raises(ApprovalError, match="nothing to approve"):
        record_approval(warehouse_url, company_id, YEAR_START, decided_by="anna")
    with pytest.raises(ApprovalError, match="name of the person"):
        record_approval(warehouse_url, company_id, YEAR_START, decided_by=" ", state="rejected")
