"""The columns the city map needs, read in a few set-based queries (no per-pile loop).

Status precedence per pile (worst wins): open alarm > silent > anomaly >
verification overdue (the planning register's due rules) > normal. The codes match
app.views.map_data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, func, select

from app.models import store as st

NORMAL, ANOMALY, ALARM, OVERDUE, SILENT = 0, 1, 2, 3, 4
OPEN_ALARM_STATES = ("new", "acknowledged", "dispatched")
_RANK = {NORMAL: 0, OVERDUE: 1, ANOMALY: 2, SILENT: 3, ALARM: 4}


@dataclass
class MapColumns:
    pile_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    status: np.ndarray
    operator: np.ndarray
    operator_names: tuple[str, ...]
    district: np.ndarray
    district_names: tuple[str, ...]
    kind: np.ndarray
    station: np.ndarray
    station_names: tuple[str, ...]
    anomaly_rate: np.ndarray


def _codes(values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    names = tuple(sorted(set(values)))
    index = {name: i for i, name in enumerate(names)}
    return np.fromiter((index[v] for v in values), dtype=np.int32, count=len(values)), names


def load_map_columns(conn: Connection, today: datetime | None = None) -> MapColumns:
    p, s, o = st.piles, st.stations, st.operators
    rows = conn.execute(
        select(p.c.pile_id, s.c.lon, s.c.lat, p.c.kind, o.c.name, s.c.district, s.c.name)
        .join(s, s.c.station_id == p.c.station_id)
        .join(o, o.c.operator_id == p.c.operator_id, isouter=True)
        .order_by(p.c.pile_id)
    ).all()
    pile_ids = [r[0] for r in rows]
    status = np.zeros(len(rows), dtype=np.uint8)
    position = {pid: i for i, pid in enumerate(pile_ids)}

    def mark(ids, code: int) -> None:
        for (pid,) in ids:
            i = position.get(pid)
            if i is not None and _RANK[code] > _RANK[int(status[i])]:
                status[i] = code

    from app.models.charging.planning import due_status_by_pile

    today = today or datetime.now(UTC)
    due = due_status_by_pile(conn, (today + timedelta(hours=8)).date())  # Beijing date
    mark(((pid,) for pid, state in due.items() if state == "overdue"), OVERDUE)
    still = st.anomalies.c.closed_at.is_(None)  # findings later data disproved: not marked
    mark(conn.execute(select(st.anomalies.c.pile_id).where(still).distinct()), ANOMALY)
    mark(
        conn.execute(
            select(st.anomalies.c.pile_id).where(st.anomalies.c.rule_id == "R10", still).distinct()
        ),
        SILENT,
    )
    mark(
        conn.execute(
            select(st.alarms.c.pile_id)
            .where(st.alarms.c.state.in_(OPEN_ALARM_STATES), st.alarms.c.pile_id.is_not(None))
            .distinct()
        ),
        ALARM,
    )
    operator, operator_names = _codes([r[4] or "?" for r in rows])
    district, district_names = _codes([r[5] or "?" for r in rows])
    station, station_names = _codes([r[6] or "?" for r in rows])
    rate = np.zeros(len(district_names))
    with_anomaly = dict(
        conn.execute(
            select(st.piles.c.district, func.count(func.distinct(st.anomalies.c.pile_id)))
            .join(st.anomalies, st.anomalies.c.pile_id == st.piles.c.pile_id)
            .where(st.anomalies.c.closed_at.is_(None))
            .group_by(st.piles.c.district)
        ).all()
    )
    counts = np.bincount(district, minlength=len(district_names)) if len(rows) else rate
    for i, name in enumerate(district_names):
        if counts[i]:
            rate[i] = with_anomaly.get(name, 0) / counts[i]
    return MapColumns(
        np.array(pile_ids, dtype=object),
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        status,
        operator,
        operator_names,
        district,
        district_names,
        np.array([1 if r[3] == "DC" else 0 for r in rows], dtype=np.uint8),
        station,
        station_names,
        rate,
    )


INSTRUMENT_TABLES: tuple[tuple[str, str, str], ...] = (
    ("pile", "piles", "pile_id"),
    ("dispenser", "dispensers", "dispenser_id"),
    ("taxi", "vehicles", "plate"),
)
"""(kind, registry table, ID column) of each instrument kind, by table *name*: an alarm's
or finding's ``pile_id`` column names any kind's instrument, and the queue asks which.
A kind whose table is not in the store yet (its migration has not run) is skipped."""


def instrument_kinds(conn: Connection, ids: list[str]) -> dict[str, str]:
    """``id -> kind`` for the IDs found in a kind's registry table; unknown IDs are absent."""
    from sqlalchemy import column, inspect, table

    wanted = sorted({i for i in ids if i})
    found: dict[str, str] = {}
    if not wanted:
        return found
    present = set(inspect(conn).get_table_names())
    for kind, name, id_column in INSTRUMENT_TABLES:
        if name not in present:
            continue
        t = table(name, column(id_column))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for (pid,) in conn.execute(select(t.c[id_column]).where(t.c[id_column].in_(chunk))):
                found.setdefault(pid, kind)
    return found
