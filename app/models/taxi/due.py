"""The taxi meters' verification due list, from the log's taxi projection (Qt-free).

Who needs a JJG 517 verification, most urgent first: a failed meter (off the road until
re-verified), a broken seal, suspected drift (a triggered verification), an expired or
never-verified meter, then meters whose validity ends within the window, soonest first.
Each row says why, the validity end (CST date) and the days left, so an office can turn
the top of the list into work orders for the verification station.

Why from :class:`ledger.taxi.status.TaxiLedger` and not from a database: the status is
a pure function of the log (docs/taxi-status.md), so the due list the office plans with
is the suspension list the ride-hailing platforms act on — they cannot disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from app.models.due_sources import DueRow, DueSource, Site, status_for
from app.models.taxi import tables as tt
from app.models.taxi.queries import taxi_ledger
from app.models.taxi.verification import TaxiSpec
from ledger.taxi.records import CST, verification_outcome
from ledger.taxi.status import NO_METER, TaxiLedger

__all__ = [
    "PRIORITY",
    "TAXI_DUE",
    "TaxiDueRow",
    "due_list",
    "taxi_due",
    "to_csv",
    "verification_kind",
]

#: Status → order on the list (lower first) — the statuses a verification resolves.
PRIORITY = {
    "failed": 0,
    "seal_broken": 1,
    "drift_suspected": 2,
    "expired": 3,
    "unverified": 4,
    "expiring": 5,
}
DAY_MS = 86_400_000


@dataclass(frozen=True)
class TaxiDueRow:
    plate: str
    meter_serial: str
    status: str
    valid_until: dt.date | None
    """last valid day (CST) of the latest verification in this taxi, if any"""
    days_left: int | None
    """whole days from the as-of time to the end of validity (negative: overdue)"""
    evidence: str

    @property
    def kind(self) -> str:
        return verification_kind(self.status)


def verification_kind(status: str) -> str:
    """Which ``taxi_verification`` kind the station should record: a meter never verified
    in this taxi gets a first verification, a failed/drifting/tampered one a triggered
    one, an expiring or expired one its periodic verification."""
    if status == "unverified":
        return "first"
    if status in ("failed", "seal_broken", "drift_suspected"):
        return "triggered"
    return "periodic"


def due_list(ledger: TaxiLedger) -> list[TaxiDueRow]:
    """Every taxi whose status a verification would resolve, most urgent first; at the
    ledger's as-of time (the log's, not the wall clock, so anyone recomputes the same)."""
    rows = []
    for status in ledger.statuses():
        if status.status not in PRIORITY:
            continue
        until: dt.date | None = None
        days: int | None = None
        held = ledger.verifications.get((status.meter_serial, status.plate))
        if status.meter_serial != NO_METER and held is not None:
            _passed, until_ms, _ = verification_outcome(held[2])
            until = dt.datetime.fromtimestamp(until_ms / 1000 - 1, CST).date()
            days = (until_ms - ledger.as_of_ms) // DAY_MS
        rows.append(
            TaxiDueRow(
                status.plate, status.meter_serial, status.status, until, days, status.evidence
            )
        )
    far = 10**9
    rows.sort(
        key=lambda r: (
            PRIORITY[r.status],
            far if r.days_left is None else r.days_left,
            r.plate,
        )
    )
    return rows


def to_csv(rows: list[TaxiDueRow]) -> str:
    """The list as CSV (UTF-8 text, header row), for the station's planning sheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["plate", "meter_serial", "status", "kind", "valid_until", "days_left", "evidence"]
    )
    for r in rows:
        writer.writerow(
            [
                r.plate,
                r.meter_serial,
                r.status,
                r.kind,
                r.valid_until.isoformat() if r.valid_until else "",
                "" if r.days_left is None else r.days_left,
                r.evidence,
            ]
        )
    return out.getvalue()


# ---- the core's due list and work orders (app.models.due_sources) ----------------------

#: Planning figure for one taxi at the verification station (roller or road test of
#: distance and time, checks, sealing): the workstation's estimate, not a rule.
MINUTES_PER_TAXI = 40
_FLAGGED = ("failed", "seal_broken", "drift_suspected")


def taxi_due(conn: Connection, today: dt.date) -> list[DueRow]:
    """:func:`due_list` of the store's taxi projection as the core's rows. Days left are
    the log's (its as-of time), not ``today``'s: the same figures the status list
    served to the ride-hailing platforms shows."""
    companies = dict(conn.execute(select(tt.vehicles.c.plate, tt.vehicles.c.operator_id)).all())
    return [
        DueRow(
            kind="taxi",
            instrument_id=r.plate,
            site_id=None,
            site_name="",
            district="",
            operator_id=companies.get(r.plate, ""),
            reason=r.status,
            priority=PRIORITY[r.status],
            valid_until=r.valid_until,
            due_date=r.valid_until,
            days_left=r.days_left,
            status=status_for(r.days_left),
            flagged=r.status in _FLAGGED,
            evidence=r.evidence,
            extra=r.meter_serial,
        )
        for r in due_list(taxi_ledger(conn))
    ]


def locate(conn: Connection, plates: Sequence[str]) -> Mapping[str, Site | None]:
    """Registered taxis have no fixed place: they are summoned to the station (None)."""
    v = tt.vehicles
    known = conn.execute(select(v.c.plate).where(v.c.plate.in_(list(plates)))).scalars()
    return {plate: None for plate in known}


def verified_since(conn: Connection, plates: Collection[str], since_ms: int) -> set[str]:
    """Taxis with a synced JJG 517 verification at or after ``since_ms``."""
    v = tt.taxi_verifications
    return set(
        conn.execute(
            select(v.c.plate).where(v.c.plate.in_(list(plates)), v.c.at_ms >= since_ms).distinct()
        ).scalars()
    )


TAXI_DUE = DueSource(
    name="taxi",
    label=("出租车计价器", "taxi meters"),
    rows=taxi_due,
    locate=locate,
    verified_since=verified_since,
    minutes_per_item=MINUTES_PER_TAXI,
    routed=False,
)


def wizard_specs(conn: Connection) -> list[TaxiSpec]:
    """Every registered taxi's current taximeter (its newest ``taximeter`` record) as the
    JJG 517 wizard's nameplate data, the due list's taxis first (most urgent first), then
    the rest by plate."""
    order = {r.plate: n for n, r in enumerate(due_list(taxi_ledger(conn)))}
    m = tt.taximeters
    current: dict[str, TaxiSpec] = {}
    for r in conn.execute(select(m).order_by(m.c.at_ms, m.c.entry_index)):
        try:
            current[r.plate] = TaxiSpec(
                r.plate,
                r.meter_serial,
                int(r.k_constant),
                model=r.model or "",
                maker=r.maker or "",
                operator=r.operator_id,
                terminal_id=r.terminal_id,
            )
        except ValueError:  # VerificationError: a meter the wizard cannot start from
            current.pop(r.plate, None)  # (not its predecessor either: that one is gone)
    return sorted(current.values(), key=lambda t: (order.get(t.plate, len(order)), t.plate))
