"""Pile detail: loads in the worker, shows every session and sample, marks the seal event."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QColor, QImage, QPainter
from pytestqt.qtbot import QtBot
from sqlalchemy import event

from app.models.charging import queries
from app.models.store import Store
from app.views.charging.pile_detail import PileDetailView, _power_for_display
from app.views.table_models import StoreReader
from app.views.time_plots import AXIS_Z
from tests.views.conftest import TEST_PILE, UNBILLED_INDEX, ViewWorld


@pytest.fixture
def reader(view_world: ViewWorld) -> Iterator[StoreReader]:
    reader = StoreReader(view_world.store)
    yield reader
    reader.shutdown()


@pytest.fixture
def view(qtbot: QtBot, reader: StoreReader) -> PileDetailView:
    view = PileDetailView(reader)
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    view.show()
    return view


def open_pile(qtbot: QtBot, view: PileDetailView, pile_id: str, at_ms: int | None = None) -> None:
    with qtbot.waitSignal(view.loaded, timeout=10_000) as blocker:
        view.show_pile(pile_id, at_ms)
    assert blocker.args == [pile_id]


def test_shows_every_session_and_sample(
    qtbot: QtBot, view: PileDetailView, view_world: ViewWorld
) -> None:
    open_pile(qtbot, view, TEST_PILE)
    sessions = view_world.test_sessions
    d = view.detail
    assert d is not None
    assert d.n_sessions == len(sessions)
    assert d.n_power_samples == view_world.n_power_samples
    assert len(view.metered.data) == len(sessions)
    assert len(view.billed.data) == len(sessions) - 1  # one session was never billed
    assert np.isnan(d.session_billed_wh[UNBILLED_INDEX])
    _x, y = view.power.getOriginalDataset()
    assert np.count_nonzero(y) == view_world.n_power_samples  # idle time drawn at 0 W
    assert len(view.clock.getOriginalDataset()[0]) == len(d.heartbeat_t_ms) > 0
    assert np.all(d.clock_offset_ms[1:] >= d.clock_offset_ms[:-1])  # the fixture's drift
    assert view.title.text().endswith(TEST_PILE)
    assert "120 kW" in view.fields["rated"].text()
    assert "ZJJL-2025" in view.fields["certificate"].text()
    assert view.fields["class"].text() == "1"
    # error history: the fixture's two verifications, against the class 1 limit
    assert [round(v["error_pct"], 2) for v in d.verifications] == [0.15, 0.5]
    assert view.limit_lines[0].value() == pytest.approx(1.0)
    assert view.timing["total_s"] > 0
    # Axes speak the unit in their label: no "(x0.001)" rescaling of seconds or percent.
    for plot in view.plot.values():
        plot.setYRange(-0.4, 0.4, padding=0)  # e.g. ±0.4 s of clock offset
        axis = plot.getAxis("left")
        assert axis.autoSIPrefixScale == 1.0 and "x0." not in axis.labelString()


def test_seal_events_are_marked_on_every_plot(
    qtbot: QtBot, view: PileDetailView, view_world: ViewWorld
) -> None:
    open_pile(qtbot, view, TEST_PILE)
    seals = [(at, line) for kind, at, _, line in view.markers if kind == "seal"]
    assert len(seals) == 2 * len(view.plot)  # opened + closed, a line through each plot
    assert {at for at, _ in seals} == {view_world.seal_at_ms, view_world.seal_at_ms + 7_200_000}
    opened = next(line for at, line in seals if at == view_world.seal_at_ms)
    assert "M-" + TEST_PILE in opened.toolTip()
    assert opened.value() == pytest.approx(view_world.seal_at_ms / 1000)


def test_anomalies_are_marked(qtbot: QtBot, view: PileDetailView, view_world: ViewWorld) -> None:
    open_pile(qtbot, view, TEST_PILE)
    lines = [line for kind, at, _, line in view.markers if kind == "anomaly"]
    assert len(lines) == len(view.plot)
    assert "billed_above_metered" in lines[0].toolTip()
    assert lines[0].value() == pytest.approx(view_world.anomaly_at_ms / 1000)


def test_at_ms_scrolls_to_the_moment(
    qtbot: QtBot, view: PileDetailView, view_world: ViewWorld
) -> None:
    open_pile(qtbot, view, TEST_PILE, at_ms=view_world.seal_at_ms)
    lo, hi = view.x_range_ms()
    assert lo < view_world.seal_at_ms < hi
    assert hi - lo <= 2 * 86_400_000
    assert any(kind == "moment" for kind, *_ in view.markers)


def test_refresh_keeps_the_zoom(qtbot: QtBot, view: PileDetailView, view_world: ViewWorld) -> None:
    open_pile(qtbot, view, TEST_PILE)
    start = view_world.test_sessions[30]["start_ms"]
    view.scroll_to(start, half_window_s=3600)
    before = view.x_range_ms()
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        view.refresh()
    after = view.x_range_ms()
    assert abs(after[0] - before[0]) <= 1 and abs(after[1] - before[1]) <= 1


def test_crosshair_reads_the_session_under_the_mouse(
    qtbot: QtBot, view: PileDetailView, view_world: ViewWorld
) -> None:
    open_pile(qtbot, view, TEST_PILE)
    session = view_world.test_sessions[3]
    view.set_crosshair((session["start_ms"] + 5 * 60_000) / 1000)
    text = view.crosshair_label.text()
    assert session["session_id"] in text
    assert f"{session['power_w'][5] / 1000:.1f}" in text
    assert all(line.isVisible() for line in view.crosshair)


def test_switching_piles_drops_the_stale_answer(qtbot: QtBot, view: PileDetailView) -> None:
    view.show_pile(TEST_PILE)
    open_pile(qtbot, view, "P-ST3-01")
    assert view.detail is not None and view.detail.info.pile_id == "P-ST3-01"
    assert not any(kind == "seal" for kind, *_ in view.markers)


def test_unknown_pile_reports_failure(qtbot: QtBot, view: PileDetailView) -> None:
    with qtbot.waitSignal(view.load_failed, timeout=10_000) as blocker:
        view.show_pile("NO-SUCH-PILE")
    assert "NO-SUCH-PILE" in blocker.args[0]
    assert view.detail is None


def test_exports_csv_and_png(
    qtbot: QtBot, view: PileDetailView, view_world: ViewWorld, tmp_path: Path
) -> None:
    open_pile(qtbot, view, TEST_PILE)
    path = tmp_path / "pile.csv"
    assert view.export_csv(path) == len(view_world.test_sessions)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(view_world.test_sessions)
    first, body = rows[0], view_world.test_sessions[0]
    assert first["session_id"] == body["session_id"]
    assert int(first["metered_wh"]) == body["energy_wh"]
    assert int(first["billed_wh"]) == body["energy_wh"]
    assert first["start_local"] == "2026-01-01 09:00:00"  # T0 + 1 h, in Hangzhou time
    assert rows[UNBILLED_INDEX]["billed_wh"] == ""
    png = tmp_path / "pile.png"
    assert view.export_png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_power_gaps_become_idle_time() -> None:
    t = np.array([0.0, 60.0, 60.0, 600.0, 660.0, 660.0])
    w = np.array([5.0, 6.0, np.nan, 7.0, 8.0, np.nan])
    t2, w2 = _power_for_display(t, w)
    assert not np.isnan(w2).any()
    assert list(t2) == [0, 60, 60, 600, 600, 660, 660, 660]
    assert list(w2) == [5, 6, 0, 0, 7, 8, 0, 0]


def test_query_detail_matches_the_ledger(view_world: ViewWorld) -> None:
    with view_world.store.engine.connect() as conn:
        d = queries.pile_detail(conn, TEST_PILE)
    bodies = view_world.test_sessions
    assert d.session_ids == [b["session_id"] for b in bodies]
    assert d.session_energy_wh.tolist() == [b["energy_wh"] for b in bodies]
    assert len(d.seals) == 2 and d.seals[0]["event"] == "opened"
    assert [a["rule_id"] for a in d.anomalies] == ["billed_above_metered"]


def test_a_pile_without_traffic(view_world: ViewWorld) -> None:
    """A registered pile with no session yet: empty arrays, the year up to now."""
    with view_world.store.engine.connect() as conn:
        t0, t1 = queries.default_range(conn, "NO-TRAFFIC")
        assert t1 - t0 == queries.YEAR_MS
        assert queries.default_range(conn, "NO-TRAFFIC", at_ms=123_456_789_000)[1] > 123_456_789_000
        info = queries.pile_info(conn, "P-ST3-01")
        d = queries.pile_detail(conn, "P-ST3-01", t0_ms=0, t1_ms=1)
    assert info.accuracy_class == "2"
    assert d.n_sessions == 0 and d.power_w.size == 0 and d.register_wh.size == 0
    assert d.heartbeat_t_ms.size == 0 and d.seals == []


class PaintCounter(QObject):
    """Counts the paint events a widget receives."""

    def __init__(self, widget: QObject) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_a_new_pile_is_painted_once(qtbot: QtBot, view: PileDetailView) -> None:
    """Ranges and marker lines settle before the paint, not during it (which asked for
    a second full repaint of every new pile)."""
    paints = PaintCounter(view.plots.viewport())
    for pile_id in (TEST_PILE, "P-ST2-01", TEST_PILE):
        before = paints.count
        open_pile(qtbot, view, pile_id)
        qtbot.waitUntil(lambda before=before: paints.count > before)
        for _ in range(5):  # anything a paint queued (scene updates, relayouts) runs here
            QCoreApplication.processEvents()
        assert paints.count == before + 1, pile_id


def test_no_empty_plots_before_the_first_pile(qtbot: QtBot, view: PileDetailView) -> None:
    """The plots are not laid out or painted until there is data to show."""
    paints = PaintCounter(view.plots.viewport())
    view.show_pile(TEST_PILE)
    assert not view.plots.isVisible()
    open_pile(qtbot, view, TEST_PILE)
    assert view.plots.isVisible()
    qtbot.waitUntil(lambda: paints.count > 0)
    with qtbot.waitSignal(view.load_failed, timeout=10_000):
        view.show_pile("NO-SUCH-PILE")
    assert not view.plots.isVisible()


def test_grid_is_opaque_and_under_the_data(qtbot: QtBot, view: PileDetailView) -> None:
    """Translucent grid lines take Qt's slow blending path: they are drawn in the colour
    they would have over the white background, beneath the curves."""
    open_pile(qtbot, view, TEST_PILE)
    image = QImage(100, 100, QImage.Format.Format_ARGB32_Premultiplied)
    for item in view.plot.values():
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            assert axis.zValue() == AXIS_Z < item.getViewBox().zValue()
            painter = QPainter(image)
            try:
                _axis, ticks, _texts = axis.generateDrawSpecs(painter)
            finally:
                painter.end()
            colors = {pen.color().name(QColor.NameFormat.HexArgb) for pen, _p1, _p2 in ticks}
            assert ticks and all(c.startswith("#ff") for c in colors), colors
            assert any(c != "#ff969696" for c in colors)  # the faint grey, not the axis pen


def test_register_curve_is_downsampled_and_clipped(qtbot: QtBot, view: PileDetailView) -> None:
    open_pile(qtbot, view, TEST_PILE)
    assert view.register_curves
    for curve in view.register_curves:
        assert isinstance(curve, pg.PlotDataItem)
        assert curve.opts["autoDownsample"] and curve.opts["clipToView"]


def test_warm_up_compiles_every_pile_detail_statement(view_world: ViewWorld) -> None:
    """After the warm-up, the first pile detail compiles nothing (a fresh engine, so no
    other test has warmed its statement cache)."""
    store = Store.open(view_world.store.url, upgrade=False)
    misses: list[str] = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def _count(conn, cursor, statement, params, context, many) -> None:
        if context is not None and context.cache_hit is context.dialect.CACHE_MISS:
            misses.append(statement)

    try:
        with store.engine.connect() as conn:
            assert queries.warm_up_pile_detail(conn)
            compiled = len(misses)
            misses.clear()
            t0, t1 = queries.default_range(conn, TEST_PILE)
            d = queries.pile_detail(conn, TEST_PILE, t0, t1)
        assert compiled >= 9 and d.n_sessions > 0
        assert misses == []
    finally:
        store.close()


def test_warm_up_on_an_empty_store(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    try:
        with store.engine.connect() as conn:
            assert not queries.warm_up_pile_detail(conn)
    finally:
        store.close()


def test_view_warm_up_runs_on_the_worker(
    qtbot: QtBot, view: PileDetailView, reader: StoreReader
) -> None:
    view.warm_up()
    assert reader.busy
    qtbot.waitUntil(lambda: not reader.busy, timeout=10_000)
    assert view.detail is None  # nothing shown


def test_header_puts_two_fields_to_a_row_when_docked(qtbot: QtBot, view: PileDetailView) -> None:
    """Beside the map the view is ~650 px wide: four caption/value pairs to a row would
    push the district and certificate out of sight."""
    open_pile(qtbot, view, TEST_PILE)
    view.resize(1600, 1000)
    QCoreApplication.processEvents()
    assert view.header.per_row == 4
    view.resize(650, 1000)
    QCoreApplication.processEvents()
    assert view.header.per_row == 2
    assert view.header.sizeHint().width() <= 650
