"""`python -m ledger witness`: a C2SP tlog-witness (c2sp.org/tlog-witness).

A witness is run by a body independent of the platform (another regulator's office, the
metrology institute). For every log it is configured with (origin → the log's verifier
key) it remembers the last checkpoint it cosigned, and cosigns a new one only if the log
proves, with an RFC 6962 consistency proof, that the new tree extends that one. So a
platform cannot get two different histories cosigned by the same witness, and offices
that require k of n witnesses' cosignatures (ledger.cosignature) cannot be shown a
split view unless k witnesses collude.

Protocol (``POST /add-checkpoint``)::

    old <size the client believes the witness holds>\\n
    <0..63 base64 consistency proof hashes, one per line>\\n
    \\n
    <the log's signed checkpoint note>

Answers: 200 with the cosignature/v1 line; 400 malformed; 404 unknown origin; 403 no
valid log signature; 409 (body: the witness's size, ``text/x.tlog.size``) when ``old``
is not the witness's size, or when the checkpoint has the witness's size but another
root; 422 when the consistency proof does not verify.

What is kept in ``--data DIR`` (docs/witness.md):

* ``state.json``: per origin the size, root and signed note last cosigned; replaced
  atomically (temp file, fsync, rename, fsync of the directory) *before* the
  cosignature is returned, under one lock with the check, so a crash or a race can
  never roll the witness back.
* ``evidence/``: every validly signed checkpoint that contradicts the cosigned one (same
  size, another root: a split view), with the cosigned note beside it: two notes signed
  by the same log key, which anyone can check with ``python -m ledger witness
  check-evidence``. Requests with a consistency proof that fails are kept under
  ``evidence/…/suspect-…`` (not a proof of misbehaviour on their own).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.cosignature import cosign_line
from ledger.merkle import ProofError, verify_consistency
from ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    InvalidSignatureError,
    KeyFormatError,
    MalformedNoteError,
    NoteError,
    Signer,
    UnverifiedNoteError,
    Verifier,
    open_note,
    parse_note,
)

MAX_PROOF_LINES = 63
"""The spec's limit on consistency proof lines (a proof in a tree of 2^64 leaves)."""
MAX_BODY = 64 * 1024
"""A request is an old-size line, at most 63 hashes and a checkpoint with its signatures:
a few KiB. Anything much bigger is refused before it is read."""
MAX_EVIDENCE_PER_LOG = 1000
"""Bound on evidence directories kept per log, so a log key holder cannot fill the disk."""
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD_LINE = re.compile(rb"old (0|[1-9][0-9]{0,19})")
_B64_HASH = re.compile(rb"[A-Za-z0-9+/]{43}=")


class WitnessError(RuntimeError):
    """The witness cannot start or its stored state is unusable."""


class RequestError(ValueError):
    """An add-checkpoint request is refused; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status, self.size = status, size


@dataclass(frozen=True)
class AddCheckpoint:
    """A parsed add-checkpoint request body."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


@dataclass(frozen=True)
class Answer:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    content_type: str = "text/plain"


def format_add_checkpoint(old_size: int, proof: list[bytes], note: bytes) -> bytes:
    """The request body exactly as c2sp.org/tlog-witness frames it."""
    lines = [f"old {old_size}\n".encode()]
    lines += [base64.b64encode(h) + b"\n" for h in proof]
    return b"".join(lines) + b"\n" + note


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Strictly parse a request body; `RequestError` 400 for anything off the spec."""
    if len(body) > MAX_BODY:
        raise RequestError(413, f"request of {len(body)} bytes; at most {MAX_BODY}")
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise RequestError(400, "malformed request: no empty line before the checkpoint")
    lines = head.split(b"\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise RequestError(
            400, "malformed request: first line must be 'old N' (decimal, no leading zeros)"
        )
    old_size = int(match.group(1))
    if old_size >= 2**64:
        raise RequestError(400, "malformed request: old size out of range")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise RequestError(
            400, f"malformed request: {len(proof_lines)} proof lines; at most {MAX_PROOF_LINES}"
        )
    proof = []
    for number, line in enumerate(proof_lines, 2):
        if not _B64_HASH.fullmatch(line):
            raise RequestError(400, f"malformed request: line {number} is not a base64 hash")
        try:
            digest = binascii.a2b_base64(line, strict_mode=True)
        except binascii.Error:
            raise RequestError(400, f"malformed request: line {number} is not base64") from None
        if len(digest) != 32 or base64.b64encode(digest) != line:
            raise RequestError(400, f"malformed request: line {number} is not a 32-byte hash")
        proof.append(digest)
    if not note:
        raise RequestError(400, "malformed request: no checkpoint after the empty line")
    return AddCheckpoint(old_size, tuple(proof), note)


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` so that after a crash it holds either the old or the new bytes."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with open(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _safe_name(origin: str) -> str:
    """A directory name for an origin (readable part + hash, so no two origins collide)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", origin)[:60]
    return f"{readable}-{hashlib.sha256(origin.encode()).hexdigest()[:12]}"


