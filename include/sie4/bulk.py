"""The bulk (columnar) path: a SIE file's vouchers and rows as Arrow tables.

    cols = read_columns("big.se")          # same errors as read_sie, no object per row
    cols = document_to_columns(read_sie("big.se"))   # the same tables, via records

Design: the few header lines (everything outside ``#VER`` blocks) go through
the record reader's parser with the voucher lines blanked, so line numbers,
messages and the header records are the record path's own. The voucher lines
are parsed column-wise with polars regexes; the voucher checks (balance,
undeclared accounts, empty blocks, RTRANS twins) are vectorised. Anything
irregular in the voucher section (a line the fast grammar does not accept, a
bad value, broken block structure, Latin-1 bytes, a record after a closing
``#KSUMMA``) falls back to the record path, which gives the exact diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from include.sie4 import reader as _reader
from include.sie4.checksum import check_ksumma
from include.sie4.columns import (
    ROW_OBJECT_SCHEMA,
    ROW_SCHEMA,
    VOUCHER_SCHEMA,
)
from include.sie4.errors import SieError
from include.sie4.records import Diagnostic, SieDocument

__all__ = ["SieColumns", "document_to_columns", "read_columns"]


@dataclass(frozen=True, slots=True)
class SieColumns:
    """A SIE file as tables: ``document`` holds the header records (``vouchers=()``)."""

    document: SieDocument
    vouchers: pa.Table
    rows: pa.Table
    row_objects: pa.Table


# -- the record path's tables ----------------------------------------------------


def document_to_columns(doc: SieDocument) -> SieColumns:
    """The tables of a document read by the record path (the reference for the bulk path)."""
    v_cols: dict[str, list[object]] = {f.name: [] for f in VOUCHER_SCHEMA}
    r_cols: dict[str, list[object]] = {f.name: [] for f in ROW_SCHEMA}
    o_cols: dict[str, list[object]] = {f.name: [] for f in ROW_OBJECT_SCHEMA}
    row_index = 0
    for voucher_index, v in enumerate(doc.vouchers):
        v_cols["voucher_index"].append(voucher_index)
        v_cols["series"].append(v.series)
        v_cols["number"].append(v.number)
        v_cols["date"].append(v.date)
        v_cols["text"].append(v.text)
        v_cols["registered_on"].append(v.registered_on)
        v_cols["signature"].append(v.signature)
        v_cols["line"].append(v.line)
        for r in v.rows:
            r_cols["row_index"].append(row_index)
            r_cols["voucher_index"].append(voucher_index)
            r_cols["kind"].append(r.kind.value)
            r_cols["account"].append(r.account)
            r_cols["amount"].append(r.amount)
            r_cols["date"].append(r.date)
            r_cols["text"].append(r.text)
            r_cols["quantity"].append(r.quantity)
            r_cols["signature"].append(r.signature)
            r_cols["line"].append(r.line)
            r_cols["in_balance"].append(r.in_balance)
            for position, (dimension, object_id) in enumerate(r.objects):
                o_cols["row_index"].append(row_index)
                o_cols["position"].append(position)
                o_cols["dimension"].append(dimension)
                o_cols["object_id"].append(object_id)
            row_index += 1
    return SieColumns(
        document=replace(doc, vouchers=()),
        vouchers=pa.table(v_cols, schema=VOUCHER_SCHEMA),
        rows=pa.table(r_cols, schema=ROW_SCHEMA),
        row_objects=pa.table(o_cols, schema=ROW_OBJECT_SCHEMA),
    )


def _record_path(data: bytes, name: str, lenient: bool) -> SieColumns:
    return document_to_columns(_reader.read_sie(data, lenient=lenient, source_name=name))


# -- the fast grammar --------------------------------------------------------------

# A subset of the lexer's grammar (include.sie4.lexer) whose reading is unambiguous:
# a quoted field whose backslash runs end in a quote (escape) or another character,
# a bare field without quotes or braces; fields separated by spaces or tabs.
_QUOTED = r'"(?:[^"\\]|\\+(?:"|[^"\\]))*"'
_BARE = r'[^ \t"{}][^ \t"{}]*'
_TOK = f"(?:{_QUOTED}|{_BARE})"
_SEP = r"[ \t]+"
_OPT = f"(?:{_SEP}({_TOK}))?"
_ROW = (
    rf"^#(TRANS|RTRANS|BTRANS){_SEP}({_TOK}){_SEP}"
    rf"\{{[ \t]*((?:{_TOK}{_SEP}{_TOK}(?:{_SEP}{_TOK}{_SEP}{_TOK})*)?)[ \t]*\}}"
    rf"{_SEP}({_TOK}){_OPT}{_OPT}{_OPT}{_OPT}$"
)
_ROW_FIELDS = ("kind", "account", "objects", "amount", "date", "text", "quantity", "signature")
_VER = rf"^#VER{_SEP}({_TOK}){_SEP}({_TOK}){_SEP}({_TOK}){_OPT}{_OPT}{_OPT}$"
_VER_FIELDS = ("series", "number", "date", "text", "registered_on", "signature")
# Characters str.strip()/split() treat as whitespace, and control characters: the
# record reader handles lines holding them differently, so they go to it.
_ODD_CHARS = (
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]|\r."
)
# Line classes.
_BLANK, _HEADER, _VER_LINE, _OPEN, _ROW_LINE, _CLOSE = range(6)

_AMOUNT_OK = r"^-?\d{1,16}(?:\.\d{1,2})?$"
_QUANTITY_OK = r"^-?\d{1,20}(?:\.\d{1,8})?$"
_ACCOUNT_OK = r"^\d{1,6}$"
_DATE_OK = r"^\d{8}$"

_BOM = b"\xef\xbb\xbf"


class _Fallback(Exception):
    """The fast path cannot vouch for an exact reading: use the record path."""


def _unquote(col: str) -> pl.Expr:
    """A token's value: quotes removed and \\" read as " (the lexer's rule)."""
    c = pl.col(col)
    inner = c.str.slice(1, c.str.len_chars() - 2).str.replace_all('\\"', '"', literal=True)
    return pl.when(c.str.starts_with('"')).then(inner).otherwise(c).alias(col)


# -- bytes -> lines ------------------------------------------------------------------


def _encoding_of(data: bytes) -> str:
    """The reader's choice (decode_sie_bytes) without decoding a big file twice."""
    if data.isascii():
        return "cp437"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    raw = np.frombuffer(data, dtype=np.uint8)
    counts = np.bincount(raw[raw >= 0x80], minlength=256)
    latin = int(counts[list(_reader._LATIN1_SWEDISH)].sum())
    cp437 = int(counts[list(_reader._CP437_SWEDISH)].sum())
    return "latin-1" if latin > cp437 else "cp437"


