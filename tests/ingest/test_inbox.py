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


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = int(conn.scalar(sa.text(f"select count(*) from {table}")) or 0)
    engine.dispose()
    return count


def test_inbox_books_replace_a_landing_extract_and_its_open_items(inbox) -> None:  # type: ignore[no-untyped-def]
    """The new books come without a subledger: the old extract's open items go with its books."""
    from include.warehouse.loader import load_sie

    layout, url = inbox
    open_item = {
        "invoice_number": "7",
        "customer_number": "10",
        "customer_name": "Kund AB",
        "invoice_date": "2024-12-20",
        "total": "1250.50",
        "open_amount": "1250.50",
        "currency": "SEK",
    }
    load_sie(GOOD, url, source_kind="fortnox", extract_id="fx-1", open_items={"ar": [open_item]})
    assert _count(url, "ar_open_item") == 1
    corrected = GOOD.read_bytes().replace(b'"Anna Andersson"', b'"Anna A"', 1)  # same day
    (layout.root / "corrected.se").write_bytes(corrected)

    outcome = process_inbox_file(layout, "corrected.se", url)

    assert outcome.outcome is Outcome.LOADED
    assert outcome.detail["counts"]["ar_open_item"] == 0
    assert _count(url, "ar_open_item") == 0
    assert _count(url, "extract where extract_id = 'fx-1'") == 1  # lineage kept, not current


def test_older_file_is_set_aside_with_the_reason_and_how_to_force(inbox) -> None:  # type: ignore[no-untyped-def]
    from include.warehouse.loader import load_sie

    layout, url = inbox
    newer = GOOD.read_bytes().replace(b"#GEN 20250115", b"#GEN 20250301")
    load_sie(newer, url, source_kind="inbox", file_name="newer.se")
    (layout.root / "old.se").write_bytes(GOOD.read_bytes())

    result = process_inbox_file(layout, "old.se", url)
    again = process_inbox_file(layout, "old.se", url)

    assert result.outcome is Outcome.REJECTED
    assert (layout.failed / "old.se").read_bytes() == GOOD.read_bytes()  # nothing lost
    (reason,) = result.errors
    assert "old.se: not loaded" in reason and "2025-01-15" in reason and "2025-03-01" in reason
    assert f"python -m include.warehouse load {layout.failed / 'old.se'} --force" in reason
    assert reason in (layout.failed / "old.se.errors.txt").read_text()
    assert again.outcome is Outcome.ALREADY_FAILED and again.errors == result.errors
    assert _count(url, "extract") == 1  # the newer books stay


def test_older_manual_file_is_rejected_not_retried(inbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from include.ingest.work import RejectedFile, run_work_item
    from include.warehouse.loader import load_sie

    _, url = inbox
    load_sie(GOOD.read_bytes().replace(b"#GEN 20250115", b"#GEN 20250301"), url)
    with pytest.raises(RejectedFile, match=f"load {GOOD} --force"):
        run_work_item({"kind": "file", "path": str(GOOD)}, tmp_path, url)
