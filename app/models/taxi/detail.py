"""One taxi's detail, read from the store (Qt-free): registry, status, drift, verifications.

The status and the drift figure the detail shows are the ones the suspension list
serves: both come from `app.models.taxi.queries.taxi_ledger` (the log replayed through
`ledger.taxi.status.TaxiLedger`), so the median drawn on the plot is the very median the
``drift_suspected`` rule judged (the latest `DRIFT_WINDOW` trips since the taxi's latest
verification), not a second computation that could disagree. Replaying the log costs a
city's store a few seconds: the view runs this on the reader's worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, select

from app.models import store as st
from app.models.taxi import queries as tq
from app.models.taxi import tables as tt
from ledger.taxi.status import DRIFT_WINDOW, median_error


@dataclass(frozen=True)
class TaxiDetail:
    """What the taxi detail shows; names, not IDs, where the registry has them."""

    plate: str
    operator_id: str
    company: str
    """The taxi company's registered name (its ID when the store has no operator record)."""
    meter_serial: str
    model: str
    maker: str
    k_constant: int | None
    terminal_id: str
    installed_ms: int | None
    status: str
    evidence: str
    as_of_ms: int
    points: list[tuple[int, float]] = field(default_factory=list)
    """(hire time ms, (meter − GNSS) / GNSS in %) of every trip with a GNSS distance."""
    judged: tuple[int, int] | None = None
    """(first, last hire time ms) of the trips the drift rule judged; None: no trips."""
    judged_count: int = 0
    median_pct: float | None = None
    """Their median (meter − GNSS) / GNSS in %, as the status rule computed it."""
    history: list[tuple[int, str, str]] = field(default_factory=list)
    verifications: list[dict[str, Any]] = field(default_factory=list)
    """The taxi's verifications, oldest first, with ``inspector`` (the inspector's name)."""


def taxi_detail(conn: Connection, plate: str) -> TaxiDetail | None:
    """The detail of ``plate``; None for a plate the store does not know."""
    ledger = tq.taxi_ledger(conn)
    if plate not in ledger.vehicles:
        return None
    status = ledger.status_of(plate)
    vehicle = conn.execute(select(tt.vehicles).where(tt.vehicles.c.plate == plate)).first()
    operator_id = vehicle.operator_id if vehicle is not None else ""
    company = conn.execute(
        select(st.operators.c.name).where(st.operators.c.operator_id == operator_id)
    ).scalar()
    meter = None
    if status.meter_serial != "-":
        meter = conn.execute(
            select(tt.taximeters).where(tt.taximeters.c.meter_serial == status.meter_serial)
        ).first()
    judged = None
    count = 0
    median = None
    held = ledger.verifications.get((status.meter_serial, plate))
    if held is not None:
        trips = sorted(t for t in ledger.matched.get(status.meter_serial, ()) if t[0] >= held[0])
        trips = trips[-DRIFT_WINDOW:]
        if trips:
            judged = (trips[0][0], trips[-1][0])
            count = len(trips)
            median = float(median_error(Fraction(m - g, g) for _, _, m, g in trips) * 100)
    names = dict(conn.execute(select(st.inspectors.c.inspector_id, st.inspectors.c.name)).all())
    v = tt.taxi_verifications
    verifications = [
        {**row, "inspector": names.get(row["inspector_id"], row["inspector_id"])}
        for row in conn.execute(
            select(v).where(v.c.plate == plate).order_by(v.c.at_ms, v.c.entry_index)
        ).mappings()
    ]
    return TaxiDetail(
        plate=plate,
        operator_id=operator_id,
        company=company or operator_id,
        meter_serial=status.meter_serial,
        model=meter.model if meter is not None else "",
        maker=(meter.maker or "") if meter is not None else "",
        k_constant=meter.k_constant if meter is not None else None,
        terminal_id=meter.terminal_id if meter is not None else "",
        installed_ms=meter.installed_ms if meter is not None else None,
        status=status.status,
        evidence=status.evidence,
        as_of_ms=ledger.as_of_ms,
        points=tq.drift_points(conn, status.meter_serial) if meter is not None else [],
        judged=judged,
        judged_count=count,
        median_pct=median,
        history=tq.status_history(conn, plate),
        verifications=verifications,
    )
