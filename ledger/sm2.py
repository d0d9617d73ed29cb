"""SM2 signatures with SM3 (GB/T 32918.2-2016, GB/T 32905-2016) for the 国密 chips of
fuel dispensers (GB/T 9081-2023): curve facts, point encoding and PKCS#8 key files.

pyca/cryptography has no SM2 (its OpenSSL knows the curve, its API refuses it:
"Curve 1.2.156.10197.1.301 is not supported"), so the arithmetic comes from
``gmalglib`` (C extension, MIT; `ledger.keys` is the only user). What this module adds
is what the library leaves to the application and what we must not take on trust:

* the **signer ID**: Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) binds every
  signature to an ID that GB/T 32918.2 leaves to the application. Our records use the
  default ID of GB/T 35276-2017 (GM/T 0009-2012), ``1234567812345678``
  (:data:`SM2_DEFAULT_ID`), the one that standard prescribes when none is agreed;
  it is passed to the library explicitly, never left to its default;
* **point checks** in Python, independent of the library: a public key is a SEC1
  compressed point (33 bytes) with x < p whose y² = x³ + ax + b has a root; the point
  at infinity has no such encoding. The curve's cofactor is 1, so every point on it is
  in the prime-order group;
* **key files**: PKCS#8 as OpenSSL writes SM2 keys (id-ecPublicKey with the SM2 curve
  OID), optionally encrypted as PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with the same
  parameters cryptography's ``BestAvailableEncryption`` gives the P-256 and Ed25519 key
  files, so ``openssl pkey`` reads our files and we read its.

Signing here is for simulators and tests: the library's fixed-base multiplication
indexes its table by secret bytes (cache timing), which a regulator's workstation,
that only verifies SM2, does not care about; real dispensers sign in their chip.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from gmalglib.core import SM2 as _LibSM2

# Recommended curve parameters, GB/T 32918.5-2017 (= GM/T 0003.5-2012).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

SM2_DEFAULT_ID = b"1234567812345678"
"""The signer ID (user identity) in Z_A for every SM2 record: the default of
GB/T 35276-2017 / GM/T 0009-2012 (docs/records.md, "Signatures")."""

PBKDF2_ITERATIONS = 2048
"""What cryptography's BestAvailableEncryption writes for our P-256/Ed25519 key files
(PBES2, PBKDF2-HMAC-SHA256, 2,048 rounds, AES-256-CBC): the same protection."""
_MAX_ITERATIONS = 10_000_000  # a hostile file must not make us spin for hours


class Sm2KeyError(ValueError):
    """An SM2 key or key file that cannot be used; the message says why."""


# ---- points ----------------------------------------------------------------------------


def decompress(raw: bytes) -> bytes:
    """The 65-byte uncompressed point (04 ‖ x ‖ y) of a 33-byte SEC1 compressed one.

    Raises Sm2KeyError for anything else: another length or prefix (the point at
    infinity, 0x00, included), x ≥ p, or an x that is no point's (y² has no root)."""
    if len(raw) != 33 or raw[0] not in (2, 3):
        raise Sm2KeyError("not a compressed point (33 bytes starting 02 or 03)")
    x = int.from_bytes(raw[1:], "big")
    if x >= P:
        raise Sm2KeyError("x is not below the field prime")
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)  # p ≡ 3 (mod 4)
    if y * y % P != rhs:
        raise Sm2KeyError("not a point on the SM2 curve")
    if y & 1 != raw[0] & 1:
        y = P - y  # y = 0 cannot happen: the group has odd prime order
    return b"\x04" + raw[1:] + y.to_bytes(32, "big")


def compress(point: bytes) -> bytes:
    """The 33-byte SEC1 compressed form of a 65-byte uncompressed point on the curve."""
    if len(point) != 65 or point[0] != 4:
        raise Sm2KeyError("not an uncompressed point (65 bytes starting 04)")
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    if not (x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0):
        raise Sm2KeyError("not a point on the SM2 curve")
    return bytes([2 | (y & 1)]) + point[1:33]


