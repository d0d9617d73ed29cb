"""Field packages: a work order taken offline, and its results brought back (Qt-free).

"Take this work order offline" writes one SQLite file — a complete, migrated
workstation store (so every query, view and the sign-in work on it unchanged) holding
only what the inspector needs at the piles:

* the order and its items, the piles, their stations, meters (with their keys and key
  history), operators, tariffs, the authority and inspector registry;
* the last 90 days of sessions, bills and seal events of those piles, their
  verification history, open alarms and recent anomalies;
* the inspector's own account row (argon2id hash + password-encrypted key: nothing
  in clear), so they can sign in and sign results with no network;
* the latest accepted checkpoint (signed note) and, when the log can be reached at
  export time, a ``c2sp.org/tlog-proof`` inclusion proof for every registry entry the
  package relies on; otherwise ``package_info["proofs"]`` says why there are none.

Why SQLite and not a zip: the laptop opens the file as its store with
:func:`open_field_package` (= :meth:`Store.open`); a second file format would be a
second reader to maintain. Copy the single ``.sqlite`` file (the WAL is merged on close).

Sealed (issue 13 item 5): the exporting workstation signs a digest of everything the
laptop must trust — the account rows (role, inspector ID, public key), the order, the
registry, the copied records, checkpoint, proofs and ``package_info`` — with its own
workstation key (``field-package-signing.key``, 0600 in the office data directory;
:func:`workstation_key`). :func:`open_field_package` recomputes the digest and checks
the seal on every open, and pins the workstation's public key in the laptop's trust
store at the first import (trust on first use, ``trusted-field-package-signer.json``
in the laptop's data directory): a package whose seal does not verify, or that is
sealed by another key, does not open, with a :class:`PackageError` that says so. What
the laptop itself writes stays outside the seal: the audit log, alarms, anomalies and
analysis facts of a laptop rescan, the pile status they colour, the ``released``
conflicts, and an account's password hash and sealed key (changing the password must
not break the package; a swapped key cannot be used anyway: it must open to the sealed
public key). Any damaged file is a :class:`PackageError`, never a raw SQLite or
Unicode error.

Results: a signed verification record goes into the package's ``Outbox``
(``app.models.outbox``: crash-safe files in ``<package>.outbox/`` beside the file,
one per verification ID, so the same result is never queued twice).
:func:`upload_results` lets the Outbox post each entry on its own and mark it done only
after the platform answered 200 — or 409, "this exact entry is already in the log" (an
earlier attempt whose answer was lost): nothing is lost, nothing is logged twice. A
pile that a regulator re-assigned to another order meanwhile is *not* uploaded but
returned as a :class:`Conflict` for the UI (the office store is asked through
``assignment``); :func:`release_conflict` uploads it anyway once someone decides.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import SQLAlchemyError

from app.models import store as st
from app.models.kinds import PROJECTIONS
from app.models.logs import origins_by_number, split_key
from app.models.migrations import current_revision, head_revision
from app.models.outbox import Outbox, OutboxEntry, http_post
from app.models.plan_tables import (
    package_info,
    package_proofs,
    rotation_settings,
    users,
    work_order_items,
    work_orders,
)
from app.models.users import PermissionDenied, Session, require
from app.models.workorders import active_order_of
from app.paths import data_dir
from ledger.client import FetchError, LogClient
from ledger.keys import KeyFormatError, PublicKey, SigningKey
from ledger.records import Record, RecordError
from ledger.tiles import TileError, TileHashReader
from ledger.tlog_proof import format_tlog_proof

RECENT_DAYS = 90
DAY_MS = 86_400_000
PACKAGE_FORMAT = 1
OPEN_ALARM_STATES = ("new", "acknowledged", "dispatched")


class PackageError(RuntimeError):
    """A package that cannot be made or used; the message says why.

    The only error :func:`open_field_package` raises for a damaged, altered or foreign
    file (never a raw sqlite3 / SQLAlchemy / Unicode error).
    """


# ---- the seal --------------------------------------------------------------------------

WORKSTATION_KEY_FILE = "field-package-signing.key"
TRUST_FILE = "trusted-field-package-signer.json"
SEAL_CONTEXT = b"evm-field-package-seal/v1\n"
SEAL_KEY = "seal"
#: package_info keys written on the laptop (outside the seal).
LOCAL_INFO_KEYS = ("seal", "released")

#: Tables under the seal, and the columns the laptop may change in them.
SEALED_TABLES: tuple[tuple[Table, frozenset[str]], ...] = (
    (users, frozenset({"password_hash", "key_pem", "updated_at"})),
    (work_orders, frozenset()),
    (work_order_items, frozenset()),
    (rotation_settings, frozenset()),
    (package_info, frozenset()),
    (package_proofs, frozenset()),
    (st.entries, frozenset()),
    (st.checkpoints, frozenset()),
    (st.authority_keys, frozenset()),
    (st.operators, frozenset()),
    (st.inspectors, frozenset()),
    (st.stations, frozenset()),
    (st.piles, frozenset({"status"})),  # coloured by the laptop's own alarms
    (st.meters, frozenset()),
    (st.meter_keys, frozenset()),
    (st.tariffs, frozenset()),
    (st.sessions, frozenset()),
    (st.billing, frozenset()),
    (st.seal_events, frozenset()),
    (st.verifications, frozenset()),
)


def _plain(value: Any) -> Any:
    """A JSON-able, type-tagged form of one column value (the digest's canonical form)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, float):
        return {"$f": repr(value)}
    return value


def package_digest(conn: Connection) -> bytes:
    """SHA-256 over the sealed tables, row by row in primary-key order (canonical JSON)."""
    digest = hashlib.sha256(SEAL_CONTEXT)
    for table, local in SEALED_TABLES:
        columns = [c for c in table.columns if c.name not in local]
        order = list(table.primary_key.columns) or columns
        stmt = select(*columns).order_by(*order)
        if table is package_info:
            stmt = stmt.where(package_info.c.key.not_in(LOCAL_INFO_KEYS))
        digest.update(b"\x00table " + table.name.encode() + b"\n")
        for row in conn.execute(stmt):
            line = json.dumps(
                [_plain(v) for v in row], sort_keys=True, ensure_ascii=False, separators=(",", ":")
            )
            digest.update(line.encode() + b"\n")
    return digest.digest()


def workstation_key(directory: Path | None = None) -> SigningKey:
    """The office workstation's package-sealing key, made on first use (0600, never
    readable by others, not even briefly: created with that mode)."""
    path = (directory or data_dir()) / WORKSTATION_KEY_FILE
    try:
        return SigningKey.from_pem(path.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, KeyFormatError) as exc:
        raise PackageError(
            f"the workstation's package key {path} cannot be read ({exc}); restore it from "
            "the backup (laptops that imported its packages trust only that key)"
        ) from exc
    key = SigningKey.generate("p256")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another export made it meanwhile: use theirs
        return workstation_key(directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.to_pem())
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _seal(conn: Connection, key: SigningKey) -> dict[str, str]:
    digest = package_digest(conn)
    return {
        "alg": key.alg,
        "key": key.public_key.text,
        "digest": digest.hex(),
        "sig": base64.b64encode(key.sign(digest)).decode(),
    }


def _check_seal(conn: Connection, path: Path) -> PublicKey:
    seal = conn.execute(select(package_info.c.value).where(package_info.c.key == SEAL_KEY)).scalar()
    if not isinstance(seal, dict):
        raise PackageError(
            f"{path} is not sealed by an office workstation (made by an older version, or "
            "the seal was removed): ask the office to export the work order again"
        )
    try:
        public = PublicKey.parse(str(seal.get("key")))
        signature = base64.b64decode(str(seal.get("sig")), validate=True)
    except (KeyFormatError, ValueError) as exc:
        raise PackageError(f"{path}: the package's seal is damaged ({exc})") from exc
    if not public.verify(package_digest(conn), signature):
        raise PackageError(
            f"{path} was changed after the office exported it (its seal does not verify): "
            "it is not opened; ask the office for a new package"
        )
    return public


def _trust(public: PublicKey, path: Path, trust_dir: Path | None) -> None:
    """Trust on first use: pins the first package's sealing key; later ones must match."""
    store = (trust_dir or data_dir()) / TRUST_FILE
    try:
        pinned = json.loads(store.read_text())
        pinned_key = str(pinned["key"])
    except FileNotFoundError:
        fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "key": public.text,
                    "key_id": public.key_id,
                    "pinned_at": datetime.now(UTC).isoformat(),
                    "first_package": path.name,
                },
                handle,
            )
        return
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackageError(
            f"this laptop's trust store {store} cannot be read ({exc}); fix or remove it"
        ) from exc
    if pinned_key != public.text:
        raise PackageError(
            f"{path} is sealed by workstation key {public.key_id}, but this laptop trusts "
            f"only the office key {pinned.get('key_id', '?')} pinned at its first import: "
            f"it is not opened. If the office really changed its key, confirm it with them "
            f"and remove {store}"
        )


