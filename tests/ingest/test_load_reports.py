"""What a load task says about each file: its label, one line, and the summary's record.

Real files and a real SQLite warehouse; the DAG-level behaviour is in tests/dags.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.ingest.work import (
    collect_work,
    failed_report,
    label,
    load_work_item,
    reports_by_index,
    sie_company_year,
    summarise,
)
from include.warehouse.migrate import migrate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sie4"
GOOD = FIXTURES / "clean_4e.se"
BROKEN = FIXTURES / "broken.se"
NEWER = GOOD.read_bytes().replace(b"#GEN 20250115", b"#GEN 20250301")


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    return data, url


def _current_extract_file(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        name = conn.scalar(
            sa.text(
                "select e.file_name from fiscal_year f join extract e "
                "on e.extract_id = f.extract_id where f.year_index = 0"
            )
        )
    engine.dispose()
    return str(name)


def test_labels_name_company_and_fiscal_year() -> None:
    event = {"company": "2033757", "company_name": "Bergström Bygg AB"}
    event |= {"fiscal_year_start": "2025-01-01", "path": "landing/x"}
    assert label({"kind": "landing", "event": event}) == "Bergström Bygg AB 2025-01-01"
    unnamed = {**event, "company_name": ""}
    assert label({"kind": "landing", "event": unnamed}) == "Fortnox tenant 2033757 2025-01-01"
    inbox = {"kind": "inbox", "file_name": "bok.se"}
    assert label(inbox) == "bok.se"  # before the file is read
    assert label(inbox, "Exempel AB", "2024-01-01") == "bok.se: Exempel AB 2024-01-01"


def test_a_file_head_names_company_and_year(tmp_path: Path) -> None:
    assert sie_company_year(GOOD) == ("Exempel AB", "2024-01-01")
    assert sie_company_year(BROKEN) == ("Trasig AB", "2024-01-01")  # broken further down
    cp437 = tmp_path / "cp437.se"
    cp437.write_bytes(GOOD.read_bytes().replace(b'"Exempel AB"', b'"Bergstr\x94m \\"B\\" AB"'))
    assert sie_company_year(cp437) == ('Bergström "B" AB', "2024-01-01")
    junk = tmp_path / "junk.se"
    junk.write_bytes(b"not a SIE file\n")
    assert sie_company_year(junk) == (None, None)
    assert sie_company_year(tmp_path / "missing.se") == (None, None)


def test_loaded_then_unchanged_with_counts(world) -> None:  # type: ignore[no-untyped-def]
    data, url = world
    (data / "inbox" / "good.se").write_bytes(GOOD.read_bytes())
    (item,) = collect_work(data, file_path=None, landing_events=[])
    report = load_work_item(item, data, url)
    assert report.outcome == "loaded" and report.label == "good.se: Exempel AB 2024-01-01"
    assert report.line() == "good.se (Exempel AB 2024-01-01): loaded, 3 vouchers, 9 rows"
    assert report.file == str(data / "inbox" / "processed" / "good.se")
    assert report.partition and report.partition["changed"] is True
    assert report.partition["org_number"] == "556677-8899"

    again = load_work_item({"kind": "file", "path": str(GOOD)}, data, url)
    assert again.outcome == "unchanged" and again.partition and not again.partition["changed"]
    xcom = again.to_xcom(3)
    assert xcom["map_index"] == 3 and len(json.dumps(xcom)) < 1000  # small


def test_broken_file_is_rejected_with_its_lines(world) -> None:  # type: ignore[no-untyped-def]
    data, url = world
    (data / "inbox" / "broken.se").write_bytes(BROKEN.read_bytes())
    report = load_work_item({"kind": "inbox", "file_name": "broken.se"}, data, url)
    assert report.outcome == "rejected"
    assert report.label == "broken.se: Trasig AB 2024-01-01"
    assert report.file == str(data / "inbox" / "failed" / "broken.se")
    assert report.reason and "line 14: voucher A 1 does not balance" in report.reason
    assert report.line().startswith("broken.se (Trasig AB 2024-01-01): rejected: ")
    # A rerun of the task (the file already set aside) reports the same reasons.
    again = load_work_item({"kind": "inbox", "file_name": "broken.se"}, data, url)
    assert again.outcome == "rejected" and again.reason and "line 14:" in again.reason


def test_older_inbox_file_is_refused_unless_forced(world) -> None:  # type: ignore[no-untyped-def]
    from include.warehouse.loader import load_sie

    data, url = world
    load_sie(NEWER, url, source_kind="inbox", file_name="newer.se")
    (data / "inbox" / "old.se").write_bytes(GOOD.read_bytes())

    refused = load_work_item({"kind": "inbox", "file_name": "old.se"}, data, url)
    set_aside = data / "inbox" / "failed" / "old.se"
    assert refused.outcome == "refused" and refused.file == str(set_aside)
    assert refused.line() == (
        "old.se (Exempel AB 2024-01-01): refused: older than the loaded extract, rerun with force"
    )
    assert refused.reason and f"force=true and file_path={set_aside}" in refused.reason
    assert _current_extract_file(url) == "newer.se"
    # The rerun the hint gives: that file, forced.
    forced = load_work_item({"kind": "file", "path": str(set_aside)}, data, url, force=True)
    assert forced.outcome == "loaded"
    assert _current_extract_file(url) == "old.se"


def test_older_inbox_file_loads_when_forced(world) -> None:  # type: ignore[no-untyped-def]
    from include.warehouse.loader import load_sie

    data, url = world
    load_sie(NEWER, url, source_kind="inbox", file_name="newer.se")
    (data / "inbox" / "old.se").write_bytes(GOOD.read_bytes())
    forced = load_work_item({"kind": "inbox", "file_name": "old.se"}, data, url, force=True)
    assert forced.outcome == "loaded"
    assert (data / "inbox" / "processed" / "old.se").exists()


def test_trouble_a_retry_may_cure_raises_and_its_report_names_it(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, _ = world
    (data / "inbox" / "good.se").write_bytes(GOOD.read_bytes())
    item = {"kind": "inbox", "file_name": "good.se"}
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with pytest.raises(sa.exc.OperationalError) as raised:
        load_work_item(item, data, unreachable)
    report = failed_report(item, data, raised.value)
    assert report.outcome == "failed" and report.label == "good.se: Exempel AB 2024-01-01"
    assert report.reason and report.reason.startswith("OperationalError: ")
    assert (data / "inbox" / "good.se").exists()  # nothing moved, nothing lost


def test_summary_names_each_file_and_why(world) -> None:  # type: ignore[no-untyped-def]
    from include.warehouse.loader import load_sie

    data, url = world
    load_sie(NEWER, url, source_kind="inbox", file_name="newer.se")
    inbox = data / "inbox"
    (inbox / "broken.se").write_bytes(BROKEN.read_bytes())
    (inbox / "old.se").write_bytes(GOOD.read_bytes())
    (inbox / "killed.se").write_bytes(GOOD.read_bytes())
    items = collect_work(data, file_path=None, landing_events=[])
    assert [i["file_name"] for i in items] == ["broken.se", "killed.se", "old.se"]
    pulled = [load_work_item(items[i], data, url).to_xcom(i) for i in (0, 2)]

    summary = summarise(items, reports_by_index(pulled, len(items)))
    lines = summary.text.splitlines()
    assert lines[0] == "3 file(s): 0 loaded, 0 unchanged, 1 refused, 1 rejected, 1 failed"
    assert f"  rejected broken.se: Trasig AB 2024-01-01: {inbox / 'failed' / 'broken.se'}" in lines
    assert "    line 14: voucher A 1 does not balance: rows sum to 1.00" in lines
    assert f"  refused old.se: Exempel AB 2024-01-01: {inbox / 'failed' / 'old.se'}" in lines
    assert any("refused: older than the loaded extract, rerun with force" in ln for ln in lines)
    assert "  failed killed.se: killed.se" in lines  # its task left no report
    assert summary.failed == (str(inbox / "failed" / "broken.se"), "killed.se")
    assert summary.refused == (str(inbox / "failed" / "old.se"),)


def test_reports_by_index_takes_any_pull_shape() -> None:
    one = {"map_index": 1, "outcome": "loaded"}
    assert reports_by_index(one, 2) == [None, one]  # a pull of one XCom is not a list
    assert reports_by_index(None, 2) == [None, None]
    assert reports_by_index([one, {"map_index": 7}], 2) == [None, one]  # stale index ignored


def _landed(data: Path, sie: bytes) -> Path:
    """Exempel AB's 2024 extract in the landing zone, as fortnox_extract publishes it."""
    extract = data / "landing" / "2033757" / "2024-01-01_2024-12-31" / "20250101T000000Z-ab"
    extract.mkdir(parents=True)
    (extract / "sie4.se").write_bytes(sie)
    manifest = {
        "company": "2033757",
        "org_number": "556677-8899",
        "company_name": "Exempel AB",
        "fiscal_year_start": "2024-01-01",
        "fiscal_year_end": "2024-12-31",
        "extract_id": "20250101T000000Z-ab",
    }
    (extract / "manifest.json").write_text(json.dumps(manifest))
    return extract


