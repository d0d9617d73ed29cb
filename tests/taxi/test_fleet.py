"""The taxi simulator (`ledger.taxi.fleet`, `python -m ledger taxi-fleet`) against its own
ground truth: the statuses the suspension list computes (`TaxiLedger`, the platform's and
the client's code) must find every injected fault, flag every meter drifted beyond
JJG 517's −4 % … +1 %, and flag none inside them; and a real platform must accept the
fleet and serve a list the client verifies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledger.taxi import fleet as tf
from ledger.taxi.client import fetch_list, verify
from ledger.taxi.fleet_cli import chunks, start_ms
from ledger.taxi.status import SUSPEND, TaxiLedger
from tests.world import ROOT, PlatformProcess, get

FAULTS = {"drift": 6, "drift_inside": 6, "seal": 2, "expired": 2, "failed": 2}


def _entries(fleet: tf.TaxiFleet, alg: str = "ed25519") -> list[bytes]:
    return [e for _types, part in chunks(fleet, alg=alg) for e in part]


@pytest.fixture(scope="module")
def small_city():
    fleet = tf.build_fleet(7, 50, start_ms("2026-11-01", 2), 2, FAULTS)
    ledger = TaxiLedger().apply_all(_entries(fleet))
    return fleet, {s.plate: s for s in ledger.statuses()}


def test_every_injected_fault_gets_its_status(small_city):
    fleet, statuses = small_city
    assert len(fleet.truth) == sum(FAULTS.values())
    for truth in fleet.truth:
        got = statuses[truth.plate]
        assert got.meter_serial == truth.meter_serial
        assert got.status in truth.statuses, (truth.fault, truth.detail, got)


def test_drift_flags_are_exactly_the_meters_beyond_the_limits(small_city):
    fleet, statuses = small_city
    flagged = {p for p, s in statuses.items() if s.status == "drift_suspected"}
    beyond = {t.plate for t in fleet.truth if t.fault == "drift"}
    inside = {t.plate for t in fleet.truth if t.fault == "drift_inside"}
    assert flagged == beyond
    assert not flagged & inside
    # and the drifted meters really are beyond the limits, the inside ones inside
    for taxi in fleet.taxis:
        if taxi.plate in beyond:
            assert not -0.04 <= taxi.drift <= 0.01
        elif taxi.plate in inside:
            assert -0.04 < taxi.drift < 0.01


def test_healthy_taxis_are_not_suspended_and_have_enough_trips(small_city):
    fleet, statuses = small_city
    faulty = {t.plate for t in fleet.truth}
    healthy = [t for t in fleet.taxis if t.plate not in faulty]
    assert healthy
    for taxi in healthy:
        assert statuses[taxi.plate].status not in SUSPEND, statuses[taxi.plate]


def test_trips_are_plausible():
    fleet = tf.build_fleet(3, 10, start_ms("2026-11-01", 1), 1, {})
    trips = [d[1] for d in tf.day_traffic(fleet, 0) if d[0] == "trip"]
    per_taxi = {t.plate: 0 for t in fleet.taxis}
    for trip in trips:
        per_taxi[trip["plate"]] += 1
        assert trip["vacant_ms"] > trip["hire_ms"]
        assert 700 <= trip["meter_m"] <= 45_000
        # the fare is the meter's tariff on its own distance, never below the flag fare
        assert trip["fare_fen"] == tf.fare_fen(trip["meter_m"], trip["wait_s"])
        assert trip["fare_fen"] >= 1_300
    assert min(per_taxi.values()) >= 20
    # the tariff: ¥13 to 3 km, ¥2.50/km to 10 km, ¥3.75/km beyond, ¥2.50 per 4 min waiting
    assert tf.fare_fen(3_000, 0) == 1_300
    assert tf.fare_fen(10_000, 0) == 3_100  # ¥30.50, rounded half up to the yuan
    assert tf.fare_fen(20_000, 0) == 6_800  # ¥30.50 + 10 × ¥3.75 = ¥68.00
    assert tf.fare_fen(3_000, 480) == 1_800


def test_same_seed_same_entries_other_seed_other_entries():
    def run(seed: int) -> list[bytes]:
        fleet = tf.build_fleet(seed, 4, start_ms("2026-11-01", 1), 1, {"seal": 1})
        return _entries(fleet, alg="p256")

    first = run(11)
    assert first == run(11)
    assert first != run(12)


def test_fault_spec_is_checked():
    assert tf.parse_spec("all=2")["drift"] == 2
    assert tf.parse_spec("drift=3,seal=1") == {**dict.fromkeys(tf.FAULTS, 0), "drift": 3, "seal": 1}
    with pytest.raises(tf.FaultSpecError):
        tf.parse_spec("speeding=1")
    with pytest.raises(tf.FaultSpecError):
        tf.parse_spec("drift=-1")
    with pytest.raises(ValueError, match="faults need"):
        tf.build_fleet(1, 3, 0, 1, {"drift": 4})


def test_a_real_platform_accepts_the_fleet_and_serves_what_the_truth_says(tmp_path):
    platform = PlatformProcess(tmp_path / "platform")
    try:
        done = subprocess.run(
            [
                sys.executable, "-m", "ledger", "taxi-fleet", "--post", platform.url,
                "--taxis", "12", "--days", "1", "--seed", "5", "--faults", "all",
                "--out", str(tmp_path / "taxi"),
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stderr.split("taxi-fleet: ", 1)[1])
        assert summary["refused"] == 0
        assert summary["accepted"] == summary["entries"]
        get(f"{platform.url}/checkpoint?after={summary['entries'] - 1}&wait=20")
        accepted = verify(platform.url, platform.vkey(), fetch_list(platform.url, None))
        served = {s.plate: s.status for s in accepted.statuses}
        assert len(served) == 12
        truth = [
            json.loads(line)
            for line in (tmp_path / "taxi" / "truth.jsonl").read_text().splitlines()
        ]
        assert {t["fault"] for t in truth} == set(tf.FAULTS)
        for t in truth:
            assert served[t["plate"]] in t["statuses"], t
    finally:
        platform.stop()
