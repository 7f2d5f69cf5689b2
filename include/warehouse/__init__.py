"""The warehouse: SQLAlchemy schema, Alembic migrations, the SIE loader and analyst views.

    from include.warehouse import migrate, load_sie
    migrate("sqlite:///data/warehouse.db")            # or a PostgreSQL URL
    result = load_sie(Path("books.se"), "sqlite:///data/warehouse.db")

CLI: ``python -m include.warehouse migrate|load|trial-balance`` (see docs/warehouse.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from include.warehouse.engine import create_warehouse_engine, default_url

# Imported eagerly: the function `migrate` must shadow the submodule of the same name.
from include.warehouse.migrate import current_revision_ok, head_revision, migrate

if TYPE_CHECKING:
    from include.warehouse.loader import (
        LoadResult,
        load_columns,
        load_open_items,
        load_sie,
        partition_checksum,
    )

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
    "LoadResult": "include.warehouse.loader",
    "load_columns": "include.warehouse.loader",
    "load_open_items": "include.warehouse.loader",
    "load_sie": "include.warehouse.loader",
    "partition_checksum": "include.warehouse.loader",
}


def __getattr__(name: str) -> Any:
    # The loader is lazy so that migrating (the DAG's first task) does not import pyarrow.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
