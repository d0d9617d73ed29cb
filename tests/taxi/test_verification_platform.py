"""A failed JJG 517 verification, measured on the pty standard, signed by the inspector,
queued in the shared Outbox and uploaded to a real platform (`python -m ledger serve` on
loopback), puts the taxi on GET /taxi/status as failed — verified as a ride-hailing
platform's client verifies it."""

from __future__ import annotations

import pytest

from app.devices.taxi_standard import SimulatedTaxi, TaxiStandard
from app.devices.taxi_standard_sim import TaxiSimConfig, TaxiStandardSimulator
from app.models.outbox import Outbox
from app.models.taxi import verification as tv
from ledger.taxi.client import fetch_list, verify
from tests.taxi.town import T0, Town
from tests.world import PlatformProcess, get, ndjson, post

ALL_OK = {c.key: True for c in tv.CHECKLIST}
FAST = tv.RunTiming(timeout_s=20, poll_s=0.01)


def _measure(error_pct: float, plate: str, serial: str) -> tv.TaxiResult:
    with TaxiStandardSimulator(TaxiSimConfig(distance_error_pct=error_pct, speed=1000)) as sim:
        standard = TaxiStandard.from_path(sim.path, timeout=0.5)
        try:
            standard.connect()
            taxi = SimulatedTaxi(standard)
            plan = tv.plan_verification(tv.TaxiSpec(plate, serial, 1000))
            runs = [tv.measure_distance_run(standard, taxi, plan, i, timing=FAST) for i in range(2)]
            return tv.judge(
                plan, ALL_OK, runs, tv.measure_time_run(standard, taxi, plan, timing=FAST)
            )
        finally:
            standard.close()


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def test_failed_verification_puts_the_taxi_on_the_list(platform, tmp_path):
    town = Town()
    records = town.registry()
    records += town.taxi("浙A·K0001", "JJ-1", "TERM1")
    records += town.taxi("浙A·K0002", "JJ-2", "TERM2")
    for plate, serial in (("浙A·K0001", "JJ-1"), ("浙A·K0002", "JJ-2")):
        records.append(town.verification(plate, serial, T0, "2026-12-31"))
    status, answer = post(platform.url, ndjson(records))
    assert status == 200, answer

    outbox = Outbox(tmp_path / "outbox", platform.url)
    results = {}
    for error, plate, serial in ((-4.1, "浙A·K0001", "JJ-1"), (-3.9, "浙A·K0002", "JJ-2")):
        results[plate] = _measure(error, plate, serial)
        outbox.enqueue(tv.sign_result(results[plate], town.inspector, inspector_id="INS1"))
    report = outbox.upload()
    assert sorted(report.accepted) == sorted(e.entry_id for e in outbox.sent())
    assert len(report.accepted) == 2 and not report.rejected

    # The wrong role: the taxi company signs a "pass" for its own failed taxi. Refused.
    forged = tv.judge(
        results["浙A·K0001"].plan,
        ALL_OK,
        [tv.DistanceReading(i, 1000, 1000) for i in range(2)],
        tv.TimeReading(600, 600),
    )
    rogue = Outbox(tmp_path / "rogue", platform.url)
    entry = rogue.enqueue(tv.sign_result(forged, town.companies["OP1"], inspector_id="INS1"))
    reason = rogue.upload().rejected[entry.entry_id]
    assert "sign" in reason.lower() or "key" in reason.lower(), reason

    size = answer["first_index"] + len(records) + 2
    get(f"{platform.url}/checkpoint?after={size - 1}&wait=20")  # long-poll, no sleeping
    accepted = verify(platform.url, platform.vkey(), fetch_list(platform.url, None))
    statuses = {s.plate: s.status for s in accepted.statuses}
    assert statuses["浙A·K0001"] == "failed"
    assert statuses["浙A·K0002"] in ("valid", "expiring")
