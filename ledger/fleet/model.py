"""The simulated fleet: operators, stations, piles, meters and tariffs, and their registry.

Sizes are Hangzhou's May 2022 figures from the 安心充电 launch report (91
operators, 1,016 stations, 12,258 piles); everything finer-grained is an
assumption, listed in docs/fleet-simulator.md, chosen to look like a Chinese
city's public charging network:

* operator sizes are long-tailed (Zipf, s = 1.2): a handful of national
  networks own most stations, dozens of local firms own one to three;
* stations hold 1–60 piles (log-normal, median 8, scaled to the exact total);
* 45 % of piles are DC by count (60/120/160/240 kW, 750 V or 1000 V), the rest
  7 kW AC at 220 V; a station leans DC (a fast-charging hub) or AC (a
  residential or office car park), so kinds cluster as they do in reality;
* one meter per connector; DC meters mostly class 1, AC meters class 2 or 1;
* stations lie inside real district boundaries (``ledger.geo``), weighted by
  the assumed pile share per district.

Everything is drawn from ``random.Random``/numpy generators seeded from the
simulation seed, so one seed is one fleet.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ledger import geo
from ledger.fleet.tariff import make_periods

HANGZHOU_OPERATORS = 91
HANGZHOU_STATIONS = 1016
HANGZHOU_PILES = 12258
MAX_PILES_PER_STATION = 60
DC_SHARE = 0.45

AUTHORITY_ID = "HZ-AMR"
AUTHORITY_NAME = "杭州市市场监督管理局"
VERIFIER_ORGS = ("杭州市质量技术监督检测院", "浙江省计量科学研究院")

# The networks that dominate Chinese public charging, then regional firms. Real
# brand names (short form) because a demo map should look familiar; sizes are
# simulated, not these companies' real figures.
BIG_OPERATORS: tuple[tuple[str, str], ...] = (
    ("国网浙江电动汽车服务有限公司", "国网"),
    ("万帮数字能源股份有限公司", "星星充电"),
    ("特来电新能源股份有限公司", "特来电"),
    ("小桔充电（滴滴）", "小桔充电"),
    ("蔚来能源科技有限公司", "蔚来"),
    ("浙江万马新能源有限公司", "万马爱充"),
    ("浙江安吉智电控股有限公司", "安吉智电"),
    ("上海挚达科技（云快充）", "云快充"),
    ("特斯拉汽车（北京）有限公司", "特斯拉"),
    ("中国石化销售浙江杭州石油分公司", "中石化"),
    ("杭州市交通投资集团有限公司", "杭州交投"),
    ("开迈斯新能源科技有限公司", "开迈斯"),
    ("小鹏汽车科技有限公司", "小鹏"),
    ("国家电投杭州综合智慧能源有限公司", "国家电投"),
    ("依威能源科技有限公司", "依威能源"),
)
_LOCAL_PREFIX = (
    "西溪",
    "钱塘",
    "之江",
    "运河",
    "湖滨",
    "良渚",
    "萧然",
    "富春",
    "天目",
    "云栖",
    "湘湖",
    "拱宸",
    "九堡",
    "闻堰",
    "瓶窑",
    "塘栖",
    "千岛湖",
    "滨盛",
    "新安江",
    "桐君",
)
_LOCAL_SUFFIX = ("充电", "新能源", "绿能", "智充", "易充", "快充", "电桩", "能源")
_ROADS = (
    "文三路",
    "莫干山路",
    "庆春路",
    "解放路",
    "延安路",
    "江南大道",
    "钱江路",
    "西溪路",
    "天目山路",
    "滨盛路",
    "金城路",
    "市心路",
    "文一西路",
    "古墩路",
    "秋涛路",
    "环城北路",
    "之江路",
    "东新路",
    "石祥路",
    "德胜路",
    "留和路",
    "五常大道",
    "江晖路",
    "建设三路",
    "迎宾路",
    "桐庐大道",
    "新安路",
    "城东路",
    "临平大道",
    "下沙路",
)
_PLACES = ("", "商业中心", "公交场站", "停车场", "地下车库", "P+R停车场", "服务区", "产业园")
_METERS_DC = (
    ("安科瑞", "DJSF1352-RN"),
    ("炬华科技", "DDS1352-DC"),
    ("正泰", "DJSU1352"),
    ("威胜", "DSZ331-DC"),
    ("林洋", "DJS71-DC"),
)
_METERS_AC = (
    ("正泰", "DDSU666"),
    ("炬华科技", "DDSU1980"),
    ("安科瑞", "ADL200"),
    ("威胜", "DDZY102"),
)
_INSPECTORS = (("INS01", "陈立"), ("INS02", "王海峰"), ("INS03", "李明"), ("INS04", "赵静"))
# (rated kW, share of DC piles, rated voltage V and its probability, max current A)
_DC_TYPES = (
    (60, 0.25, 750, 1.0, 125),
    (120, 0.45, 750, 0.7, 200),
    (160, 0.20, 1000, 0.5, 250),
    (240, 0.10, 1000, 1.0, 250),
)


@dataclass(slots=True)
class Operator:
    operator_id: str
    name: str
    short: str
    credit_code: str
    periods: list[dict[str, Any]]
    """This operator's ToU tariff, posted at each of its stations."""


