"""One sandbox tenant: a generated company's books plus the vouchers posted through the API.

Everything here is plain data and pure functions producing Fortnox-shaped dicts;
the HTTP layer (server.py) owns locking and paging.

Foreign currency: in every fiscal year a few of the generated invoices are shown as EUR
invoices (one customer and one supplier invoice open at the year end, one of each paid
within the year). The books stay as generated, in SEK: the invoice's ``Total`` in EUR times
its ``CurrencyRate`` rounds to the SEK total the books carry on 1510/2440, and it is paid at
that same rate (no exchange difference), so the SIE export is unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from include.books.models import (
    CompanyBooks,
    CustomerInvoice,
    SupplierInvoice,
)
from include.sie4.records import (
    Balance,
    BalanceKind,
    PeriodBalance,
    PeriodBalanceKind,
    RowKind,
    SieDocument,
    Voucher,
    VoucherRow,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
ACCOUNTING_CURRENCY = "SEK"
FOREIGN_CURRENCY = "EUR"
EUR_RATE = Decimal("11.2345")  # SEK per EUR; each invoice's rate is this or close to it
RATE_STEP = Decimal("0.0001")
COST_CENTER_DIMENSION = "1"  # SIE's reserved dimension numbers
PROJECT_DIMENSION = "6"

# Fortnox's default series; only "Manual" series accept vouchers through the API.
DEFAULT_SERIES: dict[str, tuple[str, bool]] = {
    "A": ("Redovisning", True),
    "B": ("Kundfaktura", False),
    "C": ("Kundinbetalning", False),
    "D": ("Leverantörsfaktura", False),
    "E": ("Leverantörsutbetalning", False),
    "L": ("Lön", False),
}


@dataclass(frozen=True, slots=True)
class FinancialYearEntry:
    """A fiscal year as Fortnox numbers it (Id is per tenant, oldest first)."""

    id: int
    start: date
    end: date

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class PostedVoucher:
    """A voucher created through POST /3/vouchers (kept with its Comments)."""

    voucher: Voucher
    comments: str
    year_id: int


@dataclass(frozen=True, slots=True)
class ForeignAmount:
    """An invoice in a foreign currency, booked in SEK at ``rate`` SEK per ``unit``."""

    currency: str
    rate: Decimal
    unit: Decimal
    total: Decimal  # in the currency; total * rate / unit rounds to the books' SEK total

    def from_sek(self, sek: Decimal) -> Decimal:
        """A SEK amount (at this rate) in the currency, to the cent."""
        return (sek * self.unit / self.rate).quantize(CENT, ROUND_HALF_UP)


def foreign_amount(total_sek: Decimal, rate: Decimal = EUR_RATE) -> ForeignAmount:
    """A EUR total and a 4-decimal rate near ``rate`` that book exactly as ``total_sek``.

    Fortnox books round(Total * CurrencyRate, 2) in SEK; the books already hold the SEK
    total, so the rate is nudged (by 0.0001 steps) until that rounding gives it exactly,
    never on a half öre.
    """
    for step in range(10_000):
        for candidate in (rate + step * RATE_STEP, rate - step * RATE_STEP):
            total = (total_sek / candidate).quantize(CENT, ROUND_HALF_UP)
            if abs(total * candidate - total_sek) < CENT / 2:
                return ForeignAmount(FOREIGN_CURRENCY, candidate, Decimal(1), total)
    raise ValueError(f"no EUR rate near {rate} books {total_sek} SEK exactly")


# Fortnox's inbox: a root folder with sub-folders; a file connected to a voucher leaves the
# inbox for the archive's connected files (support.fortnox.se, "Inbox").
INBOX_ROOT_ID = "inbox"
INBOX_FOLDERS: dict[str, str] = {
    "inbox_v": "Verifikationer",
    "inbox_s": "Leverantörsfakturor",
    "inbox_d": "Dagskassor",
}


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file uploaded through ``POST /3/inbox``."""

    id: str
    archive_file_id: str
    name: str
    folder_id: str  # INBOX_ROOT_ID or a key of INBOX_FOLDERS
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class FileConnection:
    """A file connected to a voucher (``POST /3/voucherfileconnections``)."""

    file_id: str
    series: str
    number: int
    year_id: int
    description: str


