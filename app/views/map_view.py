"""The city map of charging piles: basemap, status-coloured piles, clusters, filters, legend.

Design choices, and why:

* The maths (filter masks, the cluster pyramid, the basemap geometry) lives in
  the Qt-free ``map_data`` module; this module only paints arrays.
* Piles are drawn by one ``pg.ScatterPlotItem`` per status (uniform style, so
  pyqtgraph blits one cached symbol per point), never an item per pile.
* Clusters (bubbles with a count) are painted by one item in device
  coordinates with cached ``QStaticText``; a ``TextItem`` per bubble would put
  hundreds of QGraphicsItems in the scene and be re-created on every zoom.
* The visible window is recomputed at most every 30 ms while the user pans
  (a single-shot timer coalesces range changes); between recomputes, the
  previous bubbles simply move with the view.
* Colours follow the Okabe-Ito colour-blind-safe palette, and every status
  also has its own marker shape, so the map reads without colour.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QLocale,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QFontMetricsF,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPixmap,
    QRegion,
    QResizeEvent,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFrame,
    QGraphicsView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.views.map_data import (
    ALARM,
    ANOMALY,
    BASEMAP,
    DISPENSERS,
    KM_PER_UNIT,
    N_STATUS,
    NORMAL,
    OVERDUE,
    PILES,
    SEVERITY_ORDER,
    SILENT,
    ClusterPyramid,
    ClusterView,
    MapData,
    MapFilter,
    Region,
    load_basemap,
    merge_overlapping,
    nudge_apart,
    points_in_rings,
    union_names,
)

# --------------------------------------------------------------------------- style

STATUS_COLORS: dict[int, QColor] = {
    NORMAL: QColor("#009E73"),  # Okabe-Ito bluish green
    ANOMALY: QColor("#E69F00"),  # Okabe-Ito orange
    ALARM: QColor("#C8102E"),  # dark red: darker than orange for red-green deficiency
    OVERDUE: QColor("#7B4FA0"),  # purple, darker than the grey of "silent"
    SILENT: QColor("#9A9A9A"),
}
STATUS_SYMBOLS: dict[int, str] = {NORMAL: "o", ANOMALY: "t1", ALARM: "d", OVERDUE: "s", SILENT: "o"}
STATUS_SIZES: dict[int, float] = {NORMAL: 11, ANOMALY: 14, ALARM: 15, OVERDUE: 12, SILENT: 10}
# Paint order, bottom to top: the rarest and worst on top.
STATUS_Z: dict[int, int] = {NORMAL: 0, SILENT: 1, OVERDUE: 2, ANOMALY: 3, ALARM: 4}
# Choropleth ramp (ColorBrewer Blues, light part): blue avoids every status hue.
CHOROPLETH_STOPS = (QColor("#F1F6FC"), QColor("#9CC3E4"), QColor("#3C83C1"))

BACKGROUND = QColor("#E4EAF0")
CONTEXT_FILL = QColor("#EDEDEA")
CONTEXT_LINE = QColor("#C9C9C4")
DISTRICT_FILL = QColor("#FBFAF6")
DISTRICT_LINE = QColor("#A8A49A")
CITY_LINE = QColor("#6E6A60")
LEGEND_FILL = QColor("#FFFFFF")
LEGEND_LINE = QColor("#C8C8C8")
LABEL_COLOR = QColor("#4A4740")
CONTEXT_LABEL_COLOR = QColor("#9A978F")

CLUSTER_CELL_PX = 64.0
"""Grid cell size in pixels (cells are 64-128 px between power-of-two levels)."""
PILE_HIT_PX = 8.0
WORLD = QRectF(-360.0, -180.0, 720.0, 360.0)
"""Bounds (map units) of the screen-space layers: they cull for themselves, Qt must not."""
RECOMPUTE_MS = 30


def status_label(code: int) -> str:
    """Display label of a status code (stored values stay integers)."""
    labels = (
        QCoreApplication.translate("MapView", "Normal"),
        QCoreApplication.translate("MapView", "Anomaly"),
        QCoreApplication.translate("MapView", "Open alarm"),
        QCoreApplication.translate("MapView", "Verification overdue"),
        QCoreApplication.translate("MapView", "Silent"),
    )
    return labels[code]


def instrument_label(code: int) -> str:
    """充电桩 / 加油机: the instrument kind of a map layer."""
    if code == DISPENSERS:
        return QCoreApplication.translate("MapView", "Fuel dispenser")
    return QCoreApplication.translate("MapView", "Charging pile")


def kind_label(code: int) -> str:
    if code == 1:
        return QCoreApplication.translate("MapView", "DC")
    return QCoreApplication.translate("MapView", "AC")


def format_count(n: int) -> str:
    """Thousands separators in the UI locale (12,258); the bare C locale has none."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        locale = QLocale(QLocale.Language.English)
    return locale.toString(int(n))


def _ui_language() -> str:
    return QLocale().name()


def bubble_diameter(count: np.ndarray) -> np.ndarray:
    """Bubble size grows with log10(count): 2 → 26 px, 100 → 34 px, 10,000 → 46 px."""
    return np.clip(24.0 + 5.5 * np.log10(np.maximum(count, 1)), 26.0, 50.0)


def _text_color(fill: QColor) -> QColor:
    luminance = 0.299 * fill.redF() + 0.587 * fill.greenF() + 0.114 * fill.blueF()
    return QColor("#1E1E1E") if luminance > 0.6 else QColor("#FFFFFF")


def _short_count(n: int) -> str:
    if n >= 100_000:
        return f"{n // 1000}k"
    if n >= 10_000:
        return f"{n / 1000:.1f}k"
    return str(n)


def status_icon(code: int, size: int = 16) -> QPixmap:
    """The marker of a status as a small pixmap, for the legend and checkboxes."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(size / 2, size / 2)
    scale = size * 0.8 * STATUS_SIZES[code] / 13
    painter.scale(scale, scale)
    painter.setPen(QPen(QColor("white"), 1.2 / scale))
    painter.setBrush(STATUS_COLORS[code])
    painter.drawPath(pg.graphicsItems.ScatterPlotItem.Symbols[STATUS_SYMBOLS[code]])
    painter.end()
    return pixmap


def _pump_symbol() -> QPainterPath:
    """A fuel-pump glyph in the unit square (y down), the dispenser layer's marker.

    Body with a display window, a base, and the hose with its nozzle on the right: it
    reads as 加油机 at 16 px and differs from every pile marker (circle, triangle, diamond,
    square) in outline, so the two kinds are told apart without colour.
    """
    body = QPainterPath()
    body.addRoundedRect(QRectF(-0.40, -0.50, 0.52, 0.92), 0.08, 0.08)
    base = QPainterPath()
    base.addRect(QRectF(-0.48, 0.36, 0.68, 0.14))
    hose = QPainterPath()
    hose.addRect(QRectF(0.10, -0.30, 0.30, 0.11))
    hose.addRect(QRectF(0.30, -0.30, 0.11, 0.62))
    hose.addRect(QRectF(0.22, 0.22, 0.19, 0.10))
    nozzle = QPainterPath()
    nozzle.addRect(QRectF(0.26, -0.48, 0.20, 0.20))
    window = QPainterPath()
    window.addRect(QRectF(-0.30, -0.38, 0.32, 0.26))
    path = body.united(base).united(hose).united(nozzle).subtracted(window)
    return path


PUMP_SYMBOL = _pump_symbol()
PUMP_SIZES: dict[int, float] = {NORMAL: 15, ANOMALY: 17, ALARM: 18, OVERDUE: 16, SILENT: 15}
PUMP_OUTLINE = QColor("#1F3A5F")
"""Dark navy outline of dispenser markers and bubbles (piles have white ones)."""


def pump_icon(code: int = NORMAL, size: int = 16) -> QPixmap:
    """The dispenser marker in a status colour, for the legend and the filter box."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(size / 2, size / 2)
    scale = size * 0.9
    painter.scale(scale, scale)
    painter.setPen(QPen(PUMP_OUTLINE, 1.0 / scale))
    painter.setBrush(STATUS_COLORS[code])
    painter.drawPath(PUMP_SYMBOL)
    painter.end()
    return pixmap


# --------------------------------------------------------------------------- scene items


def _rings_path(rings: Sequence[np.ndarray]) -> QPainterPath:
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for ring in rings:
        sub = pg.arrayToQPath(ring[:, 0], ring[:, 1], connect="all")
        sub.closeSubpath()
        path.addPath(sub)
    return path


_CHUNK = 256
"""Vertices per outline chunk: small enough to cull when zoomed in, few enough to draw fast."""


class _Layer:
    """Paths with their bounding boxes, so a paint skips the ones out of view.

    When most of them are in view, one combined path is cheaper than many
    small ones (each antialiased stroke has a fixed set-up cost), so
    ``draw`` switches to it.
    """

    def __init__(self, paths: Sequence[QPainterPath]) -> None:
        self.paths = list(paths)
        self.combined = QPainterPath()
        for path in self.paths:
            self.combined.addPath(path)
        boxes = [p.boundingRect() for p in self.paths]
        self.boxes = np.array(
            [(b.left(), b.top(), b.right(), b.bottom()) for b in boxes], dtype=np.float64
        ).reshape(-1, 4)

    def visible(self, rect: QRectF) -> list[int]:
        b = self.boxes
        hit = (
            (b[:, 0] <= rect.right())
            & (b[:, 2] >= rect.left())
            & (b[:, 1] <= rect.bottom())
            & (b[:, 3] >= rect.top())
        )
        return np.flatnonzero(hit).tolist()

    def draw(self, painter: QPainter, rect: QRectF) -> None:
        """Strokes or fills (with the painter's pen and brush) what is in ``rect``."""
        visible = self.visible(rect)
        if len(visible) > len(self.paths) // 4:
            painter.drawPath(self.combined)
        else:
            for i in visible:
                painter.drawPath(self.paths[i])

    @classmethod
    def outlines(cls, rings: Sequence[np.ndarray]) -> _Layer:
        """Open polyline chunks of the rings (strokes only)."""
        chunks = []
        for ring in rings:
            for start in range(0, len(ring) - 1, _CHUNK):
                part = ring[start : start + _CHUNK + 1]
                chunks.append(pg.arrayToQPath(part[:, 0], part[:, 1], connect="all"))
        return cls(chunks)


