"""The guided on-site verification: pick pile → pre-checks → connect → run → result.

A thin QWizard over the Qt-free procedure (``app.models.charging.verification``): the
pages only collect inputs and display what the worker
(``app.verification_worker``) reports.  Serial I/O (discovery, the run) never
happens on the GUI thread; graphs redraw from the worker's ring buffer on a
20 Hz timer, not per sample (pymeasure's plot timer, pyqtgraph's scrolling
plots), with peak downsampling and clip-to-view so a long run stays cheap.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QDate, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
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

from app.devices.discovery import find_rigs
from app.models.charging.verification import (
    CHECKLIST,
    ClockResult,
    PileSpec,
    PointResult,
    Reading,
    ReferenceStandard,
    SiteConditions,
    VerificationConfig,
    VerificationPlan,
    VerificationResult,
    certificate_number,
    plan_verification,
    sign_result,
)
from app.models.outbox import Outbox, UploadReport
from app.models.verification_parts import Journal, create_inspector_key, unlock_inspector_key
from app.reports.certificate import CertificateInfo, CertificateRefused, write_certificate
from app.verification_worker import PromptRequest, SampleRing, VerificationWorker
from app.views.wizard_parts import _bold, kind_label
from ledger.records import Record

__all__ = ["VerificationWizard"]

REFRESH_MS = 50  # 20 Hz graph refresh (≥ 10 Hz required)
PASS_COLOR = QColor("#1b7f3b")
FAIL_COLOR = QColor("#b3261e")


def tr(text: str) -> str:
    return QCoreApplication.translate("VerificationWizard", text)


def checklist_label(key: str) -> str:
    """Display label of a checklist item (the stored key stays language-neutral)."""
    labels = {
        "nameplate": tr("Nameplate and markings complete (model, serial, class, constant)"),
        "housing": tr("Housing, connector and cable undamaged"),
        "display": tr("Display shows energy, amount and time legibly"),
        "seals": tr("Metrological seals intact"),
        "pulse_output": tr("Energy pulse output and test terminals accessible"),
        "communication": tr("Meter communication (RS-485) port works"),
    }
    return labels.get(key, key)


def question_text(key: str) -> str:
    texts = {
        "wiring": tr(
            "Connect the rig to the gun under test: voltage and current leads to its meter, "
            "pulse lead to the meter's pulse output, RS-485 to the meter port. Start energising?"
        ),
        "amount": tr("Enter the amount (yuan) the pile displays for the energy just registered"),
    }
    return texts.get(key, key)


def step_text(step: str, plan: VerificationPlan | None) -> str:
    if step.startswith("point") and plan is not None:
        point = plan.points[int(step[5:])]
        return (
            tr("Working error at %1 (%2 A)")
            .replace("%1", point.label)
            .replace("%2", f"{point.current_a:.1f}")
        )
    texts = {
        "connect": tr("Connecting to the rig"),
        "checklist": tr("Appearance and function checks"),
        "seal": tr("Reading the electronic seal"),
        "insulation": tr("Measuring insulation resistance"),
        "wiring": tr("Waiting for the wiring confirmation"),
        "off": tr("Switching the sources off"),
        "clock": tr("Reading the meter clock"),
        "payment": tr("Payment amount check"),
        "done": tr("Finished"),
    }
    return texts.get(step, step)


def verdict_label(passed: bool | None) -> str:
    if passed is None:
        return "—"
    return tr("Pass") if passed else tr("Fail")


def reason_lines(result: VerificationResult) -> list[str]:
    """Why a run failed, in the UI language (the model's reasons are for logs)."""
    lines = []
    if not result.conditions_met:
        lines.append(tr("Verification conditions not met: no error test, no notice"))
        if result.insulation_passed is False:
            lines.append(tr("Insulation below 5 MΩ: the pile was not energised"))
        if result.site is None or result.site.problems(result.plan.config):
            lines.append(tr("Ambient temperature or humidity outside the conditions"))
        return lines
    failed = [checklist_label(k) for k, ok in result.checklist.items() if not ok]
    if failed:
        lines.append(tr("Appearance and function: %1").replace("%1", "; ".join(failed)))
    for point in result.points:
        if point.passed is None:
            lines.append(tr("%1: not measured").replace("%1", point.point.label))
        elif not point.passed:
            lines.append(
                tr("%1: error %2 % exceeds ±%3 %")
                .replace("%1", point.point.label)
                .replace("%2", f"{point.rounded_error_percent:+.1f}")
                .replace("%3", f"{result.plan.limit_percent:.1f}")
            )
    if result.clock is None:
        lines.append(tr("Meter clock not read"))
    elif result.clock.passed is False:
        lines.append(
            tr("Clock error %1 s exceeds ±%2 s")
            .replace("%1", f"{result.clock.error_s:+.1f}")
            .replace("%2", f"{result.clock.limit_s:g}")
        )
    if result.payment is not None and not result.payment.passed:
        lines.append(
            tr(
                "Optional check (JJG 1149-2018): payment amount error %1 yuan exceeds ±0.01 yuan"
            ).replace("%1", f"{result.payment.error_yuan:+.2f}")
        )
    return lines


# --------------------------------------------------------------------------- page 1


class PilePage(QWizardPage):
    """Pick the pile from the task list, or type/scan its ID (a scanner types + Enter)."""

    def __init__(self, piles: Sequence[PileSpec]) -> None:
        super().__init__()
        self.setTitle(tr("1. Pile"))
        self.setSubTitle(tr("Choose the pile from today's tasks, or type or scan its ID."))
        self.piles = {p.pile_id: p for p in piles}
        self.tasks = QListWidget()
        for pile in piles:
            item = QListWidgetItem(f"{pile.pile_id}    {pile.station}")
            item.setData(Qt.ItemDataRole.UserRole, pile.pile_id)
            self.tasks.addItem(item)
        # Clicked/activated, not currentItemChanged: focus alone must not pick a pile.
        self.tasks.itemClicked.connect(self._task_picked)
        self.tasks.itemActivated.connect(self._task_picked)
        self.pile_id = QLineEdit()
        self.pile_id.setPlaceholderText(tr("Pile ID, e.g. HZ-P000123"))
        self.pile_id.textChanged.connect(self._id_changed)
        self.kind = QComboBox()
        for kind in ("first", "periodic", "triggered"):
            self.kind.addItem(kind_label(kind), kind)
        self.connector = QSpinBox()
        self.connector.setRange(1, 1)
        self.connector.setToolTip(tr("A pile with several guns is verified gun by gun"))
        self.status = QLabel()
        self.details = QFormLayout()
        self.detail_labels: dict[str, QLabel] = {}
        for key, text in (
            ("station", tr("Station")),
            ("operator", tr("Operator")),
            ("meter", tr("Meter")),
            ("type", tr("Type")),
            ("rating", tr("Rating")),
            ("class", tr("Accuracy class")),
            ("constant", tr("Meter constant")),
            ("regulation", tr("Regulation")),
            ("guns", tr("Guns")),
        ):
            label = QLabel("—")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.detail_labels[key] = label
            self.details.addRow(text, label)

        left = QVBoxLayout()
        left.addWidget(_bold(QLabel(tr("Task list"))))
        left.addWidget(self.tasks)
        right = QVBoxLayout()
        form = QFormLayout()
        form.addRow(tr("Pile ID"), self.pile_id)
        form.addRow(tr("Verification"), self.kind)
        form.addRow(tr("Gun"), self.connector)
        right.addLayout(form)
        right.addWidget(self.status)
        box = QGroupBox(tr("Nameplate"))
        box.setLayout(self.details)
        right.addWidget(box)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def _task_picked(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.pile_id.setText(str(item.data(Qt.ItemDataRole.UserRole)))

    def _id_changed(self, text: str) -> None:
        pile = self.pile
        if pile is None:
            self.status.setText(tr("Not in the task list") if text.strip() else "")
            for label in self.detail_labels.values():
                label.setText("—")
        else:
            self.status.setText("")
            for row in range(self.tasks.count()):
                item = self.tasks.item(row)
                if item.data(Qt.ItemDataRole.UserRole) == pile.pile_id:
                    self.tasks.setCurrentItem(item)
            values = {
                "station": pile.station or "—",
                "operator": pile.operator or "—",
                "meter": f"{pile.meter_id}  ({pile.meter_address})",
                "type": f"{pile.kind}  {pile.maker} {pile.model}".strip(),
                "rating": f"{pile.rated_power_w / 1000:g} kW, {pile.rated_voltage_v} V, "
                f"Imax {pile.imax_a:.1f} A, Imin {pile.imin_a:.1f} A"
                + (" " + tr("(Imin not marked: Imax/10)") if pile.imin_derived else ""),
                "class": pile.accuracy_class,
                "constant": f"{pile.meter_constant} imp/kWh",
                "regulation": pile.regulation,
                "guns": str(pile.connectors),
            }
            self.connector.setRange(1, pile.connectors)
            for key, value in values.items():
                self.detail_labels[key].setText(value)
        self.completeChanged.emit()

    @property
    def pile(self) -> PileSpec | None:
        return self.piles.get(self.pile_id.text().strip().upper()) or self.piles.get(
            self.pile_id.text().strip()
        )

    def isComplete(self) -> bool:
        return self.pile is not None


# --------------------------------------------------------------------------- page 2


class PrecheckPage(QWizardPage):
    """Appearance and function checklist, answered here before the rig is connected."""

    def __init__(self, wizard: VerificationWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle(tr("2. Pre-checks"))
        self.setSubTitle(
            tr("Inspect the pile and answer every item. The time plan below is rig time.")
        )
        self.groups: dict[str, QButtonGroup] = {}
        grid = QGridLayout()
        grid.setColumnStretch(0, 1)
        for row, item in enumerate(CHECKLIST):
            grid.addWidget(QLabel(checklist_label(item.key)), row, 0)
            group = QButtonGroup(self)
            yes = QRadioButton(tr("Conforms"))
            no = QRadioButton(tr("Does not conform"))
            group.addButton(yes, 1)
            group.addButton(no, 0)
            group.idToggled.connect(lambda *_: self.completeChanged.emit())
            grid.addWidget(yes, row, 1)
            grid.addWidget(no, row, 2)
            self.groups[item.key] = group
        grid.setRowStretch(len(CHECKLIST), 1)
        checks = QGroupBox(tr("Appearance and function"))
        checks.setLayout(grid)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(-40.0, 70.0)
        self.temperature.setDecimals(1)
        self.temperature.setSuffix(" °C")
        self.temperature.setValue(20.0)
        self.humidity = QDoubleSpinBox()
        self.humidity.setRange(0.0, 100.0)
        self.humidity.setDecimals(0)
        self.humidity.setSuffix(" %")
        self.humidity.setValue(50.0)
        self.seal_no = QLineEdit()
        self.seal_no.setPlaceholderText(tr("Number of the seal applied after verification"))
        site_box = QGroupBox(tr("Verification conditions"))
        site_form = QFormLayout(site_box)
        site_form.addRow(tr("Ambient temperature"), self.temperature)
        site_form.addRow(tr("Relative humidity"), self.humidity)
        site_form.addRow(tr("Seal number"), self.seal_no)
        # The office's number comes in with the config (office setting); the inspector may
        # correct it here for this run. It is signed into the result and printed.
        self.approval_no = QLineEdit(wizard.base_config.approval_certificate_no)
        self.approval_no.setMaxLength(64)
        self.approval_no.setPlaceholderText(tr("Not set in the office: printed as —"))
        site_form.addRow(tr("Measurement standard approval certificate"), self.approval_no)
        left = QVBoxLayout()
        left.addWidget(checks, 1)
        left.addWidget(site_box)
        self.budget = QTableWidget(0, 2)
        self.budget.setHorizontalHeaderLabels([tr("Step"), tr("Rig time (s)")])
        self.budget.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.budget.verticalHeader().setVisible(False)
        self.budget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.budget_total = QLabel()
        plan_box = QGroupBox(tr("Time plan"))
        plan_layout = QVBoxLayout(plan_box)
        plan_layout.addWidget(self.budget)
        plan_layout.addWidget(self.budget_total)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(plan_box, 2)

    def initializePage(self) -> None:
        plan = self._wizard.make_plan()
        lines = plan.budget()
        self.budget.setRowCount(len(lines))
        for row, line in enumerate(lines):
            if line.key.startswith("point"):
                text = step_text(line.key, plan)
            else:
                text = {
                    "connect": tr("Connect, reset, self-test, configure"),
                    "insulation": tr("Insulation resistance"),
                    "conditions": tr("Reference standard and environment (conditions)"),
                    "off": tr("Sources off"),
                    "clock": tr("Meter clock (DL/T 645)"),
                    "payment": tr("Meter register for the payment check"),
                }.get(line.key, line.key)
            self.budget.setItem(row, 0, QTableWidgetItem(text))
            cell = QTableWidgetItem(f"{line.rig_s:.1f}")
            cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.budget.setItem(row, 1, cell)
        total = tr("Total %1 s of rig time (target %2 s)")
        total = total.replace("%1", f"{plan.total_rig_s:.0f}").replace(
            "%2", str(plan.config.budget_s)
        )
        if not plan.fits_budget:
            total += "  " + tr("— over the 10-minute target")
        self.budget_total.setText(total)

    def answers(self) -> dict[str, bool]:
        return {key: group.checkedId() == 1 for key, group in self.groups.items()}

    def site(self) -> SiteConditions:
        return SiteConditions(
            Decimal(str(round(self.temperature.value(), 1))),
            Decimal(str(round(self.humidity.value()))),
            self.seal_no.text().strip(),
        )

    def set_all(self, conforms: bool = True) -> None:
        for group in self.groups.values():
            group.button(1 if conforms else 0).setChecked(True)

    def isComplete(self) -> bool:
        return all(group.checkedId() != -1 for group in self.groups.values())


# --------------------------------------------------------------------------- page 3


class _Discovery(QObject):
    """Runs ``find_rigs`` on a short-lived thread (it probes ports: serial I/O)."""

    found = Signal(object)  # list[FoundRig]

    def __init__(self, explicit: Sequence[str]) -> None:
        super().__init__()
        self.explicit = list(explicit)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="rig-discovery", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.found.emit(find_rigs(explicit=self.explicit, timeout=0.3))

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)


class ConnectPage(QWizardPage):
    """Find the rig (USB id, probing, explicit paths) or take a typed path."""

    def __init__(self, explicit_ports: Sequence[str]) -> None:
        super().__init__()
        self.setTitle(tr("3. Connect the rig"))
        self.setSubTitle(
            tr("Plug the rig into USB. It is detected automatically; you can also type a port.")
        )
        self.discovery = _Discovery(explicit_ports)
        self.discovery.found.connect(self._found)
        self.port = QComboBox()
        self.port.setEditable(True)
        self.port.setMinimumWidth(420)
        self.port.currentTextChanged.connect(lambda *_: self.completeChanged.emit())
        self.detect = QPushButton(tr("Detect again"))
        self.detect.clicked.connect(self._start_detection)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.journal_label = QLabel()
        self.journal_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.port, 1)
        row.addWidget(self.detect)
        form = QFormLayout()
        form.addRow(tr("Rig port"), row)
        form.addRow(tr("Status"), self.status)
        form.addRow(tr("Journal"), self.journal_label)
        self.cert_box = QGroupBox(
            tr("Register the rig's certificate (only if the rig does not report it)")
        )
        self.cert_box.setCheckable(True)
        self.cert_box.setChecked(False)
        self.cert_no = QLineEdit()
        self.cert_expiry = QDateEdit(QDate.currentDate().addYears(1))
        self.cert_expiry.setCalendarPopup(True)
        self.cert_expiry.setDisplayFormat("yyyy-MM-dd")
        self.cert_kind = QComboBox()
        for kind, text in (("DC", tr("DC (JJG 1192-2023)")), ("AC", tr("AC (JJG 1193-2023)")),
                           ("ACDC", tr("AC and DC"))):  # fmt: skip
            self.cert_kind.addItem(text, kind)
        self.cert_class = QLineEdit("0.05")
        self.cert_serial = QLineEdit()
        cert_form = QFormLayout(self.cert_box)
        cert_form.addRow(tr("Certificate number"), self.cert_no)
        cert_form.addRow(tr("Valid until"), self.cert_expiry)
        cert_form.addRow(tr("Verified as"), self.cert_kind)
        cert_form.addRow(tr("Class or uncertainty"), self.cert_class)
        cert_form.addRow(tr("Rig serial number"), self.cert_serial)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.cert_box)
        layout.addStretch(1)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, tr("Start verification"))

    def initializePage(self) -> None:
        wizard = self.wizard()
        assert isinstance(wizard, VerificationWizard)
        journal = wizard.journal_path()
        text = str(journal)
        if journal.exists():
            text += "  " + tr("(unfinished run found: it will be resumed)")
        self.journal_label.setText(text)
        self._start_detection()

    def _start_detection(self) -> None:
        self.status.setText(tr("Searching for rigs…"))
        self.discovery.start()

    def _found(self, rigs: list) -> None:
        typed = self.port.currentText()
        self.port.clear()
        for rig in rigs:
            label = str(rig.identity) if rig.identity else rig.description
            self.port.addItem(rig.path, label)
        if rigs:
            first = rigs[0]
            who = str(first.identity) if first.identity else first.description
            self.status.setText(tr("Found %1 on %2").replace("%1", who).replace("%2", first.path))
        else:
            self.port.setEditText(typed)
            self.status.setText(tr("No rig found. Check the USB cable or type the port."))
        self.completeChanged.emit()

    def path(self) -> str:
        return self.port.currentText().strip()

    def registered_standard(self) -> ReferenceStandard | None:
        """The rig's certificate as typed here; the run still checks expiry and kind."""
        if not self.cert_box.isChecked() or not self.cert_no.text().strip():
            return None
        return ReferenceStandard(
            model="",
            serial=self.cert_serial.text().strip(),
            kind=str(self.cert_kind.currentData()),
            accuracy=self.cert_class.text().strip(),
            certificate_no=self.cert_no.text().strip(),
            expiry=self.cert_expiry.date().toPython(),  # type: ignore[arg-type]
            source="registered",
        )

    def isComplete(self) -> bool:
        return bool(self.path())


