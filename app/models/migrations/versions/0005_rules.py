"""Rules that hold on data the simulator never made (issue 14).

* ``sessions (meter_id, start_ms)``: a session naming another pile than its meter's
  registry pile is read by the meter's rules (before, the rules reached sessions only
  through the pile's index and never saw it).
* ``anomalies.closed_entry / closed_at``: a finding that later data disproves (a
  back-filled gap, a bill whose session arrived) is closed, naming the entry that did it;
  indexed with the meter, as every synced batch looks up its meters' open findings.
* ``rule_policy``: the regulator's per-rule choice of which findings open an alarm.
* Heartbeat facts carry the meter's sequence number (R26: counters going backwards), so
  the packed heartbeats are rebuilt from the event table (a city-year: minutes, once).

Revision ID: 0005_rules
Revises: 0005_sync
Create Date: 2026-12-06 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.models.charging import facts

revision: str = "0005_rules"
down_revision: str | None = "0005_sync"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_sessions_meter_id_start_ms"), "sessions", ["meter_id", "start_ms"], unique=False
    )
    with op.batch_alter_table("anomalies") as batch:
        batch.add_column(
            sa.Column(
                "closed_entry",
                sa.BigInteger(),
                nullable=True,
                comment="The entry whose arrival disproved the finding",
            )
        )
        batch.add_column(
            sa.Column(
                "closed_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="When the rules closed it (NULL: open)",
            )
        )
    op.create_index(
        op.f("ix_anomalies_closed_at_meter_id"),
        "anomalies",
        ["closed_at", "meter_id"],
        unique=False,
    )
    op.create_table(
        "rule_policy",
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("opens_alarm", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_policy")),
        comment="Per-rule override of the severity policy: does a finding open an alarm?",
    )
    facts.rebuild_heartbeats(op.get_bind())


def downgrade() -> None:
    op.drop_table("rule_policy")
    op.drop_index(op.f("ix_anomalies_closed_at_meter_id"), table_name="anomalies")
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("closed_entry")
    op.drop_index(op.f("ix_sessions_meter_id_start_ms"), table_name="sessions")