@dataclass(slots=True)
class Tenant:
    books: CompanyBooks
    locked_until: date | None
    years: tuple[FinancialYearEntry, ...] = ()
    posted: list[PostedVoucher] = field(default_factory=list)
    # (series, number, fiscal-year start) -> (ReferenceType, ReferenceNumber)
    references: dict[tuple[str, int, date], tuple[str, str]] = field(default_factory=dict)
    # invoice number -> [(payment date, amount)], and the same by supplier GivenNumber
    customer_payments: dict[int, list[tuple[date, Decimal]]] = field(default_factory=dict)
    supplier_payments: dict[int, list[tuple[date, Decimal]]] = field(default_factory=dict)
    # invoices shown in a foreign currency: by DocumentNumber, and by supplier GivenNumber
    foreign_invoices: dict[int, ForeignAmount] = field(default_factory=dict)
    foreign_supplier_invoices: dict[int, ForeignAmount] = field(default_factory=dict)

    # The file API: uploaded files by Id (upload order), connections by file Id.
    files: dict[str, StoredFile] = field(default_factory=dict)
    file_connections: dict[str, FileConnection] = field(default_factory=dict)

    @classmethod
    def from_books(cls, books: CompanyBooks, locked_until: date | str | None = "auto") -> Tenant:
        years = tuple(
            FinancialYearEntry(i + 1, y.fiscal_year.start, y.fiscal_year.end)
            for i, y in enumerate(books.years)
        )
        if locked_until == "auto":
            # The older year is closed and locked; the latest one is open for closing entries.
            locked: date | None = years[-2].end if len(years) > 1 else None
        else:
            locked = locked_until if isinstance(locked_until, date) else None
        tenant = cls(books=books, locked_until=locked, years=years)
        tenant.references = _references(books)
        for p in books.invoice_payments:
            tenant.customer_payments.setdefault(p.invoice_number, []).append(
                (p.payment_date, p.amount)
            )
        for sp in books.supplier_invoice_payments:
            tenant.supplier_payments.setdefault(sp.given_number, []).append(
                (sp.payment_date, sp.amount)
            )
        customer = {i.number: (i.invoice_date, i.total) for i in books.customer_invoices}
        supplier = {i.given_number: (i.invoice_date, i.total) for i in books.supplier_invoices}
        tenant.foreign_invoices = _shown_in_eur(customer, tenant.customer_payments, years)
        tenant.foreign_supplier_invoices = _shown_in_eur(supplier, tenant.supplier_payments, years)
        return tenant

    @property
    def tenant_id(self) -> int:
        return self.books.company.database_number

    @property
    def preselected_year(self) -> FinancialYearEntry:
        return self.years[-1]

    def year_by_id(self, year_id: int) -> FinancialYearEntry | None:
        return next((y for y in self.years if y.id == year_id), None)

    def year_by_start(self, start: date) -> FinancialYearEntry | None:
        return next((y for y in self.years if y.start == start), None)

    def year_of(self, day: date) -> FinancialYearEntry | None:
        return next((y for y in self.years if y.contains(day)), None)

    # -- vouchers ---------------------------------------------------------------------------

    def posted_in(self, year: FinancialYearEntry) -> list[PostedVoucher]:
        return [p for p in self.posted if p.year_id == year.id]

    def vouchers(self, year: FinancialYearEntry) -> list[tuple[Voucher, str]]:
        """(voucher, comments) of one year, generated ones first, then the posted ones."""
        generated = [(v, "") for v in self.books.year(year.start).vouchers]
        return generated + [(p.voucher, p.comments) for p in self.posted_in(year)]

    def series(self, year: FinancialYearEntry) -> dict[str, tuple[str, bool]]:
        series = dict(DEFAULT_SERIES)
        for voucher, _ in self.vouchers(year):
            series.setdefault(voucher.series, (f"Serie {voucher.series}", False))
        return dict(sorted(series.items()))

    def next_number(self, year: FinancialYearEntry, series: str) -> int:
        numbers = [int(v.number) for v, _ in self.vouchers(year) if v.series == series]
        return max(numbers, default=0) + 1

    def account_names(self) -> dict[str, str]:
        return {a.number: a.name for a in self.books.accounts}

    # -- SIE ---------------------------------------------------------------------------------

    def sie_document(self, year: FinancialYearEntry) -> SieDocument:
        """The year's SIE 4E document including API vouchers, balances updated for them."""
        doc = self.books.to_sie(year.start)
        posted_by_index: dict[int, list[Voucher]] = {}
        for fy in doc.fiscal_years:
            entry = self.year_by_start(fy.start)
            if entry is not None:
                posted_by_index[fy.index] = [p.voucher for p in self.posted_in(entry)]
        if not any(posted_by_index.values()):
            return doc
        account_types = {a.number: a.account_type for a in self.books.accounts}
        balances = list(doc.balances)
        period_balances = list(doc.period_balances)
        for index, posted in posted_by_index.items():
            if not posted:
                continue
            _apply_postings(balances, period_balances, index, posted, account_types)
        own = posted_by_index.get(0, [])
        return dataclasses.replace(
            doc,
            vouchers=(*doc.vouchers, *own),
            balances=tuple(balances),
            period_balances=tuple(period_balances),
        )


