"""Verification of an installed taximeter to JJG 517-2016 出租汽车计价器检定规程.

What a reviewer should find here, in one place: the plan (distance runs + a waiting-time
run, by the roller or the road method), the error of a run, the rounding rule, the
verdict, and the signed ``taxi_verification`` body (ledger/taxi/records.py, exactly its
schema). Every figure is a named constant below; docs/metrology.md ("Taxi meters") says
which were confirmed and which could not be read.

Sign convention (JJG 517): E = (S_meter − S_std) / S_std. A meter that shows more km than
were driven over-charges the passenger: positive error. Installed limits −4 % … +1 %
(§5.2, the ledger's ``DISTANCE_MPE_PPM``), deliberately lopsided against over-charging.

Readings come from either

* the **roller** bench (滚轮测距法) or a **road** course counter (行车测距法) over serial
  (app/devices/taxi_standard.py): the standard's true distance and elapsed time, the
  vehicle sensor's pulses, and the meter's display; or
* the inspector, who types the standard's distance (or the measured course length) and
  the meter's display.

Qt-free and I/O-free except :func:`measure_distance_run` / :func:`measure_time_run`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from app.models.verification_parts import CST, ChecklistItem, round_to_step, to_ppm
from app.models.verification_result import RunTiming, VerdictMixin
from ledger.keys import SigningKey
from ledger.records import Record, sign_record
from ledger.taxi.records import DISTANCE_MPE_PPM, REGULATION, one_year_after

__all__ = [
    "CHECKLIST",
    "DISTANCE_MPE_PERCENT",
    "DISTANCE_ROUNDING_PERCENT",
    "DISTANCE_RUNS",
    "METHODS",
    "REGULATION",
    "TEST_DISTANCE_M",
    "TIME_MPE_PERCENT",
    "TIME_ROUNDING_PERCENT",
    "TIME_TEST_S",
    "DistanceReading",
    "TaxiPlan",
    "TaxiResult",
    "TaxiSpec",
    "TimeReading",
    "VerificationError",
    "certificate_number",
    "distance_error_percent",
    "judge",
    "meter_distance_m",
    "plan_verification",
    "record_body",
    "sign_result",
    "time_error_percent",
    "valid_until",
    "verification_id",
]

#: JJG 517-2016 §5.2, installed meter (装车后的计价器计程最大允许误差): −4 % … +1 %.
DISTANCE_MPE_PERCENT = (
    Decimal(DISTANCE_MPE_PPM[0]) / 10_000,
    Decimal(DISTANCE_MPE_PPM[1]) / 10_000,
)
#: Limit of the waiting-time (计时) error, ± %. NOT read from the text: §5.2 (installed)
#: is a distance limit; the time limit belongs to §5.1 (本机), whose figure was not read.
#: Workstation's reading: ±0.2 % (e.g. ±1.2 s over the 600 s test), two orders above the
#: stopwatch's ±0.1 s/h a secondary source gives for the standard. See docs/metrology.md.
TIME_MPE_PERCENT = Decimal("0.2")
#: Errors are rounded half-to-even to these steps before being judged and printed
#: (workstation's choice, the text's 化整 clause was not read: a tenth of the +1 % limit
#: for distance; the time error to 0.01 %).
DISTANCE_ROUNDING_PERCENT = Decimal("0.1")
TIME_ROUNDING_PERCENT = Decimal("0.01")
#: Test distance per run as the meter shows it, m: the roller is stopped when the meter
#: shows 1.000 km and the standard's distance is read (as a verification station reports
#: doing; the text's test points were not read).
TEST_DISTANCE_M = 1000
#: Distance runs per verification (workstation's choice; each run is judged).
DISTANCE_RUNS = 2
#: Waiting-time test duration, true seconds (workstation's choice).
TIME_TEST_S = 600
#: Speed of the distance runs on the roller, km/h.
TEST_SPEED_KMH = 40
#: 检定周期: 1 year (JJG 517-2016 §7.4; the ledger caps validity at one calendar year).
CYCLE_YEARS = 1
METHODS = ("roller", "road")
KINDS = ("first", "periodic", "triggered")


class VerificationError(ValueError):
    """A reading or plan the verification cannot use; the message says what to fix."""


#: Checks before the error test, in the wizard's order (JJG 517-2016 §6 通用技术要求;
#: the clause titles are from the text's table of contents).
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("appearance", "Appearance and structure intact, no damage (§6.1)"),
    ChecklistItem("nameplate", "Nameplate complete: maker, model, serial, K constant (§6.2)"),
    ChecklistItem("display", "Display legible: fare, distance, waiting time, unit price (§6.3)"),
    ChecklistItem("sensor", "Distance sensor and its cable sealed and undamaged (§6.4)"),
    ChecklistItem("hire_switch", "For-hire / hired switch works (§6.5)"),
    ChecklistItem("clock", "Real-time clock correct (§6.6)"),
    ChecklistItem("printing", "Receipt prints: plate, time, distance, waiting time, fare"),
    ChecklistItem("seals", "Seals intact before the test"),
)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class TaxiSpec:
    """The taxi and meter under test, as the ``taximeter`` record and nameplate say."""

    plate: str
    meter_serial: str
    k_constant: int
    model: str = ""
    maker: str = ""
    operator: str = ""
    terminal_id: str = ""

    def __post_init__(self) -> None:
        if not self.plate.strip():
            raise VerificationError("a plate is needed")
        if not self.meter_serial.strip():
            raise VerificationError("the meter's serial is needed")
        if int(self.k_constant) <= 0:
            raise VerificationError(f"K constant {self.k_constant}: must be positive pulses/km")


@dataclass(frozen=True)
class TaxiPlan:
    taxi: TaxiSpec
    method: str = "roller"
    kind: str = "periodic"
    distance_runs: int = DISTANCE_RUNS
    test_distance_m: int = TEST_DISTANCE_M
    time_test_s: int = TIME_TEST_S

    @property
    def regulation(self) -> str:
        return REGULATION


def plan_verification(
    taxi: TaxiSpec,
    *,
    method: str = "roller",
    kind: str = "periodic",
    distance_runs: int = DISTANCE_RUNS,
    test_distance_m: int = TEST_DISTANCE_M,
    time_test_s: int = TIME_TEST_S,
) -> TaxiPlan:
    if method not in METHODS:
        raise VerificationError(f"method must be roller or road: {method!r}")
    if kind not in KINDS:
        raise VerificationError(f"verification kind must be first/periodic/triggered: {kind!r}")
    if distance_runs < 1:
        raise VerificationError("at least one distance run is needed")
    if test_distance_m < 100:
        raise VerificationError("a distance run shorter than 100 m cannot resolve 0.1 %")
    if time_test_s < 60:
        raise VerificationError("a waiting-time test shorter than 60 s cannot resolve 0.2 %")
    return TaxiPlan(taxi, method, kind, distance_runs, test_distance_m, time_test_s)


# --------------------------------------------------------------------------- arithmetic


def meter_distance_m(pulses: int, k_constant: int) -> Decimal:
    """What a meter set to ``k_constant`` pulses/km counts for ``pulses``: pulses / K km."""
    if k_constant <= 0:
        raise VerificationError("the K constant must be positive")
    return Decimal(pulses) * 1000 / Decimal(k_constant)


def distance_error_percent(meter_m: Decimal, standard_m: Decimal) -> Decimal:
    """E = (S_meter − S_std) / S_std × 100 % — positive: the meter over-charges."""
    if Decimal(standard_m) <= 0:
        raise VerificationError("no standard distance: the error is undefined")
    return (Decimal(meter_m) - Decimal(standard_m)) / Decimal(standard_m) * 100


def time_error_percent(meter_s: Decimal, standard_s: Decimal) -> Decimal:
    """(t_meter − t_std) / t_std × 100 % — positive: the meter counts waiting time fast."""
    if Decimal(standard_s) <= 0:
        raise VerificationError("no standard time: the error is undefined")
    return (Decimal(meter_s) - Decimal(standard_s)) / Decimal(standard_s) * 100


@dataclass(frozen=True)
class DistanceReading:
    """One distance run: the standard's true distance and the meter's distance.

    ``meter_m`` is the display; on the roller without a display reading the meter's
    distance is ``pulses`` / K (:func:`meter_distance_m`)."""

    run_index: int
    standard_m: Decimal
    meter_m: Decimal | None = None
    pulses: int | None = None
    source: str = "typed"  # "typed" or "standard" (over serial)
    at_ms: int = 0

    def meter_distance(self, k_constant: int) -> Decimal:
        if self.meter_m is not None:
            return Decimal(self.meter_m)
        if self.pulses is None:
            raise VerificationError(
                f"distance run {self.run_index + 1}: neither the meter's display nor pulses"
            )
        return meter_distance_m(self.pulses, k_constant)

    def error_percent(self, k_constant: int) -> Decimal:
        return distance_error_percent(self.meter_distance(k_constant), Decimal(self.standard_m))


@dataclass(frozen=True)
class TimeReading:
    """The waiting-time run: the standard's elapsed seconds and the meter's waiting time."""

    standard_s: Decimal
    meter_s: Decimal
    source: str = "typed"
    at_ms: int = 0

    def error_percent(self) -> Decimal:
        return time_error_percent(Decimal(self.meter_s), Decimal(self.standard_s))


def _margin(error: Decimal) -> Decimal:
    """How far inside the distance limits an error is (negative: outside)."""
    low, high = DISTANCE_MPE_PERCENT
    return min(high - error, error - low)


@dataclass(frozen=True)
class TaxiResult(VerdictMixin):
    plan: TaxiPlan
    checklist: Mapping[str, bool]
    distance: tuple[DistanceReading, ...]
    distance_errors: tuple[Decimal, ...]
    """each run's error, rounded to DISTANCE_ROUNDING_PERCENT"""
    distance_error: Decimal
    """the run error closest to (or farthest beyond) a limit: what is judged and recorded"""
    time: TimeReading
    time_error: Decimal
    finished_ms: int
    seal_closed: bool = True
    standard: Mapping[str, Any] | None = None
    reasons: tuple[str, ...] = ()

    @staticmethod
    def cycle(day: dt.date) -> dt.date:
        return valid_until(day)


