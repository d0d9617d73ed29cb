"""Countersigning a signed verification result: 核验员 (checker) then 批准人 (approver).

JJF 1069 puts three people on a certificate or result notice: the inspector (检定员) who
stood at the pile and signed the result record, a checker (核验员) who verifies it and an
approver (批准人) who releases it. Until both have countersigned, the result is a draft;
:func:`print_final` refuses anything else.

Where the result lives. The inspector signs on the laptop (``users.sign_verification``);
the record waits in the field package's :class:`~app.models.outbox.Outbox` and is posted to
the platform, which logs it. The office's sync verifies it and projects its fields into
``verifications`` (with its ``entry_index``), but keeps no copy of the signed bytes. So
:func:`pull_from_log` fetches each result entry from the log's tiles, checked against the
newest checkpoint the store has *accepted* (:class:`ledger.bundle.LogEvidence`), verifies the
inspector's signature with the key the authority registered, and stores the exact entry in
``result_records`` (:func:`take_up` does the same for an entry obtained otherwise, e.g. an
Outbox file). Countersigning then works on that stored, signed record, offline.

What is signed. Each countersignature is the countersigner's own P-256 signature (the key
every user gets at creation, unlocked at sign-in) over :func:`message`: a domain tag, the
role, the record's RFC 6962 leaf hash (its identity in the log: any change of the record
changes it), the countersigner and the time. The approver's message also holds the
checker's signature, so an approval covers exactly the check it followed. A
countersignature is verified against the signer's public key in ``users``.

Roles: ``checker`` and ``approver`` are roles of their own, not permissions added to
``regulator``. Why: in a verification body the 核验员 and 批准人 are named, qualified senior
staff (the approver is the body's authorised signatory), a small subset of the office; a
regulator dispatches work and handles alarms, which must not by itself allow releasing a
certificate. Separate roles also give each duty its own key and audit name, and the
inspector role cannot hold them. A person who is both needs two accounts, and the workflow
still refuses the same person (user name, key, or ledger inspector identity) in two places
on one result.

Every refusal is an exception with a message a regulator can act on; the role checks are
here, in the model layer, so the dialog only greys out what this module would refuse.
Every countersignature and every final print is audited under the acting user's name, in
the same transaction.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from app.models import store as st
from app.models.logs import origins_by_number, split_key
from app.models.plan_tables import countersignatures, result_records, users
from app.models.signoff import APPROVER, CHECKER, Countersignature, SignOff
from app.models.users import PermissionDenied, Session, require
from ledger.keys import KeyFormatError, PublicKey
from ledger.records import Record, RecordError

__all__ = [
    "CountersignatureInvalid",
    "NotFinal",
    "ResultStatus",
    "SameSigner",
    "SignOffError",
    "StoredResult",
    "approve",
    "awaiting",
    "certificate_details",
    "check",
    "message",
    "print_draft",
    "print_final",
    "pull_from_log",
    "signoff_of",
    "take_up",
]

DOMAIN = b"anxin-evm countersignature v1\n"
ROLE_ACTION = {CHECKER: "verification.check", APPROVER: "verification.approve"}
ROLE_ZH = {CHECKER: "核验员", APPROVER: "批准人"}


class SignOffError(Exception):
    """A countersigning step that cannot be done; the message says why and what to do."""


class NotFinal(SignOffError):
    """The result is not checked and approved yet: only a draft may be printed."""


class CountersignatureInvalid(SignOffError):
    """A stored record or countersignature does not verify (altered in the database)."""


class SameSigner(PermissionDenied):
    """The same person would sign one result twice (inspector, checker, approver)."""


@dataclass(frozen=True)
class StoredResult:
    """A signed verification record kept for countersigning."""

    leaf_hash: str
    record: Record
    entry_index: int | None

    @property
    def verification_id(self) -> str:
        return str(self.record.body["verification_id"])


@dataclass(frozen=True)
class ResultStatus:
    """One row of the countersigning list."""

    leaf_hash: str
    verification_id: str
    pile_id: str
    inspector_id: str
    inspector_name: str
    result: str  # pass | fail
    at_ms: int
    certificate_no: str
    checker: str | None  # display names
    approver: str | None

    @property
    def stage(self) -> str:
        """``check`` (awaiting the 核验员), ``approve`` (awaiting the 批准人) or ``final``."""
        if self.checker is None:
            return "check"
        return "approve" if self.approver is None else "final"


def message(
    role: str, leaf_hash: str, username: str, signed_ms: int, checked: str | None = None
) -> bytes:
    """The bytes a countersigner signs (see the module docstring)."""
    if role not in ROLE_ACTION:
        raise ValueError(f"unknown countersigning role {role!r}")
    if (role == APPROVER) != (checked is not None):
        raise ValueError("an approval covers the checker's signature; a check covers none")
    parts = [role, leaf_hash, username, str(int(signed_ms))]
    if checked is not None:
        parts.append(checked)
    return DOMAIN + "\n".join(parts).encode()


# ---- taking up signed results -------------------------------------------------------


def _inspector_key(conn: Connection, inspector_id: str) -> PublicKey:
    row = conn.execute(
        select(st.inspectors.c.key).where(st.inspectors.c.inspector_id == inspector_id)
    ).first()
    if row is None:
        raise SignOffError(
            f"inspector {inspector_id!r} is not in the registry: sync the log, or ask the "
            "authority to register the inspector's key"
        )
    return PublicKey.parse(row.key)


def _verified(conn: Connection, entry: bytes) -> Record:
    """The record of ``entry`` if it is a verification result its inspector really signed."""
    try:
        record = Record.parse(entry)
    except RecordError as exc:
        raise SignOffError(f"not a readable signed record: {exc}") from exc
    if record.type != "verification":
        raise SignOffError(f"{record.subject} is not a verification result")
    inspector_id = str(record.body["inspector_id"])
    try:
        record.verify(_inspector_key(conn, inspector_id))
    except RecordError as exc:  # SignatureError
        raise CountersignatureInvalid(
            f"{record.subject}: the inspector's signature does not verify with the key "
            f"registered for {inspector_id} ({exc}); do not countersign it"
        ) from exc
    return record


def take_up(conn: Connection, entry: bytes, *, entry_index: int | None = None) -> StoredResult:
    """Stores a signed verification entry for countersigning (idempotent).

    Refused unless the inspector's signature verifies with the registered key; with
    ``entry_index``, also unless the store's synced ``verifications`` row at that index is
    the same result.
    """
    record = _verified(conn, entry)
    leaf = record.leaf_digest.hex()
    if entry_index is not None:
        row = conn.execute(
            select(st.verifications.c.verification_id).where(
                st.verifications.c.entry_index == entry_index
            )
        ).first()
        if row is None or row.verification_id != record.body["verification_id"]:
            raise SignOffError(
                f"log entry {entry_index} is not {record.subject} in this store; sync again"
            )
    existing = conn.execute(
        select(result_records.c.entry_index).where(result_records.c.leaf_hash == leaf)
    ).first()
    if existing is None:
        body = record.body
        conn.execute(
            insert(result_records),
            {
                "leaf_hash": leaf,
                "verification_id": body["verification_id"],
                "entry": record.to_bytes(),
                "entry_index": entry_index,
                "pile_id": body["pile_id"],
                "inspector_id": body["inspector_id"],
                "result": body["result"],
                "at_ms": body["at_ms"],
                "stored_at": st.utcnow(),
            },
        )
    elif existing.entry_index is None and entry_index is not None:
        conn.execute(
            result_records.update()
            .where(result_records.c.leaf_hash == leaf)
            .values(entry_index=entry_index)
        )
    return StoredResult(leaf, record, entry_index)


def pull_from_log(store: st.Store, client: Any) -> int:
    """Takes up every synced result not stored yet, fetched from the log; returns how many.

    ``client`` is a :class:`ledger.client.LogClient` for the synced platform (the results
    of its log), or — a store following several logs (`app.models.list_sync`) — a callable
    origin → client, for the results of every log. Entries are checked against the newest
    checkpoint this store accepted of their log, so the platform cannot substitute another
    entry; entries newer than that checkpoint wait for the next sync. The network reads
    happen outside the write transaction (the sync keeps writing).
    """
    from ledger.bundle import BundleError, LogEvidence
    from ledger.client import LogClient

    single = isinstance(client, LogClient)
    wanted: list[tuple[int, Any, int]] = []  # (store key, the log's evidence, index)
    with store.engine.connect() as conn:
        names = origins_by_number(conn)
        have = select(result_records.c.entry_index).where(result_records.c.entry_index.is_not(None))
        by_log: dict[int, list[int]] = {}
        for key in conn.execute(
            select(st.verifications.c.entry_index)
            .where(st.verifications.c.entry_index.not_in(have))
            .order_by(st.verifications.c.entry_index)
        ).scalars():
            by_log.setdefault(split_key(int(key))[0], []).append(int(key))
        if single:
            numbers = {origin: n for n, origin in names.items()}
            own = numbers.get(client.origin, 0)
            by_log = {own: by_log.get(own, [])}
        for log_no, keys in sorted(by_log.items()):
            origin = client.origin if single else names.get(log_no)
            if origin is None:
                continue  # a log no list named: no reader for it
            note = conn.execute(
                select(st.checkpoints.c.note)
                .where(st.checkpoints.c.origin == origin)
                .order_by(st.checkpoints.c.size.desc(), st.checkpoints.c.id.desc())
                .limit(1)
            ).scalar()
            if note is None:
                if single:
                    raise SignOffError("no checkpoint of this log is accepted yet: sync first")
                continue
            evidence = LogEvidence(client if single else client(origin), bytes(note))
            for key in keys:
                index = split_key(key)[1]
                if index < evidence.checkpoint.size:
                    wanted.append((key, evidence, index))
    fetched: list[tuple[int, bytes]] = []
    for key, evidence, index in wanted:
        try:
            fetched.append((key, evidence.entry(index)))
        except BundleError as exc:
            raise SignOffError(
                f"result entry {index} of {evidence.checkpoint.origin} cannot be fetched "
                f"safely: {exc}"
            ) from exc
    with store.transaction() as conn:
        for key, entry in fetched:
            take_up(conn, entry, entry_index=key)
    return len(fetched)


def _stored(conn: Connection, ref: str) -> StoredResult:
    """The stored result named by its leaf hash (hex) or its verification ID."""
    rows = (
        conn.execute(
            select(result_records).where(
                (result_records.c.leaf_hash == ref) | (result_records.c.verification_id == ref)
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        raise SignOffError(
            f"result {ref!r} has not been taken up for countersigning (sync, then refresh)"
        )
    if len(rows) > 1:
        raise SignOffError(
            f"{ref!r} names {len(rows)} different signed records; choose one by its leaf hash"
        )
    row = rows[0]
    entry = bytes(row["entry"])
    record = _verified(conn, entry)
    if record.leaf_digest.hex() != row["leaf_hash"]:
        raise CountersignatureInvalid(
            f"the stored record of {row['verification_id']} was altered (its leaf hash "
            "changed); take it up from the log again"
        )
    return StoredResult(row["leaf_hash"], record, row["entry_index"])


# ---- countersignatures ----------------------------------------------------------------


def _user_key(conn: Connection, username: str) -> PublicKey:
    text = conn.execute(select(users.c.public_key).where(users.c.username == username)).scalar()
    if text is None:
        raise CountersignatureInvalid(f"countersigner {username!r} has no account here")
    return PublicKey.parse(str(text))


def _countersignatures(conn: Connection, leaf: str) -> dict[str, Countersignature]:
    found: dict[str, Countersignature] = {}
    for r in conn.execute(
        select(countersignatures).where(countersignatures.c.leaf_hash == leaf)
    ).mappings():
        found[r["role"]] = Countersignature(
            role=r["role"],
            username=r["username"],
            display_name=r["display_name"],
            signed_ms=int(r["signed_ms"]),
            key_id=r["key_id"],
            signature=r["signature"],
        )
    return found


def _verify(conn: Connection, leaf: str, cs: Countersignature, checked: str | None) -> None:
    what = f"the {ROLE_ZH[cs.role]} ({cs.role}) countersignature of {cs.username}"
    try:
        key = _user_key(conn, cs.username)
        signature = base64.b64decode(cs.signature, validate=True)
    except (KeyFormatError, ValueError) as exc:
        raise CountersignatureInvalid(f"{what} cannot be read: {exc}") from exc
    if key.key_id != cs.key_id:
        raise CountersignatureInvalid(f"{what} names key {cs.key_id}, not {cs.username}'s key")
    if not key.verify(message(cs.role, leaf, cs.username, cs.signed_ms, checked), signature):
        raise CountersignatureInvalid(f"{what} does not verify: the record or it was altered")


def _inspector_name(conn: Connection, inspector_id: str) -> str:
    name = conn.execute(
        select(st.inspectors.c.name).where(st.inspectors.c.inspector_id == inspector_id)
    ).scalar()
    return str(name) if name else inspector_id


def signoff_of(conn: Connection, ref: str) -> SignOff:
    """Who has signed the result so far, every signature verified.

    Raises :class:`CountersignatureInvalid` when the stored record or a countersignature
    was altered, rather than returning a sign-off that would print as genuine.
    """
    stored = _stored(conn, ref)
    found = _countersignatures(conn, stored.leaf_hash)
    checker, approver = found.get(CHECKER), found.get(APPROVER)
    if approver is not None and checker is None:
        raise CountersignatureInvalid(
            f"{stored.verification_id} has an approval but no check: the data was altered"
        )
    if checker is not None:
        _verify(conn, stored.leaf_hash, checker, None)
    if approver is not None:
        assert checker is not None
        _verify(conn, stored.leaf_hash, approver, checker.signature)
    return SignOff(
        inspector_name=_inspector_name(conn, str(stored.record.body["inspector_id"])),
        checker=checker,
        approver=approver,
    )


def _inspector_accounts(conn: Connection, inspector_id: str) -> set[str]:
    return set(
        conn.execute(select(users.c.username).where(users.c.inspector_id == inspector_id)).scalars()
    )


def _refuse_same_person(
    conn: Connection, session: Session, stored: StoredResult, others: list[Countersignature]
) -> None:
    body = stored.record.body
    inspector_id = str(body["inspector_id"])
    assert session.signing_key is not None
    own_key = session.signing_key.public_key
    if (
        session.inspector_id == inspector_id
        or session.username in _inspector_accounts(conn, inspector_id)
        or own_key.key_id == stored.record.key_id
    ):
        raise SameSigner(
            f"{session.username} signed {stored.verification_id} as its inspector and may not "
            "countersign it: another 核验员 / 批准人 must"
        )
    for cs in others:
        if cs.username == session.username or cs.key_id == own_key.key_id:
            raise SameSigner(
                f"{session.username} already countersigned {stored.verification_id} as "
                f"{ROLE_ZH[cs.role]} ({cs.role}); the {ROLE_ZH[APPROVER]} must be someone else"
            )


def _countersign(
    conn: Connection, session: Session, ref: str, role: str, now_ms: int | None
) -> SignOff:
    require(session, ROLE_ACTION[role])
    if session.signing_key is None:
        raise PermissionDenied(f"the signing key of {session.username} is not unlocked")
    stored = _stored(conn, ref)
    current = signoff_of(conn, stored.leaf_hash)  # verifies what is there already
    if role == CHECKER and current.checker is not None:
        raise SignOffError(
            f"{stored.verification_id} was already checked by {current.checker.display_name}"
        )
    if role == APPROVER:
        if current.checker is None:
            raise SignOffError(
                f"{stored.verification_id} has not been checked yet: the 核验员 countersigns "
                "before the 批准人 approves"
            )
        if current.approver is not None:
            raise SignOffError(
                f"{stored.verification_id} was already approved by {current.approver.display_name}"
            )
    others = [cs for cs in (current.checker, current.approver) if cs is not None]
    _refuse_same_person(conn, session, stored, others)
    signed_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    checked = current.checker.signature if role == APPROVER and current.checker else None
    signature = base64.b64encode(
        session.signing_key.sign(
            message(role, stored.leaf_hash, session.username, signed_ms, checked)
        )
    ).decode()
    conn.execute(
        insert(countersignatures),
        {
            "leaf_hash": stored.leaf_hash,
            "role": role,
            "username": session.username,
            "display_name": session.display_name,
            "key_id": session.signing_key.key_id,
            "signature": signature,
            "signed_ms": signed_ms,
        },
    )
    st.write_audit(
        conn,
        session.username,
        ROLE_ACTION[role],
        f"verification {stored.verification_id}",
        {"leaf_hash": stored.leaf_hash, "key_id": session.signing_key.key_id, "role": role},
    )
    return signoff_of(conn, stored.leaf_hash)


def check(conn: Connection, session: Session, ref: str, *, now_ms: int | None = None) -> SignOff:
    """The 核验员's countersignature: checkers only, never the result's own inspector."""
    return _countersign(conn, session, ref, CHECKER, now_ms)


def approve(conn: Connection, session: Session, ref: str, *, now_ms: int | None = None) -> SignOff:
    """The 批准人's approval: approvers only, after a check, by a third person."""
    return _countersign(conn, session, ref, APPROVER, now_ms)


