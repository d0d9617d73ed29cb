"""Witness cosignatures (c2sp.org/tlog-cosignature) and the "k of n witnesses" policy.

A log operator's signature alone cannot stop the operator from showing two regulators'
offices two different histories (a split view): each history is validly signed. A
witness is an independent body that cosigns a checkpoint only if it is consistent with
every checkpoint of that log it cosigned before (``python -m ledger witness``,
docs/witness.md). A checkpoint that carries cosignatures from enough *named*
witnesses has therefore been seen, consistently, by bodies the platform does not
control; a checkpoint without them may be one that only this office is shown.

The cosignature lines are ordinary C2SP signed-note signature lines (type 0x04,
``cosignature/v1``), appended after the log's own signature: verifiers that do not know
the witness keys ignore them (Go's sumdb note does), so the checkpoint stays
byte-compatible.

A policy file (also the platform's witness configuration) is plain text::

    # comment
    quorum 2
    witness <vkey> [<add-checkpoint URL prefix>]
    witness <vkey> [<URL prefix>]
    witness <vkey> [<URL prefix>]

The workstation uses the keys and the quorum; the platform uses the keys and URLs.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from pathlib import Path

from ledger.note import (
    ALG_COSIGNATURE_V1,
    KeyFormatError,
    NoteError,
    Signature,
    Signer,
    Verifier,
    parse_note,
)

__all__ = [
    "DEFAULT_QUORUM",
    "Cosigner",
    "PolicyError",
    "QuorumError",
    "WitnessPolicy",
    "cosign_line",
    "verified_cosignatures",
]

DEFAULT_QUORUM = 2
"""Default k of "k of n": two of (by default) three witnesses, as issue 17 sets it."""


class PolicyError(ValueError):
    """The witness policy file is unusable (the office cannot check quorum with it)."""


class QuorumError(NoteError):
    """A checkpoint lacks cosignatures from enough of the policy's named witnesses."""

    def __init__(self, message: str, have: list[str], missing: list[str], quorum: int) -> None:
        super().__init__(message)
        self.have, self.missing, self.quorum = have, missing, quorum


@dataclass(frozen=True)
class Cosigner:
    """One named witness: its cosigner verifier key and, for the platform, its URL prefix."""

    verifier: Verifier
    url: str | None = None

    @property
    def name(self) -> str:
        return self.verifier.name


def cosign_line(signer: Signer, text: str) -> str:
    """The witness's cosignature/v1 line over a checkpoint body ``text``.

    ``Signer.sign`` of a type-0x04 key writes the 8-byte timestamp and signs
    "cosignature/v1\\ntime T\\n" + text (c2sp.org/tlog-cosignature); the line carries
    the 4-byte key ID in front, as every note signature does.
    """
    if signer.alg != ALG_COSIGNATURE_V1:
        raise KeyFormatError(
            f"key {signer.name} is a log key (type 0x01), not a witness cosigner key "
            "(type 0x04): make one with `python -m ledger note keygen --cosigner`"
        )
    sig = struct.pack(">I", signer.key_id) + signer.sign(text.encode("utf-8"))
    return f"\u2014 {signer.name} {base64.b64encode(sig).decode('ascii')}\n"


def verified_cosignatures(
    note: bytes, cosigners: list[Cosigner] | tuple[Cosigner, ...]
) -> tuple[dict[str, int], list[str]]:
    """Which named witnesses validly cosigned the note's text, and which lines were bad.

    Returns ``({witness name: cosignature time}, [names whose line did not verify])``.
    Signatures from keys not in ``cosigners`` (the log's own, other witnesses') are
    ignored, as the spec requires. Raises `NoteError` if the note itself is malformed.
    """
    text, sigs = parse_note(note)
    msg = text.encode("utf-8")
    by_id = {(c.verifier.name, c.verifier.key_id): c for c in cosigners}
    good: dict[str, int] = {}
    bad: list[str] = []
    for sig in sigs:
        cosigner = by_id.get((sig.name, sig.key_id))
        if cosigner is None:
            continue
        raw = _raw(sig)
        if raw is not None and cosigner.verifier.verify(msg, raw):
            good[sig.name] = struct.unpack(">Q", raw[:8])[0]
        elif sig.name not in good:
            bad.append(sig.name)
    return good, [name for name in bad if name not in good]


