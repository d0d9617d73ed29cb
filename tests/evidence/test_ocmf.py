"""OCMF import: real chargers' records verify, agree with pyocmf, and any alteration fails."""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ledger import ocmf

DATA = Path(__file__).resolve().parent.parent / "data" / "ocmf"
VECTORS = sorted(DATA.glob("*.ocmf"))
ENERGY_WH = {
    ("keba-kcp30",): Decimal("0.1"),
    ("iskra-wm3m4c",): Decimal("200"),
    ("bauer-bsm-begin", "bauer-bsm-end"): Decimal("150"),
    ("generated-p384-begin", "generated-p384-end"): Decimal("41445"),
}


def load(name: str) -> tuple[str, str]:
    return (DATA / f"{name}.ocmf").read_text(), (DATA / f"{name}.pubkey").read_text().strip()


def pyocmf_verify(text: str, key: str):
    import pyocmf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pyocmf.OCMF.from_string(ocmf.unwrap(text))
        return parsed, parsed.verify_signature(key)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector_verifies_and_agrees_with_pyocmf(path: Path):
    text, key = load(path.stem)
    record = ocmf.parse_ocmf(text)
    ocmf.verify_ocmf(record, key)
    theirs, ok = pyocmf_verify(text, key)
    assert ok is True
    assert len(theirs.payload.RD) == len(record.readings)
    for mine, other in zip(record.readings, theirs.payload.RD):
        assert mine.value == Decimal(str(other.RV))
        assert mine.unit == str(other.RU.value if hasattr(other.RU, "value") else other.RU)


@pytest.mark.parametrize("names", list(ENERGY_WH), ids=lambda n: n[0])
def test_session_energy(names):
    records = [ocmf.parse_ocmf(load(n)[0]) for n in names]
    energy = ocmf.session_energy(records)
    assert energy.energy_wh == ENERGY_WH[names]
    assert energy.all_good
    assert energy.seconds and energy.seconds > 0


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_any_altered_byte_fails(path: Path):
    text, key = load(path.stem)
    plain = ocmf.unwrap(text)
    payload_end = plain.index("}|{") + 1
    # every byte of the payload, and every hex digit of the signature
    positions = [*range(5, payload_end), *range(plain.index('"SD":"') + 6, len(plain) - 2)]
    for i in positions:
        ch = plain[i]
        repl = "0" if ch != "0" else "1"
        altered = plain[:i] + repl + plain[i + 1 :]
        with pytest.raises(ocmf.OcmfError):
            ocmf.verify_ocmf(ocmf.parse_ocmf(altered), key)


def test_wrong_key_and_curve_mismatch_fail():
    keba, _ = load("keba-kcp30")
    _, other = load("iskra-wm3m4c")
    with pytest.raises(ocmf.OcmfSignatureError, match="does not verify"):
        ocmf.verify_ocmf(ocmf.parse_ocmf(keba), other)
    _, p384 = load("generated-p384-begin")
    with pytest.raises(ocmf.OcmfSignatureError, match="curve"):
        ocmf.verify_ocmf(ocmf.parse_ocmf(keba), p384)


def test_ocpp_signed_meter_value():
    obj = json.loads((DATA / "keba-kcp30-ocpp-signedmetervalue.json").read_text())
    record, key = ocmf.parse_signed_meter_value(obj)
    assert key == load("keba-kcp30")[1]
    ocmf.verify_ocmf(record, key)


def test_sha384_and_base64_signature_encoding():
    private = ec.generate_private_key(ec.SECP384R1())
    key = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = (
        '{"FV":"1.0","PG":"T1","RD":[{"TM":"2026-01-01T08:00:00,000+0800 S","TX":"B",'
        '"RV":1.5,"RU":"kWh","ST":"G"},{"TM":"2026-01-01T08:30:00,000+0800 S","TX":"E",'
        '"RV":2.25,"RU":"kWh","ST":"G"}]}'
    )
    import base64

    sig = base64.b64encode(private.sign(payload.encode(), ec.ECDSA(hashes.SHA384()))).decode()
    text = f'OCMF|{payload}|{{"SA":"ECDSA-secp384r1-SHA384","SE":"base64","SD":"{sig}"}}'
    record = ocmf.parse_ocmf(text)
    ocmf.verify_ocmf(record, base64.b64encode(key).decode())
    assert ocmf.session_energy([record]).energy_wh == Decimal(750)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("hello", "must start with 'OCMF|'"),
        ("OCMF|{not json}|{}", "payload is not valid JSON"),
        ('OCMF|{"RD":[]}|{"SD":"30"}', "non-empty list"),
        ('OCMF|{"RD":[{"TM":"x","TX":"B","RV":1,"RU":"kWh"}]}|{"SD":"30"}', "'TM'"),
        (
            'OCMF|{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":"1","RU":"kWh"}]}|{"SD":"30"}',
            "'RV'",
        ),
        ('OCMF|{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1}]}|{"SD":"30"}', "'RU'"),
        ('OCMF|{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1,"RU":"kWh"}]}|{}', "'SD'"),
        (
            'OCMF|{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1,"RU":"kWh"}]}|{"SD":"zz"}',
            "not valid hex",
        ),
        (
            'OCMF|{"RD":[{"TM":"2026-01-01T00:00:00,000+0000 S","RV":1,"RU":"kWh"}]}{"SD":"30"}',
            "expected '|'",
        ),
    ],
)
def test_malformed_records_say_why(text: str, match: str):
    with pytest.raises(ocmf.OcmfError, match=match):
        ocmf.parse_ocmf(text)


def test_unsupported_algorithm_and_backwards_register():
    keba, key = load("keba-kcp30")
    bad = keba.replace('{"SD"', '{"SA":"RSA-2048-SHA1","SD"')
    with pytest.raises(ocmf.OcmfSignatureError, match="unsupported"):
        ocmf.verify_ocmf(ocmf.parse_ocmf(bad), key)
    end = ocmf.parse_ocmf(load("bauer-bsm-end")[0])
    begin = ocmf.parse_ocmf(load("bauer-bsm-begin")[0])
    with pytest.raises(ocmf.OcmfError, match="no begin"):
        ocmf.session_energy([end])
    assert ocmf.session_energy([begin, end]).energy_wh == 150


def test_bundle_items_mark_unverified_records():
    keba, key = load("keba-kcp30")
    forged = keba.replace('"RV":0.2597', '"RV":9.2597')
    items = ocmf.ocmf_to_bundle_entries([(keba, key), (forged, key)])
    assert [i.verified for i in items] == [True, False]
    assert items[0].record.startswith(b"OCMF|")
