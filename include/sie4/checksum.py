"""`#KSUMMA`: the CRC-32 checksum of a SIE file (SIE 4B section 8.2).

An empty ``#KSUMMA`` opens the checked range (right after ``#FLAGGA``) and
``#KSUMMA <n>`` as the last record closes it. ``n`` is zlib's CRC-32 over the
CP437 bytes of every record in between: the label with its ``#`` and each
field's content, concatenated without separators, quotes, braces or line ends
(``\\"`` counts as ``"``, spaces inside quoted fields count).

Errors: a mismatch (on the closing line), an opening ``#KSUMMA`` without a
closing one (a truncated file, on the opening line), a closing one without an
opening one, an unreadable checksum value. Files without ``#KSUMMA`` are fine.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

from include.sie4.lexer import Field, LexError, encode_cp437, split_line
from include.sie4.records import Diagnostic, KsummaStatus


def record_bytes(label: str, fields: Iterable[Field]) -> bytes:
    """The bytes one record contributes to the checksum."""
    parts = [label]
    for field in fields:
        if isinstance(field, tuple):
            parts.extend(field)
        else:
            parts.append(field)
    return encode_cp437("".join(parts), errors="replace")


class KsummaAccumulator:
    """Feed records in file order; ``finish`` gives the status and diagnostics."""

    def __init__(self) -> None:
        self.opened_at: int | None = None
        self.closed = False
        self.crc = 0
        self.diagnostics: list[Diagnostic] = []
        self.status = KsummaStatus.ABSENT

    def add(self, line: int, label: str, fields: Sequence[Field]) -> None:
        if label == "#KSUMMA":
            self._ksumma(line, fields)
            return
        if self.opened_at is not None and not self.closed:
            self.crc = zlib.crc32(record_bytes(label, fields), self.crc)

    def add_text(self, text: str) -> None:
        """Add records already joined as ``record_bytes`` joins them (inside the range)."""
        self.crc = zlib.crc32(encode_cp437(text, errors="replace"), self.crc)

    def _ksumma(self, line: int, fields: Sequence[Field]) -> None:
        if not fields:
            if self.opened_at is None:
                self.opened_at = line
            else:
                self.diagnostics.append(Diagnostic(line, "#KSUMMA opened twice"))
            return
        if self.opened_at is None:
            self.diagnostics.append(Diagnostic(line, "closing #KSUMMA without an opening #KSUMMA"))
            self.status = KsummaStatus.MISMATCH
            return
        if self.closed:
            self.diagnostics.append(Diagnostic(line, "#KSUMMA closed twice"))
            return
        self.closed = True
        value = fields[0]
        if not isinstance(value, str) or not value.isdigit():
            self.diagnostics.append(Diagnostic(line, f"#KSUMMA value is not a number: {value!r}"))
            self.status = KsummaStatus.MISMATCH
            return
        if int(value) == self.crc:
            self.status = KsummaStatus.OK
        else:
            self.status = KsummaStatus.MISMATCH
            self.diagnostics.append(
                Diagnostic(
                    line,
                    f"#KSUMMA mismatch: file says {int(value)}, records give {self.crc}",
                )
            )

    def record_after_close(self, line: int) -> None:
        """A record after the closing #KSUMMA is outside the checked range."""
        self.diagnostics.append(
            Diagnostic(line, "record after the closing #KSUMMA is not covered by the checksum")
        )

    def finish(self) -> tuple[KsummaStatus, list[Diagnostic]]:
        if self.opened_at is not None and not self.closed:
            self.status = KsummaStatus.MISMATCH
            self.diagnostics.append(
                Diagnostic(
                    self.opened_at,
                    "#KSUMMA opened but never closed: the file is truncated",
                )
            )
        return self.status, list(self.diagnostics)


def check_ksumma(lines: Sequence[str]) -> tuple[KsummaStatus, list[Diagnostic]]:
    """Verify the checksum of a decoded file; ``lines[i]`` is line ``i + 1``.

    Lines that cannot be lexed are skipped (the reader reports them).
    """
    acc = KsummaAccumulator()
    for number, text in enumerate(lines, start=1):
        stripped = text.strip(" \t\r")
        if not stripped or stripped in ("{", "}"):
            continue
        try:
            tokens = split_line(stripped)
        except LexError:
            continue
        if not tokens or isinstance(tokens[0], tuple):
            continue
        if acc.closed and tokens[0] != "#KSUMMA":
            acc.record_after_close(number)
            continue
        acc.add(number, tokens[0], tokens[1:])
    return acc.finish()
