"""`python -m include.closing export` as operators and scripts run it: JSON, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from include.closing.export_testing import (
    approve,
    closing_vouchers,
    link_company,
    refused_voucher,
)
from tests.closing._export_testkit import World, export_world

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
YEAR = date(2025, 1, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with export_world(tmp_path_factory.mktemp("export-cli"), companies=1, seed=41) as w:
        yield w


def cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **world.env,
        "PYTHONPATH": str(REPO_ROOT),
        "AIRFLOW_CONN_FORTNOX_DEFAULT": json.dumps(world.local.airflow_connection()),
    }
    return subprocess.run(
        [sys.executable, "-m", "include.closing", "export", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )


def test_json_lists_every_voucher_and_exit_0_only_when_all_are_done(
    world: World, sqlite_url: str
) -> None:
    company_id = link_company(sqlite_url, world.tenant(0))
    vouchers = closing_vouchers(2, tag="cli")
    approval = approve(sqlite_url, company_id, YEAR, vouchers)

    done = cli(world, "--url", sqlite_url, "--approval", approval.approval_id, "--json")

    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)  # stdout is the JSON and nothing else
    assert report["ok"] is True and report["sent_in_this_run"] == 2
    assert [v["reference"] for v in report["vouchers"]] == [v.reference for v in vouchers]
    for line in report["vouchers"]:
        assert line["state"] == "sent" and line["verified"] is True
        assert line["series"] == "A" and isinstance(line["number"], int)
        assert line["idempotency_key"].startswith("ce1-") and line["file_id"]
    assert "sent as A" in done.stderr  # progress goes to stderr with --json
    held = world.count(world.tenant(0), [v["idempotency_key"] for v in report["vouchers"]])
    assert held.duplicates() == [] and len(held.vouchers) == 2 and len(held.connections) == 2

    again = cli(world, "--url", sqlite_url, "--approval", approval.approval_id)
    assert again.returncode == 0, again.stderr
    assert "2 of 2 vouchers sent and verified; 0 sent in this run." in again.stdout
    assert "ADJ-cli-1" in again.stdout


def test_exit_1_when_a_voucher_is_refused_and_2_when_the_export_is(
    world: World, sqlite_url: str
) -> None:
    company_id = link_company(sqlite_url, world.tenant(0))
    bad = refused_voucher(1, tag="cli-bad")
    approval = approve(sqlite_url, company_id, YEAR, (bad,))
    refused_one = cli(world, "--url", sqlite_url, "--approval", approval.approval_id, "--json")
    assert refused_one.returncode == 1
    (line,) = json.loads(refused_one.stdout)["vouchers"]
    assert line["state"] == "failed" and "9999" in line["detail"]

    rejection = approve(
        sqlite_url, company_id, YEAR, closing_vouchers(1, tag="cli-no"), state="rejected"
    )
    refused = cli(world, "--url", sqlite_url, "--approval", rejection.approval_id, "--json")
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["refused"].startswith(f"approval {rejection.approval_id}")
    assert "export refused" in refused.stderr

    unknown = cli(world, "--url", sqlite_url, "--approval", "apr-nope")
    assert unknown.returncode == 2 and "no approval 'apr-nope'" in unknown.stderr
