"""The set-up's Qt check loads the xcb platform plugin instead of importing PySide6
(issue 13 item 10: on a fresh Debian ``import PySide6`` worked and ``./run`` aborted with
"Could not load the Qt platform plugin xcb")."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "qt_check_under_test", ROOT / "scripts" / "qt_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


qt_check = _load_script()

# ldd output of PySide6 6.x's libqxcb.so on a minimal Debian 12 (this machine, before the fix).
LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd6a5f0000)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


def test_missing_libraries_map_to_debian_packages():
    assert qt_check.missing_from_ldd(LDD_FRESH_DEBIAN) == [
        "libxcb-icccm4",
        "libxcb-keysyms1",
        "libxcb-cursor0",
    ]
    assert qt_check.missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_an_unknown_missing_library_asks_for_every_package():
    packages = qt_check.missing_from_ldd("\tlibxcb-shiny.so.9 => not found\n")
    assert set(packages) == set(qt_check.ALL_PACKAGES)
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"} <= set(packages)


def test_bootstrap_uses_the_plugin_check_not_an_import():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "scripts/qt_check.py" in text
    assert "from PySide6 import QtWidgets" not in text


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_check_passes_under_a_real_display_only_when_xcb_loads():
    """Under Xvfb the check's verdict matches an actual QGuiApplication on xcb."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            display = ":" + pipe.readline().strip()
        env = {**os.environ, "DISPLAY": display}
        env.pop("QT_QPA_PLATFORM", None)
        check = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "qt_check.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        direct = subprocess.run(
            [sys.executable, "-c", qt_check.LOAD_TEST],
            env={**env, "QT_QPA_PLATFORM": "xcb"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert (check.returncode == 0) == (direct.returncode == 0), check.stdout + check.stderr
    if check.returncode != 0:
        assert check.stdout.split(), "a failing check must name the packages to install"