def _shown_in_eur(
    invoices: dict[int, tuple[date, Decimal]],
    payments: dict[int, list[tuple[date, Decimal]]],
    years: Iterable[FinancialYearEntry],
) -> dict[int, ForeignAmount]:
    """Of each year's invoices (number -> date, SEK total): the first one still open at the
    year end and the first one paid within the year, to be shown in EUR."""
    chosen: dict[int, ForeignAmount] = {}
    for year in years:
        open_at_end: int | None = None
        paid_within: int | None = None
        for number, (day, total) in sorted(invoices.items()):
            if not year.contains(day) or total == ZERO:
                continue
            paid = any(paid_on <= year.end for paid_on, _ in payments.get(number, []))
            if paid and paid_within is None:
                paid_within = number
            if not paid and open_at_end is None:
                open_at_end = number
        for picked in (open_at_end, paid_within):
            if picked is not None:
                chosen[picked] = foreign_amount(invoices[picked][1])
    return chosen


def _is_balance_sheet(account: str, account_type: str | None) -> bool:
    if account_type in ("T", "S"):
        return True
    if account_type in ("K", "I"):
        return False
    return account[:1] in ("1", "2")


def _apply_postings(
    balances: list[Balance],
    period_balances: list[PeriodBalance],
    index: int,
    vouchers: Iterable[Voucher],
    account_types: dict[str, str | None],
) -> None:
    """Move #UB/#RES (and #PSALDO when present) of year ``index`` by the posted rows."""
    by_account: dict[str, Decimal] = {}
    by_period: dict[tuple[str, str], Decimal] = {}
    for voucher in vouchers:
        period = voucher.date.strftime("%Y%m")
        for row in voucher.postings:
            by_account[row.account] = by_account.get(row.account, ZERO) + row.amount
            key = (period, row.account)
            by_period[key] = by_period.get(key, ZERO) + row.amount
    for account, delta in by_account.items():
        kind = (
            BalanceKind.UB
            if _is_balance_sheet(account, account_types.get(account))
            else BalanceKind.RES
        )
        for i, b in enumerate(balances):
            if b.kind is kind and b.year_index == index and b.account == account:
                balances[i] = dataclasses.replace(b, amount=b.amount + delta)
                break
        else:
            balances.append(Balance(kind, index, account, delta))
    has_periods = any(p.year_index == index for p in period_balances)
    if not has_periods:
        return
    for (period, account), delta in by_period.items():
        for i, p in enumerate(period_balances):
            if (
                p.kind is PeriodBalanceKind.PSALDO
                and p.year_index == index
                and p.period == period
                and p.account == account
                and not p.objects
            ):
                period_balances[i] = dataclasses.replace(p, amount=p.amount + delta)
                break
        else:
            period_balances.append(
                PeriodBalance(PeriodBalanceKind.PSALDO, index, period, account, (), delta)
            )


