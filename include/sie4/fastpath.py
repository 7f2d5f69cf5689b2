"""What the two fast paths share: ``bulk`` (Arrow tables) and ``summary`` (inspect).

Both read the voucher lines with vectorised code and everything else with the
record path's own parser, and must give the record path's diagnostics exactly.
Anything they cannot vouch for raises ``Fallback``: the caller then reads the
file on the record path. This module needs numpy only (no pyarrow, no numba),
so that ``inspect`` starts fast.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np

from include.sie4.decoding import decode_sie_bytes, swedish_counts
from include.sie4.parser import Parser
from include.sie4.records import Diagnostic
from include.sie4.rules import file_type, undeclared_account_is_tolerable

__all__ = [
    "EncodingSniffer",
    "Fallback",
    "RowChunk",
    "RowFacts",
    "balance_text",
    "count_voucher_lines",
    "line_chunks",
    "parse_header",
    "sniff_encoding",
    "voucher_diagnostics",
    "voucher_totals",
]


class Fallback(Exception):
    """The fast path cannot vouch for an exact reading: use the record path."""


Read = Callable[[int, int], bytes]
_WHITESPACE = b" \t\r\n\x0b\x0c"


class EncodingSniffer:
    """The reader's choice of encoding (``decode_sie_bytes``), fed the file block by block.

    ``feed`` raises Fallback for what the reader reports as unreadable (NUL bytes);
    ``encoding`` for a file with no content at all.
    """

    def __init__(self) -> None:
        self.ascii_only = True
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.utf8_ok = True
        self.latin = self.cp437 = 0
        self.content = False

    def feed(self, data: bytes, *, final: bool) -> None:
        if b"\x00" in data:
            raise Fallback
        self.content = self.content or bool(data.strip(_WHITESPACE))
        if data.isascii():
            return
        self.ascii_only = False
        if self.utf8_ok:
            try:
                self.utf8.decode(data, final=final)
            except UnicodeDecodeError:
                self.utf8_ok = False
        latin, cp437 = swedish_counts(data)
        self.latin += latin
        self.cp437 += cp437

    def encoding(self) -> str:
        if not self.content:
            raise Fallback
        if self.ascii_only:
            return "cp437"
        if self.utf8_ok:
            try:  # a sequence cut off before trailing ASCII-only blocks is not UTF-8 either
                self.utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self.utf8_ok = False
        if self.utf8_ok:
            return "utf-8"
        return "latin-1" if self.latin > self.cp437 else "cp437"


def line_chunks(read: Read, start: int, size: int, block: int) -> Iterator[tuple[int, bytes, bool]]:
    """The file from ``start`` on in chunks of whole lines: (offset, bytes, last one).

    A chunk is about ``block`` bytes (more for a line longer than that). Raises
    Fallback for a file that shrinks while read.
    """
    at = start
    while True:
        data = read(at, block)
        while at + len(data) < size and b"\n" not in data:
            more = read(at + len(data), block)  # a line longer than a chunk
            if not more:
                raise Fallback  # the file shrank while being read
            data += more
        if not data and at < size:
            raise Fallback
        final = at + len(data) >= size
        if not final:
            data = data[: data.rfind(b"\n") + 1]
        yield at, data, final
        if final:
            return
        at += len(data)


def sniff_encoding(read: Read, start: int, size: int, block: int) -> str:
    """``EncodingSniffer`` over a whole file, reading ``block`` bytes at a time.

    Also raises Fallback for a file that shrinks while read.
    """
    sniffer = EncodingSniffer()
    at = start
    while at < size:
        data = read(at, block)
        if not data:
            raise Fallback  # the file shrank
        at += len(data)
        sniffer.feed(data, final=at >= size)
    return sniffer.encoding()


def count_voucher_lines(
    parser: Parser, ver_line: np.ndarray, row_line: np.ndarray, kind: np.ndarray
) -> None:
    """Add the voucher lines the fast path read (``kind``: 0 TRANS, 1 RTRANS, 2 BTRANS)."""
    if not len(ver_line):
        return
    counts, first_lines = parser.counts, parser.first_lines
    counts["#VER"] = counts.get("#VER", 0) + len(ver_line)
    first_lines.setdefault("#VER", int(ver_line[0]))
    for code, label in enumerate(ROW_KIND_LABELS):
        rows = np.flatnonzero(kind == code)
        if len(rows):
            counts[label] = counts.get(label, 0) + len(rows)
            first_lines.setdefault(label, int(row_line[rows[0]]))
    parser.known_records += len(ver_line) + len(row_line)


ROW_KIND_LABELS = ("#TRANS", "#RTRANS", "#BTRANS")


def parse_header(
    header: Sequence[tuple[int, str]], encoding: str, *, lenient: bool, first_voucher: int | None
) -> Parser:
    """The record path's parser over the header lines ``(line number, text)``, in file order.

    The voucher lines are left out (blank at their line numbers); the caller adds
    their counts and diagnostics. ``first_voucher`` is the line of the first #VER.
    Raises Fallback for ``#KSUMMA``: the checksum covers the voucher lines as the
    reader reads them.
    """
    line_list = [""] * (header[-1][0] if header else 0)
    for number, text in header:
        line_list[number - 1] = text
    decode_warnings: list[Diagnostic] = []
    if encoding == "utf-8":
        # The encoding warning names the #FORMAT line: line numbers are kept, and the
        # trailing letter keeps the reader's choice UTF-8 when the header is ASCII.
        probe = ("\n".join(line_list) + "\n\u00e5").encode("utf-8")
        _, _, decode_warnings = decode_sie_bytes(probe)
    parser = Parser(lenient=lenient, verify_checksum=False)
    parser.first_record_at = first_voucher
    parser.warnings.extend(decode_warnings)
    parser.run(line_list)
    if "#KSUMMA" in parser.counts:
        raise Fallback
    return parser


class RowChunk(Protocol):
    """One chunk's rows, in file order: what the voucher checks read of them."""

    row_ore: np.ndarray  # int64 amount in öre
    row_account_key: np.ndarray  # int32 account number * 8 + digit count
    row_decimals: np.ndarray  # int8 decimals as written


