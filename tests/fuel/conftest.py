"""Fixtures of the fuel kind's tests (shared by the fuel helpers: keep names namespaced)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.store import Store
from ledger.sigcheck import SignatureChecker
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, registered by import


@pytest.fixture
def fuelmodel_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store (the rule tests: fast, one backend)."""
    with Store.open(f"sqlite:///{tmp_path / 'workstation.sqlite'}") as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def fuelmodel_any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on each backend (the projection writes COPY rows on PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'workstation.sqlite'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    with Store.open(url) as opened:
        yield opened


@pytest.fixture(scope="module")
def fuelmodel_checker() -> Iterator[SignatureChecker]:
    with SignatureChecker(workers=0) as checker:
        yield checker
