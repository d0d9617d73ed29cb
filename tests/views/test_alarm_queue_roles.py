"""The alarm queue acts as the signed-in user (issue 13 item 2): it was built with a
default user "regulator", so an inspector's click dismissed alarms and the audit log
named "regulator"."""

from __future__ import annotations

from sqlalchemy import select

from app.models import alarms
from app.models import store as st
from app.models.charging import rules
from app.models.users import create_first_administrator, create_user, sign_in
from app.views import alarm_queue
from app.views.alarm_queue import AlarmQueueView

PASSWORD = "Zq7!correct-horse-九"
T0 = 1_767_225_600_000


def _office(tmp_path):
    url = f"sqlite:///{tmp_path / 'office.sqlite'}"
    with st.Store.open(url) as store, store.transaction() as conn:
        admin = create_first_administrator(conn, "admin", "管理员", PASSWORD)
        create_user(conn, admin, "wang", "王监管", "regulator", PASSWORD)
        create_user(conn, admin, "li", "李检定", "inspector", PASSWORD, inspector_id="INS-1")
        finding = rules.Finding("R01", "P1", "M1", T0, "high", (7,), {"session_id": "S7"})
        (alarm,) = alarms.open_alarms_for(conn, [finding])
        wang, li = sign_in(conn, "wang", PASSWORD), sign_in(conn, "li", PASSWORD)
    return url, alarm.id, wang, li


def _audit(url: str, alarm_id: int) -> list[tuple[str, str]]:
    with st.Store.open(url) as store, store.engine.connect() as conn:
        rows = conn.execute(
            select(st.audit_log.c.user, st.audit_log.c.action)
            .where(st.audit_log.c.subject == f"alarm {alarm_id}")
            .order_by(st.audit_log.c.id)
        )
        return [tuple(r) for r in rows]


def test_inspector_gets_no_buttons_and_a_forced_click_is_refused(qtbot, tmp_path, monkeypatch):
    url, alarm_id, _wang, li = _office(tmp_path)
    warnings: list[str] = []
    monkeypatch.setattr(
        alarm_queue.QMessageBox, "warning", lambda _w, _t, text: warnings.append(text)
    )
    view = AlarmQueueView(url, li)
    qtbot.addWidget(view)
    try:
        assert all(button.isHidden() for button in view.buttons.values())
        qtbot.waitUntil(lambda: len(view.model.alarms) == 1, timeout=10000)
        view.table.selectRow(0)
        view.act("dismiss")  # what a click would do if the button were shown
        qtbot.waitUntil(lambda: bool(warnings), timeout=10000)
    finally:
        view.shutdown()
    assert "inspector (li) may not dismiss alarms" in warnings[0]
    assert _audit(url, alarm_id) == [("system", "alarm.opened")]


def test_regulator_dismisses_under_their_own_name(qtbot, tmp_path, monkeypatch):
    url, alarm_id, wang, _li = _office(tmp_path)
    monkeypatch.setattr(alarm_queue.QMessageBox, "warning", lambda *a: None)
    view = AlarmQueueView(url, wang)
    qtbot.addWidget(view)
    try:
        assert not view.buttons["dismiss"].isHidden()
        qtbot.waitUntil(lambda: len(view.model.alarms) == 1, timeout=10000)
        view.table.selectRow(0)
        view.note.setText("误报：测试桩")
        view.act("dismiss")
        qtbot.waitUntil(lambda: view.model.alarms == [], timeout=10000)
    finally:
        view.shutdown()
    assert _audit(url, alarm_id) == [("system", "alarm.opened"), ("wang", "alarm.dismissed")]


def test_no_session_means_a_read_only_queue(qtbot, tmp_path):
    url, _alarm_id, _wang, _li = _office(tmp_path)
    view = AlarmQueueView(url)
    qtbot.addWidget(view)
    try:
        assert all(button.isHidden() for button in view.buttons.values())
    finally:
        view.shutdown()
