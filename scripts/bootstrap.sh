# Sourced by ./run and ./test: makes .venv from requirements.lock on a fresh machine.
# Why a script and not "pip install -e .": the two README commands must work with
# nothing but Python 3.11, and re-installing only when the lock file changes keeps
# every later start instant.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    echo "python venv module missing; installing python3-venv (Debian)..." >&2
    as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null
    "$PY" -m venv "$VENV"
  fi
fi
STAMP="$VENV/.lock-sha"
WANT="$(sha256sum "$ROOT/requirements.lock" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "Installing pinned dependencies into .venv (first run only)..." >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.lock"
  echo "$WANT" > "$STAMP"
fi
# Qt needs a few shared libraries that a minimal Debian lacks. "PySide6 imports" is not
# enough: the xcb platform plugin is loaded only when a window opens (issue 13 item 10),
# so scripts/qt_check.py ldd-checks the plugin and, with a display, actually loads it.
# A passed check is remembered per lock file (and whether a display was tried), so
# later starts stay instant.
QT_STAMP="$VENV/.qt-platform-ok"
QT_DONE="$(cat "$QT_STAMP" 2>/dev/null || true)"
QT_WANT="$WANT ${DISPLAY:+display}"
if [ "$QT_DONE" != "$QT_WANT" ] && [ "$QT_DONE" != "$WANT display" ]; then
  if ! QT_MISSING="$("$VENV/bin/python" "$ROOT/scripts/qt_check.py")"; then
    # shellcheck disable=SC2086 # one package per word
    echo "Installing the system libraries Qt needs (Debian):" $QT_MISSING >&2
    as_root apt-get update -qq && as_root apt-get install -y -qq $QT_MISSING >/dev/null \
      || echo "warning: could not install Qt system libraries:" $QT_MISSING >&2
  fi
  if "$VENV/bin/python" "$ROOT/scripts/qt_check.py" >/dev/null; then
    echo "$QT_WANT" > "$QT_STAMP"
  else
    echo "warning: Qt still cannot load its xcb platform plugin; ./run may not open a window" >&2
  fi
fi
# The tests read generated PDFs back with pdftotext (certificates, dispute reports).
if ! command -v pdftotext >/dev/null 2>&1; then
  echo "Installing poppler-utils (pdftotext) for the PDF tests (Debian)..." >&2
  as_root apt-get update -qq && as_root apt-get install -y -qq poppler-utils >/dev/null \
    || echo "warning: could not install poppler-utils" >&2
fi
export PATH="$VENV/bin:$PATH"
