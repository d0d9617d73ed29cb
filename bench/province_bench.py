"""Province scale: eight shard logs synced at once, next to one log of the same entries.

Issue #17's acceptance: "8 shard logs, as many entries as this machine allows in 10
minutes, entries/s overall next to the single-log rate of the same run".

How the shards are made: a simulated Hangzhou period (`ledger simulate`, every entry signed
by its meter or operator) is cut by time into eight consecutive shards, as half-year logs cut
a province's history. Each shard starts with the registry records its entries' signers need —
every registry record logged before the shard's start, carried byte for byte — so that each
log verifies on its own (docs/deployment.md); those copies are real entries the office
verifies, counted as such, and reported apart. The eight logs are named by a list signed by
an authority key and followed with `app.models.list_sync.ListSync` (every log its own
verified sync, all at once, one pool of signature workers); the same entries as one log are
synced with `LogSync`, into another store, in the same run. One static tile server serves
all the logs (as a CDN in front of Tessera would).

    .venv/bin/python bench/province_bench.py [--days 3] [--shards 8] [--limit N]
        [--rescan-sessions N]   # also the partitioned-store rescan (bench/province_rescan.py)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    StaticServer,
    build_log,
    pool_cpu,
    proc_cpu,
    read_entries,
    self_cpu,
    simulated_entries,
)

REGION = "330100"


def platform_accepted(entries: list[bytes]) -> tuple[list[bytes], int]:
    """The entries a platform would have logged: the simulator's "foreign_operator_bill"
    fault (a bill signed by an operator for another operator's pile) is refused at ingest
    (HTTP 409), so a log never holds it, and a sync halts on a log that does. The bench
    writes its logs directly, so it drops those, and says how many."""
    owner: dict[str, str] = {}
    kept: list[bytes] = []
    for data in entries:
        if b'"t":"pile"' in data or b'"t":"billing"' in data:
            record = json.loads(data)
            body = record["b"]
            if record["t"] == "pile":
                owner[body["pile_id"]] = body["operator_id"]
            elif owner.get(body["pile_id"], body["operator_id"]) != body["operator_id"]:
                continue
        kept.append(data)
    return kept, len(entries) - len(kept)


def shard_entries(entries: list[bytes], shards: int, registry: frozenset[str]):
    """[(carried registry copies, the shard's own entries)] for consecutive equal slices."""
    types = [json.loads(e)["t"] for e in entries]
    size = -(-len(entries) // shards)
    out = []
    for i in range(shards):
        start = i * size
        carried = [e for e, t in zip(entries[:start], types[:start], strict=True) if t in registry]
        out.append((carried, entries[start : start + size]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="use the first N entries")
    parser.add_argument("--workers", type=int, default=None, help="signature processes")
    parser.add_argument(
        "--parallel", type=int, default=None, help="logs synced at once (default: all)"
    )
    parser.add_argument(
        "--rescan-sessions",
        type=int,
        default=0,
        help="also run bench/province_rescan.py with this many sessions (0: skip)",
    )
    args = parser.parse_args()
    from app.models.list_sync import ListSync
    from app.models.projection import registry_types
    from app.models.store import Store
    from app.models.sync import LogSync
    from ledger.client import LogClient
    from ledger.loglist import LogEntry, LogList, sign_log_list
    from ledger.note import Signer, Verifier, generate_signer
    from ledger.sigcheck import SignatureChecker

    cores = args.workers or os.cpu_count() or 1
    entries, refused = platform_accepted(read_entries(simulated_entries(args.days), args.limit))
    parts = shard_entries(entries, args.shards, registry_types())
    carried = sum(len(c) for c, _ in parts)
    print(
        f"simulated Hangzhou, {args.days} day(s): {len(entries):,} entries "
        f"({refused} the platform refuses left out); "
        f"{args.shards} shards of ~{len(parts[0][1]):,}, carrying {carried:,} registry copies"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "logs"
        vkey_single, _, _ = build_log(root, entries, "bench.example/single")
        logs = []
        for i, (copies, own) in enumerate(parts):
            origin = f"bench.example/shard{i}"
            vkey, _, _ = build_log(root / f"shard{i}", copies + own, origin)
            logs.append((origin, vkey, len(copies) + len(own)))
        server = StaticServer(root)
        auth_skey, auth_vkey = generate_signer("bench.example/loglist")
        listed = LogList(
            1,
            0,
            tuple(
                LogEntry(origin, vkey, f"{server.url}/shard{i}", REGION, (i, i + 1), "usable")
                for i, (origin, vkey, _) in enumerate(logs)
            ),
        )
        list_file = Path(tmp) / "loglist.note"
        list_file.write_bytes(sign_log_list(listed, Signer(auth_skey)))
        load_before = os.getloadavg()
        with SignatureChecker(cores) as checker:
            single_store = Store.open(f"sqlite:///{tmp}/single.sqlite")
            sync = LogSync(single_store, LogClient(server.url, vkey_single), checker)
            one, single_s, single_cpu = measured(sync.sync_once, checker, server)
            sync.close()
            single_store.close()

            shard_store = Store.open(f"sqlite:///{tmp}/shards.sqlite")
            office = ListSync(
                shard_store,
                Verifier(auth_vkey),
                str(list_file),
                "33",
                checker=checker,
                max_parallel=args.parallel,
            )
            result, shards_s, shards_cpu = measured(office.sync_once, checker, server)
            office.close()
            shard_store.close()
        load_after = os.getloadavg()
        server.stop()
    failed = [f"{o.origin}: {o.error}" for o in result.outcomes if o.result is None]
    if failed:
        print("SHARD SYNC FAILED:\n  " + "\n  ".join(failed))
        return 1
    total = result.applied
    single_rate = one.applied / single_s
    shard_rate = total / shards_s
    print(f"load average before / after: {_load(load_before)} / {_load(load_after)}")
    by_cpu_single = one.applied / single_cpu * cores
    by_cpu_shards = total / shards_cpu * cores
    print(f"{'entries/s':40}{'entries':>11}{'seconds':>9}{'by the clock':>14}{'by CPU used':>13}")
    print(
        f"{'one log (LogSync)':40}{one.applied:>11,}{single_s:>9.1f}"
        f"{single_rate:>14,.0f}{by_cpu_single:>13,.0f}"
    )
    print(
        f"{f'{args.shards} shard logs at once, all entries':40}{total:>11,}{shards_s:>9.1f}"
        f"{shard_rate:>14,.0f}{by_cpu_shards:>13,.0f}"
    )
    own = total - carried
    print(
        f"{'  of which the period own entries':40}{own:>11,}{'':>9}"
        f"{own / shards_s:>14,.0f}{own / shards_cpu * cores:>13,.0f}"
    )
    print(
        f"{'shards / one log (all entries)':40}{'':>20}{shard_rate / single_rate:>14.0%}"
        f"{by_cpu_shards / by_cpu_single:>13.0%}"
    )
    print(
        f"CPU per entry: one log {single_cpu / one.applied * 1e6:.0f} us, shards "
        f"{shards_cpu / total * 1e6:.0f} us ({cores} signature workers, {os.cpu_count()} cores;"
        " 'by CPU used' = entries per CPU-second x cores: the rate on an idle machine)"
    )
    if args.rescan_sessions:
        import shutil

        from bench.province_rescan import report, run

        work = Path(tempfile.mkdtemp(prefix="province-rescan-"))
        try:
            return report(run(args.rescan_sessions, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def measured(run, checker, server):
    """(run's result, seconds by the clock, CPU seconds of everything the sync uses)."""
    started, cpu0 = time.perf_counter(), cpu_now(checker, server)
    result = run()
    return result, time.perf_counter() - started, cpu_now(checker, server) - cpu0


def cpu_now(checker, server) -> float:
    """CPU seconds so far: this process, the signature workers, the tile server."""
    return self_cpu() + pool_cpu(checker._pool) + proc_cpu(server.proc.pid)


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
