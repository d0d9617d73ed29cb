"""Records: canonical round trip, schema errors, signatures naming record and key."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger import pii
from ledger.keys import PublicKey, SigningKey
from ledger.records import SCHEMAS, Record, RecordError, SignatureError, sign_record
from ledger.registry import KeyRegistry, UnknownKeyError

AUTH = SigningKey.from_seed("p256", b"authority")
OPER = SigningKey.from_seed("ed25519", b"operator")
METER = SigningKey.from_seed("p256", b"meter")
INSP = SigningKey.from_seed("p256", b"inspector")
MODULE = SigningKey.from_seed("ed25519", b"dispenser monitoring module")
TERMINAL = SigningKey.from_seed("p256", b"taxi in-vehicle terminal")
MONITOR = SigningKey.from_seed("ed25519", b"transport bureau monitoring platform")
ENC = X25519PrivateKey.from_private_bytes(bytes(range(32)))

BODIES = {
    "authority": {
        "authority_id": "HZ-AMR",
        "name": "杭州市市场监督管理局",
        "key": AUTH.public_key.text,
        "enc_key": pii.enc_key_text(ENC.public_key()),
        "at_ms": 1_700_000_000_000,
    },
    "operator": {
        "operator_id": "OP001",
        "name": "星星充电",
        "key": OPER.public_key.text,
        "at_ms": 1_700_000_000_001,
    },
    "inspector": {
        "inspector_id": "INS01",
        "name": "王检定",
        "org": "杭州市质量技术监督检测院",
        "key": INSP.public_key.text,
        "at_ms": 1_700_000_000_002,
    },
    "station": {
        "station_id": "ST0001",
        "operator_id": "OP001",
        "name": "杭州大厦501广场G层",
        "district": "拱墅区",
        "lon_e6": 120_163_000,
        "lat_e6": 30_279_000,
        "at_ms": 1_700_000_000_003,
    },
    "pile": {
        "pile_id": "P000001",
        "station_id": "ST0001",
        "operator_id": "OP001",
        "kind": "DC",
        "rated_power_w": 120_000,
        "rated_voltage_v": 750,
        "connectors": 2,
        "commissioned_ms": 1_600_000_000_000,
        "at_ms": 1_700_000_000_004,
    },
    "meter": {
        "meter_id": "M000001",
        "pile_id": "P000001",
        "operator_id": "OP001",
        "connector": 1,
        "accuracy_class": "1",
        "key": METER.public_key.text,
        "heartbeat_s": 900,
        "installed_ms": 1_600_000_000_000,
        "at_ms": 1_700_000_000_005,
    },
    "tariff": {
        "tariff_id": "T1",
        "operator_id": "OP001",
        "station_id": "ST0001",
        "valid_from_ms": 1_700_000_000_000,
        "periods": [
            {"start_min": 0, "end_min": 480, "energy_e4": 3500, "service_e4": 4000},
            {"start_min": 480, "end_min": 1440, "energy_e4": 9500, "service_e4": 6000},
        ],
        "at_ms": 1_700_000_000_006,
    },
    "session": {
        "session_id": "S1",
        "meter_id": "M000001",
        "pile_id": "P000001",
        "connector": 1,
        "start_ms": 1_700_000_100_000,
        "stop_ms": 1_700_003_700_000,
        "start_wh": 1_000_000,
        "stop_wh": 1_040_000,
        "energy_wh": 40_000,
        "interval_s": 60,
        "power_w": [40_000] * 60,
    },
    "billing": {
        "session_id": "S1",
        "operator_id": "OP001",
        "pile_id": "P000001",
        "tariff_id": "T1",
        "billed_wh": 40_000,
        "energy_fen": 3800,
        "service_fen": 2400,
        "amount_fen": 6200,
        "start_ms": 1_700_000_100_000,
        "stop_ms": 1_700_003_700_000,
    },
    "seal": {
        "meter_id": "M000001",
        "pile_id": "P000001",
        "seq": 1,
        "event": "opened",
        "at_ms": 1_700_000_200_000,
        "register_wh": 1_040_000,
    },
    "heartbeat": {
        "meter_id": "M000001",
        "pile_id": "P000001",
        "seq": 7,
        "ref_ms": 1_700_000_300_000,
        "meter_ms": 1_700_000_302_000,
        "register_wh": 1_040_000,
        "temp_dc": 315,
    },
    "verification": {
        "verification_id": "V1",
        "pile_id": "P000001",
        "meter_id": "M000001",
        "inspector_id": "INS01",
        "at_ms": 1_700_000_400_000,
        "kind": "triggered",
        "regulation": "JJG 1149-2022",
        "points": [{"label": "Imax", "error_ppm": 3100}],
        "clock_error_ms": 800,
        "insulation_kohm": 250_000,
        "result": "pass",
        "certificate_no": "HZ2026-0001",
        "next_due": "2032-11-25",
        "seal_closed": True,
        "accuracy_class": "1",
    },
    # The fuel kind (安心加油): a station, a tank, a two-nozzle dispenser, ...
    "fuel_station": {
        "station_id": "FS0001",
        "operator_id": "OP001",
        "name": "中石化西湖加油站",
        "district": "西湖区",
        "lon_e6": 120_120_000,
        "lat_e6": 30_260_000,
        "at_ms": 1_700_000_000_007,
    },
    "tank": {
        "tank_id": "FS0001-T1",
        "station_id": "FS0001",
        "operator_id": "OP001",
        "product": "92",
        "capacity_ml": 30_000_000,
        "at_ms": 1_700_000_000_008,
    },
    "dispenser": {
        "dispenser_id": "FD000001",
        "station_id": "FS0001",
        "operator_id": "OP001",
        "key": MODULE.public_key.text,
        "serial": "TQ2025-0001",
        "board_id": "CB-7781",
        "nozzles": [
            {"nozzle": 1, "product": "92", "tank_id": "FS0001-T1", "encoder_id": "EN-1"},
            {"nozzle": 2, "product": "92", "tank_id": "FS0001-T1", "encoder_id": "EN-2"},
        ],
        "seals": ["transducer_adjust", "encoder_transducer", "board_housing"],
        "commissioned_ms": 1_600_000_000_000,
        "at_ms": 1_700_000_000_009,
    },
    "fuel_price": {
        "station_id": "FS0001",
        "operator_id": "OP001",
        "product": "92",
        "price_fen_l": 785,
        "valid_from_ms": 1_700_000_000_000,
        "at_ms": 1_700_000_000_010,
    },
    "fuelling": {
        "fuelling_id": "FD000001-1-42",
        "dispenser_id": "FD000001",
        "station_id": "FS0001",
        "nozzle": 1,
        "product": "92",
        "seq": 42,
        "start_ms": 1_700_000_500_000,
        "stop_ms": 1_700_000_590_000,
        "volume_ml": 30_000,
        "amount_fen": 23_550,
        "price_fen_l": 785,
        "total_before_ml": 123_456_780,
        "total_after_ml": 123_486_780,
    },
    "fuel_sale": {
        "sale_id": "POS-1",
        "fuelling_id": "FD000001-1-42",
        "station_id": "FS0001",
        "operator_id": "OP001",
        "dispenser_id": "FD000001",
        "nozzle": 1,
        "product": "92",
        "volume_ml": 30_000,
        "amount_fen": 23_550,
        "price_fen_l": 785,
        "at_ms": 1_700_000_600_000,
    },
    "totalizer": {
        "dispenser_id": "FD000001",
        "station_id": "FS0001",
        "nozzle": 1,
        "seq": 43,
        "at_ms": 1_700_000_700_000,
        "volume_total_ml": 123_486_780,
        "amount_total_fen": 96_937_123,
        "tax_volume_total_ml": 123_486_780,
        "tax_amount_total_fen": 96_937_123,
    },
    "fuel_seal": {
        "dispenser_id": "FD000001",
        "station_id": "FS0001",
        "seq": 44,
        "position": "encoder_transducer",
        "event": "opened",
        "at_ms": 1_700_000_800_000,
        "volume_total_ml": 123_486_780,
    },
    "component": {
        "dispenser_id": "FD000001",
        "station_id": "FS0001",
        "seq": 45,
        "component": "encoder",
        "old_id": "EN-1",
        "new_id": "EN-9",
        "at_ms": 1_700_000_900_000,
    },
    "component_init": {
        "dispenser_id": "FD000001",
        "inspector_id": "INS01",
        "component": "encoder",
        "new_id": "EN-9",
        "at_ms": 1_700_001_000_000,
    },
    "tank_delivery": {
        "delivery_id": "DLV-1",
        "tank_id": "FS0001-T1",
        "station_id": "FS0001",
        "operator_id": "OP001",
        "product": "92",
        "volume_ml": 20_000_000,
        "at_ms": 1_700_001_100_000,
    },
    "tank_level": {
        "tank_id": "FS0001-T1",
        "station_id": "FS0001",
        "operator_id": "OP001",
        "seq": 3,
        "at_ms": 1_700_001_200_000,
        "volume_ml": 25_000_000,
        "temp_dc": 182,
    },
    "fuel_verification": {
        "verification_id": "FV1",
        "dispenser_id": "FD000001",
        "nozzle": 1,
        "inspector_id": "INS01",
        "at_ms": 1_700_001_300_000,
        "kind": "periodic",
        "regulation": "JJG 443-2023",
        "points": [
            {
                "flow_ml_min": 40_000,
                "runs": [{"standard_ml": 20_000, "indicated_ml": 20_020, "error_ppm": 1000}],
                "error_ppm": 1000,
            }
        ],
        "result": "pass",
        "certificate_no": "HZ2026-F0001",
        "next_due": "2027-05-25",
        "seal_closed": True,
    },
    # The taxi kind (安心打车): the operator is the taxi company.
    "vehicle": {"plate": "浙A·D12345", "operator_id": "OP001", "at_ms": 1_700_002_000_000},
    "taximeter": {
        "meter_serial": "JJ2025-000123",
        "plate": "浙A·D12345",
        "operator_id": "OP001",
        "model": "JBC-11",
        "k_constant": 1000,
        "terminal_id": "T-0001",
        "key": TERMINAL.public_key.text,
        "installed_ms": 1_690_000_000_000,
        "at_ms": 1_700_002_000_001,
    },
    "monitor": {
        "monitor_id": "HZ-TAXI-MON",
        "name": "杭州市出租汽车车载监控平台",
        "key": MONITOR.public_key.text,
        "at_ms": 1_700_002_000_002,
    },
    "taxi_verification": {
        "verification_id": "TV1",
        "plate": "浙A·D12345",
        "meter_serial": "JJ2025-000123",
        "inspector_id": "INS01",
        "at_ms": 1_700_002_100_000,
        "kind": "periodic",
        "method": "roller",
        "regulation": "JJG 517-2016",
        "distance_error_ppm": -12_000,
        "time_error_ppm": 500,
        "k_constant": 1000,
        "result": "pass",
        "certificate_no": "HZ2026-T0001",
        "next_due": "2024-11-14",
        "seal_closed": True,
    },
    "taxi_seal": {
        "terminal_id": "T-0001",
        "plate": "浙A·D12345",
        "meter_serial": "JJ2025-000123",
        "seq": 9,
        "event": "opened",
        "at_ms": 1_700_002_200_000,
    },
    "trip": {
        "trip_id": "T-0001-42",
        "terminal_id": "T-0001",
        "plate": "浙A·D12345",
        "meter_serial": "JJ2025-000123",
        "hire_ms": 1_700_002_300_000,
        "vacant_ms": 1_700_003_200_000,
        "start_lon_e6": 120_163_000,
        "start_lat_e6": 30_279_000,
        "end_lon_e6": 120_210_000,
        "end_lat_e6": 30_245_000,
        "meter_m": 8_300,
        "wait_s": 240,
        "fare_fen": 3_100,
    },
    "trip_gnss": {
        "trip_id": "T-0001-42",
        "terminal_id": "T-0001",
        "plate": "浙A·D12345",
        "monitor_id": "HZ-TAXI-MON",
        "gnss_m": 8_260,
        "points": 180,
        "at_ms": 1_700_003_260_000,
    },
}
SIGNER = {
    "authority": AUTH,
    "operator": AUTH,
    "inspector": AUTH,
    "station": OPER,
    "pile": OPER,
    "meter": OPER,
    "tariff": OPER,
    "billing": OPER,
    "session": METER,
    "seal": METER,
    "heartbeat": METER,
    "verification": INSP,
    **dict.fromkeys(
        ("fuel_station", "tank", "dispenser", "fuel_price", "fuel_sale", "tank_delivery"), OPER
    ),
    "tank_level": OPER,
    **dict.fromkeys(("fuelling", "totalizer", "fuel_seal", "component"), MODULE),
    "component_init": INSP,
    "fuel_verification": INSP,
    "vehicle": OPER,
    "taximeter": OPER,
    "monitor": AUTH,
    "taxi_verification": INSP,
    "taxi_seal": TERMINAL,
    "trip": TERMINAL,
    "trip_gnss": MONITOR,
}


def signed(rtype: str) -> Record:
    return sign_record(rtype, BODIES[rtype], SIGNER[rtype])


def test_every_type_has_a_sample():
    assert set(BODIES) == set(SCHEMAS)


@pytest.mark.parametrize("rtype", sorted(SCHEMAS))
def test_round_trip_is_byte_exact(rtype):
    record = signed(rtype)
    data = record.to_bytes()
    again = Record.parse(data)
    assert again.to_bytes() == data
    assert again == record
    again.verify(SIGNER[rtype].public_key)


@pytest.mark.parametrize("rtype", ["session", "operator", "verification", "billing"])
def test_any_altered_byte_fails_naming_record_and_key(rtype):
    record = signed(rtype)
    data = record.to_bytes()
    key = SIGNER[rtype].public_key
    for i in range(len(data)):
        mutated = bytearray(data)
        mutated[i] ^= 0x01
        with pytest.raises(RecordError) as info:
            Record.parse(bytes(mutated)).verify(key)
        message = str(info.value)
        if isinstance(info.value, SignatureError):
            assert record.subject.split()[0] in message or rtype in message
            assert "key" in message


def test_signature_error_names_key_and_record():
    record = signed("session")
    tampered = Record(
        record.type,
        {**record.body, "energy_wh": 39_000},
        record.alg,
        record.key_id,
        record.signature,
    )
    with pytest.raises(
        SignatureError, match=r"session S1: signature does not verify with key " + METER.key_id
    ):
        tampered.verify(METER.public_key)


def test_wrong_key_is_named():
    with pytest.raises(SignatureError, match=OPER.key_id):
        signed("session").verify(OPER.public_key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("energy_wh"), "missing field 'energy_wh'"),
        (lambda b: b.update(energy_wh="40"), "'energy_wh' must be an integer"),
        (lambda b: b.update(energy_wh=1.5), "'energy_wh' must be an integer"),
        (lambda b: b.update(colour="red"), "unknown field"),
        (lambda b: b.update(power_w=[1, "x"]), "power_w"),
        (lambda b: b.update(interval_s=0), "interval_s"),
    ],
)
def test_schema_errors_name_the_field(change, message):
    body = copy.deepcopy(BODIES["session"])
    change(body)
    with pytest.raises(RecordError, match=message):
        sign_record("session", body, METER)


def test_non_canonical_entry_rejected():
    data = signed("seal").to_bytes()
    spaced = data.replace(b'","', b'", "', 1)
    with pytest.raises(RecordError, match="canonical"):
        Record.parse(spaced)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"[]",
        b'{"t":"session"}',
        b"\xff\xfe",
        b'{"b":{},"s":{},"t":"x","v":1}',
        b'{"b":{},"s":{},"t":"session","v":2}',
    ],
)
def test_garbage_is_a_record_error(data):
    with pytest.raises(RecordError):
        Record.parse(data)


def test_registry_resolves_signers_and_rejects_unregistered():
    registry = KeyRegistry()
    for rtype in (
        "authority",
        "operator",
        "inspector",
        "station",
        "pile",
        "meter",
        "tariff",
        "session",
        "billing",
        "seal",
        "heartbeat",
        "verification",
    ):
        registry.check(signed(rtype))
    stranger = SigningKey.from_seed("p256", b"stranger")
    forged = sign_record("session", BODIES["session"], stranger)
    with pytest.raises(UnknownKeyError, match="registered key is " + METER.key_id):
        registry.check(forged)
    unknown = sign_record("session", {**BODIES["session"], "meter_id": "M9"}, METER)
    with pytest.raises(UnknownKeyError, match="meter M9 is not registered"):
        registry.check(unknown)


def test_first_authority_must_be_self_signed():
    with pytest.raises(UnknownKeyError, match="self-signed"):
        KeyRegistry().check(sign_record("authority", BODIES["authority"], OPER))


def test_pii_round_trip_and_binding():
    token = pii.seal(
        {"vin": "LSVAU2180N2183294", "account": "138****0000"}, ENC.public_key(), "session S1"
    )
    assert pii.open_sealed(token, ENC, "session S1")["vin"] == "LSVAU2180N2183294"
    with pytest.raises(pii.PiiError, match="altered"):
        pii.open_sealed(token, ENC, "session S2")
    with pytest.raises(pii.PiiError):
        pii.open_sealed(token, X25519PrivateKey.generate(), "session S1")


@pytest.mark.parametrize("alg", ["p256", "ed25519"])
def test_key_pem_round_trip_encrypted(alg, tmp_path):
    key = SigningKey.generate(alg)
    key.save(tmp_path / "k.pem", b"correct horse")
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    again = SigningKey.from_pem((tmp_path / "k.pem").read_bytes(), b"correct horse")
    assert again.public_key == key.public_key
    with pytest.raises(ValueError, match="passphrase"):
        SigningKey.from_pem((tmp_path / "k.pem").read_bytes(), b"wrong")
    assert PublicKey.parse(key.public_key.text).key_id == key.key_id


@pytest.mark.parametrize("rtype", sorted(SCHEMAS))
def test_message_sliced_from_entry_equals_the_signed_message(rtype):
    from ledger.records import message_from_entry

    record = signed(rtype)
    assert message_from_entry(rtype, record.to_bytes()) == record.signed_message