def judge(
    plan: TaxiPlan,
    checklist: Mapping[str, bool],
    distance: Sequence[DistanceReading],
    time_reading: TimeReading,
    *,
    finished_ms: int | None = None,
    seal_closed: bool = True,
    standard: Mapping[str, Any] | None = None,
) -> TaxiResult:
    """The verdict: pass only if every check conforms, every distance run is within
    −4 % … +1 % and the waiting-time error within ±TIME_MPE_PERCENT (rounded errors).

    Raises VerificationError when fewer distance runs than planned were taken (a verdict
    on a partial test would be a certificate for something not tested)."""
    if len(distance) < plan.distance_runs:
        raise VerificationError(
            f"{len(distance)} of {plan.distance_runs} distance runs taken; "
            "finish the distance test before judging"
        )
    reasons = [f"check failed: {c.key}" for c in CHECKLIST if not checklist.get(c.key, False)]
    k = plan.taxi.k_constant
    runs = tuple(sorted(distance, key=lambda r: r.run_index))
    errors = tuple(round_to_step(r.error_percent(k), DISTANCE_ROUNDING_PERCENT) for r in runs)
    worst = min(errors, key=lambda e: (_margin(e), -abs(e)))
    low, high = DISTANCE_MPE_PERCENT
    for r, e in zip(runs, errors, strict=True):
        if not low <= e <= high:
            reasons.append(
                f"distance run {r.run_index + 1}: error {e:+}% outside {low}% … +{high}%"
            )
    t_error = round_to_step(time_reading.error_percent(), TIME_ROUNDING_PERCENT)
    if abs(t_error) > TIME_MPE_PERCENT:
        reasons.append(f"waiting time: error {t_error:+}% beyond ±{TIME_MPE_PERCENT}%")
    return TaxiResult(
        plan=plan,
        checklist=dict(checklist),
        distance=runs,
        distance_errors=errors,
        distance_error=worst,
        time=time_reading,
        time_error=t_error,
        finished_ms=int(time.time() * 1000) if finished_ms is None else finished_ms,
        seal_closed=seal_closed,
        standard=standard,
        reasons=tuple(reasons),
    )


