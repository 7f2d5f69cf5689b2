"""`python -m include.closing`: the same code as the DAG, exit 0 only when done."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from include.closing.approval import get_approval
from include.closing.cli import main
from include.quality.testing import record_checks
from tests.closing._world import REPO_ROOT, SAMPLE_CSV, START, ClosingWorld, closing_world

YEAR = START.isoformat()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClosingWorld]:
    with closing_world(tmp_path) as world:
        monkeypatch.setenv(
            "AIRFLOW_CONN_FORTNOX_DEFAULT", json.dumps(world.local.airflow_connection())
        )
        yield world


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.mark.sandbox
def test_import_propose_show_approve(
    world: ClosingWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--url", world.url, "--company", world.org_number, "--fiscal-year", YEAR)
    code, text = _run("import", str(SAMPLE_CSV), *where)
    assert code == 0 and "imported: 2 vouchers, 4 rows, 1 attachments" in text
    code, text = _run("import", str(SAMPLE_CSV), *where)
    assert code == 0 and "unchanged" in text

    code, text = _run("propose", *where, "--accept", "all", "--json")
    assert code == 0
    proposals = json.loads(text)
    assert [p["state"] for p in proposals] == ["accepted"] * 3
    assert proposals[1]["rows"][0]["account"] == "8910"

    code, text = _run("show", *where)
    assert code == 0 and "**5 vouchers**" in text and "no decision yet" in text

    record_checks(world.url, world.company_id, START, failed=("voucher_balances",))
    code, _ = _run("approve", *where, "--by", "anna")
    assert code == 1
    assert "cannot go on: Quality run" in capsys.readouterr().err

    record_checks(world.url, world.company_id, START)
    code, text = _run("approve", *where, "--by", "anna", "--comment", "OK", "--json")
    assert code == 0, capsys.readouterr().err
    approval = get_approval(world.url, json.loads(text)["approval_id"])
    assert (approval.state, approval.via, approval.decided_by, approval.comment) == (
        "approved",
        "cli",
        "anna",
        "OK",
    )
    code, text = _run("show", *where)
    assert "latest decision: approved by anna" in text and "matches the set now" in text


def test_a_rejected_file_exits_1_with_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from include.warehouse import load_sie
    from include.warehouse.migrate import migrate
    from tests.closing._closing_testkit import TAX_ORG, tax_books_sie

    url = f"sqlite:///{tmp_path / 'w.db'}"
    migrate(url)
    load_sie(tax_books_sie(), url, file_name="b.se")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "voucher,date,account,debit,credit\nA1,2025-12-31,1930,10.00,\nA1,2025-12-31,3001,,9.00\n",
        encoding="utf-8",
    )
    code, _ = _run("import", str(bad), "--url", url, "--company", TAX_ORG, "--fiscal-year", YEAR)
    assert code == 1
    err = capsys.readouterr().err
    assert "bad.csv:2: voucher A1 (lines 2, 3) does not balance" in err
    assert _run("show", "--url", url, "--company", TAX_ORG, "--fiscal-year", "2025")[0] == 2


def test_the_module_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "include.closing", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0
    for command in ("import", "propose", "show", "approve", "answer"):
        assert command in result.stdout