def _references(books: CompanyBooks) -> dict[tuple[str, int, date], tuple[str, str]]:
    refs: dict[tuple[str, int, date], tuple[str, str]] = {}
    for inv in books.customer_invoices:
        key = (inv.voucher_series, inv.voucher_number, inv.fiscal_year_start)
        refs[key] = ("INVOICE", str(inv.number))
    for pay in books.invoice_payments:
        key = (pay.voucher_series, pay.voucher_number, pay.fiscal_year_start)
        refs[key] = ("INVOICEPAYMENT", str(pay.invoice_number))
    for sinv in books.supplier_invoices:
        key = (sinv.voucher_series, sinv.voucher_number, sinv.fiscal_year_start)
        refs[key] = ("SUPPLIERINVOICE", str(sinv.given_number))
    for spay in books.supplier_invoice_payments:
        key = (spay.voucher_series, spay.voucher_number, spay.fiscal_year_start)
        refs[key] = ("SUPPLIERPAYMENT", str(spay.given_number))
    return refs


# -- JSON shapes ------------------------------------------------------------------------------


def company_json(tenant: Tenant) -> dict[str, object]:
    c = tenant.books.company
    zip_code, _, city = _split_postal(c.address_postal)
    return {
        "Address": c.address_street,
        "City": city,
        "CompanyName": c.name,
        "CountryCode": "SE",
        "DatabaseNumber": c.database_number,
        "OrganizationNumber": c.org_number,
        "VisitAddress": c.address_street,
        "VisitCity": city,
        "VisitCountryCode": "SE",
        "VisitZipCode": zip_code,
        "ZipCode": zip_code,
    }


def _split_postal(postal: str) -> tuple[str, str, str]:
    """ "123 45 Stad" -> ("123 45", " ", "Stad")."""
    parts = postal.split()
    if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
        return f"{parts[0]} {parts[1]}", " ", " ".join(parts[2:])
    return postal, "", ""


def financial_year_json(year: FinancialYearEntry, base_url: str) -> dict[str, object]:
    return {
        "@url": f"{base_url}/3/financialyears/{year.id}",
        "AccountChartType": f"BAS {year.start.year}",
        "AccountingMethod": "ACCRUAL",
        "FromDate": year.start.isoformat(),
        "Id": year.id,
        "ToDate": year.end.isoformat(),
    }


def accounts_json(
    tenant: Tenant, year: FinancialYearEntry, base_url: str
) -> list[dict[str, object]]:
    opening = tenant.books.year(year.start).opening_balances
    out: list[dict[str, object]] = []
    for account in sorted(tenant.books.accounts, key=lambda a: a.number):
        if not account.number.isdigit():
            continue
        sru = next((s for s in account.sru_codes if s.isdigit()), None)
        item: dict[str, object] = {
            "@url": f"{base_url}/3/accounts/{account.number}?financialyear={year.id}",
            "Active": True,
            "BalanceBroughtForward": opening.get(account.number, ZERO),
            "CostCenter": "",
            "CostCenterSettings": "ALLOWED",
            "Description": account.name,
            "Number": int(account.number),
            "Project": "",
            "ProjectSettings": "ALLOWED",
            "VATCode": "",
            "Year": year.id,
        }
        if sru is not None:
            item["SRU"] = int(sru)
        out.append(item)
    return out


def voucher_series_json(
    tenant: Tenant, year: FinancialYearEntry, base_url: str
) -> list[dict[str, object]]:
    return [
        {
            "@url": f"{base_url}/3/voucherseries/{code}?financialyear={year.id}",
            "Code": code,
            "Description": description,
            "Manual": manual,
            "Year": year.id,
        }
        for code, (description, manual) in tenant.series(year).items()
    ]


def _reference(tenant: Tenant, voucher: Voucher, year: FinancialYearEntry) -> tuple[str, str]:
    key = (voucher.series, int(voucher.number), year.start)
    return tenant.references.get(key, ("MANUAL", ""))


