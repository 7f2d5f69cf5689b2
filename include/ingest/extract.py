"""Extracting one company's year from Fortnox into the landing zone, in rerunnable steps.

Each step writes its raw answers into a staging folder of the run
(``<data>/landing/.staging/<run>/<company>/``), overwriting only its own files, so any step
can be rerun alone. What a step fetched (request parameters, time) goes into its own record
file under ``.records/``: ``fetch_sie`` and ``fetch_subledgers`` run at the same time, so no
file is read, changed and rewritten by two steps. ``publish`` then writes the manifest and
renames the staging folder into ``<data>/landing/<company>/<fiscal-year>/<extract-id>/`` in
one step: an extract is either complete or absent. Raw files are never changed after that.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from include.ingest.landing import (
    MANIFEST_NAME,
    SIE_FILE_NAME,
    LandingEvent,
    fiscal_year_label,
)
from include.ingest.open_items import (
    OpenItem,
    items_from_pages,
    loads_exact,
    payables_at,
    receivables_at,
)

STAGE_META = "stage.json"  # the shared record of earlier versions, still read when present
RECORDS_DIR = ".records"
AR_OPEN_ITEMS = "ar_open_items.json"
AP_OPEN_ITEMS = "ap_open_items.json"


class PageLike(Protocol):
    raw: bytes
    params: dict[str, str]
    path: str


class ListingLike(Protocol):
    pages: tuple[Any, ...]

    @property
    def items(self) -> list[dict[str, Any]]: ...


class ClientLike(Protocol):
    def company_information(self) -> Any: ...
    def financial_years(self, date: date | str | None = None) -> Any: ...
    def sie(self, financial_year: int, type: int = 4) -> bytes: ...
    def invoices(self, fromdate: Any = None, todate: Any = None) -> Any: ...
    def invoice_payments(self) -> Any: ...
    def supplier_invoices(self) -> Any: ...
    def supplier_invoice_payments(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class PublishResult:
    extract_id: str
    path: Path
    changed: bool  # False: same SIE bytes as the previous extract, no reload needed
    event: LandingEvent


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part)[:120]


def staging_dir(data_root: Path, run_id: str, company: str) -> Path:
    return data_root / "landing" / ".staging" / _safe(run_id) / _safe(company)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all; a unique temporary name per writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record_path(stage: Path, name: str) -> Path:
    # Readable prefix, hash suffix so distinct names never share a record.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:60]
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return stage / RECORDS_DIR / f"{safe}-{digest}.json"


def _record(stage: Path, name: str, entry: dict[str, Any]) -> None:
    """Remember what a step fetched under ``name`` (request parameters, time) for the manifest.

    Each name has its own record file, replaced whole: a rerun replaces that step's entries,
    and steps running at the same time never write the same file.
    """
    _write_atomic(_record_path(stage, name), json.dumps(entry, indent=2, sort_keys=True).encode())


def _recorded(stage: Path) -> dict[str, Any]:
    """Every step's record, merged (file name -> request and time)."""
    files: dict[str, Any] = {}
    legacy = stage / STAGE_META
    if legacy.exists():
        files.update(json.loads(legacy.read_text())["files"])
    records = stage / RECORDS_DIR
    for path in sorted(records.glob("*.json")) if records.is_dir() else []:
        files.update(json.loads(path.read_text()))
    return files


def _write_pages(stage: Path, folder: str, pages: tuple[Any, ...] | list[Any]) -> None:
    target = stage / folder
    if target.exists():
        shutil.rmtree(target)  # a rerun replaces this step's pages, never another step's
    entries = {}
    for number, page in enumerate(pages, start=1):
        name = f"{folder}/page-{number:04d}.json"
        _write_atomic(stage / name, page.raw)
        entries[name] = {"request": {"path": page.path, "params": page.params}, "at": _now()}
    _record(stage, folder + "/", entries)


def company_label(company_name: str | None, fiscal_year: str | int | None, tenant_id: str) -> str:
    """A mapped task's label: ``Bergström Bygg AB 2025-01-01`` (the tenant id if unnamed)."""
    name = company_name or f"Fortnox tenant {tenant_id}"
    return f"{name} {fiscal_year}" if fiscal_year else name


