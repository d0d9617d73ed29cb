"""Writes a synced batch's charging records to the charging tables (安心充电).

Called by the core projection (`app.models.projection.apply_records`) through the
charging `ProjectionKind` (`app.models.charging.kind`), inside the sync's transaction,
with the batch's charging records grouped by type in entry order, after the shared
registry (authority, operators, inspectors) of the same batch:

* registry records (station, pile, meter, tariff) first, in that order, so a pile sees
  its station's district and a meter's key history sees earlier meters of the batch; the
  record with the larger entry index wins, and every change of a meter's key is kept in
  ``meter_keys`` (``summary.meter_key_changes``);
* then the events (session, billing, seal, heartbeat, verification), one bulk insert per
  type, with the packed analysis facts (`app.models.charging.facts`) the full rescan
  reads written beside sessions, bills and heartbeats.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, select, update

from app.models import store
from app.models.charging import facts
from app.models.kinds import Items
from app.models.projection import (
    BatchSummary,
    _chunks,
    _insert_rows,
    _json,
    _latest,
    _lookup,
    _upsert,
)
from ledger.keys import key_id_of

REGISTRY_ORDER = ("station", "pile", "meter", "tariff")
EVENT_TYPES = ("session", "billing", "seal", "heartbeat", "verification")
RECORD_TYPES = frozenset(REGISTRY_ORDER) | frozenset(EVENT_TYPES)

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def apply(conn: Connection, grouped: Mapping[str, Items], summary: BatchSummary) -> None:
    """Writes one batch's charging records (``grouped``: type -> items in entry order)."""
    for rtype in REGISTRY_ORDER:
        items = grouped.get(rtype)
        if items:
            _APPLY_REGISTRY[rtype](conn, items, summary)
    pile_ids = {b["pile_id"] for t in ("session", "billing") for _, b in grouped.get(t, ())}
    station_of = _lookup(conn, store.piles, "pile_id", "station_id", pile_ids)
    _apply_sessions(conn, grouped.get("session", []), station_of, summary)
    _apply_billing(conn, grouped.get("billing", []), station_of, summary)
    _apply_seals(conn, grouped.get("seal", []), summary)
    _apply_heartbeats(conn, grouped.get("heartbeat", []), summary)
    _apply_verifications(conn, grouped.get("verification", []), summary)


def pack_power(values: Sequence[int]) -> bytes:
    """The ``power_w`` samples as little-endian int32 (4 bytes each; 1/5 of the JSON)."""
    return _stored_power(values)[0]


def _stored_power(values: Sequence[int]) -> tuple[bytes, Sequence[int]]:
    """(``power_w`` column, the samples it holds).

    Values beyond int32 (±2.1 GW: nonsense for a pile, but a signed ledger entry that must
    not stall the sync) are saturated; the exact value stays in the log entry. The rules
    read the stored samples, so the facts are computed from them too.
    """
    try:
        return struct.pack(f"<{len(values)}i", *values), values
    except struct.error:
        clipped = [min(max(v, _INT32_MIN), _INT32_MAX) for v in values]
        return struct.pack(f"<{len(clipped)}i", *clipped), clipped


def unpack_power(blob: bytes) -> np.ndarray:
    """The ``power_w`` column back as an int32 array in W (one sample per ``interval_s``)."""
    return np.frombuffer(blob, dtype="<i4")


def _apply_stations(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        {
            "station_id": b["station_id"],
            "operator_id": b["operator_id"],
            "name": b["name"],
            "district": b["district"],
            "lon_e6": b["lon_e6"],
            "lat_e6": b["lat_e6"],
            "lon": b["lon_e6"] / 1e6,
            "lat": b["lat_e6"] / 1e6,
            "address": b.get("address"),
            "at_ms": b["at_ms"],
            "entry_index": i,
        }
        for i, b in _latest(items, "station_id")
    ]
    _upsert(conn, store.stations, rows, ("station_id",), newer_than="entry_index")
    changed = {row["station_id"] for row in rows}
    summary.station_ids |= changed
    _copy_district(conn, changed)


def _copy_district(conn: Connection, station_ids: set[str]) -> None:
    """Piles carry their station's district so the map filters piles without a join."""
    if not station_ids:
        return
    district = (
        select(store.stations.c.district)
        .where(store.stations.c.station_id == store.piles.c.station_id)
        .scalar_subquery()
    )
    stmt = (
        update(store.piles)
        .where(store.piles.c.station_id.in_(bindparam("ids", expanding=True)))
        .values(district=district)
    )
    for chunk in _chunks(sorted(station_ids)):
        conn.execute(stmt, {"ids": list(chunk)})


