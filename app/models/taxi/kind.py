"""The taxi kind's workstation side (安心打车): what it plugs into the core's sync.

* ``record_types``: every taxi record type (`ledger.taxi.records`), written by
  `app.models.taxi.projection.apply`;
* ``key_tables``: the in-vehicle terminal signs trips and seal events under the signer
  name "taximeter", found by ``terminal_id`` (its key is in the ``taximeters`` row); the
  transport bureau's monitoring platform signs GNSS distances as "monitor", found by
  ``monitor_id``. The sync rebuilds both signers from the store after a restart;
* ``owner_tables``: what a taxi company owns (vehicles by plate, meters by serial), so
  the sync re-checks that a company signs only for its own vehicles and meters;
* ``analyse``: rules T01–T03 (`app.models.taxi.rules`: seal broken, failed verification,
  drift suspected) on each synced batch, for the alarm queue. A taxi's status itself is
  computed from the log by `ledger.taxi.status` (`app.models.taxi.queries`).

Registered by the composition root, `app/models/__init__.py`.
"""

from __future__ import annotations

from app.models.kinds import ProjectionKind
from app.models.taxi import tables as tt
from app.models.taxi.projection import RECORD_TYPES, apply
from app.models.taxi.rules import analyse

TAXI = ProjectionKind(
    name="taxi",
    record_types=RECORD_TYPES,
    apply=apply,
    key_tables=[
        (tt.taximeters, "terminal_id", "taximeter"),
        (tt.monitors, "monitor_id", "monitor"),
    ],
    owner_tables={
        "vehicle": (tt.vehicles, "plate"),
        "taximeter": (tt.taximeters, "meter_serial"),
    },
    analyse=analyse,
)
