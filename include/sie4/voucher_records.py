"""#VER blocks and their rows: the handlers, and the building blocks of the fast path.

The main loop (``parser``) reads the common plain ``#TRANS`` and ``#VER`` line
with ``FAST_ROW``/``FAST_VER`` and sets the records' slots directly; every other
voucher line comes here through the lexer. Both ways give the same records and
diagnostics (tests/sie4/test_sie4_fast_paths.py switches the fast path off and
compares).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from decimal import Decimal
from types import MemberDescriptorType
from typing import Any

from include.sie4.lexer import Field, LexError, split_line
from include.sie4.parser_state import (
    OpenVoucher,
    ParserState,
    VoucherHeader,
    field_text,
    object_pairs,
)
from include.sie4.records import ObjectList, RowKind, Voucher, VoucherRow
from include.sie4.rules import file_type, undeclared_account_is_tolerable
from include.sie4.validation import (
    ValueProblem,
    check_account,
    parse_amount,
    parse_date,
    parse_optional_date,
    parse_quantity,
)

__all__ = [
    "FAST_ROW",
    "FAST_VER",
    "ROW_LABELS",
    "ROW_SETTERS",
    "VoucherRecords",
    "object_list",
]

ROW_LABELS = {"#TRANS": RowKind.TRANS, "#RTRANS": RowKind.RTRANS, "#BTRANS": RowKind.BTRANS}
# Fast path for the common voucher row: account, object list, amount, then
# optionally date, text, quantity and signature, each plain (texts quoted, read
# with the lexer's own pattern). The general path reads such a line the same way;
# anything else (and anything it would warn about) takes the general lexer.
_PLAIN_TEXT = r'"((?:\\"|[^"])*+)"'
FAST_ROW = re.compile(
    r"(#(?:TRANS|RTRANS|BTRANS))[ \t]+(\d{1,6})[ \t]+\{([^{}\\]*)\}[ \t]+(-?\d+(?:\.\d{1,2})?)"
    r'(?:[ \t]+(?:(\d{8})|"")'
    r"(?:[ \t]+" + _PLAIN_TEXT + r'(?:[ \t]+(?:(-?\d+(?:\.\d{1,8})?)|"")'
    r"(?:[ \t]+" + _PLAIN_TEXT + r")?)?)?)?"
)
_PLAIN_WORD = r'(?:"([^"\\]*)"|([^ \t"{}]+))'
# A plain #VER line: series, number, date, then optionally text, registration date
# and signature.
FAST_VER = re.compile(
    r"#VER[ \t]+" + _PLAIN_WORD + r"[ \t]+" + _PLAIN_WORD + r"[ \t]+(\d{8})"
    r"(?:[ \t]+" + _PLAIN_TEXT + r'(?:[ \t]+(?:(\d{8})|"")(?:[ \t]+' + _PLAIN_TEXT + r")?)?)?"
)
ZERO = Decimal(0)


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a frozen slots dataclass's fields, in field order.

    Setting the slots directly, as the frozen ``__init__`` does through
    ``object.__setattr__``, builds a record about three times faster. The
    fast path must set every field, so a change to the record's fields stops
    the import here rather than leave a field unset.
    """
    actual = tuple(f.name for f in fields(cls))
    descriptors = [cls.__dict__.get(name) for name in names]
    if (
        actual != names
        or hasattr(cls, "__post_init__")
        or not all(isinstance(d, MemberDescriptorType) for d in descriptors)
    ):
        raise RuntimeError(
            f"{cls.__name__} fields are {actual}, the reader's fast path sets {names}: "
            "update include/sie4/voucher_records.py"
        )
    return tuple(d.__set__ for d in descriptors if isinstance(d, MemberDescriptorType))


ROW_SETTERS = _slot_setters(
    VoucherRow,
    (
        "kind",
        "account",
        "objects",
        "amount",
        "date",
        "text",
        "quantity",
        "signature",
        "line",
        "in_balance",
    ),
)
VOUCHER_SETTERS = _slot_setters(
    Voucher,
    ("series", "number", "date", "text", "registered_on", "signature", "rows", "line"),
)


def object_list(inner: str) -> tuple[ObjectList, str] | None:
    """The text between a row's braces as (objects, their items joined for #KSUMMA).

    None when the lexer would report something (unterminated quote, odd item
    count): the general path reads such a row. Lexing the braces alone gives
    the same items as lexing the whole line: ``inner`` holds no brace or
    backslash, and a quote left open inside it raises here.
    """
    try:
        fields = split_line("{" + inner + "}")
    except LexError:
        return None
    if len(fields) != 1 or not isinstance(fields[0], tuple) or len(fields[0]) % 2:
        return None
    items = fields[0]
    return tuple(zip(items[::2], items[1::2], strict=True)), "".join(items)


