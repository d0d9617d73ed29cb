"""The workstation in log list mode (issue 17 item 1, UI side): the settings name a signed
log list, the window follows every log of it on a ListSyncWorker, and the Logs panel shows
each log's verified size and status — one log's platform gone shows that log offline
while the other stays verified. Two real platforms (`python -m ledger serve`) on loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from app.main_window import MainWindow
from app.settings_dialog import SettingsDialog, log_list_settings
from app.views.log_names import entry_text
from app.views.logs_panel import LogsTableModel, load_logs
from app.workers import ListSyncWorker
from ledger.loglist import LogEntry, LogList, sign_log_list
from ledger.note import Signer, generate_signer
from ledger.records import sign_record
from tests.world import PlatformProcess, World, ndjson, post

H1 = (1_767_196_800_000, 1_782_835_200_000)  # 2026-01-01 .. 2026-07-01, UTC+8 midnights
H2 = (1_782_835_200_000, 1_798_732_800_000)  # 2026-07-01 .. 2027-01-01
ORIGINS = ("hz.evm.example/2026h1", "hz.evm.example/2026h2")


LIST_KEYS = ("platform/mode", "platform/log_list", "platform/list_key", "platform/region")


@pytest.fixture(autouse=True)
def _list_settings_cleared():
    """Qt reads the settings location once per process: the list mode these tests set
    must not leak into the next test (or this one start with another's)."""

    def clear() -> None:
        settings = QSettings()
        for key in LIST_KEYS:
            settings.remove(key)
        settings.sync()

    clear()
    yield
    clear()


@pytest.fixture
def two_logs(tmp_path):
    """Two shard logs of one region, each with the registry and its own heartbeats."""
    world = World()
    procs = []
    try:
        for n, origin in enumerate(ORIGINS):
            proc = PlatformProcess(tmp_path / f"log{n}", "--origin", origin)
            procs.append(proc)
            beats = world.heartbeats(10 * n, 6 + 4 * n)  # 6 and 10 heartbeats
            assert post(proc.url, ndjson(world.registry() + beats))[0] == 200
        yield procs
    finally:
        for proc in procs:
            proc.stop()


def _signed_list(tmp_path, logs: list[tuple[str, str]], sequence: int = 3) -> tuple[str, str]:
    """The authority's signed list naming both logs, given as (URL, log vkey), in region
    330100: (the note's file, the authority's vkey); the signer key is kept beside it."""
    skey, vkey = generate_signer("samr.gov.example/loglist")
    (tmp_path / "authority.skey").write_text(skey)
    path = tmp_path / "loglist.note"
    _write_list(path, skey, logs, sequence)
    return str(path), vkey


def _write_list(path: Path, skey: str, logs: list[tuple[str, str]], sequence: int) -> None:
    entries = tuple(
        LogEntry(origin, log_vkey, url, "330100", shard, "usable")
        for origin, (url, log_vkey), shard in zip(ORIGINS, logs, (H1, H2), strict=True)
    )
    path.write_bytes(sign_log_list(LogList(sequence, H1[0], entries), Signer(skey)))


def _configure(qtbot, source: str, key: str, region: str):
    """Sets the list mode through the settings dialog, as a regulator would."""
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.log_list.setChecked(True)
    assert not dialog.platform.isEnabled()  # the list names each log's URL and key
    dialog.log_list.source.setText(source)
    dialog.log_list.list_key.setText(key)
    dialog.log_list.region.setText(region)
    dialog.accept()
    return log_list_settings(QSettings())


def _rows(window) -> dict[str, object]:
    return {row.origin: row for row in window.logs_panel.model.rows}


def test_both_logs_sync_and_a_stopped_platform_shows_offline(qtbot, two_logs, tmp_path):
    source, key = _signed_list(tmp_path, [(p.url, p.vkey()) for p in two_logs])
    config = _configure(qtbot, source, key, "3301")
    assert config is not None and config.region == "3301" and config.source == source
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", log_list=config)
    qtbot.addWidget(window)
    try:
        sizes = {ORIGINS[0]: 5 + 6, ORIGINS[1]: 5 + 10}  # registry + heartbeats
        qtbot.waitUntil(
            lambda: (
                {o: (r.size, r.status) for o, r in _rows(window).items()}
                == {o: (n, "ok") for o, n in sizes.items()}
            ),
            timeout=20000,
        )
        model = window.logs_panel.model
        shown = {
            model.data(model.index(r, 0)): [
                model.data(model.index(r, c)) for c in range(model.columnCount())
            ]
            for r in range(model.rowCount())
        }
        assert set(shown) == set(ORIGINS)
        assert shown[ORIGINS[0]][1] == "330100"
        assert shown[ORIGINS[0]][2] == "2026-01-01 – 2026-07-01"
        assert shown[ORIGINS[1]][4] == "15"
        assert all(row[6] != "—" for row in shown.values())  # a last success time
        assert "3" in window.logs_panel.header.text()  # the list's sequence
        # verification results go to the usable log whose half-year holds today (2026h2)
        qtbot.waitUntil(lambda: window._write_platform() == two_logs[1].url, timeout=20000)
        window._update_status()
        summary = window.sync_label.text()
        assert "2" in summary and ("offline" not in summary and "离线" not in summary)

        two_logs[1].stop()  # the second shard's platform goes away
        qtbot.waitUntil(lambda: _rows(window)[ORIGINS[1]].status == "offline", timeout=20000)
        rows = _rows(window)
        assert rows[ORIGINS[0]].status == "ok" and rows[ORIGINS[0]].size == 11
        assert rows[ORIGINS[1]].size == 15  # verified data kept, just stale
        number = model.row_of(ORIGINS[1])
        tooltip = model.data(model.index(number, 5), Qt.ItemDataRole.ToolTipRole)
        assert tooltip  # the reason
        assert model.data(model.index(number, 5), Qt.ItemDataRole.BackgroundRole) is not None
        assert model.data(model.index(0, 5), Qt.ItemDataRole.BackgroundRole) is None
        window._update_status()
        assert "1" in window.sync_label.text() and (
            "offline" in window.sync_label.text() or "离线" in window.sync_label.text()
        )
        assert ORIGINS[1] in window.sync_label.toolTip()
    finally:
        window.shutdown()


def _session(world: World) -> object:
    """A meter-signed charging session (no bill), at 2026-07-02 (the second shard)."""
    start = H2[0] + 86_400_000
    body = {
        "session_id": "S-H2-0001",
        "meter_id": "M1",
        "pile_id": "P1",
        "connector": 1,
        "start_ms": start,
        "stop_ms": start + 30 * 60_000,
        "start_wh": 1_000_000,
        "stop_wh": 1_030_000,
        "energy_wh": 30_000,
        "interval_s": 60,
        "power_w": [60_000] * 30,
    }
    return sign_record("session", body, world.meter)


def test_entries_of_the_second_log_are_named_proven_and_bundled_in_that_log(
    qtbot, two_logs, tmp_path
):
    """The second log's keys are (1 << 40) | index: shown as "index in origin"; the
    inclusion proof is fetched from that log's own platform and verifies; a session of
    that log is exported as an evidence bundle against that log's checkpoint."""
    import zipfile

    from app.main_window import _export_bundle, prove_inclusion_in_list
    from app.models import store as st
    from app.models.list_sync import ListSync
    from ledger.note import Verifier

    assert post(two_logs[1].url, ndjson([_session(World())]))[0] == 200  # entry 15 of log 1
    source, key = _signed_list(tmp_path, [(p.url, p.vkey()) for p in two_logs])
    url = f"sqlite:///{tmp_path / 'ws.sqlite'}"
    with st.Store.open(url) as store:
        sync = ListSync(store, Verifier(key), source, "33")
        try:
            result = sync.sync_once()
        finally:
            sync.close()
        assert [o.status for o in result.outcomes] == ["ok", "ok"]
        with store.engine.connect() as conn:
            snapshot = load_logs(conn, "33")
            origins = {row.log_no: row.origin for row in snapshot.rows}
    assert snapshot.sequence == 3 and origins == {0: ORIGINS[0], 1: ORIGINS[1]}
    key7 = (1 << 40) | 7
    named = entry_text(key7, origins)  # "7 in <origin>" (or its translation)
    assert ORIGINS[1] in named and "7" in named.replace(ORIGINS[1], "")
    assert str(key7) not in named and ORIGINS[0] not in named
    assert entry_text(7, {0: ORIGINS[0]}) == "7"  # a single-log store reads as before
    text, hashes, verified = prove_inclusion_in_list(url, key7)
    assert verified and text.startswith(ORIGINS[1]) and hashes
    with pytest.raises(LookupError, match=r"log no\. 5 is not"):
        prove_inclusion_in_list(url, (5 << 40) | 1)
    bundle = tmp_path / "evidence.zip"
    assert _export_bundle(url, None, None, "S-H2-0001", str(bundle)) == str(bundle)
    with zipfile.ZipFile(bundle) as z:
        text = "\n".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if not n.endswith(".pdf")
        )
    assert ORIGINS[1] in text and ORIGINS[0] not in text  # the session's own log only

    from app.views.session_lookup import SessionLookupView
    from app.views.table_models import StoreReader

    with st.Store.open(url) as store:
        reader = StoreReader(store)
        try:
            view = SessionLookupView(reader)
            qtbot.addWidget(view)
            view.set_log_origins(origins)
            view.set_prover(lambda entry: prove_inclusion_in_list(url, entry))
            session_key = (1 << 40) | 15
            with qtbot.waitSignal(view.detail_shown, timeout=10_000):
                view.show_entry(session_key)
            shown = view.values["entry_index"].text()
            assert shown == entry_text(session_key, origins) and ORIGINS[1] in shown
            assert "15" in shown and str(session_key) not in shown
            with qtbot.waitSignal(view.proof_shown, timeout=10_000):
                view.fetch_proofs()
            proof = view.proof_text.toPlainText()
            assert shown in proof and "\n" + ORIGINS[1] + "\n" in "\n" + proof
            assert view.proof_status.styleSheet().startswith("color: #1b5e20")  # verified
        finally:
            reader.shutdown()


