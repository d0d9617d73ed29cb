"""Settings: platform URL, log key, database URL, language (stored in QSettings)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


class SettingsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        settings = QSettings()
        self.platform = QLineEdit(str(settings.value("platform/url", "")))
        self.platform.setPlaceholderText(tr("empty: run the built-in demo platform"))
        self.log_key = QLineEdit(str(settings.value("platform/log_key", "")))
        self.log_key.setPlaceholderText("hangzhou.evmetrology.example/2026+1234abcd+AQ…")
        self.database = QLineEdit(str(settings.value("store/url", "")))
        self.database.setPlaceholderText(
            tr("empty: local SQLite; or postgresql+psycopg://user@host/db")
        )
        self.language = QComboBox()
        self.language.addItem("中文", "zh_CN")
        self.language.addItem("English", "en")
        index = self.language.findData(str(settings.value("ui/language", "zh_CN")))
        self.language.setCurrentIndex(max(index, 0))
        form = QFormLayout()
        form.addRow(tr("Platform URL"), self.platform)
        form.addRow(tr("Log verifier key"), self.log_key)
        form.addRow(tr("Database URL"), self.database)
        form.addRow(tr("Language"), self.language)
        note = QLabel(tr("Changes take effect after restarting the workstation."))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(640, 220)

    def accept(self) -> None:
        settings = QSettings()
        settings.setValue("platform/url", self.platform.text().strip())
        settings.setValue("platform/log_key", self.log_key.text().strip())
        settings.setValue("store/url", self.database.text().strip())
        settings.setValue("ui/language", self.language.currentData())
        super().accept()
