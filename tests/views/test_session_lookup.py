"""Session lookup: three ways to find a session, the fair amount, and the proof panel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pytest
from pytestqt.qtbot import QtBot

from app.models.charging import queries
from app.views.session_lookup import FAIR_STYLE, OVERBILLED_STYLE, SessionLookupView
from app.views.table_models import StoreReader, format_yuan
from ledger.fleet.tariff import compute_charge
from tests.views.conftest import (
    OVERBILLED_INDEX,
    PILES,
    T0,
    TEST_PILE,
    UNBILLED_INDEX,
    ViewWorld,
)


@pytest.fixture
def reader(view_world: ViewWorld) -> Iterator[StoreReader]:
    reader = StoreReader(view_world.store)
    yield reader
    reader.shutdown()


@pytest.fixture
def view(qtbot: QtBot, reader: StoreReader) -> SessionLookupView:
    view = SessionLookupView(reader)
    qtbot.addWidget(view)
    view.resize(1600, 1000)
    view.show()
    return view


def shown_entry(qtbot: QtBot, view: SessionLookupView, lookup: object) -> int:
    with qtbot.waitSignal(view.detail_shown, timeout=10_000) as blocker:
        lookup()  # type: ignore[operator]
    return int(blocker.args[0])


def test_find_by_session_id_shows_the_overbilling(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    body = view_world.test_sessions[OVERBILLED_INDEX]
    entry = shown_entry(qtbot, view, lambda: view.lookup_session_id(" " + body["session_id"]))
    assert entry == body["entry_index"]
    assert view.result_table.rowCount() == 1
    fair = sum(
        compute_charge(view_world.periods, body["start_ms"], 60, body["power_w"], body["energy_wh"])
    )
    billed = sum(
        compute_charge(
            view_world.periods, body["start_ms"], 60, body["power_w"], body["energy_wh"] + 500
        )
    )
    assert view.detail is not None and view.detail.fair is not None
    assert view.detail.fair.amount_fen == fair
    assert view.detail.overbilled_fen == billed - fair > 0
    assert view.values["fair_amount"].text() == format_yuan(fair)
    assert view.values["amount"].text() == format_yuan(billed)
    assert view.verdict.styleSheet() == OVERBILLED_STYLE
    assert format_yuan(billed - fair) in view.verdict.text()
    assert view.values["energy_diff"].text().startswith("+500 Wh")
    assert "verified at sync" in view.signature_label.text().lower()


def test_find_by_pile_and_time(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    body = view_world.test_sessions[12]
    moment = body["start_ms"] + (body["stop_ms"] - body["start_ms"]) // 2
    entry = shown_entry(qtbot, view, lambda: view.lookup_pile_time(TEST_PILE, moment))
    assert entry == body["entry_index"]
    assert view.values["session_id"].text() == body["session_id"]
    # an honest bill matches the fair amount to the fen
    assert view.detail is not None and view.detail.overbilled_fen == 0
    assert view.verdict.styleSheet() == FAIR_STYLE


def test_no_session_at_an_idle_moment(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    body = view_world.test_sessions[12]
    with qtbot.waitSignal(view.results_shown, timeout=10_000) as blocker:
        view.lookup_pile_time(TEST_PILE, body["stop_ms"] + 3_600_000)
    assert blocker.args == [0]
    assert view.result_table.rowCount() == 0


def test_find_by_station_and_day(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    day = dt.date(2026, 1, 3)
    t0 = T0 + 2 * 86_400_000 - 8 * 3_600_000  # 2026-01-03 00:00 in Hangzhou
    piles = [p[0] for p in PILES if p[1] == "ST1"]
    expected = sorted(
        (b["start_ms"], b["session_id"])
        for p in piles
        for b in view_world.sessions[p]
        if t0 <= b["start_ms"] < t0 + 86_400_000
    )
    assert len(expected) > 1
    model = view.station_completer.model()
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10_000)
    assert model.index(0, 0).data() == "ST1  文三路快充站"
    with qtbot.waitSignal(view.results_shown, timeout=10_000) as blocker:
        view.lookup_station_day(model.index(0, 0).data(), day)  # as the completer fills it
    assert blocker.args == [len(expected)]
    ids = [view.result_table.item(r, 0).text() for r in range(view.result_table.rowCount())]
    assert ids == [sid for _, sid in expected]
    qtbot.waitUntil(lambda: view.detail is not None, timeout=10_000)  # first row auto-selected
    with qtbot.waitSignal(view.detail_shown, timeout=10_000) as shown:
        view.result_table.selectRow(1)
    assert view.detail is not None
    assert view.detail.session["session_id"] == expected[1][1]
    assert shown.args[0] == view.detail.session["entry_index"]


def test_unbilled_session(qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld) -> None:
    body = view_world.test_sessions[UNBILLED_INDEX]
    shown_entry(qtbot, view, lambda: view.show_entry(body["entry_index"]))
    assert view.detail is not None and view.detail.bill is None
    assert view.detail.overbilled_fen is None
    assert view.values["amount"].text() == "—"
    # the search rows now point at this session's pile and station, ready to pivot
    assert view.pile_edit.text() == TEST_PILE
    assert view.station_edit.text() == "ST1"
    assert view.pile_time.dateTime().toMSecsSinceEpoch() == body["start_ms"]


def test_proof_panel_offline_and_online(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    body = view_world.test_sessions[OVERBILLED_INDEX]
    shown_entry(qtbot, view, lambda: view.show_entry(body["entry_index"]))
    assert "offline" in view.proof_status.text()
    assert not view.proof_button.isEnabled()
    asked: list[int] = []

    def prove(entry: int) -> tuple[str, Sequence[str], bool]:
        asked.append(entry)
        return ("hangzhou.evmetrology.example/2026\n1000\nROOT=\n", ["aa" * 32], True)

    view.set_prover(prove)
    assert view.proof_button.isEnabled()
    with qtbot.waitSignal(view.proof_shown, timeout=10_000):
        view.proof_button.click()
    assert asked == [body["entry_index"], body["entry_index"] + 1]  # the session, its bill
    assert "hangzhou.evmetrology.example/2026" in view.proof_text.toPlainText()
    assert "aa" * 32 in view.proof_text.toPlainText()


def test_pile_requested_at_the_session_start(
    qtbot: QtBot, view: SessionLookupView, view_world: ViewWorld
) -> None:
    body = view_world.test_sessions[3]
    shown_entry(qtbot, view, lambda: view.show_entry(body["entry_index"]))
    with qtbot.waitSignal(view.pile_requested) as blocker:
        view.open_pile_button.click()
    assert blocker.args == [TEST_PILE, body["start_ms"]]


def test_fair_charge_splits_across_periods(view_world: ViewWorld) -> None:
    """A session across the 08:00 and 09:00 boundaries: per-period shares add up and the
    totals are the ledger's own billing computation."""
    start = T0 - 20 * 60_000  # 07:40 in Hangzhou
    power = [60_000] * 20 + [30_000] * 60 + [0, -5] + [45_000] * 30
    energy = 91_234
    fair = queries.fair_charge(view_world.periods, start, 60, power, energy)
    assert (fair.energy_fen, fair.service_fen) == compute_charge(
        view_world.periods, start, 60, power, energy
    )
    shares = [p.wh for p in fair.periods]
    assert sum(shares) == pytest.approx(energy)
    assert sum(1 for s in shares if s) == 3
    assert fair.amount_fen == round(sum(p.fen for p in fair.periods))