def test_a_list_signed_by_another_key_is_refused_and_nothing_syncs(tmp_path):
    never = [("http://127.0.0.1:9", generate_signer(o)[1]) for o in ORIGINS]  # not contacted
    source, _key = _signed_list(tmp_path, never)
    _other, wrong_key = generate_signer("samr.gov.example/loglist")
    worker = ListSyncWorker(f"sqlite:///{tmp_path / 'ws.sqlite'}", source, wrong_key, "33")
    states: list[tuple[str, str, str]] = []
    worker.state_changed.connect(lambda *s: (states.append(s), worker.stop()))
    worker.run()  # stops itself on the first report
    assert states[0][0] == "" and states[0][1] == "halted"
    assert "not signed by samr.gov.example/loglist" in states[0][2]


def test_the_model_marks_halted_rows_and_counts_them():
    """A halted log (platform misbehaviour) is counted apart from offline ones."""
    from app.views.logs_panel import LogRow

    model = LogsTableModel()
    model.set_rows(
        [
            LogRow(0, "a.example/1", "330100", H1[0], H1[1], "read-only", 10, "ok"),
            LogRow(1, "b.example/1", "330100", H2[0], H2[1], "usable", 4, "halted", "split view"),
        ]
    )
    assert model.update("b.example/1", status="halted")
    assert not model.update("c.example/1", status="ok")
    assert model.data(model.index(1, 5), Qt.ItemDataRole.ToolTipRole) == "split view"
    assert model.data(model.index(1, 5), Qt.ItemDataRole.BackgroundRole) is not None
    assert model.data(model.index(0, 3)) in ("read-only", "只读")


