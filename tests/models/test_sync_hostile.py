"""A lying platform: every answer it can give a sync ends in a clear message, the right
state (offline = try later, halted = proven misbehaviour with evidence that verifies on
its own) and a verified store that is exactly as it was.

The platform here is a real HTTP/1.1 server on loopback whose answers we script byte by
byte: it serves a genuine tlog-tiles log, except for the paths it lies about.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sqlalchemy import select

from app.models import store as st
from app.models.sync import LogSync, Misbehaviour, Offline, SyncError
from app.models.sync_evidence import EvidenceError, check_evidence
from ledger.client import MAX_CHECKPOINT_BYTES, LogClient
from ledger.note import Checkpoint, Signer, generate_signer, sign_checkpoint
from ledger.records import sign_record
from ledger.sigcheck import SignatureChecker
from ledger.tiles import TileLog, encode_bundle
from tests.world import ROOT, T0, World

ORIGIN = "hostile.example/log"
SIZES = (80, 200, 520)  # an older checkpoint, the verified one, the one being synced

Lie = Callable[["_Connection", bytes], None]


# ---- the platform --------------------------------------------------------------------


class LyingPlatform:
    """Serves ``root`` (a tlog-tiles directory) over HTTP/1.1 with kept-alive
    connections; ``lies[path]`` replaces the answer for that path by whatever the lie
    writes to the socket. Counts, per path, the body bytes the kernel accepted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lies: dict[str, Lie] = {}
        self.sent: dict[str, int] = {}
        self.requests: list[str] = []
        self._told: dict[str, threading.Event] = {}
        self._told_lock = threading.Lock()
        platform = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                _Connection(platform, self.request).serve()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.02,), daemon=True
        )  # a short poll: shutdown() returns at once, not after 0.5 s
        self.thread.start()

    def told(self, path: str) -> threading.Event:
        """Set when a lie about ``path`` has ended: written to the end, or cut off by
        the client closing its socket (so ``sent[path]`` is final)."""
        with self._told_lock:
            return self._told.setdefault(path, threading.Event())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _Connection:
    def __init__(self, platform: LyingPlatform, sock: socket.socket) -> None:
        self.platform, self.sock = platform, sock
        self.path = ""

    def serve(self) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                self.path = head.split(b" ")[1].decode().lstrip("/")
                self.platform.requests.append(self.path)
                lie = self.platform.lies.get(self.path)
                if lie is not None:
                    try:
                        lie(self, self.file_bytes())
                    finally:
                        self.platform.told(self.path).set()
                    return  # a liar's connection ends with its lie
                self.answer(self.file_bytes())
        except OSError:
            return

    def file_bytes(self) -> bytes | None:
        file = self.platform.root / self.path
        return file.read_bytes() if file.is_file() else None

    def answer(self, body: bytes | None, length: int | None = None) -> None:
        if body is None:
            self.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        size = len(body) if length is None else length
        self.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        self.send(body, count=True)

    def send(self, data: bytes, count: bool = False) -> None:
        self.sock.sendall(data)
        if count:
            self.platform.sent[self.path] = self.platform.sent.get(self.path, 0) + len(data)

    def stream(self, total: int, chunk: bytes) -> None:
        """Sends ``total`` bytes in ``chunk``s, until the client stops taking them."""
        sent = 0
        while sent < total:
            self.send(chunk, count=True)
            sent += len(chunk)


# ---- the lies (each one a function of the connection and the true answer) ------------


def raw(data: bytes) -> Lie:
    return lambda conn, _true: conn.send(data)


def body(make: Callable[[bytes], bytes]) -> Lie:
    return lambda conn, true: conn.answer(make(true))


def wrong_length(delta: int) -> Lie:
    """Announces len + delta bytes, sends the true body, closes."""
    return lambda conn, true: conn.answer(true, len(true) + delta)


def trickle(every_s: float) -> Lie:
    """A valid answer, one byte at a time: the per-read timeout never fires."""

    def lie(conn: _Connection, true: bytes) -> None:
        data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(true) + true
        for i in range(len(data)):
            conn.send(data[i : i + 1], count=True)
            time.sleep(every_s)

    return lie