def voucher_list_item(
    tenant: Tenant, voucher: Voucher, comments: str, year: FinancialYearEntry, base_url: str
) -> dict[str, object]:
    ref_type, ref_number = _reference(tenant, voucher, year)
    return {
        "@url": f"{base_url}/3/vouchers/{voucher.series}/{voucher.number}?financialyear={year.id}",
        "ApprovalState": 0,
        "Comments": comments,
        "Description": voucher.text,
        "ReferenceNumber": ref_number,
        "ReferenceType": ref_type,
        "TransactionDate": voucher.date.isoformat(),
        "VoucherNumber": int(voucher.number),
        "VoucherSeries": voucher.series,
        "Year": year.id,
    }


def voucher_json(
    tenant: Tenant, voucher: Voucher, comments: str, year: FinancialYearEntry, base_url: str
) -> dict[str, object]:
    names = tenant.account_names()
    rows: list[dict[str, object]] = []
    for row in voucher.rows:
        if row.kind is RowKind.RTRANS and not row.in_balance:
            continue  # its #TRANS twin is the same row
        objects = dict(row.objects)
        amount = row.amount
        rows.append(
            {
                "Account": int(row.account) if row.account.isdigit() else row.account,
                "CostCenter": objects.get(COST_CENTER_DIMENSION, ""),
                "Credit": -amount if amount < 0 else ZERO,
                "Debit": amount if amount > 0 else ZERO,
                "Description": names.get(row.account, ""),
                "Project": objects.get(PROJECT_DIMENSION, ""),
                "Quantity": row.quantity if row.quantity is not None else ZERO,
                "Removed": row.kind is RowKind.BTRANS,
                "TransactionInformation": row.text,
            }
        )
    item = voucher_list_item(tenant, voucher, comments, year, base_url)
    item.update({"CostCenter": "", "Project": "", "VoucherRows": rows})
    return item


def _drop_none(item: dict[str, object]) -> dict[str, object]:
    """Fortnox leaves out what it has no value for; the spec types never allow null."""
    return {k: v for k, v in item.items() if v is not None}


def _paid(payments: Iterable[tuple[date, Decimal]], today: date) -> tuple[Decimal, date | None]:
    total = ZERO
    last: date | None = None
    for day, amount in payments:
        if day <= today:
            total += amount
            last = day if last is None or day > last else last
    return total, last


def invoice_json(
    tenant: Tenant, invoice: CustomerInvoice, today: date, base_url: str
) -> dict[str, object]:
    """An invoice as Fortnox shows it today: Balance is what is unpaid as of ``today``."""
    paid, last = _paid(tenant.customer_payments.get(invoice.number, []), today)
    balance = invoice.total - paid
    total = invoice.total
    foreign = tenant.foreign_invoices.get(invoice.number)
    if foreign is not None:  # Total and Balance are in the invoice's currency
        total, balance = foreign.total, foreign.total - foreign.from_sek(paid)
    year = tenant.year_by_start(invoice.fiscal_year_start)
    return _drop_none(
        {
            "@url": f"{base_url}/3/invoices/{invoice.number}",
            "Balance": balance,
            "Booked": True,
            "Cancelled": False,
            "CostCenter": "",
            **_currency_fields(foreign),
            "CustomerName": invoice.customer.name,
            "CustomerNumber": invoice.customer.number,
            "DocumentNumber": str(invoice.number),
            "DueDate": invoice.due_date.isoformat(),
            "ExternalInvoiceReference1": "",
            "ExternalInvoiceReference2": "",
            "FinalPayDate": last.isoformat() if balance == ZERO and last else None,
            "InvoiceDate": invoice.invoice_date.isoformat(),
            "InvoiceType": "INVOICE",
            "NoxFinans": False,
            "OCR": str(invoice.number),
            "Project": "",
            "Sent": True,
            "TermsOfPayment": str((invoice.due_date - invoice.invoice_date).days),
            "Total": total,
            "VoucherNumber": invoice.voucher_number,
            "VoucherSeries": invoice.voucher_series,
            "VoucherYear": year.id if year else None,
            "WayOfDelivery": "",
        }
    )


