"""Traffic: charging sessions, billing, heartbeats and seal events, with injected faults.

The simulation advances in one-hour windows of simulated time, always the
same windows whatever the caller does with them, so batch runs, ``--out``
files and realtime streams from one seed hold the same records. Within a
window:

1. meter faults are drawn (silence, clock drift, seal opening, key change);
2. each connector's arrivals are drawn from a Poisson process whose rate
   follows the daily profile for its pile kind; an arrival that finds the
   connector busy waits up to 20 min or leaves, so sessions on a connector
   never overlap unless the ``overlapping`` fault says so;
3. every session gets a 60-s power curve (DC: constant current then a
   constant-voltage taper; AC: flat at the on-board charger's limit), the meter's
   energy (the curve's integral within a fraction of the accuracy class), a
   continuous register, an operator billing record priced with the posted
   tariff (``ledger.fleet.tariff.compute_charge``) and sealed personal data;
4. heartbeats are due every ``heartbeat_s`` per meter, reporting the register
   (including energy of a session in progress) and the meter clock.

Records are emitted at the time their source would send them (a session at
its stop, billing a few seconds later) and released in emission order when
the simulation clock passes that time. Signing happens later, elsewhere
(``signing``), so this module is pure Python data and fast to test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from ledger.fleet import model
from ledger.fleet.faults import FEED_FAULTS, METER_FAULTS, PER_SESSION, Fault
from ledger.fleet.model import Fleet, Meter
from ledger.fleet.tariff import CST_OFFSET_MS, compute_charge

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
INTERVAL_S = 60
SESSIONS_PER_DAY_HANGZHOU = 28_000
"""10.136 million transactions in about a year on the platform (report of May 2022)."""
REGISTRY_LEAD_MS = HOUR_MS
"""Registry records are dated one hour before the first traffic."""
MAX_WAIT_MS = 20 * 60_000
BUSY_COMPENSATION = 1.1
"""Arrivals that find a connector busy too long leave (about 9 % at Hangzhou scale);
drawing 10 % more arrivals keeps completed sessions near the target."""

# Share of session starts per local hour. DC: ride-hailing and taxis — night
# valley charging, a lunch peak in Zhejiang's 11–13 midday valley (the report's
# drivers charging at noon), an evening peak. AC: residential and office car
# parks — morning arrivals at work, evening arrivals at home, cheap-night starts.
_DC_PROFILE = (
    30,
    25,
    20,
    15,
    12,
    15,
    25,
    35,
    40,
    40,
    45,
    70,
    75,
    60,
    45,
    40,
    45,
    55,
    60,
    55,
    50,
    45,
    55,
    60,
)
_AC_PROFILE = (
    20,
    10,
    5,
    5,
    5,
    10,
    25,
    55,
    75,
    60,
    40,
    35,
    35,
    30,
    30,
    30,
    40,
    60,
    80,
    75,
    65,
    55,
    75,
    60,
)
PROFILE = {
    "DC": tuple(x / sum(_DC_PROFILE) for x in _DC_PROFILE),
    "AC": tuple(x / sum(_AC_PROFILE) for x in _AC_PROFILE),
}
# Relative sessions per pile per day by kind (DC ≈ 3.8, AC ≈ 1.05 at Hangzhou scale).
_KIND_RATE = {"DC": 3.8, "AC": 1.05}
# Hangzhou monthly mean air temperature, °C (climate normals, rounded).
_MONTH_TEMP = (4.5, 6.5, 11.0, 17.0, 22.0, 25.5, 29.0, 28.5, 24.5, 19.0, 13.0, 7.0)
_NO_SAMPLES = np.zeros(0, dtype=np.int64)
REGISTRY_TYPES = frozenset(
    {"authority", "operator", "inspector", "station", "pile", "meter", "tariff"}
)


@dataclass(slots=True)
class Draft:
    """A record to be signed: body, signer and the time its source sends it."""

    rtype: str
    body: dict[str, Any]
    signer: str
    emit_ms: int
    seq: int = 0
    """Tie-breaker for equal emission times: creation order."""
    entry: bytes | None = None
    """The signed log entry, once signed."""
    released: bool = False
    """Handed to the platform or the output file (realtime mode holds future ones back)."""

    @property
    def leaf_hex(self) -> str:
        assert self.entry is not None
        return hashlib.sha256(b"\x00" + self.entry).hexdigest()

    @property
    def is_registry(self) -> bool:
        return self.rtype in REGISTRY_TYPES


@dataclass(slots=True)
class Span:
    """A session as the meter's register saw it, for register look-ups at any instant."""

    start_ms: int
    stop_ms: int
    start_wh: int
    stop_wh: int
    cum_wh: np.ndarray
    """Register increase at the end of each interval (metered, so it ends at stop−start)."""

    def register_at(self, t_ms: int) -> int:
        if t_ms >= self.stop_ms or not len(self.cum_wh):
            return self.stop_wh
        k = min((t_ms - self.start_ms) // (INTERVAL_S * 1000), len(self.cum_wh))
        return self.start_wh + (int(self.cum_wh[k - 1]) if k > 0 else 0)


@dataclass(slots=True)
class MeterState:
    """One meter's evolving state: register, connector occupancy, counters, active faults.

    Kept per meter (not per pile) because a connector's meter is the unit that
    signs, drifts, goes silent or is re-keyed.
    """

    meter: Meter
    rate_per_day: float
    register_wh: int
    hb_phase_ms: int
    clock_offset_ms: int
    busy_until: int = 0
    hist: list[Span] = field(default_factory=list)
    base_wh: int = 0
    hb_seq: int = 0
    seal_seq: int = 0
    session_seq: int = 0
    silent_from: int = 0
    silent_until: int = 0
    drift_until: int = 0
    drift_ms: int = 0
    drift_fault: Fault | None = None
    key_generation: int = 0
    meter_id: str = ""
    pile_id: str = ""
    charge_heat_dc: int = 0
    """Self-heating while charging, 0.1 °C (DC meters run hotter)."""
    seq_fault: Fault | None = None
    """A heartbeat counter reset waiting for the next heartbeat (heartbeat_backwards)."""
    withheld_until: int = 0
    withheld_fault: Fault | None = None
    late_until: int = 0
    late_fault: Fault | None = None

    def __post_init__(self) -> None:
        self.meter_id = self.meter.meter_id
        self.pile_id = self.meter.pile.pile_id
        self.charge_heat_dc = 120 if self.meter.pile.kind == "DC" else 40

    def register_at(self, t_ms: int) -> int:
        """The meter's register at ``t_ms``: the last session started by then decides."""
        for span in reversed(self.hist):
            if span.start_ms <= t_ms:
                return span.register_at(t_ms)
        return self.base_wh


class Simulation:
    """The traffic of one fleet from ``start_ms`` on; deterministic for a seed.

    ``public_key(label)`` returns a source's public key text; it is needed for
    registry records, including meters re-keyed by the ``key_changed`` fault.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        start_ms: int,
        heartbeat_s: int,
        rates: dict[str, float],
        public_key: Callable[[str], str],
        sessions_per_day: float | None = None,
    ) -> None:
        self.fleet = fleet
        self.start_ms = start_ms
        self.now_ms = start_ms
        self.heartbeat_ms = heartbeat_s * 1000
        self.heartbeat_s = heartbeat_s
        self.rates = rates
        self.public_key = public_key
        self.rng = np.random.default_rng([fleet.seed, 0x7AFF1C])
        self.rnd = random.Random(f"traffic/{fleet.seed}")
        self.rng_feed = np.random.default_rng([fleet.seed, 0x14F33D])
        """Issue 14's meter faults draw from their own stream (older faults stay put)."""
        self.rnd_feed = random.Random(f"feed/{fleet.seed}")
        self.slipped: set[str] = set()
        self._piles_of: dict[str, list[str]] = {}
        for p in fleet.piles:
            self._piles_of.setdefault(p.operator_id, []).append(p.pile_id)
        if sessions_per_day is None:
            sessions_per_day = SESSIONS_PER_DAY_HANGZHOU * len(fleet.piles) / model.HANGZHOU_PILES
        self.sessions_per_day = sessions_per_day
        raw = [
            _KIND_RATE[m.pile.kind] * m.pile.popularity / m.pile.connectors for m in fleet.meters
        ]
        norm = sessions_per_day * BUSY_COMPENSATION / sum(raw)
        self.states: list[MeterState] = []
        for meter, r in zip(fleet.meters, raw):
            age_days = max(0.0, (start_ms - meter.installed_ms) / DAY_MS)
            daily_wh = (40_000 if meter.pile.kind == "DC" else 15_000) * r * norm
            register = int(age_days * daily_wh * self.rnd.uniform(0.6, 1.2))
            self.states.append(
                MeterState(
                    meter=meter,
                    rate_per_day=r * norm,
                    register_wh=register,
                    base_wh=register,
                    hb_phase_ms=self.rnd.randrange(self.heartbeat_ms),
                    clock_offset_ms=self.rnd.randint(-800, 800),
                )
            )
        self.by_id = {s.meter.meter_id: s for s in self.states}
        self._heap: list[tuple[int, int, Draft]] = []
        self._seq = 0
        self._release_gen: dict[str, int] = {}
        self._labels = {m.meter_id: model.meter_label(m.meter_id) for m in fleet.meters}
        """Each meter's signing-key label as of the last released record."""
        self.faults: list[Fault] = []
        self._pending_close: list[tuple[int, MeterState, dict[str, Any]]] = []
        self._hour_batch: list[Draft] = []
        self.stats: dict[str, int] = {
            "sessions": 0,
            "billing": 0,
            "heartbeat": 0,
            "seal": 0,
            "meter": 0,
            "dropped_busy": 0,
            "dropped_silent": 0,
        }
        kinds = np.array([m.pile.kind == "DC" for m in fleet.meters])
        self._hour_rates = [
            np.where(kinds, PROFILE["DC"][h], PROFILE["AC"][h])
            * np.array([s.rate_per_day for s in self.states])
            for h in range(24)
        ]

    # ---- registry ------------------------------------------------------------------

    def registry(self, enc_key_text: str) -> list[Draft]:
        """The registry drafts, in acceptance order, dated before the first traffic."""
        at = self.start_ms - REGISTRY_LEAD_MS
        return [
            Draft(rtype, body, label, at)
            for rtype, body, label in model.registry_bodies(
                self.fleet, self.public_key, enc_key_text, at, self.heartbeat_s
            )
        ]

    # ---- time ----------------------------------------------------------------------

    def advance(self, until_ms: int) -> tuple[list[Draft], list[Fault]]:
        """Simulates up to ``until_ms`` (whole hours) and returns what is emitted before it.

        Returns (drafts in emission order with signer labels resolved, faults
        injected in these hours).
        """
        self.faults = []
        while self.now_ms + HOUR_MS <= until_ms:
            self._hour(self.now_ms, self.now_ms + HOUR_MS)
            self.now_ms += HOUR_MS
        return self._release(self.now_ms), self.faults

    def drain(self) -> list[Draft]:
        """Everything still scheduled (sessions ending after the last window, late seal closes)."""
        for closed_at, st, body in self._pending_close:
            body["register_wh"] = st.register_at(closed_at)
        self._pending_close = []
        return self._release(None)

    def _emit(self, draft: Draft) -> Draft:
        self._seq += 1
        draft.seq = self._seq
        heapq.heappush(self._heap, (draft.emit_ms, self._seq, draft))
        return draft

    def _release(self, before_ms: int | None) -> list[Draft]:
        """Pops what is due, merged with the hours' heartbeats (already due, kept off the heap)."""
        out: list[Draft] = []
        heap = self._heap
        while heap and (before_ms is None or heap[0][0] < before_ms):
            out.append(heapq.heappop(heap)[2])
        if self._hour_batch:
            out.extend(self._hour_batch)
            out.sort(key=attrgetter("emit_ms", "seq"))
            self._hour_batch = []
        labels = self._labels
        for draft in out:
            if draft.signer == "meter":
                draft.signer = labels[draft.body["meter_id"]]
            elif draft.rtype == "meter":  # a re-registration: later meter records use the new key
                meter_id = draft.body["meter_id"]
                self._release_gen[meter_id] = generation = self._release_gen.get(meter_id, 0) + 1
                labels[meter_id] = model.meter_label(meter_id, generation)
        return out

    # ---- one hour ------------------------------------------------------------------

    def _hour(self, h0: int, h1: int) -> None:
        hour = ((h0 + CST_OFFSET_MS) // HOUR_MS) % 24
        self._meter_faults(h0, h1, before_sessions=True)
        self._feed_faults(h0, h1)
        counts = self.rng.poisson(self._hour_rates[hour])
        for index in np.flatnonzero(counts):
            st = self.states[int(index)]
            arrivals = np.sort(self.rng.integers(h0, h1, int(counts[index])))
            for arrival in arrivals.tolist():
                self._arrival(st, arrival)
        self._meter_faults(h0, h1, before_sessions=False)
        self._heartbeats(h0, h1)
        self._fill_seal_closes(h1)
        for st in self.states:  # keep only spans a later look-up can need
            if len(st.hist) > 2 and st.hist[-2].stop_ms < h0:
                st.base_wh = st.hist[-2].stop_wh
                del st.hist[:-1]

    def _meter_faults(self, h0: int, h1: int, *, before_sessions: bool) -> None:
        names = ("silent", "clock_drift") if before_sessions else ("seal_opened", "key_changed")
        probs = np.array([self.rates.get(n, 0.0) / 24 for n in names])
        if not probs.any():
            self.rng.random((len(self.states), len(names)))  # keep the stream aligned
            return
        hits = self.rng.random((len(self.states), len(names))) < probs
        for index, col in zip(*np.nonzero(hits)):
            st = self.states[int(index)]
            t = int(self.rng.integers(h0, h1))
            getattr(self, "_fault_" + names[int(col)])(st, t)

    def silent_at(self, st: MeterState, t_ms: int) -> bool:
        return st.silent_from <= t_ms < st.silent_until

    def _arrival(self, st: MeterState, arrival: int) -> None:
        fault = self._session_fault()
        start = arrival
        if fault == "overlapping":
            prev = st.hist[-1] if st.hist else None
            recent = prev is not None and prev.stop_ms > arrival - 6 * HOUR_MS
            if prev is not None and recent and prev.stop_ms - prev.start_ms > 120_000:
                start = prev.start_ms + int(
                    (prev.stop_ms - prev.start_ms) * self.rnd.uniform(0.2, 0.8)
                )
            else:
                fault = None
        if fault != "overlapping" and arrival < st.busy_until:
            if st.busy_until - arrival > MAX_WAIT_MS:
                self.stats["dropped_busy"] += 1
                return
            start = st.busy_until + self.rnd.randint(60_000, 300_000)
        if self.silent_at(st, start) or (start < st.silent_from < start + HOUR_MS):
            self.stats["dropped_silent"] += 1  # the pile is offline (or about to be)
            return
        if fault == "session_burst":
            self._burst(st, start)
            return
        self._session(st, start, fault)

    def _burst(self, st: MeterState, start: int) -> None:
        """session_burst: 52 two-minute sessions 3 min apart on one connector, within one
        local day (a fleet of scooters, or a gateway splitting one charge)."""
        local = (start + CST_OFFSET_MS) % DAY_MS
        if local > 20 * HOUR_MS:
            self._session(st, start, None)
            return
        drafts: list[Draft] = []
        ids: list[str] = []
        for k in range(52):
            made = self._session(st, start + k * 180_000, None, samples=2)
            drafts += made
            ids += [d.body["session_id"] for d in made if d.rtype == "session"]
        m = st.meter
        self.faults.append(
            Fault("session_burst", m.pile.pile_id, m.meter_id, start, {"sessions": 52}, ids, drafts)
        )

    def _session_fault(self) -> str | None:
        u = self.rnd.random()
        for name in PER_SESSION:
            u -= self.rates.get(name, 0.0)
            if u < 0:
                return name
        return None

    # ---- sessions ------------------------------------------------------------------

    def _curve(self, st: MeterState) -> np.ndarray:
        """Power samples (W) every 60 s: DC CC/CV taper, AC flat with an end taper."""
        pile, rng = st.meter.pile, self.rng
        if pile.kind == "DC":
            n = int(rng.integers(20, 61))
            vehicle = float(rng.choice((60_000, 90_000, 120_000, 150_000, 200_000)))
            pmax = min(pile.rated_power_w, vehicle) * rng.uniform(0.85, 0.98)
            cc = max(1, int(n * rng.uniform(0.45, 0.8)))
            end = rng.uniform(0.25, 0.45)
            i = np.arange(n)
            shape = np.where(i < cc, 1.0, end ** ((i - cc + 1) / max(1, n - cc)))
            shape[0] = 0.6
        else:
            n = int(rng.integers(120, 481))
            obc = float(rng.choice((3_300, 6_600, 7_000), p=(0.15, 0.45, 0.40)))
            pmax = min(pile.rated_power_w, obc) * rng.uniform(0.92, 0.99)
            taper = max(1, n // 10)
            shape = np.ones(n)
            shape[-taper:] = np.linspace(1.0, 0.4, taper)
        noise = 1.0 + rng.uniform(-0.015, 0.015, n)
        return np.minimum(pmax * shape * noise, pile.rated_power_w).astype(np.int64)

    def _vehicle(self) -> dict[str, str]:
        """A driver from a fixed pool (0.6 per daily session), so vehicles come back daily.

        Vehicle ``i`` is derived from a hash of (seed, i) rather than stored, so
        the pool costs no memory and a driver is the same one on every day.
        """
        pool_size = max(10, int(self.sessions_per_day * 0.6))
        i = self.rnd.randrange(pool_size)
        digest = hashlib.sha256(f"vehicle/{self.fleet.seed}/{i}".encode()).digest()
        plate_chars, vin_chars = "0123456789ABCDEFGHJK", "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
        return {
            "plate": "浙A"
            + "DF"[digest[0] & 1]
            + "".join(plate_chars[b % 20] for b in digest[1:6]),
            "vin": "L" + "".join(vin_chars[b % 33] for b in digest[6:22]),
            "account": f"1{30 + digest[22] % 70}****{int.from_bytes(digest[23:25]) % 10000:04d}",
        }

    def _session(
        self, st: MeterState, start: int, fault: str | None, samples: int | None = None
    ) -> list[Draft]:
        meter, pile, rnd = st.meter, st.meter.pile, self.rnd
        start += rnd.randrange(1000)  # millisecond texture, sessions do not start on the second
        curve = self._curve(st)
        if samples is not None:
            curve = curve[:samples]
        if fault == "energy_cap":
            if pile.kind != "DC" or pile.rated_power_w < 60_000:
                fault = None
            else:  # a bus: 9/10 of the rating until past 500 kWh
                n = -(-520_000 * 60 // (pile.rated_power_w * 9 // 10)) + rnd.randint(0, 30)
                noise = self.rng.uniform(0.99, 1.0, n)
                curve = (pile.rated_power_w * 0.9 * noise).astype(np.int64)
        cls = float(meter.accuracy_class)
        detail: dict[str, Any] = {}
        if fault == "over_power":
            factor = rnd.uniform(1.2, 1.45)
            noise = self.rng.uniform(0.99, 1.01, len(curve))
            curve = (pile.rated_power_w * factor * noise).astype(np.int64)
            detail["power_factor_pct"] = round(factor * 100, 1)
        power: list[int] = curve.tolist()
        integral = sum(power) * INTERVAL_S / 3600  # Wh, the true energy of the curve
        error = rnd.uniform(-0.3, 0.3) * cls / 100  # healthy: well within the class
        if fault == "meter_error":
            error = (1 if rnd.random() < 0.8 else -1) * cls * rnd.uniform(1.5, 3.0) / 100
            detail["error_pct"] = round(error * 100, 3)
        energy = round(integral * (1 + error))
        stop = start + len(power) * INTERVAL_S * 1000
        if fault == "long_session":  # the stop was never recorded in time
            stop += 3 * DAY_MS + rnd.randint(HOUR_MS, 20 * HOUR_MS)
            detail["duration_ms"] = stop - start
        if fault == "zero_duration":
            energy = rnd.randint(1_000, 30_000)
            power, stop = [], start
        start_wh = st.register_wh
        if fault == "register_backwards":
            start_wh = max(0, start_wh - rnd.randint(500, 20_000))
        elif fault == "register_gap":
            start_wh += rnd.randint(500, 30_000)
        if fault in ("register_backwards", "register_gap"):
            detail["previous_stop_wh"] = st.register_wh
            detail["jump_wh"] = start_wh - st.register_wh
        stop_wh = start_wh + energy
        if fault == "register_mismatch":  # the meter's stop register disagrees with its energy
            delta = rnd.randint(50, 5_000) * (1 if rnd.random() < 0.5 else -1)
            stop_wh = max(start_wh, stop_wh + delta)
            detail["register_delta_minus_energy_wh"] = stop_wh - start_wh - energy
        scale = energy / integral if integral else 0.0
        cum = _NO_SAMPLES
        if power:
            wh = np.rint(np.cumsum(curve) * (INTERVAL_S / 3600 * scale))
            cum = np.minimum(wh, energy).astype(np.int64)
        st.hist.append(Span(start, stop, start_wh, stop_wh, cum))
        st.register_wh = stop_wh
        st.busy_until = max(st.busy_until, stop)
        st.session_seq += 1
        session_id = f"{meter.meter_id}-{st.session_seq:06d}"
        named_pile = pile.pile_id
        if fault == "pile_mismatch":
            others = [p for p in self._piles_of[pile.operator_id] if p != pile.pile_id]
            if others:
                named_pile = others[rnd.randrange(len(others))]
                detail["named_pile_id"] = named_pile
            else:
                fault = None
        body: dict[str, Any] = {
            "session_id": session_id,
            "meter_id": meter.meter_id,
            "pile_id": named_pile,
            "connector": meter.connector,
            "start_ms": start,
            "stop_ms": stop,
            "start_wh": start_wh,
            "stop_wh": stop_wh,
            "energy_wh": energy,
            "interval_s": INTERVAL_S,
            "power_w": power,
            "pii": self._vehicle(),
        }
        emit = stop + rnd.randint(1_000, 5_000)
        session = self._emit_of(st, Draft("session", body, "meter", emit))
        billed = energy
        price_factor = 10_000
        if fault == "overbilling":
            billed = max(energy + 50, math.ceil(energy * rnd.uniform(1.03, 1.15)))
            detail["billed_over_metered_wh"] = billed - energy
        elif fault == "price_above_tariff":
            price_factor = rnd.randint(11_000, 14_000)
            detail["price_factor_pct"] = price_factor / 100
        bill_body = self._billing(st, body, billed, price_factor)
        signer = model.operator_label(pile.operator_id)
        if fault == "foreign_operator_bill":
            others = [
                o.operator_id for o in self.fleet.operators if o.operator_id != pile.operator_id
            ]
            bill_body["operator_id"] = others[rnd.randrange(len(others))]
            signer = model.operator_label(bill_body["operator_id"])
            detail["operator_id"] = bill_body["operator_id"]
        billing = Draft("billing", bill_body, signer, emit + rnd.randint(2_000, 30_000))
        self.stats["sessions"] += 1
        drafts = [session]
        if fault != "unbilled":
            self._emit_of(st, billing)
            self.stats["billing"] += 1
            drafts.append(billing)
        session_ids = [session_id]
        if fault == "bill_without_session":
            ghost = f"{meter.meter_id}-G{st.session_seq:06d}"
            drafts = [
                self._emit_of(
                    st,
                    Draft(
                        "billing",
                        {**bill_body, "session_id": ghost},
                        signer,
                        billing.emit_ms + rnd.randint(60_000, 3_600_000),
                    ),
                )
            ]
            session_ids = []
            detail["ghost_session_id"] = ghost
        elif fault == "double_billing":
            again = {**bill_body, "stop_ms": bill_body["stop_ms"] + 1_000}
            drafts.append(
                self._emit_of(
                    st,
                    Draft(
                        "billing",
                        again,
                        signer,
                        billing.emit_ms + rnd.randint(HOUR_MS, 6 * HOUR_MS),
                    ),
                )
            )
        elif fault == "session_id_reuse":
            again = {**body, "stop_ms": stop + 60_000}
            drafts.append(
                self._emit_of(
                    st, Draft("session", again, "meter", emit + rnd.randint(HOUR_MS, 6 * HOUR_MS))
                )
            )
        withheld = st.withheld_fault
        if withheld is not None and withheld.at_ms + 2 * DAY_MS < start < st.withheld_until:
            withheld.drafts.append(session)
            withheld.session_ids.append(session_id)
        if fault == "duplicate":
            st.session_seq += 1
            dup_id = f"{meter.meter_id}-{st.session_seq:06d}"
            dup_body = {**body, "session_id": dup_id}
            dup_emit = billing.emit_ms + rnd.randint(60_000, 3_600_000)
            dup = self._emit_of(st, Draft("session", dup_body, "meter", dup_emit))
            dup_bill = self._emit_of(
                st,
                Draft(
                    "billing",
                    {**billing.body, "session_id": dup_id},
                    billing.signer,
                    dup_emit + rnd.randint(2_000, 30_000),
                ),
            )
            drafts += [dup, dup_bill]
            session_ids.append(dup_id)
            detail["original_session_id"] = session_id
            self.stats["sessions"] += 1
            self.stats["billing"] += 1
        if fault is not None:
            if fault == "overlapping":
                prev = st.hist[-2]
                detail["overlaps_from_ms"] = prev.start_ms
                detail["overlaps_until_ms"] = prev.stop_ms
            self.faults.append(
                Fault(
                    fault,
                    pile.pile_id,
                    meter.meter_id,
                    start,
                    detail,
                    session_ids,
                    drafts,
                    until_ms=stop + DAY_MS if fault == "unbilled" else 0,
                )
            )
        return drafts

    def _emit_of(self, st: MeterState, draft: Draft) -> Draft:
        """Emits a draft of the meter's; a gateway holding the meter's records back
        (late_delivery) sends it when it comes back, out of time order."""
        late = st.late_fault
        if late is not None and late.at_ms <= draft.emit_ms < st.late_until:
            draft.emit_ms = st.late_until + self.rnd_feed.randint(0, 600_000)
            late.drafts.append(draft)
        return self._emit(draft)

    def _billing(
        self, st: MeterState, session: dict[str, Any], billed_wh: int, price_factor_e4: int
    ) -> dict[str, Any]:
        station = st.meter.station
        energy_fen, service_fen = compute_charge(
            station.periods,
            session["start_ms"],
            INTERVAL_S,
            session["power_w"],
            billed_wh,
            price_factor_e4,
        )
        return {
            "session_id": session["session_id"],
            "operator_id": station.operator_id,
            "pile_id": session["pile_id"],
            "tariff_id": station.tariff_id,
            "billed_wh": billed_wh,
            "energy_fen": energy_fen,
            "service_fen": service_fen,
            "amount_fen": energy_fen + service_fen,
            "start_ms": session["start_ms"],
            "stop_ms": session["stop_ms"],
        }

    # ---- heartbeats ----------------------------------------------------------------

    def _ambient_c(self, t_ms: int) -> float:
        """Hangzhou air temperature at ``t_ms``: monthly normal plus a swing peaking at 14:00."""
        local = dt.datetime.fromtimestamp((t_ms + CST_OFFSET_MS) / 1000, dt.UTC)
        hour = local.hour + local.minute / 60
        return _MONTH_TEMP[local.month - 1] + 4.0 * math.cos((hour - 14.0) / 24 * 2 * math.pi)

    def _heartbeats(self, h0: int, h1: int) -> None:
        """Heartbeats due in [h0, h1); the per-meter noise is drawn as one numpy vector per hour."""
        period = self.heartbeat_ms
        per_hour = -(-HOUR_MS // period) + 1
        n = len(self.states)
        jitter = self.rng.integers(-100, 101, (n, per_hour)).tolist()
        temp_noise = self.rng.integers(-5, 6, (n, per_hour)).tolist()
        ambient_dc = round((self._ambient_c(h0 + HOUR_MS // 2) + 3.0) * 10)
        emitted = self._hour_batch
        held: list[Draft] = []
        seq = self._seq
        for i, st in enumerate(self.states):
            t = h0 + (st.hb_phase_ms - h0) % period
            k = 0
            while t < h1:
                withheld = st.withheld_fault is not None and (
                    st.withheld_fault.at_ms <= t < st.withheld_until
                )
                if not (st.silent_from <= t < st.silent_until) and not withheld:
                    offset = max(-999, min(999, st.clock_offset_ms + jitter[i][k]))
                    drifting = t < st.drift_until
                    if drifting:
                        offset += st.drift_ms
                    heat = 0
                    if st.hist:
                        last = st.hist[-1]
                        if last.start_ms <= t < last.stop_ms:
                            heat = st.charge_heat_dc
                    st.hb_seq += 1
                    body = {
                        "meter_id": st.meter_id,
                        "pile_id": st.pile_id,
                        "seq": st.hb_seq,
                        "ref_ms": t,
                        "meter_ms": t + offset,
                        "register_wh": st.register_at(t),
                        "temp_dc": ambient_dc + heat + temp_noise[i][k],
                    }
                    seq += 1
                    draft = Draft("heartbeat", body, "meter", t, seq)
                    if st.late_fault is not None and st.late_fault.at_ms <= t < st.late_until:
                        held.append(draft)  # onto the heap after the loop (late delivery)
                    else:
                        emitted.append(draft)
                    if drifting and st.drift_fault is not None:
                        st.drift_fault.drafts.append(draft)
                    if st.seq_fault is not None:
                        st.seq_fault.drafts.append(draft)
                        st.seq_fault = None
                t += period
                k += 1
        self.stats["heartbeat"] += seq - self._seq
        self._seq = seq
        for draft in held:
            self._emit_of(self.by_id[draft.body["meter_id"]], draft)

    def _fill_seal_closes(self, h1: int) -> None:
        """A later 'closed' seal event reports the register once the simulation reaches it."""
        keep = []
        for closed_at, st, body in self._pending_close:
            if closed_at < h1:
                body["register_wh"] = st.register_at(closed_at)
            else:
                keep.append((closed_at, st, body))
        self._pending_close = keep

    # ---- meter faults --------------------------------------------------------------

    # ---- issue 14's meter faults (own random stream) ------------------------------

    def _feed_faults(self, h0: int, h1: int) -> None:
        names = tuple(FEED_FAULTS)
        probs = np.array([self.rates.get(n, 0.0) / 24 for n in names])
        if not probs.any():
            return
        hits = self.rng_feed.random((len(self.states), len(names))) < probs
        for index, col in zip(*np.nonzero(hits)):
            st = self.states[int(index)]
            t = int(self.rng_feed.integers(h0, h1))
            getattr(self, "_fault_" + names[int(col)])(st, t)

    def _busy_feed(self, st: MeterState, t: int) -> bool:
        """One delivery or heartbeat fault at a time per meter, none during a silence."""
        return (
            self.silent_at(st, t)
            or t < st.silent_until + DAY_MS
            or t < st.withheld_until + DAY_MS
            or t < st.late_until + DAY_MS
        )

    def _fault_heartbeat_backwards(self, st: MeterState, t: int) -> None:
        if self._busy_feed(st, t) or st.seq_fault is not None:
            return
        m, rnd = st.meter, self.rnd_feed
        fault = Fault("heartbeat_backwards", m.pile.pile_id, m.meter_id, t, {}, [], [])
        if rnd.random() < 0.5 and st.hb_seq > 60:
            drop = rnd.randint(5, 50)
            st.hb_seq -= drop  # the next heartbeat repeats an older number
            fault.detail = {"kind": "seq", "seq_drop": drop}
            st.seq_fault = fault
        else:  # one heartbeat shows a register below everything of the last two intervals
            dip = rnd.randint(100, 5_000)
            st.hb_seq += 1
            body = {
                "meter_id": m.meter_id,
                "pile_id": m.pile.pile_id,
                "seq": st.hb_seq,
                "ref_ms": t,
                "meter_ms": t + st.clock_offset_ms,
                "register_wh": max(0, st.register_at(t - 2 * self.heartbeat_ms) - dip),
                "temp_dc": 250,
            }
            fault.detail = {"kind": "register", "dip_wh": dip}
            fault.drafts.append(self._emit_of(st, Draft("heartbeat", body, "meter", t)))
            self.stats["heartbeat"] += 1
        self.faults.append(fault)

    def _fault_heartbeats_withheld(self, st: MeterState, t: int) -> None:
        if self._busy_feed(st, t):
            return
        until = t + int(self.rnd_feed.uniform(3, 5) * DAY_MS)
        m = st.meter
        st.withheld_until = until
        st.withheld_fault = Fault(
            "heartbeats_withheld",
            m.pile.pile_id,
            m.meter_id,
            t,
            {"withheld_from_ms": t, "withheld_until_ms": until},
            until_ms=until,
        )
        self.faults.append(st.withheld_fault)

    def _fault_late_delivery(self, st: MeterState, t: int) -> None:
        if self._busy_feed(st, t):
            return
        until = t + int(self.rnd_feed.uniform(2, 12) * HOUR_MS)
        m = st.meter
        st.late_until = until
        st.late_fault = Fault(
            "late_delivery",
            m.pile.pile_id,
            m.meter_id,
            t,
            {"held_from_ms": t, "delivered_from_ms": until},
            until_ms=until + 600_000,
        )
        self.faults.append(st.late_fault)

    def _fault_rated_power_slip(self, st: MeterState, t: int) -> None:
        pile = st.meter.pile
        if pile.pile_id in self.slipped:
            return
        self.slipped.add(pile.pile_id)
        body = model.pile_body(pile, t)
        body["rated_power_w"] = pile.rated_power_w * 1000
        draft = self._emit(Draft("pile", body, model.operator_label(pile.operator_id), t))
        self.faults.append(
            Fault(
                "rated_power_slip",
                pile.pile_id,
                st.meter.meter_id,
                t,
                {"rated_power_w": body["rated_power_w"]},
                [],
                [draft],
            )
        )

    def _fault_silent(self, st: MeterState, t: int) -> None:
        if t < st.silent_until:
            return
        start = max(t, st.busy_until + 60_000)
        duration = max(3 * self.heartbeat_ms, int(self.rnd.uniform(2, 36) * HOUR_MS))
        st.silent_from, st.silent_until = start, start + duration
        m = st.meter
        self.faults.append(
            Fault(
                "silent",
                m.pile.pile_id,
                m.meter_id,
                start,
                {"silent_from_ms": start, "silent_until_ms": start + duration},
                until_ms=start + duration,
            )
        )

    def _fault_clock_drift(self, st: MeterState, t: int) -> None:
        if t < st.drift_until:
            return
        rnd = self.rnd
        seconds = rnd.uniform(6, 60) if rnd.random() < 0.7 else rnd.uniform(181, 900)
        st.drift_ms = int((1 if rnd.random() < 0.6 else -1) * seconds * 1000)
        st.drift_until = t + int(rnd.uniform(6, 72) * HOUR_MS)
        m = st.meter
        st.drift_fault = Fault(
            "clock_drift",
            m.pile.pile_id,
            m.meter_id,
            t,
            {"offset_ms": st.drift_ms, "until_ms": st.drift_until},
            until_ms=st.drift_until,
        )
        self.faults.append(st.drift_fault)

    def _fault_seal_opened(self, st: MeterState, t: int) -> None:
        if self.silent_at(st, t):
            return
        m, rnd = st.meter, self.rnd
        st.seal_seq += 1
        opened = self._emit_of(
            st,
            Draft(
                "seal",
                {
                    "meter_id": m.meter_id,
                    "pile_id": m.pile.pile_id,
                    "seq": st.seal_seq,
                    "event": "opened",
                    "at_ms": t,
                    "register_wh": st.register_at(t),
                },
                "meter",
                t,
            ),
        )
        drafts, closed_at = [opened], None
        if rnd.random() < 0.7:
            closed_at = t + rnd.randint(10 * 60_000, 8 * HOUR_MS)
            st.seal_seq += 1
            closed_body = {
                "meter_id": m.meter_id,
                "pile_id": m.pile.pile_id,
                "seq": st.seal_seq,
                "event": "closed",
                "at_ms": closed_at,
                "register_wh": 0,
            }
            drafts.append(self._emit_of(st, Draft("seal", closed_body, "meter", closed_at)))
            self._pending_close.append((closed_at, st, closed_body))
        self.stats["seal"] += len(drafts)
        self.faults.append(
            Fault(
                "seal_opened",
                m.pile.pile_id,
                m.meter_id,
                t,
                {"closed_at_ms": closed_at},
                [],
                drafts,
                until_ms=closed_at or t,
            )
        )

    def _fault_key_changed(self, st: MeterState, t: int) -> None:
        m = st.meter
        old = self.public_key(model.meter_label(m.meter_id, st.key_generation))
        st.key_generation += 1
        new = self.public_key(model.meter_label(m.meter_id, st.key_generation))
        body = model.meter_body(m, new, self.heartbeat_s, t)
        draft = self._emit(Draft("meter", body, model.operator_label(m.pile.operator_id), t))
        self.stats["meter"] += 1
        self.faults.append(
            Fault(
                "key_changed",
                m.pile.pile_id,
                m.meter_id,
                t,
                {"old_key": old, "new_key": new},
                [],
                [draft],
            )
        )


def fault_counts(faults: Iterable[Fault]) -> dict[str, int]:
    """Injected faults per kind (every kind listed, zeros included)."""
    counts = dict.fromkeys([*PER_SESSION, *METER_FAULTS, *FEED_FAULTS], 0)
    for fault in faults:
        counts[fault.fault] += 1
    return counts
