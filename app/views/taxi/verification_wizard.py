"""Guided verification of an installed taximeter to JJG 517-2016.

Pages: taxi and meter (plate, serial, K constant, roller or road method) → checks before
the error test → readings: the distance runs and the waiting-time run, typed by the
inspector or measured on the serial roller/road standard by a worker on a QThread, with
the live errors → verdict, signature with the inspector's key, Outbox, certificate PDF.

The pages only collect inputs and display; the arithmetic and verdict are
``app.models.taxi.verification`` (Qt-free), the serial I/O is
``app.devices.taxi_standard`` on a worker thread; the worker, the sign-and-issue panel
and the verdict label are the kind-free ``app.views.wizard_parts`` the fuel wizard uses.
A failed result, once uploaded, puts the taxi on the suspension list (GET /taxi/status).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.devices.taxi_standard import SimulatedTaxi, TaxiStandard
from app.models.outbox import Outbox
from app.models.taxi import verification as tv
from app.views.wizard_parts import (
    FAIL_COLOR,
    ChecklistPage,
    Runner,
    SignPanel,
    _bold,
    kind_label,
    parse_decimal,
    show_verdict,
)
from ledger.records import Record

__all__ = ["TaxiVerificationWizard"]

COL_STD, COL_METER, COL_ERR = 1, 2, 3


def tr(text: str) -> str:
    return QCoreApplication.translate("TaxiVerificationWizard", text)


_CHECK_LABELS: dict[str, Callable[[], str]] = {
    "appearance": lambda: tr("Appearance and structure intact, no damage (§6.1)"),
    "nameplate": lambda: tr("Nameplate complete: maker, model, serial, K constant (§6.2)"),
    "display": lambda: tr("Display legible: fare, distance, waiting time, unit price (§6.3)"),
    "sensor": lambda: tr("Distance sensor and its cable sealed and undamaged (§6.4)"),
    "hire_switch": lambda: tr("For-hire / hired switch works (§6.5)"),
    "clock": lambda: tr("Real-time clock correct (§6.6)"),
    "printing": lambda: tr("Receipt prints: plate, time, distance, waiting time, fare"),
    "seals": lambda: tr("Seals intact before the test"),
}


def checklist_label(key: str) -> str:
    label = _CHECK_LABELS.get(key)
    return label() if label else key


class TaxiPage(QWizardPage):
    """1. Which taxi and meter, the method (roller or road) and the kind of verification."""

    def __init__(self, taxis: Sequence[tv.TaxiSpec]) -> None:
        super().__init__()
        self.setTitle(tr("1. Taxi and meter"))
        self.setSubTitle(tr("Pick the taxi or type its plate, meter serial and K constant."))
        self.taxis = list(taxis)
        self.list = QListWidget()
        for t in self.taxis:
            self.list.addItem(f"{t.plate}  {t.meter_serial}  K={t.k_constant}")
        self.list.currentRowChanged.connect(self._picked)
        self.plate, self.serial, self.model = QLineEdit(), QLineEdit(), QLineEdit()
        self.k_constant = QSpinBox()
        self.k_constant.setRange(0, 100_000)
        self.k_constant.setSuffix(tr(" pulses/km"))
        self.roller = QRadioButton(tr("Roller bench (滚轮测距法)"))
        self.road = QRadioButton(tr("Road course (行车测距法)"))
        self.roller.setChecked(True)
        self.methods = QButtonGroup(self)
        self.methods.addButton(self.roller)
        self.methods.addButton(self.road)
        self.kind = QComboBox()
        for kind in tv.KINDS:
            self.kind.addItem(kind_label(kind), kind)
        self.kind.setCurrentIndex(1)
        form = QFormLayout()
        form.addRow(tr("Plate"), self.plate)
        form.addRow(tr("Meter serial"), self.serial)
        form.addRow(tr("Model"), self.model)
        form.addRow(tr("K constant"), self.k_constant)
        form.addRow(tr("Method"), self.roller)
        form.addRow("", self.road)
        form.addRow(tr("Verification"), self.kind)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(form, 2)
        for edit in (self.plate, self.serial):
            edit.textChanged.connect(self.completeChanged)
        self.k_constant.valueChanged.connect(self.completeChanged)

    def _picked(self, row: int) -> None:
        if 0 <= row < len(self.taxis):
            t = self.taxis[row]
            self.plate.setText(t.plate)
            self.serial.setText(t.meter_serial)
            self.model.setText(t.model)
            self.k_constant.setValue(t.k_constant)

    def spec(self) -> tv.TaxiSpec | None:
        try:
            return tv.TaxiSpec(
                self.plate.text().strip(),
                self.serial.text().strip(),
                self.k_constant.value(),
                model=self.model.text().strip(),
            )
        except tv.VerificationError:
            return None

    def plan(self) -> tv.TaxiPlan:
        spec = self.spec()
        if spec is None:
            raise tv.VerificationError("no taxi chosen")
        method = "road" if self.road.isChecked() else "roller"
        return tv.plan_verification(spec, method=method, kind=str(self.kind.currentData()))

    def isComplete(self) -> bool:
        return self.spec() is not None


def checklist_page() -> ChecklistPage:
    """2. Checks before the error test (JJG 517-2016 §6)."""
    return ChecklistPage(
        tv.CHECKLIST,
        checklist_label,
        title=tr("2. Checks before the error test"),
        subtitle=tr("Tick every item that conforms; an unticked item fails the meter."),
    )


class ReadingsPage(QWizardPage):
    """3. Distance runs and the waiting-time run: typed, or measured on the standard."""

    def __init__(self, standard_path: str) -> None:
        super().__init__()
        self.setTitle(tr("3. Readings"))
        self.setSubTitle(
            tr("Type the standard's and the meter's readings, or measure on the standard.")
        )
        self.port = QLineEdit(standard_path)
        self.port.setPlaceholderText(tr("Serial port of the standard, e.g. /dev/ttyUSB0"))
        self.measure_button = QPushButton(tr("Measure on the standard"))
        self.measure_button.clicked.connect(self.measure)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.clicked.connect(lambda: self.runner.stop())
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [tr("Run"), tr("Standard"), tr("Meter"), tr("Error %")]
        )
        self.table.itemChanged.connect(self._changed)
        self.note = QLabel(wordWrap=True)
        self.standard_info: dict[str, str] | None = None
        self.runner = Runner()
        self.plan: tv.TaxiPlan | None = None
        self._filling = False
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Standard port")))
        row.addWidget(self.port, 1)
        row.addWidget(self.measure_button)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    def _wiz(self) -> TaxiVerificationWizard:
        wizard = self.wizard()
        assert isinstance(wizard, TaxiVerificationWizard)
        return wizard

    def initializePage(self) -> None:
        plan = self._wiz().taxi_page.plan()
        if plan != self.plan:
            self.plan = plan
            self._filling = True
            self.table.setRowCount(plan.distance_runs + 1)
            for i in range(plan.distance_runs):
                label = tr("Distance %1 (m)").replace("%1", str(i + 1))
                self._row(i, label)
            self._row(plan.distance_runs, tr("Waiting time (s)"))
            self._filling = False
            self.standard_info = None
        self._refresh()

    def _row(self, row: int, label: str) -> None:
        head = QTableWidgetItem(label)
        head.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.table.setItem(row, 0, head)
        for col in (COL_STD, COL_METER):
            self.table.setItem(row, col, QTableWidgetItem(""))
        err = QTableWidgetItem("")
        err.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self.table.setItem(row, COL_ERR, err)

    def set_row(self, row: int, standard: Decimal | str, meter: Decimal | str) -> None:
        """Put one row's readings (as the inspector would type them)."""
        self.table.item(row, COL_STD).setText(str(standard))
        self.table.item(row, COL_METER).setText(str(meter))

    def _value(self, row: int, col: int) -> Decimal | None:
        item = self.table.item(row, col)
        return parse_decimal(item.text()) if item is not None else None

    def distance_readings(self) -> list[tv.DistanceReading]:
        assert self.plan is not None
        runs = []
        for i in range(self.plan.distance_runs):
            std, meter = self._value(i, COL_STD), self._value(i, COL_METER)
            if std is not None and meter is not None and std > 0 and meter >= 0:
                source = "standard" if self.standard_info else "typed"
                runs.append(tv.DistanceReading(i, std, meter, source=source))
        return runs

    def time_reading(self) -> tv.TimeReading | None:
        assert self.plan is not None
        row = self.plan.distance_runs
        std, meter = self._value(row, COL_STD), self._value(row, COL_METER)
        if std is None or meter is None or std <= 0 or meter < 0:
            return None
        return tv.TimeReading(std, meter, source="standard" if self.standard_info else "typed")

    def _changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() in (COL_STD, COL_METER):
            self._refresh()

    def _refresh(self) -> None:
        if self.plan is None:
            return
        self._filling = True
        low, high = tv.DISTANCE_MPE_PERCENT
        k = self.plan.taxi.k_constant
        done = {r.run_index: r for r in self.distance_readings()}
        for i in range(self.plan.distance_runs):
            item = self.table.item(i, COL_ERR)
            if i in done:
                e = tv.round_to_step(done[i].error_percent(k), tv.DISTANCE_ROUNDING_PERCENT)
                item.setText(f"{e:+.1f}")
                item.setForeground(FAIL_COLOR if not low <= e <= high else Qt.GlobalColor.black)
            else:
                item.setText("")
        t = self.time_reading()
        item = self.table.item(self.plan.distance_runs, COL_ERR)
        if t is not None:
            e = tv.round_to_step(t.error_percent(), tv.TIME_ROUNDING_PERCENT)
            item.setText(f"{e:+.2f}")
            bad = abs(e) > tv.TIME_MPE_PERCENT
            item.setForeground(FAIL_COLOR if bad else Qt.GlobalColor.black)
        else:
            item.setText("")
        self._filling = False
        self.completeChanged.emit()

    def measure(self) -> None:
        """All runs on the serial standard, on a worker thread (the simulator's taxi
        drives itself; on site the inspector drives while the worker reads)."""
        plan, path, timing = self.plan, self.port.text().strip(), self._wiz().run_timing
        if plan is None or not path:
            self.note.setText(tr("Enter the standard's serial port first."))
            return

        def work(progress: Callable[[object], None], should_stop: Callable[[], bool]) -> object:
            standard = TaxiStandard.from_path(path, timeout=1.0)
            try:
                identity = standard.connect()
                cal = standard.calibration()
                taxi = SimulatedTaxi(standard)
                for i in range(plan.distance_runs):
                    run = tv.measure_distance_run(
                        standard, taxi, plan, i, timing=timing, should_stop=should_stop
                    )
                    progress((i, run.standard_m, run.meter_m))
                t = tv.measure_time_run(
                    standard, taxi, plan, timing=timing, should_stop=should_stop
                )
                progress((plan.distance_runs, t.standard_s, t.meter_s))
                return {"identity": str(identity), **cal.to_json()}
            finally:
                with contextlib.suppress(Exception):
                    standard.close()

        self.measure_button.setEnabled(False)
        self.note.setText(tr("Measuring on the standard…"))
        self.runner.start(work, progress=self._progress, done=self._measured, failed=self._failed)

    def _progress(self, row: object) -> None:
        index, standard, meter = row  # type: ignore[misc]
        self.set_row(index, standard, meter)

    def _measured(self, info: object) -> None:
        self.standard_info = dict(info)  # type: ignore[call-overload]
        self.measure_button.setEnabled(True)
        self.note.setText(tr("Measured on %1.").replace("%1", self.standard_info["identity"]))
        self._refresh()

    def _failed(self, message: str) -> None:
        self.measure_button.setEnabled(True)
        self.note.setText(message)

    def isComplete(self) -> bool:
        return (
            self.plan is not None
            and not self.runner.running
            and len(self.distance_readings()) == self.plan.distance_runs
            and self.time_reading() is not None
        )


