"""Verification of a fuel dispenser nozzle to JJG 443-2023 燃油加油机检定规程 (试行).

What a reviewer should find here, in one place: the plan (flow points × runs), the
error of one run, the error and repeatability of a flow point, the rounding rule, the
verdict, and the signed ``fuel_verification`` body (ledger/fuel/records.py). Every
figure the text sets is a named constant below; docs/metrology.md ("Fuel dispensers")
says which were confirmed from which source and which could not be read.

Why Qt-free and I/O-free except :func:`measure_run_on_flowmeter`: the arithmetic is
tested without a GUI from hand-computed numbers, and the wizard's worker only calls
these functions.

Arithmetic is :class:`~decimal.Decimal` end to end; the ledger stores integers (mL,
ppm, 0.1 °C). The generic rounding helpers (``round_to_step``, ``to_ppm``,
and ``ChecklistItem`` from the pile procedure) are imported from ``app.models.charging.metrology``
and ``app.models.charging.verification`` — they name no instrument kind; the lead may move them
to a core module.

Readings come from either

* a standard metal measure (标准金属量器, e.g. a 20 L can): the inspector types the
  can's scale reading and the temperatures of the fuel in the can and at the
  dispenser; the standard volume is corrected to the dispenser's temperature
  (:func:`standard_volume_ml`); or
* a standard flowmeter in series with the nozzle (app/devices/flowmeter.py): its batch
  volume at line temperature, corrected the same way if its temperature differs from
  the dispenser's.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol

from app.models.verification_parts import CST, ChecklistItem, round_to_step, to_ppm
from app.models.verification_result import RunTiming, VerdictMixin
from ledger.keys import SigningKey
from ledger.records import Record, sign_record

__all__ = [
    "BETA_FUEL_PER_C",
    "BETA_STEEL_MEASURE_PER_C",
    "CHECKLIST",
    "CYCLE_MONTHS",
    "MAX_TEMPERATURE_DIFFERENCE_C",
    "MPE_PERCENT",
    "NO_DUE_DATE",
    "REGULATION",
    "REPEATABILITY_MAX_PERCENT",
    "ROUNDING_STEP_PERCENT",
    "RUNS_PER_POINT",
    "STANDARD_MAX_ERROR_PERCENT",
    "ChecklistItem",
    "DispenserSpec",
    "FlowPoint",
    "FuelPlan",
    "FuelResult",
    "PointResult",
    "RunReading",
    "certificate_number",
    "judge",
    "plan_fingerprint",
    "plan_verification",
    "point_result",
    "record_body",
    "run_error_percent",
    "sign_result",
    "standard_volume_ml",
    "valid_until",
    "verification_id",
]

REGULATION = "JJG 443-2023"
#: Maximum permissible error of the dispenser's volume indication at every flow point, %.
MPE_PERCENT = Decimal("0.30")
#: Repeatability limit at every flow point, %: the spread (max − min) of the runs'
#: errors at that point (this workstation's reading of "重复性", see docs/metrology.md).
REPEATABILITY_MAX_PERCENT = Decimal("0.10")
#: Coarsest standard accepted, % of volume: a third of the MPE (the usual 1/3 rule for a
#: verification standard; the text's own figure for the standard was not read).
STANDARD_MAX_ERROR_PERCENT = MPE_PERCENT / 3
#: Runs (measurements) per flow point.
RUNS_PER_POINT = 3
#: Errors are rounded to this step (half to even) before they are judged and printed.
#: Workstation's choice (the text's 化整 clause was not read): 0.01 %, the resolution
#: a 20 L measure read to 1 mL (0.005 %) supports, and a tenth of the repeatability limit.
ROUNDING_STEP_PERCENT = Decimal("0.01")
#: 检定周期: 6 months for dispensers used in trade settlement (JJG 443 as quoted by
#: the sources in docs/metrology.md: "一般不超过6个月/半年"); the certificate's 有效期至
#: is the day before the same date 6 months later.
CYCLE_MONTHS = 6
#: next_due of a failed verification (the ledger field is required and non-empty).
NO_DUE_DATE = "none"
#: Volume temperature expansion coefficients of the correction, 1/°C, as JJG 443-2006
#: §7.6 gives them (quoted by a secondary source; the 2023 text's table was not read):
#: petrol 12×10⁻⁴ (ethanol petrol taken as petrol), light diesel 9×10⁻⁴, a stainless-steel
#: measure 50×10⁻⁶ (a carbon-steel one would be 33×10⁻⁶).
BETA_FUEL_PER_C: Mapping[str, Decimal] = {
    "92": Decimal("0.0012"),
    "95": Decimal("0.0012"),
    "98": Decimal("0.0012"),
    "E92": Decimal("0.0012"),
    "E95": Decimal("0.0012"),
    "0": Decimal("0.0009"),
    "-10": Decimal("0.0009"),
    "-20": Decimal("0.0009"),
    "-35": Decimal("0.0009"),
}
BETA_STEEL_MEASURE_PER_C = Decimal("0.000050")
#: Largest fuel temperature difference between the dispenser and the standard for a
#: valid run, °C (JJG 443-98 as quoted: "否则不能进行检测"; the 2023 figure was not read).
MAX_TEMPERATURE_DIFFERENCE_C = Decimal(4)
#: Reference temperature of a standard metal measure's nominal volume, °C.
MEASURE_REFERENCE_C = Decimal(20)
#: Flow points of a car dispenser when the nameplate gives none, L/min (workstation's
#: default: the brief's "Qmax ~ 40–50, Qmin ~ 5"); the medium point is their mean.
DEFAULT_QMAX_L_MIN = Decimal(40)
DEFAULT_QMIN_L_MIN = Decimal(5)
#: Default delivered volume per run: one 20 L standard measure.
DEFAULT_RUN_VOLUME_ML = 20_000


class VerificationError(ValueError):
    """A reading or plan the verification cannot use; the message says what to fix."""


# --------------------------------------------------------------------------- checklist


#: Checks before the error test (通用技术要求 / 外观检查), in the wizard's order.
CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("nameplate", "Nameplate and markings complete (maker, model, serial, Qmax/Qmin)"),
    ChecklistItem("display", "Volume, amount and unit price displays legible and complete"),
    ChecklistItem("price_display", "Unit price shown equals the station's posted price"),
    ChecklistItem("seals", "Seals intact at all three positions (transducer, encoder, board)"),
    ChecklistItem("software_id", "Software identifier shown and matches the type approval"),
    ChecklistItem("hose_nozzle", "Hose and nozzle without leaks; nozzle shuts off"),
)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class DispenserSpec:
    """The dispenser nozzle under test, as its registry record and nameplate say."""

    dispenser_id: str
    nozzle: int = 1
    product: str = "92"
    qmax_l_min: Decimal = DEFAULT_QMAX_L_MIN
    qmin_l_min: Decimal = DEFAULT_QMIN_L_MIN
    station: str = ""
    operator: str = ""
    maker: str = ""
    model: str = ""
    serial: str = ""

    def __post_init__(self) -> None:
        if not self.dispenser_id:
            raise VerificationError("a dispenser ID is needed")
        if self.nozzle < 1:
            raise VerificationError("nozzles are numbered from 1")
        if self.product not in BETA_FUEL_PER_C:
            raise VerificationError(f"unknown product {self.product!r}")
        if not Decimal(0) < Decimal(self.qmin_l_min) < Decimal(self.qmax_l_min):
            raise VerificationError(
                f"flow range {self.qmin_l_min}–{self.qmax_l_min} L/min: need 0 < Qmin < Qmax"
            )


@dataclass(frozen=True)
class FlowPoint:
    """One flow point: label (Qmax, Qmid, Qmin), nominal flow in mL/min, run volume."""

    index: int
    label: str
    flow_ml_min: int
    run_volume_ml: int


@dataclass(frozen=True)
class FuelPlan:
    dispenser: DispenserSpec
    points: tuple[FlowPoint, ...]
    runs_per_point: int = RUNS_PER_POINT
    kind: str = "periodic"

    @property
    def regulation(self) -> str:
        return REGULATION


def plan_verification(
    dispenser: DispenserSpec,
    *,
    kind: str = "periodic",
    runs_per_point: int = RUNS_PER_POINT,
    run_volume_ml: int = DEFAULT_RUN_VOLUME_ML,
    medium_point: bool = True,
) -> FuelPlan:
    """Qmax, (Qmid,) Qmin, ``runs_per_point`` runs each, ``run_volume_ml`` per run."""
    if kind not in ("first", "periodic", "triggered"):
        raise VerificationError(f"verification kind must be first/periodic/triggered: {kind!r}")
    if runs_per_point < 2:
        raise VerificationError("repeatability needs at least two runs per flow point")
    if run_volume_ml <= 0:
        raise VerificationError("a run must deliver a positive volume")
    qmax = Decimal(dispenser.qmax_l_min) * 1000
    qmin = Decimal(dispenser.qmin_l_min) * 1000
    flows = [("Qmax", qmax)]
    if medium_point:
        flows.append(("Qmid", (qmax + qmin) / 2))
    flows.append(("Qmin", qmin))
    points = tuple(
        FlowPoint(i, label, int(q.to_integral_value()), run_volume_ml)
        for i, (label, q) in enumerate(flows)
    )
    return FuelPlan(dispenser, points, runs_per_point, kind)


# --------------------------------------------------------------------------- arithmetic


def standard_volume_ml(
    reading_ml: Decimal,
    *,
    product: str,
    standard_temp_c: Decimal | None,
    dispenser_temp_c: Decimal | None,
    metal_measure: bool,
) -> Decimal:
    """The standard volume at the dispenser's fuel temperature, mL.

    V_B = V_s · [1 + β_y·(t_J − t_B) + β_B·(t_B − 20)] — V_s the reading, t_B the fuel
    temperature in the standard, t_J at the dispenser, β_y the fuel's and β_B the
    metal measure's volume expansion coefficient (β_B term only for a metal measure,
    whose scale is true at 20 °C; a flowmeter reads volume at line temperature). Why:
    the same mass of fuel occupies more volume where it is warmer, so a can filled
    with fuel colder than at the meter under-states what the meter saw. Without both
    temperatures the reading is used as it is (and the record says so).
    """
    v = Decimal(reading_ml)
    if v <= 0:
        raise VerificationError("the standard's reading must be a positive volume")
    if standard_temp_c is None or dispenser_temp_c is None:
        return v
    factor = Decimal(1) + BETA_FUEL_PER_C[product] * (
        Decimal(dispenser_temp_c) - Decimal(standard_temp_c)
    )
    if metal_measure:
        factor += BETA_STEEL_MEASURE_PER_C * (Decimal(standard_temp_c) - MEASURE_REFERENCE_C)
    return v * factor


def run_error_percent(indicated_ml: Decimal, standard_ml: Decimal) -> Decimal:
    """E = (V_J − V_B) / V_B × 100 % — positive: the dispenser shows more than it gave."""
    if Decimal(standard_ml) <= 0:
        raise VerificationError("no standard volume: the error is undefined")
    return (Decimal(indicated_ml) - Decimal(standard_ml)) / Decimal(standard_ml) * 100


def rounded(percent: Decimal) -> Decimal:
    """The error as judged and printed: to ROUNDING_STEP_PERCENT, halves to even."""
    return round_to_step(Decimal(percent), ROUNDING_STEP_PERCENT)


@dataclass(frozen=True)
class RunReading:
    """One run: what the dispenser showed, what the standard read, the temperatures."""

    point_index: int
    run_index: int
    indicated_ml: int
    reading_ml: Decimal
    standard_temp_c: Decimal | None = None
    dispenser_temp_c: Decimal | None = None
    source: str = "measure"  # "measure": typed can reading; "flowmeter": over serial
    at_ms: int = 0

    def standard_ml(self, product: str) -> Decimal:
        return standard_volume_ml(
            self.reading_ml,
            product=product,
            standard_temp_c=self.standard_temp_c,
            dispenser_temp_c=self.dispenser_temp_c,
            metal_measure=self.source == "measure",
        )

    def error_percent(self, product: str) -> Decimal:
        return run_error_percent(Decimal(self.indicated_ml), self.standard_ml(product))

    @property
    def temperature_difference_c(self) -> Decimal | None:
        if self.standard_temp_c is None or self.dispenser_temp_c is None:
            return None
        return Decimal(self.dispenser_temp_c) - Decimal(self.standard_temp_c)

    @property
    def valid(self) -> bool:
        """False when the fuel temperatures differ too much for the run to count."""
        diff = self.temperature_difference_c
        return diff is None or abs(diff) <= MAX_TEMPERATURE_DIFFERENCE_C


@dataclass(frozen=True)
class PointResult:
    point: FlowPoint
    runs: tuple[RunReading, ...]
    errors_percent: tuple[Decimal, ...]
    worst_percent: Decimal
    """the run error of largest magnitude, rounded (what is judged against the MPE)"""
    repeat_percent: Decimal
    """max − min of the runs' errors, rounded (judged against the repeatability limit)"""
    error_passed: bool
    repeat_passed: bool

    @property
    def passed(self) -> bool:
        return self.error_passed and self.repeat_passed


