"""Exact column types that behave the same on PostgreSQL and SQLite.

PostgreSQL stores money as ``NUMERIC(18,2)``. SQLite has no exact decimal type
(``NUMERIC`` affinity turns 0.10 into a float), so there money is an INTEGER
number of öre and quantities are fixed-point text. The analyst views show money
in kronor on both: ``NUMERIC(18,2)`` on PostgreSQL, exact decimal text
(``kronor_text``) on SQLite. Python always sees ``Decimal``; floats are refused.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENT = Decimal("0.01")
QUANTITY_STEP = Decimal("1E-8")
_KRONOR_TEXT = re.compile(r"-?[0-9]+\.[0-9]{2}")


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


def kronor_text(value: object) -> str:
    """The analyst views' SQLite text of an amount: ``-16502155.90``, ``0.00`` (never ``-0.00``).

    One text per amount, so equal amounts compare equal as text; the views build the same
    text from integer öre in SQL.
    """
    ore = to_ore(value)
    sign = "-" if ore < 0 else ""
    return f"{sign}{abs(ore) // 100}.{abs(ore) % 100:02d}"


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


class Kronor(TypeDecorator[Decimal]):
    """A money column of the analyst views: ``NUMERIC(18,2)`` on PostgreSQL, the exact
    decimal text of :func:`kronor_text` on SQLite; Decimal in Python.

    Only for reading views: tables store money as :class:`Money`. On SQLite an integer here
    would be öre or kronor, nobody can tell which, so it is refused like a float.
    """

    impl = sa.Numeric(18, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return kronor_text(value)  # equality with a view column is text equality there
        return Decimal(to_ore(value)) / 100

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if not isinstance(value, str) or _KRONOR_TEXT.fullmatch(value) is None:
                raise TypeError(f"SQLite returned {value!r} for a kronor column, not exact text")
            return Decimal(value)
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
