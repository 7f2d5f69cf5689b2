"""A partition's fingerprint: identical books give the same hash, on either database."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for


def partition_checksum(
    url_or_engine: EngineLike | sa.Connection,
    company_id: int,
    fiscal_year_start: date,
    tables: Sequence[sa.Table] = schema.PARTITION_TABLES,
) -> str:
    """SHA-256 over every row of the partition, in key order (identical books -> same hash)."""
    digest = hashlib.sha256()

    def feed(conn: sa.Connection) -> None:
        for table in sorted(tables, key=lambda t: t.name):
            digest.update(f"[{table.name}]".encode())
            stmt = (
                sa.select(table)
                .where(
                    table.c.company_id == company_id,
                    table.c.fiscal_year_start == fiscal_year_start,
                )
                .order_by(*table.primary_key.columns)
            )
            for row in conn.execute(stmt):
                digest.update(repr(tuple(row)).encode())
                digest.update(b"\n")

    if isinstance(url_or_engine, sa.Connection):
        feed(url_or_engine)
    else:
        engine, owned = engine_for(url_or_engine)
        try:
            with engine.connect() as conn:
                feed(conn)
        finally:
            if owned:
                engine.dispose()
    return digest.hexdigest()
