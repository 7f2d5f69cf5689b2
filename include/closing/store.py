"""Reading and writing the closing's tables: the voucher set as accepted now, and its attachments.

``closing_adjustment`` holds the rows of every accepted voucher (CSV adjustments and accepted
proposals) with the voucher's fields on each row; ``closing_attachment`` the attachments'
bytes by SHA-256. :func:`current_voucher_set` builds the :class:`VoucherSet` from them, in
the order the vouchers are exported (``voucher_position``, then ``row_number``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from include.closing.models import Attachment, ClosingRow, ClosingVoucher, VoucherSet
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

if TYPE_CHECKING:
    from include.quality.partitions import Partition

adj = schema.closing_adjustment
att = schema.closing_attachment


class ClosingDataError(RuntimeError):
    """The closing tables hold something inconsistent (a voucher's rows disagree, ...)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def company_key(conn: sa.Connection, company_id: int) -> str:
    key = conn.scalar(
        sa.select(schema.company.c.company_key).where(schema.company.c.company_id == company_id)
    )
    if key is None:
        raise LookupError(f"no company {company_id} in the warehouse")
    return str(key)


def read_voucher_set(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> VoucherSet:
    """The accepted vouchers of a partition, read on ``conn`` (inside the caller's transaction)."""
    rows = conn.execute(
        sa.select(adj)
        .where(adj.c.company_id == company_id, adj.c.fiscal_year_start == fiscal_year_start)
        .order_by(adj.c.voucher_position, adj.c.reference, adj.c.row_number)
    ).all()
    contents = _attachment_contents(
        conn, company_id, {r.attachment_sha256 for r in rows if r.attachment_sha256}
    )
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.reference, []).append(row)
    vouchers = [_voucher(reference, group, contents) for reference, group in grouped.items()]
    return VoucherSet(
        company_id=company_id,
        company_key=company_key(conn, company_id),
        fiscal_year_start=fiscal_year_start,
        vouchers=tuple(vouchers),
    )


def current_voucher_set(
    url_or_engine: EngineLike, company_id: int, fiscal_year_start: date
) -> VoucherSet:
    """What is accepted now for the partition: the set an approval's checksum is compared to."""
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            return read_voucher_set(conn, company_id, fiscal_year_start)
    finally:
        if owned:
            engine.dispose()


def _attachment_contents(
    conn: sa.Connection, company_id: int, hashes: set[str]
) -> dict[str, bytes]:
    if not hashes:
        return {}
    found = conn.execute(
        sa.select(att.c.sha256, att.c.content).where(
            att.c.company_id == company_id, att.c.sha256.in_(sorted(hashes))
        )
    ).all()
    contents = {r.sha256: bytes(r.content) for r in found}
    missing = hashes - set(contents)
    if missing:
        raise ClosingDataError(f"attachments missing from closing_attachment: {sorted(missing)}")
    return contents


def _voucher(reference: str, rows: Sequence[Any], contents: dict[str, bytes]) -> ClosingVoucher:
    first = rows[0]
    header = (
        *("origin", "kind", "series", "voucher_date", "description", "voucher_position"),
        *("attachment_sha256", "attachment_name", "attachment_media_type"),
    )
    for row in rows[1:]:
        for name in header:
            if getattr(row, name) != getattr(first, name):
                raise ClosingDataError(
                    f"voucher {reference}: rows disagree on {name} "
                    f"({getattr(first, name)!r} and {getattr(row, name)!r})"
                )
    attachment = None
    if first.attachment_sha256:
        attachment = Attachment(
            file_name=first.attachment_name or "",
            media_type=first.attachment_media_type or "application/octet-stream",
            content=contents[first.attachment_sha256],
        )
        if attachment.sha256 != first.attachment_sha256:
            raise ClosingDataError(f"voucher {reference}: attachment bytes do not match their hash")
    return ClosingVoucher(
        reference=reference,
        origin=first.origin,
        kind=first.kind,
        series=first.series,
        voucher_date=first.voucher_date,
        description=first.description,
        rows=tuple(
            ClosingRow(
                account=r.account,
                debit=r.debit,
                credit=r.credit,
                text=r.text,
                cost_centre=r.cost_centre,
                project=r.project,
            )
            for r in rows
        ),
        attachment=attachment,
    )


# ----------------------------------------------------------------------------- writing


def store_attachment(conn: sa.Connection, company_id: int, attachment: Attachment) -> None:
    """Keep the attachment's bytes (once per company and content)."""
    exists = conn.scalar(
        sa.select(sa.func.count()).where(
            att.c.company_id == company_id, att.c.sha256 == attachment.sha256
        )
    )
    if not exists:
        conn.execute(
            att.insert().values(
                company_id=company_id,
                sha256=attachment.sha256,
                size_bytes=attachment.size,
                content=attachment.content,
                created_at=now_utc(),
            )
        )


def voucher_rows(
    voucher: ClosingVoucher,
    company_id: int,
    fiscal_year_start: date,
    position: int,
    *,
    source_file: str | None = None,
    source_lines: Sequence[int | None] = (),
) -> list[dict[str, Any]]:
    """The ``closing_adjustment`` rows of one voucher."""
    attachment = voucher.attachment
    lines = list(source_lines) or [None] * len(voucher.rows)
    return [
        {
            "company_id": company_id,
            "fiscal_year_start": fiscal_year_start,
            "reference": voucher.reference,
            "row_number": number,
            "voucher_position": position,
            "origin": voucher.origin,
            "kind": voucher.kind,
            "series": voucher.series,
            "voucher_date": voucher.voucher_date,
            "description": voucher.description,
            "account": row.account,
            "debit": row.debit,
            "credit": row.credit,
            "text": row.text,
            "cost_centre": row.cost_centre,
            "project": row.project,
            "source_file": source_file,
            "source_line": line,
            "attachment_sha256": attachment.sha256 if attachment else None,
            "attachment_name": attachment.file_name if attachment else None,
            "attachment_media_type": attachment.media_type if attachment else None,
        }
        for number, (row, line) in enumerate(zip(voucher.rows, lines, strict=True), start=1)
    ]


def delete_vouchers(
    conn: sa.Connection, company_id: int, fiscal_year_start: date, *, origin: str
) -> None:
    conn.execute(
        adj.delete().where(
            adj.c.company_id == company_id,
            adj.c.fiscal_year_start == fiscal_year_start,
            adj.c.origin == origin,
        )
    )


def insert_rows(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        conn.execute(adj.insert(), batch)


def remove_unused_attachments(conn: sa.Connection, company_id: int) -> None:
    """Drop the company's attachments no voucher row or proposal refers to any more."""
    prop = schema.closing_proposal
    in_rows = sa.select(adj.c.attachment_sha256).where(
        adj.c.company_id == company_id, adj.c.attachment_sha256.is_not(None)
    )
    in_proposals = sa.select(prop.c.attachment_sha256).where(
        prop.c.company_id == company_id, prop.c.attachment_sha256.is_not(None)
    )
    conn.execute(
        att.delete().where(
            att.c.company_id == company_id,
            att.c.sha256.not_in(in_rows),
            att.c.sha256.not_in(in_proposals),
        )
    )


def resolve_partition(conn: sa.Connection, company: str, fiscal_year: str | date) -> Partition:
    """The one partition a person names: org number (any form) or company key, and the
    fiscal year's start date (``YYYY-MM-DD``) or its start year (``YYYY``)."""
    from include.quality.partitions import find_partitions

    found = find_partitions(conn, company, fiscal_year)
    if len(found) != 1:
        names = ", ".join(p.label for p in found)
        raise LookupError(f"{company!r} {fiscal_year} names {len(found)} partitions: {names}")
    return found[0]


def replace_vouchers(
    conn: sa.Connection,
    company_id: int,
    fiscal_year_start: date,
    vouchers: Sequence[ClosingVoucher],
    *,
    origin: str,
    first_position: int = 1,
    source_file: str | None = None,
    source_lines: Sequence[Sequence[int | None]] = (),
) -> None:
    """Replace the partition's vouchers of one origin (inside the caller's transaction)."""
    if any(v.origin != origin for v in vouchers):
        raise ValueError(f"every voucher must be of origin {origin}")
    delete_vouchers(conn, company_id, fiscal_year_start, origin=origin)
    lines = list(source_lines) or [()] * len(vouchers)
    for offset, (voucher, voucher_lines) in enumerate(zip(vouchers, lines, strict=True)):
        if voucher.attachment is not None:
            store_attachment(conn, company_id, voucher.attachment)
        insert_rows(
            conn,
            voucher_rows(
                voucher,
                company_id,
                fiscal_year_start,
                first_position + offset,
                source_file=source_file,
                source_lines=voucher_lines,
            ),
        )
    remove_unused_attachments(conn, company_id)


def lock_partition(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> None:
    """Serialise the closing's writers of one partition (import, proposals, approval).

    PostgreSQL: a transaction-scoped advisory lock (the one-key form, a key space apart from
    the loader's two-key locks). SQLite: a write statement takes the database's write lock
    now, so the transaction's reads see what it will write over.
    """
    day = fiscal_year_start.year * 10000 + fiscal_year_start.month * 100 + fiscal_year_start.day
    if conn.dialect.name == "postgresql":
        key = 0x636C_0000_0000_0000 + company_id * 100_000_000 + day  # "cl" + partition
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        conn.execute(
            schema.closing_import.update()
            .where(sa.false())
            .values(imported_by=schema.closing_import.c.imported_by)
        )
