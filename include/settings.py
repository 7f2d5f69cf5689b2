"""Project locations and defaults, read from the environment at call time (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Root of the landing zone, the inbox and the embedded warehouse (`PROJECT_DATA_DIR`)."""
    env = os.environ if environ is None else environ
    return Path(env.get("PROJECT_DATA_DIR") or REPO_ROOT / "data")


def default_warehouse_url(environ: Mapping[str, str] | None = None) -> str:
    """`WAREHOUSE_URL`, else the embedded SQLite warehouse under the data directory.

    The one default for the warehouse, the DAGs and the token store.
    """
    env = os.environ if environ is None else environ
    return env.get("WAREHOUSE_URL") or f"sqlite:///{data_dir(env) / 'warehouse.db'}"
