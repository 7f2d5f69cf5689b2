"""Fortnox connection settings: from the environment or from an Airflow-style connection."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from include.fortnox.models import FortnoxError

DEFAULT_API_URL = "https://api.fortnox.se/3"
DEFAULT_AUTH_URL = "https://apps.fortnox.se/oauth-v1/auth"
DEFAULT_TOKEN_URL = "https://apps.fortnox.se/oauth-v1/token"
DEFAULT_REVOKE_URL = "https://apps.fortnox.se/oauth-v1/revoke"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEFAULT_SCOPES: tuple[str, ...] = (
    "bookkeeping",
    "invoice",
    "supplierinvoice",
    "payment",
    "companyinformation",
    "settings",
    # The closing export's attachments: upload, read back, connect to the voucher.
    "inbox",
    "archive",
    "connectfile",
)


PACER_FILE = "file"
PACER_DATABASE = "database"
PACER_KINDS = (PACER_FILE, PACER_DATABASE)


def _pacer_kind(value: str, where: str) -> str:
    kind = value.strip().lower()
    if kind not in PACER_KINDS:
        raise FortnoxError(f"{where} is {value!r}: expected one of {', '.join(PACER_KINDS)}")
    return kind


class ConnectionLike(Protocol):
    """What :meth:`FortnoxSettings.from_connection` reads (an Airflow Connection fits)."""

    host: str | None
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class FortnoxSettings:
    """Where Fortnox is and who we are to it. ``repr`` never shows the client secret."""

    client_id: str
    client_secret: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    token_url: str = DEFAULT_TOKEN_URL
    revoke_url: str = DEFAULT_REVOKE_URL
    redirect_uri: str = DEFAULT_REDIRECT_URI
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_store_url: str | None = field(default=None, repr=False)  # may hold a DB password
    pacer_dir: str | None = None
    # Rate-limit pacer: "file" (one host) or "database" (every host sharing pacer_url).
    pacer: str | None = None
    pacer_url: str | None = field(default=None, repr=False)  # default: the token store's

    def __post_init__(self) -> None:
        if not self.client_id:
            raise FortnoxError("Fortnox settings: client id is missing")
        if not self.client_secret:
            raise FortnoxError("Fortnox settings: client secret is missing")
        if self.pacer is not None:
            _pacer_kind(self.pacer, "the connection's pacer")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FortnoxSettings:
        """Build from a flat mapping (keys as the field names; ``scopes`` str or list)."""
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            value = values.get(name)
            if value is None or value == "":
                continue
            kwargs[name] = _scopes(value) if name == "scopes" else str(value)
        api_url = kwargs.get("api_url")
        if api_url:
            kwargs["api_url"] = _api_url(api_url)
            # A local base (the sandbox) implies the OAuth URLs live on the same server.
            base = _origin(kwargs["api_url"])
            if base != _origin(DEFAULT_API_URL):
                kwargs.setdefault("auth_url", f"{base}/oauth-v1/auth")
                kwargs.setdefault("token_url", f"{base}/oauth-v1/token")
                kwargs.setdefault("revoke_url", f"{base}/oauth-v1/revoke")
        try:
            return cls(**kwargs)
        except TypeError as exc:  # missing client id/secret
            raise FortnoxError(f"Fortnox settings incomplete: {exc}") from None

    @classmethod
    def from_connection(cls, conn: ConnectionLike) -> FortnoxSettings:
        """From an Airflow connection: host = API base URL, login/password = client id/secret."""
        extra = dict(conn.extra_dejson or {})
        values: dict[str, Any] = {k: extra.get(k) for k in cls.__dataclass_fields__}
        values["api_url"] = extra.get("api_url") or conn.host
        values["client_id"] = conn.login
        values["client_secret"] = conn.password
        return cls.from_mapping(values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FortnoxSettings:
        """From ``AIRFLOW_CONN_FORTNOX_DEFAULT`` (JSON or URI) or else ``FORTNOX_*`` variables.

        ``FORTNOX_*`` variables (``FORTNOX_CLIENT_ID``, ``FORTNOX_CLIENT_SECRET``,
        ``FORTNOX_API_URL``, ``FORTNOX_AUTH_URL``, ``FORTNOX_TOKEN_URL``, ``FORTNOX_REVOKE_URL``,
        ``FORTNOX_REDIRECT_URI``, ``FORTNOX_SCOPES``, ``FORTNOX_TOKEN_STORE_URL``,
        ``FORTNOX_PACER_DIR``, ``FORTNOX_PACER``, ``FORTNOX_PACER_URL``) override what the
        connection says.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        raw = env.get("AIRFLOW_CONN_FORTNOX_DEFAULT")
        if raw:
            values.update(_parse_airflow_conn(raw))
        for name in cls.__dataclass_fields__:
            value = env.get(f"FORTNOX_{name.upper()}")
            if value:
                values[name] = value
        if not values.get("client_id") or not values.get("client_secret"):
            raise FortnoxError(
                "Fortnox is not configured: set AIRFLOW_CONN_FORTNOX_DEFAULT or "
                "FORTNOX_CLIENT_ID and FORTNOX_CLIENT_SECRET"
            )
        return cls.from_mapping(values)

    def resolved_token_store_url(self, environ: Mapping[str, str] | None = None) -> str:
        return self.token_store_url or token_store_url_from_env(environ)

    def resolved_pacer_dir(self) -> Path:
        # Shared by every process on this host: under the project's data folder by default.
        if self.pacer_dir:
            return Path(self.pacer_dir)
        from include.settings import data_dir

        return Path(os.environ.get("FORTNOX_PACER_DIR") or data_dir() / "pacer")

    def resolved_pacer(self, environ: Mapping[str, str] | None = None) -> str:
        """``file`` or ``database``: FORTNOX_PACER, else the connection's ``pacer``, else file."""
        env = os.environ if environ is None else environ
        if env.get("FORTNOX_PACER"):
            return _pacer_kind(env["FORTNOX_PACER"], "FORTNOX_PACER")
        return _pacer_kind(self.pacer, "the connection's pacer") if self.pacer else PACER_FILE

    def resolved_pacer_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The database pacer's database: FORTNOX_PACER_URL, else the connection's
        ``pacer_url``; None means the token store's database."""
        env = os.environ if environ is None else environ
        return env.get("FORTNOX_PACER_URL") or self.pacer_url or None


