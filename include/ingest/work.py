"""What one run of the load DAG has to do, and doing one piece of it.

A work item is a small JSON-able dict so that Airflow can map one task per item:
``{"kind": "inbox", "file_name": ...}``, ``{"kind": "file", "path": ...}`` or
``{"kind": "landing", "event": {...LandingEvent...}}``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from include.ingest.inbox import (
    REFUSED_HINT,
    FileOutcome,
    InboxLayout,
    Outcome,
    force_hint,
    load_detail,
    scan_inbox,
)
from include.ingest.landing import MANIFEST_NAME, SIE_FILE_NAME, LandingEvent, read_manifest

OPEN_ITEM_FILES = {"ar": "ar_open_items.json", "ap": "ap_open_items.json"}

log = logging.getLogger(__name__)


class RejectedFile(Exception):
    """A file was rejected (not loadable as SIE); retrying will not help."""


class RefusedOlderExtract(RejectedFile):
    """Valid books older than the partition's current ones: refused unless forced."""


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
        path = Path(file_path).resolve()
        landed = _landing_item(path, data_root)
        return [landed or {"kind": "file", "path": str(path)}]
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


REJECTED_DIR = ".rejected"  # under landing/: one note per landed extract a load rejected


def rejection_note(data_root: Path, extract_id: str) -> Path:
    return data_root / "landing" / REJECTED_DIR / f"{Path(extract_id).name}.json"


def note_rejection(data_root: Path, extract_id: str, reason: str, *, refused: bool) -> None:
    """Remember that a load rejected (or refused) this landed extract: the timer's catch-up
    leaves it alone instead of failing on it every 15 minutes. The extract stays as it is."""
    from datetime import UTC, datetime

    note = rejection_note(data_root, extract_id)
    note.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "extract_id": extract_id,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outcome": "refused" if refused else "rejected",
        "reason": reason[:4000],
    }
    temporary = note.with_name(f".{note.name}.tmp")
    temporary.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    temporary.replace(note)


def unloaded_landing_events(
    data_root: Path, warehouse_url: str, *, skip_rejected: bool = False
) -> list[dict[str, Any]]:
    """The newest landed extract of each company and year that the warehouse lacks.

    Catch-up for events that never arrived (a paused DAG, a manual `dags test`, an event
    Airflow held back). ``skip_rejected``: leave out the extracts a load has already
    rejected or refused (``note_rejection``), as the timer's runs do; a manual catch-up
    tries them again.
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
            if skip_rejected and rejection_note(data_root, newest.name).exists():
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


def _landing_item(path: Path, data_root: Path) -> dict[str, Any] | None:
    """A landed extract's SIE file given by path, as its landing item (tenant, open items)."""
    landing = (data_root / "landing").resolve()
    if landing not in path.parents or not (path.parent / MANIFEST_NAME).exists():
        return None
    manifest = read_manifest(path.parent)
    event = LandingEvent(
        company=manifest["company"],
        org_number=manifest["org_number"],
        company_name=manifest["company_name"],
        fiscal_year_start=manifest["fiscal_year_start"],
        fiscal_year_end=manifest["fiscal_year_end"],
        extract_id=manifest["extract_id"],
        path=path.parent.relative_to(data_root.resolve()).as_posix(),
    )
    return {"kind": "landing", "event": event.to_extra()}


def company_year(company_name: str | None, fiscal_year_start: str | None) -> str:
    """How a person names a partition: ``Bergström Bygg AB 2025-01-01``."""
    return " ".join(part for part in (company_name, fiscal_year_start) if part)


def sie_company_year(path: Path) -> tuple[str | None, str | None]:
    """Company name and fiscal-year start from a SIE file's head, for labels only.

    Reads at most 64 KiB; the ``#FNAMN`` and ``#RAR 0`` lines are split by the SIE
    lexer. None for what it cannot find (a broken or unreadable file).
    """
    from include.sie4.lexer import split_line

    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None, None
    name = start = None
    for raw in head.splitlines():
        line = raw.decode("cp437").strip()
        if not line.startswith(("#FNAMN", "#RAR")):
            continue
        try:
            fields = split_line(line)
        except ValueError:
            continue
        if fields[0] == "#FNAMN" and name is None and len(fields) > 1:
            name = fields[1].strip() or None if isinstance(fields[1], str) else None
        elif fields[:2] == ["#RAR", "0"] and start is None and len(fields) > 2:
            day = fields[2]
            if isinstance(day, str) and len(day) == 8 and day.isdigit():
                start = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        if name and start:
            break
    return name, start


def label(item: dict[str, Any], company_name: str | None = None, start: str | None = None) -> str:
    """The mapped task's label: company and fiscal year, a file's name first when it has one."""
    if item["kind"] == "landing":
        event = item["event"]
        name = event.get("company_name") or f"Fortnox tenant {event['company']}"
        return company_year(name, event["fiscal_year_start"])
    shown = item["file_name"] if item["kind"] == "inbox" else Path(item["path"]).name
    known = company_year(company_name, start)
    return f"{shown}: {known}" if known else shown


