"""Fuel-station traffic: fuellings, POS sales, totalizers, tanks, prices, verifications, faults.

Every station is simulated on its own over the whole period from its own random stream
(``fuel-traffic/<seed>/<station>``), so one seed is one log whatever the fleet size or
the order of the work. Records become ``Draft``s (``ledger.fleet.generate``) dated when
their source sends them; the caller sorts them by (emit time, creation order) and signs.

The invariants the fuel rules rely on, exactly true for a clean fleet (docs/rules.md):

* per nozzle, a fuelling's ``total_before_ml`` is the previous fuelling's
  ``total_after_ml``, ``total_after − total_before = volume_ml``; a totalizer reading
  is taken with no fuelling in progress (at the hour, or 1 s after the fuelling that
  was running then), so Σ volume of the fuellings stopped between two readings equals
  the readings' difference; the tax box's totals equal the dispenser's;
* ``amount_fen = round_half_up(volume_ml × price_fen_l / 1000)``, ``price_fen_l`` the
  station's posted price valid at ``start_ms``;
* every fuelling has one POS sale with the same volume, amount and price;
* a tank-gauge reading at ``t`` is the tank's content after every fuelling of its
  nozzles that stopped by ``t`` and every delivery made by ``t`` (the gauge is modelled
  as if a fuelling left the tank at its stop), with gauge noise (σ 0.02 %, at most
  ±0.1 % of the reading) and the daily temperature swing (±0.2 °C, 0.12 %/°C petrol,
  0.08 %/°C diesel): well inside wet-stock reconciliation's max(0.5 %, 50 L);
* preset-amount fuellings stop at the first 0.01 L whose amount reaches the preset, so
  an honest dispenser's amounts sit at or just above ¥100/¥200/¥300, never just under.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.fleet.generate import DAY_MS, HOUR_MS, Draft
from ledger.fuel import fleet as fm
from ledger.fuel.faults import FAULTS, Planned, Truth

REGISTRY_LEAD_MS = HOUR_MS
TOTALIZER_EVERY_MS = HOUR_MS
LEVEL_EVERY_MS = 30 * 60_000
MAX_WAIT_MS = 15 * 60_000
"""A driver who would queue longer drives on to the next station."""
_PROFILE = (6, 4, 3, 3, 3, 5, 12, 30, 38, 30, 24, 25, 30, 26, 24, 26, 32, 40, 38, 28, 20, 16, 12, 9)
"""Share of fuellings per local hour: morning and evening rush hours, a lunch bump."""
PROFILE = tuple(x / sum(_PROFILE) for x in _PROFILE)
MEAN_LITRES = 36.0
PRESETS = ((10_000, 0.25), (20_000, 0.45), (30_000, 0.30))
PRESET_SHARE = {"92": 0.45, "95": 0.45, "98": 0.40, "0": 0.20}
VERIFICATIONS_PER_YEAR = 2.0
"""JJG 443-2023's six-month cycle for dispensers used in trade."""


def round_half_up_fen(volume_ml: int, price_fen_l: int) -> int:
    """The amount a dispenser shows: volume × unit price, half a fen rounded up."""
    return (volume_ml * price_fen_l + 500) // 1000


