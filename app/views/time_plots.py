"""Time-series plots every instrument's detail view shares (a charging pile, a fuel
dispenser, a taxi meter): a stack of plots on one Hangzhou-time date axis whose month
and weekday names follow the UI language, with opaque grid lines drawn on Qt's fast path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QLocale
from PySide6.QtGui import QColor, QPainter, QPen

from app.models.verification_parts import CST

UTC_OFFSET_S = -8 * 3600
"""pyqtgraph's offset convention (seconds west of UTC): the axis shows Hangzhou time."""


def _opaque_over(color: QColor, background: QColor) -> QColor:
    """``color`` composited over ``background``: the same pixel, without alpha."""
    a = color.alphaF()
    return QColor(
        round(color.red() * a + background.red() * (1 - a)),
        round(color.green() * a + background.green() * (1 - a)),
        round(color.blue() * a + background.blue() * (1 - a)),
    )


class OpaqueGridAxis(pg.AxisItem):
    """An axis whose grid lines are opaque, pre-blended with the plot background.

    pyqtgraph draws grid lines as semi-transparent tick lines, and Qt's raster engine
    blends translucent cosmetic lines on a slow path: on this view's five full-width
    plots the faint grid cost ~60 ms of every repaint (86 ms with it, 24 ms without).
    The same colour, composited over the (white) background in advance, draws on the
    fast path and looks identical. Stack the axis beneath its ViewBox
    (:data:`AXIS_Z`) so the now opaque lines stay behind the data, as a grid should.
    """

    background = QColor("white")

    def generateDrawSpecs(self, p: QPainter) -> Any:
        specs = super().generateDrawSpecs(p)
        if specs is None or self.grid is False:
            return specs
        axis_spec, tick_specs, text_specs = specs
        solid: dict[int, QPen] = {}  # one pen per tick level, shared by its ticks
        ticks = []
        for pen, p1, p2 in tick_specs:
            if pen.color().alpha() < 255:
                opaque = solid.get(id(pen))
                if opaque is None:
                    opaque = QPen(pen)
                    opaque.setColor(_opaque_over(pen.color(), self.background))
                    solid[id(pen)] = opaque
                pen = opaque
            ticks.append((pen, p1, p2))
        return axis_spec, ticks, text_specs


AXIS_Z = -200
"""Below pyqtgraph's ViewBox (z −100): grid lines under the curves, not across them."""


class LocalDateAxis(OpaqueGridAxis, pg.DateAxisItem):
    """Hangzhou-time date axis whose month and weekday names follow the UI language.

    pyqtgraph formats ticks with ``strftime`` in the C locale ("Jan", "Wed 21"); a Chinese
    UI wants "1月", "周三 21". Only those two formats are replaced; the rest are numeric.
    """

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation=orientation, utcOffset=UTC_OFFSET_S)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        spec = next((t for t in self.zoomLevel.tickSpecs if t.spacing == spacing), None)
        if spec is None or spec.format not in ("%b", "%a %d"):
            return super().tickStrings(values, scale, spacing)
        locale = QLocale()
        short = QLocale.FormatType.ShortFormat
        out = []
        for value in values:
            try:
                moment = dt.datetime.fromtimestamp(value, CST)
            except (OverflowError, OSError, ValueError):
                out.append("")
                continue
            if spec.format == "%b":
                out.append(locale.standaloneMonthName(moment.month, short))
            else:
                day = locale.standaloneDayName(moment.isoweekday(), short)
                out.append(f"{day} {moment.day:02d}")
        return out


def stacked_plots(
    layout: pg.GraphicsLayoutWidget, specs: list[tuple[str, str]]
) -> dict[str, pg.PlotItem]:
    """One plot per (key, axis label), stacked on a shared local-time axis: x linked and
    pannable, y fixed, dates shown on the bottom plot only (every instrument's detail)."""
    plots: dict[str, pg.PlotItem] = {}
    first: pg.PlotItem | None = None
    for row, (key, label) in enumerate(specs):
        axes = {"bottom": LocalDateAxis("bottom"), "left": OpaqueGridAxis("left")}
        item = layout.addPlot(row=row, col=0, axisItems=axes)
        for axis in axes.values():
            axis.setZValue(AXIS_Z)
        item.setLabel("left", label)
        # The label names the unit; an automatic "(x0.001)" rescaling would turn a
        # 0.5 s clock offset into "500" and a ±0.5 % limit into "±500".
        item.getAxis("left").enableAutoSIPrefix(False)
        item.getAxis("left").setWidth(70)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(x=True, y=False)
        item.setAutoVisible(y=True)
        if row < len(specs) - 1:
            item.getAxis("bottom").setStyle(showValues=False)
            item.getAxis("bottom").setHeight(6)
        if first is None:
            first = item
        else:
            item.setXLink(first)
        plots[key] = item
    return plots
