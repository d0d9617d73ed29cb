"""Signed, canonical, versioned ledger records — the entries of the log.

One log entry is exactly one record, encoded as canonical JSON (keys sorted, no
spaces, UTF-8, integers only — no floats, so every value has one spelling):

    {"b":{...body...},"s":{"a":"p256","k":"<key id>","v":"<base64 signature>"},"t":"session","v":1}

The signature covers ``DOMAIN || type || "\\n" || canonical(body)``, so a record
of one type can never be replayed as another. Units are integers chosen so that
no rounding happens in the ledger: energy in Wh, money in fen (0.01 yuan),
prices in 0.0001 yuan/kWh, times in Unix milliseconds (UTC), coordinates in
micro-degrees (GCJ-02), power in W. docs/records.md is the normative spec.

Parsing is strict: an entry that is not byte-for-byte canonical, or whose body
does not match its type's schema, is rejected with an error naming the record
type and the field. It is also the hot path of a full sync (one parse per entry,
next to a ~60 µs signature check), so `Record.parse` reads with orjson and checks
the common record types with a precompiled schema test (`_body_ok`); whatever
that test does not accept goes through `validate_body`, the reference, which
names the field. Canonical form is still proven by re-encoding: see `_encode`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from ledger.keys import ALGORITHMS, PublicKey, SigningKey
from ledger.kinds import KindError, Ownership, RecordKind

VERSION = 1
DOMAIN = b"evmetrology-record/v1\n"
MAX_ENTRY_BYTES = 16384


class RecordError(ValueError):
    """A record that is malformed or fails its signature; says which record and why."""


class SignatureError(RecordError):
    pass


@lru_cache(maxsize=65536)
def public_key(text: str) -> PublicKey:
    """`PublicKey.parse`, remembered. Decoding a P-256 point costs ~45 µs, and a
    signature worker met each key twice: validating the registry record that carries it
    and verifying the entries it signs (`ledger.sigcheck`), 16k meters a city; with one
    cache the second is free. A key that does not parse raises each time (not cached)."""
    return PublicKey.parse(text)


# ---- schema --------------------------------------------------------------------------
# field -> (python type, required). "key" fields hold PublicKey text.
_I, _S, _L, _D, _B = int, str, list, dict, bool
SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    # Trust anchor: the market-supervision bureau's registry key (self-signed) and the
    # X25519 key personal identifiers are encrypted to.
    "authority": {
        "authority_id": (_S, True),
        "name": (_S, True),
        "key": (_S, True),
        "enc_key": (_S, True),
        "at_ms": (_I, True),
    },
    "operator": {
        "operator_id": (_S, True),
        "name": (_S, True),
        "key": (_S, True),
        "credit_code": (_S, False),
        "at_ms": (_I, True),
    },
    "inspector": {
        "inspector_id": (_S, True),
        "name": (_S, True),
        "org": (_S, True),
        "key": (_S, True),
        "at_ms": (_I, True),
    },
}
ENUMS: dict[tuple[str, str], frozenset[str]] = {}
# Which registry record vouches for the key that signs each type.
SIGNED_BY: dict[str, str] = {
    "authority": "authority",
    "operator": "authority",
    "inspector": "authority",
}
SIGNER_FIELDS: dict[str, str] = {"operator": "operator_id", "inspector": "inspector_id"}
"""signer -> the ID field naming it in what it signs; the registry record of the same
type carries its key. Kinds add theirs (a pile's meter, a dispenser's module)."""
OWNERSHIP: dict[str, Ownership] = {}
"""Operator-signed record types and what they own or name (`ledger.registry.Owners`)."""
KINDS: dict[str, RecordKind] = {}
"""The registered instrument kinds by name (`register_kind`)."""
_KIND_OF: dict[str, str] = {}
KEY_TYPES: set[str] = {"authority", "operator", "inspector"}
"""Registry records that carry a signer's public key (``key``): they change the registry."""
OWNED_TYPES: set[str] = set()
"""Operator-signed types: checked by `ledger.registry.Owners`."""
TRANSFERABLE: set[str] = set()
"""Registry records the authority may sign instead of the operator: moving a station, pile
or dispenser between operators (or re-keying another operator's meter) needs the authority."""
_SUBJECT_FIELDS: list[str] = ["operator_id", "inspector_id", "authority_id"]
_POSITIVE: dict[str, tuple[str, ...]] = {}
_SEMANTICS: dict[str, Callable[[str, Mapping[str, Any]], None]] = {}


