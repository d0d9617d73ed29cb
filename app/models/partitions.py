"""The office store on PostgreSQL, partitioned by month (issue 17 item 3).

A city-year of sessions, bills and heartbeats in one table per kind makes every
maintenance step a city-year step: vacuuming, re-indexing, archiving a closed year. On
PostgreSQL (migration 0009) the event tables and their analysis facts are therefore
range-partitioned by **UTC month of the record's own time**; SQLite stays unpartitioned.

Layout (PostgreSQL only):

=================  ===============  ===================================================
table              partition key    primary key on PostgreSQL
=================  ===============  ===================================================
sessions           start_ms         (entry_index, start_ms)
billing            start_ms         (entry_index, start_ms)
heartbeats         ref_ms           (entry_index, ref_ms)
heartbeat_days     day (UTC day)    (pile_no, meter_no, day) — unchanged
session_facts      start_ms *       (pile_no, entry_index, start_ms)
billing_facts      start_ms *       (pile_no, entry_index, start_ms)
=================  ===============  ===================================================

\\* a PostgreSQL-only column (:data:`PG_ONLY_COLUMNS`): the packed facts carry no time of
their own (a bill's fact has none at all), and PostgreSQL needs the partition key as a
column of every unique constraint. The schema comparison (``include_name`` in
``app.models.migrations``) skips exactly these columns; ``tests/models/test_partitions.py``
checks on a real server that they, and the partitioning, exist.

Why these choices:

* **The record's own time, not the log index.** Regulators archive and rescan by
  calendar; entry order is arrival order, and gateways back-fill. "By log" needs no
  column either: the lead's ``entry_index = (log << 40) | index`` makes a log one
  contiguous entry range, which each month partition's primary-key index (entry_index
  first) already serves. A second level of partitions per log is not worth it: CT-style
  logs are shards *by time*, so a month holds one or two logs' entries anyway, and a
  second level multiplies the partitions to maintain by the number of logs.
* **Primary keys gain the time column.** ``entries`` (unpartitioned, one row per applied
  entry) still makes a second application of an entry an ``IntegrityError``, so the wider
  key loses nothing; no writer upserts on these tables except ``heartbeat_days``, whose
  key already holds its ``day``.
* **A DEFAULT partition catches every month without one**, so a record a century in the
  future or before 1970 never fails the sync. :func:`maintain` (run by the migration,
  ``python main.py db partitions``, and before every partitioned rescan) moves the rows
  of each real month (1970–9999) out of DEFAULT into a partition of their own and keeps
  the current and next month ready, so the sync writes into monthly tables directly.
  Creating partitions inside the sync's transaction was rejected: it would take locks on
  the parent tables in the middle of every batch that crosses into a new month.
* **Partitions live in their own schema** (:data:`PART_SCHEMA`), detached ones in
  :data:`ARCHIVE_SCHEMA` as plain tables (:func:`archive_before`): the application's
  schema stays exactly the models' tables.
* **One month, all six tables.** A month's partitions are created, rescanned and archived
  together, so an archived month leaves no half (bills without their sessions).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from app.models import store as st

PART_SCHEMA = "evm_part"
"""Where the monthly partitions live (the parents stay in the default schema)."""
ARCHIVE_SCHEMA = "evm_archive"
"""Where detached partitions are kept as plain tables."""

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Partitioned:
    table: str
    key: str
    """The partition key column."""
    unit_ms: int
    """Milliseconds per unit of ``key`` (1 for Unix ms, a day for ``day``)."""
    primary_key: tuple[str, ...]
    """The primary key on PostgreSQL (the SQLite key plus the partition key)."""
    sqlite_key: tuple[str, ...]


PARTITIONED: tuple[Partitioned, ...] = (
    Partitioned("sessions", "start_ms", 1, ("entry_index", "start_ms"), ("entry_index",)),
    Partitioned("billing", "start_ms", 1, ("entry_index", "start_ms"), ("entry_index",)),
    Partitioned("heartbeats", "ref_ms", 1, ("entry_index", "ref_ms"), ("entry_index",)),
    Partitioned(
        "heartbeat_days",
        "day",
        DAY_MS,
        ("pile_no", "meter_no", "day"),
        ("pile_no", "meter_no", "day"),
    ),
    Partitioned(
        "session_facts",
        "start_ms",
        1,
        ("pile_no", "entry_index", "start_ms"),
        ("pile_no", "entry_index"),
    ),
    Partitioned(
        "billing_facts",
        "start_ms",
        1,
        ("pile_no", "entry_index", "start_ms"),
        ("pile_no", "entry_index"),
    ),
)
BY_NAME = {p.table: p for p in PARTITIONED}

PG_ONLY_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {("session_facts", "start_ms"), ("billing_facts", "start_ms")}
)
"""(table, column) that exist on PostgreSQL only: the facts' partition key (the start of
the session, the bill's own start), which the packed blobs do not carry."""

