"""The simulated taxi fleet of a city (安心打车): companies, vehicles, meters, trips, faults.

A deterministic stand-in for Hangzhou's ≈ 10,000 cruising taxis, so the platform, the
suspension list (`ledger.taxi.status`) and the workstation's taxi view can be exercised
and the drift rule scored against ground truth without real terminals. One seed is one
fleet: every draw comes from ``random.Random`` generators seeded from the seed and a
name (the taxi's plate and the day for its trips), so a day of one taxi is the same
whatever else is simulated, and the bench can generate the city a day at a time.
The assumptions (sizes, distances, GNSS noise, tariff) are in docs/taxi-fleet.md;
none is published data unless that file says so.

What a trip is here: a true route length; the meter reads it × (1 + drift) (the meter's
K-constant error: tyre wear, a changed K, tampering); the transport bureau's monitoring
platform measures it from the GNSS track with a per-trip error of 0.5–1 % (1 σ), a few
metres at the ends, and occasional outliers (multipath adds distance, a tunnel drops
some). The terminal signs the trip; the monitoring platform signs its GNSS distance.

Fault classes (``FAULTS``), each with a ground-truth entry (`Truth`) naming the status
the suspension list must show:

=============  ===========================================================  ===============
fault          injected as                                                  status
=============  ===========================================================  ===============
drift          meter reads ``DRIFT_HIGH`` (+1.4 … +6 %: worn tyres, a        drift_suspected
               tampered K) or ``DRIFT_LOW`` (−9 … −4.4 %: oversize tyres)
               beyond JJG 517's −4 % … +1 %, after a verification it passed
drift_inside   reads +0.4 … +0.6 % or −3.6 … −3.4 %: inside the limits,     valid/expiring
               near them — must NOT be flagged
seal           the terminal reports the seal ``tamper``/``opened`` during   seal_broken
               the run, and the meter reads +3 … +12 % from then on
expired        the latest verification is 370–500 days old                 expired
failed         the latest verification failed (distance error outside the   failed
               limits)
=============  ===========================================================  ===============
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger.taxi.records import CST, REGULATION, one_year_after

HANGZHOU_TAXIS = 10_000
"""Order of magnitude of Hangzhou's cruising taxis (issue 16); not an official count."""
DAY_MS = 86_400_000
CST_OFFSET_MS = 8 * 3_600_000
AUTHORITY_ID = "HZ-AMR"
AUTHORITY_NAME = "杭州市市场监督管理局"
AUTHORITY_LABEL = "authority"
"""The charging and fuel simulators' authority label: same seed and algorithm, same key,
so all fleets can feed one platform (the demo)."""
MONITOR_ID = "HZ-TMON"
MONITOR_NAME = "杭州市出租汽车车载监控平台"
VERIFIER_ORG = "杭州市质量技术监督检测院"
INSPECTORS = (("TI01", "陈立新"), ("TI02", "王海燕"), ("TI03", "郑国平"))
COMPANY_WORDS = (
    "西湖", "钱塘", "之江", "运河", "武林", "湖滨", "吴山", "拱宸", "凤起", "北山",
    "九溪", "良渚", "下沙", "滨江", "萧山", "余杭", "临平", "富阳", "城北", "城东",
)  # fmt: skip
"""Fictional company names (``杭州<word>出租汽车有限公司``), ~20 as in Hangzhou."""
METERS = (
    ("杭州计价器厂", "HZJ-2016"),
    ("金穗电子", "JS-T9"),
    ("联星科技", "LX-905"),
)
"""Illustrative makers and models, not real products."""
AIRPORT = (120_434_300, 30_229_500)
"""萧山国际机场 (GCJ-02, micro-degrees)."""
CITY_BOX = (120_060_000, 120_330_000, 30_160_000, 30_360_000)
"""Where urban trips start: the main urban districts (lon min, lon max, lat min, lat max)."""

# --- the tariff (docs/taxi-fleet.md, "Fares": as understood, not checked against the notice)
FLAG_FEN = 1_300
FLAG_M = 3_000
PER_KM_FEN = 250
LONG_KM_FEN = 375
LONG_FROM_M = 10_000
WAIT_FEN_PER_4_MIN = 250

# --- the drift model and fault bands (fractions of the distance)
HEALTHY = (-0.025, 0.003)
DRIFT_HIGH = (0.014, 0.06)
DRIFT_LOW = (-0.09, -0.044)
INSIDE_HIGH = (0.004, 0.006)
INSIDE_LOW = (-0.036, -0.034)
SEAL_DRIFT = (0.03, 0.12)
GNSS_SIGMA = (0.005, 0.010)
GNSS_END_M = 10.0
MULTIPATH_P = 0.015
TUNNEL_P = 0.01

