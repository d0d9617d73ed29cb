"""C2SP tlog-proof: a self-contained, offline-checkable proof that one entry is in a log.

A consumer or a court holding a charging record and its ``.tlog-proof`` file
can check, with nothing but the city log's verifier key, that the platform
logged exactly that record: the file carries the entry's index, its RFC 6962
inclusion path and the log's signed checkpoint (c2sp.org/tlog-proof@v1)::

    c2sp.org/tlog-proof@v1
    extra <base64, optional, unauthenticated>
    index <decimal>
    <base64 SHA-256 hash>      zero or more, leaf's sibling first
                               (empty line)
    <signed checkpoint note, verbatim>

The format is shared with other tools (Go's torchwood ``spicy``, sigsum
tooling), so parsing is strict about our side of it and verbatim about the
checkpoint note, which is checked by `ledger.note`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ledger.note import (
    Checkpoint,
    NoteError,
    Verifier,
    open_checkpoint,
    parse_note,
)

__all__ = [
    "HEADER",
    "InclusionError",
    "ProofFormatError",
    "TlogProof",
    "TlogProofError",
    "format_tlog_proof",
    "parse_tlog_proof",
    "verify_tlog_proof",
    "verify_tlog_proof_hash",
]

HEADER = b"c2sp.org/tlog-proof@v1"
HASH_SIZE = 32
MAX_PROOF_HASHES = 64
"""An inclusion path in a tree of at most 2^64 leaves has at most 64 hashes."""

_DECIMAL = re.compile(rb"0|[1-9][0-9]*")


class TlogProofError(ValueError):
    """Base class: the proof does not show that the entry is in the log."""


class ProofFormatError(TlogProofError):
    """The bytes are not a well-formed c2sp.org/tlog-proof@v1."""


class InclusionError(TlogProofError):
    """The checkpoint is genuine but the entry is not at that index in that tree."""


@dataclass
class TlogProof:
    """A parsed tlog-proof. ``extra`` is None when the optional line is absent."""

    index: int
    extra: bytes | None
    hashes: list[bytes] = field(default_factory=list)
    checkpoint_note: bytes = b""

    def to_bytes(self) -> bytes:
        return format_tlog_proof(self.index, self.hashes, self.checkpoint_note, self.extra)


def _b64decode(line: bytes, what: str) -> bytes:
    try:
        return binascii.a2b_base64(line, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ProofFormatError(f"malformed tlog-proof: {what} is not valid base64") from None


def format_tlog_proof(
    index: int,
    hashes: Sequence[bytes],
    checkpoint_note: bytes,
    extra: bytes | None = None,
) -> bytes:
    """Serialize a tlog-proof. ``checkpoint_note`` is the signed checkpoint, verbatim."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**64:
        raise ProofFormatError(f"tlog-proof index {index!r} is not in 0..2^64-1")
    if len(hashes) > MAX_PROOF_HASHES:
        raise ProofFormatError(f"tlog-proof has {len(hashes)} hashes, at most 64 possible")
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofFormatError(f"tlog-proof hash {i} is not a 32-byte SHA-256 hash")
    if not checkpoint_note.endswith(b"\n"):
        raise ProofFormatError("tlog-proof checkpoint note must end with a newline")
    lines = [HEADER]
    if extra is not None:
        lines.append(b"extra " + base64.b64encode(extra))
    lines.append(b"index " + str(index).encode("ascii"))
    lines.extend(base64.b64encode(h) for h in hashes)
    return b"\n".join(lines) + b"\n\n" + bytes(checkpoint_note)


