"""Alembic environment for the workstation store, configured from code (no alembic.ini).

``app.models.migrations.alembic_config`` hands over either an open connection (in
``config.attributes["connection"]``, as :meth:`Store.open` does, so the upgrade runs in the
caller's engine with its pragmas) or a URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app.models.migrations import include_name
from app.models.store import metadata

config = context.config


def _target_metadata() -> list:
    """Every module's tables: the store's and the planning tables (migration 0002)."""
    from app.models import plan_tables

    return [metadata, plan_tables.metadata]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=_target_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batches
        compare_type=True,
        include_name=include_name,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=_target_metadata(),
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