class ResultPage(QWizardPage):
    """4. Verdict, signature and certificate or notice."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(tr("4. Verdict"))
        self.setSubTitle(tr("Check the figures; sign, then save the certificate or notice."))
        self.verdict = _bold(QLabel(), 20)
        self.reasons = QLabel(wordWrap=True)
        self.facts = QLabel(wordWrap=True)
        self.panel = SignPanel()
        self.panel.sign_button.clicked.connect(self.sign)
        self.panel.certificate_button.clicked.connect(self.save_certificate)
        grid = QGridLayout(self)
        grid.addWidget(self.verdict, 0, 0)
        grid.addWidget(self.reasons, 1, 0)
        grid.addWidget(self.facts, 2, 0)
        grid.addWidget(self.panel, 0, 1, 3, 1)
        grid.setRowStretch(3, 1)
        self.result: tv.TaxiResult | None = None
        self.record: Record | None = None
        self.certificate_path: Path | None = None

    def _wiz(self) -> TaxiVerificationWizard:
        wizard = self.wizard()
        assert isinstance(wizard, TaxiVerificationWizard)
        return wizard

    def initializePage(self) -> None:
        wizard = self._wiz()
        self.panel.fill_inspector(wizard.inspector_id, wizard.inspector_name)
        result = wizard.judge()
        if self.result is None or (result.distance, result.time) != (
            self.result.distance,
            self.result.time,
        ):
            self.record = None
            self.certificate_path = None
            self.panel.status.setText("")
        self.result = result
        show_verdict(self.verdict, result.passed)
        self.reasons.setText("\n".join(self._reason_text(r) for r in result.reasons))
        taxi = result.plan.taxi
        due = result.valid_until()
        self.facts.setText(
            "\n".join(
                (
                    f"{taxi.plate} · {taxi.meter_serial} · K={taxi.k_constant}",
                    f"{kind_label(result.plan.kind)} · {tv.REGULATION}",
                    tr("Distance error %1 %, waiting-time error %2 %")
                    .replace("%1", f"{result.distance_error:+.1f}")
                    .replace("%2", f"{result.time_error:+.2f}"),
                    tr("Certificate valid until %1").replace(
                        "%1", due.isoformat() if due else tr("— (failed)")
                    ),
                )
            )
        )
        self.panel.update_key_note(wizard.key_path, signed=self.record is not None)

    @staticmethod
    def _reason_text(reason: str) -> str:
        """The model's reasons are English; their first words decide the translation."""
        if reason.startswith("check failed: "):
            return tr("Check failed: %1").replace(
                "%1", checklist_label(reason.removeprefix("check failed: "))
            )
        if reason.startswith("waiting time"):
            return tr("Waiting time: error %1 beyond the limit").replace("%1", reason.split()[3])
        run = reason.split(":")[0].split()[-1]
        figure = reason.split()[4]
        return (
            tr("Distance run %1: error %2 outside −4 % … +1 %")
            .replace("%1", run)
            .replace("%2", figure)
        )

    def sign(self) -> None:
        wizard = self._wiz()
        if self.result is None:
            return
        result = self.result
        done = self.panel.sign(
            wizard.key_path,
            wizard.outbox,
            lambda key, inspector: tv.sign_result(result, key, inspector_id=inspector),
        )
        self.record = done[0] if done else None

    def save_certificate(self) -> Path | None:
        """The certificate (pass) or notice (fail); a draft until the result is signed."""
        from app.reports.taxi_certificate import TaxiCertificateInfo, write_taxi_certificate

        if self.result is None:
            return None
        signed = self.panel.signed_fields(self.record)
        number = signed.pop("certificate_no", "") or tv.certificate_number(self.result)
        target = self._wiz().certificate_dir / f"{number}.pdf"
        info = TaxiCertificateInfo(
            certificate_no=number,
            inspector_id=self.panel.inspector_id.text().strip(),
            inspector_name=self.panel.inspector_name.text().strip(),
            **signed,
        )
        try:
            self.certificate_path = write_taxi_certificate(self.result, target, info)
        except OSError as exc:
            self.panel.status.setText(str(exc))
            return None
        self.panel.status.setText(tr("Certificate saved to %1").replace("%1", str(target)))
        return self.certificate_path


