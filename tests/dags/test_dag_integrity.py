"""Every DAG imports cleanly, declares what operators need, and does no work at parse time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (REPO_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO_ROOT / "dags"))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= 1


def test_every_dag_file_defines_a_dag(dagbag) -> None:  # type: ignore[no-untyped-def]
    files_with_dags = {Path(d.fileloc).name for d in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAG_FILES}


@pytest.mark.parametrize("attribute", ["owner", "retries", "tags", "doc_md", "catchup", "params"])
def test_dag_declarations(dagbag, attribute: str) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        if attribute == "owner":
            assert all(t.owner not in ("", "airflow") for t in dag.tasks), dag_id
        elif attribute == "retries":
            assert all(t.retries >= 1 for t in dag.tasks), dag_id
        elif attribute == "tags":
            assert dag.tags, dag_id
        elif attribute == "doc_md":
            assert dag.doc_md and len(dag.doc_md.strip()) > 80, dag_id
        elif attribute == "catchup":
            assert dag.catchup is False, dag_id
        elif attribute == "params":
            assert {"company", "fiscal_year"} <= set(dag.params.keys()), dag_id


_PARSE_PROBE = r"""
import json, socket, sys
def _no_network(*args, **kwargs):
    raise RuntimeError("network access at DAG parse time")
socket.socket.connect = _no_network
socket.create_connection = _no_network
import airflow.sdk  # noqa: F401  (Airflow's own imports are not ours to judge)
from airflow.sdk import Variable
def _no_variables(*args, **kwargs):
    raise RuntimeError("Variable read at DAG parse time")
Variable.get = staticmethod(_no_variables)
before = set(sys.modules)
import importlib.util
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(set(sys.modules) - before)))
"""

HEAVY = (
    "polars",
    "pyarrow",
    "pandas",
    "great_expectations",
    "include.warehouse",
    "include.sie4.reader",
    "include.sie4.bulk",
    "include.fortnox.client",
    "psycopg",
)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_no_work_at_parse_time(dag_file: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'plugins'}"}
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = [m for m in imported if m.startswith(HEAVY)]
    assert heavy == [], f"{dag_file.name} imports heavy modules at parse time: {heavy}"