def kind_of(rtype: str) -> str | None:
    """The instrument kind a record type belongs to; None for the core's own types."""
    return _KIND_OF.get(rtype)


def register_kind(kind: RecordKind) -> None:
    """Adds an instrument kind's record types to the core's tables (once, at start-up).

    Registering the same kind object again is a no-op; a kind that would redefine
    another's record type, signer or enumeration is refused (`KindError`)."""
    if KINDS.get(kind.name) is kind:
        return
    if kind.name in KINDS:
        raise KindError(f"instrument kind {kind.name!r} is already registered")
    taken = set(kind.schemas) & set(SCHEMAS)
    if taken:
        raise KindError(f"kind {kind.name!r}: record type(s) {sorted(taken)} already exist")
    for rtype in kind.schemas:
        if rtype not in kind.signed_by:
            raise KindError(f"kind {kind.name!r}: record type {rtype!r} has no signer")
    for rtype, signer in kind.signed_by.items():
        if signer not in SIGNER_FIELDS and signer not in kind.signers and signer != "authority":
            raise KindError(f"kind {kind.name!r}: {rtype!r} is signed by unknown {signer!r}")
    clash = set(kind.signers) & set(SIGNER_FIELDS)
    if clash:
        raise KindError(f"kind {kind.name!r}: signer(s) {sorted(clash)} already exist")
    KINDS[kind.name] = kind
    SCHEMAS.update(kind.schemas)
    ENUMS.update(kind.enums)
    SIGNED_BY.update(kind.signed_by)
    SIGNER_FIELDS.update(kind.signers)
    KEY_TYPES.update(kind.signers)
    OWNERSHIP.update(kind.owned)
    OWNED_TYPES.update(kind.owned)
    TRANSFERABLE.update(t for t, o in kind.owned.items() if o.own is not None)
    _FAST_LISTS.update(kind.int_lists)
    _POSITIVE.update(kind.positive)
    _SUBJECT_FIELDS[:0] = [f for f in kind.subject_fields if f not in _SUBJECT_FIELDS]
    for rtype in kind.schemas:
        _KIND_OF[rtype] = kind.name
        if kind.semantics is not None:
            _SEMANTICS[rtype] = kind.semantics
        spec = _fast_spec(rtype)
        if spec is not None:
            _FAST[rtype] = spec


_INT_LIMIT = 2**53
_RECORD_KEYS = {"b", "s", "t", "v"}
_SIGNATURE_KEYS = {"a", "k", "v"}


