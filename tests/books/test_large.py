"""The streaming writer writes the same books as the object path."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.books import generate_books, write_large_sie
from include.sie4.reader import read_sie
from include.sie4.records import BalanceKind
from include.sie4.writer import write_sie


def _check_against_object_path(path: Path, seed: int, rows: int) -> None:
    stats = write_large_sie(path, seed, rows, company_index=1)
    read = read_sie(path)  # strict: every voucher balances, every account declared
    books = generate_books(
        seed, company_index=1, years=1, vouchers_per_year=stats.vouchers_per_year
    )
    expected = books.to_sie()
    assert stats.vouchers == len(read.vouchers) == len(expected.vouchers)
    assert stats.rows == sum(len(v.rows) for v in read.vouchers)
    assert stats.bytes_written == path.stat().st_size
    # The same bytes the package's writer gives for the same books.
    assert path.read_bytes() == write_sie(expected)
    assert not list(path.parent.glob("*.partial"))
    for got, want in zip(read.vouchers, expected.vouchers, strict=True):
        assert (got.series, got.number, got.date, got.text, got.registered_on) == (
            want.series, want.number, want.date, want.text, want.registered_on,
        )  # fmt: skip
        assert [(r.account, r.objects, r.amount) for r in got.rows] == [
            (r.account, r.objects, r.amount) for r in want.rows
        ]
    for kind in BalanceKind:
        assert read.balances_of(kind, 0) == expected.balances_of(kind, 0)
    assert read.company == expected.company
    assert [a.sru_codes for a in read.accounts] == [a.sru_codes for a in expected.accounts]
    assert 0.8 * rows <= stats.rows <= 1.25 * rows


def test_streamed_file_equals_generated_books(tmp_path: Path) -> None:
    _check_against_object_path(tmp_path / "small.se", seed=9, rows=4_000)


def test_streamed_file_is_deterministic(tmp_path: Path) -> None:
    write_large_sie(tmp_path / "a.se", 9, 2_000)
    write_large_sie(tmp_path / "b.se", 9, 2_000)
    write_large_sie(tmp_path / "c.se", 10, 2_000)
    assert (tmp_path / "a.se").read_bytes() == (tmp_path / "b.se").read_bytes()
    assert (tmp_path / "a.se").read_bytes() != (tmp_path / "c.se").read_bytes()


@pytest.mark.slow
def test_streamed_large_file(tmp_path: Path) -> None:
    _check_against_object_path(tmp_path / "large.se", seed=2, rows=200_000)


def test_objects_on_every_row_keep_the_books(tmp_path: Path) -> None:
    plain = write_large_sie(tmp_path / "plain.se", 9, 3_000, company_index=1)
    with_objects = write_large_sie(
        tmp_path / "objects.se", 9, 3_000, company_index=1, objects_on_every_row=True
    )
    read_plain, read_objects = read_sie(plain.path), read_sie(with_objects.path)
    rows = [r for v in read_objects.vouchers for r in v.rows]
    assert rows and all(r.objects for r in rows)
    assert {dim for r in rows for dim, _ in r.objects} == {"1"}
    declared = {(o.dimension, o.object_id) for o in read_objects.objects}
    assert {obj for r in rows for obj in r.objects} <= declared
    # Same vouchers and amounts: only the object lists differ.
    assert [(r.account, r.amount) for v in read_plain.vouchers for r in v.rows] == [
        (r.account, r.amount) for r in rows
    ]
    assert with_objects.bytes_written > plain.bytes_written