FIRST_MONTH = 1970 * 12
"""Months are numbered ``year * 12 + month - 1``; outside [1970-01, 9999-12] a record
stays in the DEFAULT partition (a signed record may carry any int64 time)."""
LAST_MONTH = 9999 * 12 + 11
_NAME = re.compile(r"^(?P<table>[a-z_]+)_(?P<year>\d{4})_(?P<month>\d{2})$")


class PartitionError(st.StoreError):
    """A partition operation cannot run here; the message says why and what to do."""


# ---- months --------------------------------------------------------------------------


def month_start_ms(month: int) -> int:
    """Unix ms of the first instant (UTC) of ``month`` (``year * 12 + month - 1``)."""
    year, m0 = divmod(month, 12)
    return int(datetime(year, m0 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def month_end_ms(month: int) -> int:
    """Unix ms just after ``month`` (the start of the next)."""
    if month >= LAST_MONTH:
        return int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000) + DAY_MS
    return month_start_ms(month + 1)


def month_of_ms(t_ms: int) -> int | None:
    """The month holding ``t_ms``, or None outside 1970–9999 (the DEFAULT partition's)."""
    if t_ms < 0 or t_ms >= month_end_ms(LAST_MONTH):
        return None
    at = datetime.fromtimestamp(t_ms / 1000, UTC)
    return at.year * 12 + at.month - 1


def parse_month(value: str) -> int:
    """``"2026-03"`` → month number; ValueError with the expected form otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise ValueError(f"expected a month as YYYY-MM (1970 or later), got {value!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_label(month: int) -> str:
    year, m0 = divmod(month, 12)
    return f"{year:04d}-{m0 + 1:02d}"


def partition_name(table: str, month: int) -> str:
    year, m0 = divmod(month, 12)
    return f"{table}_{year:04d}_{m0 + 1:02d}"


def _bounds(part: Partitioned, month: int) -> tuple[int, int]:
    """The partition's bounds in its key's unit (ms, or UTC days)."""
    return month_start_ms(month) // part.unit_ms, month_end_ms(month) // part.unit_ms


# ---- inspection ----------------------------------------------------------------------


def is_partitioned(conn: Connection) -> bool:
    """True on a PostgreSQL store whose event tables are partitioned (migration 0009)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'sessions' AND n.nspname = current_schema()"
        )
    ).scalar()
    return kind == "p"


def _children(conn: Connection, table: str) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = :t AND n.nspname = current_schema()"
        ),
        {"t": table},
    )
    return [r[0] for r in rows]


def months(conn: Connection, table: str = "sessions") -> list[int]:
    """The months that have a partition of ``table``, ascending."""
    found = []
    for name in _children(conn, table):
        match = _NAME.match(name)
        if match and match.group("table") == table:
            found.append(int(match.group("year")) * 12 + int(match.group("month")) - 1)
    return sorted(found)


