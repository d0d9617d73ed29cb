"""The main window against a real platform and sync: the map fills with verified piles,
the status bar tells the sync state, checkpoint and alarms; offline is said plainly."""

from __future__ import annotations

import pytest

from app.main_window import MainWindow
from tests.world import PlatformProcess, World, ndjson, post


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def test_window_syncs_and_shows_piles_and_checkpoint(qtbot, platform, tmp_path):
    world = World()
    assert post(platform.url, ndjson(world.registry() + world.heartbeats(0, 20)))[0] == 200
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", platform.url, platform.vkey())
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window._last_sync is not None, timeout=30000)
        assert window._last_sync["size"] == 25
        window._update_status()
        assert "25" in window.checkpoint_label.text()
        window.reload_map()
        qtbot.waitUntil(lambda: len(window.map_panel.view.data.pile_ids) > 0, timeout=15000)
        assert list(window.map_panel.view.data.pile_ids) == ["P1"]
        assert "0" in window.alarm_label.text()
    finally:
        window.shutdown()


def test_window_says_offline_with_stale_data(qtbot, tmp_path):
    vkey_proc = PlatformProcess(tmp_path / "gone")
    vkey, url = vkey_proc.vkey(), vkey_proc.url
    vkey_proc.stop()
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", url, vkey)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._sync_state[0] == "offline", timeout=30000)
        window._update_status()
        assert "Offline" in window.sync_label.text() or "离线" in window.sync_label.text()
    finally:
        window.shutdown()


def test_seal_opened_on_a_meter_reaches_the_alarm_queue(qtbot, platform, tmp_path):
    """End to end: a meter-signed seal event → platform → sync → rules → alarm on screen."""
    from ledger.records import sign_record
    from tests.world import T0

    world = World()
    assert post(platform.url, ndjson(world.registry()))[0] == 200
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", platform.url, platform.vkey())
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._last_sync is not None, timeout=30000)
        assert window.alarm_view.model.alarms == []
        seal = sign_record(
            "seal",
            {
                "meter_id": "M1",
                "pile_id": "P1",
                "seq": 1,
                "event": "opened",
                "at_ms": T0 + 5000,
                "register_wh": 1_000_000,
            },
            world.meter,
        )
        assert post(platform.url, ndjson([seal]))[0] == 200
        qtbot.waitUntil(lambda: len(window.alarm_view.model.alarms) == 1, timeout=30000)
        alarm = window.alarm_view.model.alarms[0]
        assert alarm.pile_id == "P1" and alarm.severity == "critical"
        assert "1" in window.alarm_label.text()
    finally:
        window.shutdown()


def test_export_evidence_bundle_for_a_session_verifies_offline(qtbot, platform, tmp_path):
    import subprocess
    import sys

    from ledger.records import sign_record
    from tests.world import ROOT, T0

    world = World()
    session = sign_record(
        "session",
        {
            "session_id": "S42",
            "meter_id": "M1",
            "pile_id": "P1",
            "connector": 1,
            "start_ms": T0 + 60_000,
            "stop_ms": T0 + 3_660_000,
            "start_wh": 1_000_000,
            "stop_wh": 1_030_000,
            "energy_wh": 30_000,
            "interval_s": 60,
            "power_w": [30_000] * 60,
        },
        world.meter,
    )
    assert post(platform.url, ndjson([*world.registry(), session]))[0] == 200
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", platform.url, platform.vkey())
    qtbot.addWidget(window)
    out = tmp_path / "evidence-S42.zip"
    try:
        qtbot.waitUntil(lambda: window._last_sync is not None, timeout=30000)
        window.export_session_evidence("S42", str(out))
        qtbot.waitUntil(out.exists, timeout=60000)
    finally:
        window.shutdown()
    verdict = subprocess.run(
        [sys.executable, "-m", "ledger", "verify-bundle", str(out), "--log-key", platform.vkey()],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr


def test_signed_in_regulator_gets_due_list_and_work_orders(qtbot, tmp_path):
    from app.application import DEMO_PASSWORD, _sign_in

    url = f"sqlite:///{tmp_path / 'ws.sqlite'}"
    session = _sign_in(url, demo=True)
    assert session.username == "regulator" and session.role == "regulator"
    window = MainWindow(url, session=session)
    qtbot.addWidget(window)
    try:
        assert {"due", "orders", "alarms", "explorer", "pile", "lookup"} <= set(window.docks)
    finally:
        window.shutdown()
    assert DEMO_PASSWORD


def test_verification_wizard_opens_with_registry_piles(qtbot, platform, tmp_path):
    world = World()
    assert post(platform.url, ndjson(world.registry()))[0] == 200
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}", platform.url, platform.vkey())
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window._last_sync is not None, timeout=30000)
        window.open_verification_wizard()
        qtbot.waitUntil(lambda: getattr(window, "_wizard", None) is not None, timeout=15000)
        wizard = window._wizard
        assert wizard.isVisible()
        assert list(wizard.pile_page.piles) == ["P1"]
        wizard.close()
    finally:
        window.shutdown()


def test_import_ocmf_shows_verified_records(qtbot, tmp_path):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "ocmf"
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    qtbot.addWidget(window)
    try:
        window.import_ocmf(str(data / "bauer-bsm-end.ocmf"), str(data / "bauer-bsm-end.pubkey"))
        table = window._ocmf_dialog.table
        assert table.rowCount() == 1
        assert table.item(0, 6).text().startswith("√")
    finally:
        window.shutdown()


def test_start_up_done_once_warms_the_pile_detail(qtbot, tmp_path, monkeypatch):
    """After the cold start's last piece (the map), once: the pile detail warms up."""
    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    qtbot.addWidget(window)
    warmed = []
    monkeypatch.setattr(window.pile_detail, "warm_up", lambda: warmed.append(True))
    try:
        with qtbot.waitSignal(window.started, timeout=15000):
            window.show()
        assert warmed == [True]
        window.reload_map()
        qtbot.waitUntil(lambda: not window._map_pending, timeout=15000)
        assert warmed == [True]
    finally:
        window.shutdown()


def test_freeze_startup_objects_exempts_them_from_collections():
    import gc

    from app.application import freeze_startup_objects

    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # modules, classes, functions of the app
    finally:
        gc.unfreeze()
