"""OCMF (Open Charge Metering Format) records: parse, verify, read the session energy.

Why here: many chargers (KEBA, Iskra, BAUER, eBee... and the meters inside
Chinese export models) sign their readings in OCMF, and OCPP carries them as
``SignedMeterValue``. A regulator answering a dispute about such a charge must
check the meter's own signature and recompute the energy without trusting the
operator, the same way it checks our ledger records. So this module is small,
Qt-free and depends on ``cryptography`` + stdlib only (the offline bundle
verifier imports it).

Format (SAFE e.V. OCMF 1.x)::

    OCMF|{payload JSON}|{signature JSON}[|public key]

The signature covers the payload JSON *exactly as transmitted* (the bytes
between the first and second ``|``), so we never re-serialise it. ``SA`` names
the curve and hash (default ``ECDSA-secp256r1-SHA256``), ``SD`` is the DER
signature in hex (or base64 when ``SE`` says so). Public keys are DER
SubjectPublicKeyInfo, hex or base64. A record may arrive base64- or
hex-wrapped (OCPP 2.0.1 ``signedMeterData`` is base64).

Readings (``RD``): ``TM`` time with a sync flag (``U`` unsynchronised,
``I`` informative, ``S`` synchronised, ``R`` relative), ``RV`` value,
``RU`` unit, ``ST`` status (``G`` good), ``TX`` transaction phase
(``B`` begin ... ``E`` end). Readings without ``TM``/``TX`` inherit them from
the previous reading, as the spec allows.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = [
    "OcmfError",
    "OcmfKeyMissing",
    "OcmfRecord",
    "OcmfSignatureError",
    "Reading",
    "SessionEnergy",
    "load_public_key",
    "ocmf_to_bundle_entries",
    "parse_ocmf",
    "parse_signed_meter_value",
    "session_energy",
    "unwrap",
    "verify_ocmf",
]

DEFAULT_SA = "ECDSA-secp256r1-SHA256"
MAX_RECORD_BYTES = 65536
_CURVES: dict[str, ec.EllipticCurve] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "brainpool256r1": ec.BrainpoolP256R1(),
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpool384r1": ec.BrainpoolP384R1(),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[,.](\d{1,6}))?([+-])(\d{2}):?(\d{2})"
    r"(?: ([UISR]))?"
)
END_PHASES = frozenset({"E", "L", "R", "A"})
"""``TX`` values that close a transaction: end, limit reached, ... (OCMF 1.x)."""
_ENERGY_UNITS = {"kWh": Decimal(1000), "Wh": Decimal(1)}


class OcmfError(ValueError):
    """A malformed OCMF record; the message says which part and why."""


class OcmfSignatureError(OcmfError):
    """The record is well formed but its signature does not verify (or cannot be checked)."""


class OcmfKeyMissing(OcmfSignatureError):
    """No public key was given and none is appended to the record: nothing to check with."""


@dataclass(frozen=True)
class Reading:
    """One ``RD`` entry, with ``TM``/``TX`` inherited from earlier readings when absent."""

    time: datetime | None
    time_text: str
    sync: str  # U, I, S, R or "" when absent
    value: Decimal
    unit: str
    status: str
    tx: str
    obis: str

    @property
    def wh(self) -> Decimal | None:
        """The value in Wh for energy units, else None."""
        scale = _ENERGY_UNITS.get(self.unit)
        return None if scale is None else self.value * scale


@dataclass(frozen=True)
class OcmfRecord:
    """A parsed OCMF record. ``payload_bytes`` are the signed bytes, verbatim."""

    text: str
    payload_bytes: bytes
    payload: Mapping[str, Any]
    signature: Mapping[str, Any]
    readings: tuple[Reading, ...]
    embedded_key: str | None = None
    der_signature: bytes = field(default=b"", repr=False)

    @property
    def algorithm(self) -> str:
        return str(self.signature.get("SA") or DEFAULT_SA)

    @property
    def meter_serial(self) -> str:
        return str(self.payload.get("MS") or self.payload.get("GS") or "")

    @property
    def pagination(self) -> str:
        return str(self.payload.get("PG", ""))

    @property
    def identification(self) -> str:
        return str(self.payload.get("ID", ""))


def unwrap(data: bytes | str) -> str:
    """The plain ``OCMF|...`` text of a record that may be hex- or base64-wrapped."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OcmfError(f"OCMF record is not UTF-8 text: {exc}") from None
    else:
        text = data
    text = text.strip()
    if len(text) > MAX_RECORD_BYTES * 2:
        raise OcmfError(f"OCMF record is {len(text)} characters; the limit is {MAX_RECORD_BYTES}")
    if text.startswith("OCMF|"):
        return text
    for decode in (bytes.fromhex, _b64):
        try:
            inner = decode(text).decode("utf-8").strip()
        except (ValueError, UnicodeDecodeError):
            continue
        if inner.startswith("OCMF|"):
            return inner
    raise OcmfError("not an OCMF record: it must start with 'OCMF|' (plain, hex or base64)")


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()), validate=True)