def item_file(item: dict[str, Any], data_root: Path) -> str:
    """Where the item's file is, as a person would look for it."""
    if item["kind"] == "inbox":
        return str(data_root / "inbox" / item["file_name"])
    if item["kind"] == "file":
        return str(item["path"])
    return str(data_root / item["event"]["path"] / SIE_FILE_NAME)


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
    item: dict[str, Any],
    data_root: Path,
    warehouse_url: str,
    *,
    lenient: bool = False,
    force: bool = False,
) -> WorkResult:
    """Load one item. Raises RejectedFile for a bad file (RefusedOlderExtract for books older
    than the warehouse's, unless ``force``), other exceptions for retryable trouble."""
    from include.sie4.errors import SieError
    from include.warehouse.loader import OlderExtractError, load_sie

    kind = item["kind"]
    if kind == "inbox":
        outcome: FileOutcome = _process_inbox(item, data_root, warehouse_url, lenient, force)
        if outcome.outcome in (Outcome.REJECTED, Outcome.ALREADY_FAILED):
            shown = "\n".join(outcome.errors[:50])
            refused = any(REFUSED_HINT in e for e in outcome.errors)
            error_type = RefusedOlderExtract if refused else RejectedFile
            raise error_type(
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
            result = load_sie(
                sie_path, warehouse_url, lenient=lenient, source_kind="cli", force=force
            )
        elif kind == "landing":
            event = LandingEvent.from_extra(item["event"])
            extract_dir = event.directory(data_root)
            sie_path = extract_dir / read_manifest(extract_dir).get("sie_file", SIE_FILE_NAME)
            result = load_sie(
                sie_path,
                warehouse_url,
                lenient=lenient,
                force=force,
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
        raise _noted(item, data_root, RejectedFile(str(error))) from error
    except OlderExtractError as error:  # the newer books stay; retrying will not change that
        older = RefusedOlderExtract(f"{error} {force_hint(sie_path)}")
        raise _noted(item, data_root, older) from error
    except (TypeError, ValueError) as error:
        if extract_dir is None:  # not about open items
            raise
        # A bad open item (the books and the items roll back together): name its file.
        files = ", ".join(str(extract_dir / name) for name in OPEN_ITEM_FILES.values())
        raise _noted(item, data_root, RejectedFile(f"{error} (open items in {files})")) from error
    if kind == "landing":
        rejection_note(data_root, item["event"]["extract_id"]).unlink(missing_ok=True)

    detail = load_detail(result)
    outcome_name = "unchanged" if result.skipped else "loaded"
    source = "fortnox" if kind == "landing" else kind
    shown = label(item, detail["company_name"], detail["fiscal_year_start"])
    return WorkResult(shown, outcome_name, not result.skipped, _partition(detail, source), detail)


def _noted(item: dict[str, Any], data_root: Path, error: RejectedFile) -> RejectedFile:
    """``error``, after noting it for a landed extract (``note_rejection``)."""
    if item["kind"] == "landing":
        refused = isinstance(error, RefusedOlderExtract)
        note_rejection(data_root, item["event"]["extract_id"], str(error), refused=refused)
    return error


def _process_inbox(
    item: dict[str, Any], data_root: Path, warehouse_url: str, lenient: bool, force: bool
) -> FileOutcome:
    from include.ingest.inbox import process_inbox_file

    return process_inbox_file(
        InboxLayout(data_root / "inbox"),
        item["file_name"],
        warehouse_url,
        lenient=lenient,
        force=force,
    )


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What became of one work item: a line for the log, a small record for the summary.

    ``outcome`` is loaded, unchanged, refused (older than the loaded extract), rejected
    (not valid SIE, with the errors' lines) or failed (anything else, retried by Airflow).
    """

    label: str
    file: str
    outcome: str
    company_name: str | None = None
    fiscal_year_start: str | None = None
    vouchers: int | None = None
    rows: int | None = None
    reason: str | None = None
    partition: dict[str, Any] | None = None  # the warehouse_books event's extra

    def line(self) -> str:
        who = company_year(self.company_name, self.fiscal_year_start) or "company unknown"
        text = f"{Path(self.file).name} ({who}): {self.outcome}"
        if self.rows is not None:
            text += f", {self.vouchers} vouchers, {self.rows} rows"
        if self.outcome == "refused":
            text += ": older than the loaded extract, rerun with force"
        elif self.reason:
            text += f": {first_line(self.reason)}"
        return text

    def to_xcom(self, map_index: int | None = None) -> dict[str, Any]:
        return {**asdict(self), "map_index": map_index}


def first_line(text: str, limit: int = 300) -> str:
    """A reason's lines joined for one log line, cut at ``limit`` characters."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    joined = " | ".join(lines)
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def load_work_item(
    item: dict[str, Any],
    data_root: Path,
    warehouse_url: str,
    *,
    lenient: bool = False,
    force: bool = False,
) -> LoadReport:
    """Load one item and say what became of it; raises only for retryable trouble."""
    file = item_file(item, data_root)
    try:
        result = run_work_item(item, data_root, warehouse_url, lenient=lenient, force=force)
    except RejectedFile as error:
        outcome = "refused" if isinstance(error, RefusedOlderExtract) else "rejected"
        known = _known_company_year(item, data_root)
        if item["kind"] == "inbox":  # set aside in failed/ with its reasons
            set_aside = InboxLayout(data_root / "inbox").failed / item["file_name"]
            file = str(set_aside) if set_aside.exists() else file
        return LoadReport(label(item, *known), file, outcome, *known, reason=str(error))
    detail = result.detail.get("detail", result.detail)  # an inbox outcome nests it
    counts = detail.get("counts", {})
    name, start = detail.get("company_name"), detail.get("fiscal_year_start")
    if item["kind"] == "inbox":
        file = result.detail.get("destination") or file
    return LoadReport(
        label(item, name, start),
        file,
        "unchanged" if result.outcome in ("unchanged", "already_processed") else result.outcome,
        name,
        start,
        vouchers=counts.get("voucher"),
        rows=counts.get("voucher_row"),
        partition=result.partition and {**result.partition, "changed": result.loaded},
    )


def _known_company_year(item: dict[str, Any], data_root: Path) -> tuple[str | None, str | None]:
    if item["kind"] == "landing":
        event = item["event"]
        return event.get("company_name") or None, event["fiscal_year_start"]
    if item["kind"] == "file":
        return sie_company_year(Path(item["path"]))
    inbox = InboxLayout(data_root / "inbox")
    for folder in (inbox.root, inbox.failed, inbox.processed):
        if (folder / item["file_name"]).exists():
            return sie_company_year(folder / item["file_name"])
    return None, None


def failed_report(item: dict[str, Any], data_root: Path, error: BaseException) -> LoadReport:
    """The report of a try that raised (retryable trouble): what the summary shows if it stays."""
    known = _known_company_year(item, data_root)
    reason = f"{type(error).__name__}: {error}"
    return LoadReport(
        label(item, *known), item_file(item, data_root), "failed", *known, reason=reason
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


def summarise(items: list[dict[str, Any]], reports: list[dict[str, Any] | None]) -> Summary:
    """The run's summary from each item's report (None: the task left none, e.g. killed)."""
    by_outcome: dict[str, list[dict[str, Any]]] = {}
    for item, report in zip(items, reports, strict=True):
        if report is None:
            report = {
                "label": label(item),
                "file": str(item.get("path") or item.get("file_name") or item["event"]["path"]),
                "outcome": "failed",
                "reason": "the task ended without a report (killed or crashed): see its log",
            }
        by_outcome.setdefault(report["outcome"], []).append(report)
    counts = ", ".join(f"{len(by_outcome.get(o, []))} {o}" for o in OUTCOMES)
    lines = [f"{len(items)} file(s): {counts}"]
    for outcome in OUTCOMES:
        for r in by_outcome.get(outcome, []):
            lines.append(f"  {outcome} {r['label']}: {r['file']}" + _summary_detail(r))
    failed = tuple(r["file"] for o in ("rejected", "failed") for r in by_outcome.get(o, []))
    refused = tuple(r["file"] for r in by_outcome.get("refused", []))
    return Summary("\n".join(lines), failed, refused)


def reports_by_index(pulled: Any, count: int) -> list[dict[str, Any] | None]:
    """The load tasks' reports (an XCom pull of all map indexes) in map-index order."""
    found = pulled if isinstance(pulled, list) else [pulled]
    reports: list[dict[str, Any] | None] = [None] * count
    for report in found:
        if isinstance(report, dict) and 0 <= int(report.get("map_index", -1)) < count:
            reports[int(report["map_index"])] = report
    return reports


OUTCOMES = ("loaded", "unchanged", "refused", "rejected", "failed")


@dataclass(frozen=True, slots=True)
class Summary:
    text: str
    failed: tuple[str, ...]  # rejected or failed files: the run fails
    refused: tuple[str, ...]  # older than the loaded extract: named, the run does not fail


def _summary_detail(report: dict[str, Any]) -> str:
    if report["outcome"] in ("loaded", "unchanged"):
        return f", {report.get('vouchers')} vouchers, {report.get('rows')} rows"
    if report["outcome"] == "refused":
        return (
            "\n    refused: older than the loaded extract, rerun with force"
            f" (force=true, file_path={report['file']})"
        )
    reason = (report.get("reason") or "").splitlines()
    shown = "\n".join(f"    {ln}" for ln in reason[:20])
    more = f"\n    ... {len(reason) - 20} more line(s)" if len(reason) > 20 else ""
    return f"\n{shown}{more}"
