"""The extraction steps with a fake Fortnox client: exact bytes, manifest, rerun safety."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from include.ingest import extract as steps
from include.ingest.landing import MANIFEST_NAME, SIE_FILE_NAME, LandingEvent


@dataclass
class FakePage:
    raw: bytes
    path: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeListing:
    key: str
    pages: tuple[FakePage, ...]

    @property
    def items(self) -> list[dict[str, Any]]:
        return [i for p in self.pages for i in json.loads(p.raw).get(self.key, [])]


def listing(path: str, key: str, *pages: list[dict[str, Any]]) -> FakeListing:
    return FakeListing(
        key,
        tuple(
            FakePage(json.dumps({key: items}).encode(), path, {"page": str(n)})
            for n, items in enumerate(pages, start=1)
        ),
    )


class FakeClient:
    def __init__(self, sie: bytes = b"#FLAGGA 0\r\n#SIETYP 4\r\n") -> None:
        self.sie_bytes = sie
        self.calls: list[str] = []

    def company_information(self) -> FakePage:
        self.calls.append("companyinformation")
        body = {
            "CompanyInformation": {
                "CompanyName": "Test AB",
                "OrganizationNumber": "556000-0000",
                "DatabaseNumber": 42,
            }
        }
        return FakePage(json.dumps(body).encode(), "/companyinformation")

    def financial_years(self, date: object = None) -> FakeListing:
        self.calls.append("financialyears")
        return listing(
            "/financialyears",
            "FinancialYears",
            [
                {"Id": 1, "FromDate": "2024-01-01", "ToDate": "2024-12-31"},
                {"Id": 2, "FromDate": "2025-01-01", "ToDate": "2025-12-31"},
                {"Id": 3, "FromDate": "2026-01-01", "ToDate": "2026-12-31"},
            ],
        )

    def sie(self, financial_year: int, type: int = 4) -> bytes:
        self.calls.append(f"sie {financial_year}")
        return self.sie_bytes

    def invoices(self, fromdate: object = None, todate: object = None) -> FakeListing:
        self.calls.append("invoices")
        return listing(
            "/invoices",
            "Invoices",
            [
                {
                    "DocumentNumber": "1",
                    "InvoiceDate": "2025-12-30",
                    "Total": 100,
                    "Booked": True,
                    "CustomerNumber": "1",
                    "CustomerName": "K",
                }
            ],
            [
                {
                    "DocumentNumber": "2",
                    "InvoiceDate": "2025-06-01",
                    "Total": 50,
                    "Booked": True,
                    "CustomerNumber": "1",
                    "CustomerName": "K",
                }
            ],
        )

    def invoice_payments(self) -> FakeListing:
        return listing(
            "/invoicepayments",
            "InvoicePayments",
            [{"InvoiceNumber": 2, "PaymentDate": "2025-07-01", "Amount": 50}],
        )

    def supplier_invoices(self) -> FakeListing:
        return listing("/supplierinvoices", "SupplierInvoices", [])

    def supplier_invoice_payments(self) -> FakeListing:
        return listing("/supplierinvoicepayments", "SupplierInvoicePayments", [])


def run_steps(client: FakeClient, data: Path, run_id: str) -> steps.PublishResult:
    stage = steps.staging_dir(data, run_id, "42")
    selection = steps.resolve_fiscal_year(client, stage, None, date(2026, 11, 23))
    steps.fetch_sie(client, stage, selection)
    steps.fetch_subledgers(client, stage, selection)
    return steps.publish(stage, data, "42", run_id)


def test_default_year_is_the_latest_that_has_ended(tmp_path: Path) -> None:
    client = FakeClient()
    result = run_steps(client, tmp_path, "run-1")
    assert "sie 2" in client.calls  # 2025, not the running 2026
    assert result.event.fiscal_year_start == "2025-01-01"
    assert result.path.parent.name == "2025-01-01_2025-12-31"


def test_explicit_year_and_unknown_year() -> None:
    years = FakeClient().financial_years().items
    assert steps.choose_fiscal_year(years, 2024, date(2026, 1, 1))["Id"] == 1
    with pytest.raises(ValueError, match="no Fortnox financial year starts in 2019"):
        steps.choose_fiscal_year(years, 2019, date(2026, 1, 1))


def test_extract_lands_exact_bytes_with_manifest(tmp_path: Path) -> None:
    client = FakeClient(sie=b'#FLAGGA 0\r\n#FNAMN "\x8e\x84"\r\n')  # CP437 bytes kept as is
    result = run_steps(client, tmp_path, "run-1")
    assert (result.path / SIE_FILE_NAME).read_bytes() == client.sie_bytes
    manifest = json.loads((result.path / MANIFEST_NAME).read_text())
    assert manifest["sie_sha256"] == hashlib.sha256(client.sie_bytes).hexdigest()
    assert manifest["files"][SIE_FILE_NAME]["request"]["params"] == {"financialyear": "2"}
    assert manifest["files"]["invoices/page-0002.json"]["request"]["params"] == {"page": "2"}
    assert manifest["files"]["ar_open_items.json"]["derived"] is True
    for name, entry in manifest["files"].items():
        data = (result.path / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)
    open_items = json.loads((result.path / "ar_open_items.json").read_text())
    assert [i["invoice_number"] for i in open_items["items"]] == ["1"]
    assert result.changed is True
    assert not (tmp_path / "landing" / ".staging" / "run-1" / "42").exists()


def test_publish_rerun_returns_the_same_extract(tmp_path: Path) -> None:
    first = run_steps(FakeClient(), tmp_path, "run-1")
    again = steps.publish(steps.staging_dir(tmp_path, "run-1", "42"), tmp_path, "42", "run-1")
    assert again.extract_id == first.extract_id
    assert len(list(first.path.parent.iterdir())) == 1


def test_same_sie_bytes_are_recorded_but_unchanged(tmp_path: Path) -> None:
    first = run_steps(FakeClient(), tmp_path, "run-1")
    second = run_steps(FakeClient(), tmp_path, "run-2")
    third = run_steps(FakeClient(sie=b"#FLAGGA 0\r\n#GEN 20260101\r\n"), tmp_path, "run-3")
    assert first.changed and not second.changed and third.changed
    manifest = json.loads((second.path / MANIFEST_NAME).read_text())
    assert manifest["previous_extract_id"] == first.extract_id
    assert len(list(first.path.parent.iterdir())) == 3  # nothing is deleted


def test_rerunning_a_step_replaces_only_its_own_files(tmp_path: Path) -> None:
    client = FakeClient()
    stage = steps.staging_dir(tmp_path, "run-1", "42")
    selection = steps.resolve_fiscal_year(client, stage, None, date(2026, 11, 23))
    steps.fetch_sie(client, stage, selection)
    steps.fetch_subledgers(client, stage, selection)
    client.sie_bytes = b"#FLAGGA 0\r\n#GEN 20260102\r\n"
    steps.fetch_sie(client, stage, selection)  # operator reruns only the SIE task
    result = steps.publish(stage, tmp_path, "42", "run-1")
    assert (result.path / SIE_FILE_NAME).read_bytes() == client.sie_bytes
    assert (result.path / "invoices" / "page-0001.json").exists()


def test_landing_event_round_trip_and_path_guard(tmp_path: Path) -> None:
    result = run_steps(FakeClient(), tmp_path, "run-1")
    event = LandingEvent.from_extra(result.event.to_extra())
    assert event.directory(tmp_path) == result.path.resolve()
    with pytest.raises(ValueError, match="missing"):
        LandingEvent.from_extra({"company": "42"})
    escaping = LandingEvent(**{**event.to_extra(), "path": "../../etc"})
    with pytest.raises(ValueError, match="outside the landing zone"):
        escaping.directory(tmp_path)


# -- steps running at the same time ------------------------------------------------------------

RECORDS_PER_PROCESS = 300


def _record_many(stage: str, prefix: str, start: Any) -> None:
    """What a step does for every file it fetches, many times over, in its own process."""
    start.wait(30)
    for number in range(RECORDS_PER_PROCESS):
        name = f"{prefix}/page-{number:04d}.json"
        steps._write_atomic(Path(stage) / name, b"{}")
        request = {"path": f"/{prefix}", "params": {"page": str(number)}}
        steps._record(Path(stage), name, {name: {"request": request, "at": "now"}})


def _run_in_processes(*targets: tuple[Any, tuple[Any, ...]]) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(targets))
    procs = [ctx.Process(target=fn, args=(*args, start)) for fn, args in targets]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_two_processes_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    client = FakeClient()
    stage = steps.staging_dir(tmp_path, "run-1", "42")
    selection = steps.resolve_fiscal_year(client, stage, None, date(2026, 11, 23))
    steps.fetch_sie(client, stage, selection)
    _run_in_processes(
        (_record_many, (str(stage), "sie-side")),
        (_record_many, (str(stage), "subledger-side")),
    )
    result = steps.publish(stage, tmp_path, "42", "run-1")
    files = json.loads((result.path / MANIFEST_NAME).read_text())["files"]
    recorded = [n for n, e in files.items() if "request" in e and "-side/" in n]
    assert len(recorded) == 2 * RECORDS_PER_PROCESS
    assert files[SIE_FILE_NAME]["request"]["params"] == {"financialyear": "2"}
    assert not any(part.startswith(".") for name in files for part in name.split("/"))


ROUNDS = 20


def _step_rounds(data: str, step: str, start: Any) -> None:
    client = FakeClient()
    for round_ in range(ROUNDS):
        stage = steps.staging_dir(Path(data), f"run-{round_}", "42")
        selection = json.loads((stage / "selection.json").read_text())
        start.wait(30)  # both steps of the round begin together
        getattr(steps, step)(client, stage, selection)


def test_fetch_sie_and_fetch_subledgers_at_the_same_time(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        stage = steps.staging_dir(tmp_path, f"run-{round_}", "42")
        steps.resolve_fiscal_year(FakeClient(), stage, None, date(2026, 11, 23))
    _run_in_processes(
        (_step_rounds, (str(tmp_path), "fetch_sie")),
        (_step_rounds, (str(tmp_path), "fetch_subledgers")),
    )
    for round_ in range(ROUNDS):
        run_id = f"run-{round_}"
        result = steps.publish(steps.staging_dir(tmp_path, run_id, "42"), tmp_path, "42", run_id)
        files = json.loads((result.path / MANIFEST_NAME).read_text())["files"]
        fetched = sorted(n for n, e in files.items() if "request" in e)
        assert fetched == [
            "companyinformation.json",
            "financialyears/page-0001.json",
            "invoicepayments/page-0001.json",
            "invoices/page-0001.json",
            "invoices/page-0002.json",
            SIE_FILE_NAME,
            "supplierinvoicepayments/page-0001.json",
            "supplierinvoices/page-0001.json",
        ], run_id
