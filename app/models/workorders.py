"""Work orders: due instruments grouped into an inspector's route (Qt-free, kind-free).

An order item names ``(kind, instrument ID)``: a charging pile, a fuel dispenser, a taxi
(its plate). Each kind's :class:`~app.models.due_sources.DueSource` says where its
instruments are verified, how long one takes and which were verified since a time; this
module names no kind. A bare string is a charging pile (the callers from before kinds).

Route: stations are visited in nearest-neighbour order, starting from the first
station in the order the regulator picked the instruments (in the due list, the most
urgent one's station), and the instruments of one station are done together; a charging
station and a fuel station are different stops even when their IDs match. Taxis are not
route stops: they are summoned to the verification station, so a taxi order is a list
of vehicles to call in (:attr:`Route.summoned`). Nearest-neighbour is not optimal
(typically within ~25 % of the best tour), but for the handful of stations of a day's
order it is close, instant, and — importantly for a regulator explaining a plan —
predictable. Distances are great-circle (haversine) between GCJ-02 coordinates: the
offset from WGS-84 is a few hundred metres everywhere in the city and nearly constant,
so it cancels out of distances between stations.

Time estimate: each kind's minutes per instrument (10 per pile, the virtual-load
verification's budget; the fuel and taxi kinds state theirs) plus travel between
consecutive stations at 30 km/h (urban average including parking), rounded up to whole
minutes.

Progress: an item is done when a verification record for it, signed after the order was
created, has come back through the sync — i.e. the platform accepted it. Nothing is
ticked off locally on the inspector's say-so.

An instrument is on at most one active order; re-assigning it deactivates the old item
(the database enforces it with a partial unique index on (kind, ID)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update

from app.models.due_sources import DueSource, Site, due_source
from app.models.plan_tables import users, work_order_items, work_orders
from app.models.store import utcnow, write_audit
from app.models.users import PermissionDenied, Session, require

MINUTES_PER_PILE = 10
URBAN_SPEED_KMH = 30.0
EARTH_RADIUS_M = 6_371_008.8
CHARGING = "charging"

Item = tuple[str, str]
"""(kind, instrument ID)."""


class WorkOrderError(ValueError):
    """A work order that cannot be made or changed; the message says why."""


@dataclass(frozen=True)
class Stop:
    """One station on the route with the instruments to verify there."""

    station_id: str
    name: str
    lon: float
    lat: float
    pile_ids: tuple[str, ...]
    """The instruments' IDs (piles for a charging station, dispensers for a fuel one)."""
    travel_m: float  # from the previous stop (0 for the first)
    kind: str = CHARGING


@dataclass(frozen=True)
class Route:
    stops: tuple[Stop, ...]
    summoned: tuple[Item, ...] = ()
    """Instruments called to the verification station (taxis), in the order picked."""
    work_min: float | None = None
    """Verification time of all items; None: :data:`MINUTES_PER_PILE` per routed item."""

    @property
    def travel_m(self) -> float:
        return sum(s.travel_m for s in self.stops)

    @property
    def pile_count(self) -> int:
        """Every item of the order (routed or summoned)."""
        return sum(len(s.pile_ids) for s in self.stops) + len(self.summoned)

    @property
    def estimated_min(self) -> int:
        if self.work_min is None:
            return estimate_minutes(self.pile_count, self.travel_m)
        return math.ceil(self.work_min + self.travel_m / 1000 / URBAN_SPEED_KMH * 60 - 1e-9)

    @property
    def pile_order(self) -> list[tuple[str, str]]:
        """(instrument ID, station_id) of the routed items in visiting order."""
        return [(p, s.station_id) for s in self.stops for p in s.pile_ids]

    @property
    def item_order(self) -> list[tuple[str, str, str | None]]:
        """(kind, instrument ID, station or None) of every item: the route, then the
        summoned instruments."""
        routed = [(s.kind, p, s.station_id) for s in self.stops for p in s.pile_ids]
        return routed + [(k, i, None) for k, i in self.summoned]


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def estimate_minutes(piles_count: int, travel_m: float) -> int:
    travel_min = travel_m / 1000 / URBAN_SPEED_KMH * 60
    return math.ceil(piles_count * MINUTES_PER_PILE + travel_min - 1e-9)


