"""Closing fixtures: the warehouse fixtures (a migrated SQLite file per test, one migrated
PostgreSQL schema per session) and a small voucher set with an attachment."""

from __future__ import annotations

import pytest

from include.closing.models import ClosingVoucher
from tests.closing._closing_testkit import sample_vouchers

# The same empty, migrated warehouses the warehouse tests use, on SQLite and PostgreSQL.
from tests.warehouse.conftest import (  # noqa: F401
    pg_session_url,
    pg_warehouse_url,
    sqlite_template,
    sqlite_url,
    warehouse_url,
)


@pytest.fixture
def vouchers() -> tuple[ClosingVoucher, ...]:
    return sample_vouchers()
