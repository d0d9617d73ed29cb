"""Qt-free data and maths behind the city map: piles, filters, basemap, cluster pyramid.

Everything here is numpy over whole arrays, so the map stays fast at province
scale and every piece is unit-testable without a display. The widget in
``map_view.py`` only turns these arrays into paint calls.

Coordinates: piles and the basemap are GCJ-02 longitude/latitude (the datum of
the committed basemap and of the operators' apps). For display they are
projected to *map units*: ``x = lon * cos(30.25°)``, ``y = lat``. One map unit
is then about 111 km in both directions around Hangzhou, so an aspect-locked
view shows true shapes (an equirectangular projection at the city's latitude).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BASEMAP = (
    Path(__file__).resolve().parent.parent.parent
    / "resources"
    / "basemap"
    / "hangzhou_districts.geojson"
)

REFERENCE_LATITUDE = 30.25
"""Hangzhou's latitude: the x scale ``cos(30.25°)`` makes the map equal-area-ish locally."""
X_SCALE = math.cos(math.radians(REFERENCE_LATITUDE))
KM_PER_UNIT = 111.32
"""Kilometres per map unit (one degree of latitude), for the scale bar."""

# Pile status codes (the stored values; labels are the view's business).
NORMAL, ANOMALY, ALARM, OVERDUE, SILENT = range(5)
STATUS_CODES = (NORMAL, ANOMALY, ALARM, OVERDUE, SILENT)
N_STATUS = len(STATUS_CODES)
# Worst first: an open seal/data alarm outranks a rule-flagged anomaly, which
# outranks an overdue verification (a legal, not a live, problem), which
# outranks a meter that merely stopped reporting. A cluster takes the colour of
# its worst member so one alarm is never hidden inside a green bubble.
SEVERITY_ORDER = (ALARM, ANOMALY, OVERDUE, SILENT, NORMAL)
_SEVERITY_RANK = np.empty(N_STATUS, dtype=np.int8)
_SEVERITY_RANK[list(SEVERITY_ORDER)] = np.arange(N_STATUS)[::-1]

AC, DC = 0, 1

# Instrument kinds on the map (the filter bar's 充电桩 / 加油机 boxes): each is a layer
# with its own MapData, pyramid and symbols.
PILES, DISPENSERS = 0, 1
INSTRUMENT_KINDS = (PILES, DISPENSERS)