def verifier(compressed: bytes) -> _LibSM2:
    """A library verifier for a compressed public key, with our ID (checked point)."""
    return _LibSM2(pk=decompress(compressed), uid=SM2_DEFAULT_ID)


def verify(lib: _LibSM2, message: bytes, signature: bytes) -> bool:
    """SM2 verification; False for any bad input, never an exception.

    The library checks 1 ≤ r, s ≤ n − 1 and (r + s) mod n ≠ 0 before the point
    arithmetic (GB/T 32918.2 §7.1 B1, B2, B5)."""
    if len(signature) != 64:
        return False
    try:
        return bool(lib.verify(message, signature))
    except (ValueError, OverflowError):  # a message beyond SM3's 2^64 bits
        return False


# ---- private keys ----------------------------------------------------------------------


class Sm2Private:
    """An SM2 private key d (1 ≤ d ≤ n − 2, so that 1 + d is invertible) and its signer."""

    def __init__(self, d: bytes) -> None:
        if len(d) != 32 or not 1 <= int.from_bytes(d, "big") <= N - 2:
            raise Sm2KeyError("SM2 private key must be an integer in [1, n − 2]")
        self._d = d
        self._signer = _LibSM2(sk=d, uid=SM2_DEFAULT_ID)
        self.public_point = _LibSM2.get_pk(d)  # 65 bytes, 04 ‖ x ‖ y

    @classmethod
    def generate(cls) -> Sm2Private:
        d, _ = _LibSM2().generate_keypair()  # from /dev/urandom, in [1, n − 2]
        return cls(d)

    @classmethod
    def from_seed_digest(cls, digest: bytes) -> Sm2Private:
        value = int.from_bytes(digest, "big") % (N - 2) + 1
        return cls(value.to_bytes(32, "big"))

    @property
    def public_compressed(self) -> bytes:
        return compress(self.public_point)

    def sign(self, message: bytes) -> bytes:
        """Raw r ‖ s (64 bytes). A fresh nonce k from /dev/urandom for each signature.

        gmalglib 0.5.9 meant to draw a new k when r = 0, r + k = n or s = 0 (GB/T
        32918.2 §6.1 A5, A6) but its retry loop is ``do { … continue; } while (0)``,
        which leaves the loop with r or s zero instead. Such a signature never
        verifies; we draw again (probability ~2^-255, but a wrong record is forever)."""
        while True:
            signature = self._signer.sign(message)
            if any(signature[:32]) and any(signature[32:]):
                return signature

    def deterministic_nonce(self, message: bytes) -> int:
        """k in [1, n − 1] from HMAC-SHA512(d, message): the same record, the same bytes."""
        mac = hmac.new(self._d, b"evm-sm2-nonce\x00" + message, hashlib.sha512).digest()
        return int.from_bytes(mac, "big") % (N - 1) + 1

    def sign_deterministic(self, message: bytes) -> bytes:
        """`sign` with the nonce from :meth:`deterministic_nonce`, for the simulator's
        reproducible fleets (as RFC 6979 is for P-256 there). Never for real keys: a
        chip signs with its own nonces."""
        k = self.deterministic_nonce(message).to_bytes(32, "little")  # gmalglib reads LE
        signer = _LibSM2(sk=self._d, uid=SM2_DEFAULT_ID, rnd_fn=lambda _size: k)
        signature = signer.sign(message)
        if not (any(signature[:32]) and any(signature[32:])):  # r + k = n: ~2^-256
            raise Sm2KeyError("deterministic nonce unusable for this message")
        return signature

    # -- PKCS#8 ---------------------------------------------------------------------

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        der = _private_key_info(self._d, self.public_point)
        if passphrase:
            return _pem("ENCRYPTED PRIVATE KEY", _encrypt(der, passphrase))
        return _pem("PRIVATE KEY", der)

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> Sm2Private:
        """Reads a PKCS#8 SM2 key, plain or PBES2-encrypted (ours or OpenSSL's)."""
        label, der = _unpem(data)
        if label == "ENCRYPTED PRIVATE KEY":
            if not passphrase:
                raise Sm2KeyError("the key file is encrypted: a passphrase is needed")
            der = _decrypt(der, passphrase)
        elif label != "PRIVATE KEY":
            raise Sm2KeyError(f"not a PKCS#8 key file ({label})")
        return cls(_read_private_key_info(der))


