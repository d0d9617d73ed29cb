"""The taxi-meter kind's records (安心打车): docs/records.md, "Taxi meters".

Units: distance in m, time in s (waiting) or Unix ms (UTC), money in fen, coordinates in
micro-degrees (GCJ-02), the meter constant K in pulses per km, errors in ppm (1 % = 10,000).
Integers only, as every record.

Who signs what, and why:

* a **taxi company** is the core's ``operator`` (registered by the authority, as a
  charging operator is): it registers its **vehicles** (by plate) and the **taximeter**
  in each — meter serial, model, K constant, and the in-vehicle terminal's ID and public
  key. Ownership rules as for piles: a company signs only for its own vehicles, a meter
  only in its own vehicle; moving a vehicle between companies needs the authority;
* the in-vehicle **terminal** (JT/T 905 智能终端, which reads the meter) signs what the
  meter measured: each **trip** (hire/vacant times, GNSS positions, meter distance,
  waiting time, fare) and each **seal** event. Its signer name is ``taximeter``: the
  key lives in the ``taximeter`` record, found by ``terminal_id``;
* the transport bureau's in-vehicle **monitoring platform** (车载监控平台) is registered by
  the authority (record ``monitor``) and signs its own GNSS distance for a trip
  (``trip_gnss``): an independent measurement the meter's distance is compared with;
* an **inspector** signs **verification** results to JJG 517-2016 (installed meter:
  distance error within −4 % … +1 %, cycle 1 year).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any

from ledger.kinds import Ownership, RecordKind

_I, _S, _B = int, str, bool

REGULATION = "JJG 517-2016"
DISTANCE_MPE_PPM = (-40_000, 10_000)
"""JJG 517-2016 §5.2: an installed taximeter's distance error is within −4 % … +1 %."""
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CST = _dt.timezone(_dt.timedelta(hours=8))
"""Dates on certificates are China Standard Time (UTC+8) calendar days."""

_SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "vehicle": {
        "plate": (_S, True),
        "operator_id": (_S, True),
        "vin": (_S, False),
        "at_ms": (_I, True),
    },
    # The meter installed in a vehicle, with its in-vehicle terminal's key.
    "taximeter": {
        "meter_serial": (_S, True),
        "plate": (_S, True),
        "operator_id": (_S, True),
        "model": (_S, True),
        "maker": (_S, False),
        "k_constant": (_I, True),
        "terminal_id": (_S, True),
        "key": (_S, True),
        "installed_ms": (_I, True),
        "at_ms": (_I, True),
    },
    # The transport bureau's in-vehicle monitoring platform (one key per platform).
    "monitor": {
        "monitor_id": (_S, True),
        "name": (_S, True),
        "key": (_S, True),
        "at_ms": (_I, True),
    },
    # JJG 517-2016 verification of an installed meter (roller or road method).
    "taxi_verification": {
        "verification_id": (_S, True),
        "plate": (_S, True),
        "meter_serial": (_S, True),
        "inspector_id": (_S, True),
        "at_ms": (_I, True),
        "kind": (_S, True),
        "method": (_S, True),
        "regulation": (_S, True),
        "distance_error_ppm": (_I, True),
        "time_error_ppm": (_I, True),
        "k_constant": (_I, True),
        "result": (_S, True),
        "certificate_no": (_S, True),
        "next_due": (_S, True),
        "seal_closed": (_B, True),
    },
    "taxi_seal": {
        "terminal_id": (_S, True),
        "plate": (_S, True),
        "meter_serial": (_S, True),
        "seq": (_I, True),
        "event": (_S, True),
        "at_ms": (_I, True),
    },
    # JT/T 905-style operating record: 重车 (hired) from hire_ms to vacant_ms.
    "trip": {
        "trip_id": (_S, True),
        "terminal_id": (_S, True),
        "plate": (_S, True),
        "meter_serial": (_S, True),
        "hire_ms": (_I, True),
        "vacant_ms": (_I, True),
        "start_lon_e6": (_I, True),
        "start_lat_e6": (_I, True),
        "end_lon_e6": (_I, True),
        "end_lat_e6": (_I, True),
        "meter_m": (_I, True),
        "wait_s": (_I, True),
        "fare_fen": (_I, True),
    },
    # The monitoring platform's distance for the same trip, from the GNSS track.
    "trip_gnss": {
        "trip_id": (_S, True),
        "terminal_id": (_S, True),
        "plate": (_S, True),
        "monitor_id": (_S, True),
        "gnss_m": (_I, True),
        "points": (_I, True),
        "at_ms": (_I, True),
    },
}

