"""Injected faults: their definitions, default rates, and ground-truth lines.

A fault is something an anomaly detector on the workstation should flag. Each
injected fault becomes one JSON line in the truth file, naming the records it
touched (session IDs and RFC 6962 leaf hashes), so a detector's precision and
recall can be measured against it. docs/fleet-simulator.md defines each kind
precisely, including what a detector can observe.

Rates have two units, because faults happen to two kinds of things:

* session faults (``SESSION_FAULTS``, ``RECORD_FAULTS``) — probability per generated
  charging session (at most one fault per session);
* meter faults (``METER_FAULTS``, ``FEED_FAULTS``) — probability per meter per simulated day.

The defaults give a few hundred faults per simulated month at city scale
(~840 k sessions, ~490 k meter-days); small fleets need ``--fault-scale`` or
explicit ``--fault-rate`` to see any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

SESSION_FAULTS: dict[str, float] = {
    "meter_error": 1.0e-4,
    "overbilling": 5.0e-5,
    "price_above_tariff": 3.0e-5,
    "register_backwards": 1.0e-5,
    "register_gap": 2.0e-5,
    "over_power": 1.0e-5,
    "zero_duration": 1.0e-5,
    "overlapping": 1.0e-5,
    "duplicate": 2.0e-5,
}
METER_FAULTS: dict[str, float] = {
    "clock_drift": 5.0e-5,
    "silent": 5.0e-5,
    "seal_opened": 6.0e-5,
    "key_changed": 1.0e-5,
}
RECORD_FAULTS: dict[str, float] = {
    "long_session": 1.0e-5,
    "energy_cap": 5.0e-6,
    "register_mismatch": 1.0e-5,
    "session_burst": 2.0e-6,
    "bill_without_session": 1.0e-5,
    "unbilled": 1.0e-5,
    "double_billing": 1.0e-5,
    "foreign_operator_bill": 5.0e-6,
    "session_id_reuse": 1.0e-5,
    "pile_mismatch": 1.0e-5,
}
"""Issue 14's per-session faults (drawn with SESSION_FAULTS, after them in the same draw,
so the older faults of a seed stay where they were)."""
FEED_FAULTS: dict[str, float] = {
    "heartbeat_backwards": 2.0e-5,
    "heartbeats_withheld": 1.0e-5,
    "late_delivery": 5.0e-5,
    "rated_power_slip": 5.0e-6,
}
"""Issue 14's per-meter-day faults (their own random stream, same reason).
``late_delivery`` is a fault of the delivery, not of the data: a meter's gateway holds its
records for hours and back-fills them, out of time order; a detector must raise nothing."""
DEFAULT_RATES: dict[str, float] = {**SESSION_FAULTS, **METER_FAULTS, **RECORD_FAULTS, **FEED_FAULTS}
PER_SESSION = (*SESSION_FAULTS, *RECORD_FAULTS)

RULE_HINTS: dict[str, str] = {
    "meter_error": "session: |energy_wh - sum(power_w)*interval_s/3600| > class% of the integral",
    "overbilling": "billing.billed_wh > session.energy_wh",
    "price_above_tariff": "billing energy_fen/service_fen > tariff.compute_charge(billed_wh)",
    "register_backwards": "session.start_wh < previous session.stop_wh on the meter",
    "register_gap": "session.start_wh > previous session.stop_wh on the meter",
    "over_power": "session.energy_wh > rated_power_w * (stop_ms-start_ms)/3.6e6 * 1.1",
    "zero_duration": "session.stop_ms == start_ms but energy_wh > 0",
    "overlapping": "session [start_ms, stop_ms) overlaps another session on the same meter",
    "duplicate": "two sessions on one meter with identical start/stop/energy, different ids",
    "clock_drift": "heartbeat |meter_ms - ref_ms| > 5 s (> 180 s: beyond JJG subsequent limit)",
    "silent": "no heartbeat or session from the meter for > 2 * heartbeat_s",
    "seal_opened": "seal event 'opened' (closed later or never)",
    "key_changed": "meter record re-registers an existing meter_id with a new key, "
    "no verification record in between",
    "long_session": "session.stop_ms - start_ms > 3 days",
    "energy_cap": "session.energy_wh > 500 kWh",
    "register_mismatch": "session.energy_wh != stop_wh - start_wh (beyond 10 Wh)",
    "session_burst": "more than 50 sessions on one meter in one local day",
    "bill_without_session": "billing.session_id names no session in the log",
    "unbilled": "session with no billing record while the meter's data runs a day past it",
    "double_billing": "two different billing records for one session_id",
    "foreign_operator_bill": "billing.operator_id is not the pile's registered operator",
    "session_id_reuse": "a session_id sent again with other values (stop_ms)",
    "pile_mismatch": "session.pile_id is not its meter's registered pile",
    "heartbeat_backwards": "heartbeat seq (or register) below the previous heartbeat's",
    "heartbeats_withheld": "no heartbeat for > 2 days while the meter's sessions continue",
    "late_delivery": "the meter's records for some hours delivered late, out of time order "
    "(nothing to flag)",
    "rated_power_slip": "pile record re-sent with rated_power_w x1000 (a unit slip)",
}
assert set(RULE_HINTS) == set(DEFAULT_RATES)


class FaultConfigError(ValueError):
    """A --fault-rate option that names no fault or has a bad rate."""


def parse_rates(specs: list[str], scale: float = 1.0) -> dict[str, float]:
    """Rates from ``NAME=RATE`` strings over the defaults scaled by ``scale``.

    An explicit ``NAME=RATE`` is taken as given (not scaled); ``all=RATE`` sets
    every fault's rate, later specs override it.
    """
    rates = {name: rate * scale for name, rate in DEFAULT_RATES.items()}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise FaultConfigError(f"--fault-rate {spec!r}: expected NAME=RATE")
        try:
            rate = float(value)
        except ValueError as exc:
            raise FaultConfigError(f"--fault-rate {spec!r}: {value!r} is not a number") from exc
        if not 0.0 <= rate <= 1.0:
            raise FaultConfigError(f"--fault-rate {spec!r}: rate must be within 0..1")
        if name == "all":
            rates = dict.fromkeys(rates, rate)
        elif name in rates:
            rates[name] = rate
        else:
            raise FaultConfigError(
                f"--fault-rate {spec!r}: unknown fault; one of all, {', '.join(DEFAULT_RATES)}"
            )
    if sum(rates[n] for n in PER_SESSION) > 1.0:
        raise FaultConfigError("session fault rates add up to more than 1")
    return rates


@dataclass
class Fault:
    """One injected fault, waiting until its records are signed and its effect is over."""

    fault: str
    pile_id: str
    meter_id: str
    at_ms: int
    detail: dict[str, Any] = field(default_factory=dict)
    session_ids: list[str] = field(default_factory=list)
    drafts: list[Any] = field(default_factory=list)
    """The generated records (``generate.Draft``) that carry the fault."""
    until_ms: int = 0
    """The fault's effect lasts until then; its truth line waits for it."""

    def ready(self, now_ms: int) -> bool:
        return now_ms >= self.until_ms and all(d.released for d in self.drafts)

    def truth(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "rule_hint": RULE_HINTS[self.fault],
            "pile_id": self.pile_id,
            "meter_id": self.meter_id,
            "session_ids": self.session_ids,
            "leaf_hashes": [d.leaf_hex for d in self.drafts if d.released],
            "at_ms": self.at_ms,
            "detail": self.detail,
        }


class TruthWriter:
    """Writes truth lines in injection order as their faults complete."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pending: list[Fault] = []
        self.counts: dict[str, int] = dict.fromkeys(DEFAULT_RATES, 0)

    def add(self, faults: list[Fault]) -> None:
        self.pending.extend(faults)

    def flush(self, now_ms: int | None = None, end_ms: int | None = None) -> None:
        """Writes every completed fault; ``now_ms=None`` writes all (end of run).

        At the end of a realtime run, ``end_ms`` is the simulated time reached:
        faults not yet begun then are dropped (they never happened), others are
        written with the records that were actually released.
        """
        keep: list[Fault] = []
        for fault in self.pending:
            if now_ms is None and end_ms is not None and fault.at_ms > end_ms:
                continue
            if now_ms is None or fault.ready(now_ms):
                line = json.dumps(fault.truth(), ensure_ascii=False, sort_keys=True)
                self.stream.write(line + "\n")
                self.counts[fault.fault] += 1
            else:
                keep.append(fault)
        self.pending = keep
        self.stream.flush()
