"""Exact JSON for money: Decimal in, Decimal out, never a float on the way."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

JsonValue = Any


def _encode(value: JsonValue, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        # Plain notation ("1250.50", never "1.2505E+3") so every client reads it exactly.
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats are not allowed in sandbox answers; use Decimal")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: JsonValue) -> bytes:
    """UTF-8 JSON bytes; Decimal is written as a JSON number with all its digits."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def loads(data: bytes | str) -> JsonValue:
    """Parse JSON with decimals as Decimal (raises json.JSONDecodeError / UnicodeDecodeError)."""
    return json.loads(data, parse_float=Decimal)