_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("taxi_verification", "kind"): frozenset({"first", "periodic", "triggered"}),
    ("taxi_verification", "method"): frozenset({"roller", "road"}),
    ("taxi_verification", "result"): frozenset({"pass", "fail"}),
    ("taxi_seal", "event"): frozenset({"opened", "closed", "tamper"}),
}


def due_limit_ms(next_due: str) -> int:
    """The instant a certificate's validity ends: the end of its ``next_due`` day (UTC+8).

    A meter is valid through its next_due date; from 00:00 CST the next day it is
    expired. ValueError for a date that is not YYYY-MM-DD."""
    if not _DATE.fullmatch(next_due):
        raise ValueError(f"{next_due!r} is not YYYY-MM-DD")
    day = _dt.date.fromisoformat(next_due)
    return _end_of_day_ms(day)


def _end_of_day_ms(day: _dt.date) -> int:
    start = _dt.datetime(day.year, day.month, day.day, tzinfo=CST) + _dt.timedelta(days=1)
    return int(start.timestamp()) * 1000


def one_year_after(day: _dt.date) -> _dt.date:
    """The same calendar day a year later (29 February -> 28 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def verification_outcome(body: Mapping[str, Any]) -> tuple[bool, int, str]:
    """(passed, validity end in Unix ms, reason) of a ``taxi_verification`` body, judged
    from its own numbers, not only its ``result`` field.

    Why here and not at parse time: these record types take the parser's fast path, which
    checks the schema only, so a record that claims "pass" with an error outside
    −4 % … +1 %, or a ``next_due`` beyond the 1-year cycle, can be in a log. The status
    therefore trusts the measurement: it fails a meter whose distance error is outside
    the limits whatever ``result`` says, and a validity never runs past one calendar year
    after the verification day (UTC+8), whatever ``next_due`` says."""
    try:
        day = _dt.datetime.fromtimestamp(body["at_ms"] // 1000, CST).date()
        cycle_end = _end_of_day_ms(one_year_after(day))
    except (ValueError, OverflowError, OSError):  # a year beyond 1..9998
        return False, body["at_ms"], f"verification time {body['at_ms']} is not a usable date"
    try:
        until = min(due_limit_ms(body["next_due"]), cycle_end)
    except (ValueError, OverflowError):
        return False, body["at_ms"], f"next_due {body['next_due']!r} is not a date"
    if until <= body["at_ms"]:
        return False, until, f"next_due {body['next_due']} is not after the verification"
    low, high = DISTANCE_MPE_PPM
    error = body["distance_error_ppm"]
    if not low <= error <= high:
        return False, until, f"distance error {error} ppm outside -40000..+10000"
    if body["result"] != "pass":
        return False, until, "result fail"
    return True, until, "pass"


TAXI = RecordKind(
    name="taxi",
    schemas=_SCHEMAS,
    signed_by={
        "vehicle": "operator",
        "taximeter": "operator",
        "monitor": "authority",
        "taxi_verification": "inspector",
        "taxi_seal": "taximeter",
        "trip": "taximeter",
        "trip_gnss": "monitor",
    },
    signers={"taximeter": "terminal_id", "monitor": "monitor_id"},
    enums=_ENUMS,
    owned={
        "vehicle": Ownership(own="plate"),
        "taximeter": Ownership(own="meter_serial", parent=("vehicle", "plate")),
    },
    positive={"taximeter": ("k_constant",), "taxi_verification": ("k_constant",)},
    subject_fields=("trip_id", "meter_serial", "plate", "monitor_id"),
)
