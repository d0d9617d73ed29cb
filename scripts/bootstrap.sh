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
# Qt needs a few shared libraries that a minimal Debian lacks.
if ! "$VENV/bin/python" -c "from PySide6 import QtWidgets" 2>/dev/null; then
  echo "Installing the system libraries Qt needs (Debian)..." >&2
  as_root apt-get update -qq && as_root apt-get install -y -qq libegl1 libgl1 libxkbcommon0 \
    libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 \
    libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 \
    libxcb-image0 >/dev/null || echo "warning: could not install Qt system libraries" >&2
fi
# The tests read generated PDFs back with pdftotext (certificates, dispute reports).
if ! command -v pdftotext >/dev/null 2>&1; then
  echo "Installing poppler-utils (pdftotext) for the PDF tests (Debian)..." >&2
  as_root apt-get update -qq && as_root apt-get install -y -qq poppler-utils >/dev/null \
    || echo "warning: could not install poppler-utils" >&2
fi
export PATH="$VENV/bin:$PATH"
