"""Bytes to text: which encoding a SIE file is really in.

CP437 is the format's encoding and the default (every byte maps). A file whose
bytes are all valid UTF-8 and include non-ASCII ones is UTF-8; one whose
non-ASCII bytes are mostly Latin-1 Swedish letters is Latin-1 (decoded as
cp1252 where possible). A non-CP437 file gets a warning on its ``#FORMAT``
line (or line 1). ``decode_sie_bytes`` decides on the whole file (the record
path); ``fastpath.sniff_encoding`` makes the same choice block by block.
"""

from __future__ import annotations

import re

from include.sie4.records import Diagnostic

__all__ = ["BOM", "CP437_SWEDISH", "LATIN1_SWEDISH", "decode_sie_bytes", "swedish_counts"]

BOM = b"\xef\xbb\xbf"
# Swedish letters: their bytes in CP437 and in Latin-1/cp1252.
CP437_SWEDISH = frozenset(b"\x86\x84\x94\x8f\x8e\x99\x82\x90\x81\x9a")
LATIN1_SWEDISH = frozenset(b"\xe5\xe4\xf6\xc5\xc4\xd6\xe9\xc9\xfc\xdc")
_ASCII_BYTES = bytes(range(0x80))
_FORMAT_LINE = re.compile(r"^[ \t]*#FORMAT\b[ \t]*(\S*)", re.MULTILINE)


def swedish_counts(data: bytes) -> tuple[int, int]:
    """(Latin-1 Swedish letters, CP437 Swedish letters) among the non-ASCII bytes."""
    high = data.translate(None, _ASCII_BYTES)
    return sum(high.count(b) for b in LATIN1_SWEDISH), sum(high.count(b) for b in CP437_SWEDISH)


def decode_sie_bytes(data: bytes) -> tuple[str, str, list[Diagnostic]]:
    """Decode a file's bytes: (text, encoding name, warnings). See the module docstring."""
    warnings: list[Diagnostic] = []
    if data.startswith(BOM):
        data = data[3:]
    if not data.isascii():
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            latin, cp437 = swedish_counts(data)
            if latin > cp437:
                encoding = "latin-1"
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
            else:
                encoding = "cp437"
                text = data.decode("cp437")
    else:
        encoding = "cp437"
        text = data.decode("ascii")
    if encoding != "cp437":
        m = _FORMAT_LINE.search(text)
        if m is not None:
            line = text.count("\n", 0, m.start()) + 1
            declared = m.group(1).strip('"') or "(empty)"
            warnings.append(
                Diagnostic(
                    line,
                    f"bytes are {encoding} but #FORMAT says {declared}; SIE files are "
                    "CP437 (#FORMAT PC8). Read as " + encoding,
                    "warning",
                )
            )
        else:
            warnings.append(
                Diagnostic(1, f"bytes are {encoding}, not CP437 as SIE requires", "warning")
            )
    return text, encoding, warnings