def _answers(world: ViewWorld) -> dict[str, object]:
    """Every Qt-free query the views use, on one store."""
    body = world.test_sessions[OVERBILLED_INDEX]
    with world.store.engine.connect() as conn:
        first = queries.page_rows(conn, queries.PageRequest("piles", sort="kind", limit=2))
        after = queries.sort_key_of("piles", "kind", first[-1])
        second = queries.page_rows(
            conn, queries.PageRequest("piles", sort="kind", limit=2, offset=2, after=after)
        )
        detail = queries.pile_detail(conn, TEST_PILE)
        session = queries.session_detail(conn, body["entry_index"])
        return {
            "counts": [
                queries.count_rows(conn, name, queries.ListFilter(text="st"))
                for name in queries.LISTS
            ],
            "pages": [row[0] for row in first + second],
            "filtered": queries.page_rows(
                conn, queries.PageRequest("stations", queries.ListFilter(operator_id="OP1"))
            ),
            "choices": (
                queries.operators_list(conn),
                queries.districts_list(conn),
                queries.statuses_list(conn),
            ),
            "detail": (
                detail.n_sessions,
                detail.n_power_samples,
                detail.register_wh.tolist(),
                detail.clock_offset_ms.tolist(),
                [s["event"] for s in detail.seals],
                [round(v["error_pct"], 4) for v in detail.verifications],
                len(detail.anomalies),
            ),
            "lookups": (
                queries.sessions_by_id(conn, body["session_id"]),
                queries.sessions_at(conn, TEST_PILE, body["start_ms"] + 60_000),
                len(queries.sessions_on_day(conn, "ST1", dt.date(2026, 1, 3))),
            ),
            "session": (session.fair, session.overbilled_fen, session.meter_key_id),
        }


def test_queries_agree_on_postgresql(view_world: ViewWorld, pg_view_world: ViewWorld) -> None:
    """The office deployment answers exactly as a regulator's SQLite file does."""
    assert _answers(pg_view_world) == _answers(view_world)
