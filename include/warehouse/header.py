"""Rows of the small partition tables (accounts, dimensions, objects, balances, years).

They come from the document's header records and go through SQLAlchemy Core:
a few thousand rows at most, so no bulk path is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from include.sie4.records import SieDocument


def objects_json(objects: Sequence[tuple[str, str]]) -> str:
    return json.dumps([list(pair) for pair in objects], ensure_ascii=False)


def header_rows(
    doc: SieDocument, fy_start: date, fy_end: date, from_file: bool
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the small partition tables (without company_id/fiscal_year_start/extract_id)."""
    years: dict[int, dict[str, Any]] = {}
    for y in doc.fiscal_years:
        years[y.index] = {"year_index": y.index, "start_date": y.start, "end_date": y.end}
    if 0 not in years:
        years[0] = {"year_index": 0, "start_date": fy_start, "end_date": fy_end}
    for row in years.values():
        row["from_file"] = from_file or row["year_index"] != 0

    # Repeated definitions: the later record wins, as in SieDocument.balances_of.
    accounts = {
        a.number: {
            "account": a.number,
            "name": a.name,
            "account_type": a.account_type,
            "unit": a.unit,
            "sru_code": a.sru_codes[0] if a.sru_codes else None,
            "sru_codes": " ".join(a.sru_codes) if a.sru_codes else None,
            "line": a.line,
        }
        for a in doc.accounts
    }
    dimensions = {
        d.number: {"dimension": d.number, "name": d.name, "parent": d.parent, "line": d.line}
        for d in doc.dimensions
    }
    objects = {
        (o.dimension, o.object_id): {
            "dimension": o.dimension,
            "object_id": o.object_id,
            "name": o.name,
            "line": o.line,
        }
        for o in doc.objects
    }
    last_of: dict[tuple[str, int, str], int] = {}
    for i, b in enumerate(doc.balances):
        last_of[(b.kind.value, b.year_index, b.account)] = i
    balances = [
        {
            "record_index": i,
            "kind": b.kind.value,
            "year_index": b.year_index,
            "account": b.account,
            "amount": b.amount,
            "quantity": b.quantity,
            "is_effective": last_of[(b.kind.value, b.year_index, b.account)] == i,
            "line": b.line,
        }
        for i, b in enumerate(doc.balances)
    ]
    period_balances = [
        {
            "record_index": i,
            "kind": p.kind.value,
            "year_index": p.year_index,
            "period": p.period,
            "account": p.account,
            "objects": objects_json(p.objects),
            "amount": p.amount,
            "quantity": p.quantity,
            "line": p.line,
        }
        for i, p in enumerate(doc.period_balances)
    ]
    object_balances = [
        {
            "record_index": i,
            "kind": o.kind.value,
            "year_index": o.year_index,
            "account": o.account,
            "dimension": o.objects[0][0] if o.objects else None,
            "object_id": o.objects[0][1] if o.objects else None,
            "objects": objects_json(o.objects),
            "amount": o.amount,
            "quantity": o.quantity,
            "line": o.line,
        }
        for i, o in enumerate(doc.object_balances)
    ]
    return {
        "fiscal_year": sorted(years.values(), key=lambda r: r["year_index"]),
        "account": list(accounts.values()),
        "dimension": list(dimensions.values()),
        "object": list(objects.values()),
        "balance": balances,
        "period_balance": period_balances,
        "object_balance": object_balances,
    }
