"""Byte-level tokenising of one chunk of a SIE file's lines with numpy (for ``bulk``).

A chunk is whole lines of the raw file (CP437 or UTF-8: every byte this module
looks at is ASCII, and multi-byte UTF-8 sequences hold no ASCII bytes). Each
line is classified; ``#VER`` and row lines are split into fields the way the
lexer (include.sie4.lexer) splits them, for a subset of the grammar whose
reading is unambiguous. Anything outside that subset, or any value the record
reader would report on, raises ``Fallback``: the caller then uses the record path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from include.sie4.columns import AMOUNT_TYPE, QUANTITY_TYPE

# Line classes.
BLANK, HEADER, VER, OPEN, ROW, CLOSE = range(6)
# Row kinds, in the order of KIND_NAMES.
KIND_NAMES = ("TRANS", "RTRANS", "BTRANS")

_SP, _TAB, _CR, _LF = 32, 9, 13, 10
_QUOTE, _BACKSLASH, _LBRACE, _RBRACE = 34, 92, 123, 125
_DOT, _MINUS, _ZERO_DIGIT = 46, 45, 48
_PAD = 32  # zero bytes after the chunk so fixed-width lookups stay in bounds
_AMOUNT_INT_DIGITS = 16  # decimal128(18, 2)
_QUANTITY_INT_DIGITS = 10  # with 8 decimals: fits int64 (bigger ones: the record path)


class Fallback(Exception):
    """The fast path cannot vouch for an exact reading: use the record path."""


def _word(text: bytes) -> tuple[np.uint64, np.uint64]:
    """(mask, value) to compare the first len(text) bytes of an 8-byte little-endian word."""
    mask = (1 << (8 * len(text))) - 1
    return np.uint64(mask), np.uint64(int.from_bytes(text, "little"))


# Labels of the voucher lines and the row kind each one means (None: #VER).
_LABELS = ((b"#VER", None), (b"#TRANS", 0), (b"#RTRANS", 1), (b"#BTRANS", 2))
# Bytes that may end a label: separator, brace, line end or the padding.
_LABEL_END = np.zeros(256, dtype=bool)
_LABEL_END[[_SP, _TAB, _LBRACE, _RBRACE, _CR, _LF, 0]] = True
_FIELD_END = np.zeros(256, dtype=bool)  # what may follow a closing quote or brace
_FIELD_END[[_SP, _TAB, _RBRACE, _CR, _LF, 0]] = True
_BLANK_BYTE = np.zeros(256, dtype=bool)
_BLANK_BYTE[[_SP, _TAB, _CR]] = True

# UTF-8 length of each CP437 byte's character.
_CP437_UTF8_LEN = np.array(
    [len(bytes([b]).decode("cp437").encode("utf-8")) for b in range(256)], dtype=np.int32
)


@dataclass(slots=True)
class Chunk:
    """What one chunk holds; line numbers are 1-based file lines, row indexes chunk-local."""

    classes: np.ndarray  # int8 per line
    header: list[tuple[int, bytes]]  # (line, raw text) of header lines
    ver_line: np.ndarray  # int32
    ver_series: pa.Array
    ver_number: pa.Array
    ver_date: pa.Array  # date32
    ver_text: pa.Array
    ver_registered: pa.Array  # date32 with nulls
    ver_signature: pa.Array
    row_line: np.ndarray  # int32
    row_kind: np.ndarray  # int8 index into KIND_NAMES
    row_kind_name: pa.Array
    row_account: pa.Array
    row_account_key: np.ndarray  # int32: value * 8 + digit count (equal iff text equal)
    first_use_key: np.ndarray  # each account key used in the chunk, once
    first_use_line: np.ndarray  # the line of its first row
    row_amount: pa.Array  # decimal128(18, 2)
    row_ore: np.ndarray  # int64 amount in öre (a view of row_amount's buffer)
    row_decimals: np.ndarray  # int8 decimals as written (for the balance message)
    row_date: pa.Array  # date32 with nulls
    row_text: pa.Array
    row_quantity: pa.Array  # decimal128(28, 8) with nulls
    row_signature: pa.Array
    object_row: np.ndarray  # int64 chunk-local row index
    object_position: np.ndarray  # int16
    object_dimension: pa.Array
    object_id: pa.Array


def scan_chunk(raw: bytes, first_line: int, cp437: bool) -> Chunk:
    """Classify and tokenise ``raw`` (whole lines; ``first_line`` is the first one's number).

    ``cp437``: the text fields are transcoded to UTF-8 (else the bytes are UTF-8).
    """
    n = len(raw)
    if b"\x7f" in raw:
        raise Fallback  # a control character: the reader warns
    buf = np.zeros(n + _PAD, dtype=np.uint8)
    buf[:n] = np.frombuffer(raw, dtype=np.uint8)
    # The few bytes that matter, found in one pass: controls, quotes and braces.
    body = buf[:n]
    special = np.flatnonzero((body < 32) | (body == _QUOTE) | (body == _LBRACE) | (body == _RBRACE))
    special_bytes = buf[special]
    is_low = special_bytes < 32
    low = special[is_low]
    low_bytes = special_bytes[is_low]
    if not np.all((low_bytes == _LF) | (low_bytes == _TAB) | (low_bytes == _CR)):
        raise Fallback
    cr = low[low_bytes == _CR]
    if len(cr) and not np.all(buf[cr + 1] == _LF):
        raise Fallback  # a CR inside a line
    newlines = low[low_bytes == _LF]
    del low, low_bytes, cr
    starts = np.empty(len(newlines) + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines + 1
    ends = np.append(newlines, n).astype(np.int64)

    # First and last non-blank byte of each line (blank lines: last < first).
    first = starts.copy()
    todo = np.flatnonzero((first < ends) & _BLANK_BYTE[buf[first]])
    while len(todo):
        first[todo] += 1
        todo = todo[(first[todo] < ends[todo]) & _BLANK_BYTE[buf[first[todo]]]]
    last = ends - 1
    todo = np.flatnonzero((last >= first) & _BLANK_BYTE[buf[np.maximum(last, 0)]])
    while len(todo):
        last[todo] -= 1
        todo = todo[(last[todo] >= first[todo]) & _BLANK_BYTE[buf[np.maximum(last[todo], 0)]]]

    classes = np.full(len(starts), HEADER, dtype=np.int8)
    kinds = np.zeros(len(starts), dtype=np.int8)
    blank = last < first
    classes[blank] = BLANK
    single = last == first
    head = buf[first]
    classes[single & (head == _LBRACE)] = OPEN
    classes[single & (head == _RBRACE)] = CLOSE
    words = buf[first[:, None] + np.arange(8)].view("<u8").ravel()
    for label, kind in _LABELS:
        mask, value = _word(label)
        hit = ((words & mask) == value) & _LABEL_END[buf[first + len(label)]] & ~blank
        if kind is None:
            classes[hit] = VER
        else:
            classes[hit] = ROW
            kinds[hit] = kind
    del words, head, single, blank

    header = [
        (first_line + int(i), raw[starts[i] : ends[i]]) for i in np.flatnonzero(classes == HEADER)
    ]
    ver_lines = np.flatnonzero(classes == VER)
    row_lines = np.flatnonzero(classes == ROW)
    active_lines = np.flatnonzero((classes == VER) | (classes == ROW))
    tokens = _tokenise(
        buf,
        n,
        first[active_lines],
        last[active_lines],
        special[special_bytes == _QUOTE],
        special[special_bytes == _LBRACE],
        special[special_bytes == _RBRACE],
    )
    del special, special_bytes
    is_ver = classes[active_lines] == VER
    counts = tokens.counts
    if np.any(counts[is_ver] < 4) or np.any(counts[is_ver] > 7):
        raise Fallback
    if np.any(counts[~is_ver] < 4):
        raise Fallback
    ver_at = np.flatnonzero(is_ver)
    row_at = np.flatnonzero(~is_ver)
    if tokens.braces != len(row_lines):
        raise Fallback  # object lists must be exactly one per row, in its third field
    obj_s, obj_e = tokens.column(row_at, 2)
    if not (np.all(buf[obj_s] == _LBRACE) and np.all(buf[obj_e - 1] == _RBRACE)):
        raise Fallback  # no object list (the reader warns), or one elsewhere

    def unquoted(s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        quoted = buf[s] == _QUOTE
        return s + quoted, e - quoted

    def text(at: np.ndarray, k: int) -> pa.Array:
        return _strings(buf, *unquoted(*tokens.column(at, k)), cp437)

    def ver(k: int) -> tuple[np.ndarray, np.ndarray]:
        return unquoted(*tokens.column(ver_at, k))

    def row(k: int) -> tuple[np.ndarray, np.ndarray]:
        return unquoted(*tokens.column(row_at, k))

    # -- #VER lines --------------------------------------------------------
    ver_date, date_ok = _dates(buf, *ver(3))
    if not np.all(date_ok):
        raise Fallback
    ver_registered, reg_ok = _optional_dates(buf, *ver(5))

    # -- rows --------------------------------------------------------------
    account = row(1)
    account_key = _account_keys(buf, *account)
    first_use_key, first_use_at = np.unique(account_key, return_index=True)
    row_ore, row_decimals = _amounts(buf, *row(3))
    # Öre as the low word of a little-endian int128 (sign-extended): exact decimals.
    amount_words = np.empty((len(row_ore), 2), dtype=np.int64)
    amount_words[:, 0] = row_ore
    amount_words[:, 1] = row_ore >> 63
    del row_ore
    amount_array = pa.Array.from_buffers(
        AMOUNT_TYPE, len(amount_words), [None, pa.py_buffer(amount_words)]
    )
    row_date, row_date_ok = _optional_dates(buf, *row(4))
    quantity = _quantities(buf, *row(6))
    obj_row, obj_pos, obj_dim, obj_id = _objects(
        buf, obj_s, obj_e, tokens.in_string, tokens.blank, cp437
    )

    return Chunk(
        classes=classes,
        header=header,
        ver_line=(ver_lines + first_line).astype(np.int32),
        ver_series=text(ver_at, 1),
        ver_number=text(ver_at, 2),
        ver_date=date_array(ver_date, None),
        ver_text=text(ver_at, 4),
        ver_registered=date_array(ver_registered, reg_ok),
        ver_signature=text(ver_at, 6),
        row_line=(row_lines + first_line).astype(np.int32),
        row_kind=kinds[row_lines],
        row_kind_name=kind_names(kinds[row_lines]),
        row_account=_strings(buf, *account, False),
        row_account_key=account_key,
        first_use_key=first_use_key,
        first_use_line=(row_lines[first_use_at] + first_line).astype(np.int32),
        row_amount=amount_array,
        row_ore=amount_words[:, 0],
        row_decimals=row_decimals,
        row_date=date_array(row_date, row_date_ok),
        row_text=text(row_at, 5),
        row_quantity=quantity,
        row_signature=text(row_at, 7),
        object_row=obj_row,
        object_position=obj_pos,
        object_dimension=obj_dim,
        object_id=obj_id,
    )


# Arrow arrays over numpy buffers. Not pa.array(): that imports pandas (seconds).
def numbers(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values)
    type_ = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)])


def flags(values: np.ndarray) -> pa.Array:
    bits = pa.py_buffer(np.packbits(values, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, bits])


def date_array(days: np.ndarray, given: np.ndarray | None) -> pa.Array:
    """Days since 1970 as date32; null where not ``given``."""
    days = np.ascontiguousarray(days, dtype=np.int32)
    if given is None:
        return pa.Array.from_buffers(pa.date32(), len(days), [None, pa.py_buffer(days)])
    validity = pa.py_buffer(np.packbits(given, bitorder="little"))
    nulls = len(days) - int(np.count_nonzero(given))
    return pa.Array.from_buffers(
        pa.date32(), len(days), [validity, pa.py_buffer(days)], null_count=nulls
    )


def kind_names(kinds: np.ndarray) -> pa.Array:
    """Row kinds (indexes into KIND_NAMES) as their names, without Python strings per row."""
    names = [name.encode() for name in KIND_NAMES]
    lengths = np.array([len(name) for name in names], dtype=np.int32)[kinds]
    offsets = np.zeros(len(kinds) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    text = np.frombuffer(b"".join(names), dtype=np.uint8)
    starts = np.cumsum([0] + [len(name) for name in names])[kinds]
    data = text[np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]))]
    return pa.StringArray.from_buffers(len(kinds), pa.py_buffer(offsets), pa.py_buffer(data))


def _spans(size: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A bool mask of ``size`` that is True on the sorted, disjoint ranges [starts, ends)."""
    bounds = np.empty(2 * len(starts) + 2, dtype=np.int64)
    bounds[0] = 0
    bounds[1:-1:2] = starts
    bounds[2:-1:2] = ends
    bounds[-1] = size
    values = np.zeros(len(bounds) - 1, dtype=bool)
    values[1::2] = True
    return np.repeat(values, np.diff(bounds))


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of True in ``mask`` (whose last element is False)."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    if mask[0]:
        edges = np.concatenate([[0], edges])
    return edges[0::2], edges[1::2]


@dataclass(slots=True)
class _Tokens:
    counts: np.ndarray  # fields per line
    first_field: np.ndarray  # index of each line's first field
    starts: np.ndarray  # fields in file order
    ends: np.ndarray
    size: int  # the chunk's length: an absent field is empty, there
    braces: int  # object lists found
    in_string: np.ndarray  # byte mask: inside a quoted string, quotes included
    blank: np.ndarray  # byte mask: space or tab

    def column(self, lines: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Field ``k`` of the given lines (indexes into the tokenised lines): (starts, ends)."""
        given = self.counts[lines] > k
        at = self.first_field[lines] + k
        at[~given] = 0
        if not len(self.starts):
            return at, at
        return (
            np.where(given, self.starts[at], self.size),
            np.where(given, self.ends[at], self.size),
        )


def _tokenise(
    buf: np.ndarray,
    n: int,
    first: np.ndarray,
    last: np.ndarray,
    quotes: np.ndarray,
    lb: np.ndarray,
    rb: np.ndarray,
) -> _Tokens:
    """Fields of the lines ``[first, last]`` (sorted): quoted strings, ``{...}``, bare words.

    ``quotes``, ``lb`` and ``rb`` are the positions of every ``"``, ``{`` and ``}``.

    Raises Fallback for what the subset does not cover: a quote or brace inside a
    bare word, an escaped quote outside a string, a quote left open, nested or
    unclosed braces, more than eight fields.
    """
    size = len(buf)
    active = _spans(size, first, last + 1)
    # Quotes: sparse, so handled as positions. \" is an escaped quote (the lexer's rule).
    quotes = quotes[active[quotes]]
    escaped = buf[quotes - 1] == _BACKSLASH
    real = quotes[~escaped]
    line_of = np.searchsorted(first, real, side="right") - 1
    if np.any(np.bincount(line_of, minlength=len(first)) % 2):
        raise Fallback  # a quote left open
    opening, closing = real[0::2], real[1::2]
    inside = quotes[escaped]
    pair = np.searchsorted(opening, inside, side="right") - 1
    if np.any(pair < 0) or np.any(inside > closing[np.maximum(pair, 0)]):
        raise Fallback  # \" outside a string
    before = buf[opening - 1]
    if not np.all((before == _SP) | (before == _TAB) | (before == _LBRACE)):
        raise Fallback  # a quote inside a bare word
    if not np.all(_FIELD_END[buf[closing + 1]]):
        raise Fallback
    in_string = _spans(size, opening, closing + 1)
    # Braces outside strings: they must alternate { } { } and stand apart.
    lb = lb[active[lb] & ~in_string[lb]]
    rb = rb[active[rb] & ~in_string[rb]]
    if len(lb) != len(rb) or np.any(rb < lb) or np.any(lb[1:] < rb[:-1]):
        raise Fallback
    before = buf[lb - 1]
    if not np.all((before == _SP) | (before == _TAB)) or not np.all(_FIELD_END[buf[rb + 1]]):
        raise Fallback
    blank = (buf == _SP) | (buf == _TAB)
    # Field bytes: active and not a separator (a blank outside strings and braces).
    separator = blank & ~in_string
    separator &= ~_spans(size, lb, rb + 1)
    part = active & ~separator
    del separator, active
    starts, ends = _runs(part)
    del part
    first_field = np.searchsorted(starts, first)
    counts = np.diff(np.append(first_field, len(starts)))
    if np.any(counts > 8):
        raise Fallback
    return _Tokens(counts, first_field, starts, ends, n, len(lb), in_string, blank)


def _account_keys(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Account numbers (1-6 digits) as value * 8 + digit count: equal iff the texts are."""
    length = e - s
    ok = (length >= 1) & (length <= 6)
    value = np.zeros(len(s), dtype=np.int64)
    for k in range(6):
        take = k < length
        digit = buf[s + k] - np.uint8(_ZERO_DIGIT)
        ok &= ~take | (digit <= 9)
        value = np.where(take, value * 10 + digit, value)
    if not np.all(ok):
        raise Fallback
    return (value * 8 + length).astype(np.int32)


def _fixed_point(
    buf: np.ndarray, s: np.ndarray, e: np.ndarray, places: int, int_digits: int
) -> tuple[np.ndarray, np.ndarray]:
    """``-?\\d+(\\.\\d{1,places})?`` with at most ``int_digits`` integer digits.

    Returns (value scaled by 10**places as int64, decimals written); raises
    Fallback when a value breaks the rule (the reader reports it, or it is too big).
    """
    negative = buf[s] == _MINUS
    s = s + negative
    length = e - s
    width = int(length.max()) if len(s) else 0
    if width > int_digits + places + 1:
        raise Fallback
    value = np.zeros(len(s), dtype=np.int64)
    bad = length < 1
    dots = np.zeros(len(s), dtype=np.int8)
    dot_at = np.zeros(len(s), dtype=np.int64)
    for k in range(width):
        take = k < length
        byte = buf[s + k]
        digit = byte - np.uint8(_ZERO_DIGIT)
        is_digit = digit <= 9
        is_dot = take & (byte == _DOT)
        bad |= take & ~is_digit & ~is_dot
        dots += is_dot
        dot_at = np.where(is_dot, k, dot_at)
        value = np.where(take & is_digit, value * 10 + digit, value)
    decimals = np.where(dots == 1, length - 1 - dot_at, 0)
    bad |= (dots > 1) | ((dots == 1) & ((dot_at < 1) | (decimals < 1) | (decimals > places)))
    bad |= length - decimals - (dots == 1) > int_digits
    if np.any(bad):
        raise Fallback
    scaled = value * (10 ** (places - decimals))
    return np.where(negative, -scaled, scaled), decimals.astype(np.int8)


def _amounts(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Amounts -> (öre, decimals written); at most 16 integer digits (decimal128(18, 2))."""
    return _fixed_point(buf, s, e, 2, _AMOUNT_INT_DIGITS)


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _dates(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``YYYYMMDD`` calendar dates -> (days since 1970 as int32, ok)."""
    d = (buf[s[:, None] + np.arange(8)] - np.uint8(_ZERO_DIGIT)).astype(np.int64)
    ok = (e - s == 8) & np.all(d <= 9, axis=1)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    month = np.where(ok, month, 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= day <= _MONTH_DAYS[month] + (leap & (month == 2))
    # Days from the civil date (H. Hinnant's algorithm), exact in integers.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = np.where(ok, era * 146097 + doe - 719468, 0).astype(np.int32)
    return days, ok


def _optional_dates(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like ``_dates`` where the field is not empty: (days, given)."""
    given = e > s
    at = np.flatnonzero(given)
    days = np.zeros(len(s), dtype=np.int32)
    if len(at):
        days[at], ok = _dates(buf, s[at], e[at])
        if not np.all(ok):
            raise Fallback
    return days, given


def _quantities(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> pa.Array:
    """Optional quantities as decimal128(28, 8): the value * 10**8 sign-extended to 128 bits."""
    given = e > s
    at = np.flatnonzero(given)
    words = np.zeros((len(s), 2), dtype=np.int64)
    if len(at):
        scaled, _ = _fixed_point(buf, s[at], e[at], 8, _QUANTITY_INT_DIGITS)
        words[at, 0] = scaled
        words[at, 1] = scaled >> 63
    validity = pa.py_buffer(np.packbits(given, bitorder="little"))
    return pa.Array.from_buffers(
        QUANTITY_TYPE, len(s), [validity, pa.py_buffer(words)], null_count=len(s) - len(at)
    )


def _objects(
    buf: np.ndarray,
    lb: np.ndarray,
    rb_end: np.ndarray,
    in_string: np.ndarray,
    blank: np.ndarray,
    cp437: bool,
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """Items of the object lists ``[lb, rb_end)`` (``{`` ... ``}``) as pairs."""
    nonempty = np.flatnonzero(rb_end - lb > 2)
    if not len(nonempty):
        return (
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int16),
            pa.nulls(0, pa.string()),
            pa.nulls(0, pa.string()),
        )
    lb = lb[nonempty]
    part = _spans(len(buf), lb + 1, rb_end[nonempty] - 1)
    part &= ~(blank & ~in_string)
    starts, ends = _runs(part)
    del part
    owner = np.searchsorted(lb, starts, side="right") - 1
    first_item = np.searchsorted(starts, lb)
    counts = np.diff(np.append(first_item, len(starts)))
    if np.any(counts % 2):
        raise Fallback  # an odd object list: the reader reports it
    index = np.arange(len(starts)) - first_item[owner]
    quoted = buf[starts] == _QUOTE
    vs = starts + quoted
    ve = ends - quoted
    dims = index % 2 == 0
    return (
        nonempty[owner[dims]].astype(np.int64),
        (index[dims] // 2).astype(np.int16),
        _strings(buf, vs[dims], ve[dims], cp437),
        _strings(buf, vs[~dims], ve[~dims], cp437),
    )


def _strings(buf: np.ndarray, s: np.ndarray, e: np.ndarray, cp437: bool) -> pa.Array:
    """The byte ranges [s, e) as a string array; ``\\"`` read as ``"`` (the lexer's rule)."""
    lengths = e - s
    offsets = np.zeros(len(s) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total:
        index = np.repeat(s - offsets[:-1], lengths) + np.arange(total)
        data = buf[index]
    else:
        data = np.zeros(0, dtype=np.uint8)
    if cp437 and np.any(data >= 0x80):
        widths = np.zeros(total + 1, dtype=np.int64)
        np.cumsum(_CP437_UTF8_LEN[data], out=widths[1:])
        offsets = widths[offsets]
        data = np.frombuffer(data.tobytes().decode("cp437").encode("utf-8"), dtype=np.uint8)
    if offsets[-1] >= 2**31:
        raise Fallback
    if total:
        # \" -> ": drop the backslashes (a value never starts with a bare quote, so
        # a pair never straddles two values).
        escapes = np.flatnonzero((data[1:] == _QUOTE) & (data[:-1] == _BACKSLASH))
        if len(escapes):
            keep = np.ones(len(data), dtype=bool)
            keep[escapes] = False
            data = data[keep]
            offsets = offsets - np.searchsorted(escapes, offsets)
    return pa.StringArray.from_buffers(
        len(s), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
    )
