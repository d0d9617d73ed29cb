"""Reading a tlog-tiles log over HTTP (or from a directory): checkpoint, bundles, tiles.

Qt-free and stdlib-only on the network side (http.client with kept-alive
connections in a thread pool; urllib when a proxy is configured), so the
sync, the CLI and the tests share it. Every checkpoint is verified with the
pinned log key before anything else is read.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ledger.note import Checkpoint, Verifier, open_checkpoint
from ledger.tiles import decode_bundle, entries_path

WIDTH = 256
RETRY_PAUSES_S = (0.1, 0.4)
"""A reset or refused connection, or a 5xx answer, is retried after these pauses: a busy
platform or a flaky office link should not stop a sync. Timeouts are not retried (they
already waited) and 4xx answers are final."""


class FetchError(OSError):
    """The platform could not be reached or answered with an error."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.status = url, status


class _HTTPStatus(Exception):
    """A non-2xx answer (internal: fetch turns it into a FetchError or a retry)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code


class LogClient:
    def __init__(self, base: str, vkey: str, origin: str | None = None, timeout: float = 15):
        self.base = base.rstrip("/")
        self.verifier = Verifier(vkey)
        self.origin = origin or self.verifier.name
        self.timeout = timeout
        self.long_poll_wait = 20.0
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="fetch")
        # One kept-alive connection per thread and platform: a sync makes thousands of
        # small requests, and a new TCP (and TLS) handshake for each one costs CPU here
        # and round trips on a field laptop's mobile link.
        self._local = threading.local()
        self._proxies = urllib.request.getproxies()  # http_proxy etc., read once
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPConnection] = []
        # Kept-alive sockets are closed by close(), or when a forgotten client is collected.
        self._close_connections = weakref.finalize(self, _close_all, self._open, self._lock)

    def fetch(self, path: str, timeout: float | None = None) -> bytes:
        if not self.base.startswith(("http://", "https://")):
            file = Path(self.base) / path
            try:
                return file.read_bytes()
            except OSError as exc:
                raise FetchError(str(file), exc.strerror or str(exc)) from exc
        url = f"{self.base}/{path}"
        for attempt, pause in enumerate((*RETRY_PAUSES_S, None)):
            try:
                return self._get(url, timeout or self.timeout)
            except _HTTPStatus as exc:
                if exc.code < 500 or pause is None:
                    raise FetchError(url, f"HTTP {exc.code}", exc.code) from exc
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if pause is None or isinstance(reason, TimeoutError):
                    tries = f" after {attempt + 1} tries" if attempt else ""
                    raise FetchError(url, f"cannot connect ({reason}){tries}") from exc
            time.sleep(pause)  # back-off before retrying a reset or refused connection
        raise AssertionError("unreachable")

    def _get(self, url: str, timeout: float, redirects: int = 5) -> bytes:
        """One GET: over this thread's kept-alive connection to the platform, or through
        urllib when a proxy is configured for it (urllib honours the proxy settings).
        Redirects are followed (a platform moved behind a CDN), as urllib did."""
        parts = urllib.parse.urlsplit(url)
        if self._proxied(parts):
            try:
                with urllib.request.urlopen(url, timeout=timeout) as answer:
                    return answer.read()
            except urllib.error.HTTPError as exc:
                exc.close()  # it holds the answer's socket
                raise _HTTPStatus(exc.code) from exc
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for reused in (True, False):
            conn, fresh = self._connection(parts, timeout)
            try:
                conn.request("GET", target, headers={"Accept-Encoding": "identity"})
                answer = conn.getresponse()
                data = answer.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(parts)
                if fresh or not reused:
                    raise
                continue  # the platform closed an idle kept-alive connection: reconnect once
            except BaseException:
                self._drop(parts)
                raise
            location = answer.getheader("Location")
            if answer.status in (301, 302, 303, 307, 308) and location and redirects > 0:
                return self._get(urllib.parse.urljoin(url, location), timeout, redirects - 1)
            if answer.status >= 300:
                raise _HTTPStatus(answer.status)
            return data
        raise AssertionError("unreachable")

    def _proxied(self, parts: urllib.parse.SplitResult) -> bool:
        return parts.scheme in self._proxies and not urllib.request.proxy_bypass(parts.netloc)

    def _connection(
        self, parts: urllib.parse.SplitResult, timeout: float
    ) -> tuple[http.client.HTTPConnection, bool]:
        """(this thread's connection to the platform, whether it is new)."""
        key = (parts.scheme, parts.netloc)
        mine: dict = self._local.__dict__.setdefault("connections", {})
        conn = mine.get(key)
        fresh = conn is None
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    parts.netloc, timeout=timeout, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
            mine[key] = conn
            with self._lock:
                self._open.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, fresh

    def _drop(self, parts: urllib.parse.SplitResult) -> None:
        conn = self._local.__dict__.get("connections", {}).pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._open:
                    self._open.remove(conn)

    def checkpoint(
        self, after: int | None = None, wait: float | None = None
    ) -> tuple[Checkpoint, bytes]:
        """The latest checkpoint, signature verified. With ``after``, long-polls for a
        bigger one (a server without long-poll simply answers at once)."""
        wait = self.long_poll_wait if wait is None else wait
        path = "checkpoint" if after is None else f"checkpoint?after={after}&wait={wait}"
        note = self.fetch(path, timeout=(wait + self.timeout) if after is not None else None)
        checkpoint, _ = open_checkpoint(note, self.verifier, self.origin)
        return checkpoint, note

    def bundle(self, index: int, tree_size: int) -> list[bytes]:
        """Entry bundle ``index`` as it stands in a tree of ``tree_size`` entries."""
        width = min(WIDTH, tree_size - index * WIDTH)
        try:
            data = self.fetch(entries_path(index, width))
        except FetchError as exc:
            if exc.status != 404 or width == WIDTH:
                raise
            data = self.fetch(entries_path(index, WIDTH))  # the partial was superseded
        entries = decode_bundle(data)
        if len(entries) < width:
            raise ValueError(f"entry bundle {index} holds {len(entries)} entries, expected {width}")
        return entries[:width]

    def entries(self, start: int, end: int, tree_size: int) -> Iterator[tuple[int, bytes]]:
        """Entries [start, end) in order, with up to 32 bundle fetches in flight."""
        for first, entries in self.bundles(start, end, tree_size):
            yield from zip(range(first, first + len(entries)), entries)

    def bundles(self, start: int, end: int, tree_size: int) -> Iterator[tuple[int, list[bytes]]]:
        """Entries [start, end) in order, as (index of the first, entries) a bundle at a
        time (the sync takes them in lists: no generator step per entry), with up to 32
        bundle fetches in flight."""
        from collections import deque

        first, last = start // WIDTH, (end - 1) // WIDTH
        pending: deque = deque()
        following = first
        while pending or following <= last:
            while following <= last and len(pending) < 32:
                pending.append((following, self._pool.submit(self.bundle, following, tree_size)))
                following += 1
            i, future = pending.popleft()
            entries = future.result()
            lo, hi = max(start - i * WIDTH, 0), min(end - i * WIDTH, len(entries))
            if lo < hi:
                whole = (lo, hi) == (0, len(entries))
                yield i * WIDTH + lo, entries if whole else entries[lo:hi]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._close_connections()

    def __enter__(self) -> LogClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close_all(opened: list[http.client.HTTPConnection], lock: threading.Lock) -> None:
    with lock:
        connections = list(opened)
        opened.clear()
    for conn in connections:
        conn.close()