def selection_label(selection: dict[str, Any], tenant_id: str) -> str:
    """The label once the fiscal year is resolved (the selection names company and year)."""
    return company_label(selection.get("company_name"), selection["fiscal_year_start"], tenant_id)


def stored_company_name(store: Any, tenant_id: str) -> str | None:
    """The company's name in the token store (saved at connect time), for labels only."""
    try:
        return str(store.connection(tenant_id).company_name) or None
    except Exception:  # a label never fails a task; the fetch reports the real trouble
        return None


def choose_fiscal_year(
    years: list[dict[str, Any]], requested: int | None, today: date
) -> dict[str, Any]:
    """The requested year (by the year it starts in), else the latest year that has ended."""
    parsed = sorted(years, key=lambda y: str(y["FromDate"]))
    if requested is not None:
        for year in parsed:
            if str(year["FromDate"]).startswith(f"{requested}-"):
                return year
        raise ValueError(
            f"no Fortnox financial year starts in {requested}; "
            f"years: {', '.join(str(y['FromDate']) for y in parsed)}"
        )
    ended = [y for y in parsed if date.fromisoformat(str(y["ToDate"])) < today]
    if not ended:
        raise ValueError(f"no financial year has ended by {today}")
    return ended[-1]


def resolve_fiscal_year(
    client: ClientLike, stage: Path, requested: int | None, today: date | None = None
) -> dict[str, Any]:
    """Step 1: company information and the fiscal year to extract."""
    stage.mkdir(parents=True, exist_ok=True)
    company = client.company_information()
    years = client.financial_years()
    _write_atomic(stage / "companyinformation.json", company.raw)
    _record(
        stage,
        "companyinformation.json",
        {"companyinformation.json": {"request": {"path": company.path}, "at": _now()}},
    )
    _write_pages(stage, "financialyears", years.pages)
    chosen = choose_fiscal_year(years.items, requested, today or date.today())
    info = loads_exact(company.raw).get("CompanyInformation", {})
    selection = {
        "financial_year_id": int(chosen["Id"]),
        "fiscal_year_start": str(chosen["FromDate"]),
        "fiscal_year_end": str(chosen["ToDate"]),
        "company_name": str(info.get("CompanyName", "")),
        "org_number": str(info.get("OrganizationNumber", "")),
        "database_number": str(info.get("DatabaseNumber", "")),
    }
    _write_atomic(stage / "selection.json", json.dumps(selection, indent=2).encode())
    return selection


def fetch_sie(client: ClientLike, stage: Path, selection: dict[str, Any]) -> dict[str, Any]:
    """Step 2: the SIE 4 file of the year, kept as the exact bytes received."""
    data = client.sie(int(selection["financial_year_id"]), 4)
    _write_atomic(stage / SIE_FILE_NAME, data)
    request = {"path": "/sie/4", "params": {"financialyear": str(selection["financial_year_id"])}}
    _record(stage, SIE_FILE_NAME, {SIE_FILE_NAME: {"request": request, "at": _now()}})
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def fetch_subledgers(client: ClientLike, stage: Path, selection: dict[str, Any]) -> dict[str, int]:
    """Step 3: invoices, supplier invoices and their payments, and the year-end open items."""
    year_end = date.fromisoformat(selection["fiscal_year_end"])
    invoices = client.invoices(todate=year_end)
    invoice_payments = client.invoice_payments()
    supplier_invoices = client.supplier_invoices()
    supplier_payments = client.supplier_invoice_payments()
    for folder, listing in (
        ("invoices", invoices),
        ("invoicepayments", invoice_payments),
        ("supplierinvoices", supplier_invoices),
        ("supplierinvoicepayments", supplier_payments),
    ):
        _write_pages(stage, folder, listing.pages)
    receivables = receivables_at(
        items_from_pages([p.raw for p in invoices.pages], "Invoices"),
        items_from_pages([p.raw for p in invoice_payments.pages], "InvoicePayments"),
        year_end,
    )
    payables = payables_at(
        items_from_pages([p.raw for p in supplier_invoices.pages], "SupplierInvoices"),
        items_from_pages([p.raw for p in supplier_payments.pages], "SupplierInvoicePayments"),
        year_end,
    )
    _write_open_items(stage / AR_OPEN_ITEMS, receivables, year_end)
    _write_open_items(stage / AP_OPEN_ITEMS, payables, year_end)
    return {"receivables": len(receivables), "payables": len(payables)}


