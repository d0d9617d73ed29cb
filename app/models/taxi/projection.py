"""Writes a synced batch's taxi records to the taxi tables (`app.models.taxi.tables`).

Called by the core projection (`app.models.projection.apply_records`) through the taxi
`ProjectionKind`, inside the sync's transaction, with the batch's taxi records grouped by
type in entry order. The shape of the fuel projection, with the core projection's
helpers (`_registry_rows`: a registry row per thing from the batch's latest record;
`_event`: an event table's columns and getter; `_insert_rows`: one bulk insert):

* registry records (vehicle, taximeter, monitor) are upserted, the larger entry index
  winning, so a stale write never rolls a registry back; each is also kept, as logged,
  in ``taxi_registrations``, because a taxi's status depends on the order of its
  registrations and the workstation replays them (`app.models.taxi.queries`);
* every other record is one row keyed by its entry index (a city's ~300k trips a day go
  in as one bulk insert per type).

The summary names the meters a batch touched in ``pile_ids`` (the core's instrument
column, as the fuel kind names dispensers there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from app.models import store
from app.models.kinds import Items
from app.models.projection import BatchSummary, _event, _insert_rows, _json, _registry_rows
from app.models.taxi import tables as tt

REGISTRY_ORDER = ("vehicle", "taximeter", "monitor")

_REGISTRY = {
    "vehicle": (tt.vehicles, "plate"),
    "taximeter": (tt.taximeters, "meter_serial"),
    "monitor": (tt.monitors, "monitor_id"),
}

_EVENTS = {
    "taxi_verification": _event(tt.taxi_verifications),
    "taxi_seal": _event(tt.taxi_seal_events),
    "trip": _event(tt.trips),
    "trip_gnss": _event(tt.trip_gnss),
}
"""Event record type -> (table, columns, getter): an event table's columns are
``entry_index`` then the record's fields of the same names (a test checks each type)."""


def apply(conn: Connection, grouped: Mapping[str, Items], summary: BatchSummary) -> None:
    """Writes one batch's taxi records (``grouped``: type -> items in entry order)."""
    history: list[tuple[int, str, str]] = []
    for rtype in REGISTRY_ORDER:
        items = grouped.get(rtype)
        if not items:
            continue
        table, key = _REGISTRY[rtype]
        store.upsert(
            conn, table, _registry_rows(items, table, key), (key,), newer_than="entry_index"
        )
        history.extend((index, rtype, _json(dict(body))) for index, body in items)
        if rtype == "taximeter":
            summary.pile_ids.update(body["meter_serial"] for _, body in items)
    _insert_rows(conn, tt.taxi_registrations, ("entry_index", "type", "body"), sorted(history))
    for rtype, (table, columns, getter) in _EVENTS.items():
        items = grouped.get(rtype)
        if items:
            _insert_rows(conn, table, columns, _rows(items, getter))
            summary.pile_ids.update(b["meter_serial"] for _, b in items if "meter_serial" in b)


def _rows(items: Items, getter: Callable[[Mapping[str, Any]], tuple]) -> list[tuple]:
    return [(index, *getter(body)) for index, body in items]


RECORD_TYPES = frozenset(REGISTRY_ORDER) | frozenset(_EVENTS)
