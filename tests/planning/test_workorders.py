"""Work orders: nearest-neighbour routes, time estimates, assignment, progress, schema."""

from __future__ import annotations

import math

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.models import plan_tables
from app.models import store as st
from app.models.charging.planning import due_register
from app.models.migrations import include_name
from app.models.plan_tables import work_order_items
from app.models.workorders import (
    MINUTES_PER_PILE,
    WorkOrderError,
    active_order_of,
    create_work_order,
    estimate_minutes,
    haversine_m,
    list_orders,
    order_items,
    plan_route,
    reassign_pile,
    route_for_piles,
    set_order_state,
)
from tests.planning.conftest import TODAY, Office, verification_record


def test_haversine() -> None:
    assert haversine_m(120.0, 30.0, 120.0, 31.0) == pytest.approx(111_195, rel=1e-4)
    assert haversine_m(120.1, 30.2, 120.1, 30.2) == 0.0


def test_nearest_neighbour_from_the_first_station() -> None:
    route = plan_route(
        [
            ("A", "a", 120.00, 30.00, ["p1"]),
            ("FAR", "far", 120.50, 30.00, ["p2", "p3"]),
            ("NEAR", "near", 120.01, 30.00, ["p4"]),
            ("MID", "mid", 120.20, 30.00, ["p5"]),
        ]
    )
    assert [s.station_id for s in route.stops] == ["A", "NEAR", "MID", "FAR"]
    assert route.pile_order == [
        ("p1", "A"),
        ("p4", "NEAR"),
        ("p5", "MID"),
        ("p2", "FAR"),
        ("p3", "FAR"),
    ]
    expected_m = haversine_m(120.0, 30.0, 120.5, 30.0)  # collinear: legs add up
    assert route.travel_m == pytest.approx(expected_m)
    assert route.estimated_min == math.ceil(5 * MINUTES_PER_PILE + expected_m / 1000 / 30 * 60)


def test_time_estimate() -> None:
    assert estimate_minutes(3, 0) == 30
    assert estimate_minutes(1, 15_000) == 40  # 15 km at 30 km/h = 30 min
    assert estimate_minutes(1, 15_001) == 41  # rounded up


def test_route_groups_piles_by_station(office: Office) -> None:
    with office.store.engine.connect() as conn:
        route = route_for_piles(conn, ["P5", "P1", "P3", "P2", "P7"])
        with pytest.raises(WorkOrderError, match="unknown pile"):
            route_for_piles(conn, ["P1", "NOPE"])
    # From ST3 (first pile's station): ST2 is nearer than ST1, then ST1, the airport last.
    assert [s.station_id for s in route.stops] == ["ST3", "ST2", "ST1", "ST4"]
    assert route.stops[2].pile_ids == ("P1", "P2")
    assert route.estimated_min > 5 * MINUTES_PER_PILE


def test_order_lifecycle_assignment_and_progress(office: Office) -> None:
    with office.store.engine.connect() as conn:
        due = {r.pile_id: r for r in due_register(conn, TODAY)}
    reasons = {p: (due[p].reason, due[p].due_date.isoformat()) for p in ("P3", "P5", "P8")}
    with office.store.transaction() as conn:
        order = create_work_order(
            conn, office.regulator, ["P3", "P5", "P8"], "li", title="六月 A", reasons=reasons
        )
        with pytest.raises(WorkOrderError, match="not an active inspector"):
            create_work_order(conn, office.regulator, ["P1"], "wang")
        with pytest.raises(WorkOrderError, match=r"P5 \(order"):
            create_work_order(conn, office.regulator, ["P5", "P6"], "zhao")
        second = create_work_order(conn, office.regulator, ["P5", "P6"], "zhao", reassign=True)
        assert active_order_of(conn, "P5") == second
        items = order_items(conn, office.inspector, order)
    assert [i.pile_id for i in items] == ["P3", "P8"]  # P5 moved to zhao's order
    assert items[0].reason == "first" and items[0].due_date == "2026-01-01"
    key = office.inspector.signing_key
    assert key is not None
    office.loader.apply([verification_record(key, "P3", int(st.utcnow().timestamp() * 1000) + 1)])
    with office.store.transaction() as conn:
        [summary] = list_orders(conn, office.inspector)
        assert (summary.id, summary.piles, summary.done) == (order, 2, 1)
        assert [i.done for i in order_items(conn, office.inspector, order)] == [True, False]
        reassign_pile(conn, office.regulator, "P5", order)
        assert active_order_of(conn, "P5") == order
        set_order_state(conn, office.regulator, second, "cancelled")
        assert active_order_of(conn, "P6") is None
        assert {o.id for o in list_orders(conn, office.regulator)} == {order, second}
        audit = [
            a
            for (a,) in conn.execute(st.audit_log.select().with_only_columns(st.audit_log.c.action))
        ]
    assert audit.count("workorder.create") == 2 and "workorder.reassign" in audit


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ws.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


def test_migration_0002_matches_the_tables_on_both_backends(any_url: str) -> None:
    with st.Store.open(any_url) as store, store.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, [st.metadata, plan_tables.metadata]) == []
        rotation = conn.execute(plan_tables.rotation_settings.select()).all()
        assert {(r.instrument_type, r.years) for r in rotation} == {("DC", 6), ("AC", 8)}
    with st.Store.open(any_url) as store:
        with store.transaction() as conn:
            order = {
                "title": "t",
                "inspector": "li",
                "created_at": st.utcnow(),
                "created_by": "wang",
                "created_ms": 0,
                "estimated_min": 10,
                "travel_m": 0,
            }
            conn.execute(insert(plan_tables.work_orders), [order, order])
            item = {"order_id": 1, "seq": 1, "pile_id": "P1", "station_id": "S", "reason": "r"}
            conn.execute(insert(work_order_items), item)
            # An inactive item of the same pile on another order is history: allowed.
            conn.execute(insert(work_order_items), {**item, "order_id": 2, "active": False})
        # A second *active* item of the same pile: the partial unique index refuses it.
        with pytest.raises(IntegrityError), store.transaction() as conn:
            conn.execute(
                insert(work_order_items), {**item, "order_id": 2, "seq": 2, "pile_id": "P1"}
            )