def test_single_platform_mode_stays_unless_a_list_is_set(qtbot):
    """The list mode is off by default, off again when unticked, and needs a list named:
    the platform URL and key are then used as before."""
    assert log_list_settings(QSettings()) is None
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    assert not dialog.log_list.isChecked() and dialog.platform.isEnabled()
    dialog.log_list.setChecked(True)  # ticked, but no list named
    dialog.accept()
    assert log_list_settings(QSettings()) is None
    assert _configure(qtbot, "/srv/loglist.note", "k+1+AQ==", "33") is not None
    again = SettingsDialog()
    qtbot.addWidget(again)
    assert again.log_list.isChecked() and again.log_list.source.text() == "/srv/loglist.note"
    again.log_list.setChecked(False)
    again.accept()
    assert log_list_settings(QSettings()) is None
    assert QSettings().value("platform/log_list") == "/srv/loglist.note"  # kept for later
    assert again.log_list.region.validator().validate("33a", 0)[0].name != "Acceptable"


def test_an_unreadable_list_and_a_halted_log_are_said_without_blocking(qtbot, tmp_path):
    """No list readable and none accepted before: the panel says so (nothing to follow);
    a log's halt is announced once, in a window that does not block the other logs."""
    from app.settings_dialog import LogListSettings

    _skey, vkey = generate_signer("samr.gov.example/loglist")
    missing = str(tmp_path / "no-such-list.note")
    window = MainWindow(
        f"sqlite:///{tmp_path / 'ws.sqlite'}", log_list=LogListSettings(missing, vkey, "33")
    )
    qtbot.addWidget(window)
    try:
        panel = window.logs_panel
        qtbot.waitUntil(lambda: panel.list_status == "offline", timeout=10000)
        assert "none was accepted before" in panel.list_message
        assert missing in panel.header.text() and panel.model.rowCount() == 0
        window._on_list_state(ORIGINS[0], "halted", "checkpoint 12 is not consistent")
        window._on_list_state(ORIGINS[0], "halted", "sync of it is halted")  # next pass
        assert list(window._list_alerts) == [ORIGINS[0]]
        box = window._list_alerts[ORIGINS[0]]
        assert box.isVisible() and not box.isModal()
        assert ORIGINS[0] in box.text() and "checkpoint 12" in box.text()
        window._on_list_state(ORIGINS[0], "ok", "")  # cleared by an administrator
        assert window._list_alerts == {} and not box.isVisible()
    finally:
        window.shutdown()


