"""The real files in ../shared/sie-corpus: every file reads, counts match the
manifest, each deliberately broken file is flagged on the defect's line, and
the writer round trip holds where a file reads cleanly."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from _sie4_testkit import CORPUS_DIR

from include.sie4.cli import inspect_summary
from include.sie4.errors import SieError
from include.sie4.reader import parse, read_sie
from include.sie4.validation import comparable
from include.sie4.writer import write_sie

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason="../shared/sie-corpus is absent"),
]


def manifest() -> list[dict[str, str]]:
    if not CORPUS_DIR.is_dir():
        return []
    with (CORPUS_DIR / "MANIFEST.tsv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = manifest()
NAMES = [r["saved_name"] for r in ROWS]
B = "blinfo__Sie4j__BLBLOV_SIE4_UTF_8_"
# (file, line, severity) of each deliberate defect, found by hand.
DEFECTS = [
    (B + "IMBALANCED.SI", 8, "error"),  # voucher sums to 0.55
    (B + "IMBALANCED.SI", 14, "error"),  # voucher sums to -0.14
    (B + "WITH_FAULTY_ADDRESS.SI", 6, "warning"),  # #ADRESS with 3 fields
    (B + "with_8_digit_account_number.SE", 14, "error"),  # #KONTO 11100111
    (B + "with_empty_voucher.SE", 827, "warning"),  # #VER with empty {}
    (B + "with_empty_voucher_date.SI", 8, "error"),  # #VER date ""
    (B + "with_erroneous_taxar.SE", 12, "warning"),  # #TAXAR 2018 ÅRL
    (B + "with_erroneous_voucher_date.SI", 8, "error"),  # "180501"
    (B + "with_errors.SE", 216, "warning"),  # #SRU 1110 " "
    (B + "with_errors.SE", 218, "error"),  # #SRU 11AF 7214
    (B + "with_missing_account_balance.SE", 426, "error"),  # #IB 0 1119 ""
    (B + "with_missing_account_numbers.SE", 14, "error"),  # #KONTO ""
    (B + "with_missing_account_numbers.SE", 15, "error"),
    (B + "with_missing_account_numbers.SE", 16, "error"),
    (B + "with_missing_account_numbers_in_transaction.SI", 10, "error"),  # #TRANS ""
    (B + "with_missing_account_numbers_in_transaction.SI", 16, "error"),
    (B + "with_missing_company_name.SI", 6, "warning"),  # #FNAMN ""
    (B + "with_missing_sru_code.SE", 216, "warning"),  # #SRU 1110
    (B + "with_missing_voucher_date.SI", 8, "error"),  # #VER "K" ""
    (B + "with_unparseable_taxar.SE", 12, "warning"),  # #TAXAR CCMXVIII
    ("blinfo__Sie4j__BLBLOV_SIE1_erroneous_leap_year.SE", 10, "error"),  # year ends before start
]


@pytest.mark.parametrize("name", NAMES)
def test_every_file_reads_strict_and_lenient(name: str) -> None:
    for lenient in (False, True):
        try:
            read_sie(CORPUS_DIR / name, lenient=lenient)
        except SieError as exc:
            assert exc.errors and not exc.unreadable


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["sie_type"] == "4"], ids=lambda r: r["saved_name"]
)
def test_counts_match_manifest(row: dict[str, str]) -> None:
    summary = inspect_summary(parse(CORPUS_DIR / row["saved_name"]))
    assert summary["vouchers"] == int(row["n_VER"])
    assert summary["transactions"] == int(row["n_TRANS"])


def test_every_broken_file_is_in_the_table() -> None:
    broken = {r["saved_name"] for r in ROWS if "BROKEN(deliberate)" in r["notes"]}
    assert broken == {name for name, _, _ in DEFECTS}


@pytest.mark.parametrize(("name", "line", "severity"), DEFECTS)
def test_defect_flagged_on_its_line(name: str, line: int, severity: str) -> None:
    result = parse(CORPUS_DIR / name)
    found = {(d.line, d.severity) for d in (*result.errors, *result.warnings)}
    assert (line, severity) in found, [str(d) for d in (*result.errors, *result.warnings)]


def _clean_files() -> list[str]:
    return [n for n in NAMES if not parse(CORPUS_DIR / n, lenient=True).errors]


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_where_clean(name: str) -> None:
    first = parse(CORPUS_DIR / name, lenient=True)
    if first.errors:
        pytest.skip("file has errors even in lenient mode")
    doc = first.document
    back = read_sie(write_sie(doc, ksumma=True), lenient=True)
    assert comparable(back) == comparable(doc, as_written=True)


def test_most_files_read_cleanly_in_lenient_mode() -> None:
    # Guards against a rule change that silently rejects real books.
    assert len(_clean_files()) >= 60


def test_manifest_paths_exist() -> None:
    assert all(Path(CORPUS_DIR / n).is_file() for n in NAMES)
