"""Everything needed to talk to Fortnox for many companies, wired from settings.

The Airflow hook is a thin shell over this, so the wiring is testable without Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack

from include.fortnox.client import FortnoxClient, RetryPolicy
from include.fortnox.config import PACER_DATABASE, FortnoxSettings
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.pacing import DatabasePacer, FilePacer, Pacer
from include.fortnox.tokens import TokenCipher, TokenStore


class FortnoxSession:
    """OAuth client, token store and shared pacer for one Fortnox app.

    Holds an HTTP client (OAuth) and database engines (token store, database pacer): close
    it when done (``with FortnoxSession(...) as session:`` or :meth:`close`).
    """

    def __init__(
        self,
        settings: FortnoxSettings,
        *,
        store: TokenStore | None = None,
        pacer: Pacer | None = None,
        oauth: FortnoxOAuth | None = None,
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.oauth = oauth or FortnoxOAuth(settings)
        self.store = store or TokenStore(
            settings.resolved_token_store_url(environ),
            TokenCipher.from_env(environ),
            self.oauth,
        )
        try:
            self.pacer: Pacer = pacer or self._configured_pacer(environ)
        except BaseException:  # e.g. a database pacer on SQLite: close what is already open
            self.oauth.close()
            self.store.engine.dispose()
            raise
        self.retry = retry

    def _configured_pacer(self, environ: Mapping[str, str] | None) -> Pacer:
        """The file pacer (one host) or the database pacer (many), as configured."""
        if self.settings.resolved_pacer(environ) != PACER_DATABASE:
            return FilePacer(self.settings.resolved_pacer_dir())
        url = self.settings.resolved_pacer_url(environ)
        # Without a URL of its own, the pacer shares the token store's database and engine.
        return DatabasePacer(url if url else self.store.engine)

    def __repr__(self) -> str:
        return f"FortnoxSession({self.settings!r})"

    def client(self, tenant_id: str | int) -> FortnoxClient:
        """A client for one company; tokens come from the store, pacing is per tenant."""
        tenant = str(tenant_id)
        return FortnoxClient(
            self.settings.api_url,
            self.store.provider(tenant),
            pacer=self.pacer,
            pacer_key=f"{self.settings.client_id}:{tenant}",
            retry=self.retry,
        )

    def close(self) -> None:
        """Close the OAuth HTTP client and dispose of the database engines (each one, even
        if another fails)."""
        with ExitStack() as closing:  # callbacks run last-in first-out, every one of them
            closing.callback(self.store.engine.dispose)
            close_pacer = getattr(self.pacer, "close", None)
            if close_pacer is not None:
                closing.callback(close_pacer)
            closing.callback(self.oauth.close)

    def __enter__(self) -> FortnoxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