def parse_ocmf(data: bytes | str) -> OcmfRecord:
    """Strictly parses one record; raises `OcmfError` saying what is wrong.

    The payload is located with a JSON decoder rather than by splitting on
    ``|``, so a ``|`` inside a string value cannot move the signed bytes.
    """
    text = unwrap(data)
    decoder = json.JSONDecoder(parse_float=Decimal)
    pos = len("OCMF|")
    payload, end = _decode(decoder, text, pos, "payload")
    payload_text = text[pos:end]
    if not isinstance(payload, dict):
        raise OcmfError("OCMF payload must be a JSON object")
    if text[end : end + 1] != "|":
        raise OcmfError("OCMF record: expected '|' between the payload and the signature")
    signature, send = _decode(decoder, text, end + 1, "signature")
    if not isinstance(signature, dict):
        raise OcmfError("OCMF signature must be a JSON object")
    rest = text[send:]
    embedded = None
    if rest:
        if not rest.startswith("|"):
            raise OcmfError("OCMF record: unexpected text after the signature")
        embedded = "".join(rest[1:].split()) or None
    sd = signature.get("SD")
    if not isinstance(sd, str) or not sd:
        raise OcmfError("OCMF signature: 'SD' (signature data) is missing")
    encoding = str(signature.get("SE") or "hex").lower()
    try:
        der = bytes.fromhex(sd) if encoding == "hex" else _b64(sd)
    except ValueError:
        raise OcmfError(f"OCMF signature: 'SD' is not valid {encoding}") from None
    if encoding not in ("hex", "base64"):
        raise OcmfError(f"OCMF signature: unknown encoding SE={signature.get('SE')!r}")
    sa = signature.get("SA", DEFAULT_SA)
    if not isinstance(sa, str):
        raise OcmfError("OCMF signature: 'SA' must be a string")
    readings = _readings(payload)
    return OcmfRecord(
        text, payload_text.encode("utf-8"), payload, signature, readings, embedded, der
    )


def _decode(decoder: json.JSONDecoder, text: str, pos: int, what: str) -> tuple[Any, int]:
    """One JSON value of the record; `OcmfError` for anything the decoder refuses,
    including what it refuses by raising something else: nesting deeper than the
    interpreter's recursion limit (RecursionError) and integers over 4,300 digits
    (ValueError from int()), and numbers whose exponent is beyond what Decimal can hold
    (decimal.InvalidOperation, an ArithmeticError: "1e99999999999999999999"); all
    escaped before, found by bench/fuzz.py."""
    try:
        return decoder.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise OcmfError(f"OCMF {what} is not valid JSON: {exc.msg} at {exc.pos}") from None
    except RecursionError:
        raise OcmfError(f"OCMF {what}: JSON nested too deeply") from None
    except (ValueError, ArithmeticError) as exc:
        raise OcmfError(f"OCMF {what}: a JSON value is out of range ({exc!r})") from None


_RV_MAX_EXPONENT = 18
"""Readings beyond 10^18 (or non-zero below 10^-18) in any unit are no meter's: such a
value made the kWh → Wh scaling raise decimal.Overflow (a 5,000-digit exponent)."""


def _reading_value(rv: int | Decimal, i: int) -> Decimal:
    value = Decimal(rv)
    if not value.is_finite():
        raise OcmfError(f"OCMF reading {i}: 'RV' is not a finite number")
    if value.is_zero():
        return Decimal(0)
    if abs(value.adjusted()) > _RV_MAX_EXPONENT:
        raise OcmfError(f"OCMF reading {i}: 'RV' is out of range for a meter reading")
    return value


