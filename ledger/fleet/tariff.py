"""Time-of-use tariffs and the one billing computation every party must agree on.

The operator posts a ``tariff`` record per station; a ``billing`` record must be
reproducible from the session's power curve and that tariff, so a regulator (or
a consumer holding the log) can recompute any charge. This module is that
recomputation, shared by the simulator and usable by anomaly detectors, so the
rule and the generator can never drift apart.

Rule (documented in docs/fleet-simulator.md):

* Local time is China Standard Time (UTC+8, no daylight saving).
* Sample ``i`` of ``power_w`` covers ``[start_ms + i·interval_s·1000, …)`` and is
  assigned wholly to the ToU period containing its *start* minute of day.
* The billed energy is split across periods in proportion to the power
  samples: ``wh_p = billed_wh · W_p / ΣW`` (exact rational, no per-period
  rounding). With no samples or ΣW = 0, all energy falls in ``start_ms``'s period.
* ``energy_fen = round_half_up(Σ_p wh_p · energy_e4_p / 100_000)`` and the
  same for ``service_fen``; ``amount_fen = energy_fen + service_fen``.
  (Wh · 0.0001 yuan/kWh = 1e-7 yuan = 1e-5 fen, hence 100_000.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

CST_OFFSET_MS = 8 * 3_600_000
"""UTC+8: tariff periods are local wall-clock minutes in Hangzhou."""
DAY_MS = 86_400_000

# Zhejiang time-of-use periods for general commercial users (the bands that
# charging operators pass through), simplified from the provincial ToU scheme
# in force since 2021: sharp peak 09–11 and 15–17, peak 08–09, 13–15 and
# 17–22, valley 11–13 (Zhejiang's distinctive midday valley) and 22–08.
# (band, start_min, end_min)
ZHEJIANG_TOU: tuple[tuple[str, int, int], ...] = (
    ("valley", 0, 480),
    ("peak", 480, 540),
    ("sharp", 540, 660),
    ("valley", 660, 780),
    ("peak", 780, 900),
    ("sharp", 900, 1020),
    ("peak", 1020, 1320),
    ("valley", 1320, 1440),
)


def minute_of_day(t_ms: int) -> int:
    """Minute of the local (UTC+8) day for a Unix-ms instant."""
    return ((t_ms + CST_OFFSET_MS) % DAY_MS) // 60_000


def period_index(periods: Sequence[Mapping[str, int]], t_ms: int) -> int:
    """Index of the period that contains ``t_ms``'s local minute (periods cover 0–1440)."""
    minute = minute_of_day(t_ms)
    for i, period in enumerate(periods):
        if period["start_min"] <= minute < period["end_min"]:
            return i
    raise ValueError(f"tariff periods do not cover minute {minute}")


@lru_cache(maxsize=256)
def _minute_table(spans: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """Period index for each minute of the day (-1 where no period applies)."""
    table = [-1] * 1440
    for i, (start, end) in enumerate(spans):
        for minute in range(start, end):
            table[minute] = i
    if -1 in table:
        raise ValueError(f"tariff periods do not cover minute {table.index(-1)}")
    return tuple(table)


def _round_half_up(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def compute_charge(
    periods: Sequence[Mapping[str, int]],
    start_ms: int,
    interval_s: int,
    power_w: Sequence[int],
    billed_wh: int,
    price_factor_e4: int = 10_000,
) -> tuple[int, int]:
    """(energy_fen, service_fen) for ``billed_wh`` under ``periods`` (see module doc).

    ``price_factor_e4`` scales both prices (10_000 = as posted); the simulator
    uses it only to inject ``price_above_tariff`` faults.
    """
    weights = [0] * len(periods)
    spans = tuple((p["start_min"], p["end_min"]) for p in periods)
    table = _minute_table(spans)
    step = interval_s * 1000
    local0 = (start_ms + CST_OFFSET_MS) % DAY_MS
    if step == 60_000:  # one sample per minute: sum whole runs inside a period at once
        minute0, n, i = local0 // 60_000, len(power_w), 0
        while i < n:
            minute = (minute0 + i) % 1440
            index = table[minute]
            run = min(n - i, spans[index][1] - minute)
            chunk = power_w[i : i + run]
            weights[index] += sum(chunk) if min(chunk) >= 0 else sum(max(p, 0) for p in chunk)
            i += run
    else:
        for i, p in enumerate(power_w):
            weights[table[(local0 + i * step) // 60_000 % 1440]] += max(p, 0)
    total = sum(weights)
    if total == 0:
        weights = [0] * len(periods)
        weights[period_index(periods, start_ms)] = 1
        total = 1
    energy_num = sum(w * p["energy_e4"] for w, p in zip(weights, periods))
    service_num = sum(w * p["service_e4"] for w, p in zip(weights, periods))
    den = total * 100_000 * 10_000
    return (
        _round_half_up(billed_wh * energy_num * price_factor_e4, den),
        _round_half_up(billed_wh * service_num * price_factor_e4, den),
    )


def make_periods(
    valley_e4: int, peak_e4: int, sharp_e4: int, service_e4: int, service_valley_e4: int
) -> list[dict[str, Any]]:
    """Tariff-record ``periods`` on the Zhejiang ToU bands with the given prices."""
    energy = {"valley": valley_e4, "peak": peak_e4, "sharp": sharp_e4}
    return [
        {
            "start_min": start,
            "end_min": end,
            "energy_e4": energy[band],
            "service_e4": service_valley_e4 if band == "valley" else service_e4,
        }
        for band, start, end in ZHEJIANG_TOU
    ]
