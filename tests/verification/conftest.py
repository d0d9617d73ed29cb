"""Fixtures for the verification tests: a pile, its plan, the simulator on a pty."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from app.devices.rig import Rig
from app.devices.simulator import RigSimulator, SimConfig
from app.models.charging.verification import (
    PileSpec,
    SiteConditions,
    VerificationConfig,
    plan_verification,
)

#: What the inspector records on site (JJF 1069): 21.5 °C, 55 % RH, seal QF2026-0001.
SITE = SiteConditions(Decimal("21.5"), Decimal(55), "QF2026-0001")
#: Simulated seconds per real second: the ~380 s plan runs in well under a second of rig time.
SPEED = 1500
METER_ADDRESS = "000012345678"


def make_pile(**overrides: object) -> PileSpec:
    fields: dict[str, object] = {
        "pile_id": "HZ-P000123",
        "meter_id": "M000123",
        "meter_address": METER_ADDRESS,
        "station": "西湖区文三路充电站",
        "operator": "杭州示例充电运营有限公司",
        "model": "DCP-120",
        "maker": "示例电气",
    }
    fields.update(overrides)
    return PileSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def pile() -> PileSpec:
    return make_pile()


@pytest.fixture
def plan(pile: PileSpec):
    return plan_verification(pile, VerificationConfig())


def start_sim(**overrides: object) -> RigSimulator:
    config = SimConfig(speed=SPEED, seed=11, meter_address=METER_ADDRESS)
    sim = RigSimulator(config, **overrides)
    sim.start()
    return sim


@pytest.fixture
def sim_factory() -> Iterator:
    """``sim_factory(true_error_pct=0.6, ...)``; every simulator is stopped afterwards."""
    sims: list[RigSimulator] = []

    def factory(**overrides: object) -> RigSimulator:
        sim = start_sim(**overrides)
        sims.append(sim)
        return sim

    yield factory
    for sim in sims:
        sim.stop()


@pytest.fixture
def rig_factory() -> Iterator:
    rigs: list[Rig] = []

    def factory(sim: RigSimulator) -> Rig:
        assert sim.path is not None
        rig = Rig.from_path(sim.path, timeout=0.5)
        rigs.append(rig)
        return rig

    yield factory
    for rig in rigs:
        rig.close()


@pytest.fixture(scope="module")
def passed_result():
    """One real run (+0.6 % pile, class 1) shared by the signing, outbox and PDF tests."""
    return _run_once(true_error_pct=0.6)


@pytest.fixture(scope="module")
def failed_result():
    return _run_once(true_error_pct=1.4, clock_offset_s=40)


def _run_once(**overrides: object):
    import tempfile
    from pathlib import Path

    from app.models.charging.verification import AutoPrompt, VerificationProcedure

    sim = start_sim(**overrides)
    rig = Rig.from_path(sim.path or "", timeout=0.5)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            plan = plan_verification(make_pile(), VerificationConfig())
            proc = VerificationProcedure(
                rig, plan, Path(tmp) / "j.jsonl", prompt=AutoPrompt(), site=SITE
            )
            return proc.run()
    finally:
        rig.close()
        sim.stop()
