"""Smoke tests of the due list, work orders and sign-in widgets (pytest-qt, offscreen).

With ``PLAN_PNG_DIR`` set, each test also writes its 1600×1000 render there
(``plan_due_list.png`` ...), to look at; ``PLAN_LANG=zh_CN`` renders in Chinese.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.application import install_language, load_fonts
from app.models import store as st
from app.models.field_package import Conflict, FieldUploadReport
from app.models.workorders import create_work_order
from app.views.due_list import DueListView
from app.views.sign_in import FirstRunDialog, SignInDialog, needs_first_run
from app.views.sign_in import tr as tr_sign_in
from app.views.table_models import StoreReader
from app.views.work_orders import CreateWorkOrderDialog, WorkOrdersView
from tests.planning.conftest import PASSWORD, TODAY, Office, add_anomaly, verification_record


@pytest.fixture
def reader(office: Office, qtbot: QtBot) -> Iterator[StoreReader]:
    family = load_fonts()
    if family:
        QApplication.setFont(QFont(family, 10))
    language = os.environ.get("PLAN_LANG")
    app = QApplication.instance()
    if language and app is not None:
        install_language(app, language)
    reader = StoreReader(office.store)
    yield reader
    reader.shutdown()
    if language and app is not None:
        install_language(app, "en")


def render(widget: QWidget, name: str, tmp_path: Path, *, dialog: bool = False) -> Path:
    """Views at 1600×1000; dialogs at their own size (as they open)."""
    if dialog:
        widget.adjustSize()
    else:
        widget.resize(1600, 1000)
    widget.show()
    QApplication.processEvents()
    image = widget.grab()
    path = tmp_path / f"plan_{name}.png"
    assert image.save(str(path))
    if os.environ.get("PLAN_PNG_DIR"):
        image.save(str(Path(os.environ["PLAN_PNG_DIR"]) / path.name))
    return path


def test_due_list_view(office: Office, reader: StoreReader, qtbot: QtBot, tmp_path: Path) -> None:
    with office.store.transaction() as conn:
        add_anomaly(conn, "P6", dt.date(2026, 5, 31), "high")
        add_anomaly(conn, "P1", dt.date(2026, 5, 30), "warning", rule="R2")
    today = dt.date(2028, 3, 1)
    view = DueListView(reader, office.regulator, today=today)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=5000)
    assert [r.pile_id for r in view.visible_rows()][:2] == ["P5", "P3"]
    assert view.order_button.isEnabled()
    view.group.setCurrentIndex(view.group.findData("triggered"))
    assert {r.pile_id for r in view.visible_rows()} == {"P1", "P6"}
    view.group.setCurrentIndex(0)
    view.search.setText("ST4")
    view.search.setText("萧山")
    assert {r.pile_id for r in view.visible_rows()} == {"P8"}
    view.search.clear()
    with qtbot.waitSignal(view.pile_activated, timeout=1000) as activated:
        view.table.doubleClicked.emit(view.proxy.index(1, 2))
    assert activated.args == ["P3"]
    view.set_checked(["P3", "P8", "P5"])
    with qtbot.waitSignal(view.create_order_requested, timeout=2000) as signal:
        view.order_button.click()
    piles, reasons = signal.args
    assert piles == ["P5", "P3", "P8"] and reasons["P3"] == ("first", "2026-01-01")
    with qtbot.waitSignal(view.status_message, timeout=5000):
        view.export(tmp_path / "due.xlsx", "xlsx")
    assert (tmp_path / "due.xlsx").stat().st_size > 0
    render(view, "due_list", tmp_path)
    inspector_view = DueListView(reader, office.inspector, today=TODAY)
    qtbot.addWidget(inspector_view)
    assert not inspector_view.order_button.isEnabled()


def test_work_orders_view(
    office: Office, reader: StoreReader, qtbot: QtBot, tmp_path: Path
) -> None:
    with office.store.transaction() as conn:
        first = create_work_order(
            conn,
            office.regulator,
            ["P5", "P6", "P3", "P4", "P8"],
            "li",
            title="六月上城-西湖-萧山",
            reasons={"P5": ("rotation", "2025-06-01"), "P3": ("first", "2026-01-01")},
        )
        create_work_order(conn, office.regulator, ["P2"], "zhao", title="文三路")
    key = office.inspector.signing_key
    assert key is not None
    office.loader.apply([verification_record(key, "P5", int(st.utcnow().timestamp() * 1000) + 5)])
    view = WorkOrdersView(reader, office.regulator)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.items_model.rowCount() > 0, timeout=5000)
    assert view.orders_model.rowCount() == 2
    view.orders_table.selectRow(1)
    qtbot.waitUntil(lambda: view.items_model.keys == ["P5", "P6", "P3", "P4", "P8"], timeout=5000)
    assert view.items_model.done[0] and view.progress.value() == 1
    assert view.selected_order() == first
    render(view, "work_orders", tmp_path)

    mine = WorkOrdersView(reader, office.other_inspector)
    qtbot.addWidget(mine)
    mine.refresh()
    qtbot.waitUntil(lambda: mine.orders_model.rowCount() == 1, timeout=5000)
    assert mine.orders[0].inspector == "zhao"
    assert not mine.upload_button.isHidden() and view.upload_button.isHidden()
    conflict = Conflict("V-P2-1", "P2", 2, 1)
    mine.show_upload_report(FieldUploadReport(uploaded=["V-P9-1"], conflicts=[conflict], pending=1))
    assert mine.conflicts.count() == 1 and "V-P2-1" in mine.conflicts.item(0).text()
    with qtbot.waitSignal(mine.release_requested, timeout=1000) as released:
        mine.release_button.click()
    assert released.args == ["V-P2-1"]
    qtbot.waitUntil(lambda: mine.items_model.rowCount() == 1, timeout=5000)
    render(mine, "work_orders_inspector", tmp_path)

    dialog = CreateWorkOrderDialog(
        office.store, reader, office.regulator, ["P1", "P7"], {"P1": ("rotation", None)}
    )
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.route.count() == 2, timeout=5000)
    dialog.inspector.setCurrentIndex(dialog.inspector.findData("li"))
    render(dialog, "new_work_order", tmp_path, dialog=True)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.accepted.emit()
    assert dialog.order_id is not None, dialog.error.text()


def test_sign_in_dialogs(office: Office, reader: StoreReader, qtbot: QtBot, tmp_path: Path) -> None:
    assert not needs_first_run(office.store)
    dialog = SignInDialog(office.store, reader)
    qtbot.addWidget(dialog)
    dialog.username.setText("li")
    dialog.password.setText("wrong password")
    dialog.buttons.accepted.emit()
    qtbot.waitUntil(lambda: dialog.error.text() != "", timeout=5000)
    assert dialog.session is None and dialog.password.text() == ""
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        dialog.buttons.accepted.emit()
    assert dialog.session is not None and dialog.session.role == "inspector"
    assert dialog.session.signing_key is not None

    fresh = st.Store.open(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    fresh_reader = StoreReader(fresh)
    try:
        assert needs_first_run(fresh)
        first = FirstRunDialog(fresh, fresh_reader)
        qtbot.addWidget(first)
        first.username.setText("admin")
        first.display_name.setText("系统管理员")
        first.password.setText(PASSWORD)
        first.repeat.setText(PASSWORD + "x")
        first.buttons.accepted.emit()
        assert first.error.text() == tr_sign_in("The two passwords differ")
        render(first, "first_run", tmp_path, dialog=True)
        first.repeat.setText(PASSWORD)
        with qtbot.waitSignal(first.accepted, timeout=5000):
            first.buttons.accepted.emit()
        assert first.session is not None and first.session.role == "administrator"
        assert not needs_first_run(fresh)
    finally:
        fresh_reader.shutdown()
        fresh.close()
