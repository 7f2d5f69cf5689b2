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
import pyarrow.compute as pc

from include.sie4.columns import QUANTITY_TYPE

# Line classes.
BLANK, HEADER, VER, OPEN, ROW, CLOSE = range(6)
# Row kinds, in the order of KIND_NAMES.
KIND_NAMES = ("TRANS", "RTRANS", "BTRANS")

_SP, _TAB, _CR, _LF = 32, 9, 13, 10
_QUOTE, _BACKSLASH, _LBRACE, _RBRACE = 34, 92, 123, 125
_DOT, _MINUS, _ZERO_DIGIT = 46, 45, 48
_PAD = 32  # zero bytes after the chunk so fixed-width lookups stay in bounds
_AMOUNT_INT_DIGITS = 16  # decimal128(18, 2)
_QUANTITY_OK = r"^-?\d{1,20}(?:\.\d{1,8})?$"


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
    ver_date: np.ndarray  # int32 days since 1970
    ver_text: pa.Array
    ver_registered: np.ndarray  # int32 days
    ver_registered_ok: np.ndarray  # bool: present
    ver_signature: pa.Array
    row_line: np.ndarray  # int32
    row_kind: np.ndarray  # int8 index into KIND_NAMES
    row_account: pa.Array
    row_account_key: np.ndarray  # int64: value * 8 + digit count (equal iff text equal)
    row_ore: np.ndarray  # int64 amount in öre
    row_decimals: np.ndarray  # int8 decimals as written (for the balance message)
    row_date: np.ndarray  # int32 days
    row_date_ok: np.ndarray  # bool: present
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
    low = np.flatnonzero(buf[:n] < 32)
    low_bytes = buf[low]
    if not np.all((low_bytes == _LF) | (low_bytes == _TAB) | (low_bytes == _CR)):
        raise Fallback
    cr = low[low_bytes == _CR]
    if len(cr) and not np.all(buf[cr + 1] == _LF):
        raise Fallback  # a CR inside a line
    newlines = low[low_bytes == _LF]
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

    header = [
        (first_line + int(i), raw[starts[i] : ends[i]]) for i in np.flatnonzero(classes == HEADER)
    ]
    is_ver = classes == VER
    is_row = classes == ROW
    active_lines = np.flatnonzero(is_ver | is_row)
    fields = _tokenise(buf, n, first[active_lines], last[active_lines])
    counts, fs, fe = fields
    ver_sel = is_ver[active_lines]
    row_sel = ~ver_sel
    if np.any(counts[ver_sel] < 4) or np.any(counts[ver_sel] > 7):
        raise Fallback
    if np.any(counts[row_sel] < 4) or np.any(counts[row_sel] > 8):
        raise Fallback
    present = np.arange(8)[None, :] < counts[:, None]
    is_brace = present & (buf[fs] == _LBRACE)
    if np.any(is_brace[ver_sel]):
        raise Fallback
    row_brace = is_brace[row_sel]
    if not np.all(row_brace[:, 2]) or np.any(row_brace[:, [0, 1, 3, 4, 5, 6, 7]]):
        raise Fallback  # no object list (the reader warns) or a list elsewhere
    # Field values: quotes removed.
    quoted = present & (buf[fs] == _QUOTE)
    vs = fs + quoted
    ve = fe - quoted
    digits = np.zeros(n + _PAD + 1, dtype=np.int32)
    np.cumsum((buf >= _ZERO_DIGIT) & (buf <= _ZERO_DIGIT + 9), out=digits[1:])

    def col(sel: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return vs[sel, j], ve[sel, j], present[sel, j]

    # -- #VER lines --------------------------------------------------------
    ver_line = (active_lines[ver_sel] + first_line).astype(np.int32)
    s, e, p = col(ver_sel, 3)
    ver_date, date_ok = _dates(buf, digits, s, e)
    if not np.all(date_ok):
        raise Fallback
    s, e, p = col(ver_sel, 5)
    reg_ok = p & (e > s)
    ver_registered, ok = _dates(buf, digits, s, e)
    if not np.all(ok | ~reg_ok):
        raise Fallback

    # -- rows --------------------------------------------------------------
    row_line = (active_lines[row_sel] + first_line).astype(np.int32)
    row_kind = kinds[active_lines[row_sel]]
    s, e, _ = col(row_sel, 1)
    length = e - s
    if not np.all((length >= 1) & (length <= 6) & (digits[e] - digits[s] == length)):
        raise Fallback
    account_key = _integer(buf, s, e) * 8 + length
    row_ore, row_decimals = _amounts(buf, digits, *col(row_sel, 3)[:2])
    s, e, p = col(row_sel, 4)
    date_ok = p & (e > s)
    row_date, ok = _dates(buf, digits, s, e)
    if not np.all(ok | ~date_ok):
        raise Fallback
    s, e, p = col(row_sel, 6)
    quantity = _quantities(buf, s, e, p & (e > s))

    # -- object lists ------------------------------------------------------
    obj_row, obj_pos, obj_dim, obj_id = _objects(buf, fs[row_sel, 2], fe[row_sel, 2], cp437)

    def text(sel: np.ndarray, j: int) -> pa.Array:
        s, e, _ = col(sel, j)
        return _strings(buf, s, e, cp437)

    return Chunk(
        classes=classes,
        header=header,
        ver_line=ver_line,
        ver_series=text(ver_sel, 1),
        ver_number=text(ver_sel, 2),
        ver_date=ver_date,
        ver_text=text(ver_sel, 4),
        ver_registered=ver_registered,
        ver_registered_ok=reg_ok,
        ver_signature=text(ver_sel, 6),
        row_line=row_line,
        row_kind=row_kind,
        row_account=text(row_sel, 1),
        row_account_key=account_key,
        row_ore=row_ore,
        row_decimals=row_decimals,
        row_date=row_date,
        row_date_ok=date_ok,
        row_text=text(row_sel, 5),
        row_quantity=quantity,
        row_signature=text(row_sel, 7),
        object_row=obj_row,
        object_position=obj_pos,
        object_dimension=obj_dim,
        object_id=obj_id,
    )


def _tokenise(
    buf: np.ndarray, n: int, first: np.ndarray, last: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fields of the lines ``[first, last]``: (count per line, starts, ends) as (lines, 8).

    A field is a quoted string, an object list ``{...}`` or a bare word. Raises
    Fallback for what the subset does not cover: a quote or brace inside a
    bare word, an escaped quote outside a string, a quote left open, nested or
    unclosed braces, more than eight fields.
    """
    size = len(buf)
    edge = np.zeros(size + 1, dtype=np.int8)
    edge[first] = 1
    edge[last + 1] -= 1
    active = np.cumsum(edge[:size], dtype=np.int8).view(bool)
    del edge
    prev = np.empty_like(buf)
    prev[0] = 0
    prev[1:] = buf[:-1]
    quote = (buf == _QUOTE) & active
    escaped = quote & (prev == _BACKSLASH)
    real = quote & ~escaped
    parity = np.cumsum(real, dtype=np.uint8) & 1
    if len(last) and np.any(parity[last]):
        raise Fallback  # a line with a quote left open
    opening = np.flatnonzero(real & (parity == 1))
    closing = np.flatnonzero(real & (parity == 0))
    if np.any(parity[np.flatnonzero(escaped)] == 0):
        raise Fallback  # \" outside a string
    in_string = (parity == 1) | real
    del parity, real, quote, escaped
    prv = prev[opening]
    if not np.all((prv == _SP) | (prv == _TAB) | (prv == _LBRACE)):
        raise Fallback
    if not np.all(_FIELD_END[buf[closing + 1]]):
        raise Fallback
    free = active & ~in_string
    lb = np.flatnonzero((buf == _LBRACE) & free)
    rb = np.flatnonzero((buf == _RBRACE) & free)
    if len(lb) != len(rb) or np.any(rb < lb) or np.any(lb[1:] < rb[:-1]):
        raise Fallback  # nested, unopened or unclosed braces
    if len(lb):
        line_of_lb = np.searchsorted(first, lb, side="right")
        line_of_rb = np.searchsorted(first, rb, side="right")
        if np.any(line_of_lb != line_of_rb):
            raise Fallback
        prv = prev[lb]
        if not np.all((prv == _SP) | (prv == _TAB)) or not np.all(_FIELD_END[buf[rb + 1]]):
            raise Fallback
    edge = np.zeros(size + 1, dtype=np.int8)
    edge[lb] = 1
    edge[rb + 1] -= 1
    in_braces = np.cumsum(edge[:size], dtype=np.int8).view(bool)
    del edge
    blank = (buf == _SP) | (buf == _TAB)
    part = active & ~(blank & ~in_string & ~in_braces)
    del blank, in_braces, in_string, active, prev
    before = np.empty_like(part)
    before[0] = False
    before[1:] = part[:-1]
    starts = np.flatnonzero(part & ~before)
    after = np.empty_like(part)
    after[-1] = False
    after[:-1] = part[1:]
    ends = np.flatnonzero(part & ~after) + 1
    del part, before, after
    line_of = np.searchsorted(first, starts, side="right") - 1
    first_field = np.searchsorted(starts, first)
    counts = np.diff(np.append(first_field, len(starts)))
    if np.any(counts > 8):
        raise Fallback
    fs = np.full((len(first), 8), n, dtype=np.int64)  # absent: an empty value at the end
    fe = np.full((len(first), 8), n, dtype=np.int64)
    j = np.arange(len(starts)) - first_field[line_of]
    fs[line_of, j] = starts
    fe[line_of, j] = ends
    return counts, fs, fe


def _integer(buf: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The digits [s, e) as int64 (already checked to be digits, at most 18)."""
    value = np.zeros(len(s), dtype=np.int64)
    width = int((e - s).max()) if len(s) else 0
    for k in range(width):
        take = s + k < e
        digit = buf[s + k].astype(np.int64) - _ZERO_DIGIT
        value = np.where(take, value * 10 + digit, value)
    return value


def _amounts(
    buf: np.ndarray, digits: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``-?\\d+(\\.\\d{1,2})?`` with at most 16 integer digits -> (öre, decimals written)."""
    negative = buf[s] == _MINUS
    s = s + negative
    length = e - s
    count = digits[e] - digits[s]
    one = (length >= 3) & (buf[e - 2] == _DOT)
    two = (length >= 4) & (buf[e - 3] == _DOT)
    plain = (length >= 1) & (count == length)
    dotted = (count == length - 1) & (one | two)
    if not np.all(plain | dotted):
        raise Fallback
    decimals = np.where(plain, 0, np.where(one, 1, 2)).astype(np.int8)
    if np.any(length - decimals - (decimals > 0) > _AMOUNT_INT_DIGITS):
        raise Fallback
    value = np.zeros(len(s), dtype=np.int64)
    width = int(length.max()) if len(s) else 0
    for k in range(width):
        byte = buf[s + k]
        take = (s + k < e) & (byte != _DOT)
        value = np.where(take, value * 10 + (byte.astype(np.int64) - _ZERO_DIGIT), value)
    ore = value * (10 ** (2 - decimals.astype(np.int64)))
    return np.where(negative, -ore, ore), decimals


def _dates(
    buf: np.ndarray, digits: np.ndarray, s: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``YYYYMMDD`` calendar dates -> (days since 1970 as int32, ok)."""
    ok = (e - s == 8) & (digits[e] - digits[s] == 8)
    d = buf[s[:, None] + np.arange(8)].astype(np.int64) - _ZERO_DIGIT
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0)
    month_start = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    next_start = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    ok &= day <= next_start - month_start
    days = np.where(ok, month_start + day - 1, 0).astype(np.int32)
    return days, ok


def _quantities(buf: np.ndarray, s: np.ndarray, e: np.ndarray, given: np.ndarray) -> pa.Array:
    texts = _strings(buf, np.where(given, s, 0), np.where(given, e, 0), False)
    values = pc.if_else(pa.array(given), texts, pa.scalar(None, pa.string()))
    given_values = values.drop_null()
    if (
        len(given_values)
        and not pc.all(pc.match_substring_regex(given_values, _QUANTITY_OK)).as_py()
    ):
        raise Fallback
    try:
        return pc.cast(values, QUANTITY_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise Fallback from None


def _objects(
    buf: np.ndarray, lb: np.ndarray, rb_end: np.ndarray, cp437: bool
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """Items of the object lists ``[lb, rb_end)`` (``{`` ... ``}``) as pairs."""
    nonempty = np.flatnonzero(rb_end - lb > 2)
    empty = (
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int16),
        pa.array([], pa.string()),
        pa.array([], pa.string()),
    )
    if not len(nonempty):
        return empty
    lb = lb[nonempty]
    rb = rb_end[nonempty] - 1
    size = len(buf)
    edge = np.zeros(size + 1, dtype=np.int8)
    edge[lb + 1] = 1
    edge[rb] -= 1
    inside = np.cumsum(edge[:size], dtype=np.int8).view(bool)
    del edge
    quote = (buf == _QUOTE) & inside
    prev_backslash = np.zeros(size, dtype=bool)
    prev_backslash[1:] = buf[:-1] == _BACKSLASH
    real = quote & ~prev_backslash
    in_string = ((np.cumsum(real, dtype=np.uint8) & 1) == 1) | real
    blank = (buf == _SP) | (buf == _TAB)
    part = inside & ~(blank & ~in_string)
    del quote, real, in_string, blank, inside, prev_backslash
    before = np.zeros(size, dtype=bool)
    before[1:] = part[:-1]
    after = np.zeros(size, dtype=bool)
    after[:-1] = part[1:]
    starts = np.flatnonzero(part & ~before)
    ends = np.flatnonzero(part & ~after) + 1
    del part, before, after
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
    array = pa.StringArray.from_buffers(
        len(s), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
    )
    if total and np.any((data[1:] == _QUOTE) & (data[:-1] == _BACKSLASH)):
        array = pc.replace_substring(array, '\\"', '"')
    return array
