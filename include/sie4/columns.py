"""Arrow schemas of the bulk (columnar) path: the contract with the warehouse loader.

``read_columns`` (in ``bulk``) and ``document_to_columns`` produce these
tables; for the same file they must be equal. Money is ``decimal128``, never
float. Row and voucher indexes are 0-based positions in file order.
"""

from __future__ import annotations

import pyarrow as pa

AMOUNT_TYPE = pa.decimal128(18, 2)
QUANTITY_TYPE = pa.decimal128(28, 8)

VOUCHER_SCHEMA = pa.schema(
    [
        pa.field("voucher_index", pa.int32(), nullable=False),
        pa.field("series", pa.string(), nullable=False),
        pa.field("number", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("registered_on", pa.date32()),
        pa.field("signature", pa.string(), nullable=False),
        pa.field("line", pa.int32(), nullable=False),
    ]
)

ROW_SCHEMA = pa.schema(
    [
        pa.field("row_index", pa.int64(), nullable=False),
        pa.field("voucher_index", pa.int32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # TRANS / RTRANS / BTRANS
        pa.field("account", pa.string(), nullable=False),
        pa.field("amount", AMOUNT_TYPE, nullable=False),
        pa.field("date", pa.date32()),  # null: the voucher's date
        pa.field("text", pa.string(), nullable=False),
        pa.field("quantity", QUANTITY_TYPE),
        pa.field("signature", pa.string(), nullable=False),
        pa.field("line", pa.int32(), nullable=False),
        pa.field("in_balance", pa.bool_(), nullable=False),
    ]
)

ROW_OBJECT_SCHEMA = pa.schema(
    [
        pa.field("row_index", pa.int64(), nullable=False),
        pa.field("position", pa.int16(), nullable=False),
        pa.field("dimension", pa.string(), nullable=False),
        pa.field("object_id", pa.string(), nullable=False),
    ]
)