def _apply_piles(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        {
            "pile_id": b["pile_id"],
            "station_id": b["station_id"],
            "operator_id": b["operator_id"],
            "kind": b["kind"],
            "rated_power_w": b["rated_power_w"],
            "rated_voltage_v": b["rated_voltage_v"],
            "max_current_a": b.get("max_current_a"),
            "connectors": b["connectors"],
            "model": b.get("model"),
            "commissioned_ms": b["commissioned_ms"],
            "at_ms": b["at_ms"],
            "entry_index": i,
        }
        for i, b in _latest(items, "pile_id")
    ]
    _upsert(conn, store.piles, rows, ("pile_id",), newer_than="entry_index")
    summary.pile_ids |= {row["pile_id"] for row in rows}
    _copy_district(conn, {row["station_id"] for row in rows})


def _apply_meters(conn: Connection, items: Items, summary: BatchSummary) -> None:
    known = _lookup(conn, store.meters, "meter_id", "key_id", {b["meter_id"] for _, b in items})
    history: list[tuple] = []
    for index, body in items:  # entry order: every change of key is kept, not just the last
        meter_id, key_id = body["meter_id"], key_id_of(body["key"])
        previous = known.get(meter_id)
        if previous != key_id:
            history.append((index, meter_id, body["key"], key_id))
            if previous is not None:
                summary.meter_key_changes.append(index)
            known[meter_id] = key_id
    _insert_rows(conn, store.meter_keys, ("entry_index", "meter_id", "key", "key_id"), history)
    rows = [
        {
            "meter_id": b["meter_id"],
            "pile_id": b["pile_id"],
            "operator_id": b["operator_id"],
            "connector": b["connector"],
            "accuracy_class": b["accuracy_class"],
            "key": b["key"],
            "key_id": key_id_of(b["key"]),
            "maker": b.get("maker"),
            "model": b.get("model"),
            "heartbeat_s": b["heartbeat_s"],
            "cert_no": b.get("cert_no"),
            "cert_date": b.get("cert_date"),
            "cert_verifier": b.get("cert_verifier"),
            "installed_ms": b["installed_ms"],
            "at_ms": b["at_ms"],
            "entry_index": i,
        }
        for i, b in _latest(items, "meter_id")
    ]
    _upsert(conn, store.meters, rows, ("meter_id",), newer_than="entry_index")
    summary.meter_ids |= {row["meter_id"] for row in rows}
    summary.pile_ids |= {row["pile_id"] for row in rows}


def _apply_tariffs(conn: Connection, items: Items, summary: BatchSummary) -> None:
    cols = ("entry_index", "tariff_id", "operator_id", "station_id", "valid_from_ms")
    rows = [
        (
            i,
            b["tariff_id"],
            b["operator_id"],
            b["station_id"],
            b["valid_from_ms"],
            _json(b["periods"]),
            b["at_ms"],
        )
        for i, b in items
    ]
    _insert_rows(conn, store.tariffs, (*cols, "periods", "at_ms"), rows)


_APPLY_REGISTRY = {
    "station": _apply_stations,
    "pile": _apply_piles,
    "meter": _apply_meters,
    "tariff": _apply_tariffs,
}

_SESSION_COLS = (
    "entry_index",
    "session_id",
    "meter_id",
    "pile_id",
    "station_id",
    "connector",
    "start_ms",
    "stop_ms",
    "start_wh",
    "stop_wh",
    "energy_wh",
    "interval_s",
    "power_w",
    "pii",
)


def _apply_sessions(
    conn: Connection, items: Items, station_of: Mapping[str, str], summary: BatchSummary
) -> None:
    station = station_of.get
    rows, fact_rows = [], []
    for i, b in items:
        blob, samples = _stored_power(b["power_w"])
        rows.append(
            (
                i,
                b["session_id"],
                b["meter_id"],
                b["pile_id"],
                station(b["pile_id"]),
                b["connector"],
                b["start_ms"],
                b["stop_ms"],
                b["start_wh"],
                b["stop_wh"],
                b["energy_wh"],
                b["interval_s"],
                blob,
                b.get("pii"),
            )
        )
        fact_rows.append((i, b, samples))
    _insert_rows(conn, store.sessions, _SESSION_COLS, rows)
    facts.write_sessions(conn, _session_fact_rows(conn, fact_rows))
    summary.pile_ids.update(b["pile_id"] for _, b in items)
    summary.meter_ids.update(b["meter_id"] for _, b in items)


def _session_fact_rows(
    conn: Connection, items: Sequence[tuple[int, Mapping[str, Any], Sequence[int]]]
) -> list[tuple[int, str, bytes]]:
    """Session facts filed under the meter's registry pile (the named pile for a meter not
    registered yet), flagged when the record names another pile: a meter's records count
    on its registry pile, so a rescan sees its whole register chain in one chunk (R25)."""
    registry = _lookup(
        conn, store.meters, "meter_id", "pile_id", {b["meter_id"] for _, b, _ in items}
    )
    out = []
    for i, b, samples in items:
        pile = registry.get(b["meter_id"], b["pile_id"])
        out.append((i, pile, facts.session_fact(i, b, samples, pile != b["pile_id"])))
    return out


