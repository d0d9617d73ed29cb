"""The fuel views' queries (Qt-free) over a small store holding the fuel tables.

The fuel projection (helper "fuelmodel") fills these tables from signed records; here the
rows are inserted directly, shaped as tests/test_records.py's fuel bodies, so the queries
are tested on their own. ``build_fuel_world`` is shared with the widget tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pytest
from sqlalchemy import insert

from app.models import alarms
from app.models import store as st
from app.models.findings import Finding
from app.models.fuel import queries as fq
from app.models.map_query import ALARM, ANOMALY, NORMAL, OVERDUE

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z = 08:00 Beijing
HOUR = 3_600_000
DAY = 24 * HOUR
FD1, FD2, FD3, FD4 = "FD000001", "FD000002", "FD000003", "FD000004"
EXTRA_ML = 200
"""The cheat on FD1 nozzle 1: one interval's totalizer runs 200 mL ahead of Σ fuellings."""


@dataclass
class FuelWorld:
    store: st.Store
    fuellings: dict[tuple[str, int], list[dict]] = field(default_factory=dict)
    readings: list[dict] = field(default_factory=list)
    alarm_id: int = 0


def _fuel_tables() -> list:
    """The fuel kind's tables. Imported here, not at module level: importing them adds
    them to the shared metadata, which the migration-vs-models test (tests/models) must
    not see while this branch has no fuel migration (test collection imports every
    module before any test runs)."""
    import app.models.fuel.tables as ft

    names = {t.name for t in vars(ft).values() if isinstance(t, type(ft.dispensers))}
    return [t for t in st.metadata.sorted_tables if t.name in names]


