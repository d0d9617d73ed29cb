"""One fuel dispenser: registry facts, seal positions, open findings, and per-nozzle plots.

The data is read by :mod:`app.models.fuel.queries` on the shared :class:`StoreReader`'s
worker (every nozzle's series and every tank's reconciliation in one read, so switching
nozzle is instant); this view only pushes arrays into plot items built once. The four
nozzle plots share one X axis in Hangzhou time, and so does the fifth, the daily wet-stock
reconciliation of the selected nozzle's tank:

1. volume per fuelling (L) — what the encoder counted;
2. the nozzle's volume totalizer and the tax box's (L) — they must move together (F02);
3. Δ totalizer − Σ fuellings between readings (mL), against one display step (F01):
   a cheat board or back-office software shows here as bars off the zero line;
4. unit price per fuelling and the posted price (元/L) (F05);
5. tank imbalance per day, opening + deliveries − sales − closing (L), against its
   tolerance max(0.5 % of sales, 50 L) (F09).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QLocale, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.fuel import queries as fq
from app.views.detail_parts import nameplate
from app.views.map_view import STATUS_COLORS, status_label
from app.views.table_models import StoreReader, format_date, format_ms
from app.views.time_plots import stacked_plots

DISPLAY_STEP_ML = 10
"""One display step of a dispenser's volume display: F01's and F02's tolerance."""
SEAL_COLORS = {"closed": "#2e7d32", "opened": "#c62828", "tamper": "#c62828"}
SEVERITY_COLORS = {"critical": "#c0392b", "high": "#e67e22", "warning": "#b7950b"}
LIMIT_PEN = pg.mkPen("#c62828", width=1, style=Qt.PenStyle.DashLine)
DAY_S = 86_400


def tr(text: str) -> str:
    return QCoreApplication.translate("DispenserDetailView", text)


def seal_position_label(position: str) -> str:
    """The regulation's name of a seal position (stored values stay English keys)."""
    return {
        "transducer_adjust": tr("Transducer adjustment"),
        "encoder_transducer": tr("Encoder ↔ transducer"),
        "board_housing": tr("Control board ↔ housing"),
    }.get(position, position)


def seal_state_label(state: str) -> str:
    return {
        "closed": tr("intact"),
        "opened": tr("opened"),
        "tamper": tr("tampered"),
    }.get(state, state)


def severity_label(severity: str) -> str:
    return {
        "critical": tr("critical"),
        "high": tr("high"),
        "warning": tr("warning"),
        "info": tr("info"),
    }.get(severity, severity)


def _english() -> bool:
    return not QLocale().name().startswith("zh")


