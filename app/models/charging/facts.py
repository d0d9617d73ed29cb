"""Analysis facts: the numbers the anomaly rules read, packed so a city-year rescans fast.

A full rescan looks at every session, bill and heartbeat of a city: ~10 M sessions, as
many bills and ~140 M heartbeats a year. Fetched row by row through the database driver
that is minutes of Python object creation before any rule runs (≈ 0.25 M rows/s for a
dozen integer columns, measured), so the projection also writes each event's numbers as
a little-endian int64 record, and the rescan reads them back as whole blobs straight into
numpy (≈ 2 M blobs/s, then no per-row Python at all):

* ``session_facts`` — one row per session, clustered by pile (``WITHOUT ROWID`` on SQLite),
  holding the session's numbers, the power profile's integral (R14) and the profile's
  weight per local clock hour (R02 prices a bill as a dot product with the tariff's hourly
  prices instead of re-reading ~55 power samples per session);
* ``billing_facts`` — one row per bill, clustered by pile;
* ``heartbeat_days`` — one row per (pile, meter, UTC day), the day's heartbeats appended
  as 40-byte records in C by an ``INSERT … ON CONFLICT DO UPDATE SET data = data || new``,
  so the sync writes one small upsert per heartbeat and a rescan reads ~24 heartbeats per
  blob.

Facts are derived data: the event tables stay the record of truth and the migration
that introduced them rebuilt them from those tables (:func:`rebuild`). Piles, meters,
sessions and tariffs are keyed by a 63-bit BLAKE2b hash of their ID (:func:`code`): it
needs no lookup table, spreads piles evenly over chunk ranges, and is the same in every
process. Where a hash collision could matter (a bill paired with another session), the
rules compare the real IDs before they report anything.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, text

CST_OFFSET_MS = 8 * 3_600_000
"""Tariff periods are local (UTC+8) wall-clock minutes."""
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_BINS = 48
"""Profiles spanning more local hours than this are priced from their samples instead."""

SESSION_FIELDS = (
    "entry_index",
    "meter_no",
    "session_no",
    "start_ms",
    "stop_ms",
    "start_wh",
    "stop_wh",
    "energy_wh",
    "interval_s",
    "nsamp",
    "profile_ws",
    "hour0",
    "binned",
)
"""Header of a session fact; ``nbins`` int64 hour weights follow (-1: no sample that hour)."""
BILLING_FIELDS = (
    "entry_index",
    "session_no",
    "tariff_no",
    "billed_wh",
    "energy_fen",
    "service_fen",
    "amount_fen",
)
HEARTBEAT_FIELDS = ("entry_index", "ref_ms", "offset_ms", "register_wh", "seq")
_HEARTBEAT = struct.Struct("<5q")
_BILL = struct.Struct(f"<{len(BILLING_FIELDS)}q")
_SESSION_HEADER = len(SESSION_FIELDS)


def code(name: str) -> int:
    """The 63-bit key of an ID: BLAKE2b, non-negative so ranges split evenly."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little") >> 1


registry_code = functools.lru_cache(maxsize=1 << 17)(code)
""":func:`code` for IDs that recur in every batch (piles, meters, tariffs)."""


CODE_SPACE = 1 << 63


