"""Airflow's public REST API, called in-process on behalf of the person.

The view triggers and reads DAG runs through ``/api/v2`` of the API server it is mounted
on, with the person's own token, so Airflow applies their permissions and its own checks
(params against the DAG's schema, a DAG that is not loaded). The call goes straight to the
API server's ASGI app, not over the network: no address to configure, nothing to leave
the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

ACTIVE_STATES = ("queued", "running")


class AirflowApiError(Exception):
    """Airflow refused or failed a call; the message is for the person."""


@dataclass(frozen=True, slots=True)
class Run:
    dag_id: str
    run_id: str
    state: str
    conf: dict[str, Any]
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def company(self) -> str | None:
        value = self.conf.get("company")
        return None if value is None else str(value)

    @property
    def fiscal_year(self) -> int | None:
        value = self.conf.get("fiscal_year")
        return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


@dataclass(frozen=True, slots=True)
class PendingAction:
    """A HITL task waiting for a person (the closing's approval)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    subject: str


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _run(data: dict[str, Any]) -> Run:
    return Run(
        dag_id=str(data["dag_id"]),
        run_id=str(data["dag_run_id"]),
        state=str(data.get("state") or ""),
        conf=dict(data.get("conf") or {}),
        run_after=_datetime(data.get("run_after")),
        start_date=_datetime(data.get("start_date")),
        end_date=_datetime(data.get("end_date")),
    )


class AirflowApi:
    """``/api/v2`` of ``root_app`` as the holder of ``token``."""

    def __init__(self, root_app: Any, token: str) -> None:
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=root_app),
            base_url="http://airflow.internal",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=60.0,
        )

    def __repr__(self) -> str:
        return "AirflowApi(<token hidden>)"

    async def __aenter__(self) -> AirflowApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._client.request(method, f"/api/v2{path}", **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(_plain_error(response, path))
        return response.json()

    async def dag(self, dag_id: str) -> dict[str, Any] | None:
        """The DAG (``is_paused`` ...), None when Airflow has not loaded it."""
        try:
            result: dict[str, Any] = await self._call("GET", f"/dags/{quote(dag_id)}")
        except AirflowApiError:
            return None
        return result

    async def recent_runs(self, dag_id: str, limit: int = 100) -> list[Run]:
        """The DAG's newest runs, newest first ([] when the DAG is not loaded)."""
        try:
            data = await self._call(
                "GET",
                f"/dags/{quote(dag_id)}/dagRuns",
                params={"order_by": "-run_after", "limit": limit},
            )
        except AirflowApiError:
            return []
        return [_run(r) for r in data.get("dag_runs", [])]

    async def trigger(self, dag_id: str, conf: dict[str, Any], note: str) -> Run:
        data = await self._call(
            "POST",
            f"/dags/{quote(dag_id)}/dagRuns",
            json={"logical_date": None, "conf": conf, "note": note},
        )
        return _run(data)

    async def pending_actions(self, dag_id: str, run_id: str) -> list[PendingAction]:
        """The run's HITL tasks still waiting for a response."""
        try:
            data = await self._call(
                "GET",
                f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/hitlDetails",
                params={"response_received": "false"},
            )
        except AirflowApiError:
            return []
        actions = []
        for item in data.get("hitl_details", []):
            ti = item.get("task_instance") or {}
            actions.append(
                PendingAction(
                    dag_id=dag_id,
                    run_id=run_id,
                    task_id=str(ti.get("task_id", "")),
                    map_index=int(ti.get("map_index", -1)),
                    subject=str(item.get("subject", "")),
                )
            )
        return actions


def _plain_error(response: httpx.Response, path: str) -> str:
    status = response.status_code
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # validation errors
        detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    if status in (401, 403):
        return "Airflow does not allow you to do this (your role lacks the permission)."
    if status == 404:
        return "Airflow does not know this DAG yet: it may still be loading; try again shortly."
    return f"Airflow refused the request ({status}{f': {detail}' if detail else ''})."


def run_url(ui_root: str, dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow UI."""
    return f"{ui_root}dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"


def action_url(ui_root: str, action: PendingAction) -> str:
    """The Airflow UI's "required actions" page of a waiting HITL task."""
    base = f"{run_url(ui_root, action.dag_id, action.run_id)}/tasks/{quote(action.task_id)}"
    if action.map_index >= 0:
        base = f"{base}/mapped/{action.map_index}"
    return f"{base}/required_actions"