FAULTS: dict[str, tuple[str, ...]] = {
    "drift": ("drift_suspected",),
    "drift_inside": ("valid", "expiring"),
    "seal": ("seal_broken",),
    "expired": ("expired",),
    "failed": ("failed",),
}
"""fault class -> the statuses the suspension list may show for it."""


class FaultSpecError(ValueError):
    """A ``--faults`` spec that names no fault class or has a bad count."""


def parse_spec(spec: str | None) -> dict[str, int]:
    """Counts per fault class: ``none``, ``all`` (one each), ``all=N``, ``name=N,...``."""
    counts = dict.fromkeys(FAULTS, 0)
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part or part == "none":
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            n = int(value) if sep else 1
        except ValueError as exc:
            raise FaultSpecError(f"--faults {part!r}: {value!r} is not a whole number") from exc
        if n < 0:
            raise FaultSpecError(f"--faults {part!r}: the count must not be negative")
        if name == "all":
            counts = dict.fromkeys(FAULTS, n)
        elif name in FAULTS:
            counts[name] = n
        else:
            raise FaultSpecError(
                f"--faults {part!r}: unknown fault class; one of none, all, {', '.join(FAULTS)}"
            )
    return counts


@dataclass
class Truth:
    """One injected fault: the taxi, its class, the statuses the list may show for it."""

    fault: str
    plate: str
    meter_serial: str
    statuses: tuple[str, ...]
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "plate": self.plate,
            "meter_serial": self.meter_serial,
            "statuses": list(self.statuses),
            "detail": self.detail,
        }


@dataclass
class Company:
    operator_id: str
    name: str
    credit_code: str


@dataclass
class Taxi:
    plate: str
    operator_id: str
    vin: str
    meter_serial: str
    maker: str
    model: str
    k_constant: int
    terminal_id: str
    installed_ms: int
    drift: float
    """the meter's distance error during the run (fraction; + reads long)"""
    trips_per_day: tuple[int, int]
    fault: str | None = None
    seal_at_ms: int | None = None
    seal_drift: float = 0.0
    verifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def terminal_label(self) -> str:
        return terminal_label(self.terminal_id)


@dataclass
class TaxiFleet:
    seed: int
    start_ms: int
    days: int
    companies: list[Company]
    taxis: list[Taxi]
    truth: list[Truth]
    inspectors: tuple[tuple[str, str], ...] = INSPECTORS


def operator_label(operator_id: str) -> str:
    return f"operator/{operator_id}"


def inspector_label(inspector_id: str) -> str:
    return f"inspector/{inspector_id}"


def terminal_label(terminal_id: str) -> str:
    return f"terminal/{terminal_id}"


MONITOR_LABEL = f"monitor/{MONITOR_ID}"


def local_midnight(t_ms: int) -> int:
    """The local (UTC+8) midnight at or before ``t_ms``."""
    return (t_ms + CST_OFFSET_MS) // DAY_MS * DAY_MS - CST_OFFSET_MS


