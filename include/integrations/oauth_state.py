"""OAuth ``state`` for consents started in the Integrations view.

A state is random, bound to the person who asked for it (their Airflow user name and a
nonce kept in an HttpOnly cookie of their browser), single use and short lived. It is kept
server-side, in the application database beside the token store, so that every API server
worker sees it and a used state stays used whoever presents it again. Only SHA-256 digests
are stored: the table holds nothing that could complete a consent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)

# Fortnox's authorisation codes live 10 minutes: a consent cannot take longer anyway.
STATE_LIFETIME = timedelta(minutes=10)
# Used and expired states are deleted this long after they expired.
KEEP_EXPIRED = timedelta(days=1)


def build_state_table(
    metadata: MetaData, name: str = "integration_oauth_state", schema: str | None = None
) -> Table:
    """The state table; tests pass their own name/schema to avoid clashes."""
    return Table(
        name,
        metadata,
        Column("state_digest", String(64), primary_key=True),
        Column("username", String(256), nullable=False),
        Column("nonce_digest", String(64), nullable=False),
        Column("service_account", Boolean, nullable=False, default=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("used_at", DateTime(timezone=True), nullable=True),
        schema=schema,
    )


metadata = MetaData()
oauth_state = build_state_table(metadata)


def create_state_tables(engine: Engine, table: Table = oauth_state) -> None:
    """Create the state table if missing (``checkfirst``, as the token store's CLI does)."""
    table.create(engine, checkfirst=True)


class StateRefused(Exception):
    """The consent's answer cannot be accepted; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class IssuedState:
    """A new state for the consent URL and the nonce for the person's cookie."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What the person asked for when they started the consent."""

    username: str
    service_account: bool
    created_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OAuthStateStore:
    """Issues and consumes consent states in the application database."""

    def __init__(
        self,
        engine: Engine,
        *,
        table: Table = oauth_state,
        lifetime: timedelta = STATE_LIFETIME,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.lifetime = lifetime
        self._now = clock or (lambda: datetime.now(UTC))

    def issue(self, username: str, *, service_account: bool = False) -> IssuedState:
        """A fresh state for ``username``'s consent, and the nonce their browser keeps."""
        if not username:
            raise ValueError("a consent state needs the person's user name")
        now = self._now()
        issued = IssuedState(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            expires_at=now + self.lifetime,
        )
        with self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.expires_at < now - KEEP_EXPIRED))
            conn.execute(
                self.table.insert().values(
                    state_digest=_digest(issued.state),
                    username=username,
                    nonce_digest=_digest(issued.nonce),
                    service_account=service_account,
                    created_at=now,
                    expires_at=issued.expires_at,
                    used_at=None,
                )
            )
        return issued

    def consume(self, state: str | None, *, username: str, nonce: str | None) -> ConsentRequest:
        """Accept ``state`` once, for the person and browser it was issued to.

        The state is marked used before anything else is checked, in one statement that only
        one caller can win, so a state presented twice (or by two workers at once) is refused
        the second time whatever happened the first.
        """
        if not state:
            raise StateRefused(
                "The answer from Fortnox carries no state, so it cannot be matched to a "
                "connection you started. Nothing was saved. Start again with Connect Fortnox."
            )
        key = self.table.c.state_digest == _digest(state)
        now = self._now()
        with self.engine.begin() as conn:
            won = conn.execute(
                update(self.table).where(key, self.table.c.used_at.is_(None)).values(used_at=now)
            ).rowcount
            row = conn.execute(select(self.table).where(key)).first()
        if row is None:
            raise StateRefused(
                "This answer from Fortnox does not belong to a connection started here, or it "
                "is older than a day. Nothing was saved. Start again with Connect Fortnox."
            )
        if won != 1:
            raise StateRefused(
                "This answer from Fortnox was already used. Each connection can be completed "
                "once; nothing more was saved. Start again with Connect Fortnox if the "
                "company is not listed."
            )
        if _utc(row.expires_at) <= now:
            raise StateRefused(
                f"The connection was started more than {int(self.lifetime.total_seconds() // 60)}"
                " minutes ago and has expired. Nothing was saved. Start again with Connect "
                "Fortnox."
            )
        if not hmac.compare_digest(row.username, username):
            raise StateRefused(
                "This connection was started by another Airflow user. Nothing was saved. "
                "Start the connection yourself with Connect Fortnox."
            )
        if not nonce or not hmac.compare_digest(row.nonce_digest, _digest(nonce)):
            raise StateRefused(
                "This connection was started in another browser (or its cookies were "
                "cleared). Nothing was saved. Start again with Connect Fortnox in this browser."
            )
        return ConsentRequest(
            username=row.username,
            service_account=bool(row.service_account),
            created_at=_utc(row.created_at),
        )
