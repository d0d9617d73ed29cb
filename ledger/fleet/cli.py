"""`python -m ledger simulate`: run the Hangzhou fleet against a platform, or into a file.

Batch mode generates ``--days`` of simulated traffic and posts it as fast as
the platform takes it: the registry first and in order, then traffic on
several connections, while the next hours are generated and signed on a
process pool. ``--out`` writes the same entries as NDJSON instead (benches,
offline tests). ``--realtime --speed X`` streams forever, the simulated clock
advancing X seconds per wall-clock second, so a demo sees seals open and
sessions arrive live. Every injected fault goes to the ``--truth`` file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from ledger import pii
from ledger.fleet import model
from ledger.fleet.faults import DEFAULT_RATES, FaultConfigError, TruthWriter, parse_rates
from ledger.fleet.generate import DAY_MS, HOUR_MS, Draft, Simulation
from ledger.fleet.send import Poster, Refused
from ledger.fleet.signing import SignPool, enc_private_key, enc_private_pem
from ledger.fleet.tariff import CST_OFFSET_MS

CHUNK_HOURS = 2
"""Batch mode generates and signs two simulated hours at a time: big enough to keep
the pool busy, small enough that posting starts at once and the unoverlapped tail
(signing the last chunk) is short."""
PIPELINE_DEPTH = 3
"""Chunks generated ahead of the one being posted, so the signing pool never idles."""

Sink = Callable[[list[Draft]], Awaitable[None]]


class RegistryRefused(RuntimeError):
    """The platform would not register this fleet: every later entry would be refused too."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ledger simulate",
        description="Simulate Hangzhou's charging piles: signed registry, sessions, billing, "
        "heartbeats and seal events, with injected faults and a ground-truth file.",
    )
    parser.add_argument("--platform", metavar="URL", help="platform base URL (POST URL/ingest)")
    parser.add_argument("--out", type=Path, metavar="FILE.ndjson", help="write entries here")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument(
        "--scale",
        choices=["hangzhou"],
        help="91 operators, 1016 stations, 12258 piles (Hangzhou 2022)",
    )
    size.add_argument("--piles", type=int, metavar="N", help="a proportional fleet of N piles")
    parser.add_argument(
        "--days",
        type=float,
        help="simulated days (default 1; with "
        "--realtime: stop after that much simulated time, default never)",
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed, same entries")
    parser.add_argument(
        "--start",
        metavar="YYYY-MM-DD",
        help="first simulated day (local "
        "midnight, UTC+8); default: --days before today, or now with --realtime",
    )
    parser.add_argument("--realtime", action="store_true", help="stream forever")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument(
        "--fault-rate",
        action="append",
        default=[],
        metavar="NAME=RATE",
        help="per-session or per-meter-day fault probability; NAME is one of "
        f"{', '.join(DEFAULT_RATES)} or all (repeatable)",
    )
    parser.add_argument(
        "--fault-scale",
        type=float,
        default=1.0,
        help="multiply every default fault rate (demos of small fleets)",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        help="ground-truth JSON lines (default: next to --out, else ./simulate-truth.jsonl)",
    )
    parser.add_argument(
        "--keys-out",
        type=Path,
        metavar="DIR",
        help="write authority, operator and inspector keys for the demo",
    )
    parser.add_argument(
        "--alg",
        choices=["p256", "ed25519"],
        default="p256",
        help="signature algorithm of all simulated sources",
    )
    parser.add_argument(
        "--heartbeat-every",
        type=int,
        metavar="SECONDS",
        help="heartbeat interval, also declared as the meters' heartbeat_s "
        "(default 900, or 3600 for fleets over 2000 piles)",
    )
    parser.add_argument("--workers", type=int, help="signing processes (default: all cores)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel POST requests")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    return parser


def _start_ms(args: argparse.Namespace) -> int:
    if args.start:
        day = dt.date.fromisoformat(args.start)
        return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000) - (
            CST_OFFSET_MS
        )
    now = int(time.time() * 1000)
    if args.realtime:
        return now - now % HOUR_MS
    today = (now + CST_OFFSET_MS) // DAY_MS * DAY_MS - CST_OFFSET_MS
    return today - int((args.days or 1.0) * DAY_MS) // HOUR_MS * HOUR_MS


