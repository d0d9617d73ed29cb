"""The status of every taxi meter, computed from the log's entries alone (Qt-free).

A pure function of the entries in log order: the platform that serves the suspension
list (`ledger.taxi.feed`) and the ride-hailing platform's client that checks it
(`ledger.taxi.client`) run this same code over the same entries and must get the same
lines. docs/taxi-status.md is the contract; the rules, in the order they are applied
(the first that holds is the taxi's status):

1. ``unverified`` — the vehicle has no meter, or its meter has no verification record in
   this vehicle, or the meter is registered with another K constant than the one the
   latest verification recorded (an adjusted meter needs a new verification);
2. ``failed`` — the meter's latest verification (latest ``at_ms``, then log order) did
   not pass: ``result`` "fail", or a distance error outside −4 % … +1 % whatever the
   result says (`ledger.taxi.records.verification_outcome`);
3. ``expired`` — the as-of time is at or past the end of the verification's validity
   (end of the ``next_due`` day, UTC+8, and never more than one year after the
   verification day);
4. ``seal_broken`` — the terminal reported the meter's seal ``opened`` or ``tamper``
   after that verification, or the verification left the seal open;
5. ``drift_suspected`` — over the meter's latest `DRIFT_WINDOW` trips since that
   verification that have the monitoring platform's GNSS distance (of at least
   `MIN_GNSS_M`), at least `DRIFT_MIN_TRIPS` of them, the median of
   (meter m − GNSS m) / GNSS m is above +1 % or below −4 % (exact rational arithmetic:
   exactly +1 % or −4 % is not drift). The trip entries' indexes are the evidence;
6. ``expiring`` — 30 days or less of validity left;
7. ``valid``.

The **as-of time** is not the wall clock (nobody could recompute that): it is the
latest ``at_ms`` of the taxi records in the log that are not signed by an in-vehicle
terminal (vehicle, taximeter, monitor, taxi_verification, trip_gnss). Terminals are
left out because ten thousand in-vehicle clocks are the likeliest to run ahead, and one
record dated next year would otherwise expire every meter in the city. The monitoring
platform posts GNSS distances all day, so the as-of time follows real time closely.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger.records import RecordError, parse_fields
from ledger.taxi.records import TAXI, verification_outcome

DAY_MS = 86_400_000
EXPIRING_MS = 30 * DAY_MS
DRIFT_MIN_TRIPS = 20
DRIFT_WINDOW = 100
DRIFT_LIMITS = (Fraction(-4, 100), Fraction(1, 100))
MIN_GNSS_M = 1_000
"""Trips shorter than 1 km by GNSS are not used: a few metres of positioning error at the
start and end would weigh more than the meter's own error."""
PAIRING_MS = 7 * DAY_MS
PRUNE_EVERY = 65_536
"""Every `PRUNE_EVERY` entries (a point fixed by the log, so every recomputation prunes
at the same places), trip and GNSS halves older than `PAIRING_MS` before the as-of time
are forgotten: a half that found no partner within a week never will, and a city's
300,000 trips a day must not grow the projection forever. A trip record whose
(terminal, trip ID) repeats after that is then a new trip."""

STATUSES = (
    "unverified",
    "failed",
    "expired",
    "seal_broken",
    "drift_suspected",
    "expiring",
    "valid",
)
SUSPEND = frozenset(STATUSES[:5])
"""The statuses on which a ride-hailing platform suspends the taxi."""
NO_METER = "-"

_TYPES = frozenset(TAXI.schemas)
_CLOCK_TYPES = frozenset({"vehicle", "taximeter", "monitor", "taxi_verification", "trip_gnss"})
_TAIL = b',"t":"'
_TYPE_BYTES = frozenset(t.encode() for t in _TYPES)


@dataclass(frozen=True)
class TaxiStatus:
    """One line of the suspension list."""

    plate: str
    meter_serial: str
    status: str
    evidence: str

    def line(self) -> str:
        """``plate serial status evidence``, each field escaped (`escape`)."""
        return " ".join(
            escape(part) for part in (self.plate, self.meter_serial, self.status, self.evidence)
        )

    @classmethod
    def parse(cls, line: str) -> TaxiStatus:
        parts = line.split(" ")
        if len(parts) != 4 or not all(parts):
            raise ValueError(f"a status line has 4 fields separated by one space: {line[:80]!r}")
        plate, serial, status, evidence = (unescape(p) for p in parts)
        if [escape(f) for f in (plate, serial, status, evidence)] != parts:
            raise ValueError(
                f"a status line field is not escaped as the contract says: {line[:80]!r}"
            )
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r} in line {line[:80]!r}")
        return cls(plate, serial, status, evidence)


