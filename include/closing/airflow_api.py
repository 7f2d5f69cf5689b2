"""Answering the closing's approval task through Airflow's REST API (no Airflow imports).

    token = airflow_token("http://127.0.0.1:8080", "admin", password)
    detail = wait_for_approval_task("http://127.0.0.1:8080", token, run_id, timeout=300)
    answer_approval("http://127.0.0.1:8080", token, run_id, approve=True, comment="OK")

The same requests the UI makes: ``POST /auth/token`` (simple auth manager) for a bearer
token, ``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/hitlDetails`` to find the waiting task and
``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails``
with ``{"chosen_options": ["Approve"], "params_input": {"comment": ...}}`` to answer it. Airflow
records the responding user (the token's), so the approval names who approved.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

CLOSING_DAG_ID = "closing"
APPROVAL_TASK_ID = "approve_closing"
APPROVE, REJECT = "Approve", "Reject"


class AirflowApiError(RuntimeError):
    pass


def _check(response: httpx.Response, what: str) -> Any:
    if response.is_success:
        return response.json()
    detail = response.text[:500]
    raise AirflowApiError(f"{what}: HTTP {response.status_code}: {detail}")


def airflow_token(base_url: str, username: str, password: str, *, timeout: float = 30) -> str:
    """A bearer token for the API (simple auth manager: ``POST /auth/token``)."""
    response = httpx.post(
        f"{base_url.rstrip('/')}/auth/token",
        json={"username": username, "password": password},
        timeout=timeout,
    )
    token = _check(response, "POST /auth/token").get("access_token")
    if not token:
        raise AirflowApiError("POST /auth/token: no access_token in the answer")
    return str(token)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def approval_task(
    base_url: str,
    token: str,
    run_id: str,
    *,
    dag_id: str = CLOSING_DAG_ID,
    task_id: str = APPROVAL_TASK_ID,
    map_index: int = -1,
) -> dict[str, Any] | None:
    """The approval task's HITL detail (subject, body, options, response), None if not yet."""
    url = (
        f"{base_url.rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        f"/taskInstances/{task_id}/{map_index}/hitlDetails"
    )
    response = httpx.get(url, headers=_headers(token), timeout=30)
    if response.status_code == 404:
        return None
    detail: dict[str, Any] = _check(response, f"GET {url}")
    return detail


def waiting_approvals(
    base_url: str,
    token: str,
    *,
    dag_id: str = CLOSING_DAG_ID,
    task_id: str = APPROVAL_TASK_ID,
    subject_contains: str | None = None,
) -> list[dict[str, Any]]:
    """The approval tasks of every run of ``dag_id`` still waiting for an answer."""
    url = f"{base_url.rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails"
    params = {"response_received": "false", "task_id": task_id, "limit": "100"}
    data = _check(httpx.get(url, params=params, headers=_headers(token), timeout=30), f"GET {url}")
    details: list[dict[str, Any]] = list(data.get("hitl_details") or [])
    if subject_contains:
        details = [d for d in details if subject_contains in str(d.get("subject", ""))]
    return details


def wait_for_approval_task(
    base_url: str,
    token: str,
    run_id: str | None = None,
    *,
    dag_id: str = CLOSING_DAG_ID,
    task_id: str = APPROVAL_TASK_ID,
    subject_contains: str | None = None,
    timeout: float = 600,
    poll: float = 1.0,
    settle: float = 3.0,
) -> dict[str, Any]:
    """Poll until the approval task waits for its answer; its HITL detail. Without
    ``run_id``: the one waiting approval whose subject contains ``subject_contains``.

    Not as soon as the detail exists: the task writes it before it defers, and an answer
    in that moment fails the attempt (the executor sees the state change under it) and
    the retry asks again. The detail is returned once its task has been `awaiting_input`
    in the same try for ``settle`` seconds."""
    deadline = time.monotonic() + timeout

    def find() -> dict[str, Any] | None:
        if run_id is not None:
            return approval_task(base_url, token, run_id, dag_id=dag_id, task_id=task_id)
        waiting = waiting_approvals(
            base_url, token, dag_id=dag_id, task_id=task_id, subject_contains=subject_contains
        )
        if len(waiting) > 1:
            runs = ", ".join(str(d["task_instance"]["dag_run_id"]) for d in waiting)
            raise AirflowApiError(f"{len(waiting)} approvals are waiting ({runs}): name the run")
        return waiting[0] if waiting else None

    while True:
        detail = find()
        if detail is not None and _awaiting(detail):
            time.sleep(settle)
            again = find()
            if again is not None and _awaiting(again) and _try(again) == _try(detail):
                return again
        if time.monotonic() > deadline:
            raise AirflowApiError(
                f"no approval task waiting in {dag_id} run {run_id} after {timeout} s"
            )
        time.sleep(poll)


def _awaiting(detail: dict[str, Any]) -> bool:
    return (detail.get("task_instance") or {}).get("state") == "awaiting_input" and not detail.get(
        "response_received"
    )


def _try(detail: dict[str, Any]) -> int:
    return int((detail.get("task_instance") or {}).get("try_number") or 0)


def answer_approval(
    base_url: str,
    token: str,
    run_id: str,
    *,
    approve: bool,
    comment: str = "",
    dag_id: str = CLOSING_DAG_ID,
    task_id: str = APPROVAL_TASK_ID,
    map_index: int = -1,
) -> dict[str, Any]:
    """Approve or reject; Airflow's answer (``responded_by``, ``chosen_options``, ...)."""
    url = (
        f"{base_url.rstrip('/')}/api/v2/dags/{dag_id}/dagRuns/{run_id}"
        f"/taskInstances/{task_id}/{map_index}/hitlDetails"
    )
    body = {
        "chosen_options": [APPROVE if approve else REJECT],
        "params_input": {"comment": comment},
    }
    response = httpx.patch(url, json=body, headers=_headers(token), timeout=30)
    answer: dict[str, Any] = _check(response, f"PATCH {url}")
    return answer
