"""Collecting witness cosignatures for the platform's checkpoints (c2sp.org/tlog-witness).

After each new checkpoint the platform asks every configured witness to cosign it,
sending the consistency proof from the size that witness last cosigned. The served
checkpoint is the log-signed note with the valid cosignature lines appended (a signed
note may carry any number of signatures; verifiers ignore keys they do not know, so
Go's sumdb note still opens it).

The platform learns each witness's size from its answers: it starts from 0, and a
409 answer (``text/x.tlog.size``) tells it the witness's real size, after which the
request is sent once more with the proof from that size. A witness that is down or
refuses costs this checkpoint its cosignature, never the checkpoint itself: whether
that is enough is the offices' policy (ledger.cosignature).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable

import aiohttp

from ledger.cosignature import Cosigner, WitnessPolicy, verified_cosignatures
from ledger.note import Checkpoint
from ledger.witness import SIZE_CONTENT_TYPE, format_add_checkpoint

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0
"""One witness's whole exchange; a slow witness must not hold the checkpoint back long."""
MAX_ANSWER = 64 * 1024

ProofSource = Callable[[int, int], list[bytes]]
"""(old size, new size) → the consistency proof, computed from the log's own tiles."""


class WitnessCollector:
    """Asks the configured witnesses for cosignatures; remembers each one's size."""

    def __init__(self, policy: WitnessPolicy, timeout: float = TIMEOUT_S) -> None:
        self.cosigners = [c for c in policy.cosigners if c.url]
        if not self.cosigners:
            raise ValueError("the witness configuration names no witness URL")
        self.timeout = timeout
        self.sizes: dict[str, int] = {c.name: 0 for c in self.cosigners}
        self.last_error: dict[str, str] = {}
        self._session: aiohttp.ClientSession | None = None
        self._lines_for: tuple[int, bytes] | None = None
        self._lines: dict[str, bytes] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def collect(
        self, checkpoint: Checkpoint, note: bytes, proof: Callable[[int, int], object]
    ) -> bytes:
        """The cosignature lines of every witness that cosigned ``note`` (maybe none).

        ``proof(old, new)`` is awaited (it reads tiles, off the event loop).
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        results = await asyncio.gather(
            *(self._one(c, checkpoint, note, proof) for c in self.cosigners)
        )
        # Offered again (a witness was missing): keep the lines already collected for
        # this very checkpoint, so a witness failing now does not lose its earlier line.
        if self._lines_for != (checkpoint.size, checkpoint.root):
            self._lines_for, self._lines = (checkpoint.size, checkpoint.root), {}
        for cosigner, lines in zip(self.cosigners, results, strict=True):
            if lines:
                self._lines[cosigner.name] = lines
        return b"".join(self._lines.get(c.name, b"") for c in self.cosigners)

    async def _one(
        self, cosigner: Cosigner, checkpoint: Checkpoint, note: bytes, proof: Callable
    ) -> bytes:
        for _attempt in range(2):
            old = self.sizes[cosigner.name]
            if old > checkpoint.size:
                self._fail(
                    cosigner,
                    f"the witness holds size {old}, more than this log's {checkpoint.size}: "
                    "the platform's data was rolled back or replaced",
                )
                return b""
            hashes = await proof(old, checkpoint.size) if 0 < old < checkpoint.size else []
            body = format_add_checkpoint(old, hashes, note)
            try:
                status, ctype, answer = await self._post(cosigner.url or "", body)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self._fail(cosigner, f"unreachable: {type(exc).__name__}: {exc}")
                return b""
            if status == 409 and ctype == SIZE_CONTENT_TYPE:
                text = answer.decode("ascii", "replace").strip()
                if text.isdigit() and len(text) <= 20 and int(text) != old:
                    self.sizes[cosigner.name] = int(text)
                    continue
                self._fail(cosigner, f"409 conflict at size {text[:20]}: a different root?")
                return b""
            if status != 200:
                self._fail(cosigner, f"answered {status}: {answer[:200]!r}")
                return b""
            # keep only lines that verify with this witness's key over this checkpoint
            lines = [
                ln
                for ln in _signature_lines(answer)
                if cosigner.name in verified_cosignatures(note + ln, [cosigner])[0]
            ]
            if not lines:
                self._fail(cosigner, "answered without a valid cosignature from its key")
                return b""
            self.sizes[cosigner.name] = checkpoint.size
            self.last_error.pop(cosigner.name, None)
            return b"".join(lines)
        self._fail(cosigner, "size kept changing between attempts")
        return b""

    async def _post(self, url: str, body: bytes) -> tuple[int, str, bytes]:
        assert self._session is not None
        async with self._session.post(
            url.rstrip("/") + "/add-checkpoint",
            data=body,
            headers={"Content-Type": "text/plain"},
        ) as answer:
            data = await answer.content.read(MAX_ANSWER)
            return answer.status, answer.content_type, data

    def _fail(self, cosigner: Cosigner, reason: str) -> None:
        self.last_error[cosigner.name] = reason
        with contextlib.suppress(Exception):
            print(f"witness {cosigner.name} ({cosigner.url}): {reason}", file=sys.stderr)


def _signature_lines(answer: bytes) -> list[bytes]:
    """The answer's lines if it is only note signature lines, else none."""
    if not answer.endswith(b"\n"):
        return []
    lines = [ln + b"\n" for ln in answer[:-1].split(b"\n")]
    if not all(ln.startswith("\u2014 ".encode()) for ln in lines):
        return []
    return lines
