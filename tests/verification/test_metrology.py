"""The metrology arithmetic, checked against hand-computed values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.models import verification_parts as vp
from app.models.charging import metrology as m


def test_class_limits() -> None:
    assert m.class_limit_percent("1") == Decimal("1.0")
    assert m.class_limit_percent("2") == Decimal("2.0")
    with pytest.raises(ValueError, match="accuracy class"):
        m.class_limit_percent("3")


def test_error_formula() -> None:
    # γ = (E_pile − E_std) / E_std × 100 %
    assert m.error_percent(Decimal("1006"), Decimal("1000")) == Decimal("0.6")
    assert m.pile_energy_wh(1001, 1000) == Decimal("1001")
    with pytest.raises(ValueError):
        m.error_percent(Decimal(1), Decimal(0))


def test_window_resolution_is_a_tenth_of_the_class() -> None:
    assert m.min_pulses_for_resolution(Decimal("1.0")) == 1001
    assert m.min_pulses_for_resolution(Decimal("2.0")) == 501
    # one pulse of the window is below limit/10
    assert Decimal(100) / 1001 < Decimal("0.1")
    assert m.window_energy_wh(10000, Decimal(1)) == Decimal("100.1")


def test_rounding_half_even_to_tenth_of_limit() -> None:
    step = Decimal("0.1")
    assert vp.round_to_step(Decimal("1.04"), step) == Decimal("1.0")
    assert vp.round_to_step(Decimal("1.05"), step) == Decimal("1.0")
    assert vp.round_to_step(Decimal("1.06"), step) == Decimal("1.1")
    assert vp.round_to_step(Decimal("-0.55"), step) == Decimal("-0.6")


def test_ppm_and_imax() -> None:
    assert vp.to_ppm(Decimal("0.31")) == 3100
    assert vp.to_ppm(Decimal("-1.23456")) == -12346
    assert m.imax_from_rating(120_000, 750) == 160


def test_clock_limits() -> None:
    assert m.clock_limit_s("first") == 5
    assert m.clock_limit_s("periodic") == 180


def test_payment_error() -> None:
    assert m.payment_error_yuan(Decimal("1.60"), Decimal("1.0"), Decimal("1.6")) == 0
    assert abs(m.payment_error_yuan(Decimal("1.62"), Decimal("1"), Decimal("1.6"))) > (
        m.PAYMENT_STEP_YUAN
    )


def test_next_due_date() -> None:
    assert m.next_due_date(dt.date(2026, 11, 25)) == dt.date(2032, 11, 24)
    assert m.next_due_date(dt.date(2028, 2, 29), 5) == dt.date(2033, 2, 27)
    with pytest.raises(ValueError, match="5–8"):
        m.next_due_date(dt.date(2026, 1, 1), 9)


def test_certificate_validity_is_the_verification_cycle_not_the_rotation() -> None:
    assert m.certificate_valid_until(dt.date(2026, 11, 25)) == dt.date(2029, 11, 24)
    assert m.certificate_valid_until(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 27)
    with pytest.raises(ValueError, match="1–3"):
        m.certificate_valid_until(dt.date(2026, 1, 1), 6)  # the rotation is planning's


def test_rounding_step_and_derived_imin() -> None:
    assert m.rounding_step(m.class_limit_percent("1")) == Decimal("0.1")
    assert m.rounding_step(m.class_limit_percent("2")) == Decimal("0.2")
    # class 2: 2.04 → 2.0 (pass), 2.12 → 2.2 (fail), 2.10 → 2.0 (half to even: 10.5 → 10)
    step = Decimal("0.2")
    assert vp.round_to_step(Decimal("2.04"), step) == Decimal("2.0")
    assert vp.round_to_step(Decimal("2.12"), step) == Decimal("2.2")
    assert vp.round_to_step(Decimal("2.10"), step) == Decimal("2.0")
    assert m.derived_imin(Decimal(160)) == 16
    assert m.derived_imin(Decimal(32)) == Decimal("3.2")


def test_pulses_per_reading() -> None:
    # 120 kW at 1000 imp/kWh: 33.3 pulses/s; 60 s → 2000 pulses
    assert m.pulses_per_reading(Decimal(120_000), 1000) == 2000
    # 700 W: 0.19 pulses/s → 12 in 60 s, raised to the 20-pulse floor
    assert m.pulses_per_reading(Decimal(700), 1000) == 20
    assert m.pulses_per_reading(Decimal(12_000), 1000, min_s=30) == 100
    with pytest.raises(ValueError):
        m.pulses_per_reading(Decimal(0), 1000)
