"""Every corpus file that reads cleanly (lenient) loads, and its trial balance adds up.

For each file the expected trial balance is computed in Python from the
record path (``read_sie``): opening = #IB 0, movements = sum of the counted
rows, reported = #UB 0 (else #RES 0). The warehouse's trial_balance view (fed
by the bulk path) must equal it exactly. Where the file disagrees with itself
(opening + movements != its own #UB 0), that is data about the file, printed,
not a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.sie4.errors import SieError
from include.sie4.reader import read_sie
from include.sie4.records import BalanceKind, SieDocument
from include.warehouse import create_warehouse_engine, load_sie
from include.warehouse.schema import trial_balance_view

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

ZERO = Decimal(0)
Line = tuple[Decimal, Decimal, Decimal, Decimal | None]  # opening, movements, closing, reported


@dataclass
class CorpusOutcome:
    loaded: list[str]
    unreadable: list[str]
    file_disagreements: list[str]


def expected_trial_balance(doc: SieDocument) -> dict[str, Line]:
    opening = doc.balances_of(BalanceKind.IB, 0)
    closing = doc.balances_of(BalanceKind.UB, 0)
    result = doc.balances_of(BalanceKind.RES, 0)
    movements: dict[str, Decimal] = {}
    for voucher in doc.vouchers:
        for row in voucher.rows:
            if row.in_balance:
                movements[row.account] = movements.get(row.account, ZERO) + row.amount
    accounts = set(opening) | set(closing) | set(result) | set(movements)
    table: dict[str, Line] = {}
    for account in accounts:
        ib = opening.get(account, ZERO)
        mv = movements.get(account, ZERO)
        reported = closing.get(account, result.get(account))
        table[account] = (ib, mv, ib + mv, reported)
    return table


def compare(expected: dict[str, Line], got: dict[str, Line]) -> tuple[list[str], list[str]]:
    """(warehouse errors, file disagreements): the first must be empty."""
    errors = [
        f"{account}: warehouse {got.get(account)} != expected {line}"
        for account, line in sorted(expected.items())
        if got.get(account) != line
    ]
    errors += [
        f"{account}: unexpected in warehouse" for account in sorted(set(got) - set(expected))
    ]
    disagreements = [
        f"{account}: IB {ib} + movements {mv} = {closing}, file says {reported}"
        for account, (ib, mv, closing, reported) in sorted(expected.items())
        if reported is not None and closing != reported
    ]
    return errors, disagreements


def test_compare_reports_warehouse_errors_and_file_disagreements() -> None:
    expected: dict[str, Line] = {
        "1930": (Decimal("10.00"), Decimal("5.00"), Decimal("15.00"), Decimal("15.00")),
        "2440": (ZERO, Decimal("-5.00"), Decimal("-5.00"), Decimal("-6.00")),
    }
    assert compare(expected, dict(expected)) == (
        [],
        ["2440: IB 0 + movements -5.00 = -5.00, file says -6.00"],
    )
    wrong = {
        **expected,
        "1930": (Decimal("10.00"), Decimal("5.01"), Decimal("15.01"), Decimal("15.00")),
    }
    errors, _ = compare(expected, wrong)
    assert errors and errors[0].startswith("1930: warehouse")
    errors, _ = compare(expected, {**expected, "9999": expected["1930"]})
    assert errors == ["9999: unexpected in warehouse"]


def _corpus_files(corpus_dir: Path) -> Iterator[Path]:
    yield from sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")


def _run_corpus(corpus_dir: Path, engine: sa.Engine) -> CorpusOutcome:
    outcome = CorpusOutcome([], [], [])
    errors: list[str] = []
    tb = trial_balance_view
    for path in _corpus_files(corpus_dir):
        try:
            doc = read_sie(path, lenient=True)
        except SieError:
            outcome.unreadable.append(path.name)
            continue
        result = load_sie(path, engine, lenient=True, force=True)
        outcome.loaded.append(path.name)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(tb).where(
                    tb.c.company_id == result.company_id,
                    tb.c.fiscal_year_start == result.fiscal_year_start,
                )
            ).all()
        got = {
            r.account: (
                r.opening_balance,
                r.movements,
                r.closing_balance,
                r.reported_closing_balance,
            )
            for r in rows
        }
        file_errors, disagreements = compare(expected_trial_balance(doc), got)
        errors += [f"{path.name}: {e}" for e in file_errors]
        outcome.file_disagreements += [f"{path.name}: {d}" for d in disagreements]
    assert not errors, "\n".join(errors[:40])
    return outcome


def _report(db: str, outcome: CorpusOutcome) -> None:
    rejected = len(outcome.unreadable)
    print(f"\n[{db}] loaded {len(outcome.loaded)} corpus files; rejected by the reader: {rejected}")
    by_file: dict[str, list[str]] = {}
    for line in outcome.file_disagreements:
        name, _, detail = line.partition(": ")
        by_file.setdefault(name, []).append(detail)
    print(f"[{db}] files whose own #UB/#RES differ from #IB + vouchers (data, not failures):")
    for name, details in sorted(by_file.items()):
        print(f"  {name}: {len(details)} accounts, e.g. {'; '.join(details[:2])}")


def test_corpus_loads_into_sqlite(corpus_dir: Path, sqlite_url: str) -> None:
    engine = create_warehouse_engine(sqlite_url)
    try:
        outcome = _run_corpus(corpus_dir, engine)
    finally:
        engine.dispose()
    _report("sqlite", outcome)
    assert len(outcome.loaded) >= 50  # the corpus is mostly readable in lenient mode


@pytest.mark.postgres
def test_corpus_loads_into_postgres(corpus_dir: Path, pg_warehouse_url: str) -> None:
    engine = create_warehouse_engine(pg_warehouse_url)
    try:
        outcome = _run_corpus(corpus_dir, engine)
    finally:
        engine.dispose()
    _report("postgres", outcome)
    assert len(outcome.loaded) >= 50
