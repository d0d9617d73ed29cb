"""A log that holds what the platform must refuse (issue 13, items 1 and 3): the
workstation reports the platform, never the record's source.

The lying platform is the real `python -m ledger serve`, whose sequence the test
writes into directly while it is stopped (as a platform that skipped its own checks
would have): on restart it publishes those entries in signed checkpoints and tiles."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.sync import LogSync, SyncError
from app.models.sync_evidence import check_evidence
from ledger import merkle
from ledger.client import LogClient
from ledger.records import Record
from ledger.sigcheck import SignatureChecker
from tests.test_hostile_ingest import TwoOperators, session, twin
from tests.world import PlatformProcess, ndjson, post


@pytest.fixture(scope="module")
def checker():
    with SignatureChecker(workers=0) as c:
        yield c


def inject(data: Path, entries: list[bytes]) -> int:
    """Appends entries to a stopped platform's sequence, unchecked; returns the first index."""
    with sqlite3.connect(data / "sequence.sqlite") as db:
        (first,) = db.execute("SELECT COUNT(*) FROM entries").fetchone()
        db.executemany(
            "INSERT INTO entries VALUES (?, ?, ?, ?)",
            [
                (first + i, merkle.leaf_hash(e), Record.parse(e).type, e)
                for i, e in enumerate(entries)
            ],
        )
    return first


def lying_platform(data: Path, honest: list[Record], forged: list[bytes]) -> tuple[int, int]:
    """Logs ``honest`` through the front door, then ``forged`` behind its back; returns
    (index of the first forged entry, log size) and leaves the platform stopped."""
    proc = PlatformProcess(data)
    try:
        status, answer = post(proc.url, ndjson(honest))
        assert status == 200, answer
    finally:
        proc.stop()
    return inject(data, forged), len(honest) + len(forged)


def sync_all(store: st.Store, data: Path, size: int, checker) -> tuple[LogSync, Exception | None]:
    proc = PlatformProcess(data)
    try:
        client = LogClient(proc.url, proc.vkey())
        checkpoint, _ = client.checkpoint()
        while checkpoint.size < size:
            checkpoint, _ = client.checkpoint(after=checkpoint.size, wait=5)
        sync = LogSync(store, client, checker, batch=64, on_batch=analyse_batch)
        try:
            sync.sync_once()
        except SyncError as exc:
            return sync, exc
        finally:
            sync.close()
        return sync, None
    finally:
        proc.stop()


def rows(store: st.Store, table) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(select(table)).mappings())


def test_a_twin_in_the_log_is_reported_against_the_platform_not_the_operator(
    store, tmp_path, checker
):
    t = TwoOperators()
    charged = session(t.world.meter, "S1")
    bill = TwoOperators.bill("P1", "OP1", t.op1)
    honest = [*t.registry(), TwoOperators.tariff("ST1", "OP1", t.op1), charged, bill]
    forged = [twin(charged.to_bytes()), twin(bill.to_bytes())]
    first_forged, size = lying_platform(tmp_path / "platform", honest, forged)
    _, error = sync_all(store, tmp_path / "platform", size, checker)
    assert error is None  # the log is still append-only and consistent: the sync goes on
    assert [r["session_id"] for r in rows(store, st.sessions)] == ["S1"]
    assert [r["session_id"] for r in rows(store, st.billing)] == ["S1"]
    found = sorted(
        (r["evidence"]["entry"], r["evidence"]["first_entry"], r["kind"])
        for r in rows(store, st.misbehaviour)
    )
    session_at, bill_at = len(honest) - 2, len(honest) - 1
    assert found == [
        (first_forged, session_at, "duplicate-record"),
        (first_forged + 1, bill_at, "duplicate-record"),
    ]
    evidence = {r["evidence"]["entry"]: r for r in rows(store, st.misbehaviour)}
    assert evidence[first_forged]["offending_bytes"] == forged[0]  # the entry as logged
    origin = LogClient("http://unused", _vkey(tmp_path)).origin
    assert evidence[first_forged]["origin"] == origin
    alarms = rows(store, st.alarms)
    assert [a["rule_id"] for a in alarms if a["kind"] == "log-misbehaviour"] == ["L2"]
    # nothing against the operator: no double charge, no duplicate bill
    assert [a["rule_id"] for a in rows(store, st.anomalies) if a["rule_id"] == "R08"] == []
    assert all(a["rule_id"] != "R08" for a in alarms)
    state = store.get_sync_state(origin)
    assert (state.size, state.status) == (size, "ok")


def _vkey(tmp_path: Path) -> str:
    return (tmp_path / "platform" / "log.vkey").read_text().strip()


def test_a_rekey_of_another_operators_meter_in_the_log_halts_the_sync(store, tmp_path, checker):
    """Issue 13, item 3: OP002 re-keyed OP001's meter and signed sessions with the new
    key; the platform took them and the workstation moved the meter to OP002."""
    t = TwoOperators()
    honest = [*t.registry(), session(t.world.meter, "S-before")]
    rekey = TwoOperators.meter("M1", "P2", "OP2", t.m1_new, t.op2)
    forged = [rekey.to_bytes(), session(t.m1_new, "S-stolen", pile_id="P2").to_bytes()]
    data = tmp_path / "platform"
    lying_platform(data, honest, [])
    assert sync_all(store, data, len(honest), checker)[1] is None  # the honest part, first
    first_forged = inject(data, forged)
    _, error = sync_all(store, data, len(honest) + len(forged), checker)
    assert error is not None
    assert "meter M1 belongs to operator OP1" in str(error), error
    [found] = rows(store, st.misbehaviour)
    assert (found["kind"], found["evidence"]["index"]) == ("signer-rule", first_forged)
    assert found["offending_bytes"] == forged[0]
    # the halt's evidence stands alone: the entry is proven in the signed log
    assert "is in the log" in check_evidence(found, _vkey(tmp_path))
    [meter_m1] = [m for m in rows(store, st.meters) if m["meter_id"] == "M1"]
    assert (meter_m1["operator_id"], meter_m1["key_id"]) == ("OP1", t.world.meter.key_id)
    assert [r["session_id"] for r in rows(store, st.sessions)] == ["S-before"]
    origin = LogClient("http://unused", _vkey(tmp_path)).origin
    assert store.get_sync_state(origin).status == "halted"