def plan_route(stops: Sequence[tuple]) -> Route:
    """Nearest-neighbour route over ``(station_id, name, lon, lat, ids[, kind])`` from the
    first."""
    if not stops:
        return Route(())

    def stop(t: tuple, distance: float) -> Stop:
        kind = t[5] if len(t) > 5 else CHARGING
        return Stop(t[0], t[1], t[2], t[3], tuple(t[4]), distance, kind)

    remaining = list(stops)
    current = remaining.pop(0)
    route = [stop(current, 0.0)]
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
        route.append(stop(nxt, haversine_m(lon, lat, nxt[2], nxt[3])))
        current = nxt
    return Route(tuple(route))


def as_items(items: Sequence[str | Item]) -> list[Item]:
    """``(kind, ID)`` pairs; a bare string is a charging pile."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, str):
            out.append((CHARGING, item))
        else:
            kind, instrument = item
            out.append((str(kind), str(instrument)))
    return out


def _noun(kind: str) -> str:
    return "pile" if kind == CHARGING else f"{kind} instrument"


def route_for_items(conn: Connection, items: Sequence[str | Item]) -> Route:
    """Groups routed instruments by station (first-seen order), plans the route over the
    stations, and lists the summoned ones (taxis) apart."""
    wanted = as_items(items)
    if not wanted:
        raise WorkOrderError("a work order needs at least one instrument")
    if len(set(wanted)) != len(wanted):
        twice = sorted({f"{k}:{i}" for k, i in wanted if wanted.count((k, i)) > 1})
        raise WorkOrderError(f"listed twice: {', '.join(twice)}")
    by_kind: dict[str, list[str]] = {}
    for kind, instrument in wanted:
        by_kind.setdefault(kind, []).append(instrument)
    sources: dict[str, DueSource] = {}
    places: dict[Item, Site | None] = {}
    for kind, ids in by_kind.items():
        try:
            sources[kind] = due_source(kind)
        except ValueError as exc:
            raise WorkOrderError(str(exc)) from None
        found = sources[kind].locate(conn, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise WorkOrderError(f"unknown {_noun(kind)}(s): {', '.join(missing)}")
        places.update({(kind, i): found[i] for i in ids})
    grouped: dict[tuple[str, str], list[str]] = {}
    info: dict[tuple[str, str], tuple[str, float, float]] = {}
    summoned: list[Item] = []
    for kind, instrument in wanted:
        site = places[(kind, instrument)]
        if not sources[kind].routed:
            summoned.append((kind, instrument))
            continue
        if site is None or site.lon is None or site.lat is None:
            where = site.site_id if site else "?"
            raise WorkOrderError(
                f"{_noun(kind)} {instrument}: its station {where} is not registered"
            )
        grouped.setdefault((kind, site.site_id), []).append(instrument)
        info[(kind, site.site_id)] = (site.name, site.lon, site.lat)
    route = plan_route([(s, *info[(k, s)], ids, k) for (k, s), ids in grouped.items()])
    work = sum(sources[k].minutes_per_item for k, _ in wanted)
    return Route(route.stops, tuple(summoned), float(work))


def route_for_piles(conn: Connection, pile_ids: Sequence[str]) -> Route:
    """The charging-only form (kept for its callers): :func:`route_for_items`."""
    return route_for_items(conn, [(CHARGING, p) for p in pile_ids])


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
    """Active items of every kind (the name is from the charging-only orders)."""
    done: int
    version: int
    kinds: tuple[str, ...] = ()
    """The instrument kinds on the order, in first-item order."""


@dataclass(frozen=True)
class OrderItem:
    seq: int
    pile_id: str
    """The instrument's ID (pile, dispenser, taxi plate)."""
    station_id: str | None
    station_name: str
    reason: str
    due_date: str | None
    done: bool
    kind: str = CHARGING

    @property
    def instrument_id(self) -> str:
        return self.pile_id


def _check_inspector(conn: Connection, username: str) -> None:
    row = conn.execute(
        select(users.c.role, users.c.active).where(users.c.username == username)
    ).first()
    if row is None or row.role != "inspector" or not row.active:
        raise WorkOrderError(f"{username!r} is not an active inspector")


