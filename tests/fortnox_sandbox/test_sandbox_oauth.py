"""OAuth flows against the running sandbox: consent, code, refresh rotation, service, revoke."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from _sandbox_testkit import REDIRECT_URI, Sandbox, make_sandbox

pytestmark = pytest.mark.sandbox


def jwt_claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_code_flow_gives_bearer_tokens_for_the_chosen_tenant(sandbox: Sandbox) -> None:
    tenant = sandbox.tenants[1]
    answer = sandbox.connect(tenant)
    assert answer["token_type"] == "bearer"
    assert answer["expires_in"] == 3600
    assert answer["refresh_token"]
    claims = jwt_claims(answer["access_token"])
    assert claims["tenantId"] == tenant
    company = sandbox.api(answer["access_token"], "companyinformation").json()
    assert company["CompanyInformation"]["DatabaseNumber"] == tenant


def test_consent_lists_every_tenant_and_deny_redirects_with_access_denied(
    sandbox: Sandbox,
) -> None:
    params = {
        "client_id": sandbox.client_id,
        "response_type": "code",
        "state": "s-deny",
        "scope": "bookkeeping",
        "redirect_uri": REDIRECT_URI,
        "access_type": "offline",
    }
    page = sandbox.http.get("/oauth-v1/auth", params=params)
    for tenant in sandbox.tenants:
        assert f'value="{tenant}"' in page.text
    answer = sandbox.http.post("/oauth-v1/auth", data={**params, "approve": "no"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{REDIRECT_URI}?error=access_denied&state=s-deny"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uri": "http://evil.example/cb"}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"scope": "bookkeeping Invoice"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"state": ""}, "invalid_request"),
    ],
)
def test_bad_consent_requests_are_shown_not_redirected(
    sandbox: Sandbox, change: dict[str, str], error: str
) -> None:
    params = {
        "client_id": sandbox.client_id,
        "response_type": "code",
        "state": "s",
        "scope": "bookkeeping",
        "redirect_uri": REDIRECT_URI,
        **change,
    }
    answer = sandbox.http.get("/oauth-v1/auth", params=params)
    assert answer.status_code in (400, 401)
    assert "Location" not in answer.headers
    assert error in answer.text


def test_code_is_single_use_and_a_replay_revokes_what_it_gave(sandbox: Sandbox) -> None:
    code = sandbox.authorize(sandbox.tenants[0])
    first = sandbox.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    replay = sandbox.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    refresh = sandbox.token(grant_type="refresh_token", refresh_token=first.json()["refresh_token"])
    assert refresh.json()["error"] == "invalid_grant"
    assert sandbox.api(first.json()["access_token"], "companyinformation").status_code == 401


def test_code_exchange_checks_redirect_uri_and_client_secret(sandbox: Sandbox) -> None:
    code = sandbox.authorize(sandbox.tenants[0])
    wrong_uri = sandbox.token(
        grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:1/x"
    )
    assert wrong_uri.status_code == 400
    assert wrong_uri.json() == {
        "error": "invalid_grant",
        "error_description": "redirect_uri does not match the consent",
    }
    bad_secret = sandbox.http.post(
        "/oauth-v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(sandbox.client_id, "wrong"),
    )
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "invalid_client"
    assert sandbox.secret not in bad_secret.text


def test_refresh_rotates_and_the_old_token_dies(sandbox: Sandbox) -> None:
    first = sandbox.connect(sandbox.tenants[0])
    second = sandbox.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200
    new = second.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert sandbox.api(new["access_token"], "financialyears").status_code == 200
    third = sandbox.token(grant_type="refresh_token", refresh_token=new["refresh_token"])
    assert third.status_code == 200


def test_reusing_a_refresh_token_is_invalid_grant_and_revokes_the_family(sandbox: Sandbox) -> None:
    first = sandbox.connect(sandbox.tenants[0])
    winner = sandbox.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert winner.status_code == 200
    loser = sandbox.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert loser.status_code == 400
    assert loser.json()["error"] == "invalid_grant"
    # Like two workers racing: the winner's tokens die too; consent again.
    after = sandbox.token(grant_type="refresh_token", refresh_token=winner.json()["refresh_token"])
    assert after.json()["error"] == "invalid_grant"
    assert sandbox.api(winner.json()["access_token"], "financialyears").status_code == 401


def test_unknown_refresh_token_and_grant_type(sandbox: Sandbox) -> None:
    answer = sandbox.token(grant_type="refresh_token", refresh_token="nope")
    assert answer.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    answer = sandbox.token(grant_type="password")
    assert answer.json()["error"] == "unsupported_grant_type"


def test_client_credentials_needs_tenant_header_and_gives_no_refresh(sandbox: Sandbox) -> None:
    tenant = sandbox.tenants[1]
    answer = sandbox.http.post(
        "/oauth-v1/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.secret),
        headers={"TenantId": str(tenant)},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert "refresh_token" not in body
    assert jwt_claims(body["access_token"])["tenantId"] == tenant
    info = sandbox.api(body["access_token"], "companyinformation").json()
    assert info["CompanyInformation"]["DatabaseNumber"] == tenant
    missing = sandbox.http.post(
        "/oauth-v1/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.secret),
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    unknown = sandbox.http.post(
        "/oauth-v1/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.secret),
        headers={"TenantId": "999"},
    )
    assert unknown.json()["error"] == "invalid_grant"


def test_revoke_kills_the_grant(sandbox: Sandbox) -> None:
    tenant = sandbox.tenants[1]
    one = sandbox.connect(tenant)
    two = sandbox.connect(tenant)  # a second consent of the same tenant and client
    answer = sandbox.http.post(
        "/oauth-v1/revoke",
        data={"token_type_hint": "refresh_token", "token": one["refresh_token"]},
        auth=(sandbox.client_id, sandbox.secret),
    )
    assert answer.status_code == 200
    for tokens in (one, two):
        refresh = sandbox.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert refresh.json()["error"] == "invalid_grant"
    assert sandbox.api(one["access_token"], "financialyears").status_code == 401


def test_scope_is_enforced(sandbox: Sandbox) -> None:
    token = sandbox.connect(sandbox.tenants[0], scope="bookkeeping")["access_token"]
    assert sandbox.api(token, "vouchers").status_code == 200
    denied = sandbox.api(token, "invoices")
    assert denied.status_code == 403
    assert denied.json()["ErrorInformation"]["code"] == 2000663


def test_missing_or_forged_bearer_is_401(sandbox: Sandbox) -> None:
    answer = sandbox.http.get("/3/companyinformation")
    assert answer.status_code == 401
    assert answer.json()["ErrorInformation"]["code"] == 2000310
    token = sandbox.service_token(sandbox.tenants[0])
    head, _, signature = token.split(".")
    claims = jwt_claims(token)
    claims["tenantId"] = sandbox.tenants[1]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{head}.{forged_payload}.{signature}"
    answer = sandbox.api(forged, "companyinformation")
    assert answer.status_code == 401
    assert answer.json()["ErrorInformation"]["code"] == 2000311


@pytest.fixture(scope="module")
def short_lived() -> Iterator[Sandbox]:
    yield from make_sandbox(companies=1, token_ttl=1)


def test_access_tokens_expire_after_token_ttl(short_lived: Sandbox) -> None:
    answer = short_lived.connect(short_lived.tenants[0])
    assert answer["expires_in"] == 1
    assert short_lived.api(answer["access_token"], "financialyears").status_code == 200
    time.sleep(1.2)
    expired = short_lived.api(answer["access_token"], "financialyears")
    assert expired.status_code == 401
    assert expired.json()["ErrorInformation"]["code"] == 2000311
    renewed = short_lived.token(grant_type="refresh_token", refresh_token=answer["refresh_token"])
    assert short_lived.api(renewed.json()["access_token"], "financialyears").status_code == 200


def test_an_app_with_several_redirect_uris_accepts_each_and_nothing_else() -> None:
    # make airflow registers the command line's listener and the Integrations view's callback.
    from include.fortnox_sandbox.oauth import AuthorizationServer, ClientRegistration, OAuthError

    uris = "http://127.0.0.1:8765/callback http://127.0.0.1:8080/integrations/fortnox/callback"
    server = AuthorizationServer(ClientRegistration("app", "secret", uris), lambda: {1})
    params = {"client_id": "app", "response_type": "code", "state": "s", "scope": "bookkeeping"}
    for uri in uris.split():
        request = server.check_authorization_request({**params, "redirect_uri": uri})
        assert request.redirect_uri == uri
    for wrong in ("http://127.0.0.1:8080/other", uris, ""):
        with pytest.raises(OAuthError, match="redirect_uri does not match"):
            server.check_authorization_request({**params, "redirect_uri": wrong})