def oversized(announce: bool, total: int = 400 << 20) -> Lie:
    """A 400 MiB answer, with or without announcing it in Content-Length."""

    def lie(conn: _Connection, _true: bytes) -> None:
        if announce:
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        else:
            conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        conn.stream(total, b"\n" * 65536)

    return lie


def continues(conn: _Connection, _true: bytes) -> None:
    """Interim '100 Continue' answers forever (http.client skips them): only a deadline
    on the whole request ends this."""
    while True:
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n", count=True)
        time.sleep(0.01)


# ---- logs -----------------------------------------------------------------------------


def _build(directory: Path, entries: list[bytes], skey: str, snapshots: dict[int, Path]) -> None:
    """Writes the log, copying it aside (with its checkpoint) at each size in snapshots."""
    log = TileLog(directory, fsync=False)
    for size in sorted(snapshots):
        log.append(entries[log.size : size])
        note = sign_checkpoint(Checkpoint(ORIGIN, log.size, log.root()), Signer(skey))
        (directory / "checkpoint").write_bytes(note)
        shutil.copytree(directory, snapshots[size])


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, Path | str]:
    """The true log at three sizes, and a forked history (same key) at two sizes."""
    base = tmp_path_factory.mktemp("logs")
    skey, vkey = generate_signer(ORIGIN)
    world = World()
    registry = [r.to_bytes() for r in world.registry()]
    true = registry + [r.to_bytes() for r in world.heartbeats(0, SIZES[-1])]
    _build(base / "w", true, skey, {s: base / f"true-{s}" for s in SIZES})
    other = registry + [r.to_bytes() for r in world.heartbeats(5000, SIZES[-1])]
    fork_sizes = {SIZES[0]: base / "fork-small", SIZES[1]: base / "fork-same"}
    fork_sizes[SIZES[2]] = base / "fork-big"
    _build(base / "f", other, skey, fork_sizes)
    forged = true[SIZES[1]].replace(b'"temp_dc":250', b'"temp_dc":99')
    bad = [*true[: SIZES[1]], forged]  # a logged entry whose signature fails
    assert bad[-1] != true[SIZES[1]]
    _build(base / "b", bad, skey, {len(bad): base / "bad-signature"})
    return {
        "vkey": vkey,
        "skey": skey,
        **{f"true-{s}": base / f"true-{s}" for s in SIZES},
        "fork-small": base / "fork-small",
        "fork-same": base / "fork-same",
        "fork-big": base / "fork-big",
        "bad-signature": base / "bad-signature",
    }


