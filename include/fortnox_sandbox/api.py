"""The /3/ resource endpoints of the sandbox, answering like Fortnox.

Handlers are pure functions of (tenant, request) returning a Reply; the HTTP
layer does authentication, rate limiting and fault injection first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from include.fortnox_sandbox import jsonio
from include.fortnox_sandbox.tenants import (
    FinancialYearEntry,
    PostedVoucher,
    Tenant,
    accounts_json,
    company_json,
    financial_year_json,
    invoice_json,
    invoice_payment_json,
    posted_row,
    supplier_invoice_json,
    supplier_payment_json,
    voucher_json,
    voucher_list_item,
    voucher_series_json,
)
from include.sie4.records import Voucher

# Fortnox error codes (FORTNOX-API.md); NOT_FOUND is the sandbox's own choice.
INVALID_PARAMETER = 2000588
EMPTY_BODY = 2001392
JSON_SYNTAX = 2002115
ACCOUNT_NOT_FOUND = 2001304
PERIOD_LOCKED = 2000401
NOT_AUTHORISED_FOR_SCOPE = 2000663
SYSTEM_ERROR = 1000003
NOT_FOUND = 2000588

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
TWO_PLACES = Decimal("0.01")


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An answer in Fortnox's error shape (lowercase keys, like real answers)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def reply(self) -> Reply:
        return json_reply(self.status, error_body(self.code, self.message))


def error_body(code: int, message: str) -> dict[str, object]:
    return {"ErrorInformation": {"error": 1, "message": message, "code": code}}


def json_reply(status: int, body: object) -> Reply:
    return Reply(status, jsonio.dumps(body))


@dataclass(frozen=True, slots=True)
class ApiRequest:
    method: str
    path: str  # below /3/, no leading slash, e.g. "vouchers/A/1"
    query: Mapping[str, str]  # names lowercased
    body: bytes
    base_url: str
    content_type: str = ""  # the request's Content-Type (multipart uploads)


# Which scope each top-level resource needs.
RESOURCE_SCOPES = {
    "companyinformation": "companyinformation",
    "financialyears": "bookkeeping",
    "sie": "bookkeeping",
    "accounts": "bookkeeping",
    "voucherseries": "bookkeeping",
    "vouchers": "bookkeeping",
    "invoices": "invoice",
    "invoicepayments": "payment",
    "supplierinvoices": "supplierinvoice",
    "supplierinvoicepayments": "payment",
    "settings": "settings",
    # The file API (include.fortnox_sandbox.files); scope names as Fortnox documents them.
    "inbox": "inbox",
    "archive": "archive",
    "voucherfileconnections": "connectfile",
}


class TenantApi:
    """The endpoints for one tenant, serialised by a per-tenant lock."""

    def __init__(
        self,
        tenant: Tenant,
        today: Callable[[], date],
        write_sie: Callable[[Tenant, FinancialYearEntry], bytes],
    ) -> None:
        self.tenant = tenant
        self._today = today
        self._write_sie = write_sie
        self.lock = threading.RLock()
        self._sie_cache: dict[tuple[int, int], bytes] = {}

    def handle(self, request: ApiRequest) -> Reply:
        return self.guarded(self._route, request)

    def guarded(self, route: Callable[[ApiRequest], Reply], request: ApiRequest) -> Reply:
        """``route(request)`` under the tenant's lock, an ApiError as its error answer."""
        with self.lock:
            try:
                return route(request)
            except ApiError as exc:
                return exc.reply()

    # -- routing ------------------------------------------------------------------------------

    def _route(self, req: ApiRequest) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if not parts:
            raise ApiError(404, NOT_FOUND, "Not found")
        resource, rest = parts[0], parts[1:]
        if req.method == "POST":
            if resource == "vouchers" and not rest:
                return self.create_voucher(req)
            raise ApiError(405, INVALID_PARAMETER, f"POST is not supported on /3/{req.path}")
        if req.method != "GET":
            raise ApiError(405, INVALID_PARAMETER, f"{req.method} is not supported here")
        handler = self._get_handlers().get(resource)
        if handler is None:
            raise ApiError(404, NOT_FOUND, f"Unknown resource /3/{resource}")
        return handler(req, rest)

    def _get_handlers(self) -> dict[str, Callable[[ApiRequest, list[str]], Reply]]:
        return {
            "companyinformation": self.company_information,
            "financialyears": self.financial_years,
            "sie": self.sie,
            "accounts": self.accounts,
            "voucherseries": self.voucher_series,
            "vouchers": self.vouchers,
            "invoices": self.invoices,
            "invoicepayments": self.invoice_payments,
            "supplierinvoices": self.supplier_invoices,
            "supplierinvoicepayments": self.supplier_invoice_payments,
            "settings": self.settings,
        }

    # -- helpers ------------------------------------------------------------------------------

    def year(self, query: Mapping[str, str]) -> FinancialYearEntry:
        """financialyear=Id, else financialyeardate=YYYY-MM-DD, else the preselected year."""
        if "financialyear" in query:
            year_id = _int_param(query, "financialyear")
            year = self.tenant.year_by_id(year_id)
            if year is None:
                raise ApiError(400, INVALID_PARAMETER, f"Financial year {year_id} not found")
            return year
        if "financialyeardate" in query:
            day = _date_param(query, "financialyeardate")
            found = self.tenant.year_of(day)
            if found is None:
                raise ApiError(400, INVALID_PARAMETER, f"No financial year contains {day}")
            return found
        # Like Fortnox: silently the preselected (latest) year.
        return self.tenant.preselected_year

    # -- endpoints ----------------------------------------------------------------------------

    def company_information(self, req: ApiRequest, rest: list[str]) -> Reply:
        _no_more(rest, req)
        return json_reply(200, {"CompanyInformation": company_json(self.tenant)})

    def financial_years(self, req: ApiRequest, rest: list[str]) -> Reply:
        if rest:
            year_id = _int_segment(rest[0], "Id")
            year = self.tenant.year_by_id(year_id)
            if year is None or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Financial year {rest[0]} not found")
            return json_reply(200, {"FinancialYear": financial_year_json(year, req.base_url)})
        years = list(self.tenant.years)
        if "date" in req.query:
            day = _date_param(req.query, "date")
            years = [y for y in years if y.contains(day)]
        items = [financial_year_json(y, req.base_url) for y in years]
        return _paged(req.query, "FinancialYears", items)

    def sie(self, req: ApiRequest, rest: list[str]) -> Reply:
        if rest != ["4"]:
            raise ApiError(400, INVALID_PARAMETER, "The sandbox exports SIE type 4 only: /3/sie/4")
        year = self.year(req.query)
        key = (year.id, len(self.tenant.posted))
        data = self._sie_cache.get(key)
        if data is None:
            data = self._write_sie(self.tenant, year)
            self._sie_cache = {key: data}
        return Reply(200, data, content_type="text/plain; charset=cp437")

    def accounts(self, req: ApiRequest, rest: list[str]) -> Reply:
        year = self.year(req.query)
        items = accounts_json(self.tenant, year, req.base_url)
        if rest:
            found = [a for a in items if str(a["Number"]) == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, ACCOUNT_NOT_FOUND, f"Account {rest[0]} not found")
            return json_reply(200, {"Account": found[0]})
        return _paged(req.query, "Accounts", items)

    def voucher_series(self, req: ApiRequest, rest: list[str]) -> Reply:
        year = self.year(req.query)
        items = voucher_series_json(self.tenant, year, req.base_url)
        if rest:
            found = [s for s in items if s["Code"] == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Voucher series {rest[0]} not found")
            return json_reply(200, {"VoucherSeries": found[0]})
        return _paged(req.query, "VoucherSeriesCollection", items)

    def vouchers(self, req: ApiRequest, rest: list[str]) -> Reply:
        year = self.year(req.query)
        all_vouchers = self.tenant.vouchers(year)
        if len(rest) == 2 and rest[0] != "sublist":
            series, number = rest[0], _int_segment(rest[1], "VoucherNumber")
            for voucher, comments in all_vouchers:
                if voucher.series == series and int(voucher.number) == number:
                    body = voucher_json(self.tenant, voucher, comments, year, req.base_url)
                    return json_reply(200, {"Voucher": body})
            raise ApiError(
                404, NOT_FOUND, f"Voucher {series} {number} not found in financial year {year.id}"
            )
        if rest and not (rest[0] == "sublist" and len(rest) <= 2):
            raise ApiError(404, NOT_FOUND, f"Not found: /3/vouchers/{'/'.join(rest)}")
        selected = all_vouchers
        if len(rest) == 2:
            selected = [(v, c) for v, c in selected if v.series == rest[1]]
        if "fromdate" in req.query:
            start = _date_param(req.query, "fromdate")
            selected = [(v, c) for v, c in selected if v.date >= start]
        if "todate" in req.query:
            end = _date_param(req.query, "todate")
            selected = [(v, c) for v, c in selected if v.date <= end]
        selected = sorted(selected, key=lambda vc: (vc[0].series, int(vc[0].number)))
        items = [voucher_list_item(self.tenant, v, c, year, req.base_url) for v, c in selected]
        return _paged(req.query, "Vouchers", items)

    def invoices(self, req: ApiRequest, rest: list[str]) -> Reply:
        today = self._today()
        visible = [i for i in self.tenant.books.customer_invoices if i.invoice_date <= today]
        items = [invoice_json(self.tenant, i, today, req.base_url) for i in visible]
        if rest:
            found = [i for i in items if i["DocumentNumber"] == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Invoice {rest[0]} not found")
            return json_reply(200, {"Invoice": found[0]})
        items = _filter_documents(req.query, items, today, ("Cancelled",))
        if "fromdate" in req.query:
            start = _date_param(req.query, "fromdate").isoformat()
            items = [i for i in items if str(i["InvoiceDate"]) >= start]
        if "todate" in req.query:
            end = _date_param(req.query, "todate").isoformat()
            items = [i for i in items if str(i["InvoiceDate"]) <= end]
        if "customernumber" in req.query:
            items = [i for i in items if i["CustomerNumber"] == req.query["customernumber"]]
        items.sort(key=lambda i: int(str(i["DocumentNumber"])))
        return _paged(req.query, "Invoices", items)

    def invoice_payments(self, req: ApiRequest, rest: list[str]) -> Reply:
        today = self._today()
        payments = [p for p in self.tenant.books.invoice_payments if p.payment_date <= today]
        if "invoicenumber" in req.query:
            wanted = _int_param(req.query, "invoicenumber")
            payments = [p for p in payments if p.invoice_number == wanted]
        items = [
            invoice_payment_json(
                p.number,
                p.invoice_number,
                p.payment_date,
                p.amount,
                req.base_url,
                self.tenant.foreign_invoices.get(p.invoice_number),
            )
            for p in sorted(payments, key=lambda p: p.number)
        ]
        if rest:
            found = [p for p in items if p["Number"] == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Invoice payment {rest[0]} not found")
            return json_reply(200, {"InvoicePayment": found[0]})
        return _paged(req.query, "InvoicePayments", items)

    def supplier_invoices(self, req: ApiRequest, rest: list[str]) -> Reply:
        # No fromdate/todate here: Fortnox ignores them on supplier invoices, so do we.
        today = self._today()
        visible = [i for i in self.tenant.books.supplier_invoices if i.invoice_date <= today]
        items = [supplier_invoice_json(self.tenant, i, today, req.base_url) for i in visible]
        if rest:
            found = [i for i in items if i["GivenNumber"] == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Supplier invoice {rest[0]} not found")
            return json_reply(200, {"SupplierInvoice": found[0]})
        items = _filter_documents(req.query, items, today, ("Cancel",))
        items.sort(key=lambda i: int(str(i["GivenNumber"])))
        return _paged(req.query, "SupplierInvoices", items)

    def supplier_invoice_payments(self, req: ApiRequest, rest: list[str]) -> Reply:
        today = self._today()
        payments = [
            p for p in self.tenant.books.supplier_invoice_payments if p.payment_date <= today
        ]
        items = [
            supplier_payment_json(
                p.number,
                p.given_number,
                p.payment_date,
                p.amount,
                req.base_url,
                self.tenant.foreign_supplier_invoices.get(p.given_number),
            )
            for p in sorted(payments, key=lambda p: p.number)
        ]
        if rest:
            found = [p for p in items if str(p["Number"]) == rest[0]]
            if not found or len(rest) > 1:
                raise ApiError(404, NOT_FOUND, f"Supplier invoice payment {rest[0]} not found")
            return json_reply(200, {"SupplierInvoicePayment": found[0]})
        return _paged(req.query, "SupplierInvoicePayments", items)

    def settings(self, req: ApiRequest, rest: list[str]) -> Reply:
        if rest != ["lockedperiod"]:
            raise ApiError(404, NOT_FOUND, f"Not found: /3/settings/{'/'.join(rest)}")
        locked = self.tenant.locked_until
        body: dict[str, object] = {}
        if locked is not None:
            body["EndDate"] = locked.isoformat()
        return json_reply(200, {"LockedPeriod": body})

    # -- POST /3/vouchers --------------------------------------------------------------------

    def create_voucher(self, req: ApiRequest) -> Reply:
        posted = self.parse_voucher(req)
        self.tenant.posted.append(posted)
        year = self.tenant.year_by_id(posted.year_id)
        assert year is not None
        body = voucher_json(self.tenant, posted.voucher, posted.comments, year, req.base_url)
        return json_reply(201, {"Voucher": body})

    def parse_voucher(self, req: ApiRequest) -> PostedVoucher:
        """Check a voucher body as Fortnox does; the voucher gets the next number in its series."""
        if not req.body.strip():
            raise ApiError(400, EMPTY_BODY, "Request body is empty")
        try:
            payload = jsonio.loads(req.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, JSON_SYNTAX, f"Invalid JSON in request body: {exc}") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("Voucher"), dict):
            raise ApiError(400, EMPTY_BODY, 'Request body must be {"Voucher": {...}}')
        data: dict[str, object] = payload["Voucher"]
        year = self.year(req.query)

        series = _text_field(data, "VoucherSeries", 10, required=True)
        known = self.tenant.series(year)
        if series not in known:
            raise ApiError(400, INVALID_PARAMETER, f"Voucher series {series} does not exist")
        if not known[series][1]:
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"Voucher series {series} is not a manual series; vouchers cannot be "
                "created in it through the API",
            )
        raw_date = _text_field(data, "TransactionDate", 10, required=True)
        try:
            day = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise ApiError(
                400, INVALID_PARAMETER, f"TransactionDate {raw_date!r} is not YYYY-MM-DD"
            ) from exc
        if not year.contains(day):
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"TransactionDate {day} is outside financial year {year.id} "
                f"({year.start} - {year.end})",
            )
        locked = self.tenant.locked_until
        if locked is not None and day <= locked:
            raise ApiError(
                400, PERIOD_LOCKED, f"The period is locked up to {locked}; cannot book on {day}"
            )
        description = _text_field(data, "Description", 200, required=True)
        comments = _text_field(data, "Comments", 1000)

        rows_data = data.get("VoucherRows")
        if not isinstance(rows_data, list) or not rows_data:
            raise ApiError(400, INVALID_PARAMETER, "VoucherRows must be a non-empty list")
        accounts = self.tenant.account_names()
        rows = []
        debit_total = credit_total = Decimal(0)
        for i, row in enumerate(rows_data, start=1):
            if not isinstance(row, dict):
                raise ApiError(400, INVALID_PARAMETER, f"VoucherRows[{i}] must be an object")
            account = row.get("Account")
            if isinstance(account, bool) or not isinstance(account, int | str):
                raise ApiError(400, INVALID_PARAMETER, f"VoucherRows[{i}].Account is required")
            if str(account) not in accounts:
                raise ApiError(
                    400, ACCOUNT_NOT_FOUND, f"VoucherRows[{i}]: account {account} not found"
                )
            debit = _money(row, "Debit", i)
            credit = _money(row, "Credit", i)
            if debit and credit:
                raise ApiError(
                    400, INVALID_PARAMETER, f"VoucherRows[{i}] has both Debit and Credit"
                )
            quantity = _optional_decimal(row, "Quantity", i)
            rows.append(
                posted_row(
                    account=str(account),
                    amount=debit - credit,
                    text=_text_field(row, "TransactionInformation", 100, where=f"row {i}"),
                    cost_center=_text_field(row, "CostCenter", 10, where=f"row {i}"),
                    project=_text_field(row, "Project", 10, where=f"row {i}"),
                    quantity=quantity,
                )
            )
            debit_total += debit
            credit_total += credit
        if debit_total != credit_total:
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"The voucher is not balanced: debit {debit_total} != credit {credit_total}",
            )
        if debit_total == 0:
            raise ApiError(400, INVALID_PARAMETER, "The voucher has no amounts")
        number = self.tenant.next_number(year, series)
        voucher = Voucher(
            series=series,
            number=str(number),
            date=day,
            text=description,
            registered_on=self._today(),
            signature="API",
            rows=tuple(rows),
        )
        return PostedVoucher(voucher=voucher, comments=comments, year_id=year.id)