def write_keys(directory: Path, seed: int, alg: str, fleet: model.Fleet, pool: SignPool) -> None:
    """Authority signing + PII key, operator and inspector keys, and an index (keys.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"seed": seed, "alg": alg, "keys": []}
    enc_path = directory / "authority-enc.pem"
    enc_path.write_bytes(enc_private_pem(seed))
    enc_path.chmod(0o600)
    index["enc_key"] = pii.enc_key_text(enc_private_key(seed).public_key())
    index["enc_private"] = enc_path.name
    entries = [("authority", model.AUTHORITY_ID, model.AUTHORITY_LABEL, "authority.pem")]
    entries += [
        ("inspector", i, model.inspector_label(i), f"inspector-{i}.pem")
        for i, _ in fleet.inspectors
    ]
    entries += [
        (
            "operator",
            o.operator_id,
            model.operator_label(o.operator_id),
            f"operator-{o.operator_id}.pem",
        )
        for o in fleet.operators
    ]
    for role, ident, label, name in entries:
        key = pool.local.key(label)
        key.save(directory / name)
        index["keys"].append(
            {
                "role": role,
                "id": ident,
                "file": name,
                "key": key.public_key.text,
                "key_id": key.key_id,
            }
        )
    (directory / "keys.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n")


class Progress:
    """A one-line status on stderr (rewritten in place on a terminal, every 10 s otherwise)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.generated = 0
        self.delivered = 0
        self.sim_ms = 0
        self.faults = 0
        self.poster: Poster | None = None

    def line(self) -> str:
        elapsed = max(1e-9, time.monotonic() - self.started)
        sim = dt.datetime.fromtimestamp((self.sim_ms + CST_OFFSET_MS) / 1000, dt.UTC)
        accepted = self.poster.stats.accepted if self.poster else self.delivered
        return (
            f"sim {sim:%Y-%m-%d %H:%M} | generated {self.generated} | "
            f"{'accepted' if self.poster else 'written'} {accepted} "
            f"({accepted / elapsed:,.0f} entries/s) | faults {self.faults}"
        )

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < (1.0 if self.tty else 10.0)):
            return
        self.last = now
        print(
            ("\r" if self.tty else "") + self.line(),
            end="" if self.tty else "\n",
            file=sys.stderr,
            flush=True,
        )


def _segments(drafts: list[Draft]) -> list[tuple[bool, list[bytes]]]:
    """Consecutive runs of registry (barrier) and traffic entries, in order."""
    out: list[tuple[bool, list[bytes]]] = []
    for draft in drafts:
        assert draft.entry is not None
        if out and out[-1][0] == draft.is_registry:
            out[-1][1].append(draft.entry)
        else:
            out.append((draft.is_registry, [draft.entry]))
    return out


async def _sign(pool: SignPool, drafts: list[Draft]) -> None:
    futures = pool.submit([(d.rtype, d.body, d.signer) for d in drafts])
    entries: list[bytes] = []
    for part in futures:
        entries.extend(part if isinstance(part, list) else await asyncio.wrap_future(part))
    for draft, entry in zip(drafts, entries, strict=True):
        draft.entry = entry


async def run(args: argparse.Namespace) -> int:
    try:
        rates = parse_rates(args.fault_rate, args.fault_scale)
    except FaultConfigError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    piles = None if args.scale else args.piles
    start_ms = _start_ms(args)
    fleet = model.build_fleet(args.seed, piles, start_ms)
    heartbeat_s = args.heartbeat_every or (900 if len(fleet.piles) <= 2000 else 3600)
    pool = SignPool(args.seed, args.alg, args.workers)
    truth_path = args.truth or (
        args.out.with_suffix(".truth.jsonl") if args.out else Path("simulate-truth.jsonl")
    )
    progress = Progress(not args.quiet)
    progress.sim_ms = start_ms
    out_file: IO[bytes] | None = None
    rejects: IO[bytes] | None = None
    started = time.monotonic()
    counts: Counter[str] = Counter()
    try:
        labels = [model.meter_label(m.meter_id) for m in fleet.meters]
        public = dict(zip(labels, pool.public_keys(labels)))  # derived in parallel
        sim = Simulation(
            fleet,
            start_ms=start_ms,
            heartbeat_s=heartbeat_s,
            rates=rates,
            public_key=lambda label: public.get(label) or pool.local.public_keys([label])[0],
        )
        if args.keys_out:
            write_keys(args.keys_out, args.seed, args.alg, fleet, pool)
        truth_file = open(truth_path, "w", encoding="utf-8")  # noqa: SIM115
        truth = TruthWriter(truth_file)
        if args.out:
            out_file = open(args.out, "wb")  # noqa: SIM115
        async with contextlib.AsyncExitStack() as stack:
            poster: Poster | None = None
            if args.platform:
                rejects = open(truth_path.with_suffix(".rejects.ndjson"), "wb")  # noqa: SIM115
                poster = await stack.enter_async_context(
                    Poster(args.platform, concurrency=args.concurrency, rejects=rejects)
                )
                progress.poster = poster

            async def sink(drafts: list[Draft]) -> None:
                for draft in drafts:
                    counts[draft.rtype] += 1
                    draft.released = True
                progress.generated += len(drafts)
                for barrier, entries in _segments(drafts):
                    if out_file is not None:
                        out_file.write(b"".join(e + b"\n" for e in entries))
                        progress.delivered += len(entries)
                    if poster is not None:
                        try:
                            await poster.send(entries, barrier=barrier)
                        except Refused as exc:
                            raise RegistryRefused(
                                f"the platform refused a registry record: {exc}\nIt probably "
                                "holds another fleet already (a different --seed or --alg); "
                                "use a fresh platform data directory."
                            ) from exc
                progress.tick()

            enc_text = pii.enc_key_text(enc_private_key(args.seed).public_key())
            registry = sim.registry(enc_text)
            await _sign(pool, registry)
            await sink(registry)
            if args.realtime:
                origin = start_ms if args.start else int(time.time() * 1000)
                end = None if args.days is None else start_ms + round(args.days * 24) * HOUR_MS
                await _realtime(sim, pool, truth, sink, progress, args.speed, origin, end)
            else:
                hours = max(1, round((args.days or 1.0) * 24))
                await _batch(sim, pool, truth, sink, progress, start_ms + hours * HOUR_MS)
            if poster is not None:
                await poster.drain()
        truth.flush(None, progress.sim_ms)
        truth_file.close()
    finally:
        pool.close()
        for handle in (out_file, rejects):
            if handle is not None:
                handle.close()
    progress.tick(force=True)
    elapsed = time.monotonic() - started
    total = sum(counts.values())
    summary = {
        "entries": total,
        "by_type": dict(sorted(counts.items())),
        "faults": {k: v for k, v in truth.counts.items() if v},
        "seconds": round(elapsed, 1),
        "entries_per_s": round(total / max(elapsed, 1e-9)),
        "truth": str(truth_path),
    }
    if progress.poster is not None:
        stats = progress.poster.stats
        summary.update(
            accepted=stats.accepted,
            already_in_log=stats.duplicates,
            refused=stats.rejected,
            retries=stats.retries,
        )
    if args.out:
        summary["out"] = str(args.out)
    print(
        ("\n" if progress.tty and progress.enabled else "")
        + "simulate: "
        + json.dumps(summary, ensure_ascii=False),
        file=sys.stderr,
    )
    return 1 if progress.poster is not None and progress.poster.stats.rejected else 0


