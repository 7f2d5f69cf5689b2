"""The deployment's init job (scripts/deploy_init.py) and PostgreSQL's first-start script.

Real outcomes: configuration errors are named before anything starts and never echo a secret;
the init migrates a real Airflow metadata database and a real warehouse; the PostgreSQL
script makes two roles that cannot reach each other's database.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.infra import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "deploy_init.py"
SECRET = "s3cr3t-client-secret-that-must-never-be-printed"
DB_PASSWORD = "db-password-that-must-never-be-printed"


def good_env(tmp_path: Path) -> dict[str, str]:
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    fortnox = {
        "conn_type": "fortnox",
        "host": "https://api.fortnox.se/3",
        "login": "client-id",
        "password": SECRET,
        "extra": {
            "redirect_uri": "https://closing.example.com/integrations/fortnox/callback",
            "token_store_url": warehouse,
            "pacer": "database",
        },
    }
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "FORTNOX_TOKEN_KEY": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "j" * 40,
        "AIRFLOW__API__SECRET_KEY": "k" * 40,
        "AIRFLOW__API__BASE_URL": "https://closing.example.com",
        "WAREHOUSE_URL": warehouse,
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT": json.dumps({"extra": {"sqlalchemy_url": warehouse}}),
        "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(fortnox),
    }


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_check_accepts_a_complete_configuration(tmp_path: Path) -> None:
    result = run("check", env=good_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "executor: CeleryExecutor" in result.stdout
    assert "fortnox pacer: database" in result.stdout
    assert "warning" not in result.stdout
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"AIRFLOW__CORE__FERNET_KEY": ""}, "AIRFLOW__CORE__FERNET_KEY is not set"),
        ({"FORTNOX_TOKEN_KEY": "not-a-key"}, "FORTNOX_TOKEN_KEY: key 1 of 1 is not a Fernet key"),
        ({"AIRFLOW__API_AUTH__JWT_SECRET": "short"}, "AIRFLOW__API_AUTH__JWT_SECRET must be"),
        ({"AIRFLOW_CONN_WAREHOUSE_DEFAULT": ""}, "AIRFLOW_CONN_WAREHOUSE_DEFAULT is not set"),
        ({"AIRFLOW_CONN_WAREHOUSE_DEFAULT": '{"extra": {}}'}, "extra.sqlalchemy_url is missing"),
        ({"WAREHOUSE_URL": "sqlite:///elsewhere.db"}, "name different warehouses"),
    ],
)
def test_check_names_what_is_wrong(tmp_path: Path, change: dict[str, str], message: str) -> None:
    result = run("check", env={**good_env(tmp_path), **change})
    assert result.returncode == 1
    assert message in result.stderr
    assert "nothing was started" in result.stderr


def test_a_broken_connection_is_named_without_echoing_its_secret(tmp_path: Path) -> None:
    env = good_env(tmp_path)
    # A password with a quote breaks the JSON (why .env.example says: generate secrets).
    env["AIRFLOW_CONN_FORTNOX_DEFAULT"] = env["AIRFLOW_CONN_FORTNOX_DEFAULT"].replace(
        SECRET, SECRET + '"'
    )
    result = run("check", env=env)
    assert result.returncode == 1
    assert "AIRFLOW_CONN_FORTNOX_DEFAULT is not valid JSON" in result.stderr
    assert SECRET not in result.stdout + result.stderr

    fortnox = json.loads(good_env(tmp_path)["AIRFLOW_CONN_FORTNOX_DEFAULT"])
    fortnox["login"] = ""
    result = run("check", env={**env, "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(fortnox)})
    assert result.returncode == 1
    assert "client_id" in result.stderr  # the message FortnoxHook would raise
    assert SECRET not in result.stdout + result.stderr


def test_check_warns_of_a_per_machine_pacer_or_a_callback_the_browser_cannot_reach(
    tmp_path: Path,
) -> None:
    env = good_env(tmp_path)
    fortnox = json.loads(env["AIRFLOW_CONN_FORTNOX_DEFAULT"])
    fortnox["extra"]["pacer"] = "file"
    fortnox["extra"]["redirect_uri"] = "http://127.0.0.1:8765/callback"
    result = run("check", env={**env, "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(fortnox)})
    assert result.returncode == 0  # warnings: a one-machine Celery may use the file pacer
    assert "set the connection's extra pacer to 'database'" in result.stdout
    assert "does not end with /integrations/fortnox/callback" in result.stdout
    assert "not under AIRFLOW__API__BASE_URL" in result.stdout

    fortnox["extra"]["pacer"] = "redis"
    result = run("check", env={**env, "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(fortnox)})
    assert result.returncode == 1
    assert "pacer is 'redis': expected one of file, database" in result.stderr


def test_passwords_file_is_private_and_read_by_the_simple_auth_manager(tmp_path: Path) -> None:
    target = tmp_path / "users" / "passwords.json"
    env = {
        "AIRFLOW_ADMIN_PASSWORD": DB_PASSWORD,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "closer:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(target),
    }
    for _ in range(2):  # a restart rewrites it
        result = run("passwords", env=env)
        assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text()) == {"closer": DB_PASSWORD}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert DB_PASSWORD not in result.stdout + result.stderr
    assert run("passwords", env={**env, "AIRFLOW_ADMIN_PASSWORD": ""}).returncode == 1


@pytest.fixture
def http_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorised = self.headers.get("Authorization") == "Basic dXNlcjpwdw=="  # user:pw
            code = {"/ok": 200, "/auth": 200 if authorised else 401}.get(self.path, 503)
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_probe_is_healthy_only_on_a_2xx_answer(http_server: str) -> None:
    assert run("probe", f"{http_server}/ok", env={}).returncode == 0
    assert run("probe", f"{http_server}/down", env={}).returncode == 1
    assert run("probe", f"{http_server}/auth", env={}).returncode == 1
    env = {"FLOWER_AUTH": "user:pw"}
    assert run("probe", "--auth-env=FLOWER_AUTH", f"{http_server}/auth", env=env).returncode == 0


@pytest.mark.slow
@pytest.mark.airflow
def test_init_migrates_airflow_and_the_warehouse(tmp_path: Path) -> None:
    from include.warehouse.migrate import current_revision, head_revision

    env = {
        **good_env(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
    }
    for _ in range(2):  # every `docker compose up` runs it again: idempotent
        result = run(env=env, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "deployment initialised" in result.stdout
    warehouse = env["WAREHOUSE_URL"]
    assert current_revision(warehouse) == head_revision()
    import sqlalchemy as sa

    engine = sa.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from alembic_version")).scalar() == 1
        assert {"dag_run", "task_instance"} <= set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert DB_PASSWORD not in result.stdout and SECRET not in result.stdout


def test_init_stops_before_any_migration_when_the_check_fails(tmp_path: Path) -> None:
    env = {**good_env(tmp_path), "FORTNOX_TOKEN_KEY": ""}
    result = run(env=env)
    assert result.returncode == 1
    assert not (tmp_path / "warehouse.db").exists()


@pytest.mark.postgres
def test_postgres_init_script_makes_two_roles_that_cannot_reach_each_other(
    postgres_url: str,
) -> None:
    import sqlalchemy as sa

    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL's client) is not installed")
    admin = sa.make_url(postgres_url)
    suffix = uuid.uuid4().hex[:8]
    roles = {"meta": f"t_meta_{suffix}", "wh": f"t_wh_{suffix}"}
    passwords = {"meta": "pw'with\"quotes", "wh": "pw-" + uuid.uuid4().hex}
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": admin.host or "127.0.0.1",
        "PGPORT": str(admin.port or 5432),
        "POSTGRES_USER": admin.username or "postgres",
        "POSTGRES_DB": admin.database or "postgres",
        "AIRFLOW_DB_ROLE": roles["meta"],
        "AIRFLOW_DB_PASSWORD": passwords["meta"],
        "WAREHOUSE_DB_ROLE": roles["wh"],
        "WAREHOUSE_DB_PASSWORD": passwords["wh"],
    }
    if admin.password:
        env["PGPASSWORD"] = admin.password
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        result = subprocess.run(
            [str(REPO_ROOT / "scripts" / "compose-init-databases.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select d.datname, pg_get_userbyid(d.datdba), r.rolsuper, r.rolcreatedb, "
                    "has_database_privilege('public', d.datname, 'connect') "
                    "from pg_database d join pg_roles r on r.oid = d.datdba "
                    "where d.datname in (:meta, :wh)"
                ),
                roles,
            ).all()
        assert sorted(rows) == sorted(
            [
                (roles["meta"], roles["meta"], False, False, False),
                (roles["wh"], roles["wh"], False, False, False),
            ]
        )
        # Each role logs in to its own database and creates tables there, not in the other's.
        for own, other in (("meta", "wh"), ("wh", "meta")):
            url = admin.set(username=roles[own], password=passwords[own], database=roles[own])
            # The test server may trust every local login: check the privilege as well.
            role_engine = sa.create_engine(url)
            with role_engine.begin() as conn:
                conn.execute(sa.text("create table t (id int)"))
                allowed = conn.execute(
                    sa.text("select has_database_privilege(current_user, :db, 'connect')"),
                    {"db": roles[other]},
                ).scalar()
            role_engine.dispose()
            assert allowed is False
            with pytest.raises(sa.exc.OperationalError, match="permission denied"):
                other_engine = sa.create_engine(url.set(database=roles[other]))
                try:
                    with other_engine.connect():
                        pass
                finally:
                    other_engine.dispose()
    finally:
        with engine.connect() as conn:
            for name in roles.values():
                conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
            for name in roles.values():
                conn.execute(sa.text(f'drop role if exists "{name}"'))
        engine.dispose()
