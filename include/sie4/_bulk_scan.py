"""Tokenising one chunk of a SIE file's lines with compiled numba kernels (for ``bulk``).

A chunk is whole lines of the raw file (CP437 or UTF-8: every byte this module
looks at is ASCII, and multi-byte UTF-8 sequences hold no ASCII bytes). Each
line is classified; ``#VER`` and row lines are split into fields the way the
lexer (include.sie4.lexer) splits them, for a subset of the grammar whose
reading is unambiguous. Anything outside that subset, or any value the record
reader would report on, raises ``Fallback``: the caller then uses the record path.

The kernels walk the bytes once per task (split and classify lines, tokenise,
convert a column), where numpy needed ~25 passes, and release the GIL. They are
compiled on first use and cached in ``__pycache__`` (``cache=True``): compiling
is a one-time cost per install, loading from the cache one per process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numba import njit

from include.sie4.columns import AMOUNT_TYPE, QUANTITY_TYPE
from include.sie4.fastpath import Fallback

# Line classes.
BLANK, HEADER, VER, OPEN, ROW, CLOSE = range(6)
# Row kinds, in the order of KIND_NAMES.
KIND_NAMES = ("TRANS", "RTRANS", "BTRANS")

_SP, _TAB, _CR, _LF = 32, 9, 13, 10
_QUOTE, _BACKSLASH, _LBRACE, _RBRACE = 34, 92, 123, 125
_DOT, _MINUS, _ZERO_DIGIT, _NINE_DIGIT, _HASH = 46, 45, 48, 57, 35
_PAD = 32  # zero bytes after the chunk so lookups past a line's end stay in bounds
_AMOUNT_INT_DIGITS = 16  # decimal128(18, 2)
_QUANTITY_INT_DIGITS = 10  # with 8 decimals: fits int64 (bigger ones: the record path)
_FIELDS = 8  # label + at most 7 fields on the fast path (the record reader warns on more)
_NO_DAY = -(2**31)
_ACCOUNT_KEYS = 999_999 * 8 + 7  # account keys are below this (see _account_keys)

# UTF-8 bytes of each CP437 byte's character (up to 3) and their count.
_CP437_UTF8 = np.zeros((256, 3), dtype=np.uint8)
_CP437_UTF8_LEN = np.zeros(256, dtype=np.int64)
for _byte in range(256):
    _utf8 = bytes([_byte]).decode("cp437").encode("utf-8")
    _CP437_UTF8[_byte, : len(_utf8)] = np.frombuffer(_utf8, dtype=np.uint8)
    _CP437_UTF8_LEN[_byte] = len(_utf8)
del _byte, _utf8
# What a byte means to the tokeniser: 0 part of a word, 1 separator, 2 quote or brace.
_BYTE_ROLE = np.zeros(256, dtype=np.uint8)
_BYTE_ROLE[[_SP, _TAB]] = 1
_BYTE_ROLE[[_QUOTE, _LBRACE, _RBRACE]] = 2
_LINE_BLANK = np.zeros(256, dtype=np.bool_)  # trimmed off a line's ends
_LINE_BLANK[[_SP, _TAB, _CR]] = True
_LABEL_END = np.zeros(256, dtype=np.bool_)  # what may follow a label (0: the padding)
_LABEL_END[[_SP, _TAB, _LBRACE, _RBRACE, _CR, _LF, 0]] = True


# -- compiled kernels (status 0: fine; anything else: fall back) ----------------


@njit(cache=True, nogil=True)
def _blank(b: int) -> bool:
    return _LINE_BLANK[b]


@njit(cache=True, nogil=True)
def _label(buf: np.ndarray, at: int, word: tuple[int, ...]) -> bool:
    """``word`` (bytes after the '#') at ``at``, followed by what may end a label."""
    for k in range(len(word)):
        if buf[at + k] != word[k]:
            return False
    return _LABEL_END[buf[at + len(word)]]


@njit(cache=True, nogil=True)
def _split(
    buf: np.ndarray, n: int, n_lines: int
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines, their classes and the fields of the #VER and row lines.

    Returns (status, line starts, line ends, classes, kinds, #VER line fields,
    row fields, object items). Fields are (start, end) of the value, quotes
    dropped, ``n`` where absent; a row's field 2 is its object list, whose items
    are (row, start, end, index in the list), in order.
    """
    starts = np.empty(n_lines, np.int64)
    ends = np.empty(n_lines, np.int64)
    classes = np.full(n_lines, HEADER, np.int8)
    kinds = np.zeros(n_lines, np.int8)
    firsts = np.empty(n_lines, np.int64)
    lasts = np.empty(n_lines, np.int64)
    status = _lines(buf, n, starts, ends)
    n_ver = n_row = 0
    if status == 0:  # else the line bounds are not all set
        n_ver, n_row = _classify(buf, starts, ends, firsts, lasts, classes, kinds)
    ver_fields = np.empty((n_ver if status == 0 else 0, _FIELDS, 2), np.int32)
    row_fields = np.empty((n_row if status == 0 else 0, _FIELDS, 2), np.int32)
    n_items = 0
    if status == 0:
        status, n_items = _tokenise(buf, n, classes, firsts, lasts, ver_fields, row_fields)
    items = np.empty((n_items if status == 0 else 0, 4), np.int64)
    if status == 0:
        _items(buf, row_fields, items)
    return status, starts, ends, classes, kinds, ver_fields, row_fields, items