@dataclass(slots=True)
class Station:
    station_id: str
    operator_id: str
    name: str
    district: str
    lon_e6: int
    lat_e6: int
    address: str
    tariff_id: str
    periods: list[dict[str, Any]]


@dataclass(slots=True)
class Pile:
    pile_id: str
    station_id: str
    operator_id: str
    kind: str
    rated_power_w: int
    rated_voltage_v: int
    max_current_a: int | None
    connectors: int
    model: str
    commissioned_ms: int
    popularity: float = 1.0
    """Relative attractiveness (location, price): spreads sessions unevenly like real use."""


@dataclass(slots=True)
class Meter:
    index: int
    meter_id: str
    pile: Pile
    station: Station
    connector: int
    accuracy_class: str
    maker: str
    model: str
    cert_no: str | None
    cert_date: str | None
    cert_verifier: str | None
    installed_ms: int


@dataclass
class Fleet:
    """One simulated city network; registry order is the order of these lists."""

    seed: int
    operators: list[Operator]
    stations: list[Station]
    piles: list[Pile]
    meters: list[Meter]
    inspectors: list[tuple[str, str]] = field(default_factory=lambda: list(_INSPECTORS))

    @property
    def dc_share(self) -> float:
        return sum(p.kind == "DC" for p in self.piles) / len(self.piles)


def fleet_sizes(piles: int | None) -> tuple[int, int, int]:
    """(operators, stations, piles): Hangzhou 2022 for None, else proportional to it.

    A small fleet keeps at least two operators (so operator-level rules have
    something to compare) and enough stations for ≤ 60 piles each.
    """
    if piles is None:
        return HANGZHOU_OPERATORS, HANGZHOU_STATIONS, HANGZHOU_PILES
    if piles < 2:
        raise ValueError("a fleet needs at least 2 piles")
    ratio = piles / HANGZHOU_PILES
    operators = min(piles, max(2, round(HANGZHOU_OPERATORS * ratio)))
    stations = max(operators, math.ceil(piles / MAX_PILES_PER_STATION))
    stations = min(piles, max(stations, round(HANGZHOU_STATIONS * ratio)))
    return operators, stations, piles


def _largest_remainder(total: int, weights: list[float], minimum: int) -> list[int]:
    base = [minimum] * len(weights)
    rest = total - minimum * len(weights)
    norm = sum(weights)
    exact = [rest * w / norm for w in weights]
    counts = [b + math.floor(e) for b, e in zip(base, exact)]
    leftover = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (math.floor(exact[i]) - exact[i], i))
    for i in order[:leftover]:
        counts[i] += 1
    return counts