def build_fuel_world(url: str) -> FuelWorld:
    """Two stations, four dispensers, one nozzle with a history; one open seal alarm."""
    import app.models.fuel.tables as ft

    store = st.Store.open(url)
    # Until migration 0006_fuel is merged the store has no fuel tables: create them from
    # the metadata (a no-op once the migration made them).
    st.metadata.create_all(store.engine, tables=_fuel_tables())
    world = FuelWorld(store)
    entry = iter(range(10_000, 100_000))
    with store.transaction() as conn:
        conn.execute(
            insert(st.operators),
            [
                {"operator_id": "OP1", "name": "中石化浙江", "key": "k1", "key_id": "1",
                 "at_ms": T0, "entry_index": next(entry)},
            ],
        )  # fmt: skip
        conn.execute(
            insert(ft.fuel_stations),
            [
                {"station_id": sid, "operator_id": "OP1", "name": name, "district": district,
                 "lon_e6": int(lon * 1e6), "lat_e6": int(lat * 1e6), "lon": lon, "lat": lat,
                 "address": "杭州市" + district, "at_ms": T0 - DAY, "entry_index": next(entry)}
                for sid, name, district, lon, lat in (
                    ("FS1", "中石化文三路加油站", "西湖区", 120.13, 30.28),
                    ("FS2", "中石化钱江加油站", "上城区", 120.21, 30.25),
                )
            ],
        )  # fmt: skip
        conn.execute(
            insert(ft.tanks),
            [
                {"tank_id": tid, "station_id": sid, "operator_id": "OP1", "product": p,
                 "capacity_ml": 30_000_000, "at_ms": T0 - DAY, "entry_index": next(entry)}
                for tid, sid, p in (("FS1-T1", "FS1", "92"), ("FS1-T2", "FS1", "95"),
                                    ("FS2-T1", "FS2", "92"))
            ],
        )  # fmt: skip
        layout = {
            FD1: ("FS1", [(1, "92", "FS1-T1"), (2, "95", "FS1-T2")], "normal"),
            FD2: ("FS1", [(1, "92", "FS1-T1")], "normal"),
            FD3: ("FS2", [(1, "92", "FS2-T1"), (2, "92", "FS2-T1")], "normal"),
            FD4: ("FS2", [(1, "92", "FS2-T1")], "normal"),
        }
        for did, (sid, nozzles, status) in layout.items():
            conn.execute(
                insert(ft.dispensers),
                {
                    "dispenser_id": did, "station_id": sid, "operator_id": "OP1",
                    "district": "西湖区" if sid == "FS1" else "上城区", "key": "sm2:" + did,
                    "serial": "TQ2025-" + did[-4:], "board_id": "CB-" + did[-4:],
                    "maker": "正星科技", "model": "ZX-4", "cert_no": "HZ2025-" + did[-2:],
                    "cert_date": "2025-06-01",
                    "nozzles": [{"nozzle": n, "product": p, "tank_id": t, "encoder_id": f"EN-{n}"}
                                for n, p, t in nozzles],
                    "seals": ["transducer_adjust", "encoder_transducer", "board_housing"],
                    "commissioned_ms": T0 - 400 * DAY, "at_ms": T0 - DAY, "status": status,
                    "entry_index": next(entry),
                },
            )  # fmt: skip
            conn.execute(
                insert(ft.nozzles),
                [{"dispenser_id": did, "nozzle": n, "product": p, "tank_id": t,
                  "encoder_id": f"EN-{n}"} for n, p, t in nozzles],
            )  # fmt: skip
        conn.execute(
            insert(ft.fuel_prices),
            [
                {"entry_index": next(entry), "station_id": "FS1", "operator_id": "OP1",
                 "product": "92", "price_fen_l": price, "valid_from_ms": at, "at_ms": at}
                for price, at in ((785, T0 - DAY), (801, T0 + 6 * HOUR))
            ],
        )  # fmt: skip
        # FD1 nozzle 1: a fuelling every hour for two days; FD2 nozzle 1 every 2 hours.
        fuellings = []
        for did, nozzle, every, n in ((FD1, 1, HOUR, 48), (FD2, 1, 2 * HOUR, 24)):
            total = 123_456_000
            rows = []
            for k in range(n):
                stop = T0 + k * every + 10 * 60_000
                volume = 20_000 + 1_000 * (k % 7)
                price = 785 if stop < T0 + 6 * HOUR else 801
                row = {
                    "entry_index": next(entry), "fuelling_id": f"{did}-{nozzle}-{k}",
                    "dispenser_id": did, "station_id": "FS1", "nozzle": nozzle, "product": "92",
                    "seq": k, "start_ms": stop - 120_000, "stop_ms": stop, "volume_ml": volume,
                    "amount_fen": (volume * price + 500) // 1000, "price_fen_l": price,
                    "total_before_ml": total, "total_after_ml": total + volume,
                }  # fmt: skip
                total += volume
                rows.append(row)
            world.fuellings[(did, nozzle)] = rows
            fuellings += rows
        conn.execute(insert(ft.fuellings), fuellings)
        # FD1 nozzle 1's totalizer every 6 h; from the 3rd reading on it runs EXTRA_ML ahead.
        rows = world.fuellings[(FD1, 1)]
        readings = []
        for k in range(8):
            at = T0 + k * 6 * HOUR + 30 * 60_000
            sold = sum(r["volume_ml"] for r in rows if r["stop_ms"] <= at)
            total = 123_456_000 + sold + (EXTRA_ML if k >= 3 else 0)
            readings.append(
                {"entry_index": next(entry), "dispenser_id": FD1, "station_id": "FS1",
                 "nozzle": 1, "seq": 1000 + k, "at_ms": at, "volume_total_ml": total,
                 "amount_total_fen": total * 8 // 10, "tax_volume_total_ml": total,
                 "tax_amount_total_fen": total * 8 // 10}
            )  # fmt: skip
        conn.execute(insert(ft.totalizers), readings)
        world.readings = readings
        conn.execute(
            insert(ft.fuel_seal_events),
            [
                {"entry_index": next(entry), "dispenser_id": FD1, "station_id": "FS1",
                 "seq": 2000 + i, "position": "board_housing", "event": ev, "at_ms": at,
                 "volume_total_ml": 123_456_000}
                for i, (ev, at) in enumerate((("opened", T0 + 2 * HOUR),
                                              ("closed", T0 + 3 * HOUR),
                                              ("tamper", T0 + 30 * HOUR)))
            ],
        )  # fmt: skip
        conn.execute(
            insert(ft.components),
            {"entry_index": next(entry), "dispenser_id": FD1, "station_id": "FS1", "seq": 3000,
             "component": "encoder", "old_id": "EN-1", "new_id": "EN-9", "at_ms": T0 + 5 * HOUR},
        )  # fmt: skip
        # Tank FS1-T1 (nozzles FD1#1 and FD2#1): gauge at 00:00 and 23:00 Beijing of two
        # days, one delivery on the first; the tank loses exactly what was sold, except
        # on day 2 where it loses 80 L less (a cheat board's over-count).
        t1_days = []
        level = 25_000_000
        all_t1 = sorted(
            world.fuellings[(FD1, 1)] + world.fuellings[(FD2, 1)], key=lambda r: r["stop_ms"]
        )
        gauge_times = [T0 - 8 * HOUR + d * DAY + h * HOUR for d in (0, 1) for h in (0, 23)]
        delivery_at = T0 + 4 * HOUR
        previous = None
        levels = []
        for i, at in enumerate(gauge_times):
            if previous is not None:
                sold = sum(r["volume_ml"] for r in all_t1 if previous < r["stop_ms"] <= at)
                delivered = 10_000_000 if previous < delivery_at <= at else 0
                level = level + delivered - sold + (80_000 if i == 3 else 0)
                t1_days.append((sold, delivered))
            levels.append(
                {"entry_index": next(entry), "tank_id": "FS1-T1", "station_id": "FS1",
                 "seq": 4000 + i, "at_ms": at, "volume_ml": level, "temp_dc": 180}
            )  # fmt: skip
            previous = at
        conn.execute(insert(ft.tank_levels), levels)
        conn.execute(
            insert(ft.tank_deliveries),
            {"entry_index": next(entry), "delivery_id": "DLV-1", "tank_id": "FS1-T1",
             "station_id": "FS1", "product": "92", "volume_ml": 10_000_000, "at_ms": delivery_at},
        )  # fmt: skip
        conn.execute(
            insert(ft.fuel_verifications),
            [
                {"entry_index": next(entry), "verification_id": f"FV-{did}", "dispenser_id": did,
                 "nozzle": 1, "inspector_id": "INS1", "at_ms": T0 - 200 * DAY,
                 "kind": "periodic", "regulation": "JJG 443-2023", "points": [],
                 "result": "pass", "certificate_no": "C-" + did, "next_due": due,
                 "seal_closed": True}
                for did, due in ((FD3, "2025-07-01"), (FD4, "2027-07-01"))
            ],
        )  # fmt: skip
        conn.execute(
            insert(st.anomalies),
            {
                "rule_id": "F01", "pile_id": FD2, "meter_id": FD2 + "#1", "at_ms": T0 + HOUR,
                "severity": "warning", "evidence": [1], "evidence_key": st.evidence_key([1]),
                "detail": {}, "detected_at": st.utcnow(),
            },
        )  # fmt: skip
        (alarm,) = alarms.open_alarms_for(
            conn,
            [Finding("F08", FD1, None, T0 + 2 * HOUR, "critical", (7,), {"at_ms": T0})],
        )
        world.alarm_id = alarm.id
    return world


@pytest.fixture(scope="module")
def fuel_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuelWorld]:
    path = tmp_path_factory.mktemp("fuel") / "fuel.sqlite"
    world = build_fuel_world(f"sqlite:///{path}")
    yield world
    world.store.close()


