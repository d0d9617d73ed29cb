"""Guided verification of a fuel dispenser nozzle to JJG 443-2023.

Pages: dispenser and nozzle → checks before the error test → the standard (a 20 L
metal measure read by the inspector, or a standard flowmeter on a serial port) →
readings (typed, or measured over serial by a worker on a QThread) with a live table
of errors → verdict, signature with the inspector's key, outbox, certificate PDF.

The pages only collect inputs and display; the arithmetic and verdict are
``app.models.fuel.verification`` (Qt-free), the serial I/O is
``app.devices.flowmeter`` on a worker thread. Signed results go to the same
:class:`~app.models.outbox.Outbox` as pile verifications; the inspector's key is the
same encrypted key file. The worker, the checklist page, the verdict label and the
sign-and-issue panel are the kind-free ``app.views.wizard_parts`` the taxi wizard shares.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
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

from app.devices.flowmeter import BatchState, Flowmeter, SimulatedNozzle
from app.models.fuel import verification as fv
from app.models.outbox import Outbox
from app.models.verification_parts import Journal
from app.views.wizard_parts import (
    FAIL_COLOR,
    PASS_COLOR,
    Runner,
    SignPanel,
    _bold,
    kind_label,
    parse_decimal,
    show_verdict,
)
from app.views.wizard_parts import ChecklistPage as SharedChecklistPage
from ledger.fuel.records import PRODUCTS
from ledger.records import Record

__all__ = ["FuelVerificationWizard"]

# Columns of the readings table.
COL_POINT, COL_FLOW, COL_RUN, COL_SHOWN, COL_STD, COL_TSTD, COL_TDISP, COL_ERR = range(8)
EDITABLE = (COL_SHOWN, COL_STD, COL_TSTD, COL_TDISP)


def tr(text: str) -> str:
    return QCoreApplication.translate("FuelVerificationWizard", text)


#: Labels of the checks, translated when asked for (the stored keys stay language-neutral).
_CHECK_LABELS: dict[str, Callable[[], str]] = {
    "nameplate": lambda: tr("Nameplate and markings complete (maker, model, serial, Qmax/Qmin)"),
    "display": lambda: tr("Volume, amount and unit price displays legible and complete"),
    "price_display": lambda: tr("Unit price shown equals the station's posted price"),
    "seals": lambda: tr("Seals intact at all three positions (transducer, encoder, board)"),
    "software_id": lambda: tr("Software identifier shown and matches the type approval"),
    "hose_nozzle": lambda: tr("Hose and nozzle without leaks; nozzle shuts off"),
}


def checklist_label(key: str) -> str:
    label = _CHECK_LABELS.get(key)
    return label() if label else key


def _percent(value: Decimal) -> str:
    return f"{value:+.2f}"


def _temp_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.1f}"


_decimal = parse_decimal


_Runner = Runner  # the shared QThread worker (app/views/wizard_parts.py)


# --------------------------------------------------------------------------- pages


class DispenserPage(QWizardPage):
    """1. Which dispenser and nozzle, its flows and the kind of verification."""

    def __init__(self, dispensers: Sequence[fv.DispenserSpec]) -> None:
        super().__init__()
        self.setTitle(tr("1. Dispenser and nozzle"))
        self.setSubTitle(tr("Choose the dispenser from the list or type its ID."))
        self.dispensers = {(d.dispenser_id, d.nozzle): d for d in dispensers}
        self.list = QListWidget()
        for d in dispensers:
            text = f"{d.dispenser_id}  #{d.nozzle}  {d.product}#  {d.station}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, (d.dispenser_id, d.nozzle))
            self.list.addItem(item)
        self.list.currentItemChanged.connect(self._picked)
        self.dispenser_id = QLineEdit()
        self.dispenser_id.textChanged.connect(self.completeChanged)
        self.nozzle = QSpinBox()
        self.nozzle.setRange(1, 16)
        self.product = QComboBox()
        for code in sorted(PRODUCTS):
            self.product.addItem(code, code)
        self.product.setCurrentIndex(self.product.findData("92"))
        self.qmax = QDoubleSpinBox()
        self.qmax.setRange(1, 200)
        self.qmax.setValue(float(fv.DEFAULT_QMAX_L_MIN))
        self.qmin = QDoubleSpinBox()
        self.qmin.setRange(0.5, 100)
        self.qmin.setValue(float(fv.DEFAULT_QMIN_L_MIN))
        for box in (self.qmax, self.qmin):
            box.setSuffix(" L/min")
            box.valueChanged.connect(self.completeChanged)
        self.medium = QCheckBox(tr("Also a medium flow point"))
        self.medium.setChecked(True)
        self.kind = QComboBox()
        for kind in ("periodic", "first", "triggered"):
            self.kind.addItem(kind_label(kind), kind)
        self.volume = QSpinBox()
        self.volume.setRange(1, 200)
        self.volume.setValue(fv.DEFAULT_RUN_VOLUME_ML // 1000)
        self.volume.setSuffix(" L")
        form = QFormLayout()
        form.addRow(tr("Dispenser ID"), self.dispenser_id)
        form.addRow(tr("Nozzle"), self.nozzle)
        form.addRow(tr("Product"), self.product)
        form.addRow(tr("Maximum flow Qmax"), self.qmax)
        form.addRow(tr("Minimum flow Qmin"), self.qmin)
        form.addRow("", self.medium)
        form.addRow(tr("Volume per run"), self.volume)
        form.addRow(tr("Verification"), self.kind)
        layout = QHBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(form, 1)

    def _picked(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        d = self.dispensers[item.data(Qt.ItemDataRole.UserRole)]
        self.dispenser_id.setText(d.dispenser_id)
        self.nozzle.setValue(d.nozzle)
        self.product.setCurrentIndex(self.product.findData(d.product))
        self.qmax.setValue(float(d.qmax_l_min))
        self.qmin.setValue(float(d.qmin_l_min))

    def spec(self) -> fv.DispenserSpec | None:
        key = (self.dispenser_id.text().strip(), self.nozzle.value())
        known = self.dispensers.get(key)
        try:
            base = fv.DispenserSpec(key[0], key[1]) if known is None else known
            return fv.DispenserSpec(
                **{
                    **base.__dict__,
                    "product": str(self.product.currentData()),
                    "qmax_l_min": Decimal(str(self.qmax.value())),
                    "qmin_l_min": Decimal(str(self.qmin.value())),
                }
            )
        except fv.VerificationError:
            return None

    def plan(self) -> fv.FuelPlan:
        spec = self.spec()
        if spec is None:
            raise fv.VerificationError("no dispenser chosen")
        return fv.plan_verification(
            spec,
            kind=str(self.kind.currentData()),
            run_volume_ml=self.volume.value() * 1000,
            medium_point=self.medium.isChecked(),
        )

    def isComplete(self) -> bool:
        return self.spec() is not None


class ChecklistPage(SharedChecklistPage):
    """2. Checks before the error test: tick what conforms; the ambient temperature."""

    def __init__(self) -> None:
        ambient = QDoubleSpinBox()
        ambient.setRange(-40, 60)
        ambient.setDecimals(1)
        ambient.setValue(20.0)
        ambient.setSuffix(" °C")
        super().__init__(
            fv.CHECKLIST,
            checklist_label,
            title=tr("2. Checks before the error test"),
            subtitle=tr("Tick every item that conforms; an unticked item fails the nozzle."),
            extra=[(tr("Ambient temperature"), ambient)],
        )
        self.ambient = ambient

    def conditions(self) -> dict[str, Any]:
        return {
            "ambient_temp_dc": round(self.ambient.value() * 10),
            "seal_no": self.seal_no.text().strip(),
        }


class StandardPage(QWizardPage):
    """3. The standard: a metal measure read by the inspector, or a serial flowmeter."""

    def __init__(self, flowmeter_path: str, simulated_dispenser: bool) -> None:
        super().__init__()
        self.setTitle(tr("3. Standard"))
        self.setSubTitle(tr("Choose the standard and check that its certificate is valid."))
        self.simulated_dispenser = simulated_dispenser
        self.measure_radio = QRadioButton(tr("Standard metal measure (readings typed)"))
        self.flow_radio = QRadioButton(tr("Standard flowmeter on a serial port"))
        group = QButtonGroup(self)
        group.addButton(self.measure_radio)
        group.addButton(self.flow_radio)
        self.measure_radio.setChecked(True)
        self.measure_radio.toggled.connect(self._mode_changed)
        self.measure_serial = QLineEdit()
        self.measure_cert = QLineEdit()
        self.measure_expiry = QLineEdit()
        self.measure_expiry.setPlaceholderText("YYYY-MM-DD")
        for edit in (self.measure_serial, self.measure_cert, self.measure_expiry):
            edit.textChanged.connect(self.completeChanged)
        measure_box = QGroupBox(tr("Metal measure"))
        mform = QFormLayout(measure_box)
        mform.addRow(tr("Serial number"), self.measure_serial)
        mform.addRow(tr("Certificate number"), self.measure_cert)
        mform.addRow(tr("Certificate valid until"), self.measure_expiry)
        self.port = QLineEdit(flowmeter_path)
        self.port.textChanged.connect(self._port_changed)
        self.connect_button = QPushButton(tr("Connect"))
        self.connect_button.clicked.connect(self.connect_flowmeter)
        self.flow_status = QLabel()
        self.flow_status.setWordWrap(True)
        flow_box = QGroupBox(tr("Flowmeter"))
        fform = QFormLayout(flow_box)
        row = QHBoxLayout()
        row.addWidget(self.port, 1)
        row.addWidget(self.connect_button)
        fform.addRow(tr("Serial port"), row)
        fform.addRow(tr("Status"), self.flow_status)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.measure_radio)
        layout.addWidget(measure_box)
        layout.addWidget(self.flow_radio)
        layout.addWidget(flow_box)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        self.runner = _Runner()
        self.flowmeter: dict[str, str] | None = None

    @property
    def uses_flowmeter(self) -> bool:
        return self.flow_radio.isChecked()

    def _mode_changed(self) -> None:
        self.completeChanged.emit()

    def _port_changed(self) -> None:
        """Another port is another instrument: connect again before using it."""
        self.flowmeter = None
        self.flow_status.clear()
        self.completeChanged.emit()

    def connect_flowmeter(self) -> None:
        path = self.port.text().strip()
        self.flowmeter = None
        self.flow_status.setText(tr("Connecting…"))
        self.connect_button.setEnabled(False)

        def work(progress: Callable[[object], None], should_stop: Callable[[], bool]) -> object:
            with contextlib.closing(Flowmeter.from_path(path)) as meter:
                identity = meter.connect()
                cal = meter.calibration()
                return {"type": "flowmeter", "identity": str(identity), **cal.to_json()}

        self.runner.start(work, done=self._connected, failed=self._not_connected)

    def _connected(self, info: object) -> None:
        assert isinstance(info, dict)
        self.connect_button.setEnabled(True)
        self.flowmeter = info
        self.flow_status.setText(
            tr("%1 — accuracy %2 %, certificate %3, valid until %4")
            .replace("%1", info["identity"])
            .replace("%2", info["accuracy"])
            .replace("%3", info["certificate_no"])
            .replace("%4", info["expiry"])
        )
        self.completeChanged.emit()

    def _not_connected(self, message: str) -> None:
        self.connect_button.setEnabled(True)
        self.flow_status.setText(message)
        self.completeChanged.emit()

    def standard(self) -> dict[str, str] | None:
        if self.uses_flowmeter:
            return self.flowmeter
        return {
            "type": "measure",
            "serial": self.measure_serial.text().strip(),
            "certificate_no": self.measure_cert.text().strip(),
            "expiry": self.measure_expiry.text().strip(),
        }

    def refusal(self) -> str | None:
        """Why the standard cannot be used today (None: it can)."""
        std = self.standard()
        if std is None:
            return tr("Connect the flowmeter first.")
        if not std["certificate_no"]:
            return tr("Enter the standard's certificate number.")
        try:
            expiry = dt.date.fromisoformat(std["expiry"])
        except ValueError:
            return tr("Enter the certificate's expiry as YYYY-MM-DD.")
        if expiry < dt.date.today():
            return tr("The standard's certificate expired on %1: it cannot be used.").replace(
                "%1", std["expiry"]
            )
        accuracy = _decimal(std.get("accuracy", "0"))
        if accuracy is None or accuracy > fv.STANDARD_MAX_ERROR_PERCENT:
            return (
                tr("The flowmeter's accuracy %1 % is coarser than %2 % (a third of the MPE).")
                .replace("%1", std.get("accuracy", "?"))
                .replace("%2", str(fv.STANDARD_MAX_ERROR_PERCENT))
            )
        return None

    def isComplete(self) -> bool:
        refusal = self.refusal()
        self.problem.setText(refusal or "")
        return refusal is None


class ReadingsPage(QWizardPage):
    """4. Readings per flow point and run, with the live table of errors.

    Three ways to fill the table, by the standard chosen on page 3: typed (metal
    measure: every value typed), automatic (the simulator's flowmeter and dispenser:
    the worker runs every run), manual flowmeter (a real meter: the worker starts and
    reads each batch, the inspector delivers the preset and types the display). The
    table is the single source of truth; cells filled from the meter are read-only.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(tr("4. Readings"))
        self.table = QTableWidget(0, 8)
        self.table.setHorizontalHeaderLabels(
            [
                tr("Point"),
                tr("Flow (L/min)"),
                tr("Run"),
                tr("Dispenser shows (mL)"),
                tr("Standard reads (mL)"),
                tr("Standard °C"),
                tr("Dispenser °C"),
                tr("Error (%)"),
            ]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.cellChanged.connect(self._cell_changed)
        self.summary = QTableWidget(0, 4)
        self.summary.setHorizontalHeaderLabels(
            [tr("Point"), tr("Largest error (%)"), tr("Repeatability (%)"), tr("Result")]
        )
        self.summary.verticalHeader().setVisible(False)
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary.setMaximumHeight(140)
        self.limits = QLabel(
            tr("Limits: every run within ±%1 %, repeatability (max − min) ≤ %2 %.")
            .replace("%1", str(fv.MPE_PERCENT))
            .replace("%2", str(fv.REPEATABILITY_MAX_PERCENT))
        )
        self.measure_button = QPushButton(tr("Measure all runs with the flowmeter"))
        self.measure_button.clicked.connect(self.measure)
        self.start_button = QPushButton(tr("Start batch"))
        self.start_button.clicked.connect(self.start_batch)
        self.read_button = QPushButton(tr("Stop and read"))
        self.read_button.clicked.connect(self.stop_and_read)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.clicked.connect(lambda: self.runner.stop())
        self.progress = QProgressBar()
        self.status = QLabel(wordWrap=True)
        buttons = QHBoxLayout()
        for button in (self.measure_button, self.start_button, self.read_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.limits)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.status)
        self.runner = _Runner()
        self.plan: fv.FuelPlan | None = None
        self.mode = "typed"
        self.from_meter: set[int] = set()
        """rows whose standard reading came from the flowmeter"""
        self.batch_row: int | None = None
        """the row whose batch is running on the flowmeter (manual mode)"""
        self._filling = False
        self.journal: Journal | None = None
        self._journaled: dict[int, list[str]] = {}

    def _wiz(self) -> FuelVerificationWizard:
        wizard = self.wizard()
        assert isinstance(wizard, FuelVerificationWizard)
        return wizard

    def initializePage(self) -> None:
        wizard = self._wiz()
        plan = wizard.dispenser_page.plan()
        std = wizard.standard_page
        mode = "typed"
        if std.uses_flowmeter:
            mode = "auto" if std.simulated_dispenser else "manual"
        self.setSubTitle(
            {
                "typed": tr(
                    "Type the dispenser's display, the measure's reading and both temperatures."
                ),
                "auto": tr("Measure each run with the flowmeter."),
                "manual": tr(
                    "Per run: Start batch, deliver the preset, Stop and read, then type the "
                    "dispenser's display and temperature."
                ),
            }[mode]
        )
        self.measure_button.setVisible(mode == "auto")
        self.stop_button.setVisible(mode == "auto")
        self.progress.setVisible(mode != "typed")
        self.start_button.setVisible(mode == "manual")
        self.read_button.setVisible(mode == "manual")
        if self.plan != plan or self.mode != mode:
            self.runner.join()  # readings of the old plan must not land in the new table
            self.plan, self.mode = plan, mode
            self.from_meter.clear()
            self.batch_row = None
            self._fill_rows()
            self._resume(wizard.journal_path(plan, mode))
        self._buttons()
        self._refresh()

    def _fill_rows(self) -> None:
        """One row per run; which value cells the inspector may type depends on the mode."""
        assert self.plan is not None
        typed = {"typed": EDITABLE, "auto": (), "manual": (COL_SHOWN, COL_TDISP)}[self.mode]
        self._filling = True
        self.table.setRowCount(0)
        for point in self.plan.points:
            for j in range(self.plan.runs_per_point):
                row = self.table.rowCount()
                self.table.insertRow(row)
                texts = {
                    COL_POINT: point.label,
                    COL_FLOW: f"{Decimal(point.flow_ml_min) / 1000:g}",
                    COL_RUN: str(j + 1),
                }
                for col in range(self.table.columnCount()):
                    item = QTableWidgetItem(texts.get(col, ""))
                    if col not in typed:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    self.table.setItem(row, col, item)
        self.progress.setRange(0, self.table.rowCount())
        self.progress.setValue(0)
        self._filling = False

    def _resume(self, path: Path) -> None:
        """Readings already taken under this plan today come back from the journal (each
        was fsync'ed as it was completed), so a crash or a closed window loses nothing;
        a journal whose result was signed is not resumed."""
        self.journal = Journal(path)
        rows: dict[int, dict[str, Any]] = {}
        for event in self.journal.load():
            if event.get("e") == "signed":
                rows.clear()
            elif event.get("e") == "row" and 0 <= event["row"] < self.table.rowCount():
                rows[event["row"]] = event
        self._journaled = {row: list(ev["cells"]) for row, ev in rows.items()}
        for row, event in rows.items():
            self._put(row, dict(zip(EDITABLE, event["cells"], strict=True)))
            if event.get("meter"):
                self.from_meter.add(row)
        if rows:
            self.status.setText(
                tr("%1 run(s) taken earlier restored from the journal.").replace(
                    "%1", str(len(rows))
                )
            )

    def _journal_rows(self) -> None:
        """Append every completed row that changed since it was last journaled."""
        if self.journal is None:
            return
        for row in range(self.table.rowCount()):
            if self._parse(row) is None:
                continue
            cells = [self.table.item(row, c).text().strip() for c in EDITABLE]
            if self._journaled.get(row) != cells:
                self.journal.append(
                    {"e": "row", "row": row, "cells": cells, "meter": row in self.from_meter}
                )
                self._journaled[row] = cells

    def signed(self, verification_id: str) -> None:
        """The result is signed: this journal is closed for resuming."""
        if self.journal is not None:
            self.journal.append({"e": "signed", "verification_id": verification_id})

    def _key(self, row: int) -> tuple[int, int]:
        assert self.plan is not None
        return divmod(row, self.plan.runs_per_point)

    def _put(self, row: int, values: dict[int, str]) -> None:
        """Fill cells without triggering a recomputation per cell."""
        self._filling = True
        for col, text in values.items():
            self.table.item(row, col).setText(text)
        self._filling = False

    def set_reading(self, point_index: int, run_index: int, values: Sequence[str]) -> None:
        """Type one run's four values (as an inspector would, cell by cell)."""
        assert self.plan is not None
        row = point_index * self.plan.runs_per_point + run_index
        for col, text in zip(EDITABLE, values, strict=True):
            self.table.item(row, col).setText(text)

    def _parse(self, row: int) -> fv.RunReading | None:
        """The row as a reading, or None while a value is missing or not a number."""
        assert self.plan is not None
        cells = [self.table.item(row, c).text().strip() for c in EDITABLE]
        values = [_decimal(text) if text else None for text in cells]
        shown, reading, t_std, t_disp = values
        if any(text and value is None for text, value in zip(cells, values, strict=True)):
            return None
        if shown is None or reading is None or reading <= 0 or shown != shown.to_integral():
            return None
        point_index, run_index = self._key(row)
        return fv.RunReading(
            point_index,
            run_index,
            int(shown),
            reading,
            t_std,
            t_disp,
            source="flowmeter" if row in self.from_meter else "measure",
        )

    def readings(self) -> list[fv.RunReading]:
        if self.plan is None:
            return []
        return [r for row in range(self.table.rowCount()) if (r := self._parse(row)) is not None]

    def _cell_changed(self, row: int, col: int) -> None:
        if not self._filling and col in EDITABLE:
            self._refresh()

    def _refresh(self) -> None:
        """Recompute every run's error and each complete point's verdict."""
        if self.plan is None:
            return
        product = self.plan.dispenser.product
        self._journal_rows()
        readings = {(r.point_index, r.run_index): r for r in self.readings()}
        for row in range(self.table.rowCount()):
            r = readings.get(self._key(row))
            e = None if r is None else fv.rounded(r.error_percent(product))
            if r is not None and not r.valid:
                self._put(
                    row,
                    {COL_ERR: tr("ΔT > %1 °C").replace("%1", str(fv.MAX_TEMPERATURE_DIFFERENCE_C))},
                )
                self.table.item(row, COL_ERR).setForeground(FAIL_COLOR)
                self.status.setText(
                    tr("%1 run %2: the fuel temperatures differ too much; repeat the run.")
                    .replace("%1", self.table.item(row, COL_POINT).text())
                    .replace("%2", self.table.item(row, COL_RUN).text())
                )
                continue
            self._put(row, {COL_ERR: "" if e is None else _percent(e)})
            if e is not None:
                ok = abs(e) <= fv.MPE_PERCENT
                self.table.item(row, COL_ERR).setForeground(PASS_COLOR if ok else FAIL_COLOR)
        self.summary.setRowCount(0)
        for point in self.plan.points:
            runs = [readings[k] for k in sorted(readings) if k[0] == point.index]
            if len(runs) < self.plan.runs_per_point or not all(r.valid for r in runs):
                continue
            pr = fv.point_result(point, runs, product)
            row = self.summary.rowCount()
            self.summary.insertRow(row)
            result = QTableWidgetItem(tr("Pass") if pr.passed else tr("Fail"))
            result.setForeground(PASS_COLOR if pr.passed else FAIL_COLOR)
            cells = (point.label, _percent(pr.worst_percent), f"{pr.repeat_percent:.2f}")
            for col, text in enumerate(cells):
                self.summary.setItem(row, col, QTableWidgetItem(text))
            self.summary.setItem(row, 3, result)
        self.progress.setValue(len(self.from_meter))
        self.completeChanged.emit()

    def _buttons(self) -> None:
        busy = self.runner.running
        self.measure_button.setEnabled(not busy)
        self.start_button.setEnabled(not busy and self.batch_row is None)
        self.read_button.setEnabled(not busy and self.batch_row is not None)

    def _run_job(self, fn: Callable, done: Callable[[object], None], **kw: Any) -> None:
        self.runner.start(fn, done=done, failed=self._failed, **kw)
        self._buttons()

    def _port(self) -> str:
        return self._wiz().standard_page.port.text().strip()

    # -- automatic: the simulator's dispenser and flowmeter

    def measure(self) -> None:
        """Run every run not yet measured on the flowmeter, on a worker thread."""
        plan = self.plan
        assert plan is not None
        path, timing = self._port(), self._wiz().run_timing
        todo = [
            (plan.points[p], j)
            for row in range(self.table.rowCount())
            if row not in self.from_meter
            for p, j in [self._key(row)]
        ]

        def work(progress: Callable[[object], None], should_stop: Callable[[], bool]) -> object:
            with contextlib.closing(Flowmeter.from_path(path)) as meter:
                meter.connect()
                nozzle = SimulatedNozzle(meter)
                for point, j in todo:
                    if should_stop():
                        break
                    progress(
                        fv.measure_run_on_flowmeter(
                            meter, nozzle, point, j, timing=timing, should_stop=should_stop
                        )
                    )
            return None

        self.status.setText(tr("Measuring…"))
        self._run_job(work, self._done, progress=self._measured)

    def _measured(self, reading: object) -> None:
        assert isinstance(reading, fv.RunReading) and self.plan is not None
        row = reading.point_index * self.plan.runs_per_point + reading.run_index
        if not self.runner.running or row >= self.table.rowCount():
            return  # a late reading of a run the inspector abandoned (page left, plan changed)
        self.from_meter.add(row)
        self._put(
            row,
            {
                COL_SHOWN: str(reading.indicated_ml),
                COL_STD: f"{reading.reading_ml:.1f}",
                COL_TSTD: _temp_text(reading.standard_temp_c),
                COL_TDISP: _temp_text(reading.dispenser_temp_c),
            },
        )
        self._refresh()

    def _done(self, _: object) -> None:
        self.status.setText(
            tr("%1 of %2 runs measured.")
            .replace("%1", str(len(self.from_meter)))
            .replace("%2", str(self.table.rowCount()))
        )
        self._buttons()
        self.completeChanged.emit()

    def _failed(self, message: str) -> None:
        self.status.setText(message)
        self._buttons()
        self.completeChanged.emit()

    # -- manual: a real flowmeter; the inspector delivers and reads the dispenser

    def _target_row(self) -> int | None:
        """The selected run if it has no meter reading yet, else the first that has none."""
        selected = self.table.currentRow()
        if selected >= 0 and selected not in self.from_meter:
            return selected
        rest = [r for r in range(self.table.rowCount()) if r not in self.from_meter]
        return rest[0] if rest else None

    def start_batch(self) -> None:
        row = self._target_row()
        if row is None:
            return
        path = self._port()

        def work(progress: Callable[[object], None], should_stop: Callable[[], bool]) -> object:
            with contextlib.closing(Flowmeter.from_path(path)) as meter:
                meter.connect()
                meter.start_batch()
            return row

        self._run_job(work, self._batch_started)

    def _batch_started(self, row: object) -> None:
        assert isinstance(row, int)
        self.batch_row = row
        self.table.selectRow(row)
        label = self.table.item(row, COL_POINT).text()
        run = self.table.item(row, COL_RUN).text()
        self.status.setText(
            tr("Batch started for %1 run %2: deliver the preset, then Stop and read.")
            .replace("%1", label)
            .replace("%2", run)
        )
        self._buttons()
        self.completeChanged.emit()

    def stop_and_read(self) -> None:
        if self.batch_row is None:
            return
        path = self._port()

        def work(progress: Callable[[object], None], should_stop: Callable[[], bool]) -> object:
            with contextlib.closing(Flowmeter.from_path(path)) as meter:
                meter.connect()
                meter.stop_batch()
                return meter.batch()

        self._run_job(work, self._batch_read)

    def _batch_read(self, state: object) -> None:
        assert isinstance(state, BatchState) and self.batch_row is not None
        row, self.batch_row = self.batch_row, None
        self.from_meter.add(row)
        self._put(
            row, {COL_STD: f"{state.volume_ml:.1f}", COL_TSTD: _temp_text(state.temperature_c)}
        )
        self.status.setText(tr("Type the dispenser's display and temperature for this run."))
        self._buttons()
        self._refresh()

    def isComplete(self) -> bool:
        return (
            self.plan is not None
            and not self.runner.running
            and self.batch_row is None
            and len(readings := self.readings()) == self.table.rowCount() > 0
            and all(r.valid for r in readings)
        )


