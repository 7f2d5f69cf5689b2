"""
### Fortnox extract

Fetches each connected company's books from Fortnox into the landing zone, one mapped task
group per company, so that one company's failure does not stop the others. Each mapped task
is labelled by company name and fiscal year (`Bergström Bygg AB 2025-01-01`; the name from
the token store until Fortnox has answered, the tenant id only for a company without one).

Per company: the fiscal year (param `fiscal_year`, default the latest year that has ended),
the SIE 4 file of that year, customer invoices, supplier invoices and their payments. The
year-end open receivables and payables are rebuilt from invoices and payments dated up to
the year's last day (Fortnox's `filter=unpaid` is today's state, not the year end's).

Everything lands exactly as received under
`data/landing/<company>/<fiscal-year>/<extract-id>/` with a manifest (sha256, sizes,
request parameters, fetch time). Each company's published extract emits a `fortnox_landing`
asset event (company, fiscal year, extract id, path) that starts `sie4_to_warehouse`; an
extract whose SIE bytes equal the previous one is recorded but triggers no reload.

Each step is safe to rerun from the UI: rerunning a failed company's task fetches only that
company's step again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task, task_group
from pipeline.assets import FORTNOX_LANDING


@dag(
    dag_id="fortnox_extract",
    doc_md=__doc__,
    description="Fetches every connected company's SIE 4 and subledgers from Fortnox into the "
    "landing zone. Schedule: daily at 03:00 UTC.",
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
    },
    tags=["fortnox", "extract", "landing"],
    params={
        "company": Param(
            None,
            type=["null", "string"],
            description="Fortnox tenant id of one company (default: every connected company).",
        ),
        "fiscal_year": Param(
            None,
            type=["null", "integer"],
            description="The year the fiscal year starts in (default: the latest ended year).",
        ),
    },
)
def fortnox_extract() -> None:
    @task
    def list_companies(params: dict) -> list[str]:
        from fortnox.hooks import FortnoxHook

        with FortnoxHook() as hook:
            companies = hook.list_connected()
        if params["company"]:
            companies = [c for c in companies if c == params["company"]]
        print(f"{len(companies)} connected compan{'y' if len(companies) == 1 else 'ies'}")
        return companies

    @task_group(group_id="company")
    def extract_company(company: str) -> None:
        @task(map_index_template="{{ company_label }}")
        def resolve_fiscal_year(company: str, params: dict, run_id: str) -> dict:
            from fortnox.hooks import FortnoxHook
            from include.ingest.extract import (
                company_label,
                resolve_fiscal_year,
                selection_label,
                staging_dir,
                stored_company_name,
            )
            from include.settings import data_dir

            context, year = get_current_context(), params["fiscal_year"]
            with FortnoxHook() as hook:
                name = stored_company_name(hook.get_conn().store, company)
                context["company_label"] = company_label(name, year, company)  # type: ignore[typeddict-unknown-key]
                with hook.get_client(company) as client:
                    stage = staging_dir(data_dir(), run_id, company)
                    selection = resolve_fiscal_year(client, stage, year)
            context["company_label"] = selection_label(selection, company)  # type: ignore[typeddict-unknown-key]
            return selection

        @task(map_index_template="{{ company_label }}")
        def fetch_sie(company: str, selection: dict, run_id: str) -> dict:
            from fortnox.hooks import FortnoxHook
            from include.ingest.extract import fetch_sie, selection_label, staging_dir
            from include.settings import data_dir

            label = selection_label(selection, company)
            get_current_context()["company_label"] = label  # type: ignore[typeddict-unknown-key]
            with FortnoxHook() as hook, hook.get_client(company) as client:
                return fetch_sie(client, staging_dir(data_dir(), run_id, company), selection)

        @task(map_index_template="{{ company_label }}")
        def fetch_subledgers(company: str, selection: dict, run_id: str) -> dict:
            from fortnox.hooks import FortnoxHook
            from include.ingest.extract import fetch_subledgers, selection_label, staging_dir
            from include.settings import data_dir

            label = selection_label(selection, company)
            get_current_context()["company_label"] = label  # type: ignore[typeddict-unknown-key]
            with FortnoxHook() as hook, hook.get_client(company) as client:
                stage = staging_dir(data_dir(), run_id, company)
                return fetch_subledgers(client, stage, selection)

        @task(outlets=[FORTNOX_LANDING], map_index_template="{{ company_label }}")
        def publish_extract(company: str, selection: dict, run_id: str) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from include.ingest.extract import publish, selection_label, staging_dir
            from include.settings import data_dir

            context = get_current_context()
            context["company_label"] = selection_label(selection, company)  # type: ignore[typeddict-unknown-key]
            stage = staging_dir(data_dir(), run_id, company)
            result = publish(stage, data_dir(), company, run_id)
            if not result.changed:  # recorded, but nothing new to load
                raise AirflowSkipException(f"{result.extract_id}: SIE unchanged, no reload")
            context["outlet_events"][FORTNOX_LANDING].extra = result.event.to_extra()
            return result.event.to_extra()

        selection = resolve_fiscal_year(company)
        sie = fetch_sie(company, selection)
        subledgers = fetch_subledgers(company, selection)
        [sie, subledgers] >> publish_extract(company, selection)

    extract_company.expand(company=list_companies())


fortnox_extract()