@pytest.fixture(scope="module")
def checker() -> Iterator[SignatureChecker]:
    with SignatureChecker(workers=0) as c:
        yield c


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An empty migrated store, copied for each test (migrating costs ~0.5 s)."""
    file = tmp_path_factory.mktemp("template") / "ws.sqlite"
    st.Store.open(f"sqlite:///{file}").close()
    return file


@pytest.fixture
def local_store(tmp_path, template) -> Iterator[st.Store]:
    shutil.copy(template, tmp_path / "ws.sqlite")
    with st.Store.open(f"sqlite:///{tmp_path / 'ws.sqlite'}") as store:
        yield store


@pytest.fixture(scope="module")
def synced_template(logs, tmp_path_factory, checker) -> Path:
    """A store that verified the first SIZES[1] entries of the true log, made once."""
    file = tmp_path_factory.mktemp("synced") / "ws.sqlite"
    honest = LyingPlatform(logs[f"true-{SIZES[1]}"])
    with st.Store.open(f"sqlite:///{file}") as store:
        sync = LogSync(store, LogClient(honest.url, logs["vkey"]), checker, batch=4096)
        assert sync.sync_once().new_size == SIZES[1]
        sync.client.close()
        sync.close()
    honest.stop()
    return file


VERIFIED_TABLES = [
    t
    for t in st.metadata.sorted_tables
    # the store's bookkeeping: sync attempts, evidence, alarms, the logs it follows
    if t.name not in ("sync_state", "misbehaviour", "alarms", "audit_log", "logs", "log_lists")
]


def snapshot(store: st.Store) -> dict[str, list]:
    """Every row of every table that holds verified data."""
    with store.engine.connect() as conn:
        return {
            t.name: sorted((tuple(map(repr, row)) for row in conn.execute(select(t))), key=repr)
            for t in VERIFIED_TABLES
        }


@pytest.fixture
def synced(logs, synced_template, tmp_path) -> Iterator[tuple[LyingPlatform, st.Store, dict]]:
    """A store that verified the first SIZES[1] entries; the platform now serves the
    grown log (SIZES[2]) and lies as each test tells it."""
    shutil.copy(synced_template, tmp_path / "ws.sqlite")
    platform = LyingPlatform(logs[f"true-{SIZES[2]}"])
    with st.Store.open(f"sqlite:///{tmp_path / 'ws.sqlite'}") as store:
        before = snapshot(store)
        assert len(before["entries"]) == SIZES[1]
        assert store.get_sync_state(ORIGIN).status == "ok"
        yield platform, store, before
    platform.stop()


def attempt(platform: LyingPlatform, store: st.Store, logs, checker, timeout: float = 3):
    """One sync against the lying platform: (the exception it ended with, seconds)."""
    sync = LogSync(
        store, LogClient(platform.url, logs["vkey"], timeout=timeout), checker, batch=4096
    )
    started = time.monotonic()
    try:
        sync.sync_once()
    except SyncError as exc:
        return exc, time.monotonic() - started
    finally:
        sync.client.close()
        sync.close()
    raise AssertionError("the sync accepted the lying platform's answers")


def assert_offline(store: st.Store, before: dict, exc: Exception, message: str) -> None:
    assert isinstance(exc, Offline), f"{type(exc).__name__}: {exc}"
    assert message in str(exc), str(exc)
    state = store.get_sync_state(ORIGIN)
    assert state.status == "offline" and state.last_error == str(exc)
    assert state.size == SIZES[1] and state.last_attempt_at is not None
    assert state.last_attempt_at >= state.last_success_at
    assert snapshot(store) == before
    with store.engine.connect() as conn:
        assert conn.execute(select(st.misbehaviour)).first() is None


def assert_halted(store: st.Store, before: dict, exc: Exception, kind: str, vkey: str) -> str:
    """Halted, store unchanged, and the evidence proves the misbehaviour by itself."""
    assert isinstance(exc, Misbehaviour), f"{type(exc).__name__}: {exc}"
    assert exc.kind == kind
    state = store.get_sync_state(ORIGIN)
    assert state.status == "halted" and state.size == SIZES[1]
    assert snapshot(store) == before
    with store.engine.connect() as conn:
        row = conn.execute(select(st.misbehaviour)).mappings().one()
    assert row["kind"] == kind
    return check_evidence(row, vkey)


# ---- offline: no answer, a slow, big, garbled or unverifiable one ----------------------

CHECKPOINT = "checkpoint"
TILE = "tile/0/001"  # level-0 tile of entries 256..511, new in the grown log
BUNDLE = "tile/entries/001"

OFFLINE_CASES: dict[str, tuple[str, Lie, str]] = {
    "truncated checkpoint": (
        CHECKPOINT,
        body(lambda b: b[: len(b) // 2]),
        "not a valid signed checkpoint",
    ),
    "checkpoint cut after the body": (
        CHECKPOINT,
        body(lambda b: b.split(b"\n\n")[0] + b"\n\n"),
        "not a valid signed checkpoint",
    ),
    "garbled checkpoint signature": (
        CHECKPOINT,
        body(lambda b: b[:-10] + bytes([b[-10] ^ 1]) + b[-9:]),
        "not a valid signed checkpoint",
    ),
    "binary checkpoint": (CHECKPOINT, body(lambda b: bytes(range(256))), "not a valid signed"),
    "empty checkpoint": (CHECKPOINT, body(lambda b: b""), "not a valid signed checkpoint"),
    "not HTTP at all": (CHECKPOINT, raw(b"SSH-2.0-OpenSSH_9.6\r\n"), "not a valid HTTP answer"),
    "garbage status line": (
        CHECKPOINT,
        raw(b"HTTP/1.1 2OO OK\r\n\r\n"),
        "not a valid HTTP answer",
    ),
    "endless header line": (
        CHECKPOINT,
        raw(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n"),
        "not a valid HTTP answer",
    ),
    "bad content length": (
        CHECKPOINT,
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\nxx"),
        "not a valid signed checkpoint",  # http.client reads it as a body up to the close
    ),
    "closed without answering": (CHECKPOINT, raw(b""), "cannot reach the platform"),
    "announced more than sent": (CHECKPOINT, wrong_length(+100), "cut short"),
    "tile announced shorter than sent": (TILE, wrong_length(-32), "the tile has 8,160 bytes"),
    "oversized tile": (TILE, body(lambda b: b + b"\0" * 32), "larger than the 8,192 bytes"),
    "truncated tile": (TILE, body(lambda b: b[:-1]), "the tile has 8,191 bytes"),
    "missing tile": (TILE, body(lambda b: None), "HTTP 404"),
    "server error": (TILE, raw(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"), "HTTP 503"),
    "truncated bundle": (BUNDLE, body(lambda b: b[:-7]), "entry bundle truncated"),
    "bundle short of entries": (
        BUNDLE,
        body(lambda b: encode_bundle([b"{}"] * 3)),
        "holds 3 entries, 256 expected",
    ),
    "redirect to a file": (
        BUNDLE,
        raw(b"HTTP/1.1 301 Moved\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n"),
        "cannot follow a link",
    ),
    "oversized bundle, no length": (BUNDLE, oversized(announce=False), "larger than the 16.0 MiB"),
}


@pytest.mark.parametrize("case", list(OFFLINE_CASES))
def test_a_bad_answer_is_offline_and_changes_nothing(synced, logs, checker, case):
    platform, store, before = synced
    path, lie, message = OFFLINE_CASES[case]
    platform.lies[path] = lie
    exc, _ = attempt(platform, store, logs, checker)
    assert_offline(store, before, exc, message)
    # and once the platform behaves, the same store syncs to the end
    platform.lies.clear()
    sync = LogSync(store, LogClient(platform.url, logs["vkey"]), checker)
    assert sync.sync_once().new_size == SIZES[2]
    sync.client.close()
    sync.close()


@pytest.mark.parametrize(
    ("path", "lie"),
    [(CHECKPOINT, trickle(0.02)), (BUNDLE, trickle(0.02)), (CHECKPOINT, continues)],
    ids=["trickled checkpoint", "trickled bundle", "endless 100-continue"],
)
def test_a_slow_platform_is_given_up_on_at_the_deadline(synced, logs, checker, path, lie):
    """One byte every 20 ms resets any per-read timeout; the whole request still ends
    at its deadline (0.5 s here), well before the answer would be complete."""
    platform, store, before = synced
    platform.lies[path] = lie
    exc, seconds = attempt(platform, store, logs, checker, timeout=0.5)
    assert_offline(store, before, exc, "no complete answer within 0.5 s")
    assert seconds < 5  # the trickled answers alone would take > 20 s


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
def test_an_oversized_answer_is_not_read_past_its_cap(synced, logs, checker, announce):
    """A 400 MiB checkpoint: refused at its Content-Length, or after 1 MiB + 1 bytes.
    The server may push a few MiB into socket buffers, never the 400."""
    platform, store, before = synced
    platform.lies[CHECKPOINT] = oversized(announce)
    tracemalloc.start()
    try:
        exc, _ = attempt(platform, store, logs, checker)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_offline(store, before, exc, "larger than the 1.0 MiB this kind of file can hold")
    assert peak < 3 * MAX_CHECKPOINT_BYTES + (4 << 20)
    # The lie ends when the client has closed its socket (the server's send fails): a
    # client that kept it open would leave the server blocked on a full socket buffer.
    assert platform.told(CHECKPOINT).wait(10), "the client never closed the oversized answer"
    assert platform.sent.get(CHECKPOINT, 0) < 32 << 20


def test_a_consistent_older_checkpoint_is_stale_not_misbehaviour(synced, logs, checker):
    """A CDN serving yesterday's checkpoint: it is a prefix of what we verified."""
    platform, store, before = synced
    platform.root = logs[f"true-{SIZES[0]}"]
    platform.lies[f"tile/0/000.p/{SIZES[1] % 256}"] = body(
        lambda _: (logs[f"true-{SIZES[1]}"] / f"tile/0/000.p/{SIZES[1] % 256}").read_bytes()
    )  # our own tree's edge, as the platform kept it
    exc, _ = attempt(platform, store, logs, checker)
    assert_offline(store, before, exc, "older checkpoint")


