"""The verification procedure against the rig simulator on a real pty (no Qt)."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from app.devices.errors import DeviceDisconnected
from app.models.charging.verification import (
    CONDITIONS_NOT_MET,
    AutoPrompt,
    JournalMismatch,
    LiveSample,
    PileSpec,
    SiteConditions,
    VerificationAborted,
    VerificationConfig,
    VerificationProcedure,
    journal_readings,
    plan_verification,
    record_body,
)
from app.models.verification_parts import Journal
from tests.verification.conftest import SITE, make_pile


def procedure(*args, **kw) -> VerificationProcedure:
    """A procedure with the site conditions recorded (they are a verification condition)."""
    kw.setdefault("site", SITE)
    return VerificationProcedure(*args, **kw)


# ---------------------------------------------------------------- plan


def test_default_plan_fits_ten_minutes(pile: PileSpec) -> None:
    plan = plan_verification(pile)
    assert [p.label for p in plan.points] == ["Imax", "0.5Imax", "Imin"]
    # Imax = 120 kW / 750 V (unmarked), Imin = Imax / 10 (unmarked): both derived
    assert [p.current_a for p in plan.points] == [160, 80, 16]
    assert all(p.derived for p in plan.points)
    # 1000 imp/kWh: 120 kW gives 33.3 pulses/s, so 60 s → 2000 pulses; 60 kW → 1000; 12 kW → 200
    assert [p.target_pulses for p in plan.points] == [2000, 1000, 200]
    assert all(59 <= p.reading_s <= 61 for p in plan.points)
    assert plan.regulation == "JJG 1149-2022"
    assert plan.fits_budget and 300 < plan.total_rig_s <= 600


def test_marked_imin_wins_over_the_derived_one(pile: PileSpec) -> None:
    marked = make_pile(max_current_a=Decimal(200), min_current_a=Decimal(25))
    plan = plan_verification(marked)
    assert [p.current_a for p in plan.points] == [200, 100, 25]
    assert not any(p.derived for p in plan.points)
    only_imax = plan_verification(make_pile(max_current_a=Decimal(150)))
    assert only_imax.points[2].current_a == 15 and only_imax.points[2].derived
    assert not only_imax.points[0].derived


def test_ac_three_phase_plan() -> None:
    pile = make_pile(kind="AC", rated_power_w=21_000, rated_voltage_v=Decimal(220), phases=3,
                     accuracy_class="2")  # fmt: skip
    plan = plan_verification(pile)
    assert plan.regulation == "JJG 1148-2022"
    assert plan.points[0].current_a == Decimal("31.818")
    # 3 × 220 V × 31.818 A = 21.0 kW → 5.83 pulses/s → 350 pulses in 60 s
    assert plan.points[0].target_pulses == 350
    # Imin = 3.182 A (Imax/10 to the mA): 2100.1 W → 35.002 pulses in 60 s → 36 whole pulses
    assert plan.points[2].target_pulses == 36 and plan.points[2].current_a == Decimal("3.182")


def test_two_readings_required(pile: PileSpec) -> None:
    with pytest.raises(ValueError, match="two or more"):
        VerificationConfig(readings_per_point=1)


# ---------------------------------------------------------------- runs


def run(sim, rig_factory, tmp_path: Path, plan, **kw):
    rig = rig_factory(sim)
    events: list[tuple[str, object]] = []
    proc = procedure(
        rig,
        plan,
        kw.pop("journal", tmp_path / "journal.jsonl"),
        prompt=kw.pop("prompt", AutoPrompt()),
        emit=lambda topic, payload: events.append((topic, payload)),
        **kw,
    )
    return proc, proc.run(), events


def test_pile_within_class_1_passes(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(true_error_pct=0.6)
    proc, result, events = run(sim, rig_factory, tmp_path, plan)
    assert result.verdict == "pass", result.reasons
    for point in result.points:
        assert len(point.readings) == 2
        # gated: exactly the planned whole pulses, never a fraction more or less
        assert all(r.pulses == point.point.target_pulses for r in point.readings)
        assert Decimal("0.4") < point.mean_error_percent < Decimal("0.8")
        assert point.passed
    assert result.insulation_mohm > 5
    assert result.clock is not None and result.clock.passed
    assert result.seal_closed is True
    assert proc.frames_dropped == 0 and proc.frames_received == proc.frames_sent
    topics = {t for t, _ in events}
    assert {"sample", "reading", "point", "progress", "clock", "result"} <= topics
    assert all(isinstance(p, LiveSample) for t, p in events if t == "sample")
    assert len(journal_readings(tmp_path / "journal.jsonl")) == 6


def test_pile_over_class_1_fails(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(true_error_pct=1.4)
    _, result, _ = run(sim, rig_factory, tmp_path, plan)
    assert result.verdict == "fail"
    assert all(p.passed is False for p in result.points)
    assert any("Imax" in reason for reason in result.reasons)


def test_low_insulation_is_a_condition_not_an_item(
    sim_factory, rig_factory, tmp_path, plan
) -> None:
    """Below 5 MΩ: 不满足检定条件 — not energised, no items judged, nothing to sign or notify."""
    sim = sim_factory(insulation_mohm=3.0, true_error_pct=1.5)
    prompt = AutoPrompt()
    _, result, _ = run(sim, rig_factory, tmp_path, plan, prompt=prompt)
    assert result.verdict == CONDITIONS_NOT_MET and not result.conditions_met
    assert not result.passed
    assert result.insulation_passed is False
    assert not result.readings() and result.clock is None  # never energised, no item run
    assert prompt.asked == []  # not even the appearance check: the pile is not verified
    assert any("insulation" in r and "5" in r for r in result.reasons)
    with pytest.raises(ValueError, match="不满足检定条件"):
        record_body(result, inspector_id="INS01")


def test_environment_is_a_condition(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(true_error_pct=0.2)
    hot = SiteConditions(Decimal(70), Decimal(40), "")
    _, result, _ = run(sim, rig_factory, tmp_path, plan, site=hot)
    assert result.verdict == CONDITIONS_NOT_MET and not result.readings()
    assert any("temperature" in r for r in result.reasons)


def test_failed_checklist_item_fails(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(true_error_pct=0.2)
    prompt = AutoPrompt(failing=frozenset({"nameplate"}))
    _, result, _ = run(sim, rig_factory, tmp_path, plan, prompt=prompt)
    assert result.verdict == "fail"
    assert result.checklist["nameplate"] is False
    assert prompt.asked[:2] == ["checklist", "wiring"]


def test_clock_limit_depends_on_kind(sim_factory, rig_factory, tmp_path, pile) -> None:
    sim = sim_factory(true_error_pct=0.1, clock_offset_s=30)
    first = plan_verification(pile, VerificationConfig(kind="first"))
    _, result, _ = run(sim, rig_factory, tmp_path, first, journal=tmp_path / "a.jsonl")
    assert result.clock is not None and not result.clock.passed
    assert abs(result.clock.error_s - 30) <= Decimal("0.1")
    periodic = plan_verification(pile, VerificationConfig(kind="periodic"))
    _, result, _ = run(sim, rig_factory, tmp_path, periodic, journal=tmp_path / "b.jsonl")
    assert result.clock is not None and result.clock.passed and result.passed


def test_declined_wiring_aborts(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory()
    with pytest.raises(VerificationAborted):
        run(sim, rig_factory, tmp_path, plan, prompt=AutoPrompt(confirm_answer=False))


def test_payment_check(sim_factory, rig_factory, tmp_path) -> None:
    pile = make_pile(unit_price_yuan=Decimal("1.2"))
    plan = plan_verification(pile, VerificationConfig(check_payment=True))
    sim = sim_factory(true_error_pct=0.3)
    # the meter register moves ~6 kWh in the run; the amount typed is far off
    _, result, _ = run(sim, rig_factory, tmp_path, plan, prompt=AutoPrompt(number=Decimal(0)))
    assert result.payment is not None
    assert result.payment.energy_kwh > 5
    assert not result.payment.passed and result.verdict == "fail"


# ---------------------------------------------------------------- interruptions


def test_unplug_mid_point_resumes_with_every_reading(
    sim_factory, rig_factory, tmp_path, plan
) -> None:
    """Cable pulled halfway through the first 0.5·Imax window: the window continues."""
    sim = sim_factory(true_error_pct=0.6)
    rig = rig_factory(sim)
    journal = tmp_path / "journal.jsonl"
    unplugged = threading.Event()
    reconnects: list[str] = []

    def emit(topic: str, payload: object) -> None:
        if (
            topic == "sample"
            and not unplugged.is_set()
            and isinstance(payload, LiveSample)
            and payload.point_index == 1
            and payload.pulses > payload.target_pulses // 2
        ):
            unplugged.set()
            sim.unplug()

    def reconnect(exc: DeviceDisconnected) -> str:
        path = sim.replug()
        reconnects.append(path)
        return path

    proc = procedure(rig, plan, journal, prompt=AutoPrompt(), emit=emit, reconnect=reconnect)
    result = proc.run()
    assert unplugged.is_set() and len(reconnects) == 1
    assert result.passed and result.interruptions == 1
    readings = journal_readings(journal)
    assert [(r["point"], r["reading"]) for r in readings] == [
        (i, j) for i in range(3) for j in range(2)
    ]
    resumed = [r for r in readings if r["resumed"]]
    assert [(r["point"], r["reading"]) for r in resumed] == [(1, 0)]
    # the window survived the unplug: one gated window of exactly its pulses, not two
    assert resumed[0]["pulses"] == plan.points[1].target_pulses
    kinds = [ev["e"] for ev in Journal(journal).load()]
    assert kinds.count("interrupted") == 1 and "window_resumed" in kinds


def test_unplug_without_reconnect_handler_raises(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory()

    def emit(topic: str, payload: object) -> None:
        if topic == "sample" and sim.path is not None:
            sim.unplug()

    with pytest.raises(DeviceDisconnected):
        procedure(
            rig_factory(sim), plan, tmp_path / "j.jsonl", prompt=AutoPrompt(), emit=emit
        ).run()


def test_rerun_with_same_journal_resumes(sim_factory, rig_factory, tmp_path, plan) -> None:
    """A crash after three readings: a new procedure on the same journal keeps them."""
    sim = sim_factory(true_error_pct=0.6)
    journal = tmp_path / "journal.jsonl"
    stop = threading.Event()

    def emit(topic: str, payload: object) -> None:
        if topic == "reading" and len(journal_readings(journal)) == 3:
            stop.set()

    first = procedure(
        rig_factory(sim), plan, journal, prompt=AutoPrompt(), emit=emit, should_stop=stop.is_set
    )
    with pytest.raises(VerificationAborted):
        first.run()
    before = journal_readings(journal)
    assert len(before) == 3
    with journal.open("ab") as fh:  # a torn line, as a power cut mid-write leaves
        fh.write(b'{"e":"reading","poi')
    prompt = AutoPrompt()
    second = procedure(rig_factory(sim), plan, journal, prompt=prompt)
    result = second.run()
    assert result.passed
    after = journal_readings(journal)
    assert after[:3] == before and len(after) == 6
    assert "checklist" not in prompt.asked and "wiring" not in prompt.asked
    # done: a third run only rebuilds the result from the journal
    third = procedure(rig_factory(sim), plan, journal, prompt=AutoPrompt())
    assert third.run().readings() == result.readings()


def test_journal_of_another_plan_is_refused(sim_factory, rig_factory, tmp_path, plan) -> None:
    journal = tmp_path / "journal.jsonl"
    Journal(journal).append({"e": "start", "pile_id": "OTHER", "plan": "0" * 16, "at_ms": 0})
    sim = sim_factory()
    with pytest.raises(JournalMismatch, match="OTHER"):
        procedure(rig_factory(sim), plan, journal, prompt=AutoPrompt()).run()


def test_ac_three_phase_pile_runs(sim_factory, rig_factory, tmp_path) -> None:
    pile = make_pile(kind="AC", rated_power_w=21_000, rated_voltage_v=Decimal(220), phases=3)
    plan = plan_verification(pile)
    sim = sim_factory(kind="AC", rated_power_kw=21.0, true_error_pct=-0.5)
    _, result, _ = run(sim, rig_factory, tmp_path, plan)
    assert result.passed, result.reasons
    assert result.insulation_test_v == 500
    assert all(Decimal("-0.7") < p.mean_error_percent < Decimal("-0.3") for p in result.points)


def test_noisy_link_still_measures(sim_factory, rig_factory, tmp_path, plan) -> None:
    """2 % of the rig's lines garbled: queries are retried, bad frames skipped, no energy lost."""
    sim = sim_factory(true_error_pct=0.6, garble_rate=0.02, seed=5)
    proc, result, _ = run(sim, rig_factory, tmp_path, plan)
    assert result.passed, result.reasons
    assert proc.frames_garbled + proc.frames_dropped > 0 or sim.lines_garbled > 0


def test_open_seal_is_recorded(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(true_error_pct=0.2, seal_open_at_s=0.0)
    _, result, _ = run(sim, rig_factory, tmp_path, plan)
    assert result.seal_closed is False
