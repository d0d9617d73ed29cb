"""Metrology arithmetic of JJG 1149-2022 (DC) and JJG 1148-2022 (AC) pile verification.

Why a module of its own: the error formula, the class limits, the rounding
rule and the window sizing are the part a metrology reviewer must be able to
read and check in one place, without the procedure's I/O around it.  All
arithmetic is in :class:`~decimal.Decimal` so a recorded value has exactly one
spelling (the ledger stores integers: ppm, ms, kΩ).

Qt-free and I/O-free.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "CLASS_LIMITS_PERCENT",
    "CLOCK_LIMIT_FIRST_S",
    "CLOCK_LIMIT_SUBSEQUENT_S",
    "INSULATION_MIN_MOHM",
    "PAYMENT_STEP_YUAN",
    "class_limit_percent",
    "clock_limit_s",
    "error_percent",
    "imax_from_rating",
    "mean",
    "min_pulses_for_resolution",
    "next_due_date",
    "payment_error_yuan",
    "pile_energy_wh",
    "round_to_step",
    "to_ppm",
    "window_energy_wh",
]

#: Maximum permissible working error per accuracy class (JJG 1148/1149-2022), %.
CLASS_LIMITS_PERCENT: dict[str, Decimal] = {
    "0.5": Decimal("0.5"),
    "1": Decimal("1.0"),
    "2": Decimal("2.0"),
}
#: Insulation resistance precondition: below this the pile must not be energised.
INSULATION_MIN_MOHM = Decimal(5)
#: Clock time error limits: first verification / subsequent (periodic, triggered).
CLOCK_LIMIT_FIRST_S = Decimal(5)
CLOCK_LIMIT_SUBSEQUENT_S = Decimal(180)
#: Minimum pay step: |amount − energy × unit price| must not exceed it (JJG 1149-2018).
PAYMENT_STEP_YUAN = Decimal("0.01")
#: Rotation (re-verification) period after the first verification, years.
DEFAULT_ROTATION_YEARS = 6
ROTATION_YEARS_RANGE = (5, 8)


def class_limit_percent(accuracy_class: str) -> Decimal:
    """The ± limit of a class ("1" → 1.0 %); ValueError names the unknown class."""
    try:
        return CLASS_LIMITS_PERCENT[accuracy_class]
    except KeyError:
        raise ValueError(
            f"accuracy class {accuracy_class!r} is not one of {sorted(CLASS_LIMITS_PERCENT)}"
        ) from None


def clock_limit_s(kind: str) -> Decimal:
    """≤ 5 s at first verification, ≤ 3 min afterwards (periodic or triggered)."""
    return CLOCK_LIMIT_FIRST_S if kind == "first" else CLOCK_LIMIT_SUBSEQUENT_S


def imax_from_rating(rated_power_w: Decimal | int, voltage_v: Decimal | int) -> Decimal:
    """Imax = rated power / nominal voltage, for piles without marked currents."""
    if Decimal(voltage_v) <= 0:
        raise ValueError("nominal voltage must be positive")
    return Decimal(rated_power_w) / Decimal(voltage_v)


def pile_energy_wh(pulses: int, constant_imp_per_kwh: int) -> Decimal:
    """Energy registered by the pile's meter: pulses / constant (Wh)."""
    return Decimal(pulses) * 1000 / Decimal(constant_imp_per_kwh)


def error_percent(pile_wh: Decimal, standard_wh: Decimal) -> Decimal:
    """γ = (E_pile − E_std) / E_std × 100 %; ValueError before any energy flowed."""
    if standard_wh <= 0:
        raise ValueError("no standard energy in the window: the error is undefined")
    return (pile_wh - standard_wh) / standard_wh * 100


def min_pulses_for_resolution(limit_percent: Decimal) -> int:
    """Fewest pulses for which one pulse is < limit/10 of the energy.

    Why: the rig counts whole pulses, so a window of N pulses has a
    resolution error of up to 100/N %.  Requiring 100/N < limit/10 keeps the
    counting error an order of magnitude below what is being judged
    (class 1: N ≥ 1001, class 2: N ≥ 501).
    """
    bound = Decimal(1000) / limit_percent
    return math.floor(bound) + 1


def window_energy_wh(constant_imp_per_kwh: int, limit_percent: Decimal) -> Decimal:
    """The energy one reading window must hold for the resolution rule above."""
    return pile_energy_wh(min_pulses_for_resolution(limit_percent), constant_imp_per_kwh)


def mean(values: list[Decimal]) -> Decimal:
    if not values:
        raise ValueError("mean of no readings")
    return sum(values, Decimal(0)) / len(values)


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round to a multiple of ``step``, halves to even (the 化整 rule of JJG).

    The verdict is taken on the mean error rounded to a tenth of the class
    limit (0.1 % for class 1), as verification regulations prescribe, so
    that 1.04 % on a class-1 pile is judged as 1.0 % (pass) and 1.05 % as
    1.0 % too (half to even) while 1.06 % becomes 1.1 % (fail).
    """
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * step


def to_ppm(percent: Decimal) -> int:
    """Percent → integer ppm for the ledger (0.31 % → 3100)."""
    return int((percent * 10000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def payment_error_yuan(
    amount_yuan: Decimal, energy_kwh: Decimal, unit_price_yuan_per_kwh: Decimal
) -> Decimal:
    """amount − energy × unit price, yuan (judged against ±0.01 yuan)."""
    return amount_yuan - energy_kwh * unit_price_yuan_per_kwh


def add_years(day: dt.date, years: int) -> dt.date:
    """Same calendar day ``years`` later; 29 Feb becomes 28 Feb in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def next_due_date(day: dt.date, rotation_years: int = DEFAULT_ROTATION_YEARS) -> dt.date:
    """Next verification due: the rotation period after this one, minus one day.

    Why minus one day: a certificate "valid for 6 years" from 2026-11-25 is
    valid up to and including 2032-11-24.  Rotation is 5–8 years depending on
    the instrument type, so anything else is refused.
    """
    low, high = ROTATION_YEARS_RANGE
    if not low <= rotation_years <= high:
        raise ValueError(f"rotation period must be {low}–{high} years, got {rotation_years}")
    return add_years(day, rotation_years) - dt.timedelta(days=1)
