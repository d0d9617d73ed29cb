"""Map redraw benchmark: pan/zoom with the city's 12,258 piles and with a million.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/map_bench.py``

Each step changes the view range (a pan or a zoom, from the whole city down
to street level and back), then does what the 30 ms coalescing timer does
(``MapView.refresh``: re-cluster the visible window, feed the scatters), then
lets the event loop run, which paints the new frame (the scene's queued update),
then forces a synchronous repaint of the viewport: a second, unchanged frame. A
step is therefore one re-clustering and two frames, about what a drag at 60 fps
pays per 30 ms re-clustering window (its in-between frame is a pan, which costs a
little more than the unchanged repaint measured here). The figure is the median wall
time of a step over a fixed path of steps, with the panel shown offscreen at
1600 x 1000. "cpu" is the median process CPU time of a step (robust when other jobs
share the machine; wall time is the figure held to the target), "recluster"
is ``MapView.refresh`` alone and "repaint" a forced repaint alone (a frame
between two re-clusterings while dragging). The 30 ms coalescing delay of the
timer is not included: it is latency, not work.

Issue 15 adds the dispenser layer: the city's piles are measured alone and then with
~5,000 synthetic fuel dispensers (``synthetic_dispenser_data``) in the same run, so the
two figures share the machine's load (``uptime`` is printed before and after).
``--quick`` skips the million-pile row.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication

from app.application import load_fonts
from app.views.map_data import MapData, synthetic_dispenser_data, synthetic_map_data
from app.views.map_view import STATUS_COLORS, MapPanel

STEPS = 60
TARGETS_MS = {12_258: 16.0, 1_000_000: 50.0}
DISPENSERS = 5_000


def _path(panel: MapPanel, steps: int) -> list[tuple[float, float, float]]:
    """(centre x, centre y, half width) per step: zoom in 0.7x per step, pan, zoom out."""
    rect = panel.view.basemap.core_rect
    rng = np.random.default_rng(7)
    cx, cy, half = rect.center().x(), rect.center().y(), rect.width() / 2
    # Zoom toward the busy city centre (where the piles are), panning as we go.
    target_x, target_y = 120.17 * 0.8638, 30.26
    out = []
    for i in range(steps):
        phase = i % 30
        if phase < 15:
            half *= 0.7
            cx += (target_x - cx) * 0.35
            cy += (target_y - cy) * 0.35
        else:
            half /= 0.7
            cx += rng.normal(0, half * 0.15)
            cy += rng.normal(0, half * 0.15)
        out.append((cx, cy, half))
    return out


def measure(
    app: QApplication, panel: MapPanel, data: MapData, dispensers: MapData | None = None
) -> dict[str, float]:
    view = panel.view
    t0 = time.perf_counter()
    panel.set_data(data)
    panel.set_dispensers(dispensers if dispensers is not None else MapData.empty())
    load_s = time.perf_counter() - t0
    view.reset_view()
    view.refresh()
    app.processEvents()
    step_ms: list[float] = []
    cpu_ms: list[float] = []
    frame_ms: list[float] = []
    refresh_ms: list[float] = []
    levels = set()
    for cx, cy, half in _path(panel, STEPS):
        c0 = time.process_time()
        t0 = time.perf_counter()
        view.vb.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
        t1 = time.perf_counter()
        view.refresh()
        refresh_ms.append((time.perf_counter() - t1) * 1000)
        app.processEvents()
        view.viewport().repaint()
        step_ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
        levels.add(view.current.level)
        t0 = time.perf_counter()
        view.viewport().repaint()
        frame_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "load_s": load_s,
        "step_median": statistics.median(step_ms),
        "step_p90": float(np.percentile(step_ms, 90)),
        "cpu_median": statistics.median(cpu_ms),
        "frame_median": statistics.median(frame_ms),
        "refresh_median": statistics.median(refresh_ms),
        "levels": len(levels),
    }


def scatter_styles(app: QApplication, data: MapData) -> tuple[float, float]:
    """setData + repaint of all 12,258 piles: 5 uniform items vs 1 item with a brush array."""
    win = pg.GraphicsView()
    vb = pg.ViewBox(lockAspect=1.0)
    win.setCentralItem(vb)
    win.resize(1600, 1000)
    win.show()
    vb.setRange(xRange=(data.x.min(), data.x.max()), yRange=(data.y.min(), data.y.max()))
    per_status = [pg.ScatterPlotItem(size=10, brush=pg.mkBrush(STATUS_COLORS[c])) for c in range(5)]
    for item in per_status:
        vb.addItem(item)
    one = pg.ScatterPlotItem(size=10)
    vb.addItem(one)
    brushes = [pg.mkBrush(STATUS_COLORS[c]) for c in range(5)]
    times: dict[str, list[float]] = {"groups": [], "array": []}
    for _ in range(10):
        one.clear()
        t0 = time.perf_counter()
        for code, item in enumerate(per_status):
            keep = data.status == code
            item.setData(x=data.x[keep], y=data.y[keep])
        win.viewport().repaint()
        app.processEvents()
        times["groups"].append((time.perf_counter() - t0) * 1000)
        for item in per_status:
            item.clear()
        t0 = time.perf_counter()
        one.setData(x=data.x, y=data.y, brush=[brushes[s] for s in data.status])
        win.viewport().repaint()
        app.processEvents()
        times["array"].append((time.perf_counter() - t0) * 1000)
    win.close()
    return statistics.median(times["groups"]), statistics.median(times["array"])


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def _row(label: str, target: float, r: dict[str, float], extra: str = "") -> None:
    ok = "OK" if r["step_median"] <= target else "MISSED"
    print(
        f"{label:>16}  {r['step_median']:>9.1f} ms  {target:>5.0f} ms  "
        f"{r['step_p90']:>5.1f} ms  {r['cpu_median']:>5.1f} ms  "
        f"{r['refresh_median']:>6.1f} ms  {r['frame_median']:>5.1f} ms  "
        f"{r['load_s'] * 1000:.0f} ms{extra}  {ok}"
    )


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    load_fonts()
    panel = MapPanel()
    panel.resize(1600, 1000)
    panel.show()
    app.processEvents()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"map redraw benchmark: {STEPS} pan/zoom steps, panel 1600x1000 offscreen, "
        f"{os.cpu_count()} CPUs, load average {load:.2f} at start"
    )
    print(f"uptime before: {_uptime()}")
    print(
        f"{'piles':>16}  {'step median':>12}  {'target':>8}  {'p90':>8}  {'cpu':>8}  "
        f"{'recluster':>9}  {'repaint':>8}  load"
    )
    city = None
    for n in (12_258,) if quick else (12_258, 1_000_000):
        t0 = time.perf_counter()
        data = synthetic_map_data(n)
        gen_s = time.perf_counter() - t0
        city = city or data
        r = measure(app, panel, data)
        _row(f"{n:,}", TARGETS_MS[n], r, f" (synthetic data {gen_s:.1f} s)")
        if n == 12_258:
            # Same panel, same path, right after: the piles-only figure's neighbour.
            fuel = synthetic_dispenser_data(DISPENSERS)
            r = measure(app, panel, data, fuel)
            _row(f"{n:,} + {DISPENSERS:,} FD", TARGETS_MS[n], r)
            panel.set_dispensers(MapData.empty())
    print(f"uptime after: {_uptime()}")
    assert city is not None
    groups, array = scatter_styles(app, city)
    print(
        f"all 12,258 piles as individual markers, setData + repaint: "
        f"one item per status {groups:.1f} ms vs one item with a brush array {array:.1f} ms"
    )
    panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
