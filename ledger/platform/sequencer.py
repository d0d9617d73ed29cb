"""The durable, deduplicating sequence of accepted entries.

One SQLite table is at once the write-ahead log (the row is committed before the
client is answered), the duplicate index and the source of the registry after a
restart. Its row order *is* the log order: the integrator only ever publishes a
prefix of it.

Duplicates are found by record identity (type, signer and canonical body: see
`ledger.records.identity_of`), not by the entry's bytes: a second signature over a
logged body — the ECDSA twin (r, n − s) anyone can compute, or the signer signing
again — is the same record and is refused with the first entry's index. The
``records`` table maps identity → first index; it is filled for older data
directories on start.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ledger.records import KEY_TYPES, OWNED_TYPES, OWNERSHIP, Record, identity_of_entry
from ledger.registry import TRANSFERABLE, EntryHead, KeyRegistry, Owners, UnknownKeyError

REGISTRY_TYPES = KEY_TYPES  # live: the registered kinds add their signers (ledger.kinds)


def _rebuild_types() -> list[str]:
    """Types that rebuild the signer registry and the owners on start: every registered
    kind's key-bearing and owning records (a fixed charging list forgot a fuel kind's
    dispensers, stations and tanks after a restart)."""
    return sorted(set(REGISTRY_TYPES) | {t for t in OWNED_TYPES if OWNERSHIP[t].own})


class DuplicateEntry(ValueError):
    """The record is already in the log (``first_index``): HTTP 409."""

    def __init__(self, message: str, first_index: int) -> None:
        super().__init__(message)
        self.first_index = first_index


class HighS(ValueError):
    """A P-256 signature with s > n/2: refused for new records (docs/records.md)."""


@dataclass
class Candidate:
    """An entry that passed parsing and its signature check, waiting to be sequenced."""

    data: bytes
    leaf_hash: bytes
    head: EntryHead
    key_text: str
    identity: bytes = b""
    high_s: bool = False


@dataclass
class Outcome:
    """What became of one request batch: ``first`` index, or a refusal with its HTTP
    status, reason and (for a duplicate) the index of the entry already logged."""

    first: int
    reason: str | None = None
    status: int = 200
    first_index: int | None = None


def entry_identity(data: bytes) -> bytes:
    """The identity of a logged entry (read back from the sequence)."""
    head = EntryHead.peek(data)
    return identity_of_entry(head.type, head.key_id, data)


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
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS records ("
            " record_id BLOB PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID"
        )
        self.size = self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        self._index_identities()
        self.registry = KeyRegistry()
        self.owners = Owners()
        types = _rebuild_types()
        rows = self.db.execute(
            f"SELECT data FROM entries WHERE type IN ({', '.join('?' * len(types))}) ORDER BY idx",
            types,
        )
        for (data,) in rows:
            record = Record.parse(data)
            if record.type in REGISTRY_TYPES:
                self.registry.apply(record)
            self.owners.apply(record.type, record.body)

    def _index_identities(self) -> None:
        """Fills ``records`` for entries sequenced before it existed (or after the last
        one it holds). The first entry of an identity keeps it: a twin already in an
        older log stays in the log (it cannot be removed) but is never the reference."""
        (upto,) = self.db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM records").fetchone()
        if upto >= self.size:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            rows = self.db.execute(
                "SELECT idx, data FROM entries WHERE idx >= ? ORDER BY idx", (upto,)
            )
            self.db.executemany(
                "INSERT OR IGNORE INTO records VALUES (?, ?)",
                ((entry_identity(data), idx) for idx, data in rows),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def resolve(self, head: EntryHead) -> str:
        """The key text that must verify this entry, as the registry stands now."""
        return self.registry.signer_of(head).text

    def is_known(self, leaf_hash: bytes) -> bool:
        row = self.db.execute("SELECT 1 FROM entries WHERE leaf_hash=?", (leaf_hash,))
        return row.fetchone() is not None

    def index_of(self, identity: bytes) -> int | None:
        """The index of the logged entry with this record identity, if any."""
        row = self.db.execute("SELECT idx FROM records WHERE record_id=?", (identity,))
        found = row.fetchone()
        return None if found is None else found[0]

    def append(self, batches: list[list[Candidate]]) -> list[Outcome]:
        """Sequences whole request batches; one commit (one fsync) for all of them.

        A batch is all-or-nothing: a duplicate, a high-S signature, or a key or owner
        that changed under it since it was checked rejects the whole batch, and
        nothing of it is kept.
        """
        outcomes: list[Outcome] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for batch in batches:
                outcomes.append(self._append_one(batch))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return outcomes

    def _append_one(self, batch: list[Candidate]) -> Outcome:
        first = self.size
        self.db.execute("SAVEPOINT batch")
        snapshot, owners = self.registry.copy(), self.owners.copy()
        try:
            seen: dict[bytes, int] = {}
            rows, ids = [], []
            for i, cand in enumerate(batch):
                earlier = seen.get(cand.identity)
                if earlier is None:
                    earlier = self.index_of(cand.identity)
                if earlier is not None:
                    raise DuplicateEntry(
                        f"line {i + 1}: {cand.head.subject}: duplicate entry: the same "
                        f"record (type, signer and body) is already entry {earlier} of the "
                        "log; a second signature over it is not a new record",
                        earlier,
                    )
                if cand.high_s:
                    raise HighS(
                        f"line {i + 1}: {cand.head.subject}: P-256 signature with a high S "
                        "value; sign again and send s ≤ n/2 (docs/records.md, low-S rule)"
                    )
                seen[cand.identity] = first + i
                key_text = self.resolve(cand.head)
                if key_text != cand.key_text:
                    raise UnknownKeyError(
                        f"line {i + 1}: {cand.head.subject}: the signer's key changed "
                        f"while the entry was being checked; resend it"
                    )
                head = cand.head
                if head.type in OWNED_TYPES:
                    by_authority = (
                        head.type in TRANSFERABLE and head.key_id in self.registry.authority
                    )
                    try:
                        self.owners.check(head.type, head.body, by_authority)
                    except UnknownKeyError as exc:
                        raise UnknownKeyError(f"line {i + 1}: {exc}") from exc
                    self.owners.apply(head.type, head.body)
                if head.type in REGISTRY_TYPES:
                    self.registry.apply(Record.parse(cand.data))
                rows.append((first + i, cand.leaf_hash, head.type, cand.data))
                ids.append((cand.identity, first + i))
            self.db.executemany("INSERT INTO entries VALUES (?,?,?,?)", rows)
            self.db.executemany("INSERT INTO records VALUES (?,?)", ids)
        except (DuplicateEntry, HighS, UnknownKeyError) as exc:
            self.db.execute("ROLLBACK TO batch")
            self.db.execute("RELEASE batch")
            self.registry, self.owners = snapshot, owners
            if isinstance(exc, DuplicateEntry):
                return Outcome(-1, str(exc), 409, exc.first_index)
            return Outcome(-1, str(exc), 400 if isinstance(exc, HighS) else 403)
        self.db.execute("RELEASE batch")
        self.size += len(batch)
        return Outcome(first)

    def read(self, start: int, end: int) -> list[bytes]:
        rows = self.db.execute(
            "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [data for (data,) in rows]

    def close(self) -> None:
        self.db.close()
