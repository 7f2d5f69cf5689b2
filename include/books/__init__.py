"""Synthetic but realistic company books for the sandbox, tests and benchmarks.

from include.books import generate_books, write_large_sie
books = generate_books(7, company_index=0, first_year=2024, years=2)
doc = books.to_sie(date(2025, 1, 1))        # SIE 4E as Fortnox exports it
write_large_sie("big.se", seed=1, rows=1_000_000)  # streamed, for benchmarks
"""

from __future__ import annotations

from include.books.generator import generate_books
from include.books.identity import is_valid_org_number, luhn_check_digit
from include.books.large import LargeSieStats, write_large_sie
from include.books.models import (
    CompanyBooks,
    CompanyProfile,
    CustomerInvoice,
    InvoicePayment,
    Party,
    SupplierInvoice,
    SupplierInvoicePayment,
    YearBooks,
)
from include.books.sie_export import books_to_sie

__all__ = [
    "CompanyBooks",
    "CompanyProfile",
    "CustomerInvoice",
    "InvoicePayment",
    "LargeSieStats",
    "Party",
    "SupplierInvoice",
    "SupplierInvoicePayment",
    "YearBooks",
    "books_to_sie",
    "generate_books",
    "is_valid_org_number",
    "luhn_check_digit",
    "write_large_sie",
]
