"""Helpers for the export's tests, benchmark and the demo: a warehouse company linked to a
sandbox tenant, voucher sets the sandbox accepts, and an approval of them.

    company_id = link_company(url, tenant)          # tenant: an /admin/tenants entry
    vouchers = closing_vouchers(5, tag="run-1")     # with attachments, cost centres, long texts
    approval = approve(url, company_id, date(2025, 1, 1), vouchers)
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from include.closing.approval import Approval, record_approval
from include.closing.models import Attachment, ClosingRow, ClosingVoucher
from include.closing.testing import ensure_company, put_voucher_set
from include.fortnox.client import RetryPolicy
from include.fortnox.config import FortnoxSettings
from include.fortnox.pacing import DEFAULT_MAX_REQUESTS, DEFAULT_WINDOW_SECONDS, FilePacer
from include.fortnox.session import FortnoxSession
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

# Account pairs of the generated books' chart (include.books.chart): debit, credit, what.
PAIRS = (
    ("5010", "1930", "Upplupen lokalhyra"),
    ("6540", "2440", "Upplupna IT-tjänster"),
    ("7832", "1229", "Avskrivning inventarier"),
    ("6110", "2440", "Upplupen kontorsmateriel"),
    ("8910", "2510", "Årets skatt"),
)
COST_CENTRES = ("100", "200", "300")


def link_company(url_or_engine: EngineLike, tenant: Mapping[str, Any]) -> int:
    """The warehouse company of a sandbox tenant (``/admin/tenants`` entry), linked to it."""
    org, name = str(tenant["OrganizationNumber"]), str(tenant["CompanyName"])
    company_id = ensure_company(url_or_engine, org, name)
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(schema.company)
                .where(schema.company.c.company_id == company_id)
                .values(fortnox_tenant_id=str(tenant["TenantId"]))
            )
    finally:
        if owned:
            engine.dispose()
    return company_id


def closing_voucher(
    index: int,
    *,
    tag: str = "",
    day: date = date(2025, 12, 31),
    attachment: bool = True,
    series: str = "A",
) -> ClosingVoucher:
    """Voucher ``ADJ-<tag>-<index>``: two or three rows, a cost centre, a PDF-like file."""
    debit_account, credit_account, what = PAIRS[index % len(PAIRS)]
    amount = Decimal(1000 + (index * 7919) % 90_000) + Decimal(index % 100) / 100
    cost_centre = COST_CENTRES[index % len(COST_CENTRES)]
    reference = f"ADJ-{tag}-{index}" if tag else f"ADJ-{index}"
    description = f"{what} {reference}: periodisering vid årsbokslut enligt underlag"
    first = (amount / 3).quantize(Decimal("0.01"))
    rows = (
        ClosingRow(debit_account, first, Decimal(0), f"{what}, del 1", cost_centre=cost_centre),
        ClosingRow(debit_account, amount - first, Decimal(0), f"{what}, del 2 ({reference})"),
        ClosingRow(credit_account, Decimal(0), amount, "Motkonto enligt underlag"),
    )
    document = None
    if attachment:
        body = f"%PDF-1.4\n% underlag {reference}\n{description}\nBelopp {amount} kr\n"
        pad = hashlib.sha256(reference.encode()).digest() * 8  # some binary, unique per voucher
        document = Attachment(f"underlag {reference}.pdf", "application/pdf", body.encode() + pad)
    return ClosingVoucher(
        reference=reference,
        origin="adjustment",
        kind="adjustment",
        series=series,
        voucher_date=day,
        description=description,
        rows=rows,
        attachment=document,
    )


def refused_voucher(index: int, *, tag: str = "", attachment: bool = False) -> ClosingVoucher:
    """A voucher Fortnox refuses (4xx): its first row is on account 9999, which no chart has."""
    voucher = closing_voucher(index, tag=tag, attachment=attachment)
    amount = Decimal("10.00")
    rows = (
        ClosingRow("9999", amount, Decimal(0), "Konto som inte finns"),
        ClosingRow("1930", Decimal(0), amount),
    )
    return dataclasses.replace(voucher, rows=rows)


def closing_vouchers(
    count: int, *, tag: str = "", start: int = 1, attachments: bool = True
) -> tuple[ClosingVoucher, ...]:
    return tuple(
        closing_voucher(i, tag=tag, attachment=attachments) for i in range(start, start + count)
    )


def approve(
    url_or_engine: EngineLike,
    company_id: int,
    fiscal_year_start: date,
    vouchers: Sequence[ClosingVoucher],
    *,
    decided_by: str = "test",
    state: str = "approved",
) -> Approval:
    """Make ``vouchers`` the partition's set and record a decision on it (CLI channel)."""
    put_voucher_set(url_or_engine, company_id, fiscal_year_start, vouchers)
    return record_approval(
        url_or_engine,
        company_id,
        fiscal_year_start,
        decided_by=decided_by,
        state="rejected" if state == "rejected" else "approved",
    )


# -- the sandbox side ------------------------------------------------------------------------


def paced_session(
    settings: FortnoxSettings,
    pacer_dir: str | Path,
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    window: float = DEFAULT_WINDOW_SECONDS,
    retry: RetryPolicy | None = None,
) -> FortnoxSession:
    """A session whose host-wide pacer matches a sandbox with a shortened rate window."""
    pacer = FilePacer(pacer_dir, max_requests=max_requests, window=window)
    return FortnoxSession(settings, pacer=pacer, retry=retry)


@dataclass(frozen=True, slots=True)
class SandboxCount:
    """What one tenant of the sandbox holds for a set of idempotency keys, by its own records."""

    vouchers: dict[str, list[tuple[str, int]]]  # key -> [(series, number)]
    files: dict[str, list[str]]  # file name -> [file id]
    connections: dict[str, tuple[str, int]]  # file id -> (series, number)

    def duplicates(self) -> list[str]:
        """Keys and file names held more than once."""
        held = [(k, len(v)) for k, v in self.vouchers.items()]
        held += [(name, len(ids)) for name, ids in self.files.items()]
        return [name for name, count in held if count > 1]


def sandbox_count(records: Mapping[str, Any], tenant_id: str, keys: Sequence[str]) -> SandboxCount:
    """Count from ``GET /admin/records`` what Fortnox (the sandbox) holds for ``keys``."""
    from include.closing.fortnox_body import idempotency_key_in

    wanted = set(keys)
    mine = records["Tenants"][str(tenant_id)]
    vouchers: dict[str, list[tuple[str, int]]] = {}
    for v in mine["Vouchers"]:
        key = idempotency_key_in(v["Comments"])
        if key in wanted:
            vouchers.setdefault(key, []).append((v["VoucherSeries"], int(v["VoucherNumber"])))
    files: dict[str, list[str]] = {}
    for f in mine["Files"]:
        if any(str(f["Name"]).startswith(f"{k}_") for k in wanted):
            files.setdefault(str(f["Name"]), []).append(str(f["Id"]))
    file_ids = {i for ids in files.values() for i in ids}
    connections = {
        str(c["FileId"]): (str(c["VoucherSeries"]), int(c["VoucherNumber"]))
        for c in mine["FileConnections"]
        if c["FileId"] in file_ids
    }
    return SandboxCount(vouchers, files, connections)
