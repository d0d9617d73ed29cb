"""The flowmeter simulator on a real pty, driven by the real driver and the JJG 443 model."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from app.devices.errors import DeviceDisconnected
from app.devices.flowmeter import (
    Flowmeter,
    FlowmeterError,
    FlowmeterTimeout,
    SimulatedNozzle,
)
from app.devices.flowmeter_sim import FlowmeterSimulator, FlowSimConfig
from app.models.fuel import verification as fv

REPO = Path(__file__).resolve().parents[2]
ALL_OK = {item.key: True for item in fv.CHECKLIST}
FAST = fv.RunTiming(timeout_s=20, poll_s=0.01)


def simulated(**kw: object) -> FlowmeterSimulator:
    config = FlowSimConfig(speed=3000, seed=11, **kw)  # type: ignore[arg-type]
    return FlowmeterSimulator(config)


@pytest.fixture
def meter_on() -> Iterator:
    opened: list[tuple[FlowmeterSimulator, Flowmeter]] = []

    def make(**kw: object) -> tuple[FlowmeterSimulator, Flowmeter]:
        sim = simulated(**kw)
        sim.start()
        assert sim.path is not None
        meter = Flowmeter.from_path(sim.path, timeout=0.5)
        opened.append((sim, meter))
        return sim, meter

    yield make
    for sim, meter in opened:
        meter.close()
        sim.stop()


def run_plan(meter: Flowmeter, runs_per_point: int = 3) -> fv.FuelResult:
    plan = fv.plan_verification(fv.DispenserSpec("FD000001"), runs_per_point=runs_per_point)
    nozzle = SimulatedNozzle(meter)
    readings = [
        fv.measure_run_on_flowmeter(meter, nozzle, point, j, timing=FAST)
        for point in plan.points
        for j in range(plan.runs_per_point)
    ]
    return fv.judge(plan, ALL_OK, readings, finished_ms=1_796_529_600_000)


def test_identity_calibration_and_error_reply(meter_on) -> None:
    _, meter = meter_on()
    identity = meter.connect()
    assert identity.model == "SFM-50"
    assert meter.calibration().certificate_no == "ZJJL2026-LL-0311"
    assert meter.temperature_c() == Decimal("18.5")
    with pytest.raises(FlowmeterError, match="error 13"):
        SimulatedNozzle(meter).fill(40_000, 20_005)  # not a 10 mL step


@pytest.mark.parametrize(
    ("true_error", "verdict"), [(0.28, "pass"), (-0.28, "pass"), (0.32, "fail"), (-0.32, "fail")]
)
def test_simulated_dispenser_around_the_mpe(meter_on, true_error: float, verdict: str) -> None:
    sim, meter = meter_on(dispenser_error_pct=true_error)
    meter.connect()
    result = run_plan(meter)
    assert result.verdict == verdict, result.reasons
    # every judged run error lies within the noise of the true error (0.005 % + 0.005 %)
    for pr in result.points:
        for e in pr.errors_percent:
            assert abs(e - Decimal(str(true_error))) <= Decimal("0.03")
    # the meter totalised what really flowed, to its own noise: cross-check the ground truth
    assert len(sim.deliveries) == 9
    for (true_ml, _), run in zip(
        sim.deliveries, [r for p in result.points for r in p.runs], strict=True
    ):
        assert abs(run.reading_ml - Decimal(true_ml)) / Decimal(true_ml) < Decimal("0.0003")


def test_noisy_dispenser_fails_repeatability(meter_on) -> None:
    _, meter = meter_on(dispenser_error_pct=0.0, dispenser_noise_pct=0.08)
    meter.connect()
    result = run_plan(meter)
    assert any(not pr.repeat_passed for pr in result.points)
    assert result.verdict == "fail"


def test_garbled_replies_are_retried_not_believed(meter_on) -> None:
    sim, meter = meter_on(dispenser_error_pct=0.1, garble_rate=0.3)
    meter.retries = 8
    meter.connect()
    plan = fv.plan_verification(fv.DispenserSpec("FD1"), medium_point=False)
    reading = fv.measure_run_on_flowmeter(
        meter, SimulatedNozzle(meter), plan.points[0], 0, timing=FAST
    )
    true_ml, _ = sim.deliveries[-1]
    assert reading.indicated_ml == 20_000
    assert abs(reading.reading_ml - Decimal(true_ml)) < 5


def test_silent_meter_times_out_and_unplug_disconnects(meter_on) -> None:
    _, meter = meter_on(timeout_rate=1.0)
    meter.retries = 1
    meter.timeout = 0.1
    with pytest.raises(FlowmeterTimeout, match="did not answer"):
        meter.connect()
    sim2, meter2 = meter_on()
    meter2.connect()
    sim2.unplug()
    with pytest.raises(DeviceDisconnected):
        for _ in range(5):
            meter2.batch()


def test_cli_prints_a_path_that_answers() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.devices.flowmeter_sim", "--seed", "1"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        with contextlib.closing(Flowmeter.from_path(path, timeout=2)) as meter:
            assert meter.connect().vendor == "HZFLOW"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout is not None:
            proc.stdout.close()
