"""Parts every instrument kind's verification wizard shares (fuel JJG 443, taxi JJG 517):
the QThread worker for serial I/O, decimal input parsing, the verdict label, and the
"sign and issue" panel (inspector's encrypted key, signature, Outbox, certificate button).

Why one module: the wizards differ in their pages of readings and their arithmetic (the
Qt-free ``app.models.<kind>.verification``), never in how a worker runs, how a result is
signed with the inspector's key and queued, or how a verdict is shown. Kind-free: nothing
here names fuel or taxis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.devices.errors import DeviceError
from app.models.outbox import Outbox, OutboxEntry
from app.models.verification_parts import ChecklistItem, create_inspector_key, unlock_inspector_key
from ledger.keys import SigningKey
from ledger.records import Record

__all__ = [
    "FAIL_COLOR",
    "PASS_COLOR",
    "ChecklistPage",
    "Job",
    "Runner",
    "SignPanel",
    "kind_label",
    "parse_decimal",
    "show_verdict",
]

PASS_COLOR = QColor("#1b7f3b")
FAIL_COLOR = QColor("#b3261e")
WorkFn = Callable[[Callable[[object], None], Callable[[], bool]], object]


def tr(text: str) -> str:
    return QCoreApplication.translate("VerificationWizardParts", text)


def kind_label(kind: str) -> str:
    """The verification kind (first, periodic, triggered) as the inspector reads it (in
    the charging wizard's translation context, where it began)."""
    return {
        "first": QCoreApplication.translate("VerificationWizard", "First verification"),
        "periodic": QCoreApplication.translate("VerificationWizard", "Periodic verification"),
        "triggered": QCoreApplication.translate("VerificationWizard", "Triggered re-verification"),
    }.get(kind, kind)


def _bold(label: QLabel, size: int | None = None) -> QLabel:
    font = QFont(label.font())
    font.setBold(True)
    if size:
        font.setPointSize(size)
    label.setFont(font)
    return label


def parse_decimal(text: str) -> Decimal | None:
    """A typed number (thousands commas allowed), or None if it is not a finite number."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def show_verdict(label: QLabel, passed: bool) -> None:
    """合格/PASS in green or 不合格/FAIL in red."""
    label.setText(tr("PASS") if passed else tr("FAIL"))
    palette = label.palette()
    palette.setColor(label.foregroundRole(), PASS_COLOR if passed else FAIL_COLOR)
    label.setPalette(palette)


# --------------------------------------------------------------------------- worker


class Job(QObject):
    """Runs ``fn(progress, should_stop)`` on a QThread: serial I/O never on the GUI thread.

    A device failure or a reading the model refuses (a ValueError) is reported as
    ``failed(message)``; anything else is a bug and propagates."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: WorkFn):
        super().__init__()
        self.fn = fn
        self.stop_requested = False

    def run(self) -> None:
        try:
            result = self.fn(self.progress.emit, lambda: self.stop_requested)
        except (DeviceError, OSError, ValueError) as exc:
            self.failed.emit(str(exc))
        else:
            self.done.emit(result)


class Runner(QObject):
    """Owns one job and its thread (GUI side); ``join`` before the wizard goes away.

    ``running`` is this object's own flag, cleared on the GUI thread when the job's
    result arrives (not QThread.isRunning, which is still true while the result is
    delivered), so a page's buttons can be set from the result handler itself."""

    def __init__(self) -> None:
        super().__init__()
        self.thread: QThread | None = None
        self.job: Job | None = None
        self.running = False
        self._done: Callable[[object], None] = lambda _: None
        self._failed: Callable[[str], None] = lambda _: None

    def start(
        self,
        fn: WorkFn,
        *,
        progress: Callable[[object], None] | None = None,
        done: Callable[[object], None],
        failed: Callable[[str], None],
    ) -> None:
        self.join()
        job, thread = Job(fn), QThread()
        job.moveToThread(thread)
        thread.started.connect(job.run)
        if progress is not None:
            job.progress.connect(progress)
        self._done, self._failed = done, failed
        job.done.connect(self._on_done)  # queued: this object lives on the GUI thread
        job.failed.connect(self._on_failed)
        job.done.connect(thread.quit)
        job.failed.connect(thread.quit)
        self.job, self.thread, self.running = job, thread, True
        thread.start()

    @Slot(object)
    def _on_done(self, result: object) -> None:
        if self.sender() is self.job:  # not a late answer of a job already joined
            self.running = False
            self._done(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self.sender() is self.job:
            self.running = False
            self._failed(message)

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop_requested = True

    def join(self) -> None:
        if self.thread is not None:
            self.stop()
            self.thread.quit()
            self.thread.wait(30_000)
        self.thread = self.job = None
        self.running = False


# --------------------------------------------------------------------------- checklist


class ChecklistPage(QWizardPage):
    """Checks before the error test: one box per item, "All conform", the seal number
    applied after verification, and whatever ``extra`` rows the kind needs."""

    def __init__(
        self,
        items: Sequence[ChecklistItem],
        label: Callable[[str], str],
        *,
        title: str,
        subtitle: str,
        extra: Sequence[tuple[str, QWidget]] = (),
    ) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.boxes: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        for item in items:
            box = QCheckBox(label(item.key))
            self.boxes[item.key] = box
            layout.addWidget(box)
        all_ok = QPushButton(tr("All conform"))
        all_ok.clicked.connect(lambda: self.set_all(True))
        self.seal_no = QLineEdit()
        self.seal_no.setPlaceholderText(tr("Number of the seal applied after verification"))
        form = QFormLayout()
        form.addRow(tr("Seal number"), self.seal_no)
        for text, widget in extra:
            form.addRow(text, widget)
        layout.addWidget(all_ok, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(form)
        layout.addStretch(1)

    def set_all(self, conforms: bool) -> None:
        for box in self.boxes.values():
            box.setChecked(conforms)

    def answers(self) -> dict[str, bool]:
        return {key: box.isChecked() for key, box in self.boxes.items()}


# --------------------------------------------------------------------------- signing


class SignPanel(QGroupBox):
    """Inspector ID and name, passphrase, "sign and queue", "save certificate", status.

    :meth:`sign` unlocks the inspector's key (creating it, encrypted with the passphrase,
    at the first signature on this laptop), signs with the kind's ``make_record`` and
    queues the record in the shared Outbox; nothing goes over the network here."""

    def __init__(self) -> None:
        super().__init__(tr("Sign and issue"))
        self.inspector_id = QLineEdit()
        self.inspector_name = QLineEdit()
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_fields = {
            "inspector_id": (tr("Inspector ID"), self.inspector_id),
            "inspector_name": (tr("Inspector name"), self.inspector_name),
            "passphrase": (tr("Passphrase"), self.passphrase),
        }
        self.key_note = QLabel(wordWrap=True)
        self.sign_button = QPushButton(tr("Sign and queue for upload"))
        self.certificate_button = QPushButton(tr("Save certificate PDF"))
        self.status = QLabel(wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QFormLayout(self)
        for text, edit in self.sign_fields.values():
            layout.addRow(text, edit)
        layout.addRow(self.key_note)
        row = QHBoxLayout()
        row.addWidget(self.sign_button)
        row.addWidget(self.certificate_button)
        row.addStretch(1)
        layout.addRow(row)
        layout.addRow(self.status)

    def fill_inspector(self, inspector_id: str, inspector_name: str) -> None:
        """Prefill from the session unless the inspector typed something already."""
        self.inspector_id.setText(self.inspector_id.text() or inspector_id)
        self.inspector_name.setText(self.inspector_name.text() or inspector_name)

    def update_key_note(self, key_path: Path, signed: bool) -> None:
        """Say whose key will sign; the first signature on this laptop creates it."""
        if key_path.exists():
            note = tr("Signs with the key in %1.")
        else:
            note = tr("No key yet: signing creates one at %1, encrypted with this passphrase.")
        self.key_note.setText(note.replace("%1", str(key_path)))
        self.sign_button.setEnabled(not signed)

    def sign(
        self,
        key_path: Path,
        outbox: Outbox,
        make_record: Callable[[SigningKey, str], Record],
    ) -> tuple[Record, OutboxEntry] | None:
        """Sign and queue; None (with the reason in ``status``) if it could not be done."""
        inspector = self.inspector_id.text().strip()
        secret = self.passphrase.text()
        self.passphrase.clear()
        if not inspector:
            self.status.setText(tr("Enter your inspector ID first."))
            return None
        created = not key_path.exists()
        try:
            key = (create_inspector_key if created else unlock_inspector_key)(key_path, secret)
            record = make_record(key, inspector)
            entry = outbox.enqueue(record)
        except (ValueError, OSError) as exc:  # a wrong passphrase is a ValueError
            self.status.setText(str(exc))
            return None
        lines = [
            tr("Signed with key %1 and queued as %2.")
            .replace("%1", key.key_id)
            .replace("%2", entry.entry_id)
        ]
        if created:
            lines.append(tr("New key: have its public key registered before uploading."))
        self.status.setText("\n".join(lines))
        self.update_key_note(key_path, signed=True)
        return record, entry

    def signed_fields(self, record: Record | None) -> dict[str, str]:
        """What a certificate prints of the signature (empty: printed as a draft)."""
        if record is None:
            return {}
        return {
            "certificate_no": str(record.body["certificate_no"]),
            "signature_key_id": record.key_id,
            "record_digest": record.leaf_digest.hex(),
        }
