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


def open_items_at(books: CompanyBooks, year_end: date) -> dict[str, list[dict[str, Any]]]:
    """Customer and supplier invoices open at ``year_end``, as ``load_sie(open_items=...)`` rows."""
    zero = Decimal(0)
    paid: dict[int, Decimal] = {}
    for p in books.invoice_payments:
        if p.payment_date <= year_end:
            paid[p.invoice_number] = paid.get(p.invoice_number, zero) + p.amount
    ar = [
        {
            "invoice_number": str(i.number),
            "customer_number": i.customer.number,
            "customer_name": i.customer.name,
            "invoice_date": i.invoice_date,
            "due_date": i.due_date,
            "total": i.total,
            "open_amount": i.total - paid.get(i.number, zero),
            "currency": "SEK",
        }
        for i in books.customer_invoices
        if i.invoice_date <= year_end and i.total != paid.get(i.number, zero)
    ]
    paid_ap: dict[int, Decimal] = {}
    for sp in books.supplier_invoice_payments:
        if sp.payment_date <= year_end:
            paid_ap[sp.given_number] = paid_ap.get(sp.given_number, zero) + sp.amount
    ap = [
        {
            "invoice_number": str(s.given_number),
            "supplier_number": s.supplier.number,
            "supplier_name": s.supplier.name,
            "invoice_date": s.invoice_date,
            "due_date": s.due_date,
            "total": s.total,
            "open_amount": s.total - paid_ap.get(s.given_number, zero),
            "currency": "SEK",
        }
        for s in books.supplier_invoices
        if s.invoice_date <= year_end and s.total != paid_ap.get(s.given_number, zero)
    ]
    return {"ar": ar, "ap": ap}


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
