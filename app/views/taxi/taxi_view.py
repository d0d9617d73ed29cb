"""The taxi view (安心打车): every taxi's meter status, filters, counts and a detail pane.

The rows come from :func:`app.models.taxi.queries.taxi_rows` on the shared
:class:`StoreReader`'s worker — statuses computed by the same code that serves the
ride-hailing platforms' suspension list — and this view only filters and displays them.
The detail pane plots each trip's (meter − GNSS) / GNSS in % over time against JJG
517-2016's limits for an installed meter (+1 %, −4 %), and lists the records that decide
the status (registrations, verifications, seal events).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.taxi import queries as tq
from app.views.log_names import entry_text
from app.views.table_models import StoreReader
from app.views.time_plots import LocalDateAxis

EXPIRING_DAYS = 30
LIMITS_PCT = (1.0, -4.0)
"""JJG 517-2016: an installed taximeter's distance error is within −4 % … +1 %."""
LIMIT_PEN = pg.mkPen("#c62828", width=1, style=Qt.PenStyle.DashLine)
STATUS_ORDER = (
    "unverified",
    "failed",
    "expired",
    "seal_broken",
    "drift_suspected",
    "expiring",
    "valid",
)
STATUS_COLORS = {
    "valid": "#2e7d32",
    "expiring": "#b7950b",
    "expired": "#c62828",
    "failed": "#c62828",
    "seal_broken": "#c62828",
    "drift_suspected": "#e67e22",
    "unverified": "#7f8c8d",
}


def tr(text: str) -> str:
    return QCoreApplication.translate("TaxiView", text)


def status_label(status: str) -> str:
    """The status's display name (stored values stay English keys)."""
    return {
        "valid": tr("Valid"),
        "expiring": tr("Expiring"),
        "expired": tr("Expired"),
        "failed": tr("Failed verification"),
        "seal_broken": tr("Seal broken"),
        "drift_suspected": tr("Drift suspected"),
        "unverified": tr("Unverified"),
    }.get(status, status)


def record_label(rtype: str) -> str:
    return {
        "vehicle": tr("Vehicle registered"),
        "taximeter": tr("Meter installed"),
        "taxi_verification": tr("Verification"),
        "taxi_seal": tr("Seal event"),
    }.get(rtype, rtype)


def value_label(value: str) -> str:
    """A stored result or seal event value as displayed."""
    return {
        "pass": tr("pass"),
        "fail": tr("fail"),
        "opened": tr("opened"),
        "closed": tr("closed"),
        "tamper": tr("tampered"),
    }.get(value, value)


def filter_rows(
    rows: Sequence[tq.TaxiRow],
    status: str | None = None,
    company: str | None = None,
    expiring_soon: bool = False,
) -> list[tq.TaxiRow]:
    """The rows a filter keeps; "expiring soon" = 0 … 30 days of validity left."""
    return [
        r
        for r in rows
        if (status is None or r.status == status)
        and (company is None or r.operator_id == company)
        and (not expiring_soon or (r.days_left is not None and 0 <= r.days_left <= EXPIRING_DAYS))
    ]


