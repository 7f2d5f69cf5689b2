"""The writer: quoting, CP437, KSUMMA, and read(write(doc)) == doc for generated documents."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from _sie4_testkit import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from include.sie4.checksum import check_ksumma
from include.sie4.reader import read_sie
from include.sie4.records import (
    Account,
    Address,
    Balance,
    BalanceKind,
    CompanyInfo,
    FiscalYear,
    KsummaStatus,
    RowKind,
    SieDocument,
    Voucher,
    VoucherRow,
)
from include.sie4.validation import comparable
from include.sie4.writer import write_sie


def test_fixture_round_trip_and_target(tmp_path: Path) -> None:
    doc = read_sie(FIXTURES / "clean_4e.se")
    target = tmp_path / "out.se"
    data = write_sie(doc, target)
    assert target.read_bytes() == data
    assert comparable(read_sie(data)) == comparable(doc)


def test_written_text_is_cp437_and_quoted_only_when_needed() -> None:
    doc = read_sie(FIXTURES / "clean_4e.se")
    lines = write_sie(doc).decode("cp437").splitlines()
    assert lines[0] == "#FLAGGA 0"
    assert '#KONTO 3010 "Försäljning \\"tjänster\\""' in lines
    assert "#KONTO 6110 Kontorsmateriel" in lines
    assert '#TRANS 3010 {"1" "100" "6" "P1"} -1000.00' in lines
    assert '#VER "#" 3 20240131 "Serie med #"' in lines


def test_characters_outside_cp437_become_question_marks() -> None:
    doc = SieDocument(company=CompanyInfo(name="Euro € AB\tTab"))
    back = read_sie(write_sie(doc))
    assert back.company.name == "Euro ? AB Tab"


def test_ksumma_written_verifies() -> None:
    data = write_sie(read_sie(FIXTURES / "clean_4e.se"), ksumma=True)
    lines = data.decode("cp437").split("\n")
    assert lines[1] == "#KSUMMA" and lines[-2].startswith("#KSUMMA ")
    assert check_ksumma(lines) == (KsummaStatus.OK, [])


def test_unwritable_trailing_backslash_is_refused() -> None:
    doc = SieDocument(company=CompanyInfo(name="C:\\Program Files\\"))
    with pytest.raises(ValueError, match="#FNAMN"):
        write_sie(doc)


# -- generated documents --------------------------------------------------
text = st.text(alphabet=st.sampled_from("abcåäöÅÄÖé \"'{}#\\-_.,:0123456789"), max_size=12).filter(
    lambda s: not s.endswith("\\")
)
word = st.text(alphabet="ABC123", min_size=1, max_size=4)
account = st.text(alphabet="0123456789", min_size=4, max_size=4)
amount = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
day = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
objects = st.lists(st.tuples(st.sampled_from(["1", "6"]), word), max_size=2).map(tuple)


@st.composite
def vouchers(draw: st.DrawFn) -> Voucher:
    amounts = draw(st.lists(amount, min_size=1, max_size=4))
    rows = [
        VoucherRow(
            kind=RowKind.TRANS,
            account=draw(account),
            objects=draw(objects),
            amount=a,
            date=draw(st.none() | day),
            text=draw(text),
            quantity=draw(st.none() | st.decimals(-100, 100, places=3, allow_nan=False)),
            signature=draw(text),
        )
        for a in [*amounts, -sum(amounts, Decimal(0))]
    ]
    if draw(st.booleans()):
        removed = VoucherRow(RowKind.BTRANS, draw(account), (), draw(amount), in_balance=False)
        rows.insert(0, removed)
    return Voucher(
        series=draw(word | st.just("")),
        number=draw(word | st.just("")),
        date=draw(day),
        text=draw(text),
        registered_on=draw(st.none() | day),
        signature=draw(text),
        rows=tuple(rows),
    )


@st.composite
def documents(draw: st.DrawFn) -> SieDocument:
    start = draw(day)
    numbers = draw(st.lists(account, unique=True, max_size=4))
    balances = tuple(
        Balance(draw(st.sampled_from(list(BalanceKind))), 0, n, draw(amount)) for n in numbers
    )
    return SieDocument(
        sie_type=4,
        variant="E" if balances else "I",
        program=(draw(text), draw(text)),
        generated_on=draw(day),
        generated_by=draw(text),
        company=CompanyInfo(
            name=draw(text),
            org_number=draw(word),
            address=draw(st.none() | st.builds(Address, text, text, text, text)),
        ),
        fiscal_years=(FiscalYear(0, start, start + timedelta(days=364)),),
        accounts=tuple(
            Account(n, draw(text), draw(st.sampled_from([None, "T", "S", "K", "I"])))
            for n in numbers
        ),
        balances=balances,
        vouchers=tuple(draw(st.lists(vouchers(), max_size=3))),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.booleans())
def test_generated_documents_round_trip(doc: SieDocument, ksumma: bool) -> None:
    back = read_sie(write_sie(doc, ksumma=ksumma), lenient=True)
    assert comparable(back) == comparable(doc)


@pytest.mark.parametrize(
    ("amount", "quantity"), [(Decimal("1.005"), None), (Decimal("1.00"), Decimal("0.123456789"))]
)
def test_writer_refuses_what_its_reader_would_reject(amount: Decimal, quantity) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from include.sie4.records import RowKind, SieDocument, Voucher, VoucherRow
    from include.sie4.writer import write_sie

    rows = (
        VoucherRow(RowKind.TRANS, "1930", (), amount, quantity=quantity),
        VoucherRow(RowKind.TRANS, "3010", (), -amount),
    )
    doc = SieDocument(vouchers=(Voucher("A", "1", date(2024, 1, 2), rows=rows),))
    with pytest.raises(ValueError, match="at most"):
        write_sie(doc)
