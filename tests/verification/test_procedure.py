"""The verification procedure against the rig simulator on a real pty (no Qt)."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from app.devices.errors import DeviceDisconnected
from app.models.verification import (
    AutoPrompt,
    Journal,
    JournalMismatch,
    LiveSample,
    PileSpec,
    VerificationAborted,
    VerificationConfig,
    VerificationProcedure,
    journal_readings,
    plan_verification,
)
from tests.verification.conftest import make_pile

# ---------------------------------------------------------------- plan


def test_default_plan_fits_ten_minutes(pile: PileSpec) -> None:
    plan = plan_verification(pile)
    assert [p.label for p in plan.points] == ["Imax", "0.5Imax", "Imin"]
    assert [p.current_a for p in plan.points] == [160, 80, 32]  # Imax = 120 kW / 750 V
    assert all(p.target_pulses == 1001 for p in plan.points)
    assert plan.regulation == "JJG 1149-2022"
    assert plan.fits_budget and 400 < plan.total_rig_s < 600


def test_imin_at_tenth_of_imax_is_reported_over_budget(pile: PileSpec) -> None:
    plan = plan_verification(pile, VerificationConfig(imin_fraction=Decimal("0.1")))
    assert plan.points[2].current_a == 16
    assert not plan.fits_budget


def test_ac_three_phase_plan() -> None:
    pile = make_pile(kind="AC", rated_power_w=21_000, rated_voltage_v=Decimal(220), phases=3,
                     accuracy_class="2")  # fmt: skip
    plan = plan_verification(pile)
    assert plan.regulation == "JJG 1148-2022"
    assert plan.points[0].current_a == Decimal("31.818")
    assert plan.points[0].target_pulses == 501


def test_two_readings_required(pile: PileSpec) -> None:
    with pytest.raises(ValueError, match="two or more"):
        VerificationConfig(readings_per_point=1)


# ---------------------------------------------------------------- runs


def run(sim, rig_factory, tmp_path: Path, plan, **kw):
    rig = rig_factory(sim)
    events: list[tuple[str, object]] = []
    proc = VerificationProcedure(
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
        assert all(r.pulses >= 1001 for r in point.readings)
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


def test_low_insulation_is_a_precondition(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(insulation_mohm=3.0)
    _, result, _ = run(sim, rig_factory, tmp_path, plan)
    assert result.verdict == "fail"
    assert result.insulation_passed is False
    assert not result.readings()  # never energised
    assert "insulation below 5 MΩ" in result.reasons


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
    assert abs(result.clock.error_s - 30) <= 2
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

    proc = VerificationProcedure(
        rig, plan, journal, prompt=AutoPrompt(), emit=emit, reconnect=reconnect
    )
    result = proc.run()
    assert unplugged.is_set() and len(reconnects) == 1
    assert result.passed and result.interruptions == 1
    readings = journal_readings(journal)
    assert [(r["point"], r["reading"]) for r in readings] == [
        (i, j) for i in range(3) for j in range(2)
    ]
    resumed = [r for r in readings if r["resumed"]]
    assert [(r["point"], r["reading"]) for r in resumed] == [(1, 0)]
    # the window survived the unplug: one window of ≥ 1001 pulses, not two
    assert resumed[0]["pulses"] >= 1001
    kinds = [ev["e"] for ev in Journal(journal).load()]
    assert kinds.count("interrupted") == 1 and "window_resumed" in kinds


def test_unplug_without_reconnect_handler_raises(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory()

    def emit(topic: str, payload: object) -> None:
        if topic == "sample" and sim.path is not None:
            sim.unplug()

    with pytest.raises(DeviceDisconnected):
        VerificationProcedure(
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

    first = VerificationProcedure(
        rig_factory(sim), plan, journal, prompt=AutoPrompt(), emit=emit, should_stop=stop.is_set
    )
    with pytest.raises(VerificationAborted):
        first.run()
    before = journal_readings(journal)
    assert len(before) == 3
    with journal.open("ab") as fh:  # a torn line, as a power cut mid-write leaves
        fh.write(b'{"e":"reading","poi')
    prompt = AutoPrompt()
    second = VerificationProcedure(rig_factory(sim), plan, journal, prompt=prompt)
    result = second.run()
    assert result.passed
    after = journal_readings(journal)
    assert after[:3] == before and len(after) == 6
    assert "checklist" not in prompt.asked and "wiring" not in prompt.asked
    # done: a third run only rebuilds the result from the journal
    third = VerificationProcedure(rig_factory(sim), plan, journal, prompt=AutoPrompt())
    assert third.run().readings() == result.readings()


def test_journal_of_another_plan_is_refused(sim_factory, rig_factory, tmp_path, plan) -> None:
    journal = tmp_path / "journal.jsonl"
    Journal(journal).append({"e": "start", "pile_id": "OTHER", "plan": "0" * 16, "at_ms": 0})
    sim = sim_factory()
    with pytest.raises(JournalMismatch, match="OTHER"):
        VerificationProcedure(rig_factory(sim), plan, journal, prompt=AutoPrompt()).run()


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
