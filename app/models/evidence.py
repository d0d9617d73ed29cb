"""Which log entries an evidence bundle needs, gathered from the store + the platform.

Why this split: the store knows *which* entries matter (a session's metering
and billing records, the tariff in force, a pile's history, an alarm's
evidence) and who registered each signer's key; the platform's tiles give the
byte-exact entries and their proofs. `ledger.bundle` turns the result into a
zip and knows nothing about the store; the report PDFs (Qt) live in
`app.reports.dispute`. Qt-free, so a server or a CLI can build bundles too.

Proofs are made against the newest checkpoint the store has *accepted* (so a
bundle never cites a tree the workstation did not verify as consistent with
its history), read through `ledger.tiles.TileHashReader`, which authenticates
every tile it uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, select

from app.models import store as st
from app.models.logs import log_range, origins_by_number, split_key
from ledger.bundle import BundleError, BundleInputs, LogEvidence, SignerFinder, collect_signers
from ledger.client import LogClient
from ledger.fleet.tariff import compute_charge
from ledger.keys import PublicKey
from ledger.note import open_checkpoint
from ledger.ocmf import OcmfBundleItem
from ledger.records import Record, RecordError

__all__ = [
    "DisputeFacts",
    "EvidenceError",
    "alarm_evidence",
    "dispute_facts",
    "pile_evidence",
    "session_evidence",
]

PILE_HISTORY_LIMIT = 20_000
"""Entries per pile bundle: a year of a busy pile's sessions, bills and seal events."""


class EvidenceError(LookupError):
    """The store does not hold what the bundle is about; the message names it."""


