"""C2SP signed notes, checkpoints and cosignatures, compatible byte for byte with Go.

A regulator must be able to check a city log's checkpoint with nothing but the
log's published verifier key, and other tools (the Go checksum database client,
transparency-dev witnesses, Tessera) must be able to check ours. So this module
follows c2sp.org/signed-note, c2sp.org/tlog-checkpoint and
c2sp.org/tlog-cosignature (Ed25519 ``cosignature/v1``) exactly as
golang.org/x/mod/sumdb/note implements them, and is stricter only where Go is
lax in a way that could hide tampering (see `open_note`).

Key strings use the Go note encodings::

    skey: PRIVATE+KEY+<name>+<8 hex key ID>+base64(type || 32-byte seed)
    vkey: <name>+<8 hex key ID>+base64(type || 32-byte public key)

with type 0x01 for log keys (plain Ed25519 over the note text) and 0x04 for
witness cosigner keys (Ed25519 over ``cosignature/v1``, a timestamp and the
text). The CLI ``python -m ledger note keygen|sign|verify`` is `main`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import os
import re
import struct
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "InvalidSignatureError",
    "KeyFormatError",
    "MalformedCheckpointError",
    "MalformedNoteError",
    "Note",
    "NoteError",
    "OriginMismatchError",
    "Signature",
    "Signer",
    "UnverifiedNoteError",
    "Verifier",
    "cosignature_timestamp",
    "generate_signer",
    "key_id",
    "main",
    "open_checkpoint",
    "open_note",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
"""Signature type of a plain Ed25519 note signature (c2sp.org/signed-note)."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type of a timestamped Ed25519 witness cosignature (c2sp.org/tlog-cosignature)."""

MAX_SIGNATURES = 100
"""Go's limit; the spec asks for at least 16. Bounds the work an attacker can force."""

_SIG_PREFIX = "\u2014 "  # em dash, space
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_GO_LATIN1_SPACES = frozenset("\t\n\v\f\r \x85\xa0")
_COSIG_HEADER = b"cosignature/v1\ntime "
_MAX_TIMESTAMP = 2**63 - 1


# ---------------------------------------------------------------- errors


class NoteError(ValueError):
    """Base class: the note, checkpoint or key cannot be trusted as given."""


class MalformedNoteError(NoteError):
    """The bytes are not a well-formed signed note."""


class MalformedCheckpointError(MalformedNoteError):
    """The note text is not a well-formed c2sp.org/tlog-checkpoint body."""


class KeyFormatError(NoteError):
    """A signer or verifier key string is not in the Go note key format."""


class InvalidSignatureError(NoteError):
    """A signature from a configured key does not verify: the note was altered."""

    def __init__(self, name: str, key_id: int) -> None:
        super().__init__(
            f"invalid signature for key {name}+{key_id:08x}: the note was altered or "
            "signed by a different key with the same name and ID"
        )
        self.name = name
        self.key_id = key_id


class UnverifiedNoteError(NoteError):
    """The note parsed but none of its signatures is from a configured key."""

    def __init__(self, note: Note) -> None:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in note.unverified_sigs)
        super().__init__(
            f"note has no verifiable signatures (signed only by unknown keys: {names}); "
            "check that you passed the log's verifier key"
        )
        self.note = note


class OriginMismatchError(NoteError):
    """The checkpoint is validly signed but belongs to a different log."""


# ---------------------------------------------------------------- helpers


def _b64decode(text: str, *, canonical: bool = False) -> bytes:
    """Standard padded base64, rejecting anything Go's StdEncoding rejects.

    ``canonical`` also rejects non-zero padding bits (which Go ignores), so a
    signed note has exactly one encoding: flipping any byte of it is noticed.
    """
    try:
        raw = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ValueError(f"invalid base64 {text[:40]!r}") from exc
    if canonical and _b64encode(raw) != text:
        raise ValueError(f"non-canonical base64 {text[:40]!r}")
    return raw


def _b64encode(data: bytes) -> str:
    """Canonical standard base64, as every note and checkpoint line is written."""
    return base64.b64encode(data).decode("ascii")


