"""The due list's kind selector and a work order holding a pile, a dispenser and a taxi
(pytest-qt, offscreen). ``PLAN_PNG_DIR`` / ``PLAN_LANG`` as in test_views.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.views.due_list import DueListView, KindDueModel, instrument_label
from app.views.due_list import tr as due_tr
from app.views.fuel.verification_wizard import FuelVerificationWizard
from app.views.instrument_wizards import load_specs, show_wizard
from app.views.table_models import StoreReader
from app.views.taxi.verification_wizard import TaxiVerificationWizard
from app.views.work_orders import CreateWorkOrderDialog, WorkOrdersView
from app.views.work_orders import tr as orders_tr
from tests.planning.conftest import TODAY, Office
from tests.planning.test_instrument_orders import TAXI_U, TAXI_V, kinds  # noqa: F401 - fixture
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
    header = text.splitlines()[0]
    assert header.startswith(f"{due_tr('Dispenser')},{due_tr('Serial')}") and "D-SEAL" in text
    with qtbot.waitSignal(view.instrument_activated, timeout=1000) as activated:
        view.table.doubleClicked.emit(view.kind_proxy.index(2, 3))
    assert activated.args == ["fuel", "D-OLD"]

    view.set_kind("taxi")
    qtbot.waitUntil(lambda: view.kind_model.kind == "taxi", timeout=5000)
    assert [r.instrument_id for r in view.visible_kind_rows()] == [TAXI_U]
    column = KindDueModel.COLUMNS.index("site")
    assert view.kind_proxy.index(0, column).data() == due_tr("Summoned to the station")
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
    kinds_shown = [row[1] for row in view.items_model.rows]
    assert kinds_shown == [
        instrument_label("charging"),
        instrument_label("fuel"),
        instrument_label("taxi"),
    ]
    assert view.items_model.rows[2][3] == orders_tr("Summon to the verification station")
    view.items_table.selectRow(1)
    assert view.verify_button.isEnabled()
    with qtbot.waitSignal(view.verify_requested, timeout=1000) as wanted:
        view.verify_button.click()
    assert wanted.args == ["fuel", "D-OLD"]
    render(view, "mixed_work_order", tmp_path)


def test_wizards_open_on_the_asked_for_instrument(
    kinds: Office,  # noqa: F811
    reader: StoreReader,  # noqa: F811 - installs PLAN_LANG for the render
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    url = str(kinds.store.engine.url)
    kind, specs, first = load_specs(url, "fuel", "D-OLD")
    # Every registered nozzle (7 one-nozzle dispensers + D-TWO's two), D-OLD first, then
    # the due list's order: the broken seal, the failed one ...
    assert (kind, first, len(specs)) == ("fuel", "D-OLD", 8)
    assert [s.dispenser_id for s in specs][:3] == ["D-OLD", "D-SEAL", "D-FAIL"]
    assert specs[0].station == "古墩路加油站" and specs[0].serial == "SN-D-OLD"
    fuel = show_wizard(None, (kind, specs, first), root=tmp_path / "v", session=kinds.inspector)
    qtbot.addWidget(fuel)
    assert isinstance(fuel, FuelVerificationWizard)
    assert fuel.dispenser_page.dispenser_id.text() == "D-OLD"
    assert fuel.inspector_id == "INS-HZ-007"
    render(fuel, "fuel_wizard_from_order", tmp_path, dialog=True)

    taxi_setup = load_specs(url, "taxi", TAXI_V)
    assert [t.plate for t in taxi_setup[1]] == [TAXI_V, TAXI_U]
    taxi = show_wizard(None, taxi_setup, root=tmp_path / "v", session=kinds.inspector)
    qtbot.addWidget(taxi)
    assert isinstance(taxi, TaxiVerificationWizard)
    assert taxi.taxi_page.plate.text() == TAXI_V and taxi.taxi_page.serial.text() == "JJ-2"
    # Not in the registry: the wizard opens with the list, nothing chosen.
    assert load_specs(url, "taxi", "浙A·NOPE")[2] == ""
    with pytest.raises(ValueError, match="no verification wizard"):
        load_specs(url, "boat")


def test_main_window_opens_the_kind_wizard_for_a_work_order_item(
    kinds: Office,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.main_window import MainWindow
    from app.main_window import tr as main_tr

    monkeypatch.setenv("EVM_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow(str(kinds.store.engine.url), session=kinds.regulator)
    qtbot.addWidget(window)
    try:
        titles = [a.text() for m in window.menuBar().actions() for a in m.menu().actions()]
        assert main_tr("Fuel dispenser verification (JJG 443)…") in titles
        assert main_tr("Taximeter verification (JJG 517)…") in titles
        window.work_orders.verify_requested.emit("taxi", TAXI_U)
        qtbot.waitUntil(lambda: getattr(window, "_wizard", None) is not None, timeout=15000)
        assert isinstance(window._wizard, TaxiVerificationWizard)
        assert window._wizard.taxi_page.plate.text() == TAXI_U
        window._wizard.close()
    finally:
        window.shutdown()