def test_a_region_the_list_does_not_cover_is_said(qtbot, tmp_path):
    """Region 32 (Jiangsu) with a list of Hangzhou logs: nothing followed, and the panel
    says why instead of showing an empty table as if all were well."""
    from app.settings_dialog import LogListSettings

    never = [("http://127.0.0.1:9", generate_signer(o)[1]) for o in ORIGINS]  # not contacted
    source, key = _signed_list(tmp_path, never)
    window = MainWindow(
        f"sqlite:///{tmp_path / 'ws.sqlite'}", log_list=LogListSettings(source, key, "32")
    )
    qtbot.addWidget(window)
    try:
        panel = window.logs_panel
        qtbot.waitUntil(lambda: panel.none_followed, timeout=10000)
        assert panel.sequence == 3 and panel.list_status == "ok"
        assert panel.header.text().count("\n") == 1 and "32" in panel.header.text()
        panel.refresh()
        window.reader.wait(5000)
        qtbot.waitUntil(lambda: panel.model.rowCount() == 0 and panel.summary().startswith("0"))
    finally:
        window.shutdown()
    from app.models import store as st

    url = f"sqlite:///{tmp_path / 'ws.sqlite'}"
    with st.Store.open(url) as store, store.engine.connect() as conn:
        snapshot = load_logs(conn, "")  # the list is kept; no log of it is numbered here
        assert snapshot.sequence == 3 and snapshot.rows == ()


def test_a_log_whose_platform_rewrites_history_halts_alone(qtbot, two_logs, tmp_path):
    """The authority's next list moves the second log to a server holding another history
    signed with the same key (a split view): that log halts with the evidence, said once
    and without blocking; the first log stays verified."""
    import shutil

    from app.settings_dialog import LogListSettings

    source, key = _signed_list(tmp_path, [(p.url, p.vkey()) for p in two_logs])
    window = MainWindow(
        f"sqlite:///{tmp_path / 'ws.sqlite'}", log_list=LogListSettings(source, key, "33")
    )
    qtbot.addWidget(window)
    fork_dir = tmp_path / "fork"
    fork_dir.mkdir()
    for name in ("log.key", "log.vkey"):  # the same log key, a different history
        shutil.copy(two_logs[1].data / name, fork_dir / name)
    fork = PlatformProcess(fork_dir, "--origin", ORIGINS[1])
    try:
        world = World()
        assert post(fork.url, ndjson(world.registry() + world.heartbeats(500, 20)))[0] == 200
        qtbot.waitUntil(
            lambda: [r.status for r in window.logs_panel.model.rows] == ["ok", "ok"],
            timeout=20000,
        )
        skey = (tmp_path / "authority.skey").read_text()
        logs = [(two_logs[0].url, two_logs[0].vkey()), (fork.url, two_logs[1].vkey())]
        _write_list(Path(source), skey, logs, sequence=4)
        rows = lambda: {r.origin: r for r in window.logs_panel.model.rows}  # noqa: E731
        qtbot.waitUntil(lambda: rows()[ORIGINS[1]].status == "halted", timeout=20000)
        halted = rows()[ORIGINS[1]]
        assert "fork" in halted.message or "consistent" in halted.message
        assert halted.size == 15  # what was verified stays; nothing of the fork applied
        assert rows()[ORIGINS[0]].status == "ok"
        assert list(window._list_alerts) == [ORIGINS[1]]
        assert not window._list_alerts[ORIGINS[1]].isModal()
        assert window.logs_panel.counts() == (2, 0, 1)
        assert window.logs_panel.sequence == 4
    finally:
        window.shutdown()
        fork.stop()