def _currency_fields(
    foreign: ForeignAmount | None, *, rate_as_text: bool = False
) -> dict[str, object]:
    """Currency, CurrencyRate, CurrencyUnit of a document (SEK at 1 without ``foreign``)."""
    rate = foreign.rate if foreign else Decimal(1)
    return {
        "Currency": foreign.currency if foreign else ACCOUNTING_CURRENCY,
        "CurrencyRate": format(rate, "f") if rate_as_text else rate,
        "CurrencyUnit": foreign.unit if foreign else Decimal(1),
    }


def invoice_payment_json(
    number: int,
    invoice_number: int,
    payment_date: date,
    amount: Decimal,
    base_url: str,
    foreign: ForeignAmount | None = None,
) -> dict[str, object]:
    """``Amount`` is in SEK; a foreign invoice's payment carries its currency and rate."""
    return {
        "@url": f"{base_url}/3/invoicepayments/{number}",
        "Amount": amount,
        "Booked": True,
        **_currency_fields(foreign),
        "InvoiceNumber": invoice_number,
        "Number": str(number),
        "PaymentDate": payment_date.isoformat(),
        "Source": "manual",
        "WriteOffExist": False,
    }


def supplier_invoice_json(
    tenant: Tenant, invoice: SupplierInvoice, today: date, base_url: str
) -> dict[str, object]:
    """Balance and Total are strings, as in Fortnox's answers and spec."""
    paid, last = _paid(tenant.supplier_payments.get(invoice.given_number, []), today)
    balance = invoice.total - paid
    total = invoice.total
    foreign = tenant.foreign_supplier_invoices.get(invoice.given_number)
    if foreign is not None:  # Total and Balance are in the invoice's currency
        total, balance = foreign.total, foreign.total - foreign.from_sek(paid)
    year = tenant.year_by_start(invoice.fiscal_year_start)
    return _drop_none(
        {
            "@url": f"{base_url}/3/supplierinvoices/{invoice.given_number}",
            "AuthorizerName": "",
            "Balance": format(balance, "f"),
            "Booked": True,
            "Cancel": False,
            "CostCenter": "",
            "Credit": False,
            **_currency_fields(foreign, rate_as_text=True),
            "DueDate": invoice.due_date.isoformat(),
            "ExternalInvoiceNumber": "",
            "ExternalInvoiceSeries": "",
            "FinalPayDate": last.isoformat() if balance == ZERO and last else None,
            "GivenNumber": str(invoice.given_number),
            "InvoiceDate": invoice.invoice_date.isoformat(),
            "InvoiceNumber": invoice.supplier_invoice_number,
            "Project": "",
            "SupplierName": invoice.supplier.name,
            "SupplierNumber": invoice.supplier.number,
            "Total": format(total, "f"),
            "Vouchers": [
                {
                    "Number": invoice.voucher_number,
                    "ReferenceType": "SUPPLIERINVOICE",
                    "Series": invoice.voucher_series,
                    "Year": year.id if year else 0,
                }
            ],
        }
    )


def supplier_payment_json(
    number: int,
    given_number: int,
    payment_date: date,
    amount: Decimal,
    base_url: str,
    foreign: ForeignAmount | None = None,
) -> dict[str, object]:
    """``Amount`` is in SEK; a foreign invoice's payment carries its currency and rate."""
    return {
        "@url": f"{base_url}/3/supplierinvoicepayments/{number}",
        "Amount": amount,
        "Booked": True,
        **_currency_fields(foreign),
        "InvoiceNumber": str(given_number),
        "Number": number,
        "PaymentDate": payment_date.isoformat(),
        "Source": "manual",
        "WriteOffExist": False,
    }


def posted_row(
    account: str,
    amount: Decimal,
    text: str,
    cost_center: str,
    project: str,
    quantity: Decimal | None,
) -> VoucherRow:
    objects: list[tuple[str, str]] = []
    if cost_center:
        objects.append((COST_CENTER_DIMENSION, cost_center))
    if project:
        objects.append((PROJECT_DIMENSION, project))
    return VoucherRow(
        kind=RowKind.TRANS,
        account=account,
        objects=tuple(objects),
        amount=amount,
        text=text,
        quantity=quantity,
    )
