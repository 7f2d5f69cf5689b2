"""Airflow plugin: the Integrations view (connect Fortnox companies, see their pipeline).

The API server mounts the view at ``/integrations``; the Airflow UI's navigation entry
"Integrations" opens it as a page of its own (a new tab). It is deliberately not embedded
(no ``url_route``): Airflow 3.3 shows embedded views in an iframe sandboxed without
``allow-top-navigation`` or ``allow-popups``, from which the person could neither go to
Fortnox's consent page (which need not allow framing) nor open Airflow's own run and
approval pages. Fortnox's consent answers at
``<api-server public URL>/integrations/fortnox/callback``.

Airflow imports this file in every process that loads plugins (the scheduler, the DAG
processor, each task), so it imports nothing heavy and touches neither network nor
database: the FastAPI app is built on the view's first request.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/integrations"
ROOT_APP_KEY = "integrations.root_app"  # scope key: the API server's app, for /api/v2 calls


class LazyApp:
    """An ASGI app that builds the view's FastAPI app when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "integrations.app:create_app (built on first request)"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from integrations.app import create_app

                    self._app = create_app()
        # The mounting app is still scope["app"] here; the view's app replaces it.
        scope[ROOT_APP_KEY] = scope.get("app")
        await self._app(scope, receive, send)


def _ui_root() -> str:
    """The API server's path prefix (``[api] base_url``'s path), ``/`` by default."""
    path = urlsplit(conf.get("api", "base_url", fallback="") or "").path
    return path if path.endswith("/") else f"{path}/"


class IntegrationsPlugin(AirflowPlugin):
    name = "integrations"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Integrations"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Integrations",
            "href": f"{_ui_root()}{URL_PREFIX.lstrip('/')}/",
            "icon": f"{_ui_root()}{URL_PREFIX.lstrip('/')}/static/plug.svg",
            "destination": "nav",
            "category": "admin",  # beside Connections in the Admin menu
        }
    ]
