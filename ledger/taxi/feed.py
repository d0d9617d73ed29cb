"""The taxi suspension list as a signed document (docs/taxi-status.md, the contract).

The platform computes the status of every taxi (`ledger.taxi.status`) at its latest
checkpoint and signs, with the log's own key, a C2SP signed note that names the log,
the tree (size and root hash) the list was computed at, and one line per taxi::

    taxi-status v1
    origin <log origin>
    size <tree size>
    root <base64 root hash>
    sequence <list sequence = tree size>
    as-of <Unix ms>
    list full                  (or: list since <N>, the changes since the list at size N)
    count <number of lines that follow>
    <plate> <meter serial> <status> <evidence>
    ...
    (blank line, then the signature line of the log key)

The first line is never a log origin, so the same key's checkpoints and lists cannot be
taken for each other (a checkpoint's second line is a decimal size).

Why the sequence is the tree size: it only grows with the log, survives a platform
restart without any state of its own, and anyone can recompute the list at it.
"""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger import kinds
from ledger.note import Signer, sign_note
from ledger.taxi.status import TaxiLedger, TaxiStatus

HEADER = "taxi-status v1"
MAX_HISTORY = 32
"""Lists kept in memory by tree size (the sizes recently served), to answer ``since=N``.
A list of 10,000 taxis is a few MB at most: 32 of them stay well under the platform's
memory; an older N is answered 410 (fetch the full list)."""
READ_STEP = 65_536


class FeedError(kinds.FeedError):
    """A request the feed cannot answer (``since`` beyond the list, not a number)."""


class ListGone(FeedError, kinds.FeedGone):
    """``since=N`` names a list the platform no longer holds (HTTP 410)."""


class DocumentError(ValueError):
    """Bytes that are not a well-formed taxi-status document."""


@dataclass(frozen=True)
class StatusDocument:
    """A parsed (not yet verified against the log) taxi-status note text."""

    origin: str
    size: int
    root: bytes
    sequence: int
    as_of_ms: int
    since: int | None
    lines: tuple[str, ...]

    def text(self) -> str:
        kind = "full" if self.since is None else f"since {self.since}"
        head = [
            HEADER,
            f"origin {self.origin}",
            f"size {self.size}",
            f"root {base64.b64encode(self.root).decode()}",
            f"sequence {self.sequence}",
            f"as-of {self.as_of_ms}",
            f"list {kind}",
            f"count {len(self.lines)}",
        ]
        return "\n".join([*head, *self.lines]) + "\n"

    def statuses(self) -> list[TaxiStatus]:
        return [TaxiStatus.parse(line) for line in self.lines]

    @classmethod
    def parse(cls, text: str) -> StatusDocument:
        """Strict: every header line in order, decimals without leading zeros, exactly
        ``count`` status lines, each of which parses; raises DocumentError."""
        lines = text.split("\n")
        if lines[-1] != "" or len(lines) < 9:
            raise DocumentError("not a taxi-status document: too short or no final newline")
        lines.pop()
        if lines[0] != HEADER:
            raise DocumentError(f"not a taxi-status document: first line {lines[0][:40]!r}")
        fields = {}
        for i, name in enumerate(("origin", "size", "root", "sequence", "as-of", "list", "count")):
            line = lines[i + 1]
            if not line.startswith(name + " "):
                raise DocumentError(f"taxi-status line {i + 2} must start with {name!r}")
            fields[name] = line[len(name) + 1 :]
        try:
            size, sequence, as_of, count = (
                _decimal(fields[n]) for n in ("size", "sequence", "as-of", "count")
            )
            root = binascii.a2b_base64(fields["root"], strict_mode=True)
        except (ValueError, binascii.Error) as exc:
            raise DocumentError(f"taxi-status header: {exc}") from None
        if len(root) != 32:
            raise DocumentError("taxi-status root is not a 32-byte hash")
        kind = fields["list"]
        if kind == "full":
            since = None
        elif kind.startswith("since "):
            try:
                since = _decimal(kind[6:])
            except ValueError as exc:
                raise DocumentError(f"taxi-status list line: {exc}") from None
        else:
            raise DocumentError(f"taxi-status list line {kind[:40]!r}: 'full' or 'since N'")
        body = tuple(lines[8:])
        if len(body) != count:
            raise DocumentError(f"taxi-status count says {count} lines, {len(body)} follow")
        for line in body:
            try:
                TaxiStatus.parse(line)
            except ValueError as exc:
                raise DocumentError(str(exc)) from None
        return cls(fields["origin"], size, root, sequence, as_of, since, body)


def _decimal(text: str) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise ValueError(f"{text[:30]!r} is not a decimal without leading zeros")
    if len(text) > 19:
        raise ValueError(f"{text[:30]!r} is too large")
    return int(text)


def changes(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    """The lines of ``new`` whose taxi is not in ``old`` or whose line changed, in
    ``new``'s order (plates are never removed from a list: vehicles stay registered)."""
    before = {TaxiStatus.parse(line).plate: line for line in old}
    return tuple(line for line in new if before.get(TaxiStatus.parse(line).plate) != line)


def lines_of(ledger: TaxiLedger) -> tuple[str, ...]:
    return tuple(status.line() for status in ledger.statuses())


class TaxiFeed:
    """The platform's side: an incremental projection of the log and the lists it
    served, by tree size. Not thread-safe: the platform calls it on its integrator
    thread, the one that writes the tiles it reads."""

    def __init__(self, origin: str, signer: Signer) -> None:
        self.origin, self.signer = origin, signer
        self.ledger = TaxiLedger()
        self.history: OrderedDict[int, tuple[int, tuple[str, ...]]] = OrderedDict()
        """tree size -> (as-of ms, lines)"""

    def _list_at(self, size: int, read: Callable[[int, int], list[bytes]]) -> tuple[int, tuple]:
        held = self.history.get(size)
        if held is not None:
            self.history.move_to_end(size)
            return held
        if size == 0:
            return 0, ()
        if size < self.ledger.size:
            # Replaying the log from entry 0 for any old N would let one request hold the
            # integrator thread for minutes on a city's log: the client asks for the full
            # list instead (docs/taxi-status.md, 410).
            raise ListGone(
                f"the list at sequence {size} is no longer held by the platform; fetch the "
                "full list (without since) and compare it with yours"
            )
        ledger = self.ledger
        while ledger.size < size:
            start = ledger.size
            for i, data in enumerate(read(start, min(size, start + READ_STEP)), start):
                ledger.apply(i, data)
        held = (ledger.as_of_ms, lines_of(ledger))
        self.history[size] = held
        while len(self.history) > MAX_HISTORY:
            self.history.popitem(last=False)
        return held

    def document(
        self,
        size: int,
        root: bytes,
        read: Callable[[int, int], list[bytes]],
        since: int | None = None,
    ) -> bytes:
        """The signed list at tree ``size`` (whose root is ``root``), in full or as the
        changes since the list at ``since``. ``read(start, end)`` gives log entries."""
        if since is not None and not 0 <= since <= size:
            raise FeedError(
                f"since={since} is not a list sequence of this log: the latest list is at "
                f"sequence {size}; ask again without since for the full list"
            )
        as_of, lines = self._list_at(size, read)
        if since is not None:
            lines = changes(self._list_at(since, read)[1], lines)
        document = StatusDocument(self.origin, size, root, size, as_of, since, lines)
        return sign_note(document.text(), self.signer)
