"""The fast parse path (orjson + precompiled schema test) accepts exactly what the
reference path (stdlib json, `validate_body`, re-encoding with `canonical_json`) accepts:
one byte form per record, every non-canonical variant refused."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.records import (
    _FAST,
    SCHEMAS,
    VERSION,
    Record,
    RecordError,
    _body_ok,
    _encode,
    canonical_json,
    sign_record,
    validate_body,
)
from ledger.sigcheck import MALFORMED, check_entries
from tests.test_records import BODIES, METER, SIGNER, signed

MAX_INT = 2**53 - 1


def reference_parse(data: bytes) -> Record:
    """Record.parse as it was before the fast path: json.loads, validate_body, and the
    entry compared with `Record.to_bytes()` (json.dumps). Kept here as the oracle."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"record is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict) or set(obj) != {"b", "s", "t", "v"}:
        raise RecordError("record must be an object with exactly the keys b, s, t, v")
    if obj["v"] != VERSION:
        raise RecordError("version")
    rtype, body, sig = obj["t"], obj["b"], obj["s"]
    if not isinstance(rtype, str):
        raise RecordError("type")
    validate_body(rtype, body)
    if not isinstance(sig, dict) or set(sig) != {"a", "k", "v"}:
        raise RecordError("signature object")
    if sig["a"] not in ("p256", "ed25519", "sm2"):
        raise RecordError("algorithm")
    if not isinstance(sig["k"], str) or len(sig["k"]) != 16:
        raise RecordError("key id")
    try:
        signature = base64.b64decode(sig["v"], validate=True)
    except (ValueError, TypeError) as exc:
        raise RecordError("base64") from exc
    record = Record(rtype, body, sig["a"], sig["k"], signature)
    if record.to_bytes() != data:
        raise RecordError("entry is not in canonical form")
    return record


def outcome(parse, data: bytes) -> Record | None:
    """The parsed record, or None for a refusal. Anything but RecordError is a bug."""
    try:
        return parse(data)
    except RecordError:
        return None


def reference_outcome(data: bytes) -> Record | None:
    try:
        return reference_parse(data)
    # The old path crashed instead of refusing on these (deep nesting, lone surrogates,
    # [1] < 1440 in a tariff): they were never accepted.
    except (RecordError, RecursionError, UnicodeEncodeError, TypeError):
        return None


# ---- the encoder ------------------------------------------------------------------------


def test_fast_encoder_escapes_every_character_as_the_reference_does():
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert _encode(every) == canonical_json(every)
    assert _encode({every: 1, "a": [every]}) == canonical_json({every: 1, "a": [every]})
    for c in range(0x80):  # each ASCII character alone, including every control character
        assert _encode({chr(c): chr(c)}) == canonical_json({chr(c): chr(c)})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_INT, MAX_INT)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(st.characters(exclude_categories=("Cs",))), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fast_encoder_equals_reference_on_record_values(value: Any):
    assert _encode(value) == canonical_json(value)


# ---- the schema test ---------------------------------------------------------------------


@pytest.mark.parametrize("rtype", sorted(SCHEMAS))
def test_common_types_take_the_fast_path(rtype):
    """Not correctness: the sync's speed rests on these types never needing the slow path."""
    common = {"heartbeat", "session", "billing", "seal", "station", "pile"}
    common |= {"fuelling", "fuel_sale", "totalizer", "fuel_seal", "tank_level", "tank_delivery"}
    common |= {"fuel_station", "tank", "fuel_price", "component", "component_init"}
    common |= {"vehicle", "taxi_verification", "taxi_seal", "trip", "trip_gnss"}
    assert (rtype in _FAST) == (rtype in common)
    assert _body_ok(rtype, BODIES[rtype]) == (rtype in common)


wild = (
    json_values
    | st.floats(allow_nan=False)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from(["", "AC", "DC", "opened", "tamper", "x", 0, -1, 2**53, -(2**53), True])
    | st.lists(st.integers(-(2**54), 2**54) | st.booleans() | st.floats(), max_size=4)
)


@st.composite
def altered_bodies(draw) -> tuple[str, dict]:
    rtype = draw(st.sampled_from(sorted(_FAST)))
    body = copy.deepcopy(BODIES[rtype])
    names = sorted({name for schema in SCHEMAS.values() for name in schema} | {"colour"})
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["drop", "set", "add"]))
        if action == "drop" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
        elif action == "set" and body:
            body[draw(st.sampled_from(sorted(body)))] = draw(wild)
        else:
            body[draw(st.sampled_from(names))] = draw(wild)
    return rtype, body


