"""Fortnox API client core (httpx, no Airflow): pacing, back-off, paging, typed errors.

Rules this client enforces so callers cannot get them wrong:

* ``financialyear`` is explicit on SIE, vouchers, accounts and voucher series; a call without
  it is refused before anything is sent (Fortnox would silently use its preselected year).
* Every request takes a slot from a :class:`~include.fortnox.pacing.Pacer` keyed by client id
  and tenant, so concurrent tasks stay under 25 requests / 5 s.
* GETs are retried with full-jitter exponential back-off on 429 (honouring ``Retry-After``),
  5xx and connection errors, a bounded number of times; other 4xx are never retried.
* POSTs are never retried. A POST whose outcome is unknown (timeout, dropped connection, 5xx)
  raises :class:`~include.fortnox.errors.OutcomeUnknown`.
* Bodies are kept exactly as received (SIE bytes, JSON pages) next to the parsed data; JSON
  numbers are parsed as :class:`~decimal.Decimal`, never float.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from include.fortnox.errors import (
    FortnoxApiError,
    FortnoxConnectionError,
    MissingFinancialYear,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    error_from_response,
)
from include.fortnox.pacing import NoPacer, Pacer

PAGE_LIMIT = 500
# First path segments whose data depends on the financial year.
FINANCIAL_YEAR_RESOURCES = frozenset({"sie", "vouchers", "accounts", "voucherseries"})
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
VOUCHER_INBOX = "inbox_v"  # the inbox folder for vouchers' documents ("Verifikationer")

ParamValue = str | int | date | None


@dataclass(frozen=True, slots=True)
class Page:
    """One JSON answer: the body exactly as received and its parsed form."""

    raw: bytes = field(repr=False)
    data: dict[str, Any] = field(repr=False)
    params: dict[str, str]
    path: str
    status_code: int = 200

    def item(self, key: str) -> dict[str, Any]:
        """The single resource under ``key`` (e.g. ``CompanyInformation``)."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise FortnoxApiError(
                f"answer has no {key!r} object", status_code=self.status_code, path=self.path
            )
        return value


@dataclass(frozen=True, slots=True)
class Listing:
    """All pages of a paged list endpoint; ``items`` joins the list under ``key``."""

    key: str
    pages: tuple[Page, ...]

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for page in self.pages for item in page.data.get(self.key) or []]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with full-jitter exponential back-off."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After is raised, not slept through

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


