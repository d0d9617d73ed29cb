"""The simulated fuel stations of a city (安心加油): operators, stations, tanks, dispensers.

A deterministic stand-in for Hangzhou's ≈ 500 fuel stations, so the platform, the
workstation's sync and the fuel rules (F01–F10) can be exercised and scored without
real dispensers. Everything is drawn from ``random.Random`` generators seeded from the
simulation seed: one seed is one fleet. The assumptions (sizes, volumes, prices) are
listed in docs/fleet-simulator.md, "Fuel stations"; none is published data.

Modules: ``fleet`` (this: the fleet and its registry records), ``fleet_traffic``
(fuellings, sales, totalizers, tanks, prices, verifications and the injected faults),
``fleet_sign`` (deterministic keys and signatures, SM2 for the monitoring modules),
``fleet_cli`` (``python -m ledger fuel-fleet``), ``faults`` (fault classes and truth).

Reused from the charging simulator (generic parts, imported not copied): the city's
districts and the point sampler (``ledger.geo``), the key-label scheme and the
authority's keys (``ledger.fleet.signing``), ``Draft`` (``ledger.fleet.generate``) and
the HTTP poster (``ledger.fleet.send``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ledger import geo

HANGZHOU_STATIONS = 500
"""Order of magnitude of Hangzhou's fuel stations (issue 15); not an official count."""
CST_OFFSET_MS = 8 * 3_600_000
AUTHORITY_ID = "HZ-AMR"
AUTHORITY_NAME = "杭州市市场监督管理局"
AUTHORITY_LABEL = "authority"
"""The same label (and so, for the same seed and algorithm, the same key) as the charging
simulator's authority: both fleets can feed one platform (the demo)."""
VERIFIER_ORG = "杭州市质量技术监督检测院"
INSPECTORS = (("FI01", "周建国"), ("FI02", "孙晓燕"), ("FI03", "吴志强"))
SEALS = ["transducer_adjust", "encoder_transducer", "board_housing"]

# (operator name, brand, share of stations). The national networks' names for a familiar
# demo; their shares here are assumptions, not their real figures.
OPERATORS: tuple[tuple[str, str, float], ...] = (
    ("中国石化销售股份有限公司浙江杭州石油分公司", "中国石化", 0.42),
    ("中国石油天然气股份有限公司浙江杭州销售分公司", "中国石油", 0.24),
    ("中海油浙江销售有限公司", "中海油", 0.06),
    ("杭州壳牌石油有限公司", "壳牌", 0.08),
    ("浙江省交通投资集团实业发展有限公司", "浙江交投", 0.08),
    ("杭州民营加油站连锁有限公司", "民营", 0.12),
)
_ROADS = (
    "文一西路", "天目山路", "莫干山路", "秋石高架", "解放东路", "江南大道", "市心北路",
    "余杭塘路", "临平大道", "文海南路", "富春路", "钱江路", "石祥路", "留和路", "之江路",
    "东新路", "古墩路", "滨文路", "通惠路", "杭富沿江公路", "320国道", "104国道",
)  # fmt: skip
MAKERS = (
    ("正星科技", "ZX-2242"),
    ("托肯恒山", "TQ-2560"),
    ("稳牌", "WAYNE-HS"),
    ("吉尔巴克", "GB-EN"),
)
PRODUCT_MIX = {"92": 0.62, "95": 0.24, "98": 0.03, "0": 0.11}
"""Share of fuellings per product (petrol 92# dominates private cars; 0# diesel vans)."""


@dataclass
class Tank:
    tank_id: str
    product: str
    capacity_ml: int
    initial_ml: int
    temp_dc: int
    """mean fuel temperature underground, 0.1 °C"""


@dataclass
class Nozzle:
    nozzle: int
    product: str
    tank_id: str
    encoder_id: str
    error_ppm: int
    """the healthy encoder's systematic error (well inside JJG 443's ±0.30 %)"""
    total_ml: int
    amount_fen: int


@dataclass
class Dispenser:
    dispenser_id: str
    station_id: str
    operator_id: str
    maker: str
    model: str
    serial: str
    board_id: str
    nozzles: list[Nozzle]
    commissioned_ms: int
    cert_no: str
    cert_date: str
    seq0: int
    """the monitoring module's record counter before the run"""

    @property
    def label(self) -> str:
        return dispenser_label(self.dispenser_id)


@dataclass
class Station:
    station_id: str
    operator_id: str
    name: str
    district: str
    lon_e6: int
    lat_e6: int
    address: str
    litres_per_day: float
    tanks: list[Tank]
    dispensers: list[Dispenser] = field(default_factory=list)
    discount_fen: dict[str, int] = field(default_factory=dict)
    """station price = city price − discount, per product"""