def awaiting(conn: Connection, *, include_final: bool = False) -> list[ResultStatus]:
    """Stored results and how far their countersigning got, oldest first.

    Reads the names as stored; :func:`signoff_of` verifies the signatures before anything
    is printed.
    """
    names = {
        r.inspector_id: r.name
        for r in conn.execute(select(st.inspectors.c.inspector_id, st.inspectors.c.name))
    }
    signed: dict[str, dict[str, str]] = {}
    for r in conn.execute(
        select(
            countersignatures.c.leaf_hash,
            countersignatures.c.role,
            countersignatures.c.display_name,
        )
    ):
        signed.setdefault(r.leaf_hash, {})[r.role] = r.display_name
    out: list[ResultStatus] = []
    for r in conn.execute(
        select(result_records).order_by(result_records.c.at_ms, result_records.c.leaf_hash)
    ).mappings():
        done = signed.get(r["leaf_hash"], {})
        body = Record.parse(bytes(r["entry"])).body
        status = ResultStatus(
            leaf_hash=r["leaf_hash"],
            verification_id=r["verification_id"],
            pile_id=r["pile_id"],
            inspector_id=r["inspector_id"],
            inspector_name=names.get(r["inspector_id"], r["inspector_id"]),
            result=r["result"],
            at_ms=int(r["at_ms"]),
            certificate_no=str(body.get("certificate_no", "")),
            checker=done.get(CHECKER),
            approver=done.get(APPROVER),
        )
        if include_final or status.stage != "final":
            out.append(status)
    return out


