"""Reading a tlog-tiles log over HTTP (or from a directory): checkpoint, bundles, tiles.

Qt-free and stdlib-only on the network side (http.client with kept-alive
connections in a thread pool; urllib when a proxy is configured), so the
sync, the CLI and the tests share it. Every checkpoint is verified with the
pinned log key before anything else is read.

The platform is not trusted to behave: every answer is capped by what its type can
hold (`answer_cap`) and read no further than that, every request has one deadline
for connect + headers + body (a platform that trickles one byte every few seconds
cannot stall a sync), and whatever goes wrong on the wire or in decoding becomes a
`FetchError` (`BadAnswer` when the platform answered something unusable), never a
stray http.client or decoding exception.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
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

from ledger.cosignature import QuorumError, WitnessPolicy
from ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from ledger.tiles import MAX_ENTRY_SIZE, decode_bundle, entries_path, parse_tile_path

WIDTH = 256
HASH_SIZE = 32
MAX_CHECKPOINT_BYTES = 1 << 20
"""Cap on a checkpoint answer (1 MiB). A C2SP checkpoint is three lines plus a few
extension lines, and a signed note carries at most 100 signature lines (ledger.note
MAX_SIGNATURES, Go's limit): even with long key names and witness cosignatures that
is tens of KiB. 1 MiB leaves room for any legitimate note and keeps a hostile answer
harmless in memory."""
MAX_OTHER_BYTES = 1 << 20
"""Cap on any other path the client may be asked for (status pages and the like)."""
BUNDLES_IN_FLIGHT_BYTES = 64 << 20
"""About how many bytes of entry bundles `LogClient.bundles` holds fetched or in flight."""
RETRY_PAUSES_S = (0.1, 0.4)
"""A reset or refused connection, or a 5xx answer, is retried after these pauses: a busy
platform or a flaky office link should not stop a sync. Timeouts are not retried (they
already waited) and 4xx answers are final."""


class FetchError(OSError):
    """The platform could not be reached or answered with an error."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.status = url, status


class BadAnswer(FetchError):
    """The platform answered, but not with something usable: a garbled or non-HTTP
    answer, one larger than its type allows, a body cut short, a checkpoint that does
    not verify, an entry bundle that does not decode. Not proof of misbehaviour (a
    broken proxy or a truncated transfer does the same): the sync treats it as offline."""


def answer_cap(path: str) -> int:
    """The largest answer a tlog-tiles path can legitimately have, in bytes.

    * ``checkpoint``: `MAX_CHECKPOINT_BYTES`;
    * ``tile/<L>/<N>[.p/<W>]``: exactly W x 32 bytes (W = 256 for a full tile);
    * ``tile/entries/<N>[.p/<W>]``: W entries, each at most 65,535 bytes after its
      uint16 length prefix (c2sp.org/tlog-tiles), so W x 65,537 bytes (16 MiB + 512 B
      for a full bundle);
    * anything else: `MAX_OTHER_BYTES`.
    """
    bare = path.split("?", 1)[0]
    if bare == "checkpoint":
        return MAX_CHECKPOINT_BYTES
    if bare.startswith("tile/"):
        try:
            ref = parse_tile_path(bare)
        except ValueError:
            return MAX_OTHER_BYTES
        if bare.startswith("tile/entries/"):
            return ref.width * (2 + MAX_ENTRY_SIZE)
        return ref.width * HASH_SIZE
    return MAX_OTHER_BYTES


def _exact_size(path: str) -> int | None:
    """Hash tiles have one possible length; None for every other path."""
    bare = path.split("?", 1)[0]
    if bare.startswith("tile/") and not bare.startswith("tile/entries/"):
        try:
            return parse_tile_path(bare).width * HASH_SIZE
        except ValueError:
            return None
    return None


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class _HTTPStatus(Exception):
    """A non-2xx answer (internal: fetch turns it into a FetchError or a retry)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code


class LogClient:
    """Reads one log from one platform (``base`` URL or directory), distrusting it.

    ``timeout`` is the deadline of one whole request (connect, headers and body), in
    seconds: a platform that never answers and one that trickles its answer byte by
    byte are both given up on after it.

    With ``witnesses`` (a k-of-n `WitnessPolicy`, docs/witness.md) a checkpoint is
    accepted only with valid cosignatures of k named witnesses (`MissingCosignatures`
    otherwise); without it, the log's signature alone is checked, as before."""

    def __init__(
        self,
        base: str,
        vkey: str,
        origin: str | None = None,
        timeout: float = 15,
        witnesses: WitnessPolicy | None = None,
    ):
        self.base = base.rstrip("/")
        self.witnesses = witnesses
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
        self._watchdog = _Watchdog()
        # Kept-alive sockets are closed by close(), or when a forgotten client is collected.
        self._close_connections = weakref.finalize(
            self, _close_all, self._open, self._lock, self._watchdog
        )

    def fetch(self, path: str, timeout: float | None = None) -> bytes:
        """The answer at ``path``, at most `answer_cap` bytes, within ``timeout`` seconds
        (default: the client's) for the whole request. Raises `FetchError` (`BadAnswer`
        for an unusable answer) and nothing else."""
        cap = answer_cap(path)
        if not self.base.startswith(("http://", "https://")):
            data = self._read_file(Path(self.base) / path, cap)
        else:
            data = self._fetch_url(f"{self.base}/{path}", cap, timeout or self.timeout)
        exact = _exact_size(path)
        if exact is not None and len(data) != exact:
            raise BadAnswer(
                f"{self.base}/{path}",
                f"the tile has {len(data):,} bytes; a tile of this width has exactly "
                f"{exact:,} (truncated or garbled answer)",
            )
        return data

    @staticmethod
    def _read_file(file: Path, cap: int) -> bytes:
        try:
            with file.open("rb") as f:
                data = f.read(cap + 1)
        except OSError as exc:
            raise FetchError(str(file), exc.strerror or str(exc)) from exc
        if len(data) > cap:
            raise BadAnswer(str(file), f"larger than the {_mib(cap)} such a file can hold")
        return data

    def _fetch_url(self, url: str, cap: int, timeout: float) -> bytes:
        for attempt, pause in enumerate((*RETRY_PAUSES_S, None)):
            try:
                return self._get(url, cap, time.monotonic() + timeout)
            except _HTTPStatus as exc:
                if exc.code < 500 or pause is None:
                    raise FetchError(url, f"HTTP {exc.code}", exc.code) from exc
            except _DeadlineExceeded as exc:
                raise FetchError(
                    url,
                    f"no complete answer within {timeout:g} s (the platform or the network "
                    "is too slow, or the answer trickles in); the sync will try again later",
                ) from exc
            except _TooLarge as exc:
                raise BadAnswer(
                    url,
                    f"the answer is larger than the {_mib(cap)} this kind of file can hold "
                    f"({exc}); refused without reading it",
                ) from exc
            except http.client.IncompleteRead as exc:
                if pause is None:
                    raise BadAnswer(
                        url,
                        f"the answer was cut short ({len(exc.partial):,} bytes of "
                        f"{len(exc.partial) + (exc.expected or 0):,} announced)",
                    ) from exc
            except (urllib.error.URLError, OSError) as exc:  # RemoteDisconnected too
                reason = getattr(exc, "reason", exc)
                if pause is None or isinstance(reason, TimeoutError):
                    tries = f" after {attempt + 1} tries" if attempt else ""
                    raise FetchError(url, f"cannot connect ({reason}){tries}") from exc
            except http.client.HTTPException as exc:
                # A garbled status line, a non-HTTP answer, too many or too long headers:
                # whoever is listening there is not a working platform. Not retried.
                raise BadAnswer(
                    url, f"not a valid HTTP answer ({type(exc).__name__}: {str(exc)[:80]})"
                ) from exc
            except ValueError as exc:  # e.g. an unparsable redirect or header value
                raise BadAnswer(url, f"unusable answer ({str(exc)[:80]})") from exc
            time.sleep(pause)  # back-off before retrying a reset or refused connection
        raise AssertionError("unreachable")

    def _get(self, url: str, cap: int, deadline: float, redirects: int = 5) -> bytes:
        """One GET: over this thread's kept-alive connection to the platform, or through
        urllib when a proxy is configured for it (urllib honours the proxy settings).
        Redirects are followed (a platform moved behind a CDN), as urllib did, within
        the same deadline."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"cannot follow a link to {url[:80]!r}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlineExceeded
        if self._proxied(parts):
            return self._get_proxied(url, cap, deadline)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for reused in (True, False):
            conn, fresh = self._connection(parts, remaining)
            ticket = self._watchdog.arm(deadline, conn)
            answer: http.client.HTTPResponse | None = None
            try:
                conn.request("GET", target, headers={"Accept-Encoding": "identity"})
                answer = conn.getresponse()
                data = _read_capped(answer, cap)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._drop(parts, answer)
                if self._watchdog.disarm(ticket):
                    raise _DeadlineExceeded from None
                if fresh or not reused:
                    raise
                continue  # the platform closed an idle kept-alive connection: reconnect once
            except BaseException:
                self._drop(parts, answer)
                if self._watchdog.disarm(ticket):
                    raise _DeadlineExceeded from None
                raise
            if self._watchdog.disarm(ticket):
                self._drop(parts, answer)  # cut off by the deadline: may be partial
                raise _DeadlineExceeded
            location = answer.getheader("Location")
            if answer.status in (301, 302, 303, 307, 308) and location and redirects > 0:
                return self._get(urllib.parse.urljoin(url, location), cap, deadline, redirects - 1)
            if answer.status >= 300:
                raise _HTTPStatus(answer.status)
            return data
        raise AssertionError("unreachable")

    def _get_proxied(self, url: str, cap: int, deadline: float) -> bytes:
        """Through a configured proxy, by urllib. The deadline is checked between reads,
        each of which may wait at most the time left."""
        try:
            with urllib.request.urlopen(url, timeout=deadline - time.monotonic()) as answer:
                length = answer.length
                if length is not None and length > cap:
                    raise _TooLarge(f"{length:,} bytes announced")
                chunks, total = [], 0
                while True:
                    if time.monotonic() > deadline:
                        raise _DeadlineExceeded
                    piece = answer.read1(min(1 << 16, cap + 1 - total))
                    if not piece:
                        return b"".join(chunks)
                    chunks.append(piece)
                    total += len(piece)
                    if total > cap:
                        raise _TooLarge(f"more than {cap:,} bytes sent")
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the answer's socket
            raise _HTTPStatus(exc.code) from exc
        except TimeoutError as exc:
            raise _DeadlineExceeded from exc

    def _proxied(self, parts: urllib.parse.SplitResult) -> bool:
        return parts.scheme in self._proxies and not urllib.request.proxy_bypass(parts.netloc)

    def _connection(
        self, parts: urllib.parse.SplitResult, timeout: float
    ) -> tuple[http.client.HTTPConnection, bool]:
        """(this thread's connection to the platform, whether it is new). ``timeout``
        bounds the connect and each read; the watchdog bounds the whole request."""
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

    def _drop(
        self, parts: urllib.parse.SplitResult, answer: http.client.HTTPResponse | None = None
    ) -> None:
        """Closes this thread's connection to the platform and ``answer`` (the response
        being read when the request failed), so the socket is closed now, not when the
        garbage collector finds it.

        A socket's descriptor is released only once the socket *and* every file made
        from it are closed. An answer without a length (``Connection: close``) owns the
        socket alone (http.client closes the connection at once and hands it over), and
        an answer cut off mid-read is not closed by http.client: left to the traceback
        that holds it, its descriptor stayed open until a garbage collection, which then
        warned "unclosed <socket.socket [closed] fd=...>" in whatever code it ran in."""
        if answer is not None:
            with contextlib.suppress(OSError):
                answer.close()
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
        try:
            checkpoint, _ = open_checkpoint(note, self.verifier, self.origin)
        except (NoteError, ValueError) as exc:  # UnicodeError is a ValueError
            raise BadCheckpoint(
                f"{self.base}/checkpoint",
                f"not a valid signed checkpoint of {self.origin} ({exc})",
                note,
            ) from exc
        if self.witnesses is not None:
            what = f"the checkpoint of {self.origin} at size {checkpoint.size}"
            try:
                self.witnesses.check(note, what)
            except QuorumError as exc:
                raise MissingCosignatures(f"{self.base}/checkpoint", str(exc), note, exc) from exc
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
        try:
            entries = decode_bundle(data)
        except ValueError as exc:
            raise BadAnswer(f"{self.base}/{entries_path(index, width)}", str(exc)) from exc
        if len(entries) < width:
            raise BadAnswer(
                f"{self.base}/{entries_path(index, width)}",
                f"the entry bundle holds {len(entries)} entries, {width} expected",
            )
        return entries[:width]

    def entries(self, start: int, end: int, tree_size: int) -> Iterator[tuple[int, bytes]]:
        """Entries [start, end) in order, with up to 32 bundle fetches in flight."""
        for first, entries in self.bundles(start, end, tree_size):
            yield from zip(range(first, first + len(entries)), entries)

    def bundles(self, start: int, end: int, tree_size: int) -> Iterator[tuple[int, list[bytes]]]:
        """Entries [start, end) in order, as (index of the first, entries) a bundle at a
        time (the sync takes them in lists: no generator step per entry), with up to 32
        bundle fetches in flight.

        Fewer when bundles are big: a bundle may legitimately hold up to 16 MiB, so the
        number in flight is kept to about `BUNDLES_IN_FLIGHT_BYTES` / the largest seen
        (it starts at 4 until sizes are known); a log of ordinary records (~100 KiB
        bundles) keeps all 32."""
        from collections import deque

        first, last = start // WIDTH, (end - 1) // WIDTH
        pending: deque = deque()
        following = first
        window, largest = 4, 1
        while pending or following <= last:
            while following <= last and len(pending) < window:
                pending.append((following, self._pool.submit(self.bundle, following, tree_size)))
                following += 1
            i, future = pending.popleft()
            entries = future.result()
            size = sum(map(len, entries)) + 2 * len(entries)
            if size > largest:
                largest = size
            window = max(2, min(32, BUNDLES_IN_FLIGHT_BYTES // largest))
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


def _close_all(
    opened: list[http.client.HTTPConnection], lock: threading.Lock, watchdog: _Watchdog
) -> None:
    watchdog.stop()
    with lock:
        connections = list(opened)
        opened.clear()
    for conn in connections:
        conn.close()


class BadCheckpoint(BadAnswer):
    """The checkpoint answer is not a checkpoint of this log signed by its pinned key.
    Anybody can produce such bytes, so they prove nothing against the platform; they are
    kept (``note``) only to show the regulator what was received."""

    def __init__(self, url: str, reason: str, note: bytes) -> None:
        super().__init__(url, reason)
        self.note = note


class MissingCosignatures(BadCheckpoint):
    """The checkpoint is the log's, but too few of the office's named witnesses cosigned it
    (ledger.cosignature). Not proof against the platform either (witnesses may be down),
    but nothing from it is applied: it may be a view the witnesses never saw."""

    def __init__(self, url: str, reason: str, note: bytes, quorum: QuorumError) -> None:
        super().__init__(url, reason, note)
        self.quorum = quorum


class _DeadlineExceeded(Exception):
    """The request's deadline passed (internal: fetch turns it into a FetchError)."""


class _TooLarge(Exception):
    """The answer exceeds its cap (internal: fetch turns it into a BadAnswer)."""


def _read_capped(answer: http.client.HTTPResponse, cap: int) -> bytes:
    """The body, never reading more than ``cap`` + 1 bytes of it. An announced length
    over the cap is refused before reading; a chunked or close-delimited body is read
    up to cap + 1 bytes and refused if it reaches that."""
    length = answer.length  # None when chunked or delimited by closing the connection
    if length is not None:
        if length > cap:
            raise _TooLarge(f"{length:,} bytes announced")
        return answer.read()  # IncompleteRead if the body is shorter than announced
    data = answer.read(cap + 1)
    if len(data) > cap:
        raise _TooLarge(f"more than {cap:,} bytes sent")
    return data


class _Watchdog:
    """Enforces whole-request deadlines: when a request's deadline passes, its socket is
    shut down, which ends whatever read or write is blocked on it. Socket timeouts alone
    cannot do this: they bound each read, and a platform that sends one byte per read
    keeps resetting them.

    One thread per client, started with the first request; ``arm`` and ``disarm`` are
    a heap push and a flag, cheap enough for the thousands of requests of a sync."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list] = []  # [deadline, seq, conn, state]; state: 0 armed, 1 done, 2 fired
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def arm(self, deadline: float, conn: http.client.HTTPConnection) -> list:
        ticket = [deadline, next(self._seq), conn, 0]
        with self._cond:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, ticket)
            if self._heap[0] is ticket:
                self._cond.notify()
        return ticket

    def disarm(self, ticket: list) -> bool:
        """Ends the watch; True if the deadline had already cut the request off."""
        with self._cond:
            fired = ticket[3] == 2
            ticket[3] = 1
            ticket[2] = None
            return fired

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                heap = self._heap
                while heap and heap[0][3] == 1:
                    heapq.heappop(heap)
                if not heap:
                    self._cond.wait()
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                ticket = heapq.heappop(heap)
                ticket[3] = 2
                sock = getattr(ticket[2], "sock", None)
                ticket[2] = None
                if sock is not None:  # the plain socket's shutdown, also under TLS
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
