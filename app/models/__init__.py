"""Qt-free domain and persistence: store schema, sync, rules, alarms, planning.

This package is the workstation's composition root of the instrument kinds
(docs/architecture.md): the core modules name no kind; each kind's projection tables
(on the store's metadata, so one Alembic chain owns them) are imported here, once,
before anything creates, migrates or compares the store's schema.
"""

import app.models.fuel.tables  # noqa: F401 - the fuel kind's tables join store.metadata
