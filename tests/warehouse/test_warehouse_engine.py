"""The embedded warehouse engine: SQLite settings every connection gets."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

from include.warehouse.engine import create_warehouse_engine


def test_first_connections_to_a_new_file_at_once_both_get_wal(tmp_path: Path) -> None:
    # Two processes' first connections switch a new file to WAL at the same moment; SQLite
    # answered one of them "database is locked" at once (about 1 in 17 tries here).
    failures: list[BaseException] = []
    for trial in range(120):
        url = f"sqlite:///{tmp_path / f'w{trial}.db'}"
        engines = [create_warehouse_engine(url) for _ in range(2)]
        start = threading.Barrier(2)

        def connect(engine: sa.Engine, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                with engine.connect() as conn:
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=connect, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for engine in engines:
            engine.dispose()
    assert not failures, failures[:3]
