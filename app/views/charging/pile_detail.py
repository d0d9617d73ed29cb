"""One pile's metering history: header facts and five time-linked plots.

The data (a year: ~900 sessions, ~50k power samples) is read by
:func:`app.models.charging.queries.pile_detail` on the :class:`StoreReader`'s worker thread; this
view only pushes arrays into plot items that exist from construction, so a pile opens in
one repaint. The plots share one X axis (Hangzhou time, ``pg.DateAxisItem``):

1. energy per session, metered vs billed (the first question in a dispute);
2. power during sessions (profiles concatenated, idle time drawn at 0 W, peak-downsampled
   and clipped to the view so a year draws as fast as a day);
3. the meter's cumulative register (a step backwards is a red flag);
4. clock offset (meter − reference) against the ±5 s / ±3 min limits of JJG 1148/1149;
5. verification error history against the accuracy-class limit.

Seal events and the rules' anomalies are vertical lines through every plot with a
tooltip; a crosshair label reads all five series at the mouse.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QPointF, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.charging import queries
from app.views.detail_parts import caption_value, title_label
from app.views.log_names import entry_text
from app.views.table_models import (
    STATUS_COLORS,
    StoreReader,
    format_date,
    format_kwh,
    format_ms,
    kind_label,
    status_label,
)
from app.views.time_plots import stacked_plots

AT_WINDOW_S = 12 * 3600
"""``show_pile(at_ms=...)`` zooms to this much either side of the moment."""
SEAL_COLORS = {"opened": "#d32f2f", "tamper": "#d32f2f", "closed": "#2e7d32"}
ANOMALY_COLOR = "#ef6c00"
METERED_COLOR = "#1565c0"
BILLED_COLOR = "#ef6c00"
LIMIT_PEN = pg.mkPen("#c62828", width=1, style=Qt.PenStyle.DashLine)
LIMIT_PEN_SOFT = pg.mkPen("#8e6d00", width=1, style=Qt.PenStyle.DotLine)
MAX_CLOCK_SYMBOLS = 2000
MAX_MARKERS = 500
"""Beyond this many anomalies in range, only the first ones get a line (the list has all)."""


def tr(text: str) -> str:
    return QCoreApplication.translate("PileDetailView", text)


def _power_for_display(t_s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Profiles with NaN gaps → the same curve with idle time at 0 W.

    pyqtgraph's 'peak' downsampling takes block max/min, which a NaN poisons: a year
    zoomed out would lose most sessions. Between sessions the pile delivers nothing, so
    drawing the gaps as 0 W is the truth and keeps the envelope intact.
    """
    gaps = np.flatnonzero(np.isnan(w))
    if gaps.size == 0:
        return t_s, w
    power = np.where(np.isnan(w), 0.0, w)
    nxt = np.minimum(gaps + 1, len(t_s) - 1)
    next_start = np.where(gaps + 1 < len(t_s), t_s[nxt], t_s[gaps])
    t_out = np.insert(t_s, gaps + 1, next_start)
    w_out = np.insert(power, gaps + 1, 0.0)
    return t_out, w_out


class _Header(QFrame):
    """The pile's title and fields, as caption/value pairs four to a row when the view is
    wide (a window of its own) and two to a row when it is docked beside the map."""

    WIDE_PX = 1100

    def __init__(self) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(10, 8, 10, 8)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(4)
        self.title = title_label()
        self.fields: dict[str, QLabel] = {}
        self._pairs: list[tuple[QLabel, QLabel]] = []
        names = [
            ("station", tr("Station")),
            ("operator", tr("Operator")),
            ("district", tr("District")),
            ("kind", tr("Type")),
            ("rated", tr("Rated power")),
            ("class", tr("Meter class")),
            ("certificate", tr("Certificate")),
            ("status", tr("Status")),
        ]
        for key, caption in names:
            cap, value = caption_value(caption, tr(":"))
            self.fields[key] = value
            self._pairs.append((cap, value))
        self.per_row = 0
        self._place(4)

    def _place(self, per_row: int) -> None:
        if per_row == self.per_row:
            return
        self.per_row = per_row
        self.grid.addWidget(self.title, 0, 0, 1, 2 * per_row)
        for i, (cap, value) in enumerate(self._pairs):
            row, col = 1 + i // per_row, (i % per_row) * 2
            self.grid.addWidget(
                cap, row, col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
            )
            self.grid.addWidget(value, row, col + 1)
        for col in range(8):
            self.grid.setColumnStretch(col, 1 if col % 2 and col < 2 * per_row else 0)

    def resizeEvent(self, event) -> None:
        self._place(4 if event.size().width() >= self.WIDE_PX else 2)
        super().resizeEvent(event)


