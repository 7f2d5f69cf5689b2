"""The bulk tables (voucher, voucher_row, ...) as the reader's Arrow tables map onto them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Warehouse column <- Arrow column of the bulk path (include/sie4/columns.py).
VOUCHER_COLUMNS = (
    ("voucher_index", "voucher_index"),
    ("series", "series"),
    ("number", "number"),
    ("voucher_date", "date"),
    ("text", "text"),
    ("registered_on", "registered_on"),
    ("signature", "signature"),
    ("line", "line"),
)
ROW_COLUMNS = (
    ("row_index", "row_index"),
    ("voucher_index", "voucher_index"),
    ("kind", "kind"),
    ("account", "account"),
    ("amount", "amount"),
    ("row_date", "date"),
    ("text", "text"),
    ("quantity", "quantity"),
    ("signature", "signature"),
    ("line", "line"),
    ("in_balance", "in_balance"),
)
ROW_OBJECT_COLUMNS = (
    ("row_index", "row_index"),
    ("position", "position"),
    ("dimension", "dimension"),
    ("object_id", "object_id"),
)


@dataclass(frozen=True, slots=True)
class Partition:
    """The keys every row of a partition carries."""

    company_id: int
    fiscal_year_start: date
    extract_id: str
