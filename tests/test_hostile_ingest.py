"""The platform under hostile use: a second server on its directory, twin signatures
(issue 13, item 1), records about another operator's sources (item 3).

Everything runs against the real `python -m ledger serve` on loopback."""

from __future__ import annotations

import subprocess
import sys

from tests.world import ROOT, PlatformProcess, World, ndjson, post


def test_a_second_platform_on_the_same_data_directory_refuses_to_start(tmp_path):
    data = tmp_path / "platform"
    first = PlatformProcess(data)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "ledger", "serve", "--data", str(data), "--port", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert "listening on" not in second.stdout
        assert "already serving the data directory" in second.stderr
        assert str(first.proc.pid) in second.stderr  # names the holder
        # the first one is unharmed and still takes entries
        assert post(first.url, ndjson(World().registry()))[0] == 200
    finally:
        first.kill()  # SIGKILL: the kernel drops the lock, nothing stale is left behind
    again = PlatformProcess(data)
    again.stop()
