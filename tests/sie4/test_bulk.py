"""The bulk path agrees exactly with the record path: tables, header, errors, warnings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from include.sie4 import bulk
from include.sie4.bulk import SieColumns, document_to_columns, read_columns
from include.sie4.errors import SieError
from include.sie4.reader import read_sie

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "sie-corpus"

HEADER = """#FLAGGA 0
#PROGRAM "Test" 1.0
#FORMAT PC8
#GEN 20250101
#SIETYP 4
#FNAMN "Bulk AB"
#RAR 0 20240101 20241231
#DIM 1 "Kostnadsställe"
#KONTO 1930 "Företagskonto"
#KONTO 3001 "Försäljning"
#KONTO 2611 "Utgående moms"
#IB 0 1930 100.00
"""

CLEAN = (
    HEADER
    + r"""#VER A 1 20240105 "Sale \"big\" one" 20240106 "Anna"
{
   #TRANS 1930 {} 1250.00
   #TRANS 3001 {1 "100"} -1000 20240107 "rad text" 2.5 "Bo"
	#TRANS 2611 { "1" "200" 6 P1 } -250.00 "" "" "" ""
}
#VER "" "" 20240110
{
#RTRANS 1930 {} 10.00 20240111
#TRANS 1930 {} 10.00
#BTRANS 3001 {} 99.99
#TRANS 3001 {} -10.00 20240110 "C:\path\x" -1.12345678
}
#VER B 7 20240201 "tom"
{
}
"""
)


def both(data: bytes, *, lenient: bool = False) -> tuple[SieColumns, SieColumns]:
    expected = document_to_columns(read_sie(data, lenient=lenient))
    return expected, read_columns(data, lenient=lenient)


def assert_same(expected: SieColumns, got: SieColumns) -> None:
    assert got.document == expected.document
    for name in ("vouchers", "rows", "row_objects"):
        a, b = getattr(expected, name), getattr(got, name)
        assert b.schema == a.schema, name
        assert b.equals(a), (name, a.to_pylist()[:5], b.to_pylist()[:5])


def errors_of(data: bytes, reader: object, *, lenient: bool = False) -> SieError:
    with pytest.raises(SieError) as info:
        reader(data, lenient=lenient)  # type: ignore[operator]
    return info.value


@pytest.fixture
def fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if read_columns falls back to the record path."""

    def no_fallback(*args: object, **kwargs: object) -> SieColumns:
        raise AssertionError("fell back to the record path")

    monkeypatch.setattr(bulk, "_record_path", no_fallback)


def test_clean_file_reads_on_the_fast_path_and_agrees(fast_only: None) -> None:
    data = CLEAN.encode("cp437")
    expected = document_to_columns(read_sie(data))
    got = read_columns(data)
    assert_same(expected, got)
    rows = got.rows.to_pylist()
    assert [r["kind"] for r in rows] == [
        "TRANS",
        "TRANS",
        "TRANS",
        "RTRANS",
        "TRANS",
        "BTRANS",
        "TRANS",
    ]
    assert [r["in_balance"] for r in rows] == [True, True, True, False, True, False, True]
    assert rows[1]["amount"] == Decimal("-1000.00") and rows[1]["quantity"] == Decimal("2.5")
    assert rows[6]["text"] == "C:\\path\\x" and rows[6]["quantity"] == Decimal("-1.12345678")
    assert got.vouchers.column("text").to_pylist()[0] == 'Sale "big" one'
    assert got.row_objects.to_pylist() == [
        {"row_index": 1, "position": 0, "dimension": "1", "object_id": "100"},
        {"row_index": 2, "position": 0, "dimension": "1", "object_id": "200"},
        {"row_index": 2, "position": 1, "dimension": "6", "object_id": "P1"},
    ]
    # The empty block is loaded with a warning on its #VER line, as the record path does.
    assert [w.line for w in got.document.warnings] == [26]
    assert got.document.vouchers == ()


def test_schemas_are_the_contract(fast_only: None) -> None:
    got = read_columns(CLEAN.encode("cp437"))
    assert got.rows.schema.field("amount").type == pa.decimal128(18, 2)
    assert got.rows.num_rows == 7 and got.vouchers.num_rows == 3


UNBALANCED = (
    HEADER
    + """#VER A 1 20240105 "x"
{
#TRANS 1930 {} 100.5
#TRANS 3001 {} -100
}
#VER A 2 20240105 "y"
{
#TRANS 9999 {} 1
#TRANS 3001 {} -1
}
"""
)