def parse_tlog_proof(data: bytes, *, check_checkpoint: bool = True) -> TlogProof:
    """Strictly parse a tlog-proof; `ProofFormatError` says what is wrong.

    With ``check_checkpoint`` (the default) the embedded note must be a
    syntactically valid signed checkpoint; its signatures are checked only by
    `verify_tlog_proof`, which knows the trusted keys.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("a tlog-proof is bytes")
    data = bytes(data)
    head, sep, checkpoint_note = data.partition(b"\n\n")
    if not sep:
        raise ProofFormatError(
            "malformed tlog-proof: no empty line between the proof and the checkpoint"
        )
    lines = head.split(b"\n")
    if lines[0] != HEADER:
        raise ProofFormatError(
            f"not a tlog-proof: first line must be {HEADER.decode()!r}, "
            f"got {lines[0][:40].decode('utf-8', 'replace')!r}"
        )
    pos = 1
    extra: bytes | None = None
    if pos < len(lines) and lines[pos].startswith(b"extra "):
        extra = _b64decode(lines[pos][len(b"extra ") :], "extra data")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith(b"index "):
        raise ProofFormatError("malformed tlog-proof: missing 'index N' line")
    digits = lines[pos][len(b"index ") :]
    # 20 digits at most before int(): Python refuses to convert over 4,300 (ValueError)
    if len(digits) > 20 or not _DECIMAL.fullmatch(digits) or int(digits) >= 2**64:
        raise ProofFormatError(
            "malformed tlog-proof: index must be a decimal without leading zeros, below 2^64"
        )
    index = int(digits)
    hash_lines = lines[pos + 1 :]
    if len(hash_lines) > MAX_PROOF_HASHES:
        raise ProofFormatError(
            f"malformed tlog-proof: {len(hash_lines)} proof hashes, at most 64 possible"
        )
    hashes = []
    for n, line in enumerate(hash_lines, 1):
        h = _b64decode(line, f"proof hash {n}")
        if len(h) != HASH_SIZE:
            raise ProofFormatError(f"malformed tlog-proof: proof hash {n} is not 32 bytes")
        hashes.append(h)
    if not checkpoint_note:
        raise ProofFormatError("malformed tlog-proof: no checkpoint after the empty line")
    if check_checkpoint:
        try:
            text, _sigs = parse_note(checkpoint_note)
            Checkpoint.parse(text)
        except NoteError as exc:
            raise ProofFormatError(f"malformed tlog-proof: embedded checkpoint: {exc}") from None
    return TlogProof(index, extra, hashes, checkpoint_note)


def verify_tlog_proof(
    proof_bytes: bytes,
    leaf: bytes,
    verifiers: Verifier | Iterable[Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """Check that ``leaf`` (the entry bytes) is in the log, and return the checkpoint.

    The checkpoint must verify under one of ``verifiers`` (see
    `ledger.note.open_note`; pass the log's key, and witness keys only if a
    witness cosignature alone should suffice) and, when given, be for
    ``origin``. Then the inclusion path must lead from RFC 6962
    leaf_hash(leaf) at ``index`` to the checkpoint's root. Raises
    `ProofFormatError`, a `ledger.note.NoteError` or `InclusionError`.
    """
    from ledger import merkle  # lazily: merkle is another module's contract

    return verify_tlog_proof_hash(proof_bytes, merkle.leaf_hash(leaf), verifiers, origin)


def verify_tlog_proof_hash(
    proof_bytes: bytes,
    leaf_hash: bytes,
    verifiers: Verifier | Iterable[Verifier],
    origin: str | None = None,
) -> Checkpoint:
    """`verify_tlog_proof` for a record hash computed by the caller.

    Other logs define their own leaves (a Sigsum leaf, a Go checksum database
    record), so a proof for their entries is checked from the record hash.
    """
    from ledger import merkle  # lazily: merkle is another module's contract

    proof = parse_tlog_proof(proof_bytes)
    checkpoint, _note = open_checkpoint(proof.checkpoint_note, verifiers, origin)
    if proof.index >= checkpoint.size:
        raise InclusionError(
            f"index {proof.index} is beyond the checkpoint's tree size {checkpoint.size}"
        )
    try:
        ok = merkle.verify_inclusion(
            leaf_hash, proof.index, checkpoint.size, proof.hashes, checkpoint.root
        )
    except merkle.ProofError as exc:
        raise InclusionError(
            f"entry is not included at index {proof.index} of {checkpoint.origin} "
            f"at size {checkpoint.size}: {exc}"
        ) from None
    if ok is False:  # tolerate a bool-returning verify_inclusion
        raise InclusionError(
            f"entry is not included at index {proof.index} of {checkpoint.origin} "
            f"at size {checkpoint.size}"
        )
    return checkpoint