class PileDetailView(QWidget):
    """Header + linked plots for one pile; loads in a worker, displays on the GUI thread.

    Main-window API: :meth:`show_pile` (``at_ms`` centres the plots on that moment, for an
    alarm), signals ``loaded(pile_id)``, ``load_failed(message)`` and
    ``session_activated(entry_index)`` when the user clicks a session's point (open it
    in the session lookup). :meth:`export_png` / :meth:`export_csv` write files.
    """

    loaded = Signal(str)
    load_failed = Signal(str)
    session_activated = Signal("qint64")  # an entry key (app.models.logs), 64-bit

    def __init__(self, reader: StoreReader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._generation = 0
        self._requested_at: float = 0.0
        self.detail: queries.PileDetail | None = None
        self.pile_id: str | None = None
        self.at_ms: int | None = None
        self._keep_ms: tuple[int, int] | None = None
        self.timing: dict[str, float] = {}
        self.markers: list[tuple[str, int, str, pg.InfiniteLine]] = []
        """(kind, at_ms, plot key, line) for every seal/anomaly/moment line."""

        self._build_header()
        self._build_plots()
        self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.header)
        layout.addLayout(self.toolbar)
        # Until a pile's data is in, a blank page stands in for the plots: painting and
        # laying out five empty plots (~120 ms of Python on the GUI thread the first time)
        # would only compete with the worker for the GIL while it reads that data.
        self.plot_stack = QStackedWidget()
        self._blank = QWidget()
        self.plot_stack.addWidget(self._blank)
        self.plot_stack.addWidget(self.plots)
        layout.addWidget(self.plot_stack, 1)
        self._show_empty(tr("No pile selected"))

    # ---- construction ----------------------------------------------------------------

    def _build_header(self) -> None:
        self.header = _Header()
        self.title = self.header.title
        self.fields = self.header.fields

    def _build_toolbar(self) -> None:
        self.toolbar = QHBoxLayout()
        self.crosshair_label = QLabel(" ")
        self.crosshair_label.setTextFormat(Qt.TextFormat.PlainText)
        self.crosshair_label.setMinimumWidth(200)
        self.reset_zoom_button = QPushButton(tr("Show all"))
        self.reset_zoom_button.clicked.connect(self.show_all)
        self.png_button = QPushButton(tr("Export PNG…"))
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button = QPushButton(tr("Export CSV…"))
        self.csv_button.clicked.connect(self._ask_csv)
        self.toolbar.addWidget(self.crosshair_label, 1)
        for button in (self.reset_zoom_button, self.png_button, self.csv_button):
            self.toolbar.addWidget(button)

    def _build_plots(self) -> None:
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.ci.layout.setSpacing(2)
        specs = [
            ("energy", tr("Energy (kWh)")),
            ("power", tr("Power (kW)")),
            ("register", tr("Register (kWh)")),
            ("clock", tr("Clock offset (s)")),
            ("error", tr("Error (%)")),
        ]
        self.plot: dict[str, pg.PlotItem] = stacked_plots(self.plots, specs)

        p = self.plot
        legend = p["energy"].addLegend(offset=(-8, 2), colCount=2, brush="#ffffffe6", pen="#bdbdbd")
        legend.setLabelTextSize("8pt")
        # Billed as a hollow ring around the metered dot: equal values look like a target,
        # a gap between them shows at a glance.
        self.billed = pg.ScatterPlotItem(
            size=10,
            symbol="o",
            pen=pg.mkPen(BILLED_COLOR, width=1.5),
            brush=None,
            name=tr("Billed"),
        )
        self.metered = pg.ScatterPlotItem(
            size=5, pen=None, brush=pg.mkBrush(METERED_COLOR), name=tr("Metered")
        )
        self.metered.setZValue(10)
        p["energy"].addItem(self.billed)
        p["energy"].addItem(self.metered)
        self.metered.sigClicked.connect(self._on_session_clicked)
        self.billed.sigClicked.connect(self._on_session_clicked)

        self.power = pg.PlotDataItem(pen=pg.mkPen("#2e7d32", width=1))
        self.power.setDownsampling(auto=True, method="peak")
        self.power.setClipToView(True)
        p["power"].addItem(self.power)

        self.register_curves: list[pg.PlotDataItem] = []
        self.clock = pg.PlotDataItem(pen=pg.mkPen("#6a1b9a", width=1.2))
        self.clock.setDownsampling(auto=True, method="peak")
        self.clock.setClipToView(True)
        p["clock"].addItem(self.clock)
        for value, pen in ((5, LIMIT_PEN_SOFT), (180, LIMIT_PEN)):
            for sign in (1, -1):
                line = pg.InfiniteLine(pos=sign * value, angle=0, pen=pen)
                line.setToolTip(
                    tr("First verification limit ±5 s")
                    if value == 5
                    else tr("Subsequent verification limit ±3 min")
                )
                p["clock"].addItem(line, ignoreBounds=True)

        self.error_mean = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush("#1565c0"))
        self.error_worst = pg.ScatterPlotItem(
            size=9, symbol="t", pen=pg.mkPen("#1565c0"), brush=None
        )
        p["error"].addItem(self.error_mean)
        p["error"].addItem(self.error_worst)
        self.limit_lines = [
            pg.InfiniteLine(pos=0, angle=0, pen=LIMIT_PEN),
            pg.InfiniteLine(pos=0, angle=0, pen=LIMIT_PEN),
        ]
        for line in self.limit_lines:
            p["error"].addItem(line)
        # Pinned to the plot's frame, not to data coordinates: visible whatever the zoom.
        self.no_verification = pg.LabelItem(
            tr("No verification on record for this pile"), color="#757575", size="9pt"
        )
        self.no_verification.setParentItem(p["error"].getViewBox())
        self.no_verification.anchor(itemPos=(0.5, 0.5), parentPos=(0.5, 0.5))
        self.no_verification.hide()

        self.crosshair = []
        for item in self.plot.values():
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#9e9e9e", width=1))
            line.setZValue(50)
            line.hide()
            item.addItem(line, ignoreBounds=True)
            self.crosshair.append(line)
        self._mouse_proxy = pg.SignalProxy(
            self.plots.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )

    # ---- loading ---------------------------------------------------------------------

    def warm_up(self) -> None:
        """Pays the first open's one-time query costs now (call once the window is up).

        Runs :func:`queries.warm_up_pile_detail` on the reader's worker: statement
        compilation and a fresh connection's schema read happen while nobody waits,
        instead of delaying the first pile the user opens. Its errors are dropped: a
        store that cannot be read says so when a pile is opened.
        """
        self._reader.submit(queries.warm_up_pile_detail, lambda _ok: None, lambda _exc: None)

    def show_pile(self, pile_id: str, at_ms: int | None = None) -> None:
        """Loads ``pile_id`` (a year of data; around ``at_ms`` if given) in the background."""
        self.title.setText(tr("Loading pile %1…").replace("%1", pile_id))
        self._load(pile_id, at_ms, None)

    @Slot()
    def refresh(self) -> None:
        """Reloads the shown pile (a sync brought new records for it), keeping the zoom."""
        if self.pile_id is not None:
            keep = self.x_range_ms() if self.detail is not None else None
            self._load(self.pile_id, self.at_ms, keep)

    def _load(self, pile_id: str, at_ms: int | None, keep_ms: tuple[int, int] | None) -> None:
        self._generation += 1
        generation = self._generation
        self.pile_id, self.at_ms = pile_id, at_ms
        self._keep_ms = keep_ms
        self._requested_at = time.perf_counter()

        def load(conn: Any) -> tuple[queries.PileDetail, dict[str, float]]:
            wall, cpu = time.perf_counter(), time.thread_time()
            t0, t1 = queries.default_range(conn, pile_id, at_ms)
            detail = queries.pile_detail(conn, pile_id, t0, t1)
            spent = {
                "query_s": time.perf_counter() - wall,
                "query_cpu_s": time.thread_time() - cpu,
            }
            return detail, spent

        self._reader.submit(
            load,
            lambda result: self._on_detail(generation, *result),
            lambda exc: self._on_error(generation, exc),
        )

    def _on_error(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self.detail = None
        self._show_empty(str(exc))
        self.load_failed.emit(str(exc))

    def _show_empty(self, message: str) -> None:
        self.plot_stack.setCurrentWidget(self._blank)
        self.title.setText(message)
        for label in self.fields.values():
            label.clear()
        self._clear_plots()

    def _clear_plots(self) -> None:
        for item in (self.metered, self.billed, self.error_mean, self.error_worst):
            item.clear()
        self.power.setData([], [])
        self.clock.setData([], [])
        for curve in self.register_curves:
            self.plot["register"].removeItem(curve)
        self.register_curves.clear()
        for _, _, key, line in self.markers:
            self.plot[key].removeItem(line)
        self.markers.clear()

    def _on_detail(
        self, generation: int, detail: queries.PileDetail, spent: dict[str, float]
    ) -> None:
        if generation != self._generation:
            return  # the user has moved on to another pile
        started, cpu = time.perf_counter(), time.thread_time()
        self.timing = dict(spent)
        self.detail = detail
        self._fill_header(detail.info)
        # Shown before it is filled, so ranges are computed at the size it will paint at.
        self.plot_stack.setCurrentWidget(self.plots)
        self._clear_plots()
        self._fill_plots(detail)
        self._place_markers(detail)
        if self._keep_ms is not None:
            lo, hi = self._keep_ms
            self.plot["energy"].setXRange(lo / 1000.0, hi / 1000.0, padding=0)
        elif self.at_ms is not None:
            self.scroll_to(self.at_ms)
        else:
            self.show_all()
        self._settle_layout()
        now = time.perf_counter()
        self.timing["display_s"] = now - started
        self.timing["display_cpu_s"] = time.thread_time() - cpu
        self.timing["total_s"] = now - self._requested_at
        self.loaded.emit(detail.info.pile_id)

    def _settle_layout(self) -> None:
        """Lays out the plots and settles everything pyqtgraph would settle in the paint.

        pyqtgraph defers the plot layout (a posted event), the y auto-ranging
        (``prepareForPaint``, at the start of each paint) and the extent of each
        ``InfiniteLine`` (computed on its first ``boundingRect`` at a new scale). Left
        to the paint, a new pile's ranges and lines change *during* its first paint,
        which asks for a second full repaint: every new pile was painted twice (~50 ms
        each for a year). Done here it costs the same once and the paint finds nothing
        to change.
        """
        self.plots.ci.layout.activate()
        scene = self.plots.scene()
        # Twice: the first y-range change re-clips the clip-to-view curves, whose new
        # bounds ask for one more pass.
        scene.prepareForPaint()
        scene.prepareForPaint()
        for item in scene.items():
            if isinstance(item, pg.InfiniteLine) and item.isVisible():
                item.boundingRect()

    def _fill_header(self, info: queries.PileInfo) -> None:
        self.title.setText(tr("Pile %1").replace("%1", info.pile_id))
        f = self.fields
        f["station"].setText(f"{info.station_name or ''} ({info.station_id})")
        f["operator"].setText(f"{info.operator_name or ''} ({info.operator_id})")
        f["district"].setText(info.district or "")
        f["kind"].setText(kind_label(info.kind))
        f["rated"].setText(f"{info.rated_power_w / 1000:g} kW")
        f["class"].setText(info.accuracy_class or tr("unknown"))
        cert = info.certificates or tr("none on record")
        dates = [str(m["cert_date"]) for m in info.meters if m.get("cert_date")]
        f["certificate"].setText(cert + (f" ({', '.join(dates)})" if dates else ""))
        f["certificate"].setToolTip(
            "\n".join(
                f"{m['meter_id']}: {m.get('cert_no') or ''} {m.get('cert_verifier') or ''}"
                for m in info.meters
            )
        )
        f["status"].setText(status_label(info.status))
        color = STATUS_COLORS.get(info.status)
        f["status"].setStyleSheet(f"color: {color.name()}; font-weight: bold;" if color else "")
        self.fields["station"].setToolTip(
            tr("Commissioned %1").replace("%1", format_date(info.commissioned_ms))
        )

    def _fill_plots(self, d: queries.PileDetail) -> None:
        mid_s = (d.session_start_ms + d.session_stop_ms) / 2000.0
        entries = d.session_entry.tolist()
        self.metered.setData(x=mid_s, y=d.session_energy_wh / 1000.0, data=entries)
        billed = ~np.isnan(d.session_billed_wh)
        self.billed.setData(
            x=mid_s[billed],
            y=d.session_billed_wh[billed] / 1000.0,
            data=[e for e, b in zip(entries, billed) if b],
        )
        t, w = _power_for_display(d.power_t_s, d.power_w)
        self.power.setData(t, w / 1000.0)

        palette = ["#37474f", "#00838f", "#5d4037", "#283593"]
        for i, meter in enumerate(d.meter_ids):
            mask = d.register_meter == i
            if not mask.any():
                continue
            curve = pg.PlotDataItem(pen=pg.mkPen(palette[i % len(palette)], width=1.5))
            curve.setToolTip(meter)
            self.plot["register"].addItem(curve)
            # A reading per heartbeat and session end (~37k a year): peak-downsampled and
            # clipped like the power curve, or it alone costs ~10 ms of every repaint.
            # (Set once in the plot: pyqtgraph cannot clip an item not yet in a ViewBox.)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setData(d.register_t_ms[mask] / 1000.0, d.register_wh[mask] / 1000.0)
            self.register_curves.append(curve)

        # Dots per heartbeat only where they stay readable: a scatter of a year of
        # 15-min beats (35k) would cost more than everything else on this view.
        few = len(d.heartbeat_t_ms) <= MAX_CLOCK_SYMBOLS
        self.clock.setSymbol("o" if few else None)
        self.clock.setSymbolSize(3)
        self.clock.setSymbolPen(None)
        self.clock.setSymbolBrush("#6a1b9a")
        self.clock.setData(d.heartbeat_t_ms / 1000.0, d.clock_offset_ms / 1000.0)
        ver = d.verifications
        if ver:
            x = np.array([v["at_ms"] / 1000.0 for v in ver])
            self.error_mean.setData(x=x, y=[v["error_pct"] for v in ver])
            self.error_worst.setData(x=x, y=[v["worst_pct"] for v in ver])
        self.no_verification.setVisible(not ver)
        limit = queries.CLASS_LIMIT_PCT.get(d.info.accuracy_class or "")
        if limit is None and ver and ver[-1]["limit_pct"] is not None:
            limit = ver[-1]["limit_pct"]
        for sign, line in zip((1, -1), self.limit_lines):
            line.setVisible(limit is not None)
            if limit is not None:
                line.setPos(sign * limit)
                line.setToolTip(tr("Class limit ±%1 %").replace("%1", f"{limit:g}"))

    def _add_marker(
        self, kind: str, at_ms: int, color: str, tooltip: str, label: str, height: float = 0.9
    ) -> None:
        for key, item in self.plot.items():
            line = pg.InfiniteLine(
                pos=at_ms / 1000.0, angle=90, pen=pg.mkPen(color, width=1.5), movable=False
            )
            line.setToolTip(tooltip)
            line.setZValue(40)
            if key == "energy" and label:
                pg.InfLineLabel(
                    line,
                    text=label,
                    position=height,
                    anchor=(0, 0.5),
                    color=color,
                    fill="#ffffffcc",
                )
            item.addItem(line, ignoreBounds=True)
            self.markers.append((kind, at_ms, key, line))

    def _place_markers(self, d: queries.PileDetail) -> None:
        names = {
            "opened": tr("Seal opened"),
            "closed": tr("Seal closed"),
            "tamper": tr("Seal tampered"),
        }
        for n, seal in enumerate(d.seals):
            event = str(seal["event"])
            text = names.get(event, event)
            tooltip = (
                tr("%1 at %2 (meter %3, register %4, log entry %5)")
                .replace("%1", text)
                .replace("%2", format_ms(seal["at_ms"], seconds=True))
                .replace("%3", str(seal["meter_id"]))
                .replace("%4", format_kwh(seal["register_wh"]))
                .replace("%5", entry_text(seal["entry_index"]))
            )
            color = SEAL_COLORS.get(event, "#d32f2f")
            height = 0.9 - 0.22 * (n % 3)  # neighbouring events' labels do not overprint
            self._add_marker("seal", int(seal["at_ms"]), color, tooltip, text, height)
        for anomaly in d.anomalies[:MAX_MARKERS]:
            tooltip = (
                tr("Anomaly %1 (%2) at %3")
                .replace("%1", str(anomaly["rule_id"]))
                .replace("%2", str(anomaly["severity"]))
                .replace("%3", format_ms(anomaly["at_ms"], seconds=True))
            )
            self._add_marker("anomaly", int(anomaly["at_ms"]), ANOMALY_COLOR, tooltip, "")
        if self.at_ms is not None:
            self._add_marker(
                "moment",
                self.at_ms,
                "#1565c0",
                tr("The moment asked for: %1").replace("%1", format_ms(self.at_ms, seconds=True)),
                "",
            )

    # ---- navigation ------------------------------------------------------------------

    def data_span_s(self) -> tuple[float, float] | None:
        d = self.detail
        if d is None:
            return None
        events = np.array(
            [v["at_ms"] for v in d.verifications if d.t0_ms <= v["at_ms"] < d.t1_ms]
            + [s["at_ms"] for s in d.seals],
            dtype=np.int64,
        )
        starts = [d.session_start_ms[:1], d.heartbeat_t_ms[:1], events]
        stops = [d.session_stop_ms[-1:], d.heartbeat_t_ms[-1:], events]
        lo = np.concatenate(starts)
        hi = np.concatenate(stops)
        if lo.size == 0:
            return d.t0_ms / 1000.0, d.t1_ms / 1000.0
        return float(lo.min()) / 1000.0, float(hi.max()) / 1000.0

    @Slot()
    def show_all(self) -> None:
        span = self.data_span_s()
        if span is None:
            return
        lo, hi = span
        pad = max((hi - lo) * 0.02, 3600.0)
        self.plot["energy"].setXRange(lo - pad, hi + pad, padding=0)

    def scroll_to(self, at_ms: int, half_window_s: float = AT_WINDOW_S) -> None:
        """Centres every plot on ``at_ms`` (an alarm's moment)."""
        centre = at_ms / 1000.0
        self.plot["energy"].setXRange(centre - half_window_s, centre + half_window_s, padding=0)

    def x_range_ms(self) -> tuple[int, int]:
        lo, hi = self.plot["energy"].getViewBox().viewRange()[0]
        return int(lo * 1000), int(hi * 1000)

    # ---- crosshair -------------------------------------------------------------------

    def _on_mouse_moved(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        for item in self.plot.values():
            if item.sceneBoundingRect().contains(pos):
                x = item.getViewBox().mapSceneToView(pos).x()
                self.set_crosshair(x)
                return
        for line in self.crosshair:
            line.hide()

    def set_crosshair(self, x_s: float) -> None:
        """Moves the crosshair to ``x_s`` (Unix seconds) and shows the values there."""
        for line in self.crosshair:
            line.setPos(x_s)
            line.show()
        self.crosshair_label.setText(self.values_at(x_s))

    def values_at(self, x_s: float) -> str:
        """The readings at a moment, as the crosshair label shows them."""
        d = self.detail
        if d is None:
            return ""
        t_ms = x_s * 1000.0
        parts = [format_ms(t_ms, seconds=True)]
        i = int(np.searchsorted(d.session_start_ms, t_ms, side="right")) - 1
        if 0 <= i < d.n_sessions and d.session_stop_ms[i] >= t_ms - 30 * 60_000:
            parts.append(
                tr("session %1: metered %2, billed %3")
                .replace("%1", d.session_ids[i])
                .replace("%2", format_kwh(d.session_energy_wh[i]))
                .replace("%3", format_kwh(d.session_billed_wh[i]) or tr("none"))
            )
            if d.session_start_ms[i] <= t_ms <= d.session_stop_ms[i] and d.power_t_s.size:
                j = int(np.searchsorted(d.power_t_s, x_s, side="right")) - 1
                if 0 <= j < d.power_w.size and not np.isnan(d.power_w[j]):
                    parts.append(tr("power %1 kW").replace("%1", f"{d.power_w[j] / 1000:.1f}"))
        k = int(np.searchsorted(d.register_t_ms, t_ms, side="right")) - 1
        if 0 <= k < d.register_wh.size:
            parts.append(tr("register %1").replace("%1", format_kwh(d.register_wh[k])))
        h = int(np.searchsorted(d.heartbeat_t_ms, t_ms, side="right")) - 1
        if 0 <= h < d.clock_offset_ms.size:
            parts.append(
                tr("clock offset %1 s").replace("%1", f"{d.clock_offset_ms[h] / 1000:+.1f}")
            )
        return "   ".join(parts)

    def _on_session_clicked(self, _item: Any, points: Any, *_: Any) -> None:
        if len(points):
            self.session_activated.emit(int(points[0].data()))

    # ---- export ----------------------------------------------------------------------

    def export_png(self, path: str | Path) -> bool:
        """The header and plots as shown, as a PNG (for a report or an enforcement file)."""
        return bool(self.grab().save(str(path), "PNG"))

    def export_csv(self, path: str | Path) -> int:
        """One row per session in the loaded range, ledger units kept; returns the count.

        Times are given both as Unix ms (exact, what the log says) and as Hangzhou local
        time (what a person reads). Column names are fixed English identifiers so the
        file reads the same in any UI language.
        """
        d = self.detail
        if d is None:
            return 0
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            out = csv.writer(fh)
            out.writerow(
                [
                    "pile_id",
                    "session_id",
                    "entry_index",
                    "meter_id",
                    "start_local",
                    "stop_local",
                    "start_ms",
                    "stop_ms",
                    "metered_wh",
                    "billed_wh",
                    "amount_fen",
                ]
            )
            for i in range(d.n_sessions):
                billed, amount = d.session_billed_wh[i], d.session_amount_fen[i]
                out.writerow(
                    [
                        d.info.pile_id,
                        d.session_ids[i],
                        int(d.session_entry[i]),
                        d.session_meter[i],
                        format_ms(int(d.session_start_ms[i]), seconds=True),
                        format_ms(int(d.session_stop_ms[i]), seconds=True),
                        int(d.session_start_ms[i]),
                        int(d.session_stop_ms[i]),
                        int(d.session_energy_wh[i]),
                        "" if np.isnan(billed) else int(billed),
                        "" if np.isnan(amount) else int(amount),
                    ]
                )
        return d.n_sessions

    def _default_name(self, suffix: str) -> str:
        return f"pile-{self.pile_id or 'none'}.{suffix}"

    @Slot()
    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export plots"), self._default_name("png"), tr("PNG images (*.png)")
        )
        if path:
            self.export_png(path)

    @Slot()
    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export sessions"), self._default_name("csv"), tr("CSV files (*.csv)")
        )
        if path:
            self.export_csv(path)