# ---- DER (only the shapes PKCS#8 SM2 keys need; strict: one encoding each) ------------

_OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_SM2 = bytes.fromhex("2a811ccf5501822d")  # 1.2.156.10197.1.301
_OID_PBES2 = bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13
_OID_PBKDF2 = bytes.fromhex("2a864886f70d01050c")  # 1.2.840.113549.1.5.12
_OID_HMAC_SHA256 = bytes.fromhex("2a864886f70d0209")  # 1.2.840.113549.2.9
_OID_AES256_CBC = bytes.fromhex("60864801650304012a")  # 2.16.840.1.101.3.4.1.42

_SEQ, _INT, _OCTETS, _BITS, _OID, _NULL = 0x30, 0x02, 0x04, 0x03, 0x06, 0x05


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _int(value: int) -> bytes:
    return _tlv(_INT, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items of a DER string, all of it; Sm2KeyError if malformed."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise Sm2KeyError("truncated DER")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            raw = data[pos : pos + count]
            if not 1 <= count <= 4 or len(raw) != count or raw[0] == 0:
                raise Sm2KeyError("bad DER length")
            length = int.from_bytes(raw, "big")
            if length < 0x80:
                raise Sm2KeyError("non-minimal DER length")
            pos += count
        if pos + length > len(data):
            raise Sm2KeyError("truncated DER")
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _expect(data: bytes, *tags: int) -> list[bytes]:
    items = _items(data)
    if [tag for tag, _ in items] != list(tags):
        raise Sm2KeyError("unexpected DER structure")
    return [content for _, content in items]


def _read_int(content: bytes) -> int:
    if not content or (len(content) > 1 and content[0] == 0 and content[1] < 0x80):
        raise Sm2KeyError("non-minimal DER integer")
    if content[0] >= 0x80:
        raise Sm2KeyError("negative DER integer")
    return int.from_bytes(content, "big")


def _private_key_info(d: bytes, public_point: bytes) -> bytes:
    ec_private_key = _tlv(
        _SEQ,
        _int(1) + _tlv(_OCTETS, d) + _tlv(0xA1, _tlv(_BITS, b"\x00" + public_point)),
    )
    algorithm = _tlv(_SEQ, _tlv(_OID, _OID_EC_PUBLIC_KEY) + _tlv(_OID, _OID_SM2))
    return _tlv(_SEQ, _int(0) + algorithm + _tlv(_OCTETS, ec_private_key))


def _read_private_key_info(der: bytes) -> bytes:
    (info,) = _expect(der, _SEQ)
    items = _items(info)
    if len(items) < 3 or [t for t, _ in items[:3]] != [_INT, _SEQ, _OCTETS]:
        raise Sm2KeyError("not a PKCS#8 private key")
    if _read_int(items[0][1]) not in (0, 1):
        raise Sm2KeyError("unknown PKCS#8 version")
    algorithm = _expect(items[1][1], _OID, _OID)
    if algorithm != [_OID_EC_PUBLIC_KEY, _OID_SM2]:
        raise Sm2KeyError("not an SM2 key (id-ecPublicKey on curve 1.2.156.10197.1.301)")
    (ec_key,) = _expect(items[2][1], _SEQ)
    fields = _items(ec_key)
    if len(fields) < 2 or [t for t, _ in fields[:2]] != [_INT, _OCTETS]:
        raise Sm2KeyError("not an EC private key")
    if _read_int(fields[0][1]) != 1 or len(fields[1][1]) != 32:
        raise Sm2KeyError("EC private key: version 1 and a 32-byte scalar expected")
    d = fields[1][1]
    for tag, content in fields[2:]:
        if tag == 0xA0 and _expect(content, _OID) != [_OID_SM2]:
            raise Sm2KeyError("EC private key names another curve")
        if tag == 0xA1:
            (bits,) = _expect(content, _BITS)
            key = Sm2Private(d)  # validates d
            if bits != b"\x00" + key.public_point:
                raise Sm2KeyError("the key file's public key does not match its private key")
        elif tag != 0xA0:
            raise Sm2KeyError("unexpected field in EC private key")
    return d


def _encrypt(der: bytes, passphrase: bytes) -> bytes:
    salt, iv = os.urandom(16), os.urandom(16)
    key = _pbkdf2(passphrase, salt, PBKDF2_ITERATIONS)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padder.update(der) + padder.finalize()) + encryptor.finalize()
    kdf = _tlv(
        _SEQ,
        _tlv(_OID, _OID_PBKDF2)
        + _tlv(
            _SEQ,
            _tlv(_OCTETS, salt)
            + _int(PBKDF2_ITERATIONS)
            + _tlv(_SEQ, _tlv(_OID, _OID_HMAC_SHA256) + _tlv(_NULL, b"")),
        ),
    )
    cipher = _tlv(_SEQ, _tlv(_OID, _OID_AES256_CBC) + _tlv(_OCTETS, iv))
    algorithm = _tlv(_SEQ, _tlv(_OID, _OID_PBES2) + _tlv(_SEQ, kdf + cipher))
    return _tlv(_SEQ, algorithm + _tlv(_OCTETS, body))


