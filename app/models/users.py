"""Users, roles, sign-in and the signing keys they unlock (Qt-free).

Three roles, each allowed a fixed set of actions (:data:`PERMISSIONS`):

* **regulator** — dispatches work: edits the verification register and rotation
  settings, creates and changes work orders, acknowledges and dismisses alarms.
  A regulator never signs verification results: the person who stood at the pile does.
* **inspector** — does the work: sees only their own work orders, takes them offline,
  signs verification results and uploads them. Cannot dismiss alarms nor edit the
  register or work orders.
* **administrator** — manages user accounts and resumes a sync halted after platform
  misbehaviour (``main.py sync --clear-halt --user``), and nothing else, so that
  account management and enforcement decisions are separate duties.
* **checker** (核验员) and **approver** (批准人) — countersign signed verification results
  in the office (JJF 1069: inspector, checker, approver), each with their own key; see
  :mod:`app.models.signoff_workflow` for why these are roles of their own. Either may
  print a final certificate, as may a regulator.

Checks live here, in the model layer, so every front end (GUI, CLI, a future server)
gets the same rules; the views merely hide what :meth:`Session.can` refuses.

Secrets: the password is hashed with argon2id (argon2-cffi's defaults, RFC 9106 "second
recommended" parameters: 64 MiB, 3 passes) and never stored. Each user gets a P-256
signing key at creation; its private half is stored only encrypted with AES-256-GCM
under a key derived from the password with the *same* argon2id cost as the password
hash (a fresh salt; the parameters are stored beside the blob, see :func:`seal_key`),
and is decrypted in memory at sign-in. Why not PKCS#8 ``BestAvailableEncryption``: its
PBKDF2 runs 2,048 iterations, so a stolen store gave the key to a password guesser
thousands of times faster than the argon2id hash beside it (issue 13 item 4). Keys
written the old way still open and are re-sealed at the next sign-in. Changing the
password re-encrypts the key.

Every change and every sign-in (successful or not) is written to the audit log under
the acting user's name, in the same transaction as the change.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, func, insert, select, update

from app.models.plan_tables import ROLES, users
from app.models.store import utcnow, write_audit
from ledger.keys import KeyFormatError, SigningKey
from ledger.records import Record, sign_record

MIN_PASSWORD_LENGTH = 8

#: Action code -> the words used in messages ("may not <words>").
ACTIONS: dict[str, str] = {
    "users.manage": "manage user accounts",
    "register.edit": "edit the verification register",
    "workorders.edit": "create or change work orders",
    "workorders.view_all": "see other inspectors' work orders",
    "alarms.dismiss": "dismiss alarms",
    "alarms.handle": "acknowledge or dispatch alarms",
    "verification.sign": "sign verification results",
    "results.upload": "upload verification results",
    "package.export": "take a work order offline",
    "verification.check": "countersign verification results as checker (核验员)",
    "verification.approve": "approve verification results as approver (批准人)",
    "certificate.print": "print final certificates and result notices",
    "sync.clear_halt": "resume a sync halted after platform misbehaviour",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    "administrator": frozenset({"users.manage", "sync.clear_halt"}),
    "regulator": frozenset(
        {
            "register.edit",
            "workorders.edit",
            "workorders.view_all",
            "alarms.dismiss",
            "alarms.handle",
            "package.export",
            "certificate.print",
        }
    ),
    "inspector": frozenset({"verification.sign", "results.upload", "package.export"}),
    "checker": frozenset({"verification.check", "certificate.print"}),
    "approver": frozenset({"verification.approve", "certificate.print"}),
    # Not a role anyone can have (not in ROLES, so no account and no sign-in): the rules
    # engine's own principal, which resolves alarms that later data disproved.
    "system": frozenset({"alarms.handle"}),
}

_hasher = PasswordHasher()  # argon2id
# Verified against when the user name is unknown, so a failed sign-in takes the same time
# whether or not the account exists (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class PermissionDenied(Exception):
    """The signed-in user's role does not allow the action; the message names both.

    Deliberately not a ``PermissionError``: that is an ``OSError``, and network code that
    treats ``OSError`` as "offline, retry later" must never swallow a refusal.
    """


class SignInError(RuntimeError):
    """Unknown user, wrong password or a deactivated account (deliberately not said which)."""


class UserError(ValueError):
    """An account change that cannot be made (duplicate name, weak password, ...)."""


@dataclass(frozen=True)
class Session:
    """A signed-in user. Holds the unlocked signing key in memory only (never in repr)."""

    user_id: int
    username: str
    display_name: str
    role: str
    inspector_id: str | None = None
    signing_key: SigningKey | None = field(default=None, repr=False, compare=False)

    @property
    def who(self) -> str:
        """ "an inspector (li)": the role and the user, for messages."""
        article = "an" if self.role[:1] in "aeiou" else "a"
        return f"{article} {self.role} ({self.username})"

    def can(self, action: str) -> bool:
        return action in PERMISSIONS.get(self.role, frozenset())

    def require(self, action: str) -> None:
        """Raises :class:`PermissionDenied` naming the role and the action unless allowed."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if not self.can(action):
            raise PermissionDenied(f"{self.who} may not {ACTIONS[action]}")


