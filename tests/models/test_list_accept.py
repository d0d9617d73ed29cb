"""What an office accepts from the signed log list (app.models.list_sync), without network:
forged, rolled back, re-keyed and twin lists refused; an unreadable list falls back to the
newest accepted one; only the office's region is numbered."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models.list_sync import ListSync, ListUnavailable, accept_list
from ledger.loglist import LogEntry, LogList, LogListError, sign_log_list
from ledger.note import Signer, Verifier, generate_signer

AUTH_SKEY, AUTH_VKEY = generate_signer("samr.gov.example/loglist")
H1 = (1_767_196_800_000, 1_782_835_200_000)
H2 = (1_782_835_200_000, 1_798_761_600_000)


def log(origin: str, region: str, shard=H1, key: str | None = None) -> LogEntry:
    return LogEntry(
        origin, key or generate_signer(origin)[1], f"https://{origin}", region, shard, "usable"
    )


def signed(sequence: int, *logs: LogEntry, skey: str = AUTH_SKEY) -> bytes:
    return sign_log_list(LogList(sequence, 0, logs), Signer(skey))


@pytest.fixture
def store(tmp_path):
    with st.Store.open(f"sqlite:///{tmp_path / 'office.sqlite'}") as store:
        yield store


def test_acceptance_rules(store, tmp_path):
    authority = Verifier(AUTH_VKEY)
    hz2 = log("hz.example/2026h2", "330100", H2)
    hz1 = log("hz.example/2026h1", "330100", H1)
    nb1 = log("nb.example/2026h1", "330200", H1)
    accept_list(store, signed(1, hz2, nb1, hz1), authority, "3301")
    with store.engine.connect() as conn:
        numbered = conn.execute(select(st.logs.c.origin).order_by(st.logs.c.log_no)).scalars()
        assert list(numbered) == [hz1.origin, hz2.origin]  # shard order; Ningbo not ours
    # another authority's list, a rollback, a twin of the same sequence: refused
    other_skey, _ = generate_signer("samr.gov.example/loglist")
    with pytest.raises(LogListError, match="not signed by"):
        accept_list(store, signed(2, hz1, skey=other_skey), authority, "3301")
    with pytest.raises(LogListError, match="older than the 1 already accepted"):
        accept_list(store, signed(0, hz1), authority, "3301")
    with pytest.raises(LogListError, match="two different log lists with sequence 1"):
        accept_list(store, signed(1, hz1), authority, "3301")
    # a newer list giving a followed log another key: refused, nothing of it kept
    rekeyed = log(hz1.origin, "330100", H1)
    with pytest.raises(LogListError, match="another key"):
        accept_list(store, signed(2, rekeyed, hz2), authority, "3301")
    with store.engine.connect() as conn:
        assert conn.execute(select(st.log_lists.c.sequence)).scalars().all() == [1]

    # the list unreadable: the newest accepted one is followed, and the run says why
    sync = ListSync(store, authority, str(tmp_path / "missing.note"), "3301")
    try:
        followed, why = sync.refresh_list()
        assert followed.sequence == 1 and "could not be read" in why
    finally:
        sync.close()


def test_no_list_at_all_is_said(store, tmp_path):
    sync = ListSync(store, Verifier(AUTH_VKEY), str(tmp_path / "missing.note"), "33")
    try:
        with pytest.raises(ListUnavailable, match="none was accepted before"):
            sync.sync_once()
    finally:
        sync.close()


def test_headless_sync_refuses_a_forged_list_and_bad_arguments(tmp_path):
    import subprocess
    import sys

    from tests.world import ROOT

    other_skey, _ = generate_signer("samr.gov.example/loglist")
    forged = tmp_path / "forged.note"
    forged.write_bytes(signed(5, log("hz.example/2026h1", "330100"), skey=other_skey))
    base = [sys.executable, "main.py", "sync", "--db", f"sqlite:///{tmp_path / 'o.sqlite'}"]
    run = subprocess.run(
        [*base, "--log-list", str(forged), "--list-key", AUTH_VKEY, "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert "the log list is refused" in run.stderr and "not signed by" in run.stderr
    mixed = subprocess.run(
        [*base, "--log-list", str(forged), "--platform", "http://127.0.0.1:9"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert mixed.returncode == 2 and "either --log-list" in mixed.stderr


def test_new_records_go_to_the_usable_log_of_today(store):
    """An inspector's signed result is posted to the region's usable log whose shard holds
    the day, not to a read-only or another region's log (app.models.logs.write_log)."""
    from dataclasses import replace

    from app.models.logs import write_log

    authority = Verifier(AUTH_VKEY)
    old = replace(log("hz.example/2026h1", "330100", H1), state="read-only")
    new = log("hz.example/2026h2", "330100", H2)
    other = log("nb.example/2026h2", "330200", H2)
    accept_list(store, signed(1, old, new, other), authority, "33")
    with store.engine.connect() as conn:
        assert write_log(conn, "3301", H2[0] + 1).origin == new.origin
        assert write_log(conn, "3302", H2[0] + 1).origin == other.origin
        # after every shard's end: the usable one that started last still takes it
        assert write_log(conn, "3301", H2[1] + 10).origin == new.origin
        # inside the read-only half-year: the read-only log takes nothing
        assert write_log(conn, "3301", H1[0] + 1).origin == new.origin
        assert write_log(conn, "32", H2[0]) is None
