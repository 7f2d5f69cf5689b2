"""Helpers of the browser test: a real Airflow (standalone: API server, scheduler, DAG
processor, triggerer) with this project's DAGs and plugins, the Fortnox sandbox, and
Debian's Chromium driven by playwright. Nothing here downloads a browser: playwright
launches /usr/bin/chromium."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
STARTUP_TIMEOUT = 420  # seconds: a loaded 2-core machine starts Airflow slowly


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI runs the browser test: .ci/run installs what it needs)")
    pytest.skip(reason)


def free_port() -> int:
    from include.fortnox_sandbox.local import free_port as pick

    return pick()


@dataclass
class Airflow:
    """A running Airflow and what the test needs to know about it."""

    base_url: str
    home: Path
    env: dict[str, str] = field(repr=False)
    passwords: dict[str, str] = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def token(self, user: str = "admin") -> str:
        answer = httpx.post(
            f"{self.base_url}/auth/token",
            json={"username": user, "password": self.passwords[user]},
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(
            method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )

    def logs(self) -> str:
        """Everything Airflow wrote: the components' output and every task log."""
        parts = []
        for path in sorted(self.home.rglob("*")):
            if path.name == "passwords.json":  # the test's own input, not a log
                continue
            if path.is_file() and path.suffix in (".log", ".txt", ".json", ""):
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)


def _wait_until(what: str, check: Any, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Airflow stopped (exit {process.returncode}) before {what}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise TimeoutError(f"Airflow: no {what} within {timeout:.0f}s")


def start_airflow(
    home: Path, extra_env: dict[str, str], users: dict[str, str], port: int
) -> Airflow:
    """``airflow standalone`` in its own process group on ``port``, until it serves the
    project's DAGs. Stop it with :func:`stop_airflow`."""
    base = f"http://127.0.0.1:{port}"
    passwords = {name: secrets.token_urlsafe(12) for name in users}
    (home / "passwords.json").write_text(json.dumps(passwords))
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))},
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in users.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        **extra_env,
    }
    log = (home / "standalone.log").open("wb")
    process = subprocess.Popen(
        [str(Path(venv_bin) / "airflow"), "standalone"],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopping it stops every child
    )
    airflow = Airflow(base, home, env, passwords, process)
    try:
        _wait_until(
            "API server",
            lambda: httpx.get(f"{base}/api/v2/monitor/health", timeout=5).status_code == 200,
            STARTUP_TIMEOUT,
            process,
        )
        _wait_until(
            "fortnox_extract DAG",
            lambda: airflow.api("GET", "/dags/fortnox_extract").status_code == 200,
            STARTUP_TIMEOUT,
            process,
        )
    except BaseException:
        stop_airflow(airflow)
        raise
    return airflow


def stop_airflow(airflow: Airflow) -> None:
    process = airflow.process
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Stack:
    airflow: Airflow
    sandbox: Any
    fernet_key: str = field(repr=False)
    client_secret: str = field(repr=False)
    warehouse_url: str
    data_dir: Path