@dataclass
class LogState:
    """What the witness last cosigned for one log."""

    size: int
    root: bytes
    note: bytes


class Witness:
    """The witness's logic, without HTTP: `add_checkpoint` takes a body, returns an `Answer`.

    ``logs`` maps each origin to the verifier keys trusted for it. All checks and the
    state update run under one lock (the spec's atomicity requirement).
    """

    def __init__(
        self,
        data_dir: Path,
        signer: Signer,
        logs: dict[str, list[Verifier]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        if signer.alg != ALG_COSIGNATURE_V1:
            raise WitnessError(
                f"{signer.name} is a log key (type 0x01); a witness needs a cosigner key "
                "(`python -m ledger note keygen --cosigner NAME --out PREFIX`)"
            )
        for origin, verifiers in logs.items():
            for v in verifiers:
                if v.alg != ALG_ED25519:
                    raise WitnessError(f"the key for log {origin} is not a log key (type 0x01)")
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.signer = signer
        self.logs = {origin: list(v) for origin, v in logs.items()}
        self.clock = clock
        self.state_path = data_dir / "state.json"
        self.evidence_dir = data_dir / "evidence"
        self._lock = threading.Lock()
        self.state = self._load()

    # ---- state ---------------------------------------------------------------------------
    def _load(self) -> dict[str, LogState]:
        if not self.state_path.exists():
            return {}
        try:
            raw = json.loads(self.state_path.read_bytes())
            state = {
                origin: LogState(
                    int(entry["size"]),
                    base64.b64decode(entry["root"], validate=True),
                    entry["checkpoint"].encode("utf-8"),
                )
                for origin, entry in raw["logs"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise WitnessError(
                f"{self.state_path} is unreadable ({exc}). Do not delete it: a witness that "
                "forgets what it cosigned can be made to cosign a split view. Restore it "
                "from a backup, or retire this witness key and start a new witness"
            ) from None
        return state

    def _save(self, state: dict[str, LogState]) -> None:
        doc = {
            "version": 1,
            "witness": self.signer.vkey,
            "logs": {
                origin: {
                    "size": s.size,
                    "root": base64.b64encode(s.root).decode(),
                    "checkpoint": s.note.decode("utf-8"),
                }
                for origin, s in sorted(state.items())
            },
        }
        _write_atomic(self.state_path, json.dumps(doc, indent=1).encode() + b"\n")

    def size_of(self, origin: str) -> int:
        with self._lock:
            state = self.state.get(origin)
            return state.size if state else 0

    # ---- the protocol --------------------------------------------------------------------
    def add_checkpoint(self, body: bytes) -> Answer:
        """Handle one add-checkpoint request body (never raises for a bad request)."""
        try:
            return Answer(200, self._add(body).encode("utf-8"))
        except RequestError as exc:
            if exc.status == 409 and exc.size is not None:
                return Answer(409, f"{exc.size}\n".encode(), SIZE_CONTENT_TYPE)
            return Answer(exc.status, f"{exc}\n".encode())

    def _add(self, body: bytes) -> str:
        request = parse_add_checkpoint(body)
        try:
            text, _sigs = parse_note(request.note)
            checkpoint = Checkpoint.parse(text)
        except NoteError as exc:
            raise RequestError(400, f"malformed checkpoint: {exc}") from None
        verifiers = self.logs.get(checkpoint.origin)
        if verifiers is None:
            raise RequestError(404, f"unknown log origin {checkpoint.origin[:100]!r}")
        try:
            open_note(request.note, verifiers)
        except (InvalidSignatureError, UnverifiedNoteError) as exc:
            raise RequestError(403, f"no valid signature of the log's key: {exc}") from None
        except (MalformedNoteError, KeyFormatError) as exc:  # pragma: no cover - parsed above
            raise RequestError(400, f"malformed checkpoint: {exc}") from None
        if request.old_size > checkpoint.size:
            raise RequestError(
                400,
                f"old size {request.old_size} is larger than the checkpoint's {checkpoint.size}",
            )
        with self._lock:
            known = self.state.get(checkpoint.origin)
            size = known.size if known else 0
            if known and checkpoint.size == known.size and checkpoint.root != known.root:
                self._keep_evidence("split-view", known.note, request, body)
                raise RequestError(409, "a different root at the cosigned size", size)
            if request.old_size != size:
                raise RequestError(409, f"the witness holds size {size}", size)
            if request.old_size == 0:
                if request.proof:
                    raise RequestError(422, "a consistency proof from size 0 must be empty")
            elif known is not None and checkpoint.size != known.size:
                try:
                    verify_consistency(
                        known.size,
                        checkpoint.size,
                        list(request.proof),
                        known.root,
                        checkpoint.root,
                    )
                except ProofError as exc:
                    self._keep_evidence("suspect", known.note, request, body)
                    raise RequestError(422, f"consistency proof does not verify: {exc}") from None
            elif request.proof:
                raise RequestError(422, "a consistency proof between equal sizes must be empty")
            if known is None or checkpoint.size != known.size:
                new = dict(self.state)
                new[checkpoint.origin] = LogState(checkpoint.size, checkpoint.root, request.note)
                self._save(new)  # persisted before the cosignature leaves
                self.state = new
        return cosign_line(self.signer, text)

    # ---- evidence ------------------------------------------------------------------------
    def _keep_evidence(
        self, kind: str, cosigned: bytes, request: AddCheckpoint, body: bytes
    ) -> None:
        """Keep the cosigned note and the contradicting one side by side, durably.

        A disk error here is reported but does not change the answer: the checkpoint is
        refused whether or not its evidence could be written."""
        try:
            self._write_evidence(kind, cosigned, request, body)
        except OSError as exc:
            print(
                f"witness: could not keep {kind} evidence for {_origin_of(cosigned)}: {exc}",
                file=sys.stderr,
            )

    def _write_evidence(
        self, kind: str, cosigned: bytes, request: AddCheckpoint, body: bytes
    ) -> None:
        log_dir = self.evidence_dir / _safe_name(_origin_of(cosigned))
        digest = hashlib.sha256(request.note).hexdigest()[:16]
        target = log_dir / f"{kind}-{digest}"
        if target.exists():
            return
        log_dir.mkdir(parents=True, exist_ok=True)
        if sum(1 for _ in log_dir.iterdir()) >= MAX_EVIDENCE_PER_LOG:
            return
        tmp = log_dir / f".tmp-{kind}-{digest}"
        tmp.mkdir(exist_ok=True)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        files = {
            "cosigned.checkpoint": cosigned,
            "presented.checkpoint": request.note,
            "request.txt": body,
            "README.txt": (
                f"{kind} evidence kept by witness {self.signer.vkey} at {now}.\n"
                "cosigned.checkpoint: the checkpoint this witness had cosigned.\n"
                "presented.checkpoint: the checkpoint later presented to it.\n"
                + (
                    "Both are signed by the log's key, have the same size and different "
                    "roots: the log has shown two histories (a split view).\n"
                    if kind == "split-view"
                    else "The presented checkpoint came with a consistency proof that does "
                    "not verify (request.txt): suspicious, not proof on its own.\n"
                )
                + "Check: python -m ledger witness check-evidence THIS_DIR --log-key LOG.vkey\n"
            ).encode(),
        }
        for name, data in files.items():
            with open(tmp / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        _fsync_dir(tmp)
        os.replace(tmp, target)
        _fsync_dir(log_dir)


def _origin_of(note: bytes) -> str:
    return note.split(b"\n", 1)[0].decode("utf-8", "replace")


# ---------------------------------------------------------------- evidence check


def check_evidence(directory: Path, log_verifiers: list[Verifier]) -> str:
    """Verify a split-view evidence directory; the finding as one line, or `NoteError`.

    Anyone holding the log's published key can run this: both notes must verify with
    it, be for the same origin and size, and have different roots.
    """
    notes = []
    for name in ("cosigned.checkpoint", "presented.checkpoint"):
        try:
            data = (directory / name).read_bytes()
        except OSError as exc:
            raise NoteError(f"cannot read {directory / name}: {exc.strerror}") from None
        note = open_note(data, log_verifiers)
        notes.append(Checkpoint.parse(note.text))
    a, b = notes
    if a.origin != b.origin:
        raise NoteError(f"the two checkpoints are for different logs ({a.origin}, {b.origin})")
    if a.size == b.size and a.root != b.root:
        return (
            f"SPLIT VIEW PROVEN: log {a.origin} signed two checkpoints at size {a.size} with "
            f"different roots ({a.root.hex()[:16]}… and {b.root.hex()[:16]}…)"
        )
    raise NoteError(
        f"not a split-view proof: sizes {a.size} and {b.size}"
        + (" with the same root" if a.root == b.root else "")
        + " (different sizes need a consistency check against the log's tiles)"
    )


# ---------------------------------------------------------------- HTTP server and CLI


def _read_keys(spec: str) -> list[str]:
    path = Path(spec)
    with contextlib.suppress(OSError):
        if path.is_file():
            lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
            return [ln for ln in lines if ln and not ln.startswith("#")]
    return [spec]


def load_logs(specs: list[str]) -> dict[str, list[Verifier]]:
    """Origin → verifier keys, from ``--log-key`` values (vkeys or files of them).

    A line may be ``VKEY`` (origin = key name, as for our city logs) or
    ``ORIGIN VKEY`` for logs whose origin differs from the key name.
    """
    logs: dict[str, list[Verifier]] = {}
    for spec in specs:
        for line in _read_keys(spec):
            parts = line.split()
            if len(parts) == 1:
                verifier = Verifier(parts[0])
                origin = verifier.name
            elif len(parts) == 2:
                origin, verifier = parts[0], Verifier(parts[1])
            else:
                raise KeyFormatError(
                    f"log key line {line[:80]!r}: expected 'VKEY' or 'ORIGIN VKEY'"
                )
            logs.setdefault(origin, []).append(verifier)
    return logs


def _lock_dir(data_dir: Path) -> int:
    fd = os.open(data_dir / "witness.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WitnessError(
            f"another witness is already using {data_dir}; two witnesses on one state "
            "could each cosign a different history"
        ) from None
    return fd


def _app(witness: Witness):  # -> web.Application (aiohttp imported lazily)
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web

    pool = ThreadPoolExecutor(1, thread_name_prefix="witness")

    async def add_checkpoint(request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text=f"request over {MAX_BODY} bytes\n")
        answer = await asyncio.get_running_loop().run_in_executor(
            pool, witness.add_checkpoint, body
        )
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )

    async def vkey(_request: web.Request) -> web.Response:
        return web.Response(text=witness.signer.vkey + "\n")

    async def logs(_request: web.Request) -> web.Response:
        return web.json_response(
            {origin: witness.size_of(origin) for origin in sorted(witness.logs)}
        )

    async def cleanup(_app: web.Application) -> None:
        pool.shutdown()

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/add-checkpoint", add_checkpoint)
    app.router.add_get("/witness.vkey", vkey)
    app.router.add_get("/logs", logs)
    app.on_cleanup.append(cleanup)
    return app


async def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    args.data.mkdir(parents=True, exist_ok=True)
    lock_fd = _lock_dir(args.data)
    try:
        skey = Path(args.key).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WitnessError(f"cannot read the witness key {args.key}: {exc.strerror}") from None
    logs = load_logs(args.log_key)
    if not logs:
        raise WitnessError("no log configured: give --log-key LOG.vkey (repeatable)")
    witness = Witness(args.data, Signer(skey), logs)
    runner = web.AppRunner(_app(witness), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://{args.host}:{port}"
    (args.data / "witness.json").write_text(json.dumps({"url": url, "pid": os.getpid()}))
    print(f"listening on {url}", flush=True)
    print(f"witness {witness.signer.vkey}; logs: {', '.join(sorted(logs))}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    os.close(lock_fd)
    return 0


def _check_evidence_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger witness check-evidence",
        description="Check split-view evidence kept by a witness, with the log's public key.",
    )
    parser.add_argument(
        "dir", type=Path, help="an evidence directory (evidence/<log>/split-view-…)"
    )
    parser.add_argument("--log-key", action="append", required=True, help="the log's vkey or file")
    args = parser.parse_args(argv)
    try:
        verifiers = [v for vs in load_logs(args.log_key).values() for v in vs]
        print(check_evidence(args.dir, verifiers))
    except NoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    """``python -m ledger witness`` (serve) or ``python -m ledger witness check-evidence``."""
    if argv[:1] == ["check-evidence"]:
        return _check_evidence_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m ledger witness",
        description="Run a C2SP tlog-witness (add-checkpoint, cosignature/v1). "
        "`python -m ledger witness check-evidence DIR --log-key KEY` checks kept evidence.",
    )
    parser.add_argument("--data", type=Path, required=True, help="state directory (created)")
    parser.add_argument("--port", type=int, default=8734, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--key", required=True, help="the witness's cosigner key file (note keygen --cosigner)"
    )
    parser.add_argument(
        "--log-key",
        action="append",
        default=[],
        help="a log's vkey, or a file of 'VKEY' / 'ORIGIN VKEY' lines; repeatable",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_serve(args))
    except (WitnessError, NoteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
