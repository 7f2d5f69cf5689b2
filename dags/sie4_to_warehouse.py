"""
### SIE 4 to warehouse

Loads SIE files into the warehouse, one mapped task per file so that one bad file does not
stop the others; each task is labelled by company and fiscal year (an inbox file by its name,
then company and year).

**Schedule**: every `fortnox_landing` asset event, *and* every 15 minutes (cron
`*/15 * * * *`, UTC) for the inbox. The UI's Schedule field shows only the asset; the
DAG's description (Details tab) says both. Sources:

1. **Fortnox landing zone**: runs when `fortnox_extract` announces an extract through the
   `fortnox_landing` asset; the event names the company, fiscal year, extract id and path.
2. **Inbox** (`data/inbox/`): SIE files a person drops there, exported from any accounting
   program; checked every 15 minutes. A loaded file moves to `processed/`; a rejected one
   to `failed/` with `<name>.errors.txt` listing every error with its line number. A file
   modified in the last `inbox_settle_seconds` (60) may still be being copied in and waits
   for the next run; temporary names (`*.part`, `*.tmp`, `~$*`, ...) are never taken.
3. **Manual run**: give `file_path` to load one file from anywhere (it is not moved), or
   set `scan_landing` to load every landed extract the warehouse lacks (catch-up after a
   paused DAG or a lost event), the ones a load rejected before included.

A run without events or `file_path` (every timer run, a manual run with the defaults) also
loads the landed extracts the warehouse lacks: an asset event Airflow held back
([apache/airflow#56050](https://github.com/apache/airflow/issues/56050)) or never sent is
caught up within 15 minutes. An extract a load rejected or refused is noted in
`data/landing/.rejected/` and left to a person (`scan_landing`), so it does not fail every
timer run.

Each load replaces one (company, fiscal year) partition in one transaction; loading the same
extract again changes nothing. An extract **older** than the partition's current one
(clearing an old run's load, an old file dropped in the inbox) is *refused*: its task is
skipped, the newer books stay, and the summary names it with how to load it anyway
(`force`: a manual run with `force` and `file_path`; an inbox file waits in `failed/`).
Every loaded partition emits a `warehouse_books` asset event.

Each load task logs one line per file (company, fiscal year, vouchers, rows, outcome); the
`summarise` task lists every file with its outcome, the rejected files with their errors
and lines, and fails the run when any file was rejected or failed. All tasks are safe to
rerun from the UI.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import (
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    TriggerRule,
    dag,
    get_current_context,
    task,
)
from pipeline.assets import FORTNOX_LANDING, WAREHOUSE_BOOKS


@dag(
    dag_id="sie4_to_warehouse",
    doc_md=__doc__,
    description="Loads SIE files into the warehouse. Schedule: on every fortnox_landing asset "
    "event, and every 15 minutes (*/15 * * * *, UTC) for the inbox folder and landed "
    "extracts not loaded yet.",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
        assets=FORTNOX_LANDING,
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["sie4", "warehouse", "load"],
    params={
        "file_path": Param(
            None, type=["null", "string"], description="Load only this SIE file (manual runs)."
        ),
        "company": Param(
            None,
            type=["null", "string"],
            description="Only landing extracts of this Fortnox tenant id (default: all).",
        ),
        "fiscal_year": Param(
            None,
            type=["null", "integer"],
            description="Only landing extracts of the fiscal year starting in this year.",
        ),
        "lenient": Param(
            False, type="boolean", description="Load files with tolerable defects, with warnings."
        ),
        "include_inbox": Param(True, type="boolean", description="Also load the inbox folder."),
        "inbox_settle_seconds": Param(
            60,
            type="integer",
            minimum=0,
            description="Leave inbox files modified less than this many seconds ago for the "
            "next run: a copy may still be in progress.",
        ),
        "force": Param(
            False,
            type="boolean",
            description="Load even an extract older than the partition's current books "
            "(they are replaced), and reload an unchanged one. Without it an older extract is "
            "refused and the newer books stay. Use with file_path for one refused file.",
        ),
        "scan_landing": Param(
            False,
            type="boolean",
            description="Load every landed extract the warehouse lacks, also those a load "
            "rejected before (a run without events or file_path loads the others anyway).",
        ),
    },
)
def sie4_to_warehouse() -> None:
    @task
    def ensure_warehouse_schema() -> str:
        # A cheap revision check every run; migrates (serialised) only when behind.
        from pipeline.warehouse import warehouse_url

        from include.warehouse.migrate import ensure_current

        return ensure_current(warehouse_url())

    @task
    def collect_files(params: dict, triggering_asset_events=None) -> list[dict]:  # type: ignore[no-untyped-def]
        from pipeline.warehouse import warehouse_url

        from include.ingest.work import collect_work, unloaded_landing_events
        from include.settings import data_dir

        events = [e.extra for e in (triggering_asset_events or {}).get(FORTNOX_LANDING, [])]
        # A run without events or a file (the timer's, a plain manual one) also catches up
        # landed extracts not loaded yet: an event Airflow held back (#56050) or never sent.
        if params["scan_landing"] or not (events or params["file_path"]):
            skip_rejected = not params["scan_landing"]  # those wait for a person
            events += unloaded_landing_events(
                data_dir(), warehouse_url(), skip_rejected=skip_rejected
            )
        return collect_work(
            data_dir(),
            file_path=params["file_path"],
            landing_events=events,
            include_inbox=params["include_inbox"],
            company=params["company"],
            fiscal_year=params["fiscal_year"],
            inbox_settle_seconds=params["inbox_settle_seconds"],
        )

    @task(outlets=[WAREHOUSE_BOOKS], map_index_template="{{ work_label }}")
    def load_file(item: dict, params: dict) -> dict:
        # One line per file; the report pushed as "report" is what summarise reads, also
        # after a failure (a try's XComs are cleared when it starts: always the latest try).
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
        from pipeline.warehouse import warehouse_url

        from include.ingest.work import failed_report, label, load_work_item
        from include.settings import data_dir

        context, data = get_current_context(), data_dir()
        ti, lenient, force = context["ti"], params["lenient"], params["force"]
        context["work_label"] = label(item)  # type: ignore[typeddict-unknown-key]
        try:
            report = load_work_item(item, data, warehouse_url(), lenient=lenient, force=force)
        except Exception as error:  # retryable trouble: named by the summary if it stays
            ti.xcom_push("report", failed_report(item, data, error).to_xcom(ti.map_index))
            raise
        context["work_label"] = report.label  # type: ignore[typeddict-unknown-key]
        ti.xcom_push("report", report.to_xcom(ti.map_index))
        print(report.line())
        if report.outcome == "rejected":  # no retry helps a bad file
            raise AirflowFailException(f"{report.line()}\n{report.reason}")
        if report.outcome == "refused":  # not a crash: the newer books stay
            raise AirflowSkipException(f"{report.line()}\n{report.reason}")
        if report.partition:  # "changed" lets consumers skip an unchanged partition
            context["outlet_events"][WAREHOUSE_BOOKS].extra = report.partition
        return {"label": report.label, "outcome": report.outcome, "partition": report.partition}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def summarise(items: list) -> str:
        # The run's leaf: it fails the run when any file failed, so a red file means a red run.
        from airflow.sdk.exceptions import AirflowFailException

        from include.ingest.work import reports_by_index
        from include.ingest.work import summarise as summary_of

        pulled = get_current_context()["ti"].xcom_pull(task_ids="load_file", key="report")
        summary = summary_of(list(items), reports_by_index(pulled, len(items)))
        print(summary.text)
        if summary.failed:
            raise AirflowFailException(summary.text)
        return summary.text

    schema = ensure_warehouse_schema()
    items = collect_files()
    loads = load_file.expand(item=items)
    schema >> items
    loads >> summarise(items)


sie4_to_warehouse()
