"""PostgreSQL: sessions, bills, heartbeats and their analysis facts partitioned by month.

See ``app.models.partitions`` for the layout and why. Each table is rebuilt as a
range-partitioned table of the same name, columns, comments and indexes, its primary key
extended by the partition key; the two facts tables gain their PostgreSQL-only
``start_ms`` (a session fact's is in its packed header, a bill fact's comes from its
bill). The months present get their partitions before the rows are copied, so nothing
passes through DEFAULT. SQLite is not partitioned: a no-op there.

Revision ID: 0010_partitions
Revises: 0009_logs
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text

from app.models import partitions as pt

revision: str = "0010_partitions"
down_revision: str | None = "0009_logs"
branch_labels: str | None = None
depends_on: str | None = None

_OLD = "{}__unpartitioned"

# A session fact's start_ms: int64 little-endian at byte 24 of its header (facts.py).
_SESSION_START = " | ".join(f"(get_byte(f.data, {24 + k})::bigint << {8 * k})" for k in range(8))
_FILL = {
    "session_facts": (
        "pile_no, entry_index, data, start_ms",
        f"SELECT f.pile_no, f.entry_index, f.data, {_SESSION_START} FROM {{old}} f",
    ),
    "billing_facts": (
        "pile_no, entry_index, data, start_ms",
        "SELECT f.pile_no, f.entry_index, f.data, COALESCE(b.start_ms, 0) FROM {old} f "
        "LEFT JOIN billing b ON b.entry_index = f.entry_index",
    ),
}


def _indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX text) of the table's indexes other than its primary key."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = CAST(:t AS regclass) "
            "AND NOT i.indisprimary ORDER BY c.relname"
        ),
        {"t": table},
    )
    # A partitioned parent's index reads "ON ONLY t": recreated on a plain table, "ON t".
    return [(r[0], r[1].replace(" ON ONLY ", " ON ")) for r in rows]


def _rename_away(conn: Connection, table: str) -> tuple[list[str], str | None]:
    """Renames ``table`` and its indexes out of the way; returns the index definitions
    (for the new table) and the table comment."""
    defs = [d for _, d in _indexes(conn, table)]
    comment = conn.execute(
        text("SELECT obj_description(CAST(:t AS regclass), 'pg_class')"), {"t": table}
    ).scalar()
    old = _OLD.format(table)
    conn.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    conn.exec_driver_sql(f'ALTER TABLE "{old}" RENAME CONSTRAINT "pk_{table}" TO "pk_{old}"')
    for name, _ in _indexes(conn, old):
        conn.exec_driver_sql(f'ALTER INDEX "{name}" RENAME TO "{name}__old"')
    return defs, comment


def _rebuild(
    conn: Connection, table: str, key: tuple[str, ...], extra: str, partition_by: str | None
) -> None:
    """Creates ``table`` like its renamed original (plus ``extra`` columns), with primary
    key ``key``, its indexes and comment; partitioned when ``partition_by`` is given."""
    old = _OLD.format(table)
    defs, comment = _rename_away(conn, table)
    tail = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    conn.exec_driver_sql(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING COMMENTS{extra}){tail}'
    )
    conn.exec_driver_sql(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY ({", ".join(key)})'
    )
    for definition in defs:
        conn.exec_driver_sql(definition)
    if comment is not None:
        quoted = comment.replace("'", "''")  # COMMENT takes no bind parameters
        conn.exec_driver_sql(f"COMMENT ON TABLE \"{table}\" IS '{quoted}'")


def _months(conn: Connection) -> set[int]:
    found: set[int] = set()
    lo, hi = pt.month_start_ms(pt.FIRST_MONTH), pt.month_end_ms(pt.LAST_MONTH)
    for table, col in (("sessions", "start_ms"), ("billing", "start_ms"), ("heartbeats", "ref_ms")):
        rows = conn.execute(
            text(
                "SELECT DISTINCT (EXTRACT(YEAR FROM t) * 12 + EXTRACT(MONTH FROM t) - 1)::int "
                f"FROM (SELECT to_timestamp({col} / 1000.0) AT TIME ZONE 'UTC' AS t "
                f'FROM "{_OLD.format(table)}" WHERE {col} >= :lo AND {col} < :hi) q'
            ),
            {"lo": lo, "hi": hi},
        )
        found |= {int(r[0]) for r in rows}
    return found


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {pt.PART_SCHEMA}")
    for part in pt.PARTITIONED:
        extra = ""
        if (part.table, "start_ms") in pt.PG_ONLY_COLUMNS:
            extra = ", start_ms BIGINT NOT NULL"
        _rebuild(conn, part.table, part.primary_key, extra, part.key)
        if extra:
            what = "start of the session" if part.table == "session_facts" else "start of the bill"
            conn.exec_driver_sql(
                f"COMMENT ON COLUMN {part.table}.start_ms IS 'PostgreSQL only: the {what} "
                "(Unix ms), the partition key (app.models.partitions)'"
            )
        pt.create_default(conn, part.table)
    for month in sorted(_months(conn)):
        pt.create_month(conn, month)
    for part in pt.PARTITIONED:
        old = f'"{_OLD.format(part.table)}"'
        if part.table in _FILL:
            cols, select = _FILL[part.table]
            conn.exec_driver_sql(f"INSERT INTO {part.table} ({cols}) {select.format(old=old)}")
        else:
            conn.exec_driver_sql(f"INSERT INTO {part.table} SELECT * FROM {old}")
    for part in pt.PARTITIONED:
        conn.exec_driver_sql(f'DROP TABLE "{_OLD.format(part.table)}"')
    pt.maintain(conn)  # the current month, so the sync writes into a partition


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for part in pt.PARTITIONED:
        _rebuild(conn, part.table, part.sqlite_key, "", None)
        old = f'"{_OLD.format(part.table)}"'
        if (part.table, "start_ms") in pt.PG_ONLY_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {part.table} DROP COLUMN start_ms")
            cols = "pile_no, entry_index, data"
            conn.exec_driver_sql(f"INSERT INTO {part.table} ({cols}) SELECT {cols} FROM {old}")
        else:
            conn.exec_driver_sql(f"INSERT INTO {part.table} SELECT * FROM {old}")
        conn.exec_driver_sql(f"DROP TABLE {old}")  # its partitions with it
    conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {pt.PART_SCHEMA}")
