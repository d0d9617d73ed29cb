"""The entry points a new user touches first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_main_help_lists_headless_commands():
    out = subprocess.run(
        [sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "headless commands:" in out


def test_ledger_help_lists_note_command():
    out = subprocess.run(
        [sys.executable, "-m", "ledger", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "usage: python -m ledger" in out


def test_main_window_opens_without_a_platform(qtbot, tmp_path):
    from app.main_window import MainWindow

    window = MainWindow(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.isVisible()
        assert window.windowTitle()
        qtbot.waitUntil(lambda: not window._map_pending, timeout=15000)
    finally:
        window.shutdown()
