"""Shared set-up for benches: simulated Hangzhou traffic as a tlog-tiles log on disk,
served over HTTP on loopback (any static server is a valid tlog-tiles platform)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    """`python -m http.server` in its own process (as a real platform would be: sharing a
    process would make the client and server fight over one interpreter lock)."""

    def __init__(self, directory: Path) -> None:
        import socket
        import time
        import urllib.request

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "http.server",
                str(port),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(directory),
            ],
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


def raw_verify_rate(entries: list[bytes], workers: int) -> float:
    """Signature checks only (keys pre-resolved), on ``workers`` processes: the limit."""
    import time

    from ledger.registry import EntryHead, KeyRegistry
    from ledger.sigcheck import SignatureChecker

    registry = KeyRegistry()
    keys, sample = [], []
    for data in entries:
        head = EntryHead.peek(data)
        try:
            key = registry.signer_of(head).text
        except ValueError:
            continue
        if head.type in ("authority", "operator", "inspector", "meter"):
            from ledger.records import Record

            registry.apply(Record.parse(data))
        keys.append(key)
        sample.append(data)
    with SignatureChecker(workers) as checker:
        checker.check(sample[:2000], keys[:2000])  # warm the pool
        started = time.perf_counter()
        checker.check(sample, keys)
        return len(sample) / (time.perf_counter() - started)
