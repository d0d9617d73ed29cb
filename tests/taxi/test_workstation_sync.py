"""The taxi projection through the real sync: a small taxi town signed as its sources sign
it, logged by the real platform (`python -m ledger serve` on loopback), verified and
applied by `LogSync` into a SQLite store; then the store is closed and re-opened and a
second log part (trips signed by in-vehicle terminals, GNSS distances signed by the
monitoring platform) syncs only if the signer registry was rebuilt from the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models.taxi import tables as tt
from app.models.taxi.projection import _EVENTS
from ledger.records import Record
from ledger.sigcheck import SignatureChecker
from tests.models.test_hostile_log import lying_platform, sync_all
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, registered by import
from tests.taxi.town import DAY, T0, Town


@pytest.fixture(scope="module")
def taxiws_checker() -> Iterator[SignatureChecker]:
    with SignatureChecker(workers=0) as checker:
        yield checker


@pytest.fixture(params=["sqlite", "postgresql"])
def taxiws_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend (the projection writes COPY rows on PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workstation.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


def rows(store: st.Store, table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def town_log() -> tuple[Town, list[Record], list[Record]]:
    """(town, registry part, terminal/monitor part)."""
    town = Town()
    first = town.registry()
    first += town.taxi("浙A·T0001", "JJ-1", "TERM1")
    first += town.taxi("浙A·T0002", "JJ-2", "TERM2", operator_id="OP2")
    first.append(town.verification("浙A·T0001", "JJ-1", T0 + DAY, "2026-12-31"))
    first.append(town.verification("浙A·T0002", "JJ-2", T0 + DAY, "2026-12-31", result="fail"))
    second: list[Record] = []
    for day in range(2, 5):
        second += town.trip("浙A·T0001", "JJ-1", "TERM1", T0 + day * DAY, 5_100, 5_000)
    second.append(town.seal("浙A·T0002", "JJ-2", "TERM2", T0 + 5 * DAY, "opened"))
    return town, first, second


def test_a_taxi_log_syncs_and_a_reopened_store_knows_the_terminal_keys(
    tmp_path, taxiws_url, taxiws_checker
):
    url = taxiws_url
    data: Path = tmp_path / "platform"
    town, first, second = town_log()
    lying_platform(data, first, [])
    with st.Store.open(url) as store:
        assert sync_all(store, data, len(first), taxiws_checker)[1] is None
        meters = {r["meter_serial"]: r for r in rows(store, tt.taximeters)}
    assert meters["JJ-2"]["terminal_id"] == "TERM2"
    assert meters["JJ-2"]["key"] == town.terminal("TERM2").public_key.text
    assert meters["JJ-1"]["operator_id"] == "OP1"

    # A new process: the registry of signers must come from the store (key_tables).
    lying_platform(data, second, [])
    logged = first + second
    with st.Store.open(url) as store:
        _, error = sync_all(store, data, len(logged), taxiws_checker)
        assert error is None, error
        assert store.get_sync_state(_origin(data)).status != "halted"
        vehicles = {r["plate"]: r["operator_id"] for r in rows(store, tt.vehicles)}
        [monitor] = rows(store, tt.monitors)
        history = [
            (r["entry_index"], r["type"], r["body"]) for r in rows(store, tt.taxi_registrations)
        ]
        tables = {rtype: rows(store, table) for rtype, (table, _, _) in _EVENTS.items()}
    assert vehicles == {"浙A·T0001": "OP1", "浙A·T0002": "OP2"}
    assert (monitor["monitor_id"], monitor["key"]) == ("MON1", town.monitor.public_key.text)
    registry_types = {"vehicle", "taximeter", "monitor"}
    assert sorted(history) == [
        (i, r.type, dict(r.body)) for i, r in enumerate(logged) if r.type in registry_types
    ]
    # Every event record is one row whose columns are its body's fields, at its entry.
    for rtype, found in tables.items():
        expected = [(i, dict(r.body)) for i, r in enumerate(logged) if r.type == rtype]
        assert expected, rtype
        got = sorted((row.pop("entry_index"), row) for row in found)
        assert got == expected, rtype
    assert len(tables["trip"]) == len(tables["trip_gnss"]) == 3


def _origin(data: Path) -> str:
    from ledger.client import LogClient

    return LogClient("http://unused", (data / "log.vkey").read_text().strip()).origin