# --------------------------------------------------------------------------- page 4


class RunPage(QWizardPage):
    """Live run: graphs, countdown, per-point results, prompts and reconnection."""

    run_finished = Signal(object)  # VerificationResult
    run_ended = Signal()  # finished, failed or aborted

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(tr("4. Measurement"))
        self.setSubTitle(tr("Keep the leads connected. The run pauses if the rig is unplugged."))
        self.ring = SampleRing()
        self.plan: VerificationPlan | None = None
        self.worker: VerificationWorker | None = None
        self.thread: QThread | None = None
        self.result: VerificationResult | None = None
        self.error: str | None = None
        self.refreshes = 0
        self._drawn = -1
        self._limit = 1.0
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

        self.step = _bold(QLabel(), 12)
        self.countdown = _bold(QLabel("--:--"), 16)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.clicked.connect(self.stop)
        top = QHBoxLayout()
        top.addWidget(self.step, 1)
        top.addWidget(QLabel(tr("Time left")))
        top.addWidget(self.countdown)
        top.addWidget(self.stop_button)

        # prompt banner (a question from the procedure)
        self.prompt_frame = QFrame()
        self.prompt_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.prompt_frame.setStyleSheet("QFrame { background: #fff4ce; }")
        self.prompt_label = QLabel()
        self.prompt_label.setWordWrap(True)
        self.prompt_number = QDoubleSpinBox()
        self.prompt_number.setDecimals(2)
        self.prompt_number.setMaximum(1_000_000)
        self.prompt_yes = QPushButton(tr("OK"))
        self.prompt_no = QPushButton(tr("Cancel"))
        self.prompt_yes.clicked.connect(lambda: self._answer(True))
        self.prompt_no.clicked.connect(lambda: self._answer(False))
        banner = QHBoxLayout(self.prompt_frame)
        banner.addWidget(self.prompt_label, 1)
        banner.addWidget(self.prompt_number)
        banner.addWidget(self.prompt_yes)
        banner.addWidget(self.prompt_no)
        self.prompt_frame.hide()
        self._prompt: PromptRequest | None = None

        # reconnect banner
        self.reconnect_frame = QFrame()
        self.reconnect_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.reconnect_frame.setStyleSheet("QFrame { background: #fde7e9; }")
        self.reconnect_label = QLabel(
            tr("Rig disconnected. Plug the USB cable back in: the run resumes by itself.")
        )
        self.reconnect_label.setWordWrap(True)
        self.reconnect_path = QLineEdit()
        self.reconnect_path.setPlaceholderText(tr("or type the new port"))
        self.reconnect_path.setMinimumWidth(360)
        self.reconnect_button = QPushButton(tr("Reconnect"))
        self.reconnect_button.clicked.connect(self._supply_port)
        rbanner = QHBoxLayout(self.reconnect_frame)
        rbanner.addWidget(self.reconnect_label, 1)
        rbanner.addWidget(self.reconnect_path)
        rbanner.addWidget(self.reconnect_button)
        self.reconnect_frame.hide()

        # graphs
        pg.setConfigOptions(antialias=False)
        self.graphs = pg.GraphicsLayoutWidget()
        self.graphs.setBackground("w")
        self.curves: list[pg.PlotDataItem] = []
        specs = (
            (tr("Voltage (V)"), "#1f77b4"),
            (tr("Current (A)"), "#ff7f0e"),
            (tr("Power (kW)"), "#2ca02c"),
            (tr("Running error (%)"), "#d62728"),
        )
        self.plots: list[pg.PlotItem] = []
        for index, (title, color) in enumerate(specs):
            plot = self.graphs.addPlot(row=index // 2, col=index % 2)
            plot.setTitle(title, color="#202020", size="10pt")
            # No grid: pyqtgraph's axis grid costs ~5x the rest of a redraw
            # (bench/rig_bench.py: 90-120 ms vs 18 ms at 1600x1000, raster).
            plot.setLabel("bottom", tr("Rig time (s)"))
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            curve = plot.plot(pen=pg.mkPen(color, width=2))
            self.plots.append(plot)
            self.curves.append(curve)
        self.limit_lines: list[pg.InfiniteLine] = []
        for _ in (1, -1):
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#b3261e", style=Qt.PenStyle.DashLine))
            self.plots[3].addItem(line)
            self.limit_lines.append(line)

        # per-point results
        self.points = QTableWidget(0, 6)
        self.points.setHorizontalHeaderLabels(
            [tr("Point"), tr("Current (A)"), tr("Reading 1 (%)"), tr("Reading 2 (%)"),
             tr("Mean (%)"), tr("Result")]
        )  # fmt: skip
        self.points.verticalHeader().setVisible(False)
        self.points.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.points.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.insulation = QLabel("—")
        self.clock = QLabel("—")
        self.link = QLabel("—")
        facts = QFormLayout()
        facts.addRow(tr("Insulation"), self.insulation)
        facts.addRow(tr("Clock error"), self.clock)
        facts.addRow(tr("Stream"), self.link)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        side = QVBoxLayout()
        side.addWidget(_bold(QLabel(tr("Load points"))))
        side.addWidget(self.points, 2)
        side.addLayout(facts)
        side.addWidget(_bold(QLabel(tr("Log"))))
        side.addWidget(self.log, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)

        body = QHBoxLayout()
        body.addWidget(self.graphs, 3)
        body.addWidget(side_widget, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.prompt_frame)
        layout.addWidget(self.reconnect_frame)
        layout.addLayout(body, 1)

    # ------------------------------------------------------------- lifecycle

    def initializePage(self) -> None:
        wizard = self.wizard()
        assert isinstance(wizard, VerificationWizard)
        self.start(
            wizard.make_plan(),
            wizard.connect_page.path(),
            wizard.journal_path(),
            wizard.precheck_page.answers(),
            wizard.rig_factory,
            wizard.discover,
            site=wizard.precheck_page.site(),
            standard=wizard.connect_page.registered_standard(),
        )

    def start(
        self,
        plan: VerificationPlan,
        port: str,
        journal: Path,
        checklist: dict[str, bool],
        rig_factory: Callable | None = None,
        discover: Callable[[], list[str]] | None = None,
        *,
        site: SiteConditions | None = None,
        standard: ReferenceStandard | None = None,
    ) -> None:
        """Start the worker thread on ``plan``; results arrive through signals."""
        self.plan = plan
        self.result = None
        self.error = None
        self.ring.clear()
        self._drawn = -1
        self.refreshes = 0
        limit = self._limit = float(plan.limit_percent)
        for line, sign in zip(self.limit_lines, (1, -1), strict=True):
            line.setValue(sign * limit)
        self.plots[3].setYRange(-2 * limit, 2 * limit)
        self.points.setRowCount(len(plan.points))
        for row, point in enumerate(plan.points):
            self.points.setItem(row, 0, QTableWidgetItem(point.label))
            self.points.setItem(row, 1, QTableWidgetItem(f"{point.current_a:.1f}"))
            for col in range(2, 6):
                self.points.setItem(row, col, QTableWidgetItem(""))
        worker = VerificationWorker(
            plan,
            port,
            journal,
            checklist=checklist,
            ring=self.ring,
            rig_factory=rig_factory,
            discover=discover,
            site=site,
            standard=standard,
        )
        thread = QThread(self)
        thread.setObjectName("verification")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.done.connect(thread.quit)
        worker.step_changed.connect(self._step)
        worker.reading_taken.connect(self._reading)
        worker.point_done.connect(self._point)
        worker.insulation_measured.connect(self._insulation)
        worker.clock_checked.connect(self._clock)
        worker.paused.connect(self._paused)
        worker.resumed.connect(self._resumed)
        worker.log.connect(self._log)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.aborted.connect(self._aborted)
        worker.done.connect(self._done)
        worker.prompt.requested.connect(self._ask)
        self.worker, self.thread = worker, thread
        self.stop_button.setEnabled(True)
        self.timer.start()
        thread.start()

    def stop(self) -> None:
        if self.worker is not None:
            self._log(tr("Stopping…"))
            self.worker.stop()

    def shutdown(self) -> None:
        """Stop the run and wait for the thread (window closing, test teardown)."""
        self.timer.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(10_000)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def isComplete(self) -> bool:
        return self.result is not None

    # ------------------------------------------------------------- live refresh

    def refresh(self) -> None:
        """Timer tick: redraw from the ring if anything new arrived, update countdown."""
        progress = self.ring.progress
        if progress is not None:
            left = max(round(progress.remaining_wall_s), 0)
            self.countdown.setText(f"{left // 60:02d}:{left % 60:02d}")
            done = 1 - progress.remaining_rig_s / max(progress.total_rig_s, 1e-9)
            self.progress.setValue(int(1000 * min(max(done, 0.0), 1.0)))
        count = self.ring.count
        if count == self._drawn:
            return
        self._drawn = count
        data = self.ring.snapshot()
        if len(data):
            t = data[:, 0]
            self.curves[0].setData(t, data[:, 1])
            self.curves[1].setData(t, data[:, 2])
            self.curves[2].setData(t, data[:, 3] / 1000)
            # NaN (no error yet at a window's start) breaks the line between windows.
            self.curves[3].setData(t, data[:, 4], connect="finite")
            # Keep ±limit in view, but never hide a pile that is far out.
            errors = data[:, 4][np.isfinite(data[:, 4])]
            span = 2 * self._limit
            if len(errors):
                span = max(span, float(np.abs(errors).max()) * 1.2)
            self.plots[3].setYRange(-span, span, padding=0)
        worker = self.worker
        if worker is not None and worker.procedure is not None:
            proc = worker.procedure
            self.link.setText(
                tr("%1 frames, %2 lost, %3 garbled")
                .replace("%1", str(proc.frames_received))
                .replace("%2", str(proc.frames_dropped))
                .replace("%3", str(proc.frames_garbled))
            )
        self.refreshes += 1

    # ------------------------------------------------------------- worker signals

    def _step(self, step: str) -> None:
        self.step.setText(step_text(step, self.plan))
        self._log(step_text(step, self.plan))

    def _set_cell(self, row: int, col: int, text: str, passed: bool | None = None) -> None:
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        if passed is not None:
            item.setForeground(PASS_COLOR if passed else FAIL_COLOR)
        self.points.setItem(row, col, item)

    def _reading(self, reading: Reading) -> None:
        col = 2 + reading.reading_index
        if col < 4:
            self._set_cell(reading.point_index, col, f"{reading.error_percent:+.3f}")
        self._log(
            tr("Reading %1 at %2: %3 %")
            .replace("%1", str(reading.reading_index + 1))
            .replace("%2", reading.label)
            .replace("%3", f"{reading.error_percent:+.3f}")
        )

    def _point(self, point: PointResult) -> None:
        row = point.point.index
        if point.mean_error_percent is not None:
            self._set_cell(row, 4, f"{point.mean_error_percent:+.3f}", point.passed)
        self._set_cell(row, 5, verdict_label(point.passed), point.passed)

    def _insulation(self, mohm: Decimal) -> None:
        self.insulation.setText(f"{mohm} MΩ")

    def _clock(self, clock: ClockResult) -> None:
        if not clock.applicable:
            self.clock.setText(
                tr("%1 s (not judged: no time-of-use billing)").replace(
                    "%1", f"{clock.error_s:+.1f}"
                )
            )
            return
        self.clock.setText(
            tr("%1 s (limit ±%2 s)")
            .replace("%1", f"{clock.error_s:+.1f}")
            .replace("%2", f"{clock.limit_s:g}")
        )

    def _paused(self, reason: str) -> None:
        self.reconnect_frame.show()
        self._log(tr("Rig disconnected: %1").replace("%1", reason))

    def _resumed(self, identity: str) -> None:
        self.reconnect_frame.hide()
        self._log(tr("Reconnected to %1; resuming").replace("%1", identity))

    def _supply_port(self) -> None:
        path = self.reconnect_path.text().strip()
        if path and self.worker is not None:
            self.worker.supply_port(path)

    def _ask(self, request: PromptRequest) -> None:
        self._prompt = request
        self.prompt_label.setText(question_text(request.question.key))
        self.prompt_number.setVisible(request.kind == "number")
        self.prompt_no.setText(tr("Skip") if request.kind == "number" else tr("Cancel"))
        self.prompt_frame.show()

    def _answer(self, yes: bool) -> None:
        request, self._prompt = self._prompt, None
        self.prompt_frame.hide()
        if request is None or self.worker is None:
            return
        if request.kind == "number":
            value = Decimal(str(self.prompt_number.value())) if yes else None
            self.worker.prompt.answer(value)
        else:
            self.worker.prompt.answer(yes)

    def _log(self, text: str) -> None:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        self.log.appendPlainText(f"{stamp}  {text}")

    def _finished(self, result: VerificationResult) -> None:
        self.result = result
        self.step.setText(tr("Finished: %1").replace("%1", verdict_label(result.passed)))
        self.countdown.setText("00:00")
        self.progress.setValue(1000)
        self.completeChanged.emit()
        self.run_finished.emit(result)

    def _failed(self, message: str) -> None:
        self.error = message
        self.step.setText(tr("The run stopped with an error"))
        self._log(message)

    def _aborted(self, reason: str) -> None:
        self.error = reason
        self.step.setText(tr("Stopped"))
        self._log(reason)

    def _done(self) -> None:
        self.refresh()
        self.timer.stop()
        self.stop_button.setEnabled(False)
        self.prompt_frame.hide()
        self.reconnect_frame.hide()
        self.run_ended.emit()


# --------------------------------------------------------------------------- page 5


class _Uploader(QObject):
    """Runs ``Outbox.upload`` on a short-lived thread; reports the UploadReport."""

    finished = Signal(object)  # UploadReport or the exception

    def __init__(self) -> None:
        super().__init__()
        self._thread: threading.Thread | None = None

    def start(self, outbox: Outbox) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(
            target=self._run, args=(outbox,), name="outbox-upload", daemon=True
        )
        self._thread.start()

    def _run(self, outbox: Outbox) -> None:
        try:
            self.finished.emit(outbox.upload())
        except (OSError, ValueError) as exc:
            self.finished.emit(exc)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)


