"""The sync's one-lookup signer path (issue 15's sync speed) must resolve exactly the
signer `KeyRegistry.signer_of` resolves, and refuse exactly what it refuses, also when a
meter is re-keyed inside one batch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from app.models.sync import LogSync, Misbehaviour, _direct_signers, unchecked_key
from ledger.client import LogClient
from ledger.keys import SigningKey
from ledger.records import sign_record
from ledger.registry import EntryHead, KeyRegistry, UnknownKeyError
from ledger.sigcheck import SignatureChecker
from tests.models.test_sync import _static_log
from tests.world import T0, World

WORLD = World()
OTHER = SigningKey.from_seed("p256", b"other-meter")


def _registry() -> KeyRegistry:
    registry = KeyRegistry()
    for record in WORLD.registry():
        registry.apply(EntryHead.peek(record.to_bytes(), False), unchecked_key)
    return registry


def _heartbeat(key: SigningKey, meter_id: str = "M1", seq: int = 1) -> bytes:
    body = {
        "meter_id": meter_id,
        "pile_id": "P1",
        "seq": seq,
        "ref_ms": T0 + seq * 900_000,
        "meter_ms": T0 + seq * 900_000,
        "register_wh": 1,
        "temp_dc": 1,
    }
    return sign_record("heartbeat", body, key).to_bytes()


def _resolve_fast(registry: KeyRegistry, data: bytes) -> str | None:
    """The sync's lookup: a key text, or None where it defers to signer_of."""
    head = EntryHead.peek(data, False)
    spec = _direct_signers(registry).get(head.type)
    key = spec[1].get(head.body[spec[0]]) if spec is not None else None
    return key.text if key is not None and key.key_id == head.key_id else None


@settings(max_examples=40, deadline=None)
@given(
    meter_id=st_.sampled_from(["M1", "M2", "m1", "M1 "]),
    signer=st_.sampled_from(["meter", "other", "operator", "authority"]),
)
def test_the_fast_lookup_agrees_with_signer_of(meter_id, signer):
    keys = {"meter": WORLD.meter, "other": OTHER, "operator": WORLD.oper, "authority": WORLD.auth}
    data = _heartbeat(keys[signer], meter_id)
    registry = _registry()
    head = EntryHead.peek(data, False)
    try:
        expected = registry.signer_of(head).text
    except UnknownKeyError:
        expected = None
    assert _resolve_fast(registry, data) == expected


def test_registry_types_and_authority_signed_types_are_never_looked_up_directly():
    direct = _direct_signers(_registry())
    assert "heartbeat" in direct and direct["heartbeat"][0] == "meter_id"
    for rtype in ("authority", "operator", "inspector", "meter", "pile", "station"):
        assert rtype not in direct


def _rekey(key: SigningKey) -> bytes:
    meter = next(r for r in WORLD.registry() if r.type == "meter")
    body = {**meter.body, "key": key.public_key.text, "at_ms": T0 + 1}
    return sign_record("meter", body, WORLD.oper).to_bytes()


@pytest.mark.parametrize("after_rekey", ["new", "old"])
def test_a_meter_rekeyed_inside_a_batch_signs_with_its_new_key_only(store, tmp_path, after_rekey):
    """Heartbeats by the old key, the re-key, then one heartbeat: by the new key it is
    applied; by the old key the sync halts at that entry (unknown-key), nothing applied."""
    last = OTHER if after_rekey == "new" else WORLD.meter
    entries = [r.to_bytes() for r in WORLD.registry()]
    entries += [_heartbeat(WORLD.meter, seq=s) for s in range(1, 4)]
    entries += [_rekey(OTHER), _heartbeat(last, seq=9)]
    vkey, server = _static_log(tmp_path, entries)
    try:
        with SignatureChecker(workers=0) as pool:
            sync = LogSync(store, LogClient(server.url, vkey), pool, batch=64)
            try:
                if after_rekey == "new":
                    assert sync.sync_once().applied == len(entries)
                else:
                    with pytest.raises(Misbehaviour) as info:
                        sync.sync_once()
                    assert info.value.kind == "unknown-key"
                    assert info.value.evidence["index"] == len(entries) - 1
                    assert "registered key is " + OTHER.key_id in str(info.value)
            finally:
                sync.close()
    finally:
        server.stop()
