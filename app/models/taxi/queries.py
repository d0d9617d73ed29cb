"""Taxi statuses and the taxi view's rows, computed from the store (Qt-free).

The status of a taxi is not re-implemented here: the store's taxi records are replayed,
in log order, through `ledger.taxi.status.TaxiLedger` — the same code the platform runs
to serve ``GET /taxi/status`` and the ride-hailing platforms' client runs to check it —
so the workstation, the served list and the client cannot disagree.

The store keeps the records' fields, not their signed bytes, so each taxi record's body
is applied as it is (`TaxiLedger.apply_record`: the status code reads only the body, and
the sync checked signatures and schemas before the records were applied), and every
entry index of the log is counted, taxi or not, because the status projection prunes
unpaired trips at fixed entry counts. Each reader thread keeps its ledger and feeds it
only what was synced since (`taxi_ledger`): a city's year of trips is read once.
"""

from __future__ import annotations

import datetime as dt
import heapq
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, Table, func, select

from app.models import store as st
from app.models.taxi import tables as tt
from ledger.taxi.records import CST, due_limit_ms
from ledger.taxi.status import DAY_MS, DRIFT_WINDOW, TaxiLedger, TaxiStatus, median_error

"""Key id of the re-encoded entries: the status code ignores signatures."""

_EVENTS = (
    ("taxi_verification", tt.taxi_verifications),
    ("taxi_seal", tt.taxi_seal_events),
    ("trip", tt.trips),
    ("trip_gnss", tt.trip_gnss),
)


def _taxi_records(conn: Connection, after: int = -1) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The store's taxi records after entry ``after`` as (entry index, type, body), in log
    order."""
    reg = tt.taxi_registrations
    registrations = [
        (row.entry_index, row.type, dict(row.body))
        for row in conn.execute(
            select(reg).where(reg.c.entry_index > after).order_by(reg.c.entry_index)
        )
    ]
    streams = [registrations] + [_events(conn, rtype, table, after) for rtype, table in _EVENTS]
    return heapq.merge(*streams, key=lambda item: item[0])


def _events(
    conn: Connection, rtype: str, table: Table, after: int
) -> list[tuple[int, str, dict[str, Any]]]:
    rows = conn.execute(
        select(table).where(table.c.entry_index > after).order_by(table.c.entry_index)
    ).mappings()
    return [
        (row["entry_index"], rtype, {k: v for k, v in row.items() if k != "entry_index"})
        for row in rows
    ]


_HELD = threading.local()
"""Per thread: store URL -> (TaxiLedger, fingerprint of its last entry). A thread's ledger
is fed only the entries synced since, so a refresh at city scale reads the new trips, not
the year; per thread because callers read the ledger's fields after the call."""


def _fingerprint(conn: Connection, index: int) -> tuple | None:
    e = st.entries.c
    row = conn.execute(select(e.type, e.record_id).where(e.entry_index == index)).first()
    return None if row is None else tuple(row)


def taxi_ledger(conn: Connection) -> TaxiLedger:
    """The status projection of the synced log (`ledger.taxi.status.TaxiLedger`): the
    same code the platform and the ride-hailing platforms' client run, fed this store's
    taxi records in log order (other entries counted, not read)."""
    size = conn.execute(select(func.max(st.entries.c.entry_index))).scalar()
    if size is None:
        return TaxiLedger()
    held: dict[str, tuple[TaxiLedger, tuple | None]] = _HELD.__dict__.setdefault("ledgers", {})
    key = str(conn.engine.url)
    ledger, last = held.get(key, (None, None))
    if (
        ledger is None
        or ledger.size > size + 1
        or (ledger.size and _fingerprint(conn, ledger.size - 1) != last)
    ):
        ledger = TaxiLedger()  # first use, or another store at this URL: from the start
    for index, rtype, body in _taxi_records(conn, ledger.size - 1):
        ledger.apply_record(index, rtype, body)
    ledger.advance(size + 1)
    held[key] = (ledger, _fingerprint(conn, size))
    return ledger


