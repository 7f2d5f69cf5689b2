"""Fixtures of the browser test: Chromium (skipped when absent, except under CI), the whole
stack (Airflow standalone and the Fortnox sandbox), and a browser."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser_testkit import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    Stack,
    free_port,
    missing,
    start_airflow,
    stop_airflow,
)
from cryptography.fernet import Fernet


@pytest.fixture(scope="session")
def chromium() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright package is not installed (make venv installs it)")
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from include.fortnox_sandbox import SandboxConfig, SandboxServer

    home = tmp_path_factory.mktemp("airflow-home")
    data = home / "data"
    fernet_key = Fernet.generate_key().decode()
    client_secret = secrets.token_urlsafe(24)
    warehouse_url = f"sqlite:///{data / 'warehouse.db'}"
    port = free_port()  # the API server's: the sandbox must know the callback beforehand
    callback = f"http://127.0.0.1:{port}/integrations/fortnox/callback"
    config = SandboxConfig(
        client_secret=client_secret,
        companies=2,
        seed=11,
        vouchers_per_year=60,
        redirect_uri=callback,
    )
    with SandboxServer(config) as sandbox:
        connection = {
            "conn_type": "fortnox",
            "host": f"{sandbox.base_url}/3",
            "login": config.client_id,
            "password": client_secret,
            "extra": {"redirect_uri": callback},
        }
        extra_env = {
            "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(connection),
            "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps(
                {"conn_type": "generic", "extra": {"sqlalchemy_url": warehouse_url}}
            ),
            "WAREHOUSE_URL": warehouse_url,
            "FORTNOX_TOKEN_KEY": fernet_key,
            "FORTNOX_PACER_DIR": str(data / "pacer"),
            "PROJECT_DATA_DIR": str(data),
        }
        users = {"admin": "admin", "viewer": "viewer"}
        airflow = start_airflow(home, extra_env, users, port)
        try:
            yield Stack(airflow, sandbox, fernet_key, client_secret, warehouse_url, data)
        finally:
            stop_airflow(airflow)


@pytest.fixture
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()