class ResultPage(QWizardPage):
    """Verdict and the figures that go on the certificate."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(tr("5. Result"))
        self.setSubTitle(tr("Check the figures, then sign the result and issue the certificate."))
        self.verdict = _bold(QLabel(), 20)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [tr("Point"), tr("Current (A)"), tr("Mean error (%)"), tr("Result")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.facts = QFormLayout()
        self.fact_labels: dict[str, QLabel] = {}
        for key, text in (
            ("pile", tr("Pile")),
            ("kind", tr("Verification")),
            ("rig", tr("Standard (rig)")),
            ("insulation", tr("Insulation")),
            ("clock", tr("Clock error")),
            ("checklist", tr("Appearance and function")),
            ("next_due", tr("Certificate valid until")),
            ("interruptions", tr("Interruptions")),
        ):
            label = QLabel("—")
            label.setWordWrap(True)
            self.fact_labels[key] = label
            self.facts.addRow(text, label)
        left = QVBoxLayout()
        left.addWidget(self.verdict)
        left.addWidget(self.reasons)
        left.addLayout(self.facts)
        left.addStretch(1)
        self.result: VerificationResult | None = None
        self.record: Record | None = None
        self.certificate_path: Path | None = None
        self.upload_report: UploadReport | None = None
        self.uploader = _Uploader()
        self.uploader.finished.connect(self._uploaded)

        # sign and issue
        self.inspector_id = QLineEdit()
        self.inspector_name = QLineEdit()
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(tr("Passphrase of your signing key"))
        self.key_label = QLabel()
        self.key_label.setWordWrap(True)
        self.create_key_button = QPushButton(tr("Create key with this passphrase"))
        self.create_key_button.clicked.connect(self.create_key)
        self.sign_button = QPushButton(tr("Sign and queue for upload"))
        self.sign_button.clicked.connect(self.sign)
        self.certificate_button = QPushButton(tr("Save certificate PDF"))
        self.certificate_button.clicked.connect(self.save_certificate)
        self.upload_button = QPushButton(tr("Upload now"))
        self.upload_button.clicked.connect(self.upload)
        self.next_gun_button = QPushButton(tr("Verify the next gun"))
        self.next_gun_button.clicked.connect(lambda: self._wiz().next_gun())
        self.next_gun_button.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for the upload report up front: a label that grows later does not
        # always re-layout a group box, and then squeezes the fields above it.
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 4)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form = QFormLayout()
        form.addRow(tr("Inspector ID"), self.inspector_id)
        form.addRow(tr("Inspector name"), self.inspector_name)
        form.addRow(tr("Signing key"), self.key_label)
        form.addRow(tr("Passphrase"), self.passphrase)
        buttons = QHBoxLayout()
        for button in (self.create_key_button, self.sign_button, self.certificate_button,
                       self.upload_button, self.next_gun_button):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        sign_box = QGroupBox(tr("Sign, issue and upload"))
        sign_layout = QVBoxLayout(sign_box)
        sign_layout.addLayout(form)
        sign_layout.addLayout(buttons)
        sign_layout.addWidget(self.status)

        # Table sized to its rows: the space below goes to the sign box, whose
        # status lines grow, so no field gets squeezed.
        self.table.setMaximumHeight(220)
        right = QVBoxLayout()
        right.addWidget(self.table)
        right.addWidget(sign_box)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 3)

    def _wiz(self) -> VerificationWizard:
        wizard = self.wizard()
        assert isinstance(wizard, VerificationWizard)
        return wizard

    def initializePage(self) -> None:
        wizard = self._wiz()
        self.inspector_id.setText(wizard.inspector_id)
        self.inspector_name.setText(wizard.inspector_name)
        self._update_key_label()
        self.upload_button.setEnabled(bool(wizard.outbox.platform_url))
        if wizard.result is not None and wizard.result is not self.result:
            self.record = None  # a new run (the next gun): nothing signed or printed yet
            self.certificate_path = None
            self.status.setText("")
            self._update_key_label()
        if wizard.result is not None:
            self.show_result(wizard.result)

    def _update_key_label(self) -> None:
        path = self._wiz().key_path
        exists = path.exists()
        text = str(path) if exists else tr("No key yet at %1").replace("%1", str(path))
        self.key_label.setText(text)
        self.create_key_button.setVisible(not exists)
        self.sign_button.setEnabled(exists and self.record is None)

    def create_key(self) -> None:
        """First use on this laptop: a new key, encrypted with the passphrase typed."""
        try:
            key = create_inspector_key(self._wiz().key_path, self.passphrase.text())
        except (ValueError, OSError) as exc:
            self.status.setText(str(exc))
            return
        self.status.setText(
            tr("Key created (%1). Have its public key registered before uploading.").replace(
                "%1", key.key_id
            )
        )
        self._update_key_label()

    def sign(self) -> None:
        """Unlock the key, sign the result and queue it (write-then-rename, no network)."""
        wizard = self._wiz()
        if self.result is None:
            return
        inspector = self.inspector_id.text().strip()
        if not inspector:
            self.status.setText(tr("Enter your inspector ID first."))
            return
        try:
            key = unlock_inspector_key(wizard.key_path, self.passphrase.text())
            record = sign_result(self.result, key, inspector_id=inspector)
            entry = wizard.outbox.enqueue(record)
        except (ValueError, OSError) as exc:  # KeyFormatError is a ValueError
            self.status.setText(str(exc))
            return
        finally:
            self.passphrase.clear()
        self.record = record
        self.sign_button.setEnabled(False)
        self.status.setText(
            tr("Signed with key %1 and queued as %2.")
            .replace("%1", record.key_id)
            .replace("%2", entry.entry_id)
        )

    def save_certificate(self) -> Path | None:
        """Write the PDF (small, fast: on the GUI thread) into the certificate folder."""
        wizard = self._wiz()
        if self.result is None:
            return None
        record = self.record
        info = CertificateInfo(
            inspector_name=self.inspector_name.text().strip(),
            inspector_id=self.inspector_id.text().strip(),
            certificate_no=(
                str(record.body["certificate_no"]) if record else certificate_number(self.result)
            ),
            signature_key_id=record.key_id if record else "",
            record_digest=record.leaf_digest.hex() if record else "",
        )
        path = wizard.certificate_dir / f"{info.certificate_no}.pdf"
        # Every gun of this pile verified in this session goes on one document.
        results = wizard.pile_results(self.result)
        try:
            # Not countersigned here (the 核验员 and 批准人 sign in the workstation): a draft.
            self.certificate_path = write_certificate(results, path, info)
        except CertificateRefused:
            self.status.setText(
                tr("Verification conditions not met: no certificate or notice is issued.")
            )
            return None
        except OSError as exc:
            self.status.setText(str(exc))
            return None
        self.status.setText(tr("Certificate saved to %1").replace("%1", str(path)))
        return self.certificate_path

    def upload(self) -> None:
        """Upload the outbox on a background thread (network never on the GUI thread)."""
        outbox = self._wiz().outbox
        if not outbox.platform_url:
            return
        self.upload_button.setEnabled(False)
        self.status.setText(tr("Uploading…"))
        self.uploader.start(outbox)

    def _uploaded(self, report: object) -> None:
        self.upload_button.setEnabled(True)
        if isinstance(report, Exception):
            self.status.setText(str(report))
            return
        assert isinstance(report, UploadReport)
        self.upload_report = report
        lines = [
            tr("Uploaded: %1, already there: %2")
            .replace("%1", str(len(report.accepted)))
            .replace("%2", str(len(report.duplicates)))
        ]
        for entry_id, reason in report.rejected.items():
            lines.append(tr("Kept %1: %2").replace("%1", entry_id).replace("%2", reason))
        if report.unreachable:
            lines.append(
                tr("Platform unreachable, entries stay queued: %1").replace(
                    "%1", report.unreachable
                )
            )
        self.status.setText("\n".join(lines))

    def show_result(self, result: VerificationResult) -> None:
        self.result = result
        pile = result.plan.pile
        self.next_gun_button.setVisible(result.connector < pile.connectors)
        self.verdict.setText(
            verdict_label(result.passed)
            if result.conditions_met
            else tr("Verification conditions not met")
        )
        palette = self.verdict.palette()
        palette.setColor(self.verdict.foregroundRole(), PASS_COLOR if result.passed else FAIL_COLOR)
        self.verdict.setPalette(palette)
        self.reasons.setText("\n".join(reason_lines(result)))
        self.table.setRowCount(len(result.points))
        for row, point in enumerate(result.points):
            mean = point.mean_error_percent
            cells = (
                point.point.label,
                f"{point.point.current_a:.1f}",
                "—" if mean is None else f"{mean:+.3f}",
                verdict_label(point.passed),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if col == 3 and point.passed is not None:
                    item.setForeground(PASS_COLOR if point.passed else FAIL_COLOR)
                self.table.setItem(row, col, item)
        clock = result.clock
        failed = [checklist_label(k) for k, ok in result.checklist.items() if not ok]
        due = result.valid_until()
        std = result.standard
        rig = result.rig_identity
        if std is not None:
            rig += "\n" + tr("certificate %1, valid until %2").replace(
                "%1", std.certificate_no
            ).replace("%2", std.expiry.isoformat())
        values = {
            "pile": f"{pile.pile_id}  /  {pile.meter_id}  /  "
            + tr("gun %1").replace("%1", str(result.connector)),
            "kind": f"{kind_label(result.plan.config.kind)}  ({result.plan.regulation})",
            "rig": rig,
            "insulation": "—" if result.insulation_mohm is None else f"{result.insulation_mohm} MΩ",
            "clock": "—" if clock is None else f"{clock.error_s:+.1f} s (±{clock.limit_s:g} s)",
            "checklist": tr("All items conform") if not failed else "; ".join(failed),
            "next_due": "—" if due is None else due.isoformat(),
            "interruptions": str(result.interruptions),
        }
        for key, value in values.items():
            self.fact_labels[key].setText(value)


# --------------------------------------------------------------------------- wizard


class VerificationWizard(QWizard):
    """Guided verification of one pile; ``result`` is set when the run finished."""

    PILE, PRECHECK, CONNECT, RUN, RESULT = range(5)

    def __init__(
        self,
        piles: Sequence[PileSpec],
        *,
        journal_dir: Path,
        config: VerificationConfig | None = None,
        explicit_ports: Sequence[str] = (),
        rig_factory: Callable | None = None,
        discover: Callable[[], list[str]] | None = None,
        outbox: Outbox | None = None,
        key_path: Path | None = None,
        certificate_dir: Path | None = None,
        inspector_id: str = "",
        inspector_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Pile verification"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.journal_dir = journal_dir
        self.base_config = config or VerificationConfig()
        self.rig_factory = rig_factory
        self.discover = discover
        self.outbox = outbox or Outbox(journal_dir / "outbox")
        self.key_path = key_path or journal_dir / "inspector.pem"
        self.certificate_dir = certificate_dir or journal_dir / "certificates"
        self.inspector_id = inspector_id
        self.inspector_name = inspector_name
        self.pile_page = PilePage(piles)
        self.precheck_page = PrecheckPage(self)
        self.connect_page = ConnectPage(explicit_ports)
        self.run_page = RunPage()
        self.result_page = ResultPage()
        for page_id, page in enumerate(
            (self.pile_page, self.precheck_page, self.connect_page, self.run_page,
             self.result_page)
        ):  # fmt: skip
            self.setPage(page_id, page)
        self._journal: Path | None = None
        #: Finished runs of this session by (pile, gun): a multi-gun pile's document.
        self.gun_results: dict[tuple[str, int], VerificationResult] = {}

    @property
    def result(self) -> VerificationResult | None:
        return self.run_page.result

    def pile_results(self, result: VerificationResult) -> list[VerificationResult]:
        """``result`` and this session's results of the pile's other guns, by gun."""
        pile_id = result.plan.pile.pile_id
        done = {gun: r for (pid, gun), r in self.gun_results.items() if pid == pile_id}
        done[result.connector] = result
        return [done[gun] for gun in sorted(done)]

    def next_gun(self) -> None:
        """Keep this gun's result and start again on the same pile's next gun."""
        result = self.result
        if result is None:
            return
        pile = result.plan.pile
        self.gun_results[(pile.pile_id, result.connector)] = result
        self.restart()
        self.pile_page.pile_id.setText(pile.pile_id)
        self.pile_page.connector.setValue(min(result.connector + 1, pile.connectors))

    def make_plan(self) -> VerificationPlan:
        pile = self.pile_page.pile
        if pile is None:
            raise ValueError("no pile chosen")
        kind = str(self.pile_page.kind.currentData())
        cfg = self.base_config
        config = VerificationConfig(
            kind=kind,
            readings_per_point=cfg.readings_per_point,
            imin_fraction=cfg.imin_fraction,
            insulation_test_v=cfg.insulation_test_v,
            settle_ms=cfg.settle_ms,
            stream_hz=cfg.stream_hz,
            check_payment=cfg.check_payment,
            cycle_years=cfg.cycle_years,
            budget_s=cfg.budget_s,
            connector=self.pile_page.connector.value(),
            approval_certificate_no=self.precheck_page.approval_no.text().strip()
            or cfg.approval_certificate_no,
        )
        return plan_verification(pile, config)

    def journal_path(self) -> Path:
        """Today's journal of this pile; an unfinished one is resumed, a finished one kept."""
        pile = self.pile_page.pile
        assert pile is not None
        day = dt.date.today().strftime("%Y%m%d")
        n = 1
        while True:
            suffix = "" if n == 1 else f"-{n}"
            path = self.journal_dir / f"{pile.pile_id}-{day}{suffix}.jsonl"
            if not path.exists() or not any(ev.get("e") == "done" for ev in Journal(path).load()):
                return path
            n += 1

    def shutdown(self) -> None:
        """Stop any run and join its threads; call before discarding the wizard."""
        self.run_page.shutdown()
        self.connect_page.discovery.join()
        self.result_page.uploader.join()

    def done(self, code: int) -> None:
        self.shutdown()
        super().done(code)