# ---- halted: proof of misbehaviour, with evidence that stands alone --------------------


def test_a_fork_at_the_same_size_halts_with_both_checkpoints(synced, logs, checker):
    platform, store, before = synced
    platform.root = logs["fork-same"]
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "fork", logs["vkey"])
    assert "two different trees of size" in proven


def test_a_fork_that_grew_halts_with_a_consistency_proof(synced, logs, checker):
    platform, store, before = synced
    platform.root = logs["fork-big"]
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "fork", logs["vkey"])
    assert f"at size {SIZES[1]}" in proven


def test_an_inconsistent_rollback_halts(synced, logs, checker):
    """A smaller signed tree that is not the beginning of the verified one."""
    platform, store, before = synced
    platform.root = logs["fork-small"]
    for path in (f"tile/0/000.p/{SIZES[1] % 256}",):  # our tree's edge, still served
        platform.lies[path] = body(lambda _, p=path: (logs[f"true-{SIZES[1]}"] / p).read_bytes())
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "rollback", logs["vkey"])
    assert f"at size {SIZES[0]}" in proven


def test_a_tile_that_does_not_hash_to_the_signed_root_halts(synced, logs, checker):
    platform, store, before = synced
    platform.lies["tile/0/002.p/8"] = body(lambda b: b[:-1] + bytes([b[-1] ^ 1]))
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "bad-tile", logs["vkey"])
    assert "do not hash to the signed root" in proven