class DispenserDetailView(QWidget):
    """Header, seals, open findings and linked plots for one dispenser.

    Main-window API: :meth:`show_dispenser` (``at_ms`` centres the plots on that moment,
    for an alarm); signals ``loaded(dispenser_id)`` and ``load_failed(message)``.
    """

    loaded = Signal(str)
    load_failed = Signal(str)

    def __init__(self, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._generation = 0
        self.dispenser_id: str | None = None
        self.at_ms: int | None = None
        self.detail: fq.DispenserDetail | None = None
        self.series: dict[int, fq.NozzleSeries] = {}
        self.reconciliation: dict[str, list[fq.ReconciliationDay]] = {}
        self.nozzle: int | None = None
        self.timing: dict[str, float] = {}

        names = [
            ("station", tr("Station")),
            ("operator", tr("Operator")),
            ("district", tr("District")),
            ("serial", tr("Serial no.")),
            ("board", tr("Control board")),
            ("model", tr("Maker / model")),
            ("certificate", tr("Certificate")),
            ("commissioned", tr("Commissioned")),
            ("nozzles", tr("Nozzles")),
            ("status", tr("Status")),
        ]
        header, self.title, self.fields = nameplate(names, tr(":"), "")

        self.seals = QTableWidget(0, 3)
        self.seals.setHorizontalHeaderLabels([tr("Seal position"), tr("State"), tr("Last event")])
        self.findings = QTableWidget(0, 5)
        self.findings.setHorizontalHeaderLabels(
            [tr("Severity"), tr("Rule"), tr("Finding"), tr("Nozzle / tank"), tr("Time (UTC+8)")]
        )
        for table in (self.seals, self.findings):
            table.verticalHeader().setVisible(False)
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
            table.horizontalHeader().setStretchLastSection(True)
        self.seals.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.findings.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.seals)
        tables.addWidget(self.findings)
        tables.setStretchFactor(0, 2)
        tables.setStretchFactor(1, 3)
        tables.setSizes([480, 720])
        tables.setMaximumHeight(170)

        self.nozzle_combo = QComboBox()
        self.nozzle_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.nozzle_combo.currentIndexChanged.connect(self._on_nozzle_changed)
        self.summary = QLabel(" ")
        self.summary.setStyleSheet("color: #424242;")
        bar = QHBoxLayout()
        bar.addWidget(QLabel(tr("Nozzle")))
        bar.addWidget(self.nozzle_combo)
        bar.addWidget(self.summary, 1)

        self.plots: pg.GraphicsLayoutWidget | None = None
        self.plot: dict[str, pg.PlotItem] = {}
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(header)
        layout.addWidget(tables)
        layout.addLayout(bar)
        layout.addStretch(1)
        self.title.setText(tr("No dispenser selected"))

    # ---- construction ----------------------------------------------------------------

    def _build_plots(self) -> None:
        """Built on the first dispenser shown: five plots cost ~0.2 s of the GUI thread,
        which the workstation's cold start (a hidden, tabbed dock) should not pay."""
        if self.plots is not None:
            return
        self._layout.takeAt(self._layout.count() - 1)  # the stretch
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setMinimumHeight(420)
        self.plots.ci.layout.setSpacing(2)
        specs = [
            ("volume", tr("Volume (L)")),
            ("totalizer", tr("Totalizer (L)")),
            ("delta", tr("Δ total − Σ (mL)")),
            ("price", tr("Price (¥/L)")),
            ("tank", tr("Tank balance (L)")),
        ]
        self.plot.update(stacked_plots(self.plots, specs))
        p = self.plot
        self.volume = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush("#1565c0"))
        p["volume"].addItem(self.volume)
        legend = p["totalizer"].addLegend(offset=(-8, 2), brush="#ffffffe6", pen="#bdbdbd")
        legend.setLabelTextSize("8pt")
        self.total = pg.PlotDataItem(pen=pg.mkPen("#1565c0", width=1.5), name=tr("Dispenser"))
        self.tax_total = pg.PlotDataItem(
            pen=pg.mkPen("#ef6c00", width=1.2, style=Qt.PenStyle.DashLine), name=tr("Tax box")
        )
        p["totalizer"].addItem(self.total)
        p["totalizer"].addItem(self.tax_total)
        self.delta = pg.BarGraphItem(x=[], height=[], width=1, brush="#6a1b9a", pen=None)
        p["delta"].addItem(self.delta)
        self.delta_points = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush("#6a1b9a"))
        p["delta"].addItem(self.delta_points)
        for sign in (1, -1):
            line = pg.InfiniteLine(pos=sign * DISPLAY_STEP_ML, angle=0, pen=LIMIT_PEN)
            line.setToolTip(tr("Tolerance: one display step (10 mL)"))
            p["delta"].addItem(line, ignoreBounds=True)
        self.price = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush("#2e7d32"))
        self.posted = pg.PlotDataItem(pen=pg.mkPen("#757575", width=1.2), stepMode="right")
        p["price"].addItem(self.posted)
        p["price"].addItem(self.price)
        self.tank_bars = pg.BarGraphItem(x=[], height=[], width=DAY_S * 0.7, brushes=[])
        self.tank_tol_hi = pg.PlotDataItem(pen=LIMIT_PEN)
        self.tank_tol_lo = pg.PlotDataItem(pen=LIMIT_PEN)
        for item in (self.tank_bars, self.tank_tol_hi, self.tank_tol_lo):
            p["tank"].addItem(item)
        self._layout.addWidget(self.plots, 1)

    # ---- loading ---------------------------------------------------------------------

    def show_dispenser(self, dispenser_id: str, at_ms: int | None = None) -> None:
        """Loads the dispenser (all nozzles and their tanks) in the background."""
        self._generation += 1
        generation = self._generation
        self.dispenser_id, self.at_ms = dispenser_id, at_ms
        self.title.setText(tr("Loading dispenser %1…").replace("%1", dispenser_id))
        started = time.perf_counter()

        def load(conn: Any) -> tuple[Any, ...]:
            detail = fq.dispenser_detail(conn, dispenser_id)
            series = {
                n.nozzle: fq.nozzle_series(conn, dispenser_id, n.nozzle) for n in detail.nozzles
            }
            tanks = {n.tank_id for n in detail.nozzles}
            recon = {t: fq.tank_reconciliation(conn, t) for t in sorted(tanks)}
            return detail, series, recon

        self._reader.submit(
            load,
            lambda result: self._on_loaded(generation, started, *result),
            lambda exc: self._on_error(generation, exc),
        )

    def _on_error(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self.detail = None
        self.title.setText(str(exc))
        self.load_failed.emit(str(exc))

    def _on_loaded(
        self,
        generation: int,
        started: float,
        detail: fq.DispenserDetail,
        series: dict[int, fq.NozzleSeries],
        recon: dict[str, list[fq.ReconciliationDay]],
    ) -> None:
        if generation != self._generation:
            return  # the user has moved on
        self.detail, self.series, self.reconciliation = detail, series, recon
        self._build_plots()
        self._fill_header(detail)
        self._fill_tables(detail)
        self.nozzle_combo.blockSignals(True)
        self.nozzle_combo.clear()
        for n in detail.nozzles:
            self.nozzle_combo.addItem(
                tr("No. %1 (%2, tank %3)")
                .replace("%1", str(n.nozzle))
                .replace("%2", n.product)
                .replace("%3", n.tank_id),
                n.nozzle,
            )
        self.nozzle_combo.blockSignals(False)
        self.show_nozzle(detail.nozzles[0].nozzle if detail.nozzles else None)
        self.timing = {"total_s": time.perf_counter() - started}
        self.loaded.emit(detail.dispenser_id)

    # ---- filling ---------------------------------------------------------------------

    def _fill_header(self, d: fq.DispenserDetail) -> None:
        r = d.registry
        self.title.setText(tr("Fuel dispenser %1").replace("%1", d.dispenser_id))
        f = self.fields
        f["station"].setText(f"{r.get('station_name') or ''} ({r['station_id']})")
        f["station"].setToolTip(r.get("address") or "")
        f["operator"].setText(f"{r.get('operator_name') or ''} ({r['operator_id']})")
        f["district"].setText(r.get("district") or "")
        f["serial"].setText(r.get("serial") or "")
        f["board"].setText(r.get("board_id") or "")
        f["model"].setText(" / ".join(x for x in (r.get("maker"), r.get("model")) if x) or "—")
        cert = r.get("cert_no") or tr("none on record")
        f["certificate"].setText(cert + (f" ({r['cert_date']})" if r.get("cert_date") else ""))
        f["commissioned"].setText(format_date(r["commissioned_ms"]))
        f["nozzles"].setText(
            ", ".join(f"{n.nozzle}: {n.product}#" for n in d.nozzles) or tr("none on record")
        )
        code = self._status_code(d)
        f["status"].setText(status_label(code))
        f["status"].setStyleSheet(f"color: {STATUS_COLORS[code].name()}; font-weight: bold;")

    @staticmethod
    def _status_code(d: fq.DispenserDetail) -> int:
        """The map's status for the header: open alarm > open finding > normal."""
        from app.models.map_query import ALARM, ANOMALY, NORMAL

        if d.registry.get("status") in ("alarm", "seal_open") or any(
            i.kind == "alarm" for i in d.open_items
        ):
            return ALARM
        return ANOMALY if d.open_items else NORMAL

    def _fill_tables(self, d: fq.DispenserDetail) -> None:
        self.seals.setRowCount(len(d.seals))
        for row, seal in enumerate(d.seals):
            state = QTableWidgetItem(seal_state_label(seal.state))
            state.setForeground(QBrush(QColor(SEAL_COLORS.get(seal.state, "#000000"))))
            cells = [
                QTableWidgetItem(seal_position_label(seal.position)),
                state,
                QTableWidgetItem(format_ms(seal.at_ms) if seal.at_ms is not None else "—"),
            ]
            for col, cell in enumerate(cells):
                self.seals.setItem(row, col, cell)
        english = _english()
        self.findings.setRowCount(len(d.open_items))
        for row, item in enumerate(d.open_items):
            severity = QTableWidgetItem(severity_label(item.severity))
            colour = SEVERITY_COLORS.get(item.severity)
            if colour:
                severity.setForeground(QBrush(QColor(colour)))
            kind = tr("alarm") if item.kind == "alarm" else tr("finding")
            cells = [
                severity,
                QTableWidgetItem(f"{item.rule_id or ''} ({kind})"),
                QTableWidgetItem(item.title_en if english else item.title_zh),
                QTableWidgetItem(item.part or "—"),
                QTableWidgetItem(format_ms(item.at_ms)),
            ]
            for col, cell in enumerate(cells):
                self.findings.setItem(row, col, cell)
        if not d.open_items:
            self.findings.setRowCount(1)
            self.findings.setItem(0, 2, QTableWidgetItem(tr("No open findings or alarms")))

    def _on_nozzle_changed(self, index: int) -> None:
        if index >= 0:
            self.show_nozzle(int(self.nozzle_combo.itemData(index)))

    def show_nozzle(self, nozzle: int | None) -> None:
        """Plots one nozzle's series and its tank's reconciliation."""
        self.nozzle = nozzle
        index = self.nozzle_combo.findData(nozzle)
        if index >= 0 and index != self.nozzle_combo.currentIndex():
            self.nozzle_combo.blockSignals(True)
            self.nozzle_combo.setCurrentIndex(index)
            self.nozzle_combo.blockSignals(False)
        s = self.series.get(nozzle) if nozzle is not None else None
        if s is None:
            for item in (self.volume, self.price, self.delta_points):
                item.clear()
            for item in (self.total, self.tax_total, self.posted):
                item.setData([], [])
            self.delta.setOpts(x=[], height=[])
            self._fill_tank([])
            self.summary.setText(" ")
            return
        t_s = s.fuelling_ms / 1000.0
        self.volume.setData(t_s, s.volume_ml / 1000.0)
        self.price.setData(t_s, s.price_fen_l / 100.0)
        r_s = s.reading_ms / 1000.0
        self.total.setData(r_s, s.total_ml / 1000.0)
        self.tax_total.setData(r_s, s.tax_total_ml / 1000.0)
        ok = ~np.isnan(s.mismatch_ml)
        width = float(np.median(np.diff(r_s))) * 0.6 if len(r_s) > 1 else 3600.0
        self.delta.setOpts(x=r_s[ok], height=s.mismatch_ml[ok], width=width)
        self.delta_points.setData(r_s[ok], s.mismatch_ml[ok])
        if len(s.posted_ms):
            end = max(float(t_s.max(initial=0)), float(s.posted_ms[-1] / 1000.0)) + DAY_S
            self.posted.setData(
                np.r_[s.posted_ms / 1000.0, end],
                np.r_[s.posted_fen_l / 100.0, s.posted_fen_l[-1] / 100.0],
            )
        else:
            self.posted.setData([], [])
        tank = next((n.tank_id for n in self.detail.nozzles if n.nozzle == nozzle), None)
        days = self.reconciliation.get(tank, []) if tank else []
        self._fill_tank(days)
        bad = int(np.count_nonzero(np.abs(s.mismatch_ml[ok]) > DISPLAY_STEP_ML))
        self.summary.setText(
            tr("%1 fuellings, %2 L; %3 totalizer readings, %4 off by more than 10 mL")
            .replace("%1", QLocale().toString(len(s.fuelling_ms)))
            .replace("%2", QLocale().toString(float(s.volume_ml.sum()) / 1000.0, "f", 1))
            .replace("%3", QLocale().toString(len(s.reading_ms)))
            .replace("%4", QLocale().toString(bad))
        )
        self.show_all()

    def _fill_tank(self, days: list[fq.ReconciliationDay]) -> None:
        if not days:
            self.tank_bars.setOpts(x=[], height=[], brushes=[])
            self.tank_tol_hi.setData([], [])
            self.tank_tol_lo.setData([], [])
            return
        # Bars at Beijing noon of each day (the axis shows Hangzhou time).
        x = np.array(
            [(d.day.toordinal() - 719_163) * DAY_S - 8 * 3600 + DAY_S / 2 for d in days], float
        )
        height = np.array([d.imbalance_ml / 1000.0 for d in days])
        brushes = [pg.mkBrush("#2e7d32" if d.within_tolerance else "#c62828") for d in days]
        self.tank_bars.setOpts(x=x, height=height, width=DAY_S * 0.7, brushes=brushes)
        tol = np.array([d.tolerance_ml / 1000.0 for d in days])
        edges = np.r_[x - DAY_S / 2, x[-1] + DAY_S / 2]
        self.tank_tol_hi.setData(edges, tol, stepMode="center")
        self.tank_tol_lo.setData(edges, -tol, stepMode="center")

    def show_all(self) -> None:
        """Zooms out to all of the nozzle's data (or to ``at_ms`` ± half a day)."""
        if self.at_ms is not None:
            c = self.at_ms / 1000.0
            self.plot["volume"].setXRange(c - DAY_S / 2, c + DAY_S / 2, padding=0)
            return
        s = self.series.get(self.nozzle) if self.nozzle is not None else None
        times = np.r_[s.fuelling_ms, s.reading_ms] / 1000.0 if s is not None else np.zeros(0)
        if len(times):
            self.plot["volume"].setXRange(float(times.min()), float(times.max()), padding=0.02)
