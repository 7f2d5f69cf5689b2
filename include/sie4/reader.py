"""Read a SIE file (type 4E/4I and the balance types 1-3) into typed records.

    doc = read_sie("books.se")                 # strict: SieError lists every error
    doc = read_sie(data, lenient=True, source_name="upload.se")
    result = parse("books.se")                 # never raises: document + all diagnostics

The error/warning rules are in ``include.sie4.rules`` and ``validation`` and in
docs/sie4.md. This module is the facade; the work is done by ``parser`` (the
main loop) with ``header_records`` and ``voucher_records`` (the record
handlers), ``decoding`` (bytes to text) and ``rules``. Decisions worth knowing:

* encoding: CP437 unless the whole file is valid UTF-8 with non-ASCII bytes
  (UTF-8) or its non-ASCII bytes are Swedish letters in Latin-1/cp1252
  (``latin-1``); a warning when that contradicts ``#FORMAT PC8``;
* ``variant`` of a type-4 file is "E" when it holds balance records (#IB, #UB,
  #RES, #OIB, #OUB, #PSALDO, #PBUDGET) and "I" otherwise: ``#SIETYP`` says only
  "4". No ``#SIETYP`` means type 1 (the spec), or 4 if the file has vouchers;
* ``#RTRANS`` directly followed by a ``#TRANS`` (its twin, paired by position)
  gets ``in_balance=False``; an ``#RTRANS`` without twin counts; ``#BTRANS``
  never counts;
* a ``#VER`` with an empty ``{}`` block is loaded with no rows and a warning;
* ``#KTYP``, ``#ENHET`` and ``#SRU`` are folded into their ``Account``; for an
  account with no ``#KONTO`` they create one with an empty name (warning).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from pathlib import Path

from include.sie4.decoding import decode_sie_bytes
from include.sie4.errors import SieError
from include.sie4.parser import Parser, needs_control_check
from include.sie4.records import Diagnostic, SieDocument

__all__ = ["ParseResult", "Source", "decode_sie_bytes", "parse", "read_sie"]

Source = str | Path | bytes


@dataclass(frozen=True, slots=True)
class ParseResult:
    """Everything found in one file, whether or not it has errors.

    ``document`` is a best-effort reading (records with bad values left out);
    ``label_counts`` counts records by label as written (``#VER``, ``#TRANS``, ...).
    """

    document: SieDocument
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    label_counts: dict[str, int]
    source_name: str
    unreadable: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def read_sie(
    source: Source,
    *,
    lenient: bool = False,
    verify_checksum: bool = True,
    source_name: str | None = None,
) -> SieDocument:
    """Read a SIE file (path or bytes). Raises SieError listing every error found."""
    result = parse(
        source, lenient=lenient, verify_checksum=verify_checksum, source_name=source_name
    )
    if result.errors:
        raise SieError(
            result.errors,
            source=result.source_name,
            warnings=result.warnings,
            unreadable=result.unreadable,
        )
    return result.document


def parse(
    source: Source,
    *,
    lenient: bool = False,
    verify_checksum: bool = True,
    source_name: str | None = None,
) -> ParseResult:
    """Read a SIE file without raising: a best-effort document plus all diagnostics."""
    if isinstance(source, bytes):
        name = source_name or "<bytes>"
        data = source
    else:
        name = source_name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            return _unreadable(name, f"cannot read file: {exc.strerror or exc}")
    if not data.strip():
        return _unreadable(name, "file is empty")
    if b"\x00" in data:
        return _unreadable(name, "file holds NUL bytes: binary, not SIE")
    text, encoding, decode_warnings = decode_sie_bytes(data)
    parser = Parser(lenient=lenient, verify_checksum=verify_checksum)
    parser.warnings.extend(decode_warnings)
    check_controls = needs_control_check(text)
    # Reading builds many small objects and no reference cycles: pausing the cyclic
    # garbage collector meanwhile saves its repeated scans of them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        parser.run(text.split("\n"), check_controls=check_controls)
    finally:
        if gc_was_enabled:
            gc.enable()
    if not parser.known_records:
        return _unreadable(name, "no SIE records found: not a SIE file")
    document = parser.build(encoding)
    errors = tuple(sorted(parser.errors, key=lambda d: d.line))
    warnings = tuple(sorted(parser.warnings, key=lambda d: d.line))
    return ParseResult(
        document=replace(document, warnings=warnings),
        errors=errors,
        warnings=warnings,
        label_counts=dict(parser.counts),
        source_name=name,
    )


def _unreadable(name: str, message: str) -> ParseResult:
    return ParseResult(
        document=SieDocument(),
        errors=(Diagnostic(0, message),),
        warnings=(),
        label_counts={},
        source_name=name,
        unreadable=True,
    )
