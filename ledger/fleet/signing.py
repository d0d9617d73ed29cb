"""Deterministic keys, signatures and PII sealing for the simulator, spread over processes.

Why deterministic: the same ``--seed`` must give byte-identical entries, so a
bench is repeatable, a restarted realtime run re-sends entries the platform
recognises as duplicates (409) rather than as conflicting twins, and truth
files name the same leaf hashes run after run. Three sources of randomness
are pinned down:

* keys — ``SigningKey.from_seed(alg, f"{seed}/{label}")``;
* ECDSA nonces — RFC 6979 deterministic signing (Ed25519 is deterministic anyway);
* PII sealing — the ephemeral X25519 key and nonce come from an HMAC of the
  seed, the record context and the plaintext; the output is the exact
  ``ledger.pii`` format and opens with ``ledger.pii.open_sealed``. (Never do this
  with real personal data: it is only safe because the seed is the simulation's.)

Signing dominates generation (P-256 ≈ 12 k signatures/s per core here), so
batch mode fans it out over a process pool; each worker derives and caches
the keys it meets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ledger import pii
from ledger.keys import SigningKey, low_s
from ledger.records import DOMAIN, VERSION, canonical_json, validate_body

SignJob = tuple[str, dict[str, Any], str]
"""(record type, body, signer label); a session body may hold ``pii`` as a dict to seal."""


def key_seed(seed: int, label: str) -> bytes:
    return f"{seed}/{label}".encode()


def signing_key(seed: int, alg: str, label: str) -> SigningKey:
    """The simulator's key for ``label`` (see ``model.*_label``)."""
    return SigningKey.from_seed(alg, key_seed(seed, label))


def enc_private_key(seed: int) -> X25519PrivateKey:
    """The authority's PII decryption key for this simulation (written by --keys-out)."""
    return X25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"evm-sim-enc\x00" + str(seed).encode()).digest()
    )


def enc_private_pem(seed: int) -> bytes:
    return enc_private_key(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


_DETERMINISTIC_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def sign_deterministic(key: SigningKey, message: bytes) -> bytes:
    """Signature in the ``ledger.keys`` wire form, with RFC 6979 nonces for P-256."""
    if key.alg != "p256":
        return key.sign(message)
    private = key._private  # the wrapped cryptography key; keys.py has no deterministic mode
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(private.sign(message, _DETERMINISTIC_ECDSA))
    return low_s(r, s)  # the platform refuses high-S P-256 signatures (docs/records.md)


def seal_deterministic(
    values: dict[str, Any], recipient: X25519PublicKey, context: str, secret: bytes
) -> str:
    """``ledger.pii.seal`` with ephemeral key and nonce derived from ``secret`` (sim only)."""
    plaintext = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
    material = hmac.new(secret, context.encode() + b"\x00" + plaintext, hashlib.sha512).digest()
    eph = X25519PrivateKey.from_private_bytes(material[:32])
    nonce = material[32:44]
    eph_raw, rec_raw = pii._raw(eph.public_key()), pii._raw(recipient)
    key = pii._derive(eph.exchange(recipient), eph_raw, rec_raw)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, context.encode())
    return base64.b64encode(eph_raw + nonce + ciphertext).decode()


class Signer:
    """Signs jobs in this process; the pool workers each hold one."""

    def __init__(self, seed: int, alg: str) -> None:
        self.seed = seed
        self.alg = alg
        self.keys: dict[str, SigningKey] = {}
        self.recipient = enc_private_key(seed).public_key()
        self.secret = hashlib.sha256(b"evm-sim-pii\x00" + str(seed).encode()).digest()

    def key(self, label: str) -> SigningKey:
        key = self.keys.get(label)
        if key is None:
            key = self.keys[label] = signing_key(self.seed, self.alg, label)
        return key

    def public_keys(self, labels: Sequence[str]) -> list[str]:
        return [self.key(label).public_key.text for label in labels]

    def sign(self, jobs: Sequence[SignJob]) -> list[bytes]:
        out: list[bytes] = []
        for rtype, body, label in jobs:
            if rtype == "session" and isinstance(body.get("pii"), dict):
                context = f"session {body['session_id']}"
                body = {
                    **body,
                    "pii": seal_deterministic(body["pii"], self.recipient, context, self.secret),
                }
            validate_body(rtype, body)
            key = self.key(label)
            canonical = canonical_json(body)
            signature = sign_deterministic(key, DOMAIN + rtype.encode() + b"\n" + canonical)
            # Record.to_bytes() spelled out, to serialise the body once: keys b < s < t < v;
            # alg, key id, base64 and type need no JSON escaping
            out.append(
                b'{"b":%s,"s":{"a":"%s","k":"%s","v":"%s"},"t":"%s","v":%d}'
                % (
                    canonical,
                    key.alg.encode(),
                    key.key_id.encode(),
                    base64.b64encode(signature),
                    rtype.encode(),
                    VERSION,
                )
            )
        return out


_WORKER: Signer | None = None


def _init_worker(seed: int, alg: str) -> None:
    global _WORKER
    _WORKER = Signer(seed, alg)


def _worker_sign(jobs: list[SignJob]) -> list[bytes]:
    assert _WORKER is not None
    return _WORKER.sign(jobs)


def _worker_public_keys(labels: list[str]) -> list[str]:
    assert _WORKER is not None
    return _WORKER.public_keys(labels)


class SignPool:
    """Signing spread over ``workers`` processes (0 = sign in this process, for tests)."""

    CHUNK = 1500

    def __init__(self, seed: int, alg: str, workers: int | None = None) -> None:
        self.local = Signer(seed, alg)
        n = (os.cpu_count() or 1) if workers is None else workers
        self.executor: Executor | None = (
            ProcessPoolExecutor(n, initializer=_init_worker, initargs=(seed, alg)) if n else None
        )
        self.workers = n

    def _chunks(self, items: Sequence[Any]) -> list[list[Any]]:
        size = self.CHUNK
        if self.workers:
            size = max(50, min(size, -(-len(items) // self.workers)))
        return [list(items[i : i + size]) for i in range(0, len(items), size)]

    def public_keys(self, labels: Sequence[str]) -> list[str]:
        if self.executor is None or len(labels) < 200:
            return self.local.public_keys(labels)
        parts = self.executor.map(_worker_public_keys, self._chunks(labels))
        return [text for part in parts for text in part]

    def submit(self, jobs: Sequence[SignJob]) -> list[Any]:
        """Futures (or ready lists, without workers) for the signed entries of ``jobs``."""
        if self.executor is None:
            return [self.local.sign(jobs)]
        return [self.executor.submit(_worker_sign, chunk) for chunk in self._chunks(jobs)]

    def sign(self, jobs: Sequence[SignJob]) -> list[bytes]:
        return collect(self.submit(jobs))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


def collect(parts: list[Any]) -> list[bytes]:
    """Entries from ``SignPool.submit``'s futures, in job order (blocks)."""
    out: list[bytes] = []
    for part in parts:
        out.extend(part if isinstance(part, list) else part.result())
    return out
