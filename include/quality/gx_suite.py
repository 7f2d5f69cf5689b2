"""Great Expectations: the suite built in code, run over one partition, and the Data Docs.

The context is ephemeral (datasources, suites and validation definitions live in memory,
built anew by each process) except for two folders under the data folder:

    data/quality/gx/validations/   every validation result (JSON), the Data Docs' source
    data/quality/data_docs/        the Data Docs site: one index for all partitions

The datasource is the warehouse URL itself; the batch is a query asset selecting the
partition's ``fiscal_year`` row, so ``{batch}`` in every check's query scopes it to one
partition. Each check is a ``WarehouseCheck``: GX's ``UnexpectedRowsExpectation`` (the rows
the query returns are the failures) that reads the exact failure count from the same query
execution (``failing_row_count``) instead of running the query a second time to count.
GX's own SQLite connections get read pragmas (a large page cache, memory-mapped reads, an
in-memory temp store for the GROUP BY sorts that are the bulk of a check run on SQLite, and
the warehouse's busy timeout); its PostgreSQL sessions a work_mem that keeps those sorts and
hashes in memory, and no JIT.

Importing this module imports GX (several seconds): only the runner does, when checks run.
"""

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import great_expectations as gx
import sqlalchemy as sa
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from include.quality.checks import COUNT_COLUMN, Check, CheckConfig, Sql

SUITE_NAME = "warehouse_books"
SITE_NAME = "quality"
KEEP_RESULTS_PER_PARTITION = 5  # older validation results leave the Data Docs site

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)


def gx_root(data_root: Path) -> Path:
    return data_root / "quality" / "gx"


def data_docs_root(data_root: Path) -> Path:
    return data_root / "quality" / "data_docs"


class WarehouseCheck(gx.expectations.UnexpectedRowsExpectation):
    """An UnexpectedRowsExpectation whose query also returns the exact failure count.

    The stock expectation runs its query twice (the first rows, then ``COUNT(*)`` over it);
    on a million-row partition that doubles the cost of every check.
    """

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.table",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        rows = metrics["unexpected_rows_query.table"]
        count = int(rows[0][COUNT_COLUMN]) if rows else 0
        return {
            "success": count == 0,
            "result": {"observed_value": count, "details": {"unexpected_rows": rows}},
        }


def _context_config(data_root: Path) -> DataContextConfig:
    store = gx_root(data_root)
    memory = {"class_name": "InMemoryStoreBackend"}
    return DataContextConfig(
        stores={
            "expectations_store": {"class_name": "ExpectationsStore", "store_backend": memory},
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(store / "validations"),
                },
            },
            "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": memory},
            "validation_definition_store": {
                "class_name": "ValidationDefinitionStore",
                "store_backend": memory,
            },
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_root(data_root)),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {"expectations": "None", "profiling": "None"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The warehouse engine's read settings (include.warehouse.engine) on GX's own engine.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA temp_store = MEMORY")
    cursor.execute("PRAGMA cache_size = -262144")
    cursor.execute("PRAGMA mmap_size = 4294967296")  # read pages from the OS cache, no copies
    cursor.close()


def _pg_settings(dbapi_connection: Any, _record: Any) -> None:
    # Room for a million-row partition's sorts and hashes in memory (the default 4 MB spills
    # them to disk); no JIT compilation for queries that run once.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET work_mem = '256MB'")
    cursor.execute("SET jit = off")
    cursor.close()
    dbapi_connection.commit()


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "partition"


@dataclass
class QualityContext:
    """One process's GX context and its datasource over the warehouse URL."""

    context: Any
    datasource: Any
    dialect: str
    data_root: Path

    def asset_name(self, company_key: str, fiscal_year_start: date) -> str:
        return f"{_safe_name(company_key)}__{fiscal_year_start.isoformat()}"


_CONTEXTS: dict[tuple[str, str], QualityContext] = {}


def quality_context(url: str, data_root: Path) -> QualityContext:
    """The process's context for this warehouse and data folder (made once, then reused)."""
    key = (url, str(data_root))
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    gx_root(data_root).mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="ephemeral", project_config=_context_config(data_root))
    parsed = sa.make_url(url)
    dialect = parsed.get_backend_name()
    sources: Any = context.data_sources  # GX's stubs lack the engine ``kwargs`` field
    datasource: Any
    if dialect == "sqlite":
        datasource = sources.add_sqlite(
            "warehouse", connection_string=url, kwargs={"connect_args": {"timeout": 30}}
        )
    elif dialect == "postgresql":
        if parsed.get_driver_name() in ("", "psycopg2"):
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        datasource = sources.add_postgres("warehouse", connection_string=url)
    else:
        raise ValueError(f"unsupported warehouse database: {dialect}")
    engine = datasource.get_execution_engine().engine
    sa.event.listen(engine, "connect", _sqlite_pragmas if dialect == "sqlite" else _pg_settings)
    engine.dispose()  # connections made so far lack the settings
    made = QualityContext(context, datasource, dialect, data_root)
    _CONTEXTS[key] = made
    return made


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """GX's answer for one partition: the raw unexpected rows per check, and where it is."""

    rows: dict[str, list[dict[str, Any]]]
    result_key: ValidationResultIdentifier | None
    gx_version: str


def _partition_query(company_id: int, fiscal_year_start: date) -> str:
    return (
        "SELECT company_id, fiscal_year_start, start_date, end_date, extract_id "
        f"FROM fiscal_year WHERE company_id = {int(company_id)} "
        f"AND fiscal_year_start = '{fiscal_year_start.isoformat()}' AND year_index = 0"
    )