class FortnoxClient:
    """Calls the Fortnox REST API for one company (tenant).

    ``access_token`` is called before every request and returns a valid bearer token (the
    token store's provider refreshes it when needed).
    """

    def __init__(
        self,
        api_url: str,
        access_token: Callable[[], str],
        *,
        pacer: Pacer | None = None,
        pacer_key: str = "",
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._access_token = access_token
        self._pacer: Pacer = pacer or NoPacer()
        self._pacer_key = pacer_key or self.api_url
        self._retry = retry or RetryPolicy()
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout, transport=transport)
        self._sleep = sleep
        self._rng = rng

    def __repr__(self) -> str:
        return f"FortnoxClient(api_url={self.api_url!r}, pacer_key={self._pacer_key!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> FortnoxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- low level

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """Send one request with pacing and (for GET) retries; return the 2xx response.

        ``files``: multipart/form-data parts, ``{field: (file name, bytes, media type)}``.
        """
        method = method.upper()
        path = "/" + path.lstrip("/")
        query = _clean_params(params)
        _require_financial_year(method, path, query)
        content = encode_json(json_body).encode() if json_body is not None else None
        url = f"{self.api_url}{path}"
        attempt = 0
        while True:
            attempt += 1
            headers = {
                "Authorization": f"Bearer {self._access_token()}",
                "Accept": "application/json",
            }
            # Take the slot last, right before sending, so the window matches Fortnox's.
            self._pacer.acquire(self._pacer_key)
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self._http.request(
                    method, url, params=query, content=content, files=files, headers=headers
                )
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}"
                if method != "GET":
                    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                        # Nothing reached Fortnox: the outcome is known (nothing happened).
                        raise FortnoxConnectionError(
                            f"{method} {path}: could not connect ({failure})"
                        ) from None
                    raise OutcomeUnknown(failure, method=method, path=path) from None
                if attempt >= self._retry.max_attempts:
                    raise FortnoxConnectionError(
                        f"{method} {path}: no answer after {attempt} attempts ({failure})"
                    ) from None
                self._sleep(self._retry.delay(attempt, self._rng))
                continue
            if response.is_success:
                return response
            error = error_from_response(
                response.status_code,
                response.content,
                method=method,
                path=path,
                retry_after=response.headers.get("Retry-After"),
            )
            if method != "GET":
                # Refusals are 4xx. After any 5xx (even "system error" 1000003) the write may
                # have been committed: the caller must look it up before sending it again.
                if response.status_code >= 500:
                    raise OutcomeUnknown(str(error), method=method, path=path) from error
                raise error
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt >= self._retry.max_attempts:
                raise error
            self._sleep(self._wait_after(attempt, error))

    def _wait_after(self, attempt: int, error: FortnoxApiError) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self._retry.max_retry_after:
                raise error
            # Honour Retry-After, plus a little jitter so waiting workers do not wake together.
            return error.retry_after + self._rng() * self._retry.base_delay
        return self._retry.delay(attempt, self._rng)

    def get_json(self, path: str, params: Mapping[str, ParamValue] | None = None) -> Page:
        response = self.request("GET", path, params)
        return _page(response, path, _clean_params(params))

    def fetch_pages(
        self,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        limit: int = PAGE_LIMIT,
    ) -> list[Page]:
        """Every page of a list endpoint (``page``/``limit``, ``MetaInformation``)."""
        pages: list[Page] = []
        number = 1
        while True:
            query = {**_clean_params(params), "page": str(number), "limit": str(limit)}
            response = self.request("GET", path, query)
            page = _page(response, path, query)
            pages.append(page)
            meta = page.data.get("MetaInformation") or {}
            try:
                total = int(str(meta.get("@TotalPages", 1)))
            except ValueError:
                total = 1
            if number >= total:
                return pages
            number += 1

    def listing(
        self, path: str, key: str, params: Mapping[str, ParamValue] | None = None
    ) -> Listing:
        return Listing(key, tuple(self.fetch_pages(path, params)))

    # --------------------------------------------------------------- endpoints

    def company_information(self) -> Page:
        return self.get_json("/companyinformation")

    def financial_years(self, date: date | str | None = None) -> Listing:
        return self.listing("/financialyears", "FinancialYears", {"date": date})

    def financial_year(self, financial_year_id: int) -> Page:
        return self.get_json(f"/financialyears/{_positive(financial_year_id)}")

    def sie(self, financial_year: int, type: int = 4) -> bytes:
        """The SIE export exactly as received (bytes; the encoding is the reader's business)."""
        if type not in (1, 2, 3, 4):
            raise ValueError(f"SIE type must be 1-4, not {type}")
        response = self.request("GET", f"/sie/{type}", {"financialyear": _positive(financial_year)})
        return response.content

    def accounts(self, financial_year: int) -> Listing:
        return self.listing("/accounts", "Accounts", {"financialyear": _positive(financial_year)})

    def voucher_series(self, financial_year: int) -> Listing:
        return self.listing(
            "/voucherseries",
            "VoucherSeriesCollection",
            {"financialyear": _positive(financial_year)},
        )

    def vouchers(
        self,
        financial_year: int,
        series: str | None = None,
        fromdate: date | str | None = None,
        todate: date | str | None = None,
    ) -> Listing:
        path = f"/vouchers/sublist/{_segment(series)}" if series else "/vouchers"
        params = {
            "financialyear": _positive(financial_year),
            "fromdate": fromdate,
            "todate": todate,
        }
        return self.listing(path, "Vouchers", params)

    def voucher(self, series: str, number: int, financial_year: int) -> Page:
        return self.get_json(
            f"/vouchers/{_segment(series)}/{_positive(number)}",
            {"financialyear": _positive(financial_year)},
        )

    def create_voucher(self, financial_year: int, body: Mapping[str, Any]) -> Page:
        """POST a voucher. Never retried: see :class:`OutcomeUnknown`."""
        payload = body if "Voucher" in body else {"Voucher": dict(body)}
        params = {"financialyear": str(_positive(financial_year))}
        response = self.request("POST", "/vouchers", params, json_body=payload)
        return _page(response, "/vouchers", params)

    def invoices(
        self,
        fromdate: date | str | None = None,
        todate: date | str | None = None,
        *,
        filter: str | None = None,
        lastmodified: str | None = None,
    ) -> Listing:
        params = {
            "fromdate": fromdate,
            "todate": todate,
            "filter": filter,
            "lastmodified": lastmodified,
        }
        return self.listing("/invoices", "Invoices", params)

    def invoice_payments(
        self, *, invoicenumber: int | None = None, lastmodified: str | None = None
    ) -> Listing:
        params = {"invoicenumber": invoicenumber, "lastmodified": lastmodified}
        return self.listing("/invoicepayments", "InvoicePayments", params)

    def supplier_invoices(
        self, *, filter: str | None = None, lastmodified: str | None = None
    ) -> Listing:
        # No fromdate/todate here (the API has none for supplier invoices).
        params = {"filter": filter, "lastmodified": lastmodified}
        return self.listing("/supplierinvoices", "SupplierInvoices", params)

    def supplier_invoice_payments(self, *, lastmodified: str | None = None) -> Listing:
        return self.listing(
            "/supplierinvoicepayments", "SupplierInvoicePayments", {"lastmodified": lastmodified}
        )

    def locked_period(self) -> Page:
        return self.get_json("/settings/lockedperiod")

    # ------------------------------------ files: inbox, archive, voucher file connections
    # Scopes: inbox, archive, connectfile. The POSTs are never retried (OutcomeUnknown).

    def find_vouchers(
        self,
        financial_year: int,
        series: str,
        *,
        comments: Callable[[str | None], bool],
        fromdate: date | str | None = None,
        todate: date | str | None = None,
    ) -> list[dict[str, Any]]:
        """The series' vouchers (list items) whose ``Comments`` satisfy ``comments``.

        How a voucher whose POST had an unknown outcome is found by the key written into its
        Comments (FORTNOX-API.md, pitfall 2): narrow by series and dates, match the text.
        """
        listing = self.vouchers(financial_year, series, fromdate=fromdate, todate=todate)
        return [item for item in listing.items if comments(item.get("Comments"))]

    def upload_to_inbox(
        self,
        file_name: str,
        content: bytes,
        media_type: str = "application/octet-stream",
        *,
        folder_id: str = VOUCHER_INBOX,
    ) -> Page:
        """``POST /3/inbox?folderId=``: one file as multipart/form-data; 201 ``{"File": ...}``."""
        params = {"folderId": folder_id}
        response = self.request(
            "POST", "/inbox", params, files={"file": (file_name, content, media_type)}
        )
        return _page(response, "/inbox", params)

    def inbox_folder(self, folder_id: str = VOUCHER_INBOX) -> Page:
        """``GET /3/inbox/{folder}``: ``{"Folder": {Files, Folders, ...}}``; a file connected
        to a voucher has left the inbox for the archive."""
        return self.get_json(f"/inbox/{_segment(folder_id)}")

    def inbox_files_named(
        self, file_name: str, folder_id: str = VOUCHER_INBOX
    ) -> list[dict[str, Any]]:
        """The folder's files called ``file_name``: how an upload whose outcome is unknown is
        found again (give each upload a unique name)."""
        files = self.inbox_folder(folder_id).item("Folder").get("Files") or []
        return [f for f in files if isinstance(f, dict) and f.get("Name") == file_name]

    def archive_file(self, file_id: str) -> bytes:
        """``GET /3/archive/{Id}``: a file's bytes exactly as stored."""
        return self.request("GET", f"/archive/{_segment(file_id)}").content

    def voucher_file_connections(self) -> Listing:
        return self.listing("/voucherfileconnections", "VoucherFileConnections")

    def voucher_file_connection(self, file_id: str) -> dict[str, Any] | None:
        """The file's connection (``FileId``, ``VoucherSeries``, ``VoucherNumber``,
        ``VoucherYear``), None when the file is connected to no voucher."""
        try:
            page = self.get_json(f"/voucherfileconnections/{_segment(file_id)}")
        except NotFound:
            return None
        return page.item("VoucherFileConnection")

    def connect_voucher_file(
        self, file_id: str, series: str, number: int, financial_year: int
    ) -> Page:
        """``POST /3/voucherfileconnections?financialyear=``: the year goes in the query
        (``VoucherYear`` is read-only); 201 ``{"VoucherFileConnection": ...}``."""
        params = {"financialyear": str(_positive(financial_year))}
        body = {
            "VoucherFileConnection": {
                "FileId": file_id,
                "VoucherSeries": series,
                "VoucherNumber": str(_positive(number)),
            }
        }
        response = self.request("POST", "/voucherfileconnections", params, json_body=body)
        return _page(response, "/voucherfileconnections", params)


