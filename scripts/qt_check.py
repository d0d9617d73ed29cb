"""Can Qt open a window here? Prints the Debian packages still missing, one per line.

Why not "does PySide6 import": the import succeeds on a fresh Debian, and Qt only fails
when it loads the xcb platform plugin at start ("Could not load the Qt platform plugin
xcb", issue 13 item 10): the plugin pulls in libxcb-icccm4, libxcb-keysyms1,
libxcb-cursor0, ... which PySide6's wheel does not bundle. So the check:

1. ``ldd`` the xcb plugin and Qt's xcb integration library: every "not found" is mapped
   to the Debian package that ships it (works without a display);
2. with a display (``DISPLAY`` set), actually load the plugin: create a QGuiApplication
   with ``QT_QPA_PLATFORM=xcb`` in a child process. If that fails although ldd found
   nothing, the full list of Qt's xcb dependencies is printed (Qt's own message goes to
   stderr with ``QT_DEBUG_PLUGINS=1``).

Exit status 0 when nothing is missing, 1 otherwise. Used by scripts/bootstrap.sh; stdlib
only (run with the venv's python so that PySide6 is found).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

#: shared object -> Debian package (bookworm / trixie names).
PACKAGE_OF: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}
#: Everything Qt's xcb platform needs on a minimal Debian (when the cause is unknown).
ALL_PACKAGES: tuple[str, ...] = tuple(dict.fromkeys(PACKAGE_OF.values()))

_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


def missing_from_ldd(ldd_output: str) -> list[str]:
    """Debian packages for the "not found" lines of ``ldd`` output; a library not in
    :data:`PACKAGE_OF` adds the whole :data:`ALL_PACKAGES` list (better too much than a
    window that never opens)."""
    packages: list[str] = []
    for name in _NOT_FOUND.findall(ldd_output):
        packages += [PACKAGE_OF[name]] if name in PACKAGE_OF else list(ALL_PACKAGES)
    return list(dict.fromkeys(packages))


def _qt_dir() -> Path:
    out = subprocess.run(
        [sys.executable, "-c", "import PySide6, os; print(os.path.dirname(PySide6.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()) / "Qt"


def _ldd_missing(qt: Path) -> list[str]:
    missing: list[str] = []
    for lib in (qt / "plugins" / "platforms" / "libqxcb.so", *qt.glob("lib/libQt6XcbQpa.so*")):
        if not lib.exists():
            continue
        try:
            out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, check=False)
        except OSError:  # no ldd: rely on the load test below
            return []
        missing += missing_from_ldd(out.stdout)
    return list(dict.fromkeys(missing))


LOAD_TEST = "from PySide6.QtGui import QGuiApplication; app = QGuiApplication([]); print('ok')"


def loads_xcb(timeout: float = 30.0) -> tuple[bool, str]:
    """Creates a QGuiApplication on the xcb platform in a child; (ok, Qt's messages)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_DEBUG_PLUGINS": "1"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", LOAD_TEST],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, "the xcb platform did not start within the time limit"
    return out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def main() -> int:
    missing = _ldd_missing(_qt_dir())
    if not missing and os.environ.get("DISPLAY"):
        ok, messages = loads_xcb()
        if not ok:
            missing = list(ALL_PACKAGES)
            tail = "\n".join(messages.strip().splitlines()[-5:])
            print(f"Qt could not load the xcb platform plugin:\n{tail}", file=sys.stderr)
    for package in missing:
        print(package)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