def _write_open_items(path: Path, items: list[OpenItem], year_end: date) -> None:
    body = {"as_of": year_end.isoformat(), "items": [i.to_json() for i in items]}
    _write_atomic(path, json.dumps(body, indent=2, sort_keys=True).encode())


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def latest_extract(year_dir: Path) -> Path | None:
    """The newest published extract of a company's year (extract ids sort by time)."""
    if not year_dir.is_dir():
        return None
    done = sorted(p for p in year_dir.iterdir() if (p / MANIFEST_NAME).exists())
    return done[-1] if done else None


def publish(stage: Path, data_root: Path, company: str, run_id: str) -> PublishResult:
    """Step 4: manifest, then one rename into the landing zone. Safe to rerun."""
    if not (stage / "selection.json").exists():
        # Rerun after a successful publish: the staging folder became the extract.
        company_dir = data_root / "landing" / _safe(company)
        for manifest_path in sorted(company_dir.glob(f"*/*/{MANIFEST_NAME}")):
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("run_id") == run_id:
                return _result(manifest_path.parent, manifest, data_root, company, manifest)
        raise FileNotFoundError(f"{stage}: nothing staged for run {run_id}; rerun the fetch steps")
    selection = json.loads((stage / "selection.json").read_text())
    start = date.fromisoformat(selection["fiscal_year_start"])
    end = date.fromisoformat(selection["fiscal_year_end"])
    year_dir = data_root / "landing" / _safe(company) / fiscal_year_label(start, end)
    sie_sha = _sha256_file(stage / SIE_FILE_NAME)

    # A rerun after a successful publish finds its extract already in place.
    for existing in sorted(year_dir.glob("*")) if year_dir.is_dir() else []:
        manifest_path = existing / MANIFEST_NAME
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("run_id") == run_id:
                return _result(existing, manifest, data_root, company, selection)

    previous = latest_extract(year_dir)
    previous_manifest = json.loads((previous / MANIFEST_NAME).read_text()) if previous else None
    changed = previous_manifest is None or previous_manifest["sie_sha256"] != sie_sha
    fetched = _recorded(stage)
    extract_id = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{sie_sha[:8]}"
    files = {}
    for path in sorted(p for p in stage.rglob("*") if p.is_file() and p.name != STAGE_META):
        name = path.relative_to(stage).as_posix()
        if any(part.startswith(".") for part in name.split("/")):
            continue  # records and temporary names are not raw files
        files[name] = {
            "sha256": _sha256_file(path),
            "bytes": path.stat().st_size,
            **fetched.get(name, {"derived": True}),
        }
    manifest = {
        "extract_id": extract_id,
        "run_id": run_id,
        "company": company,
        "company_name": selection["company_name"],
        "org_number": selection["org_number"],
        "financial_year_id": selection["financial_year_id"],
        "fiscal_year_start": selection["fiscal_year_start"],
        "fiscal_year_end": selection["fiscal_year_end"],
        "sie_file": SIE_FILE_NAME,
        "sie_sha256": sie_sha,
        "previous_extract_id": previous_manifest["extract_id"] if previous_manifest else None,
        "sie_changed": changed,
        "published_at": _now(),
        "files": files,
    }
    _write_atomic(stage / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True).encode())
    year_dir.mkdir(parents=True, exist_ok=True)
    target = year_dir / extract_id
    stage.replace(target)
    # The records are in the manifest now; removed only after the rename, so a publish that
    # stops before it still finds them when rerun.
    (target / STAGE_META).unlink(missing_ok=True)
    shutil.rmtree(target / RECORDS_DIR, ignore_errors=True)
    return _result(target, manifest, data_root, company, selection)


def _result(
    target: Path,
    manifest: dict[str, Any],
    data_root: Path,
    company: str,
    selection: dict[str, Any],
) -> PublishResult:
    event = LandingEvent(
        company=company,
        org_number=selection["org_number"],
        company_name=selection["company_name"],
        fiscal_year_start=selection["fiscal_year_start"],
        fiscal_year_end=selection["fiscal_year_end"],
        extract_id=manifest["extract_id"],
        path=target.relative_to(data_root).as_posix(),
    )
    return PublishResult(manifest["extract_id"], target, bool(manifest["sie_changed"]), event)
