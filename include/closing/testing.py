"""Helpers for tests, benchmarks and the demo: a company and a voucher set of one's own making.

    company_id = ensure_company(url, "556677-8899", "Testbolaget AB")
    put_voucher_set(url, company_id, date(2025, 1, 1), vouchers)
    approval = record_approval(url, company_id, date(2025, 1, 1), decided_by="test")

``put_voucher_set`` writes the vouchers as the import and the proposals do (same tables,
same attachment storage), replacing the partition's vouchers of each origin given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from include.closing.models import ClosingVoucher
from include.closing.store import now_utc, replace_vouchers
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for


def ensure_company(url_or_engine: EngineLike, org_number: str, name: str) -> int:
    """The company's id, creating a bare ``company`` row (no books) when it is not there."""
    engine, owned = engine_for(url_or_engine)
    c = schema.company
    try:
        with engine.begin() as conn:
            found = conn.scalar(sa.select(c.c.company_id).where(c.c.company_key == org_number))
            if found is not None:
                return int(found)
            result = conn.execute(
                c.insert().values(
                    company_key=org_number, org_number=org_number, name=name, created_at=now_utc()
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])
    finally:
        if owned:
            engine.dispose()


def put_voucher_set(
    url_or_engine: EngineLike,
    company_id: int,
    fiscal_year_start: date,
    vouchers: Sequence[ClosingVoucher],
) -> None:
    """Make ``vouchers`` the accepted set: adjustments first, then proposals, in one transaction."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            position = 1
            for origin in ("adjustment", "proposal"):
                mine = [v for v in vouchers if v.origin == origin]
                replace_vouchers(
                    conn,
                    company_id,
                    fiscal_year_start,
                    mine,
                    origin=origin,
                    first_position=position,
                )
                position += len(mine)
    finally:
        if owned:
            engine.dispose()