def archived_months(conn: Connection) -> list[int]:
    """The months whose sessions partition sits in the archive schema, ascending."""
    rows = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": ARCHIVE_SCHEMA}
    )
    found = set()
    for (name,) in rows:
        match = _NAME.match(name)
        if match and match.group("table") == "sessions":
            found.add(int(match.group("year")) * 12 + int(match.group("month")) - 1)
    return sorted(found)


def default_rows(conn: Connection, table: str = "sessions") -> int:
    """Rows still in ``table``'s DEFAULT partition."""
    return int(
        conn.execute(text(f'SELECT COUNT(*) FROM {PART_SCHEMA}."{table}_default"')).scalar() or 0
    )


# ---- creating ------------------------------------------------------------------------


def create_default(conn: Connection, table: str) -> None:
    conn.exec_driver_sql(
        f'CREATE TABLE IF NOT EXISTS {PART_SCHEMA}."{table}_default" PARTITION OF "{table}" DEFAULT'
    )


def _months_in_default(conn: Connection, part: Partitioned) -> set[int]:
    lo, hi = month_start_ms(FIRST_MONTH) // part.unit_ms, month_end_ms(LAST_MONTH) // part.unit_ms
    seconds = f"{part.key} / 1000.0" if part.unit_ms == 1 else f"{part.key} * 86400.0"
    rows = conn.execute(
        text(
            "SELECT DISTINCT (EXTRACT(YEAR FROM t) * 12 + EXTRACT(MONTH FROM t) - 1)::int "
            f"FROM (SELECT to_timestamp({seconds}) AT TIME ZONE 'UTC' AS t "
            f'FROM {PART_SCHEMA}."{part.table}_default" '
            f"WHERE {part.key} >= :lo AND {part.key} < :hi) q"
        ),
        {"lo": lo, "hi": hi},
    )
    return {int(r[0]) for r in rows}


def create_month(conn: Connection, month: int) -> bool:
    """The month's partition of every partitioned table (those missing); rows of the month
    waiting in a DEFAULT partition move into it. Returns True if anything was created."""
    if not FIRST_MONTH <= month <= LAST_MONTH:
        raise ValueError(f"month {month} is outside 1970-01..9999-12: it stays in DEFAULT")
    created = False
    for part in PARTITIONED:
        name = partition_name(part.table, month)
        if name in _children(conn, part.table):
            continue
        lo, hi = _bounds(part, month)
        default = f'{PART_SCHEMA}."{part.table}_default"'
        # No sync may add rows of this month to DEFAULT between the move and the attach.
        conn.exec_driver_sql(f"LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE")
        waiting = conn.execute(
            text(f"SELECT 1 FROM {default} WHERE {part.key} >= :lo AND {part.key} < :hi LIMIT 1"),
            {"lo": lo, "hi": hi},
        ).first()
        target = f'{PART_SCHEMA}."{name}"'
        if waiting is None:
            conn.exec_driver_sql(
                f'CREATE TABLE {target} PARTITION OF "{part.table}" '
                f"FOR VALUES FROM ({lo}) TO ({hi})"
            )
        else:
            conn.exec_driver_sql(f'CREATE TABLE {target} (LIKE "{part.table}" INCLUDING DEFAULTS)')
            where = f"WHERE {part.key} >= {lo} AND {part.key} < {hi}"
            conn.exec_driver_sql(f"INSERT INTO {target} SELECT * FROM {default} {where}")
            conn.exec_driver_sql(f"DELETE FROM {default} {where}")
            # The check lets ATTACH skip its validating scan of the copied rows.
            conn.exec_driver_sql(
                f'ALTER TABLE {target} ADD CONSTRAINT "{name}_bounds" '
                f"CHECK ({part.key} >= {lo} AND {part.key} < {hi})"
            )
            conn.exec_driver_sql(
                f'ALTER TABLE "{part.table}" ATTACH PARTITION {target} '
                f"FOR VALUES FROM ({lo}) TO ({hi})"
            )
            conn.exec_driver_sql(f'ALTER TABLE {target} DROP CONSTRAINT "{name}_bounds"')
        created = True
    return created