# ------------------------------------------------------------------- helpers


def _page(response: httpx.Response, path: str, params: dict[str, str]) -> Page:
    raw = response.content
    try:
        data = json.loads(raw, parse_float=Decimal) if raw else {}
    except (ValueError, UnicodeDecodeError):
        raise FortnoxApiError(
            "answer is not JSON", status_code=response.status_code, path=path
        ) from None
    if not isinstance(data, dict):
        raise FortnoxApiError(
            "answer is not a JSON object", status_code=response.status_code, path=path
        )
    return Page(
        raw=raw, data=data, params=dict(params), path=path, status_code=response.status_code
    )


def _clean_params(params: Mapping[str, ParamValue] | None) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None or value == "":
            continue
        clean[key] = value.isoformat() if isinstance(value, date) else str(value)
    return clean


def _require_financial_year(method: str, path: str, params: Mapping[str, str]) -> None:
    resource = path.strip("/").split("/", 1)[0].lower()
    if resource in FINANCIAL_YEAR_RESOURCES and not params.get("financialyear"):
        raise MissingFinancialYear(
            f"{method} {path} needs an explicit financialyear: without it Fortnox silently "
            f"uses its preselected year"
        )


def _positive(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MissingFinancialYear(f"expected a positive integer id, got {value!r}")
    return value


def _segment(value: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise ValueError(f"invalid path segment {value!r}")
    return httpx.URL(f"/{value}").raw_path.decode()[1:]


def encode_json(value: Any) -> str:
    """JSON text with Decimals written as exact numbers (the json module would need float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send non-finite amount {value}")
        return format(value, "f")
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        raise TypeError("floats are not accepted in Fortnox bodies: use Decimal")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, Mapping):
        inner = ",".join(
            f"{json.dumps(str(k), ensure_ascii=False)}:{encode_json(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
