"""The fuel kind's projection tables (安心加油, issue 15).

The tables are declared in ``app.models.fuel.tables`` on the store's MetaData (imported by
the composition root ``app/models/__init__.py``); this file is their frozen creation
script. Registry things (stations, tanks, dispensers and their nozzles) keep one row each,
the latest record winning; every event record is one row keyed by its entry index.

Revision ID: 0006_fuel
Revises: 0005_ledger
Create Date: 2026-12-06 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_fuel"
down_revision: str | None = "0005_ledger"
branch_labels: str | None = None
depends_on: str | None = None

ENTRY_INDEX = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
GCJ = "GCJ-02 degrees, for the map"

TABLES = (
    "fuel_stations",
    "tanks",
    "dispensers",
    "nozzles",
    "fuel_prices",
    "fuellings",
    "fuel_sales",
    "totalizers",
    "fuel_seal_events",
    "components",
    "component_inits",
    "tank_deliveries",
    "tank_levels",
    "fuel_verifications",
)


def _event(name: str, *columns: sa.Column) -> None:
    """An event table: one row per entry, keyed by its entry index."""
    op.create_table(
        name,
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("entry_index", name=op.f(f"pk_{name}")),
    )


def _registry(name: str, key: str, *columns: sa.Column, comment: str | None = None) -> None:
    """A registry table: one row per thing, naming the entry that last wrote it."""
    op.create_table(
        name,
        sa.Column(key, sa.Text(), nullable=False),
        *columns,
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(key, name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("entry_index", name=op.f(f"uq_{name}_entry_index")),
        comment=comment,
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns), unique=False)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _big(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    _registry(
        "fuel_stations",
        "station_id",
        _text("operator_id"),
        _text("name"),
        _text("district"),
        _big("lon_e6"),
        _big("lat_e6"),
        sa.Column("lon", sa.Float(), nullable=False, comment=GCJ),
        sa.Column("lat", sa.Float(), nullable=False, comment=GCJ),
        _text("address", nullable=True),
        _big("at_ms"),
    )
    _index("fuel_stations", "district")
    _index("fuel_stations", "operator_id")

    _registry(
        "tanks",
        "tank_id",
        _text("station_id"),
        _text("operator_id"),
        _text("product"),
        _big("capacity_ml"),
        _big("at_ms"),
    )
    _index("tanks", "station_id")

    _registry(
        "dispensers",
        "dispenser_id",
        _text("station_id"),
        _text("operator_id"),
        sa.Column(
            "district",
            sa.Text(),
            nullable=True,
            comment="Copied from the station so the map filters dispensers without a join",
        ),
        sa.Column(
            "key", sa.Text(), nullable=False, comment="The monitoring module's public key (SM2)"
        ),
        _text("serial"),
        _text("board_id"),
        _text("maker", nullable=True),
        _text("model", nullable=True),
        sa.Column("nozzles", JSON, nullable=False),
        sa.Column("seals", JSON, nullable=False),
        _text("cert_no", nullable=True),
        _text("cert_date", nullable=True),
        _big("commissioned_ms"),
        _big("at_ms"),
        sa.Column(
            "status",
            sa.Text(),
            server_default="normal",
            nullable=False,
            comment="Workstation-derived (rules/alarms): normal, alarm, seal_open",
        ),
    )
    for column in ("district", "operator_id", "station_id", "status"):
        _index("dispensers", column)

    op.create_table(
        "nozzles",
        _text("dispenser_id"),
        _int("nozzle"),
        _text("product"),
        _text("tank_id"),
        _text("encoder_id"),
        sa.PrimaryKeyConstraint("dispenser_id", "nozzle", name=op.f("pk_nozzles")),
        comment="One row per nozzle, from the dispenser record's nozzles list",
    )
    _index("nozzles", "tank_id")

    _event(
        "fuel_prices",
        _text("station_id"),
        _text("operator_id"),
        _text("product"),
        _big("price_fen_l"),
        _big("valid_from_ms"),
        _big("at_ms"),
    )
    _index("fuel_prices", "station_id", "product", "valid_from_ms")

    _event(
        "fuellings",
        _text("fuelling_id"),
        _text("dispenser_id"),
        _text("station_id"),
        _int("nozzle"),
        _text("product"),
        _big("seq"),
        _big("start_ms"),
        _big("stop_ms"),
        _big("volume_ml"),
        _big("amount_fen"),
        _big("price_fen_l"),
        _big("total_before_ml"),
        _big("total_after_ml"),
    )
    _index("fuellings", "fuelling_id")
    _index("fuellings", "dispenser_id", "nozzle", "stop_ms")
    _index("fuellings", "station_id", "stop_ms")

    _event(
        "fuel_sales",
        _text("sale_id"),
        _text("fuelling_id"),
        _text("station_id"),
        _text("operator_id"),
        _text("dispenser_id"),
        _int("nozzle"),
        _text("product"),
        _big("volume_ml"),
        _big("amount_fen"),
        _big("price_fen_l"),
        _big("at_ms"),
    )
    _index("fuel_sales", "fuelling_id")
    _index("fuel_sales", "dispenser_id", "at_ms")

    _event(
        "totalizers",
        _text("dispenser_id"),
        _text("station_id"),
        _int("nozzle"),
        _big("seq"),
        _big("at_ms"),
        _big("volume_total_ml"),
        _big("amount_total_fen"),
        _big("tax_volume_total_ml"),
        _big("tax_amount_total_fen"),
    )
    _index("totalizers", "dispenser_id", "nozzle", "at_ms")

    _event(
        "fuel_seal_events",
        _text("dispenser_id"),
        _text("station_id"),
        _big("seq"),
        _text("position"),
        _text("event"),
        _big("at_ms"),
        _big("volume_total_ml"),
    )
    _index("fuel_seal_events", "dispenser_id", "at_ms")

    _event(
        "components",
        _text("dispenser_id"),
        _text("station_id"),
        _big("seq"),
        _text("component"),
        _text("old_id"),
        _text("new_id"),
        _big("at_ms"),
    )
    _index("components", "dispenser_id")

    _event(
        "component_inits",
        _text("dispenser_id"),
        _text("inspector_id"),
        _text("component"),
        _text("new_id"),
        _big("at_ms"),
    )
    _index("component_inits", "dispenser_id")

    _event(
        "tank_deliveries",
        _text("delivery_id"),
        _text("tank_id"),
        _text("station_id"),
        _text("product"),
        _big("volume_ml"),
        _big("at_ms"),
    )
    _index("tank_deliveries", "tank_id", "at_ms")

    _event(
        "tank_levels",
        _text("tank_id"),
        _text("station_id"),
        _big("seq"),
        _big("at_ms"),
        _big("volume_ml"),
        _int("temp_dc"),
    )
    _index("tank_levels", "tank_id", "at_ms")

    _event(
        "fuel_verifications",
        _text("verification_id"),
        _text("dispenser_id"),
        _int("nozzle"),
        _text("inspector_id"),
        _big("at_ms"),
        _text("kind"),
        _text("regulation"),
        sa.Column("points", JSON, nullable=False),
        _text("result"),
        _text("certificate_no"),
        _text("next_due"),
        sa.Column("seal_closed", sa.Boolean(), nullable=False),
    )
    _index("fuel_verifications", "verification_id")
    _index("fuel_verifications", "dispenser_id", "at_ms")


def downgrade() -> None:
    # Dropping a table drops its indexes on both backends.
    for name in reversed(TABLES):
        op.drop_table(name)
