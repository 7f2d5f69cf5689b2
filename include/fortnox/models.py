"""Types shared by the Fortnox client, the token store and the sandbox (no Airflow imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An OAuth token answer. ``repr`` never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime  # UTC
    scope: str = ""
    token_type: str = "bearer"

    @classmethod
    def from_response(cls, payload: dict[str, object], now: datetime | None = None) -> TokenSet:
        now = now or datetime.now(UTC)
        expires_in = int(str(payload.get("expires_in", 3600)))
        refresh = payload.get("refresh_token")
        return cls(
            access_token=str(payload["access_token"]),
            refresh_token=str(refresh) if refresh else None,
            expires_at=now + timedelta(seconds=expires_in),
            scope=str(payload.get("scope", "")),
            token_type=str(payload.get("token_type", "bearer")),
        )


class FortnoxError(Exception):
    """Base of every error the Fortnox client raises."""


class ReconnectRequired(FortnoxError):
    """The company's refresh token is invalid or revoked: a person must consent again."""

    def __init__(self, company: str, reason: str = "") -> None:
        self.company = company
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"company {company} must reconnect to Fortnox: its authorisation is no longer "
            f"valid{detail}. Run the consent flow again (Integrations view or "
            f"`python -m include.fortnox connect`)."
        )