@dataclass
class Operator:
    operator_id: str
    name: str
    credit_code: str


@dataclass
class FuelFleet:
    seed: int
    operators: list[Operator]
    stations: list[Station]
    inspectors: tuple[tuple[str, str], ...] = INSPECTORS

    @property
    def dispensers(self) -> Iterator[Dispenser]:
        for st in self.stations:
            yield from st.dispensers


def operator_label(operator_id: str) -> str:
    return f"operator/{operator_id}"


def inspector_label(inspector_id: str) -> str:
    return f"inspector/{inspector_id}"


def dispenser_label(dispenser_id: str) -> str:
    """The monitoring module's key label (the charging fleet's ``meter/<id>/<generation>``)."""
    return f"dispenser/{dispenser_id}/0"


def local_midnight(t_ms: int) -> int:
    """The local (UTC+8) midnight at or before ``t_ms``."""
    day = 86_400_000
    return (t_ms + CST_OFFSET_MS) // day * day - CST_OFFSET_MS


def _credit_code(rnd: random.Random) -> str:
    return "91330" + "".join(rnd.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(13))


def build_fleet(seed: int, stations: int, start_ms: int) -> FuelFleet:
    """``stations`` fuel stations spread over the city's districts like its population.

    Station volume is log-normal (median 11,000 L/day, the order of a busy urban
    station); dispensers 4–12 with the volume, 2–4 nozzles each; tanks 92#, 95#, 0#
    and a fourth (a second 92# or a 98#), 30 m³ or 50 m³.
    """
    if stations < 1:
        raise ValueError("a fuel fleet needs at least one station")
    rnd = random.Random(f"fuel-fleet/{seed}")
    operators = [
        Operator(f"FOP{k + 1:02d}", name, _credit_code(rnd))
        for k, (name, _brand, _share) in enumerate(OPERATORS)
    ]
    shares = [share for _n, _b, share in OPERATORS]
    by_name = {d.name_zh: d for d in geo.load_districts()}
    places: list[tuple[str, tuple[float, float]]] = []
    for name, count in geo.allocate(stations).items():
        district = by_name[name]
        places.extend((name, geo.random_point_in(district, rnd)) for _ in range(count))
    out: list[Station] = []
    serial = 0
    for k, (district, (lon, lat)) in enumerate(places):
        station_id = f"FS{k + 1:04d}"
        op = rnd.choices(range(len(operators)), weights=shares)[0]
        brand = OPERATORS[op][1]
        road = rnd.choice(_ROADS)
        litres = min(40_000.0, max(2_500.0, rnd.lognormvariate(math.log(11_000), 0.45)))
        big = litres > 12_000
        cap = 50_000_000 if big else 30_000_000
        fourth = rnd.choice(("92", "98"))
        tanks = []
        for t, product in enumerate(("92", "95", "0", fourth)[: 3 + (big or fourth == "98")]):
            tanks.append(
                Tank(
                    tank_id=f"{station_id}-T{t + 1}",
                    product=product,
                    capacity_ml=cap,
                    initial_ml=int(cap * rnd.uniform(0.28, 0.9)) // 1000 * 1000,
                    temp_dc=rnd.randint(160, 220),
                )
            )
        st = Station(
            station_id=station_id,
            operator_id=operators[op].operator_id,
            name=f"{brand}杭州{road}{'服务区' if 'G' in road or '国道' in road else ''}加油站",
            district=district,
            lon_e6=round(lon * 1e6),
            lat_e6=round(lat * 1e6),
            address=f"杭州市{district}{road}{rnd.randint(1, 999)}号",
            litres_per_day=litres,
            tanks=tanks,
            discount_fen={p: rnd.choice((0, 0, 5, 10, 15)) for p in PRODUCT_MIX},
        )
        n_disp = max(4, min(12, round(litres / 1_700) + rnd.randint(-1, 1)))
        products = [t.product for t in tanks]
        for d in range(n_disp):
            serial += 1
            dispenser_id = f"FD{serial:06d}"
            maker, model = rnd.choice(MAKERS)
            if d % 3 == 2:  # every third dispenser also serves diesel
                pattern = ["0", "92", "0", "95"]
            else:
                pattern = ["92", "95", "92", "98" if "98" in products else "95"]
            n_noz = rnd.randint(2, 4)
            nozzles = []
            age_days = rnd.uniform(200, 2_500)
            for n in range(n_noz):
                product = pattern[n]
                choices = [t for t in tanks if t.product == product]
                tank = choices[(d + n) % len(choices)]
                total_ml = int(age_days * litres / n_disp / n_noz * 1000 * rnd.uniform(0.5, 1.2))
                total_ml -= total_ml % 10
                nozzles.append(
                    Nozzle(
                        nozzle=n + 1,
                        product=product,
                        tank_id=tank.tank_id,
                        encoder_id=f"EN{serial:06d}{n + 1}",
                        error_ppm=rnd.randint(-500, 500),
                        total_ml=total_ml,
                        amount_fen=total_ml * rnd.randint(700, 780) // 1000,
                    )
                )
            commissioned = start_ms - int(age_days * 86_400_000)
            cert = dt.date.fromtimestamp(
                max(commissioned, start_ms - 170 * 86_400_000) / 1000
            ) + dt.timedelta(days=rnd.randint(0, 5))
            st.dispensers.append(
                Dispenser(
                    dispenser_id=dispenser_id,
                    station_id=station_id,
                    operator_id=st.operator_id,
                    maker=maker,
                    model=model,
                    serial=f"{model[:2]}{serial:07d}",
                    board_id=f"CB{serial:06d}",
                    nozzles=nozzles,
                    commissioned_ms=commissioned,
                    cert_no=f"HZJL-F{cert.year}-{serial:05d}",
                    cert_date=cert.isoformat(),
                    seq0=rnd.randint(1_000, 900_000),
                )
            )
        out.append(st)
    return FuelFleet(seed, operators, out)