def _readings(payload: Mapping[str, Any]) -> tuple[Reading, ...]:
    rd = payload.get("RD")
    if not isinstance(rd, list) or not rd:
        raise OcmfError("OCMF payload: 'RD' (readings) must be a non-empty list")
    out: list[Reading] = []
    last_tm, last_tx = "", ""
    for i, item in enumerate(rd):
        if not isinstance(item, dict):
            raise OcmfError(f"OCMF reading {i}: not an object")
        tm = item.get("TM", last_tm)
        tx = item.get("TX", last_tx)
        if not isinstance(tm, str) or not tm:
            raise OcmfError(f"OCMF reading {i}: 'TM' (time) is missing")
        if not isinstance(tx, str):
            raise OcmfError(f"OCMF reading {i}: 'TX' must be a string")
        when, sync = _parse_time(tm, i)
        rv = item.get("RV")
        if isinstance(rv, bool) or not isinstance(rv, int | Decimal):
            raise OcmfError(f"OCMF reading {i}: 'RV' (value) must be a number")
        unit = item.get("RU")
        if not isinstance(unit, str) or not unit:
            raise OcmfError(f"OCMF reading {i}: 'RU' (unit) is missing")
        status = item.get("ST", "")
        if not isinstance(status, str):
            raise OcmfError(f"OCMF reading {i}: 'ST' must be a string")
        obis = item.get("RI", "")
        value = _reading_value(rv, i)
        out.append(Reading(when, tm, sync, value, unit, status, tx, str(obis)))
        last_tm, last_tx = tm, tx
    return tuple(out)


def _parse_time(text: str, i: int) -> tuple[datetime | None, str]:
    m = _TIME.fullmatch(text)
    if not m:
        raise OcmfError(
            f"OCMF reading {i}: 'TM' {text[:40]!r} is not 'YYYY-MM-DDThh:mm:ss,fff+zzzz S'"
        )
    y, mo, d, h, mi, s, frac, sign, oh, om, sync = m.groups()
    offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
    try:
        when = datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s),
            int((frac or "0").ljust(6, "0")), tzinfo=timezone(offset),
        )  # fmt: skip
    except ValueError as exc:
        raise OcmfError(f"OCMF reading {i}: 'TM' {text[:40]!r}: {exc}") from None
    return when.astimezone(UTC), sync or ""


