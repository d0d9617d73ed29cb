"""Verification run benchmark: the full procedure through the wizard's run page.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/rig_bench.py [--full] [--speed X]``

Each run starts the rig simulator on a real pty (pile +0.4 %, class 1), shows
the wizard's measurement page offscreen at 1600 x 1000 and runs the whole
default plan (insulation, Imax / 0.5·Imax / Imin × 2 readings, clock) on the
worker thread, answering the wiring prompt at once.  Figures:

* graph updates/s: redraws of the four plots with new data, per wall second
  of the run (target ≥ 10/s; the refresh timer ticks at 20 Hz and redraws
  only when the ring buffer has new samples);
* setData ms: median time of the timer's refresh (copy the ring, feed the
  four curves); the paint that follows is inside the timer/s figure;
* frames received vs sent: stream frames parsed by the driver vs frames the
  rig numbered (last seq + 1 of every reading's stream), with the drops and
  garbled lines the driver counted (target: equal, 0 lost);
* wall time vs the 10-minute target: at 1× the wall time itself; at a
  speed-up the rig time the run consumed (wall × speed) — the figure an
  inspector would wait at a real pile.

``--full`` adds the real-time 1× run (about 8.5 minutes); by default only the
speed-up run is made.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from app.application import load_fonts
from app.devices.simulator import RigSimulator, SimConfig
from app.models.charging.verification import (
    CHECKLIST,
    PileSpec,
    SiteConditions,
    VerificationConfig,
    plan_verification,
)
from app.verification_worker import PromptRequest
from app.views.charging.verification_wizard import RunPage

TARGET_S = 600.0
METER_ADDRESS = "000012345678"


def _quiet(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Drop the offscreen plugin's "propagateSizeHints" noise; keep everything else."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def run_once(speed: float, stream_hz: int) -> dict[str, float | int | str]:
    pile = PileSpec("HZ-P000123", "M000123", meter_address=METER_ADDRESS)
    plan = plan_verification(pile, VerificationConfig(stream_hz=stream_hz))
    sim = RigSimulator(
        SimConfig(true_error_pct=0.4, speed=speed, seed=3, meter_address=METER_ADDRESS)
    )
    path = sim.start()
    page = RunPage()
    page.resize(1600, 1000)
    page.show()
    loop = QEventLoop()
    page.run_ended.connect(loop.quit)
    with tempfile.TemporaryDirectory() as tmp:
        checklist = {item.key: True for item in CHECKLIST}
        site = SiteConditions(Decimal(20), Decimal(50), "BENCH")  # a verification condition
        page.start(plan, path, Path(tmp) / "journal.jsonl", checklist, site=site)
        worker = page.worker
        assert worker is not None

        def answer(request: PromptRequest) -> None:
            worker.prompt.answer(True)

        worker.prompt.requested.connect(answer)
        ticks = 0

        def tick() -> None:
            nonlocal ticks
            ticks += 1

        page.timer.timeout.connect(tick)
        redraw_ms: list[float] = []
        refresh = page.refresh

        def timed_refresh() -> None:
            t0 = time.perf_counter()
            refresh()  # setData only; Qt paints later in the same event loop turn
            redraw_ms.append((time.perf_counter() - t0) * 1000)

        page.timer.timeout.disconnect(page.refresh)
        page.timer.timeout.connect(timed_refresh)
        started = time.monotonic()
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(int(TARGET_S * 2 / speed * 1000) + 60_000)
        loop.exec()
        wall = time.monotonic() - started
        guard.stop()
        page.shutdown()
        sim.stop()
    proc = worker.procedure
    result = page.result
    assert proc is not None
    return {
        "speed": speed,
        "verdict": result.verdict if result else f"error: {page.error}",
        "wall_s": wall,
        "rig_s": wall * speed,
        "plan_rig_s": float(plan.total_rig_s),
        "updates_per_s": page.refreshes / wall,
        "ticks_per_s": ticks / wall,
        "redraw_ms": sorted(redraw_ms)[len(redraw_ms) // 2] if redraw_ms else 0.0,
        "frames_received": proc.frames_received,
        "frames_sent": proc.frames_sent,
        "dropped": proc.frames_dropped,
        "garbled": proc.frames_garbled,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also run at 1x (~8.5 minutes)")
    parser.add_argument("--speed", type=float, default=20.0, help="speed-up run (default 20)")
    parser.add_argument("--stream-hz", type=int, default=20)
    args = parser.parse_args(argv)
    qInstallMessageHandler(_quiet)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    family = load_fonts()
    if family:
        font = app.font()
        font.setFamily(family)
        app.setFont(font)
    speeds = [args.speed] + ([1.0] if args.full else [])
    rows = [run_once(speed, args.stream_hz) for speed in speeds]
    print(f"verification run, default DC plan (plan: {rows[0]['plan_rig_s']:.0f} s of rig time)")
    header = (
        f"{'speed':>6} {'verdict':>8} {'wall s':>8} {'rig s':>7} {'vs 600 s':>9} "
        f"{'graph upd/s':>11} {'timer/s':>8} {'setData ms':>10} "
        f"{'frames rx/sent':>15} {'lost':>5} {'garbled':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['speed']:>5g}x {row['verdict']:>8} {row['wall_s']:>8.1f} {row['rig_s']:>7.0f} "
            f"{row['rig_s'] / TARGET_S:>8.0%} {row['updates_per_s']:>11.1f} "
            f"{row['ticks_per_s']:>8.1f} {row['redraw_ms']:>10.2f} "
            f"{row['frames_received']:>7}/{row['frames_sent']:<7} "
            f"{row['dropped']:>5} {row['garbled']:>7}"
        )
    ok = all(
        r["updates_per_s"] >= 10
        and r["frames_received"] == r["frames_sent"]
        and r["dropped"] == 0
        and r["rig_s"] <= TARGET_S
        for r in rows
    )
    print(
        "targets: graph >= 10 updates/s, no lost frames, rig time <= 600 s:",
        "met" if ok else "MISSED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