def project(lon: np.ndarray | float, lat: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat degrees to map units (see the module docstring)."""
    return np.asarray(lon, dtype=np.float64) * X_SCALE, np.asarray(lat, dtype=np.float64)


def unproject(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Map units back to GCJ-02 lon/lat degrees."""
    return np.asarray(x, dtype=np.float64) / X_SCALE, np.asarray(y, dtype=np.float64)


# --------------------------------------------------------------------------- piles


def _names(values: Sequence[str] | np.ndarray) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@dataclass(frozen=True, eq=False)
class MapData:
    """The piles shown on the map, one row per pile, as parallel numpy arrays.

    Codes (operator, district, station) index into the matching ``*_names``
    tuple, so filtering and grouping stay integer maths. ``anomaly_rate`` is an
    optional per-district value in [0, 1] aligned with ``district_names``, used
    for the choropleth. ``eq=False``: comparing arrays element-wise is never
    what a caller means by ``==``.
    """

    pile_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    status: np.ndarray
    operator: np.ndarray
    operator_names: tuple[str, ...]
    district: np.ndarray
    district_names: tuple[str, ...]
    kind: np.ndarray
    station: np.ndarray | None = None
    station_names: tuple[str, ...] = ()
    anomaly_rate: np.ndarray | None = None
    x: np.ndarray = field(init=False, repr=False)
    y: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise dtypes once, here
        set_(self, "pile_ids", np.asarray(self.pile_ids, dtype=object))
        set_(self, "lon", np.asarray(self.lon, dtype=np.float64))
        set_(self, "lat", np.asarray(self.lat, dtype=np.float64))
        set_(self, "status", np.asarray(self.status, dtype=np.uint8))
        set_(self, "operator", np.asarray(self.operator, dtype=np.int32))
        set_(self, "district", np.asarray(self.district, dtype=np.int32))
        set_(self, "kind", np.asarray(self.kind, dtype=np.uint8))
        set_(self, "operator_names", _names(self.operator_names))
        set_(self, "district_names", _names(self.district_names))
        set_(self, "station_names", _names(self.station_names))
        if self.station is not None:
            set_(self, "station", np.asarray(self.station, dtype=np.int32))
        if self.anomaly_rate is not None:
            set_(self, "anomaly_rate", np.asarray(self.anomaly_rate, dtype=np.float64))
        n = len(self.pile_ids)
        arrays = [self.lon, self.lat, self.status, self.operator, self.district, self.kind]
        if self.station is not None:
            arrays.append(self.station)
        if any(a.shape != (n,) for a in arrays):
            raise ValueError("MapData arrays must all be one-dimensional with one row per pile")
        if n and int(self.status.max()) >= N_STATUS:
            raise ValueError("status codes must be 0..4 (normal, anomaly, alarm, overdue, silent)")
        if self.anomaly_rate is not None and self.anomaly_rate.shape != (len(self.district_names),):
            raise ValueError("anomaly_rate needs one value per district name")
        x, y = project(self.lon, self.lat)
        set_(self, "x", x)
        set_(self, "y", y)

    def __len__(self) -> int:
        return len(self.pile_ids)

    @classmethod
    def empty(cls) -> MapData:
        """No piles yet (before the first sync)."""
        z = np.zeros(0)
        return cls(np.zeros(0, dtype=object), z, z, z, z, (), z, (), z)

    def status_counts(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Piles per status code (length 5), optionally only where ``mask`` is true."""
        status = self.status if mask is None else self.status[mask]
        return np.bincount(status, minlength=N_STATUS)[:N_STATUS]


@dataclass(frozen=True)
class MapFilter:
    """Which piles to show. Each field is a set of codes; an empty set means "all"."""

    operators: frozenset[int] = frozenset()
    districts: frozenset[int] = frozenset()
    statuses: frozenset[int] = frozenset()
    kinds: frozenset[int] = frozenset()
    instruments: frozenset[int] = frozenset()
    """Layers shown (PILES, DISPENSERS); empty means both. ``kinds`` (AC/DC) is the pile
    layer's own filter and does not hide dispensers."""

    def shows(self, instrument: int) -> bool:
        """True if the layer ``instrument`` (PILES or DISPENSERS) is shown at all."""
        return not self.instruments or instrument in self.instruments

    def for_layer(
        self, operator_names: Sequence[str], district_names: Sequence[str], target: MapData
    ) -> MapFilter:
        """This filter, whose operator/district codes index ``operator_names`` and
        ``district_names`` (the filter bar's lists), for a layer with its own codes
        (``target``): codes are matched by name, and a name the target lacks matches
        nothing there. The AC/DC filter stays with the piles."""

        def recode(codes: frozenset[int], names: Sequence[str], into: tuple[str, ...]):
            if not codes:
                return frozenset()
            index = {name: i for i, name in enumerate(into)}
            wanted = {names[c] for c in codes if 0 <= c < len(names)}
            return frozenset(index[n] for n in wanted if n in index) or frozenset({2**31 - 1})

        return MapFilter(
            operators=recode(self.operators, operator_names, target.operator_names),
            districts=recode(self.districts, district_names, target.district_names),
            statuses=self.statuses,
            instruments=self.instruments,
        )

    def mask(self, data: MapData) -> np.ndarray:
        """Boolean mask over ``data``'s rows (vectorised; ~5 ms for a million piles)."""
        keep = np.ones(len(data), dtype=bool)
        for codes, column, size in (
            (self.operators, data.operator, len(data.operator_names)),
            (self.districts, data.district, len(data.district_names)),
            (self.statuses, data.status, N_STATUS),
            (self.kinds, data.kind, 2),
        ):
            if codes:
                # A lookup table beats np.isin for small code spaces: one gather.
                table = np.zeros(max(size, max(codes) + 1, int(column.max(initial=0)) + 1), bool)
                table[list(codes)] = True
                keep &= table[column]
        return keep

    def is_all(self) -> bool:
        """True if every row of a layer passes (``instruments`` is the caller's business)."""
        return not (self.operators or self.districts or self.statuses or self.kinds)


# --------------------------------------------------------------------------- basemap


@dataclass(frozen=True, eq=False)
class Region:
    """One basemap area (district, city or prefecture) as rings in map units."""

    name_zh: str
    name_en: str
    adcode: str
    level: str
    rings: tuple[np.ndarray, ...]
    """Closed rings, each an (n, 2) float64 array of map-unit x, y; holes included."""
    label_xy: tuple[float, float]
    """An interior point far from the boundary, where the name reads best."""
    area: float
    """Area in square map units (for label priority)."""

    @functools.cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        allpts = np.concatenate(self.rings)
        return (
            float(allpts[:, 0].min()),
            float(allpts[:, 1].min()),
            float(allpts[:, 0].max()),
            float(allpts[:, 1].max()),
        )

    def name(self, language: str) -> str:
        """The label for a UI language code such as ``zh_CN`` or ``en_US``."""
        return self.name_zh if language.startswith("zh") else self.name_en


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def points_in_rings(px: np.ndarray, py: np.ndarray, rings: Iterable[np.ndarray]) -> np.ndarray:
    """Even-odd point-in-polygon for many points over all rings at once (holes work)."""
    inside = np.zeros(px.shape, dtype=bool)
    if not len(px):
        return inside
    low, high = float(py.min()), float(py.max())
    for ring in rings:
        x1, y1 = ring[:-1, 0], ring[:-1, 1]
        x2, y2 = ring[1:, 0], ring[1:, 1]
        # Only edges spanning some point's y can cross its ray: zoomed in (the map's
        # label anchors), that is a few dozen of a district's thousands.
        spans = (np.maximum(y1, y2) > low) & (np.minimum(y1, y2) <= high)
        if not spans.all():
            x1, y1, x2, y2 = x1[spans], y1[spans], x2[spans], y2[spans]
        crosses = (y1[None, :] > py[:, None]) != (y2[None, :] > py[:, None])
        # Horizontal edges (0/0) are masked out by ``crosses``; near-horizontal ones
        # (denormal heights) overflow to ±inf, which still compares the right way.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            xint = x1 + (py[:, None] - y1) * (x2 - x1) / (y2 - y1)
        inside ^= (np.count_nonzero(crosses & (px[:, None] < xint), axis=1) % 2).astype(bool)
    return inside


def _distance_to_rings(px: np.ndarray, py: np.ndarray, rings: Iterable[np.ndarray]) -> np.ndarray:
    best = np.full(px.shape, np.inf)
    for ring in rings:
        a, b = ring[:-1], ring[1:]
        d = b - a
        length2 = np.maximum((d**2).sum(axis=1), 1e-18)
        t = ((px[:, None] - a[:, 0]) * d[:, 0] + (py[:, None] - a[:, 1]) * d[:, 1]) / length2
        t = np.clip(t, 0.0, 1.0)
        dx = a[:, 0] + t * d[:, 0] - px[:, None]
        dy = a[:, 1] + t * d[:, 1] - py[:, None]
        best = np.minimum(best, np.sqrt(dx * dx + dy * dy).min(axis=1))
    return best


def label_point(rings: Sequence[np.ndarray], grid: int = 24) -> tuple[float, float]:
    """An interior point far from the edges (coarse pole of inaccessibility).

    A centroid can fall outside a crescent-shaped district, and a bbox centre
    often does; sampling a grid and keeping the inside point farthest from the
    boundary, then refining once around it, is cheap (13 districts, once) and
    puts the name where the eye expects it.
    """
    allpts = np.concatenate(rings)
    x0, y0 = allpts.min(axis=0)
    x1, y1 = allpts.max(axis=0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2, (y1 - y0) / 2
    best: tuple[float, float] | None = None
    for _ in range(2):
        gx, gy = np.meshgrid(
            np.linspace(cx - hx, cx + hx, grid), np.linspace(cy - hy, cy + hy, grid)
        )
        px, py = gx.ravel(), gy.ravel()
        inside = points_in_rings(px, py, rings)
        if not inside.any():
            break
        dist = _distance_to_rings(px[inside], py[inside], rings)
        k = int(np.argmax(dist))
        best = (float(px[inside][k]), float(py[inside][k]))
        cx, cy = best
        hx, hy = hx / 4, hy / 4
    if best is None:  # degenerate geometry: fall back to the vertex mean
        mean = allpts.mean(axis=0)
        best = (float(mean[0]), float(mean[1]))
    return best


def load_basemap(path: Path = BASEMAP) -> tuple[Region, ...]:
    """Reads a GeoJSON FeatureCollection of (Multi)Polygons into map-unit regions.

    Properties used: ``name_zh``, ``name_en``, ``adcode`` and optional
    ``level`` (default ``district``). Coordinates must be GCJ-02 lon/lat.
    """
    with Path(path).open(encoding="utf-8") as f:
        collection = json.load(f)
    regions = []
    for feature in collection.get("features", []):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates", [])
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        elif geometry.get("type") != "MultiPolygon":
            continue
        rings: list[np.ndarray] = []
        area = 0.0
        parts: list[tuple[float, list[np.ndarray]]] = []  # (outer area, rings incl. holes)
        for polygon in polygons:
            part: list[np.ndarray] = []
            for i, coords in enumerate(polygon):
                ring = np.asarray([c[:2] for c in coords], dtype=np.float64)
                if len(ring) < 3:
                    continue
                if not np.array_equal(ring[0], ring[-1]):
                    ring = np.vstack([ring, ring[:1]])
                ring[:, 0] *= X_SCALE
                a = abs(_ring_area(ring))
                if i == 0:
                    parts.append((a, part))
                elif not part:
                    continue  # a hole without its outer ring
                area += a if i == 0 else -a
                part.append(ring)
                rings.append(ring)
        if not rings:
            continue
        # Label the largest part, holes included (islands and lakes would pull it off land).
        main = max(parts, key=lambda p: p[0])[1]
        level = str(props.get("level", "district"))
        label = label_point(main) if level == "district" else tuple(main[0].mean(axis=0))
        regions.append(
            Region(
                name_zh=str(props.get("name_zh", "")),
                name_en=str(props.get("name_en", props.get("name_zh", ""))),
                adcode=str(props.get("adcode", "")),
                level=level,
                rings=tuple(rings),
                label_xy=(float(label[0]), float(label[1])),
                area=area,
            )
        )
    return tuple(regions)


# --------------------------------------------------------------------------- clustering

BASE_CELL = 2.0**-14
"""Finest cluster cell in map units (about 6.8 m); level L cells are BASE_CELL * 2**L."""
MAX_LEVEL = 20
ANCHOR_LEVEL = 5
"""Cells of ~220 m: the finest level clustering uses at the default 2 m/px switch-over."""
_MORTON_BITS = 31


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Inserts a zero bit between the bits of each value (the Morton 'part1by1')."""
    v = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


@dataclass(frozen=True, eq=False)
class ClusterLevel:
    """All non-empty cells of one pyramid level, in Morton order.

    ``first`` is the data row of one member, which *is* the pile when
    ``count == 1`` (singletons are drawn as piles, not as a "1" bubble).
    """

    keys: np.ndarray
    count: np.ndarray
    sum_x: np.ndarray
    sum_y: np.ndarray
    status_counts: np.ndarray
    """(n, 5) piles per status code in each cell."""
    xmin: np.ndarray
    ymin: np.ndarray
    xmax: np.ndarray
    ymax: np.ndarray
    first: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return self.sum_x / self.count

    @property
    def y(self) -> np.ndarray:
        return self.sum_y / self.count

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True, eq=False)
class ClusterView:
    """What to draw for one view window: bubbles for cells of two or more, piles for the rest."""

    level: int | None
    """Pyramid level used, or None when zoomed in far enough to draw every pile."""
    x: np.ndarray
    y: np.ndarray
    count: np.ndarray
    worst: np.ndarray
    status_counts: np.ndarray
    bounds: np.ndarray
    """(n, 4) xmin, ymin, xmax, ymax of each cluster's members (to zoom into it)."""
    piles: np.ndarray
    """Data rows of the individual piles to draw."""

    @classmethod
    def empty(cls) -> ClusterView:
        """Nothing to draw (before the first refresh)."""
        return _empty_view(None, np.zeros(0, np.int64))

    @property
    def total(self) -> int:
        """Piles represented on screen: bubble counts plus individual piles."""
        return int(self.count.sum()) + len(self.piles)


def worst_status(status_counts: np.ndarray) -> np.ndarray:
    """Per row of an (n, 5) status-count array, the most severe status present."""
    present = status_counts > 0
    ranked = np.where(present, _SEVERITY_RANK[None, :], -1)
    return np.argmax(ranked, axis=1).astype(np.uint8)


class ClusterPyramid:
    """Grid clustering at power-of-two cell sizes, built lazily per filter.

    Piles are sorted once by the Morton code of their finest cell, so the
    cells of *every* level are contiguous runs of that order: a level is one
    ``reduceat`` over the previous (finer) level, never a sort. A filter only
    masks the sorted rows; panning only selects cells of an already built
    level. Cells are anchored in map space (not screen space), so bubbles do
    not jump around while the user pans.
    """

    def __init__(self, data: MapData) -> None:
        self.data = data
        n = len(data)
        if n:
            self.x0 = math.floor(float(data.x.min())) - 1.0
            self.y0 = math.floor(float(data.y.min())) - 1.0
        else:
            self.x0 = self.y0 = 0.0
        limit = (1 << _MORTON_BITS) - 1
        ix = np.clip(((data.x - self.x0) / BASE_CELL).astype(np.int64), 0, limit)
        iy = np.clip(((data.y - self.y0) / BASE_CELL).astype(np.int64), 0, limit)
        morton = _spread_bits(ix) | (_spread_bits(iy) << np.uint64(1))
        self._order = np.argsort(morton, kind="stable")
        self._morton_sorted = morton[self._order]
        self.set_mask(None)

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Restricts the pyramid to the filtered piles; levels are rebuilt on demand."""
        if mask is None:
            rows = self._order
            keys = self._morton_sorted
        else:
            keep = mask[self._order]
            rows = self._order[keep]
            keys = self._morton_sorted[keep]
        self.rows = rows
        """Data rows of the filtered piles, in Morton order."""
        self._keys0 = keys
        self.xs = self.data.x[rows]
        self.ys = self.data.y[rows]
        self._levels: dict[int, ClusterLevel] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def level(self, level: int) -> ClusterLevel:
        """The cells of ``level`` (0 = finest), from the nearest finer built level.

        Building straight from the sorted rows costs one pass over the filtered
        piles (~40 ms for a million); coarser levels then come from that level's
        far fewer cells, so zooming out is nearly free.
        """
        if level in self._levels:
            return self._levels[level]
        finer = [k for k in self._levels if k < level]
        if finer:
            k = max(finer)
            built = self._coarsen(self._levels[k], level - k)
        elif level > ANCHOR_LEVEL:
            # Build the anchor once; every coarser zoom level is then cheap.
            built = self._coarsen(self.level(ANCHOR_LEVEL), level - ANCHOR_LEVEL)
        else:
            built = self._build_from_rows(level)
        self._levels[level] = built
        return built

    def _build_from_rows(self, level: int) -> ClusterLevel:
        keys = self._keys0 >> np.uint64(2 * level)
        n = len(keys)
        if n == 0:
            z = np.zeros(0)
            i = np.zeros(0, np.int64)
            return ClusterLevel(keys, i, z, z, np.zeros((0, N_STATUS), np.int64), z, z, z, z, i)
        change = keys[1:] != keys[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        cell = np.r_[0, np.cumsum(change)]
        status = self.data.status[self.rows]
        status_counts = np.bincount(
            cell * N_STATUS + status, minlength=len(starts) * N_STATUS
        ).reshape(-1, N_STATUS)
        return ClusterLevel(
            keys=keys[starts],
            count=np.diff(np.r_[starts, n]),
            sum_x=np.add.reduceat(self.xs, starts),
            sum_y=np.add.reduceat(self.ys, starts),
            status_counts=status_counts,
            xmin=np.minimum.reduceat(self.xs, starts),
            ymin=np.minimum.reduceat(self.ys, starts),
            xmax=np.maximum.reduceat(self.xs, starts),
            ymax=np.maximum.reduceat(self.ys, starts),
            first=self.rows[starts],
        )

    @staticmethod
    def _coarsen(finer: ClusterLevel, steps: int) -> ClusterLevel:
        if len(finer) == 0:
            return finer
        keys = finer.keys >> np.uint64(2 * steps)
        change = keys[1:] != keys[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        cell = np.r_[0, np.cumsum(change)]
        # bincount per status column: reduceat along axis 0 of a 2-D array is slow.
        status_counts = np.column_stack(
            [
                np.bincount(cell, weights=finer.status_counts[:, s], minlength=len(starts))
                for s in range(N_STATUS)
            ]
        ).astype(np.int64)
        return ClusterLevel(
            keys=keys[starts],
            count=np.add.reduceat(finer.count, starts),
            sum_x=np.add.reduceat(finer.sum_x, starts),
            sum_y=np.add.reduceat(finer.sum_y, starts),
            status_counts=status_counts,
            xmin=np.minimum.reduceat(finer.xmin, starts),
            ymin=np.minimum.reduceat(finer.ymin, starts),
            xmax=np.maximum.reduceat(finer.xmax, starts),
            ymax=np.maximum.reduceat(finer.ymax, starts),
            first=finer.first[starts],
        )

    @staticmethod
    def level_for(units_per_pixel: float, cell_px: float) -> int:
        """The finest level whose cells are at least ``cell_px`` pixels wide."""
        if units_per_pixel <= 0 or not math.isfinite(units_per_pixel):
            return 0
        want = cell_px * units_per_pixel / BASE_CELL
        return int(min(MAX_LEVEL, max(0, math.ceil(math.log2(max(want, 1.0))))))

    def view(
        self,
        rect: tuple[float, float, float, float],
        units_per_pixel: float,
        cell_px: float = 56.0,
        individual_below: float = 2.0 / KM_PER_UNIT / 1000.0,
    ) -> ClusterView:
        """Bubbles and piles for the window ``rect`` = (xmin, ymin, xmax, ymax) in map units.

        Below ``individual_below`` map units per pixel (default 2 m/px) every
        pile is drawn, because a station's piles are then far enough apart to
        click one by one.
        """
        xmin, ymin, xmax, ymax = rect
        if units_per_pixel < individual_below:
            keep = (self.xs >= xmin) & (self.xs <= xmax) & (self.ys >= ymin) & (self.ys <= ymax)
            return _empty_view(None, self.rows[keep])
        level = self.level_for(units_per_pixel, cell_px)
        cells = self.level(level)
        cx, cy = cells.x, cells.y
        # Pad by half a cell so a bubble centred just outside still shows its edge.
        pad = BASE_CELL * 2.0**level / 2
        keep = (cx >= xmin - pad) & (cx <= xmax + pad) & (cy >= ymin - pad) & (cy <= ymax + pad)
        idx = np.flatnonzero(keep)
        count = cells.count[idx]
        single = count == 1
        multi = idx[~single]
        status_counts = cells.status_counts[multi]
        return ClusterView(
            level=level,
            x=cx[multi],
            y=cy[multi],
            count=cells.count[multi],
            worst=worst_status(status_counts),
            status_counts=status_counts,
            bounds=np.column_stack(
                [cells.xmin[multi], cells.ymin[multi], cells.xmax[multi], cells.ymax[multi]]
            ),
            piles=cells.first[idx[single]],
        )


def merge_overlapping(
    view: ClusterView,
    data_x: np.ndarray,
    data_y: np.ndarray,
    data_status: np.ndarray,
    units_per_pixel: float,
    diameter_px: Callable[[np.ndarray], np.ndarray],
    pile_px: float = 10.0,
) -> ClusterView:
    """Merges bubbles (and piles) that would overlap on screen into the bigger bubble.

    Grid cells are square, but a station on a cell edge makes two bubbles side
    by side; a greedy pass, biggest bubble first, absorbs every bubble or pile
    its disc would cover (as Leaflet.markercluster does by distance). Counts
    and status mixes are added, so the shown total is unchanged. At most a few
    hundred items are in view (cells are >= 64 px), so the n x n distance
    matrix costs about a millisecond.
    """
    if view.level is None or (len(view.x) == 0):
        return view
    n_b, n_p = len(view.x), len(view.piles)
    x = np.r_[view.x, data_x[view.piles]]
    y = np.r_[view.y, data_y[view.piles]]
    count = np.r_[view.count, np.ones(n_p, np.int64)]
    status_counts = np.zeros((n_b + n_p, N_STATUS), np.int64)
    status_counts[:n_b] = view.status_counts
    status_counts[np.arange(n_b, n_b + n_p), data_status[view.piles]] = 1
    bounds = np.r_[view.bounds, np.column_stack([x[n_b:], y[n_b:], x[n_b:], y[n_b:]])]
    radius = np.r_[diameter_px(view.count), np.full(n_p, pile_px)] / 2 * units_per_pixel
    # Only bubbles absorb, so only their rows are needed: n_b x n, not n x n (zoomed in,
    # a window holds a few hundred bubbles but thousands of single piles).
    d = np.hypot(x[:n_b, None] - x[None, :], y[:n_b, None] - y[None, :])
    overlap = d < 0.9 * (radius[:n_b, None] + radius[None, :])
    if not overlap.sum(axis=1).max(initial=1) > 1:
        return view  # nothing overlaps a bubble (piles may touch piles: that is fine)
    # Bubbles (count >= 2) biggest first; the stable sort keeps the grid order on ties.
    order = np.argsort(-count[:n_b], kind="stable")
    taken = np.zeros(n_b + n_p, bool)
    group = np.full(n_b + n_p, -1, np.int64)
    n_groups = 0
    for i in order.tolist():
        if taken[i]:
            continue
        members = overlap[i] & ~taken
        taken |= members
        group[members] = n_groups
        n_groups += 1
    keep_piles = view.piles[~taken[n_b:]]
    # Sums per group in one pass each (bincount), not a Python loop per group.
    g = group[taken]
    w = count[taken]
    m_count = np.bincount(g, weights=w, minlength=n_groups).astype(np.int64)
    m_x = np.bincount(g, weights=x[taken] * w, minlength=n_groups) / m_count
    m_y = np.bincount(g, weights=y[taken] * w, minlength=n_groups) / m_count
    m_status = np.column_stack(
        [
            np.bincount(g, weights=status_counts[taken, k], minlength=n_groups)
            for k in range(N_STATUS)
        ]
    ).astype(np.int64)
    b = bounds[taken]
    m_bounds = np.empty((n_groups, 4))
    m_bounds[:, :2] = np.inf
    m_bounds[:, 2:] = -np.inf
    for k, ufunc in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        ufunc.at(m_bounds[:, k], g, b[:, k])
    return ClusterView(
        level=view.level,
        x=m_x,
        y=m_y,
        count=m_count,
        worst=worst_status(m_status),
        status_counts=m_status.reshape(-1, N_STATUS),
        bounds=m_bounds.reshape(-1, 4),
        piles=keep_piles,
    )


def nudge_apart(
    view: ClusterView,
    fixed: ClusterView,
    units_per_pixel: float,
    diameter_px: Callable[[np.ndarray], np.ndarray],
    gap_px: float = 2.0,
) -> ClusterView:
    """Moves ``view``'s bubbles off the ``fixed`` layer's bubbles they would cover.

    The dispenser layer clusters on the same grid as the piles, so a city-centre cell
    gets a pile bubble and a dispenser bubble on nearly the same spot, one hiding the
    other. Each overlapping bubble slides away from the nearest fixed bubble until the
    two just touch (east-north-east when they are concentric). One vectorised pass over
    a few hundred bubbles per side; a bubble pushed onto a third one may still touch it.
    Counts, status mixes and bounds (what a click zooms to) are unchanged.
    """
    if not len(view.x) or not len(fixed.x) or units_per_pixel <= 0:
        return view
    r = diameter_px(view.count) / 2 * units_per_pixel
    rf = diameter_px(fixed.count) / 2 * units_per_pixel
    dx = view.x[:, None] - fixed.x[None, :]
    dy = view.y[:, None] - fixed.y[None, :]
    d = np.hypot(dx, dy)
    need = r[:, None] + rf[None, :] + gap_px * units_per_pixel
    overlap = d < need
    if not overlap.any():
        return view
    nearest = np.argmin(np.where(overlap, d, np.inf), axis=1)
    rows = np.flatnonzero(overlap.any(axis=1))
    k = nearest[rows]
    ddx, ddy, dd = dx[rows, k], dy[rows, k], d[rows, k]
    tiny = dd < 1e-12
    ux = np.where(tiny, 0.92, ddx / np.where(tiny, 1.0, dd))
    uy = np.where(tiny, 0.38, ddy / np.where(tiny, 1.0, dd))
    x, y = view.x.copy(), view.y.copy()
    x[rows] = fixed.x[k] + ux * need[rows, k]
    y[rows] = fixed.y[k] + uy * need[rows, k]
    return ClusterView(
        level=view.level,
        x=x,
        y=y,
        count=view.count,
        worst=view.worst,
        status_counts=view.status_counts,
        bounds=view.bounds,
        piles=view.piles,
    )


def _empty_view(level: int | None, piles: np.ndarray) -> ClusterView:
    z = np.zeros(0)
    return ClusterView(
        level=level,
        x=z,
        y=z,
        count=np.zeros(0, np.int64),
        worst=np.zeros(0, np.uint8),
        status_counts=np.zeros((0, N_STATUS), np.int64),
        bounds=np.zeros((0, 4)),
        piles=piles,
    )


# --------------------------------------------------------------------------- demo data


def synthetic_map_data(
    n: int = 12_258,
    seed: int = 2022,
    path: Path = BASEMAP,
    n_operators: int = 91,
    n_stations: int | None = None,
) -> MapData:
    """A plausible fleet for demos, tests and benchmarks (NOT real data).

    Stations are placed inside the basemap's districts in proportion to
    ``ledger.geo``'s assumed pile shares, biased toward each district's built-up
    centre; piles sit within ~60 m of their station, as they do in car parks.
    Statuses follow rough platform proportions (mostly normal, a few percent
    anomalous/overdue/silent, a handful of open alarms). Operators follow a
    Zipf-like share, as a few large networks (State Grid, TELD, Star Charge)
    own most piles. Fully vectorised, so a million piles takes about a second.
    """
    rng = np.random.default_rng(seed)
    regions = [r for r in load_basemap(path) if r.level == "district"]
    if not regions:
        raise ValueError(f"no district polygons in {path}")
    n_stations = n_stations or max(1, round(n * 1016 / 12_258))
    try:
        from ledger.geo import pile_weights

        shares = pile_weights()
        weights = np.array([shares.get(r.name_zh, 0.0) for r in regions])
    except (ImportError, OSError, ValueError):
        weights = np.zeros(len(regions))
    if weights.sum() <= 0:
        weights = np.array([r.area for r in regions])
    weights = weights / weights.sum()
    station_district = rng.choice(len(regions), size=n_stations, p=weights)
    sx = np.empty(n_stations)
    sy = np.empty(n_stations)
    for d, region in enumerate(regions):
        want = np.flatnonzero(station_district == d)
        if not len(want):
            continue
        bx0, by0, bx1, by1 = region.bbox
        lx, ly = region.label_xy
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        have = 0
        while have < len(want):
            m = max(64, 3 * (len(want) - have))
            # Half the stations crowd the district's centre, half spread out.
            near = rng.random(m) < 0.55
            px = np.where(near, rng.normal(lx, (bx1 - bx0) / 9, m), rng.uniform(bx0, bx1, m))
            py = np.where(near, rng.normal(ly, (by1 - by0) / 9, m), rng.uniform(by0, by1, m))
            inside = points_in_rings(px, py, region.rings)
            got_x.append(px[inside])
            got_y.append(py[inside])
            have += int(inside.sum())
        sx[want] = np.concatenate(got_x)[: len(want)]
        sy[want] = np.concatenate(got_y)[: len(want)]
    # Station sizes: a few big hubs, many small car parks.
    size_weights = rng.pareto(1.6, n_stations) + 1.0
    station = rng.choice(n_stations, size=n, p=size_weights / size_weights.sum())
    station[:n_stations] = np.arange(min(n, n_stations))  # every station has a pile
    jitter = 60.0 / 1000.0 / KM_PER_UNIT
    x = sx[station] + rng.normal(0, jitter, n)
    y = sy[station] + rng.normal(0, jitter, n)
    op_share = 1.0 / np.arange(1, n_operators + 1) ** 1.1
    station_operator = rng.choice(n_operators, size=n_stations, p=op_share / op_share.sum())
    status = rng.choice(N_STATUS, size=n, p=[0.9, 0.035, 0.005, 0.03, 0.03]).astype(np.uint8)
    kind = (rng.random(n) < 0.45).astype(np.uint8)
    district_rates = np.bincount(
        station_district[station], weights=(status == ANOMALY) | (status == ALARM),
        minlength=len(regions),
    ) / np.maximum(np.bincount(station_district[station], minlength=len(regions)), 1)  # fmt: skip
    lon, lat = unproject(x, y)
    return MapData(
        pile_ids=np.array([f"HZ{i:07d}" for i in range(n)], dtype=object),
        lon=lon,
        lat=lat,
        status=status,
        operator=station_operator[station],
        operator_names=tuple(f"Operator {i + 1:02d}" for i in range(n_operators)),
        district=station_district[station],
        district_names=tuple(r.name_zh for r in regions),
        kind=kind,
        station=station,
        station_names=tuple(f"Station {i + 1:04d}" for i in range(n_stations)),
        anomaly_rate=district_rates,
    )


def union_names(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    """``first`` in its order, then the names only ``second`` has: the filter bar's list
    for two layers, whose codes stay valid for the first layer (a code past its names
    simply matches none of its rows)."""
    known = set(first)
    return tuple(first) + tuple(sorted({n for n in second if n not in known}))


def synthetic_dispenser_data(
    n: int = 5_000, seed: int = 2023, path: Path = BASEMAP, n_stations: int | None = None
) -> MapData:
    """A plausible city of fuel dispensers (NOT real data): ~10 per station, as Hangzhou's
    ~500 stations have, a handful of operators, placed like ``synthetic_map_data``."""
    import dataclasses

    base = synthetic_map_data(
        n, seed=seed, path=path, n_operators=6, n_stations=n_stations or max(1, n // 10)
    )
    return dataclasses.replace(
        base,
        pile_ids=np.array([f"FD{i:06d}" for i in range(n)], dtype=object),
        kind=np.zeros(n, np.uint8),
        operator_names=("中石化", "中石油", "中海油", "壳牌", "杭燃", "民营"),
        station_names=tuple(f"Fuel station {i + 1:03d}" for i in range(len(base.station_names))),
    )