def run_suite(
    qc: QualityContext,
    *,
    company_id: int,
    company_key: str,
    fiscal_year_start: date,
    checks: Sequence[Check],
    config: CheckConfig,
    run_name: str,
    run_time: datetime,
) -> SuiteRun:
    """Validate the partition with one expectation per check; raises if a query fails."""
    sql = Sql(qc.dialect)
    name = qc.asset_name(company_key, fiscal_year_start)
    ds = qc.datasource
    if any(a.name == name for a in ds.assets):
        ds.delete_asset(name)
    asset = ds.add_query_asset(name, query=_partition_query(company_id, fiscal_year_start))
    batch = asset.add_batch_definition_whole_table("partition")
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for check in checks:
        suite.add_expectation(
            WarehouseCheck(
                unexpected_rows_query=check.query(sql, config),
                description=f"{check.name} ({check.severity}): {check.holds}",
                meta={"check": check.name, "severity": check.severity},
            )
        )
    suites = qc.context.suites
    if any(s.name == SUITE_NAME for s in suites.all()):
        suites.delete(SUITE_NAME)
    suite = suites.add(suite)
    definitions = qc.context.validation_definitions
    if any(d.name == name for d in definitions.all()):
        definitions.delete(name)
    definition = definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    result = definition.run(
        result_format="COMPLETE", run_id=RunIdentifier(run_name=run_name, run_time=run_time)
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    for outcome in result.results:
        check_name = outcome.expectation_config.meta["check"]
        problem = _exception_message(outcome.exception_info)
        if problem is not None:
            raise RuntimeError(f"check {check_name} could not run: {problem}")
        rows[check_name] = list(outcome.result.get("details", {}).get("unexpected_rows", []))
    return SuiteRun(rows=rows, result_key=_result_key(qc, name, result), gx_version=gx.__version__)


def _exception_message(info: Any) -> str | None:
    """GX reports a failed metric per metric id ({id: {raised_exception, ...}}) or flat."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _result_key(qc: QualityContext, asset: str, result: Any) -> ValidationResultIdentifier | None:
    """Where the validation result was stored (GX's batch id is ``<datasource>-<asset>``)."""
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=SUITE_NAME),
        run_id=result.meta["run_id"],
        batch_identifier=f"{qc.datasource.name}-{asset}",
    )
    store = qc.context.validation_results_store
    if store.has_key(key):
        return key
    run_name = result.meta["run_id"].run_name
    found = [k for k in store.list_keys() if k.run_id.run_name == run_name]
    return found[0] if found else None


@contextmanager
def _site_lock(data_root: Path) -> Iterator[None]:
    lock = gx_root(data_root) / ".data_docs.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def page_path(data_root: Path, key: ValidationResultIdentifier) -> Path:
    """The Data Docs page of one validation result (the site's own layout)."""
    suite, run_name, run_time, batch = key.to_tuple()
    return data_docs_root(data_root) / "validations" / suite / run_name / run_time / f"{batch}.html"


def result_keys(qc: QualityContext, run_names: Sequence[str]) -> list[ValidationResultIdentifier]:
    """The stored validation results of these runs (run name = dq run id)."""
    wanted = set(run_names)
    store = qc.context.validation_results_store
    return [k for k in store.list_keys() if k.run_id.run_name in wanted]


def build_data_docs(
    qc: QualityContext, keys: Sequence[ValidationResultIdentifier]
) -> Mapping[ValidationResultIdentifier, Path]:
    """Render the pages of ``keys`` (and of any stored result still without a page, e.g. from
    a run whose docs step never ran), prune old results and rebuild the one index.

    Serialised by a file lock: a DAG run and the CLI may build at the same time, and the
    index is one file.
    """
    with _site_lock(qc.data_root):
        pruned = _prune(qc)
        todo = {k.to_tuple(): k for k in keys}
        for key in qc.context.validation_results_store.list_keys():
            if not page_path(qc.data_root, key).exists():
                todo.setdefault(key.to_tuple(), key)
        if not todo and pruned:
            newest = max(qc.context.validation_results_store.list_keys(), default=None, key=_age)
            if newest is not None:
                todo[newest.to_tuple()] = newest  # an empty list would render every page
        if todo:
            qc.context.build_data_docs(
                site_names=[SITE_NAME], resource_identifiers=list(todo.values())
            )
    return {key: page_path(qc.data_root, key) for key in keys}


def _age(key: ValidationResultIdentifier) -> tuple[str, str]:
    return (str(key.run_id.run_time), key.run_id.run_name or "")


def _prune(qc: QualityContext) -> bool:
    """Keep the newest results of each partition in the site (dq_run keeps every run)."""
    store = qc.context.validation_results_store
    by_batch: dict[str, list[ValidationResultIdentifier]] = {}
    for key in store.list_keys():
        by_batch.setdefault(key.batch_identifier, []).append(key)
    pruned = False
    for batch_keys in by_batch.values():
        batch_keys.sort(key=_age, reverse=True)
        for old in batch_keys[KEEP_RESULTS_PER_PARTITION:]:
            store.remove_key(old)
            page_path(qc.data_root, old).unlink(missing_ok=True)
            pruned = True
    return pruned


def index_page(data_root: Path) -> Path:
    return data_docs_root(data_root) / "index.html"
