"""What the Integrations view shows per company, one function per column.

| column | function | source |
|---|---|---|
| connection | :func:`connection_state` | the token store's row (never its tokens) |
| last extract | :func:`last_extracts` | the landing zone's newest manifest per company |
| last load | :func:`last_loads` | the warehouse's ``extract`` and ``company`` tables |
| quality | :func:`quality_state` | the quality gate of the loaded partition |
| closing / export | :func:`closing_state` | the approval and the export outbox |

:func:`company_statuses` puts them together. Every function reads; none changes anything
or calls Fortnox, so the page can be reloaded at will.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from include.fortnox.token_schema import (
    GRANT_CLIENT_CREDENTIALS,
    STATUS_CONNECTED,
    STATUS_RECONNECT_REQUIRED,
)
from include.fortnox.tokens import StoredConnection

CONNECTED = "connected"
MUST_RECONNECT = "must reconnect"
DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class ConnectionState:
    status: str  # CONNECTED, MUST_RECONNECT or DISCONNECTED
    reason: str | None
    service_account: bool
    access_expires_at: datetime | None
    access_expired: bool  # the store refreshes it on the next use: not a problem by itself
    connected_at: datetime
    refreshed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExtractState:
    extract_id: str
    fiscal_year_start: date
    fiscal_year_end: date
    published_at: datetime | None
    sie_changed: bool


@dataclass(frozen=True, slots=True)
class LoadState:
    company_id: int
    extract_id: str
    fiscal_year_start: date
    loaded_at: datetime
    source_kind: str


@dataclass(frozen=True, slots=True)
class QualityState:
    status: str
    blocks: bool  # the closing may not go on
    reason: str
    failed_checks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportedVoucher:
    voucher: str  # our name for it (the outbox's)
    state: str  # pending, sending, sent, failed
    fortnox_series: str | None
    fortnox_number: int | None

    @property
    def fortnox_voucher(self) -> str | None:
        if self.fortnox_series and self.fortnox_number is not None:
            return f"{self.fortnox_series}{self.fortnox_number}"
        return None


@dataclass(frozen=True, slots=True)
class ClosingState:
    status: str  # e.g. "awaiting approval", "approved", "rejected", "exported"
    approval_id: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    vouchers: tuple[ExportedVoucher, ...] = ()

    @property
    def exported(self) -> bool:
        return bool(self.vouchers) and all(v.state == "sent" for v in self.vouchers)


@dataclass(frozen=True, slots=True)
class CompanyStatus:
    tenant_id: str
    company_name: str
    org_number: str
    connection: ConnectionState
    last_extract: ExtractState | None = None
    last_load: LoadState | None = None
    quality: QualityState | None = None
    closing: ClosingState | None = None
    notes: tuple[str, ...] = field(default=())  # columns that could not be read, and why

    @property
    def label(self) -> str:
        return self.company_name or f"tenant {self.tenant_id}"


# ------------------------------------------------------------------------ columns


def connection_state(conn: StoredConnection, now: datetime | None = None) -> ConnectionState:
    """The token store's view of a company, in the words the page uses."""
    now = now or datetime.now(UTC)
    if conn.status == STATUS_CONNECTED:
        status = CONNECTED
    elif conn.status == STATUS_RECONNECT_REQUIRED:
        status = MUST_RECONNECT
    else:
        status = DISCONNECTED
    expires = conn.access_expires_at
    return ConnectionState(
        status=status,
        reason=conn.status_reason,
        service_account=conn.grant_type == GRANT_CLIENT_CREDENTIALS,
        access_expires_at=expires if status == CONNECTED else None,
        access_expired=bool(status == CONNECTED and expires is not None and expires <= now),
        connected_at=conn.connected_at,
        refreshed_at=conn.refreshed_at,
    )


def last_extracts(data_root: Path) -> dict[str, ExtractState]:
    """The newest published extract of each company (by tenant id), any fiscal year.

    Reads one manifest per company and fiscal year (the newest: extract ids sort by time).
    """
    from include.ingest.extract import latest_extract
    from include.ingest.landing import read_manifest

    landing = data_root / "landing"
    newest: dict[str, ExtractState] = {}
    if not landing.is_dir():
        return newest
    for company_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        if company_dir.name.startswith("."):  # .staging
            continue
        for year_dir in sorted(p for p in company_dir.iterdir() if p.is_dir()):
            extract_dir = latest_extract(year_dir)
            if extract_dir is None:
                continue
            try:
                manifest = read_manifest(extract_dir)
                state = _extract_state(manifest)
            except (OSError, ValueError, KeyError):
                continue  # an unreadable manifest is the load's problem to report
            tenant = str(manifest["company"])
            current = newest.get(tenant)
            if current is None or state.extract_id > current.extract_id:
                newest[tenant] = state
    return newest


def _extract_state(manifest: Mapping[str, Any]) -> ExtractState:
    published = manifest.get("published_at")
    return ExtractState(
        extract_id=str(manifest["extract_id"]),
        fiscal_year_start=date.fromisoformat(str(manifest["fiscal_year_start"])),
        fiscal_year_end=date.fromisoformat(str(manifest["fiscal_year_end"])),
        published_at=_utc(datetime.fromisoformat(published)) if published else None,
        sie_changed=bool(manifest.get("sie_changed", True)),
    )