@njit(cache=True, nogil=True)
def _lines(buf: np.ndarray, n: int, starts: np.ndarray, ends: np.ndarray) -> int:
    """Line bounds; control characters other than tab and CR LF: the reader's business."""
    line = 0
    starts[0] = 0
    for i in range(n):
        b = buf[i]
        if b < 32 or b == 127:
            if b == _LF:
                ends[line] = i
                line += 1
                starts[line] = i + 1
            elif b == _CR:
                if buf[i + 1] != _LF:
                    return 1
            elif b != _TAB:
                return 1
    ends[line] = n
    return 0


@njit(cache=True, nogil=True)
def _classify(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    firsts: np.ndarray,
    lasts: np.ndarray,
    classes: np.ndarray,
    kinds: np.ndarray,
) -> tuple[int, int]:
    """Classes, and the non-blank extent [first, last] of each line: (#VER lines, rows)."""
    n_ver = 0
    n_row = 0
    for li in range(len(starts)):
        f = starts[li]
        e = ends[li]
        while f < e and _blank(buf[f]):
            f += 1
        last = e - 1
        while last >= f and _blank(buf[last]):
            last -= 1
        firsts[li] = f
        lasts[li] = last
        if last < f:
            classes[li] = BLANK
        elif buf[f] == _HASH:
            if _label(buf, f + 1, (86, 69, 82)):
                classes[li] = VER
                n_ver += 1
            elif _label(buf, f + 1, (84, 82, 65, 78, 83)):
                classes[li] = ROW
                n_row += 1
            elif _label(buf, f + 1, (82, 84, 82, 65, 78, 83)):
                classes[li] = ROW
                kinds[li] = 1
                n_row += 1
            elif _label(buf, f + 1, (66, 84, 82, 65, 78, 83)):
                classes[li] = ROW
                kinds[li] = 2
                n_row += 1
        elif last == f and buf[f] == _LBRACE:
            classes[li] = OPEN
        elif last == f and buf[f] == _RBRACE:
            classes[li] = CLOSE
    return n_ver, n_row


@njit(cache=True, nogil=True)
def _string_end(buf: np.ndarray, pos: int, last: int) -> int:
    """The closing quote of the string opened at ``pos``, or -1 (\\" is a quote in the text)."""
    pos += 1
    while pos <= last:
        if buf[pos] == _QUOTE and buf[pos - 1] != _BACKSLASH:
            return pos
        pos += 1
    return -1