def _to_utf8(data: bytes, encoding: str) -> bytes:
    if encoding != "cp437" or data.isascii():
        return data
    # Chunked so the decoded str never holds the whole file.
    step = 1 << 22
    return b"".join(
        data[i : i + step].decode("cp437").encode("utf-8") for i in range(0, len(data), step)
    )


def _lines(utf8: bytes) -> pa.StringArray:
    """``text.split("\\n")`` as an Arrow array over the same buffer (no copy)."""
    raw = np.frombuffer(utf8, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    n = len(newlines) + 1
    if len(utf8) >= 2**31:
        raise _Fallback  # 32-bit offsets
    offsets = np.empty(n + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:n] = newlines + 1
    offsets[n] = len(utf8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(utf8))


# -- read_columns ----------------------------------------------------------------


def read_columns(source: str | Path | bytes, *, lenient: bool = False) -> SieColumns:
    """Read a SIE file into Arrow tables; equal to ``document_to_columns(read_sie(source))``.

    Raises SieError with the same errors as read_sie when the file has errors.
    """
    if isinstance(source, bytes):
        name, data = "<bytes>", source
    else:
        name = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError:
            # The reader reports a missing or unreadable file in its own words.
            return document_to_columns(_reader.read_sie(source, lenient=lenient))
    try:
        return _fast(data, name, lenient)
    except _Fallback:
        return _record_path(data, name, lenient)


def _fast(data: bytes, name: str, lenient: bool) -> SieColumns:
    if data.startswith(_BOM):
        data = data[3:]
    if not data.strip() or b"\x00" in data:
        raise _Fallback  # the reader reports the file as unreadable
    encoding = _encoding_of(data)
    if encoding == "latin-1":
        raise _Fallback  # rare; the reader's cp1252/latin-1 choice needs the whole text
    lines = _lines(_to_utf8(data, encoding))
    del data
    # The reader strips each line; with no odd whitespace, " \t\r" is the same strip.
    raw = pl.Series("line", lines, dtype=pl.String)
    del lines
    if raw.str.contains(_ODD_CHARS).any():
        raise _Fallback
    stripped = raw.str.strip_chars(" \t\r\n")
    del raw
    cls = _classify(stripped)
    _check_structure(cls)

    # Header: the reader's own parser over the file with its voucher lines blanked.
    header_at = np.flatnonzero(cls == _HEADER)
    line_list: list[str] = [""] * len(stripped)
    for i, text in zip(header_at.tolist(), stripped.gather(header_at).to_list(), strict=True):
        line_list[i] = text
    decode_warnings: list[Diagnostic] = []
    if encoding == "utf-8":
        # The encoding warning names the #FORMAT line: line numbers are kept, and the
        # trailing letter keeps the reader's choice UTF-8 when the header is ASCII.
        probe = ("\n".join(line_list) + "\n\u00e5").encode("utf-8")
        _, _, decode_warnings = _reader.decode_sie_bytes(probe)
        del probe
    parser = _reader._Parser(lenient=lenient, verify_checksum=False)
    parser.warnings.extend(decode_warnings)
    parser.run(line_list)

    voucher_lines = np.flatnonzero(cls >= _VER_LINE)
    if "#KSUMMA" in parser.counts:
        last_ksumma = max(i for i in header_at.tolist() if line_list[i].startswith("#KSUMMA"))
        if len(voucher_lines) and voucher_lines[-1] > last_ksumma:
            raise _Fallback  # records after the closing #KSUMMA: the reader warns per line
        status, diagnostics = check_ksumma(stripped.to_list())
        parser.ksumma_status = status
        parser.errors.extend(d for d in diagnostics if "mismatch" in d.message)
    del line_list

    ver, row = _parse_vouchers(
        stripped, np.flatnonzero(cls == _VER_LINE), np.flatnonzero(cls == _ROW_LINE)
    )
    del stripped
    if len(ver):
        parser.counts["#VER"] = parser.counts.get("#VER", 0) + len(ver)
        for kind, count in row["kind"].value_counts().iter_rows():
            parser.counts["#" + kind] = parser.counts.get("#" + kind, 0) + count
        parser.known_records += len(ver) + len(row)
    if not parser.known_records:
        raise _Fallback
    errors, warnings = _voucher_diagnostics(ver, row, parser.declared, lenient)
    if any(d.line == 1 for d in errors + warnings):
        raise _Fallback  # would tie with whole-file findings on line 1
    parser.errors.extend(errors)
    parser.warnings.extend(warnings)
    document = parser.build(encoding)
    all_errors = tuple(sorted(parser.errors, key=lambda d: d.line))
    all_warnings = tuple(sorted(parser.warnings, key=lambda d: d.line))
    if all_errors:
        raise SieError(all_errors, source=name, warnings=all_warnings)
    vouchers = ver.select(VOUCHER_SCHEMA.names).to_arrow().cast(VOUCHER_SCHEMA)
    del ver
    objects = _parse_objects(row)
    rows = row.select(ROW_SCHEMA.names).to_arrow().cast(ROW_SCHEMA)
    return SieColumns(
        document=replace(document, warnings=all_warnings),
        vouchers=vouchers,
        rows=rows,
        row_objects=objects,
    )


def _classify(stripped: pl.Series) -> np.ndarray:
    head = pl.col("l").str.slice(0, 8)
    frame = pl.DataFrame({"l": stripped})
    return (
        frame.select(
            pl.when(pl.col("l") == "")
            .then(pl.lit(_BLANK))
            .when(pl.col("l") == "{")
            .then(pl.lit(_OPEN))
            .when(pl.col("l") == "}")
            .then(pl.lit(_CLOSE))
            .when(head.str.contains(r"^#(?:TRANS|RTRANS|BTRANS)(?:[ \t{}]|$)"))
            .then(pl.lit(_ROW_LINE))
            .when(head.str.contains(r"^#VER(?:[ \t{}]|$)"))
            .then(pl.lit(_VER_LINE))
            .otherwise(pl.lit(_HEADER))
            .cast(pl.Int8)
        )
        .to_series()
        .to_numpy()
    )


def _check_structure(cls: np.ndarray) -> None:
    """Every #VER is followed by '{', rows and '}', with nothing else in between."""
    seq = cls[cls != _BLANK]
    if len(seq) == 0:
        return
    nxt = np.append(seq[1:], _HEADER)
    prv = np.insert(seq[:-1], 0, _HEADER)
    inside = (seq == _OPEN) | (seq == _ROW_LINE)
    closes = seq == _CLOSE
    ok = (
        np.all(nxt[seq == _VER_LINE] == _OPEN)
        and np.all(prv[seq == _OPEN] == _VER_LINE)
        and np.all((nxt[inside] == _ROW_LINE) | (nxt[inside] == _CLOSE))
        and np.all((prv[closes] == _OPEN) | (prv[closes] == _ROW_LINE))
    )
    if not ok:
        raise _Fallback


def _parse_vouchers(
    stripped: pl.Series, ver_at: np.ndarray, row_at: np.ndarray
) -> tuple[pl.DataFrame, pl.DataFrame]:
    ver = stripped.gather(ver_at).str.extract_groups(_VER).struct.unnest()
    ver.columns = list(_VER_FIELDS)
    if ver["series"].null_count():
        raise _Fallback
    ver = ver.with_columns(_unquote(c) for c in _VER_FIELDS)
    _require(ver, "date", _DATE_OK, optional=False)
    _require(ver, "registered_on", _DATE_OK, optional=True)
    ver = ver.with_columns(
        pl.Series("voucher_index", np.arange(len(ver_at), dtype=np.int32)),
        pl.Series("line", (ver_at + 1).astype(np.int32)),
        _to_date("date"),
        _to_date("registered_on"),
        pl.col("text").fill_null(""),
        pl.col("signature").fill_null(""),
    )

    row = stripped.gather(row_at).str.extract_groups(_ROW).struct.unnest()
    row.columns = list(_ROW_FIELDS)
    if row["kind"].null_count():
        raise _Fallback
    row = row.with_columns(_unquote(c) for c in _ROW_FIELDS if c not in ("kind", "objects"))
    _require(row, "account", _ACCOUNT_OK, optional=False)
    _require(row, "amount", _AMOUNT_OK, optional=False)
    _require(row, "date", _DATE_OK, optional=True)
    _require(row, "quantity", _QUANTITY_OK, optional=True)
    # The voucher of each row: the last #VER line before it.
    voucher_index = (np.searchsorted(ver_at, row_at, side="right") - 1).astype(np.int32)
    row = row.with_columns(
        pl.Series("row_index", np.arange(len(row_at), dtype=np.int64)),
        pl.Series("voucher_index", voucher_index),
        pl.Series("line", (row_at + 1).astype(np.int32)),
        _to_date("date"),
        pl.col("text").fill_null(""),
        pl.col("signature").fill_null(""),
        pl.col("amount").alias("amount_text"),
        pl.col("amount").cast(pl.Decimal(18, 2)),
        pl.when(pl.col("quantity") == "")
        .then(None)
        .otherwise(pl.col("quantity"))
        .cast(pl.Decimal(28, 8))
        .alias("quantity"),
    )
    # RTRANS directly followed by TRANS in the same voucher: the twin counts, it does not.
    paired = (
        (pl.col("kind") == "RTRANS")
        & (pl.col("kind").shift(-1) == "TRANS")
        & (pl.col("voucher_index").shift(-1) == pl.col("voucher_index"))
    ).fill_null(False)
    row = row.with_columns(paired.alias("paired")).with_columns(
        ((pl.col("kind") != "BTRANS") & ~pl.col("paired")).alias("in_balance")
    )
    return ver, row


def _require(df: pl.DataFrame, col: str, pattern: str, *, optional: bool) -> None:
    """Every value matches the reader's rule, else the reader must report it."""
    values = df[col]
    if optional:
        values = values.filter(values.is_not_null() & (values != ""))
    elif values.null_count():
        raise _Fallback
    if len(values) and not values.str.contains(pattern).all():
        raise _Fallback
    if pattern is _DATE_OK and values.str.strptime(pl.Date, "%Y%m%d", strict=False).null_count():
        raise _Fallback  # eight digits but not a calendar date


def _to_date(col: str) -> pl.Expr:
    c = pl.col(col)
    parsed = c.str.strptime(pl.Date, "%Y%m%d", strict=False)
    return pl.when(c.is_null() | (c == "")).then(None).otherwise(parsed).alias(col)


def _parse_objects(row: pl.DataFrame) -> pa.Table:
    items = (
        row.lazy()
        .select("row_index", "objects")
        .filter(pl.col("objects").is_not_null() & (pl.col("objects") != ""))
        .with_columns(pl.col("objects").str.extract_all(_TOK).alias("item"))
        .select("row_index", "item")
        .explode("item")
        .with_columns(_unquote("item"))
        .with_columns(pl.int_range(pl.len()).over("row_index").alias("n"))
        .collect()
    )
    dims = items.filter(pl.col("n") % 2 == 0).select(
        "row_index",
        (pl.col("n") // 2).cast(pl.Int16).alias("position"),
        pl.col("item").alias("dimension"),
    )
    objs = items.filter(pl.col("n") % 2 == 1).select(pl.col("item").alias("object_id"))
    return pl.concat([dims, objs], how="horizontal").to_arrow().cast(ROW_OBJECT_SCHEMA)


def _voucher_diagnostics(
    ver: pl.DataFrame, row: pl.DataFrame, declared: set[str], lenient: bool
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The record path's voucher checks, vectorised: (errors, warnings)."""
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []

    def tolerable(line: int, message: str) -> None:
        if lenient:
            warnings.append(Diagnostic(line, message, "warning"))
        else:
            errors.append(Diagnostic(line, message, "error"))

    used = row["voucher_index"].unique()
    for line in ver.filter(~pl.col("voucher_index").is_in(used.implode()))["line"].to_list():
        warnings.append(Diagnostic(line, "voucher has an empty { } block: no rows", "warning"))
    twins = row.with_columns(
        pl.col("account").shift(-1).alias("twin_account"),
        pl.col("amount").shift(-1).alias("twin_amount"),
        pl.col("line").shift(-1).alias("twin_line"),
    ).filter(
        pl.col("paired")
        & (
            (pl.col("account") != pl.col("twin_account"))
            | (pl.col("amount") != pl.col("twin_amount"))
        )
    )
    for rline, tline in twins.select("line", "twin_line").iter_rows():
        warnings.append(
            Diagnostic(
                tline,
                f"#TRANS after #RTRANS (line {rline}) differs in account or amount; "
                "paired by position",
                "warning",
            )
        )
    unbalanced = (
        row.filter(pl.col("in_balance"))
        .group_by("voucher_index")
        .agg(pl.col("amount").sum().alias("total"))
        .filter(pl.col("total") != 0)["voucher_index"]
    )
    if len(unbalanced):
        # The message shows the Decimal sum exactly as the record path computes it.
        texts = dict(
            row.filter(pl.col("in_balance") & pl.col("voucher_index").is_in(unbalanced.implode()))
            .group_by("voucher_index")
            .agg(pl.col("amount_text"))
            .iter_rows()
        )
        heads = ver.filter(pl.col("voucher_index").is_in(unbalanced.implode())).sort("line")
        for vi, series, number, line in heads.select(
            "voucher_index", "series", "number", "line"
        ).iter_rows():
            total = sum((Decimal(a) for a in texts[vi]), Decimal(0))
            tolerable(
                line,
                f"voucher {series or '-'} {number or '-'} does not balance: rows sum to {total}",
            )
    if declared:  # only checked when the file has a chart of accounts
        firsts = (
            row.filter(~pl.col("account").is_in(pl.Series(sorted(declared)).implode()))
            .group_by("account")
            .agg(pl.col("line").min())
            .sort("line")
        )
        for account, line in firsts.iter_rows():
            tolerable(line, f"account {account} is used but not declared by #KONTO")
    return errors, warnings