class BasemapItem(pg.GraphicsObject):
    """District polygons (filled, outlined), the city outline and neighbouring prefectures.

    Built once into QPainterPaths in map units; the painter's transform does
    the projection to the screen, with cosmetic (pixel-width) pens so outlines
    stay crisp at every zoom. Fills are one path per region and outlines are
    chunks of 256 vertices, each with a bounding box: zoomed into a district,
    a paint touches a few hundred vertices instead of all ~24,000.
    """

    def __init__(self, regions: Sequence[Region]) -> None:
        super().__init__()
        self.districts = [r for r in regions if r.level == "district"]
        city = [r for r in regions if r.level == "city"]
        context = [
            r
            for r in regions
            if r.level == "prefecture" and not (city and r.adcode == city[0].adcode)
        ]
        self.district_paths = [_rings_path(r.rings) for r in self.districts]
        self.context_fill = _Layer([_rings_path(r.rings) for r in context])
        self.district_fill = _Layer(self.district_paths)
        self.context_lines = _Layer.outlines([ring for r in context for ring in r.rings])
        self.district_lines = _Layer.outlines([ring for r in self.districts for ring in r.rings])
        self.city_lines = _Layer.outlines([ring for r in city for ring in r.rings])
        self.fills: list[QColor] = [DISTRICT_FILL] * len(self.districts)
        self._frame: tuple[tuple[float, ...], QPixmap, tuple[float, float]] | None = None
        """(scale and size key, the rendered frame, the translation it was drawn at)."""
        core = QRectF()
        for path in self.district_paths:
            core = core.united(path.boundingRect())
        self.core_rect = core

    def set_fills(self, colors: Sequence[QColor] | None) -> None:
        """Per-district fill colours (choropleth), or None for the plain fill."""
        self.fills = list(colors) if colors is not None else [DISTRICT_FILL] * len(self.districts)
        self._frame = None
        self.update()

    def boundingRect(self) -> QRectF:
        # The whole world: the item paints the view's background too, so Qt must never
        # cull it (a view panned off the regions, or no basemap file at all).
        return WORLD

    @staticmethod
    def covers(painter: QPainter) -> bool:
        """True if ``paint`` fills the whole device (background included) on this painter.

        It does when painting a widget (the map's viewport): the view then skips its own
        background fill, one full-frame pass less per frame.
        """
        return isinstance(painter.device(), QWidget)

    def paint(self, painter: QPainter, *args: object) -> None:
        """The map as one opaque frame-sized pixmap, re-rendered only where it changed.

        Qt's DeviceCoordinateCache (used before) keeps a translucent pixmap that it
        reallocates, clears and alpha-blends over the view's background on every frame
        of a pan: three full-frame passes and a 6 MB allocation. Here the frame is
        opaque (background included), a pan scrolls it in place and renders only the
        strips that came into view, a zoom renders it again, and drawing it is a copy.
        """
        transform = painter.transform()
        device = painter.device()
        if device is None:
            return
        simple = transform.type().value <= QTransform.TransformationType.TxScale.value
        if not self.covers(painter) or not simple:
            if self.covers(painter):
                painter.save()
                painter.resetTransform()
                painter.fillRect(QRectF(0, 0, device.width(), device.height()), BACKGROUND)
                painter.restore()
            self._render(painter, QRectF(0, 0, device.width(), device.height()))
            return
        ratio = device.devicePixelRatioF()
        width, height = round(device.width() * ratio), round(device.height() * ratio)
        key = (transform.m11(), transform.m22(), width, height, ratio)
        frame = self._frame
        if frame is None or frame[0] != key:
            reuse = frame is not None and frame[0][2:] == key[2:]
            pixmap = frame[1] if frame is not None and reuse else QPixmap(width, height)
            pixmap.setDevicePixelRatio(ratio)
            origin = (transform.dx(), transform.dy())
            self._paint_region(pixmap, transform, QRect(0, 0, width, height))
            self._frame = frame = (key, pixmap, origin)
        else:
            pixmap, (ox, oy) = frame[1], frame[2]
            # Scroll by whole device pixels; the frame keeps the origin it was drawn
            # at, so the rounding (< 0.5 px) never accumulates.
            sx = round((transform.dx() - ox) * ratio)
            sy = round((transform.dy() - oy) * ratio)
            if sx or sy:
                origin = (ox + sx / ratio, oy + sy / ratio)
                drawn = QTransform(transform.m11(), 0, 0, transform.m22(), *origin)
                if abs(sx) >= width or abs(sy) >= height:
                    self._paint_region(pixmap, drawn, QRect(0, 0, width, height))
                else:
                    pixmap.scroll(sx, sy, pixmap.rect())
                    exposed = QRegion(0, 0, width, height) - QRegion(sx, sy, width, height)
                    for rect in exposed:
                        self._paint_region(pixmap, drawn, rect)
                self._frame = (key, pixmap, origin)
        painter.save()
        painter.resetTransform()
        painter.drawPixmap(0, 0, pixmap)
        painter.restore()

    def _paint_region(self, pixmap: QPixmap, transform: QTransform, rect: QRect) -> None:
        """Renders the device-pixel ``rect`` of the frame: background, then the map."""
        ratio = pixmap.devicePixelRatioF()
        area = QRectF(
            rect.x() / ratio, rect.y() / ratio, rect.width() / ratio, rect.height() / ratio
        )
        painter = QPainter(pixmap)
        painter.setClipRect(area)
        painter.fillRect(area, BACKGROUND)
        painter.setTransform(transform)
        self._render(painter, area)
        painter.end()

    def _render(self, painter: QPainter, area: QRectF) -> None:
        """Draws the regions over the device rectangle ``area`` with the painter's transform."""
        # Measured on a 1600x1000 frame: antialiased fills of these ~24k
        # vertices cost ~8 ms and an antialiased 2 px stroke ~15 ms, while
        # aliased fills plus 1 px antialiased cosmetic strokes cost ~3 ms. Fill
        # seams are hidden under the outlines, so only the lines are smoothed,
        # and the bold city border is two 1 px strokes 0.6 px apart.
        transform = painter.transform()
        inverse, ok = transform.inverted()
        if not ok:
            return
        # One pixel more around the area: an outline just outside still has an
        # antialiased edge inside it.
        view = inverse.mapRect(area.adjusted(-2, -2, 2, 2))
        aa = QPainter.RenderHint.Antialiasing
        painter.setRenderHint(aa, False)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(CONTEXT_FILL)
        self.context_fill.draw(painter, view)
        for i in self.district_fill.visible(view):
            painter.setBrush(self.fills[i])
            painter.drawPath(self.district_fill.paths[i])
        painter.setRenderHint(aa, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for layer, color in (
            (self.context_lines, CONTEXT_LINE),
            (self.district_lines, DISTRICT_LINE),
            (self.city_lines, CITY_LINE),
        ):
            painter.setPen(_cosmetic_pen(color))
            layer.draw(painter, view)
        painter.setTransform(transform * QTransform.fromTranslate(0.6, 0.6))
        self.city_lines.draw(painter, view)
        painter.setTransform(transform)


def _cosmetic_pen(color: QColor, width: float = 1.0) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    return pen


_LABEL_NUDGES = np.array(
    sorted(
        ((dx, dy) for dy in (0, -22, 22, -44, 44, -66, 66) for dx in (0, -50, 50, -100, 100)),
        key=lambda d: abs(d[0]) + 2 * abs(d[1]),
    ),
    dtype=np.float64,
)
"""Label offsets in pixels, nearest first (vertical moves cost more: lines are short)."""


def _free_nudges(box: QRectF, anchor: QPointF, circles: np.ndarray) -> np.ndarray:
    """For each nudge of ``box`` around ``anchor``: True if it misses every (x, y, r) circle."""
    left = anchor.x() + box.left() + _LABEL_NUDGES[:, 0]
    top = anchor.y() + box.top() + _LABEL_NUDGES[:, 1]
    if not len(circles):
        return np.ones(len(_LABEL_NUDGES), dtype=bool)
    cx, cy, r = circles[:, 0], circles[:, 1], circles[:, 2]
    nx = np.clip(cx[None, :], left[:, None], (left + box.width())[:, None])
    ny = np.clip(cy[None, :], top[:, None], (top + box.height())[:, None])
    return ~((nx - cx) ** 2 + (ny - cy) ** 2 < r**2).any(axis=1)


class LabelItem(pg.GraphicsObject):
    """District names drawn in screen space with a halo; overlapping labels are dropped.

    Larger districts win a collision, so zoomed out the city reads 淳安县,
    临安区 ... and the small central districts appear as the user zooms in;
    a label slides around its anchor to stay clear of bubbles. Each name is
    rendered once (text + halo) into a pixmap, so a frame is a few blits.
    The language follows ``QLocale()`` at paint time.
    """

    def __init__(self, regions: Sequence[Region], bounds: QRectF) -> None:
        super().__init__()
        districts = [r for r in regions if r.level == "district"]
        city_codes = {r.adcode for r in regions if r.level == "city"}
        context = [r for r in regions if r.level == "prefecture" and r.adcode not in city_codes]
        self.labels: list[tuple[Region, bool]] = [
            (r, True) for r in sorted(districts, key=lambda r: -r.area)
        ] + [(r, False) for r in context]
        self._bounds = bounds
        self.font = QFont()
        self.font.setPixelSize(13)
        self.font.setWeight(QFont.Weight.DemiBold)
        self.context_font = QFont()
        self.context_font.setPixelSize(12)
        self.context_font.setItalic(True)
        self._sprites: dict[tuple[str, bool], tuple[QPixmap, QRectF]] = {}
        self.clusters: ClusterItem | None = None
        """Set by the view: labels give way to its bubbles."""
        self.more_clusters: list[ClusterItem] = []
        """Other layers' bubbles (the dispensers') labels give way to as well."""
        self.placed: dict[str, QRectF] = {}
        """Device rectangles of the labels drawn in the last frame, by name (for tests)."""
        self.anchors: dict[int, tuple[float, float]] = {}
        """Per region id: where to label it when its own label point is out of view."""
        self._inside_cache: dict[tuple[int, float, float, float, int], bool] = {}
        self.reserved: list[QRectF] = []
        """Viewport rectangles covered by overlays (the legend): no label goes there."""
        self._last_key: tuple | None = None
        self._last_draw: list[tuple[QPointF, QPixmap]] = []

    def update_anchors(self, window: tuple[float, float, float, float]) -> None:
        """Finds an in-view anchor for districts whose label point is off screen.

        Zoomed into the city centre, the view can lie entirely inside 西湖区
        with its label point far away; a 7x5 grid of candidate points in the
        window is tested against each such district (bbox first, then the
        vectorised even-odd rule)
        and the one nearest the district's own label point wins. Runs in the
        throttled refresh, not in paint.
        """
        xmin, ymin, xmax, ymax = window
        gx, gy = np.meshgrid(
            np.linspace(xmin + 0.12 * (xmax - xmin), xmax - 0.12 * (xmax - xmin), 7),
            np.linspace(ymin + 0.12 * (ymax - ymin), ymax - 0.12 * (ymax - ymin), 5),
        )
        px, py = gx.ravel(), gy.ravel()
        anchors: dict[int, tuple[float, float]] = {}
        for region, major in self.labels:
            lx, ly = region.label_xy
            if not major or (xmin <= lx <= xmax and ymin <= ly <= ymax):
                continue
            bx0, by0, bx1, by1 = region.bbox
            if bx1 < xmin or bx0 > xmax or by1 < ymin or by0 > ymax:
                continue
            inside = (px >= bx0) & (px <= bx1) & (py >= by0) & (py <= by1)
            if not inside.any():
                continue
            inside[inside] = points_in_rings(px[inside], py[inside], region.rings)
            if inside.any():
                d = np.hypot(px - lx, py - ly)
                d[~inside] = np.inf
                k = int(np.argmin(d))
                anchors[id(region)] = (float(px[k]), float(py[k]))
        self.anchors = anchors

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _layers(self) -> list[ClusterItem]:
        return [c for c in (self.clusters, *self.more_clusters) if c is not None]

    def _bubbles(self, transform: QTransform) -> np.ndarray:
        """(n, 3) device x, y, radius of the bubbles drawn above the labels."""
        parts = [np.zeros((0, 3))]
        t = transform
        for c in self._layers():
            if len(c.x):
                dx = t.m11() * c.x + t.m21() * c.y + t.dx()
                dy = t.m12() * c.x + t.m22() * c.y + t.dy()
                parts.append(np.column_stack([dx, dy, c.diameter / 2 + 2]))
        return np.concatenate(parts)

    def _inside_own_district(self, region: Region, transform: QTransform, k: int) -> bool:
        """True if nudge ``k`` keeps the label's centre inside its own district.

        A label pushed across a boundary would name the wrong district. The
        un-nudged anchor is inside by construction; other nudges are tested
        one point at a time (most labels take the first free one) and cached
        per zoom, since panning does not change the answer.
        """
        if k == 0:
            return True
        ax, ay = self.anchors.get(id(region), region.label_xy)
        key = (id(region), ax, ay, float(f"{transform.m11():.4g}"), k)
        inside = self._inside_cache.get(key)
        if inside is None:
            if len(self._inside_cache) > 4096:
                self._inside_cache.clear()
            px = np.array([ax + _LABEL_NUDGES[k, 0] / transform.m11()])
            py = np.array([ay + _LABEL_NUDGES[k, 1] / transform.m22()])
            inside = bool(points_in_rings(px, py, region.rings)[0])
            self._inside_cache[key] = inside
        return inside

    def _sprite(self, text: str, major: bool) -> tuple[QPixmap, QRectF]:
        """The label as a pixmap and its rectangle relative to the anchor (centred)."""
        key = (text, major)
        sprite = self._sprites.get(key)
        if sprite is None:
            font = self.font if major else self.context_font
            metrics = QFontMetricsF(font)
            width, height = metrics.horizontalAdvance(text), metrics.height()
            pad = 3
            pixmap = QPixmap(int(width + 2 * pad + 1), int(height + 2 * pad + 1))
            pixmap.fill(Qt.GlobalColor.transparent)
            path = QPainterPath()
            path.addText(pad, pad + metrics.ascent(), font, text)
            halo = QPainterPathStroker()
            halo.setWidth(3.5)
            halo.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 215))
            painter.drawPath(halo.createStroke(path))
            painter.setBrush(LABEL_COLOR if major else CONTEXT_LABEL_COLOR)
            painter.drawPath(path)
            painter.end()
            rect = QRectF(
                -pixmap.width() / 2, -pixmap.height() / 2, pixmap.width(), pixmap.height()
            )
            sprite = (pixmap, rect)
            self._sprites[key] = sprite
        return sprite

    def paint(self, painter: QPainter, *args: object) -> None:
        transform = painter.transform()
        device = painter.device()
        viewport = QRectF(0, 0, device.width(), device.height()) if device else QRectF()
        language = _ui_language()
        # A repaint that changes nothing the placement depends on (a hover, a tooltip, the
        # frame after a re-cluster) redraws the last frame's labels: placing them costs
        # ~3 ms of Python per frame on the city view.
        key = (
            tuple(round(v, 9) for v in (transform.m11(), transform.m12(), transform.m21(),
                                        transform.m22(), transform.dx(), transform.dy())),
            (viewport.width(), viewport.height()),
            language,
            tuple((id(c.x), c.version) for c in self._layers()),
            tuple((r.x(), r.y(), r.width(), r.height()) for r in self.reserved),
            id(self.anchors),
        )  # fmt: skip
        if key == self._last_key:
            painter.save()
            painter.resetTransform()
            for point, pixmap in self._last_draw:
                painter.drawPixmap(point, pixmap)
            painter.restore()
            return
        self._last_key = key
        self._last_draw = []
        bubbles = self._bubbles(transform)
        placed: list[QRectF] = list(self.reserved)
        self.placed = {}
        painter.save()
        painter.resetTransform()
        for region, major in self.labels:
            anchor = transform.map(QPointF(*self.anchors.get(id(region), region.label_xy)))
            if not viewport.contains(anchor):
                continue
            name = region.name(language)
            pixmap, box = self._sprite(name, major)
            near = bubbles[
                (np.abs(bubbles[:, 0] - anchor.x()) < 200)
                & (np.abs(bubbles[:, 1] - anchor.y()) < 120)
            ]
            for k in np.flatnonzero(_free_nudges(box, anchor, near)).tolist():
                ox, oy = _LABEL_NUDGES[k]
                rect = box.translated(anchor.x() + ox, anchor.y() + oy)
                if (
                    viewport.contains(rect)
                    and not any(rect.intersects(r) for r in placed)
                    and (not major or self._inside_own_district(region, transform, k))
                ):
                    placed.append(rect)
                    self.placed[name] = rect
                    painter.drawPixmap(rect.topLeft(), pixmap)
                    self._last_draw.append((rect.topLeft(), pixmap))
                    break
        painter.restore()


