"""Typed errors of the Fortnox client.

Every error derives from :class:`~include.fortnox.models.FortnoxError`. API errors are mapped
from Fortnox's ``ErrorInformation`` code first (it is more precise than the HTTP status) and
from the HTTP status otherwise. Messages never contain tokens or request bodies.
"""

from __future__ import annotations

import json
from decimal import Decimal

from include.fortnox.models import FortnoxError, ReconnectRequired

__all__ = [
    "AuthError",
    "BadRequestBody",
    "FortnoxApiError",
    "FortnoxConnectionError",
    "FortnoxError",
    "FortnoxSystemError",
    "InvalidClient",
    "InvalidGrant",
    "InvalidParameter",
    "MissingFinancialYear",
    "NotConnected",
    "NotFound",
    "OAuthError",
    "OutcomeUnknown",
    "PeriodLocked",
    "RateLimited",
    "ReconnectRequired",
    "ScopeError",
    "ServerError",
    "TokenKeyError",
    "error_from_response",
]


class FortnoxApiError(FortnoxError):
    """Fortnox answered a request with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        code_text = f", code {code}" if code is not None else ""
        super().__init__(f"{where}HTTP {status_code}{code_text}: {message}")


class AuthError(FortnoxApiError):
    """The access token was refused (2000310, 2000311, HTTP 401)."""


class InvalidParameter(FortnoxApiError):
    """A query parameter was refused (2000588)."""


class ScopeError(FortnoxApiError):
    """Missing licence or scope for the resource (2001101, 2000663, 2001103, HTTP 403)."""


class NotFound(FortnoxApiError):
    """The resource does not exist (2001304, HTTP 404)."""


class BadRequestBody(FortnoxApiError):
    """The request body was empty, malformed or not valid JSON (2001392, 2002115)."""


class PeriodLocked(FortnoxApiError):
    """Posting into a locked accounting period was refused (2000401)."""


class RateLimited(FortnoxApiError):
    """HTTP 429: over 25 requests per 5 seconds for this client and tenant."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status_code: int = 429,
        code: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status_code=status_code, code=code, method=method, path=path)


class ServerError(FortnoxApiError):
    """HTTP 5xx from Fortnox."""


class FortnoxSystemError(ServerError):
    """Fortnox's own "system error" (1000003)."""


class FortnoxConnectionError(FortnoxError):
    """The request never got an answer (connect failure, timeout) after all attempts."""


class OutcomeUnknown(FortnoxError):
    """A POST may or may not have taken effect (timeout, dropped connection, 5xx).

    Never re-send blindly: look the resource up first (the export outbox does this).
    """

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: outcome unknown: {message}")


class MissingFinancialYear(FortnoxError, ValueError):
    """A call that selects a financial year was made without an explicit ``financialyear``.

    Fortnox would silently use its preselected year instead.
    """


class OAuthError(FortnoxError):
    """The OAuth token or revoke endpoint refused a request."""

    def __init__(self, error: str, description: str = "", *, status_code: int = 0) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        detail = f": {description}" if description else ""
        super().__init__(f"OAuth error {error} (HTTP {status_code}){detail}")


class InvalidGrant(OAuthError):
    """The code or refresh token is invalid, expired, used or revoked."""


class InvalidClient(OAuthError):
    """The client id or secret was refused."""


class NotConnected(FortnoxError):
    """No connection is stored for the company."""


class TokenKeyError(FortnoxError):
    """The token encryption key is missing, malformed or does not decrypt a stored token."""


_CODE_CLASSES: dict[int, type[FortnoxApiError]] = {
    2000310: AuthError,
    2000311: AuthError,
    2000588: InvalidParameter,
    2001101: ScopeError,
    2000663: ScopeError,
    2001103: ScopeError,
    2001304: NotFound,
    2001392: BadRequestBody,
    2002115: BadRequestBody,
    1000003: FortnoxSystemError,
    2000401: PeriodLocked,
}


def parse_error_information(body: bytes) -> tuple[int | None, str]:
    """Code and message from an ``ErrorInformation`` body (lowercase or capitalised keys)."""
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None, _snippet(body)
    if not isinstance(payload, dict):
        return None, _snippet(body)
    info = payload.get("ErrorInformation") or payload.get("errorInformation")
    if not isinstance(info, dict):
        # OAuth-style answers also appear on the API (e.g. from the gateway).
        message = payload.get("message") or payload.get("error_description") or payload.get("error")
        return None, str(message) if message else _snippet(body)
    lowered = {str(k).lower(): v for k, v in info.items()}
    raw_code = lowered.get("code")
    try:
        code = int(str(raw_code)) if raw_code is not None else None
    except ValueError:
        code = None
    message = lowered.get("message")
    return code, str(message) if message is not None else ""


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace").strip()
    return text or "(empty body)"


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not used by Fortnox; fall back to back-off
    return max(0.0, seconds)


def error_from_response(
    status_code: int,
    body: bytes,
    *,
    method: str,
    path: str,
    retry_after: str | None = None,
) -> FortnoxApiError:
    """The typed error for a non-2xx API answer."""
    code, message = parse_error_information(body)
    if status_code == 429:
        return RateLimited(
            message or "rate limited",
            retry_after=_retry_after_seconds(retry_after),
            status_code=status_code,
            code=code,
            method=method,
            path=path,
        )
    if status_code == 404:
        # Fortnox answers some missing resources with a generic code (e.g. 2000588).
        kind: type[FortnoxApiError] = NotFound
    elif code is not None and code in _CODE_CLASSES:
        kind = _CODE_CLASSES[code]
    elif status_code >= 500:
        kind = ServerError
    else:
        kind = {401: AuthError, 403: ScopeError}.get(status_code, FortnoxApiError)
    return kind(message, status_code=status_code, code=code, method=method, path=path)
