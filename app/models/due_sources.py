"""One due list and one kind of work order for every instrument kind (Qt-free core).

The due list and the work orders are core: they name no kind. Each instrument kind
(charging piles, fuel dispensers, taxi meters) registers one :class:`DueSource` in the
composition root (``app/models/__init__.py``) saying

* which of its instruments need a verification, most urgent first (:attr:`DueSource.rows`),
* where an instrument is verified (:attr:`DueSource.locate`): piles and dispensers at their
  station's coordinates, so a work order routes the inspector through the stations; a taxi
  has no fixed place — it is summoned to the verification station, so a taxi item is a
  vehicle to call in, not a stop on the route (``routed=False``),
* how long one instrument's verification takes, for the order's time estimate, and
* which instruments have a verification in the log since a time (an order's progress
  comes from synced, signed results, never from a tick box).

A work-order item names ``(kind, instrument ID)``; IDs are only unique within a kind.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Connection, Table, select

#: Status groups every kind's rows use, as the charging list always did.
STATUSES = ("overdue", "due_30", "due_90", "ok")


def status_for(days_left: int | None) -> str:
    """``overdue`` from the day after the due date; ``ok`` when there is no date to meet."""
    if days_left is None:
        return "overdue"
    if days_left < 0:
        return "overdue"
    if days_left <= 30:
        return "due_30"
    if days_left <= 90:
        return "due_90"
    return "ok"


@dataclass(frozen=True)
class DueRow:
    """One instrument on a kind's due list.

    ``priority`` orders the list inside a kind (lower first; the kind decides, e.g. a
    broken seal before an expiry); ``reason`` is a code the views translate;
    ``evidence`` is the kind's short, untranslated evidence text (IDs, dates).
    """

    kind: str
    instrument_id: str
    site_id: str | None
    site_name: str
    district: str
    operator_id: str
    reason: str
    priority: int
    valid_until: dt.date | None
    due_date: dt.date | None
    days_left: int | None
    status: str
    flagged: bool = False
    """Put on the list by an event (broken seal, failed result, drift, anomaly) rather than
    by the calendar: listed whatever the horizon."""
    evidence: str = ""
    extra: str = ""
    """A second identifier worth showing (a taxi's meter serial, a dispenser's serial)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.instrument_id)


@dataclass(frozen=True)
class Site:
    """Where an instrument is verified: a station with coordinates (GCJ-02 degrees)."""

    site_id: str
    name: str
    lon: float | None
    lat: float | None


def sites_at_stations(
    conn: Connection,
    ids: Sequence[str],
    instrument_id: Column,
    station_id: Column,
    stations: Table,
) -> dict[str, Site | None]:
    """Each instrument's station as a `Site`, for a kind whose instruments stand at
    registered stations (piles, dispensers): ``instrument_id`` and ``station_id`` are the
    instrument table's columns, ``stations`` has ``station_id``, ``name``, ``lon``, ``lat``.
    An instrument whose station is not registered gets a site without coordinates."""
    s = stations.c
    out: dict[str, Site | None] = {}
    query = (
        select(instrument_id, station_id, s.name, s.lon, s.lat)
        .select_from(instrument_id.table.outerjoin(stations, s.station_id == station_id))
        .where(instrument_id.in_(list(ids)))
    )
    for iid, sid, name, lon, lat in conn.execute(query):
        coords = (None, None) if lon is None or lat is None else (float(lon), float(lat))
        out[iid] = Site(sid, name or sid, *coords)
    return out


def verified_since_in(
    conn: Connection, instrument_id: Column, at_ms: Column, ids: Collection[str], since_ms: int
) -> set[str]:
    """The instruments with a synced verification at or after ``since_ms``: ``instrument_id``
    and ``at_ms`` are columns of the kind's verification table."""
    return set(
        conn.execute(
            select(instrument_id).where(instrument_id.in_(list(ids)), at_ms >= since_ms).distinct()
        ).scalars()
    )


@dataclass(frozen=True)
class DueSource:
    name: str
    """The kind's name (``charging``, ``fuel``, ``taxi``), stored in work-order items."""
    label: tuple[str, str]
    """(Chinese, English) for exports; the views translate their own literal."""
    rows: Callable[[Connection, dt.date], Sequence[DueRow]]
    """The kind's due list on ``today`` (Beijing date), most urgent first."""
    locate: Callable[[Connection, Sequence[str]], Mapping[str, Site | None]]
    """instrument ID -> its site (None: known, but no fixed place); unknown IDs absent."""
    verified_since: Callable[[Connection, Collection[str], int], set[str]]
    """The instruments among the IDs with a verification record at or after Unix ms."""
    minutes_per_item: int
    """Planning figure for one instrument's verification (time estimate of an order)."""
    routed: bool = True
    """False: the instrument comes to the verification station (no route stop)."""


DUE_SOURCES: dict[str, DueSource] = {}


def register_due_source(source: DueSource) -> None:
    """Called once per kind by the composition root; re-registering the same object is a
    no-op (modules are imported more than once in tests), a different one an error."""
    known = DUE_SOURCES.get(source.name)
    if known is source:
        return
    if known is not None:
        raise ValueError(f"a due list for {source.name!r} is already registered")
    DUE_SOURCES[source.name] = source


def due_source(kind: str) -> DueSource:
    try:
        return DUE_SOURCES[kind]
    except KeyError:
        known = ", ".join(DUE_SOURCES) or "none"
        raise ValueError(f"unknown instrument kind {kind!r} (registered: {known})") from None


def due_rows(
    conn: Connection, kind: str, today: dt.date, *, horizon_days: int = 90
) -> list[DueRow]:
    """A kind's due list: instruments overdue, never verified, flagged, or due within
    ``horizon_days``; the kind's own order (most urgent first)."""
    rows = due_source(kind).rows(conn, today)
    return [r for r in rows if r.flagged or r.days_left is None or r.days_left <= horizon_days]


def write_csv(path: Path | str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A table as shown on screen, UTF-8 with BOM (Excel on a Chinese Windows desktop
    opens it without mojibake), as the charging export does."""
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
