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


# ---- item 3: who may sign what -----------------------------------------------------------


class TwoOperators:
    """OP1 (station ST1, pile P1, meter M1) and OP2 (ST2, P2, M2), one authority."""

    def __init__(self) -> None:
        self.world = World()  # authority and OP1 keys, OP1's meter M1
        self.auth, self.op1 = self.world.auth, self.world.oper
        self.op2 = SigningKey.from_seed("p256", b"w-oper-2")
        self.m2 = SigningKey.from_seed("p256", b"w-meter-2")
        self.m1_new = SigningKey.from_seed("p256", b"w-meter-1, new key")

    def registry(self) -> list[Record]:
        ops = [
            *self.world.registry(),
            sign_record(
                "operator",
                {
                    "operator_id": "OP2",
                    "name": "第二运营商",
                    "key": self.op2.public_key.text,
                    "at_ms": T0,
                },
                self.auth,
            ),
            self.station("ST2", "OP2", self.op2),
            self.pile("P2", "ST2", "OP2", self.op2),
            self.meter("M2", "P2", "OP2", self.m2, self.op2),
        ]
        return ops

    @staticmethod
    def station(station_id: str, operator: str, key: SigningKey) -> Record:
        body = {"station_id": station_id, "operator_id": operator, "name": "站",
                "district": "西湖区", "lon_e6": 120_140_000, "lat_e6": 30_250_000,
                "at_ms": T0}  # fmt: skip
        return sign_record("station", body, key)

    @staticmethod
    def pile(pile_id: str, station_id: str, operator: str, key: SigningKey) -> Record:
        body = {"pile_id": pile_id, "station_id": station_id, "operator_id": operator,
                "kind": "DC", "rated_power_w": 120_000, "rated_voltage_v": 750, "connectors": 1,
                "commissioned_ms": T0, "at_ms": T0 + 1}  # fmt: skip
        return sign_record("pile", body, key)

    @staticmethod
    def meter(meter_id: str, pile_id: str, operator: str, meter_key: SigningKey,
              key: SigningKey) -> Record:  # fmt: skip
        body = {"meter_id": meter_id, "pile_id": pile_id, "operator_id": operator,
                "connector": 1, "accuracy_class": "1", "key": meter_key.public_key.text,
                "heartbeat_s": 900, "installed_ms": T0, "at_ms": T0 + 2}  # fmt: skip
        return sign_record("meter", body, key)

    @staticmethod
    def tariff(station_id: str, operator: str, key: SigningKey) -> Record:
        body = {"tariff_id": "T9", "operator_id": operator, "station_id": station_id,
                "valid_from_ms": T0, "at_ms": T0,
                "periods": [{"start_min": 0, "end_min": 1440, "energy_e4": 9000,
                             "service_e4": 6000}]}  # fmt: skip
        return sign_record("tariff", body, key)

    @staticmethod
    def bill(pile_id: str, operator: str, key: SigningKey) -> Record:
        body = {"session_id": "S1", "operator_id": operator, "pile_id": pile_id,
                "tariff_id": "T9", "billed_wh": 40_000, "energy_fen": 3600, "service_fen": 2400,
                "amount_fen": 6000, "start_ms": T0, "stop_ms": T0 + 3_600_000}  # fmt: skip
        return sign_record("billing", body, key)


def _violations(t: TwoOperators) -> dict[str, tuple[Record, str]]:
    """Each signer rule broken once: (record, what the refusal must say)."""
    return {
        "re-key another operator's meter": (
            t.meter("M1", "P2", "OP2", t.m1_new, t.op2), "meter M1 belongs to operator OP1"),
        "take over another operator's pile": (
            t.pile("P1", "ST2", "OP2", t.op2), "pile P1 belongs to operator OP1"),
        "take over another operator's station": (
            t.station("ST1", "OP2", t.op2), "station ST1 belongs to operator OP1"),
        "a pile in another operator's station": (
            t.pile("P9", "ST1", "OP2", t.op2), "names station ST1, which belongs to operator OP1"),
        "a meter on another operator's pile": (
            t.meter("M9", "P1", "OP2", t.m1_new, t.op2),
            "names pile P1, which belongs to operator OP1"),
        "a tariff for another operator's station": (
            t.tariff("ST1", "OP2", t.op2), "names station ST1, which belongs to operator OP1"),
        "a bill for another operator's pile": (
            t.bill("P1", "OP2", t.op2), "names pile P1, which belongs to operator OP1"),
        "a pile in a station nobody registered": (
            t.pile("P9", "ST404", "OP2", t.op2), "names station ST404, which is not registered"),
        "a bill signed by the authority": (
            t.bill("P1", "OP1", t.auth), "but operator OP1's registered key is"),
        "another operator's record under its own key": (
            t.pile("P1", "ST1", "OP1", t.op2), "registered key is"),
    }  # fmt: skip


@pytest.fixture(scope="module")
def two_operators(tmp_path_factory):
    """One platform holding the two operators' registry: every violation is refused,
    so the tests below leave it as they found it."""
    proc = PlatformProcess(tmp_path_factory.mktemp("two-operators") / "platform")
    try:
        t = TwoOperators()
        assert post(proc.url, ndjson(t.registry()))[0] == 200
        yield proc, t
    finally:
        proc.stop()


@pytest.mark.parametrize("rule", list(_violations(TwoOperators())))
def test_each_signer_rule_is_enforced_at_ingest(two_operators, rule):
    platform, t = two_operators
    record, message = _violations(t)[rule]
    status, answer = post(platform.url, ndjson([record]))
    assert status == 403, (rule, answer)
    assert message in answer["error"], (rule, answer)


def test_moves_and_rekeys_that_are_allowed(platform):
    t = TwoOperators()
    assert post(platform.url, ndjson(t.registry()))[0] == 200
    # the owner re-keys its own meter (a replaced secure element: rule R12 reports it)
    allowed = [t.meter("M1", "P1", "OP1", t.m1_new, t.op1), session(t.m1_new, "S-own")]
    status, answer = post(platform.url, ndjson(allowed))
    assert status == 200, answer
    # the authority moves pile P1 (then meter M1) to OP2: a transfer, and OP2 takes it on
    moved = [t.pile("P1", "ST2", "OP2", t.auth), t.meter("M1", "P1", "OP2", t.m1_new, t.auth)]
    status, answer = post(platform.url, ndjson(moved))
    assert status == 200, answer
    status, answer = post(platform.url, ndjson([t.bill("P1", "OP2", t.op2)]))
    assert status == 200, answer
    # ... and OP1 no longer signs for it
    status, answer = post(platform.url, ndjson([t.pile("P1", "ST1", "OP1", t.op1)]))
    assert status == 403 and "belongs to operator OP2" in answer["error"], answer