# ---- registry records ------------------------------------------------------------------


def dispenser_body(d: Dispenser, key_text: str, at_ms: int) -> dict[str, Any]:
    return {
        "dispenser_id": d.dispenser_id,
        "station_id": d.station_id,
        "operator_id": d.operator_id,
        "key": key_text,
        "maker": d.maker,
        "model": d.model,
        "serial": d.serial,
        "board_id": d.board_id,
        "nozzles": [
            {
                "nozzle": n.nozzle,
                "product": n.product,
                "tank_id": n.tank_id,
                "encoder_id": n.encoder_id,
            }
            for n in d.nozzles
        ],
        "seals": list(SEALS),
        "cert_no": d.cert_no,
        "cert_date": d.cert_date,
        "commissioned_ms": d.commissioned_ms,
        "at_ms": at_ms,
    }


def registry_bodies(
    fleet: FuelFleet,
    public_key: Callable[[str], str],
    enc_key_text: str,
    at_ms: int,
    *,
    authority: bool = True,
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(type, body, signer label) of the registry, in an order the platform accepts.

    authority (unless ``authority`` is False: another fleet on the same platform
    registers it) → inspectors → operators → stations → tanks → dispensers. The n-th
    record is dated ``at_ms + n``.
    """
    n = 0

    def t() -> int:
        nonlocal n
        n += 1
        return at_ms + n - 1

    if authority:
        body = {
            "authority_id": AUTHORITY_ID,
            "name": AUTHORITY_NAME,
            "key": public_key(AUTHORITY_LABEL),
            "enc_key": enc_key_text,
            "at_ms": t(),
        }
        yield "authority", body, AUTHORITY_LABEL
    for inspector_id, name in fleet.inspectors:
        body = {
            "inspector_id": inspector_id,
            "name": name,
            "org": VERIFIER_ORG,
            "key": public_key(inspector_label(inspector_id)),
            "at_ms": t(),
        }
        yield "inspector", body, AUTHORITY_LABEL
    for op in fleet.operators:
        body = {
            "operator_id": op.operator_id,
            "name": op.name,
            "key": public_key(operator_label(op.operator_id)),
            "credit_code": op.credit_code,
            "at_ms": t(),
        }
        yield "operator", body, AUTHORITY_LABEL
    for st in fleet.stations:
        body = {
            "station_id": st.station_id,
            "operator_id": st.operator_id,
            "name": st.name,
            "district": st.district,
            "lon_e6": st.lon_e6,
            "lat_e6": st.lat_e6,
            "address": st.address,
            "at_ms": t(),
        }
        yield "fuel_station", body, operator_label(st.operator_id)
    for st in fleet.stations:
        for tank in st.tanks:
            body = {
                "tank_id": tank.tank_id,
                "station_id": st.station_id,
                "operator_id": st.operator_id,
                "product": tank.product,
                "capacity_ml": tank.capacity_ml,
                "at_ms": t(),
            }
            yield "tank", body, operator_label(st.operator_id)
    for d in fleet.dispensers:
        yield (
            "dispenser",
            dispenser_body(d, public_key(d.label), t()),
            operator_label(d.operator_id),
        )
