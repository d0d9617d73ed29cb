"""The fuel dispensers' JJG 443 verification due list, from the fuel projection (Qt-free).

A dispenser used in trade is verified every 6 months (检定周期, JJG 443 as quoted in
docs/metrology.md; ``fv.CYCLE_MONTHS``): a verification on day D is valid up to and
including the day before D + 6 months (``fv.valid_until``, computed here from the
record's time rather than read from the inspector's typed ``next_due``). Each nozzle is
verified on its own, so a dispenser is as current as its least current nozzle.

Most urgent first (the order the taxi list uses, so every kind reads alike):

``seal_open``   an F08 finding is open (a seal opened or tampered with and no seal-closing
                verification since) or the dispenser's status is ``seal_open``: the
                metrological seal is broken, the dispenser must be re-verified and sealed;
``failed``      the newest verification of a nozzle failed: not to be used until it passes;
``expired``     a nozzle's last verification is older than the cycle;
``first``       a nozzle has never been verified (no verification record, no dated
                registry certificate): due from the commissioning day;
``expiring``    everything else, soonest validity end first.

The registry's certificate (``dispensers.cert_no``/``cert_date``) counts as the
verification of every nozzle on its date, as the charging meters' registry certificates do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, select

from app.models import store as st
from app.models.due_sources import (
    DueRow,
    DueSource,
    Site,
    sites_at_stations,
    status_for,
    verified_since_in,
)
from app.models.fuel import tables as ft
from app.models.fuel import verification as fv
from app.models.fuel.queries import beijing_day

PRIORITY = {"seal_open": 0, "failed": 1, "expired": 2, "first": 3, "expiring": 4}
#: Planning figure for one dispenser (all its nozzles, 3 flow points × 3 runs of a 20 L
#: measure each, plus checks and sealing): the workstation's estimate, not a rule.
MINUTES_PER_DISPENSER = 45


def _parse(text: str | None) -> dt.date | None:
    if not text:
        return None
    cleaned = text.strip().replace("/", "-").replace(".", "-")
    if len(cleaned) == 8 and cleaned.isdigit():
        cleaned = f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:]}"
    try:
        return dt.date.fromisoformat(cleaned)
    except ValueError:
        return None


def fuel_due(conn: Connection, today: dt.date) -> list[DueRow]:
    """Every registered dispenser with its JJG 443 status, most urgent first."""
    d, s, v, an = ft.dispensers, ft.fuel_stations, ft.fuel_verifications, st.anomalies
    sites = {r.station_id: r for r in conn.execute(select(s.c.station_id, s.c.name, s.c.district))}
    nozzles: dict[str, list[int]] = {}
    for did, nozzle in conn.execute(
        select(ft.nozzles.c.dispenser_id, ft.nozzles.c.nozzle).order_by(ft.nozzles.c.nozzle)
    ):
        nozzles.setdefault(did, []).append(int(nozzle))
    latest: dict[tuple[str, int], tuple[int, str, str]] = {}
    for r in conn.execute(
        select(v.c.dispenser_id, v.c.nozzle, v.c.at_ms, v.c.result, v.c.certificate_no).order_by(
            v.c.at_ms, v.c.entry_index
        )
    ):
        latest[(r.dispenser_id, int(r.nozzle))] = (int(r.at_ms), r.result, r.certificate_no)
    seals: dict[str, list[int]] = {}
    for did, at_ms in conn.execute(
        select(an.c.pile_id, an.c.at_ms).where(an.c.rule_id == "F08", an.c.closed_at.is_(None))
    ):
        seals.setdefault(did, []).append(int(at_ms))
    rows: list[DueRow] = []
    for r in conn.execute(
        select(
            d.c.dispenser_id,
            d.c.station_id,
            d.c.operator_id,
            d.c.district,
            d.c.serial,
            d.c.cert_no,
            d.c.cert_date,
            d.c.commissioned_ms,
            d.c.status,
        )
    ):
        registry_day = _parse(r.cert_date)
        worst: tuple[int, dt.date | None, str] | None = None  # (priority, valid until, evidence)
        valid_ends: list[dt.date | None] = []
        for nozzle in nozzles.get(r.dispenser_id) or [1]:
            held = latest.get((r.dispenser_id, nozzle))
            day = beijing_day(held[0]) if held else None
            if registry_day and (day is None or registry_day > day):
                held, day = None, registry_day  # the registry certificate is newer
            if held is not None and held[1] != "pass":
                candidate = (PRIORITY["failed"], day, f"#{nozzle} {held[2]} {day}")
                valid_ends.append(None)
            elif day is None:
                since = beijing_day(int(r.commissioned_ms))
                candidate = (PRIORITY["first"], since, f"#{nozzle} — {since}")
                valid_ends.append(None)
            else:
                until = fv.valid_until(day)
                number = held[2] if held else (r.cert_no or "-")
                reason = "expired" if until < today else "expiring"
                candidate = (PRIORITY[reason], until, f"#{nozzle} {number} {day}")
                valid_ends.append(until)
            if worst is None or (candidate[0], candidate[1] or dt.date.min) < (
                worst[0],
                worst[1] or dt.date.min,
            ):
                worst = candidate
        assert worst is not None
        priority, date, evidence = worst
        if r.dispenser_id in seals or r.status == "seal_open":
            opened = min(seals.get(r.dispenser_id, [])) if r.dispenser_id in seals else None
            priority = PRIORITY["seal_open"]
            evidence = f"F08 {beijing_day(opened)}" if opened is not None else "seal_open"
            date = beijing_day(opened) if opened is not None else today
        reason = next(k for k, p in PRIORITY.items() if p == priority)
        valid = None if None in valid_ends else min(e for e in valid_ends if e is not None)
        # expiring/expired: the validity's last day; the others are due at once, from the
        # day of the event (or of commissioning), so they show as overdue
        due = date
        days_left = None if due is None else (due - today).days
        site = sites.get(r.station_id)
        rows.append(
            DueRow(
                kind="fuel",
                instrument_id=r.dispenser_id,
                site_id=r.station_id,
                site_name=site.name if site else r.station_id,
                district=r.district or (site.district if site else ""),
                operator_id=r.operator_id,
                reason=reason,
                priority=priority,
                valid_until=valid,
                due_date=due,
                days_left=days_left,
                status=status_for(days_left),
                flagged=reason in ("seal_open", "failed"),
                evidence=evidence,
                extra=r.serial or "",
            )
        )
    far = 10**9
    rows.sort(
        key=lambda x: (
            x.priority,
            far if x.days_left is None else x.days_left,
            x.instrument_id,
        )
    )
    return rows


def locate(conn: Connection, ids: Sequence[str]) -> Mapping[str, Site | None]:
    """Each dispenser's fuel station (with coordinates) for the work order's route."""
    d = ft.dispensers.c
    return sites_at_stations(conn, ids, d.dispenser_id, d.station_id, ft.fuel_stations)


def verified_since(conn: Connection, ids: Collection[str], since_ms: int) -> set[str]:
    """Dispensers with a synced JJG 443 verification (any nozzle) at or after ``since_ms``."""
    v = ft.fuel_verifications.c
    return verified_since_in(conn, v.dispenser_id, v.at_ms, ids, since_ms)


FUEL_DUE = DueSource(
    name="fuel",
    label=("加油机", "fuel dispensers"),
    rows=fuel_due,
    locate=locate,
    verified_since=verified_since,
    minutes_per_item=MINUTES_PER_DISPENSER,
)


def wizard_specs(conn: Connection, today: dt.date) -> list[fv.DispenserSpec]:
    """Every registered nozzle as the JJG 443 wizard's nameplate data, the due list's
    most urgent dispensers first (the registry has no flow range: the wizard's default
    Qmax/Qmin stand until the inspector reads the nameplate). A nozzle whose product the
    verification arithmetic has no expansion coefficient for is left out (typed by hand)."""
    order = {r.instrument_id: n for n, r in enumerate(fuel_due(conn, today))}
    d, s, nz = ft.dispensers, ft.fuel_stations, ft.nozzles
    out: list[fv.DispenserSpec] = []
    for r in conn.execute(
        select(
            d.c.dispenser_id,
            nz.c.nozzle,
            nz.c.product,
            s.c.name,
            d.c.operator_id,
            d.c.maker,
            d.c.model,
            d.c.serial,
        )
        .select_from(
            d.join(nz, nz.c.dispenser_id == d.c.dispenser_id).outerjoin(
                s, s.c.station_id == d.c.station_id
            )
        )
        .order_by(d.c.dispenser_id, nz.c.nozzle)
    ):
        try:
            out.append(
                fv.DispenserSpec(
                    r.dispenser_id,
                    int(r.nozzle),
                    r.product,
                    station=r.name or "",
                    operator=r.operator_id,
                    maker=r.maker or "",
                    model=r.model or "",
                    serial=r.serial or "",
                )
            )
        except fv.VerificationError:
            continue
    out.sort(key=lambda spec: (order.get(spec.dispenser_id, len(order)), spec.dispenser_id))
    return out
