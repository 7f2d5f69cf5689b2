"""Accountants' adjustments: a CSV file per company and fiscal year, imported whole or not at all.

Columns (a header line names them, in any order; Swedish names are accepted too):

    voucher,date,account,debit,credit,text,cost_centre,project,attachment
    ADJ-1,2025-12-31,5010,12500.00,,Upplupen hyra december,100,,hyresavi-dec.pdf
    ADJ-1,2025-12-31,2990,,12500.00,Upplupen hyra december,,,

Rows with the same ``voucher`` reference form one voucher. The separator is ``,`` or ``;``
(Excel's Swedish CSV); with ``;`` an amount may use a decimal comma (``12500,00``); spaces
group thousands. The file is UTF-8 (with or without BOM), else Windows-1252.

Every row is checked and every problem is reported by file and line: a bad amount or date,
an account that is not in the partition's chart, an unknown cost centre or project, a
voucher that does not balance, a missing or unreadable attachment. Nothing is imported unless
the whole file is good. Importing the same file again changes nothing; a changed file
replaces the partition's imported adjustments (and the proposals are computed again, since the
adjustments change the result they start from).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import sqlalchemy as sa

from include.closing.config import ClosingConfig, load_config
from include.closing.models import (
    MAX_OBJECT_ID,
    MAX_ROW_TEXT,
    Attachment,
    ClosingRow,
    ClosingVoucher,
    VoucherSet,
    money_text,
)
from include.closing.store import lock_partition, now_utc, replace_vouchers, resolve_partition
from include.warehouse import schema
from include.warehouse.engine import EngineLike, engine_for

COLUMNS = ("voucher", "date", "account", "debit", "credit", "text", "cost_centre", "project")
OPTIONAL = ("text", "cost_centre", "project", "attachment", "debit", "credit")
ALIASES = {
    "voucher": ("voucher", "reference", "voucher_reference", "verifikation", "ver"),
    "date": ("date", "voucher_date", "datum"),
    "account": ("account", "konto"),
    "debit": ("debit", "debet"),
    "credit": ("credit", "kredit"),
    "text": ("text", "description", "beskrivning", "transaktionsinformation"),
    "cost_centre": ("cost_centre", "cost_center", "costcentre", "costcenter", "kostnadsställe"),
    "project": ("project", "projekt"),
    "attachment": ("attachment", "file", "underlag", "bilaga"),
}
_HEADER = {alias: column for column, names in ALIASES.items() for alias in names}
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,29}")
RESERVED_PREFIX = "PROPOSAL-"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".txt": "text/plain",
}
MAX_AMOUNT = Decimal("1E15")
DIMENSIONS = {"cost_centre": ("1", "cost centre"), "project": ("6", "project")}


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # None: the file as a whole
    message: str


class AdjustmentsRejected(ValueError):
    """The file was not imported; ``problems`` lists every error with its line."""

    def __init__(self, file_name: str, problems: Sequence[Problem]) -> None:
        self.file_name = file_name
        self.problems = tuple(problems)
        lines = [
            f"{file_name}:{p.line}: {p.message}" if p.line else f"{file_name}: {p.message}"
            for p in self.problems
        ]
        count = len(self.problems)
        super().__init__(
            f"{file_name}: not imported, {count} problem{'s' if count != 1 else ''}:\n"
            + "\n".join(f"  {line}" for line in lines)
        )


@dataclass(frozen=True, slots=True)
class Chart:
    """What the partition's books know: the year, accounts and objects (from the warehouse)."""

    year_start: date
    year_end: date
    accounts: frozenset[str]
    objects: dict[str, frozenset[str]]  # dimension -> object ids


@dataclass(frozen=True, slots=True)
class ParsedAdjustments:
    file_name: str
    csv_sha256: str
    vouchers: tuple[ClosingVoucher, ...]
    lines: tuple[tuple[int, ...], ...]  # each voucher's rows' lines

    @property
    def row_count(self) -> int:
        return sum(len(v.rows) for v in self.vouchers)

    @property
    def attachment_count(self) -> int:
        return len({v.attachment.sha256 for v in self.vouchers if v.attachment})

    def fingerprint(self, company_key: str) -> str:
        """Changes with the file's bytes, its name, any attachment byte and the series used."""
        voucher_set = VoucherSet(0, company_key, date.min, self.vouchers)
        text = f"closing-import/1\n{self.file_name}\n{self.csv_sha256}\n{voucher_set.checksum()}"
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ImportResult:
    company_id: int
    company_key: str
    fiscal_year_start: date
    file_name: str
    voucher_count: int
    row_count: int
    attachment_count: int
    changed: bool  # False: the same file was imported already, nothing changed
    proposals_refreshed: bool

    def summary(self) -> str:
        what = "imported" if self.changed else "unchanged (the same file was imported already)"
        return (
            f"{self.file_name}: {what}: {self.voucher_count} vouchers, {self.row_count} rows, "
            f"{self.attachment_count} attachments for {self.company_key} "
            f"{self.fiscal_year_start.isoformat()}"
        )


