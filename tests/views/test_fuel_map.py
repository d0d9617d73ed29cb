"""The dispenser layer of the city map: read from a store, filtered, clicked, hovered."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.views.fuel.map_layer import load_dispenser_layer, spread_around_stations
from app.views.map_data import DISPENSERS, PILES, MapData, MapFilter, project
from app.views.map_view import MapPanel, MapView
from tests.views.test_fuel_queries import FD1, FD2, FD3, FD4, FuelWorld, build_fuel_world


@pytest.fixture(scope="module")
def fuel_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuelWorld]:
    world = build_fuel_world(f"sqlite:///{tmp_path_factory.mktemp('fuelmap') / 'f.sqlite'}")
    yield world
    world.store.close()


def _piles() -> MapData:
    """Three piles: two in 西湖区 (one operator shared with the dispensers), one in 滨江区."""
    return MapData(
        pile_ids=np.array(["P1", "P2", "P3"], dtype=object),
        lon=[120.10, 120.11, 120.20],
        lat=[30.27, 30.27, 30.19],
        status=[0, 1, 0],
        operator=[0, 1, 1],
        operator_names=("国网杭州", "中石化浙江"),
        district=[0, 0, 1],
        district_names=("西湖区", "滨江区"),
        kind=[0, 1, 1],
    )


@pytest.fixture
def panel(qtbot, fuel_world: FuelWorld) -> MapPanel:
    widget = MapPanel()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_data(_piles())
    with fuel_world.store.engine.connect() as conn:
        widget.set_dispensers(load_dispenser_layer(conn))
    widget.view.reset_view()
    widget.view.refresh()
    return widget


def _point(view: MapView, x: float, y: float) -> QPoint:
    return view.mapFromScene(view.scene_pos_of(x, y))


def _drawn(view: MapView) -> int:
    """Dispenser markers plus the dispensers inside drawn dispenser bubbles."""
    return len(view.fuel_clusters.marker_x) + int(view.fuel_clusters.count.sum())


def test_filter_recodes_operator_and_district_by_name() -> None:
    piles = _piles()
    fuel = MapData(
        pile_ids=np.array(["FD1", "FD2"], dtype=object),
        lon=[120.1, 120.2],
        lat=[30.2, 30.2],
        status=[0, 0],
        operator=[0, 0],
        operator_names=("中石化浙江",),
        district=[0, 1],
        district_names=("上城区", "西湖区"),
        kind=[0, 0],
    )
    f = MapFilter(operators=frozenset({1}), districts=frozenset({0}), kinds=frozenset({1}))
    layer = f.for_layer(piles.operator_names, piles.district_names, fuel)
    assert layer.operators == frozenset({0}) and layer.districts == frozenset({1})
    assert not layer.kinds  # AC/DC is the piles' own filter
    assert layer.mask(fuel).tolist() == [False, True]
    # An operator the dispensers do not have matches none of them (not all of them).
    only_grid = MapFilter(operators=frozenset({0}))
    assert only_grid.for_layer(piles.operator_names, (), fuel).mask(fuel).tolist() == [
        False,
        False,
    ]


def test_spread_keeps_a_station_s_dispensers_apart_and_a_single_one_in_place() -> None:
    lon = np.array([120.1, 120.1, 120.1, 120.2])
    lat = np.array([30.2, 30.2, 30.2, 30.3])
    new_lon, new_lat = spread_around_stations(lon, lat, np.array([0, 0, 0, 1]))
    assert (new_lon[3], new_lat[3]) == (120.2, 30.3)
    x, y = project(new_lon[:3], new_lat[:3])
    d_m = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) * 111_320
    assert d_m[np.triu_indices(3, 1)].min() > 20  # 22 m radius, 120° apart: ~38 m
    assert np.allclose(np.hypot(*(np.r_[[x - x.mean()], [y - y.mean()]])) * 111_320, 22, atol=0.5)


def test_the_kind_filter_hides_and_shows_dispensers(panel, qtbot) -> None:
    view = panel.view
    assert view.fuel_shown_count == 4 and view.shown_count == 3
    assert _drawn(view) == 4
    assert "4 / 4" in panel.count_label.text()
    with qtbot.waitSignal(panel.filter_changed):
        panel.filter_bar.instrument_boxes[DISPENSERS].setChecked(False)
    assert view.fuel_shown_count == 0 and view.shown_count == 3
    assert _drawn(view) == 0
    assert not view.filter.shows(DISPENSERS) and view.filter.shows(PILES)
    panel.filter_bar.instrument_boxes[PILES].setChecked(False)
    assert view.shown_count == 0 and view.fuel_shown_count == 0
    panel.filter_bar.instrument_boxes[DISPENSERS].setChecked(True)
    assert view.fuel_shown_count == 4 and view.shown_count == 0
    assert _drawn(view) == 4
    assert sum(len(item.data) for item in view.scatters.values()) == 0
    panel.filter_bar.instrument_boxes[PILES].setChecked(True)
    assert view.filter == MapFilter()


def test_district_and_status_filters_apply_to_dispensers(panel) -> None:
    view = panel.view
    bar = panel.filter_bar
    bar.district_combo.setCurrentIndex(bar.district_combo.findData(0))  # 西湖区 of the piles
    assert view.fuel_shown_count == 2  # FD1, FD2 at the 文三路 station
    assert set(view.fuel.pile_ids[view.fuel_mask]) == {FD1, FD2}
    bar.district_combo.setCurrentIndex(0)
    for code, box in bar.status_boxes.items():
        box.setChecked(code == 2)  # open alarms only
    assert list(view.fuel.pile_ids[view.fuel_mask]) == [FD1]


def test_clicking_a_dispenser_emits_its_id_and_hover_names_it(panel, qtbot) -> None:
    view = panel.view
    assert panel.focus_dispenser(FD4)
    row = int(np.flatnonzero(view.fuel.pile_ids == FD4)[0])
    assert row in view.fuel_current.piles.tolist()  # drawn as itself at street level
    x, y = float(view.fuel.x[row]), float(view.fuel.y[row])
    text = view.tooltip_text(view.scene_pos_of(x, y))
    assert FD4 in text and "中石化钱江加油站" in text
    with qtbot.waitSignal(panel.dispenser_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_point(view, x, y))
    assert blocker.args == [FD4]
    # Its station neighbour FD3 is a separate click target.
    other = int(np.flatnonzero(view.fuel.pile_ids == FD3)[0])
    with qtbot.waitSignal(panel.dispenser_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(
            view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=_point(view, float(view.fuel.x[other]), float(view.fuel.y[other])),
        )
    assert blocker.args == [FD3]


def test_zoomed_out_dispensers_group_into_square_bubbles(panel) -> None:
    view = panel.view
    view.reset_view()
    view.refresh()
    assert len(view.fuel_current.x) >= 1  # four dispensers ~8 km apart by pairs: bubbles
    k = 0
    text = view.tooltip_text(view.scene_pos_of(view.fuel_current.x[k], view.fuel_current.y[k]))
    assert "fuel dispensers" in text or "加油机" in text
    assert _drawn(view) == view.fuel_shown_count == 4


def test_a_store_layer_from_an_empty_world_is_empty(qtbot) -> None:
    widget = MapPanel()
    qtbot.addWidget(widget)
    widget.set_data(_piles())
    widget.set_dispensers(MapData.empty())
    assert "fuel" not in widget.count_label.text()
    assert widget.legend.fuel_count.isHidden()


def test_dispenser_bubbles_slide_off_the_pile_bubbles_they_would_hide() -> None:
    from app.views.map_data import ClusterView, nudge_apart
    from app.views.map_view import bubble_diameter

    def bubbles(x, y, count) -> ClusterView:
        n = len(x)
        return ClusterView(
            level=5,
            x=np.array(x, float),
            y=np.array(y, float),
            count=np.array(count),
            worst=np.zeros(n, np.uint8),
            status_counts=np.c_[np.array(count), np.zeros((n, 4), np.int64)],
            bounds=np.zeros((n, 4)),
            piles=np.zeros(0, np.int64),
        )

    upp = 0.001  # map units per pixel
    piles = bubbles([0.0, 1.0], [0.0, 0.0], [500, 20])
    # One on a pile bubble's centre, one half-covering it, one far away.
    fuel = bubbles([0.0, 0.010, 0.5], [0.0, 0.005, 0.5], [40, 7, 3])
    moved = nudge_apart(fuel, piles, upp, bubble_diameter)
    r = bubble_diameter(moved.count) / 2 * upp
    rp = bubble_diameter(piles.count) / 2 * upp
    d = np.hypot(moved.x[:, None] - piles.x[None, :], moved.y[:, None] - piles.y[None, :])
    assert (d >= r[:, None] + rp[None, :] - 1e-9).all()
    assert (moved.x[2], moved.y[2]) == (0.5, 0.5)  # not in the way: not moved
    assert moved.count.tolist() == [40, 7, 3]
    # The half-covering one moved straight away from the pile bubble's centre.
    assert np.isclose(moved.y[1] / moved.x[1], 0.5)


def test_a_district_only_dispensers_have_is_offered_and_filters_both_layers(panel) -> None:
    view, bar = panel.view, panel.filter_bar
    names = [bar.district_combo.itemText(i) for i in range(bar.district_combo.count())]
    assert any("上城" in n or "Shangcheng" in n for n in names)  # no pile is in 上城区
    code = view.district_choices.index("上城区")
    bar.district_combo.setCurrentIndex(bar.district_combo.findData(code))
    assert view.shown_count == 0
    assert set(view.fuel.pile_ids[view.fuel_mask]) == {FD3, FD4}
