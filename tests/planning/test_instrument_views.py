"""The due list's kind selector and a work order holding a pile, a dispenser and a taxi
(pytest-qt, offscreen). ``PLAN_PNG_DIR`` / ``PLAN_LANG`` as in test_views.py."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.views.due_list import DueListView, KindDueModel
from app.views.table_models import StoreReader
from app.views.work_orders import CreateWorkOrderDialog, WorkOrdersView
from tests.planning.conftest import TODAY, Office
from tests.planning.test_instrument_orders import TAXI_U, kinds  # noqa: F401 - fixture
from tests.planning.test_views import reader, render  # noqa: F401 - fixture


def test_due_list_per_kind(
    kinds: Office,  # noqa: F811
    reader: StoreReader,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    view = DueListView(reader, kinds.regulator, today=TODAY)
    qtbot.addWidget(view)
    assert [view.kind.itemData(i) for i in range(view.kind.count())][:3] == [
        "charging",
        "fuel",
        "taxi",
    ]
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=5000)
    render(view, "due_charging", tmp_path)

    view.set_kind("fuel")
    qtbot.waitUntil(lambda: view.kind_model.kind == "fuel", timeout=5000)
    assert view.table.model() is view.kind_proxy
    shown = [r.instrument_id for r in view.visible_kind_rows()]
    assert shown == ["D-SEAL", "D-FAIL", "D-OLD", "D-NEW", "D-TWO", "D-SOON"]
    assert not view.export_xlsx_button.isEnabled()
    view.group.setCurrentIndex(view.group.findData("triggered"))
    assert [r.instrument_id for r in view.visible_kind_rows()] == ["D-SEAL", "D-FAIL"]
    view.group.setCurrentIndex(0)
    render(view, "due_fuel", tmp_path)
    view.set_checked(["D-OLD", "D-NEW", "P1"])  # P1 is no fuel row on the list: ignored
    with qtbot.waitSignal(view.create_order_requested, timeout=2000) as signal:
        view.order_button.click()
    items, reasons = signal.args
    assert items == [("fuel", "D-OLD"), ("fuel", "D-NEW")]
    assert reasons[("fuel", "D-OLD")] == ("expired", "2026-05-14")
    with qtbot.waitSignal(view.status_message, timeout=5000):
        view.export(tmp_path / "fuel.csv", "csv")
    text = (tmp_path / "fuel.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Dispenser,Serial") and "D-SEAL" in text
    with qtbot.waitSignal(view.instrument_activated, timeout=1000) as activated:
        view.table.doubleClicked.emit(view.kind_proxy.index(2, 3))
    assert activated.args == ["fuel", "D-OLD"]

    view.set_kind("taxi")
    qtbot.waitUntil(lambda: view.kind_model.kind == "taxi", timeout=5000)
    assert [r.instrument_id for r in view.visible_kind_rows()] == [TAXI_U]
    column = KindDueModel.COLUMNS.index("site")
    assert view.kind_proxy.index(0, column).data() == "Summoned to the station"
    render(view, "due_taxi", tmp_path)


def test_work_order_with_a_pile_a_dispenser_and_a_taxi(
    kinds: Office,  # noqa: F811
    reader: StoreReader,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    items = [("charging", "P3"), ("fuel", "D-OLD"), ("taxi", TAXI_U)]
    dialog = CreateWorkOrderDialog(
        kinds.store, reader, kinds.regulator, items, {("fuel", "D-OLD"): ("expired", "2026-05-14")}
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.route.count() == 3, timeout=5000)  # 2 stops + summoned
    assert TAXI_U in dialog.route.item(2).text()
    dialog.inspector.setCurrentIndex(dialog.inspector.findData("li"))
    render(dialog, "new_mixed_work_order", tmp_path, dialog=True)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.accepted.emit()
    assert dialog.order_id is not None, dialog.error.text()

    view = WorkOrdersView(reader, kinds.inspector)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.items_model.keys == ["P3", "D-OLD", TAXI_U], timeout=5000)
    assert [row[1] for row in view.items_model.rows] == [
        "Charging piles",
        "Fuel dispensers",
        "Taxi meters",
    ]
    assert view.items_model.rows[2][3] == "Summon to the verification station"
    view.items_table.selectRow(1)
    assert view.verify_button.isEnabled()
    with qtbot.waitSignal(view.verify_requested, timeout=1000) as wanted:
        view.verify_button.click()
    assert wanted.args == ["fuel", "D-OLD"]
    render(view, "mixed_work_order", tmp_path)