EDGE_VALUES = [
    "",
    "x",
    "AC",
    "opened",
    0,
    -1,
    MAX_INT,
    -MAX_INT,
    MAX_INT + 1,
    -MAX_INT - 1,
    1.5,
    1.0,
    True,
    False,
    None,
    [],
    [1],
    [True],
    [1.5],
    [MAX_INT + 1],
    [-MAX_INT - 1],
    [1, "2"],
    [[1]],
    {},
    {"a": 1},
]


def _accepts(rtype: str, body: dict) -> bool:
    try:
        validate_body(rtype, body)
    except RecordError:
        return False
    return True


@pytest.mark.parametrize("rtype", sorted(_FAST))
def test_schema_test_agrees_with_validate_body_field_by_field(rtype):
    """Every field dropped, and set to each edge value; an unknown field added. For the
    types it covers the fast test is exact (the caller would take the reference path
    after a refusal anyway, so a refusal of a valid body would only cost time)."""
    cases = []
    for name in BODIES[rtype]:
        body = copy.deepcopy(BODIES[rtype])
        del body[name]
        cases.append(body)
        cases.extend({**copy.deepcopy(BODIES[rtype]), name: value} for value in EDGE_VALUES)
    cases.append({**BODIES[rtype], "colour": "red"})
    cases.extend({**BODIES[rtype], name: "x"} for name in SCHEMAS[rtype])
    for body in cases:
        assert _body_ok(rtype, body) == _accepts(rtype, body), body


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(altered_bodies())
def test_schema_test_never_accepts_what_validate_body_refuses(case):
    rtype, body = case
    assert _body_ok(rtype, body) == _accepts(rtype, body)


# ---- whole entries -------------------------------------------------------------------------