# -- parameter parsing ------------------------------------------------------------------------


def _no_more(rest: Sequence[str], req: ApiRequest) -> None:
    if rest:
        raise ApiError(404, NOT_FOUND, f"Not found: /3/{req.path}")


def _int_param(query: Mapping[str, str], name: str) -> int:
    value = query[name]
    if not re.fullmatch(r"-?\d{1,9}", value):
        raise ApiError(400, INVALID_PARAMETER, f"Invalid parameter {name}: {value!r}")
    return int(value)


def _int_segment(value: str, name: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value):
        raise ApiError(400, INVALID_PARAMETER, f"Invalid {name}: {value!r}")
    return int(value)


def _date_param(query: Mapping[str, str], name: str) -> date:
    value = query[name]
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name, value)
    except ValueError:
        return _bad_date(name, value)


def _bad_date(name: str, value: str) -> date:
    raise ApiError(400, INVALID_PARAMETER, f"Invalid parameter {name}: {value!r} (YYYY-MM-DD)")


def _text_field(
    data: Mapping[str, object],
    name: str,
    max_length: int,
    *,
    required: bool = False,
    where: str = "Voucher",
) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, INVALID_PARAMETER, f"{where}: {name} is required")
        return ""
    if not isinstance(value, str):
        raise ApiError(400, INVALID_PARAMETER, f"{where}: {name} must be a string")
    if len(value) > max_length:
        raise ApiError(
            400, INVALID_PARAMETER, f"{where}: {name} is longer than {max_length} characters"
        )
    return value


