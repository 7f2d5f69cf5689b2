"""Connecting and disconnecting a Fortnox company from the Integrations view.

The consent is the command line's (``include.fortnox.cli``): the same code exchange, the
same ``/3/companyinformation`` naming and the same token store. What the view adds is a
state bound to the person's session (:mod:`include.integrations.oauth_state`), the
redirect URI of the view's own callback, and the warehouse's company row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from include.fortnox.config import DEFAULT_REDIRECT_URI, FortnoxSettings
from include.fortnox.oauth import FortnoxOAuth
from include.fortnox.token_schema import GRANT_AUTHORIZATION_CODE, GRANT_CLIENT_CREDENTIALS
from include.fortnox.tokens import StoredConnection, TokenStore
from include.integrations.oauth_state import IssuedState, OAuthStateStore, StateRefused

CALLBACK_PATH = "/fortnox/callback"  # below the view's mount point (/integrations)


class ConnectError(Exception):
    """A connection could not be made; the message says why in plain words, without secrets."""


@dataclass(frozen=True, slots=True)
class ConsentStart:
    """Where to send the person's browser, and the state's nonce for their cookie."""

    url: str
    issued: IssuedState


@dataclass(frozen=True, slots=True)
class Connected:
    connection: StoredConnection
    company_id: int | None  # the warehouse's company row; None without an org number


def view_settings(settings: FortnoxSettings, callback_url: str) -> FortnoxSettings:
    """``settings`` with the redirect URI set to the view's callback.

    Fortnox sends the person back to the redirect URI registered for the app, and the code
    exchange must repeat it exactly. A redirect URI configured in ``fortnox_default`` is kept
    when it is this view's callback (it names the public address Fortnox knows); the command
    line's default is replaced by ``callback_url``; any other address is a configuration
    error, explained.
    """
    configured = settings.redirect_uri
    if configured and configured != DEFAULT_REDIRECT_URI:
        if urlsplit(configured).path.rstrip("/") == urlsplit(callback_url).path.rstrip("/"):
            return settings
        raise ConnectError(
            f"The Airflow connection fortnox_default sends Fortnox's answer to {configured}, "
            f"but this view receives it at {callback_url}. Set the connection's redirect_uri "
            f"to {callback_url} and register that address for the app with Fortnox."
        )
    return dataclasses.replace(settings, redirect_uri=callback_url)


def start_consent(
    settings: FortnoxSettings,
    states: OAuthStateStore,
    username: str,
    *,
    service_account: bool = False,
) -> ConsentStart:
    """A consent URL whose state is bound to ``username`` (and the returned nonce)."""
    issued = states.issue(username, service_account=service_account)
    with FortnoxOAuth(settings) as oauth:
        request = oauth.authorization_url(state=issued.state, service_account=service_account)
    return ConsentStart(request.url, issued)


def consent_refusal(params: Mapping[str, str]) -> str | None:
    """Plain words for a consent that Fortnox answered with an error, else None."""
    error = params.get("error")
    if not error:
        return None
    if error == "access_denied":
        return "The connection was declined on Fortnox's consent page. Nothing was saved."
    description = params.get("error_description", "")
    detail = f" ({description})" if description else ""
    return f"Fortnox did not give consent: {error}{detail}. Nothing was saved."


def finish_consent(
    settings: FortnoxSettings,
    oauth: FortnoxOAuth,
    store: TokenStore,
    states: OAuthStateStore,
    params: Mapping[str, str],
    *,
    username: str,
    nonce: str | None,
    warehouse_url: str | None,
) -> Connected:
    """Check the callback's state, then store the tokens and register the company.

    Raises :class:`StateRefused` (wrong, missing, expired, reused, another person's or
    browser's state) before anything is sent to Fortnox, and :class:`ConnectError` for a
    declined consent or a company the warehouse already knows under another tenant.
    """
    from include.fortnox.cli import complete_consent

    request = states.consume(params.get("state"), username=username, nonce=nonce)
    refusal = consent_refusal(params)
    if refusal:
        raise ConnectError(refusal)
    code = params.get("code")
    if not code:
        raise StateRefused("The answer from Fortnox carries no authorisation code.")
    grant = GRANT_CLIENT_CREDENTIALS if request.service_account else GRANT_AUTHORIZATION_CODE
    connection = complete_consent(settings, oauth, store, code, grant_type=grant)
    company_id = None
    if warehouse_url:
        from include.integrations.companies import CompanyConflict, register_company

        try:
            company_id = register_company(
                warehouse_url,
                tenant_id=connection.tenant_id,
                company_name=connection.company_name,
                org_number=connection.org_number,
            )
        except CompanyConflict as exc:
            raise ConnectError(
                f"{connection.label} is connected, but the warehouse could not list it: {exc}."
            ) from None
    return Connected(connection, company_id)