def variants(data: bytes) -> list[bytes]:
    """Non-canonical spellings of one canonical entry (each a valid JSON document or not)."""
    text = data.decode()
    obj = json.loads(data)
    body = obj["b"]
    first = next(iter(body))
    out = [
        data + b"\n",
        b" " + data,
        data.replace(b":", b": ", 1),
        data.replace(b",", b", ", 1),
        b"\xef\xbb\xbf" + data,
        data.replace(b'"v":1}', b'"v":1.0}'),
        data.replace(b'"v":1}', b'"v":true}'),
        data.replace(b'"v":1}', b'"v":1e0}'),
        data.replace(b'"t":', b'"t" :'),
        # members out of order: body last, or two body fields swapped
        json.dumps(
            {"s": obj["s"], "t": obj["t"], "v": 1, "b": body},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode(),
        json.dumps(
            {**obj, "b": {k: body[k] for k in reversed(body)}},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode(),
        # a duplicated member (the last one wins in both parsers)
        data.replace(b'{"b":{', b'{"b":{"' + first.encode() + b'":0,', 1),
        data.replace(b'"t":', b'"t":"x","t":', 1),
        # escapes where the canonical form writes the character itself
        text.replace('"b":', '"\\u0062":', 1).encode(),
        text.replace('"M', '"\\u004d', 1).encode(),
        text.replace('"M', '"\\u004D', 1).encode(),
        text.replace("杭", "\\u676d", 1).encode(),
        text.replace("/", "\\/", 1).encode(),
        # the signature in another base64 spelling: a last character with stray bits
        data.replace(obj["s"]["v"][-3:].encode(), _stray_bits(obj["s"]["v"][-3:]).encode()),
        data.replace(b'=="', b'"', 1),
    ]
    # integers spelled otherwise: 1_040_000 as 1040000.0, 1.04e6, 01040000
    for spelling in (b"1040000.0", b"1.04e6", b"1.04E6", b"01040000"):
        out.append(data.replace(b"1040000", spelling, 1))
    return [v for v in out if v != data]


def _stray_bits(tail: str) -> str:
    """'Xg==' → 'Xh==': decodes to the same bytes (b64decode ignores the low bits)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    head, char, pad = tail[:-3], tail[-3], tail[-2:]
    if pad != "==":
        return tail
    return head + alphabet[alphabet.index(char) + 1] + pad


def with_specials(rtype: str) -> bytes:
    """An entry with characters that have escapes: non-ASCII, '/', a quote, a control."""
    body = copy.deepcopy(BODIES[rtype])
    for name in ("name", "address", "pile_id", "meter_id"):
        if name in body:
            body[name] = body[name] + '杭/"\x1f\\'
    return sign_record(rtype, body, SIGNER[rtype]).to_bytes()


@pytest.mark.parametrize("rtype", sorted(SCHEMAS))
def test_every_non_canonical_variant_is_refused(rtype):
    for data in (signed(rtype).to_bytes(), with_specials(rtype)):
        assert Record.parse(data).to_bytes() == data
        assert reference_parse(data) == Record.parse(data)
        for variant in variants(data):
            assert reference_outcome(variant) is None, variant
            with pytest.raises(RecordError):
                Record.parse(variant)


def test_stray_base64_bits_decode_to_the_same_signature_yet_are_refused():
    data = signed("heartbeat").to_bytes()
    sig = json.loads(data)["s"]["v"]
    stray = sig[:-3] + _stray_bits(sig[-3:])
    assert stray != sig
    assert base64.b64decode(stray, validate=True) == base64.b64decode(sig)
    with pytest.raises(RecordError, match="canonical"):
        Record.parse(data.replace(sig.encode(), stray.encode()))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SCHEMAS)),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "insert", "delete"]),
            st.integers(0, 10_000),
            st.sampled_from(list(b' \n"\\,:{}[]01-.eE+/uA\xc3\xa9\xff')),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_altered_entries_get_the_reference_verdict(rtype, edits):
    data = bytearray(signed(rtype).to_bytes())
    for action, position, byte in edits:
        i = position % (len(data) + 1)
        if action == "insert":
            data[i:i] = bytes([byte])
        elif i < len(data):
            if action == "flip":
                data[i] ^= 1 << (byte % 8)
            else:
                del data[i]
    data = bytes(data)
    assert outcome(Record.parse, data) == reference_outcome(data)


def test_shapes_that_crashed_the_old_parser_are_record_errors():
    deep = sign_record(
        "verification",
        {**BODIES["verification"], "points": [{"error_ppm": 1, "trace": [[[[[1]]]]]}]},
        SIGNER["verification"],
    ).to_bytes()
    assert Record.parse(deep).to_bytes() == deep
    nested = b"[" * 300 + b"1" + b"]" * 300  # deeper than orjson writes: json.dumps does
    at_300 = deep.replace(b"[[[[[1]]]]]", nested)
    assert reference_outcome(at_300) is not None  # canonical, if odd: still accepted
    assert Record.parse(at_300).to_bytes() == at_300
    too_deep = deep.replace(b"[[[[[1]]]]]", b"[" * 1100 + b"1" + b"]" * 1100)
    with pytest.raises(RecordError):
        Record.parse(too_deep)
    tariff = signed("tariff").to_bytes().replace(b'"start_min":0', b'"start_min":[0]')
    with pytest.raises(RecordError, match="tariff"):
        Record.parse(tariff)
    lone = signed("heartbeat").to_bytes().replace(b'"M000001"', b'"M\\ud800"', 1)
    with pytest.raises(RecordError):
        Record.parse(lone)


def test_worker_reports_malformed_variants_instead_of_raising():
    data = signed("session").to_bytes()
    bad = [*variants(data), data.replace(b'"interval_s":60', b'"interval_s":0')]
    results = check_entries([data, *bad], [METER.public_key.text] * (len(bad) + 1))
    assert results[0] is None
    assert all(r is not None and r[0] == MALFORMED for r in results[1:])


@pytest.mark.parametrize("rtype", sorted(SCHEMAS))
def test_peek_reads_the_body_the_workers_validate(rtype):
    from ledger.registry import EntryHead

    for data in (signed(rtype).to_bytes(), with_specials(rtype)):
        head, record = EntryHead.peek(data), Record.parse(data)
        assert (head.type, head.body, head.key_id) == (record.type, record.body, record.key_id)
        assert head.subject == record.subject


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"t":"session"}',
        b'{"b":{},"s":{"k":"x"},"t":["session"],"v":1}',
        b'{"b":[],"s":{"k":"x"},"t":"session","v":1}',
        b'{"b":{},"s":[],"t":"session","v":1}',
        b'{"b":{"meter_id":7},"s":{"k":"x"},"t":"session","v":1}',
        b"\xff",
    ],
)
def test_peek_refuses_what_is_not_a_record(data):
    from ledger.registry import EntryHead

    with pytest.raises(RecordError):
        EntryHead.peek(data)


def test_worker_names_the_record_and_key_of_a_bad_signature():
    from ledger.sigcheck import BAD_SIGNATURE

    good = signed("heartbeat").to_bytes()
    forged = good.replace(b'"temp_dc":315', b'"temp_dc":316')
    # The signature covers the body, not the key ID beside it: a wrong ID still verifies.
    relabelled = good.replace(METER.key_id.encode(), b"0123456789abcdef")
    meter, oper = METER.public_key.text, SIGNER["station"].public_key.text
    results = check_entries(
        [good, forged, good, good, relabelled], [meter, meter, oper, "p256:AAAA", meter]
    )
    assert results[0] is None
    kinds = [r[0] for r in results[1:]]
    assert kinds == [BAD_SIGNATURE] * 4
    assert "signed with key 0123456789abcdef" in results[4][1]
    bad = "heartbeat M000001 #7: signature does not verify with key " + METER.key_id
    assert bad in results[1][1]
    assert "registered key is " + SIGNER["station"].key_id in results[2][1]
    assert "p256:AAAA" in results[3][1]