def _accepted_note(conn: Connection, origin: str) -> bytes | None:
    row = conn.execute(
        select(st.checkpoints.c.note)
        .where(st.checkpoints.c.origin == origin)
        .order_by(st.checkpoints.c.size.desc(), st.checkpoints.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else bytes(row.note)


_REGISTERED_BY = {
    "authority": ("authority", "key"),
    "meter": ("meter", "meter_id"),
    "operator": ("operator", "operator_id"),
    "inspector": ("inspector", "inspector_id"),
}
"""Signer kind → (the record type that registers it, the body field naming it)."""


def _finder(conn: Connection, evidence: LogEvidence, log_no: int = 0) -> SignerFinder:
    """``find(kind, id, before)`` over the store's registry tables (see SignerFinder), in
    log ``log_no``'s indexes: a bundle is proven against one log's checkpoint, so its
    signers' registry entries must be that log's (a new shard carries them, docs/
    deployment.md).

    Authority and meter keys keep their history in the store; operators and inspectors
    keep one row, the latest record (issue 13 item 9: once an operator's registry record
    was re-issued, every older meter record it vouched for had no operator entry "before"
    it, and no bundle could be built). When the store's row is not this log's entry
    before ``before`` — an operator re-issued later, or a registry record this log carried
    from an earlier shard, which the store applied once, from the other log — the log's
    earlier registry entries of that type are read back from the log (checked against the
    accepted checkpoint like every bundle entry), newest first.
    """
    base, _ = log_range(log_no)

    def latest(table: Table, where: ColumnElement[bool], before: int) -> int | None:
        row = conn.execute(
            select(table.c.entry_index)
            .where(where, table.c.entry_index >= base, table.c.entry_index < base + before)
            .order_by(table.c.entry_index.desc())
            .limit(1)
        ).first()
        return None if row is None else int(row.entry_index) - base

    def from_log(kind: str, ident: str, before: int) -> int | None:
        record_type, field_name = _REGISTERED_BY[kind]
        earlier = conn.execute(
            select(st.entries.c.entry_index)
            .where(
                st.entries.c.type == record_type,
                st.entries.c.entry_index >= base,
                st.entries.c.entry_index < base + before,
            )
            .order_by(st.entries.c.entry_index.desc())
        )
        for (key,) in earlier:
            index = int(key) - base
            try:
                body = Record.parse(evidence.entry(index)).body
            except RecordError:
                continue
            named = str(body.get(field_name))
            if kind == "authority":
                try:
                    named = PublicKey.parse(named).key_id
                except ValueError:
                    continue
            if named == ident:
                return index
        return None

    def find(kind: str, ident: str, before: int) -> int | None:
        if kind == "authority":
            found = latest(st.authority_keys, st.authority_keys.c.key_id == ident, before)
        elif kind == "meter":
            found = latest(st.meter_keys, st.meter_keys.c.meter_id == ident, before)
        elif kind == "operator":
            found = latest(st.operators, st.operators.c.operator_id == ident, before)
        elif kind == "inspector":
            found = latest(st.inspectors, st.inspectors.c.inspector_id == ident, before)
        else:
            return None
        return found if found is not None else from_log(kind, ident, before)

    return find


LogClients = Callable[[str], LogClient]
"""The client of a log by origin (a store following several logs, `app.models.logs`)."""


def _inputs(
    store: st.Store,
    client: LogClient | LogClients,
    subject: dict[str, Any],
    indexes: Iterable[int],
    since_note: bytes | None,
    ocmf: Sequence[OcmfBundleItem],
) -> BundleInputs:
    keys = sorted(set(indexes))
    with store.engine.connect() as conn:
        log_no, indexes = _one_log(conn, keys)
        if not isinstance(client, LogClient):
            client = client(origins_by_number(conn).get(log_no, ""))
        elif keys and log_no != log_number_of(conn, client.origin):
            raise EvidenceError(
                f"the entries are in log {origins_by_number(conn).get(log_no, log_no)}, "
                f"not in {client.origin}: build the bundle from that log"
            )
        note = _accepted_note(conn, client.origin)
        evidence = LogEvidence(client, note)
        behind = bool(indexes) and indexes[-1] >= evidence.checkpoint.size
        if since_note and not behind:
            old, _ = open_checkpoint(since_note, client.verifier, client.origin)
            behind = old.size > evidence.checkpoint.size
        if behind:  # the recipient (or the store's rows) saw a newer tree: use the latest
            evidence = LogEvidence(client)
        try:
            entries = collect_signers(evidence, indexes, _finder(conn, evidence, log_no))
        except BundleError as exc:
            raise EvidenceError(str(exc)) from exc
    consistency = evidence.consistency(since_note) if since_note else None
    return BundleInputs(
        subject, client.verifier.vkey, evidence.note, entries, consistency, list(ocmf)
    )


def _one_log(conn: Connection, keys: Sequence[int]) -> tuple[int, list[int]]:
    """(log number, indexes in that log) of store keys; a bundle proves entries of one
    log against its checkpoint, so keys of several logs are refused by name."""
    logs = sorted({split_key(k)[0] for k in keys})
    if len(logs) > 1:
        names = origins_by_number(conn)
        raise EvidenceError(
            "the entries are in several logs ("
            + ", ".join(names.get(n, str(n)) for n in logs)
            + "): one bundle proves entries of one log; build one per log"
        )
    return (logs[0] if logs else 0), [split_key(k)[1] for k in keys]


def log_number_of(conn: Connection, origin: str) -> int:
    """``origin``'s number, 0 for a store that never numbered it (a single-log store)."""
    found = conn.execute(select(st.logs.c.log_no).where(st.logs.c.origin == origin)).scalar()
    return 0 if found is None else int(found)


def _indexes(conn: Connection, table: Table, where: ColumnElement[bool]) -> list[int]:
    return [int(r.entry_index) for r in conn.execute(select(table.c.entry_index).where(where))]


def session_evidence(
    store: st.Store,
    client: LogClient | LogClients,
    session_id: str,
    *,
    since_note: bytes | None = None,
    ocmf: Sequence[OcmfBundleItem] = (),
) -> BundleInputs:
    """A charging session: its metering record(s), bill(s) and the tariff in force."""
    with store.engine.connect() as conn:
        idx = _indexes(conn, st.sessions, st.sessions.c.session_id == session_id)
        if not idx:
            raise EvidenceError(f"session {session_id!r} is not in the store")
        bills = conn.execute(
            select(st.billing.c.entry_index, st.billing.c.tariff_id, st.billing.c.start_ms).where(
                st.billing.c.session_id == session_id
            )
        ).all()
        idx += [int(b.entry_index) for b in bills]
        for bill in bills:
            tariff = conn.execute(
                select(st.tariffs.c.entry_index)
                .where(
                    st.tariffs.c.tariff_id == bill.tariff_id,
                    st.tariffs.c.valid_from_ms <= bill.start_ms,
                )
                .order_by(st.tariffs.c.valid_from_ms.desc(), st.tariffs.c.entry_index.desc())
                .limit(1)
            ).first()
            if tariff is not None:
                idx.append(int(tariff.entry_index))
    return _inputs(
        store, client, {"kind": "session", "session_id": session_id}, idx, since_note, ocmf
    )


def pile_evidence(
    store: st.Store,
    client: LogClient | LogClients,
    pile_id: str,
    from_ms: int,
    to_ms: int,
    *,
    since_note: bytes | None = None,
    limit: int = PILE_HISTORY_LIMIT,
) -> BundleInputs:
    """A pile's history in [from_ms, to_ms): sessions, bills, seal events, heartbeats,
    verifications. Refuses more than ``limit`` entries rather than truncating silently."""
    idx: list[int] = []
    with store.engine.connect() as conn:
        for table, column in (
            (st.sessions, "start_ms"),
            (st.billing, "start_ms"),
            (st.seal_events, "at_ms"),
            (st.heartbeats, "ref_ms"),
            (st.verifications, "at_ms"),
        ):
            idx += _indexes(
                conn,
                table,
                (table.c.pile_id == pile_id)
                & (table.c[column] >= from_ms)
                & (table.c[column] < to_ms),
            )
    if not idx:
        raise EvidenceError(f"pile {pile_id!r} has no logged records in that period")
    if len(idx) > limit:
        raise EvidenceError(
            f"pile {pile_id!r} has {len(idx)} records in that period (limit {limit}); "
            "choose a shorter period"
        )
    subject = {"kind": "pile", "pile_id": pile_id, "from_ms": from_ms, "to_ms": to_ms}
    return _inputs(store, client, subject, idx, since_note, ())


def _evidence_indexes(evidence: Any) -> list[int]:
    """Entry indexes from an alarm's evidence JSON: a list, or a dict holding one."""
    if isinstance(evidence, dict):
        for key in ("entries", "entry_indexes", "evidence", "indexes"):
            if key in evidence:
                return _evidence_indexes(evidence[key])
        return []
    if isinstance(evidence, list):
        return [int(e) for e in evidence if isinstance(e, int) and not isinstance(e, bool)]
    return []


def alarm_evidence(
    store: st.Store,
    client: LogClient | LogClients,
    alarm_id: int,
    *,
    since_note: bytes | None = None,
) -> BundleInputs:
    """The log entries an alarm rests on (its evidence list)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(st.alarms).where(st.alarms.c.id == alarm_id)).mappings().first()
    if row is None:
        raise EvidenceError(f"alarm {alarm_id} is not in the store")
    idx = sorted(set(_evidence_indexes(row["evidence"])))
    if not idx:
        raise EvidenceError(f"alarm {alarm_id} cites no log entries")
    subject = {
        "kind": "alarm",
        "alarm_id": int(alarm_id),
        "pile_id": row["pile_id"],
        "entries": [split_key(k)[1] for k in idx],  # in the log the bundle proves
    }
    return _inputs(store, client, subject, idx, since_note, ())


# ---------------------------------------------------------------------------- dispute


@dataclass
class DisputeFacts:
    """What the consumer's one-page report states, each figure from a verified entry.

    Built from the *verifier's* result (`ledger.bundle_verify.Result`), not from
    the store, so the report can never claim more than the bundle proves.
    """

    session_id: str
    pile_id: str = ""
    meter_id: str = ""
    start_ms: int = 0
    stop_ms: int = 0
    metered_wh: int | None = None  # None: no session record in the bundle
    billed_wh: int | None = None
    energy_fen: int | None = None
    service_fen: int | None = None
    amount_fen: int | None = None
    tariff_id: str = ""
    periods: list[dict[str, int]] = field(default_factory=list)
    fair_energy_fen: int | None = None
    fair_service_fen: int | None = None
    signatures_ok: bool = False
    inclusion_ok: bool = False
    all_ok: bool = False
    proof_sha256: str = ""
    origin: str = ""
    tree_size: int = 0
    session_index: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def fair_amount_fen(self) -> int | None:
        if self.fair_energy_fen is None or self.fair_service_fen is None:
            return None
        return self.fair_energy_fen + self.fair_service_fen

    @property
    def difference_fen(self) -> int | None:
        """Billed minus fair: positive means the consumer was overcharged."""
        fair = self.fair_amount_fen
        return None if fair is None or self.amount_fen is None else self.amount_fen - fair

    @property
    def qr_text(self) -> str:
        """What the report's QR code encodes: enough to find and re-check the proof."""
        return (
            f"evm-dispute:v1;session={self.session_id};proof-sha256={self.proof_sha256};"
            f"log={self.origin};size={self.tree_size}"
        )


def dispute_facts(result: Any, session_id: str) -> DisputeFacts:
    """Facts for the consumer report from a `ledger.bundle_verify.Result`.

    Fair amount rule: the posted tariff (``ledger.fleet.tariff.compute_charge``,
    the one computation every party must agree on) applied to the *metered*
    energy of the meter-signed session record, with its own power curve for
    the time-of-use split. The billed amount is the operator's billing record.
    """
    facts = DisputeFacts(session_id)
    if result.checkpoint is not None:
        facts.origin, facts.tree_size = result.checkpoint.origin, result.checkpoint.size
    subjects = [v for v in result.entries if v.role == "subject"]
    session = next(
        (v for v in subjects if v.rtype == "session" and v.body.get("session_id") == session_id),
        None,
    )
    bill = next((v for v in subjects if v.rtype == "billing"), None)
    if session is None:
        facts.problems.append("no session record")
        return facts
    body = session.body
    facts.pile_id, facts.meter_id = str(body["pile_id"]), str(body["meter_id"])
    facts.start_ms, facts.stop_ms = int(body["start_ms"]), int(body["stop_ms"])
    facts.metered_wh = int(body["energy_wh"])
    facts.session_index = session.index
    facts.proof_sha256 = session.proof_sha256
    considered = [session] + ([bill] if bill else [])
    tariff = None
    if bill is not None:
        b = bill.body
        facts.billed_wh, facts.tariff_id = int(b["billed_wh"]), str(b["tariff_id"])
        facts.energy_fen, facts.service_fen = int(b["energy_fen"]), int(b["service_fen"])
        facts.amount_fen = int(b["amount_fen"])
        tariff = next(
            (
                v
                for v in subjects
                if v.rtype == "tariff" and v.body.get("tariff_id") == facts.tariff_id
            ),
            None,
        )
    else:
        facts.problems.append("no billing record")
    if tariff is not None:
        considered.append(tariff)
        facts.periods = [dict(p) for p in tariff.body["periods"]]
        facts.fair_energy_fen, facts.fair_service_fen = compute_charge(
            facts.periods,
            facts.start_ms,
            int(body["interval_s"]),
            [int(p) for p in body["power_w"]],
            facts.metered_wh,
        )
    elif bill is not None:
        facts.problems.append("no tariff record")
    facts.signatures_ok = all(v.signed for v in considered)
    facts.inclusion_ok = all(v.included for v in considered)
    facts.all_ok = bool(result.ok)
    return facts


def proof_digest(proof: bytes) -> str:
    """SHA-256 of a tlog-proof file, as printed and QR-encoded on the report."""
    return hashlib.sha256(proof).hexdigest()
