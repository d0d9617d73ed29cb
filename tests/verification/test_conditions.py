"""Issue 12 items 5 and 6 and the edges of items 1–3, against the simulator on a pty.

A traceable reference standard (JJG 1192-2023 DC / JJG 1193-2023 AC rigs), a pile with
two guns, a pile without time-of-use billing, a window that ends short of its pulses.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.devices.rig import Calibration
from app.models.charging.verification import (
    AutoPrompt,
    Question,
    ReferenceStandard,
    StandardNotTraceable,
    VerificationConfig,
    VerificationProcedure,
    plan_verification,
    record_body,
)
from app.models.verification_parts import CST, Journal
from tests.verification.conftest import SITE, make_pile

TODAY = dt.datetime.now(CST).date()
"""The verification day as the code reckons it: Beijing's date (from 16:00 UTC, tomorrow's
UTC date); the machine's local date made this file fail for eight hours a day."""


def run(rig, plan, tmp_path, name="j.jsonl", **kw):
    kw.setdefault("site", SITE)
    kw.setdefault("prompt", AutoPrompt())
    return VerificationProcedure(rig, plan, tmp_path / name, **kw).run()


def registered(**overrides: object) -> ReferenceStandard:
    fields: dict[str, object] = {
        "model": "VLR-1000", "serial": "SN2026000117", "kind": "DC", "accuracy": "0.05",
        "certificate_no": "ZJJL2026-HAND-0001", "expiry": TODAY + dt.timedelta(days=30),
        "lab": "ZJIM", "source": "registered",
    }  # fmt: skip
    fields.update(overrides)
    return ReferenceStandard(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- item 5: the rig


def test_rig_reports_its_calibration(sim_factory, rig_factory) -> None:
    sim = sim_factory(cal_expiry="2031-02-28", cal_certificate="ZJJL-X-9")
    rig = rig_factory(sim)
    rig.connect()
    assert rig.calibration() == Calibration("DC", "0.05", "ZJJL-X-9", "2031-02-28", "ZJIM")


def test_expired_rig_refuses_to_start(sim_factory, rig_factory, tmp_path, plan) -> None:
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    sim = sim_factory(cal_expiry=yesterday)
    prompt = AutoPrompt()
    with pytest.raises(StandardNotTraceable, match=f"expired on {yesterday}"):
        run(rig_factory(sim), plan, tmp_path, prompt=prompt)
    assert prompt.asked == []  # refused before anything was asked or energised
    assert sim.window_energy()[0] == 0
    assert not any(ev["e"] == "standard" for ev in Journal(tmp_path / "j.jsonl").load())


def test_rig_expiring_today_may_still_verify(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(cal_expiry=TODAY.isoformat(), true_error_pct=0.2)
    result = run(rig_factory(sim), plan, tmp_path)
    assert result.passed and result.standard is not None
    assert result.standard.expiry == TODAY


def test_ac_rig_cannot_verify_a_dc_pile(sim_factory, rig_factory, tmp_path, plan) -> None:
    sim = sim_factory(cal_kind="AC")
    with pytest.raises(StandardNotTraceable, match="JJG 1192-2023"):
        run(rig_factory(sim), plan, tmp_path)


def test_silent_rig_needs_a_registered_certificate(
    sim_factory, rig_factory, tmp_path, plan
) -> None:
    sim = sim_factory(report_calibration=False, true_error_pct=0.2)
    with pytest.raises(StandardNotTraceable, match="register"):
        run(rig_factory(sim), plan, tmp_path, name="a.jsonl")
    with pytest.raises(StandardNotTraceable, match="expired"):
        old = registered(expiry=TODAY - dt.timedelta(days=400))
        run(rig_factory(sim), plan, tmp_path, name="b.jsonl", standard=old)
    with pytest.raises(StandardNotTraceable, match="SN0000000001"):
        other = registered(serial="SN0000000001")
        run(rig_factory(sim), plan, tmp_path, name="c.jsonl", standard=other)
    result = run(rig_factory(sim), plan, tmp_path, name="d.jsonl", standard=registered())
    assert result.passed
    assert result.standard == registered()
    body = record_body(result, inspector_id="INS01")
    assert body["standard"]["certificate_no"] == "ZJJL2026-HAND-0001"
    assert body["standard"]["source"] == "registered"


# ---------------------------------------------------------------- item 6: per gun


class MovingLeads(AutoPrompt):
    """An inspector who moves the rig's leads to the gun under test when asked to wire."""

    def __init__(self, sim, gun: int) -> None:
        super().__init__()
        self.sim, self.gun = sim, gun

    def confirm(self, question: Question) -> bool:
        if question.key == "wiring":
            self.sim.select_connector(self.gun)
        return super().confirm(question)


def test_two_gun_pile_is_verified_gun_by_gun(sim_factory, rig_factory, tmp_path) -> None:
    pile = make_pile(
        connectors=2, gun_meters=(("M000123-1", "000012345678"), ("M000123-2", "AAAAAAAAAAAA"))
    )
    sim = sim_factory(connector_errors=(0.3, 1.4))
    results = []
    for gun in (1, 2):
        plan = plan_verification(pile, VerificationConfig(connector=gun))
        rig = rig_factory(sim)
        results.append(run(rig, plan, tmp_path, f"gun{gun}.jsonl", prompt=MovingLeads(sim, gun)))
        rig.close()
    one, two = results
    assert (one.connector, two.connector) == (1, 2)
    assert one.passed and not two.passed
    assert all(Decimal("0.2") < p.mean_error_percent < Decimal("0.4") for p in one.points)
    assert all(Decimal("1.3") < p.mean_error_percent < Decimal("1.5") for p in two.points)
    body = record_body(two, inspector_id="I")
    assert body["connector"] == 2 and body["meter_id"] == "M000123-2"  # each gun its meter
    assert record_body(one, inspector_id="I")["meter_id"] == "M000123-1"
    with pytest.raises(ValueError, match="2 gun"):
        make_pile(connectors=2, gun_meters=(("M1", "000012345678"),))
    # journals are per gun: a gun-1 journal is never resumed for gun 2
    assert one.plan.fingerprint() != two.plan.fingerprint()
    with pytest.raises(ValueError, match="2 gun"):
        plan_verification(pile, VerificationConfig(connector=3))


# ---------------------------------------------------------------- items 1–2 edges


def test_pile_without_time_of_use_clock_not_judged(sim_factory, rig_factory, tmp_path) -> None:
    plan = plan_verification(make_pile(time_of_use=False))
    sim = sim_factory(true_error_pct=0.2, clock_offset_s=600)
    result = run(rig_factory(sim), plan, tmp_path)
    assert result.passed, result.reasons  # 10 min off, but the item does not apply
    assert result.clock is not None and result.clock.applicable is False
    assert result.clock.passed is None
    assert abs(result.clock.error_s - 600) < 1
    assert record_body(result, inspector_id="I")["clock_judged"] is False


@pytest.mark.parametrize("offset", [-5.2, 5.2])
def test_clock_just_over_five_seconds_fails_first_verification(
    sim_factory, rig_factory, tmp_path, plan, offset
) -> None:
    """Read at the meter's second boundary: a whole-second read would pass +5.4 s."""
    sim = sim_factory(true_error_pct=0.1, clock_offset_s=offset)
    result = run(rig_factory(sim), plan, tmp_path)
    assert result.clock is not None and result.clock.passed is False
    assert abs(result.clock.error_s - Decimal(str(offset))) < Decimal("0.1")
    assert not result.passed


def test_window_short_of_its_pulses_is_not_judged(sim_factory, rig_factory, tmp_path) -> None:
    """The pulse lead falls off during the first reading: that window is journaled as short,
    never judged, and the reading is taken again once the lead is back."""
    pile = make_pile()
    plan = plan_verification(pile, VerificationConfig(window_timeout_factor=1))
    sim = sim_factory(true_error_pct=0.4)
    state = {"dropped": False}

    def emit(topic: str, payload: object) -> None:
        if topic == "sample" and not state["dropped"]:
            state["dropped"] = True
            sim.set_faults(pulse_lead=False)
        elif topic == "log" and "not judged" in str(payload):
            sim.set_faults(pulse_lead=True)

    result = run(rig_factory(sim), plan, tmp_path, emit=emit)
    assert result.passed and result.short_windows == 1
    events = Journal(tmp_path / "j.jsonl").load()
    short = [ev for ev in events if ev["e"] == "short_window"]
    assert len(short) == 1 and short[0]["pulses"] < short[0]["target"]
    readings = [ev for ev in events if ev["e"] == "reading"]
    assert len(readings) == 6
    assert all(ev["pulses"] == plan.points[ev["point"]].target_pulses for ev in readings)
