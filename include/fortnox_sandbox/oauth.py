"""The sandbox's OAuth 2.0 authorisation server, shaped like Fortnox's.

Codes live 10 minutes and are single use. Refresh tokens are single use and
rotate: each refresh answers a new one and kills the old. Presenting a refresh
token that was already used revokes its whole family (every token descended
from the same consent), the way a stolen-token detector does: after two
workers race on one refresh, both lose the connection and a person must
consent again, which is what FORTNOX-API.md warns about. Access tokens are
HS256 JWTs with a ``tenantId`` claim; the server also keeps each one's id, so
it can expire them early (fault injection) or kill them when their grant is
revoked. Tokens are stored only as SHA-256 digests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

CODE_LIFETIME_S = 600
REFRESH_LIFETIME_S = 45 * 24 * 3600
ISSUER = "fortnox-sandbox"

# The scopes this project needs plus a few neighbours, so a typo is refused as in Fortnox.
KNOWN_SCOPES = frozenset(
    {
        "bookkeeping",
        "invoice",
        "supplierinvoice",
        "payment",
        "companyinformation",
        "settings",
        "customer",
        "supplier",
        "costcenter",
        "project",
        "profile",
        "archive",
        "inbox",
        "connectfile",
    }
)


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked GET /oauth-v1/auth request, echoed back by the consent form."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    access_type: str
    account_type: str


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """Who an access token speaks for."""

    tenant_id: int
    client_id: str
    scopes: frozenset[str]


@dataclass(slots=True)
class _Code:
    client_id: str
    tenant_id: int
    scope: str
    redirect_uri: str
    expires_at: float
    used: bool = False
    family: str | None = None  # set once exchanged, so a replay can revoke what it produced


@dataclass(slots=True)
class _Family:
    """The tokens descended from one consent (or one client-credentials call)."""

    family_id: str
    client_id: str
    tenant_id: int
    scope: str
    revoked: bool = False


@dataclass(slots=True)
class _Refresh:
    family: str
    expires_at: float
    used: bool = False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scope(scope: str) -> list[str]:
    """Space separated and case sensitive, like Fortnox; refuses unknown scopes."""
    scopes = [s for s in scope.split(" ") if s]
    if not scopes:
        raise OAuthError("invalid_scope", "scope is required")
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope: {' '.join(unknown)}")
    return scopes


class AuthorizationServer:
    """In-memory OAuth state. Thread safe; ``clock`` is injectable for tests."""

    def __init__(
        self,
        client: ClientRegistration,
        tenant_ids: Callable[[], set[int]],
        *,
        token_ttl: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self._tenant_ids = tenant_ids
        self.token_ttl = token_ttl
        self._clock = clock
        self._key_bytes = secrets.token_bytes(32)
        self._key = OctKey.import_key(self._key_bytes)
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._families: dict[str, _Family] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, tuple[float, str]] = {}  # jti -> (expires_at, family)

    # -- persistence (include.fortnox_sandbox.state) ----------------------------------------

    def export_state(self) -> dict[str, object]:
        """The signing key, grants and tokens (digests), for a restart to keep them valid."""
        with self._lock:
            return {
                "key": self._key_bytes,
                "codes": dict(self._codes),
                "families": dict(self._families),
                "refresh": dict(self._refresh),
                "access": dict(self._access),
            }

    def import_state(self, state: Mapping[str, Any]) -> None:
        with self._lock:
            self._key_bytes = bytes(state["key"])
            self._key = OctKey.import_key(self._key_bytes)
            self._codes = dict(state["codes"])
            self._families = dict(state["families"])
            self._refresh = dict(state["refresh"])
            self._access = dict(state["access"])

    # -- consent ---------------------------------------------------------------------------

    def check_authorization_request(self, params: Mapping[str, str]) -> AuthorizationRequest:
        """Validate GET /oauth-v1/auth. Errors here are shown, never redirected."""
        client_id = params.get("client_id", "")
        if not hmac.compare_digest(client_id, self.client.client_id):
            raise OAuthError("invalid_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        # Like an app registered with several redirect URIs: separated by spaces.
        if redirect_uri not in self.client.redirect_uri.split():
            raise OAuthError(
                "invalid_request", "redirect_uri does not match the registered redirect URI"
            )
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be 'code'")
        if not params.get("state"):
            raise OAuthError("invalid_request", "state is required")
        parse_scope(params.get("scope", ""))
        return AuthorizationRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=params.get("scope", ""),
            state=params["state"],
            access_type=params.get("access_type", ""),
            account_type=params.get("account_type", ""),
        )

    def decide(self, request: AuthorizationRequest, tenant_id: int | None, approve: bool) -> str:
        """The consent answer: the redirect URL carrying a code (or access_denied) and state."""
        if not approve:
            query = {"error": "access_denied", "state": request.state}
            return f"{request.redirect_uri}?{urlencode(query)}"
        if tenant_id is None or tenant_id not in self._tenant_ids():
            raise OAuthError("invalid_request", "choose one of the listed companies")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[_digest(code)] = _Code(
                client_id=request.client_id,
                tenant_id=tenant_id,
                scope=request.scope,
                redirect_uri=request.redirect_uri,
                expires_at=self._clock() + CODE_LIFETIME_S,
            )
        return f"{request.redirect_uri}?{urlencode({'code': code, 'state': request.state})}"

    # -- token endpoint --------------------------------------------------------------------

    def authenticate_client(self, authorization: str | None) -> str:
        """Check ``Authorization: Basic base64(client_id:client_secret)``."""
        if not authorization or not authorization.startswith("Basic "):
            raise OAuthError("invalid_client", "client authentication (HTTP Basic) required", 401)
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
        client_id, _, secret = decoded.partition(":")
        ok_id = hmac.compare_digest(client_id, self.client.client_id)
        ok_secret = hmac.compare_digest(secret, self.client.client_secret)
        if not (ok_id and ok_secret):
            raise OAuthError("invalid_client", "invalid client credentials", 401)
        return client_id

    def token(
        self, form: Mapping[str, str], authorization: str | None, tenant_header: str | None
    ) -> dict[str, object]:
        client_id = self.authenticate_client(authorization)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(client_id, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(client_id, form)
        if grant_type == "client_credentials":
            return self._client_credentials(client_id, form, tenant_header)
        raise OAuthError("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")

    def _exchange_code(self, client_id: str, form: Mapping[str, str]) -> dict[str, object]:
        code = form.get("code", "")
        with self._lock:
            entry = self._codes.get(_digest(code))
            if entry is None or entry.client_id != client_id:
                raise OAuthError("invalid_grant", "Invalid authorization code")
            if entry.used:
                # A replayed code revokes what it produced (RFC 6749 section 4.1.2).
                if entry.family:
                    self._revoke_family_locked(entry.family)
                raise OAuthError("invalid_grant", "Authorization code already used")
            if self._clock() >= entry.expires_at:
                raise OAuthError("invalid_grant", "Authorization code expired")
            if form.get("redirect_uri", "") != entry.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match the consent")
            entry.used = True
            family = self._new_family_locked(client_id, entry.tenant_id, entry.scope)
            entry.family = family.family_id
            return self._issue_locked(family, with_refresh=True)

    def _refresh_grant(self, client_id: str, form: Mapping[str, str]) -> dict[str, object]:
        token = form.get("refresh_token", "")
        with self._lock:
            entry = self._refresh.get(_digest(token))
            family = self._families.get(entry.family) if entry else None
            if entry is None or family is None or family.client_id != client_id:
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if entry.used:
                self._revoke_family_locked(family.family_id)
                raise OAuthError(
                    "invalid_grant",
                    "Invalid refresh token (already used; the grant is revoked, consent again)",
                )
            if family.revoked:
                raise OAuthError("invalid_grant", "Invalid refresh token (revoked)")
            if self._clock() >= entry.expires_at:
                raise OAuthError("invalid_grant", "Invalid refresh token (expired)")
            entry.used = True
            return self._issue_locked(family, with_refresh=True)

    def _client_credentials(
        self, client_id: str, form: Mapping[str, str], tenant_header: str | None
    ) -> dict[str, object]:
        try:
            tenant_id = int(tenant_header or "")
        except ValueError as exc:
            raise OAuthError("invalid_request", "header TenantId is required") from exc
        if tenant_id not in self._tenant_ids():
            raise OAuthError("invalid_grant", f"unknown tenant {tenant_id}")
        scope = form.get("scope") or " ".join(sorted(KNOWN_SCOPES))
        parse_scope(scope)
        with self._lock:
            family = self._new_family_locked(client_id, tenant_id, scope)
            return self._issue_locked(family, with_refresh=False)

    def _new_family_locked(self, client_id: str, tenant_id: int, scope: str) -> _Family:
        family = _Family(secrets.token_hex(8), client_id, tenant_id, scope)
        self._families[family.family_id] = family
        return family

    def _issue_locked(self, family: _Family, *, with_refresh: bool) -> dict[str, object]:
        now = self._clock()
        jti = secrets.token_hex(12)
        claims = {
            "iss": ISSUER,
            "sub": f"client:{family.client_id}",
            "client_id": family.client_id,
            "tenantId": family.tenant_id,
            "scope": family.scope,
            "authsource": "OAUTH2" if with_refresh else "CLIENT_CREDENTIALS",
            "iat": int(now),
            "exp": int(now) + self.token_ttl,
            "jti": jti,
        }
        access = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, self._key)
        self._access[jti] = (now + self.token_ttl, family.family_id)
        answer: dict[str, object] = {
            "access_token": access,
            "scope": family.scope,
            "expires_in": self.token_ttl,
            "token_type": "bearer",
        }
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self._refresh[_digest(refresh)] = _Refresh(family.family_id, now + REFRESH_LIFETIME_S)
            answer["refresh_token"] = refresh
        return answer

    # -- revocation and expiry -------------------------------------------------------------

    def revoke(self, form: Mapping[str, str], authorization: str | None) -> None:
        """Revoke a refresh token and its tenant's whole grant for this client.

        Unknown tokens are accepted silently (RFC 7009).
        """
        client_id = self.authenticate_client(authorization)
        with self._lock:
            entry = self._refresh.get(_digest(form.get("token", "")))
            family = self._families.get(entry.family) if entry else None
            if family is None or family.client_id != client_id:
                return
            for other in list(self._families.values()):
                if other.client_id == client_id and other.tenant_id == family.tenant_id:
                    self._revoke_family_locked(other.family_id)

    def _revoke_family_locked(self, family_id: str) -> None:
        family = self._families.get(family_id)
        if family is not None:
            family.revoked = True
        for jti, (_, fam) in list(self._access.items()):
            if fam == family_id:
                del self._access[jti]

    def expire_access_tokens(self) -> int:
        """Every access token issued so far stops working now; returns how many."""
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count

    # -- resource server side --------------------------------------------------------------

    def verify_access_token(self, token: str) -> AccessGrant | None:
        """The grant behind a bearer token, or None when it is invalid, expired or revoked."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
        except (JoseError, ValueError):
            return None
        claims = decoded.claims
        jti = claims.get("jti")
        with self._lock:
            live = self._access.get(jti) if isinstance(jti, str) else None
            if live is None:
                return None
            expires_at, _ = live
            if self._clock() >= expires_at:
                del self._access[jti]  # type: ignore[arg-type]
                return None
        return AccessGrant(
            tenant_id=int(claims["tenantId"]),
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
        )