def statuses(conn: Connection) -> list[TaxiStatus]:
    """Every registered taxi's status, sorted by plate (the served list's lines)."""
    return taxi_ledger(conn).statuses()


@dataclass(frozen=True)
class TaxiRow:
    """One line of the taxi view."""

    plate: str
    operator_id: str
    meter_serial: str
    status: str
    evidence: str
    next_due: str | None
    days_left: int | None
    drift_pct: float | None
    """Median (meter − GNSS) / GNSS in %, over the trips the status judges drift on."""
    company: str = ""
    """The company's registered name ("" when the store has no operator record)."""


def taxi_rows(conn: Connection) -> list[TaxiRow]:
    """The taxi view's rows: status from `taxi_ledger`, company from the registry."""
    ledger = taxi_ledger(conn)
    companies = dict(conn.execute(select(tt.vehicles.c.plate, tt.vehicles.c.operator_id)).all())
    names = dict(conn.execute(select(st.operators.c.operator_id, st.operators.c.name)).all())
    rows = []
    for status in ledger.statuses():
        held = ledger.verifications.get((status.meter_serial, status.plate))
        next_due = days_left = drift = None
        if held is not None:
            next_due = held[2]["next_due"]
            try:
                days_left = (due_limit_ms(next_due) - ledger.as_of_ms) // DAY_MS
            except ValueError:
                days_left = None
            trips = sorted(
                t for t in ledger.matched.get(status.meter_serial, ()) if t[0] >= held[0]
            )
            trips = trips[-DRIFT_WINDOW:]
            if trips:
                median = median_error(Fraction(m - g, g) for _, _, m, g in trips)
                drift = float(median * 100)
        rows.append(
            TaxiRow(
                status.plate,
                companies.get(status.plate, ""),
                status.meter_serial,
                status.status,
                status.evidence,
                next_due,
                days_left,
                drift,
                names.get(companies.get(status.plate, ""), ""),
            )
        )
    return rows


def drift_points(conn: Connection, meter_serial: str) -> list[tuple[int, float]]:
    """(hire time ms, (meter − GNSS) / GNSS in %) of a meter's trips that have the
    monitoring platform's distance, by hire time: the drift plot's points."""
    t, g = tt.trips, tt.trip_gnss
    stmt = (
        select(t.c.hire_ms, t.c.meter_m, g.c.gnss_m)
        .join(g, (g.c.terminal_id == t.c.terminal_id) & (g.c.trip_id == t.c.trip_id))
        .where(t.c.meter_serial == meter_serial, g.c.gnss_m > 0)
        .order_by(t.c.hire_ms)
    )
    return [(hire, (meter - gnss) * 100 / gnss) for hire, meter, gnss in conn.execute(stmt)]


def status_history(conn: Connection, plate: str) -> list[tuple[int, str, str]]:
    """(entry index, type, summary) of the records that decide a taxi's status, in log
    order: its registrations, verifications (result, date verified → next due, CST) and
    seal events."""
    out: list[tuple[int, str, str]] = []
    for row in conn.execute(
        select(tt.taxi_registrations).order_by(tt.taxi_registrations.c.entry_index)
    ):
        if row.body.get("plate") == plate:
            out.append((row.entry_index, row.type, row.body.get("meter_serial", "")))
    v = tt.taxi_verifications
    for row in conn.execute(select(v).where(v.c.plate == plate)).mappings():
        done = dt.datetime.fromtimestamp(row["at_ms"] / 1000, CST).date().isoformat()
        out.append(
            (row["entry_index"], "taxi_verification", f"{row['result']} {done} → {row['next_due']}")
        )
    s = tt.taxi_seal_events
    for row in conn.execute(select(s).where(s.c.plate == plate)).mappings():
        out.append((row["entry_index"], "taxi_seal", row["event"]))
    return sorted(out)
