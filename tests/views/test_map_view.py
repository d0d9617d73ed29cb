"""The city map: Qt-free clustering maths, then the widget driven like a user would."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, QLocale, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from app.views.map_data import (
    ALARM,
    ANOMALY,
    BASEMAP,
    N_STATUS,
    NORMAL,
    OVERDUE,
    SILENT,
    ClusterPyramid,
    MapData,
    MapFilter,
    load_basemap,
    merge_overlapping,
    points_in_rings,
    project,
    synthetic_map_data,
    worst_status,
)
from app.views.map_view import MapPanel, MapView

# --------------------------------------------------------------------------- fixtures


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


@pytest.fixture(scope="module")
def tiny_basemap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two districts side by side (the west one with a lake), the city, one neighbour."""
    west = [_square(120.00, 30.20, 120.10, 30.30), _square(120.04, 30.24, 120.06, 30.26)]
    east = [_square(120.10, 30.20, 120.20, 30.30)]
    features = [
        {
            "type": "Feature",
            "properties": {
                "level": "district",
                "name_zh": "西区",
                "name_en": "West",
                "adcode": "1",
            },
            "geometry": {"type": "Polygon", "coordinates": west},
        },
        {
            "type": "Feature",
            "properties": {
                "level": "district",
                "name_zh": "东区",
                "name_en": "East",
                "adcode": "2",
            },
            "geometry": {"type": "MultiPolygon", "coordinates": [east]},
        },
        {
            "type": "Feature",
            "properties": {"level": "city", "name_zh": "城", "name_en": "City", "adcode": "9"},
            "geometry": {"type": "Polygon", "coordinates": [_square(120.0, 30.2, 120.2, 30.3)]},
        },
        {
            "type": "Feature",
            "properties": {"level": "prefecture", "name_zh": "邻", "name_en": "Nb", "adcode": "8"},
            "geometry": {"type": "Polygon", "coordinates": [_square(120.2, 30.1, 120.4, 30.3)]},
        },
    ]
    path = tmp_path_factory.mktemp("basemap") / "tiny.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def _fleet(n: int = 2_000, seed: int = 1) -> MapData:
    """Piles spread over the tiny basemap with every status, operator and kind present."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(120.005, 120.195, n)
    lat = rng.uniform(30.205, 30.295, n)
    status = rng.choice(N_STATUS, n, p=[0.8, 0.08, 0.02, 0.05, 0.05]).astype(np.uint8)
    return MapData(
        pile_ids=np.array([f"P{i:05d}" for i in range(n)], dtype=object),
        lon=lon,
        lat=lat,
        status=status,
        operator=rng.integers(0, 3, n),
        operator_names=("State Grid", "TELD", "Star Charge"),
        district=(lon >= 120.10).astype(np.int32),
        district_names=("西区", "东区"),
        kind=rng.integers(0, 2, n),
        station=np.arange(n) // 10,
        station_names=tuple(f"Station {i}" for i in range(n // 10 + 1)),
        anomaly_rate=np.array([0.02, 0.05]),
    )


# --------------------------------------------------------------------------- Qt-free maths


def test_filter_mask_matches_a_loop() -> None:
    data = _fleet()
    f = MapFilter(operators=frozenset({0, 2}), statuses=frozenset({ANOMALY, ALARM}), kinds={1})
    expected = [
        data.operator[i] in (0, 2) and data.status[i] in (ANOMALY, ALARM) and data.kind[i] == 1
        for i in range(len(data))
    ]
    assert f.mask(data).tolist() == expected
    assert MapFilter().mask(data).all()
    assert MapFilter().is_all() and not f.is_all()


def test_pyramid_levels_partition_the_filtered_piles() -> None:
    data = _fleet(5_000)
    pyramid = ClusterPyramid(data)
    mask = MapFilter(districts=frozenset({1})).mask(data)
    pyramid.set_mask(mask)
    for level in (12, 3, 8, 0, 20):
        cells = pyramid.level(level)
        assert int(cells.count.sum()) == int(mask.sum())
        assert (cells.status_counts.sum(axis=1) == cells.count).all()
        assert np.allclose(cells.status_counts.sum(axis=0), data.status_counts(mask))
        assert (cells.xmin <= cells.x + 1e-12).all() and (cells.x <= cells.xmax + 1e-12).all()
    assert len(pyramid.level(20)) == 1


def test_worst_status_follows_severity() -> None:
    counts = np.array(
        [[5, 0, 0, 0, 0], [5, 0, 0, 0, 1], [5, 0, 0, 1, 1], [5, 1, 0, 1, 1], [1, 1, 1, 1, 1]]
    )
    assert worst_status(counts).tolist() == [NORMAL, SILENT, OVERDUE, ANOMALY, ALARM]


def test_view_and_merge_keep_the_total() -> None:
    data = _fleet()
    pyramid = ClusterPyramid(data)
    rect = (data.x.min(), data.y.min(), data.x.max(), data.y.max())
    for upp in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        view = pyramid.view(rect, upp)
        merged = merge_overlapping(view, data.x, data.y, data.status, upp, lambda c: c * 0 + 40)
        assert view.total == merged.total == len(data)
        shown = np.r_[merged.piles, np.zeros(0, np.int64)]
        assert len(np.unique(shown)) == len(shown)


def test_basemap_geometry(tiny_basemap: Path) -> None:
    regions = load_basemap(tiny_basemap)
    assert [r.level for r in regions] == ["district", "district", "city", "prefecture"]
    west = regions[0]
    assert west.name("zh_CN") == "西区" and west.name("en_US") == "West"
    # The label point is inside the district and not in its lake.
    lx, ly = west.label_xy
    assert points_in_rings(np.array([lx]), np.array([ly]), west.rings)[0]
    lake_x, lake_y = project(120.05, 30.25)
    assert not points_in_rings(np.array([lake_x]), np.array([lake_y]), west.rings)[0]
    assert west.area == pytest.approx((0.1 * 0.1 - 0.02 * 0.02) * np.cos(np.radians(30.25)))


def _crossings_reference(x: float, y: float, rings: list[np.ndarray]) -> bool:
    """Textbook even-odd ray casting, one point and one edge at a time."""
    inside = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring[:-1].tolist(), ring[1:].tolist()):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 6.28), st.floats(0.2, 1.0)), min_size=3, max_size=24),
    st.lists(st.tuples(st.floats(-1.1, 1.1), st.floats(-1.1, 1.1)), min_size=1, max_size=30),
    st.booleans(),
    st.booleans(),
)
def test_points_in_rings_matches_ray_casting(
    polar: list[tuple[float, float]],
    points: list[tuple[float, float]],
    one_row: bool,
    on_grid: bool,
) -> None:
    # A star-shaped ring with a hole; points on one row (the label anchors' grid rows)
    # or snapped onto the vertices' grid (rays through vertices, horizontal edges).
    angle, radius = np.array(sorted(polar)).T
    ring = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    px, py = np.array(points, dtype=np.float64).T
    if on_grid:
        ring, px, py = np.round(ring, 1), np.round(px, 1), np.round(py, 1)
    if one_row:
        py = np.full_like(px, py[0])
    ring = np.vstack([ring, ring[:1]])
    rings = [ring, 0.3 * ring]
    expected = [_crossings_reference(x, y, rings) for x, y in zip(px.tolist(), py.tolist())]
    assert points_in_rings(px, py, rings).tolist() == expected


def test_synthetic_fleet_lies_inside_the_basemap(tiny_basemap: Path) -> None:
    data = synthetic_map_data(3_000, seed=3, path=tiny_basemap)
    assert len(data) == 3_000 and len(set(data.pile_ids)) == 3_000
    districts = [r for r in load_basemap(tiny_basemap) if r.level == "district"]
    inside = np.zeros(len(data), bool)
    for region in districts:
        inside |= points_in_rings(data.x, data.y, region.rings)
    # Piles are jittered ~60 m around stations, so a few sit just across an edge.
    assert inside.mean() > 0.97


# --------------------------------------------------------------------------- the widget


@pytest.fixture
def panel(qtbot, tiny_basemap: Path) -> MapPanel:
    widget = MapPanel(tiny_basemap)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_data(_fleet())
    widget.view.reset_view()
    widget.view.refresh()
    return widget


def _viewport_point(view: MapView, x: float, y: float) -> QPoint:
    return view.mapFromScene(view.scene_pos_of(x, y))


def test_filters_change_shown_count_and_mask(panel, qtbot) -> None:
    view, bar = panel.view, panel.filter_bar
    data = view.data
    assert view.shown_count == len(data)
    assert "2,000 / 2,000" in panel.count_label.text()
    with qtbot.waitSignal(panel.filter_changed):
        bar.operator_combo.setCurrentIndex(bar.operator_combo.findData(1))
    expected = int((data.operator == 1).sum())
    assert view.shown_count == expected == int(view.mask.sum())
    assert f"{expected:,} / 2,000" in panel.count_label.text()
    bar.status_boxes[NORMAL].setChecked(False)
    bar.kind_boxes[0].setChecked(False)
    keep = (data.operator == 1) & (data.status != NORMAL) & (data.kind == 1)
    assert view.shown_count == int(keep.sum())
    assert (view.mask == keep).all()
    bar.district_combo.setCurrentIndex(bar.district_combo.findData(0))
    assert view.shown_count == int((keep & (data.district == 0)).sum())
    # The legend counts the filtered piles per status.
    assert panel.legend.counts[NORMAL].text() == "0"
    panel.set_filter(MapFilter())
    assert view.shown_count == len(data)


def test_operator_search(panel, qtbot) -> None:
    combo = panel.filter_bar.operator_combo
    assert combo.completer().filterMode() == Qt.MatchFlag.MatchContains
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), "TELD")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert combo.currentData() == 1
    assert panel.view.shown_count == int((panel.view.data.operator == 1).sum())


def test_zoomed_out_clusters_sum_to_the_filtered_total(panel) -> None:
    view = panel.view
    assert view.current.level is not None and len(view.current.x) > 0
    assert view.current.total == len(view.data)
    panel.set_filter(MapFilter(statuses=frozenset({NORMAL, SILENT})))
    view.reset_view()
    view.refresh()
    assert view.current.total == view.shown_count < len(view.data)
    shown_status = np.flatnonzero(view.current.status_counts.sum(axis=0))
    assert set(shown_status.tolist()) <= {NORMAL, SILENT}


def test_click_on_a_pile_emits_its_id(panel, qtbot) -> None:
    view = panel.view
    data = view.data
    row = int(np.flatnonzero(data.status == ALARM)[0])
    x, y = float(data.x[row]), float(data.y[row])
    view.zoom_to(x - 2e-4, y - 2e-4, x + 2e-4, y + 2e-4)
    view.refresh()
    assert view.current.level is None and row in view.current.piles.tolist()
    with qtbot.waitSignal(view.pile_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(view, x, y)
        )
    assert blocker.args == [data.pile_ids[row]]
    # The panel forwards it for the main window.
    with qtbot.waitSignal(panel.pile_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(view, x, y)
        )
    assert blocker.args == [data.pile_ids[row]]


def test_click_on_a_cluster_zooms_into_it(panel, qtbot) -> None:
    view = panel.view
    k = int(np.argmax(view.current.count))
    x, y = float(view.current.x[k]), float(view.current.y[k])
    before = view.vb.viewRect().width()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_viewport_point(view, x, y))
    assert view.vb.viewRect().width() < before / 2


def test_status_colouring(panel) -> None:
    from app.views.map_view import STATUS_COLORS, STATUS_SYMBOLS

    view = panel.view
    data = view.data
    view.zoom_to(data.x.min(), data.y.min(), data.x.min() + 0.004, data.y.min() + 0.004)
    view.refresh()
    assert len(view.current.piles)
    for code, item in view.scatters.items():
        xs, _ = item.getData()
        rows = view.current.piles[data.status[view.current.piles] == code]
        assert sorted(xs.tolist()) == sorted(data.x[rows].tolist())
        assert item.opts["brush"].color() == STATUS_COLORS[code]
        assert item.opts["symbol"] == STATUS_SYMBOLS[code]
    assert len({c.name() for c in STATUS_COLORS.values()}) == N_STATUS
    # Bubbles take the colour of their worst pile.
    view.reset_view()
    view.refresh()
    bubbles = view.clusters
    assert len(bubbles.worst) and (bubbles.worst == worst_status(bubbles.status_counts)).all()
    assert ALARM in bubbles.worst.tolist()


def test_tooltips(panel, qtbot) -> None:
    from app.views.map_view import status_label

    view = panel.view
    data = view.data
    row = int(np.flatnonzero(data.status == OVERDUE)[0])
    x, y = float(data.x[row]), float(data.y[row])
    view.zoom_to(x - 2e-4, y - 2e-4, x + 2e-4, y + 2e-4)
    view.refresh()
    text = view.tooltip_text(view.scene_pos_of(x, y))
    assert data.pile_ids[row] in text
    assert data.operator_names[data.operator[row]] in text
    assert data.station_names[data.station[row]] in text
    assert status_label(OVERDUE) in text
    assert ("East" if data.district[row] else "West") in text
    # Hovering shows it; empty map shows nothing.
    qtbot.mouseMove(view.viewport(), _viewport_point(view, x, y))
    qtbot.waitUntil(lambda: view.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor)
    assert view.tooltip_text(view.scene_pos_of(x + 1e-3, y + 1e-3)) == ""
    # A bubble lists its count and status mix.
    view.reset_view()
    view.refresh()
    k = int(np.argmax(view.current.count))
    text = view.tooltip_text(view.scene_pos_of(view.current.x[k], view.current.y[k]))
    assert f"{int(view.current.count[k]):,}" in text and "Click to zoom in" in text
    assert status_label(NORMAL) in text


def test_recompute_is_throttled(panel, qtbot) -> None:
    view = panel.view
    calls = []
    view.view_updated.connect(lambda: calls.append(1))
    rect = view.vb.viewRect()
    for i in range(5):
        dx = rect.width() * 0.01 * (i + 1)
        view.vb.setRange(
            xRange=(rect.left() + dx, rect.right() + dx),
            yRange=(rect.top(), rect.bottom()),
            padding=0,
        )
    assert calls == []
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=1000)
    qtbot.wait(60)
    assert len(calls) == 1


def test_choropleth_and_language(panel, qtbot) -> None:
    from app.views.map_view import DISTRICT_FILL

    view = panel.view
    assert all(c == DISTRICT_FILL for c in view.basemap.fills)
    panel.legend.choropleth_box.setChecked(True)
    west, east = view.basemap.fills
    assert west != east and QColor(east).lightness() < QColor(west).lightness()
    assert panel.legend.ramp.isVisibleTo(panel.legend)
    panel.legend.choropleth_box.setChecked(False)
    assert all(c == DISTRICT_FILL for c in view.basemap.fills)

    old = QLocale()
    try:
        QLocale.setDefault(QLocale("zh_CN"))
        view.viewport().repaint()
        assert set(view.labels.placed) == {"西区", "东区"}
        QLocale.setDefault(QLocale("en_US"))
        view.viewport().repaint()
        assert set(view.labels.placed) == {"West", "East"}
        # No label hides under the legend.
        legend = view.labels.reserved[0]
        assert legend.width() > 100
        assert not any(r.intersects(legend) for r in view.labels.placed.values())
    finally:
        QLocale.setDefault(old)


def test_panel_grabs_with_the_real_basemap(qtbot, tmp_path: Path) -> None:
    from app.application import load_fonts
    from app.views.map_view import MapPanel

    assert BASEMAP.exists(), "the Hangzhou basemap is part of the repository"
    load_fonts()
    widget = MapPanel()
    qtbot.addWidget(widget)
    widget.resize(1600, 1000)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_data(synthetic_map_data(12_258))
    widget.view.refresh()
    assert widget.view.shown_count == 12_258
    assert widget.view.current.total == 12_258
    image = widget.grab()
    assert image.width() == 1600 and image.height() == 1000
    assert image.save(str(tmp_path / "map.png"))


def test_map_without_basemap_frames_the_piles(qtbot, tmp_path: Path) -> None:
    from app.views.map_view import MapPanel

    widget = MapPanel(tmp_path / "missing.geojson")
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    data = _fleet(500)
    widget.set_data(data)
    widget.view.refresh()
    rect = widget.view.vb.viewRect()
    assert rect.contains(float(data.x.mean()), float(data.y.mean()))
    assert widget.view.current.total == 500
    # Bubbles are painted even with no basemap to give the layers bounds, over the
    # plain background.
    assert len(widget.view.current.x)
    assert widget.view.viewport().grab().toImage().pixelColor(1, 1) == QColor("#E4EAF0")
    with_bubbles = widget.view.viewport().grab().toImage()
    widget.view.clusters.hide()
    assert widget.view.viewport().grab().toImage() != with_bubbles
    assert not widget.grab().isNull()


def test_focus_pile_clears_a_hiding_filter_and_rings_it(panel) -> None:
    view = panel.view
    data = view.data
    row = int(np.flatnonzero(data.status == NORMAL)[0])
    panel.set_filter(MapFilter(statuses=frozenset({ALARM})))
    assert not view.mask[row] and not panel.filter_bar.status_boxes[NORMAL].isChecked()
    assert panel.focus_pile(str(data.pile_ids[row]))
    assert view.mask[row] and row in view.current.piles.tolist()
    assert panel.filter_bar.status_boxes[NORMAL].isChecked()
    xs, ys = view.highlight.getData()
    assert (xs[0], ys[0]) == (data.x[row], data.y[row])
    assert view.vb.viewRect().contains(float(data.x[row]), float(data.y[row]))
    assert not view.focus_pile("no such pile")
    view.clear_focus()
    assert len(view.highlight.getData()[0]) == 0


def _screen(view: MapView) -> QImage:
    """The viewport as it is on screen (the window's backing store), not a fresh render."""
    view.viewport().repaint()
    window = view.window()
    return (
        window.screen()
        .grabWindow(window.winId())
        .toImage()
        .copy(QRect(view.viewport().mapTo(window, QPoint(0, 0)), view.viewport().size()))
    )


def test_panned_basemap_frame_matches_a_fresh_render(panel, qtbot) -> None:
    view = panel.view
    view.clusters.hide()  # only the basemap, its fills and outlines
    for item in view.scatters.values():
        item.hide()
    view.labels.hide()
    view.zoom_to(120.03 * 0.8638, 30.22, 120.09 * 0.8638, 30.28)
    first = _screen(view)
    upp = view.units_per_pixel()
    # A drag: whole-pixel moves, then one back, so the cached frame scrolls and
    # renders only the strips that came into view.
    for dx, dy in ((40, 0), (0, -25), (-130, 60), (7, 7)):
        view.vb.translateBy(x=dx * upp, y=dy * upp)
        scrolled = _screen(view)
        view.basemap.set_fills(None)  # same look, cache dropped: a full render
        assert scrolled == _screen(view)
    assert scrolled != first  # the map did move
    # The background comes from the basemap frame, also off the regions; with the
    # basemap hidden, from the view.
    background = QColor("#E4EAF0")
    view.zoom_to(121.0, 31.0, 121.01, 31.01)  # east of the tiny basemap's last region
    assert view.basemap.core_rect.right() < view.vb.viewRect().left()
    off_map = _screen(view)
    assert off_map.pixelColor(off_map.width() // 2, off_map.height() // 2) == background
    view.basemap.hide()
    blank = _screen(view)
    assert blank.pixelColor(blank.width() // 2, blank.height() // 2) == background


def test_a_map_frame_does_not_repaint_the_legend(panel, qtbot) -> None:
    qtbot.wait(1)  # the legend's own pending paint (new counts) first
    painted: list[int] = []

    class Counter(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(1)
            return False

    counter = Counter()
    for widget in [panel.legend, *panel.legend.findChildren(QWidget)]:
        widget.installEventFilter(counter)
    panel.view.vb.translateBy(x=panel.view.units_per_pixel() * 30)
    panel.view.refresh()
    panel.view.viewport().repaint()
    qtbot.wait(1)  # deliver the queued scene update as well
    assert not painted
    panel.legend.set_counts(np.array([1, 2, 3, 4, 5]), 6)
    panel.legend.repaint()
    assert painted  # its own changes still show
