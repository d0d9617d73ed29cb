"""Who may sign what: the key registry built from the log's own registry records.

The log is self-describing: the bureau's authority record (self-signed, the
first entry) vouches for operators and inspectors; an operator vouches for its
stations, piles, meters and tariffs and signs billing; a meter signs its own
sessions, seal events and heartbeats; an inspector signs verification results.
Both the platform (at ingest) and the workstation (at sync) run the same rules,
so a record the platform accepted but a client rejects is proof of misbehaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from ledger.keys import PublicKey
from ledger.records import SIGNED_BY, Record, RecordError


class UnknownKeyError(RecordError):
    """The record's source is not registered, or signed with a key not registered for it."""


_SOURCE_FIELD = {
    "operator": "operator_id",
    "meter": "meter_id",
    "inspector": "inspector_id",
}


@dataclass
class KeyRegistry:
    authority: dict[str, PublicKey] = field(default_factory=dict)  # key_id -> key
    operators: dict[str, PublicKey] = field(default_factory=dict)
    meters: dict[str, PublicKey] = field(default_factory=dict)
    inspectors: dict[str, PublicKey] = field(default_factory=dict)
    enc_key: str | None = None

    def _table(self, kind: str) -> dict[str, PublicKey]:
        if kind == "meter":  # the signer of nearly every entry: checked first
            return self.meters
        return {"operator": self.operators, "inspector": self.inspectors}[kind]

    def signer_of(self, record: Record) -> PublicKey:
        """The registered key that must have signed ``record``; raises UnknownKeyError."""
        kind = SIGNED_BY[record.type]
        if kind == "authority":
            if record.type == "authority" and not self.authority:
                key = PublicKey.parse(record.body["key"])  # the trust anchor signs itself
                if key.key_id != record.key_id:
                    raise UnknownKeyError(
                        f"{record.subject}: the first authority record must be self-signed"
                    )
                return key
            key = self.authority.get(record.key_id)
            if key is None:
                raise UnknownKeyError(
                    f"{record.subject}: key {record.key_id} is not a registered authority key"
                )
            return key
        source_id = record.body[_SOURCE_FIELD[kind]]
        key = self._table(kind).get(source_id)
        if key is None:
            raise UnknownKeyError(f"{record.subject}: {kind} {source_id} is not registered")
        if key.key_id != record.key_id:
            raise UnknownKeyError(
                f"{record.subject}: signed with key {record.key_id}, but {kind} {source_id}'s "
                f"registered key is {key.key_id}"
            )
        return key

    def apply(self, record: Record) -> None:
        """Updates the registry with a verified registry record."""
        rtype, body = record.type, record.body
        if rtype == "authority":
            key = PublicKey.parse(body["key"])
            self.authority[key.key_id] = key
            self.enc_key = body["enc_key"]
        elif rtype in _SOURCE_FIELD:
            self._table(rtype)[body[_SOURCE_FIELD[rtype]]] = PublicKey.parse(body["key"])

    def copy(self) -> KeyRegistry:
        return KeyRegistry(
            dict(self.authority),
            dict(self.operators),
            dict(self.meters),
            dict(self.inspectors),
            self.enc_key,
        )

    def check(self, record: Record) -> None:
        """Resolves the signer and verifies the signature, then applies the record."""
        record.verify(self.signer_of(record))
        self.apply(record)


@dataclass(slots=True)
class EntryHead:
    """The parts of an entry needed to find its signer, read without full validation.

    Key resolution must run in log order on one thread (registry records change
    the registry), while strict parsing and signature checks run on all cores
    (`ledger.sigcheck`). This is the cheap first pass, once per entry of a sync on
    the one ordering thread: orjson (the parser `Record.parse` uses, so a body read
    here is the body the workers validate) and a plain slotted class (a frozen
    dataclass costs three times as much to build). Treat it as read-only.
    """

    type: str
    body: dict
    key_id: str
    sig: dict = field(default_factory=dict, compare=False)

    @classmethod
    def peek(cls, data: bytes) -> EntryHead:
        try:
            obj = orjson.loads(data)
            rtype, body, sig = obj["t"], obj["b"], obj["s"]
            key_id = sig["k"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordError(f"entry is not a record: {exc.__class__.__name__} {exc}") from exc
        if type(rtype) is not str or rtype not in SIGNED_BY or type(body) is not dict:
            raise RecordError(f"entry has unknown record type {str(rtype)[:30]!r}")
        field_name = _SOURCE_FIELD.get(SIGNED_BY[rtype])
        if field_name and type(body.get(field_name)) is not str:
            raise RecordError(f"{rtype} record: missing field {field_name!r}")
        return cls(rtype, body, key_id if type(key_id) is str else str(key_id), sig)

    @property
    def subject(self) -> str:
        return Record(self.type, self.body, "", self.key_id, b"").subject
