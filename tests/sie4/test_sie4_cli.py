"""`python -m include.sie4 inspect`: JSON contract and exit codes 0/1/2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _sie4_testkit import FIXTURES, REPO_ROOT, load_expected


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "include.sie4", "inspect", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
    )


def test_clean_file_json_exit_0() -> None:
    proc = run(str(FIXTURES / "clean_4e.se"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    expected = load_expected("clean_4e.expected.json")
    for key in (
        "sie_type",
        "encoding",
        "company_name",
        "org_number",
        "fiscal_years",
        "accounts",
        "vouchers",
        "transactions",
        "added_rows",
        "removed_rows",
        "debit_total",
        "unbalanced_vouchers",
        "ksumma",
        "errors",
        "warnings",
    ):
        assert out[key] == expected[key], key
    assert out["debit_total"] == "1450.00" and out["transactions"] == 6


def test_errors_exit_1_and_counts_still_printed() -> None:
    proc = run(str(FIXTURES / "broken.se"), "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["vouchers"] == 4 and out["transactions"] == 10
    assert {"line": 12, "message": "#IB: amount '12.345' has more than 2 decimals"} in out["errors"]
    assert out["unbalanced_vouchers"] == [
        {"series": "A", "number": "1", "line": 14, "difference": "1.00"}
    ]
    lenient = run(str(FIXTURES / "broken.se"), "--json", "--lenient")
    assert lenient.returncode == 1  # bad dates/amounts stay errors


def test_unreadable_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "nope.se")).returncode == 2
    binary = tmp_path / "x.se"
    binary.write_bytes(b"\x00\x01\x02")
    proc = run(str(binary), "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["errors"]


def test_human_summary() -> None:
    proc = run(str(FIXTURES / "clean_4e.se"))
    assert proc.returncode == 0
    assert "SIE 4E" in proc.stdout and "3 vouchers" in proc.stdout