def _item_is(kind: str, instrument: str) -> ColumnElement[bool]:
    return and_(work_order_items.c.kind == kind, work_order_items.c.pile_id == instrument)


def _any_item(items: Sequence[Item]) -> ColumnElement[bool]:
    return or_(*(_item_is(k, i) for k, i in items))


def _reason(
    reasons: Mapping[object, tuple[str, str | None]], kind: str, instrument: str
) -> tuple[str, str | None]:
    found = reasons.get((kind, instrument))
    if found is None and kind == CHARGING:
        found = reasons.get(instrument)  # the charging-only callers key by pile ID
    return found or ("", None)


def create_work_order(
    conn: Connection,
    session: Session,
    pile_ids: Sequence[str | Item],
    inspector: str,
    *,
    title: str = "",
    reasons: Mapping[object, tuple[str, str | None]] | None = None,
    reassign: bool = False,
) -> int:
    """Creates an order of instruments (route-ordered, taxis last) for ``inspector``;
    regulators only.

    ``pile_ids``: ``(kind, ID)`` pairs, or bare pile IDs. ``reasons`` maps
    ``(kind, ID)`` (or a pile ID) → (reason code, ISO due date) from the due list. An
    instrument already on another active order is refused unless ``reassign`` (then
    moved here, audited).
    """
    require(session, "workorders.edit")
    _check_inspector(conn, inspector)
    items = as_items(pile_ids)
    route = route_for_items(conn, items)
    taken = {
        (r.kind, r.pile_id): r.order_id
        for r in conn.execute(
            select(
                work_order_items.c.kind, work_order_items.c.pile_id, work_order_items.c.order_id
            ).where(_any_item(items), work_order_items.c.active.is_(True))
        )
    }
    if taken and not reassign:
        listed = ", ".join(
            f"{i if k == CHARGING else f'{k}:{i}'} (order {o})"
            for (k, i), o in sorted(taken.items())
        )
        raise WorkOrderError(f"already on an active work order: {listed}")
    now = utcnow()
    if taken:
        conn.execute(
            update(work_order_items)
            .where(_any_item(list(taken)), work_order_items.c.active.is_(True))
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
                "kind": kind,
                "pile_id": instrument,
                "station_id": station_id,
                "reason": _reason(reasons, kind, instrument)[0] or "manual",
                "due_date": _reason(reasons, kind, instrument)[1],
                "active": True,
            }
            for seq, (kind, instrument, station_id) in enumerate(route.item_order, 1)
        ],
    )
    charging_only = all(k == CHARGING for k, _, _ in route.item_order)
    write_audit(
        conn,
        session.username,
        "workorder.create",
        f"work order {order_id}",
        {
            "inspector": inspector,
            # the charging-only orders' audit shape, kept; other kinds list kind:ID
            "piles": [i if charging_only else f"{k}:{i}" for k, i, _ in route.item_order],
            "estimated_min": route.estimated_min,
            "reassigned": {(i if k == CHARGING else f"{k}:{i}"): o for (k, i), o in taken.items()},
        },
        at=now,
    )
    return order_id


