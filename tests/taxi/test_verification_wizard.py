"""End to end: the taxi verification wizard on the simulated roller standard (real pty,
QThread worker), and with typed readings; signed into the Outbox; certificate saved.

Screenshots of every page go to ``$TAXI_WIZARD_SHOTS`` (e.g. /tmp) when it is set, in the
language of ``$TAXI_WIZARD_LANG`` (zh_CN by default, or en).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.devices.taxi_standard_sim import TaxiSimConfig, TaxiStandardSimulator
from app.models.outbox import Outbox
from app.models.taxi import verification as tv
from app.views.taxi.verification_wizard import TaxiVerificationWizard
from ledger.records import Record
from ledger.taxi.records import verification_outcome

SHOTS = os.environ.get("TAXI_WIZARD_SHOTS")
LANG = os.environ.get("TAXI_WIZARD_LANG", "zh_CN")
TAXIS = [
    tv.TaxiSpec("浙A·T0001", "JJ-0001", 1000, model="JBC-11"),
    tv.TaxiSpec("浙A·T0002", "JJ-0002", 800, model="JBC-11"),
]


@pytest.fixture(scope="module", autouse=True)
def _fonts_and_language(qapp) -> Iterator[None]:
    from app.application import install_language, load_fonts

    family = load_fonts()
    if family:
        font = qapp.font()
        font.setFamily(family)
        font.setPointSize(10)
        qapp.setFont(font)
    install_language(qapp, LANG)
    yield
    install_language(qapp, "en")


@pytest.fixture
def make(qtbot, tmp_path) -> Iterator:
    made: list[tuple[TaxiVerificationWizard, TaxiStandardSimulator | None]] = []

    def factory(error_pct: float | None) -> TaxiVerificationWizard:
        sim = None
        if error_pct is not None:
            sim = TaxiStandardSimulator(TaxiSimConfig(distance_error_pct=error_pct, speed=1000))
            sim.start()
        wizard = TaxiVerificationWizard(
            TAXIS,
            work_dir=tmp_path,
            standard_path=sim.path if sim else "",
            outbox=Outbox(tmp_path / "outbox"),
            inspector_id="INS1",
            inspector_name="李检定",
            run_timing=tv.RunTiming(timeout_s=20, poll_s=0.01),
        )
        qtbot.addWidget(wizard)
        wizard.resize(1200, 800)
        wizard.show()
        made.append((wizard, sim))
        return wizard

    yield factory
    for wizard, sim in made:
        wizard.shutdown()
        if sim is not None:
            sim.stop()


def shot(wizard: TaxiVerificationWizard, name: str) -> None:
    if SHOTS:
        QApplication.processEvents()
        wizard.grab().save(str(Path(SHOTS) / f"taxi_wizard_{LANG}_{name}.png"))


def to_readings(wizard: TaxiVerificationWizard) -> None:
    wizard.taxi_page.list.setCurrentRow(0)
    assert wizard.taxi_page.spec() == TAXIS[0]
    shot(wizard, "1_taxi")
    wizard.next()
    wizard.checklist_page.set_all(True)
    wizard.checklist_page.seal_no.setText("QT2026-0517")
    shot(wizard, "2_checks")
    wizard.next()
    assert wizard.currentId() == wizard.READINGS


def sign(wizard: TaxiVerificationWizard) -> Record:
    panel = wizard.result_page.panel
    panel.passphrase.setText("taxi-inspector-1")
    panel.sign_button.click()
    record = wizard.result_page.record
    assert record is not None, panel.status.text()
    assert not panel.sign_button.isEnabled()
    assert [e.entry_id for e in wizard.outbox.pending()] == [record.body["verification_id"]]
    return record


def test_failed_meter_on_the_serial_standard(qtbot, make) -> None:
    wizard = make(-4.1)
    to_readings(wizard)
    page = wizard.readings_page
    assert not page.isComplete()
    page.measure_button.click()
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert page.standard_info and "JJZ-517R" in page.standard_info["identity"]
    shot(wizard, "3_readings")
    wizard.next()
    result = wizard.result
    assert result is not None and result.verdict == "fail"
    assert all(r.source == "standard" for r in result.distance)
    assert result.distance_error in result.distance_errors and result.distance_error < -4
    record = sign(wizard)
    assert record.body["result"] == "fail" and record.body["distance_error_ppm"] <= -40_500
    record.verify(_public(wizard))
    assert not verification_outcome(record.body)[0]
    path = wizard.result_page.save_certificate()
    assert path is not None and path.exists() and path.name.startswith("HZJLTTZ")
    shot(wizard, "4_result")


def _public(wizard: TaxiVerificationWizard):
    from app.models.verification_parts import unlock_inspector_key

    return unlock_inspector_key(wizard.key_path, "taxi-inspector-1").public_key


def test_passing_meter_with_typed_readings(qtbot, make) -> None:
    wizard = make(None)
    to_readings(wizard)
    page = wizard.readings_page
    page.set_row(0, "1000.0", "996")  # −0.4 %
    page.set_row(1, "1000.0", "1009")  # +0.9 %
    assert not page.isComplete()  # the waiting-time run is missing
    page.set_row(2, "600.00", "600.9")  # +0.15 %
    assert page.isComplete()
    assert page.table.item(1, 3).text() == "+0.9"
    wizard.next()
    result = wizard.result
    assert result is not None and result.passed, result.reasons
    record = sign(wizard)
    assert record.body["distance_error_ppm"] == 9_000 and record.body["time_error_ppm"] == 1_500
    assert record.body["method"] == "roller" and record.body["seal_closed"] is True


def test_typed_reading_outside_the_limits_fails(qtbot, make) -> None:
    wizard = make(None)
    to_readings(wizard)
    page = wizard.readings_page
    page.set_row(0, "1000.0", "1011")  # +1.1 %: over-charging
    page.set_row(1, "1000.0", "1000")
    page.set_row(2, "600", "600")
    wizard.next()
    assert wizard.result is not None and not wizard.result.passed
    assert wizard.result_page.reasons.text()  # a translated reason is shown
