"""The package's one exception type."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from include.sie4.records import Diagnostic


class SieError(Exception):
    """A SIE file was rejected. ``errors`` lists every error found, each with its line.

    ``unreadable`` is True when the file could not be read as SIE at all
    (missing, empty, binary); the CLI exits with status 2 then.
    """

    def __init__(
        self,
        errors: Sequence[Diagnostic],
        *,
        source: str | Path | None = None,
        warnings: Sequence[Diagnostic] = (),
        unreadable: bool = False,
    ) -> None:
        self.errors = tuple(errors)
        self.warnings = tuple(warnings)
        self.source = str(source) if source is not None else None
        self.unreadable = unreadable
        where = f"{self.source}: " if self.source else ""
        shown = "; ".join(str(e) for e in self.errors[:5])
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{where}{len(self.errors)} error(s): {shown}{more}")
