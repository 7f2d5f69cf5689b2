"""The partition transaction: one load replaces one (company, fiscal year) in ONE transaction.

It locks the partition, deletes its rows from every partition table and
writes the new ones, so readers see the old books or the new, never a mix,
and a failure leaves the old books untouched. Everything in a partition has
one lineage, the extract it came from: its books and its year-end open
items are replaced, kept or removed together. The same file already current
in the partition (with the same open items, if any come) is a no-op; an
extract older than the partition's is refused unless forced (``older_than``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from include.sie4.records import Diagnostic
from include.warehouse import schema
from include.warehouse.bulk_tables import ROW_COLUMNS, VOUCHER_COLUMNS, Partition, voucher_rows
from include.warehouse.engine import EngineLike, engine_for
from include.warehouse.header import header_rows
from include.warehouse.identity import company_identity, current_fiscal_year, upsert_company
from include.warehouse.pg_copy import insert_postgres
from include.warehouse.sqlite_writer import insert_sqlite
from include.warehouse.subledger import (
    OpenItems,
    check_open_items,
    same_open_items,
    write_open_items,
)

if TYPE_CHECKING:
    from include.sie4.bulk import SieColumns

SourceKind = Literal["fortnox", "inbox", "cli"]
SOURCE_KINDS: tuple[str, ...] = ("fortnox", "inbox", "cli")
AfterTable = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load did. ``skipped`` is True when the partition already held this file."""

    company_id: int
    org_number: str | None
    company_name: str
    fiscal_year_start: date
    fiscal_year_end: date
    extract_id: str
    sha256: str
    counts: dict[str, int]
    skipped: bool
    warnings: tuple[Diagnostic, ...] = field(default=())


class OlderExtractError(Exception):
    """The extract is older than the books its partition holds; not loaded (``force`` overrides)."""


@dataclass(frozen=True, slots=True)
class _Extract:
    """What decides which of two extracts of a partition is newer."""

    extract_id: str
    source_kind: str
    file_name: str
    generated_on: date | None


# Landing-zone extract ids begin with their publish time (include/ingest/extract.py).
_PUBLISHED_AT = re.compile(r"^(\d{8}T\d{6})(\d{0,6})Z-")


def _published_at(extract: _Extract) -> datetime | None:
    found = _PUBLISHED_AT.match(extract.extract_id) if extract.source_kind == "fortnox" else None
    if found is None:
        return None
    seconds, fraction = found.groups()
    return datetime.strptime(seconds + fraction.ljust(6, "0"), "%Y%m%dT%H%M%S%f")


def older_than(new: _Extract, current: _Extract) -> str | None:
    """Why ``new`` holds older books than ``current``, or None when it does not (or cannot tell).

    Two landing-zone extracts compare by publish time (their ids sort by it);
    otherwise two files compare by their ``#GEN`` date, the day the accounting
    program wrote them. The same day is not older. When load time is all that is
    known, nothing is refused: an old file can be loaded today.
    """
    if new.extract_id == current.extract_id:
        return None
    new_at, current_at = _published_at(new), _published_at(current)
    if new_at is not None and current_at is not None:
        if new_at < current_at:
            shown = "%Y-%m-%d %H:%M:%S"
            return f"fetched from Fortnox {new_at:{shown}}, the books there {current_at:{shown}}"
        return None
    if new.generated_on and current.generated_on and new.generated_on < current.generated_on:
        return f"written (#GEN) {new.generated_on}, the books there {current.generated_on}"
    return None


def _lock_partition(conn: sa.Connection, company_id: int, fy_start: date) -> None:
    # PostgreSQL: serialise loads of one partition; SQLite: BEGIN IMMEDIATE already did.
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:a, :b)"),
            {"a": company_id, "b": fy_start.year * 10000 + fy_start.month * 100 + fy_start.day},
        )


def _current_extract(
    conn: sa.Connection, company_id: int, fy_start: date
) -> tuple[str, _Extract] | None:
    """(sha256, extract) of the partition's current books, None for an empty partition."""
    fy, ex = schema.fiscal_year, schema.extract
    row = conn.execute(
        sa.select(ex.c.sha256, ex.c.extract_id, ex.c.source_kind, ex.c.file_name, ex.c.generated_on)
        .select_from(fy.join(ex, ex.c.extract_id == fy.c.extract_id))
        .where(
            fy.c.company_id == company_id,
            fy.c.fiscal_year_start == fy_start,
            fy.c.year_index == 0,
        )
    ).one_or_none()
    if row is None:
        return None
    return row.sha256, _Extract(row.extract_id, row.source_kind, row.file_name, row.generated_on)


def _extract_exists(conn: sa.Connection, extract_id: str) -> bool:
    ex = schema.extract
    found = conn.execute(sa.select(ex.c.extract_id).where(ex.c.extract_id == extract_id))
    return found.first() is not None


def partition_counts(conn: sa.Connection, company_id: int, fy_start: date) -> dict[str, int]:
    """Rows per partition table for one (company, fiscal year)."""
    counts: dict[str, int] = {}
    for table in reversed(schema.PARTITION_TABLES):
        counts[table.name] = conn.execute(
            sa.select(sa.func.count()).where(
                table.c.company_id == company_id, table.c.fiscal_year_start == fy_start
            )
        ).scalar_one()
    return counts


def _register_extract(
    conn: sa.Connection, values: dict[str, Any], *, extract_id: str, sha256: str
) -> None:
    ex = schema.extract
    existing = conn.execute(
        sa.select(ex.c.sha256).where(ex.c.extract_id == extract_id)
    ).scalar_one_or_none()
    if existing is None:
        conn.execute(sa.insert(ex).values(extract_id=extract_id, sha256=sha256, **values))
    elif existing == sha256:
        conn.execute(sa.update(ex).where(ex.c.extract_id == extract_id).values(**values))
    else:
        raise ValueError(f"extract id {extract_id!r} already names a different file")