_MIX_STEPS = 96
"""Ring arcs are quantised to 1/96 of a turn so bubble sprites can be shared."""


class ClusterItem(pg.GraphicsObject):
    """All cluster bubbles of the current view, painted in one pass in device coordinates.

    A bubble is a disc in the worst status's colour inside a ring showing the
    status mix, with the count on top. Disc + ring are rendered once per
    (size, worst status, quantised mix) into a cached pixmap, so panning
    costs one blit and one cached ``QStaticText`` per bubble.
    """

    def __init__(self, bounds: QRectF) -> None:
        super().__init__()
        self._bounds = bounds
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.count = np.zeros(0, np.int64)
        self.worst = np.zeros(0, np.uint8)
        self.status_counts = np.zeros((0, N_STATUS), np.int64)
        self.diameter = np.zeros(0)
        self._keys: list[tuple[int, int, tuple[int, ...]]] = []
        self.font = QFont()
        self.font.setPixelSize(11)
        self.font.setWeight(QFont.Weight.Bold)
        self._texts: dict[int, QStaticText] = {}
        self._sprites: dict[tuple[int, int, tuple[int, ...]], QPixmap] = {}
        self._sprite_entries: dict[tuple[int, int, tuple[int, ...]], tuple[QPixmap, float]] = {}
        self._text_entries: dict[int, tuple[QStaticText, float, float]] = {}
        self._draw: list[tuple[QPixmap, float, QStaticText, float, float, int]] = []
        """Per bubble: sprite, its half width, count text, text half width and height,
        worst status (resolved once per ``set_clusters``, not in every paint)."""
        self.version = 0
        """Bumped by every ``set_clusters`` (the labels redo their placement then)."""

    def set_clusters(self, view: ClusterView) -> None:
        self.version += 1
        # Big bubbles first, so the small ones on top of them stay visible.
        order = np.argsort(-view.count, kind="stable")
        self.x = view.x[order]
        self.y = view.y[order]
        self.count = view.count[order]
        self.worst = view.worst[order]
        self.status_counts = view.status_counts[order]
        self.diameter = bubble_diameter(self.count)
        mix = self.status_counts[:, list(SEVERITY_ORDER)]
        steps = np.rint(_MIX_STEPS * mix / np.maximum(self.count, 1)[:, None]).astype(np.int64)
        steps = np.where(mix > 0, np.maximum(steps, 1), 0)  # one alarm still shows
        sizes = np.rint(self.diameter).astype(np.int64)
        self._keys = [
            (int(d), int(w), tuple(row))
            for d, w, row in zip(sizes.tolist(), self.worst.tolist(), steps.tolist())
        ]
        self._draw = [
            (*self._sprite_entry(key), *self._text_entry(n), key[1])
            for key, n in zip(self._keys, self.count.tolist())
        ]
        self.update()

    def _sprite_entry(self, key: tuple[int, int, tuple[int, ...]]) -> tuple[QPixmap, float]:
        """A bubble's sprite and its half width (cached with the sprite)."""
        entry = self._sprite_entries.get(key)
        if entry is None:
            if len(self._sprite_entries) > 4000:
                self._sprite_entries.clear()
            pixmap = self._sprite(key)
            entry = self._sprite_entries[key] = (pixmap, pixmap.width() / 2)
        return entry

    def _text_entry(self, n: int) -> tuple[QStaticText, float, float]:
        """A count's static text and its half width and height (cached with the text)."""
        entry = self._text_entries.get(n)
        if entry is None:
            if len(self._text_entries) > 5000:
                self._text_entries.clear()
            text = self._static_text(n)
            size = text.size()
            entry = self._text_entries[n] = (text, size.width() / 2, size.height() / 2)
        return entry

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _static_text(self, n: int) -> QStaticText:
        text = self._texts.get(n)
        if text is None:
            if len(self._texts) > 5000:  # bound the cache on huge fleets
                self._texts.clear()
            text = QStaticText(_short_count(n))
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.prepare(font=self.font)
            self._texts[n] = text
        return text

    def _sprite(self, key: tuple[int, int, tuple[int, ...]]) -> QPixmap:
        """The bubble's pixmap for (diameter, worst status, status steps), drawn once."""
        pixmap = self._sprites.get(key)
        if pixmap is not None:
            return pixmap
        if len(self._sprites) > 4000:
            self._sprites.clear()
        diameter, worst, steps = key
        pixmap = QPixmap(diameter + 4, diameter + 4)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._draw_sprite(painter, diameter, worst, steps)
        painter.end()
        self._sprites[key] = pixmap
        return pixmap

    def _draw_sprite(
        self, painter: QPainter, diameter: int, worst: int, steps: tuple[int, ...]
    ) -> None:
        """A round bubble: a halo, the status mix as pie slices, the worst status inside."""
        size = diameter + 4
        center = QPointF(size / 2, size / 2)
        radius = diameter / 2
        halo = QColor(STATUS_COLORS[worst])
        halo.setAlpha(70)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(halo)
        painter.drawEllipse(center, radius + 1.5, radius + 1.5)
        box = QRectF(center.x() - radius, center.y() - radius, 2 * radius, 2 * radius)
        start = 90 * 16  # 12 o'clock, clockwise, worst status first
        for code, n in zip(SEVERITY_ORDER, steps):
            if n:
                span = -round(5760 * n / max(sum(steps), 1))
                painter.setBrush(STATUS_COLORS[code])
                painter.drawPie(box, start, span)
                start += span
        fill = QColor(STATUS_COLORS[worst])
        fill.setAlpha(235)
        painter.setPen(QPen(QColor(255, 255, 255, 235), 2.0))
        painter.setBrush(fill)
        painter.drawEllipse(center, radius - 4.0, radius - 4.0)

    def paint(self, painter: QPainter, *args: object) -> None:
        if not len(self.x):
            return
        t = painter.transform()
        dx = t.m11() * self.x + t.m21() * self.y + t.dx()
        dy = t.m12() * self.x + t.m22() * self.y + t.dy()
        device = painter.device()
        w, h = (device.width(), device.height()) if device else (1e9, 1e9)
        r = self.diameter / 2 + 2
        visible = np.flatnonzero((dx > -r) & (dx < w + r) & (dy > -r) & (dy < h + r))
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        # Per bubble only the two draw calls: ~50 bubbles a frame, twice per pan step.
        draw, pens, pen = self._draw, _TEXT_PENS, -1
        for i, x, y in zip(visible.tolist(), dx[visible].tolist(), dy[visible].tolist()):
            pixmap, half, text, text_w, text_h, worst = draw[i]
            painter.drawPixmap(round(x - half), round(y - half), pixmap)
            if worst != pen:
                painter.setPen(pens[worst])
                pen = worst
            painter.drawStaticText(QPointF(x - text_w, y - text_h), text)
        painter.restore()


