"""The inbox: load then move, reject with a sidecar, and every step safe to repeat."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.ingest.inbox import (
    InboxLayout,
    Outcome,
    process_inbox_file,
    scan_inbox,
)
from include.warehouse.migrate import migrate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sie4"
GOOD = FIXTURES / "clean_4e.se"
BROKEN = FIXTURES / "broken.se"


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[InboxLayout, str]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrate(url)
    layout = InboxLayout(tmp_path / "inbox")
    layout.ensure()
    return layout, url


def vouchers(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.scalar(sa.text("select count(*) from voucher")) or 0)
    engine.dispose()
    return count


def test_good_file_loads_and_moves_rerun_reports_where_it_went(inbox) -> None:  # type: ignore[no-untyped-def]
    layout, url = inbox
    (layout.root / "good.se").write_bytes(GOOD.read_bytes())
    assert [p.name for p in scan_inbox(layout).ready] == ["good.se"]

    first = process_inbox_file(layout, "good.se", url)
    again = process_inbox_file(layout, "good.se", url)

    assert first.outcome is Outcome.LOADED
    assert first.detail["counts"]["voucher"] == vouchers(url) > 0
    assert again.outcome is Outcome.ALREADY_PROCESSED
    assert (layout.processed / "good.se").read_bytes() == GOOD.read_bytes()
    assert scan_inbox(layout).ready == []


def test_files_still_being_written_are_left_for_a_later_scan(tmp_path: Path) -> None:
    layout = InboxLayout(tmp_path / "inbox")
    layout.ensure()
    names = [
        "settled.se",
        "copying.se",
        "download.se.crdownload",
        "export.se.part",
        "export.tmp",
        "~$lock.se",
        ".hidden.se",
        "old.se.errors.txt",
    ]
    for name in names:
        (layout.root / name).write_bytes(GOOD.read_bytes())
    (layout.root / "folder.se").mkdir()
    (layout.root / "vanished.se").symlink_to(tmp_path / "moved-away.se")  # stat fails
    # A copy tool backdating the file while it copies (robocopy: 1980-01-01) changes nothing:
    # the settle time runs from the last change of the inode (ctime), which it cannot set.
    os.utime(layout.root / "copying.se", (315_532_800, 315_532_800))
    written = max((layout.root / n).stat().st_ctime for n in names)

    early = scan_inbox(layout, settle_seconds=60, now=written + 5)
    assert early.ready == []
    assert [p.name for p in early.settling] == ["copying.se", "settled.se"]
    later = scan_inbox(layout, settle_seconds=60, now=written + 61)
    assert [p.name for p in later.ready] == ["copying.se", "settled.se"]
    assert later.settling == []


def test_same_file_dropped_again_is_unchanged(inbox) -> None:  # type: ignore[no-untyped-def]
    layout, url = inbox
    for _ in range(2):
        (layout.root / "good.se").write_bytes(GOOD.read_bytes())
        result = process_inbox_file(layout, "good.se", url)
    assert result.outcome is Outcome.UNCHANGED
    assert sorted(p.name for p in layout.processed.iterdir()) == ["good.se"]


def test_broken_file_goes_to_failed_with_line_numbers(inbox) -> None:  # type: ignore[no-untyped-def]
    layout, url = inbox
    (layout.root / "broken.se").write_bytes(BROKEN.read_bytes())

    result = process_inbox_file(layout, "broken.se", url)
    again = process_inbox_file(layout, "broken.se", url)

    assert result.outcome is Outcome.REJECTED
    assert (layout.failed / "broken.se").read_bytes() == BROKEN.read_bytes()  # nothing lost
    sidecar = (layout.failed / "broken.se.errors.txt").read_text()
    assert "file: broken.se" in sidecar
    assert "line 14:" in sidecar and "line 19:" in sidecar
    assert again.outcome is Outcome.ALREADY_FAILED
    assert again.errors == result.errors
    assert vouchers(url) == 0  # nothing half-loaded


def test_different_file_with_a_taken_name_keeps_both(inbox) -> None:  # type: ignore[no-untyped-def]
    layout, url = inbox
    (layout.root / "books.se").write_bytes(BROKEN.read_bytes())
    process_inbox_file(layout, "books.se", url)
    (layout.root / "books.se").write_bytes(BROKEN.read_bytes() + b"#FOO\n")
    process_inbox_file(layout, "books.se", url)
    names = sorted(p.name for p in layout.failed.iterdir() if not p.name.endswith(".txt"))
    assert len(names) == 2 and "books.se" in names


def test_database_trouble_leaves_the_file_in_the_inbox(inbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layout, _ = inbox
    (layout.root / "good.se").write_bytes(GOOD.read_bytes())
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'warehouse.db'}"
    with pytest.raises(sa.exc.OperationalError):
        process_inbox_file(layout, "good.se", unreachable)
    assert (layout.root / "good.se").exists()  # retry will find it again
