"""
### Year-end closing: adjustments and proposals, validated, approved by a person

Params: `company` (org number NNNNNN-NNNN or company key) and `fiscal_year` (its start date,
YYYY-MM-DD). Trigger it when the accountants' adjustments are imported
(`python -m include.closing import ...`) and the proposals decided
(`python -m include.closing propose ... --accept ...`).

1. **check_quality_gate** refuses while the partition's latest quality run blocks (an error
   check failed, or the books were reloaded since they were checked).
2. **build_voucher_set** computes the proposals again on the current books (decisions kept),
   builds the voucher set (adjustments and accepted proposals, with their attachments) and
   validates it against Fortnox: balance, accounts existing and active, a manual voucher
   series, dates in the year and after the locked period. Every problem names its voucher
   and row, and the run stops there.
3. **approve_closing** waits for an approver (closing configuration, `approvers`): in the UI
   under *Required actions* (or the task's *Required action* tab) they read every voucher with
   its rows, totals and attachments, and the set's checksum, then choose Approve or Reject
   with a comment.
4. **record_approval** records who approved, when, and the checksum of the exact set shown
   (refused if the set, the books or their quality changed while waiting), and emits the
   `closing_approved` asset event that starts `voucher_export`. On Reject it is skipped and
   **record_rejection** records the rejection with its comment; nothing is exported.
5. **report** ends the run: green when a decision was recorded, red when anything refused.

Every task is safe to rerun: a run records one decision, and recording it again finds it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from pipeline.assets import CLOSING_APPROVED
from pipeline.closing import ClosingApprovalOperator


@dag(
    dag_id="closing",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=4,
    default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["closing", "approval", "fortnox"],
    params={
        "company": Param(
            type="string", minLength=1, description="Org number (NNNNNN-NNNN) or company key."
        ),
        "fiscal_year": Param(
            type="string",
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="The fiscal year's start date, YYYY-MM-DD.",
        ),
    },
)
def closing() -> None:
    @task
    def check_quality_gate(params: dict) -> str:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from include.closing.workflow import ClosingRefused, check_gate

        try:
            partition, gate = check_gate(warehouse_url(), params["company"], params["fiscal_year"])
        except (ClosingRefused, LookupError) as refused:
            raise AirflowFailException(str(refused)) from refused
        print(f"{partition.label}: {gate.reason}")
        return gate.reason

    @task
    def build_voucher_set(params: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from fortnox.hooks import FortnoxHook
        from include.closing.config import ConfigError
        from include.closing.workflow import ClosingRefused, prepare_closing

        hook = FortnoxHook()
        try:
            prepared = prepare_closing(
                warehouse_url(),
                params["company"],
                params["fiscal_year"],
                client_for=hook.get_client,
            )
        except (ClosingRefused, ConfigError, LookupError) as refused:
            raise AirflowFailException(str(refused)) from refused
        finally:
            hook.close()
        print(prepared.summary)
        return prepared.to_dict()

    approval = ClosingApprovalOperator(
        task_id="approve_closing",
        prepared_task_id="build_voucher_set",
        params={
            "comment": Param(
                "", type="string", description="Why (kept with the approval or rejection)."
            )
        },
    )

    @task(outlets=[CLOSING_APPROVED])
    def record_approval(run_id: str) -> dict:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from include.closing.approval import ApprovalError, approval_event_extra
        from include.closing.workflow import ClosingRefused, record_hitl_decision

        context = get_current_context()
        try:
            approved = record_hitl_decision(warehouse_url(), context["ti"], run_id, approved=True)
        except (ClosingRefused, ApprovalError) as refused:
            raise AirflowFailException(str(refused)) from refused
        extra = approval_event_extra(warehouse_url(), approved)
        context["outlet_events"][CLOSING_APPROVED].extra = extra
        print(f"Approved by {approved.decided_by}: approval {approved.approval_id}")
        return extra

    @task(trigger_rule=TriggerRule.ALL_SKIPPED)
    def record_rejection(run_id: str) -> str:
        from airflow.sdk.exceptions import AirflowFailException
        from pipeline.warehouse import warehouse_url

        from include.closing.workflow import ClosingRefused, record_hitl_decision

        ti = get_current_context()["ti"]
        try:
            rejected = record_hitl_decision(warehouse_url(), ti, run_id, approved=False)
        except ClosingRefused as refused:
            raise AirflowFailException(str(refused)) from refused
        print(f"Rejected by {rejected.decided_by}: {rejected.comment or '(no comment)'}")
        return rejected.approval_id

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(approved: dict | None, rejected: str | None) -> str:
        # The run's leaf: red unless a decision was recorded (a refusal anywhere shows here too).
        from airflow.sdk.exceptions import AirflowFailException

        if approved:
            return f"Approved: approval {approved['approval_id']}; voucher_export sends it"
        if rejected:
            return f"Rejected: {rejected}; nothing is exported"
        raise AirflowFailException("No decision was recorded: see the failed task above")

    gate = check_quality_gate()
    prepared = build_voucher_set()
    recorded = record_approval()
    rejected = record_rejection()
    gate >> prepared >> approval >> recorded >> rejected
    report(recorded, rejected)


closing()