def pump_sprite(code: int) -> QPixmap:
    """The dispenser marker of a status, rendered once (blitted per dispenser)."""
    size = PUMP_SIZES[code]
    side = math.ceil(size) + 3
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(side / 2, side / 2)
    painter.scale(size, size)
    painter.setPen(QPen(PUMP_OUTLINE, 1.0 / size))
    painter.setBrush(STATUS_COLORS[code])
    painter.drawPath(PUMP_SYMBOL)
    painter.end()
    return pixmap


class FuelClusterItem(ClusterItem):
    """The whole dispenser layer in one item: single dispensers as pump glyphs and groups
    as rounded-square bubbles with a navy outline and a status-mix bar (a group of
    dispensers never reads as a group of piles, which are round).

    One scene item instead of one scatter per status plus the bubbles: the dispensers in
    view are few (a tenth of the piles), so blitting a cached glyph each costs less than
    five more items in every paint traversal and five ``setData`` per re-cluster.
    """

    def __init__(self, bounds: QRectF) -> None:
        super().__init__(bounds)
        self.marker_x = np.zeros(0)
        self.marker_y = np.zeros(0)
        self.marker_status = np.zeros(0, np.uint8)
        self._pumps: dict[int, QPixmap] = {}
        self._marker_half = np.zeros(0)

    def set_markers(self, x: np.ndarray, y: np.ndarray, status: np.ndarray) -> None:
        """The single dispensers to draw (map units), worst status painted last (on top)."""
        order = np.argsort(_Z_ARRAY[status], kind="stable")
        self.marker_x, self.marker_y, self.marker_status = x[order], y[order], status[order]
        for code in np.unique(self.marker_status).tolist():
            if code not in self._pumps:
                self._pumps[code] = pump_sprite(code)
        self._marker_half = np.array(
            [self._pumps[c].width() / 2 if c in self._pumps else 0.0 for c in range(N_STATUS)]
        )[self.marker_status]
        self.update()

    def paint(self, painter: QPainter, *args: object) -> None:
        if len(self.marker_x):
            t = painter.transform()
            dx = t.m11() * self.marker_x + t.m21() * self.marker_y + t.dx()
            dy = t.m12() * self.marker_x + t.m22() * self.marker_y + t.dy()
            device = painter.device()
            w, h = (device.width(), device.height()) if device else (1e9, 1e9)
            visible = np.flatnonzero((dx > -12) & (dx < w + 12) & (dy > -12) & (dy < h + 12))
            half = self._marker_half[visible]
            left = np.rint(dx[visible] - half).astype(np.int64).tolist()
            top = np.rint(dy[visible] - half).astype(np.int64).tolist()
            pumps = self._pumps
            painter.save()
            painter.resetTransform()
            for code, x, y in zip(self.marker_status[visible].tolist(), left, top):
                painter.drawPixmap(x, y, pumps[code])
            painter.restore()
        super().paint(painter, *args)

    def _draw_sprite(
        self, painter: QPainter, diameter: int, worst: int, steps: tuple[int, ...]
    ) -> None:
        """A rounded square (never read as piles' round bubbles) with a status-mix bar."""
        box = QRectF(2, 2, diameter, diameter)
        fill = QColor(STATUS_COLORS[worst])
        fill.setAlpha(240)
        painter.setPen(QPen(PUMP_OUTLINE, 2.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 6, 6)
        bar = QRectF(box.left() + 5, box.bottom() - 7, box.width() - 10, 3.5)
        total = max(sum(steps), 1)
        x = bar.left()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillRect(bar, QColor(255, 255, 255, 220))
        for code, n in zip(SEVERITY_ORDER, steps):
            if n:
                width = bar.width() * n / total
                painter.fillRect(QRectF(x, bar.top(), width, bar.height()), STATUS_COLORS[code])
                x += width


@dataclass(frozen=True)
class MapHit:
    """What is under the mouse: a pile or dispenser (data row of its layer), or a cluster
    (index into its layer's view). ``kind``: pile, cluster, dispenser, fuel_cluster."""

    kind: str
    index: int


# --------------------------------------------------------------------------- the map view


class MapView(pg.GraphicsView):
    """The map canvas. Feed it ``set_data`` and ``set_filter``; it emits ``pile_clicked``.

    Pan with the left mouse button, zoom with the wheel; click a pile for its
    id, click a bubble to zoom into it, hover either for a tooltip.
    """

    pile_clicked = Signal(str)
    """Emitted with the pile id when the user clicks an individual pile."""
    dispenser_clicked = Signal(str)
    """Emitted with the dispenser id when the user clicks an individual dispenser."""
    shown_changed = Signal(int, int)
    """(filtered piles, all piles) after data or filter changes."""
    view_updated = Signal()
    """After the visible window was re-clustered (tests and benchmarks wait on it)."""

    def __init__(self, basemap_path: Path | str = BASEMAP, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=BACKGROUND)
        self.setAntialiasing(False)
        self.setMinimumSize(QSize(320, 240))
        self.vb = pg.ViewBox(lockAspect=1.0, enableMenu=False, defaultPadding=0.02)
        self.vb.disableAutoRange()
        self.setCentralItem(self.vb)
        self.regions: tuple[Region, ...] = ()
        path = Path(basemap_path)
        if path.exists():
            self.regions = load_basemap(path)
        self.basemap = BasemapItem(self.regions)
        self.basemap.setZValue(0)
        # The basemap caches its own opaque frame (pans scroll it) and paints the
        # background with it: no background cache to blit under it.
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        # Every frame paints every pixel (the basemap frame, or drawBackground's solid
        # brush): Qt's fill of the viewport before each frame was a wasted full pass.
        self.viewport().setAutoFillBackground(False)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.vb.addItem(self.basemap, ignoreBounds=True)
        self.labels = LabelItem(self.regions, WORLD)
        self.labels.setZValue(5)
        self.vb.addItem(self.labels, ignoreBounds=True)
        self.scatters: dict[int, pg.ScatterPlotItem] = {}
        for code in range(N_STATUS):
            item = pg.ScatterPlotItem(
                pxMode=True,
                symbol=STATUS_SYMBOLS[code],
                size=STATUS_SIZES[code],
                brush=pg.mkBrush(STATUS_COLORS[code]),
                pen=pg.mkPen(QColor(255, 255, 255, 230), width=1.2),
                hoverable=False,
                useCache=True,
                antialias=True,
            )
            item.setZValue(10 + STATUS_Z[code])
            self.vb.addItem(item, ignoreBounds=True)
            self.scatters[code] = item
        self.clusters = ClusterItem(WORLD)
        self.clusters.setZValue(20)
        self.labels.clusters = self.clusters
        self.vb.addItem(self.clusters, ignoreBounds=True)
        # The dispenser layer: same statuses and colours, its own glyph and bubbles, one
        # item drawn above the piles (there are ten times fewer of them).
        self.fuel_clusters = FuelClusterItem(WORLD)
        self.fuel_clusters.setZValue(21)
        self.vb.addItem(self.fuel_clusters, ignoreBounds=True)
        self.labels.more_clusters = [self.fuel_clusters]
        # A ring around the pile the user came for (from an alarm, a search).
        self.highlight = pg.ScatterPlotItem(
            pxMode=True,
            symbol="o",
            size=30,
            brush=pg.mkBrush(0, 0, 0, 0),
            pen=pg.mkPen(QColor("#1F4E9E"), width=3),
            hoverable=False,
        )
        self.highlight.setZValue(30)
        self.vb.addItem(self.highlight, ignoreBounds=True)

        self.data = MapData.empty()
        self.filter = MapFilter()
        self.mask = np.ones(0, dtype=bool)
        self.pyramid = ClusterPyramid(self.data)
        self.current = ClusterView.empty()
        self.fuel = MapData.empty()
        """The dispenser layer (``pile_ids`` holds dispenser IDs; ``kind`` is unused)."""
        self.fuel_mask = np.ones(0, dtype=bool)
        self.fuel_pyramid = ClusterPyramid(self.fuel)
        self.fuel_current = ClusterView.empty()
        self.choropleth = False

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RECOMPUTE_MS)
        self._timer.timeout.connect(self.refresh)
        self.vb.sigRangeChanged.connect(self._schedule)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.reset_view()

    # ----------------------------------------------------------------- data & filter

    def set_data(self, data: MapData) -> None:
        """Replaces the piles (after a sync). Builds the Morton order once (~0.1 s per 1M)."""
        self.data = data
        self.pyramid = ClusterPyramid(data)
        if self.basemap.core_rect.isEmpty():
            self.reset_view()  # no basemap: frame the piles instead
        self._apply_filter(self.filter)
        self._update_choropleth()

    def set_dispensers(self, data: MapData) -> None:
        """Replaces the dispenser layer (after a sync); the pile filter applies to it too."""
        self.fuel = data
        self.fuel_pyramid = ClusterPyramid(data)
        self._apply_filter(self.filter)

    def set_filter(self, map_filter: MapFilter) -> None:
        """Shows only the piles the filter keeps; the pyramid re-clusters lazily."""
        if map_filter != self.filter:
            self._apply_filter(map_filter)

    def _apply_filter(self, map_filter: MapFilter) -> None:
        self.filter = map_filter
        self.mask = map_filter.mask(self.data)
        if not map_filter.shows(PILES):
            self.mask[:] = False
        whole = map_filter.is_all() and map_filter.shows(PILES)
        self.pyramid.set_mask(None if whole else self.mask)
        fuel_filter = map_filter.for_layer(self.operator_choices, self.district_choices, self.fuel)
        self.fuel_mask = fuel_filter.mask(self.fuel)
        if not map_filter.shows(DISPENSERS):
            self.fuel_mask[:] = False
        whole = fuel_filter.is_all() and map_filter.shows(DISPENSERS)
        self.fuel_pyramid.set_mask(None if whole else self.fuel_mask)
        self.shown_changed.emit(self.shown_count, len(self.data))
        self.refresh()

    @property
    def fuel_shown_count(self) -> int:
        """Dispensers that pass the filter (visible or not in the current window)."""
        return len(self.fuel_pyramid)

    @property
    def shown_count(self) -> int:
        """Piles that pass the filter (visible or not in the current window)."""
        return len(self.pyramid)

    def set_choropleth(self, enabled: bool) -> None:
        """Fills districts by anomaly rate (if the data carries one)."""
        self.choropleth = enabled
        self._update_choropleth()

    def district_rates(self) -> list[float | None]:
        """Anomaly rate per basemap district, matched by Chinese/English name or adcode."""
        rates: list[float | None] = [None] * len(self.basemap.districts)
        if self.data.anomaly_rate is None:
            return rates
        index = {name: i for i, name in enumerate(self.data.district_names)}
        for k, region in enumerate(self.basemap.districts):
            for key in (region.name_zh, region.name_en, region.adcode):
                if key in index:
                    rates[k] = float(self.data.anomaly_rate[index[key]])
                    break
        return rates

    def _update_choropleth(self) -> None:
        rates = self.district_rates()
        known = [r for r in rates if r is not None]
        if not self.choropleth or not known:
            self.basemap.set_fills(None)
            return
        # Stretch the ramp over the observed range: rates of 3-5 % would all
        # look alike on a 0-max scale, and the differences are what matters.
        low, high = min(known), max(known)
        span = (high - low) or 1.0
        self.basemap.set_fills(
            [DISTRICT_FILL if r is None else choropleth_color((r - low) / span) for r in rates]
        )

    @property
    def operator_choices(self) -> tuple[str, ...]:
        """The filter bar's operators: the piles' (their codes), then dispensers-only ones."""
        return union_names(self.data.operator_names, self.fuel.operator_names)

    @property
    def district_choices(self) -> tuple[str, ...]:
        """The filter bar's districts: the piles' (their codes), then dispensers-only ones."""
        return union_names(self.data.district_names, self.fuel.district_names)

    def district_label(self, code: int) -> str:
        """A district code's display name in the UI language (basemap names if they match)."""
        names = self.district_choices
        if not 0 <= code < len(names):
            return ""
        return self._district_name(names[code])

    def _district_name(self, name: str) -> str:
        for region in self.basemap.districts:
            if name in (region.name_zh, region.name_en, region.adcode):
                return region.name(_ui_language())
        return name

    # ----------------------------------------------------------------- view window

    def _set_limits(self, rect: QRectF) -> None:
        """Keeps the user near the map: at most 3x the city across, at least ~100 m."""
        if rect.isEmpty():
            return
        span = max(rect.width(), rect.height())
        self.vb.setLimits(
            xMin=rect.left() - span,
            xMax=rect.right() + span,
            yMin=rect.top() - span,
            yMax=rect.bottom() + span,
            minXRange=0.1 / KM_PER_UNIT,
            minYRange=0.1 / KM_PER_UNIT,
            maxXRange=3 * span,
            maxYRange=3 * span,
        )

    def reset_view(self) -> None:
        """Shows the whole city (or all piles when there is no basemap)."""
        rect = self.basemap.core_rect
        if rect.isEmpty() and len(self.data):
            rect = QRectF(
                float(self.data.x.min()),
                float(self.data.y.min()),
                float(np.ptp(self.data.x)) or 0.01,
                float(np.ptp(self.data.y)) or 0.01,
            )
        if not rect.isEmpty():
            self._set_limits(rect)
            self.vb.setRange(rect=rect, padding=0.02)

    def zoom_to(self, xmin: float, ymin: float, xmax: float, ymax: float) -> None:
        """Zooms onto a map-unit rectangle, at least ~400 m across."""
        minimum = 0.4 / KM_PER_UNIT
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        half_w = max(xmax - xmin, minimum) / 2
        half_h = max(ymax - ymin, minimum) / 2
        self.vb.setRange(
            xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h), padding=0.15
        )

    def focus_pile(self, pile_id: str) -> bool:
        """Centres on a pile at street level and rings it (e.g. from an alarm list).

        Clears the filter first if it hides the pile, so the ring never points
        at nothing. Returns False if the id is unknown.
        """
        rows = np.flatnonzero(self.data.pile_ids == pile_id)
        if not len(rows):
            return False
        row = int(rows[0])
        if not self.mask[row]:
            self._apply_filter(MapFilter())
        x, y = float(self.data.x[row]), float(self.data.y[row])
        self.highlight.setData(x=[x], y=[y])
        self.zoom_to(x, y, x, y)
        self.refresh()
        return True

    def focus_dispenser(self, dispenser_id: str) -> bool:
        """``focus_pile`` for a dispenser: centres on it at street level and rings it."""
        rows = np.flatnonzero(self.fuel.pile_ids == dispenser_id)
        if not len(rows):
            return False
        row = int(rows[0])
        if not self.fuel_mask[row]:
            self._apply_filter(MapFilter())
        x, y = float(self.fuel.x[row]), float(self.fuel.y[row])
        self.highlight.setData(x=[x], y=[y])
        self.zoom_to(x, y, x, y)
        self.refresh()
        return True

    def clear_focus(self) -> None:
        """Removes the ring of ``focus_pile``."""
        self.highlight.clear()

    def _schedule(self, *args: object) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def units_per_pixel(self) -> float:
        """Map units per screen pixel (x and y agree: the aspect ratio is locked)."""
        sx, sy = self.vb.viewPixelSize()
        return float(max(sx, sy))

    def refresh(self) -> None:
        """Re-clusters the visible window now (the 30 ms timer calls this while panning)."""
        self._timer.stop()
        rect = self.vb.viewRect()
        window = (rect.left(), rect.top(), rect.right(), rect.bottom())
        upp = self.units_per_pixel()
        self.current = merge_overlapping(
            self.pyramid.view(window, upp, CLUSTER_CELL_PX),
            self.data.x,
            self.data.y,
            self.data.status,
            upp,
            bubble_diameter,
        )
        self._feed(self.scatters, self.data, self.current.piles)
        self.clusters.set_clusters(self.current)
        self._refresh_fuel(window, upp)
        self.labels.update_anchors(window)
        self.view_updated.emit()

    def _refresh_fuel(self, window: tuple[float, float, float, float], upp: float) -> None:
        """The dispenser layer's share of ``refresh`` (nothing when there is no layer)."""
        if not len(self.fuel):
            if len(self.fuel_current.x) or len(self.fuel_current.piles):
                self.fuel_current = ClusterView.empty()
                self.fuel_clusters.set_markers(np.zeros(0), np.zeros(0), np.zeros(0, np.uint8))
                self.fuel_clusters.set_clusters(self.fuel_current)
            return
        self.fuel_current = nudge_apart(
            merge_overlapping(
                self.fuel_pyramid.view(window, upp, CLUSTER_CELL_PX),
                self.fuel.x,
                self.fuel.y,
                self.fuel.status,
                upp,
                bubble_diameter,
                pile_px=16.0,
            ),
            self.current,
            upp,
            bubble_diameter,
        )
        rows = self.fuel_current.piles
        self.fuel_clusters.set_markers(self.fuel.x[rows], self.fuel.y[rows], self.fuel.status[rows])
        self.fuel_clusters.set_clusters(self.fuel_current)

    @staticmethod
    def _feed(scatters: dict[int, pg.ScatterPlotItem], data: MapData, rows: np.ndarray) -> None:
        """Gives each status's scatter its rows (one setData per status, no per-point work)."""
        status = data.status[rows]
        x, y = data.x[rows], data.y[rows]
        for code, item in scatters.items():
            keep = status == code
            if not len(item.data) and not keep.any():
                continue  # empty and staying empty: setData would still re-layout the item
            item.setData(x=x[keep], y=y[keep])

    # ----------------------------------------------------------------- hit testing

    def scene_pos_of(self, x: float, y: float) -> QPointF:
        """Scene position of a map-unit point (for tests and callers placing overlays)."""
        return self.vb.mapViewToScene(QPointF(x, y))

    def hit(self, scene_pos: QPointF) -> MapHit | None:
        """The bubble or pile under a scene position, nearest first, bubbles winning ties."""
        p = self.vb.mapSceneToView(scene_pos)
        upp = self.units_per_pixel()
        if upp <= 0:
            return None
        # The dispenser layer is drawn on top: it wins under the mouse.
        found = self._hit_layer(p, upp, self.fuel_current, self.fuel, "fuel_cluster", "dispenser")
        if found is not None:
            return found
        return self._hit_layer(p, upp, self.current, self.data, "cluster", "pile")

    def _hit_layer(
        self, p: QPointF, upp: float, view: ClusterView, data: MapData, bubble: str, single: str
    ) -> MapHit | None:
        if len(view.x):
            d = np.hypot(view.x - p.x(), view.y - p.y()) / upp
            inside = d <= bubble_diameter(view.count) / 2
            if inside.any():
                candidates = np.flatnonzero(inside)
                # The smallest bubble is drawn on top; prefer it.
                best = candidates[np.argmin(view.count[candidates])]
                return MapHit(bubble, int(best))
        if len(view.piles):
            rows = view.piles
            d = np.hypot(data.x[rows] - p.x(), data.y[rows] - p.y()) / upp
            # Ties (piles stacked on one spot): prefer the worst status, drawn on top.
            k = int(np.argmin(d - 0.01 * np.take(_Z_ARRAY, data.status[rows])))
            if d[k] <= PILE_HIT_PX:
                return MapHit(single, int(rows[k]))
        return None

    def tooltip_text(self, scene_pos: QPointF) -> str:
        """Rich-text tooltip for whatever is under ``scene_pos`` (empty if nothing)."""
        found = self.hit(scene_pos)
        if found is None:
            return ""
        if found.kind == "pile":
            return self.pile_tooltip(found.index)
        if found.kind == "dispenser":
            return self.dispenser_tooltip(found.index)
        if found.kind == "fuel_cluster":
            return self.cluster_tooltip(found.index, fuel=True)
        return self.cluster_tooltip(found.index)

    def dispenser_tooltip(self, row: int) -> str:
        """Rich text for one dispenser: id, station, operator, district, nozzles, status."""
        d = self.fuel
        lines: list[tuple[str, str]] = [
            (QCoreApplication.translate("MapView", "Type"), instrument_label(DISPENSERS))
        ]
        if d.station is not None and 0 <= d.station[row] < len(d.station_names):
            lines.append(
                (QCoreApplication.translate("MapView", "Station"), d.station_names[d.station[row]])
            )
        if 0 <= d.operator[row] < len(d.operator_names):
            lines.append(
                (
                    QCoreApplication.translate("MapView", "Operator"),
                    d.operator_names[d.operator[row]],
                )
            )
        district = d.district_names[d.district[row]] if len(d.district_names) else ""
        lines.append(
            (QCoreApplication.translate("MapView", "District"), self._district_name(district))
        )
        code = int(d.status[row])
        lines.append((QCoreApplication.translate("MapView", "Status"), status_label(code)))
        rows = "".join(
            f"<tr><td style='color:#666;padding-right:8px'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in lines
        )
        hint = QCoreApplication.translate("MapView", "Click for the dispenser's detail")
        return (
            f"<div><span style='color:{STATUS_COLORS[code].name()}'>&#9632;</span> "
            f"<b>{html.escape(str(d.pile_ids[row]))}</b></div><table>{rows}</table>"
            f"<div style='color:#666'>{html.escape(hint)}</div>"
        )

    def pile_tooltip(self, row: int) -> str:
        """Rich text for one pile: id, station, operator, district, AC/DC, status."""
        d = self.data
        lines: list[tuple[str, str]] = []  # the id is the heading
        if d.station is not None and 0 <= d.station[row] < len(d.station_names):
            lines.append(
                (QCoreApplication.translate("MapView", "Station"), d.station_names[d.station[row]])
            )
        if 0 <= d.operator[row] < len(d.operator_names):
            lines.append(
                (
                    QCoreApplication.translate("MapView", "Operator"),
                    d.operator_names[d.operator[row]],
                )
            )
        lines.append(
            (
                QCoreApplication.translate("MapView", "District"),
                self.district_label(d.district[row]),
            )
        )
        lines.append((QCoreApplication.translate("MapView", "Type"), kind_label(int(d.kind[row]))))
        code = int(d.status[row])
        lines.append((QCoreApplication.translate("MapView", "Status"), status_label(code)))
        rows = "".join(
            f"<tr><td style='color:#666;padding-right:8px'>{html.escape(k)}</td>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in lines
        )
        swatch = STATUS_COLORS[code].name()
        return (
            f"<div><span style='color:{swatch}'>&#9679;</span> "
            f"<b>{html.escape(str(d.pile_ids[row]))}</b></div><table>{rows}</table>"
        )

    def cluster_tooltip(self, index: int, fuel: bool = False) -> str:
        """Rich text for a bubble: pile (or dispenser) count and how many of each status."""
        view = self.fuel_current if fuel else self.current
        count = int(view.count[index])
        head = (
            QCoreApplication.translate("MapView", "%1 fuel dispensers")
            if fuel
            else QCoreApplication.translate("MapView", "%1 charging piles")
        ).replace("%1", format_count(count))
        rows = []
        for code in (ALARM, ANOMALY, OVERDUE, SILENT, NORMAL):
            n = int(view.status_counts[index, code])
            if n:
                rows.append(
                    f"<tr><td><span style='color:{STATUS_COLORS[code].name()}'>&#9679;</span> "
                    f"{html.escape(status_label(code))}</td>"
                    f"<td align='right' style='padding-left:10px'>{format_count(n)}</td></tr>"
                )
        hint = QCoreApplication.translate("MapView", "Click to zoom in")
        return (
            f"<div><b>{html.escape(head)}</b></div><table>{''.join(rows)}</table>"
            f"<div style='color:#666'>{html.escape(hint)}</div>"
        )

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        text = self.tooltip_text(scene_pos)
        if text:
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
            QToolTip.showText(QCursor.pos(), text, self)
        else:
            self.viewport().unsetCursor()
            QToolTip.hideText()

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        found = self.hit(event.scenePos())  # type: ignore[attr-defined]
        if found is None:
            return
        event.accept()  # type: ignore[attr-defined]
        if found.kind == "pile":
            self.pile_clicked.emit(str(self.data.pile_ids[found.index]))
        elif found.kind == "dispenser":
            self.dispenser_clicked.emit(str(self.fuel.pile_ids[found.index]))
        elif found.kind == "fuel_cluster":
            self.zoom_to(*self.fuel_current.bounds[found.index])
        else:
            self.zoom_to(*self.current.bounds[found.index])

    # ----------------------------------------------------------------- overlays

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        """Nothing when the basemap paints the background with its frame (every frame on
        screen); the plain background colour otherwise (basemap hidden, exports)."""
        if not (self.basemap.isVisible() and BasemapItem.covers(painter)):
            super().drawBackground(painter, rect)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """A scale bar in the bottom-left corner (regulators estimate distances to piles)."""
        super().drawForeground(painter, rect)
        upp = self.units_per_pixel()
        if upp <= 0 or not math.isfinite(upp):
            return
        km_per_px = upp * KM_PER_UNIT
        target = 120 * km_per_px
        exponent = 10 ** math.floor(math.log10(target))
        nice = max(s * exponent for s in (1, 2, 5) if s * exponent <= target)
        width = nice / km_per_px
        label = f"{nice:g} km" if nice >= 1 else f"{nice * 1000:g} m"
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        x0, y0 = 16.0, self.viewport().height() - 18.0
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 200))
        painter.drawRoundedRect(QRectF(x0 - 8, y0 - 24, width + 16, 34), 4, 4)
        pen = QPen(QColor("#333333"), 2)
        painter.setPen(pen)
        painter.drawLine(QPointF(x0, y0), QPointF(x0 + width, y0))
        painter.drawLine(QPointF(x0, y0 - 5), QPointF(x0, y0))
        painter.drawLine(QPointF(x0 + width, y0 - 5), QPointF(x0 + width, y0))
        font = QFont()
        font.setPixelSize(11)
        painter.setFont(font)
        painter.drawText(QRectF(x0, y0 - 22, width, 16), Qt.AlignmentFlag.AlignCenter, label)
        painter.restore()