def test_an_entry_that_is_not_in_its_tile_halts(synced, logs, checker):
    platform, store, before = synced

    def swap(true: bytes) -> bytes:
        from ledger.tiles import decode_bundle

        entries = decode_bundle(true)
        entries[5] = entries[5].replace(b'"temp_dc":250', b'"temp_dc":251')
        return encode_bundle(entries)

    platform.lies[BUNDLE] = body(swap)
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "bad-bundle", logs["vkey"])
    assert "entry 261 as received is not the entry" in proven


def test_a_logged_entry_with_a_bad_signature_halts_with_its_inclusion_proof(synced, logs, checker):
    platform, store, before = synced
    platform.root = logs["bad-signature"]
    exc, _ = attempt(platform, store, logs, checker)
    proven = assert_halted(store, before, exc, "bad-signature", logs["vkey"])
    assert f"entry {SIZES[1]} of the signed tree" in proven and "signature" in proven
    with store.engine.connect() as conn:
        row = conn.execute(select(st.misbehaviour)).mappings().one()
    assert row["proof"].startswith(b"c2sp.org/tlog-proof@v1\n")
    assert row["checkpoint_b"] == (logs["bad-signature"] / "checkpoint").read_bytes()


def test_evidence_that_was_tampered_with_proves_nothing(synced, logs, checker):
    """The checker is not a rubber stamp: an entry swapped for a good one, or a proof
    for another index, is refused."""
    platform, store, before = synced
    platform.root = logs["bad-signature"]
    exc, _ = attempt(platform, store, logs, checker)
    assert_halted(store, before, exc, "bad-signature", logs["vkey"])
    with store.engine.connect() as conn:
        row = dict(conn.execute(select(st.misbehaviour)).mappings().one())
    good = (logs[f"true-{SIZES[2]}"] / "tile/entries/000").read_bytes()
    for forged in (
        {**row, "offending_bytes": good[2 : 2 + int.from_bytes(good[:2], "big")]},
        {**row, "proof": row["proof"].replace(b"index 200", b"index 201")},
        {**row, "checkpoint_b": None, "kind": "fork", "checkpoint_a": row["checkpoint_b"]},
    ):
        with pytest.raises(EvidenceError):
            check_evidence(forged, logs["vkey"])