@njit(cache=True, nogil=True)
def _tokenise(
    buf: np.ndarray,
    n: int,
    classes: np.ndarray,
    firsts: np.ndarray,
    lasts: np.ndarray,
    ver_fields: np.ndarray,
    row_fields: np.ndarray,
) -> tuple[int, int]:
    """Fields of the #VER and row lines (absent ones: ``n``): (status, object list items)."""
    n_items = 0
    vi = 0
    ri = 0
    for li in range(len(classes)):
        cls = classes[li]
        if cls != VER and cls != ROW:
            continue
        is_row = cls == ROW
        pos = firsts[li]
        last = lasts[li]
        nf = 0
        lists = 0
        while pos <= last:
            b = buf[pos]
            if _BYTE_ROLE[b] == 1:
                pos += 1
                continue
            if nf == _FIELDS:
                return 2, 0
            vs = pos
            if b == _QUOTE:
                pos = _string_end(buf, pos, last)
                if pos < 0:
                    return 3, 0
                vs += 1
                ve = pos
                pos += 1
            elif b == _LBRACE:
                # An object list: only as a row's third field; items in pairs.
                if not is_row or nf != 2:
                    return 4, 0
                lists += 1
                count = 0
                pos += 1
                while True:
                    while pos <= last and (buf[pos] == _SP or buf[pos] == _TAB):
                        pos += 1
                    if pos > last:
                        return 5, 0
                    b = buf[pos]
                    if b == _RBRACE:
                        break
                    if b == _LBRACE:
                        return 6, 0
                    if b == _QUOTE:
                        pos = _string_end(buf, pos, last)
                        if pos < 0:
                            return 3, 0
                        pos += 1
                        b = buf[pos]
                        if _BYTE_ROLE[b] != 1 and b != _RBRACE:
                            return 7, 0
                    else:
                        while pos <= last and _BYTE_ROLE[buf[pos]] == 0:
                            pos += 1
                        if pos <= last and (buf[pos] == _QUOTE or buf[pos] == _LBRACE):
                            return 8, 0
                    count += 1
                if count % 2:
                    return 9, 0
                n_items += count
                pos += 1  # past '}'
                ve = pos  # the whole list: _items reads it again
            elif b == _RBRACE:
                return 10, 0
            else:
                while pos <= last and _BYTE_ROLE[buf[pos]] == 0:
                    pos += 1
                if pos <= last and _BYTE_ROLE[buf[pos]] == 2:
                    return 11, 0
                ve = pos
            # A quoted string or a list must end the field.
            if pos <= last and buf[pos] != _SP and buf[pos] != _TAB:
                return 12, 0
            if is_row:
                row_fields[ri, nf, 0] = vs
                row_fields[ri, nf, 1] = ve
            else:
                ver_fields[vi, nf, 0] = vs
                ver_fields[vi, nf, 1] = ve
            nf += 1
        fields = row_fields[ri] if is_row else ver_fields[vi]
        for k in range(nf, _FIELDS):
            fields[k, 0] = n
            fields[k, 1] = n
        if is_row:
            if nf < 4 or lists != 1:
                return 13, 0
            ri += 1
        else:
            if nf < 4 or nf > 7:
                return 14, 0
            vi += 1
    return 0, n_items


@njit(cache=True, nogil=True)
def _items(buf: np.ndarray, row_fields: np.ndarray, items: np.ndarray) -> None:
    """The object list items (already checked by _tokenise): (row, start, end, index)."""
    at = 0
    for ri in range(len(row_fields)):
        pos = row_fields[ri, 2, 0] + 1
        last = row_fields[ri, 2, 1] - 1  # the '}'
        index = 0
        while True:
            while buf[pos] == _SP or buf[pos] == _TAB:
                pos += 1
            if pos >= last:
                break
            if buf[pos] == _QUOTE:
                end = _string_end(buf, pos, last)
                s = pos + 1
                e = end
                pos = end + 1
            else:
                s = pos
                while buf[pos] != _SP and buf[pos] != _TAB and buf[pos] != _RBRACE:
                    pos += 1
                e = pos
            items[at, 0] = ri
            items[at, 1] = s
            items[at, 2] = e
            items[at, 3] = index
            index += 1
            at += 1


