"""Signing keys of the record sources: meters, operators, inspectors, the authority.

Default algorithm ECDSA P-256 with SHA-256 (the OCMF choice, what meter secure
elements ship with); Ed25519 accepted; SM2 with SM3 for the 国密 chips of fuel
dispensers (GB/T 9081-2023; `ledger.sm2`). Signatures are fixed-length raw bytes
(P-256 and SM2: r||s, 64 bytes, as IEEE P1363) so a signed record has one canonical form.

A public key travels as text ``p256:<base64 SEC1 compressed point>``,
``ed25519:<base64 raw>`` or ``sm2:<base64 SEC1 compressed point>``; its key ID is the
first 8 bytes of SHA-256 of that text, in hex. The text form is what registry records
carry.

SM2 signatures have no keyless twin, unlike ECDSA's (r, n − s), so no low-S rule: the
verifier computes t = r + s and checks r = e + x(sG + tP) mod n. The other point with
the same x, −(sG + tP), would need s' with s' + (r + s')d ≡ −(s + (r + s)d), i.e.
s' = −s − 2rd(1 + d)^−1 = s − 2k(1 + d)^−1 (mod n): computing it takes the private key d
(or the nonce k, which gives d). And r, s must lie in [1, n − 1] in 32 bytes each, so
r + n or s + n are refused too (checked in `tests/test_keys_sm2.py`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ledger import sm2

ALGORITHMS = ("p256", "ed25519", "sm2")
SM2_DEFAULT_ID = sm2.SM2_DEFAULT_ID
"""The SM2 signer ID in Z_A of every SM2 record: ``1234567812345678``, the default of
GB/T 35276-2017 (docs/records.md). A dispenser configured with another ID signs
records that do not verify here."""
_SIG_LEN = 64
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""n, the order of the P-256 group: (r, s) and (r, n - s) verify alike."""
_HALF_ORDER = P256_ORDER // 2


def low_s(r: int, s: int) -> bytes:
    """The P-256 signature (r, s) in its one accepted form: raw ``r‖s`` with s ≤ n/2.

    ECDSA's (r, n − s) verifies as well as (r, s), so anyone can turn a logged record
    into a second, different entry without the key (issue 13; Bitcoin's BIP 146 made
    low S the rule for the same reason). Our signers emit only the low form and the
    platform refuses the high one for new records (docs/records.md)."""
    if s > _HALF_ORDER:
        s = P256_ORDER - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def is_low_s(signature: bytes) -> bool:
    """Whether a raw 64-byte P-256 signature has s ≤ n/2 (False for any other length)."""
    return len(signature) == _SIG_LEN and int.from_bytes(signature[32:], "big") <= _HALF_ORDER


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # immutable; building it costs ~1 µs a verify


class KeyFormatError(ValueError):
    """A key that cannot be read or used; the message says which and why."""


@dataclass(frozen=True)
class PublicKey:
    """A source's verification key, with a cached backend object for fast verify."""

    alg: str
    raw: bytes
    _obj: object = field(default=None, repr=False, compare=False, hash=False)

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        alg, sep, b64 = text.partition(":")
        if not sep or alg not in ALGORITHMS:
            raise KeyFormatError(
                f"public key {text[:40]!r}: expected 'p256:…', 'ed25519:…' or 'sm2:…'"
            )
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise KeyFormatError(f"public key {text[:40]!r}: bad base64") from exc
        try:
            if alg == "p256":
                obj = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
                if len(raw) != 33:
                    raise ValueError("not a compressed point")
            elif alg == "sm2":
                obj = sm2.verifier(raw)  # checks: compressed, x < p, on the curve
            else:
                obj = ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except sm2.Sm2Unavailable as exc:
            raise KeyFormatError(f"public key {text[:40]!r}: {exc}") from exc
        except ValueError as exc:
            raise KeyFormatError(
                f"public key {text[:40]!r}: not a valid {alg} key ({exc})"
            ) from exc
        if base64.b64encode(raw).decode() != b64:
            raise KeyFormatError(f"public key {text[:40]!r}: non-canonical base64")
        return cls(alg, raw, obj)

    @cached_property
    def text(self) -> str:
        return f"{self.alg}:{base64.b64encode(self.raw).decode()}"

    def __reduce__(self) -> tuple:
        # The backend objects (cryptography's, OpenSSL's) cannot be pickled; the text can.
        return (PublicKey.parse, (self.text,))

    @cached_property
    def key_id(self) -> str:  # cached: a full sync asks once per entry
        return key_id_of(self.text)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is valid for ``message``; never raises on bad input."""
        if len(signature) != _SIG_LEN:
            return False
        obj = self._obj or PublicKey.parse(self.text)._obj
        if self.alg == "sm2":
            return sm2.verify(obj, message, signature)
        try:
            if self.alg == "p256":
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                if not (r > 0 and s > 0):
                    return False
                obj.verify(encode_dss_signature(r, s), message, _ECDSA_SHA256)
            else:
                obj.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def key_id_of(public_key_text: str) -> str:
    return hashlib.sha256(public_key_text.encode()).digest()[:8].hex()


def _sm2_private(make: Callable[..., sm2.Sm2Private], *args: bytes) -> sm2.Sm2Private:
    """An SM2 private key, with the library's refusal (e.g. no OpenSSL 3) as KeyFormatError."""
    try:
        return make(*args)
    except sm2.Sm2KeyError as exc:
        raise KeyFormatError(str(exc)) from exc


