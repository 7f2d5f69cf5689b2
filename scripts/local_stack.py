"""The local stack behind `make demo` and `make airflow`: the Fortnox sandbox and Airflow.

    python scripts/local_stack.py start    # sandbox + `airflow standalone`, in the background
    python scripts/local_stack.py stop     # both, every process of their groups
    python scripts/local_stack.py status

Each runs in its own process group (setsid) with its pid in airflow_home/ (`sandbox.pid`,
`standalone.pid`), so stopping ends every child and leaves no orphans. Their output goes to
airflow_home/sandbox.log and airflow_home/standalone.log.

The sandbox keeps what clients did (tokens, posted vouchers, files) in
data/fortnox-sandbox/state.pickle, so `make airflow` after `make demo` serves the same
companies with the demo's tokens still valid and its vouchers still posted.

The connections the DAGs and the Integrations view need are set in the components'
environment here: `fortnox_default` (the sandbox, client secret from secrets.env) and
`airflow_api` (this API server, user admin, the password read from airflow_home/passwords.json
at start; never printed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(os.environ.get("AIRFLOW_HOME", ROOT / "airflow_home"))
DATA_DIR = Path(os.environ.get("PROJECT_DATA_DIR", ROOT / "data"))
VENV_BIN = Path(sys.executable).parent
API_PORT = int(os.environ.get("AIRFLOW__API__PORT", "8080"))
API_URL = f"http://127.0.0.1:{API_PORT}"
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8710"))
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"
# Where the command line's consent flow (`python -m include.fortnox connect`) listens.
REDIRECT_PORT = int(os.environ.get("FORTNOX_REDIRECT_PORT", "8765"))
REDIRECT_URI = f"http://127.0.0.1:{REDIRECT_PORT}/callback"
VIEW_CALLBACK = f"{API_URL}/integrations/fortnox/callback"
SANDBOX_SEED = 2026
SANDBOX_COMPANIES = 3
SANDBOX_STATE = DATA_DIR / "fortnox-sandbox" / "state.pickle"
PASSWORDS_FILE = Path(
    os.environ.get(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", AIRFLOW_HOME / "passwords.json"
    )
)
USER = "admin"


def warehouse_url() -> str:
    sys.path.insert(0, str(ROOT))
    from include.settings import default_warehouse_url

    return default_warehouse_url()


def admin_password() -> str:
    return str(json.loads(PASSWORDS_FILE.read_text())[USER])


def fortnox_connection(redirect_uri: str = REDIRECT_URI) -> dict[str, object]:
    return {
        "conn_type": "fortnox",
        "host": f"{SANDBOX_URL}/3",
        "login": os.environ.get("FORTNOX_SANDBOX_CLIENT_ID", "sandbox-client"),
        "password": os.environ["FORTNOX_SANDBOX_CLIENT_SECRET"],
        "extra": {
            "auth_url": f"{SANDBOX_URL}/oauth-v1/auth",
            "token_url": f"{SANDBOX_URL}/oauth-v1/token",
            "revoke_url": f"{SANDBOX_URL}/oauth-v1/revoke",
            "redirect_uri": redirect_uri,
            "token_store_url": warehouse_url(),
        },
    }


def airflow_api_connection() -> dict[str, object]:
    return {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": API_PORT,
        "login": USER,
        "password": admin_password(),
    }


def stack_env(*, keep_fortnox: bool = False) -> dict[str, str]:
    """The environment of every component (and of the demo's own commands).

    The demo always talks to the sandbox; ``make airflow`` (``keep_fortnox``) keeps a
    ``AIRFLOW_CONN_FORTNOX_DEFAULT`` the person set for a real Fortnox app.
    """
    env = os.environ.copy()
    env.setdefault("AIRFLOW__API__BASE_URL", API_URL)
    if not keep_fortnox:  # the demo's command-line consent answers on its own listener
        env["AIRFLOW_CONN_FORTNOX_DEFAULT"] = json.dumps(fortnox_connection())
    elif not env.get("AIRFLOW_CONN_FORTNOX_DEFAULT"):  # make airflow: the Integrations view's
        env["AIRFLOW_CONN_FORTNOX_DEFAULT"] = json.dumps(fortnox_connection(VIEW_CALLBACK))
    if "AIRFLOW_CONN_AIRFLOW_API" not in env and PASSWORDS_FILE.exists():
        env["AIRFLOW_CONN_AIRFLOW_API"] = json.dumps(airflow_api_connection())
    return env


@dataclass
class Component:
    name: str
    command: list[str]
    pid_file: Path
    log_file: Path

    def pgid(self) -> int | None:
        """The running group's id, or None (a stale pid file is removed)."""
        try:
            pgid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if group_alive(pgid):
            return pgid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,  # setsid: its own process group, stopped as a whole
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process

    def stop(self, timeout: float = 20) -> bool:
        """TERM the whole group, KILL what is left after ``timeout``; True if it ran."""
        pgid = self.pgid()
        if pgid is None:
            return False
        stop_group(pgid, timeout)
        self.pid_file.unlink(missing_ok=True)
        return True


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, timeout: float = 20, reap: subprocess.Popen[bytes] | None = None) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if reap is not None:
                reap.poll()  # a zombie leader still counts as a member of its group
            if not group_alive(pgid):
                return
            time.sleep(0.2)


SANDBOX = Component(
    "Fortnox sandbox",
    [
        sys.executable,
        "-m",
        "include.fortnox_sandbox",
        "--port",
        str(SANDBOX_PORT),
        "--companies",
        str(SANDBOX_COMPANIES),
        "--seed",
        str(SANDBOX_SEED),
        "--redirect-uri",
        f"{REDIRECT_URI} {VIEW_CALLBACK}",  # the command line's and the Integrations view's
        "--state-file",
        str(SANDBOX_STATE),
    ],
    AIRFLOW_HOME / "sandbox.pid",
    AIRFLOW_HOME / "sandbox.log",
)
AIRFLOW = Component(
    "Airflow",
    [str(VENV_BIN / "airflow"), "standalone"],
    AIRFLOW_HOME / "standalone.pid",
    AIRFLOW_HOME / "standalone.log",
)


def wait_for_sandbox(process: subprocess.Popen[bytes] | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{SANDBOX_URL}/admin/tenants", timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            tail = SANDBOX.log_file.read_text(errors="replace")[-2000:]
            raise SystemExit(f"the Fortnox sandbox did not start; {SANDBOX.log_file}:\n{tail}")
        time.sleep(0.3)


def airflow_health() -> dict[str, str]:
    """Each component's status from the API server's health endpoint ({} while down)."""
    try:
        answer = httpx.get(f"{API_URL}/api/v2/monitor/health", timeout=5)
    except httpx.HTTPError:
        return {}
    if not answer.is_success:
        return {}
    body = answer.json()
    return {name: str((body.get(name) or {}).get("status")) for name in body}


def wait_for_airflow(process: subprocess.Popen[bytes] | None, timeout: float = 180) -> None:
    """Until the API server answers and the scheduler, triggerer and dag processor are up."""
    deadline = time.monotonic() + timeout
    needed = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    while True:
        health = airflow_health()
        if health and all(health.get(n) == "healthy" for n in needed):
            return
        if process is not None and process.poll() is not None:
            raise SystemExit(f"airflow standalone exited; see {AIRFLOW.log_file}")
        if time.monotonic() > deadline:
            raise SystemExit(f"Airflow not healthy after {timeout:.0f} s ({health or 'no answer'})")
        time.sleep(1)


def start() -> int:
    """`make airflow`: the sandbox (with the saved state) and Airflow, in the background.

    With ``AIRFLOW_CONN_FORTNOX_DEFAULT`` set (a real Fortnox app) Airflow uses it and no
    sandbox is started.
    """
    env = stack_env(keep_fortnox=True)
    if os.environ.get("AIRFLOW_CONN_FORTNOX_DEFAULT"):
        print("Fortnox: AIRFLOW_CONN_FORTNOX_DEFAULT as set (no sandbox)")
    elif SANDBOX.pgid() is None:
        wait_for_sandbox(SANDBOX.start(env))
        print(f"Fortnox sandbox: {SANDBOX_URL} (log: {rel(SANDBOX.log_file)})")
    else:
        print(f"Fortnox sandbox already running (pgid {SANDBOX.pgid()})")
    if AIRFLOW.pgid() is None:
        AIRFLOW.start(env)
        print(f"Airflow starting: {API_URL} (log: {rel(AIRFLOW.log_file)})")
    else:
        print(f"Airflow already running (pgid {AIRFLOW.pgid()})")
    print(f"  user {USER}, password in {rel(PASSWORDS_FILE)}")
    print(f"  Integrations: {API_URL}/integrations/ (Admin -> Integrations)")
    print(f"  Required actions (approvals): {API_URL}/required_actions")
    print("  stop: make airflow-stop")
    return 0


def stop() -> int:
    for component in (AIRFLOW, SANDBOX):
        print(f"{component.name}: {'stopped' if component.stop() else 'not running'}")
    return 0


def status() -> int:
    for component in (AIRFLOW, SANDBOX):
        pgid = component.pgid()
        print(f"{component.name}: {f'running (pgid {pgid})' if pgid else 'not running'}")
    return 0


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    commands = {"start": start, "stop": stop, "status": status}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(commands)}")
    sys.exit(commands[sys.argv[1]]())
