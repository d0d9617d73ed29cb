"""Work orders: due piles grouped into an inspector's route (Qt-free).

Route: stations are visited in nearest-neighbour order, starting from the first
station in the order the regulator picked the piles (in the due list, the most urgent
pile's station), and piles of one station are done together. Nearest-neighbour is not
optimal (typically within ~25 % of the best tour), but for the handful of stations of a
day's order it is close, instant, and — importantly for a regulator explaining a plan —
predictable. Distances are great-circle (haversine) between GCJ-02 coordinates: the
offset from WGS-84 is a few hundred metres everywhere in the city and nearly constant,
so it cancels out of distances between stations.

Time estimate: 10 minutes per pile (the virtual-load verification's budget) plus
travel between consecutive stations at 30 km/h (urban average including parking),
rounded up to whole minutes.

Progress: a pile is done when a verification record for it, signed after the order was
created, has come back through the sync — i.e. the platform accepted it. Nothing is
ticked off locally on the inspector's say-so.

A pile is on at most one active order; re-assigning it deactivates the old item (the
database enforces it with a partial unique index).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from app.models.plan_tables import users, work_order_items, work_orders
from app.models.store import piles, stations, utcnow, verifications, write_audit
from app.models.users import PermissionDenied, Session, require

MINUTES_PER_PILE = 10
URBAN_SPEED_KMH = 30.0
EARTH_RADIUS_M = 6_371_008.8


class WorkOrderError(ValueError):
    """A work order that cannot be made or changed; the message says why."""


@dataclass(frozen=True)
class Stop:
    """One station on the route with the piles to verify there."""

    station_id: str
    name: str
    lon: float
    lat: float
    pile_ids: tuple[str, ...]
    travel_m: float  # from the previous stop (0 for the first)


@dataclass(frozen=True)
class Route:
    stops: tuple[Stop, ...]

    @property
    def travel_m(self) -> float:
        return sum(s.travel_m for s in self.stops)

    @property
    def pile_count(self) -> int:
        return sum(len(s.pile_ids) for s in self.stops)

    @property
    def estimated_min(self) -> int:
        return estimate_minutes(self.pile_count, self.travel_m)

    @property
    def pile_order(self) -> list[tuple[str, str]]:
        """(pile_id, station_id) in visiting order."""
        return [(p, s.station_id) for s in self.stops for p in s.pile_ids]


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def estimate_minutes(piles_count: int, travel_m: float) -> int:
    travel_min = travel_m / 1000 / URBAN_SPEED_KMH * 60
    return math.ceil(piles_count * MINUTES_PER_PILE + travel_min - 1e-9)


def plan_route(stops: Sequence[tuple[str, str, float, float, Sequence[str]]]) -> Route:
    """Nearest-neighbour route over ``(station_id, name, lon, lat, pile_ids)`` from the first."""
    if not stops:
        return Route(())
    remaining = list(stops)
    current = remaining.pop(0)
    route = [Stop(current[0], current[1], current[2], current[3], tuple(current[4]), 0.0)]
    while remaining:
        lon, lat = current[2], current[3]
        best = min(
            range(len(remaining)),
            key=lambda i: (
                haversine_m(lon, lat, remaining[i][2], remaining[i][3]),
                remaining[i][0],
            ),
        )
        nxt = remaining.pop(best)
        distance = haversine_m(lon, lat, nxt[2], nxt[3])
        route.append(Stop(nxt[0], nxt[1], nxt[2], nxt[3], tuple(nxt[4]), distance))
        current = nxt
    return Route(tuple(route))


def route_for_piles(conn: Connection, pile_ids: Sequence[str]) -> Route:
    """Groups the piles by station (first-seen order) and plans the route."""
    if not pile_ids:
        raise WorkOrderError("a work order needs at least one pile")
    if len(set(pile_ids)) != len(pile_ids):
        raise WorkOrderError("a pile is listed twice")
    rows = {
        r.pile_id: r
        for r in conn.execute(
            select(
                piles.c.pile_id, piles.c.station_id, stations.c.name, stations.c.lon, stations.c.lat
            )
            .select_from(piles.outerjoin(stations, stations.c.station_id == piles.c.station_id))
            .where(piles.c.pile_id.in_(list(pile_ids)))
        )
    }
    missing = [p for p in pile_ids if p not in rows]
    if missing:
        raise WorkOrderError(f"unknown pile(s): {', '.join(missing)}")
    grouped: dict[str, list[str]] = {}
    info: dict[str, tuple[str, float, float]] = {}
    for pile_id in pile_ids:
        r = rows[pile_id]
        if r.lon is None:
            raise WorkOrderError(f"pile {pile_id}: its station {r.station_id} is not registered")
        grouped.setdefault(r.station_id, []).append(pile_id)
        info[r.station_id] = (r.name, float(r.lon), float(r.lat))
    return plan_route([(s, *info[s], p) for s, p in grouped.items()])


# ---- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSummary:
    id: int
    title: str
    inspector: str
    state: str
    created_at: object
    created_by: str
    estimated_min: int
    travel_m: int
    piles: int
    done: int
    version: int


@dataclass(frozen=True)
class OrderItem:
    seq: int
    pile_id: str
    station_id: str
    station_name: str
    reason: str
    due_date: str | None
    done: bool


def _check_inspector(conn: Connection, username: str) -> None:
    row = conn.execute(
        select(users.c.role, users.c.active).where(users.c.username == username)
    ).first()
    if row is None or row.role != "inspector" or not row.active:
        raise WorkOrderError(f"{username!r} is not an active inspector")


def create_work_order(
    conn: Connection,
    session: Session,
    pile_ids: Sequence[str],
    inspector: str,
    *,
    title: str = "",
    reasons: dict[str, tuple[str, str | None]] | None = None,
    reassign: bool = False,
) -> int:
    """Creates an order of ``pile_ids`` (route-ordered) for ``inspector``; regulators only.

    ``reasons`` maps pile → (reason code, ISO due date) from the due list. A pile already
    on another active order is refused unless ``reassign`` (then moved here, audited).
    """
    require(session, "workorders.edit")
    _check_inspector(conn, inspector)
    route = route_for_piles(conn, pile_ids)
    taken = {
        r.pile_id: r.order_id
        for r in conn.execute(
            select(work_order_items.c.pile_id, work_order_items.c.order_id).where(
                work_order_items.c.pile_id.in_(list(pile_ids)),
                work_order_items.c.active.is_(True),
            )
        )
    }
    if taken and not reassign:
        listed = ", ".join(f"{p} (order {o})" for p, o in sorted(taken.items()))
        raise WorkOrderError(f"already on an active work order: {listed}")
    now = utcnow()
    if taken:
        conn.execute(
            update(work_order_items)
            .where(work_order_items.c.pile_id.in_(list(taken)), work_order_items.c.active.is_(True))
            .values(active=False)
        )
        conn.execute(
            update(work_orders)
            .where(work_orders.c.id.in_(set(taken.values())))
            .values(version=work_orders.c.version + 1)
        )
    order_id = int(
        conn.execute(
            insert(work_orders).returning(work_orders.c.id),
            {
                "title": title or f"{inspector} {now.date().isoformat()}",
                "inspector": inspector,
                "state": "open",
                "created_at": now,
                "created_by": session.username,
                "created_ms": int(now.timestamp() * 1000),
                "estimated_min": route.estimated_min,
                "travel_m": round(route.travel_m),
            },
        ).scalar_one()
    )
    reasons = reasons or {}
    conn.execute(
        insert(work_order_items),
        [
            {
                "order_id": order_id,
                "seq": seq,
                "pile_id": pile_id,
                "station_id": station_id,
                "reason": reasons.get(pile_id, ("", None))[0] or "manual",
                "due_date": reasons.get(pile_id, ("", None))[1],
                "active": True,
            }
            for seq, (pile_id, station_id) in enumerate(route.pile_order, 1)
        ],
    )
    write_audit(
        conn,
        session.username,
        "workorder.create",
        f"work order {order_id}",
        {
            "inspector": inspector,
            "piles": [p for p, _ in route.pile_order],
            "estimated_min": route.estimated_min,
            "reassigned": {p: o for p, o in taken.items()},
        },
        at=now,
    )
    return order_id


def reassign_pile(conn: Connection, session: Session, pile_id: str, order_id: int) -> None:
    """Moves a pile onto another (open) order; the old order loses it. Regulators only."""
    require(session, "workorders.edit")
    order = conn.execute(select(work_orders).where(work_orders.c.id == order_id)).mappings().first()
    if order is None or order["state"] != "open":
        raise WorkOrderError(f"work order {order_id} is not open")
    station_id = conn.execute(select(piles.c.station_id).where(piles.c.pile_id == pile_id)).scalar()
    if station_id is None:
        raise WorkOrderError(f"unknown pile {pile_id}")
    old = conn.execute(
        select(work_order_items.c.order_id).where(
            work_order_items.c.pile_id == pile_id, work_order_items.c.active.is_(True)
        )
    ).scalar()
    conn.execute(
        update(work_order_items)
        .where(work_order_items.c.pile_id == pile_id, work_order_items.c.active.is_(True))
        .values(active=False)
    )
    existing = conn.execute(
        select(work_order_items.c.id).where(
            work_order_items.c.order_id == order_id, work_order_items.c.pile_id == pile_id
        )
    ).scalar()
    if existing is not None:
        conn.execute(
            update(work_order_items).where(work_order_items.c.id == existing).values(active=True)
        )
    else:
        seq = conn.execute(
            select(func.coalesce(func.max(work_order_items.c.seq), 0)).where(
                work_order_items.c.order_id == order_id
            )
        ).scalar_one()
        conn.execute(
            insert(work_order_items),
            {
                "order_id": order_id,
                "seq": int(seq) + 1,
                "pile_id": pile_id,
                "station_id": station_id,
                "reason": "reassigned",
                "active": True,
            },
        )
    ids = [order_id] + ([old] if old is not None else [])
    conn.execute(
        update(work_orders)
        .where(work_orders.c.id.in_(ids))
        .values(version=work_orders.c.version + 1)
    )
    write_audit(
        conn,
        session.username,
        "workorder.reassign",
        f"pile {pile_id}",
        {"from": old, "to": order_id},
    )


def set_order_state(conn: Connection, session: Session, order_id: int, state: str) -> None:
    """Closes (``done``) or cancels an order; a cancelled order frees its piles."""
    require(session, "workorders.edit")
    if state not in ("open", "done", "cancelled"):
        raise WorkOrderError(f"unknown state {state!r}")
    result = conn.execute(
        update(work_orders)
        .where(work_orders.c.id == order_id)
        .values(state=state, version=work_orders.c.version + 1)
    )
    if result.rowcount != 1:
        raise WorkOrderError(f"no work order {order_id}")
    if state == "cancelled":
        conn.execute(
            update(work_order_items)
            .where(work_order_items.c.order_id == order_id)
            .values(active=False)
        )
    write_audit(conn, session.username, "workorder." + state, f"work order {order_id}")


def _visible(session: Session) -> ColumnElement[bool]:
    """Inspectors see their own orders only; regulators all; administrators none."""
    if session.can("workorders.view_all"):
        return work_orders.c.id.is_not(None)
    if session.role == "inspector":
        return work_orders.c.inspector == session.username
    raise PermissionDenied(f"{session.who} may not see work orders")


def _done_piles(conn: Connection, order_id: int, created_ms: int) -> set[str]:
    items = select(work_order_items.c.pile_id).where(
        work_order_items.c.order_id == order_id, work_order_items.c.active.is_(True)
    )
    return set(
        conn.execute(
            select(verifications.c.pile_id)
            .where(verifications.c.pile_id.in_(items), verifications.c.at_ms >= created_ms)
            .distinct()
        ).scalars()
    )


def list_orders(
    conn: Connection, session: Session, *, include_closed: bool = True
) -> list[OrderSummary]:
    """The orders the user may see, newest first, with progress from synced results."""
    query = select(work_orders).where(_visible(session)).order_by(work_orders.c.id.desc())
    if not include_closed:
        query = query.where(work_orders.c.state == "open")
    out = []
    for o in conn.execute(query).mappings():
        count = conn.execute(
            select(func.count()).where(
                work_order_items.c.order_id == o["id"], work_order_items.c.active.is_(True)
            )
        ).scalar_one()
        out.append(
            OrderSummary(
                id=int(o["id"]),
                title=o["title"],
                inspector=o["inspector"],
                state=o["state"],
                created_at=o["created_at"],
                created_by=o["created_by"],
                estimated_min=int(o["estimated_min"]),
                travel_m=int(o["travel_m"]),
                piles=int(count),
                done=len(_done_piles(conn, int(o["id"]), int(o["created_ms"]))),
                version=int(o["version"]),
            )
        )
    return out


def order_items(conn: Connection, session: Session, order_id: int) -> list[OrderItem]:
    """The active piles of one visible order in route order, each with its done flag."""
    order = (
        conn.execute(select(work_orders).where(work_orders.c.id == order_id, _visible(session)))
        .mappings()
        .first()
    )
    if order is None:
        raise PermissionDenied(f"{session.who} may not see work order {order_id}")
    done = _done_piles(conn, order_id, int(order["created_ms"]))
    rows = conn.execute(
        select(
            work_order_items.c.seq,
            work_order_items.c.pile_id,
            work_order_items.c.station_id,
            stations.c.name,
            work_order_items.c.reason,
            work_order_items.c.due_date,
        )
        .select_from(
            work_order_items.outerjoin(
                stations, stations.c.station_id == work_order_items.c.station_id
            )
        )
        .where(work_order_items.c.order_id == order_id, work_order_items.c.active.is_(True))
        .order_by(work_order_items.c.seq)
    )
    return [
        OrderItem(
            r.seq,
            r.pile_id,
            r.station_id,
            r.name or r.station_id,
            r.reason,
            r.due_date,
            r.pile_id in done,
        )
        for r in rows
    ]


def active_order_of(conn: Connection, pile_id: str) -> int | None:
    """The open order a pile is currently assigned to (None if none)."""
    value = conn.execute(
        select(work_order_items.c.order_id)
        .select_from(
            work_order_items.join(work_orders, work_orders.c.id == work_order_items.c.order_id)
        )
        .where(
            work_order_items.c.pile_id == pile_id,
            work_order_items.c.active.is_(True),
            work_orders.c.state != "cancelled",
        )
    ).scalar()
    return None if value is None else int(value)