def escape(text: str) -> str:
    """Percent-escapes '%', whitespace, control characters and DEL (their UTF-8 bytes,
    upper-case hex), so a field never contains the separator or a line break. The records
    do not forbid a space in a plate (their types take the parser's schema-only fast
    path), so the list format has to carry one unambiguously."""
    out = []
    for ch in text:
        if ch <= " " or ch in "%\x7f" or ch.isspace():
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def unescape(text: str) -> str:
    """The inverse of `escape`; ValueError for a malformed escape or invalid UTF-8."""
    if "%" not in text:
        return text
    data = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%":
            digits = text[i + 1 : i + 3]
            if len(digits) != 2 or not all(c in "0123456789ABCDEF" for c in digits):
                raise ValueError(f"malformed escape {text[i : i + 3]!r}")
            data.append(int(digits, 16))
            i += 3
        else:
            data.extend(text[i].encode("utf-8"))
            i += 1
    return data.decode("utf-8")


@dataclass
class _Meter:
    plate: str
    terminal_id: str
    k_constant: int
    index: int


@dataclass
class TaxiLedger:
    """The taxi projection of a log, fed its entries in order (`apply`); `statuses` is
    the list at the entries applied so far. Entries that are not taxi records, or that do
    not parse, are skipped: signatures and registry rules are the caller's job (the
    platform checked them at ingest, the client checks them again)."""

    size: int = 0
    as_of_ms: int = 0
    prune_every: int = PRUNE_EVERY
    vehicles: dict[str, int] = field(default_factory=dict)
    meters: dict[str, _Meter] = field(default_factory=dict)
    plate_meter: dict[str, str] = field(default_factory=dict)
    verifications: dict[tuple[str, str], tuple[int, int, dict]] = field(default_factory=dict)
    """(serial, plate) -> the latest verification: an installed meter is verified in
    its vehicle (tyres, K constant), so a meter moved to another taxi needs a new one."""
    seal_breaks: dict[str, tuple[int, int]] = field(default_factory=dict)
    trips: dict[tuple[str, str], tuple[int, str, int, int]] = field(default_factory=dict)
    gnss: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    """(terminal_id, trip_id) -> (gnss_m, at_ms)"""
    matched: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    """serial -> [(hire_ms, trip entry index, meter_m, gnss_m)], the latest trips."""

    def apply_all(self, entries: Iterable[bytes]) -> TaxiLedger:
        for data in entries:
            self.apply(self.size, data)
        return self

    def apply(self, index: int, data: bytes) -> None:
        """Applies entry ``index``; entries must come in log order, each once."""
        if index != self.size:
            raise ValueError(f"entry {index} applied to a projection of {self.size} entries")
        self.size += 1
        if self.size % self.prune_every == 0:
            self._prune()
        tail = data.rfind(_TAIL)
        start = tail + len(_TAIL)
        if tail < 0 or data[start : data.find(b'"', start)] not in _TYPE_BYTES:
            return  # not a taxi record (canonical entries end with ,"t":"<type>","v":1})
        try:
            rtype, body, *_ = parse_fields(data)
        except RecordError:
            return
        if rtype in _TYPES:
            self._apply(index, rtype, body)

    def apply_record(self, index: int, rtype: str, body: Mapping[str, Any]) -> None:
        """Applies a taxi record already parsed and checked (a workstation's store), at
        ``index``; the entries between the last one applied and ``index`` are counted as
        not taxi records. Same result as `apply` of every entry in order."""
        self.advance(index)
        self.apply(index, b"")  # counts entry ``index`` (and prunes) as `apply` does
        if rtype in _TYPES:
            self._apply(index, rtype, body)

    def advance(self, size: int) -> None:
        """Counts entries up to ``size`` as not taxi records (``apply(i, b"")`` for each),
        in one step: pruning depends only on the time, which they do not move."""
        if size < self.size:
            raise ValueError(f"cannot go back from {self.size} entries to {size}")
        if size // self.prune_every > self.size // self.prune_every:
            self._prune()
        self.size = size

    def _apply(self, index: int, rtype: str, body: Mapping[str, Any]) -> None:
        if rtype in _CLOCK_TYPES and body["at_ms"] > self.as_of_ms:
            self.as_of_ms = body["at_ms"]
        if rtype == "vehicle":
            self.vehicles.setdefault(body["plate"], index)
        elif rtype == "taximeter":
            serial = body["meter_serial"]
            self.meters[serial] = _Meter(
                body["plate"], body["terminal_id"], body["k_constant"], index
            )
            self.plate_meter[body["plate"]] = serial
        elif rtype == "taxi_verification":
            key = (body["at_ms"], index)
            where = (body["meter_serial"], body["plate"])
            held = self.verifications.get(where)
            if held is None or key > held[:2]:
                self.verifications[where] = (*key, dict(body))
        elif rtype == "taxi_seal":
            meter = self.meters.get(body["meter_serial"])
            if meter is None or meter.terminal_id != body["terminal_id"]:
                return  # a terminal speaks only for the meter registered with it
            if body["event"] in ("opened", "tamper"):
                key = (body["at_ms"], index)
                if key > self.seal_breaks.get(body["meter_serial"], (-1, -1)):
                    self.seal_breaks[body["meter_serial"]] = key
        elif rtype == "trip":
            meter = self.meters.get(body["meter_serial"])
            if meter is None or meter.terminal_id != body["terminal_id"]:
                return
            if body["vacant_ms"] < body["hire_ms"] or body["meter_m"] < 0:
                return
            key = (body["terminal_id"], body["trip_id"])
            if key in self.trips:
                return  # the first record of a trip counts
            self.trips[key] = (index, body["meter_serial"], body["hire_ms"], body["meter_m"])
            self._match(key)
        elif rtype == "trip_gnss":
            key = (body["terminal_id"], body["trip_id"])
            if key not in self.gnss:
                self.gnss[key] = (body["gnss_m"], body["at_ms"])
                self._match(key)

    def _prune(self) -> None:
        horizon = self.as_of_ms - PAIRING_MS
        self.trips = {k: v for k, v in self.trips.items() if v[2] >= horizon}
        self.gnss = {k: v for k, v in self.gnss.items() if v[1] >= horizon}

    def _match(self, key: tuple[str, str]) -> None:
        trip, gnss = self.trips.get(key), self.gnss.get(key)
        if trip is None or gnss is None or gnss[0] < MIN_GNSS_M:
            return
        gnss_m = gnss[0]
        index, serial, hire_ms, meter_m = trip
        window = self.matched.setdefault(serial, [])
        window.append((hire_ms, index, meter_m, gnss_m))
        if len(window) > 2 * DRIFT_WINDOW:  # keep the latest trips by hire time
            window.sort()
            del window[:-DRIFT_WINDOW]

    # ---- the statuses ---------------------------------------------------------------
    def statuses(self) -> list[TaxiStatus]:
        """Every registered taxi's status at `as_of_ms`, sorted by plate (code points)."""
        return [self.status_of(plate) for plate in sorted(self.vehicles)]

    def status_of(self, plate: str) -> TaxiStatus:
        serial = self.plate_meter.get(plate)
        meter = self.meters.get(serial) if serial is not None else None
        if meter is None or meter.plate != plate:  # never fitted, or moved to another taxi
            return TaxiStatus(plate, NO_METER, "unverified", f"vehicle@{self.vehicles[plate]}")
        held = self.verifications.get((serial, plate))
        if held is None or held[2]["k_constant"] != meter.k_constant:
            # Never verified in this taxi, or the meter was registered since with another
            # K constant than the one verified: an adjusted meter needs a new verification.
            return TaxiStatus(plate, serial, "unverified", f"meter@{meter.index}")
        at_ms, v_index, body = held
        passed, until_ms, _reason = verification_outcome(body)
        cite = f"verification@{v_index}"
        if not passed:
            return TaxiStatus(plate, serial, "failed", cite)
        if self.as_of_ms >= until_ms:
            return TaxiStatus(plate, serial, "expired", cite)
        broken = self.seal_breaks.get(serial)
        if broken is not None and broken[0] > at_ms:
            return TaxiStatus(plate, serial, "seal_broken", f"seal@{broken[1]}")
        if not body["seal_closed"]:
            return TaxiStatus(plate, serial, "seal_broken", cite)
        drift = self._drift(serial, at_ms)
        if drift is not None:
            return TaxiStatus(plate, serial, "drift_suspected", drift)
        if until_ms - self.as_of_ms <= EXPIRING_MS:
            return TaxiStatus(plate, serial, "expiring", cite)
        return TaxiStatus(plate, serial, "valid", cite)

    def _drift(self, serial: str, since_ms: int) -> str | None:
        trips = sorted(t for t in self.matched.get(serial, ()) if t[0] >= since_ms)
        trips = trips[-DRIFT_WINDOW:]
        if len(trips) < DRIFT_MIN_TRIPS:
            return None
        median = median_error(Fraction(meter - gnss, gnss) for _, _, meter, gnss in trips)
        low, high = DRIFT_LIMITS
        if low <= median <= high:
            return None
        ppm = int(median * 1_000_000)
        indexes = ",".join(str(index) for index in sorted(t[1] for t in trips))
        return f"median_ppm={ppm:+d};trips={len(trips)};entries={indexes}"


def median_error(errors: Iterable[Fraction]) -> Fraction:
    """The median, exactly (the mean of the two middle values for an even count)."""
    values = sorted(errors)
    if not values:
        raise ValueError("the median of no trips")
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


def compute(entries: Iterable[bytes]) -> TaxiLedger:
    """The projection of ``entries`` (index 0 first): ``.statuses()``, ``.as_of_ms``."""
    return TaxiLedger().apply_all(entries)
