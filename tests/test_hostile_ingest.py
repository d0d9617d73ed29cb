"""The platform under hostile use: a second server on its directory, twin signatures
(issue 13, item 1), records about another operator's sources (item 3).

Everything runs against the real `python -m ledger serve` on loopback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from ledger.keys import P256_ORDER, SigningKey, is_low_s
from ledger.records import Record, sign_record
from tests.world import ROOT, T0, PlatformProcess, World, ndjson, post


def test_a_second_platform_on_the_same_data_directory_refuses_to_start(tmp_path):
    data = tmp_path / "platform"
    first = PlatformProcess(data)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "ledger", "serve", "--data", str(data), "--port", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "listening on" not in second.stdout
        assert "already serving the data directory" in second.stderr
        assert str(first.proc.pid) in second.stderr  # names the holder
        # the first one is unharmed and still takes entries
        assert post(first.url, ndjson(World().registry()))[0] == 200
    finally:
        first.kill()  # SIGKILL: the kernel drops the lock, nothing stale is left behind
    again = PlatformProcess(data)
    again.stop()


# ---- item 1: one record, one entry ------------------------------------------------------


def with_s(record: Record, high: bool) -> Record:
    """``record`` with its P-256 s in the high (or low) half: still a valid signature."""
    r, s = record.signature[:32], int.from_bytes(record.signature[32:], "big")
    if (s > P256_ORDER // 2) != high:
        s = P256_ORDER - s
    return Record(record.type, record.body, record.alg, record.key_id, r + s.to_bytes(32, "big"))


def twin(entry: bytes) -> bytes:
    """The same P-256 record under its other valid signature (r, n − s): no key needed."""
    record = Record.parse(entry)
    return with_s(
        record, not (int.from_bytes(record.signature[32:], "big") > P256_ORDER // 2)
    ).to_bytes()


def session(world_meter: SigningKey, session_id: str = "S1", meter_id: str = "M1",
            pile_id: str = "P1", energy_wh: int = 40_000) -> Record:  # fmt: skip
    body = {
        "session_id": session_id, "meter_id": meter_id, "pile_id": pile_id, "connector": 1,
        "start_ms": T0 + 3_600_000, "stop_ms": T0 + 7_200_000, "start_wh": 1_000_000,
        "stop_wh": 1_000_000 + energy_wh, "energy_wh": energy_wh, "interval_s": 600,
        "power_w": [40_000] * 6,
    }  # fmt: skip
    return sign_record("session", body, world_meter)


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def test_the_twin_of_a_logged_session_is_refused_409_naming_the_first(platform):
    world = World()
    logged = session(world.meter)
    status, answer = post(platform.url, ndjson([*world.registry(), logged]))
    assert status == 200, answer
    first = answer["first_index"] + 5  # the session follows the five registry records
    forged = twin(logged.to_bytes())
    assert forged != logged.to_bytes()
    parsed = Record.parse(forged)
    parsed.verify(world.meter.public_key)  # a real twin: it verifies, and nobody signed it
    status, answer = post(platform.url, forged + b"\n")
    assert status == 409, answer
    assert answer["entry_index"] == first
    assert f"already entry {first}" in answer["error"] and "session S1" in answer["error"]
    # the signer signing the same body again (a fresh nonce) is the same record too
    again = sign_record("session", dict(logged.body), world.meter)
    assert again.to_bytes() != logged.to_bytes()
    status, answer = post(platform.url, ndjson([again]))
    assert (status, answer.get("entry_index")) == (409, first), answer
    # byte-identical resend: the same answer (the simulator and outbox rely on 409)
    status, answer = post(platform.url, ndjson([logged]))
    assert (status, answer.get("entry_index")) == (409, first), answer


def test_a_twin_inside_one_request_is_refused_naming_both_lines(platform):
    world = World()
    one = session(world.meter)
    status, answer = post(platform.url, ndjson(world.registry()) + one.to_bytes() + b"\n"
                          + twin(one.to_bytes()) + b"\n")  # fmt: skip
    assert status == 409, answer
    assert "line 7" in answer["error"] and "as line 6" in answer["error"]


def test_new_records_with_a_high_s_signature_are_refused(platform):
    world = World()
    assert post(platform.url, ndjson(world.registry()))[0] == 200
    record = with_s(session(world.meter, "S-high"), high=True)
    record.verify(world.meter.public_key)
    status, answer = post(platform.url, ndjson([record]))
    assert status == 400, answer
    assert "high S" in answer["error"] and "session S-high" in answer["error"]
    # its low twin is the one form accepted
    low = with_s(record, high=False)
    assert post(platform.url, ndjson([low]))[0] == 200


def test_our_signers_produce_low_s_only():
    from ledger.fleet.signing import Signer

    key = SigningKey.from_seed("p256", b"low-s")
    assert all(is_low_s(key.sign(b"message %d" % i)) for i in range(300))
    signer = Signer(seed=1, alg="p256")
    body = {"meter_id": "M1", "pile_id": "P1", "ref_ms": T0, "meter_ms": T0,
            "register_wh": 1, "temp_dc": 250}  # fmt: skip
    jobs = [("heartbeat", {**body, "seq": i}, "meter/M1/0") for i in range(300)]
    entries = [Record.parse(e) for e in signer.sign(jobs)]
    assert all(is_low_s(r.signature) for r in entries)
    # about half of the raw RFC 6979 / random signatures were high before: not a fluke
    assert len({r.signature[32] >> 7 for r in entries}) == 1


def test_an_older_data_directory_learns_the_identities_of_its_entries(tmp_path):
    """A data directory from before record identities (no ``records`` table) is indexed
    on start, so a twin of an entry logged back then is refused too."""
    world = World()
    data = tmp_path / "platform"
    proc = PlatformProcess(data)
    logged = session(world.meter)
    try:
        assert post(proc.url, ndjson([*world.registry(), logged]))[0] == 200
    finally:
        proc.stop()
    with sqlite3.connect(data / "sequence.sqlite") as db:
        db.execute("DROP TABLE records")
    proc = PlatformProcess(data)
    try:
        status, answer = post(proc.url, twin(logged.to_bytes()) + b"\n")
        assert (status, answer.get("entry_index")) == (409, 5), answer
    finally:
        proc.stop()
