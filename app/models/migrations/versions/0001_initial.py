"""Initial schema: ledger projection, registry, sync state, alarms, anomalies, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:15:42.300771
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


# On SQLite an INTEGER PRIMARY KEY is the rowid itself: no separate primary-key index,
# rows clustered in log order (measured: ~25 % faster inserts, ~10 % smaller file).
ENTRY_INDEX = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The audit log is evidence in enforcement cases: once written, a row can be neither
# changed nor removed, whatever the application (or a careless SQL console) does.
APPEND_ONLY_MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRESQL_TRIGGERS = [
    f"""CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation'; END
    $$""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect)
    if statements is None:
        raise NotImplementedError(f"audit_log triggers are not written for {dialect}")
    for statement in statements:
        op.execute(statement)


def _drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.Text(), nullable=True),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.Text(), server_default="new", nullable=False),
        sa.Column("assigned_to", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "state IN ('new', 'acknowledged', 'dispatched', 'resolved', 'dismissed')",
            name=op.f("ck_alarms_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    op.create_index(op.f("ix_alarms_pile_id"), "alarms", ["pile_id"], unique=False)
    op.create_index(
        op.f("ix_alarms_state_created_at"), "alarms", ["state", "created_at"], unique=False
    )

    op.create_table(
        "anomalies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=True),
        sa.Column("meter_id", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
            comment="Entry indexes the finding rests on",
        ),
        sa.Column(
            "evidence_key",
            sa.Text(),
            nullable=False,
            comment="evidence_key(indexes); unique per rule so rescans are idempotent",
        ),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
        sa.UniqueConstraint(
            "rule_id", "evidence_key", name=op.f("uq_anomalies_rule_id_evidence_key")
        ),
    )
    op.create_index(
        op.f("ix_anomalies_pile_id_at_ms"), "anomalies", ["pile_id", "at_ms"], unique=False
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        comment="Append-only (triggers refuse UPDATE and DELETE): evidence for enforcement cases.",
    )
    op.create_index(op.f("ix_audit_log_subject_id"), "audit_log", ["subject", "id"], unique=False)

    op.create_table(
        "authority_keys",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("authority_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("enc_key", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_authority_keys")),
        comment="History of the trust anchor: every authority record, the latest is current.",
    )
    op.create_index(
        op.f("ix_authority_keys_authority_id_entry_index"),
        "authority_keys",
        ["authority_id", "entry_index"],
        unique=False,
    )

    op.create_table(
        "billing",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column(
            "station_id",
            sa.Text(),
            nullable=True,
            comment="The pile's station when the bill was applied",
        ),
        sa.Column("tariff_id", sa.Text(), nullable=False),
        sa.Column("billed_wh", sa.BigInteger(), nullable=False),
        sa.Column("energy_fen", sa.BigInteger(), nullable=False),
        sa.Column("service_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("stop_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_billing")),
    )
    op.create_index(
        op.f("ix_billing_pile_id_start_ms"), "billing", ["pile_id", "start_ms"], unique=False
    )
    op.create_index(op.f("ix_billing_session_id"), "billing", ["session_id"], unique=False)
    op.create_index(
        op.f("ix_billing_station_id_start_ms"), "billing", ["station_id", "start_ms"], unique=False
    )

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column(
            "note", sa.LargeBinary(), nullable=False, comment="The signed note, byte for byte"
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    op.create_index(
        op.f("ix_checkpoints_origin_size"), "checkpoints", ["origin", "size"], unique=False
    )

    op.create_table(
        "entries",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_entries")),
        comment="One row per applied log entry: duplicate application fails here for every type.",
    )
    op.create_table(
        "heartbeats",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ref_ms", sa.BigInteger(), nullable=False),
        sa.Column("meter_ms", sa.BigInteger(), nullable=False),
        sa.Column("register_wh", sa.BigInteger(), nullable=False),
        sa.Column("temp_dc", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_heartbeats")),
    )
    op.create_index(
        op.f("ix_heartbeats_meter_id_ref_ms"), "heartbeats", ["meter_id", "ref_ms"], unique=False
    )

    op.create_table(
        "inspectors",
        sa.Column("inspector_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("org", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("inspector_id", name=op.f("pk_inspectors")),
        sa.UniqueConstraint("entry_index", name=op.f("uq_inspectors_entry_index")),
    )
    op.create_table(
        "meter_keys",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_meter_keys")),
        comment="A row when a meter is first registered and whenever its key changes (anomaly).",
    )
    op.create_index(
        op.f("ix_meter_keys_meter_id_entry_index"),
        "meter_keys",
        ["meter_id", "entry_index"],
        unique=False,
    )

    op.create_table(
        "meters",
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("connector", sa.Integer(), nullable=False),
        sa.Column("accuracy_class", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("maker", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("heartbeat_s", sa.BigInteger(), nullable=False),
        sa.Column("cert_no", sa.Text(), nullable=True),
        sa.Column("cert_date", sa.Text(), nullable=True),
        sa.Column("cert_verifier", sa.Text(), nullable=True),
        sa.Column("installed_ms", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_meters")),
        sa.UniqueConstraint("entry_index", name=op.f("uq_meters_entry_index")),
    )
    op.create_index(op.f("ix_meters_pile_id"), "meters", ["pile_id"], unique=False)

    op.create_table(
        "misbehaviour",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "checkpoint_a",
            sa.LargeBinary(),
            nullable=True,
            comment="First signed checkpoint (e.g. a fork)",
        ),
        sa.Column(
            "checkpoint_b",
            sa.LargeBinary(),
            nullable=True,
            comment="Second, conflicting signed checkpoint",
        ),
        sa.Column(
            "offending_bytes",
            sa.LargeBinary(),
            nullable=True,
            comment="Entry/tile/proof bytes that failed",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_misbehaviour")),
    )
    op.create_index(op.f("ix_misbehaviour_origin"), "misbehaviour", ["origin"], unique=False)

    op.create_table(
        "operators",
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_operators")),
        sa.UniqueConstraint("entry_index", name=op.f("uq_operators_entry_index")),
    )
    op.create_table(
        "piles",
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column(
            "district",
            sa.Text(),
            nullable=True,
            comment="Copied from the station so the map filters piles without a join",
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("rated_power_w", sa.BigInteger(), nullable=False),
        sa.Column("rated_voltage_v", sa.BigInteger(), nullable=False),
        sa.Column("max_current_a", sa.BigInteger(), nullable=True),
        sa.Column("connectors", sa.Integer(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("commissioned_ms", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Text(),
            server_default="normal",
            nullable=False,
            comment="Workstation-derived (rules/alarms), e.g. normal, alarm, seal_open, offline",
        ),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pile_id", name=op.f("pk_piles")),
        sa.UniqueConstraint("entry_index", name=op.f("uq_piles_entry_index")),
    )
    op.create_index(op.f("ix_piles_district"), "piles", ["district"], unique=False)
    op.create_index(op.f("ix_piles_operator_id"), "piles", ["operator_id"], unique=False)
    op.create_index(op.f("ix_piles_station_id"), "piles", ["station_id"], unique=False)
    op.create_index(op.f("ix_piles_status"), "piles", ["status"], unique=False)

    op.create_table(
        "seal_events",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("register_wh", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_seal_events")),
    )
    op.create_index(
        op.f("ix_seal_events_meter_id_seq"), "seal_events", ["meter_id", "seq"], unique=False
    )
    op.create_index(
        op.f("ix_seal_events_pile_id_at_ms"), "seal_events", ["pile_id", "at_ms"], unique=False
    )

    op.create_table(
        "sessions",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False, comment="NOT unique: dups are a fault"),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column(
            "station_id",
            sa.Text(),
            nullable=True,
            comment="The pile's station when the session was applied",
        ),
        sa.Column("connector", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("stop_ms", sa.BigInteger(), nullable=False),
        sa.Column("start_wh", sa.BigInteger(), nullable=False),
        sa.Column("stop_wh", sa.BigInteger(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column(
            "power_w",
            sa.LargeBinary(),
            nullable=False,
            comment="little-endian int32 per interval_s",
        ),
        sa.Column("pii", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_sessions")),
    )
    op.create_index(
        op.f("ix_sessions_pile_id_start_ms"), "sessions", ["pile_id", "start_ms"], unique=False
    )
    op.create_index(op.f("ix_sessions_session_id"), "sessions", ["session_id"], unique=False)
    op.create_index(
        op.f("ix_sessions_station_id_start_ms"),
        "sessions",
        ["station_id", "start_ms"],
        unique=False,
    )

    op.create_table(
        "stations",
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("lon_e6", sa.BigInteger(), nullable=False),
        sa.Column("lat_e6", sa.BigInteger(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False, comment="GCJ-02 degrees, for the map"),
        sa.Column("lat", sa.Float(), nullable=False, comment="GCJ-02 degrees, for the map"),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_stations")),
        sa.UniqueConstraint("entry_index", name=op.f("uq_stations_entry_index")),
    )
    op.create_index(op.f("ix_stations_district"), "stations", ["district"], unique=False)
    op.create_index(op.f("ix_stations_operator_id"), "stations", ["operator_id"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=True),
        sa.Column("compact_range", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.Text(), server_default="idle", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "tariffs",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("tariff_id", sa.Text(), nullable=False),
        sa.Column("operator_id", sa.Text(), nullable=False),
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("valid_from_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "periods",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_tariffs")),
        comment="Every posted tariff: a bill is checked against the one in force at the time",
    )
    op.create_index(
        op.f("ix_tariffs_station_id_valid_from_ms"),
        "tariffs",
        ["station_id", "valid_from_ms"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tariffs_tariff_id_valid_from_ms"),
        "tariffs",
        ["tariff_id", "valid_from_ms"],
        unique=False,
    )

    op.create_table(
        "verifications",
        sa.Column("entry_index", ENTRY_INDEX, autoincrement=False, nullable=False),
        sa.Column("verification_id", sa.Text(), nullable=False),
        sa.Column("pile_id", sa.Text(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("inspector_id", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("regulation", sa.Text(), nullable=False),
        sa.Column(
            "points",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("clock_error_ms", sa.BigInteger(), nullable=False),
        sa.Column("insulation_kohm", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("certificate_no", sa.Text(), nullable=False),
        sa.Column("next_due", sa.Text(), nullable=False),
        sa.Column("seal_closed", sa.Boolean(), nullable=False),
        sa.Column("accuracy_class", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entry_index", name=op.f("pk_verifications")),
    )
    op.create_index(
        op.f("ix_verifications_pile_id_at_ms"), "verifications", ["pile_id", "at_ms"], unique=False
    )
    op.create_index(
        op.f("ix_verifications_verification_id"), "verifications", ["verification_id"], unique=False
    )
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_index(op.f("ix_verifications_verification_id"), "verifications")
    op.drop_index(op.f("ix_verifications_pile_id_at_ms"), "verifications")

    op.drop_table("verifications")
    op.drop_index(op.f("ix_tariffs_tariff_id_valid_from_ms"), "tariffs")
    op.drop_index(op.f("ix_tariffs_station_id_valid_from_ms"), "tariffs")

    op.drop_table("tariffs")
    op.drop_table("sync_state")
    op.drop_index(op.f("ix_stations_operator_id"), "stations")
    op.drop_index(op.f("ix_stations_district"), "stations")

    op.drop_table("stations")
    op.drop_index(op.f("ix_sessions_station_id_start_ms"), "sessions")
    op.drop_index(op.f("ix_sessions_session_id"), "sessions")
    op.drop_index(op.f("ix_sessions_pile_id_start_ms"), "sessions")

    op.drop_table("sessions")
    op.drop_index(op.f("ix_seal_events_pile_id_at_ms"), "seal_events")
    op.drop_index(op.f("ix_seal_events_meter_id_seq"), "seal_events")

    op.drop_table("seal_events")
    op.drop_index(op.f("ix_piles_status"), "piles")
    op.drop_index(op.f("ix_piles_station_id"), "piles")
    op.drop_index(op.f("ix_piles_operator_id"), "piles")
    op.drop_index(op.f("ix_piles_district"), "piles")

    op.drop_table("piles")
    op.drop_table("operators")
    op.drop_index(op.f("ix_misbehaviour_origin"), "misbehaviour")

    op.drop_table("misbehaviour")
    op.drop_index(op.f("ix_meters_pile_id"), "meters")

    op.drop_table("meters")
    op.drop_index(op.f("ix_meter_keys_meter_id_entry_index"), "meter_keys")

    op.drop_table("meter_keys")
    op.drop_table("inspectors")
    op.drop_index(op.f("ix_heartbeats_meter_id_ref_ms"), "heartbeats")

    op.drop_table("heartbeats")
    op.drop_table("entries")
    op.drop_index(op.f("ix_checkpoints_origin_size"), "checkpoints")

    op.drop_table("checkpoints")
    op.drop_index(op.f("ix_billing_station_id_start_ms"), "billing")
    op.drop_index(op.f("ix_billing_session_id"), "billing")
    op.drop_index(op.f("ix_billing_pile_id_start_ms"), "billing")

    op.drop_table("billing")
    op.drop_index(op.f("ix_authority_keys_authority_id_entry_index"), "authority_keys")

    op.drop_table("authority_keys")
    op.drop_index(op.f("ix_audit_log_subject_id"), "audit_log")

    op.drop_table("audit_log")
    op.drop_index(op.f("ix_anomalies_pile_id_at_ms"), "anomalies")

    op.drop_table("anomalies")
    op.drop_index(op.f("ix_alarms_state_created_at"), "alarms")
    op.drop_index(op.f("ix_alarms_pile_id"), "alarms")

    op.drop_table("alarms")
