"""What one run of the load DAG has to do, and doing one piece of it.

A work item is a small JSON-able dict so that Airflow can map one task per item:
``{"kind": "inbox", "file_name": ...}``, ``{"kind": "file", "path": ...}`` or
``{"kind": "landing", "event": {...LandingEvent...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.ingest.inbox import FileOutcome, InboxLayout, Outcome, pending_files
from include.ingest.landing import SIE_FILE_NAME, LandingEvent, read_manifest


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
) -> list[dict[str, Any]]:
    """Work items for one run: a manual file, else landing events plus the inbox."""
    if file_path:
        return [{"kind": "file", "path": str(Path(file_path).resolve())}]
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for extra in landing_events:
        event = LandingEvent.from_extra(extra)
        if event.extract_id not in seen:  # the same event can arrive twice
            seen.add(event.extract_id)
            items.append({"kind": "landing", "event": event.to_extra()})
    if include_inbox:
        layout = InboxLayout(data_root / "inbox")
        items += [{"kind": "inbox", "file_name": p.name} for p in pending_files(layout)]
    return items


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
    from include.warehouse.loader import load_sie

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

    if kind == "file":
        from include.sie4.errors import SieError

        path = Path(item["path"])
        try:
            result = load_sie(path, warehouse_url, lenient=lenient, source_kind="cli")
        except SieError as error:
            raise RejectedFile(str(error)) from error
    elif kind == "landing":
        event = LandingEvent.from_extra(item["event"])
        extract_dir = event.directory(data_root)
        manifest = read_manifest(extract_dir)
        sie_name = manifest.get("sie_file", SIE_FILE_NAME)
        from include.sie4.errors import SieError

        try:
            result = load_sie(
                extract_dir / sie_name,
                warehouse_url,
                lenient=lenient,
                source_kind="fortnox",
                file_name=sie_name,
                fortnox_tenant_id=event.company,
                extract_id=event.extract_id,
                landing_path=event.path,
            )
        except SieError as error:
            raise RejectedFile(str(error)) from error
    else:
        raise ValueError(f"unknown work item kind {kind!r}")

    detail = {
        "org_number": result.org_number,
        "company_name": result.company_name,
        "fiscal_year_start": result.fiscal_year_start.isoformat(),
        "fiscal_year_end": result.fiscal_year_end.isoformat(),
        "extract_id": result.extract_id,
        "counts": dict(result.counts),
    }
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
