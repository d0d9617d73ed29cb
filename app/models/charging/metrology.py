"""Metrology arithmetic of JJG 1149-2022 (DC) and JJG 1148-2022 (AC) pile verification.

Clause references below are to the 2022 texts; where the workstation could not
read a clause's wording the constant says so and docs/metrology.md names the
source actually used.  A regulator reviewing a verdict should find every rule
that produced it in this file.

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
from decimal import Decimal

__all__ = [
    "CLASS_LIMITS_PERCENT",
    "CLOCK_LIMIT_FIRST_S",
    "CLOCK_LIMIT_SUBSEQUENT_S",
    "INSULATION_MIN_MOHM",
    "PAYMENT_STEP_YUAN",
    "VERIFICATION_CYCLE_YEARS",
    "certificate_valid_until",
    "class_limit_percent",
    "clock_limit_s",
    "derived_imin",
    "error_percent",
    "imax_from_rating",
    "mean",
    "min_pulses_for_resolution",
    "next_due_date",
    "payment_error_yuan",
    "pile_energy_wh",
    "pulses_per_reading",
    "rounding_step",
    "window_energy_wh",
]

#: Maximum permissible working error per accuracy class (JJG 1148/1149-2022), %.
CLASS_LIMITS_PERCENT: dict[str, Decimal] = {
    "0.5": Decimal("0.5"),
    "1": Decimal("1.0"),
    "2": Decimal("2.0"),
}
#: Insulation resistance is a verification CONDITION in the 2022 texts (not an item):
#: below this the pile "不满足检定条件", is not energised and gets no error test.
INSULATION_MIN_MOHM = Decimal(5)
#: Verification cycle (检定周期) that sets the certificate's 有效期: the regulation's,
#: quoted by local rules as 3 years for piles; configurable per verifying body.  NOT
#: the 5–8-year rotation of Hangzhou's supervision scheme (that is planning's clock).
VERIFICATION_CYCLE_YEARS = 3
VERIFICATION_CYCLE_RANGE = (1, 3)
#: Unmarked Imin (piles installed before 2023-01-01 without marked currents): Imax / 10.
IMIN_FRACTION_UNMARKED = Decimal("0.1")
#: A gated reading lasts at least this many rig seconds and holds at least this many
#: whole pulses.  The 2022 texts' own figure could not be read (docs/metrology.md):
#: these are the workstation's, sized so the pile's and the rig's noise average to a
#: fifth of the rounding step's margin and a guided run stays within 10 minutes.
READING_MIN_S = 60
READING_MIN_PULSES = 20
#: Clock time error limits: first verification / subsequent (periodic, triggered).
CLOCK_LIMIT_FIRST_S = Decimal(5)
CLOCK_LIMIT_SUBSEQUENT_S = Decimal(180)
#: Minimum pay step: |amount − energy × unit price| must not exceed it.  JJG 1149-2018
#: item (付费金额误差), not in the 2022 texts: kept only as an OPTIONAL check.
PAYMENT_STEP_YUAN = Decimal("0.01")
#: Supervision rotation (Hangzhou "5—8年到期轮换"), years: planning's clock, never the
#: certificate's validity (see certificate_valid_until).
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
    """时钟时刻误差 (JJG 1148/1149-2022 §5.2): ≤ 5 s first, ≤ 3 min at subsequent verification.

    Only for piles with time-of-use billing (分时计费); for others the item does not apply.
    """
    return CLOCK_LIMIT_FIRST_S if kind == "first" else CLOCK_LIMIT_SUBSEQUENT_S


def rounding_step(limit_percent: Decimal) -> Decimal:
    """化整间距: a tenth of the class limit (0.1 % for class 1, 0.2 % for class 2).

    The working error is judged on the mean of the readings rounded to this
    step (JJG 1148/1149-2022 §5.1 with the rounding rule of the verification
    result processing clause; clause number not read, see docs/metrology.md).
    """
    return limit_percent / 10


def derived_imin(imax_a: Decimal) -> Decimal:
    """Imin of a pile with no marked minimum current: Imax / 10 (printed as derived)."""
    return Decimal(imax_a) * IMIN_FRACTION_UNMARKED


def pulses_per_reading(
    power_w: Decimal,
    constant_imp_per_kwh: int,
    *,
    min_s: int = READING_MIN_S,
    min_pulses: int = READING_MIN_PULSES,
) -> int:
    """Whole pulses of one gated reading at ``power_w``: ≥ ``min_s`` rig seconds, ≥ ``min_pulses``.

    Why not "≥ 1000 pulses for 0.1 % resolution" any more: a reading gated
    between pulse edges loses no fraction of a pulse, so its resolution is the
    rig's standard, not the pulse count; the count only has to make the
    reading long enough to average the noise.
    """
    if power_w <= 0:
        raise ValueError("a load point needs positive power")
    per_s = Decimal(power_w) / 3600 * constant_imp_per_kwh / 1000  # pulses per second
    return max(min_pulses, math.ceil(per_s * min_s))


def certificate_valid_until(day: dt.date, cycle_years: int = VERIFICATION_CYCLE_YEARS) -> dt.date:
    """有效期至: the verification cycle after the verification day, minus one day.

    Why minus one day: a 3-year certificate issued 2026-11-25 is valid up to
    and including 2029-11-24.  Why 1–3 years only: the cycle is the
    regulation's (≤ 3 years for piles as local rules quote it); a longer
    "validity" is the supervision rotation, which belongs to planning.
    """
    low, high = VERIFICATION_CYCLE_RANGE
    if not low <= cycle_years <= high:
        raise ValueError(f"verification cycle must be {low}–{high} years, got {cycle_years}")
    return add_years(day, cycle_years) - dt.timedelta(days=1)


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