def test_unbalanced_and_undeclared_strict_errors_are_identical(fast_only: None) -> None:
    data = UNBALANCED.encode("cp437")
    expected = errors_of(data, read_sie)
    got = errors_of(data, read_columns)
    assert got.errors == expected.errors
    assert got.warnings == expected.warnings
    assert [str(e) for e in got.errors] == [
        "line 13: voucher A 1 does not balance: rows sum to 0.5",
        "line 20: account 9999 is used but not declared by #KONTO",
    ]


def test_unbalanced_lenient_loads_with_the_same_warnings(fast_only: None) -> None:
    expected, got = both(UNBALANCED.encode("cp437"), lenient=True)
    assert_same(expected, got)
    assert len(got.document.warnings) == 2


@pytest.mark.parametrize(
    "row",
    [
        "#TRANS 1930 {} 12,50",  # bad amount
        "#TRANS 1930 {} 1.234",  # three decimals
        "#TRANS 19300001 {} 1",  # account too long
        "#TRANS 1930 {} 1 20240230",  # not a calendar date
        "#TRANS 1930 1",  # no object list (warning) then unbalanced
        '#TRANS 1930 {} 1 "open quote',  # unterminated quote
        "#KONTO 1000 x",  # a header record inside a block
        "#TRANS 1930 {1} 1",  # odd object list
    ],
)
def test_irregular_voucher_lines_fall_back_with_exact_diagnostics(row: str) -> None:
    data = (HEADER + f"#VER A 1 20240105\n{{\n{row}\n#TRANS 3001 {{}} -1\n}}\n").encode("cp437")
    for lenient in (False, True):
        try:
            expected = document_to_columns(read_sie(data, lenient=lenient))
        except SieError as exc:
            got = errors_of(data, read_columns, lenient=lenient)
            assert (got.errors, got.warnings) == (exc.errors, exc.warnings)
            continue
        assert_same(expected, read_columns(data, lenient=lenient))


def test_utf8_file_gets_the_readers_encoding_warning(fast_only: None) -> None:
    # Non-ASCII only in a voucher text: the header alone would look like ASCII.
    data = (
        HEADER.replace("ä", "a").replace("ö", "o").replace("å", "a")
        + ('#VER A 1 20240105 "Kaffebröd"\n{\n#TRANS 1930 {} 1\n#TRANS 3001 {} -1\n}\n')
    ).encode("utf-8")
    expected, got = both(data)
    assert_same(expected, got)
    assert got.document.encoding == "utf-8"
    assert any("utf-8" in w.message for w in got.document.warnings)


def test_crlf_bom_blank_lines_and_no_trailing_newline(fast_only: None) -> None:
    text = CLEAN.replace("\n", "\r\n").replace("{\r\n", "{\r\n\r\n").rstrip("\r\n")
    expected, got = both(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert_same(expected, got)


def test_ksumma_is_checked_on_the_full_text() -> None:
    from include.sie4.writer import write_sie

    doc = read_sie(CLEAN.encode("cp437"))
    data = write_sie(doc, ksumma=True)
    expected, got = both(data)
    assert_same(expected, got)
    assert got.document.ksumma.value == "ok"
    # One changed öre in a voucher row: the checksum no longer matches.
    broken = data.replace(b"1250.00", b"1250.01").replace(b"-1000.00", b"-1000.01")
    assert errors_of(broken, read_columns).errors == errors_of(broken, read_sie).errors


def test_unreadable_inputs_raise_like_the_reader(tmp_path: Path) -> None:
    for data in (b"", b"   \n", b"#FLAGGA 0\x00\n"):
        assert errors_of(data, read_columns).errors == errors_of(data, read_sie).errors
    missing = tmp_path / "missing.se"
    with pytest.raises(SieError) as info:
        read_columns(missing)
    assert info.value.unreadable


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.name != "MANIFEST.tsv")


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/sie-corpus is absent")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name[:60])
@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_corpus_file_agrees(path: Path, lenient: bool) -> None:
    try:
        expected = document_to_columns(read_sie(path, lenient=lenient))
    except SieError as exc:
        got = errors_of(path.read_bytes(), read_columns, lenient=lenient)
        assert got.errors == exc.errors and got.warnings == exc.warnings
        return
    assert_same(expected, read_columns(path, lenient=lenient))
