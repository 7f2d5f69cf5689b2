"""Write a SieDocument as a SIE file: CP437 bytes, LF line ends, optional #KSUMMA.

Decisions:

* fields are written bare when that reads back the same, quoted otherwise
  (empty, whitespace, ``"``, braces, a leading ``#``); ``"`` becomes ``\\"``;
  object ids are always quoted;
* characters CP437 does not have become ``?`` and control characters become a
  space (SIE allows neither); the result is lossy only for such text;
* a quoted text ending in a backslash cannot be expressed in SIE (``\\"`` would
  read as a quote): ValueError naming the record;
* trailing empty optional fields are left out; ``#FORMAT`` is always PC8;
  ``#SIETYP`` is the document's type; the 4E/4I variant follows from the
  records (balances or not), as the reader decides it;
* with ``ksumma=True`` an empty ``#KSUMMA`` follows ``#FLAGGA`` and the closing
  ``#KSUMMA <crc>`` covers every record in between (see ``checksum``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

from include.sie4.lexer import encode_cp437, quote_field
from include.sie4.records import ObjectList, RowKind, SieDocument

__all__ = ["write_sie"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ROW_LABELS = {kind: "#" + kind.value for kind in RowKind}
# ASCII values that _clean leaves as they are and quote_field writes bare, or
# quoted without escapes (no quote inside, no backslash at the end).
_BARE_ASCII = re.compile(r'[^ \t"{}#\x00-\x1f\x7f][^ \t"{}\x00-\x1f\x7f]*')
_QUOTED_ASCII = re.compile(r'(?:[^"\x00-\x1f\x7f]*[^"\\\x00-\x1f\x7f])?')
# Distinct field values remembered per file (texts can all differ).
_CACHE_LIMIT = 100_000
# A record: label, fields (a tuple field is an object list, flattened).
_Record = tuple[str, list[str | tuple[str, ...]]]


def write_sie(doc: SieDocument, target: str | Path | None = None, *, ksumma: bool = False) -> bytes:
    """Serialise ``doc`` to SIE 4 bytes (CP437); also write them to ``target`` if given."""
    out: list[str] = []
    # What each record adds to the #KSUMMA CRC (``record_bytes`` of its cleaned
    # fields), joined and hashed once at the end: CRC-32 runs on over the joins.
    checked: list[str] = []
    for label, fields in _records(doc, ksumma):
        clean = [_clean_objects(f) if isinstance(f, tuple) else _clean(f) for f in fields]
        if ksumma and label not in ("#KSUMMA", "#FLAGGA"):
            checked.append(_checked_text(label, clean))
        out.append(_format(label, clean))
    _write_vouchers(doc, out, checked if ksumma else None)
    if ksumma:
        crc = zlib.crc32(encode_cp437("".join(checked), errors="replace"))
        out.append(f"#KSUMMA {crc}")
    out.append("")
    data = encode_cp437("\n".join(out))
    if target is not None:
        Path(target).write_bytes(data)
    return data


def _checked_text(label: str, fields: list[str | tuple[str, ...]]) -> str:
    """The text ``record_bytes`` encodes for one record."""
    parts = [label]
    for f in fields:
        if isinstance(f, tuple):
            parts.extend(f)
        else:
            parts.append(f)
    return "".join(parts)


class _Fields:
    """Cleaned and quoted forms of field values, each worked out once per file."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, str]] = {}
        self.object_lists: dict[ObjectList, tuple[str, str]] = {}
        self.dates: dict[date | None, tuple[str, str]] = {}

    def value(self, value: str) -> tuple[str, str]:
        """(as written, as cleaned); ValueError when it cannot be written."""
        entry = self.values.get(value)
        if entry is None:
            if value.isascii() and _BARE_ASCII.fullmatch(value):
                entry = (value, value)  # what _clean and quote_field make of it
            elif value.isascii() and _QUOTED_ASCII.fullmatch(value):
                entry = ('"' + value + '"', value)
            else:
                clean = _clean(value)
                entry = (quote_field(clean), clean)
            if len(self.values) < _CACHE_LIMIT:
                self.values[value] = entry
        return entry

    def objects(self, objects: ObjectList) -> tuple[str, str]:
        entry = self.object_lists.get(objects)
        if entry is None:
            items = _clean_objects(_flat(objects))
            entry = ("{" + " ".join(_quote_always(v) for v in items) + "}", "".join(items))
            if len(self.object_lists) < _CACHE_LIMIT:
                self.object_lists[objects] = entry
        return entry

    def date(self, value: date | None) -> tuple[str, str]:
        entry = self.dates.get(value)
        if entry is None:
            entry = self.dates[value] = self.value(_date(value))
        return entry


