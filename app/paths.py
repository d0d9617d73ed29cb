"""Where the workstation keeps its files (Qt-free, so workers and CLIs share it)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

from app import APP_NAME, ORG_NAME

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"


def data_dir() -> Path:
    """The user's data directory; ``EVM_DATA_DIR`` overrides it (tests, portable use)."""
    override = os.environ.get("EVM_DATA_DIR")
    path = Path(override) if override else user_data_path(APP_NAME, ORG_NAME)
    path.mkdir(parents=True, exist_ok=True)
    return path
