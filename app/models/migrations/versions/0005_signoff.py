"""Countersigning and validity: roles checker/approver, result records, countersignatures,
the regulation's verification cycle and the due-list policy.

* ``users.role`` may now be ``checker`` (核验员) or ``approver`` (批准人): the CHECK
  constraint is rebuilt (SQLite: batch mode re-creates the table).
* ``result_records``: the inspector's signed verification record, as logged, taken up in
  the office for countersigning; ``countersignatures``: one check and one approval each.
* ``validity_settings`` (seeded DC 3, AC 3 years: the certificate's 有效期) apart from
  ``rotation_settings`` (the supervision policy's 5–8 years); ``planning_settings``
  (``due_policy``).

Revision ID: 0005_signoff
Revises: 0004
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_signoff"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OLD_ROLES = "role IN ('regulator', 'inspector', 'administrator')"
NEW_ROLES = "role IN ('regulator', 'inspector', 'administrator', 'checker', 'approver')"


def _roles(check: str) -> None:
    with op.batch_alter_table("users", recreate="auto") as batch:
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", sa.text(check))


def upgrade() -> None:
    _roles(NEW_ROLES)
    validity = op.create_table(
        "validity_settings",
        sa.Column("instrument_type", sa.Text(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.CheckConstraint("years BETWEEN 1 AND 10", name=op.f("ck_validity_settings_years")),
        sa.PrimaryKeyConstraint("instrument_type", name=op.f("pk_validity_settings")),
        comment="The regulation's verification cycle per instrument type (certificate "
        "validity); seeded DC 3, AC 3.",
    )
    op.bulk_insert(
        validity, [{"instrument_type": "DC", "years": 3}, {"instrument_type": "AC", "years": 3}]
    )
    op.create_table(
        "planning_settings",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", UTC_DT, nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_planning_settings")),
        comment="Planning choices: due_policy = supervision | regulation.",
    )
    op.create_table(
        "result_records",
        sa.Column(
            "leaf_hash", sa.Text(), nullable=False, comment="RFC 6962 leaf hash of the entry, hex"
        ),
        sa.Column("verification_id", sa.Text(), nullable=False),
        sa.Column(
            "entry",
            sa.LargeBinary(),
            nullable=False,
            comment="The inspector's signed record, as logged",
        ),
        sa.Column(
            "entry_index",
            sa.BigInteger(),
            nullable=True,
            comment="Its index in the log (None: not logged yet)",
        ),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("inspector_id", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", UTC_DT, nullable=False),
        sa.PrimaryKeyConstraint("leaf_hash", name=op.f("pk_result_records")),
        comment="Signed verification results taken up for countersigning in the office.",
    )
    op.create_index(
        op.f("ix_result_records_verification_id"), "result_records", ["verification_id"]
    )
    op.create_table(
        "countersignatures",
        sa.Column("id", AUTO_ID, nullable=False),
        sa.Column("leaf_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False, comment="users.username"),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column(
            "signature",
            sa.Text(),
            nullable=False,
            comment="base64, see signoff_workflow.message",
        ),
        sa.Column("signed_ms", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "role IN ('checker', 'approver')", name=op.f("ck_countersignatures_role")
        ),
        sa.ForeignKeyConstraint(
            ["leaf_hash"],
            ["result_records.leaf_hash"],
            name=op.f("fk_countersignatures_leaf_hash_result_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_countersignatures")),
        sa.UniqueConstraint("leaf_hash", "role", name=op.f("uq_countersignatures_leaf_hash_role")),
        comment="核验员 / 批准人 countersignatures over a result record's leaf hash.",
    )


def downgrade() -> None:
    op.drop_table("countersignatures")
    op.drop_index(op.f("ix_result_records_verification_id"), table_name="result_records")
    op.drop_table("result_records")
    op.drop_table("planning_settings")
    op.drop_table("validity_settings")
    _roles(OLD_ROLES)
