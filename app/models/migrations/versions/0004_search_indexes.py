"""Substring search indexes for the explorer: piles and stations by ID, name, address.

The explorer's text filter is a substring search ("P00042" anywhere in a pile or
station ID). A LIKE '%…%' cannot use a B-tree index, so it scanned every row: 150 ms
over a million piles, seconds at national scale. Trigram indexes answer it directly:

* SQLite: an FTS5 table with the trigram tokenizer (case-insensitive) per searched
  table, external-content (it stores only the index, the text stays in the table) and
  kept current by triggers; ``app.models.charging.queries`` queries it for texts of 3+ characters.
* PostgreSQL: ``pg_trgm`` GIN indexes on ``lower(column)``, which serve the query's
  ``lower(col) LIKE '%…%'`` unchanged. Creating the extension needs a privilege an office
  DBA may withhold; without it the indexes are skipped and search still works (a scan).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:40:00
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

SEARCH = {"piles": ("pile_id", "station_id"), "stations": ("station_id", "name", "address")}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table, columns in SEARCH.items():
            _sqlite_search(table, columns)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except DBAPIError as exc:  # no privilege (or no contrib package): a scan, as before
            logging.getLogger("alembic").warning(
                "substring search stays unindexed: pg_trgm is unavailable (%s)", exc
            )
            return
        for table, columns in SEARCH.items():
            for column in columns:
                op.execute(
                    f"CREATE INDEX ix_{table}_{column}_trgm ON {table} "
                    f"USING gin (lower({column}) gin_trgm_ops)"
                )


def _sqlite_search(table: str, columns: tuple[str, ...]) -> None:
    fts = f"{table}_search"
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
        "content_rowid='rowid', tokenize='trigram case_sensitive 0')"
    )
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.rowid, {new});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN {delete} {insert} END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    bind = op.get_bind()
    for table, columns in SEARCH.items():
        if bind.dialect.name == "sqlite":
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_search")
        elif bind.dialect.name == "postgresql":
            for column in columns:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