def load_columns(
    columns: SieColumns,
    url_or_engine: EngineLike,
    *,
    sha256: str,
    size_bytes: int,
    file_name: str,
    source_kind: SourceKind = "cli",
    fortnox_tenant_id: str | None = None,
    extract_id: str | None = None,
    landing_path: str | None = None,
    force: bool = False,
    after_table: AfterTable | None = None,
    open_items: OpenItems | None = None,
) -> LoadResult:
    """Replace one partition with already-read columns (see :func:`load_sie`)."""
    if source_kind not in SOURCE_KINDS:
        raise ValueError(f"source_kind must be one of {SOURCE_KINDS}, not {source_kind!r}")
    doc = columns.document
    warnings = list(doc.warnings)
    identity = company_identity(doc, sha256=sha256)
    if identity.key.startswith("file:"):
        warnings.append(
            Diagnostic(1, "no #ORGNR, #FNR or #FNAMN: company keyed by the file hash", "warning")
        )
    fy_start, fy_end, from_file = current_fiscal_year(doc, columns.vouchers, source=file_name)
    if not from_file:
        warnings.append(
            Diagnostic(1, f"no #RAR 0: fiscal year taken as {fy_start}..{fy_end}", "warning")
        )
    extract_id = extract_id or f"{source_kind}-{sha256[:24]}"
    header = header_rows(doc, fy_start, fy_end, from_file)
    # Checked before the transaction: a bad value names its invoice and field.
    subledger = check_open_items(open_items) if open_items is not None else None
    incoming = _Extract(extract_id, source_kind, file_name, doc.generated_on)

    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            company_id = upsert_company(conn, identity, fortnox_tenant_id)
            _lock_partition(conn, company_id, fy_start)
            result = LoadResult(
                company_id=company_id,
                org_number=identity.org_number,
                company_name=identity.name,
                fiscal_year_start=fy_start,
                fiscal_year_end=fy_end,
                extract_id=extract_id,
                sha256=sha256,
                counts={},
                skipped=True,
                warnings=tuple(warnings),
            )
            extract_values = {
                "company_id": company_id,
                "fiscal_year_start": fy_start,
                "source_kind": source_kind,
                "file_name": file_name,
                "size_bytes": size_bytes,
                "program": " ".join(p for p in doc.program if p),
                "encoding": doc.encoding,
                "sie_type": doc.sie_type,
                "landing_path": landing_path,
                "warning_count": len(warnings),
                "loaded_at": datetime.now(UTC),
                "generated_on": doc.generated_on,
                "ksumma": doc.ksumma.value,  # ok or absent: a mismatch is never loaded
            }
            found = _current_extract(conn, company_id, fy_start)
            current_sha256, current = found if found is not None else (None, None)
            if (
                not force
                and current_sha256 == sha256
                and current is not None
                and (subledger is None or same_open_items(conn, subledger, company_id, fy_start))
            ):
                # Same books (and the same open items, if any came): the partition and its
                # lineage are untouched. A new extract id for the same bytes (a repeated
                # Fortnox fetch) is still recorded as received.
                if not _extract_exists(conn, extract_id):
                    _register_extract(conn, extract_values, extract_id=extract_id, sha256=sha256)
                counts = partition_counts(conn, company_id, fy_start)
                return replace(result, counts=counts, extract_id=current.extract_id)
            if not force and current is not None:
                why = older_than(incoming, current)
                if why:
                    raise OlderExtractError(
                        f"{file_name}: not loaded: extract {extract_id} is older than the "
                        f"books of {identity.name} ({identity.org_number or identity.key}) "
                        f"{fy_start}..{fy_end} in the warehouse, extract {current.extract_id} "
                        f"({current.file_name}): {why}. Load it with force=True "
                        "(CLI: --force) to replace the newer books anyway."
                    )

            for table in schema.PARTITION_TABLES:  # books and open items: one lineage
                conn.execute(
                    sa.delete(table).where(
                        table.c.company_id == company_id, table.c.fiscal_year_start == fy_start
                    )
                )
            _register_extract(conn, extract_values, extract_id=extract_id, sha256=sha256)
            part = Partition(company_id, fy_start, extract_id)
            counts = _write_partition(conn, part, header, columns, after_table)
            counts |= write_open_items(conn, subledger or {}, company_id, fy_start, extract_id)
        return replace(result, counts=counts, skipped=False)
    finally:
        if owned:
            engine.dispose()


def _write_partition(
    conn: sa.Connection,
    part: Partition,
    header: Mapping[str, list[dict[str, Any]]],
    columns: SieColumns,
    after_table: AfterTable | None,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    keys = {
        "company_id": part.company_id,
        "fiscal_year_start": part.fiscal_year_start,
        "extract_id": part.extract_id,
    }
    tables = schema.metadata.tables
    for name, rows in header.items():
        if rows:
            conn.execute(sa.insert(tables[name]), [{**keys, **row} for row in rows])
        counts[name] = len(rows)
        if after_table is not None:
            after_table(name)

    insert = insert_postgres if conn.dialect.name == "postgresql" else insert_sqlite
    bulk = (
        (schema.voucher, columns.vouchers, VOUCHER_COLUMNS),
        (schema.voucher_row, voucher_rows(columns.rows, columns.row_objects), ROW_COLUMNS),
    )
    for table, data, mapping in bulk:
        insert(conn, table, data, mapping, part)
        counts[table.name] = data.num_rows
        if after_table is not None:
            after_table(table.name)
    return counts
