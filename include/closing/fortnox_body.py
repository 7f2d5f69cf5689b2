"""The body of ``POST /3/vouchers`` for one closing voucher, and the key it carries.

Fortnox has no idempotency key on voucher creation, and nothing to carry an external id but
``Description`` and ``Comments``. The export writes its key into ``Comments`` on a line of its
own, ``closing-key: <key>``, so that a voucher whose send had an unknown outcome can be found
by :func:`idempotency_key_in` before it is ever sent again.

Texts are never cut short: a description, row text or code over Fortnox's limit is an error
(the CSV import and the validation before approval refuse them first).
"""

from __future__ import annotations

import re
from typing import Any

from include.closing.models import (
    MAX_COMMENTS,
    MAX_DESCRIPTION,
    MAX_OBJECT_ID,
    MAX_ROW_TEXT,
    MAX_SERIES,
    ClosingVoucher,
)

KEY_PREFIX = "closing-key: "
_KEY_LINE = re.compile(r"^closing-key: (\S+)\s*$", re.MULTILINE)
_KEY_TEXT = re.compile(r"\S{8,200}")


def voucher_comments(voucher: ClosingVoucher, idempotency_key: str) -> str:
    """``Comments``: the key on its first line, then where the voucher came from."""
    if not _KEY_TEXT.fullmatch(idempotency_key):
        raise ValueError(f"idempotency key {idempotency_key!r}: 8-200 characters, no white space")
    origin = "closing adjustment" if voucher.origin == "adjustment" else "closing proposal"
    text = f"{KEY_PREFIX}{idempotency_key}\n{origin} {voucher.reference} ({voucher.kind})"
    if voucher.attachment is not None:
        text += f"\nattachment: {voucher.attachment.file_name}"
    if len(text) > MAX_COMMENTS:
        raise ValueError(f"voucher {voucher.reference}: Comments longer than {MAX_COMMENTS}")
    return text


def idempotency_key_in(comments: str | None) -> str | None:
    """The key a voucher's ``Comments`` carries, None if it carries none."""
    if not comments:
        return None
    found = _KEY_LINE.search(comments)
    return found.group(1) if found else None


def _limited(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise ValueError(f"{what} is longer than Fortnox's {limit} characters: {value[:40]!r}…")
    return value


def fortnox_voucher_body(voucher: ClosingVoucher, idempotency_key: str) -> dict[str, Any]:
    """``{"Voucher": {...}}`` as ``POST /3/vouchers`` takes it (amounts stay Decimal)."""
    where = f"voucher {voucher.reference}"
    rows: list[dict[str, Any]] = []
    for number, row in enumerate(voucher.rows, start=1):
        if not (row.account.isdigit() and len(row.account) == 4):
            raise ValueError(f"{where} row {number}: account {row.account!r} is not 4 digits")
        item: dict[str, Any] = {
            "Account": int(row.account),
            "Debit": row.debit,
            "Credit": row.credit,
        }
        if row.cost_centre:
            item["CostCenter"] = _limited(row.cost_centre, MAX_OBJECT_ID, f"{where} row {number}")
        if row.project:
            item["Project"] = _limited(row.project, MAX_OBJECT_ID, f"{where} row {number}")
        if row.text:
            item["TransactionInformation"] = _limited(
                row.text, MAX_ROW_TEXT, f"{where} row {number} text"
            )
        rows.append(item)
    return {
        "Voucher": {
            "VoucherSeries": _limited(voucher.series, MAX_SERIES, f"{where} series"),
            "TransactionDate": voucher.voucher_date.isoformat(),
            "Description": _limited(voucher.description, MAX_DESCRIPTION, f"{where} description"),
            "Comments": voucher_comments(voucher, idempotency_key),
            "VoucherRows": rows,
        }
    }
