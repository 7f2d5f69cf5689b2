"""The plugin: registered with Airflow, cheap to import in every process, mounted at
/integrations with a navigation entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.airflow

_PROBE = r"""
import json, socket, sys
def _no_network(*args, **kwargs):
    raise RuntimeError("network access while loading plugins")
socket.socket.connect = _no_network
from airflow import plugins_manager
before = set(sys.modules)
plugins, errors = plugins_manager._get_plugins()
ours = [p for p in plugins if p.name == "integrations"]
print(json.dumps({
    "errors": {k: v for k, v in errors.items() if "/plugins/" in k},
    "new_modules": sorted(set(sys.modules) - before),
    "new_files": sorted(
        str(getattr(sys.modules[m], "__file__", "") or "") for m in set(sys.modules) - before
    ),
    "fastapi_apps": [
        {"url_prefix": a["url_prefix"], "name": a["name"], "app": type(a["app"]).__name__}
        for p in ours for a in p.fastapi_apps
    ],
    "external_views": [v for p in ours for v in p.external_views],
}))
"""


def test_plugin_loads_cheaply_and_mounts_the_view() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env={**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins")},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    assert found["fastapi_apps"] == [
        {"url_prefix": "/integrations", "name": "Integrations", "app": "LazyApp"}
    ]
    [view] = found["external_views"]
    assert view["href"] == "/integrations/" and view["category"] == "admin"
    assert "url_route" not in view  # a page of its own, not a sandboxed iframe
    new = found["new_modules"]
    # Only the entry point ran: the app, FastAPI and the domain code wait for a request, and
    # the package's other files are not run as top-level modules (.airflowignore).
    assert "integrations_plugin" in new
    # (plugins/fortnox/hooks.py imports include.fortnox: that is the hook's, not the view's.)
    lazy = ("fastapi", "starlette", "jinja2", "include.integrations", "integrations.")
    assert [m for m in new if m.startswith(lazy)] == []
    view_files = [f for f in found["new_files"] if "/plugins/integrations/" in f]
    assert [Path(f).name for f in view_files] == ["integrations_plugin.py"]
