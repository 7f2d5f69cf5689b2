"""The warehouse: SQLAlchemy schema, Alembic migrations, the SIE loader and analyst views.

    from include.warehouse import migrate, load_sie
    migrate("sqlite:///data/warehouse.db")            # or a PostgreSQL URL
    result = load_sie(Path("books.se"), "sqlite:///data/warehouse.db")

CLI: ``python -m include.warehouse migrate|load|trial-balance`` (see docs/warehouse.md).
"""

from __future__ import annotations

from include.warehouse.engine import create_warehouse_engine, default_url
from include.warehouse.loader import (
    LoadResult,
    load_columns,
    load_open_items,
    load_sie,
    partition_checksum,
)
from include.warehouse.migrate import current_revision_ok, head_revision, migrate

__all__ = [
    "LoadResult",
    "create_warehouse_engine",
    "current_revision_ok",
    "default_url",
    "head_revision",
    "load_columns",
    "load_open_items",
    "load_sie",
    "migrate",
    "partition_checksum",
]
