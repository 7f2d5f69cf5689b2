"""Every JSON answer validates against the response schema of Fortnox's OpenAPI spec."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _sandbox_testkit import Sandbox

pytestmark = pytest.mark.sandbox

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "fortnox" / "openapi-fortnox.json"


@cache
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip("../shared/fortnox/openapi-fortnox.json is absent")
    return json.loads(SPEC.read_text(encoding="utf-8"))


def response_schema(path: str, status: str, method: str = "get") -> dict[str, Any]:
    """The spec's schema for one answer, with $refs resolvable against its components."""
    operation = spec()["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return {**schema, "components": spec()["components"]}


def validate(instance: object, schema: dict[str, Any]) -> None:
    # OpenAPI 3.0 schemas are close to draft 4; "format" stays an annotation.
    jsonschema.Draft4Validator(schema).validate(instance)


CASES = [
    ("companyinformation", {}, "/3/companyinformation", "CompanyInformation"),
    ("financialyears", {}, "/3/financialyears", "FinancialYears"),
    ("financialyears/1", {}, "/3/financialyears/{Id}", "FinancialYear"),
    ("accounts", {"limit": 500}, "/3/accounts", "Accounts"),
    ("accounts/1930", {}, "/3/accounts/{Number}", "Account"),
    ("voucherseries", {}, "/3/voucherseries", "VoucherSeriesCollection"),
    ("vouchers", {"limit": 500}, "/3/vouchers", "Vouchers"),
    ("vouchers/sublist/B", {}, "/3/vouchers/sublist/{VoucherSeries}", "Vouchers"),
    ("vouchers/B/1", {}, "/3/vouchers/{VoucherSeries}/{VoucherNumber}", "Voucher"),
    ("invoices", {"limit": 500}, "/3/invoices", "Invoices"),
    ("invoices/1", {}, "/3/invoices/{DocumentNumber}", "Invoice"),
    ("invoicepayments", {"limit": 500}, "/3/invoicepayments", "InvoicePayments"),
    ("supplierinvoices", {"limit": 500}, "/3/supplierinvoices", "SupplierInvoices"),
    (
        "supplierinvoicepayments",
        {"limit": 500},
        "/3/supplierinvoicepayments",
        "SupplierInvoicePayments",
    ),
    ("settings/lockedperiod", {}, "/3/settings/lockedperiod", "LockedPeriod"),
]


@pytest.mark.parametrize(("call", "params", "spec_path", "key"), CASES, ids=[c[0] for c in CASES])
def test_answers_match_the_openapi_schema(
    sandbox: Sandbox,
    token: str,
    call: str,
    params: dict[str, object],
    spec_path: str,
    key: str,
) -> None:
    answer = sandbox.api(token, call, **params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body[key], f"{call} answered an empty {key}; the check would prove nothing"
    validate(body, response_schema(spec_path, "200"))


def test_schema_check_catches_a_wrong_type(sandbox: Sandbox, token: str) -> None:
    body = sandbox.api(token, "financialyears").json()
    body["FinancialYears"][0]["Id"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        validate(body, response_schema("/3/financialyears", "200"))


def test_created_voucher_matches_the_schema(sandbox: Sandbox, token: str) -> None:
    payload = {
        "Voucher": {
            "VoucherSeries": "A",
            "TransactionDate": "2025-12-31",
            "Description": "Schema check",
            "VoucherRows": [{"Account": 6110, "Debit": 10}, {"Account": 1930, "Credit": 10}],
        }
    }
    answer = sandbox.http.post(
        "/3/vouchers", json=payload, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201
    validate(answer.json(), response_schema("/3/vouchers", "201", "post"))


def test_errors_match_the_schema_with_lowercase_keys(sandbox: Sandbox, token: str) -> None:
    answer = sandbox.api(token, "vouchers", financialyear=99)
    body = answer.json()
    validate(body, response_schema("/3/vouchers", "default"))
    # The spec shows Error/Message/Code; real answers (and the sandbox) use lowercase keys.
    assert set(body["ErrorInformation"]) == {"error", "message", "code"}
    assert isinstance(body["ErrorInformation"]["code"], int)
