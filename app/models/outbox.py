"""Outbox of signed entries waiting to be uploaded to the platform (``POST /ingest``).

Why a directory of files and not a table: an inspector's laptop works offline
for days, and the only thing that must never happen is losing or doubling a
signed verification.  One file per entry, written to a temporary name,
fsync'ed and renamed into place (atomic on POSIX), gives exactly that with no
database to corrupt; the files are also what a support engineer can copy to
a USB stick when the network never comes back.

Layout under ``directory``::

    pending/<entry_id>.ndjson        one signed entry (one line), not yet accepted
    pending/<entry_id>.status.json   last attempt: HTTP status and the platform's reason
    sent/<entry_id>.ndjson           accepted (200) or already there (409)

Upload semantics (one entry per request, because ``/ingest`` is
all-or-nothing per request and a 409 must name exactly one entry):

* 200 accepted → moved to ``sent/``;
* 409 duplicate → the platform already has it (an earlier upload whose answer
  was lost) → moved to ``sent/`` as well: success, not an error;
* other 4xx → kept in ``pending/`` with the reason, shown to the inspector
  (e.g. 403 "unknown key" until the inspector's key is registered) and
  retried on the next upload;
* 5xx or a network error → kept, upload stops for now (the platform is
  unreachable; trying the rest would only wait for more timeouts).

A crash between "200" and the rename leaves the entry pending; the next
upload gets 409 and completes the move, so nothing is sent twice into the log.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ledger.records import Record

__all__ = ["Outbox", "OutboxEntry", "UploadReport"]

#: ``post(url, body) -> (status, response text)``; raises OSError on network failure.
Post = Callable[[str, bytes], tuple[int, str]]
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,120}$")


def http_post(url: str, body: bytes, timeout: float = 15.0) -> tuple[int, str]:
    """POST NDJSON with urllib (stdlib: no extra dependency on field laptops)."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _reason(text: str) -> str:
    """The platform answers ``{"error": "..."}``; fall back to the raw text."""
    try:
        obj = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(obj, dict) and "error" in obj:
        return str(obj["error"])
    return text.strip()[:500]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class OutboxEntry:
    entry_id: str
    subject: str
    state: str  # "pending" | "sent"
    attempts: int = 0
    last_status: int | None = None
    reason: str = ""
    queued_ms: int = 0


@dataclass
class UploadReport:
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)  # id -> reason (kept)
    unreachable: str = ""  # network/server error that stopped the upload

    @property
    def done(self) -> list[str]:
        return self.accepted + self.duplicates


class Outbox:
    """Pending signed entries on disk; :meth:`upload` sends them to ``{platform}/ingest``."""

    def __init__(self, directory: Path, platform_url: str = "", *, post: Post | None = None):
        self.directory = Path(directory)
        self.platform_url = platform_url.rstrip("/")
        self._post = post or http_post
        self.pending_dir = self.directory / "pending"
        self.sent_dir = self.directory / "sent"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.sent_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.pending_dir.glob(".*.tmp"):  # a crash mid-write: never renamed
            stale.unlink(missing_ok=True)

    # ------------------------------------------------------------- queue

    def enqueue(self, record: Record, entry_id: str | None = None) -> OutboxEntry:
        """Queue a signed record once: the same ``entry_id`` is never queued twice.

        ``entry_id`` defaults to the record's ``verification_id`` (or its leaf
        hash), so signing the same result again after a crash does not add a
        second, differently signed copy.
        """
        entry_id = entry_id or str(record.body.get("verification_id") or record.leaf_digest.hex())
        if not _SAFE_ID.match(entry_id):
            raise ValueError(f"outbox entry id {entry_id!r} has characters unsafe in a file name")
        for state_dir, state in ((self.pending_dir, "pending"), (self.sent_dir, "sent")):
            if (state_dir / f"{entry_id}.ndjson").exists():
                return self._entry(entry_id, state)
        _write_atomic(self.pending_dir / f"{entry_id}.ndjson", record.to_bytes() + b"\n")
        return self._entry(entry_id, "pending")

    def _status(self, entry_id: str) -> dict:
        path = self.pending_dir / f"{entry_id}.status.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def _entry(self, entry_id: str, state: str) -> OutboxEntry:
        folder = self.pending_dir if state == "pending" else self.sent_dir
        path = folder / f"{entry_id}.ndjson"
        try:
            subject = Record.parse(path.read_bytes().rstrip(b"\n")).subject
        except (OSError, ValueError):
            subject = entry_id
        status = self._status(entry_id) if state == "pending" else {}
        return OutboxEntry(
            entry_id,
            subject,
            state,
            attempts=status.get("attempts", 0),
            last_status=status.get("status"),
            reason=status.get("reason", ""),
            queued_ms=int(path.stat().st_mtime * 1000) if path.exists() else 0,
        )

    def pending(self) -> list[OutboxEntry]:
        """Entries not yet accepted, oldest first, with the last reason if any."""
        paths = sorted(self.pending_dir.glob("*.ndjson"), key=lambda p: (p.stat().st_mtime, p.name))
        return [self._entry(p.stem, "pending") for p in paths]

    def sent(self) -> list[OutboxEntry]:
        return [self._entry(p.stem, "sent") for p in sorted(self.sent_dir.glob("*.ndjson"))]

    # ------------------------------------------------------------- upload

    def upload(self) -> UploadReport:
        """Send every pending entry, one request each; see the module doc for outcomes."""
        if not self.platform_url:
            raise ValueError("no platform address configured for uploads")
        report = UploadReport()
        url = f"{self.platform_url}/ingest"
        for entry in self.pending():
            path = self.pending_dir / f"{entry.entry_id}.ndjson"
            data = path.read_bytes()
            try:
                status, text = self._post(url, data)
            except OSError as exc:  # URLError, timeouts, refused connections
                reason = str(getattr(exc, "reason", exc))
                self._note(entry, None, f"platform unreachable: {reason}")
                report.unreachable = reason
                break
            if status in (200, 409):
                self._mark_sent(entry.entry_id)
                (report.accepted if status == 200 else report.duplicates).append(entry.entry_id)
            elif 400 <= status < 500:
                reason = _reason(text)
                self._note(entry, status, reason)
                report.rejected[entry.entry_id] = reason
            else:
                reason = f"HTTP {status}: {_reason(text)}"
                self._note(entry, status, reason)
                report.unreachable = reason
                break
        return report

    def _note(self, entry: OutboxEntry, status: int | None, reason: str) -> None:
        body = {
            "attempts": entry.attempts + 1,
            "status": status,
            "reason": reason,
            "at_ms": int(time.time() * 1000),
        }
        path = self.pending_dir / f"{entry.entry_id}.status.json"
        _write_atomic(path, json.dumps(body, ensure_ascii=False).encode())

    def _mark_sent(self, entry_id: str) -> None:
        os.replace(self.pending_dir / f"{entry_id}.ndjson", self.sent_dir / f"{entry_id}.ndjson")
        _fsync_dir(self.sent_dir)
        (self.pending_dir / f"{entry_id}.status.json").unlink(missing_ok=True)
        _fsync_dir(self.pending_dir)
