"""Quality fixtures: the warehouse fixtures (a migrated SQLite file per test, one migrated
PostgreSQL schema per session) and generated books with their subledgers."""

from __future__ import annotations

from typing import Any

import pytest

# The same empty, migrated warehouses the warehouse tests use, on SQLite and PostgreSQL.
from tests.warehouse.conftest import (  # noqa: F401
    pg_session_url,
    pg_warehouse_url,
    sqlite_template,
    sqlite_url,
    warehouse_url,
)


@pytest.fixture(scope="session")
def good_books() -> tuple[bytes, dict[str, list[dict[str, Any]]]]:
    """A generated company's year as SIE bytes (with #KSUMMA) and its year-end open items."""
    from include.quality.testing import books_with_open_items, sie_bytes

    doc, open_items = books_with_open_items(seed=7)
    return sie_bytes(doc), open_items
