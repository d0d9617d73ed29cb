"""The signature workers end with the process that owns them, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.world import ROOT

OWNER = """
import os, sys
from ledger.sigcheck import SignatureChecker
checker = SignatureChecker(2)
pids = [checker._pool.submit(os.getpid).result() for _ in range(8)]
print(" ".join(str(p) for p in sorted(set(pids))), flush=True)
sys.stdin.read()  # until killed
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_end_when_their_owner_is_killed() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        workers = [int(p) for p in owner.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        owner.stdout.close()
        owner.stdin.close()
    deadline = time.monotonic() + 20  # a bounded wait for the condition, not a timing
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers), "workers outlived their killed owner"