def maintain(conn: Connection, *, now_ms: int | None = None, ahead: int = 1) -> list[int]:
    """Splits the DEFAULT partitions: every real month with rows there gets its partitions
    (all tables), and so do the current month and ``ahead`` months after it. Returns the
    months created. Safe to run any time (the sync waits on the DEFAULT lock meanwhile);
    a no-op on SQLite and on an unpartitioned store."""
    if not is_partitioned(conn):
        return []
    wanted: set[int] = set()
    for part in PARTITIONED:
        wanted |= _months_in_default(conn, part)
    now = month_of_ms(now_ms if now_ms is not None else int(st.utcnow().timestamp() * 1000))
    if now is not None:
        wanted |= {m for m in range(now, now + ahead + 1) if m <= LAST_MONTH}
    archived = set(archived_months(conn))
    created = []
    for month in sorted(wanted):
        if month in archived:
            continue  # a late record of an archived month stays in DEFAULT (docs)
        if create_month(conn, month):
            created.append(month)
    return created


# ---- archiving -----------------------------------------------------------------------


@dataclass(frozen=True)
class Archived:
    month: int
    tables: tuple[str, ...]
    """Schema-qualified names of the detached tables."""
    rows: int


def archive_before(conn: Connection, before: int, user: str) -> list[Archived]:
    """Detaches every month partition older than ``before`` (a month number) and keeps it
    as a plain table in :data:`ARCHIVE_SCHEMA`; each month is recorded in the audit log.

    Run in one transaction (``Store.transaction``): all of it or nothing. Rows outside
    1970–9999 stay in DEFAULT (they belong to no month). The ``entries`` table keeps its
    rows, so an archived entry offered again is still refused as a duplicate.
    """
    if conn.dialect.name != "postgresql":
        raise PartitionError(
            f"archiving partitions needs the office's PostgreSQL store; this store is "
            f"{conn.dialect.name}, which is not partitioned (copy the file instead)"
        )
    if not is_partitioned(conn):
        raise PartitionError(
            "this PostgreSQL store is not partitioned: run `python main.py db upgrade` first"
        )
    maintain(conn)  # rows of old months still in DEFAULT get their partition first
    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}")
    done: list[Archived] = []
    for month in [m for m in months(conn) if m < before]:
        names, rows = [], 0
        for part in PARTITIONED:
            name = partition_name(part.table, month)
            if name not in _children(conn, part.table):
                continue
            rows += int(
                conn.execute(text(f'SELECT COUNT(*) FROM {PART_SCHEMA}."{name}"')).scalar() or 0
            )
            conn.exec_driver_sql(
                f'ALTER TABLE "{part.table}" DETACH PARTITION {PART_SCHEMA}."{name}"'
            )
            conn.exec_driver_sql(f'ALTER TABLE {PART_SCHEMA}."{name}" SET SCHEMA {ARCHIVE_SCHEMA}')
            names.append(f"{ARCHIVE_SCHEMA}.{name}")
        item = Archived(month, tuple(names), rows)
        st.write_audit(
            conn,
            user,
            "db.archive",
            f"partition {month_label(month)}",
            {"month": month_label(month), "tables": list(names), "rows": rows},
        )
        done.append(item)
    return done


def windows(conn: Connection) -> list[tuple[int | None, int | None]]:
    """The rescan's time windows [since, until): one per month partition, the gaps between
    them joined to the next month, and open ends for DEFAULT's far past and future."""
    starts = sorted(set(months(conn)))
    return time_windows([month_start_ms(m) for m in starts], [month_end_ms(m) for m in starts])


def time_windows(starts: Sequence[int], ends: Sequence[int]) -> list[tuple[int | None, int | None]]:
    """Windows tiling the whole time line at the given month bounds."""
    edges = sorted(set(starts) | set(ends))
    if not edges:
        return [(None, None)]
    out: list[tuple[int | None, int | None]] = [(None, edges[0])]
    out += list(itertools.pairwise(edges))
    out.append((edges[-1], None))
    return out