@dataclass(frozen=True)
class PackageSummary:
    path: Path
    order_id: int
    piles: int
    sessions: int
    alarms: int
    proofs: int
    proofs_status: str


def _copy(src: Connection, dst: Connection, table: Table, *where: Any) -> list[dict[str, Any]]:
    rows = [dict(r) for r in src.execute(select(table).where(*where)).mappings()]
    if rows:
        dst.execute(insert(table), rows)
    return rows


def export_field_package(
    store: st.Store,
    session: Session,
    order_id: int,
    path: Path | str,
    *,
    client: LogClient | Callable[[str], LogClient] | None = None,
    now_ms: int | None = None,
    key_dir: Path | None = None,
) -> PackageSummary:
    """Writes the offline package of ``order_id`` to ``path`` (refuses to overwrite).

    Allowed to the order's inspector and to regulators. ``client`` (the log's reader)
    is used for inclusion proofs only; without it, or if the platform is unreachable,
    the package is still made and says that it carries no proofs. The package is sealed
    with :func:`workstation_key` (from ``key_dir``, default the data directory).
    """
    require(session, "package.export")
    key = workstation_key(key_dir)
    path = Path(path)
    if path.exists():
        raise PackageError(f"{path} already exists; choose another file name")
    now = datetime.now(UTC)
    now_ms = now_ms if now_ms is not None else int(now.timestamp() * 1000)
    since = now_ms - RECENT_DAYS * DAY_MS
    with store.engine.connect() as src:
        order = (
            src.execute(select(work_orders).where(work_orders.c.id == order_id)).mappings().first()
        )
        if order is None:
            raise PackageError(f"no work order {order_id}")
        if session.role == "inspector" and order["inspector"] != session.username:
            raise PermissionDenied(
                f"{session.who} may not take work order {order_id} of {order['inspector']} offline"
            )
        # The package carries charging piles' history; an order's dispensers and taxis
        # travel as order items only (their kinds' offline data is not packaged yet), and
        # a dispenser or plate must never be looked up as a pile of the same ID.
        pile_ids = list(
            src.execute(
                select(work_order_items.c.pile_id).where(
                    work_order_items.c.order_id == order_id,
                    work_order_items.c.active.is_(True),
                    work_order_items.c.kind == "charging",
                )
            ).scalars()
        )
        pkg = st.Store.open(f"sqlite:///{path}")
        try:
            with pkg.transaction() as dst:
                counts = _copy_order(src, dst, order_id, order["inspector"], pile_ids, since)
                proofs, status = _copy_proofs(src, dst, client)
                facts = {
                    "format": PACKAGE_FORMAT,
                    "order_id": order_id,
                    "inspector": order["inspector"],
                    "exported_at": now.isoformat(),
                    "exported_by": session.username,
                    "source": store.url,
                    "recent_days": RECENT_DAYS,
                    "proofs": {"status": status, "count": proofs},
                }
                dst.execute(
                    insert(package_info), [{"key": k, "value": v} for k, v in facts.items()]
                )
                st.write_audit(
                    dst, session.username, "package.created", f"work order {order_id}", facts
                )
                seal = _seal(dst, key)  # last: over everything above
                dst.execute(insert(package_info), {"key": SEAL_KEY, "value": seal})
        finally:
            pkg.close()
    with store.transaction() as conn:
        st.write_audit(
            conn,
            session.username,
            "workorder.export_package",
            f"work order {order_id}",
            {"file": path.name, "piles": pile_ids, "proofs": status},
        )
    return PackageSummary(
        path, order_id, len(pile_ids), counts["sessions"], counts["alarms"], proofs, status
    )


