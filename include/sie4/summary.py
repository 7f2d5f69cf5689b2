"""``inspect``'s figures without a record per row: the voucher lines scanned in C or numpy.

    summary, status = summarise(Path("big.se"), lenient=False)   # what `inspect --json` prints

The JSON object is the record path's (``cli.inspect_summary(parse(path))``), for
every file: counts, debit total, unbalanced vouchers, errors and warnings. The
header lines (everything outside ``#VER`` blocks) go through the record path's
parser at their own line numbers; the ``#VER`` and row lines are split into
fields by a scan over chunks of the raw bytes (1 MB of whole lines, never the
whole file at once), which gives only what the summary needs: kinds, accounts,
amounts in öre. The voucher checks are ``fastpath``'s, shared with the bulk
path. Anything the scan cannot vouch for (a line the strict grammar below does
not accept, a bad value, broken block structure, control characters, Latin-1
bytes, ``#KSUMMA``) raises ``Fallback``: then the whole file is read on the
record path.

Two scanners give the same findings (``tests/sie4/test_cscan.py``): ``_scan.c``,
one pass of plain C over a chunk's bytes, called through ctypes on two threads
(``_cscan``; built by ``make venv`` and used only while built from the current
source), and ``_scan_chunk``, vectorised numpy over the whole chunk, the one
used without the library (no compiler), with two worker processes for a big
file. Either way the lexer vouches for each distinct object list once
(``_plain_object_list``) and the calendar is checked once per distinct date.

Accepted voucher lines, each field separated by spaces or tabs, a field bare or
quoted (``"..."`` with ``\\"`` inside) where the record path allows both:

    #VER series number YYYYMMDD [text [YYYYMMDD|"" [signature]]]
    #TRANS|#RTRANS|#BTRANS account {objects} amount [YYYYMMDD|"" [text [quantity|"" [sign]]]]

with the account 1-6 bare digits, the amount ``-?digits[.d[d]]`` (at most 16
integer digits), the quantity ``-?digits[.d{1,8}]`` and the dates real calendar
dates. Only numpy and ctypes are imported (no pyarrow, no numba): start-up is
part of what a person waits for.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from include.sie4 import _cscan
from include.sie4.decoding import BOM
from include.sie4.fastpath import (
    EncodingSniffer,
    Fallback,
    RowFacts,
    balance_text,
    count_voucher_lines,
    line_chunks,
    parse_header,
    voucher_diagnostics,
    voucher_totals,
)
from include.sie4.lexer import split_line
from include.sie4.records import Diagnostic, SieDocument

__all__ = ["SummaryFigures", "summarise", "summary_json"]

CHUNK = 1 << 20  # bytes per chunk (whole lines): bounds the temporaries
_WORKERS = 2  # chunks scanned at once (the machine has 2 cores)
_PROCESS_MIN_BYTES = 8 << 20  # below this numpy scans a file in one process
_PAD = 128  # zero bytes after a chunk: windows read past a line's end stay in bounds

# Line classes.
BLANK, HEADER, VER, OPEN, ROW, CLOSE = range(6)

# The C scanner when built from the current _scan.c; else None and numpy scans.
_C_SCANNER = _cscan.load()


def _table(*values: int) -> np.ndarray:
    table = np.zeros(256, dtype=np.bool_)
    table[list(values)] = True
    return table


_SP, _TAB, _CR, _LF, _QUOTE, _HASH, _LBRACE, _RBRACE = 32, 9, 13, 10, 34, 35, 123, 125
_TRIM = _table(_SP, _TAB, _CR)  # stripped off a line's ends (as the reader does)
_SEP = _table(_SP, _TAB)
# What may follow a label: its end (a label is the first token only).
_LABEL_END = _table(_SP, _TAB, _CR, _LF, 0, _LBRACE, _RBRACE)

# -- eight bytes at a time ---------------------------------------------------------
# The scans read 8 bytes of a line as one little-endian uint64 (byte 0 is the first
# character) and test them together: a flag is the top bit of a byte. Each test
# flags its first matching byte exactly (borrows only disturb the bytes after it),
# which is all the scans use.
_U = np.uint64


def _label_word(label: bytes) -> np.uint64:
    return _U(int.from_bytes(label, "little"))


_VER_WORD = _label_word(b"#VER")
_TRANS_WORD = _label_word(b"#TRANS")
_RTRANS_WORD = _label_word(b"#RTRANS")
_BTRANS_WORD = _label_word(b"#BTRANS")
_ONES = 0x0101010101010101
_HIGH = _U(0x8080808080808080)
_ZEROS = _U(0x30 * _ONES)  # '0' in every byte
# Keep the first k bytes of a word: _FIRST_BYTES[k].
_FIRST_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def _word_view(data: bytes) -> np.ndarray:
    """Every position's next 8 bytes as a uint64: element i is bytes i..i+7 (unaligned)."""
    return np.ndarray(shape=(len(data) - 7,), dtype=np.uint64, buffer=data, strides=(1,))


