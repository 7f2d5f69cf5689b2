"""Project locations and defaults, read from the environment at call time (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """Root of the landing zone, the inbox and the embedded warehouse (`PROJECT_DATA_DIR`)."""
    return Path(os.environ.get("PROJECT_DATA_DIR", REPO_ROOT / "data"))


def default_warehouse_url() -> str:
    """`WAREHOUSE_URL`, else the embedded SQLite warehouse under the data directory."""
    return os.environ.get("WAREHOUSE_URL") or f"sqlite:///{data_dir() / 'warehouse.db'}"
