"""End to end: the fuel verification wizard on the simulated flowmeter (real pty, QThread).

Screenshots of every page go to ``$FUEL_WIZARD_SHOTS`` (e.g. /tmp) when it is set, in the
language of ``$FUEL_WIZARD_LANG`` (zh_CN by default, or en).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.devices.flowmeter import Flowmeter, SimulatedNozzle
from app.devices.flowmeter_sim import FlowmeterSimulator, FlowSimConfig
from app.models.fuel import verification as fv
from app.models.outbox import Outbox
from app.views.fuel.verification_wizard import FuelVerificationWizard
from ledger.keys import PublicKey
from ledger.records import Record

SHOTS = os.environ.get("FUEL_WIZARD_SHOTS")
LANG = os.environ.get("FUEL_WIZARD_LANG", "zh_CN")
PASSPHRASE = "fuel-inspector-1"
DISPENSERS = [
    fv.DispenserSpec("FD000001", 1, "92", station="西湖区文三路加油站", model="JY-4"),
    fv.DispenserSpec("FD000001", 2, "0", station="西湖区文三路加油站", model="JY-4"),
    fv.DispenserSpec("FD000002", 1, "95", Decimal(50), Decimal(5), station="拱墅区加油站"),
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
    made: list[tuple[FuelVerificationWizard, FlowmeterSimulator | None]] = []

    def factory(
        error_pct: float | None, simulated: bool = True, **sim_kw: object
    ) -> FuelVerificationWizard:
        sim = None
        if error_pct is not None:
            sim = FlowmeterSimulator(
                FlowSimConfig(dispenser_error_pct=error_pct, speed=3000, seed=5, **sim_kw)  # type: ignore[arg-type]
            )
            sim.start()
        wizard = FuelVerificationWizard(
            DISPENSERS,
            work_dir=tmp_path,
            flowmeter_path=sim.path if sim else "",
            simulated_dispenser=simulated,
            outbox=Outbox(tmp_path / "outbox"),
            inspector_id="INS01",
            inspector_name="张检定",
            run_timing=fv.RunTiming(timeout_s=20, poll_s=0.01),
        )
        qtbot.addWidget(wizard)
        wizard.resize(1400, 900)
        wizard.show()
        made.append((wizard, sim))
        return wizard

    factory.sims = made  # type: ignore[attr-defined]
    yield factory
    for wizard, sim in made:
        wizard.shutdown()
        if sim is not None:
            sim.stop()


def shot(wizard: FuelVerificationWizard, name: str) -> None:
    if SHOTS:
        QApplication.processEvents()
        wizard.grab().save(str(Path(SHOTS) / f"fuel_wizard_{LANG}_{name}.png"))


def to_readings(qtbot, wizard: FuelVerificationWizard, *, flowmeter: bool) -> None:
    page = wizard.dispenser_page
    page.list.setCurrentRow(0)
    assert page.spec() == DISPENSERS[0]
    shot(wizard, "1_dispenser")
    wizard.next()
    wizard.checklist_page.set_all(True)
    wizard.checklist_page.seal_no.setText("QF2026-0101")
    shot(wizard, "2_checks")
    wizard.next()
    std = wizard.standard_page
    if flowmeter:
        std.flow_radio.setChecked(True)
        assert not std.isComplete()  # not connected yet
        std.connect_button.click()
        qtbot.waitUntil(std.isComplete, timeout=10_000)
        assert "SFM-50" in std.flow_status.text()
    else:
        assert not std.isComplete()  # no certificate typed
        std.measure_serial.setText("BZ20-0117")
        std.measure_cert.setText("ZJJL2026-LQ-0088")
        std.measure_expiry.setText("2020-01-01")
        assert not std.isComplete()  # expired standard refused
        std.measure_expiry.setText("2099-12-31")
        assert std.isComplete()
    shot(wizard, "3_standard")
    wizard.next()
    assert wizard.currentId() == wizard.READINGS


def sign(wizard: FuelVerificationWizard) -> Record:
    result = wizard.result_page
    result.passphrase.setText(PASSPHRASE)
    result.sign_button.click()  # the first signature creates the key
    assert result.record is not None, result.status.text()
    assert wizard.key_path.exists() and not result.sign_button.isEnabled()
    pending = wizard.outbox.pending()
    assert len(pending) == 1
    return result.record


@pytest.mark.parametrize(("error_pct", "verdict"), [(0.28, "pass"), (0.32, "fail")])
def test_flowmeter_run_end_to_end(qtbot, make, error_pct: float, verdict: str) -> None:
    wizard = make(error_pct)
    to_readings(qtbot, wizard, flowmeter=True)
    page = wizard.readings_page
    assert not page.isComplete()
    page.measure_button.click()
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert page.summary.rowCount() == 3
    shot(wizard, f"4_readings_{verdict}")
    wizard.next()
    result = wizard.result
    assert result is not None and result.verdict == verdict, result.reasons
    for pr in result.points:
        assert all(abs(e - Decimal(str(error_pct))) <= Decimal("0.03") for e in pr.errors_percent)
    record = sign(wizard)
    shot(wizard, f"5_result_{verdict}")
    again = Record.parse(record.to_bytes())
    again.verify(PublicKey.parse(wizard.key_path.with_suffix(".pub").read_text().strip()))
    assert again.type == "fuel_verification" and again.body["result"] == verdict
    assert again.body["standard"]["type"] == "flowmeter"
    assert [p["label"] for p in again.body["points"]] == ["Qmax", "Qmid", "Qmin"]
    path = wizard.result_page.save_certificate()
    assert path is not None and path.read_bytes().startswith(b"%PDF")


def test_real_flowmeter_runs_by_hand(qtbot, make) -> None:
    """A real flowmeter: the wizard starts and reads each batch on its worker; the inspector
    (here the test, through its own connection to the simulated dispenser) delivers the
    preset and types the display. +0.32 % must fail as on the automatic path."""
    wizard = make(0.32, simulated=False)
    _, sim = make.sims[-1]
    to_readings(qtbot, wizard, flowmeter=True)
    page = wizard.readings_page
    assert page.start_button.isVisible() and not page.measure_button.isVisible()
    assert page.table.item(0, 4).flags() & Qt.ItemFlag.ItemIsEditable == Qt.ItemFlag(0)
    plan = page.plan
    assert plan is not None
    with contextlib.closing(Flowmeter.from_path(sim.path, timeout=2)) as hands:
        hands.connect()
        nozzle = SimulatedNozzle(hands)
        for row in range(page.table.rowCount()):
            point = plan.points[row // plan.runs_per_point]
            page.start_button.click()
            qtbot.waitUntil(page.read_button.isEnabled, timeout=10_000)
            assert page.batch_row == row and not page.isComplete()
            nozzle.fill(point.flow_ml_min, point.run_volume_ml)
            qtbot.waitUntil(lambda: not nozzle.display()[1], timeout=10_000)
            shown, _ = nozzle.display()
            page.read_button.click()
            qtbot.waitUntil(lambda r=row: r in page.from_meter, timeout=10_000)
            page.table.item(row, 3).setText(str(shown))
            page.table.item(row, 6).setText("18.5")
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    shot(wizard, "4_readings_manual")
    wizard.next()
    result = wizard.result
    assert result is not None and result.verdict == "fail"
    runs = [r for pr in result.points for r in pr.runs]
    assert {r.source for r in runs} == {"flowmeter"}
    for (true_ml, _), run in zip(sim.deliveries, runs, strict=True):
        assert abs(run.reading_ml - Decimal(true_ml)) < 5  # the meter saw what flowed


def test_typed_measure_readings(qtbot, make) -> None:
    """Hand-typed can readings: Qmin's third run is 0.11 % off the first (repeatability)."""
    wizard = make(None)
    to_readings(qtbot, wizard, flowmeter=False)
    page = wizard.readings_page
    assert page.table.rowCount() == 9 and not page.isComplete()
    typed = {0: ["20040", "20050", "20056"], 1: ["20040", "20050", "20056"],
             2: ["20020", "20030", "20042"]}  # fmt: skip
    for point, values in typed.items():
        for j, shown in enumerate(values):
            page.set_reading(point, j, [shown, "20000", "", ""])
    assert page.isComplete()
    # 20056 / 20000 → +0.28 % in the live table
    assert page.table.item(2, 7).text() == "+0.28"
    shot(wizard, "4_readings_typed")
    wizard.next()
    result = wizard.result
    assert result is not None and result.verdict == "fail"
    assert [pr.passed for pr in result.points] == [True, True, False]
    assert result.points[2].repeat_percent == Decimal("0.11")
    shot(wizard, "5_result_typed")
    # a typed garbage cell makes the page incomplete again
    wizard.back()
    page.set_reading(0, 0, ["20040", "2o000", "", ""])
    assert not page.isComplete()
    # fuel 5 °C warmer at the dispenser than in the can: the run does not count
    page.set_reading(0, 0, ["20040", "20000", "18.0", "23.0"])
    assert not page.isComplete() and "ΔT" in page.table.item(0, 7).text()
    page.set_reading(0, 0, ["20040", "20000", "18.0", "21.0"])
    assert page.isComplete()


