"""The checks over a folder of real SIE files: how many pass each check, which fail and why.

    python -m include.quality corpus ../shared/sie-corpus [--url URL] [--markdown]

Each file is loaded leniently into the warehouse (``force``: a file replaces an earlier
file of the same company and year) and checked at once, before the next file can replace
its partition. Files the reader rejects even leniently are listed as not loaded.
docs/quality.md's corpus table is this command's ``--markdown`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from include.quality.checks import CHECK_NAMES, CHECKS_BY_NAME
from include.quality.results import CheckResult


@dataclass
class FileOutcome:
    name: str
    sie_type: int | None
    results: tuple[CheckResult, ...] = ()
    rejected: str | None = None  # why the reader refused the file, even leniently

    def status_of(self, check: str) -> str | None:
        for r in self.results:
            if r.name == check:
                return r.status
        return None


@dataclass
class CorpusReport:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def loaded(self) -> list[FileOutcome]:
        return [f for f in self.files if f.rejected is None]

    def count(self, check: str, status: str) -> int:
        return sum(f.status_of(check) == status for f in self.loaded)

    def failures(self) -> list[tuple[str, CheckResult]]:
        return [(f.name, r) for f in self.loaded for r in f.results if r.status == "failed"]


def check_corpus(folder: Path, url: str, data_root: Path) -> CorpusReport:
    """Load every file of ``folder`` leniently and check it (see the module docstring)."""
    from include.quality.runner import check_partition, lookup_partition
    from include.sie4.errors import SieError
    from include.sie4.reader import read_sie
    from include.warehouse.loader import load_sie

    report = CorpusReport()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != ".tsv"):
        try:
            doc = read_sie(path, lenient=True)
        except SieError as error:
            first = error.errors[0] if error.errors else None
            report.files.append(FileOutcome(path.name, None, rejected=str(first or error)))
            continue
        result = load_sie(path, url, lenient=True, force=True)
        partition = lookup_partition(url, result.company_id, result.fiscal_year_start)
        run = check_partition(url, data_root, partition, triggered_by="corpus", build_docs=False)
        report.files.append(FileOutcome(path.name, doc.sie_type, run.run.results))
    return report


def markdown(report: CorpusReport, *, failure_rows: int = 3) -> str:
    """The corpus section of docs/quality.md: per check, then every failure by file."""
    loaded = report.loaded
    lines = [
        f"{len(report.files)} files; {len(loaded)} loaded leniently and checked; "
        f"{len(report.files) - len(loaded)} rejected by the reader even leniently.",
        "",
        "| check | severity | passed | failed | skipped |",
        "|---|---|---:|---:|---:|",
    ]
    for name in CHECK_NAMES:
        check = CHECKS_BY_NAME[name]
        lines.append(
            f"| `{name}` | {check.severity} | {report.count(name, 'passed')} | "
            f"{report.count(name, 'failed')} | {report.count(name, 'skipped')} |"
        )
    lines += ["", "Failed checks by file, with the first offending rows (`ksumma` below):", ""]
    by_file: dict[str, list[CheckResult]] = {}
    for name, result in report.failures():
        if result.name != "ksumma":
            by_file.setdefault(name, []).append(result)
    for name, results in sorted(by_file.items()):
        lines.append(f"- `{name}`")
        for r in results:
            lines.append(f"  - `{r.name}` ({r.severity}): {r.summary}")
    verified = [f.name for f in loaded if f.status_of("ksumma") == "passed"]
    outcomes: dict[str, int] = {}
    for _, r in report.failures():
        if r.name == "ksumma":
            value = str(r.failing_rows[0].get("ksumma")) if r.failing_rows else "?"
            outcomes[value] = outcomes.get(value, 0) + 1
    others = ", ".join(f"{n} file(s) `#KSUMMA` {value}" for value, n in sorted(outcomes.items()))
    lines += [
        "",
        f"`ksumma`: verified in {len(verified)} file(s) "
        f"({', '.join(f'`{n}`' for n in verified) or 'none'}); {others or 'no failures'}.",
    ]
    rejected = [f for f in report.files if f.rejected]
    if rejected:
        lines += ["", "Not loaded (rejected by the reader even leniently):", ""]
        lines += [f"- `{f.name}`: {f.rejected}" for f in rejected]
    return "\n".join(lines)


def skip_reasons(report: CorpusReport) -> dict[str, dict[str, int]]:
    """Per check, how often each skip reason occurred (for the docs' prose)."""
    reasons: dict[str, dict[str, int]] = {}
    for f in report.loaded:
        for r in f.results:
            if r.status == "skipped":
                bucket = reasons.setdefault(r.name, {})
                key = _generic(r.summary)
                bucket[key] = bucket.get(key, 0) + 1
    return reasons


def _generic(summary: str) -> str:
    # "no subledger: the books came from a file (cli: x.se) ..." -> without the file name
    return summary.split(" (", 1)[0]


def rows(report: CorpusReport) -> Sequence[tuple[str, str, str]]:
    """(file, check, status) for every loaded file and check: what the test compares."""
    return [(f.name, r.name, r.status) for f in report.loaded for r in f.results]