_Z_ARRAY = np.array([STATUS_Z[c] for c in range(N_STATUS)], dtype=np.float64)
_TEXT_PENS = {code: QPen(_text_color(c)) for code, c in STATUS_COLORS.items()}
"""Bubble count text pens by worst status (dark on light fills, white on dark)."""


def choropleth_color(t: float) -> QColor:
    """Colour for a normalised rate ``t`` in [0, 1] on the light Blues ramp."""
    t = min(1.0, max(0.0, t))
    lo, mid, hi = CHOROPLETH_STOPS
    a, b, u = (lo, mid, t * 2) if t < 0.5 else (mid, hi, t * 2 - 1)
    return QColor(
        round(a.red() + (b.red() - a.red()) * u),
        round(a.green() + (b.green() - a.green()) * u),
        round(a.blue() + (b.blue() - a.blue()) * u),
    )


# --------------------------------------------------------------------------- panel widgets


class FilterBar(QWidget):
    """Operator (searchable), district, status and AC/DC filters and a "whole city" button."""

    filter_changed = Signal(object)
    """Emitted with the new ``MapFilter``."""
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Two rows, so the map fits beside the docks on a 1600-px screen.
        rows = QVBoxLayout(self)
        rows.setContentsMargins(8, 4, 8, 4)
        rows.setSpacing(2)
        layout = QHBoxLayout()
        layout.setSpacing(8)
        second = QHBoxLayout()
        second.setSpacing(8)
        rows.addLayout(layout)
        rows.addLayout(second)
        self.operator_label = QLabel()
        self.operator_combo = QComboBox()
        self.operator_combo.setEditable(True)
        self.operator_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.operator_combo.setMinimumContentsLength(14)
        self.operator_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        completer = self.operator_combo.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.district_label = QLabel()
        self.district_combo = QComboBox()
        self.district_combo.setMinimumContentsLength(8)
        self.district_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        layout.addWidget(self.operator_label)
        layout.addWidget(self.operator_combo)
        layout.addWidget(self.district_label)
        layout.addWidget(self.district_combo)
        self.status_boxes: dict[int, QCheckBox] = {}
        for code in (NORMAL, ANOMALY, ALARM, OVERDUE, SILENT):
            box = QCheckBox()
            box.setChecked(True)
            box.setIcon(status_icon(code))
            box.toggled.connect(self._emit)
            self.status_boxes[code] = box
            second.addWidget(box)
        second.addWidget(_separator())
        self.kind_boxes: dict[int, QCheckBox] = {}
        for code in (0, 1):
            box = QCheckBox()
            box.setChecked(True)
            box.toggled.connect(self._emit)
            self.kind_boxes[code] = box
            second.addWidget(box)
        second.addWidget(_separator())
        self.instrument_boxes: dict[int, QCheckBox] = {}
        for code in (PILES, DISPENSERS):
            box = QCheckBox()
            box.setChecked(True)
            box.setIcon(pump_icon() if code == DISPENSERS else status_icon(NORMAL))
            box.toggled.connect(self._emit)
            self.instrument_boxes[code] = box
            second.addWidget(box)
        second.addStretch(1)
        layout.addStretch(1)
        self.reset_button = QPushButton()
        self.reset_button.clicked.connect(self.reset_requested)
        layout.addWidget(self.reset_button)
        self.operator_combo.currentIndexChanged.connect(self._emit)
        self.district_combo.currentIndexChanged.connect(self._emit)
        self._operator_names: tuple[str, ...] = ()
        self._district_items: list[tuple[int, str]] = []
        self._blocked = False
        self.retranslate()

    def set_choices(self, operators: Sequence[str], districts: Sequence[tuple[int, str]]) -> None:
        """Fills the combos: operator names by code, (code, display name) for districts."""
        self._operator_names = tuple(operators)
        self._district_items = list(districts)
        self._fill_combos()

    def _fill_combos(self) -> None:
        self._blocked = True
        op = self.operator_combo.currentData()
        dist = self.district_combo.currentData()
        self.operator_combo.clear()
        self.operator_combo.addItem(QCoreApplication.translate("MapView", "All operators"), -1)
        for code in sorted(range(len(self._operator_names)), key=self._operator_names.__getitem__):
            self.operator_combo.addItem(self._operator_names[code], code)
        self.district_combo.clear()
        self.district_combo.addItem(QCoreApplication.translate("MapView", "All districts"), -1)
        for code, name in self._district_items:
            self.district_combo.addItem(name, code)
        self.operator_combo.setCurrentIndex(max(0, self.operator_combo.findData(op)))
        self.district_combo.setCurrentIndex(max(0, self.district_combo.findData(dist)))
        self.operator_combo.lineEdit().setPlaceholderText(
            QCoreApplication.translate("MapView", "Search operator…")
        )
        self._blocked = False

    def current_filter(self) -> MapFilter:
        op = self.operator_combo.currentData()
        dist = self.district_combo.currentData()
        statuses = {c for c, b in self.status_boxes.items() if b.isChecked()}
        kinds = {c for c, b in self.kind_boxes.items() if b.isChecked()}
        instruments = {c for c, b in self.instrument_boxes.items() if b.isChecked()}
        return MapFilter(
            operators=frozenset() if op is None or op < 0 else frozenset({int(op)}),
            districts=frozenset() if dist is None or dist < 0 else frozenset({int(dist)}),
            # All boxes ticked means "no status filter"; none ticked shows nothing.
            statuses=frozenset() if len(statuses) == N_STATUS else frozenset(statuses or {255}),
            kinds=frozenset() if len(kinds) == 2 else frozenset(kinds or {255}),
            instruments=frozenset() if len(instruments) == 2 else frozenset(instruments or {255}),
        )

    def set_filter(self, map_filter: MapFilter) -> None:
        """Shows ``map_filter`` in the widgets (single operator/district only)."""
        self._blocked = True
        op = next(iter(map_filter.operators), -1)
        dist = next(iter(map_filter.districts), -1)
        self.operator_combo.setCurrentIndex(max(0, self.operator_combo.findData(op)))
        self.district_combo.setCurrentIndex(max(0, self.district_combo.findData(dist)))
        for code, box in self.status_boxes.items():
            box.setChecked(not map_filter.statuses or code in map_filter.statuses)
        for code, box in self.kind_boxes.items():
            box.setChecked(not map_filter.kinds or code in map_filter.kinds)
        for code, box in self.instrument_boxes.items():
            box.setChecked(map_filter.shows(code))
        self._blocked = False
        self._emit()

    def _emit(self, *args: object) -> None:
        if not self._blocked:
            self.filter_changed.emit(self.current_filter())

    def retranslate(self) -> None:
        self.operator_label.setText(QCoreApplication.translate("MapView", "Operator"))
        self.district_label.setText(QCoreApplication.translate("MapView", "District"))
        for code, box in self.status_boxes.items():
            box.setText(status_label(code))
        self.kind_boxes[0].setText(QCoreApplication.translate("MapView", "AC"))
        self.kind_boxes[1].setText(QCoreApplication.translate("MapView", "DC"))
        self.instrument_boxes[PILES].setText(
            QCoreApplication.translate("MapView", "Charging piles")
        )
        self.instrument_boxes[DISPENSERS].setText(
            QCoreApplication.translate("MapView", "Fuel dispensers")
        )
        self.reset_button.setText(QCoreApplication.translate("MapView", "Whole city"))
        self._fill_combos()