def last_loads(warehouse: Any) -> dict[str, LoadState]:
    """The most recent load of each Fortnox company (by tenant id) in the warehouse.

    ``warehouse`` is a URL or an engine. A warehouse that does not exist yet has no loads.
    """
    import sqlalchemy as sa

    from include.warehouse.engine import engine_for
    from include.warehouse.schema import company, extract

    engine, owned = engine_for(warehouse)
    try:
        query = (
            sa.select(
                company.c.fortnox_tenant_id,
                extract.c.company_id,
                extract.c.extract_id,
                extract.c.fiscal_year_start,
                extract.c.loaded_at,
                extract.c.source_kind,
            )
            .join(company, company.c.company_id == extract.c.company_id)
            .where(company.c.fortnox_tenant_id.is_not(None))
            .order_by(extract.c.loaded_at, extract.c.extract_id)
        )
        try:
            with engine.connect() as conn:
                rows = conn.execute(query).all()
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            return {}  # no warehouse tables yet
    finally:
        if owned:
            engine.dispose()
    loads: dict[str, LoadState] = {}
    for row in rows:  # oldest first: the last one per tenant wins
        loads[str(row.fortnox_tenant_id)] = LoadState(
            company_id=int(row.company_id),
            extract_id=str(row.extract_id),
            fiscal_year_start=_as_date(row.fiscal_year_start),
            loaded_at=_utc(row.loaded_at),
            source_kind=str(row.source_kind),
        )
    return loads


def quality_state(warehouse_url: str, load: LoadState) -> QualityState:
    """The quality gate of the loaded partition (``include.quality``): its latest run's
    status, whether it blocks the closing and why, and the failed error checks."""
    from include.quality.gate import quality_gate

    gate = quality_gate(warehouse_url, load.company_id, load.fiscal_year_start)
    return QualityState(
        status=gate.status or "not checked",
        blocks=gate.blocks,
        reason=gate.reason,
        failed_checks=tuple(gate.failed_checks),
    )


def closing_state(warehouse_url: str, load: LoadState) -> ClosingState | None:
    """The latest closing decision of the loaded partition's year (``include.closing``) and,
    once approved, the vouchers of the export; None while nobody approved or rejected it."""
    from include.closing.approval import latest_approval

    approval = latest_approval(warehouse_url, load.company_id, load.fiscal_year_start)
    if approval is None:
        return None
    return ClosingState(
        status=str(approval.state),
        approval_id=approval.approval_id,
        decided_by=approval.decided_by,
        decided_at=approval.decided_at,
        vouchers=exported_vouchers(warehouse_url, load) if approval.approved else (),
    )


def exported_vouchers(warehouse_url: str, load: LoadState) -> tuple[ExportedVoucher, ...]:
    """The partition's vouchers in the export outbox (``include.closing.outbox``), in export
    order, with their state and, once sent, their Fortnox series and number."""
    from include.closing.outbox import Outbox
    from include.warehouse.engine import engine_for

    engine, owned = engine_for(warehouse_url)
    try:
        rows = Outbox(engine).partition_rows(load.company_id, load.fiscal_year_start)
    finally:
        if owned:
            engine.dispose()
    return tuple(
        ExportedVoucher(
            voucher=row.reference,
            state=row.state,
            fortnox_series=row.fortnox_series,
            fortnox_number=row.fortnox_number,
        )
        for row in rows
    )


# ----------------------------------------------------------------------- the list


def company_statuses(
    connections: Iterable[StoredConnection],
    *,
    data_root: Path,
    warehouse_url: str | None,
    now: datetime | None = None,
) -> list[CompanyStatus]:
    """Every company the token store knows, with each column; a column that cannot be
    read is left empty with a note, so one broken source does not hide the list."""
    now = now or datetime.now(UTC)
    notes: list[str] = []
    extracts: dict[str, ExtractState] = {}
    loads: dict[str, LoadState] = {}
    try:
        extracts = last_extracts(data_root)
    except OSError as exc:
        notes.append(f"The landing zone could not be read ({type(exc).__name__}).")
    if warehouse_url:
        try:
            loads = last_loads(warehouse_url)
        except Exception as exc:  # a broken warehouse must not hide the connections
            notes.append(f"The warehouse could not be read ({type(exc).__name__}).")
    statuses = []
    for conn in sorted(connections, key=lambda c: (c.company_name.lower(), c.tenant_id)):
        load = loads.get(conn.tenant_id)
        quality = closing = None
        company_notes = list(notes)
        if load is not None and warehouse_url:
            quality, closing = _read_optional(warehouse_url, load, company_notes)
        statuses.append(
            CompanyStatus(
                tenant_id=conn.tenant_id,
                company_name=conn.company_name,
                org_number=conn.org_number,
                connection=connection_state(conn, now),
                last_extract=extracts.get(conn.tenant_id),
                last_load=load,
                quality=quality,
                closing=closing,
                notes=tuple(company_notes),
            )
        )
    return statuses


def _read_optional(
    warehouse_url: str, load: LoadState, notes: list[str]
) -> tuple[QualityState | None, ClosingState | None]:
    quality = closing = None
    try:
        quality = quality_state(warehouse_url, load)
    except Exception as exc:  # one failing column leaves the others
        notes.append(f"The quality status could not be read ({type(exc).__name__}).")
    try:
        closing = closing_state(warehouse_url, load)
    except Exception as exc:
        notes.append(f"The closing status could not be read ({type(exc).__name__}).")
    return quality, closing


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
