"""Shared fixtures: paths, the corpus, PostgreSQL, and an isolated Airflow home.

Airflow's environment is set here, before any test module imports Airflow, so that the
suite never touches the demo's airflow_home/ and runs the same on a fresh clone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
CORPUS_DIR = SHARED_DIR / "sie-corpus"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="test-airflow-home-"))
os.environ.setdefault("PYTHONPATH", str(REPO_ROOT))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_AIRFLOW_HOME / "logs")
for _path in (REPO_ROOT, REPO_ROOT / "plugins"):  # as Airflow itself puts them
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def pg_url() -> str:
    return os.environ.get("WAREHOUSE_TEST_PG_URL", DEFAULT_PG_URL)


def pg_unavailable_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(pg_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"PostgreSQL at WAREHOUSE_TEST_PG_URL is not reachable: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip("../shared/sie-corpus is absent (the corpus is beside the checkout)")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; skip when unreachable, but fail under CI=true."""
    reason = pg_unavailable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI always tests PostgreSQL)")
        pytest.skip(reason)
    return pg_url()


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    from include.warehouse.engine import temporary_schema

    with temporary_schema(postgres_url, prefix="t") as url:
        yield url


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """An initialised Airflow metadata DB (SQLite) in the session's own Airflow home."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"airflow db migrate failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return _AIRFLOW_HOME


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with slow tests first, the browser's before all, each file's tests in order.

    scripts/run_tests.sh gives whole files to two workers in this order: the longest start
    first, so no long file is left running alone at the end.
    """

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    rank: dict[str, int] = {}
    for item in items:
        weight = 2
        if item.get_closest_marker("browser"):
            weight = 0
        elif item.get_closest_marker("slow"):
            weight = 1
        rank[file_of(item)] = min(rank.get(file_of(item), 2), weight)
    items.sort(key=lambda item: rank[file_of(item)])  # stable: a file's order is kept