class TaxiView(QWidget):
    """Taxi list with filters and status counts above a detail pane."""

    taxi_selected = Signal(str)
    taxi_activated = Signal(str)
    """A row was double-clicked: its taxi detail window opens (`open_detail`)."""

    COLUMNS = ("Plate", "Company", "Meter serial", "Status", "Next due", "Drift %")

    def __init__(self, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TaxiView")
        self._reader = reader
        self._rows: list[tq.TaxiRow] = []
        self._shown: list[tq.TaxiRow] = []
        self._generation = 0

        self.status_filter = QComboBox()
        self.status_filter.addItem(tr("All statuses"), None)
        for status in STATUS_ORDER:
            self.status_filter.addItem(status_label(status), status)
        self.company_filter = QComboBox()
        self.company_filter.addItem(tr("All companies"), None)
        self.expiring = QCheckBox(tr("Expiring soon (≤ 30 days)"))
        for signal in (
            self.status_filter.currentIndexChanged,
            self.company_filter.currentIndexChanged,
            self.expiring.toggled,
        ):
            signal.connect(self._apply_filter)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(tr("Status")))
        filters.addWidget(self.status_filter)
        filters.addWidget(QLabel(tr("Company")))
        filters.addWidget(self.company_filter)
        filters.addWidget(self.expiring)
        filters.addStretch(1)
        self.counts = QLabel("")
        self.counts.setWordWrap(True)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(
            [
                tr("Plate"),
                tr("Company"),
                tr("Meter serial"),
                tr("Status"),
                tr("Next due"),
                tr("Drift %"),
            ]
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._on_select)
        self.table.itemDoubleClicked.connect(self._on_activate)
        self.detail_window = None

        self.detail_title = QLabel(tr("Select a taxi to see its trips' drift"))
        self.plot = pg.PlotWidget(axisItems={"bottom": LocalDateAxis(orientation="bottom")})
        self.plot.setBackground("w")
        self.plot.setLabel("left", tr("(meter − GNSS) / GNSS, %"))
        self.plot.showGrid(x=True, y=True)
        self.points = pg.ScatterPlotItem(size=6, brush=pg.mkBrush("#1f77b4"), pen=None)
        self.plot.addItem(self.points)
        for limit in LIMITS_PCT:
            self.plot.addItem(pg.InfiniteLine(pos=limit, angle=0, pen=LIMIT_PEN))
        self.plot.setYRange(-6, 3)
        self.history = QListWidget()

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addWidget(self.counts)
        top_layout.addWidget(self.table)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.detail_title)
        self.detail_box = QWidget()  # shown once a taxi is chosen
        detail_layout = QVBoxLayout(self.detail_box)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.plot, 3)
        detail_layout.addWidget(QLabel(tr("Status history")))
        detail_layout.addWidget(self.history, 1)
        self.detail_box.hide()
        bottom_layout.addWidget(self.detail_box, 1)
        bottom_layout.addStretch(0)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self.table.setMinimumHeight(240)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # ---- data ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reads every taxi's row on the reader's worker."""
        self._reader.submit(tq.taxi_rows, self.set_rows)

    def set_rows(self, rows: list[tq.TaxiRow]) -> None:
        self._rows = list(rows)
        current = self.company_filter.currentData()
        self.company_filter.blockSignals(True)
        self.company_filter.clear()
        self.company_filter.addItem(tr("All companies"), None)
        names = {r.operator_id: r.company or r.operator_id for r in rows}
        for company in sorted(names, key=lambda c: (names[c], c)):
            self.company_filter.addItem(names[company], company)
        found = self.company_filter.findData(current)
        self.company_filter.setCurrentIndex(max(found, 0))
        self.company_filter.blockSignals(False)
        self._apply_filter()

    def shown_rows(self) -> list[tq.TaxiRow]:
        return list(self._shown)

    def _apply_filter(self) -> None:
        self._shown = filter_rows(
            self._rows,
            self.status_filter.currentData(),
            self.company_filter.currentData(),
            self.expiring.isChecked(),
        )
        counts = Counter(r.status for r in self._shown)
        parts = [
            tr("%1: %2").replace("%1", status_label(s)).replace("%2", str(counts[s]))
            for s in STATUS_ORDER
            if counts[s]
        ]
        head = tr("Taxis shown: %1").replace("%1", str(len(self._shown)))
        self.counts.setText(" · ".join([head, *parts]))
        self.table.clearSelection()  # a highlighted row must be the one the detail shows
        self.table.setRowCount(len(self._shown))
        for i, row in enumerate(self._shown):
            drift = "" if row.drift_pct is None else f"{row.drift_pct:+.2f}"
            values = (
                row.plate,
                row.company or row.operator_id,
                row.meter_serial,
                status_label(row.status),
                row.next_due or "",
                drift,
            )
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if j == 3:
                    item.setForeground(QBrush(QColor(STATUS_COLORS.get(row.status, "#000"))))
                self.table.setItem(i, j, item)

    def _on_select(self) -> None:
        selected = self.table.selectedItems()
        if not selected:
            return
        row = self._shown[selected[0].row()]
        self.show_taxi(row)

    def _on_activate(self, item: QTableWidgetItem) -> None:
        self.open_detail(self._shown[item.row()].plate)

    def open_detail(self, plate: str) -> None:
        """Opens (or raises) the taxi detail window on ``plate``."""
        from app.views.taxi.taxi_detail import TaxiDetailView  # it imports this module

        if self.detail_window is None:
            self.detail_window = TaxiDetailView(self._reader, self)
            self.detail_window.setWindowFlag(Qt.WindowType.Window)
            self.detail_window.resize(1100, 820)
        self.detail_window.show_taxi(plate)
        self.detail_window.show()
        self.detail_window.raise_()
        self.taxi_activated.emit(plate)

    def show_taxi(self, row: tq.TaxiRow) -> None:
        """Loads a taxi's drift points and status history into the detail pane."""
        self._generation += 1
        generation = self._generation
        self.detail_title.setText(
            tr("%1 — meter %2 — %3")
            .replace("%1", row.plate)
            .replace("%2", row.meter_serial)
            .replace("%3", status_label(row.status))
        )
        self.taxi_selected.emit(row.plate)

        def load(conn):
            return tq.drift_points(conn, row.meter_serial), tq.status_history(conn, row.plate)

        def done(result) -> None:
            if generation == self._generation:
                self.set_detail(*result)

        self._reader.submit(load, done)

    def set_detail(
        self, points: list[tuple[int, float]], history: list[tuple[int, str, str]]
    ) -> None:
        self.points.setData([p[0] / 1000 for p in points], [p[1] for p in points])
        self.detail_box.show()
        self.plot.setVisible(bool(points))  # no trips: no axes that mean nothing
        if points:
            low = min(-5.0, min(p[1] for p in points) - 0.5)
            high = max(2.0, max(p[1] for p in points) + 0.5)
            self.plot.setYRange(low, high)
        self.history.clear()
        for index, rtype, summary in history:
            self.history.addItem(
                tr("entry %1: %2 %3")
                .replace("%1", entry_text(index))
                .replace("%2", record_label(rtype))
                .replace("%3", " ".join(value_label(part) for part in summary.split(" ")))
            )
