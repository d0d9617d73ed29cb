"""The taxi distance/time standard on a real pty: the driver, the simulated taxi whose
true distance error is set, and the verdict at −4.1 %/−3.9 % and +0.9 %/+1.1 %."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from app.devices.errors import DeviceDisconnected
from app.devices.line_protocol import GarbledReply
from app.devices.rig import add_line_crc
from app.devices.taxi_standard import (
    RunState,
    SimulatedTaxi,
    TaxiStandard,
    TaxiStandardError,
    TaxiStandardTimeout,
)
from app.devices.taxi_standard_sim import TaxiSimConfig, TaxiStandardSimulator
from app.models.taxi import verification as tv

REPO = Path(__file__).resolve().parents[2]
ALL_OK = {c.key: True for c in tv.CHECKLIST}
FAST = tv.RunTiming(timeout_s=20, poll_s=0.01)


def _verify(sim_config: TaxiSimConfig, k: int = 1000) -> tv.TaxiResult:
    with TaxiStandardSimulator(sim_config) as sim:
        standard = TaxiStandard.from_path(sim.path, timeout=0.5)
        try:
            standard.connect()
            taxi = SimulatedTaxi(standard)
            plan = tv.plan_verification(tv.TaxiSpec("浙A·T0001", "JJ-1", k))
            runs = [tv.measure_distance_run(standard, taxi, plan, i, timing=FAST) for i in range(2)]
            time_run = tv.measure_time_run(standard, taxi, plan, timing=FAST)
            return tv.judge(plan, ALL_OK, runs, time_run)
        finally:
            standard.close()


@pytest.mark.parametrize(
    ("error_pct", "passed"),
    [(-4.1, False), (-3.9, True), (0.9, True), (1.1, False)],
)
def test_true_distance_error_decides_the_verdict(error_pct, passed):
    result = _verify(TaxiSimConfig(distance_error_pct=error_pct, speed=1000, seed=1))
    assert result.passed is passed, result.reasons
    # The measured error is the simulated one to within the 1 m display step.
    for run in result.distance:
        assert abs(run.error_percent(1000) - Decimal(str(error_pct))) < Decimal("0.12")
        assert run.source == "standard" and run.pulses is not None
    assert result.time.source == "standard"


def test_time_error_and_pulses_over_k():
    result = _verify(
        TaxiSimConfig(distance_error_pct=0.5, time_error_pct=0.5, k_constant=800, speed=1000),
        k=800,
    )
    assert not result.passed
    assert result.time_error == Decimal("0.50")
    run = result.distance[0]
    # The vehicle sensor's pulses / K agree with the display to the display step.
    assert abs(run.meter_distance(800) - tv.meter_distance_m(run.pulses, 800)) <= 2


def test_garbled_and_lost_replies_are_retried():
    config = TaxiSimConfig(garble_rate=0.3, timeout_rate=0.2, speed=1000, seed=7)
    with TaxiStandardSimulator(config) as sim:
        standard = TaxiStandard.from_path(sim.path, timeout=0.2, retries=8)
        try:
            assert standard.connect().model == "JJZ-517R"
            assert standard.calibration().expiry == "2027-09-30"
            standard.start_run()
            assert isinstance(standard.run(), RunState)
        finally:
            standard.close()


def test_refusals_and_an_unplugged_cable():
    with TaxiStandardSimulator(TaxiSimConfig(speed=1)) as sim:
        standard = TaxiStandard.from_path(sim.path, timeout=0.3, retries=0)
        try:
            standard.connect()
            taxi = SimulatedTaxi(standard)
            with pytest.raises(TaxiStandardError, match="error 13"):
                taxi.drive(0, 40)
            taxi.drive(5000, 40)
            with pytest.raises(TaxiStandardError, match="still moving"):
                taxi.wait(10)
            sim.unplug()
            with pytest.raises((DeviceDisconnected, TaxiStandardTimeout)):
                standard.run()
        finally:
            standard.close()


@pytest.mark.parametrize(
    "payload",
    ["RUN,1000.0,1000", "GO,1.0,1,1.00", "RUN,-1.0,5,1.00", "STOP,1e3,1,1.00", "RUN,1,x,1"],
)
def test_run_state_refuses_malformed_payloads(payload):
    with pytest.raises(GarbledReply):
        RunState.parse(payload)


def test_a_flipped_digit_is_caught_by_the_line_crc():
    from app.devices.rig import strip_line_crc

    line = add_line_crc("STOP,1000.0,1000,90.00")
    with pytest.raises(GarbledReply):
        strip_line_crc(line.replace("1000.0", "1006.0"))


def test_simulator_cli_prints_a_usable_path():
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.devices.taxi_standard_sim", "--speed", "10"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        path = proc.stdout.readline().strip()
        standard = TaxiStandard.from_path(path, timeout=1.0)
        try:
            assert standard.connect().vendor == "HZTAXI"
        finally:
            standard.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
