"""The main window over a store with dispensers: the map loads the dispenser layer, and a
click on a dispenser (or its alarm) opens the dispenser detail."""

from __future__ import annotations

from app.main_window import MainWindow
from tests.views.test_fuel_queries import FD1, build_fuel_world


def test_map_click_and_alarm_open_the_dispenser_detail(qtbot, tmp_path) -> None:
    world = build_fuel_world(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    window = MainWindow(world.store.url)
    qtbot.addWidget(window)
    window.show()
    try:
        view = window.map_panel.view
        qtbot.waitUntil(lambda: len(view.fuel) == 4, timeout=15000)
        with qtbot.waitSignal(window.dispenser_detail.loaded, timeout=10000) as blocker:
            view.dispenser_clicked.emit(FD1)  # what a click on its marker emits
        assert blocker.args == [FD1]
        assert window.dispenser_detail.detail.registry["serial"] == "TQ2025-0001"
        row = list(view.fuel.pile_ids).index(FD1)
        assert view.highlight.data["x"].tolist() == [view.fuel.x[row]]  # ringed on the map
        queue = window.alarm_view
        qtbot.waitUntil(lambda: len(queue.model.alarms) == 1, timeout=15000)
        with qtbot.waitSignal(window.dispenser_detail.loaded, timeout=10000):
            window.dispenser_detail.show_dispenser("FD000002")  # away from FD1 first
        queue.table.selectRow(0)
        with qtbot.waitSignal(window.dispenser_detail.loaded, timeout=10000) as blocker:
            queue._open_selected()
        assert blocker.args == [FD1]
    finally:
        window.shutdown()
        world.store.close()
