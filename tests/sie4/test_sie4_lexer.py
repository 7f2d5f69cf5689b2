"""The line lexer: fields, quoting, object lists, and the quote/unquote round trip."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from include.sie4.lexer import LexError, quote_field, quote_objects, split_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("#KONTO 1930 Bank", ["#KONTO", "1930", "Bank"]),
        ('#KONTO 1930 "Bank konto"', ["#KONTO", "1930", "Bank konto"]),
        ("#TRANS\t1930\t{}\t100.00", ["#TRANS", "1930", (), "100.00"]),
        ("#TRANS 1930 { } 100.00", ["#TRANS", "1930", (), "100.00"]),
        ('#TRANS 1930 {1 "100" "6" P1} -5', ["#TRANS", "1930", ("1", "100", "6", "P1"), "-5"]),
        (
            '#TRANS 3010 { "1" "1100" "6" "1118"} 1',
            ["#TRANS", "3010", ("1", "1100", "6", "1118"), "1"],
        ),
        ('#FNAMN ""', ["#FNAMN", ""]),
        ('#VER A 1 20240101 "Say \\"hi\\""', ["#VER", "A", "1", "20240101", 'Say "hi"']),
        ('#FNR "C:\\ProgramData\\SPCS"', ["#FNR", "C:\\ProgramData\\SPCS"]),
        ('#VER # 3 20240101 "#6 Linda"', ["#VER", "#", "3", "20240101", "#6 Linda"]),
        ('#X "a""b"', ["#X", "a", "b"]),
        ('#X ab"c', ["#X", 'ab"c']),
    ],
)
def test_split_line(line: str, expected: list[object]) -> None:
    assert split_line(line) == expected


@pytest.mark.parametrize(
    "line", ['#FNAMN "unterminated', "#TRANS 1930 {1 2 100", "#TRANS 1930 } 1", "#X {{1 2}}"]
)
def test_split_line_rejects(line: str) -> None:
    with pytest.raises(LexError):
        split_line(line)


def test_unterminated_quote_is_recovered_when_asked() -> None:
    problems: list[str] = []
    assert split_line('#TRANS 1 {} 5 20240101 "cut off', problems) == [
        "#TRANS",
        "1",
        (),
        "5",
        "20240101",
        "cut off",
    ]
    assert problems == ["unterminated quoted field: read to the end of the line"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Bank", "Bank"),
        ("", '""'),
        ("two words", '"two words"'),
        ('say "x"', '"say \\"x\\""'),
        ("{", '"{"'),
        ("#6", '"#6"'),
        ("C:\\dir\\x", "C:\\dir\\x"),
        ("tab\there", '"tab\there"'),
    ],
)
def test_quote_field(value: str, written: str) -> None:
    assert quote_field(value) == written


def test_quote_field_refuses_trailing_backslash_when_quoted() -> None:
    with pytest.raises(ValueError, match="backslash"):
        quote_field("C:\\my dir\\")
    assert quote_field("C:\\dir\\") == "C:\\dir\\"  # bare: nothing follows it


def test_quote_objects() -> None:
    assert quote_objects(()) == "{}"
    assert quote_objects((("1", "100"), ("6", "P 1"))) == '{"1" "100" "6" "P 1"}'


# Printable text as it can occur in a SIE field (no control characters).
field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"),
    max_size=30,
)


@given(st.lists(field_text, min_size=1, max_size=6))
def test_quote_then_split_round_trip(values: list[str]) -> None:
    quoted = []
    for value in values:
        try:
            quoted.append(quote_field(value))
        except ValueError:
            assume(False)
    assert split_line("#X " + " ".join(quoted))[1:] == values


@given(st.lists(st.tuples(field_text, field_text), max_size=4))
def test_object_list_round_trip(pairs: list[tuple[str, str]]) -> None:
    assume(not any(v.endswith("\\") for pair in pairs for v in pair))
    fields = split_line("#TRANS 1930 " + quote_objects(tuple(pairs)) + " 1.00")
    assert fields[2] == tuple(v for pair in pairs for v in pair)
