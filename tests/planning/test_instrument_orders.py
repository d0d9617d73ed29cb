"""Due lists and work orders for every instrument kind (issues 15.4 and 16.4): the fuel
dispensers' JJG 443 list (6-month cycle), the taxi meters' JJG 517 list, and one work
order holding a pile, a dispenser and a taxi — through the core's registry, with roles
enforced in the model and charging orders from before migration 0008 still readable."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, insert, inspect

from app.models import store as st
from app.models.due_sources import DUE_SOURCES, due_rows, register_due_source
from app.models.fuel.due import fuel_due
from app.models.migrations import alembic_config
from app.models.taxi.due import taxi_due
from app.models.users import PermissionDenied
from app.models.workorders import (
    WorkOrderError,
    active_order_of,
    create_work_order,
    haversine_m,
    list_orders,
    order_items,
    reassign_pile,
    route_for_items,
    set_order_state,
)
from ledger.records import Record, sign_record
from tests.planning.conftest import T0, TODAY, Office, ms

TAXI_U = "浙A·U0005"  # registered, never verified
TAXI_V = "浙A·V0001"  # verified on 2026-05-01, valid a year


def _fuel_records(office: Office) -> list[Record]:
    key = office.world.oper
    out = [
        sign_record(
            "fuel_station",
            {
                "station_id": "FS1",
                "operator_id": "OP1",
                "name": "古墩路加油站",
                "district": "西湖区",
                "lon_e6": 120_100_000,
                "lat_e6": 30_300_000,
                "at_ms": T0,
            },
            key,
        )
    ]

    def dispenser(did: str, nozzles: tuple[int, ...] = (1,)) -> Record:
        return sign_record(
            "dispenser",
            {
                "dispenser_id": did,
                "station_id": "FS1",
                "operator_id": "OP1",
                "key": office.world.meter_key("FD-" + did).public_key.text,
                "serial": f"SN-{did}",
                "board_id": f"CB-{did}",
                "nozzles": [
                    {"nozzle": n, "product": "92", "tank_id": "T1", "encoder_id": f"EN-{did}-{n}"}
                    for n in nozzles
                ],
                "seals": ["transducer_adjust", "encoder_transducer", "board_housing"],
                "commissioned_ms": T0,
                "at_ms": T0,
            },
            key,
        )

    def verified(did: str, day: dt.date, result: str = "pass", nozzle: int = 1) -> Record:
        return sign_record(
            "fuel_verification",
            {
                "verification_id": f"FV-{did}-{nozzle}-{day}",
                "dispenser_id": did,
                "nozzle": nozzle,
                "inspector_id": "INS-HZ-007",
                "at_ms": ms(day),
                "kind": "periodic",
                "regulation": "JJG 443-2023",
                "points": [{"flow_ml_min": 40_000, "runs": [], "error_ppm": 1_000}],
                "result": result,
                "certificate_no": f"HZ-F-{did}-{day}",
                "next_due": "2099-01-01",  # typed by the inspector; the list computes its own
                "seal_closed": True,
            },
            office.world.auth,
        )

    for did in ("D-OLD", "D-NEW", "D-SEAL", "D-FAIL", "D-SOON", "P1"):
        out.append(dispenser(did))
    out.append(dispenser("D-TWO", (1, 2)))
    out += [
        verified("D-OLD", dt.date(2025, 11, 15)),  # valid until 2026-05-14: expired
        verified("D-SEAL", dt.date(2026, 5, 1)),  # valid, but its seal is open (F08)
        verified("D-FAIL", dt.date(2026, 5, 10), "fail"),
        verified("D-SOON", dt.date(2025, 12, 20)),  # valid until 2026-06-19: 18 days left
        verified("P1", dt.date(2026, 5, 1)),  # a dispenser sharing a pile's ID; valid
        verified("D-TWO", dt.date(2026, 5, 1), nozzle=1),  # nozzle 2 never verified
    ]
    return out


def _taxi_records(office: Office) -> list[Record]:
    key = office.world.oper
    out: list[Record] = []
    for n, plate in enumerate((TAXI_U, TAXI_V), 1):
        out.append(sign_record("vehicle", {"plate": plate, "operator_id": "OP1", "at_ms": T0}, key))
        out.append(
            sign_record(
                "taximeter",
                {
                    "meter_serial": f"JJ-{n}",
                    "plate": plate,
                    "operator_id": "OP1",
                    "model": "JBC-11",
                    "k_constant": 1000,
                    "terminal_id": f"TERM{n}",
                    "key": office.world.meter_key(f"TERM{n}").public_key.text,
                    "installed_ms": T0,
                    "at_ms": T0,
                },
                key,
            )
        )
    out.append(
        sign_record(
            "taxi_verification",
            {
                "verification_id": "TV-2",
                "plate": TAXI_V,
                "meter_serial": "JJ-2",
                "inspector_id": "INS-HZ-007",
                "at_ms": ms(dt.date(2026, 5, 1)),
                "kind": "periodic",
                "method": "roller",
                "regulation": "JJG 517-2016",
                "distance_error_ppm": -5_000,
                "time_error_ppm": 300,
                "k_constant": 1000,
                "result": "pass",
                "certificate_no": "HZ-T-2",
                "next_due": "2027-04-30",
                "seal_closed": True,
            },
            office.world.auth,
        )
    )
    return out


def _open_seal(office: Office, dispenser_id: str, day: dt.date) -> None:
    """An open F08 finding, as app.models.fuel.rules stores one (pile_id = dispenser)."""
    with office.store.transaction() as conn:
        conn.execute(
            insert(st.anomalies),
            {
                "rule_id": "F08",
                "pile_id": dispenser_id,
                "at_ms": ms(day),
                "severity": "critical",
                "evidence": [],
                "evidence_key": f"F08-{dispenser_id}",
                "detail": {"position": "board_housing", "event": "opened"},
                "detected_at": dt.datetime(day.year, day.month, day.day, 13, tzinfo=dt.UTC),
            },
        )


@pytest.fixture
def kinds(office: Office) -> Office:
    office.loader.apply(_fuel_records(office) + _taxi_records(office))
    _open_seal(office, "D-SEAL", dt.date(2026, 5, 20))
    return office


def test_every_kind_is_registered_through_the_core() -> None:
    assert {"charging", "fuel", "taxi"} <= set(DUE_SOURCES)
    with pytest.raises(ValueError, match="already registered"):
        register_due_source(
            DUE_SOURCES["fuel"].__class__(**{**DUE_SOURCES["fuel"].__dict__, "label": ("x", "x")})
        )


def test_fuel_due_list_jjg443_order_and_six_month_validity(kinds: Office) -> None:
    with kinds.store.engine.connect() as conn:
        everything = {r.instrument_id: r for r in fuel_due(conn, TODAY)}
        listed = due_rows(conn, "fuel", TODAY)
    assert [(r.instrument_id, r.reason) for r in listed] == [
        ("D-SEAL", "seal_open"),  # F08 open: first, whatever its certificate says
        ("D-FAIL", "failed"),
        ("D-OLD", "expired"),  # verified 2025-11-15: 6 months ended 2026-05-14
        ("D-NEW", "first"),  # never verified: due since commissioning
        ("D-TWO", "first"),  # nozzle 1 verified, nozzle 2 never: the dispenser is not
        ("D-SOON", "expiring"),
    ]
    old = everything["D-OLD"]
    assert old.valid_until == dt.date(2026, 5, 14)
    assert old.days_left == -18 and old.status == "overdue"
    soon = everything["D-SOON"]
    assert (soon.valid_until, soon.days_left, soon.status) == (dt.date(2026, 6, 19), 18, "due_30")
    new = everything["D-NEW"]
    assert new.valid_until is None and new.due_date == dt.date(2026, 1, 1)
    assert everything["D-SEAL"].flagged and everything["D-SEAL"].evidence.startswith("F08")
    # Valid until 2026-10-31 (152 days): on the register, not on the 90-day due list.
    assert everything["P1"].valid_until == dt.date(2026, 10, 31)
    assert "P1" not in {r.instrument_id for r in listed}


def test_closing_the_seal_finding_takes_the_dispenser_off_the_top(kinds: Office) -> None:
    with kinds.store.transaction() as conn:
        conn.execute(
            st.anomalies.update()
            .where(st.anomalies.c.pile_id == "D-SEAL")
            .values(closed_at=st.utcnow())
        )
        rows = {r.instrument_id: r for r in fuel_due(conn, TODAY)}
    assert rows["D-SEAL"].reason == "expiring" and not rows["D-SEAL"].flagged


def test_taxi_due_list_from_the_log(kinds: Office) -> None:
    with kinds.store.engine.connect() as conn:
        rows = due_rows(conn, "taxi", TODAY)
        assert taxi_due(conn, TODAY) == rows  # nothing far off to cut
    assert [(r.instrument_id, r.reason, r.extra) for r in rows] == [(TAXI_U, "unverified", "JJ-1")]
    assert rows[0].operator_id == "OP1" and rows[0].site_id is None


def test_one_order_with_a_pile_a_dispenser_and_a_taxi(kinds: Office) -> None:
    office = kinds
    items: list[Any] = [("charging", "P3"), ("taxi", TAXI_U), ("fuel", "D-OLD")]
    reasons = {("fuel", "D-OLD"): ("expired", "2026-05-14"), ("taxi", TAXI_U): ("unverified", None)}
    with office.store.transaction() as conn:
        route = route_for_items(conn, items)
        # ST2 (the pile's station) first, then the fuel station; the taxi is summoned.
        assert [(s.kind, s.station_id, s.pile_ids) for s in route.stops] == [
            ("charging", "ST2", ("P3",)),
            ("fuel", "FS1", ("D-OLD",)),
        ]
        assert route.summoned == (("taxi", TAXI_U),)
        leg = haversine_m(120.150, 30.268, 120.100, 30.300)
        assert route.travel_m == pytest.approx(leg)
        assert route.estimated_min == -(-(10 + 45 + 40 + leg / 1000 / 30 * 60) // 1)
        order = create_work_order(conn, office.regulator, items, "li", reasons=reasons)
        listed = order_items(conn, office.inspector, order)
        assert [(i.kind, i.pile_id, i.station_id, i.reason) for i in listed] == [
            ("charging", "P3", "ST2", "manual"),
            ("fuel", "D-OLD", "FS1", "expired"),
            ("taxi", TAXI_U, None, "unverified"),
        ]
        assert listed[1].station_name == "古墩路加油站" and listed[1].due_date == "2026-05-14"
        # The same ID in another kind is another instrument: the pile P1 and dispenser P1.
        both = create_work_order(conn, office.regulator, ["P1", ("fuel", "P1")], "zhao")
        assert active_order_of(conn, "P1") == both == active_order_of(conn, "P1", "fuel")
        with pytest.raises(WorkOrderError, match=r"fuel:D-OLD \(order"):
            create_work_order(conn, office.regulator, [("fuel", "D-OLD")], "zhao")
        with pytest.raises(WorkOrderError, match="unknown taxi instrument"):
            create_work_order(conn, office.regulator, [("taxi", "浙A·NOPE")], "zhao")
        with pytest.raises(WorkOrderError, match="unknown instrument kind"):
            create_work_order(conn, office.regulator, [("boat", "B1")], "zhao")
    # A synced JJG 443 result for the dispenser, after the order was made: done.
    now_ms = int(st.utcnow().timestamp() * 1000) + 1
    done = _fuel_records(office)[-1]
    body = {**done.body, "verification_id": "FV-done", "dispenser_id": "D-OLD", "at_ms": now_ms}
    office.loader.apply([sign_record("fuel_verification", body, office.world.auth)])
    with office.store.transaction() as conn:
        [mine] = list_orders(conn, office.inspector)
        assert (mine.id, mine.piles, mine.done, mine.kinds) == (
            order,
            3,
            1,
            ("charging", "fuel", "taxi"),
        )
        assert [i.done for i in order_items(conn, office.inspector, order)] == [False, True, False]
        reassign_pile(conn, office.regulator, TAXI_U, both, kind="taxi")
        assert active_order_of(conn, TAXI_U, "taxi") == both
        set_order_state(conn, office.regulator, order, "done")
        states = {o.id: o.state for o in list_orders(conn, office.regulator)}
    assert states == {order: "done", both: "open"}


def test_the_wrong_role_is_refused_in_the_model(kinds: Office) -> None:
    office = kinds
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, [("fuel", "D-NEW")], "li")
    for session in (office.inspector, office.checker, office.admin):
        with office.store.transaction() as conn:
            with pytest.raises(PermissionDenied, match="create or change work orders"):
                create_work_order(conn, session, [("taxi", TAXI_U)], "li")
            with pytest.raises(PermissionDenied, match="create or change work orders"):
                reassign_pile(conn, session, "D-NEW", order, kind="fuel")
            with pytest.raises(PermissionDenied, match="create or change work orders"):
                set_order_state(conn, session, order, "cancelled")
    with office.store.transaction() as conn:
        with pytest.raises(PermissionDenied):
            order_items(conn, office.other_inspector, order)  # not theirs
        assert list_orders(conn, office.other_inspector) == []
        assert active_order_of(conn, TAXI_U, "taxi") is None  # nothing slipped through


def test_charging_orders_from_before_0008_survive_the_upgrade(office: Office) -> None:
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3", "P5"], "li", title="旧工单")
        before = order_items(conn, office.regulator, order)
    url = str(office.store.engine.url)
    office.store.close()
    command.downgrade(alembic_config(url), "0007_taxi")
    engine = create_engine(url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("work_order_items")}
        assert "kind" not in columns  # really the old schema
    finally:
        engine.dispose()
    with st.Store.open(url) as store, store.engine.connect() as conn:
        [summary] = list_orders(conn, office.regulator)
        after = order_items(conn, office.regulator, order)
    assert (summary.id, summary.title, summary.piles, summary.kinds) == (
        order,
        "旧工单",
        2,
        ("charging",),
    )
    assert [(i.kind, i.pile_id, i.station_id, i.station_name) for i in after] == [
        ("charging", i.pile_id, i.station_id, i.station_name) for i in before
    ]
