"""Split one SIE line into its label and fields, and quote fields for writing.

Rules (SIE 4B section 5, plus what real files do):

* fields are separated by one or more spaces or tabs;
* a field that starts with ``"`` runs to the next unescaped ``"``; inside it
  ``\\"`` is a literal quote and a backslash not followed by ``"`` is a literal
  backslash (real files hold ``C:\\ProgramData\\...``);
* ``{ ... }`` is an object list; its items are quoted or not, ``{}`` and
  ``{ }`` are empty lists;
* the label is the first token only: later values may start with ``#``.

A field is a ``str``; an object list is a ``tuple[str, ...]`` of its items.
"""

from __future__ import annotations

import codecs
import re
from encodings import cp437

Field = str | tuple[str, ...]

# One token per match: whitespace, quoted string (possessive so an escaped
# quote is never re-read as the closing one), an unterminated quoted string,
# a brace, or a bare word (ends at whitespace or a brace).
_TOKEN = re.compile(
    r'[ \t]+|"((?:\\"|[^"])*+)"|"(.*)$|([{}])|([^ \t"{}][^ \t{}]*)',
)
_SEPARATOR = re.compile(r"[ \t]+")
# A line of plain fields: bare words (no quote or brace) and quoted texts (the
# tokenizer's pattern), separated by whitespace. The tokenizer reads each the same
# way, so such a line can be split at once.
_PLAIN_FIELD = r'"(?:\\"|[^"])*+"|[^ \t"{}]+'
_PLAIN_LINE = re.compile(rf"[ \t]*(?:{_PLAIN_FIELD})(?:[ \t]+(?:{_PLAIN_FIELD}))*[ \t]*")
_PLAIN_ITEM = re.compile(r'"((?:\\"|[^"])*+)"|([^ \t"{}]+)')
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Fields that can be written bare: no whitespace, quotes, braces or controls,
# not empty and not looking like a label.
_BARE = re.compile(r'[^ \t"{}#\x00-\x1f\x7f][^ \t"{}\x00-\x1f\x7f]*')


# The cp437 codec encodes through a dict, character by character; the same table
# as a C charmap encodes several times faster (checked equal for every code point).
_CP437_ENCODING = codecs.charmap_build(cp437.decoding_table)


def encode_cp437(text: str, errors: str = "strict") -> bytes:
    """``text.encode("cp437", errors)``, faster for long texts."""
    if text.isascii():
        return text.encode("ascii")
    return codecs.charmap_encode(text, errors, _CP437_ENCODING)[0]


class LexError(ValueError):
    """A line that cannot be split into fields (unterminated quote or list)."""


def split_line(text: str, problems: list[str] | None = None) -> list[Field]:
    """Split one line (without its line end) into fields, label included.

    Raises LexError for an unterminated object list or a stray ``}``. An
    unterminated quote raises too, unless ``problems`` is given: then the rest
    of the line is the field (real files cut long texts off so) and a note is
    appended to ``problems``.
    """
    if '"' not in text and "{" not in text and "}" not in text:
        # Fast path: the common plain line. Not str.split(): only space and tab
        # separate fields (a no-break space is text).
        return [f for f in _SEPARATOR.split(text) if f]
    if "{" not in text and _PLAIN_LINE.fullmatch(text) is not None:
        # A bare word is never empty, so ``bare or quoted`` picks the one that matched.
        if "\\" not in text:
            return [bare or quoted for quoted, bare in _PLAIN_ITEM.findall(text)]
        return [bare or quoted.replace('\\"', '"') for quoted, bare in _PLAIN_ITEM.findall(text)]
    fields: list[Field] = []
    group: list[str] | None = None
    pos = 0
    end = len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:  # pragma: no cover - every character starts some token
            raise LexError(f"cannot read text at column {pos + 1}")
        pos = m.end()
        quoted, unterminated, brace, bare = m.groups()
        if quoted is not None:
            value = quoted.replace('\\"', '"') if "\\" in quoted else quoted
        elif bare is not None:
            value = bare
        elif brace is not None:
            if brace == "{":
                if group is not None:
                    raise LexError("nested '{' in an object list")
                group = []
            else:
                if group is None:
                    raise LexError("'}' without an opening '{'")
                fields.append(tuple(group))
                group = None
            continue
        elif unterminated is not None:
            if problems is None:
                raise LexError("unterminated quoted field")
            problems.append("unterminated quoted field: read to the end of the line")
            value = unterminated.replace('\\"', '"')
        else:
            continue  # whitespace
        if group is not None:
            group.append(value)
        else:
            fields.append(value)
    if group is not None:
        raise LexError("object list not closed with '}'")
    return fields


def has_control_characters(text: str) -> bool:
    """True when the line holds characters 0-31 or 127 other than tab."""
    return _CONTROL.search(text) is not None


def quote_field(value: str) -> str:
    """Write one field: bare when that reads back the same, otherwise quoted.

    ``"`` becomes ``\\"``. A quoted value ending in a backslash cannot be
    written (the reader would take ``\\"`` for a quote): ValueError.
    Control characters are the caller's business (the writer replaces them).
    """
    if _BARE.fullmatch(value):
        return value
    if value.endswith("\\"):
        raise ValueError(f"cannot write a quoted SIE field ending in a backslash: {value!r}")
    return '"' + value.replace('"', '\\"') + '"'


def quote_objects(objects: tuple[tuple[str, str], ...]) -> str:
    """Write an object list ``{dim obj ...}``; items are always quoted (as Fortnox does)."""
    if not objects:
        return "{}"
    parts = []
    for dim, obj in objects:
        parts.append(_quote_always(dim))
        parts.append(_quote_always(obj))
    return "{" + " ".join(parts) + "}"


def _quote_always(value: str) -> str:
    if value.endswith("\\"):
        raise ValueError(f"cannot write a quoted SIE field ending in a backslash: {value!r}")
    return '"' + value.replace('"', '\\"') + '"'
