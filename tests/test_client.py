"""The log client retries what a busy platform or a flaky link does, and nothing else."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from ledger.client import RETRY_PAUSES_S, BadAnswer, FetchError, LogClient
from ledger.note import generate_signer


def payload(path: str) -> bytes:
    """A valid answer for ``path``: a hash tile has exactly 256 x 32 bytes."""
    return b"h" * 8192 if path.lstrip("/").startswith("tile/0/") else b"payload"


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers each path from a script: a list of status codes, the last one repeating."""

    script: ClassVar[dict[str, list[int]]] = {}
    seen: ClassVar[dict[str, int]] = {}

    def do_GET(self) -> None:
        count = self.seen.get(self.path, 0)
        self.seen[self.path] = count + 1
        codes = self.script[self.path]
        code = codes[min(count, len(codes) - 1)]
        body = payload(self.path) if code == 200 else b"no"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(base: type, **fresh: object) -> Iterator[tuple[LogClient, type]]:
    """A client of a loopback server whose handler is a subclass of ``base`` with its own
    ``fresh`` class state (scripts, counters)."""
    handler = type("Handler", (base,), fresh)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _, vkey = generate_signer("retry.example/log")
    client = LogClient(f"http://127.0.0.1:{server.server_address[1]}", vkey)
    yield client, handler
    client.close()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def flaky() -> Iterator[tuple[LogClient, type[_Flaky]]]:
    yield from _serve(_Flaky, script={}, seen={})


def test_server_error_is_retried_then_succeeds(flaky) -> None:
    client, handler = flaky
    handler.script["/tile/0/000"] = [503, 502, 200]
    assert client.fetch("tile/0/000") == payload("tile/0/000")
    assert handler.seen["/tile/0/000"] == 3


def test_persistent_server_error_gives_up_after_the_retries(flaky) -> None:
    client, handler = flaky
    handler.script["/checkpoint"] = [503]
    with pytest.raises(FetchError, match="HTTP 503") as info:
        client.fetch("checkpoint")
    assert info.value.status == 503
    assert handler.seen["/checkpoint"] == len(RETRY_PAUSES_S) + 1


def test_not_found_is_final_at_once(flaky) -> None:
    client, handler = flaky
    handler.script["/tile/entries/001"] = [404, 200]
    with pytest.raises(FetchError, match="HTTP 404"):
        client.fetch("tile/entries/001")
    assert handler.seen["/tile/entries/001"] == 1


def test_refused_connection_is_retried_and_reported() -> None:
    _, vkey = generate_signer("retry.example/log")
    client = LogClient("http://127.0.0.1:1", vkey)
    try:
        with pytest.raises(FetchError, match=r"cannot connect .* after 3 tries"):
            client.fetch("checkpoint")
    finally:
        client.close()


def test_bundles_and_entries_cover_exactly_the_range(tmp_path) -> None:
    """Bundle-at-a-time reading (the sync's) yields what entry-at-a-time reading does:
    the range asked for, in order, with the right indexes, at bundle edges too."""
    from ledger.tiles import TileLog

    log = TileLog(tmp_path, fsync=False)
    data = [f"entry {i}".encode() for i in range(700)]
    log.append(data)
    _, vkey = generate_signer("dir.example/log")
    client = LogClient(str(tmp_path), vkey)
    try:
        for start, end in [(0, 700), (0, 256), (255, 257), (300, 301), (512, 700), (10, 10)]:
            want = list(enumerate(data))[start:end]
            assert list(client.entries(start, end, 700)) == want
            got = [
                (first + k, entry)
                for first, entries in client.bundles(start, end, 700)
                for k, entry in enumerate(entries)
            ]
            assert got == want
    finally:
        client.close()