def canonical_json(value: Any) -> bytes:
    """The reference encoder of the spec (docs/records.md), for any JSON value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _encode(value: Any) -> bytes:
    """`canonical_json`, about ten times faster, for values that passed `validate_body`.

    orjson writes keys sorted by code point (OPT_SORT_KEYS: UTF-8 byte order is code
    point order), no whitespace, non-ASCII as UTF-8, and escapes exactly what
    json.dumps(ensure_ascii=False) escapes. The two differ only outside a valid
    record's values: floats (spelled otherwise), integers beyond 64 bits, lone
    surrogates (orjson refuses them; json.dumps writes them, then UTF-8 fails) and
    nesting deeper than 255 levels (orjson refuses; `Record.parse` then falls back to
    `canonical_json`). tests/test_records_strict.py compares both encoders on every
    character and on generated values."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _check_value(rtype: str, name: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise RecordError(f"{rtype} record: field {name!r} is out of the integer range")
    elif isinstance(value, float):
        raise RecordError(f"{rtype} record: field {name!r} is a float; use integer units")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(rtype, f"{name}[{i}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(rtype, f"{name}.{key}", item)
    elif not isinstance(value, str) and value is not None:
        raise RecordError(f"{rtype} record: field {name!r} has unsupported type")


def validate_body(rtype: str, body: Mapping[str, Any]) -> None:
    """Raises RecordError naming the first field that breaks the type's schema."""
    schema = SCHEMAS.get(rtype)
    if schema is None:
        raise RecordError(f"unknown record type {rtype!r}")
    if not isinstance(body, Mapping):
        raise RecordError(f"{rtype} record: body is not an object")
    for name, (kind, required) in schema.items():
        if name not in body:
            if required:
                raise RecordError(f"{rtype} record: missing field {name!r}")
            continue
        value = body[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise RecordError(f"{rtype} record: field {name!r} must be an integer")
        if not isinstance(value, kind):
            raise RecordError(f"{rtype} record: field {name!r} must be {kind.__name__}")
        if kind is str and not value and required:
            raise RecordError(f"{rtype} record: field {name!r} is empty")
        allowed = ENUMS.get((rtype, name))
        if allowed is not None and value not in allowed:
            raise RecordError(
                f"{rtype} record: field {name!r} is {value!r}, expected one of {sorted(allowed)}"
            )
        _check_value(rtype, name, value)
    extra = set(body) - set(schema)
    if extra:
        raise RecordError(f"{rtype} record: unknown field(s) {sorted(extra)}")
    _check_semantics(rtype, body)


def _check_semantics(rtype: str, body: Mapping[str, Any]) -> None:
    for name in _POSITIVE.get(rtype, ()):
        if body[name] <= 0:
            raise RecordError(f"{rtype} record: field {name!r} must be positive")
    check = _SEMANTICS.get(rtype)
    if check is not None:
        check(rtype, body)
    for name in ("key",):
        if name in body:
            try:
                public_key(body[name])
            except ValueError as exc:
                raise RecordError(f"{rtype} record: field 'key': {exc}") from exc


# ---- the fast schema test -------------------------------------------------------------
# Per type: (required fields, allowed fields, field -> test). A test is one of the
# markers below or, for enumerations, the frozenset of allowed strings. Types with a
# public key (authority, operator, inspector, meter) or with nested lists (tariff,
# verification) have none and always take the reference path: they are rare.
_REQ_STR, _OPT_STR, _INT, _BOOL, _INT_LIST = "str", "str?", "int", "bool", "[int]"
_FAST_LISTS: set[tuple[str, str]] = set()


def _fast_spec(rtype: str) -> tuple[frozenset[str], frozenset[str], dict[str, Any]] | None:
    schema = SCHEMAS[rtype]
    tests: dict[str, Any] = {}
    for name, (kind, required) in schema.items():
        if name == "key":
            return None
        if (rtype, name) in ENUMS:
            tests[name] = ENUMS[rtype, name]
        elif kind is str:
            tests[name] = _REQ_STR if required else _OPT_STR
        elif kind is int:
            tests[name] = _INT
        elif kind is bool:
            tests[name] = _BOOL
        elif (rtype, name) in _FAST_LISTS:
            tests[name] = _INT_LIST
        else:
            return None
    required = frozenset(name for name, (_, req) in schema.items() if req)
    return required, frozenset(schema), tests


_FAST = {rtype: spec for rtype in SCHEMAS if (spec := _fast_spec(rtype)) is not None}
_ONLY_INT = {int}


def _body_ok(rtype: str, body: Any) -> bool:
    """True only when `validate_body` would accept ``body`` (it may be False for a
    valid body of a type it does not cover: the caller then runs `validate_body`)."""
    spec = _FAST.get(rtype)
    if spec is None or type(body) is not dict:
        return False
    required, allowed, tests = spec
    keys = body.keys()
    if not (keys >= required and keys <= allowed):
        return False
    limit = _INT_LIMIT
    for name, value in body.items():
        test = tests[name]
        if test is _INT:
            if type(value) is not int or not -limit < value < limit:
                return False
        elif test is _REQ_STR:
            if type(value) is not str or not value:
                return False
        elif test is _OPT_STR or test is _BOOL:
            if type(value) is not (str if test is _OPT_STR else bool):
                return False
        elif test is _INT_LIST:
            if type(value) is not list:
                return False
            if value and not (
                {*map(type, value)} <= _ONLY_INT and -limit < min(value) and max(value) < limit
            ):
                return False
        elif type(value) is not str or value not in test:
            return False
    positive = _POSITIVE.get(rtype)
    return positive is None or all(body[name] > 0 for name in positive)


@dataclass(frozen=True)
class Record:
    """One signed record. ``to_bytes()`` is the log entry; ``parse`` is its inverse."""

    type: str
    body: Mapping[str, Any]
    alg: str
    key_id: str
    signature: bytes

    @property
    def signed_message(self) -> bytes:
        return signed_message(self.type, self.body)

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "b": self.body,
                "s": {
                    "a": self.alg,
                    "k": self.key_id,
                    "v": base64.b64encode(self.signature).decode(),
                },
                "t": self.type,
                "v": VERSION,
            }
        )

    @property
    def subject(self) -> str:
        """The ID a person would use to name this record in an error message."""
        body = self.body
        for field_name in _SUBJECT_FIELDS:
            if field_name in body:
                extra = f" #{body['seq']}" if "seq" in body else ""
                return f"{self.type} {body[field_name]}{extra}"
        return self.type

    @classmethod
    def parse(cls, data: bytes) -> Record:
        """The record of a canonical entry; RecordError naming the record and the field
        for anything else (docs/records.md: exactly one byte form per record)."""
        return cls(*parse_fields(data))

    def verify(self, key: PublicKey, message: bytes | None = None) -> None:
        """Raises SignatureError naming the record and the key unless the signature holds.

        ``message`` may be passed when the caller already has the signed bytes
        (`message_from_entry`), saving a second canonical encoding of the body."""
        if key.key_id != self.key_id or key.alg != self.alg:
            raise SignatureError(
                f"{self.subject}: signed with key {self.key_id} ({self.alg}), "
                f"but the registered key is {key.key_id} ({key.alg})"
            )
        if not key.verify(message or self.signed_message, self.signature):
            raise SignatureError(
                f"{self.subject}: signature does not verify with key {self.key_id}"
            )

    @property
    def identity(self) -> bytes:
        """Who signed what, without the signature bytes: see `identity_of`."""
        return identity_of(self.key_id, self.signed_message)

    @property
    def leaf_digest(self) -> bytes:
        """RFC 6962 leaf hash of this entry: its identity in the log."""
        return hashlib.sha256(b"\x00" + self.to_bytes()).digest()


