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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from ledger.keys import ALGORITHMS, PublicKey, SigningKey

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
    "station": {
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "name": (_S, True),
        "district": (_S, True),
        "lon_e6": (_I, True),
        "lat_e6": (_I, True),
        "address": (_S, False),
        "at_ms": (_I, True),
    },
    "pile": {
        "pile_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "kind": (_S, True),
        "rated_power_w": (_I, True),
        "rated_voltage_v": (_I, True),
        "max_current_a": (_I, False),
        "connectors": (_I, True),
        "model": (_S, False),
        "commissioned_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "meter": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "operator_id": (_S, True),
        "connector": (_I, True),
        "accuracy_class": (_S, True),
        "key": (_S, True),
        "maker": (_S, False),
        "model": (_S, False),
        "heartbeat_s": (_I, True),
        "cert_no": (_S, False),
        "cert_date": (_S, False),
        "cert_verifier": (_S, False),
        "installed_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "tariff": {
        "tariff_id": (_S, True),
        "operator_id": (_S, True),
        "station_id": (_S, True),
        "valid_from_ms": (_I, True),
        "periods": (_L, True),
        "at_ms": (_I, True),
    },
    "session": {
        "session_id": (_S, True),
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "connector": (_I, True),
        "start_ms": (_I, True),
        "stop_ms": (_I, True),
        "start_wh": (_I, True),
        "stop_wh": (_I, True),
        "energy_wh": (_I, True),
        "interval_s": (_I, True),
        "power_w": (_L, True),
        "pii": (_S, False),
    },
    "billing": {
        "session_id": (_S, True),
        "operator_id": (_S, True),
        "pile_id": (_S, True),
        "tariff_id": (_S, True),
        "billed_wh": (_I, True),
        "energy_fen": (_I, True),
        "service_fen": (_I, True),
        "amount_fen": (_I, True),
        "start_ms": (_I, True),
        "stop_ms": (_I, True),
    },
    "seal": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "seq": (_I, True),
        "event": (_S, True),
        "at_ms": (_I, True),
        "register_wh": (_I, True),
    },
    "heartbeat": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "seq": (_I, True),
        "ref_ms": (_I, True),
        "meter_ms": (_I, True),
        "register_wh": (_I, True),
        "temp_dc": (_I, True),
    },
    "verification": {
        "verification_id": (_S, True),
        "pile_id": (_S, True),
        "meter_id": (_S, True),
        "inspector_id": (_S, True),
        "at_ms": (_I, True),
        "kind": (_S, True),
        "regulation": (_S, True),
        "points": (_L, True),
        "clock_error_ms": (_I, True),
        "insulation_kohm": (_I, True),
        "result": (_S, True),
        "certificate_no": (_S, True),
        "next_due": (_S, True),
        "seal_closed": (_B, True),
        "accuracy_class": (_S, True),
        "connector": (_I, False),
        "clock_judged": (_B, False),
        "standard": (_D, False),
        "conditions": (_D, False),
    },
}
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("pile", "kind"): frozenset({"AC", "DC"}),
    ("meter", "accuracy_class"): frozenset({"0.5", "1", "2"}),
    ("seal", "event"): frozenset({"opened", "closed", "tamper"}),
    ("verification", "kind"): frozenset({"first", "periodic", "triggered"}),
    ("verification", "result"): frozenset({"pass", "fail"}),
    ("verification", "accuracy_class"): frozenset({"0.5", "1", "2"}),
}
# Which registry record vouches for the key that signs each type.
SIGNED_BY: dict[str, str] = {
    "authority": "authority",
    "operator": "authority",
    "inspector": "authority",
    "station": "operator",
    "pile": "operator",
    "meter": "operator",
    "tariff": "operator",
    "billing": "operator",
    "session": "meter",
    "seal": "meter",
    "heartbeat": "meter",
    "verification": "inspector",
}
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
    if rtype == "session":
        if any(not isinstance(p, int) or isinstance(p, bool) for p in body["power_w"]):
            raise RecordError("session record: field 'power_w' must hold integers (W)")
        if body["interval_s"] <= 0:
            raise RecordError("session record: field 'interval_s' must be positive")
    elif rtype == "tariff":
        for i, period in enumerate(body["periods"]):
            if not isinstance(period, dict) or set(period) != {
                "start_min",
                "end_min",
                "energy_e4",
                "service_e4",
            }:
                raise RecordError(
                    f"tariff record: periods[{i}] needs start_min, end_min, energy_e4, service_e4"
                )
            if not 0 <= period["start_min"] < period["end_min"] <= 1440:
                raise RecordError(f"tariff record: periods[{i}] has an invalid time span")
    elif rtype == "verification":
        for i, point in enumerate(body["points"]):
            if not isinstance(point, dict) or "error_ppm" not in point:
                raise RecordError(f"verification record: points[{i}] needs 'error_ppm'")
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
_FAST_LISTS = {("session", "power_w")}


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
    return rtype != "session" or body["interval_s"] > 0


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
        for field_name in (
            "session_id",
            "verification_id",
            "meter_id",
            "pile_id",
            "station_id",
            "tariff_id",
            "operator_id",
            "inspector_id",
            "authority_id",
        ):
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
