"""Alembic migrations of the workstation store, configured in code (no alembic.ini).

Every schema change is a new file in ``versions/``; :func:`upgrade_to_head` runs whatever is
missing. To draft a new revision against a scratch database::

    from alembic import command
    from app.models.migrations import alembic_config
    command.revision(alembic_config("sqlite:////tmp/x.sqlite"), "message", autogenerate=True)
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = Path(__file__).resolve().parent
MIGRATION_LOCK_ID = 0x45564D53  # "EVMS": serialises concurrent upgrades on PostgreSQL


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at this folder, for a URL or an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def include_name(name: str | None, type_: str, _parent: object = None) -> bool:
    """What schema comparison looks at: not SQLite's own tables, nor the search indexes
    migration 0004 builds outside the models (FTS5 tables and their shadow tables on
    SQLite, trigram expression indexes on PostgreSQL), nor the PostgreSQL-only partition
    key columns of the facts tables (``app.models.partitions.PG_ONLY_COLUMNS``, migration
    0009; their presence is tested in tests/models/test_partitions.py)."""
    if name is None:
        return True
    if type_ == "column" and isinstance(_parent, dict):
        from app.models.partitions import PG_ONLY_COLUMNS

        return (_parent.get("table_name"), name) not in PG_ONLY_COLUMNS
    if type_ == "table":
        return not (name.startswith("sqlite_") or name.endswith("_search") or "_search_" in name)
    if type_ == "index":
        return not name.endswith("_trgm")
    return True


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Brings the database to the newest schema in one transaction; a no-op when current."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    with engine.connect() as conn:
        # Two workstations opening a fresh office database at once: the first migrates,
        # the second waits for it (SQLite write lock / PostgreSQL advisory lock), re-reads
        # the revision and finds nothing left to do.
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            if MigrationContext.configure(conn).get_current_revision() != head:
                command.upgrade(alembic_config(connection=conn), "head")