def valid_until(day: dt.date) -> dt.date:
    """有效期至: one year after the verification day, minus one day (2026-12-06 → 2027-12-05)."""
    return one_year_after(day) - dt.timedelta(days=1)


# --------------------------------------------------------------------------- signed result


def verification_id(result: TaxiResult) -> str:
    """Stable ID of one verification (meter + finish time): signing twice never doubles."""
    when = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST)
    return f"TV-{result.plan.taxi.meter_serial}-{when:%Y%m%d%H%M%S}"


def certificate_number(result: TaxiResult, prefix: str = "HZJL") -> str:
    """检定证书 (JD, pass) or 检定结果通知书 (TZ, fail) number, derived from the ID."""
    digest = hashlib.sha256(verification_id(result).encode()).hexdigest()[:6].upper()
    kind = "JD" if result.passed else "TZ"
    return f"{prefix}T{kind}{result.day:%Y%m%d}-{digest}"


def record_body(
    result: TaxiResult, *, inspector_id: str, certificate_no: str | None = None
) -> dict[str, Any]:
    """The ledger ``taxi_verification`` body, exactly its schema (docs/records.md).

    ``next_due`` of a failed verification is the verification day itself: the field is
    a required date, and the meter is valid on no later day (the status shows it failed
    for its distance error or "result fail", not for an unreadable date)."""
    taxi = result.plan.taxi
    due = result.valid_until() or result.day
    return {
        "verification_id": verification_id(result),
        "plate": taxi.plate,
        "meter_serial": taxi.meter_serial,
        "inspector_id": inspector_id,
        "at_ms": result.finished_ms,
        "kind": result.plan.kind,
        "method": result.plan.method,
        "regulation": REGULATION,
        "distance_error_ppm": to_ppm(result.distance_error),
        "time_error_ppm": to_ppm(result.time_error),
        "k_constant": int(taxi.k_constant),
        "result": result.verdict,
        "certificate_no": certificate_no or certificate_number(result),
        "next_due": due.isoformat(),
        "seal_closed": bool(result.seal_closed),
    }


