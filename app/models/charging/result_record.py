"""A verification result rebuilt from its signed ledger record, for printing in the office.

Why: the office countersigns and prints from the signed record (``result_records``, taken
up from the log), never from the run: the run's journal stays on the inspector's laptop.
:func:`result_from_record` turns the record's body (see
:func:`app.models.charging.verification.record_body`) back into a
:class:`~app.models.charging.verification.VerificationResult` the certificate writer prints, so the
final certificate shows exactly what the inspector signed.

What the record carries and what it does not (docs/metrology.md lists the same):

* carried, printed as signed: pile ID, meter of the gun, gun number, class, kind and
  regulation, every load point (voltage, current, derived flag, mean error in ppm,
  verdict) and every reading (pulses, standard energy to 1 mWh, error in ppm, window
  length), clock error and whether it was judged, insulation resistance, seal closed,
  verdict, certificate number, 有效期至, the reference standard with its certificate and
  the 计量标准考核证书 number, temperature, humidity and seal number;
* derived from carried fields: the meter constant (pulses / pile energy, the same for
  every reading or the record is refused), the verification cycle (from 有效期至);
* not carried, taken from the office's registry when it has the pile (model, rated
  power, operator, station, number of guns and their meters), else printed as "—":
  rated power, the insulation test voltage, the clock's meter and reference instants,
  meter addresses, maker and serial number, which checklist item failed (a fail that no
  load point or the clock explains is printed as "外观及功能检查或可选付费核查（签名记录
  未逐项载明）"), the optional payment check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from app.models import store as st
from app.models.charging import metrology as m
from app.models.charging.verification import (
    NO_DUE_DATE,
    WILDCARD_ADDRESS,
    ClockResult,
    LoadPoint,
    PileSpec,
    PointResult,
    Reading,
    ReferenceStandard,
    SiteConditions,
    VerificationConfig,
    VerificationPlan,
    VerificationResult,
)
from app.models.verification_parts import CST, round_to_step

__all__ = [
    "UNITEMISED_FAILURE",
    "RecordIncomplete",
    "RecordedPile",
    "registry_pile_specs",
    "result_from_record",
]

#: The checklist line of a fail the record does not itemise (see the module docstring).
UNITEMISED_FAILURE = "外观及功能检查或可选付费核查（签名记录未逐项载明）"
UNKNOWN = "—"


class RecordIncomplete(ValueError):
    """The signed record lacks what a certificate needs (e.g. signed by an older version)."""


@dataclass(frozen=True)
class RecordedPile(PileSpec):
    """A pile as its signed record states it: Imax is the recorded load point's current,
    and whether it was derived is what the record says (the rated power may be unknown)."""

    recorded_imax_derived: bool = False

    @property
    def imax_derived(self) -> bool:
        return self.recorded_imax_derived


def _need(body: Mapping[str, Any], key: str, where: str = "the record", vid: str = "") -> Any:
    if key not in body:
        raise RecordIncomplete(
            f"{vid or body.get('verification_id', 'the result')}: {where} has no {key!r}, so no "
            "certificate can be printed from it; print it from the run's journal on the "
            "inspector's workstation"
        )
    return body[key]


def _kind(regulation: str) -> str:
    if "1149" in regulation:
        return "DC"
    if "1148" in regulation:
        return "AC"
    raise RecordIncomplete(f"regulation {regulation!r} is neither JJG 1149 (DC) nor JJG 1148 (AC)")


def _constant(vid: str, points: Sequence[Mapping[str, Any]]) -> int:
    """The meter constant: every reading's pulses over the energy its error implies."""
    found: set[int] = set()
    for p in points:
        for r in _need(p, "readings", "a load point", vid):
            std = Decimal(int(_need(r, "std_mwh", "a reading", vid))) / 1000
            pile_wh = std * (1 + Decimal(int(r["error_ppm"])) / 1_000_000)
            if pile_wh <= 0:
                raise RecordIncomplete(f"{vid}: a reading has no energy")
            found.add(int((Decimal(int(r["pulses"])) * 1000 / pile_wh).to_integral_value()))
    if len(found) != 1:
        raise RecordIncomplete(
            f"{vid}: the readings imply meter constants {sorted(found)} (imp/kWh), not one; "
            "the record is inconsistent"
        )
    return found.pop()


def _cycle_years(vid: str, day: dt.date, next_due: str) -> int:
    if next_due == NO_DUE_DATE:
        return m.VERIFICATION_CYCLE_YEARS
    due = dt.date.fromisoformat(next_due)
    low, high = m.VERIFICATION_CYCLE_RANGE
    for years in range(low, high + 1):
        if m.certificate_valid_until(day, years) == due:
            return years
    raise RecordIncomplete(
        f"{vid}: 有效期至 {next_due} is not a {low}–{high} year verification cycle from "
        f"{day}; it cannot be printed as signed"
    )


def _shown(meter: tuple[str, str]) -> tuple[str, str]:
    """A registry meter as printed: the wildcard address is no address ("—")."""
    return meter[0], UNKNOWN if meter[1] == WILDCARD_ADDRESS else meter[1]


