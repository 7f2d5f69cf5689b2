"""Who and which year a SIE file is: the company key and the partition's fiscal year.

A partition is (company, fiscal year). The company is keyed by its
organisation number, else the program's company id, else its name, else the
file's hash; the fiscal year is ``#RAR 0``, else derived from the vouchers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from include.sie4.errors import SieError
from include.sie4.records import Diagnostic, SieDocument
from include.warehouse import schema


@dataclass(frozen=True, slots=True)
class CompanyIdentity:
    """How a file names its company; ``key`` is the warehouse's unique identity."""

    key: str
    org_number: str | None
    name: str
    program_company_id: str | None


def normalise_org_number(raw: str) -> str | None:
    """``NNNNNN-NNNN`` from the forms seen in real files, else None.

    Accepts 5565678901, 556567-8901 and the 12-digit form with a century
    prefix (16, 19, 20) that some programs write.
    """
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 12 and digits[:2] in ("16", "19", "20"):
        digits = digits[2:]
    if len(digits) != 10:
        return None
    return f"{digits[:6]}-{digits[6:]}"


def company_identity(doc: SieDocument, *, sha256: str) -> CompanyIdentity:
    """The company key: organisation number, else #FNR, else #FNAMN, else the file's hash.

    The last fallback makes every readable file loadable; such a company is
    one file's books and gets a warning.
    """
    info = doc.company
    raw_org = info.org_number.strip()
    org = normalise_org_number(raw_org) if raw_org else None
    name = info.name.strip()
    fnr = info.company_id.strip() or None
    if org:
        key = org
    elif raw_org:
        key = f"orgnr:{raw_org}"
    elif fnr:
        key = f"fnr:{fnr}"
    elif name:
        key = f"name:{name}"
    else:
        key = f"file:{sha256[:16]}"
    return CompanyIdentity(key=key, org_number=org, name=name or key, program_company_id=fnr)


def current_fiscal_year(
    doc: SieDocument, vouchers: pa.Table, *, source: str | None = None
) -> tuple[date, date, bool]:
    """(start, end, from_file) of the partition's year.

    Without ``#RAR 0`` (common in 4I files) the year is the calendar year of
    the earliest voucher, else of ``#GEN``; a file with neither is rejected.
    """
    year = doc.fiscal_year(0)
    if year is not None:
        return year.start, year.end, True
    anchor: date | None = None
    if vouchers.num_rows:
        anchor = pc.min(vouchers.column("date")).as_py()
    if anchor is None:
        anchor = doc.generated_on
    if anchor is None:
        raise SieError(
            [Diagnostic(1, "no #RAR 0, no vouchers and no #GEN date: fiscal year unknown")],
            source=source,
        )
    return date(anchor.year, 1, 1), date(anchor.year, 12, 31), False


def _dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported warehouse database: {conn.dialect.name}")


def upsert_company(
    conn: sa.Connection, identity: CompanyIdentity, fortnox_tenant_id: str | None
) -> int:
    c = schema.company
    stmt = (
        _dialect_insert(conn, c)
        .values(
            company_key=identity.key,
            org_number=identity.org_number,
            name=identity.name,
            fortnox_tenant_id=fortnox_tenant_id,
            program_company_id=identity.program_company_id,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["company_key"])
    )
    conn.execute(stmt)
    row = conn.execute(
        sa.select(c.c.company_id, c.c.fortnox_tenant_id).where(c.c.company_key == identity.key)
    ).one()
    company_id = int(row.company_id)
    changes: dict[str, Any] = {"name": identity.name}
    if fortnox_tenant_id is not None:
        if row.fortnox_tenant_id not in (None, fortnox_tenant_id):
            raise ValueError(
                f"company {identity.key} is Fortnox tenant {row.fortnox_tenant_id}, "
                f"not {fortnox_tenant_id}"
            )
        changes["fortnox_tenant_id"] = fortnox_tenant_id
    conn.execute(sa.update(c).where(c.c.company_id == company_id).values(**changes))
    return company_id