# ----------------------------------------------------------------------------- parsing


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal:
    """An amount as accountants write it: ``12500.00``, ``12 500,00`` (with ``;``), ``0``."""
    value = re.sub(r"[\s\u00a0\u202f]", "", text)
    if decimal_comma:
        if "." in value and "," in value:
            raise ValueError(f"bad amount {text!r}: use either , or . as the decimal sign")
        value = value.replace(",", ".")
    if value.startswith("-"):
        raise ValueError(f"bad amount {text!r}: negative; put it in the other column")
    if not re.fullmatch(r"\d+(\.\d{1,2})?", value):
        raise ValueError(f"bad amount {text!r}: expected e.g. 12500.00 (at most two decimals)")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"bad amount {text!r}") from None
    if amount >= MAX_AMOUNT:
        raise ValueError(f"bad amount {text!r}: too large")
    return amount.quantize(Decimal("0.01"))


def _header(cells: list[str]) -> tuple[dict[str, int], list[str]]:
    problems: list[str] = []
    index: dict[str, int] = {}
    for position, cell in enumerate(cells):
        name = re.sub(r"[\s-]+", "_", cell.strip().lower())
        column = _HEADER.get(name)
        if column is None:
            problems.append(f"unknown column {cell.strip()!r}")
        elif column in index:
            problems.append(f"column {column} appears twice")
        else:
            index[column] = position
    for column in ("voucher", "date", "account"):
        if column not in index:
            problems.append(f"missing column {column}")
    if "debit" not in index and "credit" not in index:
        problems.append("missing columns debit and credit")
    return index, problems


@dataclass(slots=True)
class _Draft:
    reference: str
    first_line: int
    day: date | None = None
    attachment_name: str = ""
    attachment: Attachment | None = None
    rows: list[ClosingRow] | None = None
    lines: list[int] | None = None
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    bad: bool = False


def _read_attachment(csv_dir: Path, name: str, cache: dict[str, Attachment]) -> Attachment | str:
    """The attachment, or why it cannot be used."""
    if name in cache:
        return cache[name]
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        return f"attachment {name!r} must be a path relative to the CSV file's folder"
    media_type = MEDIA_TYPES.get(relative.suffix.lower())
    if media_type is None:
        kinds = ", ".join(sorted(MEDIA_TYPES))
        return f"attachment {name!r}: unsupported file type (use one of {kinds})"
    path = csv_dir / relative
    if not path.is_file():
        return f"attachment {name!r} not found (looked for {path})"
    size = path.stat().st_size
    if size > MAX_ATTACHMENT_BYTES:
        return f"attachment {name!r} is {size} bytes; at most {MAX_ATTACHMENT_BYTES}"
    if size == 0:
        return f"attachment {name!r} is empty"
    try:
        content = path.read_bytes()
    except OSError as exc:
        return f"attachment {name!r} cannot be read: {exc.strerror}"
    attachment = Attachment(file_name=relative.name, media_type=media_type, content=content)
    cache[name] = attachment
    return attachment


def parse_adjustments(
    path: Path, chart: Chart, config: ClosingConfig, *, data: bytes | None = None
) -> ParsedAdjustments:
    """Read and check the whole file; raise :class:`AdjustmentsRejected` listing every problem."""
    file_name = path.name
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AdjustmentsRejected(
                str(path), [Problem(None, exc.strerror or str(exc))]
            ) from None
    text = decode(data)
    problems: list[Problem] = []
    first_line = text.splitlines()[0] if text.strip() else ""
    delimiter = _delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    drafts: dict[str, _Draft] = {}
    cache: dict[str, Attachment] = {}
    index: dict[str, int] = {}
    line = 0
    header_seen = False
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if not header_seen:
            header_seen = True
            index, header_problems = _header(cells)
            problems += [Problem(start, p) for p in header_problems]
            if header_problems:
                break
            continue
        _parse_row(
            cells, start, index, chart, delimiter == ";", path.parent, cache, drafts, problems
        )
    if not header_seen:
        problems.append(Problem(None, "the file is empty: it needs at least the header line"))
    vouchers, lines = _finish(drafts, chart, config, problems)
    if problems:
        raise AdjustmentsRejected(file_name, sorted(problems, key=lambda p: p.line or 0))
    return ParsedAdjustments(
        file_name=file_name,
        csv_sha256=hashlib.sha256(data).hexdigest(),
        vouchers=vouchers,
        lines=lines,
    )


