"""``inspect``'s fast path gives the record path's JSON object exactly, file by file.

Every case compares ``summary.summarise(path)`` with ``cli.inspect_summary(parse(path))``
(strict and lenient) and the exit status. Where the fast path must not give up,
``fast=True`` fails the test if it falls back to the record path. Each test runs with
either chunk scanner: numpy, and C (``_scan.c``; skipped when it cannot be built).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from _cases import (
    ALPHABET,
    AWKWARD_ROWS,
    HEADER,
    IRREGULAR_ROWS,
    STRUCTURES,
    VOUCHER_HEADS,
    generate_lines,
    voucher,
)
from _cscan_kit import BUILT, c_scanner
from _sie4_testkit import CORPUS_DIR, FIXTURES, REPO_ROOT

from include.sie4 import summary
from include.sie4.cli import inspect_summary
from include.sie4.reader import parse


@pytest.fixture(autouse=True, params=["numpy", "C"])
def scanner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The chunk scanner the test's summaries use (subprocesses: as the process loads it)."""
    chosen = c_scanner() if request.param == "C" else None
    if request.param == "C" and chosen is None:
        pytest.skip("no C scanner: neither include/sie4/_scan.so nor a C compiler")
    monkeypatch.setattr(summary, "_C_SCANNER", chosen)
    return str(request.param)


def record_path(path: Path, lenient: bool) -> tuple[dict[str, object], int]:
    result = parse(path, lenient=lenient)
    status = 2 if result.unreadable else 1 if result.errors else 0
    return inspect_summary(result), status


def agrees(path: Path, *, fast: bool = False) -> bool:
    """Both modes agree; True when the fast path read the file (in both modes)."""
    took_fast = True
    for lenient in (False, True):
        got = summary.summarise(path, lenient=lenient)
        if got is None:
            assert not fast, f"fell back to the record path (lenient={lenient})"
            took_fast = False
            continue
        assert got == record_path(path, lenient)
    return took_fast


def write(tmp_path: Path, text: str, encoding: str = "cp437") -> Path:
    path = tmp_path / "books.se"
    path.write_bytes(text.encode(encoding))
    return path


CLEAN = (
    HEADER
    + voucher(
        '#TRANS 1930 {} 1250.00 20240105 "Kund \\"Ett\\"" 2.5 "AA"',
        '#TRANS 3001 {1 "100" 6 P1} -1000 "" "" "" ""',
        "\t#TRANS 2611 {} -250.0",
        head='#VER A 1 20240105 "Sale" 20240106 "Anna"',
    )
    + voucher(
        "#RTRANS 1930 {} 10.00 20240111",
        "#TRANS 1930 {} 10.00",
        "#BTRANS 3001 {} 99.99",
        '#TRANS 3001 {"1" "200"} -10.00 20240110 "C:\\path\\x" -1.12345678',
        head='#VER "" "" 20240110',
    )
    + voucher(head="#VER B 7 20240201 tom")
)


def test_clean_file_on_the_fast_path(tmp_path: Path) -> None:
    path = write(tmp_path, CLEAN)
    assert agrees(path, fast=True)
    got, status = summary.summarise(path, lenient=False) or ({}, -1)
    assert status == 0 and got["debit_total"] == "1260.00" and got["transactions"] == 5
    assert [w["line"] for w in got["warnings"]] == [24]  # the empty voucher


def test_unbalanced_and_undeclared_are_the_record_paths(tmp_path: Path) -> None:
    text = HEADER + "#UB 0 1930 1\n" + voucher("#TRANS 1930 {} 100.5", "#TRANS 3001 {} -100")
    text += voucher("#TRANS 9999 {} 1", "#TRANS 3001 {} -1", head="#VER A 2 20240105")
    path = write(tmp_path, text)
    assert agrees(path, fast=True)
    got, status = summary.summarise(path, lenient=False) or ({}, -1)
    assert status == 1
    assert got["unbalanced_vouchers"] == [
        {"series": "A", "number": "1", "line": 12, "difference": "0.5"}
    ]
    assert [e["message"] for e in got["errors"]] == [
        "voucher A 1 does not balance: rows sum to 0.5",
        "account 9999 is used but not declared by #KONTO",
    ]


def test_debit_total_keeps_the_written_places(tmp_path: Path) -> None:
    for rows, debit in (
        (("#TRANS 1930 {} 5", "#TRANS 3001 {} -5"), "5"),
        (("#TRANS 1930 {} 5.5", "#TRANS 3001 {} -5.50"), "5.5"),
        (("#TRANS 1930 {} -0.00", "#TRANS 3001 {} 0"), "0"),
        (("#BTRANS 1930 {} 7.25", "#TRANS 3001 {} 0"), "0"),
    ):
        path = write(tmp_path, HEADER + voucher(*rows))
        assert agrees(path, fast=True)
        assert (summary.summarise(path, lenient=True) or ({},))[0]["debit_total"] == debit


@pytest.mark.parametrize("rows", AWKWARD_ROWS)
def test_awkward_but_valid_rows(tmp_path: Path, rows: tuple[str, ...]) -> None:
    agrees(write(tmp_path, HEADER + voucher(*rows)))


