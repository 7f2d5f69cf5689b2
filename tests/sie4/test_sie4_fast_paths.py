"""The record path's fast paths read and write exactly what the general code does.

The reader takes plain ``#TRANS``/``#VER`` lines without the lexer and the
lexer splits plain lines without its tokenizer; here both are switched off
(their patterns replaced by one that never matches) and the results compared,
diagnostics and #KSUMMA included, on generated lines full of awkward tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from include.sie4 import lexer, voucher_records
from include.sie4.lexer import LexError, encode_cp437, split_line
from include.sie4.reader import ParseResult, parse
from include.sie4.records import KsummaStatus, RowKind, SieDocument, Voucher, VoucherRow
from include.sie4.writer import write_sie
from tests.sie4._sie4_testkit import HEADER, sie

_NEVER = re.compile(r"(?!)")


@contextmanager
def _general_path_only() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(voucher_records, "FAST_ROW", _NEVER)
        m.setattr(voucher_records, "FAST_VER", _NEVER)
        m.setattr(lexer, "_PLAIN_LINE", _NEVER)
        yield


def _summary(result: ParseResult) -> tuple[object, ...]:
    return (
        result.document,
        result.errors,
        result.warnings,
        list(result.label_counts.items()),  # order too
        result.unreadable,
    )


def _both_ways(data: bytes, *, lenient: bool = False, verify_checksum: bool = True) -> ParseResult:
    fast = parse(data, lenient=lenient, verify_checksum=verify_checksum)
    with _general_path_only():
        general = parse(data, lenient=lenient, verify_checksum=verify_checksum)
    assert _summary(fast) == _summary(general)
    return fast


# Field pieces chosen to sit on the edges of the fast patterns; readable ones
# first and drawn more often (see _pick) so many rows take the fast path.
_ACCOUNTS = ["1930", "3010", "1", "123456", "1234567", "19a0", '"1930"', ""]
_OBJECTS = [
    "{}",
    "{ }",
    '{"1" "100"}',
    "{1 100}",
    '{1 "a b"}',
    "{1}",
    '{1 "x}',
    '{1 "a\\b"}',
    '{"6" "P-17" "1" ""}',
    "{1 a}{2 b}",
    "",
]
_AMOUNTS = ["100.00", "-250.5", "0", "1.234", "+5", "1,00", "12x", '""', "-0.01"]
_DATES = ["20240105", "20240230", "2024010", '""', "x", '"20240105"']
_TEXTS = [
    '"Kund 17"',
    '""',
    '"Faktura \\"Åkeri\\""',
    '"C:\\mapp\\fil"',
    '"a{b}"',
    '"\\\\"x"',
    '"slut\\"',
    "bar",
    '"tab\there"',
    '"öppen',
    '"x""y"',
]
_QUANTITIES = ["3", "-1.5", "1.123456789", '""', "x"]
_GAPS = [" ", "  ", "\t", " \t "]


def _pick(values: list[str], readable: int) -> st.SearchStrategy[str]:
    """One of ``values``; one of the first ``readable`` ones three times in four."""
    return st.one_of(
        st.sampled_from(values[:readable]),
        st.sampled_from(values[:readable]),
        st.sampled_from(values[:readable]),
        st.sampled_from(values),
    )


@st.composite
def _row_line(draw: st.DrawFn) -> str:
    label = draw(st.sampled_from(["#TRANS", "#TRANS", "#RTRANS", "#BTRANS"]))
    parts = [label, draw(_pick(_ACCOUNTS, 3)), draw(_pick(_OBJECTS, 5))]
    parts.append(draw(_pick(_AMOUNTS, 3)))
    optional = [
        _pick(_DATES, 2),
        _pick(_TEXTS, 6),
        _pick(_QUANTITIES, 3),
        _pick(_TEXTS, 6),
        _pick(_TEXTS, 6),
    ]
    for strategy in optional[: draw(st.integers(0, 5))]:
        parts.append(draw(strategy))
    indent = draw(st.sampled_from(["", "   ", "\t"]))
    return indent + draw(st.sampled_from(_GAPS)).join(p for p in parts if p)


@st.composite
def _ver_line(draw: st.DrawFn) -> str:
    parts = [
        "#VER",
        draw(st.sampled_from(["A", '"B"', '""', "C1"])),
        draw(st.sampled_from(["1", '"17"', "1", "x y"])),
        draw(_pick(_DATES, 2)),
    ]
    optional = [_pick(_TEXTS, 6), _pick(_DATES, 2), _pick(_TEXTS, 6)]
    for strategy in optional[: draw(st.integers(0, 3))]:
        parts.append(draw(strategy))
    return draw(st.sampled_from(_GAPS)).join(parts)


@st.composite
def _file(draw: st.DrawFn) -> bytes:
    lines = [
        '#KONTO 1930 "Bank"',
        '#KONTO 3010 "Försäljning"',
        "#KONTO 1 Kort",
        "#KONTO 123456 Lång",
    ]
    for _ in range(draw(st.integers(1, 3))):
        lines.append(draw(_ver_line()))
        if draw(st.integers(0, 9)):
            lines.append("{")
        lines.extend(draw(st.lists(_row_line(), min_size=0, max_size=5)))
        if draw(st.integers(0, 9)):
            lines.append("}")
    ksumma = draw(st.sampled_from(["none", "closed", "open", "rows after"]))
    if ksumma != "none":
        lines.insert(0, "#KSUMMA")
    if ksumma in ("closed", "rows after"):
        lines.append("#KSUMMA 12345")
    if ksumma == "rows after":
        lines += [draw(_ver_line()), "{", draw(_row_line()), "}"]
    return sie(HEADER + "\n".join(lines) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_file(), lenient=st.booleans())
def test_fast_paths_read_generated_files_as_the_general_path_does(
    data: bytes, lenient: bool
) -> None:
    _both_ways(data, lenient=lenient)


def test_fast_paths_compute_the_same_ksumma() -> None:
    doc = _document_with_awkward_texts()
    data = write_sie(doc, ksumma=True)
    result = _both_ways(data)
    assert result.document.ksumma is KsummaStatus.OK
    # A wrong checksum: the message shows the CRC the records give, the same both ways.
    wrong = re.sub(rb"#KSUMMA \d+", b"#KSUMMA 1", data)
    result = _both_ways(wrong)
    assert [e.message for e in result.errors if "mismatch" in e.message]


def test_rows_after_the_closing_ksumma_are_each_warned_about() -> None:
    data = sie(
        "#FLAGGA 0\n#KSUMMA\n#SIETYP 4\n#KSUMMA 1\n"
        "#VER A 1 20240105\n{\n#TRANS 1930 {} 1.00\n#TRANS 1930 {} -1.00\n}\n"
    )
    result = _both_ways(data, verify_checksum=False)
    after = [w.line for w in result.warnings if "after the closing #KSUMMA" in w.message]
    assert after == [5, 7, 8]


def test_text_in_the_date_place_is_a_bad_date() -> None:
    data = sie(
        HEADER + '#VER A 1 20240105\n{\n#TRANS 1930 {} 1.00 "Kund"\n#TRANS 1930 {} -1.00\n}\n'
    )
    result = _both_ways(data)
    assert [e.message for e in result.errors] == [
        "#TRANS: bad transaction date 'Kund' (expected YYYYMMDD)"
    ]


def test_fast_row_reads_every_field() -> None:
    data = sie(
        HEADER + '#VER "A" 7 20240105 "Hyra \\"jan\\"" 20240106 "Eva"\n{\n'
        '  #RTRANS 1930 {"1" "100" 6 P1} -1250.50 20240107 "C:\\dir" 2.5 "Bo \\"B\\""\n'
        "\t#TRANS  1930\t{ }  -1250.50\n"
        '  #TRANS 3010 {} 1250.50 20240105 "Hyra \\"jan\\""\n'
        '  #BTRANS 3010 {} 9.00 "" "" "" "Eva"\n'
        "}\n"
    )
    voucher = _both_ways(data).document.vouchers[0]
    assert voucher == Voucher(
        series="A",
        number="7",
        date=date(2024, 1, 5),
        text='Hyra "jan"',
        registered_on=date(2024, 1, 6),
        signature="Eva",
        line=8,
        rows=(
            VoucherRow(
                RowKind.RTRANS,
                "1930",
                (("1", "100"), ("6", "P1")),
                Decimal("-1250.50"),
                date(2024, 1, 7),
                "C:\\dir",
                Decimal("2.5"),
                'Bo "B"',
                10,
                in_balance=False,
            ),
            VoucherRow(RowKind.TRANS, "1930", (), Decimal("-1250.50"), line=11),
            VoucherRow(
                RowKind.TRANS,
                "3010",
                (),
                Decimal("1250.50"),
                date(2024, 1, 5),
                'Hyra "jan"',
                line=12,
            ),
            VoucherRow(
                RowKind.BTRANS,
                "3010",
                (),
                Decimal("9.00"),
                signature="Eva",
                line=13,
                in_balance=False,
            ),
        ),
    )


_LEXER_ALPHABET = st.sampled_from(['"', "\\", "{", "}", " ", "\t", "a", "#", "1", "å", '\\"'])


@settings(max_examples=1000, deadline=None)
@given(text=st.lists(_LEXER_ALPHABET, min_size=1, max_size=14).map("".join))
@example(text='"\\"')
@example(text='#A "x\\" y" "z"')
@example(text='#A "x"y')
@example(text='#A x"y" z')
@example(text='#A "C:\\dir\\" "')
def test_plain_line_split_matches_the_tokenizer(text: str) -> None:
    def split(problems: list[str] | None) -> object:
        try:
            return split_line(text, problems)
        except LexError as exc:
            return str(exc)

    fast_problems: list[str] = []
    fast = (split(None), split(fast_problems), fast_problems)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(lexer, "_PLAIN_LINE", _NEVER)
        general_problems: list[str] = []
        assert (split(None), split(general_problems), general_problems) == fast


def test_encode_cp437_matches_the_codec() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert encode_cp437(every, errors="replace") == every.encode("cp437", errors="replace")
    writable = bytes(range(256)).decode("cp437")
    assert encode_cp437(writable) == writable.encode("cp437") == bytes(range(256))
    with pytest.raises(UnicodeEncodeError):
        encode_cp437("a€")


def _document_with_awkward_texts() -> SieDocument:
    data = sie(
        HEADER + '#VER A 1 20240105 "Hyra \\"jan\\" å" 20240106\n{\n'
        '  #TRANS 1930 {"1" "1 0"} -10.00 20240107 "C:\\dir" 2.5 "Bo"\n'
        '  #TRANS 3010 {} 10.00 "" "tab\there"\n'
        "}\n"
    )
    return parse(data).document


def test_writer_output_reads_back_and_is_stable() -> None:
    doc = _document_with_awkward_texts()
    written = write_sie(doc, ksumma=True)
    again = parse(written).document
    assert again.ksumma is KsummaStatus.OK
    assert write_sie(again, ksumma=True) == written
    assert b'#VER A 1 20240105 "Hyra \\"jan\\" \x86" 20240106\n' in written
    assert b'#TRANS 1930 {"1" "1 0"} -10.00 20240107 C:\\dir 2.5 Bo\n' in written
    assert b'#TRANS 3010 {} 10.00 "" "tab here"\n' in written