def test_sign_refuses_a_wrong_passphrase(qtbot, make) -> None:
    wizard = make(None)
    to_readings(qtbot, wizard, flowmeter=False)
    for point in range(3):
        for j in range(3):
            wizard.readings_page.set_reading(point, j, ["20000", "20000", "18.0", "18.0"])
    wizard.next()
    result = wizard.result_page
    result.passphrase.setText("short")  # a new key needs ≥ 8 characters
    result.sign_button.click()
    assert result.record is None and not wizard.key_path.exists()
    from app.models.verification_parts import create_inspector_key

    create_inspector_key(wizard.key_path, PASSPHRASE)
    result.passphrase.setText("not-the-passphrase")
    result.sign_button.click()
    assert result.record is None and wizard.outbox.pending() == []
    assert result.status.text() and result.sign_button.isEnabled()
    result.passphrase.setText(PASSPHRASE)
    result.sign_button.click()
    assert result.record is not None and len(wizard.outbox.pending()) == 1


def test_coarse_or_expired_flowmeter_is_refused(qtbot, make) -> None:
    """A 0.2 % meter cannot verify a ±0.30 % dispenser (1/3 rule); an expired one neither."""
    for calibration, words in (
        ("0.2,ZJJL2026-LL-0999,2099-01-01", "0.2"),
        ("0.05,ZJJL2020-LL-0001,2021-01-01", "2021-01-01"),
    ):
        wizard = make(0.0, calibration=calibration)
        wizard.dispenser_page.list.setCurrentRow(0)
        wizard.next()
        wizard.next()
        std = wizard.standard_page
        std.flow_radio.setChecked(True)
        std.connect_button.click()
        qtbot.waitUntil(lambda s=std: bool(s.flowmeter), timeout=10_000)
        assert not std.isComplete() and words in std.problem.text()
        std.port.setText(std.port.text() + "x")  # another port: connect again
        assert std.flowmeter is None and not std.isComplete()