def _station_sizes(n_stations: int, n_piles: int, rng: np.random.Generator) -> list[int]:
    """Piles per station, 1–60, log-normal around 8, summing exactly to ``n_piles``."""
    raw = rng.lognormal(math.log(8.0), 0.8, n_stations)
    lo, hi = 0.0, 100.0
    for _ in range(60):  # bisection on the scale factor
        mid = (lo + hi) / 2
        total = int(np.clip(np.rint(raw * mid), 1, MAX_PILES_PER_STATION).sum())
        if total < n_piles:
            lo = mid
        else:
            hi = mid
    sizes = [int(x) for x in np.clip(np.rint(raw * hi), 1, MAX_PILES_PER_STATION)]
    diff = n_piles - sum(sizes)
    i = 0
    while diff:
        j = int(rng.integers(n_stations)) if i > 3 * n_stations else i % n_stations
        step = 1 if diff > 0 else -1
        if 1 <= sizes[j] + step <= MAX_PILES_PER_STATION:
            sizes[j] += step
            diff -= step
        i += 1
    return sizes


def _operator_names(n: int, rnd: random.Random) -> list[tuple[str, str]]:
    names = list(BIG_OPERATORS[:n])
    seen = {short for _, short in names}
    while len(names) < n:
        short = rnd.choice(_LOCAL_PREFIX) + rnd.choice(_LOCAL_SUFFIX)
        if short in seen:
            continue
        seen.add(short)
        names.append((f"杭州{short}科技有限公司", short))
    return names