def test_a_landed_file_given_by_path_loads_as_its_extract(world) -> None:  # type: ignore[no-untyped-def]
    data, _ = world
    extract = _landed(data, GOOD.read_bytes())
    (item,) = collect_work(data, file_path=str(extract / "sie4.se"), landing_events=[])
    assert item["kind"] == "landing"  # the tenant id and open items come with it
    assert item["event"]["path"] == "landing/2033757/2024-01-01_2024-12-31/20250101T000000Z-ab"
    assert label(item) == "Exempel AB 2024-01-01"
    (elsewhere,) = collect_work(data, file_path=str(GOOD), landing_events=[])
    assert elsewhere == {"kind": "file", "path": str(GOOD.resolve())}


def test_a_rejected_landed_extract_is_noted_and_the_note_goes_when_it_loads(world) -> None:  # type: ignore[no-untyped-def]
    from include.ingest.work import (
        RejectedFile,
        rejection_note,
        run_work_item,
        unloaded_landing_events,
    )

    data, url = world
    extract = _landed(data, BROKEN.read_bytes())
    (item,) = collect_work(data, file_path=None, landing_events=unloaded_landing_events(data, url))
    with pytest.raises(RejectedFile):
        run_work_item(item, data, url)
    note = rejection_note(data, "20250101T000000Z-ab")
    assert json.loads(note.read_text())["outcome"] == "rejected"
    assert unloaded_landing_events(data, url, skip_rejected=True) == []  # the timer's runs
    assert len(unloaded_landing_events(data, url)) == 1  # a person's catch-up still sees it
    assert (extract / "sie4.se").read_bytes() == BROKEN.read_bytes()  # nothing is lost

    (extract / "sie4.se").write_bytes(GOOD.read_bytes())  # fixed (a new extract, or by hand)
    assert run_work_item(item, data, url).loaded
    assert not note.exists()
    assert unloaded_landing_events(data, url) == []
