"""The reader follows SIE 4B section 6 label by label (one test per row of the table),
and reads the three kinds of real-file departure in strict mode with warnings.

For each label and each file type 1, 2, 3, 4I and 4E: a mandatory label left out,
an optional one added or left out, a label added where the table does not allow
it. Every file is also read by the fast paths (bulk, inspect), which must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _sie4_testkit import FIXTURES, load_expected

from include.sie4 import summary
from include.sie4.bulk import document_to_columns, read_columns
from include.sie4.cli import inspect_summary
from include.sie4.errors import SieError
from include.sie4.reader import ParseResult, parse, read_sie
from include.sie4.rules import FILE_TYPES, LABEL_TABLE, LabelRule, Missing, Presence
from include.sie4.validation import comparable
from include.sie4.writer import write_sie

VOUCHER = "#VER A 1 20240105\n{\n#TRANS 1930 {} 5\n#TRANS 3010 {} -5\n}"
# One valid record (or block) of each label, in the order a file holds them.
SAMPLES = {
    "#FLAGGA": "#FLAGGA 0",
    "#PROGRAM": '#PROGRAM "Test" 1.0',
    "#FORMAT": "#FORMAT PC8",
    "#GEN": "#GEN 20250101",
    "#SIETYP": "#SIETYP {type}",
    "#PROSA": '#PROSA "Bokslut 2024"',
    "#FTYP": "#FTYP AB",
    "#FNR": "#FNR 4711",
    "#ORGNR": "#ORGNR 556000-0001",
    "#BKOD": "#BKOD 62010",
    "#ADRESS": '#ADRESS "Anna" "Gatan 1" "111 22 Stockholm" "08-123"',
    "#FNAMN": '#FNAMN "Test AB"',
    "#RAR": "#RAR 0 20240101 20241231",
    "#TAXAR": "#TAXAR 2025",
    "#OMFATTN": "#OMFATTN 20241231",
    "#KPTYP": "#KPTYP BAS2014",
    "#VALUTA": "#VALUTA SEK",
    "#KONTO": '#KONTO 1930 "Bank"\n#KONTO 3010 "Försäljning"',
    "#KTYP": "#KTYP 1930 T",
    "#ENHET": "#ENHET 1930 st",
    "#SRU": "#SRU 1930 7281",
    "#DIM": '#DIM 1 "Kostnadsställe"',
    "#UNDERDIM": '#UNDERDIM 21 "Avdelning" 1',
    "#OBJEKT": '#OBJEKT 1 100 "Stockholm"',
    "#IB": "#IB 0 1930 100.00",
    "#UB": "#UB 0 1930 105.00",
    "#OIB": "#OIB 0 1930 {1 100} 100.00",
    "#OUB": "#OUB 0 1930 {1 100} 105.00",
    "#RES": "#RES 0 3010 -5.00",
    "#PSALDO": "#PSALDO 0 202401 3010 {} -5.00",
    "#PBUDGET": "#PBUDGET 0 202401 3010 {} -10.00",
    "#VER": VOUCHER,
    "#TRANS": VOUCHER.replace("A 1", "A 2"),
    "#RTRANS": "#VER A 3 20240106\n{\n#RTRANS 1930 {} 5\n#TRANS 1930 {} 5\n#TRANS 3010 {} -5\n}",
    "#BTRANS": "#VER A 4 20240107\n{\n#BTRANS 1930 {} 7\n#TRANS 1930 {} 5\n#TRANS 3010 {} -5\n}",
}
ORDER = [rule.label for rule in LABEL_TABLE]
RULES = {rule.label: rule for rule in LABEL_TABLE}


def base_labels(kind: str) -> set[str]:
    """A file of each type: its mandatory labels, a chart, and a voucher in type 4."""
    labels = {r.label for r in LABEL_TABLE if r.in_type(kind) is Presence.MANDATORY}
    labels.add("#KONTO")  # #KTYP, #ENHET and #SRU name its account
    labels.add("#SIETYP")  # the type is said (optional in type 1)
    if kind.startswith("4"):
        labels.add("#VER")  # without #SIETYP a file with vouchers is still type 4
    labels.discard("#KSUMMA")
    return labels


def sie_file(kind: str, labels: set[str]) -> bytes:
    lines = [
        SAMPLES[label].replace("{type}", kind[0])
        for label in ORDER
        if label in labels and label in SAMPLES
    ]
    data = ("\n".join(lines) + "\n").encode("cp437")
    if "#KSUMMA" in labels:
        data = write_sie(read_sie(data, lenient=True), ksumma=True)
    return data


def read(tmp_path: Path, data: bytes) -> ParseResult:
    """The record path's reading; the fast paths must agree with it."""
    path = tmp_path / "file.se"
    path.write_bytes(data)
    result = parse(path)
    fast = summary.summarise(path, lenient=False)
    if fast is not None:
        assert fast[0] == inspect_summary(result)
    if result.errors:
        with pytest.raises(SieError) as info:
            read_columns(path)
        assert info.value.errors == result.errors and info.value.warnings == result.warnings
    else:
        assert read_columns(path).document == document_to_columns(result.document).document
    return result


def about(result: ParseResult, label: str) -> list[tuple[int, str]]:
    """The diagnostics that name ``label``."""
    return [
        (d.line, d.message)
        for d in (*result.errors, *result.warnings)
        if f"{label} " in d.message or d.message.endswith(label)
    ]


