"""The demo's pure formatting (scripts/demo.py): export lines and run durations."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import demo  # noqa: E402


def outbox_row(**changes: object) -> SimpleNamespace:
    row = {
        "reference": "ADJ-1",
        "state": "sent",
        "fortnox_series": "A",
        "fortnox_number": 54,
        "verify_state": "verified",
        "file_name": "avskrivningsplan.pdf",
        "file_state": "connected",
        "fortnox_file_id": "811fe4fe-0000",
    }
    row.update(changes)
    return SimpleNamespace(**row)


def test_export_line_names_the_fortnox_voucher_and_file() -> None:
    line = demo.export_line(outbox_row())
    assert line.split()[:5] == ["ADJ-1", "sent", "Fortnox", "A54", "verified"]
    assert "avskrivningsplan.pdf connected (file 811fe4fe…)" in line


def test_export_line_of_an_unsent_voucher_without_file() -> None:
    line = demo.export_line(
        outbox_row(state="failed", fortnox_series=None, fortnox_number=None, file_name=None)
    )
    assert line.split()[:4] == ["ADJ-1", "failed", "Fortnox", "-"]
    assert line.endswith("no file")


def test_run_seconds_from_airflows_dates_else_the_wait() -> None:
    run = {"start_date": "2026-12-02T15:02:00.5+00:00", "end_date": "2026-12-02T15:02:31+00:00"}
    assert demo.run_seconds(run, 99) == "ran 30 s"
    assert demo.run_seconds({"start_date": None, "end_date": None}, 3.2) == "3 s"