def point_result(point: FlowPoint, runs: Sequence[RunReading], product: str) -> PointResult:
    """Judge one flow point: every run within ±MPE and the spread within the limit.

    Each run's error is rounded first, then compared (so 0.304 % → 0.30 % passes and
    0.305 % → 0.30 % too, half to even, while 0.306 % → 0.31 % fails); the spread is the
    difference of the rounded errors.
    """
    if len(runs) < 2:
        raise VerificationError(f"{point.label}: repeatability needs two or more runs")
    errors = tuple(rounded(r.error_percent(product)) for r in runs)
    worst = max(errors, key=lambda e: (abs(e), e))
    spread = max(errors) - min(errors)
    return PointResult(
        point=point,
        runs=tuple(runs),
        errors_percent=errors,
        worst_percent=worst,
        repeat_percent=spread,
        error_passed=all(abs(e) <= MPE_PERCENT for e in errors),
        repeat_passed=spread <= REPEATABILITY_MAX_PERCENT,
    )


@dataclass(frozen=True)
class FuelResult(VerdictMixin):
    plan: FuelPlan
    checklist: Mapping[str, bool]
    points: tuple[PointResult, ...]
    finished_ms: int
    seal_closed: bool = True
    standard: Mapping[str, Any] | None = None
    conditions: Mapping[str, Any] | None = None
    reasons: tuple[str, ...] = ()

    @staticmethod
    def cycle(day: dt.date) -> dt.date:
        return valid_until(day)


