"""Everything needed to talk to Fortnox for many companies, wired from settings.

The Airflow hook is a thin shell over this, so the wiring is testable without Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping

from include.fortnox.client import FortnoxClient, RetryPolicy
from include.fortnox.config import FortnoxSettings
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.pacing import FilePacer, Pacer
from include.fortnox.tokens import TokenCipher, TokenStore


class FortnoxSession:
    """OAuth client, token store and host-wide pacer for one Fortnox app."""

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
        self.pacer: Pacer = pacer or FilePacer(settings.resolved_pacer_dir())
        self.retry = retry

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
        self.oauth.close()
        self.store.engine.dispose()
