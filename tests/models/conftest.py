"""Store tests run twice: on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.store import Store
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, registered by import


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database; PostgreSQL only starts when a test asks for it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workstation.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend, closed after the test."""
    with Store.open(store_url) as opened:
        yield opened