def _below(w: np.ndarray, n: int) -> np.ndarray:
    """Flags of the bytes below ``n`` (n <= 128)."""
    return (w - _U(n * _ONES)) & ~w & _HIGH


def _equal(w: np.ndarray, byte: int) -> np.ndarray:
    v = w ^ _U(byte * _ONES)
    return (v - _U(_ONES)) & ~v & _HIGH


def _non_digits(w: np.ndarray) -> np.ndarray:
    x = w - _ZEROS
    return (x | (x + _U(0x76 * _ONES))) & _HIGH


def _first(flags: np.ndarray) -> np.ndarray:
    """Index of the first flagged byte; 8 when none is (the trailing zero bits, by 8)."""
    return np.bitwise_count(~flags & (flags - _U(1))) >> np.uint8(3)


def _digits(w: np.ndarray) -> np.ndarray:
    """The number written by 8 ASCII digits (checked by the caller), first one highest."""
    x = w - _ZEROS
    x = (x * _U(10) + (x >> _U(8))) & _U(0x00FF00FF00FF00FF)
    x = (x * _U(100) + (x >> _U(16))) & _U(0x0000FFFF0000FFFF)
    return ((x * _U(10000) + (x >> _U(32))) & _U(0xFFFFFFFF)).astype(np.int64)


def _last_digits(words: np.ndarray, before: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The number written by the ``count`` (0-8) digits ending before ``before``."""
    w = words[before - 8]
    keep = ~_FIRST_BYTES[8 - count]  # the last ``count`` bytes
    w = (w & keep) | (_ZEROS & ~keep)
    if _non_digits(w).any():
        raise Fallback
    return _digits(w)


def _first_digits(words: np.ndarray, at: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The ``count`` (0-8) digits from ``at`` on, as a number of 8 digits (zeros after)."""
    w = words[at]
    keep = _FIRST_BYTES[count]
    w = (w & keep) | (_ZEROS & ~keep)
    if _non_digits(w).any():
        raise Fallback
    return _digits(w)


_POW10 = 10 ** np.arange(19, dtype=np.int64)


@dataclass(slots=True)
class _Chunk:
    """One chunk's findings; line numbers are 1-based file lines."""

    classes: np.ndarray  # int8 class of each non-blank line, in order
    header: list[tuple[int, bytes]]  # (line, raw text) of the header lines
    ver_line: np.ndarray  # int32
    ver_offset: np.ndarray  # int64 file offset of the #VER line (to read its names again)
    row_line: np.ndarray  # int32
    row_kind: np.ndarray  # int8: 0 TRANS, 1 RTRANS, 2 BTRANS
    row_ore: np.ndarray  # int64 amount in öre
    row_decimals: np.ndarray  # int8 decimals as written
    row_account_key: np.ndarray  # int32 account number * 8 + digit count
    dates: np.ndarray  # int64 distinct YYYYMMDD dates of the chunk (calendar not yet checked)

    def shift_lines(self, by: int) -> None:
        """Scanned with its first line as line 1: move to its place in the file."""
        if by:
            self.header = [(number + by, text) for number, text in self.header]
            self.ver_line += by
            self.row_line += by


@dataclass(slots=True)
class _ObjectLists:
    """The object lists that the lexer has read as plain pairs (of a chunk, or a file)."""

    checked: set[bytes] = field(default_factory=set)
    long_ones: dict[bytes, bool] = field(default_factory=dict)

    def plain(self, text: bytes) -> bool:
        """``text`` (``{...}``) is one list of pairs: the lexer asked once per distinct list."""
        if len(text) > 32:  # rare
            ok = self.long_ones.get(text)
            if ok is None:
                ok = self.long_ones[text] = _plain_object_list(text)
            return ok
        if text in self.checked:
            return True
        if b"\\" in text or not _plain_object_list(text):
            return False
        self.checked.add(text)
        return True


_HASH_FACTORS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
    dtype=np.uint64,
)


