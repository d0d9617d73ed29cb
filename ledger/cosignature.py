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
    max-age 86400          # optional: cosignatures older than this (seconds) do not count
    witness <vkey> [<add-checkpoint URL prefix>]
    witness <vkey> [<URL prefix>]
    witness <vkey> [<URL prefix>]

The workstation uses the keys, the quorum and the maximum age; the platform uses the keys
and URLs.

Why a maximum age: a cosignature says "this checkpoint was consistent with what I saw at
time T". Without a bound on T, a platform can keep showing one office an old, honestly
cosigned checkpoint — consistent, so no fork is ever detected — while the log grows for
everyone else: a split view by omission (a *frozen* view), which hides new seal events and
sessions from that office. The platform re-asks its witnesses for the current checkpoint
every ``COSIGN_REFRESH_S`` even when no entry arrives, so an honest log's cosignatures are
never older than that; an office that requires ``max-age`` catches a frozen view.
"""

from __future__ import annotations

import base64
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
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

    def __init__(
        self,
        cosigners: list[Cosigner],
        quorum: int = DEFAULT_QUORUM,
        max_age_s: int | None = None,
    ) -> None:
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
        if max_age_s is not None and max_age_s < 1:
            raise PolicyError(f"max-age {max_age_s} must be at least 1 second")
        self.cosigners = tuple(cosigners)
        self.quorum = quorum
        self.max_age_s = max_age_s

    @classmethod
    def parse(cls, text: str) -> WitnessPolicy:
        """A policy from its text form (see the module docstring)."""
        quorum: int | None = None
        max_age: int | None = None
        cosigners: list[Cosigner] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            word, *rest = line.split()
            try:
                if word == "quorum" and len(rest) == 1 and rest[0].isdigit():
                    quorum = int(rest[0])
                elif word == "max-age" and len(rest) == 1 and rest[0].isdigit():
                    max_age = int(rest[0])
                elif word == "witness" and 1 <= len(rest) <= 2:
                    cosigners.append(
                        Cosigner(Verifier(rest[0]), rest[1] if len(rest) > 1 else None)
                    )
                else:
                    raise PolicyError(
                        "expected 'quorum K', 'max-age SECONDS' or 'witness VKEY [URL]'"
                    )
            except (PolicyError, KeyFormatError) as exc:
                raise PolicyError(f"witness policy line {number}: {exc}") from None
        if quorum is None:  # default 2 (of 3); with a single witness, that one
            quorum = min(DEFAULT_QUORUM, max(len(cosigners), 1))
        return cls(cosigners, quorum, max_age)

    @classmethod
    def load(cls, path: Path | str) -> WitnessPolicy:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read the witness policy {path}: {exc}") from None
        return cls.parse(text)

    def to_text(self) -> str:
        lines = [f"quorum {self.quorum}"]
        if self.max_age_s is not None:
            lines.append(f"max-age {self.max_age_s}")
        for c in self.cosigners:
            lines.append(f"witness {c.verifier.vkey}" + (f" {c.url}" if c.url else ""))
        return "\n".join(lines) + "\n"

    def check(
        self, note: bytes, what: str = "the checkpoint", now: float | None = None
    ) -> dict[str, int]:
        """The valid cosignatures (name → time) if they reach the quorum, else `QuorumError`.

        With ``max_age_s``, only cosignatures made in the last ``max_age_s`` seconds
        (before ``now``, default the clock) count. The message says what a regulator can
        do about it: it names who cosigned, who did not, and what the likely causes are.
        """
        good, bad = verified_cosignatures(note, self.cosigners)
        if self.max_age_s is not None and len(good) >= self.quorum:
            now = time.time() if now is None else now
            fresh = {n: t for n, t in good.items() if now - t <= self.max_age_s}
            if len(fresh) < self.quorum:
                newest = max(good.values())
                stamp = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                raise QuorumError(
                    f"{what} is cosigned by {len(good)} of the {len(self.cosigners)} named "
                    f"witnesses, but {len(good) - len(fresh)} of those cosignatures are older "
                    f"than this office's maximum age of {self.max_age_s} s (the newest is from "
                    f"{stamp}); only {len(fresh)} count and the policy requires {self.quorum}. "
                    "Nothing from it was applied. The witnesses may be unreachable for the "
                    "platform, or the platform is showing this office an old view of the log "
                    "while the log grows for others (a frozen view): compare the checkpoint "
                    "with another office's and keep it as evidence",
                    sorted(fresh),
                    [c.name for c in self.cosigners if c.name not in fresh],
                    self.quorum,
                )
            return fresh
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
