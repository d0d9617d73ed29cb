"""`python -m ledger fuel-fleet`: the city's fuel stations into a file, or onto a platform.

Generates ``--days`` of a ``--stations`` fleet (docs/fleet-simulator.md, "Fuel
stations"), signs every record (SM2 for the dispensers' monitoring modules when
``ledger.keys`` has it), and writes ``DIR/entries.ndjson`` (one canonical entry per line,
in emission order) and ``DIR/truth.jsonl`` (one line per injected fault: its class, the
rules that must find it, dispenser / nozzle / tank and the time window). ``--post URL``
sends the same entries to a platform's ``POST /ingest`` the way the charging simulator
does (``ledger.fleet.send.Poster``: registry records are barriers, traffic goes on
several connections, retries forever on a restarting platform).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from collections import Counter
from pathlib import Path

from ledger import pii
from ledger.fleet.send import Poster, Refused
from ledger.fleet.signing import enc_private_key
from ledger.fuel import fleet as fm
from ledger.fuel.faults import FaultSpecError, Truth, parse_spec
from ledger.fuel.fleet_sign import FuelSigner, sign_all
from ledger.fuel.fleet_traffic import Traffic

BARRIERS = frozenset({"authority", "operator", "inspector", "fuel_station", "tank", "dispenser"})
"""Registry records: the platform must have each before the records it vouches for."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ledger fuel-fleet",
        description="Simulate a city's fuel stations (安心加油): signed registry, fuellings, "
        "POS sales, totalizers, tank gauges, prices, with injected faults and ground truth.",
    )
    parser.add_argument("--stations", type=int, default=20, help="stations (Hangzhou ≈ 500)")
    parser.add_argument("--days", type=float, default=1.0, help="simulated days")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same entries")
    parser.add_argument(
        "--start",
        metavar="YYYY-MM-DD",
        help="first simulated day (local midnight, UTC+8); default: --days before today",
    )
    parser.add_argument(
        "--faults",
        default="none",
        help="none | all | all=N | NAME=N,... (counts for the run); NAME one of "
        "cheat_board, cheat_software, tampered_totalizer, price, seal, component_swap, "
        "round_amounts",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write entries and truth here")
    parser.add_argument("--post", metavar="URL", help="platform base URL (POST URL/ingest)")
    parser.add_argument(
        "--alg",
        choices=["p256", "ed25519"],
        default="p256",
        help="algorithm of the authority, operators and inspectors (modules: SM2)",
    )
    parser.add_argument(
        "--no-authority",
        action="store_true",
        help="do not register the authority (another fleet on the platform does; same "
        "--seed and --alg give the same authority key)",
    )
    parser.add_argument(
        "--verifications-per-year",
        type=float,
        default=2.0,
        help="periodic verifications per dispenser and year (JJG 443: every 6 months)",
    )
    parser.add_argument("--workers", type=int, default=0, help="signing processes (0: here)")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel POST requests")
    return parser


def start_ms(day: str | None, days: float) -> int:
    if day:
        d = dt.date.fromisoformat(day)
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000
        return int(midnight) - fm.CST_OFFSET_MS
    today = fm.local_midnight(int(time.time() * 1000))
    return today - int(max(1.0, days) + 0.999) * 86_400_000


def simulate(
    stations: int,
    days: float,
    seed: int,
    faults: dict[str, int],
    start: int,
    *,
    alg: str = "p256",
    authority: bool = True,
    verifications_per_year: float = 2.0,
    workers: int = 0,
) -> tuple[list[str], list[bytes], list[Truth], dict[str, int]]:
    """(record types, signed entries, truth, stats) of one run, in emission order."""
    fleet = fm.build_fleet(seed, stations, start)
    signer = FuelSigner(seed, alg)
    traffic = Traffic(
        fleet,
        start_ms=start,
        days=days,
        public_key=signer.public_key,
        enc_key_text=pii.enc_key_text(enc_private_key(seed).public_key()),
        faults=faults,
        authority=authority,
        verifications_per_year=verifications_per_year,
    )
    drafts, truth = traffic.run()
    entries = sign_all([(d.rtype, d.body, d.signer) for d in drafts], seed, alg, workers)
    return [d.rtype for d in drafts], entries, truth, dict(traffic.stats)


async def post(url: str, types: list[str], entries: list[bytes], concurrency: int) -> Poster:
    """Sends entries in order: runs of registry records alone (barriers), traffic in parallel."""
    async with Poster(url, concurrency=concurrency) as poster:
        await poster.send_typed(types, entries, BARRIERS)
    return poster


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not args.out and not args.post:
        print("fuel-fleet: give --out DIR and/or --post URL", file=sys.stderr)
        return 2
    if args.stations < 1 or args.days <= 0:
        print("fuel-fleet: --stations must be ≥ 1 and --days > 0", file=sys.stderr)
        return 2
    try:
        faults = parse_spec(args.faults)
    except FaultSpecError as exc:
        print(f"fuel-fleet: {exc}", file=sys.stderr)
        return 2
    began = time.monotonic()
    types, entries, truth, stats = simulate(
        args.stations,
        args.days,
        args.seed,
        faults,
        start_ms(args.start, args.days),
        alg=args.alg,
        authority=not args.no_authority,
        verifications_per_year=args.verifications_per_year,
        workers=args.workers,
    )
    summary: dict[str, object] = {
        "entries": len(entries),
        "by_type": dict(sorted(Counter(types).items())),
        "faults": dict(Counter(t.fault for t in truth)),
        **stats,
    }
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "entries.ndjson").write_bytes(b"".join(e + b"\n" for e in entries))
        (args.out / "truth.jsonl").write_text(
            "".join(
                json.dumps(t.to_json(), ensure_ascii=False, sort_keys=True) + "\n" for t in truth
            ),
            encoding="utf-8",
        )
        summary["out"] = str(args.out)
    status = 0
    if args.post:
        try:
            poster = asyncio.run(post(args.post, types, entries, args.concurrency))
        except Refused as exc:
            print(
                f"fuel-fleet: the platform refused a registry record: {exc}\nIt probably holds "
                "another fleet with other keys (a different --seed or --alg): use a fresh "
                "platform data directory.",
                file=sys.stderr,
            )
            return 1
        summary.update(
            accepted=poster.stats.accepted,
            already_in_log=poster.stats.duplicates,
            refused=poster.stats.rejected,
        )
        status = 1 if poster.stats.rejected else 0
    summary["seconds"] = round(time.monotonic() - began, 1)
    print("fuel-fleet: " + json.dumps(summary, ensure_ascii=False), file=sys.stderr)
    return status
