"""The command line: starts, announces its address, keeps its generated secret out of stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_with_a_generated_secret(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORTNOX_SANDBOX_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "include.fortnox_sandbox",
            "--port",
            "0",
            "--companies",
            "1",
            "--vouchers-per-year",
            "30",
            "--secret-file",
            str(secret_file),
            "--today",
            "2025-12-01",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Fortnox sandbox listening on "):
                break
        base_url = lines[-1].removeprefix("Fortnox sandbox listening on ").strip()
        assert base_url.startswith("http://127.0.0.1:"), lines
        secret = secret_file.read_text(encoding="utf-8").strip()
        assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
        assert any(str(secret_file) in line for line in lines)
        assert all(secret not in line for line in lines)
        tenant = next(line for line in lines if line.startswith("Tenants: ")).split()[1]
        with httpx.Client(base_url=base_url, timeout=10) as http:
            answer = http.post(
                "/oauth-v1/token",
                data={"grant_type": "client_credentials"},
                auth=("sandbox-client", secret),
                headers={"TenantId": tenant},
            )
            token = answer.json()["access_token"]
            info = http.get("/3/companyinformation", headers={"Authorization": f"Bearer {token}"})
            assert info.json()["CompanyInformation"]["DatabaseNumber"] == int(tenant)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
