"""Strict parsing and signature checks spread over all cores.

Signature verification dominates both ingest on the platform and a full sync
on the workstation (DESIGN.md: ~12.5k P-256 verifies/s per core), so both hand
batches of (entry bytes, expected key text) to worker processes. Workers parse
strictly too, so the single ordering thread only does the cheap work.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from ledger.records import (
    IDENTITY_BYTES,
    Record,
    RecordError,
    SignatureError,
    identity_of,
    message_from_entry,
    parse_fields,
    public_key,
)

_key = public_key  # one cache with the records' validation: a key is decoded once per process


def _started() -> None:
    """A task that only makes a worker process start and import this module."""


def exit_with_owner(owner: int) -> None:
    """Pool initializer: the worker ends when ``owner`` (the process that made the pool)
    ends, however it ends.

    A pool's workers wait on a queue whose writing end they hold themselves, so a
    workstation killed outright (SIGKILL, a crash, a pulled plug) used to leave them
    waiting forever, and with them the forkserver that forked them: ~45 MB a kill, seen
    piling up to 1,600 processes on this machine. A daemon thread waits on a pidfd of
    the owner (Linux), or checks it every second elsewhere, and ends the worker.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(owner)
        except (AttributeError, OSError):  # not Linux, or the owner is already gone
            while _alive(owner):
                time.sleep(1.0)
        else:
            select.select([fd], [], [])  # readable once the owner has exited
        os._exit(0)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


MALFORMED = "malformed"
BAD_SIGNATURE = "signature"


def check_entries(entries: Sequence[bytes], keys: Sequence[str]) -> list[tuple[str, str] | None]:
    """For each entry: None when it parses strictly and its signature holds with the
    given key, else (MALFORMED | BAD_SIGNATURE, reason naming the record and key).

    The one loop a full sync runs per entry on every core, around a ~60 µs verify:
    no Record is built unless there is an error to name (`Record.verify` words it)."""
    return _check(entries, keys, None)


def check_and_identify(
    entries: Sequence[bytes], keys: Sequence[str]
) -> tuple[list[tuple[str, str] | None], bytes]:
    """`check_entries`, and each entry's record identity (`ledger.records.identity_of`,
    IDENTITY_BYTES each, concatenated in entry order; zeros for an entry that fails).

    The identity is a hash of the signed message the check slices anyway, so here, on
    every core, it costs one SHA-256; on the sync's single ordering thread it cost ~2 µs
    an entry. One bytes object per chunk pickles back at no cost to speak of."""
    ids: list[bytes] = []
    return _check(entries, keys, ids), b"".join(ids)


_NO_IDENTITY = bytes(IDENTITY_BYTES)


def _check(
    entries: Sequence[bytes], keys: Sequence[str], ids: list[bytes] | None
) -> list[tuple[str, str] | None]:
    results: list[tuple[str, str] | None] = []
    append = results.append
    for data, key_text in zip(entries, keys, strict=True):
        try:
            rtype, body, alg, key_id, signature = parse_fields(data)
        except RecordError as exc:
            append((MALFORMED, str(exc)))
            if ids is not None:
                ids.append(_NO_IDENTITY)
            continue
        try:
            key = _key(key_text)
            message = message_from_entry(rtype, data)
            if key.key_id == key_id and key.alg == alg and key.verify(message, signature):
                append(None)
                if ids is not None:
                    ids.append(identity_of(key_id, message))
                continue
            Record(rtype, body, alg, key_id, signature).verify(key, message)
            raise SignatureError(f"{rtype} record: signature does not verify")  # unreachable
        except (RecordError, ValueError) as exc:
            append((BAD_SIGNATURE, str(exc)))
            if ids is not None:
                ids.append(_NO_IDENTITY)
    return results


class SignatureChecker:
    """A process pool that runs `check_entries` in chunks; in-process when workers=0."""

    def __init__(self, workers: int | None = None, chunk: int = 512) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.chunk = chunk
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 0:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=exit_with_owner,
                initargs=(os.getpid(),),
            )
            # Starts the workers now (the pool would on first use): forking and importing
            # cryptography and this module takes ~0.3 s, which a first sync then waits for.
            for _ in range(self.workers):
                self._pool.submit(_started)

    def submit(
        self, entries: Sequence[bytes], keys: Sequence[str], identify: bool = False
    ) -> list[Future]:
        """Futures of result lists, one per chunk, in order: of `check_entries`, or
        with ``identify`` of `check_and_identify` ((results, identities) per chunk)."""
        work = check_and_identify if identify else check_entries
        futures: list[Future] = []
        for start in range(0, len(entries), self.chunk):
            part_e = list(entries[start : start + self.chunk])
            part_k = list(keys[start : start + self.chunk])
            if self._pool is None:
                future: Future = Future()
                future.set_result(work(part_e, part_k))
            else:
                future = self._pool.submit(work, part_e, part_k)
            futures.append(future)
        return futures

    def check(self, entries: Sequence[bytes], keys: Sequence[str]) -> list[tuple[str, str] | None]:
        results: list[tuple[str, str] | None] = []
        for future in self.submit(entries, keys):
            results.extend(future.result())
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SignatureChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
