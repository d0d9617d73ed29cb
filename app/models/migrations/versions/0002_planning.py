"""Planning: rotation settings, users, work orders, field-package facts and proofs.

The tables are declared in ``app.models.plan_tables`` (a separate MetaData); this file is
their frozen creation script. Rotation defaults (DC 6 years, AC 8 years) are seeded here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    rotation = op.create_table(
        "rotation_settings",
        sa.Column("instrument_type", sa.Text(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("years BETWEEN 5 AND 8", name=op.f("ck_rotation_settings_years")),
        sa.PrimaryKeyConstraint("instrument_type", name=op.f("pk_rotation_settings")),
        comment="Rotation period per instrument type (pile kind), 5–8 years; seeded DC 6, AC 8.",
    )
    op.bulk_insert(
        rotation, [{"instrument_type": "DC", "years": 6}, {"instrument_type": "AC", "years": 8}]
    )
    op.create_table(
        "users",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False, comment="argon2id PHC string"),
        sa.Column(
            "key_pem", sa.LargeBinary(), nullable=False, comment="PKCS#8 PEM, password-encrypted"
        ),
        sa.Column("public_key", sa.Text(), nullable=False, comment="p256:… text form"),
        sa.Column(
            "inspector_id",
            sa.Text(),
            nullable=True,
            comment="The ledger inspector ID the key is registered as",
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=False),
        sa.CheckConstraint(
            "role IN ('regulator', 'inspector', 'administrator')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("inspector", sa.Text(), nullable=False, comment="users.username"),
        sa.Column("state", sa.Text(), server_default="open", nullable=False),
        sa.Column("created_at", UTC_DT, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "created_ms", sa.BigInteger(), nullable=False, comment="Unix ms, compared with at_ms"
        ),
        sa.Column("estimated_min", sa.Integer(), nullable=False),
        sa.Column("travel_m", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'done', 'cancelled')", name=op.f("ck_work_orders_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
    )
    op.create_index(op.f("ix_work_orders_inspector"), "work_orders", ["inspector"])
    op.create_table(
        "work_order_items",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("order_id", AUTO_ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False, comment="Position on the route"),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "due_date", sa.Text(), nullable=True, comment="ISO date the pile was due when ordered"
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_items_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_items")),
        sa.UniqueConstraint(
            "order_id", "pile_id", name=op.f("uq_work_order_items_order_id_pile_id")
        ),
    )
    op.create_index(
        "uq_work_order_items_active_pile",
        "work_order_items",
        ["pile_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "package_info",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_package_info")),
        comment="Field package facts: order id, export time, checkpoint note, proof status.",
    )
    op.create_table(
        "package_proofs",
        sa.Column("entry_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("proof", sa.LargeBinary(), nullable=False, comment="c2sp.org/tlog-proof@v1 text"),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_package_proofs")),
    )


def downgrade() -> None:
    op.drop_table("package_proofs")
    op.drop_table("package_info")
    op.drop_index("uq_work_order_items_active_pile", table_name="work_order_items")
    op.drop_table("work_order_items")
    op.drop_index(op.f("ix_work_orders_inspector"), table_name="work_orders")
    op.drop_table("work_orders")
    op.drop_table("users")
    op.drop_table("rotation_settings")