@dataclass(frozen=True, slots=True)
class RowFacts:
    """What the voucher checks need of the rows; amounts and accounts stay in the chunks."""

    line: np.ndarray
    voucher_index: np.ndarray
    paired: np.ndarray
    in_balance: np.ndarray
    chunks: Sequence[RowChunk]
    first_use: tuple[np.ndarray, np.ndarray]  # each chunk's first row per account: (key, line)

    def spans(self) -> list[tuple[int, RowChunk]]:
        """(first row index, chunk) of the chunks that hold rows."""
        at, out = 0, []
        for chunk in self.chunks:
            if len(chunk.row_ore):
                out.append((at, chunk))
            at += len(chunk.row_ore)
        return out

    def gather(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Field ``name`` of the given (sorted) rows, from their chunks."""
        spans = self.spans()
        starts = np.array([at for at, _ in spans], dtype=np.int64)
        owner = np.searchsorted(starts, rows, side="right") - 1
        out = np.zeros(len(rows), dtype=np.int64)
        # The rows are sorted, so their chunks are: not np.unique, which imports numpy.ma
        # on first use (25 ms of inspect's start-up).
        for k in owner[np.flatnonzero(np.diff(owner, prepend=-1))].tolist():
            mine = owner == k
            at, chunk = spans[k]
            out[mine] = getattr(chunk, name)[rows[mine] - at]
        return out


def balance_text(total: int, places: int) -> str:
    """An öre sum as the record path's Decimal sum prints it: as many places as written."""
    return str(Decimal(total // 10 ** (2 - places)).scaleb(-places))


@dataclass(frozen=True, slots=True)
class VoucherTotals:
    """Per voucher: the sum of its counted rows in öre and the most decimals they show."""

    totals: np.ndarray  # int64
    places: np.ndarray  # int8


def voucher_totals(rows: RowFacts, vouchers: int) -> VoucherTotals:
    """Sums chunk by chunk (a voucher may span two chunks); Fallback if int64 could overflow."""
    totals = np.zeros(vouchers, dtype=np.int64)
    places = np.zeros(vouchers, dtype=np.int8)
    spans = rows.spans()
    if not spans:
        return VoucherTotals(totals, places)
    row_count = np.bincount(rows.voucher_index, minlength=vouchers)
    biggest = max(int(np.abs(chunk.row_ore).max()) for _, chunk in spans)
    if biggest * int(row_count.max()) >= 2**62:
        raise Fallback  # the int64 sums could overflow
    for at, chunk in spans:
        end = at + len(chunk.row_ore)
        counts = rows.in_balance[at:end]
        voucher = rows.voucher_index[at:end]
        first = np.flatnonzero(np.diff(voucher, prepend=-1))
        sums = np.add.reduceat(np.where(counts, chunk.row_ore, 0), first)
        np.add.at(totals, voucher[first], sums)
        most = np.maximum.reduceat(np.where(counts, chunk.row_decimals, 0), first)
        np.maximum.at(places, voucher[first], most)
    return VoucherTotals(totals, places)


VoucherNames = Callable[[list[int]], list[tuple[str, str]]]


def voucher_diagnostics(
    ver_line: np.ndarray,
    rows: RowFacts,
    totals: VoucherTotals,
    names: VoucherNames,
    parser: Parser,
    lenient: bool,
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The record path's voucher checks, vectorised: (errors, warnings).

    ``names`` gives (series, number) of the vouchers at the given indexes;
    ``parser`` has read the header and counted the voucher lines.
    """
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []

    def tolerable(line: int, message: str) -> None:
        if lenient:
            warnings.append(Diagnostic(line, message, "warning"))
        else:
            errors.append(Diagnostic(line, message, "error"))

    row_count = np.bincount(rows.voucher_index, minlength=len(ver_line))
    for line in ver_line[row_count == 0].tolist():
        warnings.append(Diagnostic(line, "voucher has an empty { } block: no rows", "warning"))
    twin = np.flatnonzero(rows.paired)
    differs = twin[
        (rows.gather("row_account_key", twin) != rows.gather("row_account_key", twin + 1))
        | (rows.gather("row_ore", twin) != rows.gather("row_ore", twin + 1))
    ]
    for rline, tline in zip(
        rows.line[differs].tolist(), rows.line[differs + 1].tolist(), strict=True
    ):
        warnings.append(
            Diagnostic(
                tline,
                f"#TRANS after #RTRANS (line {rline}) differs in account or amount; "
                "paired by position",
                "warning",
            )
        )
    bad = np.flatnonzero(totals.totals != 0)
    if len(bad):
        for (series, number), line, total, k in zip(
            names(bad.tolist()),
            ver_line[bad].tolist(),
            totals.totals[bad].tolist(),
            totals.places[bad].tolist(),
            strict=True,
        ):
            tolerable(
                line,
                f"voucher {series or '-'} {number or '-'} does not balance: "
                f"rows sum to {balance_text(total, k)}",
            )
    declared = parser.declared
    if declared and len(rows.first_use[0]):  # only checked when the file has a chart
        undeclared = tolerable
        if not undeclared_account_is_tolerable(file_type(parser.sie_type, parser.counts)):

            def undeclared(line: int, message: str) -> None:  # 4I: the chart is optional
                warnings.append(Diagnostic(line, message, "warning"))

        chunk_keys, chunk_lines = rows.first_use
        keys, first_at = np.unique(chunk_keys, return_index=True)
        used = sorted(
            (line, str(key // 8).zfill(key % 8))
            for key, line in zip(keys.tolist(), chunk_lines[first_at].tolist(), strict=True)
        )
        for line, account in used:
            if account not in declared:
                undeclared(line, f"account {account} is used but not declared by #KONTO")
    return errors, warnings
