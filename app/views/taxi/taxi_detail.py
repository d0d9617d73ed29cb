"""One taxi (安心打车): registry, status and its history, the trips' drift, verifications.

Opened from the taxi view (double-click a row). The data is read by
:func:`app.models.taxi.detail.taxi_detail` on the shared :class:`StoreReader`'s worker;
this view only displays it. The drift plot (one of `stacked_plots`, the instruments'
shared local-time axis) shows each trip's (meter km − GNSS km) / GNSS km in %, JJG
517-2016's band for an installed meter (−4 % … +1 %, shaded between dashed limits) and
the median the ``drift_suspected`` rule judged, drawn over the trips it judged — the
number the suspension list acts on, not a second computation.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.taxi import detail as td
from app.views.detail_parts import nameplate
from app.views.log_names import entry_text
from app.views.table_models import StoreReader, format_date, format_ms
from app.views.taxi.taxi_view import (
    LIMIT_PEN,
    LIMITS_PCT,
    STATUS_COLORS,
    record_label,
    status_label,
    value_label,
)
from app.views.time_plots import stacked_plots

MEDIAN_PEN = pg.mkPen("#e65100", width=2.5)
BAND_BRUSH = pg.mkBrush(46, 125, 50, 28)


def tr(text: str) -> str:
    return QCoreApplication.translate("TaxiDetailView", text)


def kind_label(kind: str) -> str:
    return {"first": tr("first"), "periodic": tr("periodic"), "triggered": tr("triggered")}.get(
        kind, kind
    )


def method_label(method: str) -> str:
    return {"roller": tr("roller"), "road": tr("road")}.get(method, method)


class TaxiDetailView(QWidget):
    """A taxi's registry, status, drift plot, status history and verification history."""

    loaded = Signal(str)

    def __init__(self, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TaxiDetailView")
        self.setWindowTitle(tr("Taxi detail"))
        self._reader = reader
        self._generation = 0
        self.detail: td.TaxiDetail | None = None

        names = [
            ("company", tr("Taxi company")),
            ("status", tr("Status")),
            ("meter", tr("Meter serial")),
            ("evidence", tr("Evidence")),
            ("model", tr("Maker / model")),
            ("drift", tr("Median drift")),
            ("k", tr("K constant (pulses/km)")),
            ("due", tr("Valid until")),
            ("terminal", tr("In-vehicle terminal")),
            ("installed", tr("Installed")),
        ]
        header, self.title, self.fields = nameplate(names, tr(":"), tr("No taxi selected"))

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setMinimumHeight(260)
        self.plot = stacked_plots(self.plots, [("drift", tr("(meter − GNSS) / GNSS, %"))])["drift"]
        high, low = LIMITS_PCT
        self.band = pg.LinearRegionItem(
            values=(low, high), orientation="horizontal", movable=False, brush=BAND_BRUSH
        )
        self.band.setToolTip(tr("JJG 517-2016: −4 % … +1 %"))
        for line in self.band.lines:
            line.setPen(LIMIT_PEN)
        self.plot.addItem(self.band, ignoreBounds=True)
        self.points = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(21, 101, 192, 170))
        self.plot.addItem(self.points)
        self.median = pg.PlotDataItem(pen=MEDIAN_PEN)
        self.plot.addItem(self.median)
        legend = self.plot.addLegend(offset=(-8, 2), brush="#ffffffe6", pen="#bdbdbd")
        legend.setLabelTextSize("8pt")
        legend.addItem(self.points, tr("Trip"))
        legend.addItem(self.median, tr("Median judged by the status rule"))
        self.plot.setYRange(low - 1.5, high + 1.5)
        self.plot_note = QLabel(" ")
        self.plot_note.setStyleSheet("color: #424242;")

        self.history = QListWidget()
        self.verifications = QTableWidget(0, 8)
        self.verifications.setHorizontalHeaderLabels(
            [
                tr("Date"),
                tr("Certificate"),
                tr("Kind"),
                tr("Method"),
                tr("Distance error %"),
                tr("Result"),
                tr("Next due"),
                tr("Inspector"),
            ]
        )
        self.verifications.verticalHeader().setVisible(False)
        self.verifications.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verifications.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.verifications.horizontalHeader().setStretchLastSection(True)
        history_box = QWidget()
        hl = QVBoxLayout(history_box)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(QLabel(tr("Status history")))
        hl.addWidget(self.history)
        verif_box = QWidget()
        vl = QVBoxLayout(verif_box)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.addWidget(QLabel(tr("Verification history (JJG 517-2016)")))
        vl.addWidget(self.verifications)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(history_box)
        tables.addWidget(verif_box)
        tables.setStretchFactor(0, 2)
        tables.setStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(header)
        layout.addWidget(self.plots, 3)
        layout.addWidget(self.plot_note)
        layout.addWidget(tables, 2)

    # ---- data ----------------------------------------------------------------------------
    def show_taxi(self, plate: str) -> None:
        """Reads ``plate``'s detail on the reader's worker; the latest request wins."""
        self._generation += 1
        generation = self._generation
        self.title.setText(tr("%1 — loading…").replace("%1", plate))

        def done(detail: td.TaxiDetail | None) -> None:
            if generation != self._generation:
                return
            if detail is None:
                self.title.setText(tr("%1: not in the store").replace("%1", plate))
                return
            self.set_detail(detail)

        self._reader.submit(lambda conn: td.taxi_detail(conn, plate), done)

    def set_detail(self, d: td.TaxiDetail) -> None:
        self.detail = d
        self.title.setText(d.plate)
        color = STATUS_COLORS.get(d.status, "#000")
        f = self.fields
        f["company"].setText(d.company)
        f["status"].setText(status_label(d.status))
        f["status"].setStyleSheet(f"color: {color}; font-weight: bold;")
        f["meter"].setText(d.meter_serial)
        f["evidence"].setText(_short_evidence(d.evidence))
        f["evidence"].setToolTip(d.evidence)
        f["model"].setText(" / ".join(p for p in (d.maker, d.model) if p))
        f["k"].setText("" if d.k_constant is None else str(d.k_constant))
        f["terminal"].setText(d.terminal_id)
        f["installed"].setText(format_date(d.installed_ms))
        f["drift"].setText(
            tr("n/a")
            if d.median_pct is None
            else tr("%1 % over %2 trips")
            .replace("%1", f"{d.median_pct:+.2f}")
            .replace("%2", str(d.judged_count))
        )
        latest = d.verifications[-1] if d.verifications else None
        f["due"].setText(latest["next_due"] if latest else "")

        xs = [t / 1000 for t, _ in d.points]
        ys = [p for _, p in d.points]
        self.points.setData(xs, ys)
        if d.judged is not None and d.median_pct is not None:
            self.median.setData([d.judged[0] / 1000, d.judged[1] / 1000], [d.median_pct] * 2)
        else:
            self.median.setData([], [])
        high, low = LIMITS_PCT
        if ys:
            lo = max(min(low - 1.0, min(ys) - 0.5), -20.0)
            hi = min(max(high + 1.0, max(ys) + 0.5), 20.0)
            # a multipath outlier must not squash the band: the range is clipped at ±20 %;
            # the top fifth is left free for the legend, which must not hide a trip
            self.plot.setYRange(lo, hi + (hi - lo) * 0.25, padding=0)
            self.plot.setXRange(min(xs), max(xs), padding=0.02)
        self.plot_note.setText(
            tr("%1 trips with the monitoring platform's GNSS distance; as of %2 (UTC+8)")
            .replace("%1", str(len(d.points)))
            .replace("%2", format_ms(d.as_of_ms))
        )

        self.history.clear()
        for index, rtype, summary in d.history:
            self.history.addItem(
                tr("entry %1: %2 %3")
                .replace("%1", entry_text(index))
                .replace("%2", record_label(rtype))
                .replace("%3", " ".join(value_label(part) for part in summary.split(" ")))
            )
        self.history.addItem(
            tr("now: %1 (%2)")
            .replace("%1", status_label(d.status))
            .replace("%2", _short_evidence(d.evidence))
        )
        self.verifications.setRowCount(len(d.verifications))
        for i, v in enumerate(reversed(d.verifications)):  # newest first
            values = (
                format_date(v["at_ms"]),
                v["certificate_no"],
                kind_label(v["kind"]),
                method_label(v["method"]),
                f"{v['distance_error_ppm'] / 10_000:+.2f}",
                value_label(v["result"]),
                v["next_due"],
                v["inspector"],
            )
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if j == 5:
                    good = v["result"] == "pass"
                    item.setForeground(QBrush(QColor("#2e7d32" if good else "#c62828")))
                self.verifications.setItem(i, j, item)
        self.loaded.emit(d.plate)


def _short_evidence(evidence: str) -> str:
    """The drift evidence without its list of entry indexes (in the tooltip)."""
    return evidence.split(";entries=", 1)[0]
