"""The fuel-dispenser kind's records (安心加油): docs/records.md, "Fuel dispensers".

Units: volume in mL (a dispenser displays 0.01 L), money in fen, unit prices in fen per
litre (price boards show 0.01 yuan/L), times in Unix ms (UTC), coordinates in
micro-degrees (GCJ-02), temperatures in 0.1 °C. Integers only, as every record.

Who signs what, and why it matters for fraud (a cheat board over-counts litres; back-office
software rewrites sales and cumulative totals to cut tax):

* the operator registers its fuel stations, tanks and dispensers — each dispenser with
  the public key of its **monitoring module** (the GB/T 9081-2023 国密 chip, SM2) and the
  identities of its encoders and control board — and signs its POS **sales**, posted
  **prices**, tank **deliveries** and tank-gauge **levels**;
* the monitoring module signs what the metrology sees: each **fuelling** (volume from the
  encoder, amount, unit price, nozzle totalizers before/after), periodic **totalizer**
  readings (the dispenser's volume/amount totals and the tax box's), **seal** events at
  the seal positions, and **component** replacements it detects;
* an inspector signs **component initialisation** (a replaced encoder or board paired by
  the regulator) and **verification** results to JJG 443-2023.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.kinds import Ownership, RecordKind, site_schema
from ledger.records import RecordError

_I, _S, _L, _D, _B = int, str, list, dict, bool

SEAL_POSITIONS = frozenset({"transducer_adjust", "encoder_transducer", "board_housing"})
"""Where a dispenser is sealed (物理+电子 double seals): the flow transducer's adjustment
device, the encoder↔transducer coupling, and the control board↔housing."""
COMPONENTS = frozenset({"encoder", "control_board", "monitoring_module", "tax_box"})
PRODUCTS = frozenset({"92", "95", "98", "0", "-10", "-20", "-35", "E92", "E95"})
"""Product codes as stations post them: 92#/95#/98# petrol, 0#/-10#/… diesel, E92/E95 ethanol."""

_SCHEMAS: dict[str, dict[str, tuple[type, bool]]] = {
    "fuel_station": site_schema(),
    "tank": {
        "tank_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "product": (_S, True),
        "capacity_ml": (_I, True),
        "at_ms": (_I, True),
    },
    # A dispenser and its monitoring module's key. ``nozzles``: one object per nozzle,
    # {"nozzle": n, "product": code, "tank_id": id, "encoder_id": id}.
    "dispenser": {
        "dispenser_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "key": (_S, True),
        "maker": (_S, False),
        "model": (_S, False),
        "serial": (_S, True),
        "board_id": (_S, True),
        "nozzles": (_L, True),
        "seals": (_L, True),
        "cert_no": (_S, False),
        "cert_date": (_S, False),
        "commissioned_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "fuel_price": {
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "product": (_S, True),
        "price_fen_l": (_I, True),
        "valid_from_ms": (_I, True),
        "at_ms": (_I, True),
    },
    "fuelling": {
        "fuelling_id": (_S, True),
        "dispenser_id": (_S, True),
        "station_id": (_S, True),
        "nozzle": (_I, True),
        "product": (_S, True),
        "seq": (_I, True),
        "start_ms": (_I, True),
        "stop_ms": (_I, True),
        "volume_ml": (_I, True),
        "amount_fen": (_I, True),
        "price_fen_l": (_I, True),
        "total_before_ml": (_I, True),
        "total_after_ml": (_I, True),
    },
    "fuel_sale": {
        "sale_id": (_S, True),
        "fuelling_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "dispenser_id": (_S, True),
        "nozzle": (_I, True),
        "product": (_S, True),
        "volume_ml": (_I, True),
        "amount_fen": (_I, True),
        "price_fen_l": (_I, True),
        "at_ms": (_I, True),
    },
    "totalizer": {
        "dispenser_id": (_S, True),
        "station_id": (_S, True),
        "nozzle": (_I, True),
        "seq": (_I, True),
        "at_ms": (_I, True),
        "volume_total_ml": (_I, True),
        "amount_total_fen": (_I, True),
        "tax_volume_total_ml": (_I, True),
        "tax_amount_total_fen": (_I, True),
    },
    "fuel_seal": {
        "dispenser_id": (_S, True),
        "station_id": (_S, True),
        "seq": (_I, True),
        "position": (_S, True),
        "event": (_S, True),
        "at_ms": (_I, True),
        "volume_total_ml": (_I, True),
    },
    "component": {
        "dispenser_id": (_S, True),
        "station_id": (_S, True),
        "seq": (_I, True),
        "component": (_S, True),
        "old_id": (_S, True),
        "new_id": (_S, True),
        "at_ms": (_I, True),
    },
    "component_init": {
        "dispenser_id": (_S, True),
        "inspector_id": (_S, True),
        "component": (_S, True),
        "new_id": (_S, True),
        "at_ms": (_I, True),
    },
    "tank_delivery": {
        "delivery_id": (_S, True),
        "tank_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "product": (_S, True),
        "volume_ml": (_I, True),
        "at_ms": (_I, True),
    },
    "tank_level": {
        "tank_id": (_S, True),
        "station_id": (_S, True),
        "operator_id": (_S, True),
        "seq": (_I, True),
        "at_ms": (_I, True),
        "volume_ml": (_I, True),
        "temp_dc": (_I, True),
    },
    # JJG 443-2023. ``points``: one object per flow point,
    # {"flow_ml_min": q, "runs": [{"standard_ml": v, "indicated_ml": v, "error_ppm": e}],
    #  "error_ppm": worst run, "repeat_ppm": repeatability}.
    "fuel_verification": {
        "verification_id": (_S, True),
        "dispenser_id": (_S, True),
        "nozzle": (_I, True),
        "inspector_id": (_S, True),
        "at_ms": (_I, True),
        "kind": (_S, True),
        "regulation": (_S, True),
        "points": (_L, True),
        "result": (_S, True),
        "certificate_no": (_S, True),
        "next_due": (_S, True),
        "seal_closed": (_B, True),
        "standard": (_D, False),
        "conditions": (_D, False),
    },
}

