"""CSRF protection and signed cookies for the Integrations view.

- **CSRF**: a synchroniser token bound to the session. The browser keeps a random secret in
  an HttpOnly cookie; every form carries ``HMAC(key, secret | user)``. A POST is accepted
  only when the form's token matches the cookie and the logged-in user, and its ``Origin``
  (else ``Referer``) is the view's own origin. A forged form on another site can neither
  read the cookie nor compute the token.
- **Signed values** (the flash message shown after a redirect): ``value.expiry.signature``,
  so a cookie cannot be forged or replayed after it expired.

The key is derived from a server secret the caller passes (the plugin uses Airflow's JWT
signing secret, which every API server worker shares), one sub-key per purpose.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class Signer:
    """HMAC-SHA256 under a key derived from ``secret`` for one ``purpose``."""

    def __init__(
        self, secret: str | bytes, purpose: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        raw = secret.encode() if isinstance(secret, str) else secret
        self._key = hmac.new(raw, f"integrations:{purpose}".encode(), hashlib.sha256).digest()
        self._clock = clock

    def __repr__(self) -> str:
        return "Signer(<key hidden>)"

    def mac(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, value: str, *, max_age_seconds: int) -> str:
        """``value`` with its expiry and signature (``value`` must be URL-safe text)."""
        expires = str(int(self._clock()) + max_age_seconds)
        return f"{value}.{expires}.{self.mac(value, expires)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value, or None when ``signed`` is missing, forged or expired."""
        if not signed or signed.count(".") < 2:
            return None
        value, expires, signature = signed.rsplit(".", 2)
        if not hmac.compare_digest(signature, self.mac(value, expires)):
            return None
        if not expires.isdigit() or int(expires) < self._clock():
            return None
        return value


def new_csrf_secret() -> str:
    """The random per-browser secret kept in the CSRF cookie."""
    return secrets.token_urlsafe(32)


def csrf_token(signer: Signer, cookie_secret: str, username: str) -> str:
    """The token forms carry: bound to the browser's secret and the logged-in user."""
    return signer.mac("csrf", cookie_secret, username)


def csrf_token_valid(
    signer: Signer, cookie_secret: str | None, username: str, submitted: str | None
) -> bool:
    if not cookie_secret or not submitted or not username:
        return False
    return hmac.compare_digest(submitted, csrf_token(signer, cookie_secret, username))


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower case, without the default port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def request_origin_allowed(
    origin: str | None, referer: str | None, allowed: Iterable[str | None]
) -> bool:
    """Whether a state-changing request comes from one of the ``allowed`` origins.

    ``Origin`` decides when the browser sent one (Chromium and Firefox do on every POST);
    else the ``Referer``'s origin. A request with neither is refused.
    """
    allowed_origins = {o for o in (origin_of(a) for a in allowed if a) if o}
    if origin and origin.strip().lower() != "null":
        return origin_of(origin) in allowed_origins
    if referer:
        return origin_of(referer) in allowed_origins
    return False