def _optional_decimal(row: Mapping[str, object], name: str, index: int) -> Decimal | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ApiError(400, INVALID_PARAMETER, f"VoucherRows[{index}].{name} must be a number")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ApiError(
            400, INVALID_PARAMETER, f"VoucherRows[{index}].{name} must be a number"
        ) from exc
    if not number.is_finite():
        raise ApiError(400, INVALID_PARAMETER, f"VoucherRows[{index}].{name} must be finite")
    return number


def _money(row: Mapping[str, object], name: str, index: int) -> Decimal:
    amount = _optional_decimal(row, name, index) or Decimal(0)
    if amount < 0:
        raise ApiError(400, INVALID_PARAMETER, f"VoucherRows[{index}].{name} must not be negative")
    if amount != amount.quantize(TWO_PLACES):
        raise ApiError(
            400, INVALID_PARAMETER, f"VoucherRows[{index}].{name} has more than two decimals"
        )
    return amount.quantize(TWO_PLACES)


def _filter_documents(
    query: Mapping[str, str], items: list[dict[str, object]], today: date, cancel: tuple[str, ...]
) -> list[dict[str, object]]:
    """Fortnox's one resource filter: unpaid, unpaidoverdue, fullypaid, cancelled, unbooked."""
    name = query.get("filter")
    if not name:
        return items

    def balance(item: Mapping[str, object]) -> Decimal:
        return Decimal(str(item["Balance"]))

    def cancelled(item: Mapping[str, object]) -> bool:
        return any(bool(item.get(key)) for key in cancel)

    tests: dict[str, Callable[[Mapping[str, object]], bool]] = {
        "unpaid": lambda i: balance(i) != 0 and not cancelled(i),
        "unpaidoverdue": lambda i: (
            balance(i) != 0 and not cancelled(i) and str(i["DueDate"]) < today.isoformat()
        ),
        "fullypaid": lambda i: balance(i) == 0 and not cancelled(i),
        "cancelled": cancelled,
        "unbooked": lambda i: not i.get("Booked"),
    }
    test = tests.get(name)
    if test is None:
        raise ApiError(
            400,
            INVALID_PARAMETER,
            f"Invalid filter {name!r}; one of: {', '.join(sorted(tests))}",
        )
    return [i for i in items if test(i)]


def _paged(
    query: Mapping[str, str],
    key: str,
    items: Sequence[Any],
    build: Callable[[Any], object] = lambda item: item,
) -> Reply:
    """One page of ``items``; ``build`` makes the JSON of only the items on that page."""
    page = _int_param(query, "page") if "page" in query else 1
    limit = _int_param(query, "limit") if "limit" in query else DEFAULT_LIMIT
    if page < 1:
        raise ApiError(400, INVALID_PARAMETER, "Invalid parameter page: must be 1 or more")
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, INVALID_PARAMETER, f"Invalid parameter limit: must be 1 to {MAX_LIMIT}")
    total = len(items)
    pages = max(1, -(-total // limit))
    chunk = [build(item) for item in items[(page - 1) * limit : page * limit]]
    meta = {"@TotalResources": total, "@TotalPages": pages, "@CurrentPage": page}
    return json_reply(200, {"MetaInformation": meta, key: chunk})