# ---- printing -----------------------------------------------------------------------------

#: ``write_certificate(result, path, info=None, *, signoff=None) -> Path`` (app.reports).
CertificateWriter = Callable[..., Any]


def _run_of(conn: Connection, stored: StoredResult, result: Any) -> Any:
    """The run to print: the one given (checked against the record), else the record's own."""
    from app.models.charging.result_record import registry_pile_specs, result_from_record
    from app.models.charging.verification import verification_id

    body: Mapping[str, Any] = stored.record.body
    if result is None:
        piles = registry_pile_specs(conn, [str(body["pile_id"])])
        return result_from_record(body, piles[0] if piles else None)
    if verification_id(result) != body["verification_id"] or result.verdict != body["result"]:
        raise SignOffError(
            f"the run given is not {stored.verification_id}: print the run that was signed"
        )
    return result


def certificate_details(conn: Connection, ref: str) -> dict[str, str]:
    """What the certificate's header and footer take from the signed record itself:
    the certificate number as signed, the inspector, the signing key and the leaf hash
    (``CertificateInfo`` fields)."""
    stored = _stored(conn, ref)
    body = stored.record.body
    return {
        "certificate_no": str(body.get("certificate_no", "")),
        "inspector_id": str(body["inspector_id"]),
        "inspector_name": _inspector_name(conn, str(body["inspector_id"])),
        "signature_key_id": stored.record.key_id,
        "record_digest": stored.leaf_hash,
    }