def test_map_columns_place_each_dispenser_at_its_station_with_its_worst_status(fuel_world):
    with fuel_world.store.engine.connect() as conn:
        cols = fq.load_dispenser_columns(conn, today=date(2026, 1, 3))
    assert list(cols.dispenser_ids) == [FD1, FD2, FD3, FD4]
    assert cols.lon.tolist() == [120.13, 120.13, 120.21, 120.21]
    assert cols.lat.tolist() == [30.28, 30.28, 30.25, 30.25]
    # FD1: open seal alarm; FD2: an open finding; FD3: verification overdue; FD4: fine.
    assert cols.status.tolist() == [ALARM, ANOMALY, OVERDUE, NORMAL]
    assert cols.nozzles.tolist() == [2, 1, 2, 1]
    districts = [cols.district_names[c] for c in cols.district]
    assert districts == ["西湖区", "西湖区", "上城区", "上城区"]
    assert [cols.operator_names[c] for c in cols.operator] == ["中石化浙江"] * 4
    assert cols.station_names[cols.station[2]] == "中石化钱江加油站"


def test_detail_has_registry_nozzles_seal_states_and_open_items(fuel_world):
    with fuel_world.store.engine.connect() as conn:
        detail = fq.dispenser_detail(conn, FD1)
        with pytest.raises(fq.UnknownDispenser):
            fq.dispenser_detail(conn, "P-ST1-01")  # a pile's ID is not a dispenser
    assert detail.registry["station_name"] == "中石化文三路加油站"
    assert detail.registry["operator_name"] == "中石化浙江"
    assert detail.registry["serial"] == "TQ2025-0001"
    assert [(n.nozzle, n.product, n.tank_id) for n in detail.nozzles] == [
        (1, "92", "FS1-T1"),
        (2, "95", "FS1-T2"),
    ]
    seals = {s.position: (s.state, s.at_ms) for s in detail.seals}
    # opened, closed, then a tamper event: the last event wins; untouched positions are closed.
    assert seals == {
        "transducer_adjust": ("closed", None),
        "encoder_transducer": ("closed", None),
        "board_housing": ("tamper", T0 + 30 * HOUR),
    }
    assert detail.components[0]["new_id"] == "EN-9"
    assert [(i.kind, i.rule_id, i.severity) for i in detail.open_items] == [
        ("alarm", "F08", "critical")
    ]
    assert detail.open_items[0].at_ms == T0 + 2 * HOUR  # when it happened, not when synced