# ---- mutated bytes -------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=hs.data())
def test_mutated_checkpoints_never_crash_the_sync(synced, logs, checker, data):
    platform, store, before = synced
    true = (logs[f"true-{SIZES[2]}"] / "checkpoint").read_bytes()
    at = data.draw(hs.integers(0, len(true) - 1))
    how = data.draw(hs.sampled_from(["flip", "cut", "insert"]))
    if how == "flip":
        mutated = true[:at] + bytes([true[at] ^ data.draw(hs.integers(1, 255))]) + true[at + 1 :]
    elif how == "cut":
        mutated = true[:at]
    else:
        mutated = true[:at] + data.draw(hs.binary(min_size=1, max_size=8)) + true[at:]
    platform.lies[CHECKPOINT] = body(lambda _: mutated)
    exc, _ = attempt(platform, store, logs, checker)
    assert_offline(store, before, exc, "not a valid signed checkpoint")


# ---- the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("garbage status line", 1, "offline: the platform's answer is unusable"),
        ("fork", 3, "PLATFORM MISBEHAVIOUR (fork)"),
    ],
)
def test_main_sync_exits_with_its_code_and_one_clear_line(synced, logs, tmp_path, case, code, says):
    platform, store, _ = synced
    if case == "fork":
        platform.root = logs["fork-same"]
    else:
        path, lie, _ = OFFLINE_CASES[case]
        platform.lies[path] = lie
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "sync",
            "--platform",
            platform.url,
            "--log-key",
            logs["vkey"],
            "--db",
            store.url,
            "--workers",
            "0",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0].startswith(says), done.stderr


def test_an_unknown_signer_halts(logs, local_store, checker, tmp_path):
    """An entry signed by a key the log's registry never introduced."""
    from ledger.keys import SigningKey

    world = World()
    stranger = SigningKey.from_seed("p256", b"stranger")
    entries = [r.to_bytes() for r in world.registry()] + [
        sign_record(
            "heartbeat",
            {
                "meter_id": "M1",
                "pile_id": "P1",
                "seq": 1,
                "ref_ms": T0,
                "meter_ms": T0,
                "register_wh": 1,
                "temp_dc": 1,
            },
            stranger,
        ).to_bytes()
    ]
    _build(tmp_path / "u", entries, logs["skey"], {len(entries): tmp_path / "unknown"})
    platform = LyingPlatform(tmp_path / "unknown")
    before = snapshot(local_store)
    try:
        exc, _ = attempt(platform, local_store, logs, checker)
    finally:
        platform.stop()
    assert isinstance(exc, Misbehaviour) and exc.kind == "unknown-key"
    assert snapshot(local_store) == before
    with local_store.engine.connect() as conn:
        row = conn.execute(select(st.misbehaviour)).mappings().one()
    assert "is in the log; its signer is not in the log's registry" in check_evidence(
        row, logs["vkey"]
    )


def test_batches_end_at_their_byte_budget(synced, logs, checker, monkeypatch):
    """A log of big entries cannot fill the pipeline with gigabytes: a batch ends with
    the bundle that takes it past BATCH_BYTES (8 KiB here: one bundle per batch), and
    the sync still applies every entry, in order."""
    import app.models.sync as sync_module

    platform, store, _ = synced
    monkeypatch.setattr(sync_module, "BATCH_BYTES", 8192)
    steps: list[int] = []
    sync = LogSync(store, LogClient(platform.url, logs["vkey"]), checker)
    assert sync.sync_once(on_progress=lambda p: steps.append(p.done)).new_size == SIZES[2]
    sync.client.close()
    sync.close()
    ends = [SIZES[1] + done for done in steps]
    assert ends == [256, 512, SIZES[2]]  # without the budget: one batch of 320 entries
    with store.engine.connect() as conn:
        applied = [i for (i,) in conn.execute(select(st.entries.c.entry_index))]
    assert sorted(applied) == list(range(SIZES[2]))


def test_main_sync_with_an_unreachable_store_exits_4_with_one_line(logs, tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    done = subprocess.run(
        [
            sys.executable,
            "main.py",
            "sync",
            "--platform",
            str(tmp_path),
            "--log-key",
            logs["vkey"],
            "--db",
            f"sqlite:///{tmp_path / 'a-file' / 'ws.sqlite'}",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: cannot open the workstation store"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
