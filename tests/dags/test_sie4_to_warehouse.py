"""`dag.test()` of the load DAG on real files: a good file loads, a broken one is set aside
and named with its lines by the failing summary; an older extract is refused unless forced;
tasks are labelled by file, company and fiscal year; the schedule shows both triggers."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKEN_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "sie4" / "broken.se"
CLEAN_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "sie4" / "clean_4e.se"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def load_dag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "sie4_to_warehouse.py"))
    assert bag.import_errors == {}
    return bag.get_dag("sie4_to_warehouse")


@pytest.fixture
def project_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("PROJECT_DATA_DIR", str(data))
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": url}}),
    )
    return data, url


def _write_books(target: Path) -> int:
    return _write_books_named(target)[0]


def _write_books_named(target: Path) -> tuple[int, str, str]:
    """Generated books: voucher count, company name, fiscal-year start."""
    from include.books import generate_books
    from include.sie4 import write_sie

    books = generate_books(7, vouchers_per_year=40, years=1)
    start = books.years[-1].fiscal_year.start
    doc = books.to_sie(start)
    write_sie(doc, target)
    return len(doc.vouchers), doc.company.name, start.isoformat()


def _labels(run, task_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        str(ti.rendered_map_index) for ti in run.get_task_instances() if ti.task_id == task_id
    )


def _task_states(run) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_inbox_good_file_loads_and_broken_file_is_set_aside(load_dag, project_data, capfd) -> None:  # type: ignore[no-untyped-def]
    data, url = project_data
    inbox = data / "inbox"
    vouchers, company, start = _write_books_named(inbox / "good.se")
    (inbox / "broken.se").write_bytes(BROKEN_FIXTURE.read_bytes())
    settle = 2
    time.sleep(settle + 0.5)  # both have sat in the inbox for longer than the settle time
    # Meanwhile a third file is being copied in and keeps growing throughout the run.
    content = (inbox / "good.se").read_bytes()
    copying, done = inbox / "copying.se", threading.Event()

    def copy_slowly() -> None:
        with copying.open("wb") as out:
            # Far slower than the run (minutes), even when a loaded machine makes it slow.
            for start in range(0, len(content), 16):
                out.write(content[start : start + 16])
                out.flush()
                if done.wait(0.1):
                    return

    copier = threading.Thread(target=copy_slowly)
    copier.start()
    try:
        run = load_dag.test(run_conf={"inbox_settle_seconds": settle})
        still_copying = copying.stat().st_size < len(content)
    finally:
        done.set()
        copier.join()

    assert still_copying  # the copy really was in progress for the whole run
    states = _task_states(run)
    assert sorted(states["load_file"]) == ["failed", "success"], states
    assert states["summarise"] == ["failed"]  # a rejected file turns the run red
    assert str(run.state) == "failed"
    assert (inbox / "processed" / "good.se").exists()
    assert (inbox / "failed" / "broken.se").read_bytes() == BROKEN_FIXTURE.read_bytes()
    sidecar = (inbox / "failed" / "broken.se.errors.txt").read_text()
    assert "line 14:" in sidecar  # the unbalanced voucher opens on line 14
    assert [p.name for p in inbox.glob("*.se")] == ["copying.se"]  # untouched, not loaded

    # Labelled by file, company and fiscal year (the broken file's head still names them).
    assert _labels(run, "load_file") == [
        "broken.se: Trasig AB 2024-01-01",
        f"good.se: {company} {start}",
    ]
    # Each load logs a short line; the failing summary names the bad file and its lines.
    out = capfd.readouterr().out
    assert f"good.se ({company} {start}): loaded, {vouchers} vouchers," in out
    assert "broken.se (Trasig AB 2024-01-01): rejected:" in out
    assert "2 file(s): 1 loaded, 0 unchanged, 0 refused, 1 rejected, 0 failed" in out
    summary = out[out.index("2 file(s):") :]
    assert f"rejected broken.se: Trasig AB 2024-01-01: {inbox / 'failed' / 'broken.se'}" in summary
    assert "line 14: voucher A 1 does not balance" in summary

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from voucher")) == vouchers
        assert conn.scalar(sa.text("select count(*) from extract")) == 1
    engine.dispose()


def test_manual_file_path_and_rerun_is_a_no_op(load_dag, project_data, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    _, url = project_data
    source = tmp_path / "elsewhere.se"
    vouchers = _write_books(source)

    with caplog.at_level("INFO", logger="include.warehouse.migrate"):
        first = load_dag.test(run_conf={"file_path": str(source), "include_inbox": False})
        migrated = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
        caplog.clear()
        second = load_dag.test(run_conf={"file_path": str(source), "include_inbox": False})
        checked = [r.getMessage() for r in caplog.records if "schema" in r.getMessage()]
    # The schema task migrates the empty warehouse once; the next run only checks it.
    assert any("migrated from empty" in m for m in migrated), migrated
    assert any("is current" in m for m in checked) and not any("migrated" in m for m in checked)

    for run in (first, second):
        assert _task_states(run)["load_file"] == ["success"]
    assert source.exists()  # a manual file is never moved
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from voucher")) == vouchers
        assert conn.scalar(sa.text("select count(*) from extract")) == 1
    engine.dispose()


def _older_and_newer(tmp_path: Path, url: str) -> Path:
    """Newer books in the warehouse (#GEN 2025-03-01) and an older file of them on disk."""
    from include.warehouse.loader import load_sie
    from include.warehouse.migrate import migrate

    migrate(url)
    clean = CLEAN_FIXTURE.read_bytes()
    load_sie(clean.replace(b"#GEN 20250115", b"#GEN 20250301"), url, file_name="newer.se")
    older = tmp_path / "older.se"
    older.write_bytes(clean)
    return older


def _current_file(url: str) -> str:
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


def test_older_extract_is_refused_unless_forced(load_dag, project_data, tmp_path, capfd) -> None:  # type: ignore[no-untyped-def]
    _, url = project_data
    older = _older_and_newer(tmp_path, url)
    assert load_dag.params["force"] is False  # refused by default

    refused = load_dag.test(run_conf={"file_path": str(older), "include_inbox": False})
    out = capfd.readouterr().out
    # Not a crash: the task is skipped, the run stays green, the newer books stay.
    assert _task_states(refused)["load_file"] == ["skipped"]
    assert str(refused.state) == "success"
    assert _labels(refused, "load_file") == ["older.se: Exempel AB 2024-01-01"]
    assert "older.se (Exempel AB 2024-01-01): refused: older than the loaded extract" in out
    summary = out[out.index("1 file(s):") :]
    assert "0 loaded, 0 unchanged, 1 refused, 0 rejected, 0 failed" in summary
    assert f"refused older.se: Exempel AB 2024-01-01: {older}" in summary
    assert "refused: older than the loaded extract, rerun with force" in summary
    assert _current_file(url) == "newer.se"

    forced = load_dag.test(
        run_conf={"file_path": str(older), "include_inbox": False, "force": True}
    )
    assert _task_states(forced)["load_file"] == ["success"]
    assert str(forced.state) == "success"
    assert "older.se (Exempel AB 2024-01-01): loaded" in capfd.readouterr().out
    assert _current_file(url) == "older.se"


def _land(
    data: Path, tenant: str, extract_id: str, sie: bytes, company: tuple[str, str, str]
) -> None:
    """A published extract in the landing zone, as fortnox_extract leaves it."""
    org_number, name, start = company
    extract = data / "landing" / tenant / f"{start}_{start[:4]}-12-31" / extract_id
    extract.mkdir(parents=True)
    (extract / "sie4.se").write_bytes(sie)
    manifest = {
        "company": tenant,
        "org_number": org_number,
        "company_name": name,
        "fiscal_year_start": start,
        "fiscal_year_end": f"{start[:4]}-12-31",
        "extract_id": extract_id,
    }
    (extract / "manifest.json").write_text(json.dumps(manifest))


def test_a_run_without_events_catches_up_landed_extracts_but_not_rejected_ones(  # type: ignore[no-untyped-def]
    load_dag, project_data, tmp_path, capfd
) -> None:
    """The timer's runs (and a plain manual run) load landed extracts the warehouse lacks:
    an asset event Airflow held back or never sent. One a load rejected is tried again only
    by a manual catch-up (``scan_landing``), not every 15 minutes."""
    from include.books import generate_books
    from include.ingest.work import rejection_note
    from include.sie4 import write_sie

    data, url = project_data
    books = generate_books(7, vouchers_per_year=40, years=1)
    start = books.years[-1].fiscal_year.start
    doc = books.to_sie(start)
    write_sie(doc, tmp_path / "good.se")
    company = (doc.company.org_number, doc.company.name, start.isoformat())
    _land(data, "1001", "20260101T000000Z-good", (tmp_path / "good.se").read_bytes(), company)
    broken = ("556000-0001", "Trasig AB", start.isoformat())
    _land(data, "1002", "20260101T000000Z-broken", BROKEN_FIXTURE.read_bytes(), broken)

    first = load_dag.test()  # no events, no file: what a timer run gets
    out = capfd.readouterr().out
    assert sorted(_labels(first, "load_file")) == sorted(
        [f"{doc.company.name} {start.isoformat()}", f"Trasig AB {start.isoformat()}"]
    )
    assert str(first.state) == "failed"  # the broken extract is named by the summary
    assert f"{doc.company.name} {start.isoformat()}): loaded" in out
    with sa.create_engine(url).connect() as conn:
        loaded = set(conn.scalars(sa.text("select extract_id from extract")))
    assert loaded == {"20260101T000000Z-good"}
    note = json.loads(rejection_note(data, "20260101T000000Z-broken").read_text())
    assert note["outcome"] == "rejected" and "line" in note["reason"]

    second = load_dag.test()  # the next timer run: nothing left to do, nothing fails
    ran = [state for state in _task_states(second)["load_file"] if state != "skipped"]
    assert ran == []  # mapped over no file: only Airflow's skipped placeholder
    assert str(second.state) == "success"

    retried = load_dag.test(run_conf={"scan_landing": True, "include_inbox": False})
    assert _labels(retried, "load_file") == [f"Trasig AB {start.isoformat()}"]
    assert str(retried.state) == "failed"


def test_the_schedule_shows_the_asset_and_the_15_minutes(
    load_dag, project_data, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """What the UI reads (GET /api/v2/dags/{id}/details of Airflow's own API app).

    The UI's Schedule field shows only the asset for an asset-triggered DAG, whatever the
    timetable's summary says; the description (DAG list tooltip, Details tab) names both.
    """
    from fastapi.testclient import TestClient

    run = load_dag.test(run_conf={"include_inbox": False})  # syncs the DAG to the database
    assert str(run.state) == "success"

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    monkeypatch.setenv(
        "AIRFLOW__API_AUTH__JWT_SECRET", "test-only-secret-for-this-in-process-api-app-" + "x" * 32
    )
    from airflow.api_fastapi.app import create_app

    with TestClient(create_app("core")) as client:
        # All-admins mode: the app's middleware signs each request in as an admin.
        response = client.get("/api/v2/dags/sie4_to_warehouse/details")
    assert response.status_code == 200, response.text
    details = response.json()
    assert details["timetable_summary"] == "Asset or */15 * * * *"
    assert details["timetable_description"] == "Triggered by assets or Every 15 minutes"
    assert "fortnox_landing" in json.dumps(details["asset_expression"])
    description = details["description"]
    assert "fortnox_landing" in description and "every 15 minutes" in description
    assert "*/15 * * * *" in description
