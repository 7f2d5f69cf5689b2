"""`python -m include.quality`: the JSON contract, the table, exit codes 0 / 1 / 2."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from include.quality.checks import CHECK_NAMES
from include.quality.cli import main
from include.quality.testing import books_with_open_items, sie_bytes
from include.sie4.records import BalanceKind, RowKind, VoucherRow
from include.warehouse.loader import load_sie

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load(url: str, company_index: int, *, damage: bool = False) -> Any:
    doc, open_items = books_with_open_items(seed=3, company_index=company_index)
    if damage:
        vouchers = list(doc.vouchers)
        extra = VoucherRow(RowKind.TRANS, "2941", (), Decimal("0.10"))
        vouchers[1] = dataclasses.replace(vouchers[1], rows=(*vouchers[1].rows, extra))
        balances = [
            dataclasses.replace(b, amount=b.amount + 5)
            if b.kind is BalanceKind.UB and b.year_index == 0 and b.account == "1930"
            else b
            for b in doc.balances
        ]
        doc = dataclasses.replace(doc, vouchers=tuple(vouchers), balances=tuple(balances))
    return load_sie(
        sie_bytes(doc),
        url,
        lenient=True,
        file_name=f"c{company_index}.se",
        source_kind="fortnox",
        open_items=open_items,
    )


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["run", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_json_names_the_offending_rows_and_exit_1_on_errors(
    warehouse_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _load(warehouse_url, 0)
    bad = _load(warehouse_url, 1, damage=True)
    data_dir = str(tmp_path / "data")

    code, out = _run_json(capsys, "--url", warehouse_url, "--data-dir", data_dir)
    assert code == 1
    runs = {r["org_number"]: r for r in out["runs"]}
    assert set(runs) == {good.org_number, bad.org_number}  # every partition
    assert runs[good.org_number]["status"] in ("passed", "warnings")
    failed = runs[bad.org_number]
    assert failed["status"] == "failed"
    assert failed["fiscal_year_start"] == "2024-01-01" and failed["company"] == bad.company_name
    checks = {c["name"]: c for c in failed["checks"]}
    assert [c["name"] for c in failed["checks"]] == list(CHECK_NAMES)
    assert {c["severity"] for c in checks.values()} == {"error", "warning"}
    (unbalanced,) = checks["voucher_balances"]["failing_rows"]
    assert unbalanced["difference"] == "0.10"  # a decimal string, not a float
    assert {"series", "number"} <= set(unbalanced)
    continuity = {r["account"]: r for r in checks["closing_balance_continuity"]["failing_rows"]}
    assert Decimal(continuity["1930"]["actual"]) - Decimal(continuity["1930"]["expected"]) == 5
    assert isinstance(continuity["1930"]["expected"], str)
    # The loader records the file's KSUMMA outcome: this file carries a verified one.
    assert checks["ksumma"]["status"] == "passed"
    assert Path(out["data_docs"]).is_file()

    # One partition by org number and year: only the good one, exit 0.
    code, out = _run_json(
        capsys,
        "--url",
        warehouse_url,
        "--data-dir",
        data_dir,
        "--company",
        good.org_number.replace("-", ""),
        "--fiscal-year",
        "2024-01-01",
    )
    assert code == 0 and [r["org_number"] for r in out["runs"]] == [good.org_number]


def test_table_for_people(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _load(sqlite_url, 1, damage=True)
    code = main(["run", "--url", sqlite_url, "--data-dir", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 1
    assert f"{bad.company_name} ({bad.org_number}) 2024-01-01  FAILED" in text
    assert "voucher_balances             error    FAILED   1 voucher(s) do not balance" in text
    assert "Data Docs: " in text


def test_unknown_partition_and_unreadable_warehouse_exit_2(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _load(sqlite_url, 0)
    assert main(["run", "--url", sqlite_url, "--company", "999999-9999"]) == 2
    assert "no company '999999-9999' in the warehouse" in capsys.readouterr().err
    assert main(["run", "--url", sqlite_url, "--fiscal-year", "1999-01-01"]) == 2
    assert "no books in the warehouse for fiscal year 1999-01-01" in capsys.readouterr().err
    assert main(["run", "--url", sqlite_url, "--fiscal-year", "next year"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    missing = tmp_path / "missing.db"
    assert main(["run", "--url", f"sqlite:///{missing}"]) == 2
    assert "no warehouse file" in capsys.readouterr().err
    assert not missing.exists()  # reading never creates a database


def test_gate_and_control_accounts_commands(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _load(sqlite_url, 0)
    gate = ["gate", "--url", sqlite_url, "--company", good.org_number, "--fiscal-year", "2024"]
    assert main(gate) == 1
    assert "BLOCKS the closing" in capsys.readouterr().out  # never checked
    main(["run", "--url", sqlite_url, "--data-dir", str(tmp_path)])
    capsys.readouterr()
    assert main([*gate, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["blocks"] is False

    accounts = ["control-accounts", "--url", sqlite_url, "--company", good.org_number]
    assert main([*accounts, "--ar", "1510-1519,1580"]) == 0
    assert "receivables 1510-1519, 1580; payables 2440-2449" in capsys.readouterr().out
    assert main([*accounts, "--ap", "24400-2449"]) == 1
    assert "same length" in capsys.readouterr().err
    assert main([*accounts, "--default"]) == 0
    assert "receivables 1510-1519; payables" in capsys.readouterr().out


@pytest.mark.slow
def test_the_real_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    from include.warehouse import migrate

    url = f"sqlite:///{tmp_path / 'wh.db'}"
    migrate(url)
    result = subprocess.run(
        [sys.executable, "-m", "include.quality", "run", "--url", url, "--company", "1"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no company '1' in the warehouse"