_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("fuel_seal", "position"): SEAL_POSITIONS,
    ("fuel_seal", "event"): frozenset({"opened", "closed", "tamper"}),
    ("component", "component"): COMPONENTS,
    ("component_init", "component"): COMPONENTS,
    ("fuel_verification", "kind"): frozenset({"first", "periodic", "triggered"}),
    ("fuel_verification", "result"): frozenset({"pass", "fail"}),
    ("tank", "product"): PRODUCTS,
    ("fuel_price", "product"): PRODUCTS,
    ("fuelling", "product"): PRODUCTS,
    ("fuel_sale", "product"): PRODUCTS,
    ("tank_delivery", "product"): PRODUCTS,
}

_NOZZLE_KEYS = {"nozzle", "product", "tank_id", "encoder_id"}


def _semantics(rtype: str, body: Mapping[str, Any]) -> None:
    if rtype == "dispenser":
        numbers = []
        for i, nozzle in enumerate(body["nozzles"]):
            if not isinstance(nozzle, dict) or set(nozzle) != _NOZZLE_KEYS:
                raise RecordError(
                    f"dispenser record: nozzles[{i}] needs exactly {sorted(_NOZZLE_KEYS)}"
                )
            if type(nozzle["nozzle"]) is not int or nozzle["nozzle"] <= 0:
                raise RecordError(
                    f"dispenser record: nozzles[{i}].nozzle must be a positive integer"
                )
            if nozzle["product"] not in PRODUCTS:
                raise RecordError(
                    f"dispenser record: nozzles[{i}].product {nozzle['product']!r} is unknown"
                )
            if not all(isinstance(nozzle[k], str) and nozzle[k] for k in ("tank_id", "encoder_id")):
                raise RecordError(f"dispenser record: nozzles[{i}] needs tank_id and encoder_id")
            numbers.append(nozzle["nozzle"])
        if not numbers or len(set(numbers)) != len(numbers):
            raise RecordError("dispenser record: nozzles must be non-empty with distinct numbers")
        if not set(body["seals"]) <= SEAL_POSITIONS or not all(
            isinstance(p, str) for p in body["seals"]
        ):
            raise RecordError(f"dispenser record: seals must be among {sorted(SEAL_POSITIONS)}")
    elif rtype == "fuel_verification":
        for i, point in enumerate(body["points"]):
            if not isinstance(point, dict) or not {"flow_ml_min", "runs", "error_ppm"} <= set(
                point
            ):
                raise RecordError(
                    f"fuel_verification record: points[{i}] needs flow_ml_min, runs, error_ppm"
                )


FUEL = RecordKind(
    name="fuel",
    schemas=_SCHEMAS,
    signed_by={
        "fuel_station": "operator",
        "tank": "operator",
        "dispenser": "operator",
        "fuel_price": "operator",
        "fuel_sale": "operator",
        "tank_delivery": "operator",
        "tank_level": "operator",
        "fuelling": "dispenser",
        "totalizer": "dispenser",
        "fuel_seal": "dispenser",
        "component": "dispenser",
        "component_init": "inspector",
        "fuel_verification": "inspector",
    },
    signers={"dispenser": "dispenser_id"},
    enums=_ENUMS,
    owned={
        "fuel_station": Ownership(own="station_id"),
        "tank": Ownership(own="tank_id", parent=("fuel_station", "station_id")),
        "dispenser": Ownership(own="dispenser_id", parent=("fuel_station", "station_id")),
        "fuel_price": Ownership(parent=("fuel_station", "station_id")),
        "fuel_sale": Ownership(parent=("dispenser", "dispenser_id")),
        "tank_delivery": Ownership(parent=("tank", "tank_id")),
        "tank_level": Ownership(parent=("tank", "tank_id")),
    },
    positive={"fuel_price": ("price_fen_l",), "tank": ("capacity_ml",)},
    semantics=_semantics,
    subject_fields=(
        "fuelling_id",
        "sale_id",
        "delivery_id",
        "dispenser_id",
        "tank_id",
    ),
)