def _parse_row(
    cells: list[str],
    line: int,
    index: dict[str, int],
    chart: Chart,
    decimal_comma: bool,
    csv_dir: Path,
    cache: dict[str, Attachment],
    drafts: dict[str, _Draft],
    problems: list[Problem],
) -> None:
    def cell(column: str) -> str:
        position = index.get(column)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    def problem(message: str) -> None:
        problems.append(Problem(line, message))

    if len(cells) > len(index):
        extra = [c for c in cells[len(index) :] if c.strip()]
        if extra:
            problem(f"{len(cells)} fields, the header names {len(index)}")
    reference = cell("voucher")
    if not reference:
        problem("voucher reference is empty")
        return
    if not REFERENCE.fullmatch(reference):
        problem(f"voucher reference {reference!r}: 1-30 letters, digits, '.', '_' or '-'")
        return
    if reference.upper().startswith(RESERVED_PREFIX):
        problem(f"voucher reference {reference!r}: {RESERVED_PREFIX}… is kept for proposals")
        return
    draft = drafts.setdefault(reference, _Draft(reference, line, rows=[], lines=[]))
    assert draft.rows is not None and draft.lines is not None
    ok = True

    raw_date = cell("date")
    try:
        day = date.fromisoformat(raw_date) if len(raw_date) == 10 else None
    except ValueError:
        day = None
    if day is None:
        problem(f"bad date {raw_date!r}: expected YYYY-MM-DD")
        ok = False
    elif not chart.year_start <= day <= chart.year_end:
        problem(
            f"date {day} is outside the fiscal year "
            f"{chart.year_start.isoformat()} – {chart.year_end.isoformat()}"
        )
        ok = False
    elif draft.day is None:
        draft.day = day
    elif day != draft.day:
        problem(
            f"voucher {reference}: date {day} differs from {draft.day} on line {draft.first_line}"
        )
        ok = False

    account = cell("account")
    if not (account.isdigit() and len(account) == 4):
        problem(f"bad account {account!r}: expected four digits")
        ok = False
    elif account not in chart.accounts:
        problem(f"unknown account {account}: not in the chart of the books for this fiscal year")
        ok = False

    amounts: dict[str, Decimal] = {}
    for side in ("debit", "credit"):
        raw = cell(side)
        if not raw:
            amounts[side] = Decimal("0.00")
            continue
        try:
            amounts[side] = parse_amount(raw, decimal_comma=decimal_comma)
        except ValueError as exc:
            problem(f"{side}: {exc}")
            ok = False
    if ok and (amounts["debit"] == 0) == (amounts["credit"] == 0):
        problem("exactly one of debit and credit must be a non-zero amount")
        ok = False

    text = cell("text")
    if len(text) > MAX_ROW_TEXT:
        problem(f"text is {len(text)} characters; Fortnox takes at most {MAX_ROW_TEXT}")
        ok = False
    objects: dict[str, str] = {}
    for column, (dimension, label) in DIMENSIONS.items():
        value = cell(column)
        objects[column] = value
        if not value:
            continue
        if len(value) > MAX_OBJECT_ID:
            problem(f"{label} {value!r} is longer than {MAX_OBJECT_ID} characters")
            ok = False
        elif value not in chart.objects.get(dimension, frozenset()):
            problem(f"unknown {label} {value!r}: not in the books (#OBJEKT {dimension})")
            ok = False

    name = cell("attachment")
    if name:
        if draft.attachment_name and name != draft.attachment_name:
            problem(
                f"voucher {reference}: attachment {name!r} differs from "
                f"{draft.attachment_name!r} named before (one attachment per voucher)"
            )
            ok = False
        else:
            found = _read_attachment(csv_dir, name, cache)
            if isinstance(found, str):
                problem(found)
                ok = False
            else:
                draft.attachment_name, draft.attachment = name, found

    if not ok:
        draft.bad = True
        return
    draft.rows.append(
        ClosingRow(
            account=account,
            debit=amounts["debit"],
            credit=amounts["credit"],
            text=text,
            cost_centre=objects["cost_centre"],
            project=objects["project"],
        )
    )
    draft.lines.append(line)
    draft.debit += amounts["debit"]
    draft.credit += amounts["credit"]


def _span(lines: Sequence[int]) -> str:
    return f"line {lines[0]}" if len(lines) == 1 else f"lines {', '.join(map(str, lines))}"


