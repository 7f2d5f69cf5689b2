"""The reader's main loop: one pass over the lines, each record to its handler.

``Parser`` is the record path's engine; ``include.sie4.reader`` (``parse``,
``read_sie``) drives it over a whole file and the fast paths (``bulk``,
``summary``) over the header lines only, at their own line numbers, so that
every header record and message is the record path's own.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from include.sie4 import voucher_records
from include.sie4.header_records import Handler, HeaderRecords
from include.sie4.lexer import LexError, has_control_characters, split_line
from include.sie4.parser_state import OpenVoucher
from include.sie4.records import (
    Account,
    CompanyInfo,
    ObjectList,
    RowKind,
    SieDocument,
    VoucherRow,
)
from include.sie4.rules import BUDGET_LABELS, file_type, label_diagnostics, sie_type_of, variant_of
from include.sie4.validation import ValueProblem, parse_date
from include.sie4.voucher_records import ROW_LABELS, ROW_SETTERS, VoucherRecords, object_list

__all__ = ["IGNORED_LABELS", "Parser", "needs_control_check"]

# Known records that carry nothing the model keeps.
IGNORED_LABELS = frozenset({"#PROSA", "#KSUMMA", "#BKOD_TEXT"})
# Control characters other than line ends: a file without them needs no per-line check.
_CONTROL_NOT_LINE_END = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def needs_control_check(text: str) -> bool:
    """False when no line of ``text`` can hold a control character (see ``Parser.run``).

    Without control characters inside lines (a CR only right before an LF, which
    the line strip removes) the per-line check can be skipped.
    """
    return _CONTROL_NOT_LINE_END.search(text) is not None or text.count("\r") != text.count("\r\n")


class Parser(HeaderRecords, VoucherRecords):
    """Reads lines into the parser state; ``build`` makes the document."""

    def __init__(self, *, lenient: bool, verify_checksum: bool) -> None:
        super().__init__(lenient=lenient, verify_checksum=verify_checksum)
        self.handlers: dict[str, Handler] = self.header_handlers()
        self.handlers["#VER"] = self._ver

    # -- main loop -----------------------------------------------------------
    def run(self, lines: list[str], *, check_controls: bool = True) -> None:
        """Read the lines (``lines[i]`` is line ``i + 1``).

        ``check_controls=False`` skips the per-line control-character check; only
        for text already known to hold none inside a line (see ``parse``).
        """
        ksumma = self.ksumma
        counts = self.counts
        first_lines = self.first_lines
        fast_row = voucher_records.FAST_ROW.fullmatch
        fast_ver = voucher_records.FAST_VER.fullmatch
        row_kinds = ROW_LABELS
        btrans = RowKind.BTRANS
        rtrans = RowKind.RTRANS
        first_use = self.first_use
        dates: dict[str, date] = {}
        object_lists: dict[str, tuple[ObjectList, str] | None] = {}
        # #KSUMMA text of fast-path rows, added to the CRC before the next record.
        crc_text: list[str] = []
        crc_on = ksumma.opened_at is not None and not ksumma.closed
        fast_ok = not ksumma.closed  # after the closing #KSUMMA every row gets a warning
        trans_rows = other_rows = 0  # fast-path rows (#TRANS counted at the end)
        new = object.__new__
        (
            set_kind,
            set_account,
            set_objects,
            set_amount,
            set_date,
            set_text,
            set_quantity,
            set_signature,
            set_line,
            set_in_balance,
        ) = ROW_SETTERS
        open_ = self.open
        # Bound to the open voucher's rows whenever ``open_`` changes to one.
        no_rows: list[VoucherRow] = []
        append_row = open_.rows.append if open_ is not None else no_rows.append
        for number, raw in enumerate(lines, start=1):
            text = raw.strip(" \t\r")
            if not text:
                continue
            if text[0] != "#":
                if text == "{":
                    if self.pending is not None and open_ is None:
                        open_ = self.open = self.pending
                        append_row = open_.rows.append
                        self.pending = None
                        continue
                    self._open_block(number)
                elif text == "}":
                    if open_ is not None and self.pending is None:
                        self._finish_voucher(open_)
                        open_ = self.open = None
                        continue
                    self._close_block(number)
                else:
                    self._not_a_record(number, text)
                open_ = self.open
                if open_ is not None:
                    append_row = open_.rows.append
                continue
            if check_controls and has_control_characters(text):
                self.warn(number, "control characters in the record")
            elif open_ is not None and fast_ok and (m := fast_row(text)) is not None:
                # The common voucher row, read without the lexer. Anything the
                # general path would report on goes there instead.
                label, account, inner, amount, row_date, row_text, quantity, signature = m.groups()
                try:
                    entry = object_lists[inner]
                except KeyError:
                    entry = object_lists[inner] = object_list(inner)
                if entry is not None:
                    day: date | None = None
                    if row_date is not None:
                        day = dates.get(row_date)
                        if day is None:
                            try:
                                day = dates[row_date] = parse_date(row_date)
                            except ValueProblem:
                                entry = None
                if entry is not None:
                    objects, flat = entry
                    kind = row_kinds[label]
                    if row_text and "\\" in row_text:
                        row_text = row_text.replace('\\"', '"')
                    if signature and "\\" in signature:
                        signature = signature.replace('\\"', '"')
                    # VoucherRow(kind, account, ...) with its slots set directly.
                    row = new(VoucherRow)
                    set_kind(row, kind)
                    set_account(row, account)
                    set_objects(row, objects)
                    set_amount(row, Decimal(amount))
                    set_date(row, day)
                    set_text(row, row_text or "")
                    set_quantity(row, Decimal(quantity) if quantity else None)
                    set_signature(row, signature or "")
                    set_line(row, number)
                    set_in_balance(row, kind is not btrans)
                    append_row(row)
                    if kind is rtrans:
                        open_.has_rtrans = True
                    if account not in first_use:
                        first_use[account] = number
                    if label == "#TRANS":
                        if not trans_rows:
                            counts.setdefault(label, 0)
                            first_lines.setdefault(label, number)
                        trans_rows += 1
                    else:
                        counts[label] = counts.get(label, 0) + 1
                        first_lines.setdefault(label, number)
                        other_rows += 1
                    if crc_on:
                        crc_text.append(
                            f"{label}{account}{flat}{amount}{row_date or ''}{row_text or ''}"
                            f"{quantity or ''}{signature or ''}"
                        )
                    continue
            elif fast_ok and (m := fast_ver(text)) is not None:
                # A plain #VER line; an unreadable date goes to the general path.
                (q_series, series, q_number, voucher_number, ver_date, ver_text, registered_on,
                 signature) = m.groups()  # fmt: skip
                day = dates.get(ver_date)
                if day is None:
                    try:
                        day = dates[ver_date] = parse_date(ver_date)
                    except ValueProblem:
                        day = None
                registered: date | None = None
                if registered_on is not None and day is not None:
                    registered = dates.get(registered_on)
                    if registered is None:
                        try:
                            registered = dates[registered_on] = parse_date(registered_on)
                        except ValueProblem:
                            day = None
                if day is not None:
                    if ver_text and "\\" in ver_text:
                        ver_text = ver_text.replace('\\"', '"')
                    if signature and "\\" in signature:
                        signature = signature.replace('\\"', '"')
                    if series is None:
                        series = q_series
                    if voucher_number is None:
                        voucher_number = q_number
                    if "#VER" not in counts:
                        first_lines["#VER"] = number
                    counts["#VER"] = counts.get("#VER", 0) + 1
                    self.known_records += 1
                    if crc_on:
                        crc_text.append(
                            f"#VER{series}{voucher_number}{ver_date}{ver_text or ''}"
                            f"{registered_on or ''}{signature or ''}"
                        )
                    if self.pending is not None:
                        self.error(self.pending.line, "#VER without its { } block of rows")
                    if open_ is not None:
                        self.error(open_.line, "voucher block not closed before the next #VER")
                        self._finish_voucher(open_)
                        open_ = self.open = None
                    header = (
                        series,
                        voucher_number,
                        day,
                        ver_text or "",
                        registered,
                        signature or "",
                    )
                    self.pending = OpenVoucher(header, number)
                    continue
            if crc_text:
                ksumma.add_text("".join(crc_text))
                crc_text.clear()
            self._record(number, text)
            open_ = self.open
            if open_ is not None:
                append_row = open_.rows.append
            crc_on = ksumma.opened_at is not None and not ksumma.closed
            fast_ok = not ksumma.closed
        if crc_text:
            ksumma.add_text("".join(crc_text))
        self.known_records += trans_rows + other_rows
        if trans_rows:
            counts["#TRANS"] += trans_rows
        last = len(lines)
        if self.pending is not None:
            self.error(self.pending.line, "#VER without its { } block of rows")
        if self.open is not None:
            self.error(
                self.open.line,
                f"voucher block opened on line {self.open.line} is never closed "
                f"(truncated file?) at line {last}",
            )
        status, diagnostics = self.ksumma.finish()
        self.ksumma_status = status
        for d in diagnostics:
            if "mismatch" in d.message and not self.verify_checksum:
                continue
            self.errors.append(d)
        self._check_declared_accounts()

    def _record(self, number: int, text: str) -> None:
        """The general path: one record (``text`` starts with ``#``) through the lexer."""
        counts = self.counts
        ksumma = self.ksumma
        problems: list[str] = []
        try:
            fields = split_line(text, problems)
        except LexError as exc:
            bad_label = text.split()[0]
            self.first_lines.setdefault(bad_label, number)
            counts[bad_label] = counts.get(bad_label, 0) + 1
            if bad_label in BUDGET_LABELS:
                self.warn(number, f"{bad_label}: {exc}; budget row left out")
            elif bad_label in ROW_LABELS or bad_label in self.handlers:
                self.error(number, f"{bad_label}: {exc}")
            else:  # a record the reader ignores anyway (SIE 4B 7.1)
                self.warn(number, f"{bad_label}: {exc}; unknown record ignored")
            return
        for problem in problems:
            self.warn(number, problem)
        first_field = fields[0]
        if isinstance(first_field, tuple):  # pragma: no cover - text starts with '#'
            return
        label = first_field
        if label not in counts:
            self.first_lines[label] = number
        counts[label] = counts.get(label, 0) + 1
        values = fields[1:]
        if ksumma.closed and label != "#KSUMMA":
            self.warn(number, "record after the closing #KSUMMA is not covered by it")
        else:
            ksumma.add(number, label, values)
        kind = ROW_LABELS.get(label)
        if self.pending is not None:
            if kind is not None:
                # Rows right after #VER: the '{' is missing; read them as its block.
                self.error(self.pending.line, "#VER block has no opening '{'")
                self.open = self.pending
            else:
                self.error(self.pending.line, "#VER without its { } block of rows")
            self.pending = None
        if kind is not None:
            self.known_records += 1
            self._row(number, kind, values)
            return
        handler = self.handlers.get(label)
        if handler is not None:
            self.known_records += 1
            if self.open is not None and label != "#VER":
                self.error(number, f"{label} is not allowed inside a voucher's {{ }} block")
                return
            try:
                handler(number, values)
            except ValueProblem as exc:
                if label in BUDGET_LABELS:  # budgets are not the books
                    self.warn(number, f"{label}: {exc}; budget row left out")
                else:
                    self.error(number, f"{label}: {exc}")
        elif label in IGNORED_LABELS:
            self.known_records += 1
        else:
            self.warn(number, f"unknown record {label} ignored")

    # -- result --------------------------------------------------------------
    def _not_a_record(self, number: int, text: str) -> None:
        """A line that is not a record: before the first record (a comment some programs
        write on line 1) it cannot hide one, so a warning; elsewhere it may be a broken row.
        """
        shown = text if len(text) <= 40 else text[:37] + "..."
        message = f"not a SIE record: {shown!r}"
        first = self.first_record_at
        if not self.counts and (first is None or number < first):
            self.warn(number, message + " (before the first record)")
        else:
            self.tolerable(number, message)

    def build(self, encoding: str) -> SieDocument:
        self.warnings.extend(
            label_diagnostics(file_type(self.sie_type, self.counts), self.counts, self.first_lines)
        )
        years = {y.index: y for y in self.fiscal_years}
        for index, year in years.items():
            later = years.get(index + 1)
            if later is not None and (later.start - year.end).days != 1:
                self.warn(
                    self.year_lines[index],
                    f"fiscal year {index} ends {year.end} but year {index + 1} "
                    f"starts {later.start}: not consecutive",
                )
        sie_type = sie_type_of(self.sie_type, self.counts)
        variant = variant_of(sie_type, self.counts)
        accounts = []
        for parts in self.accounts.values():
            if parts.name is None:
                self.warn(parts.line, f"account {parts.number} has no #KONTO; empty name used")
            accounts.append(
                Account(
                    number=parts.number,
                    name=parts.name or "",
                    account_type=parts.account_type,
                    unit=parts.unit,
                    sru_codes=tuple(parts.sru_codes),
                    line=parts.line,
                )
            )
        company = CompanyInfo(
            name=self.company.get("name", ""),
            org_number=self.company.get("org_number", ""),
            company_id=self.company.get("company_id", ""),
            address=self.address,
            company_type=self.company.get("company_type", ""),
            sni_code=self.company.get("sni_code", ""),
            acquisition_number=self.company.get("acquisition_number", ""),
        )
        return SieDocument(
            sie_type=sie_type,
            variant=variant,
            flag=self.flag,
            program=self.program,
            file_format=self.file_format,
            generated_on=self.generated_on,
            generated_by=self.generated_by,
            company=company,
            fiscal_years=tuple(sorted(self.fiscal_years, key=lambda y: -y.index)),
            tax_year=self.tax_year,
            period_covered_to=self.period_covered_to,
            chart_type=self.chart_type,
            currency=self.currency,
            accounts=tuple(accounts),
            dimensions=tuple(self.dimensions),
            objects=tuple(self.objects),
            balances=tuple(self.balances),
            object_balances=tuple(self.object_balances),
            period_balances=tuple(self.period_balances),
            vouchers=tuple(self.vouchers),
            encoding=encoding,
            ksumma=self.ksumma_status,
        )
