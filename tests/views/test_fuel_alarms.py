"""Fuel findings in the alarm queue: the instrument kind is shown and opens the right view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QLocale

from app.models import alarms
from app.models.findings import CATALOGUE, Finding, Rule
from app.models.map_query import instrument_kinds
from app.views.alarm_queue import AlarmQueueView
from tests.views.test_fuel_queries import FD1, T0, FuelWorld, build_fuel_world

F08 = Rule(
    "F08",
    "critical",
    "加油机铅封被打开或破坏",
    "Dispenser seal opened or tampered",
    "铅封事件",
    "A seal event",
    "fuel_seal",
)


@pytest.fixture(scope="module")
def fuel_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuelWorld]:
    world = build_fuel_world(f"sqlite:///{tmp_path_factory.mktemp('fuelalarm') / 'f.sqlite'}")
    with world.store.transaction() as conn:
        # An alarm naming an ID that is in no registry (a pile not yet synced).
        alarms.open_alarms_for(conn, [Finding("R01", "P-UNKNOWN", "M1", T0, "high", (9,))])
    yield world
    world.store.close()


def test_instrument_kinds_finds_each_id_in_its_own_registry(fuel_world, view_world) -> None:
    with fuel_world.store.engine.connect() as conn:
        assert instrument_kinds(conn, [FD1, "P-ST1-01", "P-UNKNOWN", ""]) == {FD1: "dispenser"}
    with view_world.store.engine.connect() as conn:  # a charging store: no fuel tables
        assert instrument_kinds(conn, [FD1, "P-ST1-01"]) == {"P-ST1-01": "pile"}


@pytest.fixture
def queue(qtbot, fuel_world) -> Iterator[AlarmQueueView]:
    view = AlarmQueueView(fuel_world.store.url)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: len(view.model.alarms) == 2, timeout=10000)
    yield view
    view.shutdown()


def _row_of(view: AlarmQueueView, pile_id: str) -> int:
    return next(i for i, a in enumerate(view.model.alarms) if a.pile_id == pile_id)


def _cell(view: AlarmQueueView, row: int, column: int) -> str:
    return view.model.data(view.model.index(row, column))


def test_a_fuel_alarm_shows_its_dispenser_and_rule_title(qtbot, queue, monkeypatch) -> None:
    monkeypatch.setattr(QLocale, "name", lambda self: "en_US")
    row = _row_of(queue, FD1)
    assert _cell(queue, row, 2) == f"Fuel dispenser {FD1}"
    assert _cell(queue, _row_of(queue, "P-UNKNOWN"), 2) == "P-UNKNOWN"  # in no registry
    # Opened before the fuel rules were registered, the stored title is the bare ID; the
    # queue then shows the catalogue's title once the rule is known.
    if "F08" not in CATALOGUE:
        assert _cell(queue, row, 1) == "F08"
        monkeypatch.setitem(CATALOGUE, "F08", F08)
    title = CATALOGUE["F08"].title_en
    assert _cell(queue, row, 1) == f"F08 {title}"
    monkeypatch.setattr(QLocale, "name", lambda self: "zh_CN")
    assert _cell(queue, row, 1) == f"F08 {CATALOGUE['F08'].title_zh}"


def test_opening_a_fuel_alarm_opens_the_dispenser_not_a_pile(qtbot, queue) -> None:
    piles: list[str] = []
    queue.open_pile.connect(lambda pid, _at: piles.append(pid))
    queue.table.selectRow(_row_of(queue, FD1))
    with qtbot.waitSignal(queue.open_dispenser, timeout=2000) as blocker:
        queue._open_selected()
    assert blocker.args[0] == FD1
    assert piles == []
    queue.table.selectRow(_row_of(queue, "P-UNKNOWN"))
    queue._open_selected()
    assert piles == ["P-UNKNOWN"]