def test_changing_the_plan_mid_run_discards_the_old_runs(qtbot, make) -> None:
    """The inspector starts measuring, goes back and changes Qmax: the running job is
    stopped and joined, and no reading of the old plan lands in the new table."""
    wizard = make(0.1)
    to_readings(qtbot, wizard, flowmeter=True)
    page = wizard.readings_page
    page.measure_button.click()
    qtbot.waitUntil(lambda: len(page.from_meter) >= 1, timeout=10_000)
    wizard.back()
    wizard.back()
    wizard.back()
    assert wizard.currentId() == wizard.DISPENSER
    wizard.dispenser_page.qmax.setValue(45)
    for _ in range(3):
        wizard.next()
    assert wizard.currentId() == wizard.READINGS
    assert not page.runner.running and page.from_meter == set()
    assert page.table.item(0, 1).text() == "45"
    QApplication.processEvents()  # late signals of the old job, if any, arrive here
    assert all(page.table.item(r, 4).text() == "" for r in range(page.table.rowCount()))
    page.measure_button.click()
    qtbot.waitUntil(page.isComplete, timeout=30_000)
    assert wizard.judge().plan.points[0].flow_ml_min == 45_000


def test_readings_survive_a_closed_wizard_until_signed(qtbot, make) -> None:
    """Typed runs are journaled as they are completed: a new wizard on the same nozzle
    and plan gets them back; once the result is signed, the next one starts empty."""
    first = make(None)
    to_readings(qtbot, first, flowmeter=False)
    first.readings_page.set_reading(0, 0, ["20040", "20000", "18.0", "18.5"])
    first.readings_page.set_reading(0, 1, ["20050", "20000", "", ""])
    first.readings_page.set_reading(0, 2, ["20060", "", "", ""])  # incomplete: not kept
    first.shutdown()
    first.close()

    second = make(None)
    to_readings(qtbot, second, flowmeter=False)
    page = second.readings_page
    assert [page.table.item(0, c).text() for c in (3, 4, 5, 6)] == [
        "20040",
        "20000",
        "18.0",
        "18.5",
    ]
    assert page.table.item(1, 3).text() == "20050" and page.table.item(2, 3).text() == ""
    assert "2" in page.status.text()
    for point in range(3):
        for j in range(3):
            if (point, j) not in ((0, 0), (0, 1)):
                page.set_reading(point, j, ["20000", "20000", "", ""])
    second.next()
    record = sign(second)
    assert record.body["points"][0]["runs"][0]["indicated_ml"] == 20_040

    third = make(None)
    to_readings(qtbot, third, flowmeter=False)
    assert third.readings_page.table.item(0, 3).text() == ""