def _write_vouchers(doc: SieDocument, out: list[str], checked: list[str] | None) -> None:
    """The #VER records and their rows: the bulk of a file, written the way
    ``_format`` writes any record (trailing empty optional fields left out)."""
    fields = _Fields()
    value = fields.value
    known_value = fields.values.get
    known_objects = fields.object_lists.get
    known_date = fields.dates.get
    labels = _ROW_LABELS
    append = out.append
    for v in doc.vouchers:
        label = "#VER"
        try:
            head = [
                known_value(v.series) or value(v.series),
                known_value(v.number) or value(v.number),
                known_date(v.date) or fields.date(v.date),
                known_value(v.text) or value(v.text),
                known_date(v.registered_on) or fields.date(v.registered_on),
                known_value(v.signature) or value(v.signature),
            ]
            while len(head) > 3 and not head[-1][1]:
                head.pop()
            append("#VER " + " ".join([w for w, _ in head]))
            if checked is not None:
                checked.append("#VER" + "".join([c for _, c in head]))
            append("{")
            for r in v.rows:
                label = labels[r.kind]
                account, account_clean = known_value(r.account) or value(r.account)
                objects, objects_clean = known_objects(r.objects) or fields.objects(r.objects)
                day, day_clean = known_date(r.date) or fields.date(r.date)
                amount = _amount(r.amount)  # digits, sign, point: always bare
                text = r.text
                signature = r.signature
                quantity = r.quantity
                if not (text or signature or quantity is not None):
                    if day_clean:
                        append(f"{label} {account} {objects} {amount} {day}")
                    else:
                        append(f"{label} {account} {objects} {amount}")
                    if checked is not None:
                        checked.append(f"{label}{account_clean}{objects_clean}{amount}{day_clean}")
                    continue
                written_text, text_clean = known_value(text) or value(text)
                written_quantity = "" if quantity is None else _amount(quantity, 8)
                line = f"{label} {account} {objects} {amount} {day} {written_text}"
                if signature or written_quantity:
                    line += " " + (written_quantity or '""')
                    if signature:
                        line += " " + (known_value(signature) or value(signature))[0]
                append(line)
                if checked is not None:
                    checked.append(
                        f"{label}{account_clean}{objects_clean}{amount}{day_clean}"
                        f"{text_clean}{written_quantity}{value(signature)[1] if signature else ''}"
                    )
            append("}")
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None


def _clean(value: str) -> str:
    if not value.isascii():
        value = value.encode("cp437", errors="replace").decode("cp437")
    if _CONTROL.search(value):
        value = _CONTROL.sub(" ", value)
    return value


def _clean_objects(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_clean(v) for v in items)


def _format(label: str, fields: list[str | tuple[str, ...]]) -> str:
    parts = [label]
    try:
        for f in fields:
            if isinstance(f, tuple):
                parts.append("{" + " ".join(_quote_always(v) for v in f) + "}")
            else:
                parts.append(quote_field(f))
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    return " ".join(parts)


def _quote_always(value: str) -> str:
    if value.endswith("\\"):
        raise ValueError(f"cannot write a quoted SIE field ending in a backslash: {value!r}")
    return '"' + value.replace('"', '\\"') + '"'


