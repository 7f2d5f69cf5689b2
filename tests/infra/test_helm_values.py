"""The values for the official Apache Airflow Helm chart (deploy/helm), version 1.22.0.

The chart is not available offline, so the values are checked against what could be
established of the chart: the keys below, each from the chart's values.schema.json (types
included, for the parts where it says ``additionalProperties: false``) or its parameters
reference. A key outside them fails here rather than at `helm install`. The rest is the
deployment's own contract: the project image, secrets only by reference, DAGs from the image,
connections from a Secret, the same paths as the Dockerfile.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.infra import REPO_ROOT, instructions, pins

HELM = REPO_ROOT / "deploy" / "helm"
CHART_VERSION = "1.22.0"
VALUES = HELM / "values.yaml"
OVERLAYS = {"kubernetes": [], "celery": [HELM / "values-celery.yaml"]}

# Keys the values may set. Leaves are exact paths; "path.*" admits anything below (free-form
# in the chart: airflow.cfg sections, Kubernetes objects, list items checked by SCHEMA).
KNOWN_KEYS = {
    # values.schema.json (chart 1.18+; unchanged through 1.22.0 per its release notes)
    "airflowVersion",
    "defaultAirflowRepository",
    "defaultAirflowTag",
    "defaultAirflowDigest",
    "executor",
    "images.airflow.repository",
    "images.airflow.tag",
    "images.airflow.digest",
    "images.airflow.pullPolicy",
    "images.useDefaultImageForMigration",
    "env.*",
    "volumes.*",
    "volumeMounts.*",
    "secret.*",
    "extraEnv",
    "extraEnvFrom",
    "extraSecrets.*",
    "data.metadataSecretName",
    "data.resultBackendSecretName",
    "data.brokerUrlSecretName",
    "fernetKeySecretName",
    "apiSecretKeySecretName",
    "jwtSecretName",
    "workers.replicas",
    # parameters reference and chart docs (1.2x)
    "config.*",
    "dags.persistence.enabled",
    "dags.gitSync.enabled",
    "dagProcessor.dagBundleConfigList.*",
    "migrateDatabaseJob.args.*",
    "createUserJob.defaultUser.enabled",
    "postgresql.enabled",
    "pgbouncer.enabled",
    "redis.enabled",
    "redis.passwordSecretName",
    "flower.enabled",
    "ingress.apiServer.enabled",
    "ingress.apiServer.ingressClassName",
    "ingress.apiServer.path",
    "ingress.apiServer.pathType",
    "ingress.apiServer.hosts.*",
}

_NULLABLE_STRING = {"type": ["string", "null"]}
# The parts of the chart's values.schema.json the values use, as the schema states them.
SCHEMA = {
    "type": "object",
    "properties": {
        "airflowVersion": {"type": "string"},
        "defaultAirflowRepository": {"type": "string"},
        "defaultAirflowTag": {"type": "string"},
        "defaultAirflowDigest": _NULLABLE_STRING,
        "executor": {
            "type": "string",
            "pattern": r"^(([a-zA-Z_][a-zA-Z0-9_]*.)*[A-Z][a-zA-Z0-9]+Executor)"
            r"(,(([a-zA-Z_][a-zA-Z0-9_]*.)*[A-Z][a-zA-Z0-9]+Executor))*$",
        },
        "images": {
            "type": "object",
            "properties": {
                "airflow": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "repository": _NULLABLE_STRING,
                        "tag": _NULLABLE_STRING,
                        "digest": _NULLABLE_STRING,
                        "pullPolicy": {"enum": ["Always", "Never", "IfNotPresent"]},
                    },
                },
                "useDefaultImageForMigration": {"type": "boolean"},
            },
        },
        "env": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                "required": ["name", "value"],
                "additionalProperties": False,
            },
        },
        "volumes": {"type": "array", "items": {"type": "object"}},
        "volumeMounts": {"type": "array", "items": {"type": "object"}},
        "extraEnvFrom": {"type": ["string", "null"]},
        "data": {
            "type": "object",
            "properties": {
                "metadataSecretName": _NULLABLE_STRING,
                "resultBackendSecretName": _NULLABLE_STRING,
                "brokerUrlSecretName": _NULLABLE_STRING,
            },
        },
        "fernetKeySecretName": _NULLABLE_STRING,
        "apiSecretKeySecretName": _NULLABLE_STRING,
        "jwtSecretName": _NULLABLE_STRING,
        "workers": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
        "dagProcessor": {
            "type": "object",
            "properties": {
                "dagBundleConfigList": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "classpath", "kwargs"],
                        "properties": {
                            "name": {"type": "string"},
                            "classpath": {"type": "string"},
                            "kwargs": {"type": "object"},
                        },
                    },
                }
            },
        },
        "migrateDatabaseJob": {
            "type": "object",
            "properties": {"args": {"type": "array", "items": {"type": "string"}}},
        },
    },
}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of -f files: maps merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def values_for(variant: str) -> dict[str, Any]:
    values = load(VALUES)
    for overlay in OVERLAYS[variant]:
        values = merge(values, load(overlay))
    return values


def key_paths(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in key_paths(v, f"{prefix}{k}.")]
    if isinstance(node, list):
        return [f"{prefix}*"]
    return [prefix.rstrip(".")]


def known(path: str) -> bool:
    for key in KNOWN_KEYS:
        if key.endswith(".*") and (path == key[:-2] or path.startswith(key[:-1])):
            return True
        if path == key:
            return True
    return False


@pytest.fixture(params=sorted(OVERLAYS))
def values(request: pytest.FixtureRequest) -> dict[str, Any]:
    return values_for(request.param)


def test_every_values_file_is_yaml_naming_the_chart_version() -> None:
    for path in sorted(HELM.glob("*.yaml")):
        load(path)
        assert f"--version {CHART_VERSION}" in path.read_text(encoding="utf-8"), path.name
    assert {p.name for p in HELM.glob("*.yaml")} == {"values.yaml"} | {
        p.name for files in OVERLAYS.values() for p in files
    }


def test_only_keys_the_chart_accepts(values: dict[str, Any]) -> None:
    unknown = [path for path in key_paths(values) if not known(path)]
    assert unknown == []


def test_key_check_would_catch_a_misspelt_key() -> None:
    assert not known("fernetKeySecretname")
    assert not known("images.airflow.tags")
    assert known("config.core.dags_folder")


def test_values_match_the_chart_schema(values: dict[str, Any]) -> None:
    jsonschema.validate(values, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**values, "env": [{"name": "X", "valueFrom": {}}]}, SCHEMA)


def test_executor_is_kubernetes_or_celery() -> None:
    assert values_for("kubernetes")["executor"] == "KubernetesExecutor"
    celery = values_for("celery")
    assert celery["executor"] == "CeleryExecutor"
    assert celery["data"]["brokerUrlSecretName"] and celery["redis"]["passwordSecretName"]
    assert (
        celery["data"]["metadataSecretName"]
        == values_for("kubernetes")["data"]["metadataSecretName"]
    )
    assert celery["config"]["celery_broker_transport_options"]["visibility_timeout"] >= 86400


def test_the_project_image_of_the_pinned_airflow(values: dict[str, Any]) -> None:
    airflow = pins(REPO_ROOT / "requirements.txt")["apache-airflow"]
    assert values["airflowVersion"] == airflow
    image = values["images"]["airflow"]
    assert image["repository"] == values["defaultAirflowRepository"]
    assert image["tag"] == values["defaultAirflowTag"]
    assert not image["repository"].startswith("apache/airflow")  # ours, with the project
    assert values["images"]["useDefaultImageForMigration"] is False


def test_secrets_only_by_reference(values: dict[str, Any]) -> None:
    for key, secret_key in (
        ("fernetKeySecretName", "fernet-key"),
        ("apiSecretKeySecretName", "api-secret-key"),
        ("jwtSecretName", "jwt-secret"),
    ):
        assert values[key], key
        assert secret_key in VALUES.read_text(encoding="utf-8")  # the key the chart reads
    for literal in ("fernetKey", "apiSecretKey", "jwtSecret", "webserverSecretKey"):
        assert literal not in values
    assert values["postgresql"]["enabled"] is False
    assert values["data"]["metadataSecretName"]
    assert "metadataConnection" not in values["data"]
    # No password, secret or token anywhere as a literal value (names of Secrets are fine).
    for path in sorted(HELM.glob("*.yaml")):
        for key, value in leaves(load(path)):
            name = key.lower()
            if any(word in name for word in ("password", "secret", "token", "pass")):
                named = name.endswith(("secretname", "_file"))  # where a secret is, not what
                assert named or value is None, f"{path.name}: {key}"


def leaves(node: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in leaves(v, str(k))]
    if isinstance(node, list):
        return [leaf for item in node for leaf in leaves(item, key)]
    return [(key, node)]


def test_connections_and_token_key_come_from_a_kubernetes_secret(values: dict[str, Any]) -> None:
    env_from = yaml.safe_load(values["extraEnvFrom"])
    assert env_from == [{"secretRef": {"name": "closing-connections"}}]
    # Literal env holds no connection or key (those are in the Secret).
    names = {item["name"] for item in values["env"]}
    assert (
        not {n for n in names if n.startswith("AIRFLOW_CONN_")} and "FORTNOX_TOKEN_KEY" not in names
    )
    docs = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for variable in (
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        "AIRFLOW_CONN_FORTNOX_DEFAULT",
        "WAREHOUSE_URL",
        "FORTNOX_TOKEN_KEY",
    ):
        assert variable in docs  # how to make the Secret is documented


def test_dags_and_plugins_come_from_the_image(values: dict[str, Any]) -> None:
    env = " ".join(rest for keyword, rest in instructions() if keyword == "ENV")
    dags = re.search(r"AIRFLOW__CORE__DAGS_FOLDER=(\S+)", env)
    plugins = re.search(r"AIRFLOW__CORE__PLUGINS_FOLDER=(\S+)", env)
    assert dags and plugins
    assert values["dags"]["gitSync"]["enabled"] is False
    assert values["dags"]["persistence"]["enabled"] is False
    assert values["config"]["core"]["dags_folder"] == dags.group(1)
    assert values["config"]["core"]["plugins_folder"] == plugins.group(1)
    bundles = values["dagProcessor"]["dagBundleConfigList"]
    assert [b["kwargs"]["path"] for b in bundles] == [dags.group(1)]
    assert bundles[0]["classpath"] == "airflow.dag_processing.bundles.local.LocalDagBundle"
    from airflow.dag_processing.bundles.local import LocalDagBundle  # the class exists

    assert LocalDagBundle.__name__ in bundles[0]["classpath"]


def test_migration_job_runs_the_project_init(values: dict[str, Any]) -> None:
    args = values["migrateDatabaseJob"]["args"]
    assert args == ["python", "/opt/project/scripts/deploy_init.py"]
    copied = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "scripts/deploy_init.py ./scripts/deploy_init.py" in copied


def test_landing_zone_and_users_are_mounted_for_every_component(values: dict[str, Any]) -> None:
    volumes = {v["name"]: v for v in values["volumes"]}
    mounts = {m["name"]: m for m in values["volumeMounts"]}
    assert volumes.keys() == mounts.keys()
    assert volumes["project-data"]["persistentVolumeClaim"]["claimName"]
    assert mounts["project-data"]["mountPath"] == "/opt/project/data"
    env = {item["name"]: item["value"] for item in values["env"]}
    assert env["PROJECT_DATA_DIR"] == "/opt/project/data"
    passwords = values["config"]["core"]["simple_auth_manager_passwords_file"]
    assert passwords.startswith(mounts["airflow-users"]["mountPath"] + "/")
    assert mounts["airflow-users"]["readOnly"] is True


def test_the_oauth_callback_is_reachable_from_a_browser(values: dict[str, Any]) -> None:
    base_url = values["config"]["api"]["base_url"]
    ingress = values["ingress"]["apiServer"]
    assert ingress["enabled"] is True
    host = ingress["hosts"][0]
    assert base_url == f"https://{host['name']}"
    assert host["tls"]["enabled"] is True and host["tls"]["secretName"]
