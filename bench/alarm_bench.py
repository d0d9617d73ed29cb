"""Seal opened on a meter → alarm on a synced workstation's screen: latency over 20 events.

A real platform on loopback, the workstation window (offscreen) syncing from it; each
event is a meter-signed seal-opened record on a different pile, posted to the platform;
the clock stops when the alarm is in the window's alarm queue. Target: median ≤ 3 s.

    python bench/alarm_bench.py [--events 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20)
    args = parser.parse_args()
    from PySide6.QtCore import QEventLoop, QTimer

    from app.application import create_application
    from app.main_window import MainWindow
    from ledger.records import sign_record
    from tests.world import T0, PlatformProcess, World, ndjson, post

    app = create_application(sys.argv[:1], "en")
    world = World()
    registry = world.registry()
    extra = []
    for i in range(2, args.events + 2):  # one pile + meter per event: no grouping
        extra.append(sign_record("pile", {**registry[3].body, "pile_id": f"P{i}"}, world.oper))
        extra.append(
            sign_record(
                "meter", {**registry[4].body, "meter_id": f"M{i}", "pile_id": f"P{i}"}, world.oper
            )
        )
    with tempfile.TemporaryDirectory() as tmp:
        platform = PlatformProcess(Path(tmp) / "platform")
        post(platform.url, ndjson(registry + extra))
        window = MainWindow(f"sqlite:///{Path(tmp) / 'ws.sqlite'}", platform.url, platform.vkey())
        window.show()

        def pump_until(predicate, timeout: float = 30) -> None:
            end = time.monotonic() + timeout
            while not predicate() and time.monotonic() < end:
                loop = QEventLoop()
                QTimer.singleShot(10, loop.quit)
                loop.exec()

        pump_until(lambda: window._last_sync is not None)
        latencies = []
        for i in range(2, args.events + 2):
            seal = sign_record(
                "seal",
                {
                    "meter_id": f"M{i}",
                    "pile_id": f"P{i}",
                    "seq": 1,
                    "event": "opened",
                    "at_ms": T0 + i,
                    "register_wh": 1_000_000,
                },
                world.meter,
            )
            # the meter key of every test meter is world.meter's
            before = len(window.alarm_view.model.alarms)
            started = time.perf_counter()
            post(platform.url, ndjson([seal]))
            pump_until(lambda b=before: len(window.alarm_view.model.alarms) > b)
            latencies.append(time.perf_counter() - started)
        window.shutdown()
        platform.stop()
    del app
    median = statistics.median(latencies)
    print(f"seal opened -> alarm on screen, {len(latencies)} events")
    print(
        f"  median {median:.2f} s   p90 {sorted(latencies)[int(0.9 * len(latencies))]:.2f} s"
        f"   max {max(latencies):.2f} s   target median <= 3 s  "
        f"{'OK' if median <= 3 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
