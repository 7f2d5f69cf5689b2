"""Token store: each company's Fortnox tokens, encrypted at rest, refreshed safely.

Fortnox refresh tokens are single use: each refresh returns a new one and kills the old one,
so two workers refreshing the same company at once lose the connection for good. Refreshes
therefore run under a per-company lock (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite,
whose write lock would block the whole warehouse during the HTTP call, an ``flock`` on a file
beside the database), re-read the row after taking it, and commit the new refresh token
before the access token is handed out. Connecting and revoking take the same lock.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection as DbConnection
from sqlalchemy import Engine, Row, Table, select, update
from sqlalchemy.engine import URL

from include.fortnox.database import BEGIN_IMMEDIATE, open_engine
from include.fortnox.errors import InvalidGrant, NotConnected, TokenKeyError
from include.fortnox.models import ReconnectRequired, TokenSet
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.token_schema import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    STATUS_CONNECTED,
    STATUS_RECONNECT_REQUIRED,
    STATUS_REVOKED,
    fortnox_connection,
)

TOKEN_KEY_ENV = "FORTNOX_TOKEN_KEY"
_T = TypeVar("_T")
# Refresh this long before expiry so a token never expires in the middle of a request.
DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)
# How long a refresh's save waits for SQLite's write lock once Fortnox has answered.
SAVE_WAIT = timedelta(minutes=10)
# How long a task waits for another process's refresh of the same company (SQLite): longer
# than a healthy holder can take (its OAuth calls, then SAVE_WAIT).
LOCK_WAIT = SAVE_WAIT + timedelta(minutes=5)


class TokenCipher:
    """Fernet encryption of tokens. Several keys (comma separated) allow key rotation: the
    first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise TokenKeyError(f"no token encryption key given (set {TOKEN_KEY_ENV})")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise TokenKeyError(
                f"{TOKEN_KEY_ENV} is not a valid Fernet key (32 url-safe base64 bytes; make one "
                f"with `python -m include.fortnox genkey`)"
            ) from None

    def __repr__(self) -> str:
        return "TokenCipher(<keys hidden>)"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenCipher:
        env = os.environ if environ is None else environ
        raw = env.get(TOKEN_KEY_ENV, "")
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        if not keys:
            raise TokenKeyError(
                f"{TOKEN_KEY_ENV} is not set: the Fortnox token store needs a Fernet key to "
                f"encrypt tokens at rest (make one with `python -m include.fortnox genkey`)"
            )
        return cls(keys)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str, *, company: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                f"cannot decrypt the stored Fortnox tokens of company {company}: "
                f"{TOKEN_KEY_ENV} does not hold the key they were encrypted with"
            ) from None

    def rotate(self, token: str, *, company: str) -> str:
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                f"cannot re-encrypt the tokens of company {company}: unknown key"
            ) from None


@dataclass(frozen=True, slots=True)
class StoredConnection:
    """A company's connection as stored, without its tokens."""

    tenant_id: str
    company_name: str
    org_number: str
    grant_type: str
    status: str
    status_reason: str | None
    scope: str
    access_expires_at: datetime | None
    connected_at: datetime
    refreshed_at: datetime | None
    refresh_count: int

    @property
    def label(self) -> str:
        return (
            f"{self.company_name} (tenant {self.tenant_id})"
            if self.company_name
            else (f"tenant {self.tenant_id}")
        )


