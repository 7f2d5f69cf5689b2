"""Set a DAG run's note through Airflow's public REST API.

Airflow 3's task SDK cannot change the running DAG run's note (its execution API only sets a
note on a run it triggers), and tasks have no metadata-database access. The supported way is
the public REST API: ``POST /auth/token`` for a bearer token, then
``PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}?update_mask=note``. The DAG reads the API's
address and a user from the Airflow connection ``airflow_api`` (HTTP: host, login, password).
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

MAX_NOTE = 1000  # the API refuses longer notes


def fit_note(note: str) -> str:
    """The note cut to what the API accepts, saying so."""
    if len(note) <= MAX_NOTE:
        return note
    tail = "\n… (cut; the task logs and dq_result have it all)"
    return note[: MAX_NOTE - len(tail)].rstrip() + tail


def set_dag_run_note(
    base_url: str,
    username: str,
    password: str,
    dag_id: str,
    run_id: str,
    note: str,
    *,
    timeout: float = 10.0,
) -> None:
    """Replace the note of one DAG run; raises httpx.HTTPError when the API refuses."""
    with httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout) as client:
        token = client.post("/auth/token", json={"username": username, "password": password})
        token.raise_for_status()
        response = client.patch(
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": fit_note(note)},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        response.raise_for_status()