class _Dates:
    """The dates of one chunk (YYYYMMDD numbers): month and day checked at once, the
    calendar (30 February) once per distinct date of the file (``check_dates``)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        month = values // 100 % 100
        day = values % 100
        if ((month < 1) | (month > 12) | (day < 1) | (day > 31)).any():
            raise Fallback  # not a calendar date (an error)
        self.parts.append(values)

    def distinct(self) -> np.ndarray:
        if not self.parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self.parts))


def check_dates(values: np.ndarray) -> None:
    """Every date seen is a calendar date (30 February is not)."""
    # A set, not np.unique: that one imports numpy.ma on first use (25 ms of start-up).
    for value in set(values.tolist()):
        try:
            date(value // 10_000, value // 100 % 100, value % 100)
        except ValueError:
            raise Fallback from None


class _Scan:
    """The scans of one chunk: ``buf`` holds its bytes between zero paddings.

    Each field reader takes the fields' starts and their lines' ends and returns
    where each field stops; ``next_fields`` then checks the separator and finds the
    next fields' starts.
    """

    def __init__(self, buf: np.ndarray, words: np.ndarray, dates: _Dates) -> None:
        self.buf = buf
        self.words = words
        self.dates = dates
        self.objects = _ObjectLists()

    def next_fields(self, stop: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which lines go on after the fields ending at ``stop``, where their next fields start).

        A field is followed by its line's end or by spaces and tabs.
        """
        more = np.flatnonzero(stop < end)
        return more, self._separated(stop[more])

    def then(self, stop: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The next field's start where every line must go on."""
        if not (stop < end).all():
            raise Fallback  # a mandatory field is missing
        return self._separated(stop)

    def _separated(self, at: np.ndarray) -> np.ndarray:
        buf = self.buf
        if not _SEP[buf[at]].all():
            raise Fallback
        at = at + 1
        # The line goes on (it is stripped): a byte up to a space here is a separator.
        again = np.flatnonzero(buf[at] <= _SP)
        while len(again):
            at[again] += 1
            again = again[buf[at[again]] <= _SP]
        return at

    def text(self, at: np.ndarray, end: np.ndarray) -> np.ndarray:
        """A text field, bare or quoted."""
        out = np.empty_like(at)
        quoted = self.buf[at] == _QUOTE
        q = np.flatnonzero(quoted)
        if len(q):
            out[q] = self.quoted(at[q], end[q])
        b = np.flatnonzero(~quoted)
        if len(b):
            out[b] = self.bare(at[b])
        return out

    def bare(self, at: np.ndarray) -> np.ndarray:
        """A bare word: up to a space, tab or line end (a quote or brace then is refused)."""
        stop = at.copy()
        pending = np.arange(len(at))
        while len(pending):
            w = self.words[stop[pending]]
            flags = _below(w, 0x21) | _equal(w, _QUOTE) | _equal(w, _LBRACE) | _equal(w, _RBRACE)
            index = _first(flags)
            stop[pending] += index
            pending = pending[index == 8]
        if (stop == at).any():
            raise Fallback
        return stop

    def quoted(self, at: np.ndarray, end: np.ndarray) -> np.ndarray:
        """A quoted field at ``at``: past its closing quote (``\"`` inside does not close it)."""
        buf = self.buf
        stop = at + 1
        pending = np.arange(len(at))
        while len(pending):
            if (stop[pending] >= end[pending]).any():
                raise Fallback  # not closed on its line (a warning)
            index = _first(_equal(self.words[stop[pending]], _QUOTE))
            stop[pending] += index
            found = index < 8
            hit = pending[found]
            escaped = hit[buf[stop[hit] - 1] == ord("\\")]
            stop[escaped] += 1
            pending = np.concatenate((pending[~found], escaped))
        if (stop >= end).any():
            raise Fallback
        return stop + 1

    def date(self, at: np.ndarray, *, optional: bool) -> np.ndarray:
        """YYYYMMDD (or ``""`` where optional). The dates are checked once per file."""
        w = self.words[at]
        plain = _non_digits(w) == 0
        if not plain.all():
            empty = (w & _FIRST_BYTES[2]) == _QUOTE * 0x0101
            if not optional or not (plain | empty).all():
                raise Fallback
            self.dates.add(_digits(w[plain]))
            return np.where(plain, at + 8, at + 2)
        self.dates.add(_digits(w))
        return at + 8

    def amount(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``-?digits[.d[d]]`` with at most 16 integer digits: (stops, öre, decimals)."""
        buf = self.buf
        length = _first(_below(self.words[at], 0x21))
        k = np.flatnonzero(length == 8)
        if len(k):
            length[k] = 8 + _first(_below(self.words[at[k] + 8], 0x21))
            k = k[length[k] == 16]
            if len(k):
                length[k] = 16 + _first(_below(self.words[at[k] + 16], 0x21))
                if (length[k] > 20).any():
                    raise Fallback  # more than 16 integer digits: not read here
        stop = at + length
        negative = buf[at] == ord("-")
        decimals = np.where(buf[stop - 3] == ord("."), 2, np.where(buf[stop - 2] == ord("."), 1, 0))
        dot = np.where(decimals > 0, stop - decimals - 1, stop)
        integer = dot - at - negative
        if ((integer < 1) | (integer > 16)).any():
            raise Fallback
        value = self._integer(dot, integer)
        first = buf[dot + 1] - np.uint8(48)
        second = buf[dot + 2] - np.uint8(48)
        if ((decimals > 0) & (first > 9)).any() or ((decimals == 2) & (second > 9)).any():
            raise Fallback
        value = value * 100 + np.where(decimals > 0, first.astype(np.int64) * 10, 0)
        value += np.where(decimals == 2, second, 0)
        return stop, np.where(negative, -value, value), decimals.astype(np.int8)

    def _integer(self, before: np.ndarray, count: np.ndarray) -> np.ndarray:
        """The number written by the ``count`` (1-16) digits ending before ``before``."""
        value = _last_digits(self.words, before, np.minimum(count, 8))
        k = np.flatnonzero(count > 8)
        if len(k):
            value[k] += _last_digits(self.words, before[k] - 8, count[k] - 8) * 100_000_000
        return value

    def quantity(self, at: np.ndarray, end: np.ndarray) -> np.ndarray:
        """``-?digits[.d{1,8}]`` (at most 10 integer digits, as the bulk path) or ``""``."""
        buf = self.buf
        stop = at + 2
        given = np.flatnonzero((self.words[at] & _FIRST_BYTES[2]) != _QUOTE * 0x0101)
        if not len(given):
            return stop
        at = at[given]
        w = np.stack([self.words[at], self.words[at + 8], self.words[at + 16]])
        ends = _first(_below(w, 0x21))
        length = np.where(ends[0] < 8, ends[0], np.where(ends[1] < 8, 8 + ends[1], 16 + ends[2]))
        dots = _first(_equal(w, ord(".")))
        dot = np.where(dots[0] < 8, dots[0], np.where(dots[1] < 8, 8 + dots[1], 16 + dots[2]))
        negative = buf[at] == ord("-")
        has_dot = dot < length
        decimals = np.where(has_dot, length - dot - 1, 0)
        dot = np.where(has_dot, dot, length) + at
        integer = dot - at - negative
        if (
            (length > 20)
            | (integer < 1)
            | (integer > 10)
            | (has_dot & ((decimals < 1) | (decimals > 8)))
        ).any():
            raise Fallback
        self._integer(dot, integer)  # checks the digits
        _first_digits(self.words, dot + 1, decimals)
        stop[given] = at + length
        return stop

    def account_keys(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """1-6 bare digits: (stops, number * 8 + digit count, as the bulk path keys them)."""
        length = _first(_non_digits(self.words[at]))
        if ((length < 1) | (length > 6)).any():
            raise Fallback
        stop = at + length
        value = _last_digits(self.words, stop, length)
        return stop, (value * 8 + length).astype(np.int32)

    def object_lists(self, at: np.ndarray, end: np.ndarray) -> np.ndarray:
        """An object list ``{...}`` the record path reads as pairs, without a word."""
        buf = self.buf
        if not (buf[at] == _LBRACE).all():
            raise Fallback  # no object list (a warning)
        stop = at + 2
        k = np.flatnonzero(buf[at + 1] != _RBRACE)  # ``{}`` is fine
        if len(k):
            close = at[k] + 1
            line_end = end[k]
            pending = np.arange(len(k))
            while len(pending):
                if (close[pending] >= line_end[pending]).any():
                    raise Fallback  # not closed on its line
                index = _first(_equal(self.words[close[pending]], _RBRACE))
                close[pending] += index
                pending = pending[index == 8]
            if (close >= line_end).any():
                raise Fallback
            self._check_lists(at[k], close - at[k] + 1)
            stop[k] = close + 1
        return stop

    def _check_lists(self, at: np.ndarray, length: np.ndarray) -> None:
        """Each distinct list is checked once by the lexer; equal lists are equal bytes."""
        known = self.objects
        long_ones = np.flatnonzero(length > 32)
        for i in long_ones.tolist():  # more than 32 bytes: rare, one by one
            if not known.plain(self.buf[at[i] : at[i] + length[i]].tobytes()):
                raise Fallback
        if len(long_ones):
            short = length <= 32
            at, length = at[short], length[short]
        if not len(at):
            return
        width = 2 if length.max() <= 16 else 4
        words = [
            self.words[at + 8 * j] & _FIRST_BYTES[np.clip(length - 8 * j, 0, 8)]
            for j in range(width)
        ]
        hashes = words[0] * _HASH_FACTORS[0]
        for j in range(1, width):
            hashes += words[j] * _HASH_FACTORS[j]
        # Rows whose list has the first row's bytes need no more (often most of a chunk);
        # the others go by their distinct hashes, each checked once.
        rest = np.flatnonzero(hashes != hashes[0])
        firsts = [0]
        if len(rest):
            _, first = np.unique(hashes[rest], return_index=True)
            firsts += rest[first].tolist()
        for row in firsts:
            if not known.plain(self.buf[at[row] : at[row] + length[row]].tobytes()):
                raise Fallback
        representative = np.zeros(len(at), dtype=np.intp)
        if len(rest):
            order = np.array(firsts[1:], dtype=np.intp)
            slot = np.searchsorted(hashes[order], hashes[rest], sorter=np.argsort(hashes[order]))
            representative[rest] = order[np.argsort(hashes[order])][slot]
        for j in range(width):
            if not (words[j][representative] == words[j]).all():
                raise Fallback  # two lists with one hash: never mind, the record path


def _plain_object_list(text: bytes) -> bool:
    """The record path reads ``text`` (``{...}``) as one list of pairs, without a word."""
    try:
        fields = split_line(text.decode("latin-1"))
    except ValueError:
        return False
    return len(fields) == 1 and isinstance(fields[0], tuple) and len(fields[0]) % 2 == 0


def _scan_ver(scan: _Scan, first: np.ndarray, end: np.ndarray) -> None:
    """#VER series number date [text [regdate [signature]]]: checked, nothing kept."""
    at = scan.then(first + 4, end)
    at = scan.then(scan.text(at, end), end)  # series
    at = scan.then(scan.text(at, end), end)  # number
    stop = scan.date(at, optional=False)
    lines = np.arange(len(first))
    for step in ("text", "registered", "signature", None):
        more, at = scan.next_fields(stop, end[lines])
        if not len(more):
            return
        if step is None:
            raise Fallback  # extra fields (a warning)
        lines = lines[more]
        registered = step == "registered"
        stop = scan.date(at, optional=True) if registered else scan.text(at, end[lines])


def _scan_rows(
    scan: _Scan, first: np.ndarray, end: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' (account keys, öre, decimals); the rest of each row is checked."""
    at = scan.then(first + np.where(kind == 0, 6, 7), end)
    stop, keys = scan.account_keys(at)
    at = scan.then(scan.object_lists(scan.then(stop, end), end), end)
    stop, ore, decimals = scan.amount(at)
    lines = np.arange(len(first))
    for step in ("date", "text", "quantity", "signature", None):
        more, at = scan.next_fields(stop, end[lines])
        if not len(more):
            break
        if step is None:
            raise Fallback  # extra fields (a warning)
        lines = lines[more]
        if step == "date":
            stop = scan.date(at, optional=True)
        elif step == "quantity":
            stop = scan.quantity(at, end[lines])
        else:
            stop = scan.text(at, end[lines])
    return keys, ore, decimals


_BASE = 16  # zero bytes before a chunk: words read left of a field stay in bounds
_PAD = 64  # and after it, for words read past a line's end


def _scan_chunk(raw: bytes, first_line: int, offset: int, final: bool) -> tuple[_Chunk, int]:
    """Classify and scan ``raw`` (whole lines from ``first_line`` on): (findings, lines)."""
    n = len(raw)
    data = bytes(_BASE) + raw + bytes(_PAD)
    buf = np.frombuffer(data, dtype=np.uint8)
    words = _word_view(data)
    # Control characters: only tab, and CR before LF (the reader warns about the others).
    low = np.flatnonzero(buf[_BASE : _BASE + n] < 32) + _BASE
    kind_of_low = buf[low]
    ends = low[kind_of_low == _LF]
    cr = low[kind_of_low == _CR]
    if (
        ((kind_of_low != _LF) & (kind_of_low != _TAB) & (kind_of_low != _CR)).any()
        or (buf[cr + 1] != _LF).any()
        or b"\x7f" in raw
    ):
        raise Fallback
    count = len(ends)
    if final and (n == 0 or raw[-1] != _LF):
        ends = np.append(ends, _BASE + n)
    starts = np.empty_like(ends)
    if len(starts):
        starts[0] = _BASE
        starts[1:] = ends[:-1] + 1
    # The lines stripped of spaces, tabs and CR, as the reader strips them.
    first = starts.copy()
    more = np.flatnonzero(_TRIM[buf[first]])
    while len(more):
        first[more] += 1
        more = more[_TRIM[buf[first[more]]]]
    last = ends - 1
    more = np.flatnonzero((last >= first) & _TRIM[buf[last]])
    while len(more):
        last[more] -= 1
        more = more[(last[more] >= first[more]) & _TRIM[buf[last[more]]]]
    end = last + 1

    classes = np.full(len(first), HEADER, dtype=np.int8)
    classes[end <= first] = BLANK
    lead = buf[first]
    single = end == first + 1
    classes[single & (lead == _LBRACE)] = OPEN
    classes[single & (lead == _RBRACE)] = CLOSE
    kinds = np.zeros(len(first), dtype=np.int8)
    labelled = np.flatnonzero((lead == _HASH) & (end > first))
    if len(labelled):
        at = first[labelled]
        label = words[at]
        ver = ((label & _FIRST_BYTES[4]) == _VER_WORD) & _LABEL_END[buf[at + 4]]
        trans = ((label & _FIRST_BYTES[6]) == _TRANS_WORD) & _LABEL_END[buf[at + 6]]
        seven = label & _FIRST_BYTES[7]
        rtrans = (seven == _RTRANS_WORD) & _LABEL_END[buf[at + 7]]
        btrans = (seven == _BTRANS_WORD) & _LABEL_END[buf[at + 7]]
        classes[labelled[ver]] = VER
        classes[labelled[trans | rtrans | btrans]] = ROW
        kinds[labelled[rtrans]] = 1
        kinds[labelled[btrans]] = 2

    header_at = np.flatnonzero(classes == HEADER)
    header = [
        (first_line + i, raw[s - _BASE : e - _BASE])
        for i, s, e in zip(
            header_at.tolist(), starts[header_at].tolist(), ends[header_at].tolist(), strict=True
        )
    ]
    dates = _Dates()
    scan = _Scan(buf, words, dates)
    ver_at = np.flatnonzero(classes == VER)
    if len(ver_at):
        _scan_ver(scan, first[ver_at], end[ver_at])
    row_at = np.flatnonzero(classes == ROW)
    row_kind = kinds[row_at]
    keys, ore, decimals = _scan_rows(scan, first[row_at], end[row_at], row_kind)
    row_line = (row_at + first_line).astype(np.int32)
    chunk = _Chunk(
        classes=classes[classes != BLANK],
        header=header,
        ver_line=(ver_at + first_line).astype(np.int32),
        ver_offset=starts[ver_at] - _BASE + offset,
        row_line=row_line,
        row_kind=row_kind,
        row_ore=ore,
        row_decimals=decimals,
        row_account_key=keys,
        dates=dates.distinct(),
    )
    return chunk, count


def _scan_chunk_c(
    raw: bytes, first_line: int, offset: int, final: bool, objects: _ObjectLists | None = None
) -> tuple[_Chunk, int]:
    """``_scan_chunk`` by the C scanner: the same findings, or Fallback where it raises it.

    ``objects``: the lists the lexer has vouched for so far (shared by a file's chunks).
    """
    assert _C_SCANNER is not None
    found = _C_SCANNER.scan(raw, final=final)
    if found is None:  # pragma: no cover - its arrays are sized never to be too small
        return _scan_chunk(raw, first_line, offset, final)
    known = _ObjectLists() if objects is None else objects
    for start, length in found.lists.tolist():
        if not known.plain(raw[start : start + length]):
            raise Fallback
    header = [(first_line + i, raw[start:end]) for i, start, end in found.header.tolist()]
    chunk = _Chunk(
        classes=found.classes,
        header=header,
        ver_line=(found.ver[:, 0] + first_line).astype(np.int32),
        ver_offset=found.ver[:, 1] + offset,
        row_line=found.row_line + np.int32(first_line),
        row_kind=found.row_kind,
        row_ore=found.row_ore,
        row_decimals=found.row_decimals,
        row_account_key=found.row_key,
        dates=found.dates,
    )
    return chunk, found.lines


# The non-blank line classes that may follow each other: header lines, and blocks
# ``#VER { row* }``. Whether a line may come next depends on the one before only.
_FOLLOWS = np.zeros((6, 6), dtype=np.bool_)
for _a, _b in [
    (HEADER, HEADER),
    (HEADER, VER),
    (VER, OPEN),
    (OPEN, ROW),
    (OPEN, CLOSE),
    (ROW, ROW),
    (ROW, CLOSE),
    (CLOSE, HEADER),
    (CLOSE, VER),
    (BLANK, HEADER),  # BLANK stands for the start of the file
    (BLANK, VER),
]:
    _FOLLOWS[_a, _b] = True
_FOLLOWS_FLAT = _FOLLOWS.ravel()


def _structure_ok(classes: np.ndarray) -> bool:
    """Header lines, and blocks ``#VER { row* }`` (``classes``: the non-blank lines)."""
    if not len(classes):
        return True
    previous = np.concatenate(([BLANK], classes[:-1])).astype(np.intp)
    return bool(_FOLLOWS_FLAT[previous * 6 + classes].all() and classes[-1] in (HEADER, CLOSE))


@dataclass(frozen=True, slots=True)
class SummaryFigures:
    """The figures of one file: the document's header records and the voucher sums."""

    document: SieDocument
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    label_counts: dict[str, int]
    debit_total: str
    unbalanced: list[dict[str, Any]]


def _read_chunks(fd: int, start: int, size: int) -> tuple[list[_Chunk], str]:
    """Scan the file chunk by chunk: (findings, the reader's choice of encoding).

    A few chunks in flight (bounded memory), scanned in order while this thread
    reads and sniffs the next. With the C scanner two threads scan (the call
    releases the GIL) and the lexer's word on each object list is kept for the
    whole file. With numpy a big file's chunks go to two worker processes: the
    scans are many small numpy calls, so threads would mostly wait for the GIL.
    """
    sniffer = EncodingSniffer()
    chunks: list[_Chunk] = []
    pending: deque[Future[tuple[_Chunk, int]]] = deque()
    scan: Any = _scan_chunk
    if _C_SCANNER is not None:
        scan = functools.partial(_scan_chunk_c, objects=_ObjectLists())
    with _scan_pool(size - start) as pool:
        try:
            line = 1
            read = functools.partial(_pread, fd)
            for at, raw, final in line_chunks(read, start, size, CHUNK):
                sniffer.feed(raw, final=final)
                # Line numbers: the chunk's first line is known once the one before is done.
                pending.append(pool.submit(scan, raw, 1, at, final))
                if len(pending) > _WORKERS:
                    line = _collect(pending.popleft(), line, chunks)
            while pending:
                line = _collect(pending.popleft(), line, chunks)
        finally:
            for future in pending:
                future.cancel()
    check_dates(np.concatenate([c.dates for c in chunks]) if chunks else np.zeros(0, np.int64))
    return chunks, sniffer.encoding()


class _Here:
    """A pool of no workers: each chunk scanned at submit, in this process."""

    def __enter__(self) -> _Here:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # handed on through the future, as a pool does
            future.set_exception(error)
        return future


def _scan_pool(size: int) -> Any:
    """Where the chunks are scanned: two threads (C) or two forked worker processes
    (numpy, where fork is safe) for a file of several chunks; else this thread."""
    if _C_SCANNER is not None:
        return ThreadPoolExecutor(max_workers=_WORKERS) if size > CHUNK else _Here()
    if size < _PROCESS_MIN_BYTES or threading.active_count() > 1:
        return _Here()  # fork with other threads running could copy a held lock
    # Imported here: 30 ms of start-up that the C scanner's runs do without.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        return _Here()
    return ProcessPoolExecutor(max_workers=_WORKERS, mp_context=context)


def _pread(fd: int, at: int, count: int) -> bytes:
    return os.pread(fd, count, at)


def _collect(future: Future[tuple[_Chunk, int]], line: int, chunks: list[_Chunk]) -> int:
    """Number the chunk's lines from ``line`` on: the next chunk's first line."""
    chunk, count = future.result()
    chunk.shift_lines(line - 1)
    chunks.append(chunk)
    return line + count


def figures(path: Path, *, lenient: bool) -> SummaryFigures:
    """The summary's figures on the fast path; Fallback when only the record path can say."""
    try:
        handle = path.open("rb")
    except OSError:
        raise Fallback from None
    with handle:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        start = 3 if os.pread(fd, 3, 0) == BOM else 0
        chunks, encoding = _read_chunks(fd, start, size)
        if encoding == "latin-1":
            raise Fallback  # rare; the reader's cp1252/latin-1 choice needs the whole text
        classes = np.concatenate([c.classes for c in chunks])
        if not _structure_ok(classes):
            raise Fallback
        del classes

        def cat(name: str) -> np.ndarray:
            return np.concatenate([getattr(c, name) for c in chunks])

        ver_line, ver_offset = cat("ver_line"), cat("ver_offset")
        row_line, kind = cat("row_line"), cat("row_kind")
        header = [(number, text.decode(encoding)) for c in chunks for number, text in c.header]
        first_voucher = int(ver_line[0]) if len(ver_line) else None
        parser = parse_header(header, encoding, lenient=lenient, first_voucher=first_voucher)
        del header
        voucher = (np.searchsorted(ver_line, row_line) - 1).astype(np.int32)
        # An RTRANS directly followed by a TRANS of its voucher is left out (its twin counts).
        paired = np.zeros(len(row_line), dtype=np.bool_)
        if len(row_line) > 1:
            paired[:-1] = (kind[:-1] == 1) & (kind[1:] == 0) & (voucher[:-1] == voucher[1:])
        in_balance = (kind != 2) & ~paired
        count_voucher_lines(parser, ver_line, row_line, kind)
        if not parser.known_records:
            raise Fallback  # the reader says: not a SIE file
        facts = RowFacts(
            line=row_line,
            voucher_index=voucher,
            paired=paired,
            in_balance=in_balance,
            chunks=chunks,
            first_use=_undeclared_first_uses(cat("row_account_key"), row_line, parser.declared),
        )
        totals = voucher_totals(facts, len(ver_line))
        names: dict[int, tuple[str, str]] = {}

        def voucher_names(indexes: list[int]) -> list[tuple[str, str]]:
            for i in indexes:
                if i not in names:
                    names[i] = _names(fd, int(ver_offset[i]), encoding)
            return [names[i] for i in indexes]

        errors, warnings = voucher_diagnostics(
            ver_line, facts, totals, voucher_names, parser, lenient
        )
        if any(d.line == 1 for d in errors + warnings):
            raise Fallback  # would tie with whole-file findings on line 1
        parser.errors.extend(errors)
        parser.warnings.extend(warnings)
        document = parser.build(encoding)
        debit = _debit_total(chunks)
        unbalanced = []
        bad = np.flatnonzero(totals.totals != 0).tolist()
        for i, (series, number) in zip(bad, voucher_names(bad), strict=True):
            unbalanced.append(
                {
                    "series": series,
                    "number": number,
                    "line": int(ver_line[i]),
                    "difference": balance_text(int(totals.totals[i]), int(totals.places[i])),
                }
            )
    return SummaryFigures(
        document=document,
        errors=tuple(sorted(parser.errors, key=lambda d: d.line)),
        warnings=tuple(sorted(parser.warnings, key=lambda d: d.line)),
        label_counts=parser.counts,
        debit_total=debit,
        unbalanced=unbalanced,
    )


def _undeclared_first_uses(
    keys: np.ndarray, lines: np.ndarray, declared: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(key, line of first use) of the accounts on rows that the chart does not declare.

    The voucher checks look at no other; without a chart they look at none.
    """
    if not declared:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    declared_keys = np.array([int(a) * 8 + len(a) for a in declared], dtype=np.int32)
    rows = np.flatnonzero(~np.isin(keys, declared_keys))
    used, first = np.unique(keys[rows], return_index=True)
    return used, lines[rows[first]]


def _names(fd: int, offset: int, encoding: str) -> tuple[str, str]:
    """(series, number) of the #VER line at ``offset``, read again by the lexer."""
    raw = os.pread(fd, 4096, offset)
    while b"\n" not in raw:
        more = os.pread(fd, 4096, offset + len(raw))
        if not more:
            break
        raw += more
    text = raw.split(b"\n", 1)[0].decode(encoding).strip(" \t\r")
    fields = split_line(text)
    series, number = fields[1], fields[2]
    if isinstance(series, tuple) or isinstance(number, tuple):  # pragma: no cover - scanned
        raise Fallback
    return series, number


def _debit_total(chunks: list[_Chunk]) -> str:
    """The sum of the positive #TRANS amounts, as the record path's Decimal sum prints it."""
    total = 0  # a Python int: exact whatever the file holds
    places = 0
    for c in chunks:
        debit = c.row_ore[(c.row_kind == 0) & (c.row_ore > 0)]
        if len(debit):
            if int(debit.max()) * len(debit) < 2**62:
                total += int(debit.sum(dtype=np.int64))
            else:
                total += sum(debit.tolist())
            places = max(places, int(c.row_decimals[(c.row_kind == 0) & (c.row_ore > 0)].max()))
    return balance_text(total, places)


def summary_json(name: str, figures: SummaryFigures) -> dict[str, Any]:
    """The JSON object of ``inspect --json`` (``cli.inspect_summary`` for the record path)."""
    doc = figures.document
    counts = figures.label_counts
    return {
        "file": name,
        "sie_type": doc.sie_type,
        "variant": doc.variant,
        "encoding": doc.encoding,
        "program": list(doc.program),
        "company_name": doc.company.name,
        "org_number": doc.company.org_number,
        "fiscal_years": [
            {"index": y.index, "start": y.start.isoformat(), "end": y.end.isoformat()}
            for y in doc.fiscal_years
        ],
        "accounts": len(doc.accounts),
        "vouchers": counts.get("#VER", 0),
        "transactions": counts.get("#TRANS", 0),
        "added_rows": counts.get("#RTRANS", 0),
        "removed_rows": counts.get("#BTRANS", 0),
        "balances": len(doc.balances),
        "period_balances": len(doc.period_balances),
        "debit_total": figures.debit_total,
        "unbalanced_vouchers": figures.unbalanced,
        "ksumma": doc.ksumma.value,
        "errors": [{"line": d.line, "message": d.message} for d in figures.errors],
        "warnings": [{"line": d.line, "message": d.message} for d in figures.warnings],
    }


def summarise(path: Path, *, lenient: bool) -> tuple[dict[str, Any], int] | None:
    """``inspect``'s JSON object and exit status on the fast path; None: use the record path."""
    try:
        result = figures(path, lenient=lenient)
    except Fallback:
        return None
    return summary_json(str(path), result), 1 if result.errors else 0
