"""
### Data quality

Checks the books of each (company, fiscal year) partition with Great Expectations before
anyone closes them: every voucher balances, opening balance + movements = closing balance,
the `#RES` results match, the balance sheet balances, dates lie in the year, accounts are in
the chart, voucher numbers are unique (gaps are a warning), the customer and supplier
subledgers reconcile with their control accounts, and the file's `#KSUMMA` and the extract's
age (warnings). The checks run as SQL in the warehouse; see `docs/quality.md`.

Runs when `sie4_to_warehouse` replaces partitions (the `warehouse_books` asset), one mapped
task per partition, labelled by company name and fiscal year start; by hand with `company`
(org number, company key or Fortnox tenant id) and `fiscal_year` (start date or year), or
neither for every partition.

- A partition with a failed **error** check fails its task, which names the checks and the
  offending vouchers or accounts in its log; warnings do not fail it. The closing refuses a
  partition whose latest run failed, or that was reloaded after it.
- Results go to `dq_run`, `dq_result` and `dq_failing_row`; the last task renders the Data
  Docs (`data/quality/data_docs/index.html`) and writes the run's note listing the failed
  checks (through the REST API, when the `airflow_api` connection is set).
- Rerunning is safe: every run of the checks is recorded as a new run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from pipeline.assets import WAREHOUSE_BOOKS


@dag(
    dag_id="data_quality",
    doc_md=__doc__,
    description="Great Expectations checks of each loaded (company, fiscal year). Schedule: on "
    "every warehouse_books asset event.",
    schedule=[WAREHOUSE_BOOKS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["quality", "warehouse", "great-expectations"],
    params={
        "company": Param(
            None,
            type=["null", "string"],
            description="Only this company: org number, company key or Fortnox tenant id.",
        ),
        "fiscal_year": Param(
            None,
            type=["null", "string", "integer"],
            description="Only this fiscal year: its start date (YYYY-MM-DD) or start year.",
        ),
        "max_extract_age_days": Param(
            7,
            type="number",
            minimum=0,
            description="extract_freshness warns when the books were extracted longer ago.",
        ),
    },
)
def data_quality() -> None:
    @task
    def ensure_warehouse_schema() -> str:
        from pipeline.warehouse import warehouse_url

        from include.warehouse.migrate import ensure_current

        return ensure_current(warehouse_url())  # a cheap check; migrates only when behind

    @task
    def collect_partitions(params: dict, triggering_asset_events=None) -> list[dict]:  # type: ignore[no-untyped-def]
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from include.quality.partitions import PartitionNotFound
        from include.quality.pipeline import partitions_to_check

        events = [e.extra for e in (triggering_asset_events or {}).get(WAREHOUSE_BOOKS, [])]
        try:
            return partitions_to_check(
                warehouse_url(),
                events,
                company=params["company"],
                fiscal_year=params["fiscal_year"],
            )
        except (PartitionNotFound, ValueError) as unknown:  # a wrong param: no retry helps
            raise AirflowFailException(str(unknown)) from unknown

    @task(map_index_template="{{ quality_label }}")
    def check_partition(partition: dict, params: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from include.quality.pipeline import QualityFailed, airflow_trigger, check_one
        from include.settings import data_dir

        context = get_current_context()
        context["quality_label"] = partition["label"]  # type: ignore[typeddict-unknown-key]
        try:
            return check_one(
                warehouse_url(),
                data_dir(),
                partition,
                max_extract_age_days=params["max_extract_age_days"],
                triggered_by=airflow_trigger(context["dag"].dag_id, context["run_id"]),
            )
        except QualityFailed as failed:
            raise AirflowFailException(str(failed)) from failed  # checks fail the same on retry

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def summarise(partitions: list) -> str:
        # The run's leaf: Data Docs, the note, and a red run when any partition failed.
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.airflow_api import airflow_api_credentials
        from pipeline.warehouse import warehouse_url

        from include.quality.pipeline import airflow_trigger, finish, post_note
        from include.settings import data_dir

        context = get_current_context()
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        done = finish(warehouse_url(), data_dir(), airflow_trigger(dag_id, run_id), len(partitions))
        print(done.note)
        print(f"Data Docs: {done.data_docs}")
        print(post_note(airflow_api_credentials(), dag_id, run_id, done.note))
        if done.failed or done.runs < len(partitions):
            raise AirflowFailException(done.note)
        return done.note

    schema = ensure_warehouse_schema()
    partitions = collect_partitions()
    checks = check_partition.expand(partition=partitions)
    schema >> partitions
    checks >> summarise(partitions)


data_quality()