def _raw(sig: Signature) -> bytes | None:
    try:
        return sig.raw
    except ValueError:
        return None


class WitnessPolicy:
    """A checkpoint is accepted only with valid cosignatures of ``quorum`` named witnesses."""

    def __init__(self, cosigners: list[Cosigner], quorum: int = DEFAULT_QUORUM) -> None:
        if not cosigners:
            raise PolicyError("a witness policy needs at least one witness")
        names = [c.name for c in cosigners]
        if len(set(names)) != len(names):
            raise PolicyError(f"witness names must be distinct: {names}")
        for c in cosigners:
            if c.verifier.alg != ALG_COSIGNATURE_V1:
                raise PolicyError(
                    f"witness key {c.verifier.vkey[:80]} is not a cosigner key (type 0x04)"
                )
        if not 1 <= quorum <= len(cosigners):
            raise PolicyError(
                f"quorum {quorum} is impossible with {len(cosigners)} witnesses "
                f"(it must be between 1 and {len(cosigners)})"
            )
        self.cosigners = tuple(cosigners)
        self.quorum = quorum

    @classmethod
    def parse(cls, text: str) -> WitnessPolicy:
        """A policy from its text form (see the module docstring)."""
        quorum: int | None = None
        cosigners: list[Cosigner] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            word, *rest = line.split()
            try:
                if word == "quorum" and len(rest) == 1 and rest[0].isdigit():
                    quorum = int(rest[0])
                elif word == "witness" and 1 <= len(rest) <= 2:
                    cosigners.append(
                        Cosigner(Verifier(rest[0]), rest[1] if len(rest) > 1 else None)
                    )
                else:
                    raise PolicyError("expected 'quorum K' or 'witness VKEY [URL]'")
            except (PolicyError, KeyFormatError) as exc:
                raise PolicyError(f"witness policy line {number}: {exc}") from None
        if quorum is None:  # default 2 (of 3); with a single witness, that one
            quorum = min(DEFAULT_QUORUM, max(len(cosigners), 1))
        return cls(cosigners, quorum)

    @classmethod
    def load(cls, path: Path | str) -> WitnessPolicy:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read the witness policy {path}: {exc}") from None
        return cls.parse(text)

    def to_text(self) -> str:
        lines = [f"quorum {self.quorum}"]
        for c in self.cosigners:
            lines.append(f"witness {c.verifier.vkey}" + (f" {c.url}" if c.url else ""))
        return "\n".join(lines) + "\n"

    def check(self, note: bytes, what: str = "the checkpoint") -> dict[str, int]:
        """The valid cosignatures (name → time) if they reach the quorum, else `QuorumError`.

        The message says what a regulator can do about it: it names who cosigned, who
        did not, and what the two likely causes are.
        """
        good, bad = verified_cosignatures(note, self.cosigners)
        if len(good) >= self.quorum:
            return good
        missing = [c.name for c in self.cosigners if c.name not in good]
        have = sorted(good)
        parts = [
            f"{what} is cosigned by {len(good)} of the {len(self.cosigners)} named witnesses "
            f"({', '.join(have) or 'none'}); this office's policy requires {self.quorum}",
            f"missing: {', '.join(missing)}",
        ]
        if bad:
            parts.append(f"invalid cosignature lines from: {', '.join(bad)}")
        parts.append(
            "nothing from it was applied. Either the witnesses cannot reach the platform "
            "(ask the platform operator and the witness operators), or the platform is "
            "showing this office a checkpoint the witnesses have not seen (a possible split "
            "view: compare the checkpoint with another office's and keep it as evidence)"
        )
        raise QuorumError("; ".join(parts), have, missing, self.quorum)
