"""The warehouse: SQLAlchemy schema, Alembic migrations, the SIE loader and analyst views.

    from include.warehouse import migrate, load_sie
    migrate("sqlite:///data/warehouse.db")            # or a PostgreSQL URL
    result = load_sie(Path("books.se"), "sqlite:///data/warehouse.db")

CLI: ``python -m include.warehouse migrate|load|trial-balance`` (see docs/warehouse.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_LAZY = {
    "create_warehouse_engine": "include.warehouse.engine",
    "default_url": "include.warehouse.engine",
    "LoadResult": "include.warehouse.loader",
    "load_columns": "include.warehouse.loader",
    "load_open_items": "include.warehouse.loader",
    "load_sie": "include.warehouse.loader",
    "partition_checksum": "include.warehouse.loader",
    "current_revision_ok": "include.warehouse.migrate",
    "head_revision": "include.warehouse.migrate",
    "migrate": "include.warehouse.migrate",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `migrate` (the DAG's first task, the CLI) does not import pyarrow.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
