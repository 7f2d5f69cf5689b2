"""Load a SIE file into the warehouse: one (company, fiscal year) partition per load.

The pieces, one concern per module:

- ``identity``: the company key and the partition's fiscal year;
- ``header``: rows of the small tables (accounts, balances, ...);
- ``bulk_tables``: how the reader's Arrow tables map onto voucher / voucher_row;
- ``sqlite_writer`` and ``pg_copy``: the bulk writers (executemany, binary COPY);
- ``partition``: the one transaction that replaces a partition, and its lineage;
- ``subledger``: the year-end open items;
- ``checksum``: a partition's fingerprint.

This module reads the file and hands its columns to the partition transaction.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from include.sie4.errors import SieError
from include.warehouse.checksum import partition_checksum
from include.warehouse.engine import EngineLike
from include.warehouse.identity import (
    CompanyIdentity,
    company_identity,
    current_fiscal_year,
    normalise_org_number,
)
from include.warehouse.partition import (
    SOURCE_KINDS,
    AfterTable,
    LoadResult,
    OlderExtractError,
    SourceKind,
    load_columns,
    partition_counts,
)
from include.warehouse.subledger import OpenItems, load_open_items

if TYPE_CHECKING:
    from include.sie4.bulk import SieColumns

__all__ = [
    "SOURCE_KINDS",
    "AfterTable",
    "CompanyIdentity",
    "LoadResult",
    "OlderExtractError",
    "OpenItems",
    "SourceKind",
    "company_identity",
    "current_fiscal_year",
    "load_columns",
    "load_open_items",
    "load_sie",
    "normalise_org_number",
    "partition_checksum",
    "partition_counts",
]


def _read_bytes(source: Path | str | bytes) -> tuple[bytes, str | None]:
    if isinstance(source, bytes):
        return source, None
    path = Path(source)
    return path.read_bytes(), path.name


def _read_columns(data: bytes, *, lenient: bool, name: str) -> SieColumns:
    from include.sie4.bulk import read_columns

    try:
        return read_columns(data, lenient=lenient)
    except SieError as exc:  # the reader saw bytes: name the file in the message
        raise SieError(
            exc.errors, source=name, warnings=exc.warnings, unreadable=exc.unreadable
        ) from exc


def load_sie(
    source: Path | str | bytes,
    url_or_engine: EngineLike,
    *,
    lenient: bool = False,
    source_kind: SourceKind = "cli",
    file_name: str | None = None,
    fortnox_tenant_id: str | None = None,
    extract_id: str | None = None,
    landing_path: str | None = None,
    force: bool = False,
    after_table: AfterTable | None = None,
    open_items: OpenItems | None = None,
) -> LoadResult:
    """Load one SIE file, replacing its (company, fiscal year) partition atomically.

    The same file (same SHA-256) already current in its partition is a no-op
    (``skipped=True``, ``extract_id`` the partition's extract) unless ``force``. A
    rejected file raises ``SieError`` naming the file and lines, and nothing is
    written. A file older than the partition's books raises ``OlderExtractError``
    unless ``force`` (see ``partition.older_than``). ``after_table(name)`` is called
    after each table is written (a test hook to fail mid-load).

    ``open_items`` ({"ar": rows, "ap": rows}, see :func:`load_open_items`) are the
    extract's year-end open items: they belong to the partition's extract like its
    books. A load that replaces the partition replaces them too, and without
    ``open_items`` the partition is left with none. The same books with the same
    open items are a no-op; with other open items, the partition is replaced.
    """
    data, path_name = _read_bytes(source)
    name = file_name or path_name or "<bytes>"
    columns = _read_columns(data, lenient=lenient, name=name)
    return load_columns(
        columns,
        url_or_engine,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        file_name=name,
        source_kind=source_kind,
        fortnox_tenant_id=fortnox_tenant_id,
        extract_id=extract_id,
        landing_path=landing_path,
        force=force,
        after_table=after_table,
        open_items=open_items,
    )
