"""Sync against a real platform on loopback, on SQLite and PostgreSQL: happy path,
resume, and every kind of platform misbehaviour (nothing bad is ever applied)."""

from __future__ import annotations

import functools
import gc
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import store as st
from app.models.sync import LogSync, Misbehaviour, Offline, SyncError
from ledger.client import LogClient
from ledger.note import Checkpoint, Signer, sign_checkpoint
from ledger.records import sign_record
from ledger.sigcheck import SignatureChecker
from ledger.tiles import TileLog
from tests.world import T0, PlatformProcess, World, ndjson, post


@pytest.fixture(scope="module")
def checker():
    with SignatureChecker(workers=0) as c:
        yield c


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def fill(proc: PlatformProcess, world: World, heartbeats: int, start: int = 0) -> int:
    """Posts heartbeats (and the registry first time) and waits until they are logged."""
    import json

    from tests.world import get

    records = (world.registry() if start == 0 else []) + world.heartbeats(start, heartbeats)
    for i in range(0, len(records), 500):
        status, answer = post(proc.url, ndjson(records[i : i + 500]))
        assert status == 200, answer
    sequenced = json.loads(get(proc.url + "/status"))["sequenced"]
    client = LogClient(proc.url, proc.vkey())
    checkpoint, _ = client.checkpoint()
    while checkpoint.size < sequenced:
        checkpoint, _ = client.checkpoint(after=checkpoint.size, wait=5)
    client.close()
    return checkpoint.size


