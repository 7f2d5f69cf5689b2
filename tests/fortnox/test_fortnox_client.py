"""FortnoxClient against a mocked API: errors, retries, paging, financialyear, exact bytes."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from _fortnox_testkit import ACCESS_TOKEN, error_body, json_response

from include.fortnox import errors
from include.fortnox.client import RetryPolicy, encode_json

ERROR_CASES = [
    (401, 2000310, errors.AuthError),
    (401, 2000311, errors.AuthError),
    (400, 2000588, errors.InvalidParameter),
    (403, 2001101, errors.ScopeError),
    (403, 2000663, errors.ScopeError),
    (403, 2001103, errors.ScopeError),
    (404, 2001304, errors.NotFound),
    (400, 2001392, errors.BadRequestBody),
    (400, 2002115, errors.BadRequestBody),
    (400, 1000003, errors.FortnoxSystemError),
    (400, 2000401, errors.PeriodLocked),
]


@pytest.mark.parametrize("capitalised", [False, True], ids=["lowercase", "capitalised"])
@pytest.mark.parametrize(("status", "code", "expected"), ERROR_CASES)
def test_error_information_maps_to_typed_error(
    make_client, status, code, expected, capitalised
) -> None:
    client, recorder = make_client(
        lambda r: json_response(status, error_body(code, "Något gick fel", capitalised=capitalised))
    )
    with pytest.raises(expected) as info:
        client.company_information()
    assert info.value.code == code
    assert info.value.status_code == status
    assert "Något gick fel" in str(info.value)
    assert ACCESS_TOKEN not in str(info.value)
    assert len(recorder.requests) == 1  # 4xx other than 429 is never retried


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, errors.AuthError),
        (403, errors.ScopeError),
        (404, errors.NotFound),
        (409, errors.FortnoxApiError),
    ],
)
def test_status_without_error_information(make_client, status, expected) -> None:
    client, recorder = make_client(lambda r: httpx.Response(status, content=b"<html>nope</html>"))
    with pytest.raises(expected) as info:
        client.locked_period()
    assert type(info.value) is expected
    assert len(recorder.requests) == 1


def test_404_is_not_found_whatever_the_code(make_client) -> None:
    client, _ = make_client(lambda r: json_response(404, error_body(2000588, "Voucher not found")))
    with pytest.raises(errors.NotFound) as info:
        client.voucher("A", 9, 1)
    assert info.value.code == 2000588


def test_429_retried_honouring_retry_after(make_client, fake_time) -> None:
    answers = iter(
        [
            json_response(429, {"message": "slow down"}, {"Retry-After": "3"}),
            json_response(429, {"message": "slow down"}),
            json_response(200, {"CompanyInformation": {"CompanyName": "AB"}}),
        ]
    )
    client, recorder = make_client(lambda r: next(answers))
    page = client.company_information()
    assert page.item("CompanyInformation")["CompanyName"] == "AB"
    assert len(recorder.requests) == 3
    # Retry-After 3 s plus jitter 0.5*base; then full jitter 0.5 * min(8, 1*2**1).
    assert fake_time.slept == [3.5, 1.0]


def test_5xx_backoff_is_bounded_then_raises(make_client, fake_time) -> None:
    client, recorder = make_client(lambda r: json_response(503, {"message": "busy"}))
    with pytest.raises(errors.ServerError):
        client.company_information()
    assert len(recorder.requests) == 4
    # Full jitter (rng 0.5) of 1, 2, 4 seconds: exponential, capped, never more than max.
    assert fake_time.slept == [0.5, 1.0, 2.0]


def test_system_error_1000003_with_500_is_retried(make_client) -> None:
    answers = iter([json_response(500, error_body(1000003)), json_response(200, {"X": 1})])
    client, recorder = make_client(lambda r: next(answers))
    assert client.get_json("/companyinformation").data == {"X": 1}
    assert len(recorder.requests) == 2


def test_rate_limited_after_all_attempts(make_client) -> None:
    client, recorder = make_client(lambda r: httpx.Response(429))
    with pytest.raises(errors.RateLimited):
        client.company_information()
    assert len(recorder.requests) == 4


def test_huge_retry_after_is_raised_not_slept(make_client, fake_time) -> None:
    client, _ = make_client(lambda r: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(errors.RateLimited) as info:
        client.company_information()
    assert info.value.retry_after == 3600
    assert fake_time.slept == []


def test_connection_errors_retried_on_get(make_client, fake_time) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            raise httpx.ConnectError("refused", request=request)
        return json_response(200, {"ok": True})

    client, _ = make_client(handler)
    assert client.get_json("/companyinformation").data == {"ok": True}
    assert len(fake_time.slept) == 2


def test_connection_errors_exhausted(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _ = make_client(handler)
    with pytest.raises(errors.FortnoxConnectionError, match="4 attempts"):
        client.company_information()


VOUCHER = {
    "VoucherSeries": "A",
    "TransactionDate": "2024-12-31",
    "Description": "Bokslut",
    "VoucherRows": [
        {"Account": 1930, "Debit": Decimal("1234.50"), "Credit": Decimal("0")},
        {"Account": 3001, "Debit": Decimal("0"), "Credit": Decimal("1234.50")},
    ],
}


def test_create_voucher_sends_exact_decimals(make_client) -> None:
    client, recorder = make_client(
        lambda r: httpx.Response(
            201, content=b'{"Voucher": {"VoucherNumber": 7, "Year": 3, "Total": 1234.50}}'
        )
    )
    page = client.create_voucher(3, VOUCHER)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert request.url.params["financialyear"] == "3"
    assert b'"Debit":1234.50' in request.content
    body = json.loads(request.content, parse_float=Decimal)
    assert body["Voucher"]["VoucherRows"][0]["Debit"] == Decimal("1234.50")
    assert page.item("Voucher")["VoucherNumber"] == 7
    assert page.item("Voucher")["Total"] == Decimal("1234.50")  # never float


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_5xx_is_outcome_unknown_and_not_retried(make_client, status) -> None:
    client, recorder = make_client(lambda r: httpx.Response(status))
    with pytest.raises(errors.OutcomeUnknown):
        client.create_voucher(3, VOUCHER)
    assert len(recorder.requests) == 1


def test_post_system_error_is_outcome_unknown(make_client) -> None:
    # Fortnox's "system error" can come after the voucher was saved: never a plain refusal.
    client, recorder = make_client(lambda r: httpx.Response(500, json=error_body(1000003)))
    with pytest.raises(errors.OutcomeUnknown):
        client.create_voucher(3, VOUCHER)
    assert len(recorder.requests) == 1


def test_settings_repr_hides_the_token_store_url() -> None:
    from include.fortnox.config import FortnoxSettings

    settings = FortnoxSettings(
        client_id="app",
        client_secret="s3cret-value",
        token_store_url="postgresql+psycopg://u:hunter2@db/warehouse",
    )
    assert "hunter2" not in repr(settings) and "s3cret-value" not in repr(settings)


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.WriteError])
def test_post_lost_answer_is_outcome_unknown(make_client, exc) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("lost", request=request)

    client, recorder = make_client(handler)
    with pytest.raises(errors.OutcomeUnknown):
        client.create_voucher(3, VOUCHER)
    assert len(recorder.requests) == 1


def test_post_connect_error_is_known_not_sent(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, recorder = make_client(handler)
    with pytest.raises(errors.FortnoxConnectionError):
        client.create_voucher(3, VOUCHER)
    assert len(recorder.requests) == 1


def test_post_429_and_refusals_are_not_retried(make_client) -> None:
    client, recorder = make_client(lambda r: httpx.Response(429))
    with pytest.raises(errors.RateLimited):
        client.create_voucher(3, VOUCHER)
    client, recorder2 = make_client(lambda r: json_response(400, error_body(2000401)))
    with pytest.raises(errors.PeriodLocked):
        client.create_voucher(3, VOUCHER)
    assert len(recorder.requests) == len(recorder2.requests) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.request("GET", "/sie/4"),
        lambda c: c.request("GET", "/vouchers"),
        lambda c: c.request("GET", "/vouchers/A/1"),
        lambda c: c.fetch_pages("/accounts"),
        lambda c: c.fetch_pages("/voucherseries", {"financialyear": None}),
        lambda c: c.sie(0),
        lambda c: c.accounts(None),
        lambda c: c.vouchers("3"),
        lambda c: c.voucher("A", 1, None),
        lambda c: c.create_voucher(None, VOUCHER),
    ],
)
def test_financial_year_is_required(make_client, call) -> None:
    client, recorder = make_client(lambda r: json_response(200, {}))
    with pytest.raises(errors.MissingFinancialYear):
        call(client)
    assert recorder.requests == []


def test_financial_year_sent_on_every_year_call(make_client) -> None:
    client, recorder = make_client(
        lambda r: (
            json_response(200, {"MetaInformation": {"@TotalPages": 1}})
            if "sie" not in r.url.path
            else httpx.Response(200, content=b"#FLAGGA 0\r\n")
        )
    )
    client.sie(5)
    client.accounts(5)
    client.voucher_series(5)
    client.vouchers(5)
    client.vouchers(5, series="A", fromdate="2024-01-01", todate="2024-12-31")
    client.voucher("A", 12, 5)
    paths = [r.url.path for r in recorder.requests]
    assert paths == [
        "/3/sie/4",
        "/3/accounts",
        "/3/voucherseries",
        "/3/vouchers",
        "/3/vouchers/sublist/A",
        "/3/vouchers/A/12",
    ]
    assert all(r.url.params["financialyear"] == "5" for r in recorder.requests)
    assert recorder.requests[4].url.params["fromdate"] == "2024-01-01"


def test_sie_bytes_exactly_as_received(make_client) -> None:
    body = '#FLAGGA 0\r\n#FORMAT PC8\r\n#FNAMN "Åkesson & Co"\r\n'.encode("cp437") + bytes(
        range(256)
    )
    client, recorder = make_client(lambda r: httpx.Response(200, content=body))
    assert client.sie(2) == body
    assert recorder.requests[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert recorder.requests[0].headers["Accept"] == "application/json"


def test_paging_collects_every_page_with_raw_bytes(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        assert request.url.params["limit"] == "500"
        raw = (
            '{"MetaInformation": {"@TotalResources": 5, "@TotalPages": 3, '
            f'"@CurrentPage": {page}}}, "Invoices": [{{"DocumentNumber": "{page}", '
            '"Total": 100.10}]}'
        ).encode()
        return httpx.Response(200, content=raw)

    client, recorder = make_client(handler)
    listing = client.invoices(fromdate="2024-01-01", todate="2024-12-31")
    assert [p.params["page"] for p in listing.pages] == ["1", "2", "3"]
    assert [i["DocumentNumber"] for i in listing.items] == ["1", "2", "3"]
    assert listing.items[0]["Total"] == Decimal("100.10")
    assert listing.pages[1].raw.startswith(b'{"MetaInformation": {"@TotalResources": 5')
    assert listing.pages[0].params["fromdate"] == "2024-01-01"
    assert len(recorder.requests) == 3


def test_paging_single_page_without_meta(make_client) -> None:
    client, recorder = make_client(lambda r: json_response(200, {"SupplierInvoices": []}))
    listing = client.supplier_invoices(filter="unpaid")
    assert listing.items == []
    assert len(recorder.requests) == 1
    assert recorder.requests[0].url.params["filter"] == "unpaid"
    assert "fromdate" not in recorder.requests[0].url.params


def test_endpoint_paths(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, {"MetaInformation": {"@TotalPages": 1}})

    client, recorder = make_client(handler)
    client.financial_years(date="2024-06-30")
    client.financial_year(3)
    client.invoice_payments()
    client.supplier_invoice_payments()
    client.locked_period()
    client.company_information()
    assert [r.url.path for r in recorder.requests] == [
        "/3/financialyears",
        "/3/financialyears/3",
        "/3/invoicepayments",
        "/3/supplierinvoicepayments",
        "/3/settings/lockedperiod",
        "/3/companyinformation",
    ]
    assert recorder.requests[0].url.params["date"] == "2024-06-30"


def test_pacer_is_consulted_for_every_attempt(make_client) -> None:
    keys: list[str] = []

    class CountingPacer:
        def acquire(self, key: str) -> None:
            keys.append(key)

    answers = iter([httpx.Response(503), json_response(200, {})])
    client, _ = make_client(lambda r: next(answers), pacer=CountingPacer(), pacer_key="cid:42")
    client.company_information()
    assert keys == ["cid:42", "cid:42"]


def test_non_json_success_is_an_error(make_client) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(errors.FortnoxApiError, match="not JSON"):
        client.company_information()


def test_encode_json_refuses_float() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        encode_json({"Debit": 1.5})
    assert (
        encode_json({"a": [Decimal("-0.10"), 1, "å", None, True]})
        == '{"a":[-0.10,1,"å",null,true]}'
    )


def test_client_repr_has_no_token(make_client) -> None:
    client, _ = make_client(lambda r: json_response(200, {}))
    assert ACCESS_TOKEN not in repr(client)
    assert RetryPolicy().max_attempts >= 2
