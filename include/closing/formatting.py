"""Amounts as a Swedish reader writes them: ``1 234 567,89`` (thin grouping, decimal comma)."""

from __future__ import annotations

from decimal import Decimal

from include.closing.models import CENT


def kronor(amount: Decimal) -> str:
    """``Decimal("-1234567.8")`` -> ``"-1 234 567,80"``; exact, no float on the way."""
    text = format(amount.quantize(CENT), ",f")  # "-1,234,567.80"
    return text.replace(",", " ").replace(".", ",")
