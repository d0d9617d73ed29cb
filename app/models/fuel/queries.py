"""What the fuel views read: dispensers for the map, one dispenser's detail, per-nozzle
time series and the daily tank reconciliation (Qt-free, set-based, no per-row queries).

Units stay the ledger's (mL, fen, fen/L, ms) so a view converts once, at display time,
and a test can compare against the inserted rows exactly. "Day" is the Beijing day
(UTC+8), the day the station's books and rule F09 use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, func, inspect, or_, select

from app.models import store as st
from app.models.map_query import ALARM, ANOMALY, NORMAL, OPEN_ALARM_STATES, OVERDUE

DAY_MS = 86_400_000
BEIJING_MS = 8 * 3_600_000
RECONCILIATION_MIN_ML = 50_000
"""F09's floor: a day's imbalance under 50 L is within the tank gauge's own error."""
RECONCILIATION_SHARE = 0.005
"""F09's relative tolerance: 0.5 % of the day's sales volume."""
_RANK = {NORMAL: 0, OVERDUE: 1, ANOMALY: 2, ALARM: 4}


class _LazyTables:
    """``app.models.fuel.tables``, imported on first use.

    Importing it adds the fuel tables to the store's shared metadata. Until a store has
    them (migration 0006_fuel), a charging-only workstation must not register them just
    by opening the map: the map asks :func:`fuel_tables_present` first, by table name.
    """

    def __getattr__(self, name: str) -> Any:
        from app.models.fuel import tables

        return getattr(tables, name)


ft = _LazyTables()


def fuel_tables_present(conn: Connection) -> bool:
    """False on a store whose fuel migration has not run yet (the map then shows piles only)."""
    return inspect(conn).has_table("dispensers")


def beijing_day(ms: int) -> date:
    """The UTC+8 calendar day of a ledger timestamp."""
    return datetime.fromtimestamp((ms + BEIJING_MS) / 1000, UTC).date()


# ---------------------------------------------------------------------------- the map


@dataclass
class DispenserColumns:
    """One row per dispenser, as parallel arrays (the map's second layer)."""

    dispenser_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    status: np.ndarray
    """Map status codes of app.models.map_query (normal, anomaly, alarm, overdue)."""
    operator: np.ndarray
    operator_names: tuple[str, ...]
    district: np.ndarray
    district_names: tuple[str, ...]
    station: np.ndarray
    station_names: tuple[str, ...]
    nozzles: np.ndarray

    def __len__(self) -> int:
        return len(self.dispenser_ids)

    @classmethod
    def empty(cls) -> DispenserColumns:
        z = np.zeros(0, np.int32)
        return cls(np.zeros(0, object), np.zeros(0), np.zeros(0), z.astype(np.uint8),
                   z, (), z, (), z, (), z)  # fmt: skip