def parse_fields(data: bytes) -> tuple[str, dict, str, str, bytes]:
    """`Record.parse` without building the Record: (type, body, alg, key id, signature).

    The signature workers need only these (`ledger.sigcheck`); a Record is built
    when there is an error to name."""
    if len(data) > MAX_ENTRY_BYTES:
        raise RecordError(f"record is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"record is not valid UTF-8 JSON: {exc}") from exc
    if type(obj) is not dict or obj.keys() != _RECORD_KEYS:
        raise RecordError("record must be an object with exactly the keys b, s, t, v")
    if obj["v"] != VERSION:
        raise RecordError(f"record version {obj['v']!r} is not supported (expected 1)")
    rtype, body, sig = obj["t"], obj["b"], obj["s"]
    if not isinstance(rtype, str):
        raise RecordError("record type 't' must be a string")
    if not _body_ok(rtype, body):
        try:
            validate_body(rtype, body)
        except (RecursionError, TypeError) as exc:  # deep nesting; [1] <= 1440
            raise RecordError(f"{rtype} record: a value has the wrong shape") from exc
    if type(sig) is not dict or sig.keys() != _SIGNATURE_KEYS:
        raise RecordError(f"{rtype} record: signature 's' needs exactly a, k, v")
    alg, key_id, sig_text = sig["a"], sig["k"], sig["v"]
    if alg not in ALGORITHMS:
        raise RecordError(f"{rtype} record: unknown signature algorithm {alg!r}")
    if not isinstance(key_id, str) or len(key_id) != 16:
        raise RecordError(f"{rtype} record: key id must be 16 hex digits")
    try:
        signature = base64.b64decode(sig_text, validate=True)
    except (ValueError, TypeError) as exc:
        raise RecordError(f"{rtype} record: signature is not base64") from exc
    # Rebuilt from the checked parts, as `to_bytes` does (the version as the integer
    # 1, the signature re-encoded), so the comparison proves the canonical form.
    rebuilt = {
        "b": body,
        "s": {"a": alg, "k": key_id, "v": base64.b64encode(signature).decode()},
        "t": rtype,
        "v": VERSION,
    }
    try:
        canonical = _encode(rebuilt)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (255 levels)
        try:
            canonical = canonical_json(rebuilt)
        except (RecursionError, ValueError) as exc:
            raise RecordError(f"{rtype} record: values nested too deeply") from exc
    if canonical != data:
        subject = Record(rtype, body, alg, key_id, signature).subject
        raise RecordError(f"{subject}: entry is not in canonical form")
    return rtype, body, alg, key_id, signature


def message_from_entry(rtype: str, data: bytes) -> bytes:
    """The signed message of a *canonical* entry, sliced from its bytes: the body is
    the first member (keys sorted) and ends where the signature object starts."""
    return DOMAIN + rtype.encode() + b"\n" + data[5 : data.rindex(b',"s":{"a":"')]


def signed_message(rtype: str, body: Mapping[str, Any]) -> bytes:
    return DOMAIN + rtype.encode() + b"\n" + canonical_json(body)


IDENTITY_BYTES = 16


def identity_of(key_id: str, message: bytes) -> bytes:
    """A record's identity: who signed (key ID) what (the signed message: type and
    canonical body), never the signature bytes (docs/records.md, "One record, one entry").

    ECDSA has two valid signatures for every one made, (r, s) and (r, n − s), and a
    signer may sign the same body twice with fresh nonces: the log and the workstation
    both refuse a second entry with the identity of an earlier one. 16 bytes of
    SHA-256: only a signer can make bodies that collide with its own (2^64 work), and a
    collision with another signer's record would be a second preimage (2^128)."""
    return hashlib.sha256(key_id.encode() + b"\n" + message).digest()[:IDENTITY_BYTES]


def identity_of_body(rtype: str, key_id: str, body: Mapping[str, Any]) -> bytes:
    """`identity_of` from a parsed, valid body (the orjson encoding is the canonical one
    for valid bodies, ten times faster: see `_encode`)."""
    try:
        encoded = _encode(body)
    except orjson.JSONEncodeError:
        encoded = canonical_json(body)
    return identity_of(key_id, DOMAIN + rtype.encode() + b"\n" + encoded)


def identity_of_entry(rtype: str, key_id: str, data: bytes) -> bytes:
    """`identity_of` sliced from a canonical entry's bytes (`message_from_entry`);
    ValueError when ``data`` is not shaped like a canonical entry."""
    return identity_of(key_id, message_from_entry(rtype, data))


def sign_record(rtype: str, body: Mapping[str, Any], key: SigningKey) -> Record:
    validate_body(rtype, body)
    body = json.loads(canonical_json(body))  # a private, plain-JSON copy
    signature = key.sign(signed_message(rtype, body))
    return Record(rtype, body, key.alg, key.key_id, signature)
