"""The charging kind's workstation side (安心充电): what it plugs into the core's sync.

* ``record_types``: every charging record type (`ledger.charging.records`), written by
  `app.models.charging.projection.apply`;
* ``key_tables``: a pile's meter signs sessions, seal events and heartbeats; its key is
  the ``key`` column of ``meters``, so the sync rebuilds the "meter" signer from the store
  after a restart;
* ``owner_tables``: what an operator owns (stations, piles, meters), so the sync re-checks
  that an operator signs only records about its own things;
* ``analyse``: rules R01–R27 (`app.models.charging.rules`) over each synced batch, and
  ``rescan``: the same rules over the whole store, from the analysis facts;
* ``registry_types``: a station, pile, meter or tariff record makes the rules re-check the
  meters it names even when the batch brought no session or heartbeat;
* ``rebuild_facts``: the rules' analysis facts from the session, bill and heartbeat
  tables (a field package copies those, then rebuilds its facts).

Registered by the composition root, `app/models/__init__.py`.
"""

from __future__ import annotations

from app.models import store
from app.models.charging import facts
from app.models.charging.partition_rescan import partition_rescan
from app.models.charging.projection import RECORD_TYPES, REGISTRY_ORDER, apply
from app.models.charging.rules import full_rescan, run_incremental
from app.models.kinds import ProjectionKind

CHARGING = ProjectionKind(
    name="charging",
    record_types=RECORD_TYPES,
    apply=apply,
    key_tables=[(store.meters, "meter_id", "meter")],
    owner_tables={
        "station": (store.stations, "station_id"),
        "pile": (store.piles, "pile_id"),
        "meter": (store.meters, "meter_id"),
    },
    analyse=run_incremental,
    rescan=full_rescan,
    registry_types=frozenset(REGISTRY_ORDER),
    rebuild_facts=facts.rebuild,
    rescan_by_month=partition_rescan,
)
