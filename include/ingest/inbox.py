"""The inbox: a folder where people drop SIE files exported from any accounting program.

A file is loaded, then moved to ``processed/``; a rejected file goes to ``failed/`` with a
sidecar ``<name>.errors.txt`` listing every error with its line number. Nothing is deleted.
Every step is safe to repeat: a rerun of a file that was already moved reports where it went
instead of failing on a missing file, and a load that committed before the move was
interrupted is recognised by its checksum and not loaded twice.

A file still being copied in must not be taken: a SIE file cut between two vouchers reads
as complete, smaller books. So a scan takes only files left unchanged for a settle time,
measured on the file system's own clock (a hidden ``.inbox-clock`` file it touches), and
never the temporary names copy tools and browsers write to before renaming.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.sie4.errors import SieError
from include.sie4.records import Diagnostic

if TYPE_CHECKING:
    from include.warehouse.loader import LoadResult

SIDECAR_SUFFIX = ".errors.txt"
REFUSED_HINT = "To load it anyway"  # marks a refusal (older books) in messages and sidecars
# Names of files still being written by common tools (renamed when complete).
_IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", "~")
_IN_PROGRESS_PREFIXES = (".", "~$")


class Outcome(StrEnum):
    LOADED = "loaded"
    UNCHANGED = "unchanged"  # same extract already in the warehouse
    REJECTED = "rejected"
    ALREADY_PROCESSED = "already_processed"
    ALREADY_FAILED = "already_failed"


@dataclass(frozen=True, slots=True)
class InboxLayout:
    root: Path

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    def ensure(self) -> None:
        for folder in (self.root, self.processed, self.failed):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class FileOutcome:
    file_name: str
    outcome: Outcome
    destination: str
    detail: dict[str, Any] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "outcome": self.outcome.value,
            "destination": self.destination,
            "detail": self.detail,
            "errors": list(self.errors),
        }


def force_hint(path: Path | str | None) -> str:
    """How to load a refused (older) file anyway, from Airflow or the command line."""
    return (
        f"{REFUSED_HINT}: trigger sie4_to_warehouse with force=true and file_path={path} "
        f"(CLI: python -m include.warehouse load {path} --force)."
    )


def load_detail(result: LoadResult) -> dict[str, Any]:
    """What a load did, as JSON-able values (for XCom, summaries and asset events)."""
    return {
        "org_number": result.org_number,
        "company_name": result.company_name,
        "fiscal_year_start": result.fiscal_year_start.isoformat(),
        "fiscal_year_end": result.fiscal_year_end.isoformat(),
        "extract_id": result.extract_id,
        "counts": dict(result.counts),
    }


@dataclass(frozen=True, slots=True)
class InboxScan:
    """One look at the inbox: files ready to load, and files that may still be copied in."""

    ready: list[Path]
    settling: list[Path]


_CLOCK_FILE = ".inbox-clock"  # hidden: never taken as a SIE file


def _filesystem_now(root: Path) -> float:
    """The inbox file system's own time (a network share's server may be off from ours)."""
    probe = root / _CLOCK_FILE
    try:
        probe.touch()  # stamped by the file system, on the same clock as the files' times
        return probe.stat().st_ctime
    except OSError:
        return time.time()


def scan_inbox(
    layout: InboxLayout, *, settle_seconds: float = 0.0, now: float | None = None
) -> InboxScan:
    """Split the inbox's files, by name, into ready and settling.

    Ready: unchanged for ``settle_seconds``, judged by the inode change time (ctime), which
    every write moves and no copy tool can backdate (robocopy dates an unfinished copy
    1980-01-01), against the file system's clock. Sidecars, hidden files and temporary names
    (``*.part``, ``*.tmp``, ``~$*``, ...) are never taken; a file that vanishes meanwhile is
    skipped.
    """
    if not layout.root.is_dir():
        return InboxScan([], [])
    if now is None:
        now = _filesystem_now(layout.root) if settle_seconds > 0 else time.time()
    ready: list[Path] = []
    settling: list[Path] = []
    for path in sorted(layout.root.iterdir()):
        name = path.name
        if name.startswith(_IN_PROGRESS_PREFIXES) or name.lower().endswith(
            (SIDECAR_SUFFIX, *_IN_PROGRESS_SUFFIXES)
        ):
            continue
        try:
            info = path.stat()
        except OSError:  # moved or deleted since the listing
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        (ready if now - info.st_ctime >= settle_seconds else settling).append(path)
    return InboxScan(ready, settling)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _free_destination(folder: Path, source: Path) -> Path:
    """``folder/<name>``, or a name with the content hash when a different file has it."""
    name = source.name
    target = folder / name
    if not target.exists():
        return target
    sha256 = _sha256(source)  # hashed only on a name clash
    if _sha256(target) == sha256:
        return target
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    return folder / f"{stem}.{sha256[:12]}{'.' + suffix if suffix else ''}"


def write_sidecar(
    target: Path, source_name: str, errors: Sequence[str], warnings: Sequence[str] = ()
) -> Path:
    sidecar = target.with_name(target.name + SIDECAR_SUFFIX)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [f"file: {source_name}", f"rejected at: {now}", f"errors: {len(errors)}", "", *errors]
    if warnings:
        lines += ["", f"warnings: {len(warnings)}", *warnings]
    sidecar.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sidecar


def _lines(diagnostics: Sequence[Diagnostic]) -> list[str]:
    return [f"line {d.line}: {d.message}" for d in diagnostics]


def read_sidecar_errors(sidecar: Path) -> tuple[str, ...]:
    """The error lines of a sidecar (its warnings section follows a blank line)."""
    lines = sidecar.read_text(encoding="utf-8").splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("errors:")), len(lines))
    errors = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        errors.append(line)
    return tuple(errors)


def process_inbox_file(
    layout: InboxLayout,
    file_name: str,
    warehouse_url: str,
    *,
    lenient: bool = False,
    force: bool = False,
) -> FileOutcome:
    """Load one inbox file into the warehouse and move it to processed/ or failed/.

    Raises only for problems that a retry may cure (database down, disk full); a file
    that is not valid SIE, or holds books older than the warehouse's for its company and
    year, is a result (REJECTED, moved to failed/ with the reason), not an exception;
    ``force`` loads such older books anyway (and reloads an unchanged file).
    """
    from include.warehouse.loader import OlderExtractError, load_sie

    layout.ensure()
    source = layout.root / file_name
    if not source.exists():
        for folder, outcome in (
            (layout.processed, Outcome.ALREADY_PROCESSED),
            (layout.failed, Outcome.ALREADY_FAILED),
        ):
            if (folder / file_name).exists():
                errors: tuple[str, ...] = ()
                sidecar = folder / (file_name + SIDECAR_SUFFIX)
                if outcome is Outcome.ALREADY_FAILED and sidecar.exists():
                    errors = read_sidecar_errors(sidecar)
                return FileOutcome(file_name, outcome, str(folder / file_name), errors=errors)
        raise FileNotFoundError(f"{source}: not in the inbox, processed/ or failed/")

    try:
        result = load_sie(
            source,
            warehouse_url,
            lenient=lenient,
            source_kind="inbox",
            file_name=file_name,
            force=force,
        )
    except SieError as error:
        target = _free_destination(layout.failed, source)
        write_sidecar(target, file_name, _lines(error.errors), _lines(error.warnings))
        shutil.move(source, target)
        return FileOutcome(
            file_name,
            Outcome.REJECTED,
            str(target),
            errors=tuple(str(d) for d in error.errors),
        )
    except OlderExtractError as error:  # valid books, but older than the warehouse's
        target = _free_destination(layout.failed, source)
        message = f"{error} {force_hint(target)}"
        write_sidecar(target, file_name, [message])
        shutil.move(source, target)
        return FileOutcome(file_name, Outcome.REJECTED, str(target), errors=(message,))

    target = _free_destination(layout.processed, source)
    shutil.move(source, target)
    detail = load_detail(result)
    outcome = Outcome.UNCHANGED if result.skipped else Outcome.LOADED
    return FileOutcome(file_name, outcome, str(target), detail=detail)


def outcome_json(outcomes: list[FileOutcome]) -> str:
    return json.dumps([o.to_dict() for o in outcomes], indent=2, sort_keys=True)
