"""
### Voucher export

Sends approved year-end closings to Fortnox, exactly once. Runs when the `closing` DAG
records an approval (the `closing_approved` asset; its events carry company, fiscal year and
approval id), one mapped task per approval, labelled by company name and fiscal year. A
manual run exports the approval given in `approval_id`, or else the latest decision of
`company` (org number) and `fiscal_year` when it is an approval.

Per approval (`include.closing.export`): refuses a rejection and an approval whose voucher
set no longer has its checksum; gives every voucher an outbox row with an idempotency key
written into the Fortnox voucher's `Comments`; sends each voucher, uploads its attachment to
the Fortnox inbox and connects it to the voucher; looks any step with an unknown outcome
(timeout, dropped connection, 5xx, a killed worker) up in Fortnox before it is ever done
again; then reads every voucher back and checks accounts, amounts and the connected file.
The task log shows a line per voucher and step, then the report.

Safe to rerun from the UI: vouchers already sent and verified are not sent again, so
clearing a finished export sends nothing. Fortnox refusals (4xx) fail the voucher without
retry: fix the cause, then run again with `retry_failed`. Transient trouble (5xx, timeouts,
rate limit) fails the task for Airflow to retry; the retry resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task
from pipeline.assets import CLOSING_APPROVED


@dag(
    dag_id="voucher_export",
    doc_md=__doc__,
    description="Sends approved year-end closings to Fortnox, exactly once. Schedule: on every "
    "closing_approved asset event.",
    schedule=[CLOSING_APPROVED],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
    },
    tags=["closing", "fortnox", "export"],
    params={
        "approval_id": Param(
            None, type=["null", "string"], description="Export this approval (manual runs)."
        ),
        "company": Param(
            None,
            type=["null", "string"],
            description="Org number: export the latest approval of this company (manual runs).",
        ),
        "fiscal_year": Param(
            None,
            type=["null", "integer"],
            description="With company: the year the fiscal year starts in.",
        ),
        "retry_failed": Param(
            False,
            type="boolean",
            description="Send vouchers and attachments Fortnox refused earlier again.",
        ),
    },
)
def voucher_export() -> None:
    @task
    def ensure_warehouse_schema() -> str:
        from pipeline.warehouse import warehouse_url

        from include.warehouse.migrate import ensure_current

        return ensure_current(warehouse_url())  # a cheap check; migrates only when behind

    @task
    def list_approvals(params: dict, triggering_asset_events=None) -> list[str]:  # type: ignore[no-untyped-def]
        from pipeline.warehouse import warehouse_url

        from include.closing.export_dag import approvals_to_export

        events = [e.extra for e in (triggering_asset_events or {}).get(CLOSING_APPROVED, [])]
        approvals = approvals_to_export(
            warehouse_url(),
            events,
            approval_id=params["approval_id"],
            company=params["company"],
            fiscal_year=params["fiscal_year"],
        )
        print(f"{len(approvals)} approval(s) to export: {', '.join(approvals) or 'none'}")
        return approvals

    @task(map_index_template="{{ approval_label }}")
    def export(approval_id: str, params: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from fortnox.hooks import FortnoxHook
        from include.closing.export_dag import approval_label, final_failure, run_export_task

        label = approval_label(warehouse_url(), approval_id)  # company and fiscal year
        get_current_context()["approval_label"] = label  # type: ignore[typeddict-unknown-key]
        hook = FortnoxHook()
        try:
            session = hook.get_conn()
            return run_export_task(
                warehouse_url(), approval_id, session, retry_failed=params["retry_failed"]
            )
        except Exception as exc:
            if final_failure(exc):  # a refusal or a mismatch: a retry cannot fix it
                raise AirflowFailException(str(exc)) from exc
            raise
        finally:
            hook.close()

    approvals = list_approvals()
    ensure_warehouse_schema() >> approvals
    export.expand(approval_id=approvals)


voucher_export()