def _finish(
    drafts: dict[str, _Draft], chart: Chart, config: ClosingConfig, problems: list[Problem]
) -> tuple[tuple[ClosingVoucher, ...], tuple[tuple[int, ...], ...]]:
    vouchers: list[ClosingVoucher] = []
    lines: list[tuple[int, ...]] = []
    for draft in drafts.values():
        assert draft.rows is not None and draft.lines is not None
        if draft.bad:
            continue  # its rows' problems are reported; a balance check would only add noise
        if len(draft.rows) < 2:
            problems.append(
                Problem(draft.first_line, f"voucher {draft.reference} has one row; it needs two")
            )
            continue
        if draft.debit != draft.credit:
            problems.append(
                Problem(
                    draft.first_line,
                    f"voucher {draft.reference} ({_span(draft.lines)}) does not balance: "
                    f"debit {money_text(draft.debit)}, credit {money_text(draft.credit)}, "
                    f"difference {money_text(draft.debit - draft.credit)}",
                )
            )
            continue
        description = next((r.text for r in draft.rows if r.text), "")
        description = description or f"Bokslutsjustering {draft.reference}"
        assert draft.day is not None
        vouchers.append(
            ClosingVoucher(
                reference=draft.reference,
                origin="adjustment",
                kind="adjustment",
                series=config.series,
                voucher_date=draft.day,
                description=description,
                rows=tuple(draft.rows),
                attachment=draft.attachment,
            )
        )
        lines.append(tuple(draft.lines))
    return tuple(vouchers), tuple(lines)


# ----------------------------------------------------------------------------- importing


def read_chart(conn: sa.Connection, company_id: int, fiscal_year_start: date) -> Chart:
    fy, acc, obj = schema.fiscal_year, schema.account, schema.object_
    partition = (company_id, fiscal_year_start)
    year = conn.execute(
        sa.select(fy.c.start_date, fy.c.end_date).where(
            fy.c.company_id == company_id,
            fy.c.fiscal_year_start == fiscal_year_start,
            fy.c.year_index == 0,
        )
    ).one()
    accounts = conn.scalars(
        sa.select(acc.c.account).where(
            acc.c.company_id == partition[0], acc.c.fiscal_year_start == partition[1]
        )
    )
    objects: dict[str, set[str]] = {}
    for dimension, object_id in conn.execute(
        sa.select(obj.c.dimension, obj.c.object_id).where(
            obj.c.company_id == partition[0], obj.c.fiscal_year_start == partition[1]
        )
    ):
        objects.setdefault(dimension, set()).add(object_id)
    return Chart(
        year_start=year.start_date,
        year_end=year.end_date,
        accounts=frozenset(accounts),
        objects={k: frozenset(v) for k, v in objects.items()},
    )


def import_adjustments(
    url_or_engine: EngineLike,
    path: Path,
    company: str,
    fiscal_year: str | date,
    *,
    imported_by: str = "cli",
    config: ClosingConfig | None = None,
) -> ImportResult:
    """Check the whole file, then replace the partition's adjustments in one transaction."""
    from include.closing.proposals import refresh_proposals

    data = path.read_bytes() if path.is_file() else None
    if data is None:
        raise AdjustmentsRejected(str(path), [Problem(None, "no such file")])
    engine, owned = engine_for(url_or_engine)
    try:
        with engine.begin() as conn:
            partition = resolve_partition(conn, company, fiscal_year)
            company_id, start = partition.company_id, partition.fiscal_year_start
            config = config or load_config((partition.org_number, partition.company_key))
            parsed = parse_adjustments(path, read_chart(conn, company_id, start), config, data=data)
            fingerprint = parsed.fingerprint(partition.company_key)
            lock_partition(conn, company_id, start)
            imp = schema.closing_import
            current = conn.scalar(
                sa.select(imp.c.fingerprint).where(
                    imp.c.company_id == company_id, imp.c.fiscal_year_start == start
                )
            )
            changed = current != fingerprint
            refreshed = False
            if changed:
                replace_vouchers(
                    conn,
                    company_id,
                    start,
                    parsed.vouchers,
                    origin="adjustment",
                    source_file=parsed.file_name,
                    source_lines=parsed.lines,
                )
                conn.execute(
                    imp.delete().where(
                        imp.c.company_id == company_id, imp.c.fiscal_year_start == start
                    )
                )
                conn.execute(
                    imp.insert().values(
                        company_id=company_id,
                        fiscal_year_start=start,
                        file_name=parsed.file_name,
                        sha256=parsed.csv_sha256,
                        fingerprint=fingerprint,
                        voucher_count=len(parsed.vouchers),
                        row_count=parsed.row_count,
                        attachment_count=parsed.attachment_count,
                        imported_at=now_utc(),
                        imported_by=imported_by,
                    )
                )
                refreshed = refresh_proposals(conn, partition, config, only_if_present=True)
    finally:
        if owned:
            engine.dispose()
    return ImportResult(
        company_id=company_id,
        company_key=partition.company_key,
        fiscal_year_start=start,
        file_name=parsed.file_name,
        voucher_count=len(parsed.vouchers),
        row_count=parsed.row_count,
        attachment_count=parsed.attachment_count,
        changed=changed,
        proposals_refreshed=refreshed,
    )