def judge(
    plan: FuelPlan,
    checklist: Mapping[str, bool],
    runs: Sequence[RunReading],
    *,
    finished_ms: int | None = None,
    seal_closed: bool = True,
    standard: Mapping[str, Any] | None = None,
    conditions: Mapping[str, Any] | None = None,
) -> FuelResult:
    """The verdict: pass only if every check conforms and every flow point passes.

    Raises VerificationError when a flow point has fewer runs than the plan asks (a
    verdict on a partial test would be a certificate for something not tested).
    """
    reasons: list[str] = []
    for item in CHECKLIST:
        if not checklist.get(item.key, False):
            reasons.append(f"check failed: {item.key}")
    product = plan.dispenser.product
    results = []
    for point in plan.points:
        mine = sorted((r for r in runs if r.point_index == point.index), key=lambda r: r.run_index)
        for r in mine:
            if not r.valid:
                raise VerificationError(
                    f"{point.label} run {r.run_index + 1}: fuel temperatures differ by "
                    f"{r.temperature_difference_c} °C (more than "
                    f"{MAX_TEMPERATURE_DIFFERENCE_C} °C): the run does not count; repeat it"
                )
        if len(mine) < plan.runs_per_point:
            raise VerificationError(
                f"{point.label}: {len(mine)} of {plan.runs_per_point} runs taken; "
                "finish the flow point before judging"
            )
        pr = point_result(point, mine, product)
        if not pr.error_passed:
            reasons.append(f"{point.label}: error {pr.worst_percent}% beyond ±{MPE_PERCENT}%")
        if not pr.repeat_passed:
            reasons.append(
                f"{point.label}: repeatability {pr.repeat_percent}% over "
                f"{REPEATABILITY_MAX_PERCENT}%"
            )
        results.append(pr)
    return FuelResult(
        plan=plan,
        checklist=dict(checklist),
        points=tuple(results),
        finished_ms=int(time.time() * 1000) if finished_ms is None else finished_ms,
        seal_closed=seal_closed,
        standard=standard,
        conditions=conditions,
        reasons=tuple(reasons),
    )


