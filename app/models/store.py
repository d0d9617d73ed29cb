"""The workstation store: schema, engine set-up and the small helpers sync and alarms share.

One schema serves a single regulator's SQLite file (the default) and an office's shared
PostgreSQL server; only the URL differs. The schema is owned by Alembic
(``app/models/migrations``): :meth:`Store.open` upgrades to head, and a test checks that
this module's :data:`metadata` and the migrated database agree on both backends, so the
two never drift apart.

Design choices, and why:

* Every ledger-derived row carries ``entry_index``, its index in the log, so any row can be
  traced back to the signed entry (and its inclusion proof) that produced it. Event tables
  (sessions, billing, seals, ...) use it as primary key; registry tables keep one row per
  natural key, ``entry_index`` naming the record that last wrote it. The ``entries`` table
  has one row per applied entry, so applying an entry twice is an ``IntegrityError`` for
  every record type, and an anomaly's evidence indexes resolve to their record types.
* Ledger units stay integers (Wh, fen, ms, micro-degrees): no rounding happens on the way
  in. Only the map convenience columns ``stations.lon/lat`` are float degrees.
* Workstation timestamps (``accepted_at``, ``created_at``...) are timezone-aware UTC
  datetimes on both backends (:class:`UtcDateTime`); ledger times stay Unix ms (``*_ms``).
* No foreign keys between ledger-derived tables: a session naming an unregistered pile is
  an anomaly the rules must report, not a row the database may refuse (that would stall
  the sync on a valid, signed entry).
* On PostgreSQL the event tables and their analysis facts are partitioned by month
  (migration 0009, :mod:`app.models.partitions`): there their primary keys also hold the
  partition key and the two facts tables a ``start_ms`` column, the only differences
  from the definitions below (the schema comparison skips exactly those columns).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeDecorator

from app.paths import data_dir

if TYPE_CHECKING:
    from app.models.users import Session

DEFAULT_FILENAME = "workstation.sqlite"
URL_ENV = "EVM_DB_URL"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB_NEGATIVE = -65536  # negative = KiB, per connection

ALARM_STATES = ("new", "acknowledged", "dispatched", "resolved", "dismissed")


class StoreError(RuntimeError):
    """The store cannot be opened or migrated; the message says which database and why."""


# ---- portable types ------------------------------------------------------------------


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as
    naive UTC text and given back its UTC zone on the way out. Naive input is refused:
    guessing a zone is how audit trails end up eight hours off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime (use datetime.now(UTC))")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (comparable, indexable); JSON text elsewhere.
Json = JSON().with_variant(postgresql.JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- schema --------------------------------------------------------------------------

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
# On SQLite an INTEGER PRIMARY KEY is the rowid itself (SQLite integers are 64-bit): no
# separate primary-key index and rows clustered in log order; measured ~25 % faster
# inserts and a ~10 % smaller file than BIGINT PRIMARY KEY.
EntryIndex = BigInteger().with_variant(Integer(), "sqlite")


def _entry_pk() -> Column[int]:
    return Column("entry_index", EntryIndex, primary_key=True, autoincrement=False)


def _entry_ref() -> Column[int]:
    """The entry that last wrote a registry row (unique: one entry writes one row)."""
    return Column("entry_index", BigInteger, nullable=False, unique=True)


entries = Table(
    "entries",
    metadata,
    _entry_pk(),
    Column("type", Text, nullable=False),
    Column(
        "record_id",
        LargeBinary,
        comment="Record identity (type, signer, body: records.identity_of); NULL for a twin",
    ),
    Index(None, "record_id", unique=True),
    comment="One row per applied log entry: duplicate application fails here for every type.",
)

# -- registry (upserted: the latest record for a natural key wins) --

authority_keys = Table(
    "authority_keys",
    metadata,
    _entry_pk(),
    Column("authority_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("enc_key", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "authority_id", "entry_index"),
    comment="History of the trust anchor: every authority record, the latest is current.",
)

operators = Table(
    "operators",
    metadata,
    Column("operator_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("credit_code", Text),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

inspectors = Table(
    "inspectors",
    metadata,
    Column("inspector_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("org", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)


def site_columns() -> list[Column[Any]]:
    """The columns of a site on the map, for every kind's station table (the site record
    of ledger.kinds.site_schema, plus degrees for the map)."""
    return [
        Column("station_id", Text, primary_key=True),
        Column("operator_id", Text, nullable=False, index=True),
        Column("name", Text, nullable=False),
        Column("district", Text, nullable=False, index=True),
        Column("lon_e6", BigInteger, nullable=False),
        Column("lat_e6", BigInteger, nullable=False),
        Column("lon", Float, nullable=False, comment="GCJ-02 degrees, for the map"),
        Column("lat", Float, nullable=False, comment="GCJ-02 degrees, for the map"),
        Column("address", Text),
        Column("at_ms", BigInteger, nullable=False),
        _entry_ref(),
    ]


stations = Table("stations", metadata, *site_columns())

piles = Table(
    "piles",
    metadata,
    Column("pile_id", Text, primary_key=True),
    Column("station_id", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False, index=True),
    Column(
        "district",
        Text,
        index=True,
        comment="Copied from the station so the map filters piles without a join",
    ),
    Column("kind", Text, nullable=False),
    Column("rated_power_w", BigInteger, nullable=False),
    Column("rated_voltage_v", BigInteger, nullable=False),
    Column("max_current_a", BigInteger),
    Column("connectors", Integer, nullable=False),
    Column("model", Text),
    Column("commissioned_ms", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column(
        "status",
        Text,
        nullable=False,
        server_default="normal",
        index=True,
        comment="Workstation-derived (rules/alarms), e.g. normal, alarm, seal_open, offline",
    ),
    _entry_ref(),
)

meters = Table(
    "meters",
    metadata,
    Column("meter_id", Text, primary_key=True),
    Column("pile_id", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False),
    Column("connector", Integer, nullable=False),
    Column("accuracy_class", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("maker", Text),
    Column("model", Text),
    Column("heartbeat_s", BigInteger, nullable=False),
    Column("cert_no", Text),
    Column("cert_date", Text),
    Column("cert_verifier", Text),
    Column("installed_ms", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

meter_keys = Table(
    "meter_keys",
    metadata,
    _entry_pk(),
    Column("meter_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Index(None, "meter_id", "entry_index"),
    comment="A row when a meter is first registered and whenever its key changes (anomaly).",
)

tariffs = Table(
    "tariffs",
    metadata,
    _entry_pk(),
    Column("tariff_id", Text, nullable=False),
    Column("operator_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("periods", Json, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "tariff_id", "valid_from_ms"),
    Index(None, "station_id", "valid_from_ms"),
    comment="Every posted tariff: a bill is checked against the one in force at the time",
)

# -- events (append-only, primary key = entry index) --

sessions = Table(
    "sessions",
    metadata,
    _entry_pk(),
    Column("session_id", Text, nullable=False, index=True, comment="NOT unique: dups are a fault"),
    Column("meter_id", Text, nullable=False),
    Column("pile_id", Text, nullable=False),
    Column("station_id", Text, comment="The pile's station when the session was applied"),
    Column("connector", Integer, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("stop_ms", BigInteger, nullable=False),
    Column("start_wh", BigInteger, nullable=False),
    Column("stop_wh", BigInteger, nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
    Column("interval_s", Integer, nullable=False),
    Column("power_w", LargeBinary, nullable=False, comment="little-endian int32 per interval_s"),
    Column("pii", Text),
    Index(None, "pile_id", "start_ms"),
    Index(None, "station_id", "start_ms"),
    # (meter_id, start_ms) since 0005: a session naming another pile than its meter's
    # registry pile must still be found by the meter's rules (issue 14).
    Index(None, "meter_id", "start_ms"),
)

billing = Table(
    "billing",
    metadata,
    _entry_pk(),
    Column("session_id", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False),
    Column("pile_id", Text, nullable=False),
    Column("station_id", Text, comment="The pile's station when the bill was applied"),
    Column("tariff_id", Text, nullable=False),
    Column("billed_wh", BigInteger, nullable=False),
    Column("energy_fen", BigInteger, nullable=False),
    Column("service_fen", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("stop_ms", BigInteger, nullable=False),
    Index(None, "pile_id", "start_ms"),
    Index(None, "station_id", "start_ms"),
)

seal_events = Table(
    "seal_events",
    metadata,
    _entry_pk(),
    Column("meter_id", Text, nullable=False),
    Column("pile_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("register_wh", BigInteger, nullable=False),
    Index(None, "pile_id", "at_ms"),
    Index(None, "meter_id", "seq"),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    _entry_pk(),
    Column("meter_id", Text, nullable=False),
    Column("pile_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ref_ms", BigInteger, nullable=False),
    Column("meter_ms", BigInteger, nullable=False),
    Column("register_wh", BigInteger, nullable=False),
    Column("temp_dc", Integer, nullable=False),
    Index(None, "meter_id", "ref_ms"),
)

verifications = Table(
    "verifications",
    metadata,
    _entry_pk(),
    Column("verification_id", Text, nullable=False, index=True),
    Column("pile_id", Text, nullable=False),
    Column("meter_id", Text, nullable=False),
    Column("inspector_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("regulation", Text, nullable=False),
    Column("points", Json, nullable=False),
    Column("clock_error_ms", BigInteger, nullable=False),
    Column("insulation_kohm", BigInteger, nullable=False),
    Column("result", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("next_due", Text, nullable=False),
    Column("seal_closed", Boolean, nullable=False),
    Column("accuracy_class", Text, nullable=False),
    Index(None, "pile_id", "at_ms"),
)

# -- analysis facts (derived at projection; see app.models.charging.facts) --


def _facts_table(name: str, what: str) -> Table:
    return Table(
        name,
        metadata,
        Column("pile_no", BigInteger, primary_key=True, autoincrement=False),
        Column("entry_index", BigInteger, primary_key=True, autoincrement=False),
        Column("data", LargeBinary, nullable=False),
        sqlite_with_rowid=False,
        comment=f"Packed numbers of each {what} for the rules, clustered by pile (facts.py)",
    )


session_facts = _facts_table("session_facts", "session")
billing_facts = _facts_table("billing_facts", "bill")

heartbeat_days = Table(
    "heartbeat_days",
    metadata,
    Column("pile_no", BigInteger, primary_key=True, autoincrement=False),
    Column("meter_no", BigInteger, primary_key=True, autoincrement=False),
    Column("day", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
    comment="A meter's heartbeats of one UTC day, packed and appended in log order (facts.py)",
)

# -- workstation state --

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("origin", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary, nullable=False),
    Column("note", LargeBinary, nullable=False, comment="The signed note, byte for byte"),
    Column("accepted_at", UtcDateTime, nullable=False),
    Index(None, "origin", "size"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("origin", Text, primary_key=True),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("root", LargeBinary),
    Column("compact_range", LargeBinary),
    Column("status", Text, nullable=False, server_default="idle"),
    Column("last_error", Text),
    Column("last_contact_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime, comment="Last sync attempt, successful or not"),
)

logs = Table(
    "logs",
    metadata,
    Column("log_no", Integer, primary_key=True, autoincrement=False),
    Column("origin", Text, nullable=False, unique=True),
    Column("key", Text, comment="The log's verifier key (name+hash+base64), as the list gives it"),
    Column("url", Text),
    Column("region", Text, comment="GB/T 2260 division code the log serves"),
    Column("shard_start_ms", BigInteger),
    Column("shard_end_ms", BigInteger),
    Column("state", Text, nullable=False, server_default="usable"),
    Column("added_at", UtcDateTime, nullable=False),
    comment="The logs this store follows. A row's entry_index is (log_no << 40) | its "
    "index in that log (app.models.logs): log 0 is the first (a single-log store's only) log.",
)

log_lists = Table(
    "log_lists",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("note", LargeBinary, nullable=False, comment="The signed log list, byte for byte"),
    Column("accepted_at", UtcDateTime, nullable=False),
    comment="Every signed log list accepted; the newest sequence is the one followed.",
)

misbehaviour = Table(
    "misbehaviour",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("origin", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("description", Text, nullable=False),
    Column("evidence", Json, nullable=False),
    Column("checkpoint_a", LargeBinary, comment="First signed checkpoint (e.g. a fork)"),
    Column("checkpoint_b", LargeBinary, comment="Second, conflicting signed checkpoint"),
    Column("offending_bytes", LargeBinary, comment="Entry/tile/proof bytes that failed"),
    Column(
        "proof",
        LargeBinary,
        comment="C2SP tlog-proof placing the offending entry in the signed checkpoint",
    ),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("pile_id", Text, index=True),
    Column("rule_id", Text),
    Column("title_zh", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("evidence", Json, nullable=False),
    Column("state", Text, nullable=False, server_default="new"),
    Column("assigned_to", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", Text),
    Column("version", Integer, nullable=False, server_default="1"),
    CheckConstraint("state IN ('" + "', '".join(ALARM_STATES) + "')", name="state"),
    Index(None, "state", "created_at"),
)

anomalies = Table(
    "anomalies",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("rule_id", Text, nullable=False),
    Column("pile_id", Text),
    Column("meter_id", Text),
    Column("at_ms", BigInteger, nullable=False),
    Column("severity", Text, nullable=False),
    Column("evidence", Json, nullable=False, comment="Entry indexes the finding rests on"),
    Column(
        "evidence_key",
        Text,
        nullable=False,
        comment="evidence_key(indexes); unique per rule so rescans are idempotent",
    ),
    Column("detail", Json, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("closed_entry", BigInteger, comment="The entry whose arrival disproved the finding"),
    Column("closed_at", UtcDateTime, comment="When the rules closed it (NULL: open)"),
    UniqueConstraint("rule_id", "evidence_key"),
    Index(None, "pile_id", "at_ms"),
    Index(None, "closed_at", "meter_id"),
)

rule_policy = Table(
    "rule_policy",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("opens_alarm", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", Text, nullable=False),
    comment="Per-rule override of the severity policy: does a finding open an alarm?",
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("user", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("detail", Json, nullable=False),
    Index(None, "subject", "id"),
    comment="Append-only (triggers refuse UPDATE and DELETE): evidence for enforcement cases.",
)


def evidence_key(entry_indexes: Sequence[int]) -> str:
    """The canonical text of a set of entry indexes: "12,40,41" (sorted, no duplicates)."""
    return ",".join(str(i) for i in sorted(set(entry_indexes)))


# ---- engine --------------------------------------------------------------------------


def default_url() -> str:
    """``EVM_DB_URL`` if set (an office's PostgreSQL), else the user's SQLite file."""
    env = os.environ.get(URL_ENV)
    if env:
        return env
    return f"sqlite:///{data_dir() / DEFAULT_FILENAME}"


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def make_private_file(path: Path) -> None:
    """Creates ``path`` (and a missing parent directory) readable by its owner only.

    The store holds password hashes, sealed signing keys and personal data: it must not
    be world-readable whatever the umask (issue 13 item 4). SQLite gives its ``-wal`` and
    ``-shm`` files the mode of the database file, so creating the database 0600 before
    SQLite opens it covers all three; an existing store (or its WAL) that is wider is
    tightened when its owner opens it.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # read-only location etc.: SQLite will give the real error
    for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):  # not ours, or gone meanwhile
            info = existing.stat()
            if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
                existing.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def create_store_engine(url: str) -> Engine:
    """An engine with the pragmas and transaction handling the workstation relies on.

    SQLite: WAL (the GUI reads while sync writes), ``synchronous=NORMAL`` (durable at
    checkpoints, safe against corruption, much faster than FULL), foreign keys on, a busy
    timeout so a second writer waits instead of failing. Python's sqlite3 module opens
    transactions lazily and never around DDL; we switch that off and emit ``BEGIN``
    ourselves so every ``engine.begin()`` block, migrations included, is atomic.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            make_private_file(Path(database).expanduser())
        engine = create_engine(url, json_serializer=_json_dumps)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, json_serializer=_json_dumps, pool_pre_ping=True)


def _enable_wal(cur: sqlite3.Cursor) -> None:
    """Switches the database to WAL, waiting out another connection doing the same.

    Changing the journal mode needs an exclusive lock and SQLite does not call the busy
    handler for it: two desktops opening a fresh database at once would see "database is
    locked" on the loser. WAL is persistent, so the loser only has to retry until the
    winner is done (or the mode is already WAL).
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN (see create_store_engine)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # 64 MB page cache (default 2 MB): index inserts into a city's years of sessions
        # stay in memory instead of re-reading B-tree pages.
        cur.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB_NEGATIVE}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front (IMMEDIATE) so they wait on busy_timeout instead of
        # failing mid-transaction when a read lock cannot be upgraded.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