class ResultPage(QWizardPage):
    """5. Verdict, signature and certificate."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(tr("5. Verdict"))
        self.setSubTitle(tr("Check the figures; sign, then save the certificate or notice."))
        self.verdict = _bold(QLabel(), 20)
        self.reasons = QLabel(wordWrap=True)
        self.facts = QFormLayout()
        rows = {
            "dispenser": tr("Dispenser and nozzle"),
            "kind": tr("Verification"),
            "standard": tr("Standard"),
            "checks": tr("Checks before the error test"),
            "valid": tr("Certificate valid until"),
        }
        self.fact_labels = {key: QLabel("—", wordWrap=True) for key in rows}
        for key, text in rows.items():
            self.facts.addRow(text, self.fact_labels[key])
        self.panel = SignPanel()
        sign_box = self.panel
        self.sign_fields = self.panel.sign_fields
        self.inspector_id = self.panel.inspector_id
        self.inspector_name = self.panel.inspector_name
        self.passphrase = self.panel.passphrase
        self.key_note = self.panel.key_note
        self.sign_button = self.panel.sign_button
        self.sign_button.clicked.connect(self.sign)
        self.certificate_button = self.panel.certificate_button
        self.certificate_button.clicked.connect(self.save_certificate)
        self.status = self.panel.status
        grid = QGridLayout(self)
        grid.addWidget(self.verdict, 0, 0)
        grid.addWidget(self.reasons, 1, 0)
        grid.addLayout(self.facts, 2, 0)
        grid.addWidget(sign_box, 0, 1, 3, 1)
        grid.setRowStretch(3, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.result: fv.FuelResult | None = None
        self.record: Record | None = None
        self.certificate_path: Path | None = None

    def _wiz(self) -> FuelVerificationWizard:
        wizard = self.wizard()
        assert isinstance(wizard, FuelVerificationWizard)
        return wizard

    def initializePage(self) -> None:
        wizard = self._wiz()
        self.panel.fill_inspector(wizard.inspector_id, wizard.inspector_name)
        result = wizard.judge()
        if self.result is None or result.points != self.result.points:
            self.record = None
            self.certificate_path = None
            self.status.setText("")
        self.result = result
        self.show_result(result)
        self._update_key_label()

    def show_result(self, result: fv.FuelResult) -> None:
        show_verdict(self.verdict, result.passed)
        self.reasons.setText("\n".join(self._reason_text(r) for r in result.reasons))
        d = result.plan.dispenser
        std = result.standard or {}
        self.fact_labels["dispenser"].setText(f"{d.dispenser_id} #{d.nozzle} ({d.product}#)")
        self.fact_labels["kind"].setText(f"{kind_label(result.plan.kind)} · {fv.REGULATION}")
        self.fact_labels["standard"].setText(
            f"{std.get('identity') or std.get('serial', '—')} · {std.get('certificate_no', '—')}"
        )
        failed = [k for k, ok in result.checklist.items() if not ok]
        self.fact_labels["checks"].setText(
            tr("All conform") if not failed else "; ".join(checklist_label(k) for k in failed)
        )
        due = result.valid_until()
        self.fact_labels["valid"].setText(due.isoformat() if due else tr("— (failed)"))

    @staticmethod
    def _reason_text(reason: str) -> str:
        """The model's reasons are English; the first word decides the translation."""
        if reason.startswith("check failed: "):
            return tr("Check failed: %1").replace(
                "%1", checklist_label(reason.removeprefix("check failed: "))
            )
        label, _, rest = reason.partition(": ")
        if rest.startswith("repeatability"):
            figure = rest.split()[1]
            return (
                tr("%1: repeatability %2 over the limit").replace("%1", label).replace("%2", figure)
            )
        figure = rest.split()[1] if rest.startswith("error") else rest
        return tr("%1: error %2 beyond the limit").replace("%1", label).replace("%2", figure)

    def _update_key_label(self) -> None:
        self.panel.update_key_note(self._wiz().key_path, signed=self.record is not None)

    def sign(self) -> None:
        """Sign the result with the inspector's key and put it in the outbox."""
        wizard = self._wiz()
        if self.result is None:
            return
        result = self.result
        done = self.panel.sign(
            wizard.key_path,
            wizard.outbox,
            lambda key, inspector: fv.sign_result(result, key, inspector_id=inspector),
        )
        self.record = done[0] if done else None
        if self.record is not None:
            wizard.readings_page.signed(str(self.record.body["verification_id"]))

    def save_certificate(self) -> Path | None:
        """The certificate (pass) or notice (fail) PDF in the wizard's certificate folder;
        printed as a draft until the result is signed."""
        from app.reports.fuel_certificate import FuelCertificateInfo, write_fuel_certificate

        if self.result is None:
            return None
        signed = self.panel.signed_fields(self.record)
        number = signed.pop("certificate_no", "") or fv.certificate_number(self.result)
        target = self._wiz().certificate_dir / f"{number}.pdf"
        fields = {name: self.sign_fields[name][1].text().strip() for name in
                  ("inspector_id", "inspector_name")}  # fmt: skip
        try:
            self.certificate_path = write_fuel_certificate(
                self.result, target, FuelCertificateInfo(certificate_no=number, **fields, **signed)
            )
        except OSError as exc:
            self.status.setText(str(exc))
            return None
        self.status.setText(tr("Certificate saved to %1").replace("%1", str(target)))
        return self.certificate_path


