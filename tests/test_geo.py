"""ledger.geo: the committed basemap locates landmarks and places a city's worth of piles."""

from __future__ import annotations

import random

import pytest

from ledger import geo

HANGZHOU_2021 = {
    "上城区",
    "拱墅区",
    "西湖区",
    "滨江区",
    "萧山区",
    "余杭区",
    "临平区",
    "钱塘区",
    "富阳区",
    "临安区",
    "桐庐县",
    "淳安县",
    "建德市",
}


def test_basemap_has_the_post_2021_division() -> None:
    districts = geo.load_districts()
    assert {d.name_zh for d in districts} == HANGZHOU_2021
    assert all(d.name_en and d.adcode.startswith("3301") for d in districts)
    # Hangzhou is about 16,850 km²; the approximate areas should add up to that.
    assert 16_000 < sum(d.area_km2 for d in districts) < 17_500


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (120.14, 30.25, "西湖区"),  # West Lake
        (120.213, 30.291, "上城区"),  # Hangzhou East railway station
        (119.04, 29.61, "淳安县"),  # Qiandaohu town
        (120.21, 30.21, "滨江区"),  # Binjiang, south bank of the Qiantang
        (120.27, 30.18, "萧山区"),  # Xiaoshan town centre
        (119.72, 30.23, "临安区"),  # Lin'an, Jincheng subdistrict
    ],
)
def test_district_of_landmarks(lon: float, lat: float, expected: str) -> None:
    district = geo.district_of(lon, lat)
    assert district is not None
    assert district.name_zh == expected


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (121.47, 31.23),  # Shanghai, People's Square
        (120.58, 30.00),  # Shaoxing, Zhejiang but not Hangzhou
        (0.0, 0.0),
    ],
)
def test_district_of_outside_hangzhou(lon: float, lat: float) -> None:
    assert geo.district_of(lon, lat) is None


def test_districts_tile_the_city_without_gaps_or_overlaps() -> None:
    """Every grid point inside the city outline is in exactly one district."""
    districts = geo.load_districts()
    city = geo.city_outline()
    min_lon, min_lat, max_lon, max_lat = city.bbox
    steps = 60
    inside = 0
    for i in range(steps):
        for j in range(steps):
            lon = min_lon + (i + 0.5) * (max_lon - min_lon) / steps
            lat = min_lat + (j + 0.5) * (max_lat - min_lat) / steps
            hits = sum(d.contains(lon, lat) for d in districts)
            assert hits == int(city.contains(lon, lat)), (lon, lat)
            inside += hits
    assert inside > steps * steps // 3


def test_random_point_in_stays_inside() -> None:
    rng = random.Random(20220526)
    for district in geo.load_districts():
        for _ in range(200):
            lon, lat = geo.random_point_in(district, rng)
            assert district.contains(lon, lat)
            assert geo.district_of(lon, lat) is district


def test_random_point_in_is_reproducible() -> None:
    district = geo.district_by_name("Chun'an County")
    first = [geo.random_point_in(district, random.Random(7)) for _ in range(3)]
    again = [geo.random_point_in(district, random.Random(7)) for _ in range(3)]
    assert first == again


def test_holes_and_multipolygons() -> None:
    """A square with a square hole, plus a disjoint island: the synthetic worst case."""
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]]
    island = [[10, 10], [11, 10], [11, 11], [10, 11]]  # left open: loader closes it
    district = geo.District.from_geojson(
        {"name_zh": "测试区", "name_en": "Test District"},
        {"type": "MultiPolygon", "coordinates": [[outer, hole], [island]]},
    )
    assert district.contains(0.5, 0.5)
    assert not district.contains(2, 2)  # in the hole
    assert district.contains(10.5, 10.5)
    assert not district.contains(7, 7)  # between the parts, inside the bbox
    assert district.bbox == (0, 0, 11, 11)
    assert geo.district_of(2, 2, [district]) is None
    rng = random.Random(1)
    for _ in range(500):
        lon, lat = geo.random_point_in(district, rng)
        assert not (1 < lon < 3 and 1 < lat < 3)


def test_pile_weights_cover_every_district() -> None:
    weights = geo.pile_weights()
    assert set(weights) == HANGZHOU_2021
    assert sum(weights.values()) == pytest.approx(1.0)
    urban = weights["上城区"] + weights["拱墅区"] + weights["西湖区"] + weights["滨江区"]
    rural = weights["淳安县"] + weights["建德市"] + weights["桐庐县"]
    assert urban > 5 * rural


def test_allocate_is_exact() -> None:
    counts = geo.allocate(12_258)
    assert sum(counts.values()) == 12_258
    assert counts == geo.allocate(12_258)
    assert geo.allocate(0) == dict.fromkeys(HANGZHOU_2021, 0)
    with pytest.raises(ValueError):
        geo.allocate(-1)


def test_place_a_city_of_piles() -> None:
    """The fleet simulator's whole job: 12,258 piles, each in its allotted district."""
    placed = geo.place_piles(12_258, random.Random(2022))
    assert len(placed) == 12_258
    counts = geo.allocate(12_258)
    for district, (lon, lat) in placed[:: max(1, len(placed) // 2000)]:
        assert district.contains(lon, lat)
    assert {d.name_zh for d, _ in placed} == set(counts)