#: The rules engine acting on its own findings (automatic closing when later data disproves
#: an alarm); audited as "rules". Built in code only: no account holds this role.
RULES_ENGINE = Session(user_id=0, username="rules", display_name="规则引擎", role="system")


def require(session: Session | None, action: str) -> Session:
    """The model layer's guard: no session at all is refused like a wrong role."""
    if session is None:
        raise PermissionDenied(f"nobody is signed in: cannot {ACTIONS.get(action, action)}")
    session.require(action)
    return session


# ---- the signing key at rest ------------------------------------------------------------

SEALED_KEY_MAGIC = b"evm-sealed-key/v1\n"
"""First bytes of a sealed key blob (then one JSON object); legacy blobs are PKCS#8 PEM."""
LEGACY_KEY_PREFIX = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
# Bounds on stored parameters: a tampered row must not make sign-in allocate gigabytes.
_MAX_MEMORY_KIB = 1 << 20
_MAX_TIME_COST = 64


def _key_aad(public_key: str) -> bytes:
    """Binds the ciphertext to the account's public key: a blob moved to another row fails."""
    return b"evm-signing-key\x00" + public_key.encode()


def _derive(password: str, salt: bytes, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    return hash_secret_raw(password.encode(), salt, time_cost, memory_kib, lanes, 32, Type.ID)


def seal_key(key: SigningKey, password: str) -> bytes:
    """The private key encrypted with AES-256-GCM under argon2id(password).

    The argon2id cost is the password hasher's (:data:`_hasher`), so guessing the key's
    password costs exactly what guessing the login password costs. The blob carries
    its KDF parameters, salt and nonce (JSON after :data:`SEALED_KEY_MAGIC`); the AAD
    is the account's public key.
    """
    salt, nonce = os.urandom(16), os.urandom(12)
    params = {
        "kdf": "argon2id",
        "t": _hasher.time_cost,
        "m": _hasher.memory_cost,
        "p": _hasher.parallelism,
        "salt": base64.b64encode(salt).decode(),
        "cipher": "aes-256-gcm",
        "nonce": base64.b64encode(nonce).decode(),
    }
    wrapping = _derive(password, salt, params["t"], params["m"], params["p"])
    plain = key.to_pem()  # unencrypted PKCS#8, only ever in memory
    params["ct"] = base64.b64encode(
        AESGCM(wrapping).encrypt(nonce, plain, _key_aad(key.public_key.text))
    ).decode()
    return SEALED_KEY_MAGIC + json.dumps(params, sort_keys=True).encode()


def open_key(blob: bytes, password: str, public_key: str) -> SigningKey:
    """Decrypts a key stored by :func:`seal_key` (or, legacy, as encrypted PKCS#8 PEM).

    Raises :class:`KeyFormatError` for a wrong password, a damaged blob, or a key that is
    not the account's (its public half must equal ``public_key``).
    """
    blob = bytes(blob)
    if blob.startswith(LEGACY_KEY_PREFIX):
        key = SigningKey.from_pem(blob, password.encode())
    elif blob.startswith(SEALED_KEY_MAGIC):
        try:
            params = json.loads(blob[len(SEALED_KEY_MAGIC) :])
            t, m, p = int(params["t"]), int(params["m"]), int(params["p"])
            salt = base64.b64decode(params["salt"], validate=True)
            nonce = base64.b64decode(params["nonce"], validate=True)
            ct = base64.b64decode(params["ct"], validate=True)
            ok = (
                params.get("kdf") == "argon2id"
                and params.get("cipher") == "aes-256-gcm"
                and 1 <= t <= _MAX_TIME_COST
                and 1 <= p <= 255
                and 8 * p <= m <= _MAX_MEMORY_KIB
                and len(salt) >= 8
                and len(nonce) == 12
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise KeyFormatError(f"the stored signing key is damaged ({exc})") from exc
        if not ok:
            raise KeyFormatError("the stored signing key has unsupported parameters")
        try:
            plain = AESGCM(_derive(password, salt, t, m, p)).decrypt(
                nonce, ct, _key_aad(public_key)
            )
        except InvalidTag as exc:
            raise KeyFormatError("wrong password, or the stored key was altered") from exc
        key = SigningKey.from_pem(plain)
    else:
        raise KeyFormatError("the stored signing key is in an unknown format")
    if key.public_key.text != public_key:
        raise KeyFormatError("the stored signing key does not belong to this account")
    return key


# ---- accounts -------------------------------------------------------------------------


FIRST_ADMIN_LOCK_ID = 0x45564D41  # "EVMA"


def has_users(conn: Connection) -> bool:
    """False on a fresh workstation: the UI then runs the "create administrator" flow."""
    return bool(conn.execute(select(func.count()).select_from(users)).scalar_one())


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _insert_user(
    conn: Connection,
    username: str,
    display_name: str,
    role: str,
    password: str,
    inspector_id: str | None,
) -> tuple[int, SigningKey]:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {ROLES}")
    username = username.strip()
    if not username:
        raise UserError("the user name is empty")
    _check_password(password)
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise UserError(f"a user named {username!r} already exists")
    key = SigningKey.generate("p256")
    now = utcnow()
    user_id = conn.execute(
        insert(users).returning(users.c.id),
        {
            "username": username,
            "display_name": display_name or username,
            "role": role,
            "password_hash": _hasher.hash(password),
            "key_pem": seal_key(key, password),
            "public_key": key.public_key.text,
            "inspector_id": inspector_id,
            "active": True,
            "created_at": now,
            "updated_at": now,
        },
    ).scalar_one()
    return int(user_id), key


def create_first_administrator(
    conn: Connection, username: str, display_name: str, password: str
) -> Session:
    """First run: creates the administrator and signs them in. Refused once any user exists.

    Two desktops on a fresh office database may both show the first-run dialog: on
    PostgreSQL the check and the insert run under a transaction-scoped advisory lock so
    only the first becomes administrator (SQLite's write transactions are serialised
    already: the store begins them IMMEDIATE).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({FIRST_ADMIN_LOCK_ID})")
    if has_users(conn):
        raise PermissionDenied("an administrator already exists: ask them for an account")
    user_id, key = _insert_user(conn, username, display_name, "administrator", password, None)
    write_audit(
        conn, username, "user.create_first_admin", f"user {username}", {"role": "administrator"}
    )
    return Session(user_id, username.strip(), display_name or username, "administrator", None, key)


def create_user(
    conn: Connection,
    actor: Session,
    username: str,
    display_name: str,
    role: str,
    password: str,
    *,
    inspector_id: str | None = None,
) -> int:
    """Creates an account with its own encrypted signing key; administrators only.

    ``inspector_id`` ties an inspector to the ledger identity the authority registers
    with this user's public key (see :func:`public_key_of`).
    """
    require(actor, "users.manage")
    user_id, _key = _insert_user(conn, username, display_name, role, password, inspector_id)
    write_audit(
        conn,
        actor.username,
        "user.create",
        f"user {username}",
        {"role": role, "inspector_id": inspector_id},
    )
    return user_id


def set_active(conn: Connection, actor: Session, username: str, active: bool) -> None:
    """Deactivates (or re-activates) an account. Users are never deleted: audit names stay."""
    require(actor, "users.manage")
    if username == actor.username and not active:
        raise UserError("you cannot deactivate your own account")
    result = conn.execute(
        update(users).where(users.c.username == username).values(active=active, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise UserError(f"no user named {username!r}")
    write_audit(conn, actor.username, "user.set_active", f"user {username}", {"active": active})


def set_role(conn: Connection, actor: Session, username: str, role: str) -> None:
    """Changes a user's role; administrators only."""
    require(actor, "users.manage")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; expected one of {ROLES}")
    result = conn.execute(
        update(users).where(users.c.username == username).values(role=role, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise UserError(f"no user named {username!r}")
    write_audit(conn, actor.username, "user.set_role", f"user {username}", {"role": role})


def list_users(conn: Connection, actor: Session) -> list[Mapping[str, Any]]:
    """Accounts without secrets, for the administrator's user list."""
    require(actor, "users.manage")
    cols = [
        users.c.username,
        users.c.display_name,
        users.c.role,
        users.c.inspector_id,
        users.c.active,
        users.c.public_key,
    ]
    return [dict(r) for r in conn.execute(select(*cols).order_by(users.c.username)).mappings()]


def inspectors(conn: Connection) -> list[tuple[str, str]]:
    """(username, display name) of active inspectors: the work-order assignee choices."""
    rows = conn.execute(
        select(users.c.username, users.c.display_name)
        .where(users.c.role == "inspector", users.c.active.is_(True))
        .order_by(users.c.username)
    )
    return [(r.username, r.display_name) for r in rows]


def public_key_of(conn: Connection, username: str) -> str:
    """The user's public key text, for the authority's ``inspector`` registry record."""
    key = conn.execute(select(users.c.public_key).where(users.c.username == username)).scalar()
    if key is None:
        raise UserError(f"no user named {username!r}")
    return str(key)


# ---- sign-in --------------------------------------------------------------------------


def sign_in(conn: Connection, username: str, password: str) -> Session:
    """Checks the password (argon2id) and unlocks the user's signing key.

    The same :class:`SignInError` for an unknown name, a wrong password and a
    deactivated account, so the dialog does not reveal which names exist. Both outcomes
    are audited (the password never is).
    """
    row = conn.execute(select(users).where(users.c.username == username.strip())).mappings().first()
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
        ok = row is not None and bool(row["active"])
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        write_audit(conn, username.strip() or "?", "user.sign_in_failed", f"user {username}")
        raise SignInError("unknown user name or wrong password")
    try:
        key = open_key(row["key_pem"], password, row["public_key"])
    except KeyFormatError as exc:  # the hash matched, so the key file was tampered with
        raise SignInError(f"the signing key of {username} cannot be unlocked: {exc}") from exc
    values: dict[str, Any] = {}
    if _hasher.check_needs_rehash(row["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    if not bytes(row["key_pem"]).startswith(SEALED_KEY_MAGIC):
        # A key from before argon2id sealing (PKCS#8, PBKDF2 2,048): re-seal it now,
        # while the password is at hand (it is never kept).
        values["key_pem"] = seal_key(key, password)
        write_audit(conn, row["username"], "user.key_resealed", f"user {row['username']}")
    if values:
        conn.execute(
            update(users).where(users.c.id == row["id"]).values(**values, updated_at=utcnow())
        )
    write_audit(conn, row["username"], "user.sign_in", f"user {row['username']}")
    return Session(
        int(row["id"]),
        row["username"],
        row["display_name"],
        row["role"],
        row["inspector_id"],
        key,
    )


def change_password(conn: Connection, session: Session, old: str, new: str) -> None:
    """Re-hashes the password and re-encrypts the signing key with the new one."""
    _check_password(new)
    row = conn.execute(select(users).where(users.c.id == session.user_id)).mappings().one()
    try:
        _hasher.verify(row["password_hash"], old)
    except (VerificationError, InvalidHashError) as exc:
        raise SignInError("the current password is wrong") from exc
    try:
        key = open_key(row["key_pem"], old, row["public_key"])
    except KeyFormatError as exc:
        raise SignInError(
            f"the signing key of {session.username} cannot be unlocked: {exc}"
        ) from exc
    conn.execute(
        update(users)
        .where(users.c.id == session.user_id)
        .values(
            password_hash=_hasher.hash(new),
            key_pem=seal_key(key, new),
            updated_at=utcnow(),
        )
    )
    write_audit(conn, session.username, "user.change_password", f"user {session.username}")


# ---- signing --------------------------------------------------------------------------


def sign_verification(session: Session, body: Mapping[str, Any]) -> Record:
    """Signs a verification result with the signed-in inspector's own key.

    Refused for other roles (a regulator cannot sign results), for a session whose key
    is not unlocked, and for a body naming another inspector: the record must say who
    signed it.
    """
    require(session, "verification.sign")
    if session.signing_key is None:
        raise PermissionDenied(f"the signing key of {session.username} is not unlocked")
    if session.inspector_id is None:
        raise PermissionDenied(
            f"inspector {session.username} has no registered ledger inspector ID"
        )
    if body.get("inspector_id") != session.inspector_id:
        raise PermissionDenied(
            f"inspector {session.username} may not sign a result in the name of "
            f"{body.get('inspector_id')!r}"
        )
    return sign_record("verification", body, session.signing_key)


def guarded_alarm_transition(
    conn: Connection,
    session: Session,
    alarm_id: int,
    expected_version: int,
    new_state: str,
    note: str = "",
) -> bool:
    """:func:`app.models.store.transition_alarm` behind the role check, under the user's name.

    Dismissing needs ``alarms.dismiss``; any other transition ``alarms.handle``.
    """
    from app.models.store import transition_alarm

    require(session, "alarms.dismiss" if new_state == "dismissed" else "alarms.handle")
    return transition_alarm(conn, alarm_id, expected_version, new_state, session, note)