def add_months(day: dt.date, months: int) -> dt.date:
    """Same calendar day ``months`` later, clipped to the month's last day (31 Aug → 28/29 Feb)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def valid_until(day: dt.date, months: int = CYCLE_MONTHS) -> dt.date:
    """有效期至: the cycle after the verification day, minus one day (2026-12-06 → 2027-06-05)."""
    return add_months(day, months) - dt.timedelta(days=1)


# --------------------------------------------------------------------------- signed result


def plan_fingerprint(plan: FuelPlan, mode: str) -> str:
    """Identifies dispenser, nozzle, flow points, runs and how readings are taken, so a
    journal of readings is only ever resumed under the same plan."""
    d = plan.dispenser
    data = [d.dispenser_id, d.nozzle, d.product, plan.kind, plan.runs_per_point, mode]
    data += [[p.label, p.flow_ml_min, p.run_volume_ml] for p in plan.points]
    return hashlib.sha256(repr(data).encode()).hexdigest()[:16]


def verification_id(result: FuelResult) -> str:
    """Stable ID of one run (dispenser + nozzle + finish time): signing twice never doubles."""
    when = dt.datetime.fromtimestamp(result.finished_ms / 1000, CST)
    d = result.plan.dispenser
    return f"FV-{d.dispenser_id}-{d.nozzle}-{when:%Y%m%d%H%M%S}"


def certificate_number(result: FuelResult, prefix: str = "HZJL") -> str:
    """检定证书 (JD, pass) or 检定结果通知书 (TZ, fail) number, derived from the ID."""
    digest = hashlib.sha256(verification_id(result).encode()).hexdigest()[:6].upper()
    kind = "JD" if result.passed else "TZ"
    return f"{prefix}F{kind}{result.day:%Y%m%d}-{digest}"


def _dc(temp: Decimal | None) -> int | None:
    if temp is None:
        return None
    return int((Decimal(temp) * 10).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def record_body(
    result: FuelResult, *, inspector_id: str, certificate_no: str | None = None
) -> dict[str, Any]:
    """The ledger ``fuel_verification`` body (mL, ppm, 0.1 °C; ledger/fuel/records.py).

    Per point: ``flow_ml_min``, ``runs``, ``error_ppm`` (worst run, rounded),
    ``repeat_ppm`` (spread, rounded), plus ``label`` and ``result``. Per run: the
    documented ``standard_ml`` (the temperature-corrected standard volume, to the mL),
    ``indicated_ml``, ``error_ppm`` (from the unrounded volumes, before the judging
    step), and ``reading_ml``/``standard_temp_dc``/``dispenser_temp_dc``/``source`` so
    the correction can be redone from the record.
    """
    d = result.plan.dispenser
    points = []
    for pr in result.points:
        runs = []
        for r in pr.runs:
            run: dict[str, Any] = {
                "standard_ml": int(r.standard_ml(d.product).to_integral_value(ROUND_HALF_EVEN)),
                "indicated_ml": int(r.indicated_ml),
                "error_ppm": to_ppm(r.error_percent(d.product)),
                "reading_ml": int(Decimal(r.reading_ml).to_integral_value(ROUND_HALF_EVEN)),
                "source": r.source,
            }
            for key, temp in (
                ("standard_temp_dc", r.standard_temp_c),
                ("dispenser_temp_dc", r.dispenser_temp_c),
            ):
                if temp is not None:
                    run[key] = _dc(temp)
            runs.append(run)
        points.append(
            {
                "label": pr.point.label,
                "flow_ml_min": pr.point.flow_ml_min,
                "runs": runs,
                "error_ppm": to_ppm(pr.worst_percent),
                "repeat_ppm": to_ppm(pr.repeat_percent),
                "result": "pass" if pr.passed else "fail",
            }
        )
    due = result.valid_until()
    body: dict[str, Any] = {
        "verification_id": verification_id(result),
        "dispenser_id": d.dispenser_id,
        "nozzle": d.nozzle,
        "inspector_id": inspector_id,
        "at_ms": result.finished_ms,
        "kind": result.plan.kind,
        "regulation": REGULATION,
        "points": points,
        "result": result.verdict,
        "certificate_no": certificate_no or certificate_number(result),
        "next_due": due.isoformat() if due else NO_DUE_DATE,
        "seal_closed": bool(result.seal_closed),
    }
    conditions: dict[str, Any] = {
        "product": d.product,
        "checklist": {k: bool(v) for k, v in result.checklist.items()},
    }
    conditions.update(result.conditions or {})
    body["conditions"] = conditions
    if result.standard:
        body["standard"] = dict(result.standard)
    return body


def sign_result(
    result: FuelResult,
    key: SigningKey,
    *,
    inspector_id: str,
    certificate_no: str | None = None,
) -> Record:
    """The inspector's signed ``fuel_verification`` record, ready for the outbox."""
    body = record_body(result, inspector_id=inspector_id, certificate_no=certificate_no)
    return sign_record("fuel_verification", body, key)