def _credit_code(rnd: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91330100" + "".join(rnd.choice(alphabet) for _ in range(10))


def _operator_periods(rank: int, rnd: random.Random) -> list[dict[str, Any]]:
    """A plausible ToU price list: energy 0.35–1.2 yuan/kWh, service 0.4–0.8 yuan/kWh.

    Big networks sit mid-range; small firms spread wider. Prices are whole
    0.0001-yuan units rounded to 0.001 yuan, as posted on real price boards.
    """
    valley = round(rnd.uniform(0.35, 0.45), 3)
    peak = round(rnd.uniform(0.75, 0.95), 3)
    sharp = round(min(1.2, peak + rnd.uniform(0.15, 0.25)), 3)
    service = round(rnd.uniform(0.5, 0.7) if rank < 5 else rnd.uniform(0.4, 0.8), 2)
    service_valley = round(max(0.4, service - rnd.choice((0.0, 0.1, 0.2))), 2)
    return make_periods(
        *(round(x * 10_000) for x in (valley, peak, sharp, service, service_valley))
    )


def _date_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def build_fleet(seed: int, piles: int | None = None, start_ms: int | None = None) -> Fleet:
    """The fleet for ``seed``: Hangzhou 2022 if ``piles`` is None, else a proportional one.

    ``start_ms`` (simulation start) bounds commissioning and certificate dates:
    nothing is installed in the future.
    """
    n_ops, n_st, n_piles = fleet_sizes(piles)
    rnd = random.Random(f"fleet/{seed}")
    rng = np.random.default_rng([seed, 0xF1EE7])
    horizon = dt.date(2025, 12, 31)
    if start_ms is not None:
        start_day = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
        horizon = min(horizon, start_day - dt.timedelta(days=30))
    first_day = dt.date(2019, 6, 1)
    span_days = max(1, (horizon - first_day).days)

    operators = [
        Operator(f"OP{i + 1:03d}", name, short, _credit_code(rnd), _operator_periods(i, rnd))
        for i, (name, short) in enumerate(_operator_names(n_ops, rnd))
    ]
    per_operator = _largest_remainder(n_st, [1 / (k + 1) ** 1.2 for k in range(n_ops)], 1)
    owners = [op for op, count in zip(operators, per_operator) for _ in range(count)]

    districts = {d.name_zh: d for d in geo.load_districts()}
    placed = [name for name, count in geo.allocate(n_st).items() for _ in range(count)]
    rnd.shuffle(placed)
    stations: list[Station] = []
    for i, (op, district_name) in enumerate(zip(owners, placed)):
        lon, lat = geo.random_point_in(districts[district_name], rnd)
        road = rnd.choice(_ROADS)
        sid = f"ST{i + 1:04d}"
        stations.append(
            Station(
                station_id=sid,
                operator_id=op.operator_id,
                name=f"{op.short}{road}{rnd.choice(_PLACES)}充电站",
                district=district_name,
                lon_e6=round(lon * 1e6),
                lat_e6=round(lat * 1e6),
                address=f"浙江省杭州市{district_name}{road}{rnd.randint(1, 999)}号",
                tariff_id=f"{sid}-T1",
                periods=op.periods,
            )
        )

    sizes = _station_sizes(n_st, n_piles, rng)
    # Each station leans DC (hub), AC (car park) or mixed; exactly DC_SHARE of all
    # piles are DC, drawn by weighted sampling without replacement (Efraimidis–Spirakis).
    lean = [rnd.choices((0.85, 0.12, 0.5), weights=(0.35, 0.40, 0.25))[0] for _ in stations]
    owner_station = [s for s, size in zip(stations, sizes) for _ in range(size)]
    pile_lean = [lean[i] for i, size in enumerate(sizes) for _ in range(size)]
    keys = [rnd.random() ** ((1 - w) / w) for w in pile_lean]
    n_dc = round(DC_SHARE * n_piles)
    dc_set = set(sorted(range(n_piles), key=lambda i: -keys[i])[:n_dc])

    piles_out: list[Pile] = []
    meters: list[Meter] = []
    for i, station in enumerate(owner_station):
        commissioned = first_day + dt.timedelta(days=rnd.randrange(span_days))
        commissioned_ms = _date_ms(commissioned) + rnd.randrange(8, 18) * 3_600_000
        if i in dc_set:
            kw, _, volts, p_volts, amps = rnd.choices(_DC_TYPES, [t[1] for t in _DC_TYPES])[0]
            kind, power = "DC", kw * 1000
            voltage = volts if rnd.random() < p_volts else (1000 if volts == 750 else 750)
            connectors = 1 if kw == 60 else (2 if kw >= 160 or rnd.random() < 0.7 else 1)
            max_current: int | None = amps
            model = f"EVD{kw:03d}-{rnd.choice('ABC')}{rnd.randint(1, 9)}"
        else:
            kind, power, voltage, max_current = "AC", 7000, 220, 32
            connectors = 2 if rnd.random() < 0.08 else 1
            model = f"EVA007-{rnd.choice('ABC')}{rnd.randint(1, 9)}"
        if rnd.random() < 0.1:
            max_current = None  # unmarked: Imax = rated power / nominal voltage
        pile = Pile(
            pile_id=f"P{i + 1:06d}",
            station_id=station.station_id,
            operator_id=station.operator_id,
            kind=kind,
            rated_power_w=power,
            rated_voltage_v=voltage,
            max_current_a=max_current,
            connectors=connectors,
            model=model,
            commissioned_ms=commissioned_ms,
            popularity=float(rng.lognormal(0.0, 0.5)),
        )
        piles_out.append(pile)
        for c in range(1, connectors + 1):
            if kind == "DC":
                maker, meter_model = rnd.choice(_METERS_DC)
                accuracy = "1" if rnd.random() < 0.9 else "0.5"
            else:
                maker, meter_model = rnd.choice(_METERS_AC)
                accuracy = "2" if rnd.random() < 0.6 else "1"
            cert_no = cert_date = verifier = None
            if rnd.random() < 0.92:  # some meters were installed without a certificate
                cert_day = max(
                    dt.date(2020, 1, 1), commissioned + dt.timedelta(days=-rnd.randrange(1, 30))
                )
                cert_day = min(cert_day, horizon)
                cert_date = cert_day.isoformat()
                cert_no = f"HZJL{cert_day.year}-{kind}{rnd.randrange(10**6):06d}"
                verifier = rnd.choice(VERIFIER_ORGS)
            meters.append(
                Meter(
                    index=len(meters),
                    meter_id=f"M{i + 1:06d}-{c}",
                    pile=pile,
                    station=station,
                    connector=c,
                    accuracy_class=accuracy,
                    maker=maker,
                    model=meter_model,
                    cert_no=cert_no,
                    cert_date=cert_date,
                    cert_verifier=verifier,
                    installed_ms=commissioned_ms,
                )
            )
    return Fleet(seed, operators, stations, piles_out, meters)


# ---- registry records ------------------------------------------------------------------

AUTHORITY_LABEL = "authority"


def pile_body(pile: Pile, at_ms: int) -> dict[str, Any]:
    """A pile's registry record body (also re-sent by the ``rated_power_slip`` fault)."""
    body: dict[str, Any] = {
        "pile_id": pile.pile_id,
        "station_id": pile.station_id,
        "operator_id": pile.operator_id,
        "kind": pile.kind,
        "rated_power_w": pile.rated_power_w,
        "rated_voltage_v": pile.rated_voltage_v,
        "connectors": pile.connectors,
        "model": pile.model,
        "commissioned_ms": pile.commissioned_ms,
        "at_ms": at_ms,
    }
    if pile.max_current_a is not None:
        body["max_current_a"] = pile.max_current_a
    return body


def operator_label(operator_id: str) -> str:
    return f"operator/{operator_id}"


def inspector_label(inspector_id: str) -> str:
    return f"inspector/{inspector_id}"


def meter_label(meter_id: str, generation: int = 0) -> str:
    """Key label of a meter; ``generation`` counts key changes (fault ``key_changed``)."""
    return f"meter/{meter_id}/{generation}"


def meter_body(meter: Meter, key_text: str, heartbeat_s: int, at_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meter_id": meter.meter_id,
        "pile_id": meter.pile.pile_id,
        "operator_id": meter.pile.operator_id,
        "connector": meter.connector,
        "accuracy_class": meter.accuracy_class,
        "key": key_text,
        "maker": meter.maker,
        "model": meter.model,
        "heartbeat_s": heartbeat_s,
        "installed_ms": meter.installed_ms,
        "at_ms": at_ms,
    }
    if meter.cert_no:
        body.update(
            cert_no=meter.cert_no, cert_date=meter.cert_date, cert_verifier=meter.cert_verifier
        )
    return body


def registry_bodies(
    fleet: Fleet,
    public_key: Callable[[str], str],
    enc_key_text: str,
    at_ms: int,
    heartbeat_s: int,
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(type, body, signer label) for the whole registry, in an order the platform accepts.

    authority → inspectors → operators → stations → piles → meters → tariffs:
    every record's signer is registered by an earlier record. ``at_ms`` of the
    n-th record is ``at_ms + n`` so registry time stamps are distinct and ordered.
    """
    n = 0

    def t() -> int:
        nonlocal n
        n += 1
        return at_ms + n - 1

    auth = public_key(AUTHORITY_LABEL)
    yield (
        "authority",
        {
            "authority_id": AUTHORITY_ID,
            "name": AUTHORITY_NAME,
            "key": auth,
            "enc_key": enc_key_text,
            "at_ms": t(),
        },
        AUTHORITY_LABEL,
    )
    for inspector_id, name in fleet.inspectors:
        yield (
            "inspector",
            {
                "inspector_id": inspector_id,
                "name": name,
                "org": VERIFIER_ORGS[0],
                "key": public_key(inspector_label(inspector_id)),
                "at_ms": t(),
            },
            AUTHORITY_LABEL,
        )
    for op in fleet.operators:
        yield (
            "operator",
            {
                "operator_id": op.operator_id,
                "name": op.name,
                "key": public_key(operator_label(op.operator_id)),
                "credit_code": op.credit_code,
                "at_ms": t(),
            },
            AUTHORITY_LABEL,
        )
    for st in fleet.stations:
        yield (
            "station",
            {
                "station_id": st.station_id,
                "operator_id": st.operator_id,
                "name": st.name,
                "district": st.district,
                "lon_e6": st.lon_e6,
                "lat_e6": st.lat_e6,
                "address": st.address,
                "at_ms": t(),
            },
            operator_label(st.operator_id),
        )
    for pile in fleet.piles:
        yield "pile", pile_body(pile, t()), operator_label(pile.operator_id)
    for meter in fleet.meters:
        key = public_key(meter_label(meter.meter_id))
        yield (
            "meter",
            meter_body(meter, key, heartbeat_s, t()),
            operator_label(meter.pile.operator_id),
        )
    for st in fleet.stations:
        yield (
            "tariff",
            {
                "tariff_id": st.tariff_id,
                "operator_id": st.operator_id,
                "station_id": st.station_id,
                "valid_from_ms": at_ms,
                "periods": st.periods,
                "at_ms": t(),
            },
            operator_label(st.operator_id),
        )
