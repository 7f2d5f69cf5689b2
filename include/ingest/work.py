"""What one run of the load DAG has to do, and doing one piece of it.

A work item is a small JSON-able dict so that Airflow can map one task per item:
``{"kind": "inbox", "file_name": ...}``, ``{"kind": "file", "path": ...}`` or
``{"kind": "landing", "event": {...LandingEvent...}}``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.ingest.inbox import (
    FileOutcome,
    InboxLayout,
    Outcome,
    load_detail,
    scan_inbox,
)
from include.ingest.landing import SIE_FILE_NAME, LandingEvent, read_manifest

OPEN_ITEM_FILES = {"ar": "ar_open_items.json", "ap": "ap_open_items.json"}

log = logging.getLogger(__name__)


class RejectedFile(Exception):
    """A file was rejected (not loadable as SIE); retrying will not help."""


@dataclass(frozen=True, slots=True)
class WorkResult:
    label: str
    outcome: str
    loaded: bool
    partition: dict[str, Any] | None
    detail: dict[str, Any]


def collect_work(
    data_root: Path,
    *,
    file_path: str | None,
    landing_events: list[dict[str, Any]],
    include_inbox: bool = True,
    company: str | None = None,
    fiscal_year: int | None = None,
    inbox_settle_seconds: float = 0.0,
) -> list[dict[str, Any]]:
    """Work items for one run: a manual file, else landing events plus the inbox.

    ``company`` and ``fiscal_year`` narrow the landing events (not the inbox). Inbox files
    modified less than ``inbox_settle_seconds`` ago are left for a later run.
    """
    if file_path:
        return [{"kind": "file", "path": str(Path(file_path).resolve())}]
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for extra in landing_events:
        event = LandingEvent.from_extra(extra)
        if company and event.company != company:
            continue
        if fiscal_year and not event.fiscal_year_start.startswith(f"{fiscal_year}-"):
            continue
        if event.extract_id not in seen:  # the same event can arrive twice
            seen.add(event.extract_id)
            items.append({"kind": "landing", "event": event.to_extra()})
    if include_inbox:
        scan = scan_inbox(InboxLayout(data_root / "inbox"), settle_seconds=inbox_settle_seconds)
        items += [{"kind": "inbox", "file_name": p.name} for p in scan.ready]
        for path in scan.settling:
            log.info(
                "inbox: %s was modified less than %s s ago (maybe still being copied): "
                "left for the next run",
                path.name,
                inbox_settle_seconds,
            )
    return items


def unloaded_landing_events(data_root: Path, warehouse_url: str) -> list[dict[str, Any]]:
    """The newest landed extract of each company and year that the warehouse lacks.

    Catch-up for events that never arrived (a paused DAG, a manual `dags test`).
    """
    import sqlalchemy as sa

    from include.ingest.extract import latest_extract
    from include.warehouse.engine import create_warehouse_engine
    from include.warehouse.schema import extract as extract_table

    landing = data_root / "landing"
    if not landing.is_dir():
        return []
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            loaded = set(conn.scalars(sa.select(extract_table.c.extract_id)))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no warehouse yet
        loaded = set()
    finally:
        engine.dispose()
    events = []
    for company_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        if company_dir.name.startswith("."):
            continue
        for year_dir in sorted(p for p in company_dir.iterdir() if p.is_dir()):
            newest = latest_extract(year_dir)
            if newest is None or newest.name in loaded:
                continue
            manifest = read_manifest(newest)
            events.append(
                LandingEvent(
                    company=manifest["company"],
                    org_number=manifest["org_number"],
                    company_name=manifest["company_name"],
                    fiscal_year_start=manifest["fiscal_year_start"],
                    fiscal_year_end=manifest["fiscal_year_end"],
                    extract_id=manifest["extract_id"],
                    path=newest.relative_to(data_root).as_posix(),
                ).to_extra()
            )
    return events


def label(item: dict[str, Any]) -> str:
    if item["kind"] == "inbox":
        return f"inbox/{item['file_name']}"
    if item["kind"] == "file":
        return Path(item["path"]).name
    event = item["event"]
    return f"fortnox {event['company']} {event['fiscal_year_start'][:4]}"


def _partition(detail: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "org_number": detail["org_number"],
        "company_name": detail["company_name"],
        "fiscal_year_start": detail["fiscal_year_start"],
        "fiscal_year_end": detail["fiscal_year_end"],
        "extract_id": detail["extract_id"],
        "source": source,
    }


def run_work_item(
    item: dict[str, Any], data_root: Path, warehouse_url: str, *, lenient: bool = False
) -> WorkResult:
    """Load one item. Raises RejectedFile for a bad file, other exceptions for retryable trouble."""
    from include.sie4.errors import SieError
    from include.warehouse.loader import OlderExtractError, load_sie

    kind = item["kind"]
    if kind == "inbox":
        outcome: FileOutcome = _process_inbox(item, data_root, warehouse_url, lenient)
        if outcome.outcome in (Outcome.REJECTED, Outcome.ALREADY_FAILED):
            shown = "\n".join(outcome.errors[:50])
            raise RejectedFile(
                f"{outcome.file_name} was rejected and moved to {outcome.destination}:\n{shown}"
            )
        loaded = outcome.outcome is Outcome.LOADED
        partition = _partition(outcome.detail, "inbox") if outcome.detail else None
        return WorkResult(label(item), outcome.outcome.value, loaded, partition, outcome.to_dict())

    extract_dir: Path | None = None
    sie_path: Path | None = None
    try:
        if kind == "file":
            sie_path = Path(item["path"])
            result = load_sie(sie_path, warehouse_url, lenient=lenient, source_kind="cli")
        elif kind == "landing":
            event = LandingEvent.from_extra(item["event"])
            extract_dir = event.directory(data_root)
            sie_path = extract_dir / read_manifest(extract_dir).get("sie_file", SIE_FILE_NAME)
            result = load_sie(
                sie_path,
                warehouse_url,
                lenient=lenient,
                source_kind="fortnox",
                file_name=sie_path.name,
                fortnox_tenant_id=event.company,
                extract_id=event.extract_id,
                landing_path=event.path,
                open_items=landed_open_items(extract_dir),  # one transaction with the books
            )
        else:
            raise ValueError(f"unknown work item kind {kind!r}")
    except SieError as error:
        raise RejectedFile(str(error)) from error
    except OlderExtractError as error:  # the newer books stay; retrying will not change that
        raise RejectedFile(
            f"{error} To load it anyway: python -m include.warehouse load {sie_path} --force"
        ) from error
    except (TypeError, ValueError) as error:
        if extract_dir is None:  # not about open items
            raise
        # A bad open item (the books and the items roll back together): name its file.
        files = ", ".join(str(extract_dir / name) for name in OPEN_ITEM_FILES.values())
        raise RejectedFile(f"{error} (open items in {files})") from error

    detail = load_detail(result)
    outcome_name = "unchanged" if result.skipped else "loaded"
    source = "fortnox" if kind == "landing" else kind
    return WorkResult(
        label(item), outcome_name, not result.skipped, _partition(detail, source), detail
    )


def _process_inbox(
    item: dict[str, Any], data_root: Path, warehouse_url: str, lenient: bool
) -> FileOutcome:
    from include.ingest.inbox import process_inbox_file

    return process_inbox_file(
        InboxLayout(data_root / "inbox"), item["file_name"], warehouse_url, lenient=lenient
    )


def landed_open_items(extract_dir: Path) -> dict[str, list[dict[str, Any]]] | None:
    """The year-end open items that landed beside the SIE file, as warehouse rows.

    None when the extract has no open-item files at all (nothing is known about its
    subledger); a kind whose file is missing has no open items. Amounts are read as
    exact decimals, so the loader refuses (and names) one with more than two decimals.
    """
    paths = {kind: extract_dir / name for kind, name in OPEN_ITEM_FILES.items()}
    if not any(path.exists() for path in paths.values()):
        return None
    open_items = {}
    for kind, path in paths.items():
        if not path.exists():
            continue
        party = "customer" if kind == "ar" else "supplier"
        items = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)["items"]
        open_items[kind] = [
            {
                "invoice_number": item["invoice_number"],
                f"{party}_number": item["party_number"],
                f"{party}_name": item["party_name"],
                "invoice_date": item["invoice_date"],
                "due_date": item["due_date"],
                "total": item["total"],
                "open_amount": item["open_amount"],
                "currency": item["currency"],
            }
            for item in items
        ]
    return open_items


def summarise(results: list[dict[str, Any] | None], expected: int) -> str:
    """A few lines a person can read at the end of a run."""
    done = [r for r in results if r]
    loaded = [r for r in done if r.get("loaded")]
    unchanged = [r for r in done if r.get("outcome") in ("unchanged", "already_processed")]
    failed = expected - len(done)
    lines = [
        f"{expected} file(s): {len(loaded)} loaded, {len(unchanged)} unchanged, "
        f"{failed} rejected or failed"
    ]
    for r in loaded:
        p = r["partition"] or {}
        counts = r["detail"].get("counts", {})
        lines.append(
            f"  loaded {r['label']}: {p.get('company_name')} ({p.get('org_number')}) "
            f"{p.get('fiscal_year_start')}..{p.get('fiscal_year_end')}, "
            f"{counts.get('voucher', 0)} vouchers, {counts.get('voucher_row', 0)} rows"
        )
    return "\n".join(lines)