@njit(cache=True, nogil=True)
def _first_uses(keys: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Index of the first row of each account key, in row order (``seen``: a zero bitmap)."""
    firsts = np.empty(len(keys), np.int64)
    count = 0
    for i in range(len(keys)):
        byte = keys[i] >> 3
        bit = np.uint8(1 << (keys[i] & 7))
        if not seen[byte] & bit:
            seen[byte] |= bit
            firsts[count] = i
            count += 1
    return firsts[:count].copy()


@njit(cache=True, nogil=True)
def row_vouchers(
    ver_line: np.ndarray, row_line: np.ndarray, kinds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(voucher index, paired RTRANS, counts in the balance) of each row, in file order."""
    n = len(row_line)
    voucher = np.empty(n, np.int32)
    paired = np.zeros(n, np.bool_)
    in_balance = np.empty(n, np.bool_)
    v = -1
    for i in range(n):
        while v + 1 < len(ver_line) and ver_line[v + 1] < row_line[i]:
            v += 1
        voucher[i] = v
    for i in range(n):
        if i + 1 < n and kinds[i] == 1 and kinds[i + 1] == 0 and voucher[i] == voucher[i + 1]:
            paired[i] = True
        in_balance[i] = kinds[i] != 2 and not paired[i]
    return voucher, paired, in_balance


@njit(cache=True, nogil=True)
def structure_ok(classes: np.ndarray) -> bool:
    """Lines (blank ones aside) are header lines and blocks ``#VER { row* }``."""
    state = 0  # 0 outside a voucher, 1 after #VER, 2 inside its braces
    for c in classes:
        if c == BLANK:
            continue
        if state == 0:
            if c == VER:
                state = 1
            elif c != HEADER:
                return False
        elif state == 1:
            if c != OPEN:
                return False
            state = 2
        elif c == CLOSE:
            state = 0
        elif c != ROW:
            return False
    return state == 0


@njit(cache=True, nogil=True)
def _account_keys(buf: np.ndarray, spans: np.ndarray) -> tuple[bool, np.ndarray]:
    """Account numbers (1-6 digits) as value * 8 + digit count: equal iff the texts are."""
    keys = np.empty(len(spans), np.int32)
    for i in range(len(spans)):
        s = spans[i, 0]
        length = spans[i, 1] - s
        if length < 1 or length > 6:
            return False, keys
        value = 0
        for k in range(length):
            b = buf[s + k]
            if b < _ZERO_DIGIT or b > _NINE_DIGIT:
                return False, keys
            value = value * 10 + (b - _ZERO_DIGIT)
        keys[i] = value * 8 + length
    return True, keys


@njit(cache=True, nogil=True)
def _fixed_point(
    buf: np.ndarray,
    spans: np.ndarray,
    places: int,
    int_digits: int,
    words: np.ndarray,
    decimals: np.ndarray,
    given: np.ndarray | None,
) -> bool:
    """``-?\\d+(\\.\\d{1,places})?`` with at most ``int_digits`` integer digits.

    Writes the value scaled by 10**places as a sign-extended int128 (two int64
    words) and the decimals written. Where ``given`` is None the value is
    required; else an empty field is a null (``given`` False). False: a value
    the record reader would report on, or one too big.
    """
    for i in range(len(spans)):
        s = spans[i, 0]
        e = spans[i, 1]
        if given is not None:
            given[i] = e > s
            if e <= s:
                words[i, 0] = 0
                words[i, 1] = 0
                continue
        negative = buf[s] == _MINUS
        if negative:
            s += 1
        if e - s < 1:
            return False
        value = 0
        dot = -1
        for k in range(s, e):
            b = buf[k]
            if b == _DOT:
                if dot >= 0:
                    return False
                dot = k
            else:
                if b < _ZERO_DIGIT or b > _NINE_DIGIT:
                    return False
                value = value * 10 + (b - _ZERO_DIGIT)  # may wrap when too long: rejected below
        written = 0
        whole = e - s
        if dot >= 0:
            written = e - 1 - dot
            whole = dot - s
            if whole < 1 or written < 1 or written > places:
                return False
        if whole > int_digits:
            return False
        for _ in range(places - written):
            value *= 10
        if negative:
            value = -value
        words[i, 0] = value
        words[i, 1] = -1 if value < 0 else 0
        decimals[i] = written
    return True


@njit(cache=True, nogil=True)
def _day(buf: np.ndarray, s: int, e: int) -> int:
    """``YYYYMMDD`` as days since 1970, or _NO_DAY when not a calendar date."""
    if e - s != 8:
        return _NO_DAY
    value = 0
    for k in range(8):
        b = buf[s + k]
        if b < _ZERO_DIGIT or b > _NINE_DIGIT:
            return _NO_DAY
        value = value * 10 + (b - _ZERO_DIGIT)
    year = value // 10000
    month = value // 100 % 100
    day = value % 100
    if year < 1 or month < 1 or month > 12 or day < 1:
        return _NO_DAY
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        most = 29 if leap else 28
    elif month in (4, 6, 9, 11):
        most = 30
    else:
        most = 31
    if day > most:
        return _NO_DAY
    # Days from the civil date (H. Hinnant's algorithm), exact in integers.
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def _dates(buf: np.ndarray, spans: np.ndarray, given: np.ndarray | None) -> tuple[bool, np.ndarray]:
    """Dates as days; ``given`` None: required, else an empty field is a null."""
    days = np.zeros(len(spans), np.int32)
    for i in range(len(spans)):
        s = spans[i, 0]
        e = spans[i, 1]
        if given is not None:
            given[i] = e > s
            if e <= s:
                continue
        day = _day(buf, s, e)
        if day == _NO_DAY:
            return False, days
        days[i] = day
    return True, days


@njit(cache=True, nogil=True)
def _strings(
    buf: np.ndarray, spans: np.ndarray, cp437: bool, utf8: np.ndarray, utf8_len: np.ndarray
) -> tuple[bool, np.ndarray, np.ndarray]:
    """The spans as Arrow string buffers (fits int32, offsets, data); ``\\"`` read as ``"``.

    ``cp437``: bytes from 0x80 become their characters in UTF-8.
    """
    offsets = np.empty(len(spans) + 1, np.int32)
    total = 0
    for i in range(len(spans)):
        offsets[i] = total
        e = spans[i, 1]
        for k in range(spans[i, 0], e):
            b = buf[k]
            if b == _BACKSLASH and k + 1 < e and buf[k + 1] == _QUOTE:
                continue
            total += utf8_len[b] if cp437 else 1
    offsets[len(spans)] = total
    if total >= 2**31:
        return False, offsets, np.empty(0, np.uint8)  # the offsets wrapped: too long
    data = np.empty(total, np.uint8)
    at = 0
    for i in range(len(spans)):
        e = spans[i, 1]
        for k in range(spans[i, 0], e):
            b = buf[k]
            if b == _BACKSLASH and k + 1 < e and buf[k + 1] == _QUOTE:
                continue
            if cp437 and b >= 0x80:
                for j in range(utf8_len[b]):
                    data[at] = utf8[b, j]
                    at += 1
            else:
                data[at] = b
                at += 1
    return True, offsets, data


# -- the chunk --------------------------------------------------------------------


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
    first_use_key: np.ndarray  # each account key used in the chunk, once, in row order
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
    if n >= 2**31 - _PAD:
        raise Fallback  # offsets are int32
    buf = np.zeros(n + _PAD, dtype=np.uint8)
    buf[:n] = np.frombuffer(raw, dtype=np.uint8)
    status, starts, ends, classes, kinds, ver_fields, row_fields, items = _split(
        buf, n, raw.count(b"\n") + 1
    )
    if status:
        raise Fallback
    header = [
        (first_line + int(i), raw[starts[i] : ends[i]]) for i in np.flatnonzero(classes == HEADER)
    ]
    del starts, ends
    ver_lines = np.flatnonzero(classes == VER)
    row_lines = np.flatnonzero(classes == ROW)
    n_ver, n_row = len(ver_lines), len(row_lines)

    def ver(k: int) -> np.ndarray:
        return ver_fields[:, k]  # (start, end) per line: a view, the kernels take strides

    def row(k: int) -> np.ndarray:
        return row_fields[:, k]

    def text(spans: np.ndarray, transcode: bool = cp437) -> pa.Array:
        return _string_array(buf, spans, transcode)

    # -- #VER lines --------------------------------------------------------
    ok, ver_date = _dates(buf, ver(3), None)
    registered_given = np.empty(n_ver, dtype=np.bool_)
    ok_registered, registered = _dates(buf, ver(5), registered_given)
    if not (ok and ok_registered):
        raise Fallback

    # -- rows --------------------------------------------------------------
    ok, account_key = _account_keys(buf, row(1))
    if not ok:
        raise Fallback
    first_use_at = _first_uses(account_key, np.zeros(_ACCOUNT_KEYS // 8 + 1, dtype=np.uint8))
    # Öre as a little-endian int128 (sign-extended): exact decimals.
    amount_words = np.empty((n_row, 2), dtype=np.int64)
    row_decimals = np.empty(n_row, dtype=np.int8)
    if not _fixed_point(buf, row(3), 2, _AMOUNT_INT_DIGITS, amount_words, row_decimals, None):
        raise Fallback
    amount_array = pa.Array.from_buffers(AMOUNT_TYPE, n_row, [None, pa.py_buffer(amount_words)])
    date_given = np.empty(n_row, dtype=np.bool_)
    ok, row_date = _dates(buf, row(4), date_given)
    quantity_words = np.empty((n_row, 2), dtype=np.int64)
    quantity_given = np.empty(n_row, dtype=np.bool_)
    if not (
        ok
        and _fixed_point(
            buf,
            row(6),
            8,
            _QUANTITY_INT_DIGITS,
            quantity_words,
            np.empty(n_row, dtype=np.int8),
            quantity_given,
        )
    ):
        raise Fallback
    quantity = pa.Array.from_buffers(
        QUANTITY_TYPE,
        n_row,
        [_validity(quantity_given), pa.py_buffer(quantity_words)],
        null_count=n_row - int(np.count_nonzero(quantity_given)),
    )
    dimensions = items[0::2]
    object_ids = items[1::2]

    return Chunk(
        classes=classes,
        header=header,
        ver_line=(ver_lines + first_line).astype(np.int32),
        ver_series=text(ver(1)),
        ver_number=text(ver(2)),
        ver_date=date_array(ver_date, None),
        ver_text=text(ver(4)),
        ver_registered=date_array(registered, registered_given),
        ver_signature=text(ver(6)),
        row_line=(row_lines + first_line).astype(np.int32),
        row_kind=kinds[row_lines],
        row_kind_name=kind_names(kinds[row_lines]),
        row_account=text(row(1), False),
        row_account_key=account_key,
        first_use_key=account_key[first_use_at],
        first_use_line=(row_lines[first_use_at] + first_line).astype(np.int32),
        row_amount=amount_array,
        row_ore=amount_words[:, 0],
        row_decimals=row_decimals,
        row_date=date_array(row_date, date_given),
        row_text=text(row(5)),
        row_quantity=quantity,
        row_signature=text(row(7)),
        object_row=dimensions[:, 0].copy(),
        object_position=(dimensions[:, 3] // 2).astype(np.int16),
        object_dimension=text(dimensions[:, 1:3]),
        object_id=text(object_ids[:, 1:3]),
    )


def _string_array(buf: np.ndarray, spans: np.ndarray, cp437: bool) -> pa.Array:
    fits, offsets, data = _strings(buf, spans, cp437, _CP437_UTF8, _CP437_UTF8_LEN)
    if not fits:
        raise Fallback
    return pa.StringArray.from_buffers(len(spans), pa.py_buffer(offsets), pa.py_buffer(data))


# Arrow arrays over numpy buffers. Not pa.array(): that imports pandas (seconds).
def _validity(given: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(given, bitorder="little"))


def numbers(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values)
    type_ = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(type_, len(values), [None, pa.py_buffer(values)])


def flags(values: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, _validity(values)])


def date_array(days: np.ndarray, given: np.ndarray | None) -> pa.Array:
    """Days since 1970 as date32; null where not ``given``."""
    days = np.ascontiguousarray(days, dtype=np.int32)
    if given is None:
        return pa.Array.from_buffers(pa.date32(), len(days), [None, pa.py_buffer(days)])
    nulls = len(days) - int(np.count_nonzero(given))
    return pa.Array.from_buffers(
        pa.date32(), len(days), [_validity(given), pa.py_buffer(days)], null_count=nulls
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


_SAMPLE = (
    '#VER A 1 20240105 "t \\"x\\"" 20240106 "Bo"\r\n{\r\n'
    '#TRANS 1930 {1 "P 1"} 5.5 20240105 "\u00e5" 1.5 "Bo"\r\n#RTRANS 3001 {} -5.50\r\n}\r\n'
)


def warm_up() -> None:
    """Load (first time per install: compile) every kernel the bulk path uses."""
    for cp437 in (True, False):
        scan_chunk(_SAMPLE.encode("cp437" if cp437 else "utf-8"), 1, cp437)
    structure_ok(np.zeros(1, dtype=np.int8))
    row_vouchers(np.ones(1, dtype=np.int32), np.full(2, 3, dtype=np.int32), np.zeros(2, np.int8))
