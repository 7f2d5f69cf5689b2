"""The reader: fixture files against their expected JSON, and one test per rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from _sie4_testkit import FIXTURES, HEADER, fixture_bytes, load_expected, sie

from include.sie4 import SieError
from include.sie4.cli import inspect_summary
from include.sie4.reader import decode_sie_bytes, parse, read_sie
from include.sie4.records import BalanceKind, KsummaStatus, RowKind


@pytest.mark.parametrize(
    ("fixture", "lenient"),
    [
        ("clean_4e", False),
        ("broken", False),
        ("broken", True),
        ("latin1", False),
        ("utf8", False),
        ("truncated_ksumma", False),
    ],
)
def test_fixture_matches_expected_json(fixture: str, lenient: bool) -> None:
    summary = inspect_summary(parse(FIXTURES / f"{fixture}.se", lenient=lenient))
    summary.pop("file")
    suffix = ".lenient" if lenient else ""
    assert summary == load_expected(f"{fixture}{suffix}.expected.json")


def test_clean_file_records() -> None:
    doc = read_sie(FIXTURES / "clean_4e.se")
    assert doc.sie_type == 4 and doc.variant == "E"
    assert doc.company.name == "Exempel AB"
    assert doc.company.address is not None and doc.company.address.postal == "111 22 Stockholm"
    assert doc.fiscal_year(-1) is not None
    accounts = {a.number: a for a in doc.accounts}
    assert accounts["3010"].name == 'Försäljning "tjänster"'
    assert accounts["1930"].account_type == "T" and accounts["1930"].sru_codes == ("7281",)
    assert accounts["6110"].unit == "st"
    assert doc.balances_of(BalanceKind.IB, -1) == {"1930": Decimal("5000")}
    assert doc.balances_of(BalanceKind.RES)["6110"] == Decimal("0.00")
    assert [d.parent for d in doc.dimensions] == [None, "1", None]
    assert doc.object_balances[0].objects == (("1", "100"),)
    assert doc.period_balances[1].quantity == Decimal("2.5")
    first, second, third = doc.vouchers
    assert first.registered_on == date(2024, 1, 16) and first.signature == "AA"
    assert first.rows[0].text == 'Kund "Ett"' and first.rows[0].date == date(2024, 1, 15)
    assert first.rows[1].objects == (("1", "100"), ("6", "P1"))
    assert first.rows[2].quantity == Decimal("1.5") and first.rows[2].signature == "AA"
    assert second.text == "Rättelse C:\\Temp\\fil"
    assert [(r.kind, r.in_balance) for r in second.rows] == [
        (RowKind.BTRANS, False),
        (RowKind.RTRANS, False),
        (RowKind.TRANS, True),
        (RowKind.TRANS, True),
    ]
    assert second.balance_difference == 0
    # An RTRANS without a TRANS twin counts.
    assert third.series == "#" and [r.in_balance for r in third.rows] == [True, True]
    assert all(v.balance_difference == 0 for v in doc.vouchers)
    assert doc.warnings == ()


def test_strict_error_names_file_and_every_line() -> None:
    with pytest.raises(SieError) as caught:
        read_sie(FIXTURES / "broken.se")
    err = caught.value
    assert "broken.se" in str(err)
    assert [e.line for e in err.errors] == [10, 11, 12, 13, 14, 19, 24, 26, 27, 28, 31]
    assert "line 10" in str(err) and not err.unreadable


def test_source_name_is_used_for_bytes() -> None:
    with pytest.raises(SieError, match=r"^upload\.se: "):
        read_sie(fixture_bytes("broken.se"), source_name="upload.se")


def test_lenient_downgrades_only_tolerable_defects() -> None:
    result = parse(FIXTURES / "broken.se", lenient=True)
    assert {w.line for w in result.warnings} >= {13, 14, 27}
    assert {e.line for e in result.errors} == {10, 11, 12, 19, 24, 26, 28, 31}


def test_unbalanced_voucher_strict_and_lenient() -> None:
    data = sie(HEADER + "#VER A 1 20240105\n{\n#TRANS 1930 {} 10.00\n#TRANS 3010 {} -9.99\n}\n")
    with pytest.raises(SieError, match=r"line 8: voucher A 1 does not balance: rows sum to 0.01"):
        read_sie(data)
    doc = read_sie(data, lenient=True)
    assert doc.vouchers[0].balance_difference == Decimal("0.01")
    assert doc.warnings[0].line == 8 and doc.warnings[0].severity == "warning"


def test_empty_voucher_is_a_warning() -> None:
    doc = read_sie(sie(HEADER + '#VER A 1 20240105 "Tom"\n{\n}\n'))
    assert doc.vouchers[0].rows == ()
    assert [(w.line, "empty" in w.message) for w in doc.warnings] == [(8, True)]


def test_rtrans_twin_is_paired_by_position_even_if_dates_differ() -> None:
    data = sie(
        HEADER
        + "#VER A 1 20240105\n{\n#RTRANS 1930 {} 50 20240301\n#TRANS 1930 {} 50\n"
        + "#TRANS 3010 {} -50\n}\n"
    )
    rows = read_sie(data).vouchers[0].rows
    assert [r.in_balance for r in rows] == [False, True, True]


def test_undeclared_account_by_file_type() -> None:
    body = "#VER A 1 20240105\n{\n#TRANS 1930 {} 5\n#TRANS 3010 {} -5\n}\n"
    assert read_sie(sie(HEADER + body)).vouchers  # no #KONTO at all: nothing to check
    chart = '#KONTO 1930 "Bank"\n'
    # 4E (it has balances): the chart is mandatory, an account outside it is tolerable.
    with pytest.raises(SieError, match="line 13: account 3010 is used but not declared"):
        read_sie(sie(HEADER + chart + "#UB 0 1930 5\n" + body))
    # 4I: the chart is optional (SIE 4B section 6), so a warning in strict mode too.
    doc = read_sie(sie(HEADER + chart + body))
    assert doc.variant == "I"
    assert [(w.line, w.message) for w in doc.warnings] == [
        (12, "account 3010 is used but not declared by #KONTO")
    ]


def test_unknown_labels_and_extra_fields_are_warnings() -> None:
    doc = read_sie(sie(HEADER + '#NYTT 1 2\n#KONTO 1930 "Bank" extra\n#ADRESS "a" "b" "c"\n'))
    messages = {w.line: w.message for w in doc.warnings}
    assert "unknown record #NYTT" in messages[8]
    assert "extra field" in messages[9]
    assert "#ADRESS has 3 fields" in messages[10]


def test_missing_mandatory_records_are_warnings_on_line_1() -> None:
    doc = read_sie(b'#KONTO 1930 "Bank"\n')
    assert doc.sie_type == 1 and doc.variant is None  # no #SIETYP: type 1 (SIE 4B)
    missing = sorted(w.message.split()[3] for w in doc.warnings if w.line == 1)
    # Type 1's mandatory labels; #SIETYP is optional there, the balances may be left out.
    assert missing == ["#FLAGGA", "#FNAMN", "#FORMAT", "#GEN", "#PROGRAM", "#RAR", "#SRU"]


def test_ver_without_opening_brace_reads_its_rows() -> None:
    data = sie(HEADER + "#VER A 1 20240105\n#TRANS 1930 {} 5\n#TRANS 3010 {} -5\n}\n")
    result = parse(data)
    assert [(e.line, e.message) for e in result.errors] == [(8, "#VER block has no opening '{'")]
    assert len(result.document.vouchers[0].rows) == 2


def test_truncated_ksumma_is_an_error_even_without_verification() -> None:
    with pytest.raises(SieError, match="truncated"):
        read_sie(FIXTURES / "truncated_ksumma.se", verify_checksum=False)


def test_unreadable_inputs(tmp_path: Path) -> None:
    for data in (b"", b"\x00\x01binary\x00", b"just some text\nno records\n"):
        with pytest.raises(SieError) as caught:
            read_sie(data)
        assert caught.value.unreadable
    with pytest.raises(SieError) as caught:
        read_sie(tmp_path / "missing.se")
    assert caught.value.unreadable and "missing.se" in str(caught.value)


def test_decode_encodings() -> None:
    text, encoding, warnings = decode_sie_bytes(fixture_bytes("utf8.se"))
    assert encoding == "utf-8" and "€" in text and warnings[0].line == 3
    text, encoding, warnings = decode_sie_bytes(fixture_bytes("latin1.se"))
    assert encoding == "latin-1" and "Små företag ÅÄÖ" in text and warnings[0].line == 3
    text, encoding, warnings = decode_sie_bytes('#FNAMN "Övningsbolaget"\n'.encode("cp437"))
    assert encoding == "cp437" and "Övningsbolaget" in text and warnings == []
    # A file without #FORMAT: the warning goes on line 1.
    _, encoding, warnings = decode_sie_bytes('#FNAMN "Å"\n'.encode())
    assert encoding == "utf-8" and warnings[0].line == 1


def test_ksumma_status_on_the_document() -> None:
    from include.sie4.writer import write_sie

    data = write_sie(read_sie(FIXTURES / "clean_4e.se"), ksumma=True)
    assert read_sie(data).ksumma is KsummaStatus.OK
    tampered = data.replace(b"1250.00", b"1250.01").replace(b"-1000.00", b"-1000.01")
    with pytest.raises(SieError, match="KSUMMA mismatch"):
        read_sie(tampered)
    assert read_sie(tampered, verify_checksum=False).vouchers