def _is_go_space(ch: str) -> bool:
    """Go's unicode.IsSpace: the Latin-1 spaces plus categories Zs, Zl, Zp."""
    return ch in _GO_LATIN1_SPACES or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def is_valid_name(name: str) -> bool:
    """Key names are non-empty and have no Unicode spaces, '+' or control characters.

    Go's rule is spaces and '+'; control characters are rejected too because a
    note containing them can never be opened, so such a key could never verify.
    """
    return (
        bool(name)
        and "+" not in name
        and not any(_is_go_space(ch) or ord(ch) < 0x20 for ch in name)
        and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in name)
    )


def key_id(name: str, public_key: bytes) -> int:
    """The key ID: SHA-256(name || 0x0A || type byte || public key)[:4] as a big-endian uint32.

    ``public_key`` includes the leading signature type byte.
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + public_key).digest()
    return struct.unpack(">I", digest[:4])[0]


def _check_text(data: bytes) -> str:
    """UTF-8 with no ASCII control characters but newline, as Go's Open requires."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedNoteError(f"malformed note: invalid UTF-8 at byte {exc.start}") from None
    for i, ch in enumerate(text):
        if ch < " " and ch != "\n":
            what = "carriage return (CRLF line endings?)" if ch == "\r" else f"U+{ord(ch):04X}"
            raise MalformedNoteError(
                f"malformed note: control character {what} at character {i}; "
                "notes allow only newline"
            )
    return text


def _split_key(key: str, parts: int) -> list[str]:
    """Split on the first ``parts - 1`` '+' signs, as Go's chop does (base64 may hold '+')."""
    out = key.split("+", parts - 1)
    if len(out) != parts:
        raise KeyFormatError(
            f"malformed key {_redact(key)!r}: expected {parts} '+'-separated fields"
        )
    return out


def _redact(key: str) -> str:
    return "PRIVATE+KEY+..." if key.startswith("PRIVATE+") else key[:80]


# ---------------------------------------------------------------- keys


