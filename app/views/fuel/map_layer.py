"""The dispenser layer of the city map, read from the store (worker-thread function)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection

from app.models.fuel.queries import load_dispenser_columns
from app.views.map_data import MapData

SPREAD_BASE_M = 10.0
SPREAD_PER_DISPENSER_M = 4.0


def spread_around_stations(
    lon: np.ndarray, lat: np.ndarray, station: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Display positions: a station's dispensers on a small circle around its position.

    The registry places a dispenser at its station (the dispenser record has no
    coordinates), so ten dispensers would be one unclickable spot at street level. The
    ring (10 m + 4 m per dispenser: 50 m for ten) keeps them apart at the zoom the map
    shows individual markers (≤ 2 m/px), in ID order clockwise from north; a station's
    only dispenser stays on the station.
    """
    lon = np.asarray(lon, dtype=np.float64).copy()
    lat = np.asarray(lat, dtype=np.float64).copy()
    if not len(lon):
        return lon, lat
    order = np.argsort(station, kind="stable")
    sorted_station = np.asarray(station)[order]
    starts = np.flatnonzero(np.r_[True, sorted_station[1:] != sorted_station[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    size = np.repeat(sizes, sizes)
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    angle = 2 * np.pi * rank / size
    radius_m = np.where(size > 1, SPREAD_BASE_M + SPREAD_PER_DISPENSER_M * size, 0.0)
    north_m, east_m = radius_m * np.cos(angle), radius_m * np.sin(angle)
    rows_lat = lat[order]
    lat[order] = rows_lat + north_m / 111_320.0
    lon[order] = lon[order] + east_m / (111_320.0 * np.cos(np.radians(rows_lat)))
    return lon, lat


def load_dispenser_layer(conn: Connection) -> MapData:
    """Every dispenser as a row of the map's second layer (``pile_ids`` = dispenser IDs).

    Empty on a store without the fuel tables, so the map still shows its piles.
    """
    cols = load_dispenser_columns(conn)
    lon, lat = spread_around_stations(cols.lon, cols.lat, cols.station)
    return MapData(
        pile_ids=cols.dispenser_ids,
        lon=lon,
        lat=lat,
        status=cols.status,
        operator=cols.operator,
        operator_names=cols.operator_names,
        district=cols.district,
        district_names=cols.district_names,
        kind=np.zeros(len(cols), np.uint8),
        station=cols.station,
        station_names=cols.station_names,
    )