# ---- the store -----------------------------------------------------------------------


@dataclass(frozen=True)
class SyncState:
    """How far the store has verified and applied one log (one row per origin)."""

    origin: str
    size: int
    root: bytes | None
    compact_range: bytes | None
    status: str
    last_error: str | None
    last_contact_at: datetime | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None = None


class Store:
    """The opened, migrated workstation database. Thread-safe to share; one writer at a time.

    Use :meth:`transaction` for writes (sync batches, alarm transitions); views read with
    ``store.engine.connect()`` from worker threads, never the GUI thread.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, upgrade: bool = True) -> Store:
        """Opens ``url`` (default: :func:`default_url`) and migrates it to head."""
        engine = create_store_engine(url or default_url())
        if upgrade:
            from app.models.migrations import upgrade_to_head

            try:
                upgrade_to_head(engine)
            except SQLAlchemyError as exc:
                engine.dispose()
                where = engine.url.render_as_string(hide_password=True)
                reason = getattr(exc, "orig", None) or exc
                raise StoreError(f"cannot open the workstation store {where}: {reason}") from exc
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic write: commits on success, rolls back on any exception.

        On SQLite the write lock is taken at BEGIN, so concurrent writers queue on the
        busy timeout instead of failing half-way.
        """
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def get_sync_state(self, origin: str) -> SyncState | None:
        with self.engine.connect() as conn:
            return get_sync_state(conn, origin)


