"""Sign-in and the first-run "create administrator" dialog.

Both run the model call (argon2id takes ~0.1 s on purpose, and both write the audit log)
on the :class:`StoreReader` pool, never on the GUI thread. The resulting
:class:`~app.models.users.Session` — with the user's signing key unlocked in memory —
is in :attr:`session` after ``exec()`` returns ``Accepted``. Use :func:`sign_in_flow`:
it shows the first-run dialog on a store without users, the sign-in dialog otherwise.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.models import users
from app.models.store import Store
from app.models.users import Session
from app.views.table_models import StoreReader


def tr(text: str) -> str:
    return QCoreApplication.translate("SignInDialog", text)


class _CredentialsDialog(QDialog):
    def __init__(self, store: Store, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.reader = store, reader
        self.session: Session | None = None
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b42318;")
        self.error.setWordWrap(True)
        self.form = QFormLayout()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        self.username.textEdited.connect(self.error.clear)
        self.password.textEdited.connect(self.error.clear)
        self.setMinimumWidth(420)

    def _submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _run(self, call: object) -> None:
        self.buttons.setEnabled(False)
        self.error.clear()
        self.reader.submit_call(call, self._done, self._failed)  # type: ignore[arg-type]

    def _done(self, session: Session) -> None:
        self.session = session
        self.password.clear()
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self.buttons.setEnabled(True)
        self.password.clear()
        self.password.setFocus()
        self.error.setText(str(exc))


class SignInDialog(_CredentialsDialog):
    """User name + password; unlocks the user's signing key."""

    def __init__(self, store: Store, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(store, reader, parent)
        self.setWindowTitle(tr("Sign in"))
        self.heading.setText(tr("Sign in to the charging-pile metrology workstation"))
        self.form.addRow(tr("User name"), self.username)
        self.form.addRow(tr("Password"), self.password)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Sign in"))

    @Slot()
    def _submit(self) -> None:
        name, password = self.username.text(), self.password.text()

        def call() -> Session:
            with self.store.transaction() as conn:
                return users.sign_in(conn, name, password)

        self._run(call)

    def _failed(self, exc: Exception) -> None:
        super()._failed(exc)
        if isinstance(exc, users.SignInError):
            self.error.setText(tr("Unknown user name or wrong password"))


class FirstRunDialog(_CredentialsDialog):
    """A fresh workstation: create the administrator (who then creates everyone else)."""

    def __init__(self, store: Store, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(store, reader, parent)
        self.setWindowTitle(tr("Create administrator"))
        self.heading.setText(
            tr(
                "This workstation has no users yet. Create the administrator account; "
                "the administrator then creates the regulators and inspectors."
            )
        )
        self.display_name = QLineEdit()
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(tr("User name"), self.username)
        self.form.addRow(tr("Full name"), self.display_name)
        self.form.addRow(tr("Password"), self.password)
        self.form.addRow(tr("Repeat password"), self.repeat)
        self.repeat.textEdited.connect(self.error.clear)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Create"))

    @Slot()
    def _submit(self) -> None:
        if self.password.text() != self.repeat.text():
            self.error.setText(tr("The two passwords differ"))
            return
        name, display, password = (
            self.username.text(),
            self.display_name.text(),
            self.password.text(),
        )

        def call() -> Session:
            with self.store.transaction() as conn:
                return users.create_first_administrator(conn, name, display, password)

        self._run(call)

    def _failed(self, exc: Exception) -> None:
        self.repeat.clear()
        super()._failed(exc)


def needs_first_run(store: Store) -> bool:
    """True on a store without any user (one quick count; fine before the window shows)."""
    with store.engine.connect() as conn:
        return not users.has_users(conn)


def sign_in_flow(
    store: Store, reader: StoreReader, parent: QWidget | None = None
) -> Session | None:
    """First run → create administrator; otherwise sign in. None if the user cancels."""
    dialog: _CredentialsDialog = (
        FirstRunDialog(store, reader, parent)
        if needs_first_run(store)
        else SignInDialog(store, reader, parent)
    )
    return dialog.session if dialog.exec() == QDialog.DialogCode.Accepted else None
