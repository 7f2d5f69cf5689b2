"""Where the warehouse is: the ``warehouse_default`` connection (a SQLAlchemy URL)."""

from __future__ import annotations

from include.settings import default_warehouse_url

WAREHOUSE_CONN_ID = "warehouse_default"


def warehouse_url(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The connection's ``extra.sqlalchemy_url`` (or its URI); the embedded default if absent."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return default_warehouse_url()
    url = conn.extra_dejson.get("sqlalchemy_url")
    if url:
        return str(url)
    if conn.host and "://" in conn.host:
        return str(conn.host)
    return default_warehouse_url()
