"""End to end: the wizard drives the simulator on a real pty through the worker thread.

Screenshots of every step are written to ``$EVM_WIZARD_SHOTS`` (e.g. ``/tmp``)
when that variable is set, at 1600×1000.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWizard

from app.models.charging.verification import journal_readings
from app.models.outbox import Outbox
from app.views.charging.verification_wizard import VerificationWizard
from tests.verification.conftest import make_pile

SHOTS = os.environ.get("EVM_WIZARD_SHOTS")


@pytest.fixture(scope="module", autouse=True)
def _fonts(qapp) -> None:
    from app.application import load_fonts

    family = load_fonts()
    if family:
        font = qapp.font()
        font.setFamily(family)
        font.setPointSize(10)
        qapp.setFont(font)


@pytest.fixture
def wizard_factory(qtbot, tmp_path) -> Iterator:
    wizards: list[VerificationWizard] = []

    def factory(sim) -> VerificationWizard:
        with socket.socket() as sock:  # a platform address nobody answers on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        wizard = VerificationWizard(
            [
                make_pile(),
                make_pile(pile_id="HZ-P000124", station="拱墅区充电站"),
                make_pile(pile_id="HZ-P000125", station="滨江区充电站", connectors=2),
            ],
            journal_dir=tmp_path,
            explicit_ports=[sim.path],
            discover=lambda: [],  # reconnection is by typed path in these tests
            outbox=Outbox(tmp_path / "outbox", f"http://127.0.0.1:{port}"),
            inspector_id="INS01",
            inspector_name="张检定",
        )
        qtbot.addWidget(wizard)
        wizard.resize(1600, 1000)
        wizard.show()
        wizards.append(wizard)
        return wizard

    yield factory
    for wizard in wizards:
        wizard.shutdown()


def shot(wizard: VerificationWizard, name: str) -> None:
    if SHOTS:
        QApplication.processEvents()  # let pending layout changes settle first
        wizard.grab().save(str(Path(SHOTS) / f"wizard_{name}.png"))


def drive_to_run(qtbot, wizard: VerificationWizard, sim) -> None:
    """Pile → pre-checks → connect, as an inspector would."""
    qtbot.keyClicks(wizard.pile_page.pile_id, "HZ-P000123")
    assert wizard.pile_page.isComplete()
    shot(wizard, "1_pile")
    wizard.next()
    assert wizard.currentId() == VerificationWizard.PRECHECK
    assert not wizard.precheck_page.isComplete()
    wizard.precheck_page.set_all(True)
    shot(wizard, "2_precheck")
    wizard.next()
    assert wizard.currentId() == VerificationWizard.CONNECT
    page = wizard.connect_page
    qtbot.waitUntil(lambda: page.path() == sim.path, timeout=5000)
    shot(wizard, "3_connect")
    wizard.next()
    assert wizard.currentId() == VerificationWizard.RUN
    run = wizard.run_page
    qtbot.waitUntil(run.prompt_frame.isVisible, timeout=30_000)  # "wiring connected?"
    shot(wizard, "4a_prompt")
    qtbot.mouseClick(run.prompt_yes, Qt.MouseButton.LeftButton)


from PySide6.QtCore import Qt  # noqa: E402


def test_pile_within_class_passes(qtbot, sim_factory, wizard_factory) -> None:
    sim = sim_factory(true_error_pct=0.6, speed=100)
    wizard = wizard_factory(sim)
    drive_to_run(qtbot, wizard, sim)
    run = wizard.run_page
    qtbot.waitUntil(lambda: run.ring.count > 0 and run.plan is not None, timeout=30_000)
    with qtbot.waitSignal(run.run_ended, timeout=30_000):
        qtbot.waitUntil(lambda: run.points.item(1, 5).text() != "", timeout=30_000)
        shot(wizard, "4b_running")
    assert run.result is not None and run.result.passed, run.error
    assert run.refreshes >= 5
    assert not run.timer.isActive()
    assert all(run.points.item(row, 5).text() == "Pass" for row in range(3))
    shot(wizard, "4c_finished")
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentId() == VerificationWizard.RESULT
    page = wizard.result_page
    assert page.verdict.text() == "Pass"
    # first use: create the encrypted key, then sign with its passphrase
    assert page.create_key_button.isVisible() and not page.sign_button.isEnabled()
    qtbot.keyClicks(page.passphrase, "correct horse battery")
    qtbot.mouseClick(page.create_key_button, Qt.MouseButton.LeftButton)
    assert wizard.key_path.exists() and page.sign_button.isEnabled()
    qtbot.keyClicks(page.passphrase, "wrong passphrase")
    qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    assert "passphrase" in page.status.text() and page.record is None
    qtbot.keyClicks(page.passphrase, "correct horse battery")
    qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    assert page.record is not None and page.passphrase.text() == ""
    [entry] = wizard.outbox.pending()
    assert entry.entry_id == page.record.body["verification_id"]
    qtbot.mouseClick(page.certificate_button, Qt.MouseButton.LeftButton)
    assert page.certificate_path is not None and page.certificate_path.exists()
    with qtbot.waitSignal(page.uploader.finished, timeout=30_000):
        qtbot.mouseClick(page.upload_button, Qt.MouseButton.LeftButton)
    assert page.upload_report is not None and page.upload_report.unreachable
    assert "unreachable" in page.status.text()
    assert len(wizard.outbox.pending()) == 1  # stays queued
    shot(wizard, "5_result")


def test_pile_over_class_fails(qtbot, sim_factory, wizard_factory) -> None:
    sim = sim_factory(true_error_pct=1.4)
    wizard = wizard_factory(sim)
    drive_to_run(qtbot, wizard, sim)
    run = wizard.run_page
    with qtbot.waitSignal(run.run_ended, timeout=30_000):
        pass
    assert run.result is not None and not run.result.passed
    assert all(run.points.item(row, 5).text() == "Fail" for row in range(3))
    wizard.next()
    assert wizard.result_page.verdict.text() == "Fail"
    shot(wizard, "5_result_fail")


def test_unplug_mid_point_resumes(qtbot, sim_factory, wizard_factory, tmp_path) -> None:
    sim = sim_factory(true_error_pct=0.6, speed=100)
    wizard = wizard_factory(sim)
    drive_to_run(qtbot, wizard, sim)
    run = wizard.run_page
    qtbot.waitUntil(
        lambda: run.ring.latest is not None and run.ring.latest.point_index == 1, timeout=20_000
    )
    sim.unplug()
    qtbot.waitUntil(run.reconnect_frame.isVisible, timeout=30_000)
    shot(wizard, "4d_unplugged")
    path = sim.replug()
    qtbot.keyClicks(run.reconnect_path, path)
    qtbot.mouseClick(run.reconnect_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(run.run_ended, timeout=30_000):
        pass
    assert run.result is not None and run.result.passed, run.error
    assert run.result.interruptions == 1
    journal = next(tmp_path.glob("HZ-P000123-*.jsonl"))
    readings = journal_readings(journal)
    assert [(r["point"], r["reading"]) for r in readings] == [
        (i, j) for i in range(3) for j in range(2)
    ]
    assert [r.pulses for r in run.result.readings()] == [r["pulses"] for r in readings]


def test_gun_and_site_reach_the_run_and_low_insulation_gets_no_document(
    qtbot, sim_factory, wizard_factory
) -> None:
    from decimal import Decimal

    from app.models.charging.verification import CONDITIONS_NOT_MET, SiteConditions

    sim = sim_factory(insulation_mohm=2.0, connector_errors=(0.2, 0.3))
    wizard = wizard_factory(sim)
    qtbot.keyClicks(wizard.pile_page.pile_id, "HZ-P000125")
    assert wizard.pile_page.connector.maximum() == 2
    wizard.pile_page.connector.setValue(2)
    wizard.next()
    page = wizard.precheck_page
    page.set_all(True)
    page.temperature.setValue(31.5)
    page.humidity.setValue(70)
    qtbot.keyClicks(page.seal_no, "QF-77")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.connect_page.path() == sim.path, timeout=20_000)
    wizard.next()
    run = wizard.run_page
    with qtbot.waitSignal(run.run_ended, timeout=30_000):
        pass
    result = run.result
    assert result is not None and result.verdict == CONDITIONS_NOT_MET, run.error
    assert result.connector == 2 and not result.readings()
    assert result.site == SiteConditions(Decimal("31.5"), Decimal(70), "QF-77")
    wizard.next()
    assert wizard.result_page.verdict.text() == "Verification conditions not met"
    assert wizard.result_page.save_certificate() is None
    assert "no certificate" in wizard.result_page.status.text()


def test_two_gun_pile_gun_by_gun_on_one_document(qtbot, sim_factory, wizard_factory) -> None:
    from tests.verification.test_certificate import pdf_text

    sim = sim_factory(connector_errors=(0.3, 1.4))
    wizard = wizard_factory(sim)
    qtbot.keyClicks(wizard.pile_page.pile_id, "HZ-P000125")
    for gun in (1, 2):
        assert wizard.pile_page.connector.value() == gun
        wizard.next()
        wizard.precheck_page.set_all(True)
        wizard.next()
        qtbot.waitUntil(lambda: wizard.connect_page.path() == sim.path, timeout=20_000)
        wizard.next()
        run = wizard.run_page
        qtbot.waitUntil(run.prompt_frame.isVisible, timeout=30_000)
        sim.select_connector(gun)  # the inspector moves the leads to this gun
        qtbot.mouseClick(run.prompt_yes, Qt.MouseButton.LeftButton)
        with qtbot.waitSignal(run.run_ended, timeout=30_000):
            pass
        assert run.result is not None and run.result.connector == gun, run.error
        wizard.next()
        page = wizard.result_page
        assert page.next_gun_button.isVisible() == (gun == 1)
        if gun == 1:
            assert run.result.passed
            qtbot.mouseClick(page.next_gun_button, Qt.MouseButton.LeftButton)
            assert wizard.currentId() == VerificationWizard.PILE
    assert not wizard.result_page.result.passed  # gun 2 at +1.4 %
    path = wizard.result_page.save_certificate()
    assert path is not None
    flat = "".join(pdf_text(path).split())
    assert "检定结果通知书" in flat  # one gun failed: a notice for the pile
    assert "检定结果（充电枪1）" in flat and "检定结果（充电枪2）" in flat
    assert "2号枪：" in flat


def test_the_office_approval_number_is_prefilled_and_may_be_corrected(qtbot, tmp_path) -> None:
    """计量标准考核证书: the office setting arrives in the config; what the pre-check page
    shows is what the run signs (and the certificate prints)."""
    from app.models.charging.verification import VerificationConfig

    wizard = VerificationWizard(
        [make_pile()],
        journal_dir=tmp_path,
        discover=lambda: [],
        config=VerificationConfig(approval_certificate_no="[2024]浙量标杭证字第123号"),
    )
    qtbot.addWidget(wizard)
    try:
        qtbot.keyClicks(wizard.pile_page.pile_id, "HZ-P000123")
        wizard.next()
        field = wizard.precheck_page.approval_no
        assert field.text() == "[2024]浙量标杭证字第123号"
        assert wizard.make_plan().config.approval_certificate_no == field.text()
        field.setText(" [2025]浙量标杭证字第7号 ")
        assert wizard.make_plan().config.approval_certificate_no == "[2025]浙量标杭证字第7号"
    finally:
        wizard.shutdown()
