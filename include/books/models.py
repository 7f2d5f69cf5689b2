"""Synthetic company books: the types the generator produces.

The Fortnox sandbox serves these (company information, financial years, SIE,
invoices and payments), tests and benchmarks read them. Money is Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from include.books.sie_export import books_to_sie
from include.sie4.records import Account, FiscalYear, SieDocument, Voucher


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    name: str
    org_number: str  # NNNNNN-NNNN
    address_street: str
    address_postal: str  # "123 45 Stad"
    phone: str
    database_number: int  # Fortnox tenant id (DatabaseNumber)


@dataclass(frozen=True, slots=True)
class Party:
    """A customer or a supplier."""

    number: str
    name: str
    org_number: str


@dataclass(frozen=True, slots=True)
class CustomerInvoice:
    """A customer invoice, booked on 1510 (total), 30xx (net) and 26xx (VAT)."""

    number: int  # Fortnox DocumentNumber
    customer: Party
    invoice_date: date
    due_date: date
    net: Decimal
    vat: Decimal
    vat_rate: Decimal  # 0.25 / 0.12 / 0.06
    voucher_series: str
    voucher_number: int
    fiscal_year_start: date

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class InvoicePayment:
    """A payment of a customer invoice: debit 1930, credit 1510."""

    number: int
    invoice_number: int
    payment_date: date
    amount: Decimal
    voucher_series: str
    voucher_number: int
    fiscal_year_start: date


@dataclass(frozen=True, slots=True)
class SupplierInvoice:
    """A supplier invoice, booked on 2440 (total, credit), costs and 2640 (input VAT)."""

    given_number: int  # Fortnox GivenNumber
    supplier: Party
    supplier_invoice_number: str  # the supplier's own invoice number
    invoice_date: date
    due_date: date
    net: Decimal
    vat: Decimal
    cost_account: str
    voucher_series: str
    voucher_number: int
    fiscal_year_start: date

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True, slots=True)
class SupplierInvoicePayment:
    """A payment of a supplier invoice: debit 2440, credit 1930."""

    number: int
    given_number: int
    payment_date: date
    amount: Decimal
    voucher_series: str
    voucher_number: int
    fiscal_year_start: date


@dataclass(frozen=True, slots=True)
class YearBooks:
    """One fiscal year of a company's books."""

    fiscal_year: FiscalYear  # index relative to the latest year (0 latest, -1 before)
    opening_balances: dict[str, Decimal]  # balance-sheet accounts (#IB 0)
    vouchers: tuple[Voucher, ...]
    closing_balances: dict[str, Decimal]  # balance-sheet accounts (#UB 0)
    results: dict[str, Decimal]  # income-statement accounts (#RES 0)


@dataclass(frozen=True, slots=True)
class CompanyBooks:
    """Everything generated for one company: several consecutive fiscal years."""

    seed: int
    company: CompanyProfile
    accounts: tuple[Account, ...]  # BAS subset with SRU codes
    years: tuple[YearBooks, ...]  # oldest first
    customers: tuple[Party, ...]
    suppliers: tuple[Party, ...]
    customer_invoices: tuple[CustomerInvoice, ...]
    invoice_payments: tuple[InvoicePayment, ...]
    supplier_invoices: tuple[SupplierInvoice, ...]
    supplier_invoice_payments: tuple[SupplierInvoicePayment, ...]

    def year(self, start: date) -> YearBooks:
        for y in self.years:
            if y.fiscal_year.start == start:
                return y
        raise KeyError(f"no fiscal year starting {start}")

    def to_sie(self, year_start: date | None = None) -> SieDocument:
        """The SIE 4E document of one year (default the latest), as Fortnox exports it."""
        return books_to_sie(self, year_start)
