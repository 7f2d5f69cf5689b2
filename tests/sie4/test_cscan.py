"""The C chunk scanner (``_scan.c``) gives the numpy scanner's findings exactly.

Every chunk is scanned both ways: the same ``_Chunk`` (every array with its dtype, the
header lines, the line count), or both fall back. Over the corpus, the fixtures, the
generated big books, hand-written edge lines and Hypothesis' lines. And the loader
uses a library only if it was built from the current source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _cases import ALPHABET, AWKWARD_ROWS, HEADER, IRREGULAR_ROWS, VOUCHER_HEADS, voucher
from _cscan_kit import BUILT, build, c_scanner, compiler
from _sie4_testkit import CORPUS_DIR, FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from include.sie4 import _cscan, summary
from include.sie4.decoding import BOM
from include.sie4.fastpath import Fallback, line_chunks


@pytest.fixture(autouse=True)
def _c(monkeypatch: pytest.MonkeyPatch) -> None:
    scanner = c_scanner()
    if scanner is None:
        pytest.skip("no C scanner: neither include/sie4/_scan.so nor a C compiler")
    monkeypatch.setattr(summary, "_C_SCANNER", scanner)


Result = tuple[summary._Chunk, int] | None  # None: Fallback


def _scan(scan: object, raw: bytes, final: bool, first_line: int, offset: int) -> Result:
    try:
        return scan(raw, first_line, offset, final)  # type: ignore[operator,no-any-return]
    except Fallback:
        return None


def both(raw: bytes, *, final: bool = True, first_line: int = 1, offset: int = 0) -> Result:
    """The chunk scanned by numpy and by C: the same findings (returned), or both None."""
    expected = _scan(summary._scan_chunk, raw, final, first_line, offset)
    got = _scan(summary._scan_chunk_c, raw, final, first_line, offset)
    if expected is None or got is None:
        assert expected is got, f"numpy {expected is not None}, C {got is not None}: {raw[:300]!r}"
        return None
    (want, want_lines), (have, have_lines) = expected, got
    assert have_lines == want_lines
    assert have.header == want.header
    for name in summary._Chunk.__slots__:
        if name != "header":
            a, b = getattr(have, name), getattr(want, name)
            assert a.dtype == b.dtype, name
            assert np.array_equal(a, b), (name, a[:8], b[:8])
    return got


def chunks_of(data: bytes, block: int) -> Iterator[tuple[int, bytes, bool]]:
    start = len(BOM) if data.startswith(BOM) else 0
    return line_chunks(lambda at, n: data[at : at + n], start, len(data), block)


def agree_on_file(data: bytes, blocks: tuple[int, ...] = (summary.CHUNK, 4096)) -> bool:
    """Every chunk of ``data`` (chunked as inspect chunks it) the same; True if all read."""
    read = True
    for block in blocks:
        for at, raw, final in chunks_of(data, block):
            read = both(raw, final=final, offset=at) is not None and read
    return read


def sie_text(*rows: str, head: str = "#VER A 1 20240105") -> bytes:
    return (HEADER + voucher(*rows, head=head)).encode("utf-8")


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS_DIR.iterdir() if p.name != "MANIFEST.tsv")


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS_DIR.is_dir(), reason="../shared/sie-corpus is absent")
def test_corpus_files() -> None:
    read = [path.name for path in _corpus() if agree_on_file(path.read_bytes())]
    assert len(read) >= 60, read  # most are read, so the comparison is not of fallbacks


@pytest.mark.parametrize(
    "fixture", sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".se", ".si"))
)
def test_fixtures(fixture: str) -> None:
    agree_on_file((FIXTURES / fixture).read_bytes(), (summary.CHUNK, 4096, 64))


@pytest.mark.parametrize("objects", [False, True])
def test_generated_big_books(tmp_path: Path, objects: bool) -> None:
    from include.books import write_large_sie

    path = tmp_path / "large.se"
    write_large_sie(path, seed=11, rows=20_000, objects_on_every_row=objects)
    assert agree_on_file(path.read_bytes())


# Rows both scanners read (the chunk is not refused), and rows both refuse.
READ_ROWS = [
    '#TRANS 1930 {} 1250.00 20240105 "Kund \\"Ett\\"" 2.5 "AA"',
    "#TRANS\t1930\t{}\t5\t\t20240105",
    "#TRANS 1930 { } 5",
    '#TRANS 1930 {1 "100" 6 "P1"} -5.5',
    '#TRANS 1930 {1 "100" 6 "Projekt med ett riktigt långt namn"} 5',  # > 32 bytes
    '#TRANS 1930 {1 "a b"} 5 "" "" "" ""',
    "#TRANS 1930 {} 0",
    "#TRANS 1930 {} -0.00",
    "#TRANS 1930 {} 5.5",
    "#TRANS 1930 {} 1234567890123456",  # 16 integer digits
    "#TRANS 1930 {} -1234567890123456.99",
    "#TRANS 1 {} 5 20230229",  # not a calendar date: checked once per file, later
    "#TRANS 123456 {} 5 20240105 x 1.12345678 sig",
    "#TRANS 1930 {} 5 20240105 x -1234567890",
    "#RTRANS 1930 {} 5",
    "#BTRANS 1930 {} 5",
    '#TRANS 1930 {} 5 "" "C:\\path\\x"',
    '#TRANS 1930 {} 5 "" "a \\"b\\" {c} #d"',
]
REFUSED_ROWS = [
    "#TRANS 1930 {} 12345678901234567",  # 17 integer digits
    "#TRANS 1930 {} 123456789012345678901",
    "#TRANS 1930 {} 5 20241301",  # month 13
    "#TRANS 1930 {} 5 20240132",  # day 32
    "#TRANS 1930 {} 5 20240100",
    "#TRANS 1930 {} 5 2024010",
    "#TRANS 1930 {} 5 2024-01-05",
    "#TRANS 1930 {} 5.555",
    "#TRANS 1930 {} 5,5",
    "#TRANS 1930 {} +5",
    "#TRANS 1930 {} --5",
    "#TRANS 1930 {} 5 20240105 x 1.",
    "#TRANS 1930 {} 5 20240105 x 12345678901",
    "#TRANS 1930 {} 5 20240105 x 1.123456789",
    "#TRANS 1234567 {} 5",
    "#TRANS {} 5",
    "#TRANS 1930 {1 2 5",  # unterminated list
    '#TRANS 1930 {1 "a\\"b"} 5',  # a backslash in a short list
    '#TRANS 1930 {} 5 "" "open',  # unterminated text
    "#TRANS 1930 {} 5 20240105 x 1 sig extra",
    "#TRANS 1930 {} 5 \x01",
    "#TRANS 1930 {} 5 \x7f",
    "#TRANS 1930 {} 5 a\rb",  # CR not before LF
    "#TRANS 1930 {}",
    "#TRANS",
    "#TRANS{} 1930 5",
]


@pytest.mark.parametrize("row", READ_ROWS)
def test_rows_both_read(row: str) -> None:
    for text in (sie_text(row), sie_text(row).replace(b"\n", b"\r\n")):
        found = both(text)
        assert found is not None, row
        assert len(found[0].row_ore) == 1


@pytest.mark.parametrize("row", REFUSED_ROWS)
def test_rows_both_refuse(row: str) -> None:
    assert both(sie_text(row)) is None


@pytest.mark.parametrize("row", AWKWARD_ROWS + IRREGULAR_ROWS)  # the fast paths' edge cases
def test_rows_of_the_shared_cases(row: tuple[str, ...] | str) -> None:
    rows = row if isinstance(row, tuple) else (row,)
    both(sie_text(*rows))
    both(sie_text(*rows).replace(b"\n", b"\r\n"))


@pytest.mark.parametrize(
    "head", [*VOUCHER_HEADS, '#VER A 1 20240105 "" "" ""', "#VER\tA\t1\t20240105"]
)
def test_voucher_heads(head: str) -> None:
    both(sie_text("#TRANS 1930 {} 5", head=head))


def test_amounts_in_ore_and_decimals_as_written() -> None:
    amounts = ["5", "-5", "5.5", "5.50", "-0.05", "1234567890123456.99", "0.1"]
    found = both(sie_text(*(f"#TRANS 1930 {{}} {a}" for a in amounts)))
    assert found is not None
    assert found[0].row_ore.tolist() == [500, -500, 550, 550, -5, 123456789012345699, 10]
    assert found[0].row_decimals.tolist() == [0, 0, 1, 2, 2, 2, 1]


def test_lines_classes_and_offsets() -> None:
    text = b"#FLAGGA 0\r\n\r\n  #VER A 1 20240105\n{\n\t#TRANS 12 {} 5\n}\n#KONTO 12 x"
    for final in (True, False):  # not final: the last line is cut off, the next chunk's
        found = both(text, final=final, first_line=10, offset=1000)
        assert found is not None
        chunk, lines = found
        assert lines == 6
        assert chunk.ver_line.tolist() == [12] and chunk.ver_offset.tolist() == [1013]
        assert chunk.row_line.tolist() == [14] and chunk.row_account_key.tolist() == [12 * 8 + 2]
        headers = [(10, b"#FLAGGA 0\r")] + ([(16, b"#KONTO 12 x")] if final else [])
        assert chunk.header == headers
    for text in (b"", b"\n", b"  \r\n\t\n"):
        both(text, final=True)
        both(text, final=False)


def test_a_line_cut_by_the_chunk_end() -> None:
    row = b"#TRANS 1930 {} 5\n"
    both(b"#VER A 1 20240105\n{\n" + row[:9], final=False)  # the next chunk's
    both(b"#VER A 1 20240105\n{\n" + row[:9], final=True)  # the file's last line
    both(b"#VER A 1 20240105\n{\n#TRANS 1930 {} 5\r", final=False)  # CR at the end


def test_chunk_boundaries_anywhere() -> None:
    data = sie_text(*READ_ROWS, head='#VER "A" 1 20240105 "t" 20240106 sig')
    for block in range(16, 200, 7):
        assert agree_on_file(data, (block,))


def test_object_lists_are_vouched_for_once_per_file() -> None:
    known = summary._ObjectLists()
    raw = sie_text(*['#TRANS 1930 {1 "100"} 5'] * 3, '#TRANS 1930 {1 "200"} 5')
    summary._scan_chunk_c(raw, 1, 0, True, known)
    assert known.checked == {b'{1 "100"}', b'{1 "200"}'}
    summary._scan_chunk_c(raw.replace(b"200", b"300"), 1, 0, True, known)
    assert len(known.checked) == 3


def test_many_distinct_dates_and_lists_take_bigger_tables() -> None:
    # More than the first hash tables hold (2048 each): scanned again with bigger ones.
    rows = [
        f'#TRANS 1930 {{1 "{i}"}} 5 {1900 + i % 200}{1 + i // 200 % 12:02}{1 + i // 2400:02}'
        for i in range(6000)
    ]
    found = both(sie_text(*rows))
    assert found is not None and len(found[0].dates) == 6001
    assert len(set(found[0].dates.tolist())) == 6001


_TOKENS = st.sampled_from(
    [*ALPHABET, "#TRANS", "#RTRANS", "#VER", "A", "-0", "12345678901234567", '"a\\"', "\\"]
)
_SEPARATORS = st.sampled_from([" ", "\t", "  ", " \t"])


@st.composite
def _lines(draw: st.DrawFn) -> str:
    label = draw(st.sampled_from(["#TRANS", "#RTRANS", "#BTRANS", "#VER", "{", "}", "#KONTO"]))
    fields = draw(st.lists(_TOKENS, max_size=7))
    text = label
    for token in fields:
        text += draw(_SEPARATORS) + token
    return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " ", "\r"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_lines(), min_size=1, max_size=8), st.booleans())
def test_generated_lines(lines: list[str], final: bool) -> None:
    both(("\n".join(lines) + "\n").encode("utf-8"), final=final)
    both("\n".join(lines).encode("utf-8"), final=final)


def test_the_built_library_is_the_one_in_use() -> None:
    # `make venv` built it: inspect must use it (else it is stale or broken: make venv).
    if not _cscan.LIBRARY.exists():
        pytest.skip("include/sie4/_scan.so is not built (no C compiler at make venv)")
    assert BUILT is not None, f"{_cscan.LIBRARY} is not used: stale or broken, run make venv"


@pytest.mark.skipif(compiler() is None, reason="no C compiler")
def test_a_library_of_another_source_is_refused(tmp_path: Path) -> None:
    stale = build(tmp_path / "stale.so", "0" * 64)
    assert _cscan.load(stale) is None
    current = build(tmp_path / "current.so", _cscan.source_hash())
    assert isinstance(_cscan.load(current), _cscan.CScanner)
    edited = tmp_path / "_scan.c"
    edited.write_bytes(_cscan.SOURCE.read_bytes() + b"/* edited */\n")
    assert _cscan.load(current, source=edited) is None
    assert _cscan.load(tmp_path / "absent.so") is None
