"""Posting signed entries to the platform's ``POST /ingest``, fast and without losing any.

Contract (ledger/platform/server.py): NDJSON, ≤ 1000 lines and ≤ 4 MiB per
request, all-or-nothing; 200 ``{"accepted": n}``; 400/403 ``{"error": "line K:
…"}`` for a malformed or unverifiable entry; 409 when an entry is already in
the log; 413 when too large.

Ordering: the platform checks each entry against the key registry as it
stands when the request arrives, so a record that registers a key (authority,
operator, inspector, meter, and for good measure stations, piles and tariffs)
is a *barrier*: everything before it must be accepted first, and nothing after
it may be sent until it is. Between barriers, traffic batches go out on
several connections at once; traffic entries never depend on each other.

Failures: connection errors and 5xx are retried with exponential backoff
forever (the platform may be restarting); a retried request that answers 409
was accepted before the connection broke, so it counts as accepted. A 409 on
a first attempt, or 400/403, names line K: that entry is set aside (409:
already in the log; 400/403: written to the rejects file and counted) and the
rest is re-sent — after a duplicate in probes of 1, 2, 4, … lines, because a
stream re-sent to a platform that has it is all duplicates and the platform
names only the first per request. Nothing generated is dropped without a trace.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import IO

import aiohttp

MAX_LINES = 1000
MAX_BYTES = 4 * 1024 * 1024 - 1024
_LINE = re.compile(r"line (\d+)")


@dataclass
class SendStats:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    retries: int = 0
    requests: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        return self.accepted / max(1e-9, time.monotonic() - self.started)


def batches(entries: Sequence[bytes]) -> list[list[bytes]]:
    """Splits entries into requests within the line and byte limits, keeping order."""
    out: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for entry in entries:
        if current and (len(current) >= MAX_LINES or size + len(entry) + 1 > MAX_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(entry)
        size += len(entry) + 1
    if current:
        out.append(current)
    return out


class Refused(RuntimeError):
    """A barrier (registry) entry was refused: what depends on it would be refused too."""


class Poster:
    """Sends entry batches to one platform; see the module doc for ordering and retries."""

    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 4,
        rejects: IO[bytes] | None = None,
        initial_backoff: float = 0.25,
        max_backoff: float = 30.0,
        log: IO[str] = sys.stderr,
    ) -> None:
        self.url = url.rstrip("/") + "/ingest"
        self.concurrency = max(1, concurrency)
        self.rejects = rejects
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.log = log
        self.stats = SendStats()
        self._session: aiohttp.ClientSession | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.concurrency)

    async def __aenter__(self) -> Poster:
        timeout = aiohttp.ClientTimeout(total=120, connect=10)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drain()
        if self._session is not None:
            await self._session.close()

    async def send(self, entries: Sequence[bytes], *, barrier: bool = False) -> None:
        """Queues ``entries``; a barrier waits for all in flight and is sent alone, in order."""
        if not entries:
            return
        if barrier:
            await self.drain()
            for batch in batches(entries):
                await self._post(batch, strict=True)
            return
        for batch in batches(entries):
            await self._slots.acquire()
            task = asyncio.create_task(self._post_released(batch))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def send_typed(
        self, types: Sequence[str], entries: Sequence[bytes], barriers: Collection[str]
    ) -> None:
        """Sends ``entries`` in order, each run of records whose type is in ``barriers``
        (registry records other records depend on) as a barrier, the runs between them in
        parallel."""
        run: list[bytes] = []
        barrier = False
        for rtype, entry in zip(types, entries, strict=True):
            is_barrier = rtype in barriers
            if run and is_barrier != barrier:
                await self.send(run, barrier=barrier)
                run = []
            barrier = is_barrier
            run.append(entry)
        await self.send(run, barrier=barrier)

    async def drain(self) -> None:
        """Waits until every queued batch is accepted (or set aside); re-raises task errors."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight))

    async def _post_released(self, batch: list[bytes]) -> None:
        try:
            await self._post(batch)
        finally:
            self._slots.release()

    async def _post(self, batch: list[bytes], retried: bool = False, strict: bool = False) -> None:
        """Posts until the platform has every entry of ``batch`` or has refused it by name.

        ``strict``: a refused entry raises ``Refused`` instead of being set aside.
        """
        assert self._session is not None, "use Poster as an async context manager"
        delay = self.initial_backoff
        probe = 0  # after a duplicate: send 1, 2, 4, … lines, not the whole rest each time
        while batch:
            part = batch[:probe] if probe else batch
            body = b"\n".join(part) + b"\n"
            try:
                self.stats.requests += 1
                async with self._session.post(
                    self.url, data=body, headers={"Content-Type": "application/x-ndjson"}
                ) as response:
                    status = response.status
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.stats.retries += 1
                retried = True
                print(
                    f"\nsimulate: platform unreachable ({exc!s:.80}); retry in {delay:.1f} s",
                    file=self.log,
                )
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)
                continue
            if status == 200 or (status == 409 and retried):
                # (a retried request answered 409 went through before the connection broke)
                self.stats.accepted += len(part)
                batch = batch[len(part) :]
                probe, retried, delay = probe * 2, False, self.initial_backoff
                continue
            if status >= 500:
                self.stats.retries += 1
                retried = True
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)
                continue
            if status == 413 and len(part) > 1:
                half = len(part) // 2
                await self._post(part[:half], retried, strict)
                batch = batch[half:]
                continue
            match = _LINE.search(text)
            index = int(match.group(1)) - 1 if match else -1
            if not 0 <= index < len(part):
                if len(part) == 1:
                    index = 0
                else:  # no line number: bisect to find the culprit
                    half = len(part) // 2
                    await self._post(part[:half], retried, strict)
                    batch = batch[half:]
                    continue
            entry = part[index]
            if status == 409:
                self.stats.duplicates += 1
                probe = 1  # a re-sent stream: expect more entries the log already has
            else:
                self.stats.rejected += 1
                print(
                    f"\nsimulate: platform refused an entry ({status}): {text[:300]}", file=self.log
                )
                if self.rejects is not None:
                    self.rejects.write(entry + b"\n")
                    self.rejects.flush()
                if strict:
                    raise Refused(text[:300])
            if index:
                # lines before K passed every check the platform made up to K
                await self._post(part[:index], retried, strict)
            batch = batch[index + 1 :]
