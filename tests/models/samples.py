"""Signed sample records of every type (bodies as in tests/test_records.py) for store tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger import pii
from ledger.keys import SigningKey
from ledger.records import Record, sign_record

AUTH = SigningKey.from_seed("p256", b"authority")
OPER = SigningKey.from_seed("ed25519", b"operator")
METER = SigningKey.from_seed("p256", b"meter")
METER2 = SigningKey.from_seed("p256", b"meter, replaced")
INSP = SigningKey.from_seed("p256", b"inspector")
ENC = X25519PrivateKey.from_private_bytes(bytes(range(32)))

POWER = [40_000] * 30 + [38_500, -1, 0, 2**31 - 1] + [12_345] * 26

BODIES: dict[str, dict[str, Any]] = {
    "authority": {"authority_id": "HZ-AMR", "name": "杭州市市场监督管理局",
                  "key": AUTH.public_key.text, "enc_key": pii.enc_key_text(ENC.public_key()),
                  "at_ms": 1_700_000_000_000},
    "operator": {"operator_id": "OP001", "name": "星星充电", "key": OPER.public_key.text,
                 "at_ms": 1_700_000_000_001},
    "inspector": {"inspector_id": "INS01", "name": "王检定", "org": "杭州市质量技术监督检测院",
                  "key": INSP.public_key.text, "at_ms": 1_700_000_000_002},
    "station": {"station_id": "ST0001", "operator_id": "OP001", "name": "杭州大厦501广场G层",
                "district": "拱墅区", "lon_e6": 120_163_000, "lat_e6": 30_279_000,
                "at_ms": 1_700_000_000_003},
    "pile": {"pile_id": "P000001", "station_id": "ST0001", "operator_id": "OP001",
             "kind": "DC", "rated_power_w": 120_000, "rated_voltage_v": 750, "connectors": 2,
             "commissioned_ms": 1_600_000_000_000, "at_ms": 1_700_000_000_004},
    "meter": {"meter_id": "M000001", "pile_id": "P000001", "operator_id": "OP001",
              "connector": 1, "accuracy_class": "1", "key": METER.public_key.text,
              "heartbeat_s": 900, "installed_ms": 1_600_000_000_000,
              "at_ms": 1_700_000_000_005},
    "tariff": {"tariff_id": "T1", "operator_id": "OP001", "station_id": "ST0001",
               "valid_from_ms": 1_700_000_000_000,
               "periods": [{"start_min": 0, "end_min": 480, "energy_e4": 3500, "service_e4": 4000},
                           {"start_min": 480, "end_min": 1440, "energy_e4": 9500,
                            "service_e4": 6000}],
               "at_ms": 1_700_000_000_006},
    "session": {"session_id": "S1", "meter_id": "M000001", "pile_id": "P000001",
                "connector": 1, "start_ms": 1_700_000_100_000, "stop_ms": 1_700_003_700_000,
                "start_wh": 1_000_000, "stop_wh": 1_040_000, "energy_wh": 40_000,
                "interval_s": 60, "power_w": POWER,
                "pii": pii.seal({"vin": "LSVAU2180N2183294"}, ENC.public_key(), "session S1")},
    "billing": {"session_id": "S1", "operator_id": "OP001", "pile_id": "P000001",
                "tariff_id": "T1", "billed_wh": 40_000, "energy_fen": 3800, "service_fen": 2400,
                "amount_fen": 6200, "start_ms": 1_700_000_100_000, "stop_ms": 1_700_003_700_000},
    "seal": {"meter_id": "M000001", "pile_id": "P000001", "seq": 1, "event": "opened",
             "at_ms": 1_700_000_200_000, "register_wh": 1_040_000},
    "heartbeat": {"meter_id": "M000001", "pile_id": "P000001", "seq": 7,
                  "ref_ms": 1_700_000_300_000, "meter_ms": 1_700_000_302_000,
                  "register_wh": 1_040_000, "temp_dc": 315},
    "verification": {"verification_id": "V1", "pile_id": "P000001", "meter_id": "M000001",
                     "inspector_id": "INS01", "at_ms": 1_700_000_400_000, "kind": "triggered",
                     "regulation": "JJG 1149-2022", "points": [{"label": "Imax",
                                                               "error_ppm": 3100}],
                     "clock_error_ms": 800, "insulation_kohm": 250_000, "result": "pass",
                     "certificate_no": "HZ2026-0001", "next_due": "2032-11-25",
                     "seal_closed": True, "accuracy_class": "1"},
}  # fmt: skip
SIGNER = {"authority": AUTH, "operator": AUTH, "inspector": AUTH, "station": OPER,
          "pile": OPER, "meter": OPER, "tariff": OPER, "billing": OPER, "session": METER,
          "seal": METER, "heartbeat": METER, "verification": INSP}  # fmt: skip
# Log order: the registry first, as the platform writes it.
ORDER = ("authority", "operator", "inspector", "station", "pile", "meter", "tariff",
         "session", "billing", "seal", "heartbeat", "verification")  # fmt: skip


def signed(rtype: str, **changes: Any) -> Record:
    """A record of ``rtype`` signed by its proper source, with ``changes`` to the body."""
    body: Mapping[str, Any] = {**BODIES[rtype], **changes}
    return sign_record(rtype, body, SIGNER[rtype])


def every_type(start: int = 0) -> list[tuple[int, Record]]:
    """One record of each type, as consecutive log entries from ``start``."""
    return [(start + i, signed(rtype)) for i, rtype in enumerate(ORDER)]
