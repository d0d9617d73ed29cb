"""One record, one entry: the identity of each applied entry (issue 13, item 1).

``entries.record_id`` holds the record identity (type, signer and canonical body,
``ledger.records.identity_of``), unique, so the projection finds a second entry of
a record already applied — an ECDSA twin (r, n − s) or a re-signing the platform
should have refused — and reports the platform instead of applying it again (which
raised R08 "double charge" against the operator). Entries applied before this
revision keep NULL: twins among them are found only after a rebuild of the store.

Revision ID: 0005_ledger
Revises: 0005_rules
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ledger"
down_revision: str | None = "0005_rules"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "entries",
        sa.Column(
            "record_id",
            sa.LargeBinary(),
            nullable=True,
            comment="Record identity (type, signer, body: records.identity_of); NULL for a twin",
        ),
    )
    op.create_index(op.f("ix_entries_record_id"), "entries", ["record_id"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_entries_record_id"), table_name="entries")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("record_id")