def _copy_order(
    src: Connection, dst: Connection, order_id: int, inspector: str, pile_ids: list[str], since: int
) -> dict[str, int]:
    _copy(src, dst, users, users.c.username == inspector)
    _copy(src, dst, work_orders, work_orders.c.id == order_id)
    _copy(src, dst, work_order_items, work_order_items.c.order_id == order_id)
    rotation = [dict(r) for r in src.execute(select(rotation_settings)).mappings()]
    st.upsert(dst, rotation_settings, rotation, ("instrument_type",))
    pile_rows = _copy(src, dst, st.piles, st.piles.c.pile_id.in_(pile_ids))
    station_ids = sorted({p["station_id"] for p in pile_rows})
    operator_ids = sorted({p["operator_id"] for p in pile_rows})
    _copy(src, dst, st.stations, st.stations.c.station_id.in_(station_ids))
    meter_rows = _copy(src, dst, st.meters, st.meters.c.pile_id.in_(pile_ids))
    meter_ids = [m["meter_id"] for m in meter_rows]
    _copy(src, dst, st.meter_keys, st.meter_keys.c.meter_id.in_(meter_ids))
    _copy(src, dst, st.operators, st.operators.c.operator_id.in_(operator_ids))
    _copy(src, dst, st.authority_keys)
    _copy(src, dst, st.inspectors)
    _copy(src, dst, st.tariffs, st.tariffs.c.station_id.in_(station_ids))
    sessions = _copy(
        src, dst, st.sessions, st.sessions.c.pile_id.in_(pile_ids), st.sessions.c.start_ms >= since
    )
    _copy(src, dst, st.billing, st.billing.c.pile_id.in_(pile_ids), st.billing.c.start_ms >= since)
    _copy(
        src,
        dst,
        st.seal_events,
        st.seal_events.c.pile_id.in_(pile_ids),
        st.seal_events.c.at_ms >= since,
    )
    _copy(src, dst, st.verifications, st.verifications.c.pile_id.in_(pile_ids))
    alarms = _copy(
        src,
        dst,
        st.alarms,
        st.alarms.c.pile_id.in_(pile_ids),
        st.alarms.c.state.in_(OPEN_ALARM_STATES),
    )
    _copy(
        src, dst, st.anomalies, st.anomalies.c.pile_id.in_(pile_ids), st.anomalies.c.at_ms >= since
    )
    # The entries rows of everything copied, so evidence indexes still resolve to types.
    indexes: set[int] = set()
    for table in (
        st.piles, st.stations, st.meters, st.meter_keys, st.operators, st.authority_keys,
        st.inspectors, st.tariffs, st.sessions, st.billing, st.seal_events, st.verifications,
    ):  # fmt: skip
        indexes.update(dst.execute(select(table.c.entry_index)).scalars())
    ordered = sorted(indexes)
    for start in range(0, len(ordered), 5000):
        _copy(src, dst, st.entries, st.entries.c.entry_index.in_(ordered[start : start + 5000]))
    # The newest accepted checkpoint of every log, and which log each key is in.
    for origin in src.execute(select(st.checkpoints.c.origin).distinct()).scalars():
        latest = (
            src.execute(
                select(st.checkpoints)
                .where(st.checkpoints.c.origin == origin)
                .order_by(st.checkpoints.c.size.desc(), st.checkpoints.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        row = dict(latest)
        row.pop("id")
        dst.execute(insert(st.checkpoints), row)
    _copy(src, dst, st.logs)
    # The analysis facts of what was copied, so a rescan on the laptop sees it all.
    for kind in PROJECTIONS.values():
        if kind.rebuild_facts is not None:
            kind.rebuild_facts(dst)
    return {"sessions": len(sessions), "alarms": len(alarms)}


_REGISTRY_PROOF_TABLES: tuple[tuple[Table, str], ...] = (
    (st.authority_keys, "authority_id"),
    (st.operators, "operator_id"),
    (st.inspectors, "inspector_id"),
    (st.stations, "station_id"),
    (st.piles, "pile_id"),
    (st.meters, "meter_id"),
)


def _copy_proofs(
    src: Connection, dst: Connection, client: LogClient | Callable[[str], LogClient] | None
) -> tuple[int, str]:
    """Inclusion proofs of the package's registry entries, each in the latest accepted
    checkpoint of its own log. ``client``: the log's reader, or origin → reader for a
    store that follows several logs (`app.models.list_sync.StoredLogClients`)."""
    checkpoints = {row["origin"]: row for row in dst.execute(select(st.checkpoints)).mappings()}
    if not checkpoints:
        return 0, "none: the workstation has no accepted checkpoint yet"
    if client is None:
        return 0, "none: no connection to the log was given at export"
    names = origins_by_number(dst)
    if not names and len(checkpoints) == 1:  # a store that never numbered its one log
        names = {0: next(iter(checkpoints))}
    by_log: dict[int, list[tuple[int, int, str]]] = {}
    for table, key in _REGISTRY_PROOF_TABLES:
        for entry_key, subject in dst.execute(select(table.c.entry_index, table.c[key])):
            log_no, index = split_key(int(entry_key))
            by_log.setdefault(log_no, []).append((int(entry_key), index, f"{table.name} {subject}"))
    rows: list[dict[str, Any]] = []
    said: list[str] = []
    try:
        for log_no, items in sorted(by_log.items()):
            origin = names.get(log_no, "")
            cp = checkpoints.get(origin)
            if isinstance(client, LogClient):
                reader_client = client if client.origin == origin else None
            else:
                reader_client = client(origin) if cp is not None else None
            if cp is None or reader_client is None:
                said.append(f"none for log {origin or log_no}: no checkpoint or connection")
                continue
            reader = TileHashReader(int(cp["size"]), bytes(cp["root"]), reader_client.fetch)
            for entry_key, index, subject in items:
                if index >= cp["size"]:
                    continue
                hashes = reader.inclusion_proof(index)
                rows.append(
                    {
                        "entry_index": entry_key,
                        "subject": subject,
                        "proof": format_tlog_proof(index, hashes, bytes(cp["note"])),
                    }
                )
            said.append(
                f"included for checkpoint size {cp['size']}"
                + (f" of {origin}" if len(checkpoints) > 1 else "")
            )
    except (FetchError, OSError, TileError, RuntimeError) as exc:
        return 0, f"none: the log could not be reached ({exc})"
    if rows:
        dst.execute(insert(package_proofs), rows)
    if not said:  # no registry entries to prove
        said = [f"included for checkpoint size {cp['size']}" for cp in checkpoints.values()]
    return len(rows), "; ".join(said)


# ---- the laptop side -----------------------------------------------------------------------


def open_field_package(path: Path | str, *, trust_dir: Path | None = None) -> st.Store:
    """Opens a package as the laptop's (offline) store, after checking its seal.

    Refused with :class:`PackageError` when the file is damaged, not a package, not
    sealed, altered since export, or sealed by another workstation than the one this
    laptop pinned (``trust_dir``, default the data directory) at its first import.
    """
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path}: no such field package")
    pkg: st.Store | None = None
    try:
        pkg = st.Store.open(f"sqlite:///{path}", upgrade=False)  # nothing written yet
        made_at, ours = current_revision(pkg.engine), head_revision()
        if made_at != ours:  # the seal covers columns of the exporter's schema
            raise PackageError(
                f"{path} was made by another version of the workstation (schema "
                f"{made_at or 'none'}, this laptop {ours}): ask the office to export it again"
            )
        with pkg.engine.connect() as conn:
            if (
                conn.execute(
                    select(package_info.c.value).where(package_info.c.key == "format")
                ).scalar()
                is None
            ):
                raise PackageError(f"{path} is a workstation store, not a field package")
            public = _check_seal(conn, path)
        pkg.close()
        pkg = None
        _trust(public, path, trust_dir)
        return st.Store.open(f"sqlite:///{path}")
    except PackageError:
        raise
    except (
        SQLAlchemyError,
        sqlite3.Error,
        st.StoreError,
        ValueError,  # UnicodeDecodeError, JSON errors
        TypeError,
        KeyError,
        OverflowError,
        RecursionError,
        OSError,
    ) as exc:
        reason = _first_line(exc)
        raise PackageError(
            f"{path} is damaged or not a field package ({type(exc).__name__}: {reason}); "
            "copy it again from the office"
        ) from exc
    finally:
        if pkg is not None:
            pkg.close()


def package_facts(conn: Connection) -> dict[str, Any]:
    """The ``package_info`` key/value pairs (order id, inspector, proofs status...)."""
    return {r.key: r.value for r in conn.execute(select(package_info))}


def outbox_dir(package: Path | str) -> Path:
    """The package's outbox directory (``<package>.outbox/``), beside the file."""
    package = Path(package)
    return package.with_name(package.name + ".outbox")


def package_outbox(pkg: st.Store, platform_url: str = "", **kwargs: Any) -> Outbox:
    """The :class:`Outbox` of an opened package (SQLite file ``pkg``)."""
    database = pkg.engine.url.database
    if not database:
        raise PackageError("a field package is a SQLite file")
    return Outbox(outbox_dir(database), platform_url, **kwargs)


def queue_result(pkg: st.Store, session: Session, record: Record) -> OutboxEntry:
    """Queues a signed verification record for upload (idempotent per verification ID).

    Only the inspector who signed it may queue it: their own key must verify it.
    """
    require(session, "verification.sign")
    if record.type != "verification":
        raise PackageError(
            f"only verification records are uploaded from the field, not {record.type}"
        )
    if session.signing_key is None or record.key_id != session.signing_key.key_id:
        raise PermissionDenied(
            f"inspector {session.username} may only queue results signed with their own key"
        )
    record.verify(session.signing_key.public_key)
    entry = package_outbox(pkg).enqueue(record)
    with pkg.transaction() as conn:
        st.write_audit(
            conn,
            session.username,
            "result.queued",
            f"pile {record.body['pile_id']}",
            {
                "verification_id": record.body["verification_id"],
                "leaf_hash": record.leaf_digest.hex(),
            },
        )
    return entry


@dataclass(frozen=True)
class Conflict:
    """A queued result held back because its pile now belongs to another order."""

    entry_id: str
    pile_id: str
    package_order: int
    current_order: int | None

    @property
    def message(self) -> str:
        where = f"work order {self.current_order}" if self.current_order else "no open work order"
        return (
            f"conflict: pile {self.pile_id} was moved from work order {self.package_order} to "
            f"{where} while you were offline; result {self.entry_id} was not uploaded"
        )


@dataclass
class FieldUploadReport:
    """What one upload attempt did; ``conflicts`` are for the UI to show and resolve."""

    uploaded: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    pending: int = 0
    offline: str = ""


#: The local answer for a held-back result. It never leaves the laptop: the Outbox keeps
#: any 4xx entry pending with its reason, which is exactly what a conflict needs.
CONFLICT_STATUS = 423
#: The local answer for a result whose signer is not a registered inspector (kept pending).
UNBOUND_STATUS = 403


@dataclass(frozen=True)
class Signer:
    """Who signed a queued result: the inspector ID its body names, whose registered key
    verified it, and the package account holding that key (if any)."""

    inspector_id: str
    key_id: str
    username: str | None


def result_signer(conn: Connection, record: Record) -> Signer:
    """The inspector a result is bound to, or :class:`PackageError` saying why it is not.

    The key must be the one registered for the inspector the body names — in the
    package's account rows (sealed) or the inspector registry — and must verify the
    record: an upload is attributed to that signer, never to whoever is signed in.
    """
    inspector_id = str(record.body.get("inspector_id", ""))
    keys = {
        str(r.public_key): r.username
        for r in conn.execute(
            select(users.c.public_key, users.c.username).where(users.c.inspector_id == inspector_id)
        )
    }
    for key_text in conn.execute(
        select(st.inspectors.c.key).where(st.inspectors.c.inspector_id == inspector_id)
    ).scalars():
        keys.setdefault(str(key_text), None)
    for key_text, username in keys.items():
        try:
            public = PublicKey.parse(key_text)
        except KeyFormatError:
            continue
        if public.key_id == record.key_id:
            try:
                record.verify(public)
            except RecordError as exc:
                raise PackageError(f"{record.subject}: {exc}") from exc
            return Signer(inspector_id, public.key_id, username)
    raise PackageError(
        f"{record.subject} is signed with key {record.key_id}, which is not the registered "
        f"key of inspector {inspector_id!r}: it is not uploaded"
    )


def office_assignment(office: st.Store) -> Callable[[str], int | None]:
    """``pile -> current open order`` read from the office store (the regulators' truth)."""

    def current(pile_id: str) -> int | None:
        with office.engine.connect() as conn:
            return active_order_of(conn, pile_id)

    return current


def upload_results(
    pkg: st.Store,
    session: Session,
    platform_url: str,
    *,
    assignment: Callable[[str], int | None] | None = None,
    post: Callable[[str, bytes], tuple[int, str]] = http_post,
) -> FieldUploadReport:
    """Uploads every queued result once; safe to call again and again.

    ``assignment`` tells the current order of a pile (e.g. :func:`office_assignment`);
    a result whose pile left the package's order is held back as a :class:`Conflict`
    (until :func:`release_conflict`). 200 and 409 both mean "in the log" (see
    ``app.models.outbox``). Each result is bound to its signer (:func:`result_signer`):
    one not signed by the registered key of the inspector it names stays pending and is
    reported in ``rejected``. Each outcome is audited in the package under the signed-in
    user's name, with the signer of the result beside it.
    """
    require(session, "results.upload")
    with pkg.engine.connect() as conn:
        facts = package_facts(conn)
    order_id = int(facts["order_id"])
    released = set(facts.get("released", []))
    conflicts: dict[str, Conflict] = {}
    signers: dict[str, Signer] = {}

    def guarded_post(url: str, body: bytes) -> tuple[int, str]:
        entry = json.loads(body)["b"]
        vid, pile_id = str(entry["verification_id"]), str(entry["pile_id"])
        try:
            record = Record.parse(body.rstrip(b"\n"))
            with pkg.engine.connect() as conn:
                signers[vid] = result_signer(conn, record)
        except (RecordError, PackageError) as exc:
            return UNBOUND_STATUS, json.dumps({"error": str(exc)})
        if assignment is not None and vid not in released:
            current = assignment(pile_id)
            if current != order_id:
                conflict = Conflict(vid, pile_id, order_id, current)
                conflicts[vid] = conflict
                return CONFLICT_STATUS, json.dumps({"error": conflict.message})
        return post(url, body)

    outbox = package_outbox(pkg, platform_url, post=guarded_post)
    result = outbox.upload()
    report = FieldUploadReport(
        uploaded=list(result.accepted),
        already_there=list(result.duplicates),
        conflicts=list(conflicts.values()),
        rejected={k: v for k, v in result.rejected.items() if k not in conflicts},
        pending=len(outbox.pending()),
        offline=result.unreachable,
    )
    with pkg.transaction() as conn:
        for vid in report.uploaded + report.already_there:
            signer = signers.get(vid)
            st.write_audit(
                conn,
                session.username,
                "result.uploaded",
                f"verification {vid}",
                {
                    "signed_by": signer.inspector_id if signer else None,
                    "signer_account": signer.username if signer else None,
                    "signer_key": signer.key_id if signer else None,
                },
            )
        for conflict in report.conflicts:
            st.write_audit(
                conn, session.username, "result.conflict", f"pile {conflict.pile_id}",
                {"verification_id": conflict.entry_id, "current_order": conflict.current_order},
            )  # fmt: skip
        for vid, reason in report.rejected.items():
            st.write_audit(
                conn, session.username, "result.rejected", f"verification {vid}", {"reason": reason}
            )
    return report


def release_conflict(pkg: st.Store, session: Session, verification_id: str) -> None:
    """Lets a held-back result upload despite the re-assignment (someone decided to publish)."""
    require(session, "results.upload")
    with pkg.transaction() as conn:
        facts = package_facts(conn)
        released = sorted(set(facts.get("released", [])) | {verification_id})
        st.upsert(conn, package_info, [{"key": "released", "value": released}], ("key",))
        st.write_audit(
            conn, session.username, "result.release_conflict", f"verification {verification_id}"
        )


def _first_line(exc: BaseException) -> str:
    """The first line of what an error says, for a one-line message; an error that says
    nothing (``ValueError()``) gives its type's name instead of an IndexError (found by
    bench/fuzz.py)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:200]