def result_from_record(body: Mapping[str, Any], pile: PileSpec | None = None) -> VerificationResult:
    """The run as its signed ``verification`` record states it (see the module docstring).

    ``pile`` is the registry's nameplate data of the same pile (or None): it fills only
    what the record does not carry; every signed field wins over it.
    Raises :class:`RecordIncomplete` for a record that lacks or garbles a field the
    certificate needs.
    """
    if pile is not None and pile.pile_id != body.get("pile_id"):
        raise ValueError(
            f"registry data of {pile.pile_id} given for a result of {body.get('pile_id')}"
        )
    try:
        return _rebuild(body, pile)
    except RecordIncomplete:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise RecordIncomplete(
            f"{body.get('verification_id', 'the result')}: the signed record cannot be read as a "
            f"verification result ({type(exc).__name__}: {exc}); print it from the run's journal"
        ) from exc


def _rebuild(body: Mapping[str, Any], pile: PileSpec | None) -> VerificationResult:
    vid = str(_need(body, "verification_id"))
    pile_id = str(_need(body, "pile_id"))
    regulation = str(_need(body, "regulation"))
    kind = _kind(regulation)
    at_ms = int(_need(body, "at_ms"))
    connector = int(body.get("connector", 1))
    accuracy_class = str(_need(body, "accuracy_class"))
    raw_points = list(_need(body, "points"))
    if not raw_points:
        raise RecordIncomplete(f"{vid}: the record has no measured load point")
    for p in raw_points:
        for key in ("label", "voltage_mv", "current_ma", "error_ppm", "result", "readings"):
            _need(p, key, "a load point", vid)
    constant = _constant(vid, raw_points)
    limit = m.class_limit_percent(accuracy_class)
    step = m.rounding_step(limit)
    day = dt.datetime.fromtimestamp(at_ms / 1000, CST).date()
    verdict = str(_need(body, "result"))
    std_json = body.get("standard")
    conditions = body.get("conditions")
    config = VerificationConfig(
        kind=str(_need(body, "kind")),
        readings_per_point=max(2, max(len(p["readings"]) for p in raw_points)),
        cycle_years=_cycle_years(vid, day, str(_need(body, "next_due"))),
        connector=connector,
        approval_certificate_no=str(std_json.get("approval_certificate_no", ""))
        if std_json
        else "",
    )

    # The pile: signed fields, then the registry's nameplate, else unknown ("—").
    meter_id = str(_need(body, "meter_id"))
    base = pile or PileSpec(pile_id=pile_id, meter_id=meter_id, kind=kind, rated_power_w=0)
    guns = max(base.connectors if pile is not None else 1, connector)
    gun_meters = [
        _shown(base.meter_of(g)) if pile is not None and g <= base.connectors else (UNKNOWN,) * 2
        for g in range(1, guns + 1)
    ]
    registry_meter, address = gun_meters[connector - 1]
    gun_meters[connector - 1] = (meter_id, address if registry_meter == meter_id else UNKNOWN)
    imax = next((p for p in raw_points if p["label"] == "Imax"), raw_points[0])
    nameplate = {f: getattr(base, f) for f in PileSpec.__dataclass_fields__}
    recorded = RecordedPile(
        **{
            **nameplate,
            "pile_id": pile_id,
            "meter_id": gun_meters[0][0],
            "kind": kind,
            "rated_power_w": base.rated_power_w if pile is not None else 0,
            "rated_voltage_v": Decimal(int(raw_points[0]["voltage_mv"])) / 1000,
            "max_current_a": Decimal(int(imax["current_ma"])) / 1000,
            "min_current_a": None,
            "accuracy_class": accuracy_class,
            "meter_constant": constant,
            "meter_address": gun_meters[0][1],
            "connectors": guns,
            "gun_meters": tuple(gun_meters) if guns > 1 else (),
            "time_of_use": bool(body.get("clock_judged", True)),
        },
        recorded_imax_derived=bool(imax.get("derived", False)),
    )

    points: list[PointResult] = []
    loads: list[LoadPoint] = []
    for index, p in enumerate(raw_points):
        voltage = Decimal(int(p["voltage_mv"])) / 1000
        current = Decimal(int(p["current_ma"])) / 1000
        power = voltage * current * recorded.drive_phases
        pulses = max(int(r["pulses"]) for r in p["readings"]) if p["readings"] else 0
        window_wh = m.pile_energy_wh(pulses, constant)
        load = LoadPoint(
            index=index,
            label=str(p["label"]),
            voltage_v=voltage,
            current_a=current,
            power_w=power,
            target_pulses=pulses,
            window_wh=window_wh,
            reading_s=(window_wh * 3600 / power).quantize(Decimal("0.1"))
            if power > 0
            else Decimal(0),
            derived=bool(p.get("derived", False)),
        )
        loads.append(load)
        readings = tuple(
            Reading(
                point_index=index,
                reading_index=j,
                label=load.label,
                t_ms=int(r.get("t_ms", 0)),
                standard_energy_wh=Decimal(int(r["std_mwh"])) / 1000,
                pulses=int(r["pulses"]),
                pile_energy_wh=m.pile_energy_wh(int(r["pulses"]), constant),
                error_percent=Decimal(int(r["error_ppm"])) / 10000,
                at_ms=at_ms,
            )
            for j, r in enumerate(p["readings"])
        )
        mean = Decimal(int(p["error_ppm"])) / 10000
        points.append(
            PointResult(load, readings, mean, round_to_step(mean, step), p["result"] == "pass")
        )
    plan = VerificationPlan(recorded, config, tuple(loads), limit)

    clock_judged = bool(body.get("clock_judged", True))
    clock = ClockResult(
        meter_time=None,
        reference_time=None,
        error_s=Decimal(int(_need(body, "clock_error_ms"))) / 1000,
        limit_s=m.clock_limit_s(config.kind),
        applicable=clock_judged,
    )
    standard = ReferenceStandard.from_json(std_json) if std_json else None
    site = (
        SiteConditions(
            temperature_c=Decimal(int(conditions["temperature_dc"])) / 10,
            humidity_pct=Decimal(int(conditions["humidity_pct"])),
            seal_no=str(conditions.get("seal_no", "")),
        )
        if conditions
        else None
    )
    reasons = [
        f"{pr.point.label}: error {pr.rounded_error_percent}% over limit"
        for pr in points
        if not pr.passed
    ]
    if clock.passed is False:
        reasons.append(f"clock: error {clock.error_s} s over {clock.limit_s} s")
    checklist: dict[str, bool] = {}
    if verdict == "fail" and not reasons:
        checklist[UNITEMISED_FAILURE] = False
        reasons.append("checklist or optional payment check (not itemised in the record)")
    return VerificationResult(
        plan=plan,
        rig_identity=str(std_json.get("identity", UNKNOWN)) if std_json else UNKNOWN,
        checklist=checklist,
        seal_closed=bool(_need(body, "seal_closed")),
        insulation_mohm=Decimal(int(_need(body, "insulation_kohm"))) / 1000,
        insulation_test_v=None,
        points=tuple(points),
        clock=clock,
        payment=None,
        verdict=verdict,
        reasons=tuple(reasons),
        started_ms=at_ms,
        finished_ms=at_ms,
        interruptions=0,
        standard=standard,
        site=site,
    )