def _separator() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


class MapLegend(QFrame):
    """Floating legend: status markers with counts, bubble meaning, choropleth ramp.

    Opaque on purpose: the legend floats over the map's viewport, and Qt repaints a
    translucent overlapping sibling (the frame and its ~20 labels, two of them rich
    text) with every map frame, ~1.5 ms of a 16 ms pan step. An opaque widget is
    clipped out of the map's repaint instead and only repaints when its own content
    changes. The rounded corners are kept with a mask (``resizeEvent``), so the map
    shows around them.
    """

    RADIUS = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MapLegend")
        # Paints every pixel inside its mask itself (``paintEvent``): Qt may then skip
        # it when the map beneath repaints. A style sheet background would not do: the
        # style sheet's polish turns autoFillBackground off again.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, False)
        layout = QGridLayout(self)
        layout.setContentsMargins(13, 11, 13, 11)  # 12, 10 inside the 1 px border
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(4)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.title, 0, 0, 1, 3)
        self.names: dict[int, QLabel] = {}
        self.counts: dict[int, QLabel] = {}
        for row, code in enumerate((ALARM, ANOMALY, OVERDUE, SILENT, NORMAL), start=1):
            icon = QLabel()
            icon.setPixmap(status_icon(code, 16))
            self.names[code] = QLabel()
            self.counts[code] = QLabel()
            self.counts[code].setAlignment(Qt.AlignmentFlag.AlignRight)
            layout.addWidget(icon, row, 0)
            layout.addWidget(self.names[code], row, 1)
            layout.addWidget(self.counts[code], row, 2)
        bubble = QLabel()
        bubble.setPixmap(_bubble_icon())
        self.bubble_text = QLabel()
        self.bubble_text.setStyleSheet("color: #555;")
        layout.addWidget(bubble, 6, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.bubble_text, 6, 1, 1, 2)
        pump = QLabel()
        pump.setPixmap(pump_icon(NORMAL, 18))
        self.fuel_text = QLabel()
        self.fuel_count = QLabel()
        self.fuel_count.setAlignment(Qt.AlignmentFlag.AlignRight)
        layout.addWidget(pump, 7, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.fuel_text, 7, 1)
        layout.addWidget(self.fuel_count, 7, 2, Qt.AlignmentFlag.AlignTop)
        self.choropleth_box = QCheckBox()
        layout.addWidget(self.choropleth_box, 8, 0, 1, 3)
        self.ramp = QLabel()
        self.ramp_labels = QLabel()
        layout.addWidget(self.ramp, 9, 0, 1, 3)
        layout.addWidget(self.ramp_labels, 10, 0, 1, 3)
        self.set_ramp(None)
        self.retranslate()

    def resizeEvent(self, event: QResizeEvent) -> None:
        path = QPainterPath()
        path.addRoundedRect(QRectF(self.rect()), self.RADIUS, self.RADIUS)
        self.setMask(QRegion(path.toFillPolygon().toPolygon()))
        super().resizeEvent(event)

    def paintEvent(self, event: QEvent) -> None:
        """White card with a 1 px grey rounded border (what the style sheet drew)."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), LEGEND_FILL)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(LEGEND_LINE, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        radius = self.RADIUS - 0.5
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        painter.end()

    def set_counts(self, counts: np.ndarray, fuel: int | None = None) -> None:
        """Piles per status (the status rows count piles and dispensers together) and
        the dispensers shown (None: no dispenser layer, the row is hidden)."""
        for code, label in self.counts.items():
            label.setText(format_count(int(counts[code])))
        for widget in (self.fuel_text, self.fuel_count):
            widget.setVisible(fuel is not None)
        self.fuel_count.setText(format_count(fuel or 0))

    def set_ramp(self, rates: tuple[float, float] | None) -> None:
        """Shows the choropleth ramp from the lowest to the highest rate (None hides it)."""
        visible = rates is not None
        for w in (self.ramp, self.ramp_labels):
            w.setVisible(visible)
        if not visible:
            self.adjustSize()
            return
        pixmap = QPixmap(200, 12)
        painter = QPainter(pixmap)
        gradient = QLinearGradient(0, 0, 200, 0)
        for stop, color in zip((0.0, 0.5, 1.0), CHOROPLETH_STOPS):
            gradient.setColorAt(stop, color)
        painter.fillRect(pixmap.rect(), gradient)
        painter.setPen(QColor("#999"))
        painter.drawRect(pixmap.rect().adjusted(0, 0, -1, -1))
        painter.end()
        self.ramp.setPixmap(pixmap)
        low, high = rates or (0.0, 0.0)
        texts = [html.escape(QLocale().toString(100 * float(v), "f", 1)) for v in (low, high)]
        self.ramp_labels.setText(
            f"<table width='100%'><tr><td>{texts[0]} %</td>"
            f"<td align='right'>{texts[1]} %</td></tr></table>"
        )
        self.adjustSize()

    def retranslate(self) -> None:
        self.title.setText(QCoreApplication.translate("MapView", "Status"))
        for code, label in self.names.items():
            label.setText(status_label(code))
        self.bubble_text.setText(
            html.escape(QCoreApplication.translate("MapView", "Number of piles nearby"))
            + "<br>"
            + html.escape(
                QCoreApplication.translate("MapView", "Centre: worst status; ring: status mix")
            )
        )
        self.choropleth_box.setText(
            QCoreApplication.translate("MapView", "Anomaly rate by district")
        )
        self.fuel_text.setText(
            html.escape(QCoreApplication.translate("MapView", "Fuel dispensers"))
            + "<br><span style='color:#555'>"
            + html.escape(QCoreApplication.translate("MapView", "Colour: status; square: a group"))
            + "</span>"
        )
        self.adjustSize()


def _bubble_icon() -> QPixmap:
    pixmap = QPixmap(18, 18)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("white"), 1.5))
    painter.setBrush(QColor("#777777"))
    painter.drawEllipse(QRectF(1, 1, 16, 16))
    painter.setPen(QColor("white"))
    font = QFont()
    font.setPixelSize(9)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(1, 1, 16, 16), Qt.AlignmentFlag.AlignCenter, "n")
    painter.end()
    return pixmap


class MapPanel(QWidget):
    """Filter bar + map + floating legend + shown-pile count: what the main window docks.

    The main window calls ``set_data`` after each sync and listens to
    ``pile_clicked`` to open a pile's history.
    """

    pile_clicked = Signal(str)
    dispenser_clicked = Signal(str)
    filter_changed = Signal(object)

    def __init__(self, basemap_path: Path | str = BASEMAP, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MapPanel")
        self.filter_bar = FilterBar()
        self.view = MapView(basemap_path)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("font-weight: bold; padding-right: 4px;")
        self.filter_bar.layout().insertWidget(
            self.filter_bar.layout().count() - 1, self.count_label
        )
        self.legend = MapLegend(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter_bar)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: #C8C8C8;")
        layout.addWidget(line)
        layout.addWidget(self.view, 1)
        self.filter_bar.filter_changed.connect(self._on_filter)
        self.legend.choropleth_box.toggled.connect(self._on_choropleth)
        self.filter_bar.reset_requested.connect(self.view.reset_view)
        self.view.pile_clicked.connect(self.pile_clicked)
        self.view.dispenser_clicked.connect(self.dispenser_clicked)
        self.view.shown_changed.connect(self._update_counts)
        self.view.installEventFilter(self)
        self.set_data(MapData.empty())

    def set_data(self, data: MapData) -> None:
        """Replaces the piles; keeps the current filter and view window."""
        self.view.set_data(data)
        self._update_choices()
        self._update_counts()

    def _update_choices(self) -> None:
        """Operators and districts of both layers in the filter bar (codes: the piles')."""
        districts = [
            (code, self.view.district_label(code))
            for code in range(len(self.view.district_choices))
        ]
        self.filter_bar.set_choices(self.view.operator_choices, districts)

    def set_dispensers(self, data: MapData) -> None:
        """Replaces the dispenser layer; keeps the current filter and view window."""
        self.view.set_dispensers(data)
        self._update_choices()
        self._update_counts()

    def set_filter(self, map_filter: MapFilter) -> None:
        """Shows ``map_filter`` in the filter bar and applies it to the map."""
        self.filter_bar.set_filter(map_filter)

    def focus_dispenser(self, dispenser_id: str) -> bool:
        """``focus_pile`` for a dispenser (clears the filters if they hide it)."""
        rows = np.flatnonzero(self.view.fuel.pile_ids == dispenser_id)
        if len(rows) and not self.view.fuel_mask[int(rows[0])]:
            self.set_filter(MapFilter())
        return self.view.focus_dispenser(dispenser_id)

    def focus_pile(self, pile_id: str) -> bool:
        """Zooms to a pile and rings it; clears the filters (bar included) if they hide it."""
        rows = np.flatnonzero(self.view.data.pile_ids == pile_id)
        if len(rows) and not self.view.mask[int(rows[0])]:
            self.set_filter(MapFilter())
        return self.view.focus_pile(pile_id)

    def _on_filter(self, map_filter: MapFilter) -> None:
        self.view.set_filter(map_filter)
        self.filter_changed.emit(map_filter)

    def _on_choropleth(self, enabled: bool) -> None:
        self.view.set_choropleth(enabled)
        rates = [r for r in self.view.district_rates() if r is not None]
        self.legend.set_ramp((min(rates), max(rates)) if enabled and rates else None)
        self._place_legend()

    def _update_counts(self, *args: object) -> None:
        shown, total = self.view.shown_count, len(self.view.data)
        text = (
            QCoreApplication.translate("MapView", "Showing %1 / %2 charging piles")
            .replace("%1", format_count(shown))
            .replace("%2", format_count(total))
        )
        fuel = self.view.fuel
        counts = self.view.data.status_counts(self.view.mask)
        if len(fuel):
            text += (
                QCoreApplication.translate("MapView", ", %1 / %2 fuel dispensers")
                .replace("%1", format_count(self.view.fuel_shown_count))
                .replace("%2", format_count(len(fuel)))
            )
            counts = counts + fuel.status_counts(self.view.fuel_mask)
        self.count_label.setText(text)
        self.legend.set_counts(counts, self.view.fuel_shown_count if len(fuel) else None)
        self._place_legend()  # wider numbers can widen it

    def _place_legend(self) -> None:
        self.legend.adjustSize()
        margin = 12
        # Bottom-right: the south-east of the city view is Shaoxing, not Hangzhou.
        self.legend.move(
            self.view.width() - self.legend.width() - margin,
            self.view.height() - self.legend.height() - margin,
        )
        area = QRectF(self.legend.geometry()).translated(-QPointF(self.view.viewport().pos()))
        self.view.labels.reserved = [area.adjusted(-4, -4, 4, 4)]
        self.legend.raise_()

    def eventFilter(self, watched: object, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.Resize:
            self._place_legend()
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.filter_bar.retranslate()
            self.legend.retranslate()
            self._update_counts()  # also re-places the legend
            self.view.viewport().update()
        super().changeEvent(event)