class TokenStore:
    """Reads and refreshes Fortnox tokens kept in the application database."""

    def __init__(
        self,
        database: str | URL | Engine,
        cipher: TokenCipher,
        oauth: FortnoxOAuth | None = None,
        *,
        table: Table = fortnox_connection,
        refresh_margin: timedelta = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = open_engine(database)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self.cipher = cipher
        self.oauth = oauth
        self.table = table
        self.refresh_margin = refresh_margin
        self._now = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"TokenStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ writes

    def save_connection(
        self,
        tenant_id: str,
        tokens: TokenSet,
        *,
        company_name: str = "",
        org_number: str = "",
        grant_type: str = GRANT_AUTHORIZATION_CODE,
    ) -> StoredConnection:
        """Store (or replace) a company's connection after consent."""
        if grant_type == GRANT_AUTHORIZATION_CODE and not tokens.refresh_token:
            raise ValueError("an authorization-code connection needs a refresh token")
        now = self._now()
        values: dict[str, Any] = {
            "company_name": company_name,
            "org_number": org_number,
            "grant_type": grant_type,
            "access_token_encrypted": self.cipher.encrypt(tokens.access_token),
            "access_expires_at": tokens.expires_at,
            "refresh_token_encrypted": (
                self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
            ),
            "scope": tokens.scope,
            "status": STATUS_CONNECTED,
            "status_reason": None,
            "connected_at": now,
            "refreshed_at": None,
            "refresh_count": 0,
        }
        with self._sqlite_tenant_lock(tenant_id), self._transaction(lock=True) as conn:
            key = self.table.c.tenant_id == str(tenant_id)
            if conn.execute(update(self.table).where(key).values(**values)).rowcount == 0:
                conn.execute(self.table.insert().values(tenant_id=str(tenant_id), **values))
        return self.connection(tenant_id)

    def revoke(self, tenant_id: str) -> StoredConnection:
        """Revoke the company's refresh token at Fortnox and mark the connection revoked."""
        self._under_tenant_lock(tenant_id, self._revoke_row)
        return self.connection(tenant_id)

    def _revoke_row(self, row: Row[Any], saving: AbstractContextManager[DbConnection]) -> None:
        if row.refresh_token_encrypted and row.status == STATUS_CONNECTED:
            refresh = self.cipher.decrypt(row.refresh_token_encrypted, company=_label(row))
            self._oauth().revoke(refresh)
        with saving as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c.tenant_id == row.tenant_id)
                .values(
                    status=STATUS_REVOKED,
                    status_reason="revoked by operator",
                    access_token_encrypted=None,
                    refresh_token_encrypted=None,
                )
            )

    def rotate_keys(self) -> int:
        """Re-encrypt every stored token with the current (first) key; returns rows changed."""
        changed = 0
        with self._transaction(lock=True) as conn:
            query = select(self.table).order_by(self.table.c.tenant_id)  # one lock order
            if not self._sqlite:  # a refresh committing meanwhile must not be overwritten
                query = query.with_for_update()
            for row in conn.execute(query).all():
                values = {}
                for column in ("access_token_encrypted", "refresh_token_encrypted"):
                    value = getattr(row, column)
                    if value:
                        values[column] = self.cipher.rotate(value, company=_label(row))
                if values:
                    conn.execute(
                        update(self.table)
                        .where(self.table.c.tenant_id == row.tenant_id)
                        .values(**values)
                    )
                    changed += 1
        return changed

    # ------------------------------------------------------------------- reads

    def connection(self, tenant_id: str) -> StoredConnection:
        with self.engine.connect() as conn:
            return _public(self._read(conn, tenant_id))

    def list_connections(self) -> list[StoredConnection]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(self.table).order_by(self.table.c.tenant_id)).all()
        return [_public(r) for r in rows]

    def list_connected(self) -> list[StoredConnection]:
        """Companies the extraction can run for (status ``connected``)."""
        return [c for c in self.list_connections() if c.status == STATUS_CONNECTED]

    def get_access_token(self, tenant_id: str) -> str:
        """A valid access token for the company, refreshing it if it is near expiry."""
        return self.get_token(tenant_id)[0]

    def get_token(self, tenant_id: str) -> tuple[str, datetime]:
        """A valid access token and its expiry."""
        with self.engine.connect() as conn:
            row = self._read(conn, tenant_id)
        self._require_connected(row)
        if self._fresh(row):
            return self._access(row)
        return self._refresh_locked(tenant_id)

    def provider(self, tenant_id: str) -> Callable[[], str]:
        """A callable for :class:`FortnoxClient` that caches the token until near expiry."""
        return _CachedToken(self, str(tenant_id))

    # ---------------------------------------------------------------- internals

    def _refresh_locked(self, tenant_id: str) -> tuple[str, datetime]:
        outcome = self._under_tenant_lock(tenant_id, self._refresh_row)
        # Committed: the status change, or the new refresh token before its access token is used.
        if isinstance(outcome, ReconnectRequired):
            raise outcome
        return outcome

    def _under_tenant_lock(
        self,
        tenant_id: str,
        work: Callable[[Row[Any], AbstractContextManager[DbConnection]], _T],
    ) -> _T:
        """``work(row, saving)`` under the company's lock, on the row re-read under it.

        ``work`` may call Fortnox, then writes in ``saving``'s transaction. PostgreSQL: one
        transaction holding the row lock (``FOR UPDATE``) throughout. SQLite: its write lock
        covers the whole database, warehouse included, so the lock held across the HTTP call
        is a per-company file lock, and the write lock is taken only to save.
        """
        if self._sqlite:
            with self._sqlite_tenant_lock(tenant_id):
                with self.engine.connect() as conn:
                    row = self._read(conn, tenant_id)
                return work(row, self._transaction(lock=True, patient=True))
        with self._transaction(lock=True) as conn:
            row = self._read(conn, tenant_id, lock=True)
            return work(row, nullcontext(conn))

    def _sqlite_tenant_lock(self, tenant_id: str) -> AbstractContextManager[None]:
        return _file_lock(self._tenant_lock_path(tenant_id)) if self._sqlite else nullcontext()

    def _refresh_row(
        self, row: Row[Any], saving: AbstractContextManager[DbConnection]
    ) -> tuple[str, datetime] | ReconnectRequired:
        """Refresh unless ``row`` is fresh; write the outcome in ``saving``'s transaction."""
        self._require_connected(row)
        if self._fresh(row):
            return self._access(row)
        try:
            tokens = self._fetch_tokens(row)
        except InvalidGrant as exc:
            reason = exc.description or exc.error
            with saving as conn:
                conn.execute(
                    update(self.table)
                    .where(self.table.c.tenant_id == row.tenant_id)
                    .values(status=STATUS_RECONNECT_REQUIRED, status_reason=reason)
                )
            return ReconnectRequired(_label(row), reason)
        values: dict[str, Any] = {
            "access_token_encrypted": self.cipher.encrypt(tokens.access_token),
            "access_expires_at": tokens.expires_at,
            "refreshed_at": self._now(),
            "refresh_count": row.refresh_count + 1,
        }
        if tokens.refresh_token:
            values["refresh_token_encrypted"] = self.cipher.encrypt(tokens.refresh_token)
        if tokens.scope:
            values["scope"] = tokens.scope
        with saving as conn:
            conn.execute(
                update(self.table).where(self.table.c.tenant_id == row.tenant_id).values(**values)
            )
        return tokens.access_token, tokens.expires_at

    def _tenant_lock_path(self, tenant_id: str) -> Path | None:
        """Lock file beside the SQLite database; None for an in-memory database."""
        url = self.engine.url
        database = url.database or ""
        if database.startswith("file:"):  # a URI filename (?uri=true)
            if url.query.get("mode") == "memory":
                return None
            database = urlsplit(database).path  # file:/p, file:///p, file://localhost/p
        if database in ("", ":memory:"):
            return None
        db = Path(database).resolve()  # one lock file whichever path or symlink leads here
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", str(tenant_id))
        return db.with_name(f".{db.name}.fortnox-{safe}.lock")

    def _fetch_tokens(self, row: Row[Any]) -> TokenSet:
        oauth = self._oauth()
        if row.grant_type == GRANT_CLIENT_CREDENTIALS:
            return oauth.client_credentials(row.tenant_id)
        if not row.refresh_token_encrypted:
            raise InvalidGrant("invalid_grant", "no refresh token stored")
        refresh = self.cipher.decrypt(row.refresh_token_encrypted, company=_label(row))
        return oauth.refresh(refresh)

    def _oauth(self) -> FortnoxOAuth:
        if self.oauth is None:
            raise NotConnected("the token store has no OAuth client configured to refresh tokens")
        return self.oauth

    def _fresh(self, row: Row[Any]) -> bool:
        expires = _utc(row.access_expires_at)
        return (
            row.access_token_encrypted is not None
            and expires is not None
            and expires - self._now() > self.refresh_margin
        )

    def _access(self, row: Row[Any]) -> tuple[str, datetime]:
        token = self.cipher.decrypt(row.access_token_encrypted, company=_label(row))
        expires = _utc(row.access_expires_at)
        assert expires is not None  # checked by _fresh
        return token, expires

    @staticmethod
    def _require_connected(row: Row[Any]) -> None:
        if row.status == STATUS_RECONNECT_REQUIRED:
            raise ReconnectRequired(_label(row), row.status_reason or "")
        if row.status != STATUS_CONNECTED:
            raise ReconnectRequired(_label(row), f"connection is {row.status}")

    def _read(self, conn: DbConnection, tenant_id: str, *, lock: bool = False) -> Row[Any]:
        query = select(self.table).where(self.table.c.tenant_id == str(tenant_id))
        if lock and not self._sqlite:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotConnected(
                f"company with tenant id {tenant_id} is not connected to Fortnox "
                f"(run `python -m include.fortnox connect`)"
            )
        return row

    @contextmanager
    def _transaction(self, *, lock: bool, patient: bool = False) -> Iterator[DbConnection]:
        """A transaction; ``lock``: SQLite's write lock at once (``BEGIN IMMEDIATE``).

        ``patient``: after Fortnox has answered a refresh, the old refresh token is dead and
        the new one exists only in memory, so the save waits out a long load's write lock
        (up to ``SAVE_WAIT``) rather than fail and lose the connection.
        """
        with self.engine.connect() as conn:
            # PRAGMAs straight on the driver connection (autocommit): no BEGIN is emitted.
            raw = conn.connection.driver_connection if self._sqlite and patient else None
            usual = None
            if raw is not None:
                usual = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
                raw.execute(f"PRAGMA busy_timeout = {int(SAVE_WAIT.total_seconds() * 1000)}")
            if self._sqlite and lock:
                # SQLite locks the whole database: BEGIN IMMEDIATE takes the write lock now.
                conn.execution_options(**BEGIN_IMMEDIATE)
            try:
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout = {usual}")


