"""The C chunk scanner (``_scan.c``, built by ``make venv`` into ``_scan.so``) through ctypes.

``load()`` gives a ``CScanner`` only when the library is there and was built from
``_scan.c`` as it is now (the library returns the sha256 of its source); otherwise
None, and ``summary`` scans with numpy. ctypes releases the GIL during the call, so
two threads scan two chunks at once.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from include.sie4.fastpath import Fallback

try:  # CPython's own sha256: 0.4 ms to import, hashlib loads OpenSSL (6 ms of start-up)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other Pythons (3.12 has _sha2)
    from hashlib import sha256

__all__ = ["LIBRARY", "SOURCE", "CScanner", "Findings", "load", "source_hash"]

SOURCE = Path(__file__).with_name("_scan.c")
LIBRARY = Path(__file__).with_name("_scan.so")
OK, FALLBACK, FULL = 0, 1, 2
_SMALL_TABLE = 4096  # hash table slots tried first; more only for many distinct values
_KEEP_LINES = 1 << 16  # a thread keeps its arrays for chunks up to this (about 5 MB of them)

_P = ctypes.c_void_p
_I = ctypes.c_int64


class _Scan(ctypes.Structure):
    """``Scan`` of _scan.c, field by field."""

    _fields_ = [
        ("data", ctypes.c_char_p),
        ("size", _I),
        ("final", _I),
        ("line_cap", _I),
        ("date_cap", _I),
        ("table_size", _I),
        ("lines", _I),
        ("n_classes", _I),
        ("n_header", _I),
        ("n_ver", _I),
        ("n_rows", _I),
        ("n_dates", _I),
        ("n_lists", _I),
        ("classes", _P),
        ("header", _P),
        ("ver", _P),
        ("row_line", _P),
        ("row_kind", _P),
        ("row_ore", _P),
        ("row_decimals", _P),
        ("row_key", _P),
        ("dates", _P),
        ("lists", _P),
        ("date_table", _P),
        ("list_table", _P),
        ("full", _I),
    ]


@dataclass(slots=True)
class Findings:
    """One chunk as scanned in C; line indexes count from 0, offsets from the chunk's start."""

    lines: int  # LF count
    classes: np.ndarray  # int8, of the non-blank lines
    header: np.ndarray  # int64 (n, 3): line index, start, end before the LF
    ver: np.ndarray  # int64 (n, 2): line index, start
    row_line: np.ndarray  # int32 line index
    row_kind: np.ndarray  # int8
    row_ore: np.ndarray  # int64
    row_decimals: np.ndarray  # int8
    row_key: np.ndarray  # int32 account number * 8 + digit count
    dates: np.ndarray  # int64 distinct YYYYMMDD, sorted
    lists: np.ndarray  # int64 (n, 2): start and length of each distinct non-empty object list


def source_hash(source: Path = SOURCE) -> str:
    return sha256(source.read_bytes()).hexdigest()


def load(library: Path = LIBRARY, source: Path = SOURCE) -> CScanner | None:
    """The scanner if ``library`` exists and was built from ``source`` as it is now."""
    if not library.exists() or not source.exists():
        return None
    try:
        lib = ctypes.CDLL(str(library))
        lib.scan_source_hash.restype = ctypes.c_char_p
        built_from = lib.scan_source_hash().decode("ascii")
    except (OSError, AttributeError):  # not loadable here, or not our library
        return None
    if built_from != source_hash(source):
        return None  # stale: built from another version of _scan.c
    return CScanner(lib)


def _power_of_two(n: int) -> int:
    return 1 << max(n - 1, 1).bit_length()


class _Buffers:
    """The arrays one thread's scans write into, for chunks of up to ``lines`` lines.

    Kept from chunk to chunk (fresh arrays would cost page faults every time); the
    findings are copied out.
    """

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.tables = _power_of_two(4 * lines)  # dates <= 2 a line, lists <= 1: half full
        self.arrays: dict[str, np.ndarray] = {
            "classes": np.empty(lines, np.int8),
            "header": np.empty((lines, 3), np.int64),
            "ver": np.empty((lines, 2), np.int64),
            "row_line": np.empty(lines, np.int32),
            "row_kind": np.empty(lines, np.int8),
            "row_ore": np.empty(lines, np.int64),
            "row_decimals": np.empty(lines, np.int8),
            "row_key": np.empty(lines, np.int32),
            "dates": np.empty(2 * lines, np.int64),
            "lists": np.empty((lines, 2), np.int64),
            "date_table": np.empty(self.tables, np.int64),
            "list_table": np.empty(self.tables, np.int32),
        }
        self.scan = _Scan(
            line_cap=lines,
            date_cap=2 * lines,
            **{name: array.ctypes.data for name, array in self.arrays.items()},
        )


class CScanner:
    def __init__(self, lib: ctypes.CDLL) -> None:
        self._scan_chunk = lib.scan_chunk
        self._scan_chunk.argtypes = [ctypes.POINTER(_Scan)]
        self._scan_chunk.restype = ctypes.c_int
        self._count_lines = lib.scan_count_lines
        self._count_lines.argtypes = [ctypes.c_char_p, ctypes.c_int64]
        self._count_lines.restype = ctypes.c_int64
        self._local = threading.local()

    def scan(self, raw: bytes, *, final: bool) -> Findings | None:
        """The findings of ``raw`` (whole lines); Fallback as the numpy scanner raises it.

        None (never in practice): the arrays were too small, scan it with numpy.
        """
        lines = self._count_lines(raw, len(raw)) + 1  # bytes.count is a slow byte loop
        buffers: _Buffers | None = getattr(self._local, "buffers", None)
        if buffers is None or buffers.lines < lines:
            buffers = _Buffers(max(lines, 2 * buffers.lines if buffers else 0))
            if buffers.lines <= _KEEP_LINES:
                self._local.buffers = buffers
        s = buffers.scan
        s.data, s.size, s.final = raw, len(raw), final
        # Small hash tables first (the scan clears them); big ones for many distinct values.
        s.table_size = min(_SMALL_TABLE, buffers.tables)
        status = self._scan_chunk(ctypes.byref(s))
        if status == FULL and s.table_size < buffers.tables:
            s.table_size = buffers.tables
            status = self._scan_chunk(ctypes.byref(s))
        s.data = None  # let go of the chunk
        if status == FALLBACK:
            raise Fallback
        if status != OK:
            return None
        a, rows = buffers.arrays, s.n_rows
        return Findings(
            lines=s.lines,
            classes=a["classes"][: s.n_classes].copy(),
            header=a["header"][: s.n_header].copy(),
            ver=a["ver"][: s.n_ver].copy(),
            row_line=a["row_line"][:rows].copy(),
            row_kind=a["row_kind"][:rows].copy(),
            row_ore=a["row_ore"][:rows].copy(),
            row_decimals=a["row_decimals"][:rows].copy(),
            row_key=a["row_key"][:rows].copy(),
            dates=np.sort(a["dates"][: s.n_dates]),
            lists=a["lists"][: s.n_lists].copy(),
        )
