"""Keys and signatures of the fuel fleet: SM2 for the dispensers' monitoring modules.

GB/T 9081-2023 puts a 国密 chip in the dispenser, so the monitoring modules sign with
SM2; the operators, inspectors and the authority keep the platform's default algorithm
(P-256), and the authority's key is the charging simulator's for the same seed and
algorithm (``ledger.fleet.signing.signing_key(seed, alg, "authority")``), so both
fleets can feed one platform. Until ``ledger.keys`` knows SM2 the modules sign with
P-256 (``ALG``).

Signatures are deterministic where the algorithm allows it (P-256 with RFC 6979 nonces,
``ledger.fleet.signing.sign_deterministic``; Ed25519 always; SM2 through
``ledger.sm2.Sm2Private.sign_deterministic`` when the key has it), so one seed gives
byte-identical entries. Records are built as ``ledger.records.sign_record`` builds them
(validated body, canonical bytes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

from ledger import keys
from ledger.fleet.signing import sign_deterministic, signing_key
from ledger.keys import SigningKey
from ledger.records import Record, canonical_json, signed_message, validate_body

ALG = "sm2" if "sm2" in keys.ALGORITHMS else "p256"
"""The monitoring modules' algorithm (SM2 once ``ledger.keys`` has it)."""

Job = tuple[str, dict, str]
"""(record type, body, signer label)"""


class FuelSigner:
    """Derives and caches the fleet's keys by label and signs records in this process."""

    def __init__(self, seed: int, alg: str = "p256", module_alg: str = ALG) -> None:
        self.seed = seed
        self.alg = alg
        self.module_alg = module_alg
        self.keys: dict[str, SigningKey] = {}

    def key(self, label: str) -> SigningKey:
        key = self.keys.get(label)
        if key is None:
            alg = self.module_alg if label.startswith("dispenser/") else self.alg
            key = self.keys[label] = signing_key(self.seed, alg, label)
        return key

    def public_key(self, label: str) -> str:
        return self.key(label).public_key.text

    def record(self, rtype: str, body: dict, label: str) -> Record:
        validate_body(rtype, body)
        body = json.loads(canonical_json(body))
        key = self.key(label)
        message = signed_message(rtype, body)
        # SM2 (h-sm2): ledger.sm2.Sm2Private.sign_deterministic, the wrapped key as
        # ledger.fleet.signing reaches P-256's; P-256 / Ed25519 through that module
        deterministic = getattr(getattr(key, "_private", None), "sign_deterministic", None)
        if key.alg == "sm2" and callable(deterministic):
            signature = deterministic(message)
        else:
            signature = sign_deterministic(key, message)
        return Record(rtype, body, key.alg, key.key_id, signature)

    def sign(self, jobs: Sequence[Job]) -> list[bytes]:
        return [self.record(rtype, body, label).to_bytes() for rtype, body, label in jobs]


_WORKER: FuelSigner | None = None


def _init(seed: int, alg: str, module_alg: str) -> None:
    global _WORKER
    _WORKER = FuelSigner(seed, alg, module_alg)


def _sign(jobs: list[Job]) -> list[bytes]:
    assert _WORKER is not None
    return _WORKER.sign(jobs)


def sign_all(
    jobs: Sequence[Job], seed: int, alg: str = "p256", workers: int = 0, module_alg: str = ALG
) -> list[bytes]:
    """Entries for ``jobs`` in order; ``workers`` > 0 spreads the signing over processes."""
    if workers <= 0 or len(jobs) < 2_000:
        return FuelSigner(seed, alg, module_alg).sign(jobs)
    size = max(500, min(5_000, -(-len(jobs) // (workers * 4))))
    chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
    executor: Executor = ProcessPoolExecutor(
        min(workers, os.cpu_count() or 1), initializer=_init, initargs=(seed, alg, module_alg)
    )
    with executor:
        return [entry for part in executor.map(_sign, chunks) for entry in part]
