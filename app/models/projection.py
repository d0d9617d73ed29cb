"""Applies verified ledger records to the store's tables, fast, and says what changed.

The sync verifies a batch (signatures, inclusion in a signed checkpoint) and then calls
:func:`apply_records` inside the same transaction that advances ``sync_state``, so the
store never holds a record the sync has not verified, nor a sync position ahead of the
rows. Each batch is applied exactly once; applying an entry index twice raises
``IntegrityError`` (the ``entries`` table's primary key) for every record type.

Speed is the point here: a city produces ~28k sessions a day and a first sync replays
years. Records are grouped by type and each event table gets one ``executemany`` of plain
tuples straight to the driver (no per-row ORM or SQLAlchemy parameter processing);
registry tables, which are small, get one upsert each. The returned :class:`BatchSummary`
is the change-set (Anki's ``OpChanges``): rules and views refresh only what it names.
"""

from __future__ import annotations

import gc
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.models import store
from app.models.kinds import PROJECTIONS, Items
from app.models.logs import LOG_BITS, describe_key, origins_by_number
from ledger.keys import key_id_of
from ledger.records import OWNERSHIP, VERSION, Record, canonical_json, identity_of_body
from ledger.registry import OWNED_TYPES, TRANSFERABLE, Owners, SignerRuleError

REGISTRY_ORDER = ("authority", "operator", "inspector")
"""The registry records every kind shares (`ledger.kinds`): the trust anchor and the
parties. They are applied first, so a kind's records of the same batch see them."""

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_IN_CHUNK = 5000  # bound on IN (...) list length (SQLite host-parameter limit)
_FIRST = itemgetter(0)  # an item's entry index, in C (a lambda costs ~0.3 µs an entry)


@dataclass
class BatchSummary:
    """What one or more applied batches changed: the change-set views and rules consume.

    ``new_entries[type]`` lists the new entry indexes per record type in log order, so
    ``new_entries["session"]`` are the sessions to run the rules on. ``pile_ids`` are the
    piles any record of the batch concerns (their map markers and time series may need a
    refresh); ``station_ids`` the stations whose registry entry changed.
    """

    counts: Counter[str] = field(default_factory=Counter)
    new_entries: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pile_ids: set[str] = field(default_factory=set)
    station_ids: set[str] = field(default_factory=set)
    meter_ids: set[str] = field(default_factory=set)
    meter_key_changes: list[int] = field(default_factory=list)
    twins: list[tuple[int, int]] = field(default_factory=list)
    """(entry, first entry) of records the log holds twice: not applied, reported."""
    first_index: int | None = None
    last_index: int | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def session_entries(self) -> list[int]:
        return self.new_entries.get("session", [])

    @property
    def seal_entries(self) -> list[int]:
        return self.new_entries.get("seal", [])

    @property
    def billing_entries(self) -> list[int]:
        return self.new_entries.get("billing", [])

    @property
    def registry_changed(self) -> bool:
        """A registry record (the shared parties', or a kind's ``registry_types``) came."""
        kinds = (t for kind in PROJECTIONS.values() for t in kind.registry_types)
        return any(self.counts.get(t) for t in (*REGISTRY_ORDER, *kinds))

    def merge(self, other: BatchSummary) -> BatchSummary:
        """Folds ``other`` (a later batch) into this summary and returns self."""
        self.counts.update(other.counts)
        for rtype, indexes in other.new_entries.items():
            self.new_entries[rtype].extend(indexes)
        self.pile_ids |= other.pile_ids
        self.station_ids |= other.station_ids
        self.meter_ids |= other.meter_ids
        self.meter_key_changes.extend(other.meter_key_changes)
        self.twins.extend(other.twins)
        firsts = [i for i in (self.first_index, other.first_index) if i is not None]
        lasts = [i for i in (self.last_index, other.last_index) if i is not None]
        self.first_index = min(firsts, default=None)
        self.last_index = max(lasts, default=None)
        return self


# ---- bulk insert ---------------------------------------------------------------------


