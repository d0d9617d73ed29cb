"""`python -m ledger taxi-fleet`: the city's taxis into a file, or onto a platform.

Generates ``--days`` of a ``--taxis`` fleet (docs/taxi-fleet.md), signs every record
(deterministic signatures: one seed, byte-identical entries), and writes
``DIR/entries.ndjson`` (one canonical entry per line, in emission order) and
``DIR/truth.jsonl`` (one line per injected fault: class, plate, meter, the statuses the
suspension list may show). ``--post URL`` sends the same entries to a platform's
``POST /ingest`` as the other simulators do (``ledger.fleet.send.Poster``: registry
records are barriers, traffic goes on several connections). The traffic is generated,
signed and sent a day at a time, so a city's fleet over several days fits in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from ledger import pii
from ledger.fleet.send import Poster, Refused
from ledger.fleet.signing import enc_private_key
from ledger.fuel.fleet_sign import FuelSigner, sign_all
from ledger.taxi import fleet as tf


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ledger taxi-fleet",
        description="Simulate a city's taxis (安心打车): companies, vehicles, meters, JJG 517 "
        "verifications, trips with the monitoring platform's GNSS distances, with injected "
        "faults and ground truth.",
    )
    parser.add_argument("--taxis", type=int, default=300, help="taxis (Hangzhou ≈ 10,000)")
    parser.add_argument("--days", type=int, default=1, help="simulated days")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same entries")
    parser.add_argument(
        "--start",
        metavar="YYYY-MM-DD",
        help="first simulated day (local midnight, UTC+8); default: --days before today",
    )
    parser.add_argument(
        "--faults",
        default="none",
        help="none | all | all=N | NAME=N,... ; NAME one of " + ", ".join(tf.FAULTS),
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write entries and truth here")
    parser.add_argument("--post", metavar="URL", help="platform base URL (POST URL/ingest)")
    parser.add_argument("--alg", choices=["p256", "ed25519"], default="p256")
    parser.add_argument(
        "--no-authority",
        action="store_true",
        help="do not register the authority (another fleet on the platform does; same "
        "--seed and --alg give the same authority key)",
    )
    parser.add_argument("--workers", type=int, default=0, help="signing processes (0: here)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel POST requests")
    return parser


def start_ms(day: str | None, days: int) -> int:
    if day:
        d = dt.date.fromisoformat(day)
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000
        return int(midnight) - tf.CST_OFFSET_MS
    today = tf.local_midnight(int(time.time() * 1000))
    return today - max(1, days) * tf.DAY_MS


def chunks(
    fleet: tf.TaxiFleet, *, alg: str = "p256", authority: bool = True, workers: int = 0
) -> Iterator[tuple[list[str], list[bytes]]]:
    """(record types, signed entries): the registry, then one chunk per simulated day."""
    keys = FuelSigner(fleet.seed, alg, module_alg=alg)  # the same key derivation by label
    enc = pii.enc_key_text(enc_private_key(fleet.seed).public_key())
    drafts = tf.registry(fleet, keys.public_key, enc, authority=authority)
    yield [d[0] for d in drafts], sign_all(drafts, fleet.seed, alg, workers, module_alg=alg)
    for day in range(fleet.days):
        drafts = tf.day_traffic(fleet, day)
        yield [d[0] for d in drafts], sign_all(drafts, fleet.seed, alg, workers, module_alg=alg)


async def post(url: str, parts: Iterator[tuple[list[str], list[bytes]]], concurrency: int):
    """Sends entries in order: runs of registry records alone (barriers), traffic in parallel."""
    async with Poster(url, concurrency=concurrency) as poster:
        for types, entries in parts:
            await poster.send_typed(types, entries, tf.REGISTRY_TYPES)
    return poster


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.out and not args.post:
        print("taxi-fleet: give --out DIR and/or --post URL", file=sys.stderr)
        return 2
    if args.taxis < 1 or args.days < 1:
        print("taxi-fleet: --taxis and --days must be ≥ 1", file=sys.stderr)
        return 2
    try:
        faults = tf.parse_spec(args.faults)
        fleet = tf.build_fleet(
            args.seed, args.taxis, start_ms(args.start, args.days), args.days, faults
        )
    except ValueError as exc:
        print(f"taxi-fleet: {exc}", file=sys.stderr)
        return 2
    began = time.monotonic()
    counts: Counter[str] = Counter()
    out_file = None
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "truth.jsonl").write_text(
            "".join(
                json.dumps(t.to_json(), ensure_ascii=False, sort_keys=True) + "\n"
                for t in fleet.truth
            ),
            encoding="utf-8",
        )
        out_file = (args.out / "entries.ndjson").open("wb")

    def parts() -> Iterator[tuple[list[str], list[bytes]]]:
        for types, entries in chunks(
            fleet, alg=args.alg, authority=not args.no_authority, workers=args.workers
        ):
            counts.update(types)
            if out_file is not None:
                out_file.write(b"".join(e + b"\n" for e in entries))
            yield types, entries

    summary: dict[str, object] = {}
    status = 0
    try:
        if args.post:
            try:
                poster = asyncio.run(post(args.post, parts(), args.concurrency))
            except Refused as exc:
                print(
                    f"taxi-fleet: the platform refused a registry record: {exc}\nIt probably "
                    "holds another fleet with other keys (a different --seed or --alg): use a "
                    "fresh platform data directory.",
                    file=sys.stderr,
                )
                return 1
            summary.update(
                accepted=poster.stats.accepted,
                already_in_log=poster.stats.duplicates,
                refused=poster.stats.rejected,
            )
            status = 1 if poster.stats.rejected else 0
        else:
            for _ in parts():
                pass
    finally:
        if out_file is not None:
            out_file.close()
    summary = {
        "entries": sum(counts.values()),
        "by_type": dict(sorted(counts.items())),
        "faults": dict(Counter(t.fault for t in fleet.truth)),
        **summary,
        "seconds": round(time.monotonic() - began, 1),
    }
    if args.out:
        summary["out"] = str(args.out)
    print("taxi-fleet: " + json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return status