def reassign_pile(
    conn: Connection, session: Session, pile_id: str, order_id: int, *, kind: str = CHARGING
) -> None:
    """Moves an instrument onto another (open) order; the old order loses it. Regulators
    only."""
    require(session, "workorders.edit")
    order = conn.execute(select(work_orders).where(work_orders.c.id == order_id)).mappings().first()
    if order is None or order["state"] != "open":
        raise WorkOrderError(f"work order {order_id} is not open")
    try:
        source = due_source(kind)
    except ValueError as exc:
        raise WorkOrderError(str(exc)) from None
    place = source.locate(conn, [pile_id])
    if pile_id not in place:
        raise WorkOrderError(f"unknown {_noun(kind)} {pile_id}")
    site = place[pile_id]
    station_id = site.site_id if site is not None and source.routed else None
    old = conn.execute(
        select(work_order_items.c.order_id).where(
            _item_is(kind, pile_id), work_order_items.c.active.is_(True)
        )
    ).scalar()
    conn.execute(
        update(work_order_items)
        .where(_item_is(kind, pile_id), work_order_items.c.active.is_(True))
        .values(active=False)
    )
    existing = conn.execute(
        select(work_order_items.c.id).where(
            work_order_items.c.order_id == order_id, _item_is(kind, pile_id)
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
                "kind": kind,
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
        f"pile {pile_id}" if kind == CHARGING else f"{kind} {pile_id}",
        {"from": old, "to": order_id},
    )


def set_order_state(conn: Connection, session: Session, order_id: int, state: str) -> None:
    """Closes (``done``) or cancels an order; a cancelled order frees its instruments."""
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


def _active_items(conn: Connection, order_id: int) -> list[tuple[str, str]]:
    return [
        (r.kind, r.pile_id)
        for r in conn.execute(
            select(work_order_items.c.kind, work_order_items.c.pile_id)
            .where(work_order_items.c.order_id == order_id, work_order_items.c.active.is_(True))
            .order_by(work_order_items.c.seq)
        )
    ]


def _done_items(conn: Connection, items: Sequence[Item], created_ms: int) -> set[Item]:
    """The items with a synced verification at or after the order's creation, asked of
    each item's kind; an item of a kind no longer registered is never done."""
    by_kind: dict[str, list[str]] = {}
    for kind, instrument in items:
        by_kind.setdefault(kind, []).append(instrument)
    done: set[Item] = set()
    for kind, ids in by_kind.items():
        try:
            source = due_source(kind)
        except ValueError:
            continue
        done |= {(kind, i) for i in source.verified_since(conn, ids, created_ms)}
    return done


def list_orders(
    conn: Connection, session: Session, *, include_closed: bool = True
) -> list[OrderSummary]:
    """The orders the user may see, newest first, with progress from synced results."""
    query = select(work_orders).where(_visible(session)).order_by(work_orders.c.id.desc())
    if not include_closed:
        query = query.where(work_orders.c.state == "open")
    out = []
    for o in conn.execute(query).mappings():
        items = _active_items(conn, int(o["id"]))
        kinds = tuple(dict.fromkeys(k for k, _ in items))
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
                piles=len(items),
                done=len(_done_items(conn, items, int(o["created_ms"]))),
                version=int(o["version"]),
                kinds=kinds,
            )
        )
    return out


def order_items(conn: Connection, session: Session, order_id: int) -> list[OrderItem]:
    """The active items of one visible order in route order (summoned taxis last), each
    with its done flag and its site's name."""
    order = (
        conn.execute(select(work_orders).where(work_orders.c.id == order_id, _visible(session)))
        .mappings()
        .first()
    )
    if order is None:
        raise PermissionDenied(f"{session.who} may not see work order {order_id}")
    rows = list(
        conn.execute(
            select(
                work_order_items.c.seq,
                work_order_items.c.kind,
                work_order_items.c.pile_id,
                work_order_items.c.station_id,
                work_order_items.c.reason,
                work_order_items.c.due_date,
            )
            .where(work_order_items.c.order_id == order_id, work_order_items.c.active.is_(True))
            .order_by(work_order_items.c.seq)
        )
    )
    items = [(r.kind, r.pile_id) for r in rows]
    done = _done_items(conn, items, int(order["created_ms"]))
    names: dict[Item, str] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, instrument in items:
        by_kind.setdefault(kind, []).append(instrument)
    for kind, ids in by_kind.items():
        try:
            found = due_source(kind).locate(conn, ids)
        except ValueError:
            continue
        names.update({(kind, i): site.name for i, site in found.items() if site is not None})
    return [
        OrderItem(
            r.seq,
            r.pile_id,
            r.station_id,
            names.get((r.kind, r.pile_id)) or r.station_id or "",
            r.reason,
            r.due_date,
            (r.kind, r.pile_id) in done,
            r.kind,
        )
        for r in rows
    ]


def active_order_of(conn: Connection, pile_id: str, kind: str = CHARGING) -> int | None:
    """The open order an instrument is currently assigned to (None if none)."""
    value = conn.execute(
        select(work_order_items.c.order_id)
        .select_from(
            work_order_items.join(work_orders, work_orders.c.id == work_order_items.c.order_id)
        )
        .where(
            _item_is(kind, pile_id),
            work_order_items.c.active.is_(True),
            work_orders.c.state != "cancelled",
        )
    ).scalar()
    return None if value is None else int(value)