class Verifier:
    """A verifier key: checks signatures by one named Ed25519 key (type 0x01 or 0x04)."""

    def __init__(self, vkey: str) -> None:
        vkey = vkey.strip()
        name, hash16, key64 = _split_key(vkey, 3)
        if not is_valid_name(name):
            raise KeyFormatError(f"malformed verifier key {vkey[:80]!r}: invalid key name")
        if not _HEX8.fullmatch(hash16):
            raise KeyFormatError(
                f"malformed verifier key {vkey[:80]!r}: key ID must be 8 hex digits"
            )
        try:
            raw = _b64decode(key64)
        except ValueError:
            raise KeyFormatError(
                f"malformed verifier key {vkey[:80]!r}: key data is not base64"
            ) from None
        if not raw:
            raise KeyFormatError(f"malformed verifier key {vkey[:80]!r}: empty key data")
        if int(hash16, 16) != key_id(name, raw):
            raise KeyFormatError(
                f"verifier key {vkey[:80]!r} is corrupt: its key ID does not match its key"
            )
        alg, pub = raw[0], raw[1:]
        if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise KeyFormatError(
                f"verifier key {vkey[:80]!r} uses unsupported signature type 0x{alg:02x}"
            )
        if len(pub) != 32:
            raise KeyFormatError(
                f"malformed verifier key {vkey[:80]!r}: Ed25519 key must be 32 bytes"
            )
        try:
            self._key = Ed25519PublicKey.from_public_bytes(pub)
        except ValueError:
            raise KeyFormatError(f"verifier key {vkey[:80]!r} is not an Ed25519 key") from None
        self.name = name
        self.key_id = int(hash16, 16)
        self.alg = alg
        self.public_key = pub
        self.vkey = vkey

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """Whether ``sig`` (without the 4-byte key ID) is this key's signature of ``msg``."""
        if self.alg == ALG_COSIGNATURE_V1:
            if len(sig) != 8 + 64:
                return False
            timestamp = struct.unpack(">Q", sig[:8])[0]
            if timestamp > _MAX_TIMESTAMP:
                return False
            msg = _cosigned_message(msg, timestamp)
            sig = sig[8:]
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class Signer:
    """A signer key: signs note texts as one named Ed25519 key (type 0x01 or 0x04).

    ``clock`` supplies the POSIX time written into cosignatures; tests pass a
    fixed one so outputs are reproducible.
    """

    def __init__(self, skey: str, clock: Callable[[], float] = time.time) -> None:
        skey = skey.strip()
        priv1, priv2, name, hash16, key64 = _split_key(skey, 5)
        if priv1 != "PRIVATE" or priv2 != "KEY":
            raise KeyFormatError("malformed signer key: must start with PRIVATE+KEY+")
        if not is_valid_name(name):
            raise KeyFormatError("malformed signer key: invalid key name")
        if not _HEX8.fullmatch(hash16):
            raise KeyFormatError("malformed signer key: key ID must be 8 hex digits")
        try:
            raw = _b64decode(key64)
        except ValueError:
            raise KeyFormatError("malformed signer key: key data is not base64") from None
        if not raw:
            raise KeyFormatError("malformed signer key: empty key data")
        alg, seed = raw[0], raw[1:]
        if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise KeyFormatError(f"signer key uses unsupported signature type 0x{alg:02x}")
        if len(seed) != 32:
            raise KeyFormatError("malformed signer key: Ed25519 seed must be 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes_raw()
        if int(hash16, 16) != key_id(name, bytes([alg]) + self.public_key):
            raise KeyFormatError(
                f"signer key for {name!r} is corrupt: its key ID does not match its key"
            )
        self.name = name
        self.key_id = int(hash16, 16)
        self.alg = alg
        self._clock = clock

    def sign(self, msg: bytes) -> bytes:
        """The signature of ``msg`` (without the 4-byte key ID prefix)."""
        if self.alg == ALG_COSIGNATURE_V1:
            timestamp = int(self._clock())
            return struct.pack(">Q", timestamp) + self._key.sign(_cosigned_message(msg, timestamp))
        return self._key.sign(msg)

    @property
    def vkey(self) -> str:
        """The matching verifier key string, to publish."""
        return verifier_key(self.name, self.public_key, self.alg)

    def verifier(self) -> Verifier:
        """The matching `Verifier`, for checking our own output."""
        return Verifier(self.vkey)

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def verifier_key(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """The vkey string for a raw 32-byte Ed25519 public key (Go's NewEd25519VerifierKey)."""
    if not is_valid_name(name):
        raise KeyFormatError(f"invalid key name {name!r}: no spaces, '+' or control characters")
    if len(public_key) != 32:
        raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
    raw = bytes([alg]) + public_key
    return f"{name}+{key_id(name, raw):08x}+{_b64encode(raw)}"


def generate_signer(name: str, alg: int = ALG_ED25519) -> tuple[str, str]:
    """A new (skey, vkey) pair for ``name``; ``alg=ALG_COSIGNATURE_V1`` for a witness key."""
    if alg not in (ALG_ED25519, ALG_COSIGNATURE_V1):
        raise KeyFormatError(f"unsupported signature type 0x{alg:02x}")
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    vkey = verifier_key(name, private.public_key().public_bytes_raw(), alg)
    hash16 = vkey.split("+")[1]
    skey = f"PRIVATE+KEY+{name}+{hash16}+{_b64encode(bytes([alg]) + seed)}"
    return skey, vkey


def _cosigned_message(text: bytes, timestamp: int) -> bytes:
    """The cosignature/v1 signed message: header, time line, then the whole note text."""
    return _COSIG_HEADER + str(timestamp).encode("ascii") + b"\n" + text


# ---------------------------------------------------------------- notes


@dataclass(frozen=True)
class Signature:
    """One signature line of a note, verified or not."""

    name: str
    key_id: int
    base64: str

    @property
    def raw(self) -> bytes:
        """The signature bytes after the 4-byte key ID."""
        return _b64decode(self.base64)[4:]

    def line(self) -> str:
        """The signature line as it appears in a note."""
        return f"{_SIG_PREFIX}{self.name} {self.base64}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text and which signatures were verified."""

    text: str
    sigs: tuple[Signature, ...] = ()
    unverified_sigs: tuple[Signature, ...] = field(default=())


def _index_verifiers(verifiers: Verifier | Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    if isinstance(verifiers, Verifier):
        verifiers = [verifiers]
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        if not isinstance(v, Verifier):
            raise TypeError(f"expected Verifier, got {type(v).__name__}")
        other = known.get((v.name, v.key_id))
        if other is not None and other.public_key != v.public_key:
            raise NoteError(
                f"ambiguous key {v.name}+{v.key_id:08x}: two different configured keys "
                "share this name and key ID"
            )
        known[(v.name, v.key_id)] = v
    return known


def parse_note(data: bytes) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and signature lines, checking only syntax."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("a signed note is bytes")
    whole = _check_text(bytes(data))
    split = whole.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError(
            "malformed note: no blank line before the signatures (is it signed at all?)"
        )
    text, block = whole[: split + 1], whole[split + 2 :]
    if not block:
        raise MalformedNoteError("malformed note: no signature lines after the blank line")
    if not block.endswith("\n"):
        raise MalformedNoteError("malformed note: last signature line must end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(
            f"malformed note: {len(lines)} signatures, more than the {MAX_SIGNATURES} accepted"
        )
    sigs = []
    for n, line in enumerate(lines, 1):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNoteError(
                f"malformed note: signature line {n} does not start with an em dash "
                f"(U+2014) and a space: {line[:60]!r}"
            )
        name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not is_valid_name(name):
            raise MalformedNoteError(f"malformed note: signature line {n} has invalid key name")
        try:
            raw = _b64decode(b64, canonical=True)
        except ValueError:
            raise MalformedNoteError(
                f"malformed note: signature line {n} ({name}) is not valid base64"
            ) from None
        if len(raw) < 5:
            raise MalformedNoteError(f"malformed note: signature line {n} ({name}) is too short")
        sigs.append(Signature(name, struct.unpack(">I", raw[:4])[0], b64))
    return text, sigs


def open_note(data: bytes, verifiers: Verifier | Iterable[Verifier]) -> Note:
    """Parse a signed note and verify its signatures against the known keys.

    As the spec and Go require: signatures whose (name, key ID) is unknown are
    kept as unverified; a known key's signature that fails raises
    `InvalidSignatureError`; if no known key verified, `UnverifiedNoteError`.
    Identical repeated lines are recorded once. Unlike Go, which checks only
    the first signature of a known key and silently ignores later ones, every
    signature of a known key is verified: the spec says verifiers MUST verify
    them, and a second, different "signature" is a sign of tampering.
    """
    known = _index_verifiers(verifiers)
    text, sigs = parse_note(data)
    msg = text.encode("utf-8")
    verified: list[Signature] = []
    unverified: list[Signature] = []
    for sig in sigs:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        if sig in verified:
            continue
        if not v.verify(msg, sig.raw):
            raise InvalidSignatureError(sig.name, sig.key_id)
        verified.append(sig)
    note = Note(text, tuple(verified), tuple(unverified))
    if not verified:
        raise UnverifiedNoteError(note)
    return note


def sign_note(text: str | Note, signers: Signer | Iterable[Signer]) -> bytes:
    """Sign a note text, or add signatures to an opened `Note`.

    Output is byte-identical to Go's note.Sign: existing signatures first
    (minus any replaced by a signer with the same name and key ID), then the
    new ones in order. The text is checked as `open_note` would, so we never
    emit a note that no verifier can open.
    """
    existing: tuple[Signature, ...] = ()
    if isinstance(text, Note):
        existing = text.sigs + text.unverified_sigs
        text = text.text
    if isinstance(signers, Signer):
        signers = [signers]
    signers = list(signers)
    if not text.endswith("\n"):
        raise MalformedNoteError("malformed note: text must end with a newline")
    msg = text.encode("utf-8")
    _check_text(msg)
    if not signers and not existing:
        raise MalformedNoteError("a signed note needs at least one signature")
    new_lines = []
    replaced = set()
    for s in signers:
        if not is_valid_name(s.name):
            raise KeyFormatError(f"invalid signer name {s.name!r}")
        replaced.add((s.name, s.key_id))
        sig = struct.pack(">I", s.key_id) + s.sign(msg)
        new_lines.append(f"{_SIG_PREFIX}{s.name} {_b64encode(sig)}\n")
    old_lines = []
    for sig in existing:
        if not is_valid_name(sig.name):
            raise MalformedNoteError(f"malformed note: invalid key name {sig.name!r}")
        if (sig.name, sig.key_id) in replaced:
            continue
        try:
            raw = _b64decode(sig.base64, canonical=True)
        except ValueError:
            raw = b""
        if len(raw) < 5 or struct.unpack(">I", raw[:4])[0] != sig.key_id:
            raise MalformedNoteError(f"malformed note: signature by {sig.name} has wrong key ID")
        old_lines.append(sig.line())
    return (text + "\n" + "".join(old_lines) + "".join(new_lines)).encode("utf-8")


def cosignature_timestamp(sig: Signature) -> int:
    """The POSIX time a cosignature/v1 signature says it was made."""
    raw = sig.raw
    if len(raw) != 8 + 64:
        raise MalformedNoteError(f"signature by {sig.name} is not a cosignature/v1")
    return struct.unpack(">Q", raw[:8])[0]


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """A c2sp.org/tlog-checkpoint body: the log's origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedCheckpointError("checkpoint origin must be one non-empty line")
        if any(ch < " " for ch in self.origin):
            raise MalformedCheckpointError("checkpoint origin contains a control character")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedCheckpointError("checkpoint size must be an integer")
        if not 0 <= self.size < 2**64:
            raise MalformedCheckpointError(f"checkpoint size {self.size} out of range")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise MalformedCheckpointError("checkpoint root must be a 32-byte SHA-256 hash")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for ext in self.extensions:
            if not ext or "\n" in ext or any(ch < " " for ch in ext):
                raise MalformedCheckpointError(
                    "checkpoint extension lines must be non-empty single lines"
                )

    def to_text(self) -> str:
        """The note text to sign: origin, size, root and extension lines, newline-terminated."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Strictly parse a checkpoint body (the note text, final newline included)."""
        if not text.endswith("\n"):
            raise MalformedCheckpointError("malformed checkpoint: text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpointError(
                "malformed checkpoint: need origin, size and root hash lines"
            )
        origin, size, root, *extensions = lines
        if not origin:
            raise MalformedCheckpointError("malformed checkpoint: empty origin line")
        # 20 digits at most before int(): Python refuses to convert over 4,300 (ValueError)
        if len(size) > 20 or not _DECIMAL.fullmatch(size) or int(size) >= 2**64:
            raise MalformedCheckpointError(
                f"malformed checkpoint: size {size[:30]!r} is not a decimal without leading zeros"
            )
        try:
            root_hash = _b64decode(root)
        except ValueError:
            root_hash = b""
        if len(root_hash) != 32 or _b64encode(root_hash) != root:
            raise MalformedCheckpointError(
                f"malformed checkpoint: root {root[:60]!r} is not a base64 32-byte hash"
            )
        if any(not ext for ext in extensions):
            raise MalformedCheckpointError(
                "malformed checkpoint: blank line inside the checkpoint body"
            )
        return cls(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: Signer | Sequence[Signer]) -> bytes:
    """The checkpoint as a signed note."""
    return sign_note(cp.to_text(), signer)


def open_checkpoint(
    data: bytes, verifier: Verifier | Iterable[Verifier], origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """Verify a signed checkpoint with the log's key and parse its body.

    ``origin`` is the log identity the caller expects (for our city logs, also
    the key name). A checkpoint signed by the right key for another origin is
    refused with `OriginMismatchError`, which stops a proof for one log being
    passed off as a proof for another that shares a key.
    """
    note = open_note(data, verifier)
    cp = Checkpoint.parse(note.text)
    if origin is not None and cp.origin != origin:
        raise OriginMismatchError(f"checkpoint is for log {cp.origin!r}, expected {origin!r}")
    return cp, note


# ---------------------------------------------------------------- CLI


class _CliError(Exception):
    """A user-facing failure of the CLI, printed as one line."""


def _load_verifiers(specs: Sequence[str]) -> list[Verifier]:
    out: list[Verifier] = []
    for spec in specs:
        path = Path(spec)
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a long vkey is "File name too long"
            is_file = False
        if "+" not in spec or is_file:
            try:
                content = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise _CliError(f"cannot read key file {spec}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise _CliError(f"key file {spec} is not UTF-8 text") from None
            lines = [ln.strip() for ln in content.splitlines()]
            keys = [ln for ln in lines if ln and not ln.startswith("#")]
            if not keys:
                raise _CliError(f"key file {spec} holds no verifier key")
            for k in keys:
                if k.startswith("PRIVATE+KEY+"):
                    raise _CliError(f"{spec} holds a private signer key; pass the .vkey instead")
                out.append(Verifier(k))
        else:
            out.append(Verifier(spec))
    return out


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _CliError(f"cannot read {path}: {exc.strerror}") from None


def _cmd_verify(args: argparse.Namespace) -> int:
    verifiers = _load_verifiers(args.key)
    data = _read_file(args.file)
    note = open_note(data, verifiers)
    try:
        cp = Checkpoint.parse(note.text)
    except MalformedCheckpointError:
        cp = None
    if args.origin is not None:
        if cp is None:
            raise _CliError("note is not a checkpoint, but --origin was given")
        if cp.origin != args.origin:
            raise OriginMismatchError(
                f"checkpoint is for log {cp.origin!r}, expected {args.origin!r}"
            )
    if cp is not None:
        print(f"origin: {cp.origin}")
        print(f"size: {cp.size}")
        print(f"root: {_b64encode(cp.root)}")
        print(f"root (hex): {cp.root.hex()}")
        for ext in cp.extensions:
            print(f"extension: {ext}")
    else:
        sys.stdout.write(note.text)
    for sig in note.sigs:
        print(f"verified: {sig.name}+{sig.key_id:08x}")
    for sig in note.unverified_sigs:
        print(f"unverified (unknown key): {sig.name}+{sig.key_id:08x}")
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    skey = _read_file(args.skey).decode("utf-8", "replace").strip()
    signer = Signer(skey)
    data = _read_file(args.file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNoteError(f"{args.file} is not UTF-8 text") from None
    signed = sign_note(text, signer)
    if args.out:
        Path(args.out).write_bytes(signed)
    else:
        sys.stdout.buffer.write(signed)
        sys.stdout.flush()
    return 0


def _cmd_keygen(args: argparse.Namespace) -> int:
    alg = ALG_COSIGNATURE_V1 if args.cosigner else ALG_ED25519
    skey, vkey = generate_signer(args.name, alg)
    skey_path, vkey_path = Path(args.out + ".skey"), Path(args.out + ".vkey")
    try:
        fd = os.open(skey_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _CliError(
            f"{skey_path} already exists; refusing to overwrite a private key"
        ) from None
    except OSError as exc:
        raise _CliError(f"cannot create {skey_path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(skey + "\n")
    os.chmod(skey_path, 0o600)  # in case a umask or pre-existing ACL widened it
    try:
        vkey_path.write_text(vkey + "\n", encoding="utf-8")
    except OSError as exc:
        raise _CliError(f"cannot write {vkey_path}: {exc.strerror}") from None
    print(vkey)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ledger note",
        description="Sign and verify C2SP signed notes and tlog checkpoints (Ed25519).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="verify a signed note or checkpoint")
    v.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="VKEY",
        help="verifier key (name+hash+base64) or a file holding one per line; repeatable",
    )
    v.add_argument("--origin", help="require the checkpoint to be for this log origin")
    v.add_argument("file", metavar="FILE")
    v.set_defaults(func=_cmd_verify)

    s = sub.add_parser("sign", help="sign a note text (must end in newline)")
    s.add_argument("--skey", required=True, metavar="FILE", help="file holding the signer key")
    s.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=_cmd_sign)

    k = sub.add_parser("keygen", help="generate a signer/verifier key pair")
    k.add_argument("name", metavar="NAME", help="key name, e.g. the log origin")
    k.add_argument("--out", required=True, metavar="PREFIX", help="writes PREFIX.skey, PREFIX.vkey")
    k.add_argument(
        "--cosigner",
        action="store_true",
        help="make a witness cosigner key (cosignature/v1, type 0x04)",
    )
    k.set_defaults(func=_cmd_keygen)
    return p


def main(argv: list[str]) -> int:
    """Entry point for ``python -m ledger note``: 0 on success, 1 with one error line."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (NoteError, _CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. --out in a missing directory
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