def registry_pile_specs(
    conn: Connection, pile_ids: Sequence[str] | None = None, limit: int = 20000
) -> list[PileSpec]:
    """The registry's piles as nameplate data: every gun with its meter, model, operator.

    The registry holds no meter addresses (the wildcard address is used, as for any pile
    whose meter is read through the rig's own port) and no time-of-use flag (so the clock
    item stays judged, the stricter choice). A pile whose guns' meters are not all
    registered is offered with the guns up to the first missing one.
    """
    p, mt, s, o = st.piles, st.meters, st.stations, st.operators
    query = (
        select(
            p.c.pile_id,
            p.c.kind,
            p.c.rated_power_w,
            p.c.rated_voltage_v,
            p.c.max_current_a,
            p.c.connectors,
            p.c.model,
            s.c.name.label("station"),
            o.c.name.label("operator"),
        )
        .join(s, s.c.station_id == p.c.station_id)
        .outerjoin(o, o.c.operator_id == p.c.operator_id)
        .order_by(p.c.pile_id)
        .limit(limit)
    )
    if pile_ids is not None:
        query = query.where(p.c.pile_id.in_(list(pile_ids)))
    rows = conn.execute(query).all()
    meters: dict[str, dict[int, tuple[str, str]]] = {}
    meter_query = select(mt.c.pile_id, mt.c.connector, mt.c.meter_id, mt.c.accuracy_class)
    if pile_ids is not None:
        meter_query = meter_query.where(mt.c.pile_id.in_(list(pile_ids)))
    for r in conn.execute(meter_query.order_by(mt.c.meter_id)):
        meters.setdefault(r.pile_id, {}).setdefault(
            int(r.connector), (r.meter_id, r.accuracy_class)
        )
    out = []
    for r in rows:
        by_gun = meters.get(r.pile_id, {})
        guns: list[tuple[str, str]] = []
        for gun in range(1, max(int(r.connectors), 1) + 1):
            if gun not in by_gun:
                break
            guns.append(by_gun[gun])
        if not guns:
            continue  # no meter on gun 1: nothing to verify
        out.append(
            PileSpec(
                pile_id=r.pile_id,
                meter_id=guns[0][0],
                kind=r.kind,
                rated_power_w=r.rated_power_w,
                rated_voltage_v=Decimal(r.rated_voltage_v if r.kind == "DC" else 220),
                max_current_a=Decimal(r.max_current_a) if r.max_current_a else None,
                accuracy_class=guns[0][1],
                station=r.station,
                operator=r.operator or "",
                model=r.model or "",
                connectors=len(guns),
                gun_meters=tuple((meter, WILDCARD_ADDRESS) for meter, _ in guns)
                if len(guns) > 1
                else (),
            )
        )
    return out
