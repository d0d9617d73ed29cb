"""Personal identifiers (vehicle, account) encrypted to the regulator's key.

The metering data in a record stays public so anyone holding the log can check
a charge; only the person-identifying part is sealed. Scheme (documented in
docs/records.md): X25519 ephemeral-static ECDH → HKDF-SHA256 → ChaCha20-Poly1305,
``base64(ephemeral_pub(32) || nonce(12) || ciphertext)``; the associated data
binds the ciphertext to the record's subject so it cannot be moved to another
record.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"evmetrology-pii/v1"


class PiiError(ValueError):
    pass


def _derive(shared: bytes, eph: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=eph + recipient, info=_INFO).derive(shared)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def enc_key_text(public: X25519PublicKey) -> str:
    return "x25519:" + base64.b64encode(_raw(public)).decode()


def parse_enc_key(text: str) -> X25519PublicKey:
    alg, _, b64 = text.partition(":")
    if alg != "x25519":
        raise PiiError(f"encryption key {text[:30]!r}: expected 'x25519:…'")
    try:
        return X25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))
    except ValueError as exc:
        raise PiiError(f"encryption key {text[:30]!r}: {exc}") from exc


def seal(values: dict[str, Any], recipient: X25519PublicKey, context: str) -> str:
    eph = X25519PrivateKey.generate()
    eph_raw, rec_raw = _raw(eph.public_key()), _raw(recipient)
    key = _derive(eph.exchange(recipient), eph_raw, rec_raw)
    nonce = os.urandom(12)
    plaintext = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, context.encode())
    return base64.b64encode(eph_raw + nonce + ciphertext).decode()


def open_sealed(token: str, private: X25519PrivateKey, context: str) -> dict[str, Any]:
    try:
        blob = base64.b64decode(token, validate=True)
    except ValueError as exc:
        raise PiiError("personal data field is not base64") from exc
    if len(blob) < 32 + 12 + 16:
        raise PiiError("personal data field is truncated")
    eph_raw, nonce, ciphertext = blob[:32], blob[32:44], blob[44:]
    eph = X25519PublicKey.from_public_bytes(eph_raw)
    key = _derive(private.exchange(eph), eph_raw, _raw(private.public_key()))
    try:
        plaintext = ChaCha20Poly1305(key).decrypt(nonce, ciphertext, context.encode())
    except InvalidTag as exc:
        raise PiiError(
            "personal data cannot be decrypted: wrong regulator key or altered record"
        ) from exc
    return json.loads(plaintext)