_WRITABLE = {2: re.compile(r"-?\d+(?:\.\d{1,2})?"), 8: re.compile(r"-?\d+(?:\.\d{1,8})?")}


def _amount(value: Decimal, places: int = 2) -> str:
    """An amount (2 decimals at most) or a quantity (8): what the reader accepts, or ValueError."""
    text = format(value, "f")
    if not _WRITABLE[places].fullmatch(text):
        what = "amount" if places == 2 else "quantity"
        raise ValueError(f"cannot write {what} {value}: SIE takes at most {places} decimals")
    return text


def _date(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value is not None else ""


def _flat(objects: ObjectList) -> tuple[str, ...]:
    return tuple(item for pair in objects for item in pair)


def _trim(fields: list[str | tuple[str, ...]], keep: int) -> list[str | tuple[str, ...]]:
    """Drop trailing empty fields beyond the first ``keep`` ones."""
    while len(fields) > keep and fields[-1] == "":
        fields.pop()
    return fields


def _records(doc: SieDocument, ksumma: bool) -> Iterator[_Record]:
    yield "#FLAGGA", [str(doc.flag)]
    if ksumma:
        yield "#KSUMMA", []
    name, version = doc.program
    yield "#PROGRAM", _trim([name, version], 1)
    yield "#FORMAT", ["PC8"]
    if doc.generated_on is not None:
        yield "#GEN", _trim([_date(doc.generated_on), doc.generated_by], 1)
    yield "#SIETYP", [str(doc.sie_type)]
    c = doc.company
    if c.company_id:
        yield "#FNR", [c.company_id]
    if c.org_number or c.acquisition_number:
        yield "#ORGNR", _trim([c.org_number, c.acquisition_number], 1)
    if c.address is not None:
        a = c.address
        yield "#ADRESS", [a.contact, a.street, a.postal, a.phone]
    yield "#FNAMN", [c.name]
    if c.company_type:
        yield "#FTYP", [c.company_type]
    if c.sni_code:
        yield "#BKOD", [c.sni_code]
    for year in doc.fiscal_years:
        yield "#RAR", [str(year.index), _date(year.start), _date(year.end)]
    if doc.tax_year is not None:
        yield "#TAXAR", [str(doc.tax_year)]
    if doc.period_covered_to is not None:
        yield "#OMFATTN", [_date(doc.period_covered_to)]
    if doc.chart_type:
        yield "#KPTYP", [doc.chart_type]
    if doc.currency:
        yield "#VALUTA", [doc.currency]
    for account in doc.accounts:
        yield "#KONTO", [account.number, account.name]
        if account.account_type:
            yield "#KTYP", [account.number, account.account_type]
        if account.unit is not None:
            yield "#ENHET", [account.number, account.unit]
        for code in account.sru_codes:
            yield "#SRU", [account.number, code]
    for dim in doc.dimensions:
        if dim.parent is None:
            yield "#DIM", [dim.number, dim.name]
        else:
            yield "#UNDERDIM", [dim.number, dim.name, dim.parent]
    for obj in doc.objects:
        yield "#OBJEKT", [obj.dimension, obj.object_id, obj.name]
    for b in doc.balances:
        fields: list[str | tuple[str, ...]] = [str(b.year_index), b.account, _amount(b.amount)]
        if b.quantity is not None:
            fields.append(_amount(b.quantity, 8))
        yield "#" + b.kind.value, fields
    for ob in doc.object_balances:
        fields = [str(ob.year_index), ob.account, _flat(ob.objects), _amount(ob.amount)]
        if ob.quantity is not None:
            fields.append(_amount(ob.quantity, 8))
        yield "#" + ob.kind.value, fields
    for pb in doc.period_balances:
        fields = [
            str(pb.year_index),
            pb.period,
            pb.account,
            _flat(pb.objects),
            _amount(pb.amount),
        ]
        if pb.quantity is not None:
            fields.append(_amount(pb.quantity, 8))
        yield "#" + pb.kind.value, fields