class SigningKey:
    """A private key that signs records. Never logged, only stored encrypted when asked."""

    def __init__(self, alg: str, private: object) -> None:
        if alg not in ALGORITHMS:
            raise KeyFormatError(f"unknown signature algorithm {alg!r}; use one of {ALGORITHMS}")
        self.alg = alg
        self._private = private
        if alg == "p256":
            raw = private.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
        elif alg == "sm2":
            raw = private.public_compressed
        else:
            raw = private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        self.public_key = PublicKey.parse(f"{alg}:{base64.b64encode(raw).decode()}")

    @classmethod
    def generate(cls, alg: str = "p256") -> SigningKey:
        if alg == "p256":
            return cls(alg, ec.generate_private_key(ec.SECP256R1()))
        if alg == "ed25519":
            return cls(alg, ed25519.Ed25519PrivateKey.generate())
        if alg == "sm2":
            return cls(alg, _sm2_private(sm2.Sm2Private.generate))
        raise KeyFormatError(f"unknown signature algorithm {alg!r}; use one of {ALGORITHMS}")

    @classmethod
    def from_seed(cls, alg: str, seed: bytes) -> SigningKey:
        """Deterministic key for the simulator's reproducible fleets (never for real meters)."""
        digest = hashlib.sha256(b"evm-sim-key\x00" + seed).digest()
        if alg == "ed25519":
            return cls(alg, ed25519.Ed25519PrivateKey.from_private_bytes(digest))
        if alg == "sm2":
            return cls(alg, _sm2_private(sm2.Sm2Private.from_seed_digest, digest))
        if alg != "p256":
            raise KeyFormatError(f"unknown signature algorithm {alg!r}; use one of {ALGORITHMS}")
        value = int.from_bytes(digest, "big") % (2**256 - 2**224 - 1) or 1
        return cls(alg, ec.derive_private_key(value, ec.SECP256R1()))

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        if self.alg == "p256":
            der = self._private.sign(message, ec.ECDSA(hashes.SHA256()))
            return low_s(*decode_dss_signature(der))
        return self._private.sign(message)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM; with a passphrase, PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)."""
        if self.alg == "sm2":
            return self._private.to_pem(passphrase)
        encryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> SigningKey:
        try:
            private = serialization.load_pem_private_key(data, password=passphrase)
        except TypeError as exc:
            raise KeyFormatError("the key file is encrypted: a passphrase is needed") from exc
        except ValueError as exc:
            raise KeyFormatError("cannot read the key file: wrong passphrase or not a key") from exc
        except UnsupportedAlgorithm:
            # cryptography reads PKCS#8 but refuses the SM2 curve: read it ourselves.
            try:
                return cls("sm2", sm2.Sm2Private.from_pem(data, passphrase))
            except sm2.Sm2KeyError as exc:
                raise KeyFormatError(f"cannot read the key file: {exc}") from exc
        if isinstance(private, ec.EllipticCurvePrivateKey):
            if not isinstance(private.curve, ec.SECP256R1):
                raise KeyFormatError(f"EC key on {private.curve.name}; only P-256 is accepted")
            return cls("p256", private)
        if isinstance(private, ed25519.Ed25519PrivateKey):
            return cls("ed25519", private)
        raise KeyFormatError("unsupported key type; use P-256, Ed25519 or SM2")

    def save(self, path: Path, passphrase: bytes | None = None) -> None:
        """Writes the key readable by its owner only, from the moment the file exists."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        with open(fd, "wb") as handle:
            handle.write(self.to_pem(passphrase))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger keygen", description="Generate a record-signing key pair."
    )
    parser.add_argument("--alg", choices=ALGORITHMS, default="p256")
    parser.add_argument("--out", required=True, type=Path, help="writes OUT.pem and OUT.pub")
    parser.add_argument("--passphrase-file", type=Path, help="encrypt the private key")
    args = parser.parse_args(argv)
    passphrase = args.passphrase_file.read_bytes().strip() if args.passphrase_file else None
    key = SigningKey.generate(args.alg)
    key.save(args.out.with_suffix(".pem"), passphrase)
    args.out.with_suffix(".pub").write_text(key.public_key.text + "\n")
    print(f"{key.public_key.text}  key-id {key.key_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
