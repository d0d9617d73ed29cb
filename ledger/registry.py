"""Who may sign what: the key registry built from the log's own registry records.

The log is self-describing: the bureau's authority record (self-signed, the
first entry) vouches for operators and inspectors; an operator vouches for its
stations, piles, meters and tariffs and signs billing; a meter signs its own
sessions, seal events and heartbeats; an inspector signs verification results.
Both the platform (at ingest) and the workstation (at sync) run the same rules,
so a record the platform accepted but a client rejects is proof of misbehaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger.keys import PublicKey
from ledger.records import (  # noqa: F401 (OWNED_TYPES, TRANSFERABLE re-exported)
    OWNED_TYPES,
    OWNERSHIP,
    SIGNED_BY,
    SIGNER_FIELDS,
    TRANSFERABLE,
    Record,
    RecordError,
    identity_of_entry,
)


class UnknownKeyError(RecordError):
    """The record's source is not registered, or signed with a key not registered for it."""


class SignerRuleError(UnknownKeyError):
    """A registered signer signed what it may not: a record about another operator's
    station, pile or meter, or a move between operators without the authority."""


_SOURCE_FIELD = SIGNER_FIELDS  # signer -> ID field; the kinds add theirs (ledger.kinds)


@dataclass
class KeyRegistry:
    """The registered keys, per signer: ``sources[signer][id]`` (``sources["meter"]``,
    ``sources["operator"]``, … one table per signer any registered kind names)."""

    authority: dict[str, PublicKey] = field(default_factory=dict)  # key_id -> key
    sources: dict[str, dict[str, PublicKey]] = field(default_factory=dict)
    enc_key: str | None = None

    @property
    def operators(self) -> dict[str, PublicKey]:
        return self._table("operator")

    @property
    def inspectors(self) -> dict[str, PublicKey]:
        return self._table("inspector")

    @property
    def meters(self) -> dict[str, PublicKey]:
        return self._table("meter")

    def _table(self, kind: str) -> dict[str, PublicKey]:
        table = self.sources.get(kind)
        if table is None:
            if kind not in _SOURCE_FIELD:
                raise KeyError(kind)
            table = self.sources[kind] = {}
        return table

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
        if record.type in TRANSFERABLE:
            key = self.authority.get(record.key_id)
            if key is not None:  # the registry authority (re)assigns a station, pile, meter
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

    def apply(self, record: Record, key_of: Callable[[str], PublicKey] = PublicKey.parse) -> None:
        """Updates the registry with a verified registry record. ``key_of`` reads its key
        (the sync passes one that leaves the strict parse to its signature workers)."""
        rtype, body = record.type, record.body
        if rtype == "authority":
            key = key_of(body["key"])
            self.authority[key.key_id] = key
            self.enc_key = body["enc_key"]
        elif rtype in _SOURCE_FIELD:
            self._table(rtype)[body[_SOURCE_FIELD[rtype]]] = key_of(body["key"])

    def copy(self) -> KeyRegistry:
        return KeyRegistry(
            dict(self.authority),
            {kind: dict(table) for kind, table in self.sources.items()},
            self.enc_key,
        )

    def check(self, record: Record) -> None:
        """Resolves the signer and verifies the signature, then applies the record."""
        record.verify(self.signer_of(record))
        self.apply(record)


@dataclass
class Owners:
    """Which operator holds each station, pile and meter, as the log stands.

    The key registry answers "is this the operator's key?"; this answers "is it the
    operator's station, pile, meter?" (issue 13, item 3: OP002 re-keyed OP001's meter
    with a record it signed itself, then signed sessions with the new key). Rules, for
    records signed by an operator (``by_authority`` False):

    * station, pile, meter: one that already belongs to another operator stays
      theirs: moving it (or re-keying another operator's meter) needs a record signed
      by the registry authority;
    * a pile names a station of its own operator; a meter a pile of its own operator;
      a tariff a station, a bill a pile, of the operator that signs it.

    The authority may sign station, pile and meter records (transfers); the station /
    pile it names must still belong to the record's operator. With ``strict`` (the
    platform, which holds the whole registry) a station or pile that is not registered
    is refused too; the workstation checks only what its store can prove (``strict``
    False), since its store also holds entries from before these rules.
    """

    held: dict[str, dict[str, str]] = field(default_factory=dict)
    """record type -> {own ID -> operator ID}, for the types that own something."""

    def table(self, rtype: str) -> dict[str, str]:
        """The holders of the things ``rtype`` registers (``table("pile")``)."""
        found = self.held.get(rtype)
        if found is None:
            found = self.held[rtype] = {}
        return found

    def copy(self) -> Owners:
        return Owners({rtype: dict(table) for rtype, table in self.held.items()})

    def check(
        self, rtype: str, body: Mapping[str, Any], by_authority: bool, strict: bool = True
    ) -> None:
        """Raises SignerRuleError, naming the record, the owner and what to do."""
        rule = OWNERSHIP.get(rtype)
        if rule is None:
            return
        operator = body["operator_id"]
        if by_authority and rule.own is None:
            raise SignerRuleError(
                f"{rtype} record of operator {operator}: only the operator signs its "
                f"{rtype} records, not the registry authority"
            )
        own_id = body.get(rule.own) if rule.own is not None else None
        if own_id is not None and not by_authority:
            holder = self.table(rtype).get(own_id)
            if holder is not None and holder != operator:
                raise SignerRuleError(
                    f"{rtype} {own_id} belongs to operator {holder}: operator {operator} may "
                    f"not register, re-key or take it over; moving a {rtype} between "
                    "operators needs a record signed by the registry authority"
                )
        if rule.parent is None:
            return
        parent_kind, parent_field = rule.parent
        parent_id = body[parent_field]
        parent_owner = self.table(parent_kind).get(parent_id)
        if parent_owner is None:
            if strict:
                raise SignerRuleError(
                    f"{rtype} record of operator {operator} names {parent_kind} {parent_id}, "
                    f"which is not registered: register the {parent_kind} first"
                )
            return
        if parent_owner != operator:
            raise SignerRuleError(
                f"{rtype} record of operator {operator} names {parent_kind} {parent_id}, "
                f"which belongs to operator {parent_owner}: an operator signs only for its "
                f"own {parent_kind}s"
            )

    def apply(self, rtype: str, body: Mapping[str, Any]) -> None:
        """Records the holder named by an accepted record that owns something."""
        rule = OWNERSHIP.get(rtype)
        if rule is not None and rule.own is not None:
            self.table(rtype)[body[rule.own]] = body["operator_id"]


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
    identity: bytes = field(default=b"", compare=False)
    """`ledger.records.identity_of` sliced from the entry's bytes (b"" when they are not
    shaped like a canonical entry, which the strict check then refuses): the sync's
    projection and the platform read it here instead of re-encoding the body."""

    @classmethod
    def peek(cls, data: bytes, identify: bool = True) -> EntryHead:
        """``identify=False`` leaves ``identity`` b"" for the caller to fill (the sync
        has its signature workers hash it, off this thread)."""
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
        key_text = key_id if type(key_id) is str else str(key_id)
        if not identify:
            return cls(rtype, body, key_text, sig)
        try:
            identity = identity_of_entry(rtype, key_text, data)
        except ValueError:
            identity = b""
        return cls(rtype, body, key_text, sig, identity)

    @property
    def subject(self) -> str:
        return Record(self.type, self.body, "", self.key_id, b"").subject