# --------------------------------------------------------------------------- flowmeter run


class FlowmeterLike(Protocol):
    """What a run needs from the standard flowmeter (app.devices.flowmeter.Flowmeter)."""

    def start_batch(self) -> None: ...

    def stop_batch(self) -> None: ...

    def batch(self) -> Any: ...

    def temperature_c(self) -> Decimal: ...


class NozzleLike(Protocol):
    """The dispenser side of a run: deliver a preset, then what its display shows.

    On site the inspector opens the nozzle with a preset and types the display; the
    simulator's dispenser does both over the flowmeter's port (SIM: commands)."""

    def fill(self, flow_ml_min: int, preset_ml: int) -> None: ...

    def display(self) -> tuple[int, bool]:
        """(indicated mL, still delivering)."""
        ...

    def dispenser_temp_c(self) -> Decimal | None: ...


def measure_run_on_flowmeter(
    meter: FlowmeterLike,
    nozzle: NozzleLike,
    point: FlowPoint,
    run_index: int,
    *,
    timing: RunTiming | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunReading:
    """One run with the standard flowmeter in series: zero the batch, deliver the preset,
    wait until the dispenser stops and the meter's batch volume no longer grows, read.

    Raises VerificationError when the delivery does not end within ``timing.timeout_s``
    (a nozzle left closed, a dispenser that does not stop at its preset)."""
    timing = timing or RunTiming()
    deadline = time.monotonic() + timing.timeout_s
    while nozzle.display()[1]:  # a delivery an interrupted run left going must end first
        if should_stop() or time.monotonic() > deadline:
            raise VerificationError(
                f"{point.label} run {run_index + 1}: the dispenser is still delivering; "
                "hang up the nozzle and start the run again"
            )
        timing.sleep(timing.poll_s)
    meter.start_batch()
    nozzle.fill(point.flow_ml_min, point.run_volume_ml)
    last: Decimal | None = None
    while True:
        if should_stop():
            meter.stop_batch()
            raise VerificationError("the inspector stopped the run")
        indicated, delivering = nozzle.display()
        state = meter.batch()
        if not delivering and last is not None and state.volume_ml == last:
            break
        last = state.volume_ml
        if time.monotonic() > deadline:
            meter.stop_batch()
            raise VerificationError(
                f"{point.label} run {run_index + 1}: the delivery did not end within "
                f"{timing.timeout_s:.0f} s; check the nozzle and the dispenser's preset"
            )
        timing.sleep(timing.poll_s)
    meter.stop_batch()
    state = meter.batch()
    return RunReading(
        point_index=point.index,
        run_index=run_index,
        indicated_ml=indicated,
        reading_ml=state.volume_ml,
        standard_temp_c=state.temperature_c,
        dispenser_temp_c=nozzle.dispenser_temp_c(),
        source="flowmeter",
        at_ms=int(time.time() * 1000),
    )
