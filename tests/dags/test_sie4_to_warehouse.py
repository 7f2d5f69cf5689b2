"""`dag.test()` of the load DAG on real files: a good file loads, a broken one is set aside."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKEN_FIXTURE = REPO_ROOT / "tests" / "fixtures" / "sie4" / "broken.se"

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
    from include.books import generate_books
    from include.sie4 import write_sie

    books = generate_books(7, vouchers_per_year=40, years=1)
    doc = books.to_sie(books.years[-1].fiscal_year.start)
    write_sie(doc, target)
    return len(doc.vouchers)


def _task_states(run) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    return states


def test_inbox_good_file_loads_and_broken_file_is_set_aside(load_dag, project_data) -> None:  # type: ignore[no-untyped-def]
    data, url = project_data
    inbox = data / "inbox"
    vouchers = _write_books(inbox / "good.se")
    (inbox / "broken.se").write_bytes(BROKEN_FIXTURE.read_bytes())
    settle = 2
    time.sleep(settle + 0.5)  # both have sat in the inbox for longer than the settle time
    # Meanwhile a third file is being copied in and keeps growing throughout the run.
    content = (inbox / "good.se").read_bytes()
    copying, done = inbox / "copying.se", threading.Event()

    def copy_slowly() -> None:
        with copying.open("wb") as out:
            for start in range(0, len(content), 64):  # far slower than the run
                out.write(content[start : start + 64])
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
