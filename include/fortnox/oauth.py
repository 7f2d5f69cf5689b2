"""Fortnox OAuth 2.0: consent URL, code exchange, refresh, client credentials, revoke.

Plain httpx with HTTP Basic client authentication: Fortnox's token endpoint is a small,
fixed protocol, and authlib's session adds little over it here while hiding the single-use
refresh token handling that the token store must control. Token requests are never retried:
a refresh whose answer was lost has already consumed the single-use refresh token.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx

from include.fortnox.config import FortnoxSettings
from include.fortnox.errors import (
    FortnoxConnectionError,
    InvalidClient,
    InvalidGrant,
    OAuthError,
)
from include.fortnox.models import TokenSet

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A consent URL and the state value the callback must echo."""

    url: str
    state: str


class FortnoxOAuth:
    """OAuth calls for one Fortnox app (client id + secret)."""

    def __init__(
        self,
        settings: FortnoxSettings,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, transport=transport)
        self._now = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> FortnoxOAuth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authorization_url(
        self,
        *,
        state: str | None = None,
        scopes: Sequence[str] | None = None,
        service_account: bool = False,
    ) -> AuthorizationRequest:
        """The consent URL (``access_type=offline``) with a fresh CSRF ``state``."""
        state = state or secrets.token_urlsafe(24)
        params = {
            "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_uri,
            "scope": " ".join(scopes or self.settings.scopes),
            "state": state,
            "access_type": "offline",
            "response_type": "code",
        }
        if service_account:
            params["account_type"] = "service"
        return AuthorizationRequest(f"{self.settings.auth_url}?{urlencode(params)}", state)

    def exchange_code(self, code: str) -> TokenSet:
        return self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.redirect_uri,
            }
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """Exchange a (single-use) refresh token; the answer carries the next one."""
        return self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def client_credentials(self, tenant_id: str) -> TokenSet:
        """An access token for a service-account connection (no refresh token)."""
        return self._token_request(
            {"grant_type": "client_credentials"}, headers={"TenantId": str(tenant_id)}
        )

    def revoke(self, token: str, *, token_type_hint: str = "refresh_token") -> None:
        response = self._post(
            self.settings.revoke_url, {"token_type_hint": token_type_hint, "token": token}
        )
        if response.status_code >= 400:
            raise _oauth_error(response)

    def check_client(self) -> tuple[bool, str]:
        """Whether the token endpoint answers and accepts our client credentials.

        A refresh with a dummy token must be refused as ``invalid_grant`` (client accepted),
        not ``invalid_client``.
        """
        try:
            self.refresh("connection-test-dummy-token")
        except InvalidGrant:
            return True, "token endpoint reachable and client credentials accepted"
        except InvalidClient as exc:
            return False, f"client id or secret refused: {exc.description or exc.error}"
        except OAuthError as exc:
            return False, f"unexpected answer from the token endpoint: {exc}"
        except FortnoxConnectionError as exc:
            return False, str(exc)
        return False, "the token endpoint accepted a dummy refresh token"

    def _token_request(
        self, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> TokenSet:
        response = self._post(self.settings.token_url, form, headers)
        if response.status_code >= 400:
            raise _oauth_error(response)
        try:
            payload = json.loads(response.content)
        except ValueError:
            raise OAuthError(
                "invalid_response", "token endpoint answer is not JSON", status_code=200
            ) from None
        if not isinstance(payload, dict) or "access_token" not in payload:
            raise OAuthError(
                "invalid_response", "token endpoint answer has no access_token", status_code=200
            )
        return TokenSet.from_response(payload, now=self._now())

    def _post(
        self, url: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            return self._http.post(
                url,
                data=form,
                headers={"Accept": "application/json", **(headers or {})},
                auth=(self.settings.client_id, self.settings.client_secret),
            )
        except httpx.HTTPError as exc:
            # Name the endpoint and the failure, never the form (it holds tokens).
            raise FortnoxConnectionError(
                f"OAuth request to {url} failed: {type(exc).__name__}"
            ) from None


def _oauth_error(response: httpx.Response) -> OAuthError:
    error, description = "http_error", ""
    try:
        payload = json.loads(response.content)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        error = str(payload.get("error") or error)
        description = str(payload.get("error_description") or payload.get("message") or "")
    if error == "invalid_grant":
        return InvalidGrant(error, description, status_code=response.status_code)
    if error == "invalid_client" or (response.status_code == 401 and error == "http_error"):
        return InvalidClient("invalid_client", description, status_code=response.status_code)
    return OAuthError(error, description, status_code=response.status_code)
