"""Where Airflow's own REST API is: the ``airflow_api`` connection (HTTP), when configured.

Tasks use it for what the task SDK cannot do, such as setting the running DAG run's note.
"""

from __future__ import annotations

from dataclasses import dataclass

AIRFLOW_API_CONN_ID = "airflow_api"


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    base_url: str
    username: str
    password: str


def airflow_api_credentials(conn_id: str = AIRFLOW_API_CONN_ID) -> ApiCredentials | None:
    """The API's base URL and a user, or None when the connection is not configured."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    host = conn.host or ""
    if "://" not in host:
        host = f"{conn.schema or 'http'}://{host}" + (f":{conn.port}" if conn.port else "")
    return ApiCredentials(host, conn.login or "", conn.password or "")
