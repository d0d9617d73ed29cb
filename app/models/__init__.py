"""Qt-free domain and persistence: store schema, sync, rules, alarms, planning.

This package is the workstation's composition root of the instrument kinds
(docs/architecture.md): the core modules name no kind; each kind's projection tables
(on the store's metadata, so one Alembic chain owns them) and its `ProjectionKind`
(projection, signer and owner tables, rules) are registered here, once, before anything
creates, migrates or syncs the store.
"""

import app.models.fuel.tables  # noqa: F401 - the fuel kind's tables join store.metadata
from app.models.alarms import STATUS_HOOKS as _STATUS_HOOKS
from app.models.charging.kind import CHARGING as _CHARGING
from app.models.charging.planning import CHARGING_DUE as _CHARGING_DUE
from app.models.due_sources import register_due_source as _register_due_source
from app.models.fuel.due import FUEL_DUE as _FUEL_DUE
from app.models.fuel.kind import FUEL as _FUEL
from app.models.fuel.rules import refresh_dispenser_status as _refresh_dispenser_status
from app.models.kinds import register_projection as _register_projection
from app.models.taxi import tables as _taxi_tables  # noqa: F401 - joins store.metadata
from app.models.taxi.due import TAXI_DUE as _TAXI_DUE
from app.models.taxi.kind import TAXI as _TAXI

_register_projection(_CHARGING)
_register_projection(_FUEL)
_register_projection(_TAXI)
_register_due_source(_CHARGING_DUE)
_register_due_source(_FUEL_DUE)
_register_due_source(_TAXI_DUE)
if _refresh_dispenser_status not in _STATUS_HOOKS:
    _STATUS_HOOKS.append(_refresh_dispenser_status)
