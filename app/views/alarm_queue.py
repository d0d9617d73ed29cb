"""The regulator's alarm queue: open alarms, most severe first, with the workflow
new → acknowledged → dispatched → resolved / dismissed.

The view only displays: a poller thread reads the queue every 2 s (so every
workstation on a shared database sees changes within that time) and actions run
on a worker thread; a conflict ("already dispatched by 李四 at …") comes back as a
message. Critical new alarms are announced: window alert, tray message, sound.
"""

from __future__ import annotations

import threading
from datetime import timedelta, timezone

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QLocale,
    QModelIndex,
    QObject,
    QSettings,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

SEVERITY_COLOURS = {"critical": "#c0392b", "high": "#e67e22", "warning": "#b7950b"}


HANGZHOU = timezone(timedelta(hours=8))
"""Alarm times are shown in the regulators' own clock (China Standard Time)."""


def tr(text: str) -> str:
    return QCoreApplication.translate("AlarmQueue", text)


def _state_label(state: str) -> str:
    return {
        "new": tr("new"),
        "acknowledged": tr("acknowledged"),
        "dispatched": tr("dispatched"),
        "resolved": tr("resolved"),
        "dismissed": tr("dismissed"),
    }.get(state, state)


def _severity_label(severity: str) -> str:
    return {
        "critical": tr("critical"),
        "high": tr("high"),
        "warning": tr("warning"),
        "info": tr("info"),
    }.get(severity, severity)


def instrument_label(kind: str | None, instrument_id: str | None) -> str:
    """ "加油机 FD000001" / "充电桩 P000123": an alarm's ``pile_id`` names any instrument
    kind, so the queue says which; an ID in no registry (not yet synced) stays bare."""
    if not instrument_id:
        return "—"
    label = {
        "pile": tr("Charging pile"),
        "dispenser": tr("Fuel dispenser"),
        "taxi": tr("Taxi meter"),
    }.get(kind or "")
    return f"{label} {instrument_id}" if label else instrument_id


def alarm_title(alarm, english: bool) -> str:
    """The stored title, or the catalogue's when the alarm was opened before its kind's
    rules were registered (the title was then stored as the bare rule ID)."""
    title = alarm.title_en if english else alarm.title_zh
    if alarm.rule_id and title == alarm.rule_id:
        from app.models.findings import CATALOGUE

        rule = CATALOGUE.get(alarm.rule_id)
        if rule is not None:
            title = rule.title_en if english else rule.title_zh
    return f"{alarm.rule_id} {title}" if alarm.rule_id and title != alarm.rule_id else title


class AlarmTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.alarms: list = []
        self.kinds: dict[str, str] = {}
        """Instrument ID -> kind ("pile", "dispenser", "taxi") for the alarms shown."""

    def headers(self) -> list[str]:
        return [
            tr("Severity"),
            tr("Alarm"),
            tr("Instrument"),
            tr("State"),
            tr("Assigned to"),
            tr("Opened (UTC+8)"),
        ]

    def set_alarms(self, alarms: list, kinds: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self.alarms = alarms
        self.kinds = dict(kinds or {})
        self.endResetModel()

    def kind_of(self, alarm) -> str | None:
        return self.kinds.get(alarm.pile_id) if alarm.pile_id else None

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.alarms)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 6

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers()[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        alarm = self.alarms[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            english = not QLocale().name().startswith("zh")
            return [
                _severity_label(alarm.severity),
                alarm_title(alarm, english),
                instrument_label(self.kind_of(alarm), alarm.pile_id),
                _state_label(alarm.state),
                alarm.assigned_to or "",
                alarm.created_at.astimezone(HANGZHOU).strftime("%Y-%m-%d %H:%M:%S"),
            ][column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            colour = SEVERITY_COLOURS.get(alarm.severity)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return alarm.title_zh + "\n" + alarm.title_en
        return None


class AlarmPoller(QObject):
    """Reads the open queue every ``interval`` seconds on its own thread."""

    loaded = Signal(list, dict)
    """Open alarms, and the instrument kind of each alarm's ``pile_id`` found in a registry."""
    failed = Signal(str)

    def __init__(self, store_url: str | None, interval: float = 2.0) -> None:
        super().__init__()
        self.store_url, self.interval = store_url, interval
        self._stop = threading.Event()
        self._wake = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def refresh(self) -> None:
        self._wake.set()

    @Slot()
    def run(self) -> None:
        from app.models import alarms
        from app.models.map_query import instrument_kinds
        from app.models.store import Store

        store = Store.open(self.store_url)
        try:
            while not self._stop.is_set():
                try:
                    with store.engine.connect() as conn:
                        found = alarms.list_open(conn)
                        kinds = instrument_kinds(conn, [a.pile_id for a in found if a.pile_id])
                        self.loaded.emit(found, kinds)
                except Exception as exc:
                    self.failed.emit(f"{type(exc).__name__}: {exc}")
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            store.close()


class AlarmAction(QObject):
    """One workflow step on a worker thread; reports success or the conflict."""

    finished = Signal(str)  # empty on success, else the message

    def __init__(
        self,
        store_url: str | None,
        step: str,
        alarm,
        session,
        note: str,
        inspector: str | None = None,
    ) -> None:
        super().__init__()
        # ``session``: the signed-in app.models.users.Session; the model checks its role.
        self.args = (store_url, step, alarm, session, note, inspector)

    @Slot()
    def run(self) -> None:
        from app.models import alarms
        from app.models.store import Store

        store_url, step, alarm, session, note, inspector = self.args
        try:
            with Store.open(store_url) as store:
                if step == "dispatch":
                    alarms.dispatch(
                        store,
                        alarm.id,
                        session,
                        note,
                        inspector_id=inspector,
                        version=alarm.version,
                    )
                else:
                    getattr(alarms, step)(store, alarm.id, session, note, version=alarm.version)
        except Exception as exc:
            self.finished.emit(str(exc))
        else:
            self.finished.emit("")


class AlarmQueueView(QWidget):
    open_pile = Signal(str, object)  # pile_id, at_ms (or None)
    open_dispenser = Signal(str, object)  # dispenser_id, at_ms (or None)
    open_taxi = Signal(str)  # plate
    critical_alarm = Signal(object)  # a new critical alarm (for the window's notification)
    count_changed = Signal(int)

    def __init__(self, store_url: str | None, session=None) -> None:
        """``session``: the signed-in user (app.models.users.Session), or None: the queue
        is then read-only. The buttons only reflect the role; the model refuses anyway."""
        super().__init__()
        self.store_url, self.session = store_url, session
        self.model = AlarmTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        # the time is read in full: "2026-12-04 21:40:07", not "2026-12-04 …"
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.ResizeToContents)
        # and the instrument too: "Taxi meter 浙A·T0043", "Fuel dispenser FD000001"
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(self._open_selected)
        self.note = QLineEdit()
        self.note.setPlaceholderText(tr("Note for the audit log"))
        self.buttons = {}
        row = QHBoxLayout()
        for step, label in (
            ("acknowledge", tr("Acknowledge")),
            ("dispatch", tr("Dispatch to inspector…")),
            ("resolve", tr("Resolve")),
            ("dismiss", tr("Dismiss as false alarm")),
        ):
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, s=step: self.act(s))
            allowed = session is not None and session.can(
                "alarms.dismiss" if step == "dismiss" else "alarms.handle"
            )
            button.setVisible(allowed)
            self.buttons[step] = button
            row.addWidget(button)
        open_button = QPushButton(tr("Open instrument"))
        open_button.clicked.connect(self._open_selected)
        row.addWidget(open_button)
        self.summary = QLabel("")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        layout.addLayout(row)
        self._seen: set[int] = set()
        self._first_load = True
        self._threads: list[QThread] = []
        self._actions: list[AlarmAction] = []
        self.poller = AlarmPoller(store_url)
        self.poller.loaded.connect(self._on_loaded)
        thread = QThread(self)
        self.poller.moveToThread(thread)
        thread.started.connect(self.poller.run)
        thread.start()
        self._threads.append(thread)

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.model.alarms[rows[0].row()] if rows else None

    def _on_loaded(self, alarms: list, kinds: dict | None = None) -> None:
        selected = self.selected()
        self.model.set_alarms(alarms, kinds)
        if selected is not None:
            for i, alarm in enumerate(alarms):
                if alarm.id == selected.id:
                    self.table.selectRow(i)
        critical = sum(a.severity == "critical" for a in alarms)
        self.summary.setText(
            tr("%1 open alarms, %2 critical")
            .replace("%1", str(len(alarms)))
            .replace("%2", str(critical))
        )
        self.count_changed.emit(len(alarms))
        for alarm in alarms:
            fresh = alarm.id not in self._seen and not self._first_load
            if fresh and alarm.severity == "critical" and alarm.state == "new":
                self.critical_alarm.emit(alarm)
            self._seen.add(alarm.id)
        self._first_load = False

    def _open_selected(self, *_args) -> None:
        alarm = self.selected()
        if alarm is not None and alarm.pile_id:
            at_ms = None
            evidence = alarm.evidence or {}
            if isinstance(evidence, dict):
                at_ms = evidence.get("at_ms") or evidence.get("first_at_ms")
            kind = self.model.kind_of(alarm)
            if kind == "dispenser":
                self.open_dispenser.emit(alarm.pile_id, at_ms)
            elif kind == "taxi":
                self.open_taxi.emit(alarm.pile_id)
            else:
                self.open_pile.emit(alarm.pile_id, at_ms)

    def act(self, step: str, inspector: str | None = None) -> None:
        alarm = self.selected()
        if alarm is None:
            return
        if step == "dispatch" and inspector is None:
            inspector, ok = QInputDialog.getText(self, tr("Dispatch"), tr("Inspector ID"))
            if not ok or not inspector.strip():
                return
        action = AlarmAction(self.store_url, step, alarm, self.session, self.note.text(), inspector)
        action.finished.connect(self._on_action_finished)
        thread = QThread(self)
        action.moveToThread(thread)
        thread.started.connect(action.run)
        action.finished.connect(thread.quit)
        thread.start()
        self._threads.append(thread)
        self._actions.append(action)

    def _on_action_finished(self, message: str) -> None:
        if message:
            QMessageBox.warning(self, tr("Alarm not changed"), message)
        self.note.clear()
        self.poller.refresh()

    def shutdown(self) -> None:
        self.poller.stop()
        for thread in self._threads:
            thread.quit()
            thread.wait(10000)


def announce(window: QWidget, alarm) -> None:
    """Visible and audible notice of a new critical alarm (configurable sound)."""
    QApplication.alert(window, 0)
    if QSettings().value("alarms/sound", True) not in (False, "false"):
        QApplication.beep()
    from PySide6.QtWidgets import QSystemTrayIcon

    if QSystemTrayIcon.isSystemTrayAvailable():
        tray = getattr(window, "_tray", None)
        if tray is None:
            tray = window._tray = QSystemTrayIcon(window.windowIcon(), window)
            tray.show()
        tray.showMessage(
            tr("Critical alarm"),
            f"{alarm.pile_id or ''} {alarm_title(alarm, False)}",
            QSystemTrayIcon.MessageIcon.Critical,
            10000,
        )
