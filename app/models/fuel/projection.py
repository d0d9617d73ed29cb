"""Writes a synced batch's fuel records to the fuel tables (`app.models.fuel.tables`).

Called by the core projection (`app.models.projection.apply_records`) through the fuel
`ProjectionKind`, inside the sync's transaction, with the batch's fuel records grouped by
type in entry order. The same shape as the charging projection, with the core
projection's helpers (`_insert_rows`: one ``executemany``/``COPY`` of plain tuples;
`_registry_rows`: a registry row per thing from the batch's latest record; `_event`: an
event table's columns and getter; `_lookup`: chunked ``IN`` look-ups):

* registry records (fuel station, tank, dispenser) are upserted, the record with the larger
  entry index winning, so a stale write never rolls a registry back; a dispenser's
  ``nozzles`` list becomes its ``nozzles`` rows (replaced only when that dispenser record
  is the one the registry holds), and the dispenser carries its station's district so the
  map filters dispensers without a join;
* every other record is one row keyed by its entry index (a city's ~750k fuellings a day
  go in as one bulk insert per type).

The summary names the dispensers a batch touched in ``pile_ids`` (the core's instrument
column: findings and alarms name a dispenser there too) and changed fuel stations in
``station_ids``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, bindparam, delete, text

from app.models import store
from app.models.fuel import tables as ft
from app.models.kinds import Items
from app.models.projection import (
    BatchSummary,
    _chunks,
    _event,
    _insert_rows,
    _json,
    _lookup,
    _registry_rows,
)

REGISTRY_ORDER = ("fuel_station", "tank", "dispenser")
"""Stations first, so a dispenser of the same batch finds its station's district."""


def apply(conn: Connection, grouped: Mapping[str, Items], summary: BatchSummary) -> None:
    """Writes one batch's fuel records (``grouped``: type -> items in entry order)."""
    for rtype in REGISTRY_ORDER:
        items = grouped.get(rtype)
        if items:
            _REGISTRY[rtype](conn, items, summary)
    for rtype, (table, columns, getter) in _EVENTS.items():
        items = grouped.get(rtype)
        if items:
            _insert_rows(conn, table, columns, _rows(rtype, items, getter))
            summary.pile_ids.update(b["dispenser_id"] for _, b in items if "dispenser_id" in b)


def _apply_stations(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = _registry_rows(
        items,
        ft.fuel_stations,
        "station_id",
        district=itemgetter("district"),
        lon=lambda b: b["lon_e6"] / 1e6,
        lat=lambda b: b["lat_e6"] / 1e6,
    )
    store.upsert(conn, ft.fuel_stations, rows, ("station_id",), newer_than="entry_index")
    changed = sorted({row["station_id"] for row in rows})
    summary.station_ids.update(changed)
    # Dispensers carry their station's district (a station record may come after its
    # dispensers, or move the station to another district).
    follow = text(
        "UPDATE dispensers SET district = (SELECT s.district FROM fuel_stations s"
        " WHERE s.station_id = dispensers.station_id) WHERE station_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in _chunks(changed):
        conn.execute(follow, {"ids": list(chunk)})


def _apply_tanks(conn: Connection, items: Items, summary: BatchSummary) -> None:
    rows = _registry_rows(items, ft.tanks, "tank_id")
    store.upsert(conn, ft.tanks, rows, ("tank_id",), newer_than="entry_index")


def _apply_dispensers(conn: Connection, items: Items, summary: BatchSummary) -> None:
    stations = {b["station_id"] for _, b in items}
    district = _lookup(conn, ft.fuel_stations, "station_id", "district", stations)
    rows = _registry_rows(
        items, ft.dispensers, "dispenser_id", district=lambda b: district.get(b["station_id"])
    )
    store.upsert(conn, ft.dispensers, rows, ("dispenser_id",), newer_than="entry_index")
    ids = {row["dispenser_id"] for row in rows}
    summary.pile_ids |= ids
    # Nozzles follow the dispenser record the registry holds (an older entry applied late
    # lost the upsert above and must not replace them either).
    held = _lookup(conn, ft.dispensers, "dispenser_id", "entry_index", ids)
    current = [row for row in rows if held.get(row["dispenser_id"]) == row["entry_index"]]
    if not current:
        return
    stmt = delete(ft.nozzles).where(ft.nozzles.c.dispenser_id.in_(bindparam("ids", expanding=True)))
    for chunk in _chunks(sorted(row["dispenser_id"] for row in current)):
        conn.execute(stmt, {"ids": list(chunk)})
    nozzle_rows = [
        (row["dispenser_id"], *itemgetter(*_NOZZLE_COLS[1:])(n))
        for row in current
        for n in row["nozzles"]
    ]
    _insert_rows(conn, ft.nozzles, _NOZZLE_COLS, nozzle_rows)


_NOZZLE_COLS = ("dispenser_id", "nozzle", "product", "tank_id", "encoder_id")

_REGISTRY = {
    "fuel_station": _apply_stations,
    "tank": _apply_tanks,
    "dispenser": _apply_dispensers,
}


_EVENTS = {
    "fuel_price": _event(ft.fuel_prices),
    "fuelling": _event(ft.fuellings),
    "fuel_sale": _event(ft.fuel_sales),
    "totalizer": _event(ft.totalizers),
    "fuel_seal": _event(ft.fuel_seal_events),
    "component": _event(ft.components),
    "component_init": _event(ft.component_inits),
    "tank_delivery": _event(ft.tank_deliveries),
    "tank_level": _event(ft.tank_levels),
    "fuel_verification": _event(ft.fuel_verifications),
}
"""Event record type -> (table, columns, getter): an event table's columns are
``entry_index`` then the record's fields of the same names (a test checks each type)."""


def _rows(rtype: str, items: Items, getter: Callable[[Mapping[str, Any]], tuple]) -> list[tuple]:
    """The table rows of event records, in driver form (JSON as text)."""
    if rtype == "fuel_verification":
        points = _EVENTS[rtype][1].index("points") - 1
        return [
            (i, *(_json(v) if k == points else v for k, v in enumerate(getter(b))))
            for i, b in items
        ]
    return [(i, *getter(b)) for i, b in items]


RECORD_TYPES = frozenset(REGISTRY_ORDER) | frozenset(_EVENTS)
