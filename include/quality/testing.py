"""Helpers for tests, benchmarks and the demo: known-good books with their subledgers,
and recording a run of one's own making (the closing's tests use it to open the gate).

    doc, open_items = books_with_open_items(seed=7)
    load_sie(sie_bytes(doc), url, open_items=open_items)
    record_checks(url, company_id, start, failed=("voucher_balances",))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from include.quality.results import CheckResult, Severity
from include.quality.store import RecordedRun, record_run
from include.warehouse.engine import EngineLike

if TYPE_CHECKING:
    from include.books.models import CompanyBooks
    from include.sie4.records import SieDocument


def _open(
    invoices: Iterable[Any], payments: Iterable[Any], year_end: date, party: str
) -> list[dict[str, Any]]:
    """Invoices dated by the year end minus their payments by then, where not settled."""
    zero = Decimal(0)
    number = "number" if party == "customer" else "given_number"
    paid_number = "invoice_number" if party == "customer" else "given_number"
    paid: dict[int, Decimal] = {}
    for p in payments:
        if p.payment_date <= year_end:
            key = getattr(p, paid_number)
            paid[key] = paid.get(key, zero) + p.amount
    items = []
    for i in invoices:
        open_amount = i.total - paid.get(getattr(i, number), zero)
        if i.invoice_date <= year_end and open_amount != 0:
            who = i.customer if party == "customer" else i.supplier
            items.append(
                {
                    "invoice_number": str(getattr(i, number)),
                    f"{party}_number": who.number,
                    f"{party}_name": who.name,
                    "invoice_date": i.invoice_date,
                    "due_date": i.due_date,
                    "total": i.total,
                    "open_amount": open_amount,
                    "currency": "SEK",
                }
            )
    return items


def open_items_at(books: CompanyBooks, year_end: date) -> dict[str, list[dict[str, Any]]]:
    """Customer and supplier invoices open at ``year_end``, as ``load_sie(open_items=...)`` rows."""
    return {
        "ar": _open(books.customer_invoices, books.invoice_payments, year_end, "customer"),
        "ap": _open(books.supplier_invoices, books.supplier_invoice_payments, year_end, "supplier"),
    }


def books_with_open_items(
    seed: int = 7, *, company_index: int = 0, vouchers_per_year: int = 60
) -> tuple[SieDocument, dict[str, list[dict[str, Any]]]]:
    """One generated year (SIE 4E document) and its year-end open items."""
    from include.books import generate_books

    books = generate_books(
        seed, company_index=company_index, years=1, vouchers_per_year=vouchers_per_year
    )
    year = books.years[-1]
    return books.to_sie(year.fiscal_year.start), open_items_at(books, year.fiscal_year.end)


def sie_bytes(doc: SieDocument, *, ksumma: bool = True) -> bytes:
    """The document as a SIE file's bytes (the project's writer; CP437)."""
    from include.sie4 import write_sie

    return write_sie(doc, ksumma=ksumma)


def record_checks(
    url_or_engine: EngineLike,
    company_id: int,
    fiscal_year_start: date,
    *,
    passed: Iterable[str] = ("voucher_balances",),
    failed: Iterable[str] = (),
    warnings: Iterable[str] = (),
    triggered_by: str = "test",
) -> RecordedRun:
    """Record a run on the partition's current load: ``failed`` error checks, failed
    ``warnings`` checks and the ``passed`` error checks not named already, in that order."""
    results: list[CheckResult] = []

    def add(names: Iterable[str], severity: Severity, status: str) -> None:
        for name in names:
            rows = ({"difference": Decimal("1.00")},) if status == "failed" else ()
            results.append(
                CheckResult(
                    name=name,
                    severity=severity,
                    status="failed" if status == "failed" else "passed",
                    summary=f"{name} {status} (recorded by a test)",
                    failing_rows=rows,
                    failing_row_count=len(rows),
                )
            )

    failed, warnings = tuple(failed), tuple(warnings)
    add(failed, "error", "failed")
    add(warnings, "warning", "failed")
    add([name for name in passed if name not in failed + warnings], "error", "passed")
    return record_run(
        url_or_engine, company_id, fiscal_year_start, results, triggered_by=triggered_by
    )
