"""Shared set-up for benches: simulated Hangzhou traffic as a tlog-tiles log on disk,
served over HTTP on loopback (any static server is a valid tlog-tiles platform)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("EVM_BENCH_CACHE", "/var/tmp/evm-bench"))


def simulated_entries(days: int = 1, piles: str = "hangzhou", seed: int = 7) -> Path:
    """NDJSON of a simulated Hangzhou period (cached: the simulator is deterministic)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"sim-{piles}-{days}d-{seed}.ndjson"
    if not out.exists():
        fleet = ["--scale", "hangzhou"] if piles == "hangzhou" else ["--piles", piles]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ledger",
                "simulate",
                *fleet,
                "--days",
                str(days),
                "--seed",
                str(seed),
                "--out",
                str(out) + ".tmp",
                "--quiet",
                "--truth",
                str(CACHE / f"truth-{piles}-{days}d-{seed}.jsonl"),
            ],
            cwd=ROOT,
            check=True,
        )
        os.replace(str(out) + ".tmp", out)
    return out


def read_entries(path: Path, limit: int | None = None) -> list[bytes]:
    entries = []
    with open(path, "rb") as handle:
        for line in handle:
            entries.append(line.rstrip(b"\n"))
            if limit and len(entries) >= limit:
                break
    return entries


def build_log(directory: Path, entries: list[bytes], origin: str = "bench.example/log"):
    """Writes a signed tlog-tiles log of ``entries``; returns (vkey, signer, TileLog)."""
    from ledger.note import Signer, generate_signer
    from ledger.tiles import TileLog

    skey, vkey = generate_signer(origin)
    signer = Signer(skey)
    log = TileLog(directory, fsync=False)
    for start in range(0, len(entries), 65536):
        log.append(entries[start : start + 65536])
    write_checkpoint(directory, log, signer, origin)
    return vkey, signer, log


def write_checkpoint(directory: Path, log, signer, origin: str = "bench.example/log") -> None:
    from ledger.note import Checkpoint, sign_checkpoint

    note = sign_checkpoint(Checkpoint(origin, log.size, log.root()), signer)
    (directory / "checkpoint").write_bytes(note)


class StaticServer:
    """A static file server in its own process (as a real platform would be: sharing a
    process would make the client and server fight over one interpreter lock).

    ``python -m http.server`` listens with a backlog of 5: the sync's dozen parallel
    fetches overflow it, dropped SYNs are retransmitted after a second, and the bench
    then measured the kernel's retransmission timer rather than the sync. This server
    listens with a backlog of 128, like the reference platform (aiohttp) or nginx."""

    def __init__(self, directory: Path) -> None:
        import socket
        import time
        import urllib.request

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.common", "serve", str(port), str(directory)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/checkpoint", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def serve(port: int, directory: str) -> None:
    """The body of `StaticServer`'s process."""
    import functools
    import http.server

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 128

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=directory)
    Server(("127.0.0.1", port), handler).serve_forever()


def signed_sample(entries: list[bytes], size: int | None = None) -> tuple[list, list[str]]:
    """Resolves every entry's signer in log order (as the sync does) and returns an
    evenly spread sample of ``size`` entries with their signers' key texts, so a rate
    measured on it has the same mix of record types as the whole run."""
    from ledger.records import Record
    from ledger.registry import EntryHead, KeyRegistry

    registry = KeyRegistry()
    keys, resolved = [], []
    for data in entries:
        head = EntryHead.peek(data)
        try:
            key = registry.signer_of(head).text
        except ValueError:
            continue
        if head.type in ("authority", "operator", "inspector", "meter"):
            registry.apply(Record.parse(data))
        keys.append(key)
        resolved.append(data)
    step = max(1, len(resolved) // size) if size else 1
    return resolved[::step][:size], keys[::step][:size]


class Rate(NamedTuple):
    """Entries per second by the clock, and from the CPU time used (``cpu``: what the
    cores would do with nothing else running; steadier on a shared machine)."""

    wall: float
    cpu: float


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pool_cpu(pool) -> float:
    """CPU seconds of a process pool's workers (children of the forkserver, so not in
    RUSAGE_CHILDREN; their pids are a stdlib internal of the pool)."""
    return sum(proc_cpu(pid) for pid in list(getattr(pool, "_processes", None) or {}))


def raw_verify_rates(entries: list[bytes], workers: int, size: int | None = None) -> Rate:
    """Strict parsing and signature checks (`ledger.sigcheck`, keys pre-resolved) on
    ``workers`` processes: what the sync's checker can do with nothing else running."""
    import time

    from ledger.sigcheck import SignatureChecker

    sample, keys = signed_sample(entries, size)
    with SignatureChecker(workers) as checker:
        checker.check(sample, keys)  # warm the pool and the workers' key caches
        cpu = self_cpu() + pool_cpu(checker._pool)
        started = time.perf_counter()
        checker.check(sample, keys)
        wall = time.perf_counter() - started
        cpu = self_cpu() + pool_cpu(checker._pool) - cpu
    return Rate(len(sample) / wall, len(sample) / (max(cpu, 1e-9) / workers))


def raw_verify_rate(entries: list[bytes], workers: int, size: int | None = None) -> float:
    return raw_verify_rates(entries, workers, size).wall


def _verify_only(items: list[tuple[str, bytes, bytes]]) -> tuple[int, float]:
    """Verifies a chunk with its keys parsed beforehand; returns (valid, CPU seconds)."""
    import time

    from ledger.keys import PublicKey

    keys = {text: PublicKey.parse(text) for text, _, _ in items}
    started = time.process_time()
    valid = sum(keys[text].verify(message, signature) for text, message, signature in items)
    return valid, time.process_time() - started


def bare_verify_rates(entries: list[bytes], workers: int, size: int | None = None) -> Rate:
    """Signature verifications alone (no parsing; messages, signatures and key objects
    prepared beforehand, untimed) on ``workers`` processes running at once: the cores'
    cryptographic ceiling for a sync."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    from ledger.records import Record, message_from_entry

    sample, keys = signed_sample(entries, size)
    items = []
    for data, key in zip(sample, keys, strict=True):
        record = Record.parse(data)
        items.append((key, message_from_entry(record.type, data), record.signature))
    chunks = [items[i : i + 512] for i in range(0, len(items), 512)]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        list(pool.map(_verify_only, chunks[: 2 * workers]))  # start the workers
        started = time.perf_counter()
        results = list(pool.map(_verify_only, chunks))  # all workers busy at once
        wall = time.perf_counter() - started
    assert sum(valid for valid, _ in results) == len(items), "the bench's entries must verify"
    cpu = sum(seconds for _, seconds in results)
    return Rate(len(items) / wall, len(items) / (max(cpu, 1e-9) / workers))


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(int(sys.argv[2]), sys.argv[3])
