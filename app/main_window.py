"""The workstation's main window: docks for the views, a status bar for sync and alarms."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QLabel, QMainWindow


def tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle(tr("Anxin Charging — Metrology Supervision Workstation"))
        self.setCentralWidget(QLabel(tr("No ledger synced yet.")))
        self.sync_label = QLabel(tr("Not synced"))
        self.statusBar().addPermanentWidget(self.sync_label)
        self.resize(1600, 1000)
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = settings.value("window/state")
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        super().closeEvent(event)
