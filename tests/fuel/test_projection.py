"""The fuel projection through the real sync: records signed as the sources sign them,
logged by the real platform (`python -m ledger serve` on loopback), verified and applied
by `LogSync` into a store on SQLite and PostgreSQL; and the sync's refusals (a fuelling
under an unregistered key, an operator registering a dispenser on another operator's
station), which the lying platform serves behind its own checks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.models import store as st
from app.models.fuel import tables as ft
from app.models.fuel.projection import _EVENTS
from app.models.projection import apply_records
from ledger.client import LogClient
from ledger.keys import SigningKey
from ledger.records import Record, sign_record
from tests.fuel.fuelmodel_world import DAY0, DAY_MS, HOUR_MS, FuelWorld
from tests.models.test_hostile_log import inject, lying_platform, sync_all
from tests.world import PlatformProcess, ndjson, post


def publish(data: Path, records: list[Record]) -> None:
    """Posts records through the platform's front door (it checks them) and stops it."""
    lying_platform(data, records, [])


def synced_registry(store: st.Store, data: Path, checker) -> tuple[FuelWorld, int]:
    """A world whose registry is logged and synced; returns it and the log size."""
    w = FuelWorld()
    registry = w.registry()
    publish(data, registry)
    assert sync_all(store, data, len(registry), checker)[1] is None
    return w, len(registry)


def halted_on(store: st.Store, data: Path, size: int, checker, offending: Record) -> dict:
    """Syncs a log whose last entry the platform should have refused: the sync halts
    with that entry as evidence; returns the misbehaviour row."""
    _, error = sync_all(store, data, size, checker)
    assert error is not None
    [found] = rows(store, st.misbehaviour)
    assert (found["evidence"]["index"], found["offending_bytes"]) == (
        size - 1,
        offending.to_bytes(),
    )
    origin = LogClient("http://unused", (data / "log.vkey").read_text().strip()).origin
    assert store.get_sync_state(origin).status == "halted"
    return found