def get_sync_state(conn: Connection, origin: str) -> SyncState | None:
    """The stored progress for ``origin``, or None before its first sync."""
    row = conn.execute(select(sync_state).where(sync_state.c.origin == origin)).mappings().first()
    return None if row is None else SyncState(**row)


def put_sync_state(conn: Connection, state: SyncState) -> None:
    """Inserts or replaces the row for ``state.origin`` (call it in the batch's transaction)."""
    values = {
        "origin": state.origin,
        "size": state.size,
        "root": state.root,
        "compact_range": state.compact_range,
        "status": state.status,
        "last_error": state.last_error,
        "last_contact_at": state.last_contact_at,
        "last_success_at": state.last_success_at,
        "last_attempt_at": state.last_attempt_at,
    }
    upsert(conn, sync_state, [values], ("origin",))


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    newer_than: str | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, for SQLite and PostgreSQL alike.

    With ``newer_than="entry_index"`` an existing row is only replaced by a row with a
    larger value in that column, so an out-of-order write can never roll a registry back.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite_dialect.insert(table)
    else:  # pragma: no cover - only the two supported backends
        raise StoreError(f"upsert is not implemented for {dialect}")
    cols = [c for c in rows[0] if c not in keys]
    where = None
    if newer_than is not None:
        where = stmt.excluded[newer_than] > table.c[newer_than]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols}, where=where
    )
    conn.execute(stmt, list(rows))


