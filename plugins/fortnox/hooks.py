"""FortnoxHook: the Airflow face of include.fortnox (HTTP, OAuth, pacing, token store).

Connection ``fortnox_default`` (type ``fortnox``): host = API base URL
(``https://api.fortnox.se/3`` or the sandbox's ``http://127.0.0.1:PORT/3``), login = client
id, password = client secret; extra JSON: ``auth_url``, ``token_url``, ``revoke_url``,
``redirect_uri``, ``scopes``, ``token_store_url`` (default: the warehouse URL),
``pacer_dir``, ``pacer`` (``file``: one host, the default; ``database``: shared by every
host through ``pacer_url``, default the token store's database). ``FORTNOX_PACER`` and
``FORTNOX_PACER_URL`` in the environment override the two.

The hook owns an HTTP client and database engines once :meth:`FortnoxHook.get_conn` has
run: use it as a context manager (``with FortnoxHook() as hook:``) or call ``close()``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from include.fortnox.client import FortnoxClient
from include.fortnox.config import FortnoxSettings
from include.fortnox.errors import FortnoxError
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.session import FortnoxSession


class FortnoxHook(BaseHook):
    """Creates Fortnox clients for connected companies.

    Nothing is read or opened in ``__init__`` (DAG files build hooks at parse time); the
    connection, token store and pacer are set up by the first :meth:`get_conn`.
    """

    conn_name_attr = "fortnox_conn_id"
    default_conn_name = "fortnox_default"
    conn_type = "fortnox"
    hook_name = "Fortnox"

    def __init__(self, fortnox_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fortnox_conn_id = fortnox_conn_id
        self._session: FortnoxSession | None = None

    def get_settings(self) -> FortnoxSettings:
        return FortnoxSettings.from_connection(self.get_connection(self.fortnox_conn_id))

    def get_conn(self) -> FortnoxSession:
        if self._session is None:
            self._session = FortnoxSession(self.get_settings())
        return self._session

    def get_client(self, tenant_id: str | int) -> FortnoxClient:
        """A paced, retrying client for one company, with tokens from the token store."""
        return self.get_conn().client(tenant_id)

    def list_connected(self) -> list[str]:
        """Tenant ids of the companies whose connection is usable (for dynamic mapping)."""
        return [c.tenant_id for c in self.get_conn().store.list_connected()]

    def test_connection(self) -> tuple[bool, str]:
        try:
            settings = self.get_settings()
            with FortnoxOAuth(settings) as oauth:
                return oauth.check_client()
        except FortnoxError as exc:
            return False, str(exc)

    def close(self) -> None:
        """Close the session's HTTP client and engines (a later get_conn opens new ones)."""
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def __enter__(self) -> FortnoxHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {
                "host": "API base URL",
                "login": "Client ID",
                "password": "Client secret",
            },
            "placeholders": {
                "host": "https://api.fortnox.se/3 (sandbox: http://127.0.0.1:PORT/3)",
                "login": "client id of the Fortnox app",
                "password": "client secret of the Fortnox app",
                "extra": (
                    '{"auth_url": "https://apps.fortnox.se/oauth-v1/auth", '
                    '"token_url": "https://apps.fortnox.se/oauth-v1/token", '
                    '"revoke_url": "https://apps.fortnox.se/oauth-v1/revoke", '
                    '"redirect_uri": "http://127.0.0.1:8765/callback", '
                    '"scopes": "bookkeeping invoice supplierinvoice payment companyinformation '
                    'settings", "token_store_url": "sqlite:///data/warehouse.db", '
                    '"pacer": "file", "pacer_dir": "data/pacer"}'
                ),
            },
        }
