"""Countersigning dialog: signed verification results awaiting the 核验员 or the 批准人.

Thin: :mod:`app.models.signoff_workflow` does everything (fetching the signed records from
the log, the role and same-person checks, the signatures, the audit). The dialog lists
the results, enables "Check" / "Approve" for the role the session holds and shows the
model's refusal if it refuses anyway. Every model call runs on the
:class:`~app.views.table_models.StoreReader` pool, never on the GUI thread.

Printing: "Print final certificate…" (a checked and approved result) and "Print draft…"
(any other) are enabled for roles with ``certificate.print``. The office has no run, only
the signed record, so :func:`~app.models.signoff_workflow.print_final` rebuilds the result
from it; the PDF is written on the pool too (the certificate writer only paints on a
QPdfWriter, which a worker thread may do).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models import signoff_workflow as so
from app.models.office_settings import approval_certificate_no, set_approval_certificate_no
from app.models.store import Store
from app.models.users import Session
from app.views.table_models import StoreReader

CST = dt.timezone(dt.timedelta(hours=8), "CST")

#: ``pull(store) -> count``: takes up newly synced results (see :func:`log_pull`).
Pull = Callable[[Store], int]


def tr(text: str) -> str:
    return QCoreApplication.translate("CountersignDialog", text)


def stage_label(stage: str) -> str:
    return {
        "check": tr("Awaiting check"),
        "approve": tr("Awaiting approval"),
        "final": tr("Final"),
    }.get(stage, stage)


def result_label(result: str) -> str:
    return {"pass": tr("Pass"), "fail": tr("Fail")}.get(result, result)


def refusal_text(exc: Exception) -> str:
    """The model's refusal in the UI language, its own (English) words after it."""
    from app.models.users import PermissionDenied

    if isinstance(exc, so.SameSigner):
        text = tr(
            "You may not countersign this result: you signed it already, as its "
            "inspector or in the other role. Another person must."
        )
    elif isinstance(exc, PermissionDenied):
        text = tr("Your role may not do this.")
    elif isinstance(exc, so.CountersignatureInvalid):
        text = tr(
            "A signature on this result does not verify: the record or a "
            "countersignature was altered. Do not release it; report it."
        )
    elif isinstance(exc, so.NotFinal):
        text = tr("Not yet checked and approved: only a draft can be printed.")
    elif isinstance(exc, so.SignOffError):
        text = tr("This step cannot be done now.")
    elif isinstance(exc, ValueError):  # RecordIncomplete, CertificateRefused
        text = tr("No certificate can be printed from this signed record.")
    else:
        return str(exc)
    return text + " (" + str(exc) + ")"


def log_pull(platform: str, vkey: str) -> Pull:
    """A pull from the synced platform's log (a fresh client each time, closed after)."""

    def pull(store: Store) -> int:
        from ledger.client import LogClient

        client = LogClient(platform, vkey)
        try:
            return so.pull_from_log(store, client)
        finally:
            client.close()

    return pull


def list_pull() -> Pull:
    """A pull from every log of the signed list (list mode): each result from its own log,
    through the URL and key the accepted list gives (`StoredLogClients`)."""

    def pull(store: Store) -> int:
        from app.models.list_sync import StoredLogClients

        clients = StoredLogClients(store)
        try:
            return so.pull_from_log(store, clients)
        finally:
            clients.close()

    return pull


