"""Initialise a deployment: check its configuration, then migrate both databases.

Run once per start or release by the compose init job (``airflow-init``) and by the Helm
chart's migration job; every Airflow component waits for it:

    python scripts/deploy_init.py            # check, `airflow db migrate`, warehouse migrate
    python scripts/deploy_init.py check      # check the configuration only (no database change)
    python scripts/deploy_init.py passwords  # write the simple auth manager's passwords file
    python scripts/deploy_init.py probe URL  # health check: exit 0 when URL answers 2xx

The check reads the environment the components get (the Fernet keys, the connections
``warehouse_default`` and ``fortnox_default`` as ``AIRFLOW_CONN_*`` JSON) and names what is
wrong before anything starts. Nothing it prints contains a secret.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALLBACK_PATH = "/integrations/fortnox/callback"
PACERS = ("file", "database")
SECRET_MIN_LENGTH = 32


@dataclass(frozen=True)
class _Connection:
    """The fields of an Airflow connection that FortnoxSettings.from_connection reads."""

    host: str | None
    login: str | None
    password: str | None = field(repr=False)
    extra_dejson: dict[str, Any]


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    warehouse_url: str = field(default="", repr=False)  # may hold a password


def _connection(env: Mapping[str, str], name: str, report: Report) -> dict[str, Any] | None:
    variable = f"AIRFLOW_CONN_{name.upper()}"
    raw = env.get(variable, "").strip()
    if not raw:
        report.problems.append(f"{variable} is not set (connection {name})")
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:  # the message quotes no input
        report.problems.append(f"{variable} is not valid JSON: {exc.msg} at column {exc.colno}")
        return None
    if not isinstance(value, dict):
        report.problems.append(f"{variable} must be a JSON object")
        return None
    extra = value.get("extra") or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            report.problems.append(f"{variable}: extra is not valid JSON")
            extra = {}
    value["extra"] = extra
    return value


def _check_fernet(env: Mapping[str, str], variable: str, report: Report) -> None:
    from cryptography.fernet import Fernet

    keys = [k.strip() for k in env.get(variable, "").split(",") if k.strip()]
    if not keys:
        report.problems.append(f"{variable} is not set")
        return
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            report.problems.append(
                f"{variable}: key {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64 bytes; make one with `python -m include.fortnox genkey`)"
            )


def _hide_password(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def check(env: Mapping[str, str]) -> Report:
    """What is wrong with (and what is known of) a deployment's environment."""
    import sqlalchemy as sa

    report = Report()
    _check_fernet(env, "AIRFLOW__CORE__FERNET_KEY", report)
    _check_fernet(env, "FORTNOX_TOKEN_KEY", report)
    for variable in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        if len(env.get(variable, "")) < SECRET_MIN_LENGTH:
            report.problems.append(f"{variable} must be at least {SECRET_MIN_LENGTH} characters")

    warehouse = _connection(env, "warehouse_default", report)
    warehouse_url = ""
    if warehouse is not None:
        warehouse_url = str(warehouse["extra"].get("sqlalchemy_url") or "")
        if not warehouse_url:
            report.problems.append(
                "AIRFLOW_CONN_WAREHOUSE_DEFAULT: extra.sqlalchemy_url is missing"
            )
        else:
            try:
                report.facts.append(f"warehouse: {_hide_password(warehouse_url)}")
            except sa.exc.ArgumentError:
                report.problems.append(
                    "AIRFLOW_CONN_WAREHOUSE_DEFAULT: extra.sqlalchemy_url is not a SQLAlchemy URL"
                )
                warehouse_url = ""
    if warehouse_url and env.get("WAREHOUSE_URL") and env["WAREHOUSE_URL"] != warehouse_url:
        report.problems.append(
            "WAREHOUSE_URL and AIRFLOW_CONN_WAREHOUSE_DEFAULT name different warehouses"
        )
    report.warehouse_url = warehouse_url

    fortnox = _connection(env, "fortnox_default", report)
    if fortnox is not None:
        _check_fortnox(env, fortnox, report)
    executor = env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    report.facts.insert(0, f"executor: {executor}")
    if fortnox is not None and executor != "LocalExecutor":
        pacer = fortnox["extra"].get("pacer") or "file"
        if pacer != "database":
            report.warnings.append(
                f"{executor} with the '{pacer}' Fortnox pacer: workers on several machines must "
                "share the rate limit, set the connection's extra pacer to 'database'"
            )
    return report