async def _batch(
    sim: Simulation,
    pool: SignPool,
    truth: TruthWriter,
    sink: Sink,
    progress: Progress,
    end_ms: int,
) -> None:
    """Generates chunk k+1 while chunk k is signed and chunk k−1 is posted."""
    loop = asyncio.get_running_loop()
    queue: deque[tuple[asyncio.Task[None], list[Draft], int]] = deque()
    t = sim.now_ms
    while True:
        if t < end_ms:
            t = min(end_ms, t + CHUNK_HOURS * HOUR_MS)
            drafts, faults = await loop.run_in_executor(None, sim.advance, t)
            if t >= end_ms:
                drafts += sim.drain()
            truth.add(faults)
            progress.faults += len(faults)
            queue.append((asyncio.create_task(_sign(pool, drafts)), drafts, t))
            if len(queue) < PIPELINE_DEPTH and t < end_ms:
                continue
        if not queue:
            return
        task, drafts, chunk_end = queue.popleft()
        await task
        progress.sim_ms = chunk_end
        await sink(drafts)
        truth.flush(chunk_end)


async def _realtime(
    sim: Simulation,
    pool: SignPool,
    truth: TruthWriter,
    sink: Sink,
    progress: Progress,
    speed: float,
    origin_ms: int,
    end_ms: int | None = None,
) -> None:
    """Releases each entry when the simulated clock reaches it.

    The clock starts at ``origin_ms`` (``--start``, else now) and advances
    ``speed`` simulated seconds per wall-clock second.
    """
    loop = asyncio.get_running_loop()
    origin = time.monotonic()

    def sim_now() -> int:
        return origin_ms + int((time.monotonic() - origin) * speed * 1000)

    ready: asyncio.Queue[tuple[list[Draft], int]] = asyncio.Queue(maxsize=2)

    async def produce() -> None:
        while end_ms is None or sim.now_ms < end_ms:
            drafts, faults = await loop.run_in_executor(None, sim.advance, sim.now_ms + HOUR_MS)
            truth.add(faults)
            progress.faults += len(faults)
            await _sign(pool, drafts)
            await ready.put((drafts, sim.now_ms))
        await ready.put(([], -1))  # the end: --days of simulated time are out

    producer = asyncio.create_task(produce())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            drafts, chunk_end = await ready.get()
            if chunk_end < 0:
                break
            i = 0
            while i < len(drafts) and not stop.is_set():
                now = sim_now()
                j = i
                while j < len(drafts) and drafts[j].emit_ms <= now:
                    j += 1
                if j > i:
                    await sink(drafts[i:j])
                    i = j
                    progress.sim_ms = now
                    truth.flush(now)
                if i < len(drafts):
                    wait = (drafts[i].emit_ms - sim_now()) / 1000 / speed
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), min(1.0, max(0.0, wait)))
                progress.tick()
            if producer.done():
                producer.result()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
    progress.sim_ms = min(sim_now(), end_ms) if end_ms is not None else sim_now()
    if stop.is_set():
        print("\nsimulate: stopping; delivering what was released", file=sys.stderr)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.platform and not args.out:
        print("simulate: give --platform URL and/or --out FILE", file=sys.stderr)
        return 2
    if args.piles is not None and args.piles < 2:
        print("simulate: --piles must be at least 2", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("simulate: --speed must be positive", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(args))
    except RegistryRefused as exc:
        print(f"\nsimulate: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nsimulate: interrupted", file=sys.stderr)
        return 130