def _billing_fact_rows(conn: Connection, items: Items) -> list[tuple[int, str, bytes]]:
    """Bill facts filed with their session's fact (its meter's registry pile) when the
    session is already stored, else under the pile the bill names."""
    if not items:
        return []
    stmt = (
        select(store.sessions.c.session_id, store.meters.c.pile_id)
        .join(store.meters, store.meters.c.meter_id == store.sessions.c.meter_id)
        .where(store.sessions.c.session_id.in_(bindparam("ids", expanding=True)))
    )
    home: dict[str, str] = {}
    for chunk in _chunks(sorted({b["session_id"] for _, b in items})):
        home.update(conn.execute(stmt, {"ids": list(chunk)}).all())
    return [
        (i, home.get(b["session_id"], b["pile_id"]), facts.billing_fact(i, b)) for i, b in items
    ]


_BILLING_COLS = (
    "entry_index",
    "session_id",
    "operator_id",
    "pile_id",
    "station_id",
    "tariff_id",
    "billed_wh",
    "energy_fen",
    "service_fen",
    "amount_fen",
    "start_ms",
    "stop_ms",
)


def _apply_billing(
    conn: Connection, items: Items, station_of: Mapping[str, str], summary: BatchSummary
) -> None:
    station = station_of.get
    rows = [
        (
            i,
            b["session_id"],
            b["operator_id"],
            b["pile_id"],
            station(b["pile_id"]),
            b["tariff_id"],
            b["billed_wh"],
            b["energy_fen"],
            b["service_fen"],
            b["amount_fen"],
            b["start_ms"],
            b["stop_ms"],
        )
        for i, b in items
    ]
    _insert_rows(conn, store.billing, _BILLING_COLS, rows)
    facts.write_billing(conn, _billing_fact_rows(conn, items), {i: b["start_ms"] for i, b in items})
    summary.pile_ids.update(b["pile_id"] for _, b in items)


_SEAL_COLS = ("entry_index", "meter_id", "pile_id", "seq", "event", "at_ms", "register_wh")


def _apply_seals(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        (i, b["meter_id"], b["pile_id"], b["seq"], b["event"], b["at_ms"], b["register_wh"])
        for i, b in items
    ]
    _insert_rows(conn, store.seal_events, _SEAL_COLS, rows)
    summary.pile_ids.update(b["pile_id"] for _, b in items)
    summary.meter_ids.update(b["meter_id"] for _, b in items)


_HEARTBEAT_COLS = (
    "entry_index",
    "meter_id",
    "pile_id",
    "seq",
    "ref_ms",
    "meter_ms",
    "register_wh",
    "temp_dc",
)


_HEARTBEAT_FIELDS = itemgetter(*_HEARTBEAT_COLS[1:])
"""The heartbeat row's values after entry_index, from a body in one C call: heartbeats
are ~80 % of a city's entries, and eight subscripts a row in Python cost ~1 µs each
entry of a full sync."""


def _apply_heartbeats(conn: Connection, items: Items, summary: BatchSummary) -> None:
    if not items:
        return
    fields = _HEARTBEAT_FIELDS
    rows = [(i, *fields(b)) for i, b in items]
    _insert_rows(conn, store.heartbeats, _HEARTBEAT_COLS, rows)
    fact = facts.heartbeat_fact
    # row: (entry_index, meter_id, pile_id, seq, ref_ms, ...), as _HEARTBEAT_COLS
    facts.write_heartbeats(
        conn, [(row[2], row[1], row[4], fact(row[0], b)) for row, (_, b) in zip(rows, items)]
    )
    summary.pile_ids.update([row[2] for row in rows])
    summary.meter_ids.update([row[1] for row in rows])


_VERIFICATION_COLS = (
    "entry_index",
    "verification_id",
    "pile_id",
    "meter_id",
    "inspector_id",
    "at_ms",
    "kind",
    "regulation",
    "points",
    "clock_error_ms",
    "insulation_kohm",
    "result",
    "certificate_no",
    "next_due",
    "seal_closed",
    "accuracy_class",
)


def _apply_verifications(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = [
        (
            i,
            b["verification_id"],
            b["pile_id"],
            b["meter_id"],
            b["inspector_id"],
            b["at_ms"],
            b["kind"],
            b["regulation"],
            _json(b["points"]),
            b["clock_error_ms"],
            b["insulation_kohm"],
            b["result"],
            b["certificate_no"],
            b["next_due"],
            bool(b["seal_closed"]),
            b["accuracy_class"],
        )
        for i, b in items
    ]
    _insert_rows(conn, store.verifications, _VERIFICATION_COLS, rows)
    summary.pile_ids.update(b["pile_id"] for _, b in items)
    summary.meter_ids.update(b["meter_id"] for _, b in items)
