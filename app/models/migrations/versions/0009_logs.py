"""Several logs in one store: the ``logs`` and ``log_lists`` tables.

A store that followed one log keeps every row as it is: that log becomes log 0, and an
entry's key ``(log_no << 40) | index`` is its index (app.models.logs). Each origin already in
``sync_state`` gets a row, the one with the most entries first (it is the log whose rows the
store holds), so an existing office store upgrades without touching its ledger data.

Revision ID: 0009_logs
Revises: 0008_workorders
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009_logs"
down_revision: str | None = "0008_workorders"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    logs = op.create_table(
        "logs",
        sa.Column("log_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column(
            "key",
            sa.Text(),
            nullable=True,
            comment="The log's verifier key (name+hash+base64), as the list gives it",
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column(
            "region", sa.Text(), nullable=True, comment="GB/T 2260 division code the log serves"
        ),
        sa.Column("shard_start_ms", sa.BigInteger(), nullable=True),
        sa.Column("shard_end_ms", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.Text(), server_default="usable", nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("log_no", name=op.f("pk_logs")),
        sa.UniqueConstraint("origin", name=op.f("uq_logs_origin")),
        comment="The logs this store follows. A row's entry_index is (log_no << 40) | its "
        "index in that log (app.models.logs): log 0 is the first (a single-log store's only) "
        "log.",
    )
    op.create_table(
        "log_lists",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "note", sa.LargeBinary(), nullable=False, comment="The signed log list, byte for byte"
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_log_lists")),
        comment="Every signed log list accepted; the newest sequence is the one followed.",
    )
    conn = op.get_bind()
    origins = conn.execute(
        sa.text("SELECT origin FROM sync_state ORDER BY size DESC, origin")
    ).scalars()
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":  # naive UTC text there, as store.UtcDateTime keeps it
        now = now.replace(tzinfo=None)
    rows = [
        {"log_no": n, "origin": origin, "state": "usable", "added_at": now}
        for n, origin in enumerate(origins)
    ]
    if rows:
        op.bulk_insert(logs, rows)


def downgrade() -> None:
    op.drop_table("log_lists")
    op.drop_table("logs")
