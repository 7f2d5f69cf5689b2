"""The closing's approval task: Airflow's ApprovalOperator showing what was prepared.

The summary, the subject and the approvers are known only once the voucher set is built
(the approvers come from the closing configuration of that company), so this operator reads
them from the preparing task's XCom when it runs, then waits for a person like any
ApprovalOperator: in the UI's "Required actions", or through the HITL REST API.

The answer (choice, comment, who, when) is also pushed as the XCom ``answer``: on Reject the
ApprovalOperator skips its downstream tasks, and with them its own return value, but the
rejection must still be recorded.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator


class ClosingApprovalOperator(ApprovalOperator):
    """Shows ``prepared_task_id``'s subject and summary to its approvers and waits."""

    def __init__(self, *, prepared_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Approve the year-end closing")
        super().__init__(**kwargs)
        self.prepared_task_id = prepared_task_id

    def execute(self, context: Any) -> Any:
        prepared = context["ti"].xcom_pull(task_ids=self.prepared_task_id)
        self.subject = prepared["subject"]
        self.body = prepared["summary"]
        approvers = prepared["approvers"]
        self.assigned_users = [{"id": a, "name": a} for a in approvers] or None
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            responded_at = event.get("responded_at")
            answer = {
                "chosen_options": list(event.get("chosen_options") or []),
                "params_input": dict(event.get("params_input") or {}),
                "responded_by_user": dict(event.get("responded_by_user") or {}),
                "responded_at": responded_at.isoformat() if responded_at else None,
            }
            context["ti"].xcom_push(key="answer", value=answer)
        return super().execute_complete(context, event)
