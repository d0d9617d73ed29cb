"""Qt-free domain and persistence: store schema, sync, rules, alarms, planning.

This package is the workstation's composition root of the instrument kinds
(docs/architecture.md): the core modules name no kind; each kind's projection tables
(on the store's metadata, so one Alembic chain owns them) and its `ProjectionKind`
(projection, signer and owner tables, rules) are registered here, once, before anything
creates, migrates or syncs the store.
"""

import app.models.fuel.tables  # noqa: F401 - the fuel kind's tables join store.metadata
from app.models.fuel.kind import FUEL as _FUEL
from app.models.kinds import register_projection as _register_projection

_register_projection(_FUEL)
