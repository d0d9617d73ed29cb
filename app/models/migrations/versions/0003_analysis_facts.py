"""Analysis facts: packed per-session, per-bill and per-meter-day numbers for the rules.

A full rescan of a city-year reads these instead of the event tables (see
``app.models.charging.facts``). The facts of an existing store are computed here from its event
tables, so a store synced before this revision rescans exactly like a new one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.models.charging import facts

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _facts_table(name: str, *keys: str, comment: str) -> None:
    op.create_table(
        name,
        *(sa.Column(k, sa.BigInteger(), autoincrement=False, nullable=False) for k in keys),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}")),
        comment=comment,
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    _facts_table(
        "session_facts",
        "pile_no",
        "entry_index",
        comment="Packed numbers of each session for the rules, clustered by pile (facts.py)",
    )
    _facts_table(
        "billing_facts",
        "pile_no",
        "entry_index",
        comment="Packed numbers of each bill for the rules, clustered by pile (facts.py)",
    )
    _facts_table(
        "heartbeat_days",
        "pile_no",
        "meter_no",
        "day",
        comment="A meter's heartbeats of one UTC day, packed and appended in log order (facts.py)",
    )
    facts.rebuild(op.get_bind())


def downgrade() -> None:
    for name in ("heartbeat_days", "billing_facts", "session_facts"):
        op.drop_table(name)