def rows(store: st.Store, table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def test_a_synced_fuel_log_fills_every_fuel_table(fuelmodel_any_store, tmp_path, fuelmodel_checker):
    store, w, data = fuelmodel_any_store, FuelWorld(), tmp_path / "platform"
    registry = w.registry()
    publish(data, registry)
    _, error = sync_all(store, data, len(registry), fuelmodel_checker)
    assert error is None
    # A second sync rebuilds the dispenser signers from the store (key_tables): a
    # fuelling verifies under the module key its dispenser row holds.
    day = w.sign_all(w.clean_day())
    extra = [
        w.seal("FD1", DAY0 + DAY_MS + HOUR_MS, "closed"),
        w.component("FD2", DAY0 + DAY_MS + HOUR_MS),
        w.component_init("FD2", DAY0 + DAY_MS + 2 * HOUR_MS),
        sign_record(
            "fuel_verification",
            {
                "verification_id": "FV1",
                "dispenser_id": "FD1",
                "nozzle": 1,
                "inspector_id": "INS1",
                "at_ms": DAY0 + DAY_MS + 3 * HOUR_MS,
                "kind": "periodic",
                "regulation": "JJG 443-2023",
                "points": [
                    {
                        "flow_ml_min": 40_000,
                        "runs": [
                            {"standard_ml": 20_000, "indicated_ml": 20_020, "error_ppm": 1000}
                        ],
                        "error_ppm": 1000,
                    }
                ],
                "result": "pass",
                "certificate_no": "HZ2026-F0001",
                "next_due": "2026-07-01",
                "seal_closed": True,
            },
            w.insp,
        ),
    ]
    publish(data, day + extra)
    _, error = sync_all(store, data, len(registry) + len(day) + len(extra), fuelmodel_checker)
    assert error is None

    [fs1] = [r for r in rows(store, ft.fuel_stations) if r["station_id"] == "FS1"]
    assert (fs1["operator_id"], fs1["district"], fs1["lat"]) == ("OP1", "西湖区", 30.26)
    dispensers = {r["dispenser_id"]: r for r in rows(store, ft.dispensers)}
    assert set(dispensers) == {"FD1", "FD2"}
    assert dispensers["FD1"]["district"] == "西湖区"  # copied from its station
    assert dispensers["FD1"]["key"] == w.fd1.public_key.text
    assert dispensers["FD1"]["status"] == "normal"
    assert [n["nozzle"] for n in dispensers["FD1"]["nozzles"]] == [1, 2]
    nozzles = {(r["dispenser_id"], r["nozzle"]): r for r in rows(store, ft.nozzles)}
    assert set(nozzles) == {("FD1", 1), ("FD1", 2), ("FD2", 1)}
    assert (nozzles[("FD1", 2)]["tank_id"], nozzles[("FD1", 2)]["encoder_id"]) == ("T1", "EN-FD1-2")
    [tank] = rows(store, ft.tanks)
    assert (tank["tank_id"], tank["station_id"], tank["capacity_ml"]) == ("T1", "FS1", 30_000_000)

    # Every event record is one row whose columns are its body's fields, at its entry.
    logged = registry + day + extra
    for rtype, (table, columns, _) in _EVENTS.items():
        expected = {
            index: {c: r.body[c] for c in columns if c != "entry_index"}
            for index, r in enumerate(logged)
            if r.type == rtype
        }
        got = {row["entry_index"]: row for row in rows(store, table)}
        assert set(got) == set(expected), rtype
        for index, body in expected.items():
            assert {c: got[index][c] for c in body} == body, (rtype, index)
    assert len(rows(store, ft.fuellings)) == 18 == sum(r.type == "fuelling" for r in logged)


def test_the_registry_holds_the_latest_dispenser_record_and_its_nozzles(fuelmodel_store):
    """An older dispenser record applied after a newer one (a tool replaying entries out
    of order) changes neither the dispenser nor its nozzles."""
    w = FuelWorld()
    registry = w.registry()
    newer = w.dispenser("FD1", (1, 2, 3))
    older = w.dispenser("FD1", (4,))
    n = len(registry)
    with fuelmodel_store.transaction() as conn:
        apply_records(conn, list(enumerate(registry)))
        apply_records(conn, [(n + 5, newer)])
        apply_records(conn, [(n + 1, older)])
    [fd1] = [r for r in rows(fuelmodel_store, ft.dispensers) if r["dispenser_id"] == "FD1"]
    assert fd1["entry_index"] == n + 5
    got = sorted(
        r["nozzle"] for r in rows(fuelmodel_store, ft.nozzles) if r["dispenser_id"] == "FD1"
    )
    assert got == [1, 2, 3]


def test_a_station_record_after_its_dispenser_gives_the_dispenser_its_district(fuelmodel_store):
    w = FuelWorld()
    registry = [r for r in w.registry() if r.type != "fuel_station"]
    station = w.station("FS1", "OP1", "上城区", w.op1)
    with fuelmodel_store.transaction() as conn:
        apply_records(conn, list(enumerate(registry)))
        apply_records(conn, [(len(registry), station)])
    districts = {r["dispenser_id"]: r["district"] for r in rows(fuelmodel_store, ft.dispensers)}
    assert districts == {"FD1": "上城区", "FD2": "上城区"}


def test_a_fuelling_under_a_key_not_registered_for_its_dispenser_halts_the_sync(
    fuelmodel_store, tmp_path, fuelmodel_checker
):
    data = tmp_path / "platform"
    w, size = synced_registry(fuelmodel_store, data, fuelmodel_checker)
    fuelling = next(s["body"] for s in w.clean_day() if s["type"] == "fuelling")
    # FD1's fuelling, signed by a key the registry does not hold for FD1
    bad = sign_record("fuelling", fuelling, SigningKey.from_seed("ed25519", b"a cheat board"))
    inject(data, [bad.to_bytes()])
    found = halted_on(fuelmodel_store, data, size + 1, fuelmodel_checker, bad)
    assert found["kind"] == "unknown-key"
    assert rows(fuelmodel_store, ft.fuellings) == []


def test_an_operator_registering_a_dispenser_on_another_operators_station_halts_the_sync(
    fuelmodel_store, tmp_path, fuelmodel_checker
):
    data = tmp_path / "platform"
    w, size = synced_registry(fuelmodel_store, data, fuelmodel_checker)
    # OP2 signs a dispenser on OP1's station FS1, as OP2 (the platform must refuse it)
    stolen = w.dispenser("FD9", (1,), operator="OP2", signer=w.op2, key=w.fd2)
    proc = PlatformProcess(data)
    try:
        status, _ = post(proc.url, ndjson([stolen]))
        assert status != 200  # the honest platform refuses it at the door
    finally:
        proc.stop()
    inject(data, [stolen.to_bytes()])
    found = halted_on(fuelmodel_store, data, size + 1, fuelmodel_checker, stolen)
    assert found["kind"] == "signer-rule"
    assert "FS1" in found["description"] and "OP1" in found["description"]
    assert "FD9" not in {r["dispenser_id"] for r in rows(fuelmodel_store, ft.dispensers)}
