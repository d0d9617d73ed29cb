"""The charging-pile kind's records (安心充电): stations, piles, meters, tariffs,
sessions, bills, seal events, heartbeats and verification results.

Units (docs/records.md): energy in Wh, money in fen, prices in 0.0001 yuan/kWh, times in
Unix ms (UTC), coordinates in micro-degrees (GCJ-02), power in W. A pile's smart meter
signs its own sessions, seal events and heartbeats; its operator registers it (with the
meter's public key) and signs tariffs and bills; an inspector signs verification results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.kinds import Ownership, RecordKind, site_schema
from ledger.records import RecordError

_I, _S, _L, _D, _B = int, str, list, dict, bool

_SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "station": site_schema(),
    "pile": {
        "pile_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "kind": (_S, True),
        "rated_power_w": (_I, True),
        "rated_voltage_v": (_I, True),
        "max_current_a": (_I, False),
        "connectors": (_I, True),
        "model": (_S, False),
        "commissioned_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "meter": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "operator_id": (_S, True),
        "connector": (_I, True),
        "accuracy_class": (_S, True),
        "key": (_S, True),
        "maker": (_S, False),
        "model": (_S, False),
        "heartbeat_s": (_I, True),
        "cert_no": (_S, False),
        "cert_date": (_S, False),
        "cert_verifier": (_S, False),
        "installed_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "tariff": {
        "tariff_id": (_S, True),
        "operator_id": (_S, True),
        "station_id": (_S, True),
        "valid_from_ms": (_I, True),
        "periods": (_L, True),
        "at_ms": (_I, True),
    },
    "session": {
        "session_id": (_S, True),
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "connector": (_I, True),
        "start_ms": (_I, True),
        "stop_ms": (_I, True),
        "start_wh": (_I, True),
        "stop_wh": (_I, True),
        "energy_wh": (_I, True),
        "interval_s": (_I, True),
        "power_w": (_L, True),
        "pii": (_S, False),
    },
    "billing": {
        "session_id": (_S, True),
        "operator_id": (_S, True),
        "pile_id": (_S, True),
        "tariff_id": (_S, True),
        "billed_wh": (_I, True),
        "energy_fen": (_I, True),
        "service_fen": (_I, True),
        "amount_fen": (_I, True),
        "start_ms": (_I, True),
        "stop_ms": (_I, True),
    },
    "seal": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "seq": (_I, True),
        "event": (_S, True),
        "at_ms": (_I, True),
        "register_wh": (_I, True),
    },
    "heartbeat": {
        "meter_id": (_S, True),
        "pile_id": (_S, True),
        "seq": (_I, True),
        "ref_ms": (_I, True),
        "meter_ms": (_I, True),
        "register_wh": (_I, True),
        "temp_dc": (_I, True),
    },
    "verification": {
        "verification_id": (_S, True),
        "pile_id": (_S, True),
        "meter_id": (_S, True),
        "inspector_id": (_S, True),
        "at_ms": (_I, True),
        "kind": (_S, True),
        "regulation": (_S, True),
        "points": (_L, True),
        "clock_error_ms": (_I, True),
        "insulation_kohm": (_I, True),
        "result": (_S, True),
        "certificate_no": (_S, True),
        "next_due": (_S, True),
        "seal_closed": (_B, True),
        "accuracy_class": (_S, True),
        "connector": (_I, False),
        "clock_judged": (_B, False),
        "standard": (_D, False),
        "conditions": (_D, False),
    },
}
_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("pile", "kind"): frozenset({"AC", "DC"}),
    ("meter", "accuracy_class"): frozenset({"0.5", "1", "2"}),
    ("seal", "event"): frozenset({"opened", "closed", "tamper"}),
    ("verification", "kind"): frozenset({"first", "periodic", "triggered"}),
    ("verification", "result"): frozenset({"pass", "fail"}),
    ("verification", "accuracy_class"): frozenset({"0.5", "1", "2"}),
}


def _semantics(rtype: str, body: Mapping[str, Any]) -> None:
    if rtype == "session":
        if any(not isinstance(p, int) or isinstance(p, bool) for p in body["power_w"]):
            raise RecordError("session record: field 'power_w' must hold integers (W)")
    elif rtype == "tariff":
        for i, period in enumerate(body["periods"]):
            if not isinstance(period, dict) or set(period) != {
                "start_min",
                "end_min",
                "energy_e4",
                "service_e4",
            }:
                raise RecordError(
                    f"tariff record: periods[{i}] needs start_min, end_min, energy_e4, service_e4"
                )
            if not 0 <= period["start_min"] < period["end_min"] <= 1440:
                raise RecordError(f"tariff record: periods[{i}] has an invalid time span")
    elif rtype == "verification":
        for i, point in enumerate(body["points"]):
            if not isinstance(point, dict) or "error_ppm" not in point:
                raise RecordError(f"verification record: points[{i}] needs 'error_ppm'")


CHARGING = RecordKind(
    name="charging",
    schemas=_SCHEMAS,
    signed_by={
        "station": "operator",
        "pile": "operator",
        "meter": "operator",
        "tariff": "operator",
        "billing": "operator",
        "session": "meter",
        "seal": "meter",
        "heartbeat": "meter",
        "verification": "inspector",
    },
    signers={"meter": "meter_id"},
    enums=_ENUMS,
    owned={
        "station": Ownership(own="station_id"),
        "pile": Ownership(own="pile_id", parent=("station", "station_id")),
        "meter": Ownership(own="meter_id", parent=("pile", "pile_id")),
        "tariff": Ownership(parent=("station", "station_id")),
        "billing": Ownership(parent=("pile", "pile_id")),
    },
    int_lists=frozenset({("session", "power_w")}),
    positive={"session": ("interval_s",)},
    semantics=_semantics,
    subject_fields=(
        "session_id",
        "verification_id",
        "meter_id",
        "pile_id",
        "station_id",
        "tariff_id",
    ),
)
