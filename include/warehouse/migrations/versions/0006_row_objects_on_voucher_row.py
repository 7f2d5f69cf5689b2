"""A row's objects move onto voucher_row; voucher_row_object becomes a view; extract.generated_on.

voucher_row gains ``cost_centre`` (dimension 1), ``project`` (dimension 6) and
``objects`` (every object of the row, JSON ``[["1", "98"], ...]`` as in
period_balance.objects; null when the row has none). A table of one row per
object doubled the rows a load writes for books kept with cost centres; these
columns cost a load little, and analysts group by ``cost_centre`` directly.
The view ``voucher_row_object`` has the old table's columns, so old queries
keep working; it expands ``objects`` with json_each on SQLite and
json_array_elements on PostgreSQL, with the same rows on both.

``extract.generated_on`` is the file's ``#GEN`` date: the loader refuses an
extract older than the partition's current one.

Existing rows are moved in Python (one pass over the old table), so the JSON
text is exactly what the loader writes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COST_CENTRE, PROJECT = "1", "6"  # the SIE format's reserved dimension numbers

VIEW = {
    "sqlite": """
CREATE VIEW voucher_row_object AS
SELECT
    r.company_id,
    r.fiscal_year_start,
    r.row_index,
    o.key AS position,
    json_extract(o.value, '$[0]') AS dimension,
    json_extract(o.value, '$[1]') AS object_id,
    r.extract_id
FROM voucher_row r, json_each(r.objects) o
WHERE r.objects IS NOT NULL
""",
    "postgresql": """
CREATE VIEW voucher_row_object AS
SELECT
    r.company_id,
    r.fiscal_year_start,
    r.row_index,
    CAST(o.ordinality - 1 AS SMALLINT) AS position,
    o.pair ->> 0 AS dimension,
    o.pair ->> 1 AS object_id,
    r.extract_id
FROM voucher_row r
CROSS JOIN LATERAL json_array_elements(CAST(r.objects AS json))
    WITH ORDINALITY AS o(pair, ordinality)
WHERE r.objects IS NOT NULL
""",
}

_KEY = ("company_id", "fiscal_year_start", "row_index")


def _old_table() -> sa.Table:
    return sa.Table(
        "voucher_row_object",
        sa.MetaData(),
        sa.Column("company_id", sa.Integer(), nullable=False, comment="Owning company"),
        sa.Column(
            "fiscal_year_start",
            sa.Date(),
            nullable=False,
            comment="Partition: first day of the file's current year (#RAR 0)",
        ),
        sa.Column("row_index", sa.BigInteger(), nullable=False),
        sa.Column(
            "position", sa.SmallInteger(), nullable=False, comment="Order in the object list"
        ),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column(
            "extract_id",
            sa.Text(),
            nullable=False,
            comment="Lineage: the extract (file) this row was loaded from",
        ),
        sa.PrimaryKeyConstraint("company_id", "fiscal_year_start", "row_index", "position"),
        comment="Objects on a voucher row ({dimension object_id ...})",
        sqlite_with_rowid=False,
    )


def _voucher_row() -> sa.TableClause:
    return sa.table(
        "voucher_row",
        sa.column("company_id", sa.Integer()),
        sa.column("fiscal_year_start", sa.Date()),
        sa.column("row_index", sa.BigInteger()),
        sa.column("cost_centre", sa.Text()),
        sa.column("project", sa.Text()),
        sa.column("objects", sa.Text()),
        sa.column("extract_id", sa.Text()),
    )


def _first(pairs: list[list[str]], dimension: str) -> str | None:
    return next((obj for dim, obj in pairs if dim == dimension), None)


def upgrade() -> None:
    op.add_column(
        "voucher_row",
        sa.Column(
            "cost_centre",
            sa.Text(),
            nullable=True,
            comment="Object of dimension 1 (cost centre) on the row, the first if several",
        ),
    )
    op.add_column(
        "voucher_row",
        sa.Column(
            "project",
            sa.Text(),
            nullable=True,
            comment="Object of dimension 6 (project) on the row, the first if several",
        ),
    )
    op.add_column(
        "voucher_row",
        sa.Column(
            "objects",
            sa.Text(),
            nullable=True,
            comment="All objects on the row, JSON [[dimension, object_id], ...]; null when none",
        ),
    )
    op.add_column(
        "extract",
        sa.Column(
            "generated_on", sa.Date(), nullable=True, comment="#GEN: the day the file was written"
        ),
    )

    bind = op.get_bind()
    old, rows = _old_table(), _voucher_row()
    stmt = sa.select(*(old.c[k] for k in _KEY), old.c.dimension, old.c.object_id).order_by(
        *(old.c[k] for k in _KEY), old.c.position
    )
    updates = []
    for key, group in groupby(bind.execute(stmt), key=lambda r: tuple(r[:3])):
        pairs = [[r.dimension, r.object_id] for r in group]
        updates.append(
            {
                **{f"k_{k}": v for k, v in zip(_KEY, key, strict=True)},
                "v_cost_centre": _first(pairs, COST_CENTRE),
                "v_project": _first(pairs, PROJECT),
                "v_objects": json.dumps(pairs, ensure_ascii=False),
            }
        )
    if updates:
        bind.execute(
            sa.update(rows)
            .where(*(rows.c[k] == sa.bindparam(f"k_{k}") for k in _KEY))
            .values(
                cost_centre=sa.bindparam("v_cost_centre"),
                project=sa.bindparam("v_project"),
                objects=sa.bindparam("v_objects"),
            ),
            updates,
        )
    op.drop_table("voucher_row_object")
    op.execute(VIEW[bind.dialect.name])


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP VIEW voucher_row_object")
    old, rows = _old_table(), _voucher_row()
    old.create(bind)
    stmt = sa.select(*(rows.c[k] for k in _KEY), rows.c.objects, rows.c.extract_id).where(
        rows.c.objects.is_not(None)
    )
    inserts = [
        {
            "company_id": r.company_id,
            "fiscal_year_start": r.fiscal_year_start,
            "row_index": r.row_index,
            "position": position,
            "dimension": dimension,
            "object_id": object_id,
            "extract_id": r.extract_id,
        }
        for r in bind.execute(stmt)
        for position, (dimension, object_id) in enumerate(json.loads(r.objects))
    ]
    if inserts:
        bind.execute(sa.insert(old), inserts)
    op.drop_column("extract", "generated_on")
    for name in ("objects", "project", "cost_centre"):
        op.drop_column("voucher_row", name)
