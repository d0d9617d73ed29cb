"""Sync state and evidence for a defensive sync (issue 13, item 6).

* ``sync_state.last_attempt_at``: when the sync last tried, whatever the outcome, so an
  offline or refused platform is visible next to ``last_error`` (``last_contact_at`` only
  moves when the platform answered, ``last_success_at`` when a checkpoint was applied).
* ``misbehaviour.proof``: the C2SP tlog-proof (index, inclusion path, signed checkpoint)
  that places an offending entry in the log, so the evidence of a halt can be checked by a
  third party without the platform.

Revision ID: 0005_sync
Revises: 0005_signoff
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sync"
down_revision: str | None = "0005_signoff"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(
            sa.Column(
                "last_attempt_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="Last sync attempt, successful or not",
            )
        )
    with op.batch_alter_table("misbehaviour") as batch:
        batch.add_column(
            sa.Column(
                "proof",
                sa.LargeBinary(),
                nullable=True,
                comment="C2SP tlog-proof placing the offending entry in the signed checkpoint",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("misbehaviour") as batch:
        batch.drop_column("proof")
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("last_attempt_at")