def count(store: st.Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_sync_applies_verified_entries_and_is_incremental(store, platform, checker):
    world = World()
    size = fill(platform, world, 300)
    sync = LogSync(store, LogClient(platform.url, platform.vkey()), checker, batch=128)
    result = sync.sync_once()
    assert gc.isenabled()
    assert (result.old_size, result.new_size) == (0, size)
    assert count(store, st.heartbeats) == 300
    assert count(store, st.meters) == 1
    state = store.get_sync_state(sync.origin)
    assert state.size == size and state.status == "ok"
    fill(platform, world, 50, start=300)
    result = sync.sync_once()
    assert result.applied == 50
    assert count(store, st.heartbeats) == 350
    assert count(store, st.checkpoints) == 2
    sync.close()


def test_first_batches_are_small_then_double(store, platform, checker):
    """The workers get work after FIRST_BATCH entries, not after a whole batch."""
    from app.models.sync import FIRST_BATCH

    size = fill(platform, World(), 3 * FIRST_BATCH)
    done: list[int] = []
    sync = LogSync(store, LogClient(platform.url, platform.vkey()), checker)
    sync.sync_once(on_progress=lambda p: done.append(p.done))
    assert done == [FIRST_BATCH, 3 * FIRST_BATCH, size]
    assert count(store, st.entries) == size
    sync.close()


def test_interrupted_sync_resumes_without_duplicates(store, platform, checker):
    world = World()
    size = fill(platform, world, 700)
    client = LogClient(platform.url, platform.vkey())
    batches = []
    sync = LogSync(store, client, checker, batch=100)
    sync.sync_once(
        on_progress=lambda p: batches.append(p.done), should_stop=lambda: len(batches) >= 3
    )
    stopped_at = store.get_sync_state(sync.origin).size
    assert stopped_at % 100 == 0 and 300 <= stopped_at < size  # the batch in flight lands
    assert count(store, st.entries) == stopped_at
    sync.sync_once()
    assert count(store, st.entries) == size
    assert count(store, st.heartbeats) == 700
    sync.close()


def test_offline_keeps_the_store_and_says_so(store, tmp_path, checker):
    proc = PlatformProcess(tmp_path / "p")
    fill(proc, World(), 10)
    client = LogClient(proc.url, proc.vkey())
    sync = LogSync(store, client, checker)
    sync.sync_once()
    proc.stop()
    with pytest.raises(Offline, match="cannot reach the platform"):
        sync.sync_once()
    state = store.get_sync_state(sync.origin)
    assert state.status == "offline" and state.last_success_at is not None
    assert count(store, st.heartbeats) == 10
    sync.close()


# ---- misbehaviour: a platform whose files or answers are tampered with ------------------


class TamperedServer:
    """Serves a copy of a real platform's log directory over HTTP on loopback."""

    def __init__(self, log_dir: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(log_dir))
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # the sync opens 32 fetches at once (default backlog: 5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def snapshot(proc: PlatformProcess, into: Path) -> Path:
    shutil.copytree(proc.data / "log", into)
    return into


def flip(path: Path, offset: int = -5) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def assert_halted(store: st.Store, origin: str, kind: str, applied_before: int) -> None:
    """Halted with evidence and an alarm; the store holds a clean prefix of the log that
    stops before the offending entry (earlier, fully verified batches may be applied)."""
    state = store.get_sync_state(origin)
    assert state.status == "halted"
    with store.engine.connect() as conn:
        row = conn.execute(select(st.misbehaviour)).mappings().one()
        assert row["kind"] == kind
        alarm = conn.execute(select(st.alarms)).mappings().one()
        assert alarm["severity"] == "critical"
        applied = [i for (i,) in conn.execute(select(st.entries.c.entry_index))]
    assert sorted(applied) == list(range(len(applied)))
    assert state.size == len(applied)
    bad_index = row["evidence"].get("index")
    if bad_index is None:
        assert len(applied) == applied_before
    else:
        assert applied_before <= len(applied) <= bad_index
        assert row["offending_bytes"]


def _sync_from(store, url, vkey, checker):
    return LogSync(store, LogClient(url, vkey), checker, batch=64)


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        ("checkpoint-signature", None),
        ("level0-tile", "bad-tile"),
        ("entry-bundle", "bad-bundle"),
    ],
)
def test_tampered_files_stop_the_sync_before_anything_is_applied(
    store, platform, tmp_path, checker, tamper, kind
):
    world = World()
    fill(platform, world, 100)
    base = snapshot(platform, tmp_path / "base")
    server = TamperedServer(base)
    sync = _sync_from(store, server.url, platform.vkey(), checker)
    sync.sync_once()
    applied = count(store, st.entries)
    server.stop()
    fill(platform, world, 400, start=100)  # the log grows; the copy of it is tampered with
    bad = snapshot(platform, tmp_path / "bad")
    if tamper == "checkpoint-signature":
        note = (bad / "checkpoint").read_bytes()
        (bad / "checkpoint").write_bytes(note.replace(b"\n\n", b"\nextra\n\n", 1))
    elif tamper == "level0-tile":
        flip(bad / "tile/0/000")
    else:
        flip(bad / "tile/entries/000", -40)
    server = TamperedServer(bad)
    sync = _sync_from(store, server.url, platform.vkey(), checker)
    if kind is None:
        # A checkpoint that does not verify proves nothing against the platform (anyone
        # can send such bytes): the sync is offline, not halted, and nothing is applied.
        with pytest.raises(Offline, match="not a valid signed checkpoint"):
            sync.sync_once()
        state = store.get_sync_state(sync.origin)
        assert state.status == "offline" and state.size == applied
        assert count(store, st.entries) == applied and count(store, st.misbehaviour) == 0
        server.stop()
        sync.close()
        return
    with pytest.raises(Misbehaviour):
        sync.sync_once()
    assert gc.isenabled()  # held off per batch only, also when a batch is refused
    assert_halted(store, sync.origin, kind, applied)
    with pytest.raises(SyncError, match="halted"):
        sync.sync_once()  # never quietly carries on
    server.stop()
    sync.close()


