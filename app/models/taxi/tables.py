"""The taxi kind's projection tables (安心打车, issue 16): one row per registry thing
(latest record wins) or per event entry, as the fuel tables do. Same metadata, so one
Alembic chain owns every kind's schema (migration 0007_taxi).

``taxi_registrations`` keeps every vehicle, taximeter and monitor record as it was
logged: the registry tables hold only the latest one, but the status of a taxi
(`ledger.taxi.status`) depends on the order of registrations (which meter a vehicle got
last, the first registration of a plate), and the workstation recomputes it with that
same code from the store (`app.models.taxi.queries`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Table, Text

from app.models.store import Json, _entry_pk, _entry_ref, metadata

vehicles = Table(
    "vehicles",
    metadata,
    Column("plate", Text, primary_key=True),
    Column("operator_id", Text, nullable=False, index=True),
    Column("vin", Text),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

taximeters = Table(
    "taximeters",
    metadata,
    Column("meter_serial", Text, primary_key=True),
    Column("plate", Text, nullable=False, index=True),
    Column("operator_id", Text, nullable=False, index=True),
    Column("model", Text, nullable=False),
    Column("maker", Text),
    Column("k_constant", BigInteger, nullable=False),
    Column("terminal_id", Text, nullable=False, index=True),
    Column("key", Text, nullable=False, comment="The in-vehicle terminal's public key"),
    Column("installed_ms", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

monitors = Table(
    "monitors",
    metadata,
    Column("monitor_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("key", Text, nullable=False, comment="The monitoring platform's public key"),
    Column("at_ms", BigInteger, nullable=False),
    _entry_ref(),
)

taxi_registrations = Table(
    "taxi_registrations",
    metadata,
    _entry_pk(),
    Column("type", Text, nullable=False),
    Column("body", Json, nullable=False),
    comment="Every vehicle, taximeter and monitor record in log order (statuses replay them)",
)

taxi_verifications = Table(
    "taxi_verifications",
    metadata,
    _entry_pk(),
    Column("verification_id", Text, nullable=False, index=True),
    Column("plate", Text, nullable=False),
    Column("meter_serial", Text, nullable=False),
    Column("inspector_id", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("regulation", Text, nullable=False),
    Column("distance_error_ppm", BigInteger, nullable=False),
    Column("time_error_ppm", BigInteger, nullable=False),
    Column("k_constant", BigInteger, nullable=False),
    Column("result", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("next_due", Text, nullable=False),
    Column("seal_closed", Boolean, nullable=False),
    Index(None, "plate", "at_ms"),
)

taxi_seal_events = Table(
    "taxi_seal_events",
    metadata,
    _entry_pk(),
    Column("terminal_id", Text, nullable=False),
    Column("plate", Text, nullable=False),
    Column("meter_serial", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "meter_serial", "at_ms"),
)

trips = Table(
    "trips",
    metadata,
    _entry_pk(),
    Column("trip_id", Text, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("plate", Text, nullable=False),
    Column("meter_serial", Text, nullable=False),
    Column("hire_ms", BigInteger, nullable=False),
    Column("vacant_ms", BigInteger, nullable=False),
    Column("start_lon_e6", BigInteger, nullable=False),
    Column("start_lat_e6", BigInteger, nullable=False),
    Column("end_lon_e6", BigInteger, nullable=False),
    Column("end_lat_e6", BigInteger, nullable=False),
    Column("meter_m", BigInteger, nullable=False),
    Column("wait_s", BigInteger, nullable=False),
    Column("fare_fen", BigInteger, nullable=False),
    Index(None, "terminal_id", "trip_id"),
    Index(None, "meter_serial", "hire_ms"),
)

trip_gnss = Table(
    "trip_gnss",
    metadata,
    _entry_pk(),
    Column("trip_id", Text, nullable=False),
    Column("terminal_id", Text, nullable=False),
    Column("plate", Text, nullable=False),
    Column("monitor_id", Text, nullable=False),
    Column("gnss_m", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Index(None, "terminal_id", "trip_id"),
)
