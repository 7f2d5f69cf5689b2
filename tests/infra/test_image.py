"""The Dockerfile (linted by hadolint, read instruction by instruction) and the pins it installs.

No Docker engine here, so the image is not built; what can be checked is checked: the base is
the official Airflow image of the pinned version, the runtime installs the runtime pins only,
every file it copies exists and reaches the build context, and the executors the deployments
use load with the pinned set.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra import DOCKERFILE, REPO_ROOT, instructions, pins

DEV_TOOLS = {"pytest", "pytest-timeout", "hypothesis", "pytest-benchmark", "ruff", "mypy"}


def base_image() -> str:
    args = {}
    for keyword, rest in instructions():
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            args[name] = value
        if keyword == "FROM":
            image = rest.split()[0]
            return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
    raise AssertionError("no FROM")


def test_hadolint_passes() -> None:
    binary = Path(sys.executable).with_name("hadolint")
    if not binary.exists():
        found = shutil.which("hadolint")
        assert found, "hadolint is not installed (requirements-dev.txt: make venv)"
        binary = Path(found)
    result = subprocess.run(
        [str(binary), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM apache/airflow:latest\nRUN pip install requests\n", encoding="utf-8")
    binary = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(binary), str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the latest tag


def test_base_is_the_official_airflow_image_of_the_pinned_version() -> None:
    image = base_image()
    match = re.fullmatch(
        r"apache/airflow:(?:slim-)?(?P<airflow>[\d.]+)-python(?P<python>3\.\d+)(@sha256:[0-9a-f]{64})?",
        image,
    )
    assert match, image
    assert match["airflow"] == pins(REPO_ROOT / "requirements.txt")["apache-airflow"]
    assert match["airflow"] == "3.3.2"
    assert match["python"] == "3.11"  # the lock is resolved for Python 3.11 (pyproject)


def test_runtime_installs_the_runtime_pins_within_the_lock_and_no_dev_tools() -> None:
    runs = [rest for keyword, rest in instructions() if keyword == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1
    install = installs[0]
    assert "-r requirements.txt" in install and "-c constraints.txt" in install
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install  # Airflow stays the base's
    assert "requirements-dev" not in " ".join(runs)
    copied = " ".join(rest for keyword, rest in instructions() if keyword == "COPY")
    assert "requirements-dev.txt" not in copied and "tests" not in copied
    assert not DEV_TOOLS & pins(REPO_ROOT / "requirements.txt").keys()
    assert pins(REPO_ROOT / "requirements-dev.txt").keys() >= DEV_TOOLS


def test_the_lock_pins_every_requirement_at_the_same_version() -> None:
    lock = pins(REPO_ROOT / "constraints.txt")
    runtime = pins(REPO_ROOT / "requirements.txt")
    dev = pins(REPO_ROOT / "requirements-dev.txt")
    assert not runtime.keys() & dev.keys()
    for name, version in {**runtime, **dev}.items():
        assert lock.get(name) == version, f"{name}=={version} is not in constraints.txt"


def test_every_copied_path_exists_and_reaches_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def included(relative: str) -> bool:
        keep = True  # the last matching pattern decides, as Docker reads .dockerignore
        for pattern in patterns:
            negated = pattern.startswith("!")
            body = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(relative, body) or relative.startswith(body + "/"):
                keep = negated
        return keep

    for keyword, rest in instructions():
        if keyword != "COPY":
            continue
        sources = [part for part in rest.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (REPO_ROOT / source).exists(), source
            assert included(source), f"{source} is excluded by .dockerignore"
    for secret in (".env", "airflow_home/secrets.env", ".venv/bin/python", "data/warehouse.db"):
        assert not included(secret), f"{secret} would be sent to the build"


def test_image_runs_as_the_airflow_user_with_the_project_on_the_import_path() -> None:
    users = [rest for keyword, rest in instructions() if keyword == "USER"]
    assert users[-1] == "50000"  # the official image's airflow user, not root
    env = " ".join(rest for keyword, rest in instructions() if keyword == "ENV")
    assert "PYTHONPATH=/opt/project" in env
    assert "AIRFLOW__CORE__DAGS_FOLDER=/opt/project/dags" in env
    assert "AIRFLOW__CORE__PLUGINS_FOLDER=/opt/project/plugins" in env


@pytest.mark.slow
def test_the_executors_of_the_deployments_load_with_the_pinned_set() -> None:
    """Celery (compose variant, Helm) and Kubernetes (Helm) providers are in the lock."""
    code = (
        "from airflow.providers.celery.executors.celery_executor import CeleryExecutor\n"
        "from airflow.providers.cncf.kubernetes.executors.kubernetes_executor import "
        "KubernetesExecutor\n"
        "print(CeleryExecutor.__name__, KubernetesExecutor.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["CeleryExecutor", "KubernetesExecutor"]
