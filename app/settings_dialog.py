"""Settings: platform URL, log key, database URL, language (stored in QSettings), the
signed log list mode (issue 17: several logs named by the authority's list instead of one
platform), and the office's alarm policy per anomaly rule (stored in the shared database,
see ``app.models.rule_policy``; read and written on the main window's StoreReader pool)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QRegularExpression, QSettings
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.models import findings, rule_policy


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


@dataclass(frozen=True)
class LogListSettings:
    """The log list mode's settings: the signed list (a file or URL), the authority's
    verifier key (text or a file holding it) and the office's region prefix (GB/T 2260)."""

    source: str
    list_key: str
    region: str = ""


def log_list_settings(settings: QSettings | None = None) -> LogListSettings | None:
    """The log list mode's settings when that mode is on and a list is named, else None
    (the single-platform mode: ``platform/url`` and ``platform/log_key``)."""
    settings = settings or QSettings()
    if str(settings.value("platform/mode", "single")) != "list":
        return None
    source = str(settings.value("platform/log_list", "") or "").strip()
    if not source:
        return None
    return LogListSettings(
        source,
        str(settings.value("platform/list_key", "") or "").strip(),
        str(settings.value("platform/region", "") or "").strip(),
    )


class LogListBox(QGroupBox):
    """Checkable: on, the workstation follows every log of the authority's signed list
    for the office's region (docs/deployment.md) instead of the one platform above."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(tr("Follow a signed log list (instead of one platform)"), parent)
        self.setObjectName("log-list-box")
        self.setCheckable(True)
        self.setChecked(str(settings.value("platform/mode", "single")) == "list")
        self.source = QLineEdit(str(settings.value("platform/log_list", "") or ""))
        self.source.setPlaceholderText(tr("a file or an https:// URL of the signed list"))
        self.list_key = QLineEdit(str(settings.value("platform/list_key", "") or ""))
        self.list_key.setPlaceholderText(
            tr("the authority's verifier key (name+hash+base64), or a file holding it")
        )
        self.region = QLineEdit(str(settings.value("platform/region", "") or ""))
        self.region.setPlaceholderText(tr("e.g. 3301 (Hangzhou); empty: every region"))
        self.region.setValidator(
            QRegularExpressionValidator(QRegularExpression("[0-9]{0,6}"), self.region)
        )
        for edit in (self.source, self.list_key):
            edit.setCursorPosition(0)  # a key's name, not its base64 tail
            edit.setToolTip(edit.text())
        form = QFormLayout(self)
        form.addRow(tr("Log list"), self.source)
        form.addRow(tr("List authority key"), self.list_key)
        form.addRow(tr("Region code"), self.region)

    def save(self, settings: QSettings) -> None:
        settings.setValue("platform/mode", "list" if self.isChecked() else "single")
        settings.setValue("platform/log_list", self.source.text().strip())
        settings.setValue("platform/list_key", self.list_key.text().strip())
        settings.setValue("platform/region", self.region.text().strip())


class SettingsDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        settings = QSettings()
        self.platform = QLineEdit(str(settings.value("platform/url", "")))
        self.platform.setPlaceholderText(tr("empty: run the built-in demo platform"))
        self.log_key = QLineEdit(str(settings.value("platform/log_key", "")))
        self.log_key.setPlaceholderText("hangzhou.evmetrology.example/2026+1234abcd+AQ…")
        self.witnesses = QLineEdit(str(settings.value("platform/witness_policy", "")))
        self.witnesses.setPlaceholderText(
            tr("empty: the log's signature suffices; or a witness policy file (k of n)")
        )
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
        form.addRow(tr("Witness policy"), self.witnesses)
        form.addRow(tr("Database URL"), self.database)
        form.addRow(tr("Language"), self.language)
        self.log_list = LogListBox(settings, self)
        self.log_list.toggled.connect(self._list_mode_toggled)
        self._list_mode_toggled(self.log_list.isChecked())
        note = QLabel(tr("Changes take effect after restarting the workstation."))
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.log_list)
        layout.addWidget(note)
        self.policy: AlarmPolicyBox | None = None
        reader, store = getattr(parent, "reader", None), getattr(parent, "store", None)
        if reader is not None and store is not None:
            self.policy = AlarmPolicyBox(reader, store, getattr(parent, "session", None), self)
            layout.addWidget(self.policy, 1)
        layout.addWidget(buttons)
        self.resize(640, 680 if self.policy is not None else 340)

    def _list_mode_toggled(self, on: bool) -> None:
        """The list names each log's URL and key: the single platform's fields rest."""
        self.platform.setEnabled(not on)
        self.log_key.setEnabled(not on)

    def accept(self) -> None:
        settings = QSettings()
        settings.setValue("platform/url", self.platform.text().strip())
        settings.setValue("platform/log_key", self.log_key.text().strip())
        settings.setValue("platform/witness_policy", self.witnesses.text().strip())
        settings.setValue("store/url", self.database.text().strip())
        settings.setValue("ui/language", self.language.currentData())
        self.log_list.save(settings)
        if self.policy is not None:
            self.policy.save()
        super().accept()


DEFAULT, ALWAYS, NEVER = "default", "always", "never"


class AlarmPolicyBox(QGroupBox):
    """Which rules' findings open an alarm: per rule the default (by severity, see
    docs/rules.md), always, or never. Only a user allowed to dismiss alarms may change it;
    the model layer checks that again when saving."""

    def __init__(self, reader: Any, store: Any, session: Any, parent: QWidget | None = None):
        super().__init__(tr("Alarm policy"), parent)
        self.reader, self.store, self.session = reader, store, session
        self.loaded: dict[str, bool] = {}
        self.combos: dict[str, QComboBox] = {}
        allowed = session is not None and session.can(rule_policy.PERMISSION)
        zh = str(QSettings().value("ui/language", "zh_CN")).startswith("zh")
        form = QFormLayout()
        for rule_id, rule in findings.CATALOGUE.items():
            if not rule.in_engine:
                continue
            default = rule.severity in findings.ALARM_SEVERITIES
            combo = QComboBox()
            combo.addItem(
                tr("Default: opens an alarm") if default else tr("Default: finding only"), DEFAULT
            )
            combo.addItem(tr("Always opens an alarm"), ALWAYS)
            combo.addItem(tr("Never opens an alarm"), NEVER)
            combo.setEnabled(False)
            self.combos[rule_id] = combo
            form.addRow(f"{rule_id} {rule.title_zh if zh else rule.title_en}", combo)
        inner = QWidget()
        inner.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        self.note = QLabel(
            tr("Stored in the shared database: every workstation of the office applies it.")
            if allowed
            else tr("Only a regulator can change the alarm policy.")
        )
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        layout.addWidget(scroll)
        self.allowed = allowed
        reader.submit(rule_policy.load, self._fill)

    def _fill(self, policy: dict[str, bool]) -> None:
        self.loaded = dict(policy)
        for rule_id, combo in self.combos.items():
            choice = {True: ALWAYS, False: NEVER}.get(policy.get(rule_id), DEFAULT)  # type: ignore[arg-type]
            combo.setCurrentIndex(combo.findData(choice))
            combo.setEnabled(self.allowed)

    def changes(self) -> dict[str, bool | None]:
        """{rule_id: True/False, or None for back to the default} where the user changed it."""
        out: dict[str, bool | None] = {}
        for rule_id, combo in self.combos.items():
            wanted = {ALWAYS: True, NEVER: False}.get(combo.currentData())
            if combo.isEnabled() and wanted != self.loaded.get(rule_id):
                out[rule_id] = wanted
        return out

    def save(self) -> int | None:
        """Writes the changes on the reader's pool (a ticket), nothing if none."""
        changed = self.changes()
        if not changed or not self.allowed:
            return None
        store, session = self.store, self.session

        def write() -> None:
            with store.transaction() as conn:
                for rule_id, opens in changed.items():
                    rule_policy.set_opens_alarm(conn, session, rule_id, opens)

        return self.reader.submit_call(write, lambda _result: None, self._failed)

    def _failed(self, exc: Exception) -> None:
        self.reader.failed.emit(tr("The alarm policy was not saved: %1").replace("%1", str(exc)))
