"""The numpy tokeniser of the bulk path agrees with the record path on awkward input.

Every case compares ``read_columns`` with ``document_to_columns(read_sie(...))``:
tables, header, errors and warnings. Where the fast path must not give up, the
``fast_only`` fixture fails the test if it falls back to the record path.
"""

from __future__ import annotations

import random

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

from include.sie4 import bulk
from include.sie4.bulk import SieColumns, document_to_columns, read_columns
from include.sie4.errors import SieError
from include.sie4.reader import read_sie


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


@pytest.mark.parametrize("rows", AWKWARD_ROWS)
def test_awkward_but_valid_rows_stay_on_the_fast_path(fast_only: None, rows: tuple[str]) -> None:
    assert_agrees((HEADER + voucher(*rows)).encode("cp437"))


def test_unbalanced_message_shows_the_written_places(fast_only: None) -> None:
    data = (HEADER + voucher("#TRANS 1930 {} 1.5", "#TRANS 3001 {} -1.25")).encode("cp437")
    assert_agrees(data)
    with pytest.raises(SieError) as info:
        read_columns(data)
    assert "rows sum to 0.25" in str(info.value.errors[0])


@pytest.mark.parametrize("row", IRREGULAR_ROWS)
def test_irregular_rows_agree_with_the_record_path(row: str) -> None:
    assert_agrees((HEADER + voucher(row, "#TRANS 3001 {} -5")).encode("cp437"))


@pytest.mark.parametrize("head", VOUCHER_HEADS)
def test_voucher_heads_agree_with_the_record_path(head: str) -> None:
    assert_agrees((HEADER + voucher("#TRANS 1930 {} 5", "#TRANS 3001 {} -5", head=head)).encode())


def test_structure_errors_agree() -> None:
    for text in STRUCTURES:
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