def write_audit(
    conn: Connection,
    user: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> int:
    """Appends one audit entry in the caller's transaction; returns its id.

    Written in the same transaction as the change it records, so there is never a change
    without its audit entry, nor an entry for a change that rolled back.
    """
    result = conn.execute(
        insert(audit_log).returning(audit_log.c.id),
        {
            "at": at or utcnow(),
            "user": user,
            "action": action,
            "subject": subject,
            "detail": dict(detail or {}),
        },
    )
    return int(result.scalar_one())


def transition_alarm(
    conn: Connection,
    alarm_id: int,
    expected_version: int,
    new_state: str,
    session: Session,
    note: str = "",
    *,
    assigned_to: str | None = None,
) -> bool:
    """Moves an alarm to ``new_state`` if nobody changed it since ``expected_version``.

    Optimistic locking: two regulators may act on the same alarm from two desktops; the
    first wins, the second gets False and must reload instead of silently overwriting.
    On success the transition is written to the audit log in the same transaction,
    under the signed-in user of ``session``, whose role is checked here (dismissing
    needs ``alarms.dismiss``, anything else ``alarms.handle``): the lowest writer of
    alarm state refuses the wrong role itself, whatever called it (issue 13 item 2).
    Which transitions are allowed is the alarm workflow's business, not the store's.
    """
    from app.models.users import require  # users imports this module

    if new_state not in ALARM_STATES:
        raise ValueError(f"unknown alarm state {new_state!r}; expected one of {ALARM_STATES}")
    require(session, "alarms.dismiss" if new_state == "dismissed" else "alarms.handle")
    user = session.username
    now = utcnow()
    values: dict[str, Any] = {
        "state": new_state,
        "version": alarms.c.version + 1,
        "updated_at": now,
        "updated_by": user,
    }
    if assigned_to is not None:
        values["assigned_to"] = assigned_to
    result = conn.execute(
        update(alarms)
        .where(alarms.c.id == alarm_id, alarms.c.version == expected_version)
        .values(**values)
    )
    if result.rowcount != 1:
        return False
    detail: dict[str, Any] = {"state": new_state, "version": expected_version + 1, "note": note}
    if assigned_to is not None:
        detail["assigned_to"] = assigned_to
    write_audit(conn, user, "alarm." + new_state, f"alarm {alarm_id}", detail, at=now)
    return True