class CountersignDialog(QDialog):
    """Results awaiting check / approval, with Check and Approve buttons."""

    COLUMNS = 9

    def __init__(
        self,
        store: Store,
        reader: StoreReader,
        session: Session | None,
        *,
        pull: Pull | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Countersign verification results"))
        self.store, self.reader, self.session, self.pull = store, reader, session, pull
        self.rows: list[so.ResultStatus] = []
        self._generation = 0

        who = (
            tr("Signed in as {name} ({role})").format(
                name=session.display_name, role=self._role_label(session.role)
            )
            if session is not None
            else tr("Nobody is signed in")
        )
        intro = QLabel(
            tr(
                "A signed result is final only after a checker (核验员) and then an approver "
                "(批准人) countersign it, each with their own key; neither may be its "
                "inspector, nor the same person twice."
            )
        )
        intro.setWordWrap(True)
        self.show_final = QCheckBox(tr("Show final results too"))
        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setHorizontalHeaderLabels(
            [
                tr("Verification"),
                tr("Pile"),
                tr("Inspector"),
                tr("Result"),
                tr("Verified at"),
                tr("Certificate no."),
                tr("Checker"),
                tr("Approver"),
                tr("Stage"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.status = QLabel()
        self.status.setWordWrap(True)

        self.fetch_button = QPushButton(tr("Fetch new results from the log"))
        self.fetch_button.setEnabled(pull is not None)
        self.check_button = QPushButton(tr("Check"))
        self.approve_button = QPushButton(tr("Approve"))
        self.can_check = bool(session and session.can("verification.check"))
        self.can_approve = bool(session and session.can("verification.approve"))
        if not self.can_check:
            self.check_button.setToolTip(tr("Only a checker countersigns a check"))
        if not self.can_approve:
            self.approve_button.setToolTip(tr("Only an approver approves"))
        self.print_button = QPushButton(tr("Print final certificate…"))
        self.draft_button = QPushButton(tr("Print draft…"))
        self.can_print = bool(session and session.can("certificate.print"))
        if not self.can_print:
            for button in (self.print_button, self.draft_button):
                button.setToolTip(tr("Your role may not print certificates"))
        # Asks where to write the PDF (a suggested file name in, a path or None out);
        # a test replaces it.
        self.ask_path: Callable[[str], str | None] = self._ask_path
        # The office's 计量标准考核证书 number, for verifications still to come (a signed
        # result keeps the number it was signed with).
        self.approval_no = QLineEdit()
        self.approval_no.setMaxLength(64)
        self.approval_no.setPlaceholderText(tr("Not set: certificates print —"))
        self.save_approval = QPushButton(tr("Save"))
        self.can_edit_approval = bool(session and session.can("register.edit"))
        self.approval_no.setReadOnly(not self.can_edit_approval)
        self.save_approval.setEnabled(self.can_edit_approval)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)

        bar = QHBoxLayout()
        bar.addWidget(self.show_final)
        bar.addStretch(1)
        bar.addWidget(self.fetch_button)
        bar.addWidget(self.check_button)
        bar.addWidget(self.approve_button)
        bar.addWidget(self.draft_button)
        bar.addWidget(self.print_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(who))
        layout.addWidget(intro)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        approval = QHBoxLayout()
        approval.addWidget(
            QLabel(tr("Measurement standard approval certificate (for new verifications)"))
        )
        approval.addWidget(self.approval_no, 1)
        approval.addWidget(self.save_approval)
        layout.addLayout(approval)
        layout.addWidget(close)

        close.rejected.connect(self.reject)
        self.show_final.toggled.connect(self.refresh)
        self.fetch_button.clicked.connect(self.fetch)
        self.check_button.clicked.connect(lambda: self._countersign("check"))
        self.approve_button.clicked.connect(lambda: self._countersign("approve"))
        self.print_button.clicked.connect(lambda: self._print(final=True))
        self.draft_button.clicked.connect(lambda: self._print(final=False))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.save_approval.clicked.connect(self._save_approval)
        self.approval_loaded = False
        self.reader.submit(approval_certificate_no, self._approval_saved, self._failed)
        self.resize(1100, 460)
        self._update_buttons()
        if pull is not None:
            self.fetch()
        else:
            self.refresh()

    @staticmethod
    def _role_label(role: str) -> str:
        return {
            "checker": tr("checker"),
            "approver": tr("approver"),
            "inspector": tr("inspector"),
            "regulator": tr("regulator"),
            "administrator": tr("administrator"),
        }.get(role, role)

    # ---- data ----------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        self._generation += 1
        generation, include_final = self._generation, self.show_final.isChecked()
        self.reader.submit(
            lambda conn: so.awaiting(conn, include_final=include_final),
            lambda rows: self._loaded(generation, rows),
            self._failed,
        )

    @Slot()
    def fetch(self) -> None:
        """Takes up results the sync brought in (network on the pool), then refreshes."""
        if self.pull is None:
            return
        pull, store = self.pull, self.store
        self.fetch_button.setEnabled(False)
        self.reader.submit_call(lambda: pull(store), self._fetched, self._fetch_failed)

    def _fetched(self, count: int) -> None:
        self.fetch_button.setEnabled(True)
        self.status.setText(tr("{n} new result(s) fetched from the log").format(n=count))
        self.refresh()

    def _fetch_failed(self, exc: Exception) -> None:
        self.fetch_button.setEnabled(True)
        self._failed(exc)
        self.refresh()

    def _loaded(self, generation: int, rows: Sequence[so.ResultStatus]) -> None:
        if generation != self._generation:
            return
        selected = self.selected()
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            when = dt.datetime.fromtimestamp(row.at_ms / 1000, CST).strftime("%Y-%m-%d %H:%M")
            values = (
                row.verification_id,
                row.pile_id,
                row.inspector_name,
                result_label(row.result),
                when,
                row.certificate_no,
                row.checker or "",
                row.approver or "",
                stage_label(row.stage),
            )
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row.leaf_hash)
                self.table.setItem(r, c, item)
        if selected is not None:
            for r, row in enumerate(self.rows):
                if row.leaf_hash == selected.leaf_hash:
                    self.table.selectRow(r)
        if not self.rows:
            self.status.setText(tr("No results await countersigning."))
        self._update_buttons()

    def selected(self) -> so.ResultStatus | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    def select(self, verification_id: str) -> bool:
        for r, row in enumerate(self.rows):
            if row.verification_id == verification_id:
                self.table.selectRow(r)
                return True
        return False

    @Slot()
    def _update_buttons(self) -> None:
        row = self.selected()
        self.check_button.setEnabled(self.can_check and row is not None and row.stage == "check")
        self.approve_button.setEnabled(
            self.can_approve and row is not None and row.stage == "approve"
        )
        self.print_button.setEnabled(self.can_print and row is not None and row.stage == "final")
        self.draft_button.setEnabled(self.can_print and row is not None and row.stage != "final")

    # ---- actions ---------------------------------------------------------------------
    def _countersign(self, step: str) -> None:
        row, session, store = self.selected(), self.session, self.store
        if row is None or session is None:
            return
        leaf = row.leaf_hash
        sign = so.check if step == "check" else so.approve

        def run() -> object:
            with store.transaction() as conn:
                return sign(conn, session, leaf)

        self.check_button.setEnabled(False)
        self.approve_button.setEnabled(False)
        done = (
            tr("{id}: checked by {name}")
            if step == "check"
            else tr("{id}: approved by {name}; it may now be printed as final")
        )
        self.reader.submit_call(
            run,
            lambda _signoff: self._signed(
                done.format(id=row.verification_id, name=session.display_name)
            ),
            self._failed,
        )

    def _save_approval(self) -> None:
        """Stores the office's 计量标准考核证书 number (register.edit, audited by the model)."""
        session, store, number = self.session, self.store, self.approval_no.text()
        if session is None:
            return

        def run() -> str:
            with store.transaction() as conn:
                return set_approval_certificate_no(conn, session, number)

        self.reader.submit_call(run, self._approval_saved, self._failed)

    def _approval_saved(self, saved: str) -> None:
        if self.approval_loaded:
            self.status.setStyleSheet("")
            self.status.setText(tr("Approval certificate number saved"))
        self.approval_no.setText(saved)
        self.approval_loaded = True

    def _ask_path(self, suggested: str) -> str | None:
        path, _filter = QFileDialog.getSaveFileName(
            self, tr("Save the certificate as"), suggested, tr("PDF files (*.pdf)")
        )
        return path or None

    def _print(self, *, final: bool) -> None:
        """Writes the selected result's certificate / notice (final or draft) to a PDF."""
        row, session, store = self.selected(), self.session, self.store
        if row is None or session is None:
            return
        suffix = "" if final else "-draft"
        chosen = self.ask_path(f"{row.certificate_no or row.verification_id}{suffix}.pdf")
        if not chosen:
            return
        path, leaf = Path(chosen), row.leaf_hash
        write = so.print_final if final else so.print_draft

        def run() -> Path:
            from app.reports.certificate import CertificateInfo, write_certificate

            with store.transaction() as conn:
                info = CertificateInfo(**so.certificate_details(conn, leaf))
                return write(conn, session, leaf, None, path, writer=write_certificate, info=info)

        self.print_button.setEnabled(False)
        self.draft_button.setEnabled(False)
        done = tr("Final certificate written to {path}") if final else tr("Draft written to {path}")
        self.reader.submit_call(
            run, lambda written: self._signed(done.format(path=written)), self._failed
        )

    def _signed(self, message: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(message)
        self.refresh()

    def _failed(self, exc: Exception) -> None:
        self.status.setStyleSheet("color: #b42318;")
        self.status.setText(refusal_text(exc))
        self._update_buttons()

    @classmethod
    def open_for(
        cls,
        store: Store,
        reader: StoreReader,
        session: Session | None,
        platform: str | None,
        vkey: str | None,
        parent: QWidget | None = None,
        *,
        list_mode: bool = False,
    ) -> CountersignDialog:
        """The main window's entry: a window-modal dialog, deleted on close. In list mode
        results are pulled from every log of the list."""
        if list_mode:
            pull: Pull | None = list_pull()
        else:
            pull = log_pull(platform, vkey) if platform and vkey else None
        dialog = cls(store, reader, session, pull=pull, parent=parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog
