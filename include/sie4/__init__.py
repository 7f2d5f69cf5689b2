"""SIE 4 reader, writer and validation (SIE 4E/4I and the balance types 1-3).

from include.sie4 import read_sie, write_sie, read_columns
doc = read_sie("books.se")              # strict; SieError lists every error
doc = read_sie("other.se", lenient=True) # tolerable defects become warnings
data = write_sie(doc, ksumma=True)       # CP437 bytes
cols = read_columns("big.se")            # Arrow tables, no object per row
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from include.sie4.errors import SieError
from include.sie4.records import (
    Account,
    Balance,
    BalanceKind,
    CompanyInfo,
    Diagnostic,
    FiscalYear,
    KsummaStatus,
    RowKind,
    SieDocument,
    Voucher,
    VoucherRow,
)

if TYPE_CHECKING:
    from include.sie4.bulk import SieColumns, document_to_columns, read_columns
    from include.sie4.reader import read_sie
    from include.sie4.writer import write_sie

__all__ = [
    "Account",
    "Balance",
    "BalanceKind",
    "CompanyInfo",
    "Diagnostic",
    "FiscalYear",
    "KsummaStatus",
    "RowKind",
    "SieColumns",
    "SieDocument",
    "SieError",
    "Voucher",
    "VoucherRow",
    "document_to_columns",
    "read_columns",
    "read_sie",
    "write_sie",
]

_LAZY = {
    "read_sie": "include.sie4.reader",
    "write_sie": "include.sie4.writer",
    "read_columns": "include.sie4.bulk",
    "document_to_columns": "include.sie4.bulk",
    "SieColumns": "include.sie4.bulk",
}


def __getattr__(name: str) -> Any:
    # Lazy so that importing the records does not import pyarrow.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