def test_forked_log_is_detected_with_both_checkpoints(store, tmp_path, checker):
    world = World()
    a = PlatformProcess(tmp_path / "a")
    fill(a, world, 50)
    (tmp_path / "b").mkdir()
    for name in ("log.key", "log.vkey"):  # the same log key, a different history
        shutil.copy(tmp_path / "a" / name, tmp_path / "b" / name)
    b = PlatformProcess(tmp_path / "b")
    registry = world.registry()
    post(b.url, ndjson(registry))
    fill(b, world, 80, start=1000)
    try:
        sync = _sync_from(store, a.url, a.vkey(), checker)
        sync.sync_once()
        applied = count(store, st.entries)
        fill(a, world, 10, start=50)
        sync = _sync_from(store, b.url, a.vkey(), checker)
        with pytest.raises(Misbehaviour) as info:
            sync.sync_once()
        assert info.value.kind == "fork"
        assert_halted(store, sync.origin, "fork", applied)
        with store.engine.connect() as conn:
            row = conn.execute(select(st.misbehaviour)).mappings().one()
        assert row["checkpoint_a"] and row["checkpoint_b"]
        assert row["checkpoint_a"] != row["checkpoint_b"]
        sync.close()
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("fault", ["bad-signature", "unknown-key"])
def test_logged_entry_with_bad_signature_or_unknown_key_is_refused(store, tmp_path, checker, fault):
    """A platform that logs (and signs a checkpoint over) an entry it should have refused."""
    from ledger.keys import SigningKey
    from ledger.note import generate_signer

    world = World()
    skey, vkey = generate_signer("evil.example/log")
    log = TileLog(tmp_path / "log", fsync=False)
    good = [r.to_bytes() for r in world.registry() + world.heartbeats(0, 20)]
    if fault == "bad-signature":
        bad = world.heartbeats(20, 1)[0].to_bytes().replace(b'"temp_dc":250', b'"temp_dc":99')
    else:
        stranger = SigningKey.from_seed("p256", b"stranger")
        bad = sign_record(
            "heartbeat",
            {
                "meter_id": "M1",
                "pile_id": "P1",
                "seq": 99,
                "ref_ms": T0,
                "meter_ms": T0,
                "register_wh": 1,
                "temp_dc": 1,
            },
            stranger,
        ).to_bytes()
    log.append([*good, bad])
    note = sign_checkpoint(Checkpoint("evil.example/log", log.size, log.root()), Signer(skey))
    (tmp_path / "log" / "checkpoint").write_bytes(note)
    server = TamperedServer(tmp_path / "log")
    sync = LogSync(store, LogClient(server.url, vkey), checker, batch=1000)
    with pytest.raises(Misbehaviour) as info:
        sync.sync_once()
    assert info.value.kind == fault
    assert_halted(store, sync.origin, fault, 0)
    server.stop()
    sync.close()


def _static_log(tmp_path: Path, entries: list[bytes]) -> tuple[str, TamperedServer]:
    """A signed tlog-tiles log of ``entries`` served as static files: (vkey, server)."""
    from ledger.note import generate_signer

    skey, vkey = generate_signer("static.example/log")
    log = TileLog(tmp_path / "log", fsync=False)
    log.append(entries)
    note = sign_checkpoint(Checkpoint("static.example/log", log.size, log.root()), Signer(skey))
    (tmp_path / "log" / "checkpoint").write_bytes(note)
    return vkey, TamperedServer(tmp_path / "log")


def test_each_entry_is_stored_with_its_own_record_identity(store, tmp_path):
    """The identity the signature workers hash from an entry's bytes is the record's
    (`Record.identity`: type, signer, canonical body), entry by entry, also for records
    whose bodies differ only in one field; on worker processes, as in a real sync."""
    world = World()
    records = world.registry() + world.heartbeats(0, 40)
    vkey, server = _static_log(tmp_path, [r.to_bytes() for r in records])
    with SignatureChecker(workers=1, chunk=16) as pool:
        sync = LogSync(store, LogClient(server.url, vkey), pool, batch=32)
        sync.sync_once()
        sync.close()
    server.stop()
    with store.engine.connect() as conn:
        stored = conn.execute(select(st.entries.c.entry_index, st.entries.c.record_id)).all()
    assert {i: bytes(rid) for i, rid in stored} == {i: r.identity for i, r in enumerate(records)}


def test_a_logged_meter_key_that_is_no_curve_point_halts_at_its_own_entry(store, tmp_path, checker):
    """The ordering thread keeps registry keys as text (no point decoding); a meter
    record whose key is not a P-256 point must still halt the sync at that record, the
    platform's fault, not at the first entry that names the meter."""
    import base64

    from ledger.records import Record, signed_message

    world = World()
    body = {
        "meter_id": "M2",
        "pile_id": "P1",
        "operator_id": "OP1",
        "connector": 1,
        "accuracy_class": "1",
        "key": "p256:" + base64.b64encode(b"\x02" + b"\xff" * 32).decode(),  # x >= p
        "heartbeat_s": 900,
        "installed_ms": T0,
        "at_ms": T0,
    }
    signature = world.oper.sign(signed_message("meter", body))
    bad = Record("meter", body, world.oper.alg, world.oper.key_id, signature)
    good = world.registry() + world.heartbeats(0, 5)
    vkey, server = _static_log(
        tmp_path, [r.to_bytes() for r in [*good, bad, *world.heartbeats(5, 5)]]
    )
    sync = LogSync(store, LogClient(server.url, vkey), checker, batch=1000)
    with pytest.raises(Misbehaviour, match="field 'key'") as info:
        sync.sync_once()
    assert info.value.kind == "bad-entry"
    assert info.value.evidence["index"] == len(good)
    assert_halted(store, sync.origin, "bad-entry", 0)
    server.stop()
    sync.close()
