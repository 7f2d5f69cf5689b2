"""Which partitions exist, how a person names one, and what load a partition holds now.

A partition is (company, fiscal year) with a ``fiscal_year`` row of ``year_index = 0``. Its
*load stamp* says which load the checks saw: the books' extract and that extract's
``loaded_at`` (a force reload of the same extract rewrites it), plus a fingerprint of the
open items (the same books with a new Fortnox extract replace only the open items). A quality
run records the stamp; the gate compares it with the partition's stamp now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from include.warehouse import schema


class PartitionNotFound(LookupError):
    """The warehouse holds no books for the partition (or company) a caller named."""


@dataclass(frozen=True, slots=True)
class Partition:
    company_id: int
    company_key: str
    org_number: str | None
    company_name: str
    fiscal_year_start: date
    fiscal_year_end: date

    @property
    def label(self) -> str:
        """`Name (org number) 2024-01-01`: what a person reads in a log or a task list."""
        who = self.org_number or self.company_key
        return f"{self.company_name} ({who}) {self.fiscal_year_start.isoformat()}"


@dataclass(frozen=True, slots=True)
class LoadStamp:
    """The load a partition holds: compare two stamps to know if it was reloaded."""

    extract_id: str
    loaded_at: datetime
    subledger_stamp: str | None

    def same_load(self, other: LoadStamp) -> bool:
        return self.change_since(other) is None

    def change_since(self, then: LoadStamp) -> str | None:
        """How this (newer) stamp differs from ``then``, in words; None when it does not."""
        if self.extract_id != then.extract_id:
            return (
                f"the partition was reloaded from extract {self.extract_id} (not {then.extract_id})"
            )
        if _naive_utc(self.loaded_at) != _naive_utc(then.loaded_at):
            return (
                f"extract {self.extract_id} was loaded again at {self.loaded_at:%Y-%m-%d %H:%M:%S}"
            )
        if self.subledger_stamp != then.subledger_stamp:
            return "the partition's open items (customer or supplier subledger) were replaced"
        return None


def not_found(company_id: int, fiscal_year_start: date) -> PartitionNotFound:
    return PartitionNotFound(
        f"no books in the warehouse for company {company_id}, "
        f"fiscal year {fiscal_year_start.isoformat()}"
    )


def _naive_utc(moment: datetime) -> datetime:
    # SQLite gives back the stored UTC text without its zone; PostgreSQL an aware time.
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _subledger_stamp(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> str | None:
    parts = []
    for kind, table in (("ar", schema.ar_open_item), ("ap", schema.ap_open_item)):
        row = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(table.c.extract_id),
                sa.func.max(table.c.extract_id),
                sa.func.sum(table.c.open_amount),
            ).where(
                table.c.company_id == company_id, table.c.fiscal_year_start == fiscal_year_start
            )
        ).one()
        count, first, last, total = row
        if count:
            extracts = first if first == last else f"{first}..{last}"
            parts.append(f"{kind}:{extracts}:{count}:{total}")
    return " ".join(parts) or None


def partition_stamp(
    conn: sa.Connection, company_id: int, fiscal_year_start: date
) -> LoadStamp | None:
    """The partition's load stamp now; None when the partition does not exist."""
    fy, ex = schema.fiscal_year, schema.extract
    row = conn.execute(
        sa.select(fy.c.extract_id, ex.c.loaded_at)
        .select_from(fy.join(ex, ex.c.extract_id == fy.c.extract_id))
        .where(
            fy.c.company_id == company_id,
            fy.c.fiscal_year_start == fiscal_year_start,
            fy.c.year_index == 0,
        )
    ).one_or_none()
    if row is None:
        return None
    return LoadStamp(
        extract_id=row.extract_id,
        loaded_at=row.loaded_at,
        subledger_stamp=_subledger_stamp(conn, company_id, fiscal_year_start),
    )


def _partition_select() -> sa.Select[tuple[object, ...]]:
    fy, c = schema.fiscal_year, schema.company
    return (
        sa.select(
            c.c.company_id,
            c.c.company_key,
            c.c.org_number,
            c.c.name,
            fy.c.fiscal_year_start,
            fy.c.end_date,
        )
        .select_from(fy.join(c, c.c.company_id == fy.c.company_id))
        .where(fy.c.year_index == 0)
        .order_by(c.c.name, c.c.company_id, fy.c.fiscal_year_start)
    )


def _partition(row: sa.Row[tuple[object, ...]]) -> Partition:
    return Partition(
        company_id=int(row.company_id),
        company_key=str(row.company_key),
        org_number=row.org_number,
        company_name=str(row.name),
        fiscal_year_start=row.fiscal_year_start,
        fiscal_year_end=row.end_date,
    )


def get_partition(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> Partition:
    fy = schema.fiscal_year
    row = conn.execute(
        _partition_select().where(
            fy.c.company_id == company_id, fy.c.fiscal_year_start == fiscal_year_start
        )
    ).one_or_none()
    if row is None:
        raise not_found(company_id, fiscal_year_start)
    return _partition(row)


def company_ids_named(conn: sa.Connection, name: str) -> list[int]:
    """Companies a person may mean by ``name``: org number (any form), company key, tenant id."""
    from include.warehouse.loader import normalise_org_number

    c = schema.company
    wanted = name.strip()
    org = normalise_org_number(wanted)
    conditions = [c.c.company_key == wanted, c.c.fortnox_tenant_id == wanted]
    if org:
        conditions.append(c.c.org_number == org)
    return [int(i) for i in conn.scalars(sa.select(c.c.company_id).where(sa.or_(*conditions)))]


def parse_fiscal_year(value: str | int | date | None) -> date | int | None:
    """``YYYY-MM-DD`` (the start date), ``YYYY`` (the year starting in that year) or None."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text:
        return None
    if text.isdigit() and len(text) == 4:
        return int(text)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"fiscal year must be YYYY-MM-DD or YYYY, not {value!r}") from None


def find_partitions(
    conn: sa.Connection,
    company: str | None = None,
    fiscal_year: str | int | date | None = None,
) -> list[Partition]:
    """The partitions a person names; all of them when neither is given.

    Raises PartitionNotFound, naming what was asked for, when nothing matches.
    """
    fy = schema.fiscal_year
    query = _partition_select()
    wanted = parse_fiscal_year(fiscal_year)
    if company is not None:
        ids = company_ids_named(conn, company)
        if not ids:
            raise PartitionNotFound(f"no company {company!r} in the warehouse")
        query = query.where(fy.c.company_id.in_(ids))
    if isinstance(wanted, date):
        query = query.where(fy.c.fiscal_year_start == wanted)
    partitions = [_partition(row) for row in conn.execute(query)]
    if isinstance(wanted, int):
        partitions = [p for p in partitions if p.fiscal_year_start.year == wanted]
    if not partitions and (company is not None or wanted is not None):
        asked = " ".join(
            part
            for part in (
                f"company {company!r}" if company is not None else "",
                f"fiscal year {fiscal_year}" if wanted is not None else "",
            )
            if part
        )
        raise PartitionNotFound(f"no books in the warehouse for {asked}")
    return partitions