class VoucherRecords(ParserState):
    """#VER, the block braces and the rows, read through the lexer."""

    def _ver(self, line: int, f: Sequence[Field]) -> None:
        if self.open is not None:
            self.error(self.open.line, "voucher block not closed before the next #VER")
            self._finish_voucher(self.open)
            self.open = None
        header: VoucherHeader | None = None
        try:
            series = field_text(f, 0)
            number = field_text(f, 1)
            if len(f) < 3:
                raise ValueProblem("missing voucher date")
            ver_date = parse_date(field_text(f, 2), "voucher date")
            text = field_text(f, 3)
            registered = parse_optional_date(field_text(f, 4), "registration date")
            signature = field_text(f, 5)
            header = (series, number, ver_date, text, registered, signature)
            self.extra(line, "#VER", f, 6)
        except ValueProblem as exc:
            self.error(line, f"#VER: {exc}")
        self.pending = OpenVoucher(header, line)

    def _open_block(self, line: int) -> None:
        if self.pending is None:
            self.error(line, "'{' without a #VER before it")
            # Swallow the block so its rows are not also reported as outside one.
            self.open = OpenVoucher(None, line)
            return
        if self.open is not None:  # pragma: no cover - pending implies not open
            self.open = None
        self.open = self.pending
        self.pending = None

    def _close_block(self, line: int) -> None:
        if self.pending is not None:
            self.error(self.pending.line, "#VER without its { } block of rows")
            self.pending = None
            self.error(line, "'}' without an opening '{'")
            return
        if self.open is None:
            self.error(line, "'}' without an opening '{'")
            return
        self._finish_voucher(self.open)
        self.open = None

    def _finish_voucher(self, v: OpenVoucher) -> None:
        header = v.header
        if header is None:
            return
        rows = v.rows
        if not rows:
            self.warn(v.line, "voucher has an empty { } block: no rows")
        if v.has_rtrans:
            for i, row in enumerate(rows):
                if row.kind is RowKind.RTRANS and i + 1 < len(rows):
                    twin = rows[i + 1]
                    if twin.kind is RowKind.TRANS:
                        rows[i] = replace(row, in_balance=False)
                        if twin.account != row.account or twin.amount != row.amount:
                            self.warn(
                                twin.line,
                                f"#TRANS after #RTRANS (line {row.line}) differs in account "
                                "or amount; paired by position",
                            )
        total = sum([r.amount for r in rows if r.in_balance], ZERO)
        if total and not v.broken:
            self.tolerable(
                v.line,
                f"voucher {header[0] or '-'} {header[1] or '-'} does not "
                f"balance: rows sum to {total}",
            )
        # Voucher(*header, tuple(rows), v.line) with its slots set directly.
        voucher = object.__new__(Voucher)
        (
            set_series,
            set_number,
            set_date,
            set_text,
            set_registered,
            set_signature,
            set_rows,
            set_line,
        ) = VOUCHER_SETTERS
        series, number, day, text, registered_on, signature = header
        set_series(voucher, series)
        set_number(voucher, number)
        set_date(voucher, day)
        set_text(voucher, text)
        set_registered(voucher, registered_on)
        set_signature(voucher, signature)
        set_rows(voucher, tuple(rows))
        set_line(voucher, v.line)
        self.vouchers.append(voucher)

    def _row(self, line: int, kind: RowKind, f: Sequence[Field]) -> None:
        label = "#" + kind.value
        if self.open is None:
            self.error(line, f"{label} outside a voucher's {{ }} block")
            return
        try:
            account = check_account(field_text(f, 0))
            if len(f) > 1 and isinstance(f[1], tuple):
                objects = object_pairs(f[1])
                rest = f[2:]
            else:
                self.warn(line, f"{label}: object list {{}} missing")
                objects = ()
                rest = f[1:]
            if not rest:
                raise ValueProblem("row without amount")
            amount = parse_amount(field_text(rest, 0))
            row_date = parse_optional_date(field_text(rest, 1), "transaction date")
            quantity = parse_quantity(field_text(rest, 3))
            row = VoucherRow(
                kind=kind,
                account=account,
                objects=objects,
                amount=amount,
                date=row_date,
                text=field_text(rest, 2),
                quantity=quantity,
                signature=field_text(rest, 4),
                line=line,
                in_balance=kind is not RowKind.BTRANS,
            )
            if len(rest) > 5:
                self.warn(line, f"{label}: {len(rest) - 5} extra field(s) ignored")
        except ValueProblem as exc:
            self.error(line, f"{label}: {exc}")
            self.open.broken = True
            return
        self.open.rows.append(row)
        if kind is RowKind.RTRANS:
            self.open.has_rtrans = True
        if account not in self.first_use:
            self.first_use[account] = line

    def _check_declared_accounts(self) -> None:
        if not self.declared:
            return  # no chart of accounts in the file (4I): nothing to check against
        # In 4I the chart is optional (SIE 4B section 6): an undeclared account is a warning.
        tolerable = undeclared_account_is_tolerable(file_type(self.sie_type, self.counts))
        for account, line in self.first_use.items():
            if account not in self.declared:
                message = f"account {account} is used but not declared by #KONTO"
                if tolerable:
                    self.tolerable(line, message)
                else:
                    self.warn(line, message)
