"""The reference platform, for real on loopback: ingest, bad input, tiles, SIGKILL."""

from __future__ import annotations

import json
import random
import threading

import pytest

from ledger import merkle
from ledger.client import LogClient
from ledger.keys import SigningKey
from ledger.records import sign_record
from tests.world import T0, PlatformProcess, World, get, ndjson, post


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def wait_for_size(client: LogClient, size: int):
    checkpoint, note = client.checkpoint()
    while checkpoint.size < size:
        checkpoint, note = client.checkpoint(after=checkpoint.size, wait=5)
    return checkpoint, note


def verify_from_tiles(client: LogClient, size: int) -> list[bytes]:
    """Re-derives the whole log from its bundles and checks it against the checkpoint."""
    checkpoint, _ = wait_for_size(client, size)
    entries = [data for _, data in client.entries(0, checkpoint.size, checkpoint.size)]
    assert merkle.root([merkle.leaf_hash(e) for e in entries]) == checkpoint.root
    return entries


def test_ingest_then_log_verifies_from_tiles_alone(platform):
    world = World()
    records = world.registry() + world.heartbeats(0, 600)
    status, answer = post(platform.url, ndjson(records[:5]))
    assert (status, answer["accepted"]) == (200, 5)
    for start in range(5, len(records), 200):
        status, answer = post(platform.url, ndjson(records[start : start + 200]))
        assert status == 200, answer
    client = LogClient(platform.url, platform.vkey())
    entries = verify_from_tiles(client, len(records))
    assert entries == [r.to_bytes() for r in records]
    assert get(platform.url + "/log.vkey").decode().strip() == platform.vkey()


def _bad_inputs(world: World):
    good = world.heartbeats(1000, 1)[0]
    data = good.to_bytes()
    stranger = SigningKey.from_seed("p256", b"stranger")
    forged = sign_record("heartbeat", dict(good.body), stranger).to_bytes()
    flipped = data.replace(b'"temp_dc":250', b'"temp_dc":251')
    unknown = sign_record("heartbeat", {**good.body, "meter_id": "M404"}, world.meter).to_bytes()
    big = sign_record(
        "session",
        {
            "session_id": "BIG",
            "meter_id": "M1",
            "pile_id": "P1",
            "connector": 1,
            "start_ms": T0,
            "stop_ms": T0 + 10**9,
            "start_wh": 0,
            "stop_wh": 1,
            "energy_wh": 1,
            "interval_s": 60,
            "power_w": [123456] * 3000,
        },
        world.meter,
    ).to_bytes()
    return {
        "malformed JSON": (b'{"b": nope\n', 400, "line 1"),
        "truncated body": (data[: len(data) // 2] + b"\n", 400, "line 1"),
        "unknown source key": (forged + b"\n", 403, "registered key is"),
        "unregistered meter": (unknown + b"\n", 403, "M404 is not registered"),
        "wrong signature": (flipped + b"\n", 403, "signature does not verify"),
        "oversize entry": (big + b"\n", 413, "limit"),
        "empty": (b"", 400, "empty"),
    }


def test_bad_input_is_refused_with_a_reason_and_never_logged(platform):
    world = World()
    assert post(platform.url, ndjson(world.registry()))[0] == 200
    good = ndjson(world.heartbeats(0, 3))
    assert post(platform.url, good)[0] == 200
    status, answer = post(platform.url, good)
    assert status == 409 and "duplicate" in answer["error"]
    for name, (body, want_status, want_text) in _bad_inputs(world).items():
        status, answer = post(platform.url, body)
        assert status == want_status, name
        assert want_text in answer["error"], (name, answer)
    # a bad line poisons its whole request: nothing of it is kept
    mixed = ndjson(world.heartbeats(10, 2)) + b"garbage\n"
    assert post(platform.url, mixed)[0] == 400
    client = LogClient(platform.url, platform.vkey())
    entries = verify_from_tiles(client, 8)
    assert len(entries) == 8  # the registry and the 3 good heartbeats only
    status, answer = post(platform.url, ndjson(world.heartbeats(10, 2)))
    assert status == 200  # and it still serves
    assert json.loads(get(platform.url + "/status"))["sequenced"] == 10


def _send(url: str, batch, lock: threading.Lock, acked: list[bytes]) -> None:
    try:
        status, _ = post(url, ndjson(batch), timeout=10)
    except OSError:
        return  # killed before it answered: not acknowledged
    if status == 200:
        with lock:
            acked.extend(r.to_bytes() for r in batch)


def test_sigkill_loses_no_acknowledged_entry_and_checkpoints_stay_consistent(tmp_path):
    world = World()
    data = tmp_path / "platform"
    acked: list[bytes] = []
    checkpoints: list[tuple[int, bytes]] = []
    rng = random.Random(7)
    next_seq = 0
    registry_sent = False
    for _cycle in range(20):
        proc = PlatformProcess(data)
        if not registry_sent:
            registry = world.registry()  # ECDSA signatures differ on every call
            assert post(proc.url, ndjson(registry))[0] == 200
            acked += [r.to_bytes() for r in registry]
            registry_sent = True
        batches = []
        for _ in range(6):
            batch = world.heartbeats(next_seq, rng.randint(20, 120))
            next_seq += len(batch)
            batches.append(batch)
        lock = threading.Lock()
        threads = [threading.Thread(target=_send, args=(proc.url, b, lock, acked)) for b in batches]
        for t in threads:
            t.start()
        # kill as soon as at least one batch was answered, mid-flight for the others
        while len(threads) and all(t.is_alive() for t in threads):
            threads[0].join(0.01)
        client = LogClient(proc.url, proc.vkey())
        try:
            checkpoint, _ = client.checkpoint()
            checkpoints.append((checkpoint.size, checkpoint.root))
        except OSError:
            pass
        proc.kill()
        for t in threads:
            t.join()
    proc = PlatformProcess(data)
    try:
        client = LogClient(proc.url, proc.vkey())
        final, _ = wait_for_size(client, len(acked))
        entries = [e for _, e in client.entries(0, final.size, final.size)]
        hashes = [merkle.leaf_hash(e) for e in entries]
        assert merkle.root(hashes) == final.root
        assert set(acked) <= set(entries)
        assert len(entries) == len(set(entries))
        tree = merkle.MemoryTree(hashes)
        for size, root in checkpoints:
            if size == 0:  # the empty log is a prefix of every log (no proof from size 0)
                assert root == merkle.EMPTY_ROOT
                continue
            proof = tree.consistency_proof(size, final.size)
            merkle.verify_consistency(size, final.size, proof, root, final.root)
    finally:
        proc.stop()