class _CachedToken:
    def __init__(self, store: TokenStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires: datetime | None = None

    def __repr__(self) -> str:
        return f"AccessTokenProvider(tenant_id={self._tenant_id!r})"

    def __call__(self) -> str:
        with self._lock:
            now = self._store._now()
            if (
                self._token is None
                or self._expires is None
                or self._expires - now <= self._store.refresh_margin
            ):
                self._token, self._expires = self._store.get_token(self._tenant_id)
            return self._token


_memory_tenant_lock = threading.Lock()  # in-memory SQLite: one process, so a thread lock


@contextmanager
def _file_lock(path: Path | None, *, wait: timedelta = LOCK_WAIT) -> Iterator[None]:
    """Exclusive ``flock`` on ``path`` (any process, any thread); released on close.

    Waits at most ``wait``: a holder that hangs must not stop the company's tasks for good.
    """
    if path is None:
        if not _memory_tenant_lock.acquire(timeout=wait.total_seconds()):
            raise TimeoutError(f"token lock busy for {wait} (in-memory database)")
        try:
            yield
        finally:
            _memory_tenant_lock.release()
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"token lock {path.name} held by another process for over {wait}"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _label(row: Row[Any]) -> str:
    name = row.company_name
    return f"{name} (tenant {row.tenant_id})" if name else f"tenant {row.tenant_id}"


def _public(row: Row[Any]) -> StoredConnection:
    connected_at = _utc(row.connected_at)
    assert connected_at is not None
    return StoredConnection(
        tenant_id=row.tenant_id,
        company_name=row.company_name,
        org_number=row.org_number,
        grant_type=row.grant_type,
        status=row.status,
        status_reason=row.status_reason,
        scope=row.scope,
        access_expires_at=_utc(row.access_expires_at),
        connected_at=connected_at,
        refreshed_at=_utc(row.refreshed_at),
        refresh_count=row.refresh_count,
    )
