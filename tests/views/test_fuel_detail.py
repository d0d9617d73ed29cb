"""The dispenser/nozzle detail view, loaded from a store through the shared reader."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.views.fuel.dispenser_detail import DispenserDetailView
from app.views.table_models import StoreReader
from tests.views.test_fuel_queries import EXTRA_ML, FD1, FD3, FuelWorld, build_fuel_world


@pytest.fixture(scope="module")
def fuel_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuelWorld]:
    world = build_fuel_world(f"sqlite:///{tmp_path_factory.mktemp('fueldet') / 'f.sqlite'}")
    yield world
    world.store.close()


@pytest.fixture
def view(qtbot, fuel_world: FuelWorld) -> Iterator[DispenserDetailView]:
    reader = StoreReader(fuel_world.store)
    widget = DispenserDetailView(reader)
    qtbot.addWidget(widget)
    widget.resize(1200, 1000)
    widget.show()
    yield widget
    reader.shutdown()


def _open(qtbot, view: DispenserDetailView, dispenser_id: str) -> None:
    with qtbot.waitSignal(view.loaded, timeout=10000) as blocker:
        view.show_dispenser(dispenser_id)
    assert blocker.args == [dispenser_id]


def test_the_detail_series_hold_the_inserted_data(qtbot, view, fuel_world) -> None:
    _open(qtbot, view, FD1)
    rows = fuel_world.fuellings[(FD1, 1)]
    x, y = view.volume.getData()
    assert x.tolist() == [r["stop_ms"] / 1000 for r in rows]
    assert y.tolist() == [r["volume_ml"] / 1000 for r in rows]
    _x, price = view.price.getData()
    assert price.tolist() == [r["price_fen_l"] / 100 for r in rows]
    _x, total = view.total.getData()
    assert total.tolist() == [r["volume_total_ml"] / 1000 for r in fuel_world.readings]
    heights = view.delta.opts["height"]
    assert list(heights) == [0, 0, EXTRA_ML, 0, 0, 0, 0]
    assert "1 off by more than 10 mL" in view.summary.text() or "1 次" in view.summary.text()
    # Tank FS1-T1: day 1 balances, day 2 kept 80 L the pumps claimed to sell.
    assert list(view.tank_bars.opts["height"]) == [0.0, -80.0]


def test_the_header_seals_and_findings(qtbot, view) -> None:
    _open(qtbot, view, FD1)
    assert FD1 in view.title.text()
    assert "中石化文三路加油站" in view.fields["station"].text()
    assert view.fields["serial"].text() == "TQ2025-0001"
    assert view.seals.rowCount() == 3
    states = {view.seals.item(r, 0).text(): view.seals.item(r, 1).text() for r in range(3)}
    tampered = [k for k, v in states.items() if v in ("tampered", "被破坏")]
    assert len(tampered) == 1
    assert view.findings.rowCount() == 1
    assert view.findings.item(0, 1).text().startswith("F08")


def test_switching_nozzle_shows_its_own_series(qtbot, view) -> None:
    _open(qtbot, view, FD1)
    assert view.nozzle_combo.count() == 2
    view.nozzle_combo.setCurrentIndex(1)
    assert view.nozzle == 2
    x, _y = view.volume.getData()
    assert x is None or len(x) == 0  # nozzle 2 has no fuellings in this world
    assert len(view.tank_bars.opts["height"]) == 0  # its tank FS1-T2 has no gauge readings
    view.nozzle_combo.setCurrentIndex(0)
    x, _y = view.volume.getData()
    assert len(x) == 48


def test_an_unknown_id_says_so(qtbot, view) -> None:
    with qtbot.waitSignal(view.load_failed, timeout=10000) as blocker:
        view.show_dispenser("P-ST1-01")
    assert "P-ST1-01" in blocker.args[0]
    _open(qtbot, view, FD3)  # and the view still works afterwards
    assert np.isnan(view.series[1].mismatch_ml).all() or len(view.series[1].reading_ms) == 0
