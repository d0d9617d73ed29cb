"""The registry explorer: paged models against the synced test store, driven like a user."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Connection, event

from app.models.charging import queries
from app.views.explorer import ExplorerView
from app.views.table_models import PLACEHOLDER, PagedListModel, StoreReader
from tests.views.conftest import PILES, TEST_PILE, ViewWorld


@pytest.fixture
def reader(view_world: ViewWorld, qtbot: QtBot) -> Iterator[StoreReader]:
    reader = StoreReader(view_world.store)
    yield reader
    reader.shutdown()


def loaded_model(qtbot: QtBot, reader: StoreReader, name: str, **kw: object) -> PagedListModel:
    model = PagedListModel(reader, name, **kw)  # type: ignore[arg-type]
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.refresh()
    return model


def load_rows(qtbot: QtBot, model: PagedListModel) -> list[str]:
    """Asks for every row (as painting would) and waits until all pages are in."""
    for row in range(model.rowCount()):
        model.row_values(row)
    qtbot.waitUntil(lambda: all(model.is_loaded(r) for r in range(model.rowCount())), timeout=5000)
    return [str(model.key_at(r)) for r in range(model.rowCount())]


def refilter(qtbot: QtBot, model: PagedListModel, flt: queries.ListFilter) -> list[str]:
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.set_filter(flt)
    return load_rows(qtbot, model)


def test_rows_load_lazily_and_filters_change_them(qtbot: QtBot, reader: StoreReader) -> None:
    model = loaded_model(qtbot, reader, "piles")
    assert model.rowCount() == len(PILES)
    index = model.index(0, 0)
    assert model.data(index) == PLACEHOLDER  # not fetched on the GUI thread
    assert load_rows(qtbot, model) == sorted(p[0] for p in PILES)
    assert refilter(qtbot, model, queries.ListFilter(kind="DC")) == [
        "P-ST1-01",
        "P-ST2-01",
        "P-ST3-02",
    ]
    assert refilter(qtbot, model, queries.ListFilter(operator_id="OP2")) == [
        "P-ST3-01",
        "P-ST3-02",
    ]
    assert refilter(qtbot, model, queries.ListFilter(status="alarm")) == ["P-ST3-02"]
    assert refilter(qtbot, model, queries.ListFilter(district="上城区")) == ["P-ST2-01"]
    assert refilter(qtbot, model, queries.ListFilter(text="st1-0")) == ["P-ST1-01", "P-ST1-02"]
    assert refilter(qtbot, model, queries.ListFilter(text="100%")) == []


def test_text_filter_ignores_case_and_finds_names(qtbot: QtBot, reader: StoreReader) -> None:
    piles = loaded_model(qtbot, reader, "piles")
    assert refilter(qtbot, piles, queries.ListFilter(text="sT1-0")) == ["P-ST1-01", "P-ST1-02"]
    stations = loaded_model(qtbot, reader, "stations")
    assert refilter(qtbot, stations, queries.ListFilter(text="文三路")) == ["ST1"]
    assert refilter(qtbot, stations, queries.ListFilter(text="st_")) == []  # _ is literal


def test_text_filter_on_sqlite_calls_no_function_per_row(view_world: ViewWorld) -> None:
    """SQLite's LIKE ignores ASCII case itself: lower() on every row only made a text
    search over a million piles 2.6x slower."""
    statements: list[str] = []

    def seen(conn, cursor, statement, params, context, many) -> None:
        statements.append(statement)

    event.listen(view_world.store.engine, "before_cursor_execute", seen)
    try:
        with view_world.store.engine.connect() as conn:
            # (two characters: three or more go to the trigram index, tests/models/test_search)
            assert queries.count_rows(conn, "piles", queries.ListFilter(text="T1")) == 2
            queries.page_rows(conn, queries.PageRequest("piles", queries.ListFilter(text="t1")))
    finally:
        event.remove(view_world.store.engine, "before_cursor_execute", seen)
    filtered = [s for s in statements if "LIKE" in s]
    assert len(filtered) == 2
    assert not any("lower(" in s for s in filtered)


SLOW_COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)"
    " SELECT count(*) FROM c WHERE (x = 1 AND running()) OR x > 1"
)
"""~30 s of SQLite work; ``running()``, called on the first row, says it is under way."""


def test_cancel_interrupts_a_running_read(qtbot: QtBot, reader: StoreReader) -> None:
    running = threading.Event()
    outcome: list[str] = []
    answers: list[object] = []

    def slow(conn: Connection) -> int:
        conn.connection.dbapi_connection.create_function("running", 0, lambda: running.set() or 1)
        try:
            return conn.exec_driver_sql(SLOW_COUNT).scalar()
        except Exception as exc:
            outcome.append(str(exc))
            raise

    ticket = reader.submit(slow, answers.append, answers.append)
    assert running.wait(10)
    reader.cancel(ticket)
    assert reader.wait(20_000), "the statement was not interrupted"
    assert outcome and "interrupted" in outcome[0]
    QApplication.processEvents()
    assert answers == []  # a cancelled read calls nobody back
    with qtbot.waitSignal(reader._deliver, timeout=5000):  # the connection still serves
        reader.submit(lambda conn: conn.exec_driver_sql("SELECT 1").scalar(), answers.append)
    QApplication.processEvents()
    assert answers == [1]


def test_cancel_skips_a_queued_read(qtbot: QtBot, view_world: ViewWorld) -> None:
    reader = StoreReader(view_world.store, threads=1)
    try:
        release = threading.Event()
        ran: list[str] = []
        reader.submit(lambda conn: release.wait(10), lambda _r: None)
        ticket = reader.submit(lambda conn: ran.append("queued"), lambda _r: None)
        reader.cancel(ticket)
        release.set()
        assert reader.wait(10_000)
        assert ran == []
    finally:
        reader.shutdown()


def test_a_new_filter_cancels_the_last_ones_reads(
    qtbot: QtBot, reader: StoreReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = loaded_model(qtbot, reader, "piles")
    cancelled: list[int] = []
    cancel = reader.cancel
    monkeypatch.setattr(reader, "cancel", lambda t: (cancelled.append(t), cancel(t)))
    model.set_filter(queries.ListFilter(text="P-ST1"))
    first = set(model._reads)
    assert first  # its count is out
    assert refilter(qtbot, model, queries.ListFilter(text="P-ST3")) == ["P-ST3-01", "P-ST3-02"]
    assert first <= set(cancelled)


def test_sorting_happens_in_sql(qtbot: QtBot, reader: StoreReader) -> None:
    model = loaded_model(qtbot, reader, "piles")
    power = model.spec.columns.index("rated_power_w")
    with qtbot.waitSignal(model.loaded):
        model.sort(power, Qt.SortOrder.DescendingOrder)
    keys = load_rows(qtbot, model)
    by_power = sorted(PILES, key=lambda p: (p[3], p[0]), reverse=True)
    assert keys == [p[0] for p in by_power]
    assert model.data(model.index(0, power)) == "160 kW"
    # unsortable (derived) columns are ignored rather than sorted wrongly
    station_name = model.spec.columns.index("station")
    model.sort(station_name)
    assert not model.counting


def test_paging_seeks_past_the_first_page(qtbot: QtBot, reader: StoreReader) -> None:
    """Tiny pages: the second page is fetched by keyset after the first; no row repeats."""
    model = loaded_model(qtbot, reader, "piles", page_size=2)
    kind = model.spec.columns.index("kind")
    with qtbot.waitSignal(model.loaded):
        model.sort(kind)
    keys = load_rows(qtbot, model)
    assert len(set(keys)) == len(PILES)
    kinds = [model.data(model.index(r, kind)) for r in range(model.rowCount())]
    assert kinds == sorted(kinds)


@pytest.mark.parametrize("name", ["operators", "stations", "piles"])
def test_models_pass_the_model_tester(
    qtbot: QtBot, reader: StoreReader, qtmodeltester, name: str
) -> None:
    model = loaded_model(qtbot, reader, name)
    load_rows(qtbot, model)
    qtmodeltester.check(model)


def test_operator_and_station_lists_count_their_children(qtbot: QtBot, reader: StoreReader) -> None:
    operators = loaded_model(qtbot, reader, "operators")
    load_rows(qtbot, operators)
    piles_col = operators.spec.columns.index("piles")
    assert [operators.data(operators.index(r, piles_col)) for r in range(2)] == ["3", "2"]
    stations = loaded_model(qtbot, reader, "stations")
    assert refilter(qtbot, stations, queries.ListFilter(operator_id="OP1")) == ["ST1", "ST2"]


def _double_click(qtbot: QtBot, view: ExplorerView, name: str, row: int) -> None:
    table = view.tables[name]
    model = view.models[name]
    load_rows(qtbot, model)
    index = model.index(row, 0)
    rect = table.visualRect(index)
    # item views only emit doubleClicked for the index the first click pressed
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_double_clicks_drill_down_to_a_pile(qtbot: QtBot, reader: StoreReader) -> None:
    view = ExplorerView(reader)
    qtbot.addWidget(view)
    view.resize(1200, 600)
    view.show()
    qtbot.waitUntil(lambda: view.models["piles"].total == len(PILES), timeout=5000)
    qtbot.waitUntil(lambda: view.operator_box.count() == 3, timeout=5000)

    view.show_list("operators")
    with qtbot.waitSignal(view.operator_activated) as op:
        _double_click(qtbot, view, "operators", 1)
    assert op.args == ["OP2"]
    assert view.tabs.currentIndex() == view.LISTS.index("stations")
    qtbot.waitUntil(lambda: view.models["stations"].total == 1, timeout=5000)

    with qtbot.waitSignal(view.station_activated) as st:
        _double_click(qtbot, view, "stations", 0)
    assert st.args == ["ST3"]
    assert view.station_chip.isVisible()
    qtbot.waitUntil(lambda: view.models["piles"].total == 2, timeout=5000)

    with qtbot.waitSignal(view.pile_activated) as pile:
        _double_click(qtbot, view, "piles", 1)
    assert pile.args == ["P-ST3-02"]

    view.reset_filters()
    qtbot.waitUntil(lambda: view.models["piles"].total == len(PILES), timeout=5000)
    assert not view.station_chip.isVisible()
    with qtbot.waitSignal(view.pile_activated) as pile:
        _double_click(qtbot, view, "piles", 0)
    assert pile.args == [TEST_PILE]


def test_typing_filters_after_a_pause(qtbot: QtBot, reader: StoreReader) -> None:
    view = ExplorerView(reader)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.models["piles"].total == len(PILES), timeout=5000)
    qtbot.keyClicks(view.search, "ST3")
    qtbot.waitUntil(lambda: view.models["piles"].total == 2, timeout=5000)
    qtbot.waitUntil(lambda: view.models["stations"].total == 1, timeout=5000)
    assert "2" in view.count_label.text()


def test_invalid_index_gives_nothing(qtbot: QtBot, reader: StoreReader) -> None:
    model = loaded_model(qtbot, reader, "piles")
    assert model.data(QModelIndex()) is None
    assert model.rowCount(model.index(0, 0)) == 0
    assert QApplication.instance() is not None


def test_refresh_after_a_sync_keeps_rows_on_screen(qtbot: QtBot, reader: StoreReader) -> None:
    """Same count: no model reset, old rows shown while their page is re-read."""
    model = loaded_model(qtbot, reader, "piles")
    keys = load_rows(qtbot, model)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.refresh()
    assert not model.is_loaded(0)
    assert model.key_at(0) == keys[0]  # the stale row, not a placeholder
    assert load_rows(qtbot, model) == keys
    assert resets == []


def test_unsortable_header_keeps_the_sql_sort(qtbot: QtBot, reader: StoreReader) -> None:
    view = ExplorerView(reader)
    qtbot.addWidget(view)
    table = view.tables["piles"]
    header = table.horizontalHeader()
    station = view.models["piles"].spec.columns.index("station")
    header.setSortIndicator(station, Qt.SortOrder.DescendingOrder)
    assert header.sortIndicatorSection() == 0
    assert not view.models["piles"].is_sortable(station)


def test_enter_opens_the_selected_pile(qtbot: QtBot, reader: StoreReader) -> None:
    view = ExplorerView(reader)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.models["piles"].total == len(PILES), timeout=5000)
    load_rows(qtbot, view.models["piles"])
    table = view.tables["piles"]
    table.setFocus()
    table.setCurrentIndex(view.models["piles"].index(2, 0))
    with qtbot.waitSignal(view.pile_activated) as pile:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert pile.args == ["P-ST2-01"]


def test_a_read_that_outlives_its_reader_reports_to_nobody(view_world: ViewWorld) -> None:
    """A window closing while a read runs deletes the reader: the read's answer has no
    one to go to and must not raise on the pool thread (seen as 'Signal source has been
    deleted' when the screenshot command closed its windows)."""
    import shiboken6

    from app.views.table_models import _Query

    reader = StoreReader(view_world.store)
    ran: list[int] = []
    query = _Query(reader, 1, lambda conn: ran.append(1) or 1)
    reader.shutdown()
    shiboken6.delete(reader)
    query.run()  # on this thread, for determinism; the pool would run it the same way
    assert ran == [1]


def test_reads_submitted_after_shutdown_do_not_run(view_world: ViewWorld) -> None:
    reader = StoreReader(view_world.store)
    reader.shutdown()
    ran: list[int] = []
    reader.submit(lambda conn: ran.append(1), lambda _r: None)
    reader.submit_call(lambda: ran.append(2), lambda _r: None)
    assert reader.wait(5000) and ran == [] and not reader.busy