def _check_fortnox(env: Mapping[str, str], conn: dict[str, Any], report: Report) -> None:
    from include.fortnox.config import FortnoxSettings
    from include.fortnox.errors import FortnoxError

    try:  # as FortnoxHook reads its connection
        settings = FortnoxSettings.from_connection(
            _Connection(conn.get("host"), conn.get("login"), conn.get("password"), conn["extra"])
        )
    except FortnoxError as exc:
        report.problems.append(f"AIRFLOW_CONN_FORTNOX_DEFAULT: {exc}")
        return
    report.facts.append(f"fortnox api: {settings.api_url}")
    report.facts.append(f"fortnox redirect uri: {settings.redirect_uri}")
    extra = conn["extra"]
    pacer = extra.get("pacer") or "file"
    if pacer not in PACERS:
        report.problems.append(
            f"AIRFLOW_CONN_FORTNOX_DEFAULT: extra.pacer must be one of {', '.join(PACERS)}"
        )
    report.facts.append(f"fortnox pacer: {pacer}")
    if not settings.redirect_uri.endswith(CALLBACK_PATH):
        report.warnings.append(
            f"the Fortnox redirect URI does not end with {CALLBACK_PATH}: the Integrations "
            "view's callback will not receive the consent"
        )
    public = env.get("AIRFLOW__API__BASE_URL", "").rstrip("/")
    if public and not settings.redirect_uri.startswith(public + "/"):
        report.warnings.append(
            "the Fortnox redirect URI is not under AIRFLOW__API__BASE_URL: a person's browser "
            "must reach it at the same address as the Airflow UI"
        )
    if not extra.get("token_store_url") and not env.get("WAREHOUSE_URL"):
        report.warnings.append(
            "the Fortnox token store has no database: set extra.token_store_url or WAREHOUSE_URL"
        )


def write_passwords(env: Mapping[str, str]) -> int:
    """The simple auth manager's passwords file, from AIRFLOW_ADMIN_PASSWORD (mode 0600)."""
    password = env.get("AIRFLOW_ADMIN_PASSWORD", "")
    target = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", "")
    users = env.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    if not password or not target:
        print(
            "error: set AIRFLOW_ADMIN_PASSWORD and "
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
            file=sys.stderr,
        )
        return 1
    first_user = users.split(",")[0].split(":")[0].strip()
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({first_user: password}, handle)
    print(f"password of Airflow user {first_user} written to {path}")
    return 0


def probe(url: str, auth_env: str | None, env: Mapping[str, str]) -> int:
    """A container health check without curl: GET ``url`` (basic auth "user:password" taken
    from the variable ``auth_env``), healthy on a 2xx answer within 5 s."""
    import base64
    import urllib.request

    request = urllib.request.Request(url)
    if auth_env:
        token = base64.b64encode(env.get(auth_env, "").encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


def _print(report: Report) -> None:
    for fact in report.facts:
        print(f"  {fact}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)


def _run(argv: list[str], env: Mapping[str, str]) -> int:
    print(f"$ {' '.join(argv)}", flush=True)
    return subprocess.run(argv, env=dict(env), check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_init.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("init", help="check, then migrate Airflow's database and the warehouse")
    sub.add_parser("check", help="check the configuration only")
    sub.add_parser("passwords", help="write the simple auth manager's passwords file")
    probe_parser = sub.add_parser("probe", help="health check of an HTTP endpoint")
    probe_parser.add_argument("url")
    probe_parser.add_argument("--auth-env", help="variable holding user:password (basic auth)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.command == "passwords":
        return write_passwords(env)
    if args.command == "probe":
        return probe(args.url, args.auth_env, env)
    report = check(env)
    print("deployment configuration:")
    _print(report)
    if report.problems:
        print(f"{len(report.problems)} problem(s): nothing was started", file=sys.stderr)
        return 1
    if args.command == "check":
        return 0
    # The warehouse URL goes by the environment, not the command line (it holds a password).
    migrate_env = {**env, "WAREHOUSE_URL": report.warehouse_url}
    for step in (
        [sys.executable, "-m", "airflow", "db", "migrate"],
        [sys.executable, "-m", "include.warehouse", "migrate"],
    ):
        status = _run(step, migrate_env)
        if status != 0:
            print(f"error: {' '.join(step)} failed (exit {status})", file=sys.stderr)
            return status
    print("deployment initialised")
    return 0


if __name__ == "__main__":
    sys.exit(main())
