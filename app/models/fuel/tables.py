"""The fuel kind's projection tables: one row per registry thing (latest record wins)
or per event entry, as the charging tables do (app/models/store.py). Same metadata, so
one Alembic chain owns both kinds' schema (migration 0006_fuel)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, Text

from app.models.store import Json, _entry_pk, _entry_ref, metadata, site_columns

fuel_stations = Table("fuel_stations", metadata, *site_columns())

tanks = Table(
    "tanks",
    metadata,
    Column("tank_id", Text, primary_key=True),
    Column("station_id", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("capacity_ml", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

dispensers = Table(
    "dispensers",
    metadata,
    Column("dispenser_id", Text, primary_key=True),
    Column("station_id", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False, index=True),
    Column(
        "district",
        Text,
        index=True,
        comment="Copied from the station so the map filters dispensers without a join",
    ),
    Column("key", Text, nullable=False, comment="The monitoring module's public key (SM2)"),
    Column("serial", Text, nullable=False),
    Column("board_id", Text, nullable=False),
    Column("maker", Text),
    Column("model", Text),
    Column("nozzles", Json, nullable=False),
    Column("seals", Json, nullable=False),
    Column("cert_no", Text),
    Column("cert_date", Text),
    Column("commissioned_ms", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column(
        "status",
        Text,
        nullable=False,
        server_default="normal",
        index=True,
        comment="Workstation-derived (rules/alarms): normal, alarm, seal_open",
    ),
    _entry_ref(),
)

nozzles = Table(
    "nozzles",
    metadata,
    Column("dispenser_id", Text, primary_key=True),
    Column("nozzle", Integer, primary_key=True),
    Column("product", Text, nullable=False),
    Column("tank_id", Text, nullable=False, index=True),
    Column("encoder_id", Text, nullable=False),
    comment="One row per nozzle, from the dispenser record's nozzles list",
)

fuel_prices = Table(
    "fuel_prices",
    metadata,
    _entry_pk(),
    Column("station_id", Text, nullable=False),
    Column("operator_id", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("price_fen_l", BigInteger, nullable=False),
    Column("valid_from_ms", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "station_id", "product", "valid_from_ms"),
)

fuellings = Table(
    "fuellings",
    metadata,
    _entry_pk(),
    Column("fuelling_id", Text, nullable=False, index=True),
    Column("dispenser_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("nozzle", Integer, nullable=False),
    Column("product", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("stop_ms", BigInteger, nullable=False),
    Column("volume_ml", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("price_fen_l", BigInteger, nullable=False),
    Column("total_before_ml", BigInteger, nullable=False),
    Column("total_after_ml", BigInteger, nullable=False),
    Index(None, "dispenser_id", "nozzle", "stop_ms"),
    Index(None, "station_id", "stop_ms"),
)

fuel_sales = Table(
    "fuel_sales",
    metadata,
    _entry_pk(),
    Column("sale_id", Text, nullable=False),
    Column("fuelling_id", Text, nullable=False, index=True),
    Column("station_id", Text, nullable=False),
    Column("operator_id", Text, nullable=False),
    Column("dispenser_id", Text, nullable=False),
    Column("nozzle", Integer, nullable=False),
    Column("product", Text, nullable=False),
    Column("volume_ml", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("price_fen_l", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "dispenser_id", "at_ms"),
)

totalizers = Table(
    "totalizers",
    metadata,
    _entry_pk(),
    Column("dispenser_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("nozzle", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("volume_total_ml", BigInteger, nullable=False),
    Column("amount_total_fen", BigInteger, nullable=False),
    Column("tax_volume_total_ml", BigInteger, nullable=False),
    Column("tax_amount_total_fen", BigInteger, nullable=False),
    Index(None, "dispenser_id", "nozzle", "at_ms"),
)

fuel_seal_events = Table(
    "fuel_seal_events",
    metadata,
    _entry_pk(),
    Column("dispenser_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("position", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("volume_total_ml", BigInteger, nullable=False),
    Index(None, "dispenser_id", "at_ms"),
)

components = Table(
    "components",
    metadata,
    _entry_pk(),
    Column("dispenser_id", Text, nullable=False, index=True),
    Column("station_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("component", Text, nullable=False),
    Column("old_id", Text, nullable=False),
    Column("new_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

component_inits = Table(
    "component_inits",
    metadata,
    _entry_pk(),
    Column("dispenser_id", Text, nullable=False, index=True),
    Column("inspector_id", Text, nullable=False),
    Column("component", Text, nullable=False),
    Column("new_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)

tank_deliveries = Table(
    "tank_deliveries",
    metadata,
    _entry_pk(),
    Column("delivery_id", Text, nullable=False),
    Column("tank_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("volume_ml", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "tank_id", "at_ms"),
)

tank_levels = Table(
    "tank_levels",
    metadata,
    _entry_pk(),
    Column("tank_id", Text, nullable=False),
    Column("station_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("volume_ml", BigInteger, nullable=False),
    Column("temp_dc", Integer, nullable=False),
    Index(None, "tank_id", "at_ms"),
)

fuel_verifications = Table(
    "fuel_verifications",
    metadata,
    _entry_pk(),
    Column("verification_id", Text, nullable=False, index=True),
    Column("dispenser_id", Text, nullable=False),
    Column("nozzle", Integer, nullable=False),
    Column("inspector_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("regulation", Text, nullable=False),
    Column("points", Json, nullable=False),
    Column("result", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("next_due", Text, nullable=False),
    Column("seal_closed", Boolean, nullable=False),
    Index(None, "dispenser_id", "at_ms"),
)