def _insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
    """One ``executemany`` of positional tuples, straight to the DBAPI cursor.

    Bypasses SQLAlchemy's per-parameter processing (3-4x faster for wide event rows), so
    callers pass values already in driver form: bytes, ints, str, JSON as text.
    """
    if not rows:
        return
    prep = conn.dialect.identifier_preparer
    if conn.dialect.name == "postgresql":
        # COPY is ~5x faster than psycopg's pipelined executemany for wide rows.
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            prep.format_table(table), ", ".join(prep.quote(c) for c in columns)
        )
        dbapi = conn.dialect.loaded_dbapi
        raw: Any = conn.connection.dbapi_connection
        try:
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except dbapi.Error as exc:  # the same IntegrityError etc. as the executemany path
            raise DBAPIError.instance(copy_sql, None, exc, dbapi.Error) from exc
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        prep.format_table(table),
        ", ".join(prep.quote(c) for c in columns),
        ", ".join([marker] * len(columns)),
    )
    conn.exec_driver_sql(sql, rows)


def _upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    newer_than: str | None = None,
) -> None:
    """`store.upsert` for the projection's registry rows: the same INSERT ... ON CONFLICT
    (keys) DO UPDATE (only by a row with a larger ``newer_than``), as SQL text run as
    one ``executemany`` of plain tuples. SQLAlchemy processed each row's parameters
    (~15 µs a pile row, most of a first sync's registry cost); these rows hold text and
    numbers only, already in driver form."""
    if not rows:
        return
    cols = list(rows[0])
    prep = conn.dialect.identifier_preparer
    name, quote = prep.format_table(table), prep.quote
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in cols if c not in keys)
    where = (
        f" WHERE excluded.{quote(newer_than)} > {name}.{quote(newer_than)}" if newer_than else ""
    )
    sql = (
        f"INSERT INTO {name} ({', '.join(map(quote, cols))}) "
        f"VALUES ({', '.join([marker] * len(cols))}) "
        f"ON CONFLICT ({', '.join(map(quote, keys))}) DO UPDATE SET {updates}{where}"
    )
    conn.exec_driver_sql(sql, [tuple(row[c] for c in cols) for row in rows])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _lookup(conn: Connection, table: Table, key: str, value: str, ids: set[str]) -> dict[str, Any]:
    """{id: value column} for the given ids (chunked IN lists)."""
    if not ids:
        return {}
    stmt = select(table.c[key], table.c[value]).where(
        table.c[key].in_(bindparam("ids", expanding=True))
    )
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(ids)):
        found.update(conn.execute(stmt, {"ids": list(chunk)}).all())
    return found


# ---- apply ---------------------------------------------------------------------------