class _KeptAlive(_Flaky):
    """HTTP/1.1: connections stay open; records each connection's client port, and can
    drop a connection silently after answering, as a platform's idle timeout does."""

    protocol_version = "HTTP/1.1"
    ports: ClassVar[list[int]] = []
    drop_after: ClassVar[set[str]] = set()

    redirect: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        self.ports.append(self.client_address[1])
        if self.path in self.redirect:
            self.send_response(301)
            self.send_header("Location", self.redirect[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()
        if self.path in self.drop_after:
            self.close_connection = True  # no "Connection: close": the client finds out later


@pytest.fixture
def kept_alive() -> Iterator[tuple[LogClient, type[_KeptAlive]]]:
    yield from _serve(_KeptAlive, script={}, seen={}, ports=[], drop_after=set(), redirect={})


def test_requests_share_one_kept_alive_connection(kept_alive) -> None:
    client, handler = kept_alive
    for k in range(20):
        handler.script[f"/tile/0/{k:03d}"] = [200]
        assert client.fetch(f"tile/0/{k:03d}") == payload(f"tile/0/{k:03d}")
    assert len(handler.ports) == 20 and len(set(handler.ports)) == 1


def test_a_connection_the_platform_dropped_is_reopened(kept_alive) -> None:
    client, handler = kept_alive
    handler.script["/checkpoint"] = [200]
    handler.script["/tile/0/000"] = [200]
    handler.drop_after.add("/checkpoint")
    assert client.fetch("checkpoint") == payload("checkpoint")
    assert client.fetch("tile/0/000") == payload("tile/0/000")  # the kept connection was dead
    assert handler.seen["/tile/0/000"] == 1 and len(set(handler.ports)) == 2


def test_redirects_are_followed(kept_alive) -> None:
    """A platform moved behind a redirect (a CDN, a new path) still syncs, as with urllib."""
    client, handler = kept_alive
    handler.script["/tile/0/000"] = [200]
    handler.redirect = {"/old/tile/0/000": "/tile/0/000"}
    moved = LogClient(client.base + "/old", generate_signer("retry.example/log")[1])
    try:
        assert moved.fetch("tile/0/000") == payload("tile/0/000")
    finally:
        moved.close()


def test_reconnections_do_not_pile_up(kept_alive) -> None:
    """A platform that closes every kept connection: each request reconnects, and the
    client keeps one connection, not one per request."""
    client, handler = kept_alive
    handler.script["/checkpoint"] = [200]
    handler.drop_after.add("/checkpoint")
    for _ in range(30):
        assert client.fetch("checkpoint") == payload("checkpoint")
    assert len(client._open) <= 1


@pytest.mark.parametrize(
    ("path", "cap"),
    [
        ("checkpoint", 1 << 20),
        ("checkpoint?after=5&wait=20", 1 << 20),
        ("tile/0/000", 256 * 32),  # c2sp.org/tlog-tiles: a full tile is 256 hashes
        ("tile/3/x001/234.p/7", 7 * 32),  # a partial tile of width 7
        ("tile/entries/x002/000", 256 * (2 + 65535)),  # uint16 length prefix per entry
        ("tile/entries/001.p/3", 3 * (2 + 65535)),
        ("status", 1 << 20),
    ],
)
def test_answer_caps_follow_the_tlog_tiles_maxima(path, cap) -> None:
    from ledger.client import answer_cap

    assert answer_cap(path) == cap


def test_a_directory_log_is_capped_too(tmp_path) -> None:
    """A log read from files (a copied field package) gets the same limits as HTTP."""
    (tmp_path / "tile" / "0").mkdir(parents=True)
    (tmp_path / "tile" / "0" / "000").write_bytes(b"\0" * (8192 + 1))
    (tmp_path / "checkpoint").write_bytes(b"x" * ((1 << 20) + 1))
    client = LogClient(str(tmp_path), generate_signer("dir.example/log")[1])
    try:
        for path in ("tile/0/000", "checkpoint"):
            with pytest.raises(BadAnswer, match="larger than"):
                client.fetch(path)
    finally:
        client.close()
