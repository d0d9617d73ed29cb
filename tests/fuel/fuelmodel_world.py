"""A small signed fuel world for the projection and rule tests (helper "fuelmodel").

One authority, two operators, an inspector; operator OP1's station FS1 (district 西湖区)
with one 92# tank and two dispensers (FD1: nozzles 1 and 2, FD2: nozzle 1), operator
OP2's station FS2 with nothing on it. Record shapes are tests/test_records.py's BODIES.

``clean_day()`` is a consistent local day (UTC+8) of FS1: fuellings priced at the posted
price with totalizers that follow them, a POS sale per fuelling, totalizer and tax-box
readings at the day's start and end, tank levels that fall by exactly what was sold, and a
delivery. Every rule test mutates one record of it and expects its rule (and only it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger.keys import SigningKey
from ledger.records import Record, sign_record
from tests.world import World

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
DAY0 = 1_767_196_800_000
"""2026-01-01T00:00+08:00 (2025-12-31T16:00Z): the start of a local day."""
PRICE = 785  # fen/L: 7.85 yuan/L for 92#


def amount_of(volume_ml: int, price_fen_l: int) -> int:
    """volume × unit price, rounded half up to the fen (the dispenser's own rounding)."""
    return (volume_ml * price_fen_l + 500) // 1000


@dataclass
class FuelWorld:
    auth: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"f-auth"))
    op1: SigningKey = field(default_factory=lambda: SigningKey.from_seed("ed25519", b"f-op1"))
    op2: SigningKey = field(default_factory=lambda: SigningKey.from_seed("ed25519", b"f-op2"))
    insp: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"f-insp"))
    fd1: SigningKey = field(default_factory=lambda: SigningKey.from_seed("ed25519", b"f-fd1"))
    fd2: SigningKey = field(default_factory=lambda: SigningKey.from_seed("ed25519", b"f-fd2"))
    enc: X25519PrivateKey = field(
        default_factory=lambda: X25519PrivateKey.from_private_bytes(b"\x09" * 32)
    )
    seq: dict[str, int] = field(default_factory=lambda: {"FD1": 0, "FD2": 0, "T1": 0})

    def module(self, dispenser_id: str) -> SigningKey:
        return {"FD1": self.fd1, "FD2": self.fd2}[dispenser_id]

    def next_seq(self, source: str) -> int:
        self.seq[source] += 1
        return self.seq[source]

    # ---- registry ---------------------------------------------------------------------

    def registry(self) -> list[Record]:
        t = DAY0 - DAY_MS
        return [
            World(auth=self.auth, enc=self.enc).registry()[0],  # the authority
            *(
                sign_record(
                    "operator",
                    {"operator_id": op, "name": name, "key": key.public_key.text, "at_ms": t},
                    self.auth,
                )
                for op, name, key in (
                    ("OP1", "中石化杭州分公司", self.op1),
                    ("OP2", "民营加油站", self.op2),
                )
            ),
            sign_record(
                "inspector",
                {
                    "inspector_id": "INS1",
                    "name": "王检定",
                    "org": "杭州市质量技术监督检测院",
                    "key": self.insp.public_key.text,
                    "at_ms": t,
                },
                self.auth,
            ),
            self.station("FS1", "OP1", "西湖区", self.op1),
            self.station("FS2", "OP2", "滨江区", self.op2),
            sign_record(
                "tank",
                {
                    "tank_id": "T1",
                    "station_id": "FS1",
                    "operator_id": "OP1",
                    "product": "92",
                    "capacity_ml": 30_000_000,
                    "at_ms": t,
                },
                self.op1,
            ),
            self.dispenser("FD1", (1, 2)),
            self.dispenser("FD2", (1,)),
            self.price(PRICE, DAY0 - DAY_MS),
        ]

    def station(self, sid: str, op: str, district: str, key: SigningKey) -> Record:
        return sign_record(
            "fuel_station",
            {
                "station_id": sid,
                "operator_id": op,
                "name": f"测试加油站{sid}",
                "district": district,
                "lon_e6": 120_120_000,
                "lat_e6": 30_260_000,
                "at_ms": DAY0 - DAY_MS,
            },
            key,
        )

    def dispenser(
        self,
        did: str,
        nozzles: Iterable[int],
        *,
        station: str = "FS1",
        operator: str = "OP1",
        signer: SigningKey | None = None,
        key: SigningKey | None = None,
    ) -> Record:
        return sign_record(
            "dispenser",
            {
                "dispenser_id": did,
                "station_id": station,
                "operator_id": operator,
                "key": (key or self.module(did)).public_key.text,
                "serial": f"SN-{did}",
                "board_id": f"CB-{did}",
                "nozzles": [
                    {"nozzle": n, "product": "92", "tank_id": "T1", "encoder_id": f"EN-{did}-{n}"}
                    for n in nozzles
                ],
                "seals": ["transducer_adjust", "encoder_transducer", "board_housing"],
                "commissioned_ms": DAY0 - 400 * DAY_MS,
                "at_ms": DAY0 - DAY_MS,
            },
            signer or self.op1,
        )

    def price(self, price: int, valid_from: int) -> Record:
        body = {
            "station_id": "FS1",
            "operator_id": "OP1",
            "product": "92",
            "price_fen_l": price,
            "valid_from_ms": valid_from,
            "at_ms": valid_from - HOUR_MS,
        }
        return sign_record("fuel_price", body, self.op1)

    # ---- events -----------------------------------------------------------------------

    def seal(self, did: str, at: int, event: str = "opened") -> Record:
        body = {
            "dispenser_id": did,
            "station_id": "FS1",
            "seq": self.next_seq(did),
            "position": "encoder_transducer",
            "event": event,
            "at_ms": at,
            "volume_total_ml": 0,
        }
        return sign_record("fuel_seal", body, self.module(did))

    def component(self, did: str, at: int, new_id: str = "EN-NEW") -> Record:
        body = {
            "dispenser_id": did,
            "station_id": "FS1",
            "seq": self.next_seq(did),
            "component": "encoder",
            "old_id": f"EN-{did}-1",
            "new_id": new_id,
            "at_ms": at,
        }
        return sign_record("component", body, self.module(did))

    def component_init(self, did: str, at: int, new_id: str = "EN-NEW") -> Record:
        body = {
            "dispenser_id": did,
            "inspector_id": "INS1",
            "component": "encoder",
            "new_id": new_id,
            "at_ms": at,
        }
        return sign_record("component_init", body, self.insp)

    # ---- a clean day ------------------------------------------------------------------

    def clean_day(
        self,
        day: int = 0,
        per_nozzle: int = 6,
        start_totals: int = 100_000_000,
        volumes: dict[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """A consistent local day of FS1 as (type, body, signer) specs, in time order.

        Returned as mutable specs so a test changes one field before signing
        (:func:`sign_all`); volumes avoid round amounts (F10) and stay in one tank.
        ``volumes`` sets some fuellings' volumes by fuelling ID (totals follow)."""
        volumes = volumes or {}
        s = DAY0 + day * DAY_MS
        specs: list[dict[str, Any]] = []
        tank = 20_000_000
        specs.append(self._spec("tank_level", self.op1, self._level_body(s, tank)))
        sold = 0
        for did, nozzles in (("FD1", (1, 2)), ("FD2", (1,))):
            for nozzle in nozzles:
                total, money = start_totals + nozzle * 1_000_000, 50_000_000
                key = self.module(did)
                specs.append(
                    self._spec(
                        "totalizer", key, self._tot_body(did, nozzle, s + 60_000, total, money)
                    )
                )
                for k in range(per_nozzle):
                    step = 20 * HOUR_MS // per_nozzle
                    start = s + 2 * HOUR_MS + k * step + nozzle * 600_000 + (did == "FD2") * 900_000
                    fid = f"{did}-{nozzle}-{day}-{k}"
                    volume = 20_000 + 3_170 * k + 1_230 * nozzle + (did == "FD2") * 777
                    volume = volumes.get(fid, volume)
                    amount = amount_of(volume, PRICE)
                    body = {
                        "fuelling_id": fid,
                        "dispenser_id": did,
                        "station_id": "FS1",
                        "nozzle": nozzle,
                        "product": "92",
                        "seq": 0,
                        "start_ms": start,
                        "stop_ms": start + 120_000,
                        "volume_ml": volume,
                        "amount_fen": amount,
                        "price_fen_l": PRICE,
                        "total_before_ml": total,
                        "total_after_ml": total + volume,
                    }
                    total += volume
                    money += amount
                    sold += volume
                    specs.append(self._spec("fuelling", key, body))
                    specs.append(self._spec("fuel_sale", self.op1, self._sale_body(body)))
                specs.append(
                    self._spec(
                        "totalizer",
                        key,
                        self._tot_body(did, nozzle, s + DAY_MS - 60_000, total, money),
                    )
                )
        delivery = 5_000_000
        specs.append(
            self._spec(
                "tank_delivery",
                self.op1,
                {
                    "delivery_id": f"DLV-{day}",
                    "tank_id": "T1",
                    "station_id": "FS1",
                    "operator_id": "OP1",
                    "product": "92",
                    "volume_ml": delivery,
                    "at_ms": s + 12 * HOUR_MS,
                },
            )
        )
        specs.append(
            self._spec("tank_level", self.op1, self._level_body(s + DAY_MS, tank + delivery - sold))
        )
        specs.sort(key=_spec_time)
        return specs

    @staticmethod
    def _spec(rtype: str, key: SigningKey, body: dict[str, Any]) -> dict[str, Any]:
        return {"type": rtype, "key": key, "body": body}

    def _level_body(self, at: int, volume: int) -> dict[str, Any]:
        return {
            "tank_id": "T1",
            "station_id": "FS1",
            "operator_id": "OP1",
            "seq": 0,
            "at_ms": at,
            "volume_ml": volume,
            "temp_dc": 180,
        }

    @staticmethod
    def _tot_body(did: str, nozzle: int, at: int, volume: int, amount: int) -> dict[str, Any]:
        return {
            "dispenser_id": did,
            "station_id": "FS1",
            "nozzle": nozzle,
            "seq": 0,
            "at_ms": at,
            "volume_total_ml": volume,
            "amount_total_fen": amount,
            "tax_volume_total_ml": volume,
            "tax_amount_total_fen": amount,
        }

    @staticmethod
    def _sale_body(f: dict[str, Any]) -> dict[str, Any]:
        return {
            "sale_id": "POS-" + f["fuelling_id"],
            "fuelling_id": f["fuelling_id"],
            "station_id": "FS1",
            "operator_id": "OP1",
            "dispenser_id": f["dispenser_id"],
            "nozzle": f["nozzle"],
            "product": "92",
            "volume_ml": f["volume_ml"],
            "amount_fen": f["amount_fen"],
            "price_fen_l": f["price_fen_l"],
            "at_ms": f["stop_ms"] + 30_000,
        }

    def sign_all(self, specs: Iterable[dict[str, Any] | Record]) -> list[Record]:
        """Signs specs in order, numbering each source's ``seq`` as its module would
        (records already signed pass through)."""
        out = []
        for spec in specs:
            if isinstance(spec, Record):
                out.append(spec)
                continue
            body = dict(spec["body"])
            if "seq" in body:
                source = body.get("dispenser_id") if spec["type"] != "tank_level" else "T1"
                body["seq"] = self.next_seq(source)
            out.append(sign_record(spec["type"], body, spec["key"]))
        return out


def _spec_time(spec: dict[str, Any]) -> int:
    body = spec["body"]
    return body.get("stop_ms", body.get("at_ms", 0))


def find(specs: list[dict[str, Any]], rtype: str, **match: Any) -> dict[str, Any]:
    """The body of the first spec of ``rtype`` whose fields equal ``match``."""
    for spec in specs:
        if spec["type"] == rtype and all(spec["body"].get(k) == v for k, v in match.items()):
            return spec["body"]
    raise LookupError(f"no {rtype} with {match}")