@contextmanager
def gc_paused() -> Iterator[None]:
    """Holds the cyclic garbage collector off while a batch is checked and applied.

    A batch allocates ~10^5 containers (parsed bodies, heads, rows) that hold no cycles
    and live until the batch is applied; left on, the collector walks them again and
    again (~20 % of apply time, and ~6 µs an entry on the sync's ordering thread,
    measured). Nothing is lost by collecting once afterwards. Nests: only the outermost
    pause re-enables it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def apply_records(
    conn: Connection, entries: Sequence[tuple[int, Record]], origin: str | None = None
) -> BatchSummary:
    """Writes the projection of verified ``(entry_index, record)`` pairs; returns what changed.

    Call inside the transaction that also advances ``sync_state``. The shared registry
    records (authority, operators, inspectors) are written here; every other record goes
    to the `ProjectionKind` registered for its type (``apply``), kind by kind in
    registration order. Registry records are upserted (the record with the larger entry
    index wins); event records become one row keyed by their index.

    Two checks the platform must have made at ingest are made again here, because a
    log that breaks them proves the platform, not a source, at fault (issue 13):

    * one record, one entry: an entry whose record (type, signer, body) was applied
      before is a twin; it is not applied again (it made R08 "double charge" fire
      against an innocent operator), but recorded as platform misbehaviour naming both
      entries (``misbehaviour`` kind ``duplicate-record``, a critical alarm); the sync
      goes on. ``origin`` names the log in that record (else the store's only log).
    * who may sign what (`ledger.registry.Owners`), for entries of a log (``origin``
      given: the sync): a record an operator signed about another operator's station,
      pile or meter raises the sync's ``Misbehaviour`` (kind ``signer-rule``), so the
      sync halts with the entry as evidence, exactly as for an entry signed by an
      unregistered key; nothing of the batch is applied. Without ``origin`` (tests and
      tools that build a store from records of their own) this check is skipped.
    """
    summary = BatchSummary()
    if not entries:
        return summary
    with gc_paused():
        _apply(conn, entries, summary, origin)
    return summary


def _apply(
    conn: Connection,
    entries: Sequence[tuple[int, Record]],
    summary: BatchSummary,
    origin: str | None = None,
) -> None:
    indexes = [index for index, _ in entries]
    summary.first_index, summary.last_index = min(indexes), max(indexes)
    # First, so a re-applied entry fails before anything else is written.
    twins = _insert_entries(conn, entries)
    if twins:
        skipped = set(twins)
        twins = _not_carried(entries, twins)
        if twins:
            _report_twins(conn, entries, twins, origin)
            summary.twins.extend(sorted(twins.items()))
        entries = [(i, r) for i, r in entries if i not in skipped]
    if origin is not None:
        _check_signers(conn, entries)
    grouped: dict[str, list[tuple[int, Mapping[str, Any]]]] = defaultdict(list)
    for index, record in entries:
        grouped[record.type].append((index, record.body))
    plugged = {t for kind in PROJECTIONS.values() for t in kind.record_types}
    unknown = set(grouped) - set(REGISTRY_ORDER) - plugged
    if unknown:
        raise ValueError(f"apply_records: no projection for record type(s) {sorted(unknown)}")

    for rtype in REGISTRY_ORDER:
        items = grouped.get(rtype)
        if items:
            items.sort(key=_FIRST)
            _APPLY_REGISTRY[rtype](conn, items, summary)
    for kind in PROJECTIONS.values():
        mine = {t: grouped[t] for t in kind.record_types if t in grouped}
        if mine:
            for items in mine.values():
                items.sort(key=_FIRST)
            kind.apply(conn, mine, summary)

    for rtype, items in grouped.items():
        summary.counts[rtype] += len(items)
        summary.new_entries[rtype].extend(sorted(index for index, _ in items))


# ---- one record, one entry; who may sign what ----------------------------------------


def _identity(record: Record) -> bytes:
    """The record's identity: read from the sync's EntryHead (sliced from the entry's
    bytes), else from the body (a Record)."""
    known = getattr(record, "identity", b"")
    return known or identity_of_body(record.type, record.key_id, record.body)


def _insert_entries(conn: Connection, entries: Sequence[tuple[int, Record]]) -> dict[int, int]:
    """Writes the ``entries`` rows with each record's identity; returns {twin: first}
    for entries whose record is already applied (earlier in the batch or before it).

    Twins within the batch are found by a set of its identities; the unique index on
    ``record_id`` finds twins of earlier batches for free: the insert is tried in a
    savepoint and only when it fails (a twin, or an entry applied twice, which must
    still raise) are the batch's identities looked up. A batch without twins (all of
    them, in practice) costs no per-entry Python beyond building its rows."""
    ids = [_identity(record) for _, record in entries]
    cols = ("entry_index", "type", "record_id")
    first_of: dict[bytes, int] = {}

    def mark_firsts() -> None:
        for (index, _), rid in zip(entries, ids, strict=True):
            first_of.setdefault(rid, index)

    def rows() -> list[tuple]:
        return [
            (i, r.type, rid if first_of[rid] == i else None)
            for (i, r), rid in zip(entries, ids, strict=True)
        ]

    if len(set(ids)) == len(ids):
        batch_rows = list(zip([i for i, _ in entries], [r.type for _, r in entries], ids))
    else:
        mark_firsts()
        batch_rows = rows()
    try:
        with conn.begin_nested():
            _insert_rows(conn, store.entries, cols, batch_rows)
    except IntegrityError:
        if not first_of:
            mark_firsts()
        table = store.entries
        stmt = select(table.c.record_id, table.c.entry_index).where(
            table.c.record_id.in_(bindparam("ids", expanding=True))
        )
        unique = list(first_of)
        for start in range(0, len(unique), _IN_CHUNK):
            for rid, index in conn.execute(stmt, {"ids": unique[start : start + _IN_CHUNK]}):
                first_of[bytes(rid)] = index  # applied before: the first of its record
        _insert_rows(conn, store.entries, cols, rows())  # raises for a re-applied entry
    if not first_of:
        return {}
    return {
        i: first_of[rid] for (i, _), rid in zip(entries, ids, strict=True) if first_of[rid] != i
    }


def registry_types() -> frozenset[str]:
    """Record types that make up the registry: the shared parties' and every kind's."""
    return frozenset(
        {*REGISTRY_ORDER, *(t for k in PROJECTIONS.values() for t in k.registry_types)}
    )


def _not_carried(entries: Sequence[tuple[int, Record]], twins: dict[int, int]) -> dict[int, int]:
    """The twins that are misbehaviour: all but registry records carried into another log.

    A new shard (another log of the signed list, e.g. the next half-year) starts with the
    registry records its entries' signers need, copied byte for byte from the shard before,
    so that each log verifies on its own (docs/deployment.md). The copy has the original's
    identity; it is no second record, and neither applied again nor reported. Anything else
    met again — a session or a bill in two shards — is still a twin."""
    registry = registry_types()
    types = dict(entries)
    return {
        i: first
        for i, first in twins.items()
        if not (types[i].type in registry and i >> LOG_BITS != first >> LOG_BITS)
    }


def _entry_bytes(record: Record) -> bytes:
    """The entry's bytes as logged, from a Record or the sync's EntryHead (type, body and
    signature object of a verified, canonical entry re-encode to the same bytes)."""
    if isinstance(record, Record):
        return record.to_bytes()
    sig = record.sig  # type: ignore[attr-defined]
    return canonical_json({"b": record.body, "s": sig, "t": record.type, "v": VERSION})


def _subject(record: Record) -> str:
    return Record(record.type, record.body, "", record.key_id, b"").subject


def _log_origin(conn: Connection) -> str:
    origins = conn.execute(select(store.sync_state.c.origin)).scalars().all()
    return origins[0] if len(origins) == 1 else "(unknown log)"


def _report_twins(
    conn: Connection,
    entries: Sequence[tuple[int, Record]],
    twins: Mapping[int, int],
    origin: str | None,
) -> None:
    """One misbehaviour row per twin (both entry indexes, the twin's bytes), one alarm
    and one audit row per batch: evidence against the platform, which should have
    refused the entry (HTTP 409), not against the record's signer."""
    now = store.utcnow()
    origin = origin or _log_origin(conn)
    by_index = dict(entries)
    several = any((i | f) >> LOG_BITS for i, f in twins.items())
    names = origins_by_number(conn) if several else {}
    rows = []
    for index, first in sorted(twins.items()):
        record = by_index[index]
        subject = _subject(record)
        rows.append(
            {
                "origin": origin,
                "kind": "duplicate-record",
                "detected_at": now,
                "description": (
                    f"{describe_key(index, names)} is a second entry of {subject} "
                    f"({describe_key(first, names)}): the same "
                    f"type, signer (key {record.key_id}) and body under another signature. "
                    "The platform must refuse it; it was not applied, and it is no evidence "
                    "against the signer"
                ),
                "evidence": {
                    "entry": index,
                    "first_entry": first,
                    "key_id": record.key_id,
                    "record": subject,
                },
                "offending_bytes": _entry_bytes(record),
            }
        )
    conn.execute(insert(store.misbehaviour), rows)
    pairs = [[index, first] for index, first in sorted(twins.items())]
    conn.execute(
        insert(store.alarms),
        {
            "created_at": now,
            "kind": "log-misbehaviour",
            "severity": "critical",
            "pile_id": None,
            "rule_id": "L2",
            "title_zh": "监管账本异常：平台重复记入同一记录（另一签名），未作为新记录处理",
            "title_en": "Ledger misbehaviour: the platform logged a record twice (another "
            "signature); the copy was not applied",
            # "entries": both entries of each pair, so the alarm's evidence bundle
            # (app.models.evidence) proves the twin and its first in the signed log
            "evidence": {
                "kind": "duplicate-record",
                "entries": sorted({i for pair in pairs[:100] for i in pair}),
                "pairs": pairs[:100],
                "count": len(pairs),
            },
            "state": "new",
            "updated_at": now,
            "updated_by": "sync",
            "version": 1,
        },
    )
    store.write_audit(
        conn, "sync", "misbehaviour", origin, {"kind": "duplicate-record", "entries": pairs[:100]}
    )


_SIGNER_RULE_TYPES = OWNED_TYPES | {"authority"}


def _check_signers(conn: Connection, entries: Sequence[tuple[int, Record]]) -> None:
    """Who may sign what, from the store's registry and the batch in log order; raises
    the sync's ``Misbehaviour`` (halt, with the entry as evidence) at the first record
    the platform should have refused. Checks only what the store can prove: a station
    or pile it does not know is left to the rules (``strict=False``)."""
    # Only these types change or answer to the rules (most of a batch is meter-signed);
    # taken out first, so the loop below runs over a few percent of the entries.
    relevant = [(i, r) for i, r in entries if r.type in _SIGNER_RULE_TYPES]
    owned = [(i, r) for i, r in relevant if r.type != "authority"]
    if not owned:
        return
    tables: dict[str, tuple[Table, str]] = {}
    for kind in PROJECTIONS.values():
        tables.update(kind.owner_tables)
    wanted: dict[str, set[str]] = {rtype: set() for rtype in tables}
    for _, record in owned:
        body = record.body
        rule = OWNERSHIP[record.type]
        for rtype, id_field in ((record.type, rule.own), rule.parent or (None, None)):
            if rtype in wanted and id_field in body:
                wanted[rtype].add(body[id_field])
    owners = Owners(
        {
            rtype: _lookup(conn, tables[rtype][0], tables[rtype][1], "operator_id", ids)
            for rtype, ids in wanted.items()
            if ids
        }
    )
    authority = set(conn.execute(select(store.authority_keys.c.key_id)).scalars())
    for index, record in sorted(relevant, key=lambda item: item[0]):
        rtype = record.type
        if rtype == "authority":
            authority.add(key_id_of(record.body["key"]))
        elif rtype in OWNED_TYPES:
            by_authority = rtype in TRANSFERABLE and record.key_id in authority
            try:
                owners.check(rtype, record.body, by_authority, strict=False)
            except SignerRuleError as exc:
                from app.models.sync import Misbehaviour  # the sync imports this module

                raise Misbehaviour(
                    "signer-rule",
                    f"entry {index}: {exc} — the platform accepted a record it must refuse",
                    offending_bytes=_entry_bytes(record),
                    index=index,
                ) from exc
            owners.apply(rtype, record.body)


# ---- helpers for the kinds' projections ----------------------------------------------


def _latest(items: Items, key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The last record per natural key in a batch (items are in entry order)."""
    return list({body[key]: (index, body) for index, body in items}.values())


_DERIVED = frozenset({"entry_index", "lon", "lat", "district", "status"})
"""Registry columns the workstation derives rather than copies from the record."""


def _registry_rows(
    items: Items, table: Table, key: str, **derived: Callable[[Mapping[str, Any]], Any]
) -> list[dict[str, Any]]:
    """The upsert rows of a registry table: the last record per ``key`` in the batch, its
    fields copied by column name (absent optional fields as NULL), ``derived`` columns
    computed from the body, and the entry that wrote the row."""
    fields = [c.name for c in table.columns if c.name not in _DERIVED]
    return [
        {
            **{f: body.get(f) for f in fields},
            **{column: make(body) for column, make in derived.items()},
            "entry_index": index,
        }
        for index, body in _latest(items, key)
    ]


def _event(table: Any) -> tuple[Any, tuple[str, ...], Callable[[Mapping[str, Any]], tuple]]:
    """(table, columns, getter) of an event table whose columns are ``entry_index`` then
    the record's fields of the same names: the getter takes them from a body in order."""
    columns = tuple(c.name for c in table.columns)
    fields = columns[1:]  # after entry_index: the record's fields of the same names
    return table, columns, itemgetter(*fields)


# ---- the shared registry -------------------------------------------------------------


def _apply_authority(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        (
            i,
            b["authority_id"],
            b["name"],
            b["key"],
            key_id_of(b["key"]),
            b["enc_key"],
            b["at_ms"],
        )
        for i, b in items
    ]
    cols = ("entry_index", "authority_id", "name", "key", "key_id", "enc_key", "at_ms")
    _insert_rows(conn, store.authority_keys, cols, rows)


def _apply_operators(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        {
            "operator_id": b["operator_id"],
            "name": b["name"],
            "key": b["key"],
            "key_id": key_id_of(b["key"]),
            "credit_code": b.get("credit_code"),
            "at_ms": b["at_ms"],
            "entry_index": i,
        }
        for i, b in _latest(items, "operator_id")
    ]
    _upsert(conn, store.operators, rows, ("operator_id",), newer_than="entry_index")


def _apply_inspectors(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        {
            "inspector_id": b["inspector_id"],
            "name": b["name"],
            "org": b["org"],
            "key": b["key"],
            "key_id": key_id_of(b["key"]),
            "at_ms": b["at_ms"],
            "entry_index": i,
        }
        for i, b in _latest(items, "inspector_id")
    ]
    _upsert(conn, store.inspectors, rows, ("inspector_id",), newer_than="entry_index")


_APPLY_REGISTRY = {
    "authority": _apply_authority,
    "operator": _apply_operators,
    "inspector": _apply_inspectors,
}