def test_nozzle_series_hold_the_rows_and_the_totalizer_deltas(fuel_world):
    with fuel_world.store.engine.connect() as conn:
        s = fq.nozzle_series(conn, FD1, 1)
        empty = fq.nozzle_series(conn, FD1, 2)
    rows = fuel_world.fuellings[(FD1, 1)]
    assert s.volume_ml.tolist() == [r["volume_ml"] for r in rows]
    assert s.amount_fen.tolist() == [r["amount_fen"] for r in rows]
    assert s.price_fen_l.tolist() == [r["price_fen_l"] for r in rows]
    assert s.fuelling_ms.tolist() == [r["stop_ms"] for r in rows]
    assert s.reading_ms.tolist() == [r["at_ms"] for r in fuel_world.readings]
    # Σ fuellings between readings, recomputed here by brute force.
    times = [r["at_ms"] for r in fuel_world.readings]
    for k in range(1, len(times)):
        want = sum(r["volume_ml"] for r in rows if times[k - 1] < r["stop_ms"] <= times[k])
        assert s.fuelled_ml[k] == want
    assert np.isnan(s.mismatch_ml[0])
    # Only the interval where the totalizer jumped ahead shows the 200 mL.
    assert s.mismatch_ml[1:].tolist() == [0, 0, EXTRA_ML, 0, 0, 0, 0]
    assert s.posted_fen_l.tolist() == [785, 801]
    assert len(empty.fuelling_ms) == 0 and len(empty.reading_ms) == 0


def test_tank_reconciliation_balances_each_day_and_flags_the_over_count(fuel_world):
    with fuel_world.store.engine.connect() as conn:
        days = fq.tank_reconciliation(conn, "FS1-T1")
        assert fq.tank_reconciliation(conn, "FS2-T1") == []
    assert [d.day for d in days] == [date(2026, 1, 1), date(2026, 1, 2)]
    first, second = days
    assert first.deliveries_ml == 10_000_000 and second.deliveries_ml == 0
    assert first.imbalance_ml == 0 and first.within_tolerance
    # Day 2 opens at day 1's last reading; the tank kept 80 L the pumps claimed to sell.
    assert second.opening_ml == first.closing_ml
    assert second.imbalance_ml == -80_000
    assert second.tolerance_ml == 50_000 and not second.within_tolerance
    sold = sum(r["volume_ml"] for key in ((FD1, 1), (FD2, 1)) for r in fuel_world.fuellings[key])
    assert first.sales_ml + second.sales_ml + _after_last_gauge(fuel_world) == sold


def _after_last_gauge(world: FuelWorld) -> int:
    """Fuellings after the last gauge reading (outside every balanced interval)."""
    last = T0 - 8 * HOUR + DAY + 23 * HOUR
    return sum(
        r["volume_ml"]
        for key in ((FD1, 1), (FD2, 1))
        for r in world.fuellings[key]
        if r["stop_ms"] > last
    )
