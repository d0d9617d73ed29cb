"""`python -m ledger serve`: the reference supervision platform over HTTP (aiohttp).

Endpoints:
    POST /ingest          NDJSON of signed entries, all-or-nothing per request
    GET  /checkpoint      the latest signed checkpoint (``?after=N`` long-polls)
    GET  /tile/...        tlog-tiles hash tiles and entry bundles
    GET  /log.vkey        the log's verifier key
    GET  /status          JSON: sizes, origin, counters
    GET  /taxi/status     the signed taxi suspension list (``?since=N``: changes since N)

Ingest answers 200 only after the entries are committed to the durable sequence;
the integrator publishes a new checkpoint at most ``--interval`` seconds later.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from ledger.cosignature import PolicyError, WitnessPolicy
from ledger.keys import is_low_s
from ledger.kinds import FEEDS, FeedError, FeedGone
from ledger.merkle import leaf_hash
from ledger.note import Checkpoint, Signer, Verifier, generate_signer, open_checkpoint
from ledger.note import sign_checkpoint as sign_cp
from ledger.platform.sequencer import REGISTRY_TYPES, Candidate, Outcome, Sequencer
from ledger.platform.witnesses import WitnessCollector
from ledger.records import MAX_ENTRY_BYTES, Record, RecordError, identity_of_entry
from ledger.registry import OWNED_TYPES, TRANSFERABLE, EntryHead, UnknownKeyError
from ledger.sigcheck import MALFORMED, SignatureChecker
from ledger.tiles import TileLog, parse_tile_path

DEFAULT_ORIGIN = "hangzhou.evmetrology.example/2026"
MAX_LINES = 1000
MAX_BODY = 4 * 1024 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"
RECOSIGN_S = 10.0
"""With witnesses configured, a checkpoint some witness did not cosign is offered again
after this many seconds (a witness that was down gets its chance without new entries)."""
COSIGN_REFRESH_S = 300.0
"""With witnesses configured, the current checkpoint is offered again at least this often,
new entries or not, so that its cosignatures stay fresh: an office whose policy has a
``max-age`` (ledger.cosignature) tells a quiet log from a frozen view by their time."""


class LogCorrupted(RuntimeError):
    """The stored log disagrees with its own signed checkpoint: refuse to serve."""


class DataDirInUse(RuntimeError):
    """Another platform process serves the same data directory: refuse to start."""


LOCK_FILE = "platform.lock"


def lock_data_dir(data_dir: Path) -> int:
    """Takes the data directory's exclusive lock; returns the descriptor that holds it.

    Two platforms on one directory would each sequence entries into the same SQLite
    file and sign checkpoints over tiles the other is writing: two logs under one key,
    a fork the platform itself would be to blame for. ``flock`` is released by the
    kernel when the process ends however it ends (SIGKILL included), so a crashed
    platform never leaves a stale lock behind. The holder's pid is written into the
    file for the message a second process prints.
    """
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise DataDirInUse(
            f"another platform (pid {holder}) is already serving the data directory "
            f"{data_dir}; stop it first, or give this one another --data directory"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _signature(head: EntryHead) -> bytes:
    """The raw signature of an entry (its strict check comes later, on the workers)."""
    return base64.b64decode(head.sig["v"], validate=True)


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    # Created with its final mode: the log key is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # a stale .tmp keeps its old mode through O_CREAT
    with open(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_or_create_key(data_dir: Path, origin: str) -> Signer:
    skey_path, vkey_path = data_dir / "log.key", data_dir / "log.vkey"
    if not skey_path.exists():
        skey, vkey = generate_signer(origin)
        _write_atomic(skey_path, skey.encode() + b"\n", 0o600)
        _write_atomic(vkey_path, vkey.encode() + b"\n")
    signer = Signer(skey_path.read_text().strip())
    if signer.name != origin:
        raise SystemExit(
            f"error: {skey_path} is the key of log {signer.name!r}, not {origin!r}; "
            "use --origin to match it or another --data directory"
        )
    if not vkey_path.exists():
        _write_atomic(vkey_path, signer.vkey.encode() + b"\n")
    return signer


class Integrator:
    """Moves committed entries into the tiles and signs a checkpoint over them."""

    def __init__(self, data_dir: Path, signer: Signer, origin: str, fsync: bool = True) -> None:
        import sqlite3

        self.origin, self.signer = origin, signer
        self.log_dir = data_dir / "log"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tiles = TileLog(self.log_dir, fsync=fsync)
        self.reader = sqlite3.connect(data_dir / "sequence.sqlite", check_same_thread=False)
        self.checkpoint_path = self.log_dir / "checkpoint"
        self.checkpoint_note = b""
        self.checkpoint: Checkpoint | None = None
        self.checkpointed_at = 0.0
        if self.checkpoint_path.exists():
            note = self.checkpoint_path.read_bytes()
            checkpoint, _ = open_checkpoint(note, Verifier(signer.vkey), origin)
            if self.tiles.size < checkpoint.size:
                raise LogCorrupted(
                    f"the tiles hold {self.tiles.size} entries but the signed checkpoint "
                    f"covers {checkpoint.size}: the log directory lost data"
                )
            if self.tiles.root(checkpoint.size) != checkpoint.root:
                raise LogCorrupted(
                    "the tiles do not hash to the signed checkpoint's root: the log "
                    "directory was altered"
                )
            self.checkpoint_note, self.checkpoint = note, checkpoint

    def integrate(self, committed: int) -> bool:
        """Integrates entries up to ``committed``; True when a new checkpoint was signed."""
        if self.tiles.size > committed:
            raise LogCorrupted(
                f"the tiles hold {self.tiles.size} entries, more than the {committed} "
                "committed ones: refusing to sign"
            )
        start = self.tiles.size
        step = 65536
        while start < committed:
            end = min(committed, start + step)
            rows = self.reader.execute(
                "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            ).fetchall()
            self.tiles.append([data for (data,) in rows])
            start = end
        size = self.tiles.size
        if self.checkpoint is not None and self.checkpoint.size == size:
            return False
        checkpoint = Checkpoint(self.origin, size, self.tiles.root(size))
        note = sign_cp(checkpoint, self.signer)
        _write_atomic(self.checkpoint_path, note)
        self.checkpoint, self.checkpoint_note = checkpoint, note
        self.checkpointed_at = time.time()
        return True


class Platform:
    def __init__(
        self,
        data_dir: Path,
        origin: str = DEFAULT_ORIGIN,
        workers: int | None = None,
        interval: float = 0.25,
        fsync: bool = True,
        witnesses: WitnessPolicy | None = None,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = lock_data_dir(data_dir)  # before anything in it is read or written
        self.data_dir, self.origin, self.interval = data_dir, origin, interval
        self.signer = load_or_create_key(data_dir, origin)
        self.sequencer = Sequencer(data_dir / "sequence.sqlite")
        self.integrator = Integrator(data_dir, self.signer, origin, fsync=fsync)
        self.checker = SignatureChecker(workers)
        self.db_thread = ThreadPoolExecutor(1, thread_name_prefix="sequencer")
        self.tile_thread = ThreadPoolExecutor(1, thread_name_prefix="integrator")
        self.queue: asyncio.Queue = asyncio.Queue()
        self.new_entries = asyncio.Event()
        self.new_checkpoint = asyncio.Condition()
        self.counters = {"accepted": 0, "rejected": 0, "requests": 0}
        self.feeds = {path: feed.make(origin, self.signer) for path, feed in FEEDS.items()}
        self._tasks: list[asyncio.Task] = []
        # Witness cosignatures (docs/witness.md): with witnesses configured, /checkpoint
        # serves the newest checkpoint once the witnesses were asked, cosignatures appended.
        self.collector = WitnessCollector(witnesses) if witnesses else None
        self.cosign_refresh_s = COSIGN_REFRESH_S
        self.cosigned: tuple[Checkpoint | None, bytes] = (None, b"")

    # ---- lifecycle -------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/ingest", self.handle_ingest)
        app.router.add_get("/checkpoint", self.handle_checkpoint)
        app.router.add_get("/log.vkey", self.handle_vkey)
        app.router.add_get("/status", self.handle_status)
        app.router.add_get("/tile/{path:.+}", self.handle_tile)
        for path in self.feeds:  # the kinds' signed documents (ledger.kinds.SignedFeed)
            app.router.add_get(path, self.handle_feed)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, _app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.tile_thread, self.integrator.integrate, self.sequencer.size)
        if self.collector is not None:
            await self._cosign()
        self._tasks = [
            asyncio.create_task(self._sequence_loop()),
            asyncio.create_task(self._integrate_loop()),
        ]

    async def _on_cleanup(self, _app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.collector is not None:
            await self.collector.close()
        self.checker.close()
        self.db_thread.shutdown()
        self.tile_thread.shutdown()
        self.sequencer.close()
        os.close(self._lock_fd)

    # ---- sequencing and integration ----------------------------------------------------
    async def _sequence_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            while not self.queue.empty():
                items.append(self.queue.get_nowait())
            try:
                outcomes = await loop.run_in_executor(
                    self.db_thread, self.sequencer.append, [batch for batch, _ in items]
                )
            except Exception as exc:  # the disk failed: nobody is told "accepted"
                for _, future in items:
                    future.set_exception(exc)
                continue
            for (_, future), outcome in zip(items, outcomes, strict=True):
                future.set_result(outcome)
            self.new_entries.set()

    async def _integrate_loop(self) -> None:
        loop = asyncio.get_running_loop()
        cosigned_at = time.monotonic()
        while True:
            if self.collector is not None:
                wait = RECOSIGN_S if self.collector.last_error else self.cosign_refresh_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.new_entries.wait(), wait)
            else:
                await self.new_entries.wait()
            self.new_entries.clear()
            signed = await loop.run_in_executor(
                self.tile_thread, self.integrator.integrate, self.sequencer.size
            )
            stale = time.monotonic() - cosigned_at >= self.cosign_refresh_s
            if self.collector is not None and (signed or self.collector.last_error or stale):
                await self._cosign()
                cosigned_at = time.monotonic()
            if signed:
                async with self.new_checkpoint:
                    self.new_checkpoint.notify_all()
            await asyncio.sleep(self.interval)

    async def _cosign(self) -> None:
        """Asks the witnesses to cosign the current checkpoint; publishes it with their lines."""
        checkpoint, note = self.integrator.checkpoint, self.integrator.checkpoint_note
        if checkpoint is None or self.collector is None:
            return
        loop = asyncio.get_running_loop()

        def proof(old: int, new: int) -> asyncio.Future:
            return loop.run_in_executor(
                self.tile_thread, self.integrator.tiles.consistency_proof, old, new
            )

        lines = await self.collector.collect(checkpoint, note, proof)
        self.cosigned = (checkpoint, note + lines)

    def _served(self) -> tuple[Checkpoint | None, bytes]:
        """The checkpoint /checkpoint serves: the integrator's, or its cosigned form."""
        if self.collector is not None:
            return self.cosigned
        return self.integrator.checkpoint, self.integrator.checkpoint_note

    # ---- handlers ----------------------------------------------------------------------
    async def handle_ingest(self, request: web.Request) -> web.Response:
        self.counters["requests"] += 1
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._reject(413, f"request body over {MAX_BODY} bytes; send smaller batches")
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines:
            return self._reject(400, "empty request: send one signed entry per line")
        if len(lines) > MAX_LINES:
            return self._reject(413, f"{len(lines)} entries in one request; at most {MAX_LINES}")
        candidates: list[Candidate] = []
        registry, owners = self.sequencer.registry, self.sequencer.owners
        overlay = owned_overlay = None
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_ENTRY_BYTES:
                return self._reject(
                    413,
                    f"line {number}: entry is {len(line)} bytes; the limit is {MAX_ENTRY_BYTES}",
                )
            try:
                head = EntryHead.peek(line)
                if head.type in REGISTRY_TYPES:
                    if overlay is None:
                        overlay = registry = registry.copy()
                    key_text = registry.signer_of(head).text
                    registry.apply(Record.parse(line))
                else:
                    key_text = registry.signer_of(head).text
                if head.type in OWNED_TYPES:  # who may sign what (issue 13, item 3)
                    by_authority = head.type in TRANSFERABLE and head.key_id in registry.authority
                    owners.check(head.type, head.body, by_authority)
                    if head.type in TRANSFERABLE:
                        if owned_overlay is None:
                            owned_overlay = owners = owners.copy()
                        owners.apply(head.type, head.body)
                identity = head.identity or identity_of_entry(head.type, head.key_id, line)
                high_s = head.sig.get("a") == "p256" and not is_low_s(_signature(head))
            except UnknownKeyError as exc:
                return self._reject(403, f"line {number}: {exc}")
            except (RecordError, KeyError, TypeError, ValueError) as exc:
                return self._reject(400, f"line {number}: {exc}")
            candidates.append(Candidate(line, leaf_hash(line), head, key_text, identity, high_s))
        seen: dict[bytes, int] = {}
        for number, cand in enumerate(candidates, 1):
            if cand.identity in seen:
                return self._reject(
                    409,
                    f"line {number}: {cand.head.subject}: duplicate entry in this request: "
                    f"the same record (type, signer and body) as line {seen[cand.identity]}",
                )
            seen[cand.identity] = number
        # Duplicates of already-logged records, and high-S signatures (after the
        # duplicate test, so a twin of a logged record is named as such), are refused
        # by the sequencer, on the one thread that owns the database connection.
        futures = self.checker.submit(
            [c.data for c in candidates], [c.key_text for c in candidates]
        )
        results = []
        for future in futures:
            results.extend(await asyncio.wrap_future(future))
        for number, result in enumerate(results, 1):
            if result is not None:
                kind, reason = result
                return self._reject(400 if kind == MALFORMED else 403, f"line {number}: {reason}")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self.queue.put((candidates, future))
        outcome: Outcome = await future
        if outcome.reason is not None:
            return self._reject(outcome.status, outcome.reason, outcome.first_index)
        self.counters["accepted"] += len(candidates)
        return web.json_response({"accepted": len(candidates), "first_index": outcome.first})

    def _reject(self, status: int, reason: str, entry_index: int | None = None) -> web.Response:
        """The refusal as JSON: ``error`` for a person; for a duplicate (409) of a logged
        record also ``entry_index``, the index of the entry already in the log."""
        self.counters["rejected"] += 1
        answer: dict[str, object] = {"error": reason}
        if entry_index is not None:
            answer["entry_index"] = entry_index
        return web.json_response(answer, status=status)

    async def handle_checkpoint(self, request: web.Request) -> web.Response:
        after = request.query.get("after")
        if after is not None:
            try:
                wanted = int(after)
                wait = min(float(request.query.get("wait", "25")), 60.0)
            except ValueError:
                return self._reject(400, "after= and wait= must be numbers")
            async with self.new_checkpoint:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.new_checkpoint.wait_for(
                            lambda: (
                                self._served()[0] is not None and self._served()[0].size > wanted
                            )
                        ),
                        wait,
                    )
        note = self._served()[1]
        if not note:
            return self._reject(404, "no checkpoint yet: the log is empty")
        return web.Response(
            body=note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def handle_vkey(self, _request: web.Request) -> web.Response:
        return web.Response(text=self.signer.vkey + "\n", headers={"Cache-Control": "no-cache"})

    async def handle_status(self, _request: web.Request) -> web.Response:
        checkpoint = self.integrator.checkpoint
        return web.json_response(
            {
                "origin": self.origin,
                "sequenced": self.sequencer.size,
                "checkpoint_size": checkpoint.size if checkpoint else 0,
                "checkpointed_at": self.integrator.checkpointed_at,
                **self.counters,
                **self._witness_status(),
            }
        )

    def _witness_status(self) -> dict[str, object]:
        if self.collector is None:
            return {}
        checkpoint = self.cosigned[0]
        return {
            "cosigned_size": checkpoint.size if checkpoint else 0,
            "witness_sizes": dict(self.collector.sizes),
            "witness_errors": dict(self.collector.last_error),
        }

    async def handle_tile(self, request: web.Request) -> web.StreamResponse:
        path = "tile/" + request.match_info["path"]
        try:
            parse_tile_path(path)
        except ValueError as exc:
            return self._reject(404, f"not a tile path: {exc}")
        file = self.integrator.log_dir / path
        if not file.is_file():
            return self._reject(404, f"{path} does not exist (yet)")
        return web.Response(
            body=file.read_bytes(),
            content_type="application/octet-stream",
            headers={"Cache-Control": IMMUTABLE},
        )

    async def handle_feed(self, request: web.Request) -> web.Response:
        """A kind's signed document at the latest checkpoint (the taxi suspension list:
        docs/taxi-status.md)."""
        feed = self.feeds[request.path]
        checkpoint = self.integrator.checkpoint
        if checkpoint is None:
            return self._reject(404, "no checkpoint yet: the log is empty")
        since = request.query.get("since")
        if since is not None and not (since.isascii() and since.isdigit()):
            return self._reject(400, f"since={since[:20]}: a list sequence is a decimal number")
        try:
            note = await asyncio.get_running_loop().run_in_executor(
                self.tile_thread,
                feed.document,
                checkpoint.size,
                checkpoint.root,
                self.integrator.tiles.read_entries,
                None if since is None else int(since),
            )
        except FeedError as exc:
            return self._reject(410 if isinstance(exc, FeedGone) else 400, f"since={since}: {exc}")
        return web.Response(
            body=note,
            content_type="text/plain",
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger serve", description="Run the reference supervision platform."
    )
    parser.add_argument("--data", type=Path, required=True, help="data directory (created)")
    parser.add_argument("--port", type=int, default=8733, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--origin", default=DEFAULT_ORIGIN, help="log origin (= key name)")
    parser.add_argument("--workers", type=int, default=None, help="signature-check processes")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between checkpoints")
    parser.add_argument("--no-fsync", action="store_true", help="faster, not crash-safe (benches)")
    parser.add_argument(
        "--witnesses",
        type=Path,
        metavar="FILE",
        help="witness configuration ('witness VKEY URL' lines, docs/witness.md): collect "
        "their cosignatures for every checkpoint",
    )
    parser.add_argument(
        "--cosign-refresh",
        type=float,
        default=COSIGN_REFRESH_S,
        metavar="SECONDS",
        help="with --witnesses: offer the current checkpoint again this often, new entries "
        f"or not, so its cosignatures stay fresh (default {COSIGN_REFRESH_S:.0f})",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_serve(args))
    except (LogCorrupted, DataDirInUse, PolicyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


async def _serve(args: argparse.Namespace) -> int:
    witnesses = WitnessPolicy.load(args.witnesses) if args.witnesses else None
    platform = Platform(
        args.data, args.origin, args.workers, args.interval, not args.no_fsync, witnesses
    )
    platform.cosign_refresh_s = max(args.cosign_refresh, 0.1)
    runner = web.AppRunner(platform.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the real port when --port 0
    url = f"http://{args.host}:{port}"
    (args.data / "server.json").write_text(json.dumps({"url": url, "pid": os.getpid()}))
    print(f"listening on {url}", flush=True)
    print(f"log origin {args.origin}; verifier key in {args.data / 'log.vkey'}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    return 0
