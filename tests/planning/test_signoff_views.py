"""The due list's two dates and rule labels in Chinese, and the countersigning dialog.

With ``SIGNOFF_PNG_DIR`` set, each test writes its renders there in both languages
(``signoff_due_list_zh_CN.png`` ...), to look at.
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
from app.models import signoff_workflow as so
from app.models.users import sign_verification
from app.views.countersign import CountersignDialog
from app.views.due_list import DueListView
from app.views.table_models import StoreReader
from tests.planning.conftest import Office, add_anomaly
from tests.planning.test_signoff import body

LANGUAGES = ("zh_CN", "en")


@pytest.fixture
def reader(office: Office, qtbot: QtBot) -> Iterator[StoreReader]:
    family = load_fonts()
    if family:
        QApplication.setFont(QFont(family, 10))
    reader = StoreReader(office.store)
    yield reader
    reader.shutdown()
    app = QApplication.instance()
    assert app is not None
    install_language(app, "en")


def language(name: str) -> None:
    app = QApplication.instance()
    assert app is not None
    install_language(app, name)


def shot(widget: QWidget, name: str, size: tuple[int, int]) -> None:
    widget.resize(*size)
    widget.show()
    QApplication.processEvents()
    target = os.environ.get("SIGNOFF_PNG_DIR")
    if target:
        assert widget.grab().save(str(Path(target) / f"signoff_{name}.png"))


def cell(view: DueListView, pile: str, column: str) -> str:
    row = [r.pile_id for r in view.model.rows].index(pile)
    index = view.model.index(row, view.model.COLUMNS.index(column))
    return str(view.model.data(index))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_due_list_shows_both_dates_with_their_rules_translated(
    office: Office, reader: StoreReader, qtbot: QtBot, lang: str
) -> None:
    with office.store.transaction() as conn:
        add_anomaly(conn, "P6", dt.date(2026, 5, 31), "high")
    language(lang)
    view = DueListView(reader, office.regulator, today=dt.date(2028, 3, 1))
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=5000)
    headers = view.model.headers()
    if lang == "zh_CN":
        assert {"证书有效期至", "有效期依据", "到期日", "到期日依据"} <= set(headers)
        assert cell(view, "P3", "detail") == "电能表 MP3：无检定证书"
        assert cell(view, "P3", "valid") == "无有效证书"
        assert cell(view, "P3", "due_rule") == "检定规程"
        assert cell(view, "P6", "due_rule") == "异常警示"
        assert cell(view, "P2", "due_rule") == "监管政策"
        assert cell(view, "P2", "valid_rule") == "检定周期 3 年（规程）"
        assert cell(view, "P6", "detail") == "R1 异常（高，#1）"
        # No English explanation reaches the Chinese UI.
        for r in range(view.model.rowCount()):
            text = str(view.model.data(view.model.index(r, view.model.COLUMNS.index("detail"))))
            assert "meter" not in text and "certificate" not in text and "anomaly" not in text
    else:
        assert cell(view, "P3", "detail") == "meter MP3: no certificate"
        assert cell(view, "P2", "due_rule") == "Supervision policy"
    assert cell(view, "P2", "valid") == "2023-04-30" and cell(view, "P2", "due") == "2028-05-01"
    shot(view, f"due_list_{lang}", (1600, 700))


def stage_of(dialog: CountersignDialog, verification_id: str) -> str | None:
    return next((r.stage for r in dialog.rows if r.verification_id == verification_id), None)


def put_result(office: Office, pile_id: str) -> so.StoredResult:
    assert office.inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])
    record = sign_verification(office.inspector, body(pile_id))
    with office.store.transaction() as conn:
        return so.take_up(conn, record.to_bytes())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_countersign_dialog_checks_then_approves(
    office: Office, reader: StoreReader, qtbot: QtBot, lang: str
) -> None:
    language(lang)
    first, second = put_result(office, "P1"), put_result(office, "P2")
    dialog = CountersignDialog(office.store, reader, office.checker)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.rows) == 2, timeout=5000)
    assert not dialog.check_button.isEnabled()  # nothing selected
    assert dialog.select(first.verification_id)
    assert dialog.check_button.isEnabled() and not dialog.approve_button.isEnabled()
    dialog.check_button.click()
    qtbot.waitUntil(lambda: stage_of(dialog, first.verification_id) == "approve", timeout=5000)
    shot(dialog, f"countersign_checker_{lang}", (1100, 420))
    dialog.close()

    approver = CountersignDialog(office.store, reader, office.approver)
    qtbot.addWidget(approver)
    qtbot.waitUntil(lambda: len(approver.rows) == 2, timeout=5000)
    assert approver.select(second.verification_id)
    assert not approver.approve_button.isEnabled()  # not checked yet
    assert not approver.check_button.isEnabled()  # not an approver's step
    assert approver.select(first.verification_id) and approver.approve_button.isEnabled()
    approver.approve_button.click()
    qtbot.waitUntil(
        lambda: [r.verification_id for r in approver.rows] == [second.verification_id], timeout=5000
    )
    approver.show_final.setChecked(True)
    qtbot.waitUntil(lambda: len(approver.rows) == 2, timeout=5000)
    assert approver.select(first.verification_id)
    stage = approver.table.item(approver.table.currentRow(), 8).text()
    assert stage == ("已批准（正式）" if lang == "zh_CN" else "Final")
    shot(approver, f"countersign_approver_{lang}", (1100, 420))
    with office.store.engine.connect() as conn:
        assert so.signoff_of(conn, first.leaf_hash).final


def test_dialog_shows_the_models_refusal_translated(
    office: Office, reader: StoreReader, qtbot: QtBot
) -> None:
    """The inspector opening the dialog sees no enabled button; forced, the model refuses."""
    language("zh_CN")
    stored = put_result(office, "P1")
    dialog = CountersignDialog(office.store, reader, office.inspector)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.rows) == 1, timeout=5000)
    dialog.select(stored.verification_id)
    assert not dialog.check_button.isEnabled()
    dialog.can_check = True  # a view that forgot to grey the button out
    dialog._update_buttons()
    dialog.check_button.click()
    qtbot.waitUntil(lambda: "无权" in dialog.status.text(), timeout=5000)
    with office.store.engine.connect() as conn:
        assert so.signoff_of(conn, stored.leaf_hash).checker is None


def test_main_window_menu_opens_the_dialog_for_the_signed_in_user(
    office: Office, qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtGui import QAction

    from app.main_window import MainWindow

    language("en")
    put_result(office, "P1")
    window = MainWindow(office.store.url, session=office.checker)
    qtbot.addWidget(window)
    try:
        actions = [a for a in window.findChildren(QAction) if a.text().startswith("Countersign")]
        assert len(actions) == 1
        actions[0].trigger()
        dialogs = window.findChildren(CountersignDialog)
        assert len(dialogs) == 1 and dialogs[0].can_check and not dialogs[0].can_approve
        qtbot.waitUntil(lambda: len(dialogs[0].rows) == 1, timeout=5000)
        assert not dialogs[0].fetch_button.isEnabled()  # no platform configured
        dialogs[0].close()
    finally:
        window.shutdown()


@pytest.fixture(scope="module")
def run_result():
    from tests.verification.conftest import _run_once

    return _run_once(true_error_pct=0.6)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_dialog_prints_a_draft_then_the_final_certificate_from_the_stored_record(
    office: Office, reader: StoreReader, qtbot: QtBot, tmp_path: Path, run_result, lang: str
) -> None:
    from app.models.charging.verification import record_body
    from tests.planning.test_signoff import approved, checked
    from tests.verification.test_certificate import pdf_text

    language(lang)
    assert office.inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])
    record = sign_verification(office.inspector, record_body(run_result, inspector_id="INS-HZ-007"))
    with office.store.transaction() as conn:
        stored = so.take_up(conn, record.to_bytes())

    inspector = CountersignDialog(office.store, reader, office.inspector)  # no certificate.print
    qtbot.addWidget(inspector)
    qtbot.waitUntil(lambda: len(inspector.rows) == 1, timeout=5000)
    assert inspector.select(stored.verification_id)
    assert not inspector.draft_button.isEnabled() and not inspector.print_button.isEnabled()
    inspector.close()

    dialog = CountersignDialog(office.store, reader, office.regulator)
    qtbot.addWidget(dialog)
    dialog.show_final.setChecked(True)
    qtbot.waitUntil(lambda: len(dialog.rows) == 1, timeout=5000)
    assert dialog.select(stored.verification_id)
    assert dialog.draft_button.isEnabled() and not dialog.print_button.isEnabled()
    asked: list[str] = []
    dialog.ask_path = lambda name: asked.append(name) or str(tmp_path / name)
    dialog.draft_button.click()
    draft = tmp_path / f"{stored.record.body['certificate_no']}-draft.pdf"
    qtbot.waitUntil(lambda: str(draft) in dialog.status.text(), timeout=10000)
    assert "草稿" in pdf_text(draft)

    checked(office, stored.leaf_hash)
    approved(office, stored.leaf_hash)
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.rows and dialog.rows[0].stage == "final", timeout=5000)
    assert dialog.select(stored.verification_id)
    assert dialog.print_button.isEnabled() and not dialog.draft_button.isEnabled()
    shot(dialog, f"countersign_print_{lang}", (1250, 420))
    dialog.print_button.click()
    final = tmp_path / f"{stored.record.body['certificate_no']}.pdf"
    qtbot.waitUntil(lambda: str(final) in dialog.status.text(), timeout=10000)
    text = pdf_text(final)
    assert "检定证书" in text and "草稿" not in text and "钱核验" in text and "孙批准" in text
    assert asked == [draft.name, final.name]
    target = os.environ.get("SIGNOFF_PNG_DIR")
    if target:
        import shutil

        shutil.copy(final, Path(target) / f"final_certificate_{lang}.pdf")


def test_the_office_approval_number_is_edited_by_register_edit_roles_only(
    office: Office, reader: StoreReader, qtbot: QtBot
) -> None:
    from app.models.office_settings import approval_certificate_no

    language("zh_CN")
    dialog = CountersignDialog(office.store, reader, office.regulator)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.approval_loaded, timeout=5000)
    assert dialog.approval_no.text() == ""  # not set yet
    assert dialog.save_approval.isEnabled() and not dialog.approval_no.isReadOnly()
    dialog.approval_no.setText("[2024]浙量标杭证字第123号")
    dialog.save_approval.click()
    qtbot.waitUntil(lambda: "已保存" in dialog.status.text(), timeout=5000)
    with office.store.engine.connect() as conn:
        assert approval_certificate_no(conn) == "[2024]浙量标杭证字第123号"

    checker = CountersignDialog(office.store, reader, office.checker)
    qtbot.addWidget(checker)
    qtbot.waitUntil(lambda: checker.approval_no.text() == "[2024]浙量标杭证字第123号", timeout=5000)
    assert checker.approval_no.isReadOnly() and not checker.save_approval.isEnabled()
    checker.approval_no.setText("forged")  # a view that forgot the read-only flag
    checker._save_approval()
    qtbot.waitUntil(lambda: "无权" in checker.status.text(), timeout=5000)
    with office.store.engine.connect() as conn:
        assert approval_certificate_no(conn) == "[2024]浙量标杭证字第123号"
