"""The durable, deduplicating sequence of accepted entries.

One SQLite table is at once the write-ahead log (the row is committed before the
client is answered), the duplicate index (unique leaf hash) and the source of the
registry after a restart. Its row order *is* the log order: the integrator only
ever publishes a prefix of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ledger.records import Record
from ledger.registry import EntryHead, KeyRegistry, UnknownKeyError

REGISTRY_TYPES = frozenset({"authority", "operator", "inspector", "meter"})


class DuplicateEntry(ValueError):
    pass


@dataclass
class Candidate:
    """An entry that passed parsing and its signature check, waiting to be sequenced."""

    data: bytes
    leaf_hash: bytes
    head: EntryHead
    key_text: str


class Sequencer:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS entries ("
            " idx INTEGER PRIMARY KEY, leaf_hash BLOB NOT NULL UNIQUE,"
            " type TEXT NOT NULL, data BLOB NOT NULL)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS entries_type ON entries(type)")
        self.size = self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        self.registry = KeyRegistry()
        rows = self.db.execute(
            "SELECT data FROM entries WHERE type IN "
            "('authority', 'inspector', 'meter', 'operator') ORDER BY idx"
        )
        for (data,) in rows:
            self.registry.apply(Record.parse(data))

    def resolve(self, head: EntryHead) -> str:
        """The key text that must verify this entry, as the registry stands now."""
        return self.registry.signer_of(head).text

    def is_known(self, leaf_hash: bytes) -> bool:
        row = self.db.execute("SELECT 1 FROM entries WHERE leaf_hash=?", (leaf_hash,))
        return row.fetchone() is not None

    def append(self, batches: list[list[Candidate]]) -> list[tuple[int, str | None]]:
        """Sequences whole request batches; one commit (one fsync) for all of them.

        Returns, per batch, (first index, None) or (-1, reason). A batch is
        all-or-nothing: a duplicate or a key that changed under it since its
        signature was checked rejects the whole batch, and nothing of it is kept.
        """
        outcomes: list[tuple[int, str | None]] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for batch in batches:
                outcomes.append(self._append_one(batch))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return outcomes

    def _append_one(self, batch: list[Candidate]) -> tuple[int, str | None]:
        first = self.size
        self.db.execute("SAVEPOINT batch")
        snapshot = self.registry.copy()
        try:
            seen: set[bytes] = set()
            rows = []
            for i, cand in enumerate(batch):
                if cand.leaf_hash in seen or self.is_known(cand.leaf_hash):
                    raise DuplicateEntry(
                        f"line {i + 1}: {cand.head.subject}: duplicate entry "
                        f"(an identical entry was already accepted)"
                    )
                seen.add(cand.leaf_hash)
                key_text = self.resolve(cand.head)
                if key_text != cand.key_text:
                    raise UnknownKeyError(
                        f"line {i + 1}: {cand.head.subject}: the signer's key changed "
                        f"while the entry was being checked; resend it"
                    )
                if cand.head.type in REGISTRY_TYPES:
                    self.registry.apply(Record.parse(cand.data))
                rows.append((first + i, cand.leaf_hash, cand.head.type, cand.data))
            self.db.executemany("INSERT INTO entries VALUES (?,?,?,?)", rows)
        except (DuplicateEntry, UnknownKeyError) as exc:
            self.db.execute("ROLLBACK TO batch")
            self.db.execute("RELEASE batch")
            self.registry = snapshot
            return -1, str(exc)
        self.db.execute("RELEASE batch")
        self.size += len(batch)
        return first, None

    def read(self, start: int, end: int) -> list[bytes]:
        rows = self.db.execute(
            "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [data for (data,) in rows]

    def close(self) -> None:
        self.db.close()