class TaxiVerificationWizard(QWizard):
    """Guided JJG 517-2016 verification of one installed taximeter."""

    TAXI, CHECKS, READINGS, RESULT = range(4)

    def __init__(
        self,
        taxis: Sequence[tv.TaxiSpec] = (),
        *,
        work_dir: Path,
        standard_path: str = "",
        outbox: Outbox | None = None,
        key_path: Path | None = None,
        certificate_dir: Path | None = None,
        inspector_id: str = "",
        inspector_name: str = "",
        run_timing: tv.RunTiming | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Taximeter verification"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.outbox = outbox or Outbox(work_dir / "outbox")
        self.key_path = key_path or work_dir / "inspector.pem"
        self.certificate_dir = certificate_dir or work_dir / "certificates"
        self.inspector_id = inspector_id
        self.inspector_name = inspector_name
        self.run_timing = run_timing or tv.RunTiming()
        self.taxi_page = TaxiPage(taxis)
        self.checklist_page = checklist_page()
        self.readings_page = ReadingsPage(standard_path)
        self.result_page = ResultPage()
        for page_id, page in enumerate(
            (self.taxi_page, self.checklist_page, self.readings_page, self.result_page)
        ):
            self.setPage(page_id, page)

    def judge(self) -> tv.TaxiResult:
        page = self.readings_page
        assert page.plan is not None
        time_reading = page.time_reading()
        if time_reading is None:
            raise tv.VerificationError("the waiting-time run is missing")
        return tv.judge(
            page.plan,
            self.checklist_page.answers(),
            page.distance_readings(),
            time_reading,
            seal_closed=bool(self.checklist_page.seal_no.text().strip()),
            standard=page.standard_info,
        )

    @property
    def result(self) -> tv.TaxiResult | None:
        return self.result_page.result

    def shutdown(self) -> None:
        """Stop and join the worker thread; call before discarding the wizard."""
        self.readings_page.runner.join()

    def done(self, code: int) -> None:
        self.shutdown()
        super().done(code)
