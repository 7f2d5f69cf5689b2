"""`python -m include.books`: one strict-readable SIE file per year."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from include.books import generate_books
from include.books.__main__ import main
from include.sie4.reader import read_sie
from include.sie4.records import KsummaStatus


def test_generate_writes_one_file_per_year(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        ["generate", "--seed", "4", "--company-index", "2", "--vouchers-per-year", "120",
         "--years", "3", "--ksumma", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    books = generate_books(4, company_index=2, vouchers_per_year=120, years=3)
    org = books.company.org_number.replace("-", "")
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"{org}_{y}.se" for y in (2024, 2025, 2026)]
    for path, year in zip(files, books.years, strict=True):
        doc = read_sie(path)
        assert doc.ksumma is KsummaStatus.OK
        assert doc.fiscal_year(0) is not None
        assert doc.fiscal_year(0).start == year.fiscal_year.start  # type: ignore[union-attr]
        assert len(doc.vouchers) == len(year.vouchers)


def test_large_command_runs_as_a_module(tmp_path: Path) -> None:
    target = tmp_path / "big.se"
    result = subprocess.run(
        [sys.executable, "-m", "include.books", "large", "--seed", "1", "--rows", "3000",
         "--out", str(target)],
        capture_output=True, text=True, check=False, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "rows" in result.stdout and target.stat().st_size > 0
    assert len(read_sie(target).vouchers) > 500


def test_bad_arguments_exit_with_usage(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "include.books", "generate", "--seed", "x", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert result.returncode == 2 and "invalid int value" in result.stderr
