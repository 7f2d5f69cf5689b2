"""Exact column types that behave the same on PostgreSQL and SQLite.

PostgreSQL stores money as ``NUMERIC(18,2)``. SQLite has no exact decimal type
(``NUMERIC`` affinity turns 0.10 into a float), so there money is an INTEGER
number of öre and quantities are fixed-point text. Python always sees
``Decimal``; floats are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("1E-8")


def _as_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{what} must be Decimal, int or str, not {type(value).__name__}")


def to_ore(value: object) -> int:
    """Exact conversion of an amount to integer öre; more than 2 decimals is an error."""
    amount = _as_decimal(value, "money")
    ore = amount * 100
    if ore != ore.to_integral_value():
        raise ValueError(f"money amount {amount} has more than 2 decimals")
    return int(ore)


def quantity_text(value: object) -> str:
    """The canonical SQLite text of a quantity: fixed point with 8 decimals."""
    return format(_as_decimal(value, "quantity").quantize(QUANTITY_STEP), "f")


class Money(TypeDecorator[Decimal]):
    """``NUMERIC(18,2)`` on PostgreSQL, INTEGER öre on SQLite; Decimal in Python."""

    impl = sa.Numeric(18, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        ore = to_ore(value)  # the same check on both: exact, at most 2 decimals, never float
        if dialect.name == "sqlite":
            return ore
        return Decimal(ore) / 100

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):
                raise TypeError("SQLite returned a float for a money column")
            return (Decimal(int(value)) / 100).quantize(CENT)
        return Decimal(value).quantize(CENT)


class Quantity(TypeDecorator[Decimal]):
    """``NUMERIC(28,8)`` on PostgreSQL, fixed-point TEXT on SQLite; Decimal in Python."""

    impl = sa.Numeric(28, 8, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(28, 8, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return quantity_text(value)
        return _as_decimal(value, "quantity")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("database returned a float for a quantity column")
        return Decimal(value)