def sign_result(
    result: TaxiResult, key: SigningKey, *, inspector_id: str, certificate_no: str | None = None
) -> Record:
    """The inspector's signed ``taxi_verification`` record, ready for the outbox."""
    body = record_body(result, inspector_id=inspector_id, certificate_no=certificate_no)
    return sign_record("taxi_verification", body, key)


# --------------------------------------------------------------------------- serial runs


class StandardLike(Protocol):
    """What a run needs from the standard (app.devices.taxi_standard.TaxiStandard)."""

    def start_run(self) -> None: ...

    def stop_run(self) -> None: ...

    def run(self) -> Any: ...


class TaxiLike(Protocol):
    """The taxi side of a run (the simulator's SimulatedTaxi; on site, the driver)."""

    def drive(self, meter_m: int, speed_kmh: int) -> None: ...

    def wait(self, seconds: int) -> None: ...

    def display(self) -> Any: ...

    def clear(self) -> None: ...


def _until_idle(
    taxi: TaxiLike,
    what: str,
    timing: RunTiming,
    should_stop: Callable[[], bool],
    standard: StandardLike,
) -> Any:
    deadline = time.monotonic() + timing.timeout_s
    while True:
        shown = taxi.display()
        if shown.state == "IDLE":
            return shown
        if should_stop():
            standard.stop_run()
            raise VerificationError("the inspector stopped the run")
        if time.monotonic() > deadline:
            standard.stop_run()
            raise VerificationError(
                f"{what}: the run did not end within {timing.timeout_s:.0f} s; "
                "check the roller and the meter"
            )
        timing.sleep(timing.poll_s)


def measure_distance_run(
    standard: StandardLike,
    taxi: TaxiLike,
    plan: TaxiPlan,
    run_index: int,
    *,
    timing: RunTiming | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> DistanceReading:
    """One distance run: zero the meter and the standard, roll until the meter shows the
    test distance, read the standard's true distance and pulses."""
    timing = timing or RunTiming()
    what = f"distance run {run_index + 1}"
    _until_idle(taxi, what, timing, should_stop, standard)
    taxi.clear()
    standard.start_run()
    taxi.drive(plan.test_distance_m, TEST_SPEED_KMH)
    shown = _until_idle(taxi, what, timing, should_stop, standard)
    standard.stop_run()
    state = standard.run()
    return DistanceReading(
        run_index=run_index,
        standard_m=state.distance_m,
        meter_m=Decimal(shown.distance_m),
        pulses=state.pulses,
        source="standard",
        at_ms=int(time.time() * 1000),
    )


def measure_time_run(
    standard: StandardLike,
    taxi: TaxiLike,
    plan: TaxiPlan,
    *,
    timing: RunTiming | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> TimeReading:
    """The waiting-time run: zero both, stand still for the test time, read both clocks."""
    timing = timing or RunTiming()
    _until_idle(taxi, "waiting-time run", timing, should_stop, standard)
    taxi.clear()
    standard.start_run()
    taxi.wait(plan.time_test_s)
    shown = _until_idle(taxi, "waiting-time run", timing, should_stop, standard)
    standard.stop_run()
    state = standard.run()
    return TimeReading(
        standard_s=state.elapsed_s,
        meter_s=shown.wait_s,
        source="standard",
        at_ms=int(time.time() * 1000),
    )