def preset_volume(preset_fen: int, price_fen_l: int) -> int:
    """The first 0.01 L step whose amount reaches ``preset_fen`` (a preset fuelling's stop)."""
    v = -(-preset_fen * 1000 // price_fen_l)
    v += -v % 10
    while v > 10 and round_half_up_fen(v - 10, price_fen_l) >= preset_fen:
        v -= 10
    while round_half_up_fen(v, price_fen_l) < preset_fen:
        v += 10
    return v


@dataclass
class _Event:
    """A nozzle's totals after a fuelling stop (or a tampering), in time order."""

    at_ms: int
    total_ml: int
    amount_fen: int
    tax_ml: int
    tax_fen: int


@dataclass
class _NozzleState:
    disp: fm.Dispenser
    noz: fm.Nozzle
    free_at: int = 0
    total_ml: int = 0
    amount_fen: int = 0
    id_base: int = 0
    """fuelling IDs go on from the nozzle's earlier fuellings (≈ its total / 40 L)"""
    count: int = 0
    tax_ml: int = 0
    tax_fen: int = 0
    events: list[_Event] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    draws: list[tuple[int, int, int]] = field(default_factory=list)
    """(stop, displayed mL, true mL) per fuelling, for the tank and the truth."""

    def totals_at(self, t_ms: int, initial: _Event) -> _Event:
        i = bisect.bisect_right([e.at_ms for e in self.events], t_ms)
        return self.events[i - 1] if i else initial


class Traffic:
    """The whole period of one fleet: ``run()`` → (drafts in emission order, truth)."""

    def __init__(
        self,
        fleet: fm.FuelFleet,
        *,
        start_ms: int,
        days: float,
        public_key: Callable[[str], str],
        enc_key_text: str,
        faults: dict[str, int] | None = None,
        authority: bool = True,
        verifications_per_year: float = VERIFICATIONS_PER_YEAR,
    ) -> None:
        self.fleet = fleet
        self.start_ms = start_ms
        self.end_ms = start_ms + int(days * DAY_MS)
        self.registry_ms = start_ms - REGISTRY_LEAD_MS
        self.public_key = public_key
        self.enc_key_text = enc_key_text
        self.authority = authority
        self.verifications_per_year = verifications_per_year
        self.counts = {name: 0 for name in FAULTS} | dict(faults or {})
        self.drafts: list[Draft] = []
        self.truth: list[Truth] = []
        self._seq = 0
        self.schedule = self._price_schedule()
        self.planned = self._plan_faults()
        self.stats: dict[str, int] = defaultdict(int)

    # ---- helpers -----------------------------------------------------------------

    def _emit(self, rtype: str, body: dict[str, Any], signer: str, emit_ms: int) -> Draft:
        self._seq += 1
        draft = Draft(rtype, body, signer, emit_ms, self._seq)
        self.drafts.append(draft)
        return draft

    def _price_schedule(self) -> list[tuple[int, dict[str, int]]]:
        """City prices per product from the registry time, adjusted every 14 days at 24:00.

        China's NDRC adjusts retail fuel prices every 10 working days (about two calendar
        weeks) at midnight; 92# moved around 7.50–8.10 yuan/L in Zhejiang in 2023–25
        (assumption from memory of the announcements, not checked against them)."""
        rnd = random.Random(f"fuel-price/{self.fleet.seed}")
        p92 = rnd.randint(765, 795)
        d95, d98, d0 = rnd.randint(50, 58), rnd.randint(130, 150), -rnd.randint(25, 40)

        def prices() -> dict[str, int]:
            return {"92": p92, "95": p92 + d95, "98": p92 + d98, "0": p92 + d0}

        out = [(self.registry_ms, prices())]
        t = fm.local_midnight(self.start_ms) + rnd.randint(1, 14) * DAY_MS
        while t < self.end_ms:
            p92 = max(750, min(810, p92 + rnd.choice((-1, 1)) * rnd.randint(5, 25)))
            out.append((t, prices()))
            t += 14 * DAY_MS
        return out

    def price_at(self, st: fm.Station, product: str, t_ms: int) -> int:
        k = bisect.bisect_right([v for v, _p in self.schedule], t_ms) - 1
        return self.schedule[max(0, k)][1][product] - st.discount_fen[product]

    def _whole_days(self, rnd: random.Random, max_days: int = 2) -> tuple[int, int] | None:
        first = fm.local_midnight(self.start_ms)
        if first < self.start_ms:
            first += DAY_MS
        days = (self.end_ms - first) // DAY_MS
        if days < 1:
            return None
        d0 = rnd.randrange(days)
        n = min(days - d0, rnd.randint(1, max_days))
        return first + d0 * DAY_MS, first + (d0 + n) * DAY_MS

    def _daytime(self, rnd: random.Random, lo_h: float, hi_h: float) -> tuple[int, int]:
        """A window of lo_h–hi_h hours inside local 07:00–21:00 of a day of the period."""
        span = self.end_ms - self.start_ms
        for _ in range(100):
            day = fm.local_midnight(self.start_ms + rnd.randrange(max(1, span)))
            t0 = day + int(rnd.uniform(7, 12) * HOUR_MS)
            t1 = t0 + int(rnd.uniform(lo_h, hi_h) * HOUR_MS)
            if t0 >= self.start_ms and t1 <= self.end_ms - HOUR_MS:
                return t0, t1
        t0 = self.start_ms + span // 4
        return t0, t0 + min(span // 2, int(hi_h * HOUR_MS))

    def _plan_faults(self) -> list[Planned]:
        """Where and when each fault happens; distinct stations while there are enough."""
        rnd = random.Random(f"fuel-faults/{self.fleet.seed}")
        stations = self.fleet.stations
        order = list(range(len(stations)))
        rnd.shuffle(order)
        by_volume = sorted(order, key=lambda k: -stations[k].litres_per_day)
        used: set[int] = set()
        out: list[Planned] = []

        def pick(pool: list[int]) -> int:
            free = [k for k in pool if k not in used] or pool
            k = free[0] if pool is by_volume else rnd.choice(free)
            used.add(k)
            return k

        taken: set[tuple[int, int]] = set()
        """(station, dispenser) pairs holding a fault: one fault per dispenser while possible"""

        def busy_nozzle(k: int) -> tuple[int, int]:
            pairs = [
                (d, n)
                for d, disp in enumerate(stations[k].dispensers)
                for n, noz in enumerate(disp.nozzles)
                if noz.product == "92"
            ]
            d, n = rnd.choice([(d, n) for d, n in pairs if (k, d) not in taken] or pairs)
            taken.add((k, d))
            return d, n

        for name, count in self.counts.items():
            flip = rnd.randrange(2)  # variants alternate: two of a class show both
            for i in range(count):
                if name in ("cheat_board", "round_amounts"):
                    window = self._whole_days(rnd)
                    if window is None:
                        continue
                    k = pick(by_volume if name == "cheat_board" else order)
                    d, _n = busy_nozzle(k)
                    params: dict[str, Any] = (
                        {"overcount_ppm": rnd.randint(10_000, 50_000)}
                        if name == "cheat_board"
                        else {"share": rnd.uniform(0.6, 0.7)}
                    )
                    out.append(Planned(name, k, d, 0, *window, params))
                    continue
                k = pick(order)
                d, n = busy_nozzle(k)
                if name in ("cheat_software", "price"):
                    t0, t1 = self._daytime(rnd, 4, 8)
                    kind = (
                        ("tax_cut", "pos_edit")
                        if name == "cheat_software"
                        else ("posted", "amount")
                    )[(i + flip) % 2]
                    params = {"kind": kind}
                    if kind == "tax_cut":
                        params["cut_ppm"] = rnd.randint(50_000, 200_000)
                    elif kind == "pos_edit":
                        params["cut_ppm"] = rnd.randint(30_000, 100_000)
                    elif kind == "posted":
                        params["above_fen_l"] = rnd.randint(10, 50)
                    else:
                        params["extra_fen"] = rnd.choice((-1, 1)) * rnd.randint(5, 300)
                    out.append(Planned(name, k, d, n, t0, t1, params))
                elif name == "tampered_totalizer":
                    t0, _ = self._daytime(rnd, 1, 2)
                    if t0 > self.end_ms - 12 * HOUR_MS:  # leave fuellings to show it
                        t0 = max(self.start_ms + HOUR_MS, t0 - DAY_MS)
                    kind = ("backwards", "jump")[(i + flip) % 2]
                    step = rnd.randint(100, 5_000) * 1000
                    out.append(Planned(name, k, d, n, t0, t0, {"kind": kind, "step_ml": step}))
                elif name == "seal":
                    t0 = rnd.randrange(
                        self.start_ms + HOUR_MS,
                        max(self.start_ms + 2 * HOUR_MS, self.end_ms - HOUR_MS),
                    )
                    event = "tamper" if rnd.random() < 0.2 else "opened"
                    closes = event == "opened" and rnd.random() < 0.7
                    t1 = t0 + rnd.randint(10, 60) * 60_000 if closes else t0
                    out.append(
                        Planned(
                            name,
                            k,
                            d,
                            n,
                            t0,
                            t1,
                            {"event": event, "position": rnd.choice(fm.SEALS), "closes": closes},
                        )
                    )
                elif name == "component_swap":
                    hi = max(self.start_ms + HOUR_MS, self.end_ms - 7 * DAY_MS - HOUR_MS)
                    t0 = rnd.randrange(self.start_ms, hi + 1)
                    what = "encoder" if rnd.random() < 0.6 else "control_board"
                    out.append(Planned(name, k, d, n, t0, t0 + 7 * DAY_MS, {"component": what}))
        return out

    # ---- the run -------------------------------------------------------------------

    def run(self) -> tuple[list[Draft], list[Truth]]:
        """Registry, prices and every station's traffic; drafts sorted by emission."""
        for rtype, body, label in fm.registry_bodies(
            self.fleet,
            self.public_key,
            self.enc_key_text,
            self.registry_ms,
            authority=self.authority,
        ):
            self._emit(rtype, body, label, body["at_ms"])
        at = self.registry_ms + self._seq
        for st in self.fleet.stations:
            for product in sorted({t.product for t in st.tanks}):
                self._price_record(st, product, self.registry_ms, at)
        rnd = random.Random(f"fuel-price-post/{self.fleet.seed}")
        for valid_from, _prices in self.schedule[1:]:
            for st in self.fleet.stations:
                at = valid_from - 2 * HOUR_MS - rnd.randrange(30 * 60_000)
                for product in sorted({t.product for t in st.tanks}):
                    self._price_record(st, product, valid_from, at)
        planned = defaultdict(list)
        for p in self.planned:
            planned[p.station].append(p)
        for k, st in enumerate(self.fleet.stations):
            _Station(self, st, planned.get(k, [])).run()
        self.drafts.sort(key=lambda d: (d.emit_ms, d.seq))
        return self.drafts, self.truth

    def _price_record(self, st: fm.Station, product: str, valid_from: int, at: int) -> None:
        body = {
            "station_id": st.station_id,
            "operator_id": st.operator_id,
            "product": product,
            "price_fen_l": self.price_at(st, product, valid_from),
            "valid_from_ms": valid_from,
            "at_ms": at,
        }
        self._emit("fuel_price", body, fm.operator_label(st.operator_id), at)


class _Station:
    """One station's period: arrivals and queues, then records, tanks and truth."""

    def __init__(self, traffic: Traffic, st: fm.Station, planned: list[Planned]) -> None:
        self.t = traffic
        self.st = st
        self.planned = planned
        self.rnd = random.Random(f"fuel-traffic/{traffic.fleet.seed}/{st.station_id}")
        self.nozzles = [_NozzleState(d, n) for d in st.dispensers for n in d.nozzles]
        for ns in self.nozzles:
            ns.tax_ml, ns.tax_fen = ns.noz.total_ml, ns.noz.amount_fen
            ns.total_ml, ns.amount_fen = ns.noz.total_ml, ns.noz.amount_fen
            ns.id_base = ns.noz.total_ml // 40_000
        self.initial = {
            id(ns): _Event(
                0, ns.noz.total_ml, ns.noz.amount_fen, ns.noz.total_ml, ns.noz.amount_fen
            )
            for ns in self.nozzles
        }
        self.blocked: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.module: dict[str, list[Draft]] = defaultdict(list)
        self.sales = 0
        self.affected: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        """id(planned) -> (start, displayed, true) of the fuellings a fault touched"""

    # ---- fault look-ups --------------------------------------------------------

    def _faults_on(self, ns: _NozzleState, t: int) -> list[Planned]:
        out = []
        for p in self.planned:
            disp = self.st.dispensers[p.dispenser]
            if p.fault == "cheat_board":
                hit = p.from_ms <= t < p.to_ms
            elif p.fault == "round_amounts":
                hit = disp is ns.disp and p.from_ms <= t < p.to_ms
            elif p.fault in ("cheat_software", "price"):
                hit = (
                    disp is ns.disp
                    and disp.nozzles[p.nozzle] is ns.noz
                    and p.from_ms <= t < p.to_ms
                )
            else:
                hit = False
            if hit:
                out.append(p)
        return out

    # ---- the period --------------------------------------------------------------

    def run(self) -> None:
        t = self.t
        self._verifications_plan()
        tampers = {id(p): p for p in self.planned if p.fault == "tampered_totalizer"}
        pending_tamper = dict(tampers)
        by_product: dict[str, list[_NozzleState]] = defaultdict(list)
        for ns in self.nozzles:
            by_product[ns.noz.product].append(ns)
        products = [p for p in fm.PRODUCT_MIX if p in by_product]
        weights = [fm.PRODUCT_MIX[p] for p in products]
        rate_day = self.st.litres_per_day / MEAN_LITRES
        rnd = self.rnd
        h0 = t.start_ms
        while h0 < t.end_ms:
            hour = ((h0 + fm.CST_OFFSET_MS) // HOUR_MS) % 24
            rate = rate_day * PROFILE[hour] / HOUR_MS
            a = h0
            while True:
                a += int(rnd.expovariate(rate)) + 1
                if a >= min(h0 + HOUR_MS, t.end_ms):
                    break
                product = rnd.choices(products, weights)[0]
                self._arrival(a, product, by_product[product], pending_tamper)
            h0 += HOUR_MS
        for p in tampers.values():
            if id(p) in pending_tamper:  # no fuelling after it: it never happened
                p.params["realised"] = False
        self._totalizers()
        self._tanks()
        self._verifications()
        self._fault_records()
        self._truth()
        for drafts in self.module.values():
            drafts.sort(key=lambda d: (d.emit_ms, d.seq))
        for disp in self.st.dispensers:
            for i, draft in enumerate(self.module[disp.dispenser_id]):
                draft.body["seq"] = disp.seq0 + i + 1

    def _verifications_plan(self) -> None:
        t, rnd = self.t, self.rnd
        p = t.verifications_per_year / 365.0
        day = fm.local_midnight(t.start_ms)
        self.verif: list[tuple[fm.Dispenser, int]] = []
        while day < t.end_ms:
            for disp in self.st.dispensers:
                if rnd.random() < p:
                    at = day + int(rnd.uniform(9, 15) * HOUR_MS)
                    if t.start_ms <= at and at + HOUR_MS <= t.end_ms:
                        self.verif.append((disp, at))
                        self.blocked[disp.dispenser_id].append((at, at + 45 * 60_000))
            day += DAY_MS

    def _is_blocked(self, disp: fm.Dispenser, t0: int, t1: int) -> int:
        for b0, b1 in self.blocked.get(disp.dispenser_id, ()):
            if t0 < b1 and b0 < t1:
                return b1
        return 0

    def _arrival(
        self, a: int, product: str, candidates: list[_NozzleState], tampers: dict[int, Planned]
    ) -> None:
        rnd = self.rnd
        best: tuple[int, int, _NozzleState] | None = None
        for k, ns in enumerate(candidates):
            start = max(a, ns.free_at) + rnd.randint(20_000, 60_000)
            unblock = self._is_blocked(ns.disp, start, start + 10 * 60_000)
            if unblock:
                start = unblock + rnd.randint(20_000, 60_000)
            if best is None or (start, k) < (best[0], best[1]):
                best = (start, k, ns)
        assert best is not None
        start, _k, ns = best
        if start - a > MAX_WAIT_MS:
            self.t.stats["drove_on"] += 1
            return
        noz, disp = ns.noz, ns.disp
        for key, p in list(tampers.items()):
            if (
                disp is self.st.dispensers[p.dispenser]
                and disp.nozzles[p.nozzle] is noz
                and p.from_ms <= start
            ):
                del tampers[key]
                at = max(ns.free_at, p.from_ms)
                step = p.params["step_ml"] * (-1 if p.params["kind"] == "backwards" else 1)
                ns.total_ml += step
                ns.tax_ml += step
                ns.events.append(_Event(at, ns.total_ml, ns.amount_fen, ns.tax_ml, ns.tax_fen))
                p.from_ms = p.to_ms = at
                p.params["fuelling_start_ms"] = start
        faults = self._faults_on(ns, start)
        f = {p.fault: p for p in faults}
        price = self.t.price_at(self.st, product, start)
        charged = price + (
            f["price"].params["above_fen_l"]
            if "price" in f and f["price"].params["kind"] == "posted"
            else 0
        )
        error_ppm = noz.error_ppm + (
            f["cheat_board"].params["overcount_ppm"] if "cheat_board" in f else 0
        )
        preset_share = PRESET_SHARE[product]
        if "round_amounts" in f:
            preset_share = f["round_amounts"].params["share"]
        if rnd.random() < preset_share:
            preset = rnd.choices([v for v, _w in PRESETS], [w for _v, w in PRESETS])[0]
            volume = preset_volume(preset, charged)
            if "round_amounts" in f:  # stops short: the amount ends just under the round sum
                target = preset - rnd.randint(10, 90)
                while volume > 10 and round_half_up_fen(volume, charged) > target:
                    volume -= 10
        else:
            litres = rnd.triangular(8, 150, 60) if product == "0" else rnd.triangular(12, 62, 38)
            volume = int(litres * 100) * 10
        true_ml = volume * 1_000_000 // (1_000_000 + error_ppm)
        amount = round_half_up_fen(volume, charged)
        if "price" in f and f["price"].params["kind"] == "amount":
            amount = max(1, amount + f["price"].params["extra_fen"])
        flow = rnd.uniform(30, 45) if product == "0" else rnd.uniform(25, 40)  # L/min
        stop = start + int(volume / flow * 60) + rnd.randint(5_000, 15_000)
        ns.free_at = stop + rnd.randint(30_000, 120_000)
        ns.count += 1
        before = ns.total_ml
        ns.total_ml += volume
        ns.amount_fen += amount
        tax_volume, tax_amount = volume, amount
        if "cheat_software" in f and f["cheat_software"].params["kind"] == "tax_cut":
            cut = f["cheat_software"].params["cut_ppm"]
            tax_volume = volume - volume * cut // 1_000_000
            tax_amount = amount - amount * cut // 1_000_000
        ns.tax_ml += tax_volume
        ns.tax_fen += tax_amount
        ns.events.append(_Event(stop, ns.total_ml, ns.amount_fen, ns.tax_ml, ns.tax_fen))
        ns.spans.append((start, stop))
        ns.draws.append((stop, volume, true_ml))
        for p in faults:
            self.affected[id(p)].append((start, volume, true_ml))
        fuelling_id = f"{disp.dispenser_id}-{noz.nozzle}-{ns.id_base + ns.count}"
        body = {
            "fuelling_id": fuelling_id,
            "dispenser_id": disp.dispenser_id,
            "station_id": self.st.station_id,
            "nozzle": noz.nozzle,
            "product": product,
            "seq": 0,
            "start_ms": start,
            "stop_ms": stop,
            "volume_ml": volume,
            "amount_fen": amount,
            "price_fen_l": charged,
            "total_before_ml": before,
            "total_after_ml": ns.total_ml,
        }
        self.module[disp.dispenser_id].append(
            self.t._emit("fuelling", body, disp.label, stop + rnd.randint(200, 800))
        )
        self.t.stats["fuellings"] += 1
        sale_volume, sale_amount = volume, amount
        if "cheat_software" in f and f["cheat_software"].params["kind"] == "pos_edit":
            cut = f["cheat_software"].params["cut_ppm"]
            sale_volume = volume - volume * cut // 1_000_000
            sale_amount = amount - amount * cut // 1_000_000
        self.sales += 1
        at = stop + rnd.randint(10_000, 120_000)
        sale = {
            "sale_id": f"POS-{self.st.station_id}-{self.sales:07d}",
            "fuelling_id": fuelling_id,
            "station_id": self.st.station_id,
            "operator_id": self.st.operator_id,
            "dispenser_id": disp.dispenser_id,
            "nozzle": noz.nozzle,
            "product": product,
            "volume_ml": sale_volume,
            "amount_fen": sale_amount,
            "price_fen_l": charged,
            "at_ms": at,
        }
        self.t._emit("fuel_sale", sale, fm.operator_label(self.st.operator_id), at)

    # ---- periodic readings ---------------------------------------------------------

    def _totalizers(self) -> None:
        t, rnd = self.t, self.rnd
        for ns in self.nozzles:
            starts = [s for s, _e in ns.spans]
            last = 0
            mark = t.start_ms
            while mark <= t.end_ms:
                at = mark
                i = bisect.bisect_right(starts, at) - 1
                if i >= 0 and ns.spans[i][0] <= at <= ns.spans[i][1]:
                    at = ns.spans[i][1] + 1_000  # the module reads between fuellings
                at = max(at, last + 1_000)
                last = at
                e = ns.totals_at(at, self.initial[id(ns)])
                body = {
                    "dispenser_id": ns.disp.dispenser_id,
                    "station_id": self.st.station_id,
                    "nozzle": ns.noz.nozzle,
                    "seq": 0,
                    "at_ms": at,
                    "volume_total_ml": e.total_ml,
                    "amount_total_fen": e.amount_fen,
                    "tax_volume_total_ml": e.tax_ml,
                    "tax_amount_total_fen": e.tax_fen,
                }
                self.module[ns.disp.dispenser_id].append(
                    t._emit("totalizer", body, ns.disp.label, at + rnd.randint(1_000, 2_000))
                )
                mark += TOTALIZER_EVERY_MS

    def _tanks(self) -> None:
        t, rnd, st = self.t, self.rnd, self.st
        label = fm.operator_label(st.operator_id)
        for tank in st.tanks:
            draws = sorted(
                (stop, true)
                for ns in self.nozzles
                if ns.noz.tank_id == tank.tank_id
                for stop, _shown, true in ns.draws
            )
            beta = 8 if tank.product == "0" else 12  # ppm of volume per 0.1 °C
            level, i, pending, seq, deliveries = tank.initial_ml, 0, 0, 0, 0
            tick = t.start_ms
            while tick <= t.end_ms:
                while True:
                    nxt = draws[i][0] if i < len(draws) else math.inf
                    due = pending or math.inf
                    if min(nxt, due) > tick:
                        break
                    if nxt <= due:
                        level -= draws[i][1]
                        i += 1
                        continue
                    volume = max(0, int(tank.capacity_ml * 0.92) - level) // 1_000_000 * 1_000_000
                    pending = 0
                    if volume:
                        deliveries += 1
                        level += volume
                        body = {
                            "delivery_id": f"{tank.tank_id}-D{deliveries:04d}",
                            "tank_id": tank.tank_id,
                            "station_id": st.station_id,
                            "operator_id": st.operator_id,
                            "product": tank.product,
                            "volume_ml": volume,
                            "at_ms": int(due),
                        }
                        t._emit(
                            "tank_delivery", body, label, int(due) + rnd.randint(60_000, 600_000)
                        )
                if level < 0:
                    raise RuntimeError(
                        f"simulator: tank {tank.tank_id} ran dry; raise its capacity"
                    )
                hour = ((tick + fm.CST_OFFSET_MS) % DAY_MS) / HOUR_MS
                swing = 2 * math.sin((hour - 9) / 24 * 2 * math.pi)  # 0.1 °C, ±0.2 °C
                temp = tank.temp_dc + round(swing)
                noise = max(-1000, min(1000, round(rnd.gauss(0, 200))))  # ppm: σ 0.02 %, ≤ 0.1 %
                shown = level + level * (round(beta * swing) + noise) // 1_000_000
                seq += 1
                body = {
                    "tank_id": tank.tank_id,
                    "station_id": st.station_id,
                    "operator_id": st.operator_id,
                    "seq": seq,
                    "at_ms": tick,
                    "volume_ml": shown // 1000 * 1000,
                    "temp_dc": temp,
                }
                t._emit("tank_level", body, label, tick + rnd.randint(1_000, 30_000))
                if level < tank.capacity_ml * 0.3 and not pending:
                    pending = tick + rnd.randint(2 * HOUR_MS, 5 * HOUR_MS)
                tick += LEVEL_EVERY_MS

    # ---- verifications and faults' own records -----------------------------------

    def _seal(self, disp: fm.Dispenser, position: str, event: str, at: int) -> Draft:
        total = sum(
            ns.totals_at(at, self.initial[id(ns)]).total_ml
            for ns in self.nozzles
            if ns.disp is disp
        )
        body = {
            "dispenser_id": disp.dispenser_id,
            "station_id": self.st.station_id,
            "seq": 0,
            "position": position,
            "event": event,
            "at_ms": at,
            "volume_total_ml": total,
        }
        draft = self.t._emit("fuel_seal", body, disp.label, at + self.rnd.randint(200, 1_500))
        self.module[disp.dispenser_id].append(draft)
        return draft

    def _verifications(self) -> None:
        """A periodic verification: seal opened, every nozzle tested at two flow rates (three
        20 L runs each, the dispenser's own error plus ±0.02 % repeatability), signed by the
        inspector, seal closed. Test volumes go back to the tank and are not counted."""
        rnd = self.rnd
        for disp, at in self.verif:
            self._seal(disp, "transducer_adjust", "opened", at)
            inspector = rnd.choice(self.t.fleet.inspectors)[0]
            date = fm.local_midnight(at)
            day = _date(date)
            compact = day.replace("-", "")
            for k, noz in enumerate(disp.nozzles):
                points = []
                for flow in (40_000, 8_000):
                    runs = []
                    for _ in range(3):
                        err = noz.error_ppm + rnd.randint(-200, 200)
                        indicated = 20_000 + 20_000 * err // 1_000_000
                        runs.append(
                            {
                                "standard_ml": 20_000,
                                "indicated_ml": indicated,
                                "error_ppm": (indicated - 20_000) * 1_000_000 // 20_000,
                            }
                        )
                    errs = [r["error_ppm"] for r in runs]
                    points.append(
                        {
                            "flow_ml_min": flow,
                            "runs": runs,
                            "error_ppm": max(errs, key=abs),
                            "repeat_ppm": max(errs) - min(errs),
                        }
                    )
                v_at = at + (10 + 4 * k) * 60_000
                body = {
                    "verification_id": f"FV-{disp.dispenser_id}-{noz.nozzle}-{compact}",
                    "dispenser_id": disp.dispenser_id,
                    "nozzle": noz.nozzle,
                    "inspector_id": inspector,
                    "at_ms": v_at,
                    "kind": "periodic",
                    "regulation": "JJG 443-2023",
                    "points": points,
                    "result": "pass",
                    "certificate_no": f"HZJL-F{day[:4]}-{disp.dispenser_id[2:]}{noz.nozzle}",
                    "next_due": _date(date + 182 * DAY_MS),
                    "seal_closed": True,
                }
                self.t._emit("fuel_verification", body, fm.inspector_label(inspector), v_at + 5_000)
            self._seal(disp, "transducer_adjust", "closed", at + 40 * 60_000)
            self.t.stats["verifications"] += 1

    def _fault_records(self) -> None:
        for p in self.planned:
            disp = self.st.dispensers[p.dispenser]
            if p.fault == "seal":
                self._seal(disp, p.params["position"], p.params["event"], p.from_ms)
                if p.params["closes"]:
                    self._seal(disp, p.params["position"], "closed", p.to_ms)
            elif p.fault == "component_swap":
                what = p.params["component"]
                old = disp.nozzles[p.nozzle].encoder_id if what == "encoder" else disp.board_id
                body = {
                    "dispenser_id": disp.dispenser_id,
                    "station_id": self.st.station_id,
                    "seq": 0,
                    "component": what,
                    "old_id": old,
                    "new_id": f"{old}-R{self.rnd.randint(1, 9)}",
                    "at_ms": p.from_ms,
                }
                p.params["old_id"], p.params["new_id"] = old, body["new_id"]
                self.module[disp.dispenser_id].append(
                    self.t._emit("component", body, disp.label, p.from_ms + 2_000)
                )

    # ---- ground truth --------------------------------------------------------------

    def _truth(self) -> None:
        t = self.t
        for p in self.planned:
            disp = self.st.dispensers[p.dispenser]
            noz = disp.nozzles[p.nozzle]
            base = {"station_id": self.st.station_id, "dispenser_id": disp.dispenser_id}
            touched = self.affected.get(id(p), [])
            if p.fault == "cheat_board":
                self._cheat_board_truth(p)
            elif p.fault == "round_amounts":
                t.truth.append(
                    Truth(
                        p.fault,
                        ["F10"],
                        from_ms=p.from_ms,
                        to_ms=p.to_ms,
                        **base,
                        detail={
                            "fuellings": len(touched),
                            "preset_share": round(p.params["share"], 3),
                        },
                    )
                )
            elif p.fault in ("cheat_software", "price"):
                rule = {"tax_cut": "F02", "pos_edit": "F04", "posted": "F05", "amount": "F03"}[
                    p.params["kind"]
                ]
                detail = {k: v for k, v in p.params.items()} | {"fuellings": len(touched)}
                t.truth.append(
                    Truth(
                        p.fault,
                        [rule] if touched else [],
                        from_ms=p.from_ms,
                        to_ms=p.to_ms,
                        nozzle=noz.nozzle,
                        **base,
                        detail=detail,
                    )
                )
            elif p.fault == "tampered_totalizer":
                if p.params.get("realised") is False:
                    continue
                t.truth.append(
                    Truth(
                        p.fault,
                        ["F06", "F01"],
                        from_ms=p.from_ms,
                        to_ms=p.params["fuelling_start_ms"],
                        nozzle=noz.nozzle,
                        **base,
                        detail=dict(p.params),
                    )
                )
            elif p.fault == "seal":
                t.truth.append(
                    Truth(
                        p.fault,
                        ["F08"],
                        from_ms=p.from_ms,
                        to_ms=p.to_ms,
                        **base,
                        detail=dict(p.params),
                    )
                )
            elif p.fault == "component_swap":
                t.truth.append(
                    Truth(
                        p.fault,
                        ["F07"],
                        from_ms=p.from_ms,
                        to_ms=p.to_ms,
                        nozzle=noz.nozzle if p.params["component"] == "encoder" else None,
                        **base,
                        detail=dict(p.params),
                    )
                )

    def _cheat_board_truth(self, p: Planned) -> None:
        """One entry per tank and local day: F09 is required where the litres the board
        invented exceed twice the reconciliation's tolerance max(0.5 % of sales, 50 L);
        below that the entry is kept with no rule (a small tank-day hides the cheat)."""
        sold: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        for ns in self.nozzles:
            for stop, shown, true in ns.draws:
                if p.from_ms <= stop < p.to_ms:
                    key = (ns.noz.tank_id, fm.local_midnight(stop))
                    sold[key][0] += shown
                    sold[key][1] += true
        for (tank_id, day), (shown, true) in sorted(sold.items()):
            invented = shown - true
            tolerance = max(shown // 200, 50_000)
            disp = next(ns.disp.dispenser_id for ns in self.nozzles if ns.noz.tank_id == tank_id)
            self.t.truth.append(
                Truth(
                    "cheat_board",
                    ["F09"] if invented >= 2 * tolerance else [],
                    dispenser_id=disp,
                    station_id=self.st.station_id,
                    tank_id=tank_id,
                    from_ms=day,
                    to_ms=day + DAY_MS,
                    detail={
                        "overcount_ppm": p.params["overcount_ppm"],
                        "sold_ml": shown,
                        "invented_ml": invented,
                        "tolerance_ml": tolerance,
                    },
                )
            )


def _date(t_ms: int) -> str:
    return (dt.datetime.fromtimestamp((t_ms + fm.CST_OFFSET_MS) / 1000, dt.UTC)).date().isoformat()
