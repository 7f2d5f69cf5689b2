"""The numpy tokeniser of the bulk path agrees with the record path on awkward input.

Every case compares ``read_columns`` with ``document_to_columns(read_sie(...))``:
tables, header, errors and warnings. Where the fast path must not give up, the
``fast_only`` fixture fails the test if it falls back to the record path.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

from include.sie4 import bulk
from include.sie4.bulk import SieColumns, document_to_columns, read_columns
from include.sie4.errors import SieError
from include.sie4.reader import read_sie


def _load_generator() -> ModuleType:
    """bench/bench_parse_gen.py: the benchmark's file generator (stdlib only)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_parse_gen.py"
    spec = importlib.util.spec_from_file_location("bench_parse_gen", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate_lines = _load_generator().generate_lines

HEADER = """#FLAGGA 0
#PROGRAM "Test" 1.0
#FORMAT PC8
#GEN 20250101
#SIETYP 4
#FNAMN "Bulk AB"
#RAR 0 20240101 20241231
#KONTO 1930 "Företagskonto"
#KONTO 3001 "Försäljning"
#KONTO 2611 "Utgående moms"
"""


def outcome(data: bytes, reader: object, lenient: bool) -> object:
    """The tables (as Python values) or the diagnostics of one reading."""
    try:
        cols: SieColumns = reader(data, lenient=lenient)  # type: ignore[operator]
    except SieError as exc:
        return ("error", exc.errors, exc.warnings)
    return (
        cols.document,
        cols.vouchers.schema,
        cols.vouchers.to_pylist(),
        cols.rows.schema,
        cols.rows.to_pylist(),
        cols.row_objects.schema,
        cols.row_objects.to_pylist(),
    )


def record_path(data: bytes, *, lenient: bool = False) -> SieColumns:
    return document_to_columns(read_sie(data, lenient=lenient))


def assert_agrees(data: bytes) -> None:
    for lenient in (False, True):
        assert outcome(data, read_columns, lenient) == outcome(data, record_path, lenient)


@pytest.fixture
def fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fallback(*args: object, **kwargs: object) -> SieColumns:
        raise AssertionError("fell back to the record path")

    monkeypatch.setattr(bulk, "_record_path", no_fallback)


def voucher(*rows: str, head: str = "#VER A 1 20240105") -> str:
    return head + "\n{\n" + "\n".join(rows) + "\n}\n"


@pytest.mark.parametrize(
    "rows",
    [
        # Escaped quotes, backslashes, braces and '#' inside texts; tabs as separators.
        ('#TRANS 1930 {} 5 20240105 "a \\"b\\" {c} #d"', '#TRANS 3001 {} -5 "" "C:\\x\\y"'),
        ('#TRANS\t1930\t{\t"1"\t"a b"\t}\t5', "#TRANS 3001 {} -5.00"),
        ('#TRANS 1930 {"1" "x \\"y\\""} 5 "" "" 1.12345678 "Bo"', "#TRANS 3001 {} -5"),
        ('#TRANS "1930" {} "5.5" "20240229" "t"', '#TRANS 3001 { } -5.50 "" "" -0.5'),
        ("#TRANS 1930 {} 0.1", "#TRANS 3001 {} -0.10", "#BTRANS 2611 {} 7"),
        ("#RTRANS 1930 {} 5", "#TRANS 1930 {} 5", "#TRANS 3001 {} -5"),
        ("#RTRANS 1930 {} 5", "#TRANS 2611 {} 6", "#TRANS 3001 {} -5"),  # twin differs
        ("#TRANS 1930 {} 1234567890123456.99", "#TRANS 3001 {} -1234567890123456.99"),
    ],
)
def test_awkward_but_valid_rows_stay_on_the_fast_path(fast_only: None, rows: tuple[str]) -> None:
    assert_agrees((HEADER + voucher(*rows)).encode("cp437"))


def test_unbalanced_message_shows_the_written_places(fast_only: None) -> None:
    data = (HEADER + voucher("#TRANS 1930 {} 1.5", "#TRANS 3001 {} -1.25")).encode("cp437")
    assert_agrees(data)
    with pytest.raises(SieError) as info:
        read_columns(data)
    assert "rows sum to 0.25" in str(info.value.errors[0])


@pytest.mark.parametrize(
    "row",
    [
        '#TRANS 1930 {} 5 ab"c"',  # a quote inside a bare word
        '#TRANS 1930 {} 5 "a"b',  # text glued to a quoted string
        '#TRANS 1930 {} 5 a\\"b',  # an escaped quote outside a string
        "#TRANS 1930 {1 {2}} 5",  # nested braces
        "#TRANS 1930 {} 5 {}",  # an object list where a value belongs
        "#TRANS 1930{} 5",  # a list glued to the account
        "#TRANS 1930 {} 5 20240105 x 123456789012.5",  # a quantity too big for int64
        "#TRANS 1930 {} 5 20240105 x 1.123456789",  # nine decimals
        "#TRANS 1930 {} 5 2024010",  # a short date
        "#TRANS 1930 {} 5 00000101",  # year 0
        "#TRANS 1930 {} 5 20230229",  # not a leap year
        "#TRANS 1930 {} .5",
        "#TRANS 1930 {} 5.",
        "#TRANS 1930 {} -",
        "#TRANS 1930 {} 1.2.3",
        "#TRANS 1234567 {} 5",
        "#TRANS 19a0 {} 5",
        '#TRANS "" {} 5',
        "#TRANS 1930 {} 5 a b c d e",  # extra fields: a warning
        "#TRANS 1930 {} 5 \x01",  # a control character
        "#TRANS 1930 {1} 5",
        "#TRANS 1930 5",
    ],
)
def test_irregular_rows_agree_with_the_record_path(row: str) -> None:
    assert_agrees((HEADER + voucher(row, "#TRANS 3001 {} -5")).encode("cp437"))


@pytest.mark.parametrize(
    "head",
    [
        '#VER A 1 20240105 "t" 20240106 "sig"',
        '#VER "" "" "20240105"',
        "#VER A 1 20240105 t 2024010",
        "#VER A 1 2024-01-05",
        "#VER A 1",
        "#VER A 1 20240105 a b c d",
    ],
)
def test_voucher_heads_agree_with_the_record_path(head: str) -> None:
    assert_agrees((HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5", head=head)).encode())


def test_structure_errors_agree() -> None:
    for text in (
        HEADER + "#VER A 1 20240105\n#TRANS 1930 {} 5\n}\n",
        HEADER + "#VER A 1 20240105\n{\n#TRANS 1930 {} 5\n",
        HEADER + "{\n#TRANS 1930 {} 5\n}\n",
        HEADER + "#TRANS 1930 {} 5\n",
        HEADER + "#TRANS 1930 {} 5\n}\n",  # a row and '}' outside any voucher
        HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5") + "#TRANS 1930 {} 5\n}\n",
        HEADER + voucher("#TRANS 1930 {} 5", "#KONTO 1 x", "#TRANS 3001 {} -5"),
        HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5") + "#KONTO 4000 late\n",
    ):
        assert_agrees(text.encode("cp437"))


def test_tiny_chunks_split_vouchers_and_twins(
    fast_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of a few lines: vouchers, RTRANS/TRANS twins and balance sums span chunks.
    text = "\r\n".join(generate_lines(1500, seed=7)) + "\r\n"
    data = text.encode("cp437")
    expected = outcome(data, record_path, False)
    for size in (64, 500, 4096):
        monkeypatch.setattr(bulk, "_CHUNK", size)
        assert outcome(data, read_columns, False) == expected


def test_chunks_end_without_newline_and_long_lines(
    fast_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_text = "x" * 300
    text = HEADER + voucher(f'#TRANS 1930 {{}} 5 "" "{long_text}"', "#TRANS 3001 {} -5")
    monkeypatch.setattr(bulk, "_CHUNK", 32)
    assert_agrees(text.rstrip("\n").encode("utf-8"))


ALPHABET = (
    "1930",
    "3001",
    "{}",
    '{1 "a b"}',
    "{ }",
    "5",
    "-5.5",
    "0.01",
    '""',
    '"x y"',
    '"q\\"q"',
    "20240105",
    "20240230",
    "1.5",
    "a\\b",
    "{",
    "}",
    '"',
    "x",
)


def test_random_rows_agree_with_the_record_path() -> None:
    # Rows made of plausible and implausible fields: whatever the reading, it is the same.
    rng = random.Random(20261123)
    for _ in range(150):
        rows = []
        for _ in range(rng.randint(1, 4)):
            fields = [rng.choice(("#TRANS", "#RTRANS", "#BTRANS"))]
            fields += [rng.choice(ALPHABET) for _ in range(rng.randint(1, 7))]
            rows.append(rng.choice((" ", "\t", "  ")).join(fields))
        assert_agrees((HEADER + voucher(*rows)).encode("cp437"))


def test_cut_utf8_sequence_before_ascii_blocks_is_not_utf8() -> None:
    # A UTF-8 lead byte ending one block, then only ASCII blocks: not UTF-8. The block-wise
    # choice must equal the reader's, which sees the whole file.
    from include.sie4.fastpath import sniff_encoding
    from include.sie4.reader import decode_sie_bytes

    head = '#FLAGGA 0\n#FNAMN "Åkeri AB"\n'.encode()
    data = head + b"#KONTO 1930 Bank\n" * 10
    data = data[:127] + b"\xc3" + b"\n#KONTO 3010 Sales\n" * 8  # the lead byte ends block 2
    assert data.rindex(b"\xc3") == 127
    blocks = sniff_encoding(lambda at, size: data[at : at + size], 0, len(data), 64)
    assert blocks == decode_sie_bytes(data)[1] == "cp437"