@functools.lru_cache(maxsize=1024)
def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """An EC public key from hex or base64 DER SubjectPublicKeyInfo (cached: meters repeat)."""
    compact = "".join(str(text).split())
    der: bytes | None = None
    try:
        der = bytes.fromhex(compact)
    except ValueError:
        try:
            der = _b64(compact)
        except (ValueError, binascii.Error):
            der = None
    if not der:
        raise OcmfError("OCMF public key is neither hex nor base64")
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise OcmfError(f"OCMF public key is not a DER SubjectPublicKeyInfo: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise OcmfError("OCMF public key is not an elliptic-curve key")
    return key


@functools.lru_cache(maxsize=64)
def _algorithm(sa: str) -> tuple[str, ec.ECDSA]:
    parts = sa.split("-")
    if len(parts) != 3 or parts[0] != "ECDSA" or parts[1] not in _CURVES or parts[2] not in _HASHES:
        raise OcmfSignatureError(f"unsupported OCMF signature algorithm SA={sa!r}")
    return _CURVES[parts[1]].name, ec.ECDSA(_HASHES[parts[2]]())


def verify_ocmf(
    record: OcmfRecord, public_key: str | ec.EllipticCurvePublicKey | None = None
) -> None:
    """Raises `OcmfSignatureError` unless the meter's signature holds.

    ``public_key`` defaults to one appended to the record; pass the meter's
    registered key whenever you have it (an appended key proves nothing alone).
    """
    key_src = public_key if public_key is not None else record.embedded_key
    if key_src is None:
        raise OcmfKeyMissing("no public key given and none appended to the OCMF record")
    key = key_src if isinstance(key_src, ec.EllipticCurvePublicKey) else load_public_key(key_src)
    curve, algo = _algorithm(record.algorithm)
    if key.curve.name != curve:
        raise OcmfSignatureError(
            f"OCMF signature algorithm {record.algorithm} does not match the key's "
            f"curve {key.curve.name}"
        )
    try:
        key.verify(record.der_signature, record.payload_bytes, algo)
    except InvalidSignature:
        raise OcmfSignatureError(
            f"OCMF signature does not verify (meter {record.meter_serial or '?'}, "
            f"{record.pagination or 'no PG'})"
        ) from None


@dataclass(frozen=True)
class SessionEnergy:
    """Energy of a charging session from its begin and end readings."""

    begin: Reading
    end: Reading
    energy_wh: Decimal
    all_good: bool  # both readings have status G

    @property
    def seconds(self) -> float | None:
        if self.begin.time is None or self.end.time is None:
            return None
        return (self.end.time - self.begin.time).total_seconds()


def session_energy(records: Iterable[OcmfRecord]) -> SessionEnergy:
    """Energy between the first ``TX=B`` and the last end reading over ``records``.

    Begin and end may sit in one record (KEBA) or two (BAUER, eBee). Both must
    read the same register (``RI``) in an energy unit; a register that ran
    backwards is an error, not a negative charge.
    """
    readings = [r for rec in records for r in rec.readings]
    begins = [r for r in readings if r.tx == "B"]
    ends = [r for r in readings if r.tx in END_PHASES]
    if not begins:
        raise OcmfError("OCMF session has no begin reading (TX=B)")
    if not ends:
        raise OcmfError("OCMF session has no end reading (TX=E)")
    begin = begins[0]
    same = [r for r in ends if r.obis == begin.obis] or ends
    end = same[-1]
    if begin.obis != end.obis:
        raise OcmfError(f"OCMF begin reads register {begin.obis!r} but end reads {end.obis!r}")
    if begin.wh is None or end.wh is None:
        raise OcmfError(f"OCMF readings are in {begin.unit!r}/{end.unit!r}, not kWh or Wh")
    energy = end.wh - begin.wh
    if energy < 0:
        raise OcmfError(f"OCMF register ran backwards: {begin.wh} Wh at begin, {end.wh} Wh at end")
    return SessionEnergy(begin, end, energy, begin.status == "G" and end.status == "G")


def parse_signed_meter_value(obj: Mapping[str, Any] | str) -> tuple[OcmfRecord, str | None]:
    """An OCPP 2.0.1 ``SignedMeterValueType`` (JSON object or text) -> (record, public key).

    ``signedMeterData`` is base64 of the OCMF text; ``publicKey`` (optional) is
    base64 of the key, which may itself be hex text.
    """
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
            raise OcmfError(f"SignedMeterValue is not JSON: {str(exc)[:200]}") from None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("signedMeterData"), str):
        raise OcmfError("SignedMeterValue needs a 'signedMeterData' string")
    method = str(obj.get("encodingMethod", "OCMF"))
    if method.upper() != "OCMF":
        raise OcmfError(f"SignedMeterValue encodingMethod {method!r} is not OCMF")
    record = parse_ocmf(obj["signedMeterData"])
    key = obj.get("publicKey") or None
    if isinstance(key, str) and key:
        try:
            inner = _b64(key).decode("ascii").strip()
            bytes.fromhex(inner)
            key = inner  # base64 of hex text
        except (ValueError, UnicodeDecodeError):
            pass
    return record, key


@dataclass(frozen=True)
class OcmfBundleItem:
    """An OCMF record for an evidence bundle: checked by signature only, never by log proof."""

    name: str
    record: bytes
    public_key: str
    meter_serial: str
    verified: bool


def ocmf_to_bundle_entries(
    items: Sequence[tuple[bytes | str, str]], prefix: str = "ocmf"
) -> list[OcmfBundleItem]:
    """(record, meter public key) pairs -> items `ledger.bundle.build_bundle` can carry.

    Records are stored as their plain OCMF text (unwrapped, byte-exact payload)
    so the bundle verifier checks exactly what the meter signed. A record that
    does not verify is still carried (it may be the evidence of a fault) with
    ``verified=False``; the bundle verifier will reject it with the reason.
    """
    out: list[OcmfBundleItem] = []
    for n, (data, key) in enumerate(items):
        record = parse_ocmf(data)
        try:
            verify_ocmf(record, key)
            ok = True
        except OcmfError:
            ok = False
        out.append(
            OcmfBundleItem(
                f"{prefix}-{n:03d}", record.text.encode("utf-8"), key, record.meter_serial, ok
            )
        )
    return out
