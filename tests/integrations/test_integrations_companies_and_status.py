"""The company row the callback creates, and the status columns of the list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from _view_testkit import closed_and_exported

from include.books import generate_books
from include.fortnox.tokens import StoredConnection
from include.integrations.companies import CompanyConflict, register_company
from include.integrations.status import (
    CONNECTED,
    DISCONNECTED,
    MUST_RECONNECT,
    company_statuses,
    connection_state,
    last_extracts,
    last_loads,
)
from include.sie4 import write_sie
from include.warehouse.loader import load_sie
from include.warehouse.migrate import migrate
from include.warehouse.schema import company

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def connection(tenant: str = "42", **changes: object) -> StoredConnection:
    values: dict[str, object] = {
        "tenant_id": tenant,
        "company_name": "Testbolaget AB",
        "org_number": "556677-8899",
        "grant_type": "authorization_code",
        "status": "connected",
        "status_reason": None,
        "scope": "bookkeeping",
        "access_expires_at": NOW + timedelta(minutes=30),
        "connected_at": NOW - timedelta(days=1),
        "refreshed_at": None,
        "refresh_count": 0,
    }
    values.update(changes)
    return StoredConnection(**values)  # type: ignore[arg-type]


def sie_of(company_index: int = 0) -> tuple[bytes, str, str, int]:
    books = generate_books(11, company_index=company_index, years=1, vouchers_per_year=20)
    start = books.years[0].fiscal_year.start
    profile = books.company
    return write_sie(books.to_sie(start)), profile.org_number, profile.name, start.year


def test_connection_state_in_the_pages_words() -> None:
    ok = connection_state(connection(), NOW)
    assert ok.status == CONNECTED and not ok.access_expired and not ok.service_account
    assert ok.access_expires_at == NOW + timedelta(minutes=30)
    expired = connection_state(connection(access_expires_at=NOW - timedelta(minutes=1)), NOW)
    assert expired.access_expired
    lost = connection_state(
        connection(status="reconnect_required", status_reason="Invalid refresh token"), NOW
    )
    assert lost.status == MUST_RECONNECT and lost.reason == "Invalid refresh token"
    assert lost.access_expires_at is None
    gone = connection_state(connection(status="revoked", access_expires_at=None), NOW)
    assert gone.status == DISCONNECTED
    service = connection_state(connection(grant_type="client_credentials"), NOW)
    assert service.service_account


def test_register_company_is_the_row_the_first_load_uses(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"  # never migrated: register migrates it
    data, org, name, _ = sie_of()
    digits = org.replace("-", "")
    company_id = register_company(url, tenant_id="777", company_name=name, org_number=digits)
    assert company_id is not None
    # Again (a reconnect): the same row.
    assert register_company(url, tenant_id="777", company_name=name, org_number=org) == company_id
    result = load_sie(data, url, source_kind="fortnox", fortnox_tenant_id="777")
    assert result.company_id == company_id
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(company)).mappings().all()
    engine.dispose()
    assert [(r["company_key"], r["org_number"], r["fortnox_tenant_id"]) for r in rows] == [
        (org, org, "777")
    ]


def test_register_company_conflicts_and_missing_org_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    assert register_company(url, tenant_id="1", company_name="X", org_number="") is None
    register_company(url, tenant_id="1", company_name="X", org_number="556677-8899")
    with pytest.raises(CompanyConflict, match="tenant 1"):
        register_company(url, tenant_id="2", company_name="X", org_number="5566778899")
    with pytest.raises(CompanyConflict, match="tenant 1 already belongs"):
        register_company(url, tenant_id="1", company_name="Y", org_number="556600-0000")


def write_manifest(data_root: Path, tenant: str, year: int, extract_id: str) -> None:
    folder = data_root / "landing" / tenant / f"{year}-01-01_{year}-12-31" / extract_id
    folder.mkdir(parents=True)
    manifest = {
        "extract_id": extract_id,
        "company": tenant,
        "fiscal_year_start": f"{year}-01-01",
        "fiscal_year_end": f"{year}-12-31",
        "published_at": f"{extract_id[:4]}-01-02T03:04:05+00:00",
        "sie_changed": True,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_last_extracts_newest_per_company_over_its_years(tmp_path: Path) -> None:
    write_manifest(tmp_path, "1", 2024, "20250102T000000000000Z-aaaa")
    write_manifest(tmp_path, "1", 2025, "20260102T000000000000Z-bbbb")
    write_manifest(tmp_path, "1", 2025, "20260101T000000000000Z-cccc")
    write_manifest(tmp_path, "2", 2024, "20250103T000000000000Z-dddd")
    (tmp_path / "landing" / ".staging" / "run" / "1").mkdir(parents=True)  # never counted
    (tmp_path / "landing" / "2" / "2025-01-01_2025-12-31" / "unpublished").mkdir(parents=True)
    found = last_extracts(tmp_path)
    assert {t: e.extract_id for t, e in found.items()} == {
        "1": "20260102T000000000000Z-bbbb",
        "2": "20250103T000000000000Z-dddd",
    }
    assert found["1"].fiscal_year_start == date(2025, 1, 1)
    assert last_extracts(tmp_path / "nothing-here") == {}


def test_last_loads_and_the_whole_list(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    assert last_loads(url) == {}  # no warehouse yet
    migrate(url)
    data, org, name, year = sie_of()
    load_sie(data, url, source_kind="fortnox", fortnox_tenant_id="42")
    other, *_ = sie_of(company_index=1)
    load_sie(other, url, source_kind="inbox")  # not a Fortnox company: not listed
    loads = last_loads(url)
    assert list(loads) == ["42"]
    assert loads["42"].fiscal_year_start == date(year, 1, 1)
    write_manifest(tmp_path, "42", year, f"{year + 1}0102T000000000000Z-eeee")
    statuses = company_statuses(
        [connection("42", company_name=name, org_number=org), connection("43", company_name="")],
        data_root=tmp_path,
        warehouse_url=url,
        now=NOW,
    )
    by_tenant = {s.tenant_id: s for s in statuses}
    assert by_tenant["42"].last_load == loads["42"]
    assert by_tenant["42"].last_extract is not None
    assert by_tenant["43"].last_load is None and by_tenant["43"].label == "tenant 43"
    assert all(s.notes == () for s in statuses)


def test_a_broken_warehouse_leaves_the_connections_listed(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-db.db"
    broken.write_bytes(b"this is not SQLite" * 100)
    statuses = company_statuses(
        [connection()], data_root=tmp_path, warehouse_url=f"sqlite:///{broken}", now=NOW
    )
    assert [s.tenant_id for s in statuses] == ["42"]
    assert statuses[0].last_load is None
    assert statuses[0].notes == ("The warehouse could not be read (DatabaseError).",)


def test_quality_and_closing_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    data, org, name, _ = sie_of()
    closed_and_exported(url, "42", data)
    [status] = company_statuses(
        [connection("42", company_name=name, org_number=org)],
        data_root=tmp_path,
        warehouse_url=url,
        now=NOW,
    )
    assert status.notes == ()
    assert status.quality is not None and status.quality.status == "passed"
    assert not status.quality.blocks and status.quality.failed_checks == ()
    closing = status.closing
    assert closing is not None and closing.status == "approved" and closing.decided_by == "test"
    assert [(v.state, v.fortnox_voucher) for v in closing.vouchers] == [
        ("sent", "A301"),
        ("pending", None),
    ]
    assert not closing.exported  # one of the two is still pending


def test_a_failed_check_shows_with_its_name(tmp_path: Path) -> None:
    from include.quality.testing import record_checks

    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    data, org, name, _ = sie_of()
    result = load_sie(data, url, source_kind="fortnox", fortnox_tenant_id="42")
    record_checks(url, result.company_id, result.fiscal_year_start, failed=("voucher_balances",))
    [status] = company_statuses(
        [connection("42", company_name=name, org_number=org)],
        data_root=tmp_path,
        warehouse_url=url,
        now=NOW,
    )
    assert status.quality is not None and status.quality.status == "failed"
    assert status.quality.blocks and status.quality.failed_checks == ("voucher_balances",)
    assert status.closing is None
