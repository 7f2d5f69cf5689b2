"""Fortnox API client core, token store and consent CLI (no Airflow imports).

Public names are imported lazily so that ``import include.fortnox`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "FortnoxClient": "include.fortnox.client",
    "Listing": "include.fortnox.client",
    "Page": "include.fortnox.client",
    "RetryPolicy": "include.fortnox.client",
    "FortnoxSettings": "include.fortnox.config",
    "FortnoxOAuth": "include.fortnox.oauth",
    "DatabasePacer": "include.fortnox.pacing",
    "FilePacer": "include.fortnox.pacing",
    "MemoryPacer": "include.fortnox.pacing",
    "FortnoxSession": "include.fortnox.session",
    "TokenCipher": "include.fortnox.tokens",
    "TokenStore": "include.fortnox.tokens",
    "StoredConnection": "include.fortnox.tokens",
    "FortnoxError": "include.fortnox.models",
    "ReconnectRequired": "include.fortnox.models",
    "TokenSet": "include.fortnox.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'include.fortnox' has no attribute {name!r}")
    return getattr(import_module(module), name)
