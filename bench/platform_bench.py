"""Platform ingest: signed entries/s accepted end to end over loopback with several
concurrent senders, next to the raw signature-verification rate of all cores measured
in the same run, and the delay from accept to inclusion in a published checkpoint.

    python bench/platform_bench.py [--entries 60000] [--senders 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, raw_verify_rate, read_entries, simulated_entries

REGISTRY = {"authority", "operator", "inspector", "station", "pile", "meter", "tariff"}


def post(url: str, lines: list[bytes]) -> dict:
    request = urllib.request.Request(url + "/ingest", data=b"\n".join(lines) + b"\n", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=60000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    entries = read_entries(simulated_entries(1), args.entries + 40000)
    registry = [e for e in entries if json.loads(e)["t"] in REGISTRY]
    traffic = [e for e in entries if json.loads(e)["t"] not in REGISTRY][: args.entries]
    raw = raw_verify_rate(registry + traffic[:20000], cores)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "serve",
                "--data",
                tmp,
                "--port",
                "0",
                "--workers",
                str(cores),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        url = proc.stdout.readline().split()[-1]
        for i in range(0, len(registry), 1000):
            post(url, registry[i : i + 1000])
        accepted: list[tuple[float, int]] = []
        checkpoints: list[tuple[float, int]] = []
        stop = threading.Event()

        def watch() -> None:
            size = 0
            while not stop.is_set():
                with urllib.request.urlopen(f"{url}/checkpoint?after={size}&wait=2") as r:
                    size = int(r.read().split(b"\n")[1])
                checkpoints.append((time.perf_counter(), size))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        batches = [traffic[i : i + args.batch] for i in range(0, len(traffic), args.batch)]
        lock = threading.Lock()

        def send(mine: list[list[bytes]]) -> None:
            for batch in mine:
                answer = post(url, batch)
                with lock:
                    accepted.append((time.perf_counter(), answer["first_index"] + len(batch)))

        started = time.perf_counter()
        threads = [
            threading.Thread(target=send, args=(batches[k :: args.senders],))
            for k in range(args.senders)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        target = max(end for _, end in accepted)
        while not checkpoints or checkpoints[-1][1] < target:
            time.sleep(0.05)
        stop.set()
        proc.terminate()
        proc.wait()
    delays = []
    for t_accept, end in accepted:
        t_cp = next(t for t, size in checkpoints if size >= end and t >= t_accept - 1e-3)
        delays.append(max(0.0, t_cp - t_accept))
    rate = len(traffic) / elapsed
    median = statistics.median(delays)
    print(
        f"{len(traffic):,} signed entries, {args.senders} senders x {args.batch}/request, "
        f"{cores} cores"
    )
    print(f"{'':46}{'ours':>12}{'peer/target':>16}")
    print(f"{'raw signature checks, all cores (entries/s)':46}{'':>12}{raw:>16,.0f}")
    print(
        f"{'ingest accepted end to end (entries/s)':46}{rate:>12,.0f}{'>= 5,000':>16}"
        f"  {rate / raw:.0%} of raw  {'OK' if rate >= 5000 else 'MISSED'}"
    )
    print(
        f"{'accept -> checkpoint delay, median':46}{median * 1000:>10.0f}ms{'<= 1,000 ms':>16}"
        f"  {'OK' if median <= 1 else 'MISSED'}"
    )
    print(
        f"{'accept -> checkpoint delay, p95':46}"
        f"{sorted(delays)[int(0.95 * len(delays))] * 1000:>10.0f}ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