def _codes(values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    names = tuple(sorted(set(values)))
    index = {name: i for i, name in enumerate(names)}
    return np.fromiter((index[v] for v in values), dtype=np.int32, count=len(values)), names


def load_dispenser_columns(conn: Connection, today: date | None = None) -> DispenserColumns:
    """Every registered dispenser with its station's position and its worst open status.

    Status, worst wins: an open alarm (or the projection's ``alarm``/``seal_open``
    status) > an open finding > a verification past its ``next_due`` (the latest
    verification of any of its nozzles) > normal.
    """
    if not fuel_tables_present(conn):
        return DispenserColumns.empty()
    d, s, o = ft.dispensers, ft.fuel_stations, st.operators
    rows = conn.execute(
        select(
            d.c.dispenser_id,
            s.c.lon,
            s.c.lat,
            d.c.status,
            o.c.name,
            func.coalesce(d.c.district, s.c.district),
            s.c.name,
            d.c.nozzles,
            d.c.operator_id,
        )
        .join(s, s.c.station_id == d.c.station_id)
        .join(o, o.c.operator_id == d.c.operator_id, isouter=True)
        .order_by(d.c.dispenser_id)
    ).all()
    ids = [r[0] for r in rows]
    position = {pid: i for i, pid in enumerate(ids)}
    status = np.array(
        [ALARM if r[3] in ("alarm", "seal_open") else NORMAL for r in rows], dtype=np.uint8
    )

    def mark(found: Sequence[str], code: int) -> None:
        for pid in found:
            i = position.get(pid)
            if i is not None and _RANK[code] > _RANK[int(status[i])]:
                status[i] = code

    today = today or (datetime.now(UTC) + timedelta(hours=8)).date()
    v = ft.fuel_verifications
    latest = (
        select(v.c.dispenser_id, v.c.nozzle, func.max(v.c.at_ms).label("at_ms"))
        .group_by(v.c.dispenser_id, v.c.nozzle)
        .subquery()
    )
    overdue = conn.execute(
        select(v.c.dispenser_id)
        .join(
            latest,
            and_(
                latest.c.dispenser_id == v.c.dispenser_id,
                latest.c.nozzle == v.c.nozzle,
                latest.c.at_ms == v.c.at_ms,
            ),
        )
        .where(v.c.next_due < today.isoformat())
        .distinct()
    ).scalars()
    mark(list(overdue), OVERDUE)
    an = st.anomalies
    mark(
        list(
            conn.execute(select(an.c.pile_id).where(an.c.closed_at.is_(None)).distinct()).scalars()
        ),
        ANOMALY,
    )
    al = st.alarms
    mark(
        list(
            conn.execute(
                select(al.c.pile_id).where(al.c.state.in_(OPEN_ALARM_STATES)).distinct()
            ).scalars()
        ),
        ALARM,
    )
    operator, operator_names = _codes([r[4] or r[8] or "?" for r in rows])
    district, district_names = _codes([r[5] or "?" for r in rows])
    station, station_names = _codes([r[6] or "?" for r in rows])
    return DispenserColumns(
        np.array(ids, dtype=object),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        status,
        operator,
        operator_names,
        district,
        district_names,
        station,
        station_names,
        np.array([len(r[7] or ()) for r in rows], dtype=np.int32),
    )


# ---------------------------------------------------------------------------- the detail


@dataclass(frozen=True)
class SealState:
    position: str
    state: str
    """``closed`` (no event yet or the last one closed it), ``opened`` or ``tamper``."""
    at_ms: int | None
    """The last event's time (None: never reported)."""


@dataclass(frozen=True)
class Nozzle:
    nozzle: int
    product: str
    tank_id: str
    encoder_id: str


@dataclass(frozen=True)
class OpenItem:
    """An open finding or alarm about the dispenser, for its detail's list."""

    kind: str
    """``alarm`` or ``finding``."""
    rule_id: str | None
    severity: str
    at_ms: int
    title_zh: str
    title_en: str
    part: str | None
    """The nozzle (``FD…#n``) or tank the finding names, if any."""
    state: str


@dataclass
class DispenserDetail:
    dispenser_id: str
    registry: dict[str, Any]
    """Dispenser row + station name/address/district + operator name."""
    nozzles: list[Nozzle]
    seals: list[SealState]
    components: list[dict[str, Any]] = field(default_factory=list)
    """Replacement events (component, old/new ID, time), newest first."""
    open_items: list[OpenItem] = field(default_factory=list)


class UnknownDispenser(KeyError):
    """No dispenser with that ID in the store (not yet synced, or a pile's ID)."""

    def __str__(self) -> str:
        return f"no fuel dispenser {self.args[0]!r} in the workstation store"


def dispenser_detail(conn: Connection, dispenser_id: str) -> DispenserDetail:
    """Registry facts, nozzles, seal positions with their last state, open findings/alarms."""
    if not fuel_tables_present(conn):
        raise UnknownDispenser(dispenser_id)
    d, s, o = ft.dispensers, ft.fuel_stations, st.operators
    row = (
        conn.execute(
            select(
                d,
                s.c.name.label("station_name"),
                s.c.address,
                s.c.district.label("station_district"),
                o.c.name.label("operator_name"),
            )
            .join(s, s.c.station_id == d.c.station_id, isouter=True)
            .join(o, o.c.operator_id == d.c.operator_id, isouter=True)
            .where(d.c.dispenser_id == dispenser_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownDispenser(dispenser_id)
    registry = dict(row)
    registry["district"] = registry.get("district") or registry.get("station_district")
    nozzles = [
        Nozzle(int(n["nozzle"]), str(n["product"]), str(n["tank_id"]), str(n["encoder_id"]))
        for n in sorted(row["nozzles"] or [], key=lambda n: n["nozzle"])
    ]
    e = ft.fuel_seal_events
    last: dict[str, tuple[str, int]] = {}
    for position, event, at_ms in conn.execute(
        select(e.c.position, e.c.event, e.c.at_ms)
        .where(e.c.dispenser_id == dispenser_id)
        .order_by(e.c.at_ms, e.c.seq)
    ):
        last[position] = (event, int(at_ms))
    positions = list(row["seals"] or []) + sorted(set(last) - set(row["seals"] or []))
    seals = [
        SealState(p, last[p][0] if p in last else "closed", last[p][1] if p in last else None)
        for p in positions
    ]
    c = ft.components
    components = [
        dict(r)
        for r in conn.execute(
            select(c.c.component, c.c.old_id, c.c.new_id, c.c.at_ms)
            .where(c.c.dispenser_id == dispenser_id)
            .order_by(c.c.at_ms.desc())
        ).mappings()
    ]
    return DispenserDetail(
        dispenser_id, registry, nozzles, seals, components, open_items(conn, dispenser_id)
    )


def _alarm_at_ms(row: Any) -> int:
    """When it happened (the first finding's data time), else when the alarm was opened."""
    evidence = row.evidence if isinstance(row.evidence, dict) else {}
    at = evidence.get("first_at_ms")
    return int(at) if at is not None else int(row.created_at.timestamp() * 1000)


def open_items(conn: Connection, instrument_id: str) -> list[OpenItem]:
    """Open alarms, then open findings, about one instrument (newest first in each)."""
    from app.models.findings import CATALOGUE

    al, an = st.alarms, st.anomalies
    items = [
        OpenItem(
            "alarm",
            r.rule_id,
            r.severity,
            _alarm_at_ms(r),
            r.title_zh,
            r.title_en,
            None,
            r.state,
        )
        for r in conn.execute(
            select(al)
            .where(al.c.pile_id == instrument_id, al.c.state.in_(OPEN_ALARM_STATES))
            .order_by(al.c.created_at.desc())
        )
    ]
    for r in conn.execute(
        select(an.c.rule_id, an.c.severity, an.c.at_ms, an.c.meter_id)
        .where(an.c.pile_id == instrument_id, an.c.closed_at.is_(None))
        .order_by(an.c.at_ms.desc())
        .limit(500)
    ):
        rule = CATALOGUE.get(r.rule_id)
        items.append(
            OpenItem(
                "finding",
                r.rule_id,
                r.severity,
                int(r.at_ms),
                rule.title_zh if rule else r.rule_id,
                rule.title_en if rule else r.rule_id,
                r.meter_id,
                "open",
            )
        )
    return items


# ---------------------------------------------------------------------------- time series


@dataclass
class NozzleSeries:
    """One nozzle's history as arrays (ms, mL, fen) ready to plot."""

    dispenser_id: str
    nozzle: int
    fuelling_ms: np.ndarray
    """Each fuelling's stop time."""
    volume_ml: np.ndarray
    amount_fen: np.ndarray
    price_fen_l: np.ndarray
    reading_ms: np.ndarray
    """Totalizer reading times."""
    total_ml: np.ndarray
    tax_total_ml: np.ndarray
    delta_ml: np.ndarray
    """Per reading after the first: its totalizer minus the previous one (NaN for the first)."""
    fuelled_ml: np.ndarray
    """Per reading after the first: Σ fuellings that stopped since the previous reading."""
    posted_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    posted_fen_l: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """The station's posted price for the nozzle's product (step series)."""

    @property
    def mismatch_ml(self) -> np.ndarray:
        """Δ totalizer − Σ fuellings per interval (F01's quantity; NaN for the first)."""
        return self.delta_ml - self.fuelled_ml


def nozzle_series(conn: Connection, dispenser_id: str, nozzle: int) -> NozzleSeries:
    """Fuellings, totalizer readings and their deltas against Σ fuellings, and price."""
    f, t = ft.fuellings, ft.totalizers
    fl = conn.execute(
        select(f.c.stop_ms, f.c.volume_ml, f.c.amount_fen, f.c.price_fen_l, f.c.product)
        .where(f.c.dispenser_id == dispenser_id, f.c.nozzle == nozzle)
        .order_by(f.c.stop_ms, f.c.seq)
    ).all()
    tr = conn.execute(
        select(t.c.at_ms, t.c.volume_total_ml, t.c.tax_volume_total_ml)
        .where(t.c.dispenser_id == dispenser_id, t.c.nozzle == nozzle)
        .order_by(t.c.at_ms, t.c.seq)
    ).all()
    stop = np.array([r[0] for r in fl], dtype=np.int64)
    volume = np.array([r[1] for r in fl], dtype=np.int64)
    at = np.array([r[0] for r in tr], dtype=np.int64)
    total = np.array([r[1] for r in tr], dtype=np.float64)
    # Σ fuellings stopping in (previous reading, this reading]: a cumulative sum and two
    # binary searches, not a loop over readings.
    cum = np.r_[0, np.cumsum(volume)]
    upto = cum[np.searchsorted(stop, at, side="right")].astype(np.float64)
    fuelled = np.full(len(at), np.nan)
    delta = np.full(len(at), np.nan)
    if len(at) > 1:
        fuelled[1:] = np.diff(upto)
        delta[1:] = np.diff(total)
    posted_ms = np.zeros(0, np.int64)
    posted = np.zeros(0, np.int64)
    station = conn.execute(
        select(ft.dispensers.c.station_id, ft.dispensers.c.nozzles).where(
            ft.dispensers.c.dispenser_id == dispenser_id
        )
    ).first()
    if station is not None:
        product = next((n["product"] for n in station[1] or [] if n["nozzle"] == nozzle), None)
        if product is not None:
            p = ft.fuel_prices
            prices = conn.execute(
                select(p.c.valid_from_ms, p.c.price_fen_l)
                .where(p.c.station_id == station[0], p.c.product == product)
                .order_by(p.c.valid_from_ms)
            ).all()
            posted_ms = np.array([r[0] for r in prices], dtype=np.int64)
            posted = np.array([r[1] for r in prices], dtype=np.int64)
    return NozzleSeries(
        dispenser_id,
        nozzle,
        stop,
        volume,
        np.array([r[2] for r in fl], dtype=np.int64),
        np.array([r[3] for r in fl], dtype=np.int64),
        at,
        total,
        np.array([r[2] for r in tr], dtype=np.float64),
        delta,
        fuelled,
        posted_ms,
        posted,
    )


@dataclass(frozen=True)
class ReconciliationDay:
    """One tank's wet-stock balance between two gauge readings of one Beijing day.

    ``imbalance = opening + deliveries − sales − closing``: positive means fuel left the
    tank without being sold (a leak, theft); negative means the pumps reported more
    litres than left the tank — what a cheat board that over-counts produces.
    """

    tank_id: str
    day: date
    opening_ml: int
    deliveries_ml: int
    sales_ml: int
    closing_ml: int
    tolerance_ml: int

    @property
    def imbalance_ml(self) -> int:
        return self.opening_ml + self.deliveries_ml - self.sales_ml - self.closing_ml

    @property
    def within_tolerance(self) -> bool:
        return abs(self.imbalance_ml) <= self.tolerance_ml


def tank_reconciliation(conn: Connection, tank_id: str) -> list[ReconciliationDay]:
    """Per Beijing day with gauge readings: opening = the last reading before the day
    (else the day's first), closing = the day's last; deliveries and Σ fuellings from the
    tank's nozzles are counted over exactly (opening reading, closing reading]."""
    lv, dl, f, nz = ft.tank_levels, ft.tank_deliveries, ft.fuellings, ft.nozzles
    levels = conn.execute(
        select(lv.c.at_ms, lv.c.volume_ml).where(lv.c.tank_id == tank_id).order_by(lv.c.at_ms)
    ).all()
    if not levels:
        return []
    deliveries = conn.execute(
        select(dl.c.at_ms, dl.c.volume_ml).where(dl.c.tank_id == tank_id).order_by(dl.c.at_ms)
    ).all()
    # The tank's nozzles: from the nozzles table (one row per nozzle), which the
    # projection fills from the dispenser records.
    pairs = conn.execute(
        select(nz.c.dispenser_id, nz.c.nozzle).where(nz.c.tank_id == tank_id)
    ).all()
    sales: list[tuple[int, int]] = []
    if pairs:
        cond = or_(*(and_(f.c.dispenser_id == d, f.c.nozzle == n) for d, n in pairs))
        sales = conn.execute(
            select(f.c.stop_ms, f.c.volume_ml).where(cond).order_by(f.c.stop_ms)
        ).all()
    l_at = np.array([r[0] for r in levels], dtype=np.int64)
    l_ml = np.array([r[1] for r in levels], dtype=np.int64)

    def cumulative(rows: list) -> tuple[np.ndarray, np.ndarray]:
        at = np.array([r[0] for r in rows], dtype=np.int64)
        return at, np.r_[0, np.cumsum(np.array([r[1] for r in rows], dtype=np.int64))]

    d_at, d_cum = cumulative(deliveries)
    s_at, s_cum = cumulative(sales)

    def between(at: np.ndarray, cum: np.ndarray, t0: int, t1: int) -> int:
        return int(cum[np.searchsorted(at, t1, "right")] - cum[np.searchsorted(at, t0, "right")])

    days = (l_at + BEIJING_MS) // DAY_MS
    out = []
    for day in np.unique(days).tolist():
        idx = np.flatnonzero(days == day)
        first, last = int(idx[0]), int(idx[-1])
        open_i = first - 1 if first > 0 else first
        if open_i == last:
            continue  # one reading, nothing before it: no interval to balance
        t0, t1 = int(l_at[open_i]), int(l_at[last])
        sold = between(s_at, s_cum, t0, t1)
        out.append(
            ReconciliationDay(
                tank_id,
                date(1970, 1, 1) + timedelta(days=int(day)),
                int(l_ml[open_i]),
                between(d_at, d_cum, t0, t1),
                sold,
                int(l_ml[last]),
                max(RECONCILIATION_MIN_ML, round(RECONCILIATION_SHARE * sold)),
            )
        )
    return out
