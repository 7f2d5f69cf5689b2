"""The checks over the 77 real SIE files of the shared corpus, on SQLite and PostgreSQL.

The outcomes must agree between the two databases, name what reading the files by hand
shows (the findings below were checked against the files' own lines), and match the table
in docs/quality.md, which is ``python -m include.quality corpus ../shared/sie-corpus
--markdown``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from include.quality.corpus import CorpusReport, check_corpus, markdown, rows
from include.quality.results import CheckResult
from include.warehouse import migrate

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "quality.md"


@pytest.fixture(scope="module")
def sqlite_report(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CorpusReport:
    tmp = tmp_path_factory.mktemp("corpus")
    url = f"sqlite:///{tmp / 'corpus.db'}"
    migrate(url)
    return check_corpus(corpus_dir, url, tmp)


def _result(report: CorpusReport, file: str, check: str) -> CheckResult:
    (outcome,) = [f for f in report.files if f.name == file]
    (result,) = [r for r in outcome.results if r.name == check]
    return result


def test_findings_agree_with_the_files_read_by_hand(sqlite_report: CorpusReport) -> None:
    report = sqlite_report
    # SoftOne XE (jsiSIE writer): voucher 1 1 has rows summing to 2.00.
    (row,) = _result(report, "idstam__jsisie__testWrite.se", "voucher_balances").failing_rows
    assert (row["series"], row["number"], row["difference"]) == ("1", "1", Decimal("2.00"))
    # Visma: voucher A 2 has a fourth row, 3020 {1 Nord} -3550.00, that nothing balances.
    (row,) = _result(
        report, "bjornsandgren__brfnorrakronan__typ4.se", "voucher_balances"
    ).failing_rows
    assert (row["series"], row["number"], row["difference"]) == ("A", "2", Decimal("-3550.00"))
    # Fortnox SIE 4: every account's IB + vouchers = UB; the opening balances sum to 76663.00.
    fortnox = "byrokrat__accounting__Sie4.se"
    assert _result(report, fortnox, "closing_balance_continuity").status == "passed"
    (row,) = _result(report, fortnox, "balance_sheet_balances").failing_rows
    assert row["opening_difference"] == Decimal("76663.00") == -row["difference"]
    # The same books as SIE 1 carry no vouchers: continuity cannot apply.
    sie1 = _result(report, "byrokrat__accounting__Sie1.se", "closing_balance_continuity")
    assert sie1.status == "skipped" and "SIE 1" in sie1.summary
    # Visma eEkonomi "SIE 4" without a single #VER: #IB 0 1630 47735.00, #UB 0 1630 4149.00.
    jokedst = _result(
        report, "jokedst__SieFile__20170101-20171231.se", "closing_balance_continuity"
    )
    by_account = {r["account"]: r for r in jokedst.failing_rows}
    assert (by_account["1630"]["expected"], by_account["1630"]["actual"]) == (
        Decimal("47735.00"),
        Decimal("4149.00"),
    )
    assert jokedst.failing_row_count == 9
    # One voucher emptied: 1930 (-1000.00), 2640 (92.00) and 6072 (908.00) lose their rows.
    empty = "blinfo__Sie4j__BLBLOV_SIE4_UTF_8_with_empty_voucher.SE"
    rows_ = {
        r["account"]: r["difference"]
        for r in _result(report, empty, "closing_balance_continuity").failing_rows
    }
    assert rows_ == {"1930": Decimal("-1000.00"), "2640": Decimal("92.00")}
    (res,) = _result(report, empty, "result_matches_res").failing_rows
    assert (res["account"], res["difference"]) == ("6072", Decimal("908.00"))
    # BL Administration's asset register: twelve monthly vouchers all numbered "# 1".
    (dup,) = _result(
        report, "idstam__jsisie__BL0001_typ4.SE", "unique_voucher_numbers"
    ).failing_rows
    assert (dup["series"], dup["number"], dup["voucher_count"]) == ("#", "1", 12)
    # Import files leave numbers empty: two unnumbered vouchers are not a duplicate.
    assert (
        _result(report, "blinfo__Sie4j__BLBLOV_SIE4.SI", "unique_voucher_numbers").status
        == "passed"
    )
    unbalanced = _result(
        report, "blinfo__Sie4j__BLBLOV_SIE4_UTF_8_IMBALANCED.SI", "voucher_balances"
    )
    assert [r["difference"] for r in unbalanced.failing_rows] == [Decimal("0.55"), Decimal("-0.14")]
    # php-sie: accounts used on rows that #KONTO never declares.
    chart = _result(report, "neam__php-sie__sie_file.se", "accounts_in_chart")
    assert [r["account"] for r in chart.failing_rows] == ["1970", "2611", "4100"]
    # No file has a subledger: the reconciliations never pass or fail on the corpus.
    assert report.count("ar_reconciliation", "skipped") == len(report.loaded)


def test_the_docs_table_is_this_run(sqlite_report: CorpusReport) -> None:
    generated = markdown(sqlite_report)
    lines = generated.splitlines()
    table = [lines[0], *(line for line in lines if line.startswith("| `"))]
    docs = DOCS.read_text()
    missing = [line for line in table if line not in docs]
    assert not missing, (
        "docs/quality.md is out of date; regenerate its corpus section with "
        "`python -m include.quality corpus ../shared/sie-corpus --markdown`:\n" + "\n".join(missing)
    )


@pytest.mark.postgres
def test_postgres_gives_the_same_outcomes(
    sqlite_report: CorpusReport, corpus_dir: Path, pg_schema_url: str, tmp_path: Path
) -> None:
    migrate(pg_schema_url)
    pg = check_corpus(corpus_dir, pg_schema_url, tmp_path)
    assert rows(pg) == rows(sqlite_report)
    # ... and the same offending rows, amounts included.
    summaries = [(f.name, r.name, r.summary) for f in pg.loaded for r in f.results]
    assert summaries == [
        (f.name, r.name, r.summary) for f in sqlite_report.loaded for r in f.results
    ]
    assert re.search(r"\d+ files; \d+ loaded", markdown(pg))
