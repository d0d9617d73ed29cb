"""The taxi detail (`app.models.taxi.detail`, `app.views.taxi.taxi_detail`) over a store
synced by `LogSync` from a real platform holding a simulated fleet with one fault of
each class: what the detail says must be what the simulator's ground truth and the
status rule say (company names, not IDs; the judged median; every verification), and the
sync's taxi rules (T01–T03, `app.models.taxi.rules`) must have found exactly the seal,
failed and drift faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models.taxi.detail import taxi_detail
from app.models.taxi.queries import taxi_rows
from app.views.table_models import StoreReader
from app.views.taxi.taxi_detail import TaxiDetailView
from app.views.taxi.taxi_view import TaxiView, status_label
from ledger.sigcheck import SignatureChecker
from ledger.taxi import fleet as tf
from ledger.taxi.fleet_cli import chunks, start_ms
from tests.models.test_hostile_log import sync_all
from tests.world import PlatformProcess, get, post


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> Iterator[tuple[tf.TaxiFleet, st.Store]]:
    root = tmp_path_factory.mktemp("taxidetail")
    fleet = tf.build_fleet(9, 16, start_ms("2026-11-01", 1), 1, tf.parse_spec("all"))
    entries = [e for _t, part in chunks(fleet) for e in part]
    proc = PlatformProcess(root / "platform")
    try:
        for i in range(0, len(entries), 1000):  # the platform takes ≤ 1000 per request
            part = entries[i : i + 1000]
            status, answer = post(proc.url, b"".join(e + b"\n" for e in part), timeout=120)
            assert status == 200, answer
        get(f"{proc.url}/checkpoint?after={len(entries) - 1}&wait=20")
    finally:
        proc.stop()
    with (
        SignatureChecker(workers=0) as checker,
        st.Store.open(f"sqlite:///{root / 'ws.sqlite'}") as store,
    ):
        assert sync_all(store, root / "platform", len(entries), checker)[1] is None
        yield fleet, store


def _truth(fleet: tf.TaxiFleet, fault: str) -> tf.Truth:
    return next(t for t in fleet.truth if t.fault == fault)


def test_detail_agrees_with_the_ground_truth(synced):
    fleet, store = synced
    with store.engine.connect() as conn:
        details = {t.plate: taxi_detail(conn, t.plate) for t in fleet.taxis}
        assert taxi_detail(conn, "浙A·NOPE") is None
    companies = {c.operator_id: c.name for c in fleet.companies}
    for taxi in fleet.taxis:
        d = details[taxi.plate]
        assert d.company == companies[taxi.operator_id] != taxi.operator_id
        assert (d.meter_serial, d.k_constant, d.terminal_id) == (
            taxi.meter_serial,
            taxi.k_constant,
            taxi.terminal_id,
        )
        assert [v["verification_id"] for v in d.verifications] == [
            v["verification_id"] for v in taxi.verifications
        ]
        assert all(v["inspector"] != v["inspector_id"] for v in d.verifications)
        assert len(d.points) >= 20
    for truth in fleet.truth:
        assert details[truth.plate].status in truth.statuses
    drifted = details[_truth(fleet, "drift").plate]
    assert drifted.status == "drift_suspected"
    assert not -4.0 <= drifted.median_pct <= 1.0
    ppm = int(drifted.evidence.split("median_ppm=")[1].split(";")[0])
    assert drifted.median_pct == pytest.approx(ppm / 10_000, abs=1e-4)
    assert f"trips={drifted.judged_count};" in drifted.evidence
    inside = details[_truth(fleet, "drift_inside").plate]
    assert -4.0 <= inside.median_pct <= 1.0
    sealed = details[_truth(fleet, "seal").plate]
    assert "taxi_seal" in [rtype for _i, rtype, _s in sealed.history]


def test_the_view_shows_the_detail_opened_from_the_taxi_view(qtbot, synced):
    fleet, store = synced
    reader = StoreReader(store)
    try:
        taxis = TaxiView(reader)
        qtbot.addWidget(taxis)
        with store.engine.connect() as conn:
            taxis.set_rows(taxi_rows(conn))
        names = {c.name for c in fleet.companies}
        assert {taxis.table.item(i, 1).text() for i in range(taxis.table.rowCount())} <= names
        filters = {taxis.company_filter.itemText(i) for i in range(1, taxis.company_filter.count())}
        assert filters <= names and filters
        plate = _truth(fleet, "drift").plate
        taxis.open_detail(plate)
        view = taxis.detail_window
        assert isinstance(view, TaxiDetailView)
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            pass
        d = view.detail
        assert d is not None and d.plate == plate
        assert view.fields["status"].text() == status_label("drift_suspected")
        assert view.fields["company"].text() == d.company
        assert view.fields["k"].text() == str(d.k_constant)
        assert f"{d.median_pct:+.2f}" in view.fields["drift"].text()
        xs, _ys = view.points.getData()
        assert len(xs) == len(d.points)
        _mx, my = view.median.getData()
        assert list(my) == [pytest.approx(d.median_pct)] * 2
        assert view.verifications.rowCount() == len(d.verifications)
        newest = d.verifications[-1]
        assert view.verifications.item(0, 1).text() == newest["certificate_no"]
        assert view.history.count() == len(d.history) + 1
        # the history says when a verification was done and until when it is valid
        import datetime as dt

        from ledger.taxi.records import CST

        done = dt.datetime.fromtimestamp(newest["at_ms"] / 1000, CST).date().isoformat()
        lines = [view.history.item(i).text() for i in range(view.history.count())]
        assert any(f"{done} → {newest['next_due']}" in line for line in lines), lines
    finally:
        reader.shutdown()


def test_taxi_findings_are_exactly_the_injected_faults(synced):
    fleet, store = synced
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(st.anomalies.c.rule_id, st.anomalies.c.pile_id, st.anomalies.c.meter_id)
        ).all()
    taxi = sorted((r, p) for r, p, _m in rows if r in ("T01", "T02"))
    assert taxi == [("T01", _truth(fleet, "seal").plate), ("T02", _truth(fleet, "failed").plate)]
    drift = {p for r, p, _m in rows if r == "T03"}
    # every drifted meter, once; the tampered (seal) meter reads +3 … +12 % after the
    # tamper, so it may be found drifting too; nothing inside the limits
    assert len(drift) == sum(r == "T03" for r, _p, _m in rows)
    beyond = {t.plate for t in fleet.truth if t.fault == "drift"}
    assert beyond <= drift <= beyond | {_truth(fleet, "seal").plate}
    serials = {t.plate: t.meter_serial for t in fleet.taxis}
    assert all(m == serials[p] for r, p, m in rows if r.startswith("T"))


def test_a_taxi_alarm_names_the_taxi_meter_and_opens_the_taxi_detail(qtbot, synced, monkeypatch):
    from PySide6.QtCore import QLocale

    from app.views.alarm_queue import AlarmQueueView

    fleet, store = synced
    plate = _truth(fleet, "seal").plate
    monkeypatch.setattr(QLocale, "name", lambda self: "en_US")
    queue = AlarmQueueView(store.url)
    qtbot.addWidget(queue)
    try:
        qtbot.waitUntil(lambda: any(a.pile_id == plate for a in queue.model.alarms), timeout=10_000)
        row = next(i for i, a in enumerate(queue.model.alarms) if a.pile_id == plate)
        assert queue.model.data(queue.model.index(row, 2)) == f"Taxi meter {plate}"
        piles: list[str] = []
        queue.open_pile.connect(lambda pid, _at: piles.append(pid))
        queue.table.selectRow(row)
        with qtbot.waitSignal(queue.open_taxi, timeout=2000) as blocker:
            queue._open_selected()
        assert blocker.args == [plate] and piles == []
    finally:
        queue.shutdown()