def token_store_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The token store's database: FORTNOX_TOKEN_STORE_URL, else WAREHOUSE_URL, else SQLite."""
    env = os.environ if environ is None else environ
    from include.settings import default_warehouse_url

    return env.get("FORTNOX_TOKEN_STORE_URL") or default_warehouse_url(env)


def _scopes(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    return tuple(str(v) for v in value)


def _api_url(url: str) -> str:
    url = url.rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _parse_airflow_conn(raw: str) -> dict[str, Any]:
    """An Airflow connection in its JSON or URI environment-variable form."""
    raw = raw.strip()
    values: dict[str, Any] = {}
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise FortnoxError(f"AIRFLOW_CONN_FORTNOX_DEFAULT is not valid JSON: {exc}") from None
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra else {}
        values.update(extra)
        host = data.get("host")
        if host:
            schema = data.get("schema")
            port = data.get("port")
            if "://" not in host:
                # Airflow's JSON form: host plus optional port, schema holds the path.
                scheme = "http" if host in ("127.0.0.1", "localhost") else "https"
                host = f"{scheme}://{host}{f':{port}' if port else ''}"
                if schema:
                    host = f"{host}/{str(schema).lstrip('/')}"
            values.setdefault("api_url", host)
        values["client_id"] = data.get("login")
        values["client_secret"] = data.get("password")
        return values
    # URI form: fortnox://client_id:secret@host:port/path?auth_url=...&__extra__=...
    parts = urlsplit(raw)
    query = dict(parse_qsl(parts.query))
    if "__extra__" in query:
        values.update(json.loads(query.pop("__extra__")))
    values.update(query)
    host = parts.hostname or ""
    if host and "api_url" not in values:
        scheme = "http" if host in ("127.0.0.1", "localhost") else "https"
        port = f":{parts.port}" if parts.port else ""
        values["api_url"] = f"{scheme}://{host}{port}{parts.path}"
    values["client_id"] = unquote(parts.username) if parts.username else None
    values["client_secret"] = unquote(parts.password) if parts.password else None
    return values