def line_of(data: bytes, label: str) -> int:
    lines = data.decode("cp437").split("\n")
    return next(i for i, text in enumerate(lines, start=1) if text.startswith(label + " "))


@pytest.mark.parametrize("rule", LABEL_TABLE, ids=lambda r: r.label)
def test_the_table_row(tmp_path: Path, rule: LabelRule) -> None:
    label = rule.label
    for kind in FILE_TYPES:
        base = base_labels(kind)
        with_label = read(tmp_path, sie_file(kind, base | {label}))
        without = read(tmp_path, sie_file(kind, base - {label}))
        assert not with_label.errors and not without.errors, kind
        presence = rule.in_type(kind)
        if label in ("#IB", "#UB", "#OIB", "#OUB", "#RES", "#PSALDO", "#PBUDGET") and kind == "4I":
            # A type 4 file with balance records is an export: the variant is told by them.
            assert (with_label.document.variant, without.document.variant) == ("E", "I")
            assert about(with_label, label) == []
        elif label == "#SIETYP" and kind in ("2", "3"):
            # No #SIETYP means type 1 (SIE 4B): its labels beyond type 1 are then reported.
            assert without.document.sie_type == 1 and about(without, label) == []
            assert any(
                "is not part of a SIE type 1 file" in m for _, m in about(without, "#OMFATTN")
            )
        elif presence is Presence.MANDATORY:
            assert about(with_label, label) == [], kind
            if rule.missing is Missing.WARN:
                assert (1, f"file has no {label} record") in about(without, label), kind
            else:  # zero balances left out, standard dimensions: absence says nothing
                assert about(without, label) == [], kind
        elif presence is Presence.OPTIONAL:
            assert about(with_label, label) == about(without, label) == [], kind
            assert with_label.warnings == without.warnings or label == "#KSUMMA", kind
        else:
            data = sie_file(kind, base | {label})
            name = f"SIE type {kind}"
            assert about(with_label, label) == [
                (
                    line_of(data, label),
                    f"{label} is not part of a {name} file (SIE 4B section 6); read as written",
                )
            ], kind
            # ...and its records are read as written.
            assert comparable(with_label.document) != comparable(without.document), kind


# -- the three kinds of real-file departure (issue 8, section 1) ------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("comment_line_1.se", "comment_line_1"),
        ("budget_rows.se", "budget_rows"),
        ("import_4i.si", "import_4i"),
    ],
)
def test_real_file_departures_read_in_strict_mode(fixture: str, expected: str) -> None:
    result = parse(FIXTURES / fixture)  # strict, as load and inspect read by default
    summary_json = inspect_summary(result)
    summary_json.pop("file")
    assert summary_json == load_expected(f"{expected}.expected.json")
    assert not result.errors and result.warnings
    assert agree_everywhere(FIXTURES / fixture)


def agree_everywhere(path: Path) -> bool:
    for lenient in (False, True):
        result = parse(path, lenient=lenient)
        fast = summary.summarise(path, lenient=lenient)
        assert fast is not None and fast[0] == inspect_summary(result)
        cols = read_columns(path, lenient=lenient)
        assert cols.document == document_to_columns(result.document).document
    return True


def test_comment_lines_before_the_first_record_are_warnings() -> None:
    result = parse(FIXTURES / "comment_line_1.se")
    assert [(w.line, w.severity) for w in result.warnings] == [(1, "warning"), (3, "warning")]
    assert all("before the first record" in w.message for w in result.warnings)
    # The same line among the records may be a broken record: an error, as before.
    data = (FIXTURES / "comment_line_1.se").read_bytes().replace(b"#FNAMN", b"; x\n#FNAMN")
    with pytest.raises(SieError, match="line 9: not a SIE record: '; x'"):
        read_sie(data)


def test_bad_budget_rows_are_left_out_in_both_modes() -> None:
    for lenient in (False, True):
        doc = read_sie(FIXTURES / "budget_rows.se", lenient=lenient)
        budgets = [(b.kind.value, b.period, str(b.amount)) for b in doc.period_balances]
        assert budgets == [("PSALDO", "202401", "-500.00"), ("PBUDGET", "202404", "-750.00")]
        lines = [w.line for w in doc.warnings]
        assert lines == [13, 14, 15, 16, 17, 19]
    # A bad balance that is not a budget stays an error.
    data = (
        (FIXTURES / "budget_rows.se").read_bytes().replace(b"#PSALDO 0 202401", b"#PSALDO 0 2024")
    )
    with pytest.raises(SieError, match=r"line 12: #PSALDO: bad period"):
        read_sie(data)


def test_undeclared_accounts_in_4i_are_warnings_in_4e_errors() -> None:
    doc = read_sie(FIXTURES / "import_4i.si")
    assert doc.variant == "I" and [w.line for w in doc.warnings] == [11, 12]
    # The same rows in an export (it has balances): the chart is mandatory there.
    data = (
        (FIXTURES / "import_4i.si")
        .read_bytes()
        .replace(
            b'#KONTO 1510 "Kundfordringar"\n', b'#KONTO 1510 "Kundfordringar"\n#UB 0 1510 1875.00\n'
        )
    )
    with pytest.raises(SieError) as info:
        read_sie(data)
    assert [e.line for e in info.value.errors] == [12, 13]
    assert read_sie(data, lenient=True).variant == "E"
