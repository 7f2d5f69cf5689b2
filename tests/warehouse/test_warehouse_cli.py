"""The CLI: migrate, load (exit codes, rejected files listed with lines), trial-balance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from include.warehouse import head_revision
from include.warehouse.__main__ import main


def test_migrate_load_and_trial_balance(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    assert main(["migrate", "--url", url]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out

    assert main(["load", str(fixtures_dir / "testbolaget_2024.se"), "--url", url]) == 0
    out = capsys.readouterr().out
    assert "testbolaget_2024.se: loaded" in out
    assert "Testbolaget i Norr AB (556677-8899)" in out
    assert "2024-01-01 .. 2024-12-31" in out
    assert "voucher_row" in out and " 16" in out

    assert main(["load", str(fixtures_dir / "testbolaget_2024.se"), "--url", url]) == 0
    assert "already loaded, skipped" in capsys.readouterr().out
    assert main(["load", str(fixtures_dir / "testbolaget_2024.se"), "--url", url, "--force"]) == 0
    assert ": loaded" in capsys.readouterr().out

    assert main(["trial-balance", "--org", "5566778899", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "Fiscal year    2024-01-01 .. 2024-12-31" in out
    line_1930 = next(line for line in out.splitlines() if line.startswith("1930"))
    assert line_1930.split()[1] == "Företagskonto"
    # opening, movements, closing, reported, with spaces as thousands separators
    assert line_1930.endswith("100 000.00        3 900.00      103 900.00      103 900.00")


def test_rejected_file_exits_1_listing_lines(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    main(["migrate", "--url", url])
    capsys.readouterr()
    assert main(["load", str(fixtures_dir / "rejected_bad_amount.se"), "--url", url]) == 1
    err = capsys.readouterr().err
    assert "rejected_bad_amount.se: rejected" in err
    assert "line 60: #TRANS: bad amount '12x500.00'" in err


def test_load_into_unmigrated_db_and_missing_file_exit_1(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    assert main(["load", str(fixtures_dir / "testbolaget_2024.se"), "--url", url]) == 1
    assert "run: migrate" in capsys.readouterr().err
    main(["migrate", "--url", url])
    assert main(["load", str(tmp_path / "nope.se"), "--url", url]) == 1
    assert "nope.se" in capsys.readouterr().err
    assert main(["trial-balance", "--org", "556677-8899", "--url", url]) == 1


def test_python_dash_m_uses_warehouse_url(tmp_path: Path, repo_root: Path) -> None:
    env = {**os.environ, "WAREHOUSE_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "include.warehouse", "migrate"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env.db").is_file()


def test_older_file_exits_1_and_force_loads_it(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    main(["migrate", "--url", url])
    original = fixtures_dir / "testbolaget_2024.se"
    newer = tmp_path / "newer.se"
    newer.write_bytes(original.read_bytes().replace(b"#GEN 20250110", b"#GEN 20250301"))
    assert main(["load", str(newer), "--url", url]) == 0
    capsys.readouterr()
    assert main(["load", str(original), "--url", url]) == 1
    err = capsys.readouterr().err
    assert "testbolaget_2024.se: not loaded" in err and "--force" in err
    assert main(["load", str(original), "--url", url, "--force"]) == 0
    assert "testbolaget_2024.se: loaded" in capsys.readouterr().out


def test_python_dash_m_load_runs_without_pandas_and_scipy(
    tmp_path: Path, repo_root: Path, fixtures_dir: Path
) -> None:
    """The CLI process keeps pandas and scipy out (start-up time); loading still works."""
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    main(["migrate", "--url", url])
    probe = (
        "import runpy, sys\n"
        "try:\n"
        "    runpy.run_module('include.warehouse', run_name='__main__')\n"
        "finally:\n"
        "    loaded = sorted(m for m in ('pandas', 'scipy') if m in sys.modules)\n"
        "    print('imported:', loaded, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "load", str(fixtures_dir / "testbolaget_2024.se")],
        cwd=repo_root,
        env={**os.environ, "WAREHOUSE_URL": url, "PYTHONPATH": str(repo_root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "testbolaget_2024.se: loaded" in done.stdout
    assert "imported: []" in done.stderr
