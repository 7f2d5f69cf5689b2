"""Money and quantity types: exact on both databases, floats refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from include.warehouse.types import Money, Quantity, quantity_text, to_ore


@pytest.mark.parametrize(
    ("value", "ore"),
    [(Decimal("0.10"), 10), (Decimal("-1234.5"), -123450), (7, 700), ("0.01", 1), (Decimal(0), 0)],
)
def test_to_ore_is_exact(value: object, ore: int) -> None:
    assert to_ore(value) == ore


def test_to_ore_refuses_floats_and_fractions_of_ore() -> None:
    with pytest.raises(TypeError, match="float"):
        to_ore(0.1)
    with pytest.raises(ValueError, match="more than 2 decimals"):
        to_ore(Decimal("1.005"))


def test_quantity_text_is_fixed_point() -> None:
    assert quantity_text(Decimal("2.5")) == "2.50000000"
    assert quantity_text(Decimal("-3")) == "-3.00000000"


def test_round_trip_on_sqlite_keeps_decimals_exact(tmp_path: object) -> None:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    t = sa.Table("t", meta, sa.Column("m", Money), sa.Column("q", Quantity))
    meta.create_all(engine)
    values = [Decimal("0.10"), Decimal("0.20"), Decimal("99999999999999.99"), Decimal("-0.01")]
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"m": v, "q": Decimal("1.25")} for v in values])
        raw = conn.exec_driver_sql("SELECT m, q FROM t").all()
        assert [r[0] for r in raw] == [10, 20, 9999999999999999, -1]  # stored as öre
        back = conn.execute(sa.select(t.c.m, t.c.q)).all()
        total = conn.execute(sa.select(sa.func.sum(t.c.m))).scalar_one()
    assert [r.m for r in back] == values
    assert all(r.q == Decimal("1.25") for r in back)
    assert total == sum(values)  # 0.10 + 0.20 is exactly 0.30 here
    engine.dispose()


def test_postgres_refuses_fractions_of_ore_instead_of_rounding(pg_schema_url: str) -> None:
    # NUMERIC(18,2) would silently round 1.005 to 1.01: the type checks first, as on SQLite.
    engine = sa.create_engine(pg_schema_url)
    meta = sa.MetaData()
    t = sa.Table("money_check", meta, sa.Column("m", Money))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"m": Decimal("1234.50")}])
        assert conn.execute(sa.select(t.c.m)).scalar_one() == Decimal("1234.50")
    with pytest.raises(sa.exc.StatementError, match="decimals"), engine.begin() as conn:
        conn.execute(t.insert(), [{"m": Decimal("1.005")}])
    with pytest.raises(sa.exc.StatementError, match="float"), engine.begin() as conn:
        conn.execute(t.insert(), [{"m": 0.1}])
    engine.dispose()
