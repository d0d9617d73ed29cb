"""The taxi kind's projection tables (安心打车, issue 16).

The tables are declared in ``app.models.taxi.tables`` on the store's MetaData (imported by
the composition root ``app/models/__init__.py``); this file is their frozen creation
script. Registry things (vehicles, taximeters, monitors) keep one row each, the latest
record winning, and every registry record as logged in ``taxi_registrations``; every
event record is one row keyed by its entry index.

Revision ID: 0007_taxi
Revises: 0006_fuel
Create Date: 2026-12-06 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_taxi"
down_revision: str | None = "0006_fuel"
branch_labels: str | None = None
depends_on: str | None = None

ENTRY_INDEX = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

TABLES = (
    "vehicles",
    "taximeters",
    "monitors",
    "taxi_registrations",
    "taxi_verifications",
    "taxi_seal_events",
    "trips",
    "trip_gnss",
)


def _event(name: str, *columns: sa.Column, comment: str | None = None) -> None:
    """An event table: one row per entry, keyed by its entry index."""
    op.create_table(
        name,
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("entry_index", name=op.f(f"pk_{name}")),
        comment=comment,
    )


def _registry(name: str, key: str, *columns: sa.Column) -> None:
    """A registry table: one row per thing, naming the entry that last wrote it."""
    op.create_table(
        name,
        sa.Column(key, sa.Text(), nullable=False),
        *columns,
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("entry_index", name=op.f(f"uq_{name}_entry_index")),
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _big(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    _registry("vehicles", "plate", _text("operator_id"), _text("vin", nullable=True), _big("at_ms"))
    _index("vehicles", "operator_id")

    _registry(
        "taximeters",
        "meter_serial",
        _text("plate"),
        _text("operator_id"),
        _text("model"),
        _text("maker", nullable=True),
        _big("k_constant"),
        _text("terminal_id"),
        sa.Column("key", sa.Text(), nullable=False, comment="The in-vehicle terminal's public key"),
        _big("installed_ms"),
        _big("at_ms"),
    )
    for column in ("operator_id", "plate", "terminal_id"):
        _index("taximeters", column)

    _registry(
        "monitors",
        "monitor_id",
        _text("name"),
        sa.Column("key", sa.Text(), nullable=False, comment="The monitoring platform's public key"),
        _big("at_ms"),
    )

    _event(
        "taxi_registrations",
        _text("type"),
        sa.Column("body", JSON, nullable=False),
        comment="Every vehicle, taximeter and monitor record in log order (statuses replay them)",
    )

    _event(
        "taxi_verifications",
        _text("verification_id"),
        _text("plate"),
        _text("meter_serial"),
        _text("inspector_id"),
        _big("at_ms"),
        _text("kind"),
        _text("method"),
        _text("regulation"),
        _big("distance_error_ppm"),
        _big("time_error_ppm"),
        _big("k_constant"),
        _text("result"),
        _text("certificate_no"),
        _text("next_due"),
        sa.Column("seal_closed", sa.Boolean(), nullable=False),
    )
    _index("taxi_verifications", "verification_id")
    _index("taxi_verifications", "plate", "at_ms")

    _event(
        "taxi_seal_events",
        _text("terminal_id"),
        _text("plate"),
        _text("meter_serial"),
        _big("seq"),
        _text("event"),
        _big("at_ms"),
    )
    _index("taxi_seal_events", "meter_serial", "at_ms")

    _event(
        "trips",
        _text("trip_id"),
        _text("terminal_id"),
        _text("plate"),
        _text("meter_serial"),
        _big("hire_ms"),
        _big("vacant_ms"),
        _big("start_lon_e6"),
        _big("start_lat_e6"),
        _big("end_lon_e6"),
        _big("end_lat_e6"),
        _big("meter_m"),
        _big("wait_s"),
        _big("fare_fen"),
    )
    _index("trips", "terminal_id", "trip_id")
    _index("trips", "meter_serial", "hire_ms")

    _event(
        "trip_gnss",
        _text("trip_id"),
        _text("terminal_id"),
        _text("plate"),
        _text("monitor_id"),
        _big("gnss_m"),
        _big("points"),
        _big("at_ms"),
    )
    _index("trip_gnss", "terminal_id", "trip_id")


def downgrade() -> None:
    # Dropping a table drops its indexes on both backends.
    for name in reversed(TABLES):
        op.drop_table(name)
