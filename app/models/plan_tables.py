"""Tables of verification planning, users, work orders and field packages.

Kept on their own :data:`metadata` (not ``app.models.store.metadata``) so planning can
evolve without touching the ledger projection; migration ``0002`` creates them in the
same database and the same Alembic history, so :meth:`Store.open` brings both up to date.

Design choices, and why:

* Users are workstation accounts, not ledger sources: an inspector's *public* key is
  registered in the log by the authority (an ``inspector`` record), while the private key
  stays here, encrypted with the user's password (PKCS#8 ``BestAvailableEncryption``:
  PBKDF2/scrypt + AES-256), next to an argon2id password hash. Neither the password nor
  the raw key is ever stored.
* ``users.username`` is the name written to ``audit_log.user``, so the audit trail stays
  readable after an account is deactivated (users are never deleted).
* An instrument (a pile, a dispenser, a taxi: ``kind`` + ``pile_id``, migration 0008) is
  on at most one *active* work-order item at a time (partial unique index on
  ``work_order_items(kind, pile_id) WHERE active``); re-assigning it deactivates its old
  item, which is how an offline laptop's upload learns of the conflict.
* The laptop's queue of signed results is ``app.models.outbox.Outbox`` (crash-safe files
  next to the field package), not a table here: one upload mechanism for every caller.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from app.models.store import NAMING, AutoId, Json, UtcDateTime

#: ``checker`` (核验员) and ``approver`` (批准人) countersign verification results; see
#: :mod:`app.models.signoff_workflow` for why they are roles of their own.
ROLES = ("regulator", "inspector", "administrator", "checker", "approver")
COUNTERSIGN_ROLES = ("checker", "approver")
ORDER_STATES = ("open", "done", "cancelled")
INSTRUMENT_TYPES = ("DC", "AC")
DEFAULT_ROTATION_YEARS = {"DC": 6, "AC": 8}
#: The regulation's verification cycle (检定周期), which sets a certificate's 有效期:
#: local rules quote 3 years for charging piles. Kept apart from the rotation periods.
DEFAULT_VALIDITY_YEARS = {"DC": 3, "AC": 3}
VALIDITY_YEARS_RANGE = (1, 10)
#: Which rule set drives the due list: Hangzhou's supervision policy for
#: platform-supervised piles, or the regulation's cycle alone.
DUE_POLICIES = ("supervision", "regulation")

metadata = MetaData(naming_convention=NAMING)


def _in(values: tuple[str, ...]) -> str:
    return "('" + "', '".join(values) + "')"


rotation_settings = Table(
    "rotation_settings",
    metadata,
    Column("instrument_type", Text, primary_key=True),
    Column("years", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", Text),
    CheckConstraint("years BETWEEN 5 AND 8", name="years"),
    comment="Rotation period per instrument type (pile kind), 5–8 years; seeded DC 6, AC 8.",
)

users = Table(
    "users",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False, comment="argon2id PHC string"),
    Column("key_pem", LargeBinary, nullable=False, comment="PKCS#8 PEM, password-encrypted"),
    Column("public_key", Text, nullable=False, comment="p256:… text form"),
    Column("inspector_id", Text, comment="The ledger inspector ID the key is registered as"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("role IN " + _in(ROLES), name="role"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("title", Text, nullable=False),
    Column("inspector", Text, nullable=False, index=True, comment="users.username"),
    Column("state", Text, nullable=False, server_default="open"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False, comment="Unix ms, compared with at_ms"),
    Column("estimated_min", Integer, nullable=False),
    Column("travel_m", BigInteger, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    CheckConstraint("state IN " + _in(ORDER_STATES), name="state"),
)

work_order_items = Table(
    "work_order_items",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column(
        "order_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("work_orders.id"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False, comment="Position on the route"),
    Column(
        "pile_id",
        Text,
        nullable=False,
        comment="The instrument's ID within its kind: pile, dispenser, taxi plate "
        "(name kept from the charging-only schema)",
    ),
    Column(
        "station_id",
        Text,
        comment="The site visited (charging or fuel station); NULL: summoned (a taxi)",
    ),
    Column("reason", Text, nullable=False),
    Column("due_date", Text, comment="ISO date the pile was due when ordered"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column(
        "kind",
        Text,
        nullable=False,
        server_default="charging",
        comment="Instrument kind of the item (app.models.due_sources): charging, fuel, taxi",
    ),
    UniqueConstraint("order_id", "kind", "pile_id"),
    Index(
        "uq_work_order_items_active_item",
        "kind",
        "pile_id",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

package_info = Table(
    "package_info",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Json, nullable=False),
    comment="Field package facts: order id, export time, checkpoint note, proof status.",
)

package_proofs = Table(
    "package_proofs",
    metadata,
    Column("entry_index", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", Text, nullable=False),
    Column("proof", LargeBinary, nullable=False, comment="c2sp.org/tlog-proof@v1 text"),
)

validity_settings = Table(
    "validity_settings",
    metadata,
    Column("instrument_type", Text, primary_key=True),
    Column("years", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", Text),
    CheckConstraint("years BETWEEN 1 AND 10", name="years"),
    comment="The regulation's verification cycle per instrument type (certificate validity); "
    "seeded DC 3, AC 3.",
)

planning_settings = Table(
    "planning_settings",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Json, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", Text),
    comment="Planning choices: due_policy = supervision | regulation.",
)

result_records = Table(
    "result_records",
    metadata,
    Column("leaf_hash", Text, primary_key=True, comment="RFC 6962 leaf hash of the entry, hex"),
    Column("verification_id", Text, nullable=False, index=True),
    Column(
        "entry", LargeBinary, nullable=False, comment="The inspector's signed record, as logged"
    ),
    Column("entry_index", BigInteger, comment="Its index in the log (None: not logged yet)"),
    Column("pile_id", Text, nullable=False),
    Column("inspector_id", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
    comment="Signed verification results taken up for countersigning in the office.",
)

countersignatures = Table(
    "countersignatures",
    metadata,
    Column("id", AutoId, primary_key=True),
    Column("leaf_hash", Text, ForeignKey("result_records.leaf_hash"), nullable=False),
    Column("role", Text, nullable=False),
    Column("username", Text, nullable=False, comment="users.username"),
    Column("display_name", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("signature", Text, nullable=False, comment="base64, see signoff_workflow.message"),
    Column("signed_ms", BigInteger, nullable=False),
    UniqueConstraint("leaf_hash", "role"),
    CheckConstraint("role IN " + _in(COUNTERSIGN_ROLES), name="role"),
    comment="核验员 / 批准人 countersignatures over a result record's leaf hash.",
)
