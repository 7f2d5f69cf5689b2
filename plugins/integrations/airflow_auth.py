"""Who is asking, and what they may do: Airflow's own login and auth manager.

Plugin endpoints are not protected by Airflow unless they protect themselves. Every request
of the view is authenticated as Airflow's API authenticates it (the JWT of the UI login in
the ``_token`` cookie, or an ``Authorization: Bearer`` token) and authorised by the
configured auth manager:

| action | permission |
|---|---|
| see the list | use the Airflow UI (the ``WEBSITE`` view): every logged-in user |
| Connect Fortnox (and its callback) | create connections (``POST`` on ``fortnox_default``) |
| Disconnect | delete connections (``DELETE`` on ``fortnox_default``) |
| Fetch SIE4 data | trigger runs of ``fortnox_extract`` (``POST`` on its DAG runs) |
| Export vouchers | trigger runs of ``closing``; opening the approval needs its HITL details |

The list shows no token or secret, only connection metadata, so reading it needs only a
login. With the simple auth manager: viewers see the list; users also fetch and export; ops
and admins also connect and disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fastapi import Request

FORTNOX_CONN_ID = "fortnox_default"
EXTRACT_DAG_ID = "fortnox_extract"
CLOSING_DAG_ID = "closing"
TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN


@dataclass(frozen=True)
class Person:
    """A logged-in Airflow user and what the view lets them do."""

    user: Any = field(repr=False)
    user_id: str
    name: str
    token: str = field(repr=False)  # their own JWT, for Airflow's REST API on their behalf
    can_view: bool
    can_connect: bool
    can_disconnect: bool
    can_fetch: bool
    can_close: bool


def request_token(request: Request) -> str | None:
    """The caller's Airflow JWT: an explicit bearer token wins over the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


async def authenticate(request: Request) -> Person | None:
    """The logged-in person, or None (no token, expired, invalid or revoked)."""
    from airflow.api_fastapi.app import get_auth_manager
    from jwt import InvalidTokenError  # ExpiredSignatureError is one

    token = request_token(request)
    if not token:
        return None
    manager = get_auth_manager()
    try:
        user = await manager.get_user_from_token(token)
    except InvalidTokenError:
        return None
    return _person(manager, user, token)


def _person(manager: Any, user: Any, token: str) -> Person:
    from airflow.api_fastapi.auth.managers.models.resource_details import (
        AccessView,
        ConnectionDetails,
        DagAccessEntity,
        DagDetails,
    )

    def connection(method: str) -> bool:
        details = ConnectionDetails(conn_id=FORTNOX_CONN_ID)
        return bool(manager.is_authorized_connection(method=method, user=user, details=details))

    def dag_runs(dag_id: str) -> bool:
        return bool(
            manager.is_authorized_dag(
                method="POST",
                user=user,
                access_entity=DagAccessEntity.RUN,
                details=DagDetails(id=dag_id),
            )
        )

    return Person(
        user=user,
        user_id=str(user.get_id()),
        name=str(user.get_name()),
        token=token,
        can_view=bool(manager.is_authorized_view(access_view=AccessView.WEBSITE, user=user)),
        can_connect=connection("POST"),
        can_disconnect=connection("DELETE"),
        can_fetch=dag_runs(EXTRACT_DAG_ID),
        can_close=dag_runs(CLOSING_DAG_ID),
    )


def login_url(next_url: str) -> str:
    """Airflow's login page, coming back to ``next_url`` afterwards."""
    from airflow.api_fastapi.app import get_auth_manager

    return str(get_auth_manager().get_url_login(next_url=next_url))


@cache
def signing_secret() -> str:
    """The server secret CSRF tokens and signed cookies derive their keys from (never shown).

    Airflow's own JWT signing secret, read the way Airflow reads it (a generated one is kept
    for the process, as Airflow keeps it), which every API server worker must share already
    or a login would not work across them. With asymmetric JWT keys: ``[api] secret_key``.
    """
    from airflow.configuration import conf

    if not conf.get("api_auth", "jwt_private_key_path", fallback=""):
        from airflow.api_fastapi.auth.tokens import get_signing_key

        return str(get_signing_key("api_auth", "jwt_secret"))
    secret = conf.get("api", "secret_key", fallback="")
    if not secret:
        raise RuntimeError("[api] secret_key is not set")
    return str(secret)