def hour_weights(start_ms: int, interval_s: int, samples: Sequence[int]) -> list[int] | None:
    """The profile's Σ max(p, 0) per local clock hour from the start's hour; -1 where no
    sample starts in that hour. None when the profile spans more than ``MAX_BINS`` hours.

    A sample belongs to the hour holding its start, exactly as the tariff computation
    assigns it to the period holding its start minute: for tariffs whose periods begin on
    whole hours the weights give the same sums as the samples. Summed a slice per hour
    (C speed), not a sample at a time: a long AC session has hundreds of samples.
    """
    n = len(samples)
    if not n:
        return []
    local0 = (start_ms + CST_OFFSET_MS) % DAY_MS
    hour0 = local0 // HOUR_MS
    step = max(interval_s, 1) * 1000  # records guarantee interval_s > 0
    last = (local0 + (n - 1) * step) // HOUR_MS - hour0
    if last >= MAX_BINS:
        return None
    weights: list[int] = []
    lo = 0
    for j in range(last + 1):
        hi = min(n, -(-((hour0 + j + 1) * HOUR_MS - local0) // step))  # first sample of j + 1
        if hi <= lo:
            weights.append(-1)
            continue
        part = samples[lo:hi]
        weights.append(sum(part) if min(part) >= 0 else sum(p for p in part if p > 0))
        lo = hi
    return weights


OTHER_PILE = 2
"""Bit of a session fact's ``binned`` word: the session names another pile than its
meter's registry pile (the fact is filed under the registry pile; R25)."""


def session_fact(
    entry_index: int, body: Mapping[str, Any], samples: Sequence[int], other_pile: bool = False
) -> bytes:
    """The packed fact of one session record; ``samples`` as stored (int32-saturated);
    ``other_pile``: the record names a pile other than the one the fact is filed under."""
    interval = body["interval_s"]
    weights = hour_weights(body["start_ms"], interval, samples)
    header = (
        entry_index,
        registry_code(body["meter_id"]),
        code(body["session_id"]),
        body["start_ms"],
        body["stop_ms"],
        body["start_wh"],
        body["stop_wh"],
        body["energy_wh"],
        interval,
        len(samples),
        _saturated(sum(samples) * interval),
        ((body["start_ms"] + CST_OFFSET_MS) % DAY_MS) // HOUR_MS,
        int(weights is not None) | (OTHER_PILE if other_pile else 0),
    )
    bins = weights or []
    return struct.pack(f"<{_SESSION_HEADER + len(bins)}q", *header, *bins)


def _saturated(value: int) -> int:
    """Within int64: the profile integral of absurd-but-signed records (a decades-long
    interval of 2.1 GW samples) must not stop the sync; the rules saturate it the same."""
    return max(-_INT64_MAX, min(_INT64_MAX, value))


_INT64_MAX = 2**63 - 1


def billing_fact(entry_index: int, body: Mapping[str, Any]) -> bytes:
    return _BILL.pack(
        entry_index,
        code(body["session_id"]),
        registry_code(body["tariff_id"]),
        body["billed_wh"],
        body["energy_fen"],
        body["service_fen"],
        body["amount_fen"],
    )


def heartbeat_fact(entry_index: int, body: Mapping[str, Any]) -> bytes:
    return _HEARTBEAT.pack(
        entry_index,
        body["ref_ms"],
        body["meter_ms"] - body["ref_ms"],
        body["register_wh"],
        body["seq"],
    )


# ---- writing (the projection calls these in the batch's transaction) -----------------


def write_sessions(conn: Connection, rows: Iterable[tuple[int, str, bytes]]) -> None:
    """``(entry_index, pile_id, fact)`` of newly applied sessions."""
    facts = [(registry_code(p), i, f) for i, p, f in rows]
    if facts and _partitioned(conn, "session_facts"):
        # The partition key (PostgreSQL only): the start in the fact's own header.
        _insert(
            conn, "session_facts", [(*r, _SESSION_START.unpack_from(r[2], 24)[0]) for r in facts]
        )
        return
    _insert(conn, "session_facts", facts)


def write_billing(
    conn: Connection,
    rows: Iterable[tuple[int, str, bytes]],
    start_ms: Mapping[int, int] | None = None,
) -> None:
    """``(entry_index, pile_id, fact)`` of newly applied bills; ``start_ms``: each bill's own
    start by entry index, the partition key on PostgreSQL (read from ``billing`` if not
    given: the bill rows must then be written first)."""
    facts = [(registry_code(p), i, f) for i, p, f in rows]
    if facts and _partitioned(conn, "billing_facts"):
        times = dict(start_ms or {})
        missing = [i for _, i, _ in facts if i not in times]
        if missing:
            found = conn.exec_driver_sql(
                "SELECT entry_index, start_ms FROM billing WHERE entry_index = ANY(%s)",
                (missing,),
            )
            times.update((int(i), int(t)) for i, t in found)
        _insert(conn, "billing_facts", [(*r, times.get(r[1], 0)) for r in facts])
        return
    _insert(conn, "billing_facts", facts)


_SESSION_START = struct.Struct("<q")
"""A session fact's ``start_ms``, the fourth int64 of its header."""


def _partitioned(conn: Connection, table: str) -> bool:
    """True where ``table`` has the PostgreSQL-only ``start_ms`` partition key (migration
    0009). Asked per batch, not cached: a pooled connection may have written facts before
    the store was migrated."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.exec_driver_sql(
        "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attname = 'start_ms' AND NOT attisdropped",
        (table,),
    ).first()
    return found is not None


def _insert(conn: Connection, table: str, rows: list[tuple[int, ...] | tuple[Any, ...]]) -> None:
    if rows:
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cols = "pile_no, entry_index, data" + (", start_ms" if len(rows[0]) == 4 else "")
        values = ", ".join([marker] * len(rows[0]))
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({values})", rows)


def write_heartbeats(conn: Connection, rows: Iterable[tuple[str, str, int, bytes]]) -> None:
    """``(pile_id, meter_id, ref_ms, fact)`` of newly applied heartbeats, appended to their
    (pile, meter, day) row in log order; one upsert per row group, concatenated in C."""
    groups: dict[tuple[int, int, int], list[bytes]] = {}
    for pile, meter, ref_ms, fact in rows:
        key = (registry_code(pile), registry_code(meter), ref_ms // DAY_MS)
        groups.setdefault(key, []).append(fact)
    if not groups:
        return
    params = [(*key, b"".join(facts)) for key, facts in groups.items()]
    if conn.dialect.name == "postgresql":
        sql = (
            "INSERT INTO heartbeat_days (pile_no, meter_no, day, data) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (pile_no, meter_no, day) "
            "DO UPDATE SET data = heartbeat_days.data || excluded.data"
        )
    else:  # SQLite's || yields TEXT; CAST keeps the bytes and the BLOB type
        sql = (
            "INSERT INTO heartbeat_days (pile_no, meter_no, day, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pile_no, meter_no, day) "
            "DO UPDATE SET data = CAST(data || excluded.data AS BLOB)"
        )
    conn.exec_driver_sql(sql, params)


# ---- reading (the rescan) ------------------------------------------------------------

Cols = dict[str, np.ndarray]


def _blobs(conn: Connection, sql: str, lo: int, hi: int) -> list[tuple[Any, ...]]:
    """Rows straight from the driver's cursor (in the connection's transaction): a
    SQLAlchemy Row per fact would cost as much as reading the fact."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.replace(":lo", marker).replace(":hi", marker), (lo, hi))
        return cursor.fetchall()
    finally:
        cursor.close()


def read_sessions(conn: Connection, lo: int, hi: int) -> tuple[Cols, np.ndarray, np.ndarray]:
    """Session facts of piles with ``lo <= pile_no <= hi``: (columns incl. ``pile_no``,
    hour weights of all sessions concatenated, offsets[n + 1] into them)."""
    rows = _blobs(
        conn,
        "SELECT pile_no, data FROM session_facts WHERE pile_no BETWEEN :lo AND :hi",
        lo,
        hi,
    )
    n = len(rows)
    cols: Cols = {}
    if not n:
        cols = {f: np.zeros(0, np.int64) for f in (*SESSION_FIELDS, "pile_no")}
        cols["other_pile"] = np.zeros(0, bool)
        return cols, np.zeros(0, np.int64), np.zeros(1, np.int64)
    parts = [r[1] for r in rows]  # bytes (or a memoryview: join and len take both)
    words = np.fromiter(map(len, parts), np.int64, n) // 8
    flat = np.frombuffer(b"".join(parts), "<i8")
    start = np.zeros(n + 1, np.int64)
    np.cumsum(words, out=start[1:])
    for k, name in enumerate(SESSION_FIELDS):
        cols[name] = flat[start[:-1] + k]
    cols["other_pile"] = (cols["binned"] & OTHER_PILE) != 0
    cols["binned"] = cols["binned"] & 1
    cols["pile_no"] = np.fromiter((r[0] for r in rows), np.int64, n)
    nbins = words - _SESSION_HEADER
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(nbins, out=offsets[1:])
    owner = np.repeat(np.arange(n), nbins)
    within = np.arange(int(offsets[-1])) - offsets[:-1][owner]
    weights = flat[start[:-1][owner] + _SESSION_HEADER + within]
    return cols, weights, offsets


def read_billing(conn: Connection, lo: int, hi: int) -> Cols:
    rows = _blobs(
        conn,
        "SELECT data FROM billing_facts WHERE pile_no BETWEEN :lo AND :hi",
        lo,
        hi,
    )
    flat = np.frombuffer(b"".join([r[0] for r in rows]), "<i8").reshape(-1, _BILL.size // 8)
    return {name: flat[:, k].copy() for k, name in enumerate(BILLING_FIELDS)}


def read_heartbeats(conn: Connection, lo: int, hi: int) -> Cols:
    """Heartbeats of piles in [lo, hi] as columns with ``meter_no``, each meter's records
    contiguous and ordered by (ref_ms, entry): the order every "previous heartbeat"
    comparison needs. Rows come grouped by (pile, meter, day) and appended in log order,
    so a sort is only needed when a meter's heartbeats arrived out of time order."""
    rows = _blobs(
        conn,
        "SELECT meter_no, data FROM heartbeat_days WHERE pile_no BETWEEN :lo AND :hi",
        lo,
        hi,
    )
    width = _HEARTBEAT.size // 8
    parts = [r[1] for r in rows]
    counts = np.fromiter(map(len, parts), np.int64, len(parts)) // _HEARTBEAT.size
    flat = np.frombuffer(b"".join(parts), "<i8").reshape(-1, width)
    meter = np.repeat(np.fromiter((r[0] for r in rows), np.int64, len(rows)), counts)
    entry, ref = flat[:, 0], flat[:, 1]
    same = meter[1:] == meter[:-1]
    ordered = (ref[1:] > ref[:-1]) | ((ref[1:] == ref[:-1]) & (entry[1:] > entry[:-1]))
    heads = meter[np.flatnonzero(np.r_[True, ~same])] if len(meter) else meter
    if (ordered | ~same).all() and len(heads) == len(np.unique(heads)):
        cols = {name: flat[:, k] for k, name in enumerate(HEARTBEAT_FIELDS)}
        cols["meter_no"] = meter
        return cols
    order = np.lexsort((entry, ref, meter))
    cols = {name: flat[order, k] for k, name in enumerate(HEARTBEAT_FIELDS)}
    cols["meter_no"] = meter[order]
    return cols


def pile_ranges(chunks: int) -> list[tuple[int, int]]:
    """``chunks`` equal, inclusive ranges ``(lo, hi)`` of the pile code space (hashes
    spread piles evenly); inclusive because 2^63 does not fit a database integer."""
    chunks = max(1, chunks)
    edges = [CODE_SPACE * k // chunks for k in range(chunks + 1)]
    return [(a, b - 1) for a, b in itertools.pairwise(edges)]


# ---- rebuilding from the event tables (migration, repair) ----------------------------


def rebuild(conn: Connection, batch: int = 20_000) -> None:
    """Recomputes every fact from the event tables (the migration that added them).

    Plain SQL on the columns as of that migration, keyset-paged by entry index so memory
    stays bounded on a city-year store.
    """
    for table in ("session_facts", "billing_facts", "heartbeat_days"):
        conn.exec_driver_sql(f"DELETE FROM {table}")
    session_cols = (
        "entry_index, session_id, meter_id, pile_id, start_ms, stop_ms, start_wh, stop_wh, "
        "energy_wh, interval_s, power_w"
    )
    # Filed as the projection files them: under the meter's registry pile (R25).
    home = dict(conn.execute(text("SELECT meter_id, pile_id FROM meters")).all())
    for rows in _pages(conn, "sessions", session_cols, batch):
        write_sessions(
            conn,
            [
                (
                    r.entry_index,
                    home.get(r.meter_id, r.pile_id),
                    session_fact(
                        r.entry_index,
                        r._mapping,
                        _samples(r),
                        home.get(r.meter_id, r.pile_id) != r.pile_id,
                    ),
                )
                for r in rows
            ],
        )
    billing_cols = (
        "entry_index, session_id, pile_id, tariff_id, billed_wh, energy_fen, service_fen, "
        "amount_fen"
    )
    session_home = text(
        "SELECT s.session_id, m.pile_id FROM sessions s JOIN meters m "
        "ON m.meter_id = s.meter_id WHERE s.session_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for rows in _pages(conn, "billing", billing_cols, batch):
        sids = sorted({r.session_id for r in rows})
        bill_home: dict[str, str] = {}
        for k in range(0, len(sids), 5000):  # bounded IN lists (SQLite's parameter limit)
            bill_home.update(conn.execute(session_home, {"ids": sids[k : k + 5000]}).all())
        write_billing(
            conn,
            [
                (
                    r.entry_index,
                    bill_home.get(r.session_id, r.pile_id),
                    billing_fact(r.entry_index, r._mapping),
                )
                for r in rows
            ],
        )
    rebuild_heartbeats(conn, batch, clear=False)


def rebuild_heartbeats(conn: Connection, batch: int = 20_000, *, clear: bool = True) -> None:
    """Recomputes the packed heartbeats from the ``heartbeats`` table (migration 0005
    added the sequence number to them)."""
    if clear:
        conn.exec_driver_sql("DELETE FROM heartbeat_days")
    heartbeat_cols = "entry_index, meter_id, pile_id, seq, ref_ms, meter_ms, register_wh"
    for rows in _pages(conn, "heartbeats", heartbeat_cols, batch * 5):
        write_heartbeats(
            conn,
            [
                (r.pile_id, r.meter_id, r.ref_ms, heartbeat_fact(r.entry_index, r._mapping))
                for r in rows
            ],
        )


def _samples(row: Any) -> list[int]:
    blob = bytes(row.power_w)
    return list(struct.unpack(f"<{len(blob) // 4}i", blob))


def _pages(conn: Connection, table: str, cols: str, size: int) -> Iterable[Sequence[Any]]:
    last = -1
    stmt = text(
        f"SELECT {cols} FROM {table} WHERE entry_index > :last ORDER BY entry_index LIMIT {size}"
    )
    while True:
        rows = conn.execute(stmt, {"last": last}).all()
        if not rows:
            return
        yield rows
        last = rows[-1].entry_index
