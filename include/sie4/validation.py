"""Value rules of the SIE 4 reader, and what counts as an error or a warning.

ERROR (rejects the file in strict mode; also in lenient mode unless listed
below) - anything that would make the figures wrong or ambiguous:

* an amount that is not ``-?digits[.d[d]]`` (``.`` decimal point, at most two
  decimals, no ``+``, no thousands separator), a missing amount on a row or
  balance, a quantity with more than 8 decimals;
* a date that is not ``YYYYMMDD`` or not a real calendar date (``180501`` and
  ``2018-05-01`` are errors), a period that is not ``YYYYMM``, a fiscal year
  ending before it starts;
* an account number that is not 1-6 digits (BAS uses 4; 5-6 digit
  sub-accounts and short numbers occur in real exports; 7 or more digits, as
  in ``#KONTO 11100111``, or any non-digit is an error);
* a voucher row outside a ``#VER { ... }`` block, a ``#VER`` without its
  block, a block never closed, a known record that is not allowed inside a
  block, an unterminated quote or object list;
* a voucher whose counted rows do not sum to zero (lenient: warning);
* an account used on a voucher row that the file's chart of accounts does not
  declare with ``#KONTO`` (lenient: warning). Only checked when the file has
  a chart at all, and in a 4I import file (where the chart is optional) only a
  warning;
* a line that is not a record among the records (lenient: warning); before the
  first record (a comment on line 1) it is a warning;
* ``#KSUMMA`` mismatch or an opened ``#KSUMMA`` never closed (truncated file).

WARNING - departs from the text without changing the figures: the encoding
not matching ``#FORMAT PC8``, what SIE 4B section 6 says about the file's type
(mandatory records missing, records the type does not allow: ``rules``), an
empty ``#FNAMN``, a bad budget row (left out), unknown labels, extra trailing
fields, a ``#ADRESS`` without its four fields, an empty ``#SRU`` code, an
unreadable ``#TAXAR``, control characters, a ``#VER`` with an empty ``{}``
block (nothing to load, nothing wrong), a missing object list on a row, an
``#RTRANS`` whose twin differs in account or amount.

Every diagnostic carries the 1-based line number it was found on; a whole-file
finding (a missing record) is reported on line 1.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal
from typing import Any

_AMOUNT = re.compile(r"-?\d+(?:\.\d{1,2})?")
_QUANTITY = re.compile(r"-?\d+(?:\.\d{1,8})?")
_ACCOUNT = re.compile(r"\d{1,6}")
_DATE = re.compile(r"\d{8}")
_PERIOD = re.compile(r"\d{6}")
_YEAR_INDEX = re.compile(r"-?\d{1,3}")

MAX_ACCOUNT_DIGITS = 6


class ValueProblem(ValueError):
    """A field value breaks a rule; the message says which and shows the value."""


def parse_amount(text: str, what: str = "amount") -> Decimal:
    """``-123.45`` -> Decimal; at most 2 decimals."""
    if _AMOUNT.fullmatch(text) is None:
        if not text:
            raise ValueProblem(f"missing {what}")
        if _QUANTITY.fullmatch(text):
            raise ValueProblem(f"{what} {text!r} has more than 2 decimals")
        raise ValueProblem(f"bad {what} {text!r} (expected e.g. -1234.50)")
    return Decimal(text)


def parse_quantity(text: str) -> Decimal | None:
    """An optional quantity: empty -> None; at most 8 decimals."""
    if not text:
        return None
    if _QUANTITY.fullmatch(text) is None:
        raise ValueProblem(f"bad quantity {text!r}")
    return Decimal(text)


_date_cache: dict[str, date] = {}


def parse_date(text: str, what: str = "date") -> date:
    """``YYYYMMDD`` that is a real calendar date."""
    cached = _date_cache.get(text)
    if cached is not None:
        return cached
    if not text:
        raise ValueProblem(f"missing {what}")
    if _DATE.fullmatch(text) is None:
        raise ValueProblem(f"bad {what} {text!r} (expected YYYYMMDD)")
    try:
        value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ValueProblem(f"{what} {text!r} is not a calendar date") from None
    if len(_date_cache) < 100_000:
        _date_cache[text] = value
    return value


def parse_optional_date(text: str, what: str = "date") -> date | None:
    return parse_date(text, what) if text else None


def parse_period(text: str) -> str:
    """``YYYYMM`` with a real month."""
    if _PERIOD.fullmatch(text) is None or not 1 <= int(text[4:]) <= 12:
        raise ValueProblem(f"bad period {text!r} (expected YYYYMM)")
    return text


def check_account(text: str) -> str:
    """An account number: 1-6 digits."""
    if _ACCOUNT.fullmatch(text) is None:
        if not text:
            raise ValueProblem("missing account number")
        if text.isdigit():
            raise ValueProblem(
                f"account number {text!r} has {len(text)} digits "
                f"(at most {MAX_ACCOUNT_DIGITS} allowed)"
            )
        raise ValueProblem(f"bad account number {text!r} (digits only)")
    return text


def parse_year_index(text: str) -> int:
    """0 for the current year, -1 the previous one, ..."""
    if _YEAR_INDEX.fullmatch(text) is None or int(text) > 0:
        raise ValueProblem(f"bad year index {text!r} (expected 0, -1, -2, ...)")
    return int(text)


_NOT_WRITABLE = re.compile(r"[\x00-\x1f\x7f]")


def comparable(value: Any, *, as_written: bool = False) -> Any:
    """A copy of a document (or any record) without line numbers, encoding,
    checksum status and warnings: two readings of the same books compare equal.

    Used by the writer round-trip tests: ``comparable(read(write(doc))) ==
    comparable(doc, as_written=True)``. ``as_written`` maps text the way the
    writer must (characters outside CP437 -> ``?``, control characters -> space).
    """
    if type(value) is str:  # not the StrEnum kinds
        if as_written:
            if not value.isascii():
                value = value.encode("cp437", errors="replace").decode("cp437")
            value = _NOT_WRITABLE.sub(" ", value)
        return value
    if isinstance(value, tuple):
        return tuple(comparable(v, as_written=as_written) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if f.name == "line":
                changes["line"] = 0
            elif f.name in ("encoding", "ksumma", "warnings") and hasattr(value, "vouchers"):
                changes[f.name] = f.default if f.default is not dataclasses.MISSING else ()
            else:
                new = comparable(current, as_written=as_written)
                if new is not current:
                    changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