def print_final(
    conn: Connection,
    session: Session,
    ref: str,
    result: Any,
    path: Path | str,
    *,
    writer: CertificateWriter,
    info: Any = None,
) -> Path:
    """Writes the final certificate / result notice of a checked and approved result.

    ``result`` is the run's :class:`~app.models.charging.verification.VerificationResult` (it must
    be the run the stored record was signed from), or None: the office has only the
    signed record, so the result is rebuilt from it
    (:func:`app.models.charging.result_record.result_from_record`, nameplate fields the record
    lacks from the registry). ``writer`` is ``app.reports.certificate.write_certificate``
    (passed in: the model layer imports no Qt). Refused (:class:`NotFinal`) before both
    countersignatures; :func:`print_draft` prints a draft.
    """
    require(session, "certificate.print")
    stored = _stored(conn, ref)
    signoff = signoff_of(conn, stored.leaf_hash)
    if not signoff.final:
        missing = "核验员 check" if signoff.checker is None else "批准人 approval"
        raise NotFinal(
            f"{stored.verification_id} is still a draft (awaiting the {missing}); "
            "it cannot be printed as final"
        )
    return _print(conn, session, stored, signoff, result, Path(path), writer, info)


def print_draft(
    conn: Connection,
    session: Session,
    ref: str,
    result: Any,
    path: Path | str,
    *,
    writer: CertificateWriter,
    info: Any = None,
) -> Path:
    """Writes a draft (marked as such on every page) of a result not yet approved.

    Why refuse a draft of a final result: a second, draft-marked paper of a released
    certificate only confuses; print the final one. Audited like the final print.
    """
    require(session, "certificate.print")
    stored = _stored(conn, ref)
    signoff = signoff_of(conn, stored.leaf_hash)
    if signoff.final:
        raise SignOffError(
            f"{stored.verification_id} is checked and approved: print the final certificate"
        )
    return _print(conn, session, stored, signoff, result, Path(path), writer, info)


def _print(
    conn: Connection,
    session: Session,
    stored: Any,
    signoff: SignOff,
    result: Any,
    path: Path,
    writer: CertificateWriter,
    info: Any,
) -> Path:
    """Writes the document and audits the print (final or draft, as the sign-off says)."""
    run = _run_of(conn, stored, result)
    written = writer(run, path, info, signoff=signoff)
    st.write_audit(
        conn,
        session.username,
        "certificate.print",
        f"verification {stored.verification_id}",
        {"leaf_hash": stored.leaf_hash, "path": str(path), "final": signoff.final},
    )
    return Path(written) if written is not None else path
