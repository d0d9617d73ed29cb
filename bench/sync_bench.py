"""Full and incremental sync of a simulated Hangzhou period from a local platform.

Prints end-to-end entries/s next to the raw signature-verification rate of all
cores measured in the same run (the physical limit), the extrapolation to a
city-year (10.1 M entries), incremental sync of 1,000 new entries, and peak memory.

    python bench/sync_bench.py [--days 1] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    StaticServer,
    bare_verify_rates,
    build_log,
    pool_cpu,
    proc_cpu,
    raw_verify_rates,
    read_entries,
    self_cpu,
    simulated_entries,
    write_checkpoint,
)

TARGET = 15_000
"""Entries per second a full sync must keep (issue 15's acceptance)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="use the first N entries")
    args = parser.parse_args()
    from app.models.store import Store
    from app.models.sync import LogSync
    from ledger.client import LogClient
    from ledger.sigcheck import SignatureChecker

    cores = os.cpu_count() or 1
    entries = read_entries(simulated_entries(args.days), args.limit)
    print(f"simulated Hangzhou, {args.days} day(s): {len(entries):,} entries")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        head, tail = entries[:-1000], entries[-1000:]
        vkey, signer, log = build_log(tmp / "log", head)
        server = StaticServer(tmp / "log")
        load_before = os.getloadavg()
        bare = bare_verify_rates(entries, cores, size=60000)
        raw = raw_verify_rates(entries, cores, size=60000)
        store = Store.open(f"sqlite:///{tmp / 'ws.sqlite'}")
        with SignatureChecker(cores) as checker:
            sync = LogSync(store, LogClient(server.url, vkey), checker)
            cpu0 = _cpu_seconds(checker, server.proc.pid)
            started = time.perf_counter()
            result = sync.sync_once()
            full = time.perf_counter() - started
            cpu = [b - a for a, b in zip(cpu0, _cpu_seconds(checker, server.proc.pid))]
            log.append(tail)
            write_checkpoint(tmp / "log", log, signer)
            started = time.perf_counter()
            inc = sync.sync_once()
            incremental = time.perf_counter() - started
            sync.close()
        load_after = os.getloadavg()
        server.stop()
        store.close()
    rate = result.applied / full
    peak_mb = (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )
    per = [c / result.applied * 1e6 for c in cpu]
    ours = (rate, cores / sum(per) * 1e6)
    print(f"load average before / after: {_load(load_before)} / {_load(load_after)}")
    print(f"{'entries/s, ' + str(cores) + ' cores':44}{'by the clock':>14}{'by CPU used':>14}")
    for name, (wall, by_cpu) in (
        ("bare P-256 verifies (nothing parsed)", bare),
        ("strict parse + verify (the checker)", raw),
        ("full sync end to end", ours),
    ):
        print(f"{name:44}{wall:>14,.0f}{by_cpu:>14,.0f}")
    print(
        f"{'  sync / parse + verify (target >= 70%)':44}{ours[0] / raw[0]:>14.0%}"
        f"{ours[1] / raw[1]:>14.0%}  {'OK' if ours[0] >= 0.7 * raw[0] else 'MISSED'}"
    )
    print(f"{'  sync / bare verifies':44}{ours[0] / bare[0]:>14.0%}{ours[1] / bare[1]:>14.0%}")
    print(
        f"{'  sync target (issue 15: >= 15,000/s)':44}{'':>14}{'':>14}"
        f"  by the clock {'OK' if ours[0] >= TARGET else 'MISSED'},"
        f" by CPU used {'OK' if ours[1] >= TARGET else 'MISSED'}"
    )
    print(
        f"CPU per entry (full sync): {sum(per):.0f} us = main process {per[0]:.1f}"
        f" + signature workers {per[1]:.1f} + bench platform {per[2]:.1f};"
        f" {sum(cpu) / full / cores:.0%} of {cores} cores used"
    )
    city_year = 10_136_000 / rate / 60
    print(
        f"{'city-year (10.1M entries) extrapolated':44}{city_year:>13.1f}m{'<= 12 min':>18}"
        f"  {'OK' if city_year <= 12 else 'MISSED'}"
        f"; by CPU used {10_136_000 / ours[1] / 60:.1f}m"
    )
    print(
        f"{'incremental sync of ' + str(inc.applied) + ' entries':44}{incremental:>13.2f}s"
        f"{'< 1 s':>18}  {'OK' if incremental < 1 else 'MISSED'}"
    )
    print(
        f"{'peak memory (max RSS of one process)':44}{peak_mb:>12.0f}MB{'< 1024 MB':>18}"
        f"  {'OK' if peak_mb < 1024 else 'MISSED'}"
    )
    return 0


def _cpu_seconds(checker, server_pid: int) -> list[float]:
    """CPU seconds so far of this process, of the signature workers, of the platform."""
    return [self_cpu(), pool_cpu(checker._pool), proc_cpu(server_pid)]


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