def plate_of(n: int) -> str:
    """浙A·T0001 … (Hangzhou taxis: 浙A plus a letter series; T, then D, then H)."""
    series = "TDH"[n // 10_000]
    return f"浙A·{series}{n % 10_000:04d}"


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms // 1000, CST).date()


def fare_fen(meter_m: int, wait_s: int) -> int:
    """Hangzhou's taxi tariff as docs/taxi-fleet.md states it: ¥13 for the first 3 km,
    ¥2.50/km to 10 km, ¥3.75/km beyond (empty-return surcharge), waiting ¥2.50 per 4
    minutes; the meter charges what it measures, rounded to the yuan."""
    fen = FLAG_FEN
    fen += max(0, min(meter_m, LONG_FROM_M) - FLAG_M) * PER_KM_FEN / 1000
    fen += max(0, meter_m - LONG_FROM_M) * LONG_KM_FEN / 1000
    fen += wait_s // 240 * WAIT_FEN_PER_4_MIN
    return int(fen + 50) // 100 * 100


def build_fleet(
    seed: int, taxis: int, start_ms: int, days: int, faults: dict[str, int]
) -> TaxiFleet:
    """``taxis`` taxis in ~20 companies, their meters and verification histories, with
    ``faults`` (counts per class) put on distinct taxis at random."""
    if taxis < 1:
        raise ValueError("a taxi fleet needs at least one taxi")
    if taxis > 30_000:
        raise ValueError("at most 30,000 taxis (the plate series)")
    wanted = sum(faults.values())
    if wanted > taxis:
        raise ValueError(f"{wanted} faults need at least as many taxis, not {taxis}")
    rnd = random.Random(f"taxi-fleet/{seed}")
    n_companies = max(1, min(len(COMPANY_WORDS), taxis // 15))
    companies = [
        Company(
            f"TOP{k + 1:02d}",
            f"杭州{COMPANY_WORDS[k]}出租汽车有限公司",
            "91330" + "".join(rnd.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(13)),
        )
        for k in range(n_companies)
    ]
    weights = [rnd.uniform(0.5, 2.0) for _ in companies]
    order = list(range(taxis))
    rnd.shuffle(order)
    classes: dict[int, str] = {}
    cursor = 0
    for fault, count in faults.items():
        for n in order[cursor : cursor + count]:
            classes[n] = fault
        cursor += count
    end_ms = start_ms + days * DAY_MS
    fleet: list[Taxi] = []
    truth: list[Truth] = []
    for n in range(taxis):
        r = random.Random(f"taxi-fleet/{seed}/taxi/{n}")
        company = companies[r.choices(range(n_companies), weights=weights)[0]]
        maker, model = r.choice(METERS)
        fault = classes.get(n)
        age_days = r.uniform(60, 6 * 365)
        if fault == "expired":  # installed before its last (expired) verification
            age_days = max(age_days, 520 + days)
        installed = start_ms - int(age_days * DAY_MS)
        drift = r.uniform(*HEALTHY)
        if fault == "drift":
            drift = r.uniform(*(DRIFT_HIGH if r.random() < 0.7 else DRIFT_LOW))
        elif fault == "drift_inside":
            drift = r.uniform(*(INSIDE_HIGH if r.random() < 0.5 else INSIDE_LOW))
        taxi = Taxi(
            plate=plate_of(n + 1),
            operator_id=company.operator_id,
            vin="LS" + "".join(r.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(15)),
            meter_serial=f"{model.split('-')[0]}{n + 1:07d}",
            maker=maker,
            model=model,
            k_constant=r.randint(600, 1_600),
            terminal_id=f"HZT{n + 1:07d}",
            installed_ms=installed,
            drift=drift,
            trips_per_day=(24, 36),
            fault=fault,
        )
        taxi.verifications = _verifications(taxi, r, start_ms, end_ms, seed, n)
        if fault == "seal":
            taxi.seal_at_ms = start_ms + int(r.uniform(0.1, 0.6) * days * DAY_MS)
            taxi.seal_drift = r.uniform(*SEAL_DRIFT)
        if fault is not None:
            detail: dict[str, Any] = {"drift_ppm": round(drift * 1e6)}
            if fault == "seal":
                detail.update(
                    seal_at_ms=taxi.seal_at_ms, drift_after_ppm=round(taxi.seal_drift * 1e6)
                )
            last = taxi.verifications[-1]
            detail.update(
                verification_id=last["verification_id"],
                verified_ms=last["at_ms"],
                distance_error_ppm=last["distance_error_ppm"],
            )
            truth.append(Truth(fault, taxi.plate, taxi.meter_serial, FAULTS[fault], detail))
        fleet.append(taxi)
    return TaxiFleet(seed, start_ms, days, companies, fleet, truth)


def _verifications(
    taxi: Taxi, r: random.Random, start_ms: int, end_ms: int, seed: int, n: int
) -> list[dict[str, Any]]:
    """First verification at installation, then yearly; the latest one's age sets the
    status: 10–355 days before the run's end (valid or, in its last 30 days, expiring),
    370–500 days (the ``expired`` fault), a fail within the year (the ``failed`` fault)."""
    if taxi.fault == "expired":
        age = r.uniform(370, 500)
    else:
        age = r.uniform(10, 355)
    latest = end_ms - int(age * DAY_MS)
    latest = max(latest, taxi.installed_ms + 3_600_000)
    if taxi.fault == "expired":
        latest = min(latest, end_ms - 370 * DAY_MS)
    times = [latest]
    t = latest
    while t - 365 * DAY_MS > taxi.installed_ms:
        t -= 365 * DAY_MS + int(r.uniform(-20, 0) * DAY_MS)
        times.append(max(t, taxi.installed_ms))
    if times[-1] - taxi.installed_ms > DAY_MS:  # the first verification, at installation
        times.append(taxi.installed_ms + int(r.uniform(1, 8) * 3_600_000))
    times.reverse()
    out = []
    for k, at in enumerate(times):
        last = k == len(times) - 1
        error = taxi.drift if last and taxi.fault not in ("drift", "seal") else r.uniform(*HEALTHY)
        error_ppm = round((error + r.gauss(0, 0.001)) * 1e6)
        error_ppm = max(-39_000, min(9_000, error_ppm))
        result = "pass"
        if last and taxi.fault == "failed":
            error_ppm = r.choice((r.randint(12_000, 40_000), r.randint(-80_000, -42_000)))
            result = "fail"
        inspector = INSPECTORS[r.randrange(len(INSPECTORS))][0]
        day = _day(at)
        out.append(
            {
                "verification_id": f"TV{seed}-{n + 1:06d}-{k + 1}",
                "plate": taxi.plate,
                "meter_serial": taxi.meter_serial,
                "inspector_id": inspector,
                "at_ms": at,
                "kind": "first" if k == 0 else "periodic",
                "method": "roller" if r.random() < 0.8 else "road",
                "regulation": REGULATION,
                "distance_error_ppm": error_ppm,
                "time_error_ppm": r.randint(-2_000, 2_000),
                "k_constant": taxi.k_constant,
                "result": result,
                "certificate_no": f"HZJL-T{day.year}-{n + 1:06d}{k + 1}",
                "next_due": one_year_after(day).isoformat(),
                "seal_closed": True,
            }
        )
    return out


# ---- records ---------------------------------------------------------------------------

Draft = tuple[str, dict[str, Any], str]
"""(record type, body, signer label), ready for ``ledger.fuel.fleet_sign.sign_all``."""


def registry(
    fleet: TaxiFleet, public_key: Callable[[str], str], enc_key_text: str, *, authority: bool = True
) -> list[Draft]:
    """authority (unless another fleet registers it) → inspectors → monitoring platform →
    companies → vehicles → meters, then every verification (oldest first). The n-th
    registry record is dated ``start_ms − 1 day + n`` ms."""
    at = fleet.start_ms - DAY_MS
    out: list[Draft] = []

    def add(rtype: str, body: dict[str, Any], label: str) -> None:
        body["at_ms"] = at + len(out)
        out.append((rtype, body, label))

    if authority:
        add(
            "authority",
            {
                "authority_id": AUTHORITY_ID,
                "name": AUTHORITY_NAME,
                "key": public_key(AUTHORITY_LABEL),
                "enc_key": enc_key_text,
            },
            AUTHORITY_LABEL,
        )
    for inspector_id, name in fleet.inspectors:
        add(
            "inspector",
            {
                "inspector_id": inspector_id,
                "name": name,
                "org": VERIFIER_ORG,
                "key": public_key(inspector_label(inspector_id)),
            },
            AUTHORITY_LABEL,
        )
    add(
        "monitor",
        {"monitor_id": MONITOR_ID, "name": MONITOR_NAME, "key": public_key(MONITOR_LABEL)},
        AUTHORITY_LABEL,
    )
    for c in fleet.companies:
        add(
            "operator",
            {
                "operator_id": c.operator_id,
                "name": c.name,
                "key": public_key(operator_label(c.operator_id)),
                "credit_code": c.credit_code,
            },
            AUTHORITY_LABEL,
        )
    for t in fleet.taxis:
        body = {"plate": t.plate, "operator_id": t.operator_id, "vin": t.vin}
        add("vehicle", body, operator_label(t.operator_id))
    for t in fleet.taxis:
        add(
            "taximeter",
            {
                "meter_serial": t.meter_serial,
                "plate": t.plate,
                "operator_id": t.operator_id,
                "model": t.model,
                "maker": t.maker,
                "k_constant": t.k_constant,
                "terminal_id": t.terminal_id,
                "key": public_key(t.terminal_label),
                "installed_ms": t.installed_ms,
            },
            operator_label(t.operator_id),
        )
    history = sorted((v["at_ms"], k, v) for k, t in enumerate(fleet.taxis) for v in t.verifications)
    out.extend(
        ("taxi_verification", dict(v), inspector_label(v["inspector_id"])) for _, _, v in history
    )
    return out


REGISTRY_TYPES = frozenset(
    {"authority", "inspector", "monitor", "operator", "vehicle", "taximeter"}
)
"""Registry records: the platform must have each before the records it vouches for."""


def day_traffic(fleet: TaxiFleet, day: int) -> list[Draft]:
    """Every taxi's trips (and seal events) of local day ``day`` (0-based), with the
    monitoring platform's GNSS distances, in the order they are sent (by time)."""
    timed: list[tuple[int, int, Draft]] = []
    for k, taxi in enumerate(fleet.taxis):
        for emit_ms, draft in _taxi_day(fleet, taxi, day):
            timed.append((emit_ms, k, draft))
    timed.sort(key=lambda x: (x[0], x[1]))
    return [draft for _, _, draft in timed]


def _taxi_day(fleet: TaxiFleet, taxi: Taxi, day: int) -> Iterator[tuple[int, Draft]]:
    r = random.Random(f"taxi-fleet/{fleet.seed}/trips/{taxi.plate}/{day}")
    midnight = fleet.start_ms + day * DAY_MS
    date = _day(midnight)
    t = midnight + int(r.uniform(5.0, 6.5) * 3_600_000)
    stop = midnight + 26 * 3_600_000
    n_trips = r.randint(*taxi.trips_per_day)
    if taxi.seal_at_ms is not None and midnight <= taxi.seal_at_ms < midnight + DAY_MS:
        body = {
            "terminal_id": taxi.terminal_id,
            "plate": taxi.plate,
            "meter_serial": taxi.meter_serial,
            "seq": day + 1,
            "event": r.choice(("tamper", "opened")),
            "at_ms": taxi.seal_at_ms,
        }
        yield taxi.seal_at_ms, ("taxi_seal", body, taxi.terminal_label)
    for k in range(n_trips):
        t += int(r.expovariate(1 / 900) * 1000) + 60_000  # cruising empty, mean 16 min
        if t >= stop:
            break
        airport = r.random() < 0.04
        if airport:
            true_m = r.uniform(22_000, 40_000)
            speed_kmh = r.uniform(45, 70)
        else:
            true_m = min(40_000.0, max(800.0, r.lognormvariate(math.log(4_500), 0.6)))
            speed_kmh = r.uniform(20, 35)
        moving_s = true_m / 1000 / speed_kmh * 3600
        wait_s = int(moving_s * r.uniform(0.03, 0.3))
        duration_ms = int((moving_s + wait_s) * 1000)
        hire, vacant = t, t + duration_ms
        drift = taxi.drift
        if taxi.seal_at_ms is not None and hire >= taxi.seal_at_ms:
            drift = taxi.seal_drift
        meter_m = round(true_m * (1 + drift))
        gnss = true_m * (1 + r.gauss(0, r.uniform(*GNSS_SIGMA))) + r.gauss(0, GNSS_END_M)
        u = r.random()
        if u < MULTIPATH_P:
            gnss *= 1 + r.uniform(0.02, 0.12)  # multipath jumps between tall buildings
        elif u < MULTIPATH_P + TUNNEL_P:
            gnss *= 1 - r.uniform(0.03, 0.15)  # a tunnel (西湖隧道, 紫之隧道) cut short
        start = (r.randint(CITY_BOX[0], CITY_BOX[1]), r.randint(CITY_BOX[2], CITY_BOX[3]))
        if airport:
            end = AIRPORT
        else:
            bearing = r.uniform(0, 2 * math.pi)
            straight = true_m / 1.3  # a route is ~1.3 × the straight line
            end = (
                start[0] + round(straight * math.sin(bearing) / 0.0963),  # m per 1e-6° lon
                start[1] + round(straight * math.cos(bearing) / 0.111),  # m per 1e-6° lat
            )
        trip_id = f"{taxi.terminal_id}-{date:%Y%m%d}-{k + 1:03d}"
        fare = fare_fen(meter_m, wait_s)
        trip = {
            "trip_id": trip_id,
            "terminal_id": taxi.terminal_id,
            "plate": taxi.plate,
            "meter_serial": taxi.meter_serial,
            "hire_ms": hire,
            "vacant_ms": vacant,
            "start_lon_e6": start[0],
            "start_lat_e6": start[1],
            "end_lon_e6": end[0],
            "end_lat_e6": end[1],
            "meter_m": meter_m,
            "wait_s": wait_s,
            "fare_fen": fare,
        }
        yield vacant, ("trip", trip, taxi.terminal_label)
        gnss_at = vacant + r.randint(20_000, 120_000)
        gnss_body = {
            "trip_id": trip_id,
            "terminal_id": taxi.terminal_id,
            "plate": taxi.plate,
            "monitor_id": MONITOR_ID,
            "gnss_m": max(0, round(gnss)),
            "points": duration_ms // 10_000 + 2,  # a fix every 10 s while hired
            "at_ms": gnss_at,
        }
        yield gnss_at, ("trip_gnss", gnss_body, MONITOR_LABEL)
        t = vacant