@pytest.mark.parametrize("row", IRREGULAR_ROWS)
def test_irregular_rows(tmp_path: Path, row: str) -> None:
    agrees(write(tmp_path, HEADER + voucher(row, "#TRANS 3001 {} -5")))


@pytest.mark.parametrize("head", VOUCHER_HEADS)
def test_voucher_heads(tmp_path: Path, head: str) -> None:
    rows = ("#TRANS 1930 {} 5", "#TRANS 3001 {} -5")
    agrees(write(tmp_path, HEADER + voucher(*rows, head=head), "utf-8"))


@pytest.mark.parametrize("text", STRUCTURES)
def test_block_structure(tmp_path: Path, text: str) -> None:
    agrees(write(tmp_path, text))


def test_random_rows(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    for _ in range(150):
        rows = []
        for _ in range(rng.randint(1, 4)):
            fields = [rng.choice(("#TRANS", "#RTRANS", "#BTRANS"))]
            fields += [rng.choice(ALPHABET) for _ in range(rng.randint(1, 7))]
            rows.append(rng.choice((" ", "\t", "  ")).join(fields))
        agrees(write(tmp_path, HEADER + voucher(*rows)))


def test_tiny_chunks_split_lines_vouchers_and_twins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of a few lines, two in flight: line numbers, vouchers and RTRANS twins
    # span chunks.
    path = write(tmp_path, "\r\n".join(generate_lines(1500, seed=7)) + "\r\n")
    for size in (64, 500, 4096):
        monkeypatch.setattr(summary, "CHUNK", size)
        assert agrees(path, fast=True)


_IN_WORKERS = """
import json, sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from include.sie4 import summary
if sys.argv[2] == "numpy":
    summary._C_SCANNER = None
summary._PROCESS_MIN_BYTES = 0
summary.CHUNK = 4096
path = Path(sys.argv[1])
pool = summary._scan_pool(path.stat().st_size)
expected = ProcessPoolExecutor if sys.argv[2] == "numpy" else ThreadPoolExecutor
assert isinstance(pool, expected), pool
print(json.dumps(summary.summarise(path, lenient=False)))
"""


def test_worker_processes_give_the_same_object(tmp_path: Path, scanner: str) -> None:
    # numpy: a big file's chunks go to forked workers (only in a process without other
    # threads, hence a fresh interpreter); C: to two threads. The same JSON, and a chunk
    # that only the record path can read (a worker raises Fallback) still falls back.
    if scanner == "C" and BUILT is None:
        pytest.skip("the subprocess has no C scanner: include/sie4/_scan.so is not built")

    def in_workers(path: Path) -> object:
        done = subprocess.run(
            [sys.executable, "-c", _IN_WORKERS, str(path), scanner],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        return json.loads(done.stdout)

    path = write(tmp_path, "\r\n".join(generate_lines(3000, seed=11)) + "\r\n")
    summary_object, status = record_path(path, lenient=False)
    assert in_workers(path) == [summary_object, status]
    lines = path.read_bytes().split(b"\r\n")
    row = next(i for i in range(len(lines) // 2, len(lines)) if lines[i].startswith(b"#TRANS"))
    lines[row] = lines[row].replace(b"#TRANS ", b"#TRANS  x", 1)  # an account that is no number
    path.write_bytes(b"\r\n".join(lines))
    assert in_workers(path) is None


def test_last_line_without_newline_and_long_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_text = "x" * 300
    text = HEADER + voucher(f'#TRANS 1930 {{}} 5 "" "{long_text}"', "#TRANS 3001 {} -5")
    monkeypatch.setattr(summary, "CHUNK", 32)
    assert agrees(write(tmp_path, text.rstrip("\n"), "utf-8"), fast=True)


def test_generated_books_with_objects_on_every_row(tmp_path: Path) -> None:
    from include.books import write_large_sie

    for objects in (False, True):
        path = tmp_path / f"large-{objects}.se"
        write_large_sie(path, seed=7, rows=3000, objects_on_every_row=objects)
        assert agrees(path, fast=True)


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".se", ".si"))
)
def test_fixtures(fixture: str) -> None:
    took_fast = agrees(FIXTURES / fixture)
    if fixture in ("clean_4e.se", "utf8.se"):
        assert took_fast


def test_unreadable_files_are_left_to_the_record_path(tmp_path: Path) -> None:
    for data in (b"", b"   \n", b"#FLAGGA 0\x00\n", b"no records\n"):
        path = tmp_path / "x.se"
        path.write_bytes(data)
        assert summary.summarise(path, lenient=False) is None
    assert summary.summarise(tmp_path / "missing.se", lenient=False) is None


def test_cli_prints_the_fast_paths_object(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + voucher("#TRANS 1930 {} 1", "#TRANS 3001 {} -2"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "include.sie4", "inspect", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    expected, status = record_path(path, False)
    assert proc.returncode == status == 1
    assert json.loads(proc.stdout) == expected


def _corpus() -> list[Path]:
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(p for p in CORPUS_DIR.iterdir() if p.name != "MANIFEST.tsv")


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason="../shared/sie-corpus is absent")
def test_corpus_files_agree_and_most_take_the_fast_path() -> None:
    fast = [path.name for path in _corpus() if agrees(path)]
    # Guards against a fast path that quietly gives up on real books.
    assert len(fast) >= 60, fast
