"""The fuel kind's workstation side (安心加油): what it plugs into the core's sync.

* ``record_types``: every fuel record type (`ledger.fuel.records`), written by
  `app.models.fuel.projection.apply`;
* ``key_tables``: a dispenser's monitoring module signs fuellings, totalizer readings,
  seal and component events; its key is the ``key`` column of ``dispensers``, so the sync
  rebuilds the "dispenser" signer from the store after a restart;
* ``owner_tables``: what an operator owns (fuel stations, tanks, dispensers), so the sync
  re-checks that an operator signs only records about its own things;
* ``analyse``: rules F01–F10 (`app.models.fuel.rules`) on each synced batch.

Registered by the composition root, `app/models/__init__.py`.
"""

from __future__ import annotations

from app.models.fuel import tables as ft
from app.models.fuel.projection import RECORD_TYPES, apply
from app.models.fuel.rules import analyse
from app.models.kinds import ProjectionKind

FUEL = ProjectionKind(
    name="fuel",
    record_types=RECORD_TYPES,
    apply=apply,
    key_tables=[(ft.dispensers, "dispenser_id", "dispenser")],
    owner_tables={
        "fuel_station": (ft.fuel_stations, "station_id"),
        "tank": (ft.tanks, "tank_id"),
        "dispenser": (ft.dispensers, "dispenser_id"),
    },
    analyse=analyse,
)
