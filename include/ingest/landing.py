"""The landing zone contract: immutable raw extracts and the event that announces one.

Layout: ``<data>/landing/<company>/<fiscal-year>/<extract-id>/`` holding the SIE file and
the JSON pages exactly as received, plus ``manifest.json`` (sha256, sizes, request
parameters, fetched-at). ``<company>`` is the Fortnox tenant id, ``<fiscal-year>`` the
year's first and last day (``2025-01-01_2025-12-31``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
SIE_FILE_NAME = "sie4.se"


@dataclass(frozen=True, slots=True)
class LandingEvent:
    """What a landing asset event carries (its ``extra``): one company's extract of one year.

    ``path`` is relative to the data directory so events stay valid when the data moves.
    """

    company: str  # Fortnox tenant id
    org_number: str
    company_name: str
    fiscal_year_start: str  # ISO date
    fiscal_year_end: str
    extract_id: str
    path: str

    def to_extra(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> LandingEvent:
        missing = [k for k in cls.__dataclass_fields__ if k not in extra]
        if missing:
            raise ValueError(f"landing event is missing {', '.join(missing)}: {extra!r}")
        return cls(**{k: str(extra[k]) for k in cls.__dataclass_fields__})

    def directory(self, data_root: Path) -> Path:
        resolved = (data_root / self.path).resolve()
        landing_root = (data_root / "landing").resolve()
        if landing_root not in resolved.parents:
            raise ValueError(f"landing event path {self.path!r} points outside the landing zone")
        return resolved


def fiscal_year_label(start: date, end: date) -> str:
    return f"{start.isoformat()}_{end.isoformat()}"


def read_manifest(extract_dir: Path) -> dict[str, Any]:
    path = extract_dir / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{path}: the extract has no manifest") from exc
    return manifest