# --------------------------------------------------------------------------- wizard


class FuelVerificationWizard(QWizard):
    """Guided JJG 443-2023 verification of one nozzle."""

    DISPENSER, CHECKS, STANDARD, READINGS, RESULT = range(5)

    def __init__(
        self,
        dispensers: Sequence[fv.DispenserSpec] = (),
        *,
        work_dir: Path,
        flowmeter_path: str = "",
        simulated_dispenser: bool = True,
        outbox: Outbox | None = None,
        key_path: Path | None = None,
        certificate_dir: Path | None = None,
        inspector_id: str = "",
        inspector_name: str = "",
        run_timing: fv.RunTiming | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Fuel dispenser verification"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.outbox = outbox or Outbox(work_dir / "outbox")
        self.key_path = key_path or work_dir / "inspector.pem"
        self.certificate_dir = certificate_dir or work_dir / "certificates"
        self.journal_dir = work_dir / "fuel-journals"
        self.inspector_id = inspector_id
        self.inspector_name = inspector_name
        self.run_timing = run_timing or fv.RunTiming()
        self.dispenser_page = DispenserPage(dispensers)
        self.checklist_page = ChecklistPage()
        self.standard_page = StandardPage(flowmeter_path, simulated_dispenser)
        self.readings_page = ReadingsPage()
        self.result_page = ResultPage()
        for page_id, page in enumerate(
            (
                self.dispenser_page,
                self.checklist_page,
                self.standard_page,
                self.readings_page,
                self.result_page,
            )
        ):
            self.setPage(page_id, page)

    def journal_path(self, plan: fv.FuelPlan, mode: str) -> Path:
        """Today's journal of this nozzle under this plan (Beijing date)."""
        d = plan.dispenser
        day = dt.datetime.now(fv.CST).strftime("%Y%m%d")
        name = f"{d.dispenser_id}-{d.nozzle}-{day}-{fv.plan_fingerprint(plan, mode)}.jsonl"
        return self.journal_dir / name

    def judge(self) -> fv.FuelResult:
        plan = self.readings_page.plan
        assert plan is not None
        return fv.judge(
            plan,
            self.checklist_page.answers(),
            self.readings_page.readings(),
            seal_closed=bool(self.checklist_page.seal_no.text().strip()),
            standard=self.standard_page.standard(),
            conditions=self.checklist_page.conditions(),
        )

    @property
    def result(self) -> fv.FuelResult | None:
        return self.result_page.result

    def shutdown(self) -> None:
        """Stop and join worker threads; call before discarding the wizard."""
        self.readings_page.runner.join()
        self.standard_page.runner.join()

    def done(self, code: int) -> None:
        self.shutdown()
        super().done(code)
