"""Re-checking the evidence of a halted sync, with the log's key and nothing else.

A halt accuses the platform, so its evidence must convince someone who trusts neither
the platform nor this workstation: a court, the platform's operator, another regulator.
`check_evidence` takes a stored ``misbehaviour`` row and the log's verifier key and
either says what the evidence proves, or raises `EvidenceError` saying why it does not.
It never contacts the platform: everything it needs is in the row (the signed
checkpoints, the proof, the offending bytes as first received, the tiles).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from ledger import merkle
from ledger.merkle import ProofError
from ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from ledger.sigcheck import check_entries
from ledger.tiles import TILE_HEIGHT, TileError, TileHashReader, parse_tile_path
from ledger.tlog_proof import TlogProofError, verify_tlog_proof, verify_tlog_proof_hash

__all__ = ["EvidenceError", "check_evidence"]


class EvidenceError(ValueError):
    """The stored evidence does not, on its own, prove what the halt claims."""


def check_evidence(row: Mapping[str, Any], vkey: str) -> str:
    """What the evidence of one ``misbehaviour`` row proves, checked offline.

    Raises `EvidenceError` when it proves nothing (a missing or unsigned checkpoint, a
    proof that does not verify, an entry that is in fact fine)."""
    verifier = Verifier(vkey)
    kind = row["kind"]
    evidence = row["evidence"] or {}
    if kind in ("fork", "rollback"):
        return _check_disagreement(row, evidence, verifier)
    if kind == "bad-tile":
        return _check_tile(row, evidence, verifier)
    if kind in ("bad-bundle", "bad-signature", "bad-entry", "unknown-key", "signer-rule"):
        return _check_entry(row, evidence, verifier, kind)
    raise EvidenceError(f"unknown kind of misbehaviour {kind!r}")


def _open(note: bytes | None, verifier: Verifier, which: str) -> Checkpoint:
    if not note:
        raise EvidenceError(f"the evidence has no {which} checkpoint")
    try:
        checkpoint, _ = open_checkpoint(bytes(note), verifier, verifier.name)
    except NoteError as exc:
        raise EvidenceError(f"the {which} checkpoint is not signed by the log key: {exc}") from exc
    return checkpoint


def _check_disagreement(row: Mapping[str, Any], evidence: Mapping, verifier: Verifier) -> str:
    a = _open(row["checkpoint_a"], verifier, "first")
    b = _open(row["checkpoint_b"], verifier, "second")
    if a.size == b.size:
        if a.root == b.root:
            raise EvidenceError("both checkpoints sign the same tree")
        return f"two different trees of size {a.size} are signed with the log key"
    small, big = (a, b) if a.size < b.size else (b, a)
    try:
        prefix = bytes.fromhex(evidence["prefix_root"])
        proof = [bytes.fromhex(h) for h in evidence["proof"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise EvidenceError("the evidence lacks the prefix root or its proof") from exc
    try:
        merkle.verify_consistency(small.size, big.size, proof, prefix, big.root)
    except ProofError as exc:
        raise EvidenceError(f"the consistency proof does not verify: {exc}") from exc
    if prefix == small.root:
        raise EvidenceError("the smaller checkpoint is a prefix of the bigger one")
    return (
        f"the signed tree of size {big.size} begins with root {prefix.hex()[:16]}… at size "
        f"{small.size}, but the log key also signed root {small.root.hex()[:16]}… for that size"
    )


def _check_tile(row: Mapping[str, Any], evidence: Mapping, verifier: Verifier) -> str:
    checkpoint = _open(row["checkpoint_b"], verifier, "signed")
    try:
        tiles = {p: base64.b64decode(d) for p, d in evidence["tiles"].items()}
        path = evidence["tile"].split(", ")[0]
        ref = parse_tile_path(path)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise EvidenceError("the evidence lacks the offending tile or its path") from exc

    def fetch(p: str) -> bytes:
        if p not in tiles:
            raise LookupError(p)
        return tiles[p]

    reader = TileHashReader(checkpoint.size, checkpoint.root, fetch)
    level, index = ref.level * TILE_HEIGHT, ref.index << TILE_HEIGHT
    try:
        reader.node_hash(level, index)
    except TileError as exc:
        return f"tiles as received do not hash to the signed root of size {checkpoint.size}: {exc}"
    except (LookupError, OSError, ProofError) as exc:
        raise EvidenceError(f"the evidence lacks a tile needed to check it: {exc}") from exc
    raise EvidenceError(f"tile {path} as stored is consistent with the signed checkpoint")


def _check_entry(row: Mapping[str, Any], evidence: Mapping, verifier: Verifier, kind: str) -> str:
    proof, data = row["proof"], row["offending_bytes"]
    if not proof or data is None:
        raise EvidenceError("the evidence lacks the tlog-proof or the entry")
    proof, data = bytes(proof), bytes(data)
    index = evidence.get("index")
    try:
        if kind == "bad-bundle":
            expected = bytes.fromhex(evidence["leaf_hash"])
            checkpoint = verify_tlog_proof_hash(proof, expected, verifier, verifier.name)
            if merkle.leaf_hash(data) == expected:
                raise EvidenceError("the entry received is the one in the log")
            return (
                f"entry {index} as received is not the entry the signed tree of size "
                f"{checkpoint.size} holds at that index"
            )
        checkpoint = verify_tlog_proof(proof, data, verifier, verifier.name)
    except (TlogProofError, NoteError) as exc:
        raise EvidenceError(f"the tlog-proof does not place the entry in the log: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise EvidenceError("the evidence lacks the entry's expected leaf hash") from exc
    where = f"entry {index} of the signed tree of size {checkpoint.size}"
    if kind == "unknown-key":
        return f"{where} is in the log; its signer is not in the log's registry before it"
    if kind == "signer-rule":
        # The rule broken is judged against the registry entries before it, which are in
        # the same signed log: the proof shows the platform logged this entry.
        return (
            f"{where} is in the log; by the registry before it its signer may not sign it "
            f"({row.get('description') or 'who may sign what'})"
        )
    outcome = check_entries([data], [evidence.get("signer_key") or ""])[0]
    if outcome is None:
        raise EvidenceError(f"{where} parses and its signature verifies")
    if kind == "bad-signature" and outcome[0] != "signature":
        raise EvidenceError(f"{where} fails for another reason: {outcome[1]}")
    return f"{where} is in the log and fails: {outcome[1]}"
