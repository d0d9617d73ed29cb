"""The workstation keeps its taxi status projection between refreshes and feeds it only
what was synced since (`app.models.taxi.queries.taxi_ledger`). After every sync batch its
statuses must equal the status code run over the whole log from the start — what the
platform serves and the ride-hailing platforms' client recomputes."""

from __future__ import annotations

import itertools
import threading

import pytest

from app.models import store as st
from app.models.projection import apply_records
from app.models.taxi import queries as tq
from ledger.records import Record
from ledger.taxi import fleet as tf
from ledger.taxi.fleet_cli import chunks, start_ms
from ledger.taxi.status import TaxiLedger

FAULTS = {"drift": 3, "drift_inside": 2, "seal": 1, "expired": 1, "failed": 1}


@pytest.fixture(scope="module")
def log() -> list[bytes]:
    fleet = tf.build_fleet(11, 16, start_ms("2026-11-01", 2), 2, FAULTS)
    return [e for _types, part in chunks(fleet, alg="ed25519") for e in part]


def _from_scratch(entries: list[bytes]):
    return TaxiLedger(prune_every=97).apply_all(entries).statuses()


def _fresh_thread(store: st.Store):
    """The statuses as another reader thread (with no ledger of its own yet) sees them."""
    out: list = []
    with store.engine.connect() as conn:
        t = threading.Thread(target=lambda: out.append(tq.statuses(conn)))
        t.start()
        t.join()
    return out[0]


def test_statuses_after_each_batch_equal_a_replay_from_the_start(tmp_path, log, monkeypatch):
    # prune often, so the incremental path crosses many prune points between batches
    monkeypatch.setattr(tq, "TaxiLedger", lambda: TaxiLedger(prune_every=97))
    records = [Record.parse(e) for e in log]
    cuts = [0, 7, 300, len(log) // 2, len(log) // 2 + 1, len(log) - 5, len(log)]
    with st.Store.open(f"sqlite:///{tmp_path / 'taxi.sqlite'}") as store:
        for a, b in itertools.pairwise(cuts):
            with store.transaction() as conn:
                apply_records(conn, [(i, records[i]) for i in range(a, b)])
            with store.engine.connect() as conn:
                got = tq.statuses(conn)
            assert got == _from_scratch(log[:b]), f"after entry {b - 1}"
        assert got == _fresh_thread(store)
        assert {s.status for s in got} >= {"drift_suspected", "seal_broken", "failed"}


def test_another_store_at_the_same_url_is_not_taken_for_the_old_one(tmp_path, log):
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    records = [Record.parse(e) for e in log]
    with st.Store.open(url) as store:
        with store.transaction() as conn:
            apply_records(conn, list(enumerate(records)))
        with store.engine.connect() as conn:
            assert tq.statuses(conn) == _from_scratch(log)
    (tmp_path / "again.sqlite").unlink()
    for extra in ("-wal", "-shm"):
        (tmp_path / f"again.sqlite{extra}").unlink(missing_ok=True)
    # a bigger log from another city at the same path: same URL, more entries
    fleet = tf.build_fleet(12, 24, start_ms("2026-11-01", 2), 2, FAULTS)
    other = [e for _types, part in chunks(fleet, alg="ed25519") for e in part]
    assert len(other) > len(log)
    with st.Store.open(url) as store:
        with store.transaction() as conn:
            apply_records(conn, [(i, Record.parse(e)) for i, e in enumerate(other)])
        with store.engine.connect() as conn:
            assert tq.statuses(conn) == _from_scratch(other)