def _decrypt(der: bytes, passphrase: bytes) -> bytes:
    unsupported = Sm2KeyError(
        "encrypted key file: only PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC is read"
    )
    (outer,) = _expect(der, _SEQ)
    algorithm, body = _expect(outer, _SEQ, _OCTETS)
    oid, params = _expect(algorithm, _OID, _SEQ)
    if oid != _OID_PBES2:
        raise unsupported
    kdf, cipher = _expect(params, _SEQ, _SEQ)
    kdf_oid, kdf_params = _expect(kdf, _OID, _SEQ)
    cipher_oid, iv = _expect(cipher, _OID, _OCTETS)
    if kdf_oid != _OID_PBKDF2 or cipher_oid != _OID_AES256_CBC or len(iv) != 16:
        raise unsupported
    items = _items(kdf_params)
    tags = [t for t, _ in items]
    if tags == [_OCTETS, _INT, _INT, _SEQ]:  # optional keyLength
        if _read_int(items[2][1]) != 32:
            raise unsupported
        del items[2]
    elif tags != [_OCTETS, _INT, _SEQ]:  # the PRF defaults to HMAC-SHA1: not read
        raise unsupported
    if _expect(items[2][1], _OID, _NULL) != [_OID_HMAC_SHA256, b""]:
        raise unsupported
    iterations = _read_int(items[1][1])
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise Sm2KeyError(f"encrypted key file: {iterations} PBKDF2 rounds is out of range")
    if not body or len(body) % 16:
        raise Sm2KeyError("encrypted key file: ciphertext is not whole AES blocks")
    key = _pbkdf2(passphrase, items[0][1], iterations)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(decryptor.update(body) + decryptor.finalize())
        plain += unpadder.finalize()
    except ValueError as exc:
        raise Sm2KeyError("cannot read the key file: wrong passphrase or not a key") from exc
    try:
        _read_private_key_info(plain)
    except Sm2KeyError as exc:  # padding matched by chance (1 in 256): still wrong
        raise Sm2KeyError("cannot read the key file: wrong passphrase or not a key") from exc
    return plain


def _pbkdf2(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*\Z")


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der)
    lines = b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label.encode(), lines, label.encode())


def _unpem(data: bytes) -> tuple[str, bytes]:
    match = _PEM.search(data.strip() + b"\n")
    if not match:
        raise Sm2KeyError("not a PEM key file")
    try:
        der = base64.b64decode(re.sub(rb"\s", b"", match.group(2)), validate=True)
    except ValueError as exc:
        raise Sm2KeyError("PEM key file: bad base64") from exc
    return match.group(1).decode(), der
