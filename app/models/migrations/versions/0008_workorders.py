"""Work orders for every instrument kind: an item names (kind, instrument ID).

Existing items are charging piles (the only kind before): ``kind`` is added with the
server default ``charging``, so every order made before this migration stays listed
as it was. ``station_id`` becomes nullable (a taxi is summoned to the verification
station, it has no site of its own), and the uniqueness moves from the pile ID to
(kind, ID): a dispenser and a pile may share an ID string.

Batch mode, so SQLite (which cannot alter constraints in place) rebuilds the table.

Revision ID: 0008_workorders
Revises: 0007_taxi
Create Date: 2026-12-06 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_workorders"
down_revision: str | None = "0007_taxi"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index("uq_work_order_items_active_pile", table_name="work_order_items")
    with op.batch_alter_table("work_order_items") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sa.Text(),
                server_default="charging",
                nullable=False,
                comment="Instrument kind of the item (app.models.due_sources): charging, fuel, "
                "taxi",
            )
        )
        batch.alter_column(
            "pile_id",
            existing_type=sa.Text(),
            existing_nullable=False,
            comment="The instrument's ID within its kind: pile, dispenser, taxi plate "
            "(name kept from the charging-only schema)",
        )
        batch.alter_column(
            "station_id",
            existing_type=sa.Text(),
            nullable=True,
            comment="The site visited (charging or fuel station); NULL: summoned (a taxi)",
        )
        batch.drop_constraint("uq_work_order_items_order_id_pile_id", type_="unique")
        batch.create_unique_constraint(
            "uq_work_order_items_order_id_kind_pile_id", ["order_id", "kind", "pile_id"]
        )
    op.create_index(
        "uq_work_order_items_active_item",
        "work_order_items",
        ["kind", "pile_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index("uq_work_order_items_active_item", table_name="work_order_items")
    op.execute("DELETE FROM work_order_items WHERE kind <> 'charging'")
    with op.batch_alter_table("work_order_items") as batch:
        batch.drop_constraint("uq_work_order_items_order_id_kind_pile_id", type_="unique")
        batch.create_unique_constraint(
            "uq_work_order_items_order_id_pile_id", ["order_id", "pile_id"]
        )
        batch.alter_column("station_id", existing_type=sa.Text(), nullable=False, comment=None)
        batch.alter_column(
            "pile_id", existing_type=sa.Text(), existing_nullable=False, comment=None
        )
        batch.drop_column("kind")
    op.create_index(
        "uq_work_order_items_active_pile",
        "work_order_items",
        ["pile_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
