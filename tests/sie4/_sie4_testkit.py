"""Paths and helpers shared by the SIE record-path tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sie4"
SHARED_DIR = REPO_ROOT.parent / "shared"
CORPUS_DIR = SHARED_DIR / "sie-corpus"


def load_expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sie(text: str) -> bytes:
    """A small SIE file from text (CP437, as the format wants)."""
    return text.strip("\n").replace("\n    ", "\n").encode("cp437") + b"\n"


HEADER = """#FLAGGA 0
#PROGRAM "Test" 1.0
#FORMAT PC8
#GEN 20250101
#SIETYP 4
#FNAMN "Test AB"
#RAR 0 20240101 20241231
"""
