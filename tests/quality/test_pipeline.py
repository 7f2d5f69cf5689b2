"""What the DAG's tasks decide: which partitions an asset event names, the run's summary and
note, and the one Data Docs site for all partitions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from include.quality import gx_suite
from include.quality.pipeline import finish, note_text, partitions_to_check
from include.quality.run_note import MAX_NOTE, fit_note
from include.quality.runner import run_quality
from include.quality.testing import books_with_open_items, record_checks, sie_bytes
from include.warehouse import schema
from include.warehouse.loader import load_sie


def _load(url: str, company_index: int, **kwargs: Any) -> Any:
    doc, open_items = books_with_open_items(seed=5, company_index=company_index)
    return load_sie(
        sie_bytes(doc),
        url,
        file_name=f"c{company_index}.se",
        source_kind="fortnox",
        open_items=open_items,
        **kwargs,
    )


def _event(result: Any, *, changed: bool = True) -> dict[str, Any]:
    return {
        "org_number": result.org_number,
        "company_name": result.company_name,
        "fiscal_year_start": result.fiscal_year_start.isoformat(),
        "extract_id": result.extract_id,
        "source": "fortnox",
        "changed": changed,
    }


def test_events_name_partitions_by_their_extract(sqlite_url: str) -> None:
    first = _load(sqlite_url, 0)
    second = _load(sqlite_url, 1)
    events = [_event(first), _event(second), _event(first), {"extract_id": "gone"}]
    items = partitions_to_check(sqlite_url, events)
    assert [(i["company_id"], i["fiscal_year_start"]) for i in items] == [
        (first.company_id, "2024-01-01"),
        (second.company_id, "2024-01-01"),
    ]
    assert items[0]["label"] == f"{first.company_name} 2024-01-01"


def test_unchanged_books_already_checked_are_not_checked_again(sqlite_url: str) -> None:
    first = _load(sqlite_url, 0)
    unchanged = [_event(first, changed=False)]
    assert len(partitions_to_check(sqlite_url, unchanged)) == 1  # never checked: check it
    record_checks(sqlite_url, first.company_id, first.fiscal_year_start)
    assert partitions_to_check(sqlite_url, unchanged) == []
    assert len(partitions_to_check(sqlite_url, [_event(first)])) == 1  # changed: always


def test_params_name_partitions_and_override_events(sqlite_url: str) -> None:
    first = _load(sqlite_url, 0)
    second = _load(sqlite_url, 1)
    assert len(partitions_to_check(sqlite_url)) == 2  # a manual run without params: all
    named = partitions_to_check(sqlite_url, [_event(first)], company=second.org_number)
    assert [i["company_id"] for i in named] == [second.company_id]
    assert len(partitions_to_check(sqlite_url, fiscal_year=2024)) == 2
    assert len(partitions_to_check(sqlite_url, fiscal_year="2024-01-01")) == 2


def test_finish_counts_the_newest_run_of_each_partition(sqlite_url: str, tmp_path: Path) -> None:
    first = _load(sqlite_url, 0)
    second = _load(sqlite_url, 1)
    by = "airflow:data_quality/manual__1"
    record_checks(
        sqlite_url, first.company_id, first.fiscal_year_start, failed=("ksumma",), triggered_by=by
    )
    record_checks(sqlite_url, first.company_id, first.fiscal_year_start, triggered_by=by)  # rerun
    record_checks(
        sqlite_url,
        second.company_id,
        second.fiscal_year_start,
        failed=("voucher_balances",),
        warnings=("voucher_number_gaps",),
        triggered_by=by,
    )
    done = finish(sqlite_url, tmp_path, by, expected=3)
    assert done.runs == 2
    assert done.failed == (f"{second.company_name} 2024-01-01: voucher_balances",)
    assert done.warned == (f"{second.company_name} 2024-01-01: voucher_number_gaps",)
    assert "2 of 3 partition(s) checked, 1 failed" in done.note
    assert "1 partition(s) could not be checked" in done.note


def test_note_fits_the_api_limit() -> None:
    failed = [f"Bolag {i} AB 2024-01-01: voucher_balances, ar_reconciliation" for i in range(60)]
    note = fit_note(note_text(60, 60, failed, []))
    assert len(note) <= MAX_NOTE and note.endswith("dq_result have it all)")
    assert fit_note("short") == "short"


def test_one_data_docs_site_for_all_partitions(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(sqlite_url, 0)
    _load(sqlite_url, 1)
    data = tmp_path / "data"
    runs = run_quality(sqlite_url, data)
    index = (data / "quality" / "data_docs" / "index.html").read_text()
    for run in runs:
        page = Path(run.run.data_docs_page or "")
        assert page.is_file() and page.is_relative_to(data / "quality" / "data_docs")
        assert page.name in index  # the index links every partition's page
        assert "voucher_balances (error)" in page.read_text()

    # Older results leave the site; dq_run keeps every run.
    monkeypatch.setattr(gx_suite, "KEEP_RESULTS_PER_PARTITION", 2)
    for _ in range(2):
        runs = run_quality(sqlite_url, data, company=runs[0].partition.org_number)
    stored = list((data / "quality" / "gx" / "validations").rglob("*.json"))
    assert len(stored) == 2 + 1  # two of the first company, one of the second
    pages = list((data / "quality" / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 3
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(schema.dq_run)) == 4
    engine.dispose()
    assert all(json.loads(p.read_text())["meta"]["run_id"] for p in stored)
