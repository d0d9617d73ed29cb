"""Verified, resumable sync of one city log into the workstation store.

The rule: nothing reaches the store unless it is proven to be in a log that is
consistent with everything accepted before. Per run:

1. fetch the checkpoint and verify it with the pinned log key;
2. prove it consistent with what the store already holds (a consistency proof
   from tiles, checked against our own stored root) — a fork or a rollback is
   misbehaviour, recorded with both signed checkpoints, and never "resolved" by
   following the other branch;
3. in batches: fetch entry bundles (several at once), check each entry's leaf
   hash against the level-0 tiles, which are themselves authenticated up to the
   checkpoint root; resolve each entry's signer in log order from the log's own
   registry; verify strictly and check signatures on all cores; then apply the
   batch and the new sync position in one transaction.

Killed at any point, the next run resumes after the last committed batch.

What the platform can do to a sync, and what it gets:

* anything short of a cryptographic proof — no answer, a slow or trickling one, one
  larger than its type allows, garbage, a truncated or badly signed checkpoint, a
  checkpoint older than what is verified but consistent with it — is ``Offline``: the
  verified store is untouched, ``sync_state`` records the attempt and the reason, and
  the next run tries again;
* proof of misbehaviour — two signed checkpoints that cannot both be true (a fork, or
  an older checkpoint that is not a prefix), tiles that do not hash to a signed root, an
  entry that does not match its proven tile, or a proven entry whose signature or
  signer is wrong — is ``Misbehaviour``: the sync halts, and the evidence is kept so
  that it verifies on its own (`check_evidence`): the signed checkpoint(s), the proof
  (a C2SP tlog-proof, a consistency proof, or the tiles) and the offending bytes as
  first received.
"""

from __future__ import annotations

import base64
import contextlib
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import insert, select

from app.models import store as st
from app.models.kinds import PROJECTIONS
from app.models.logs import LOG_BITS, log_number
from app.models.projection import apply_records, gc_paused
from ledger import merkle
from ledger.client import BadAnswer, FetchError, LogClient, MissingCosignatures
from ledger.keys import PublicKey
from ledger.merkle import CompactRange, ProofError
from ledger.note import Checkpoint
from ledger.records import (
    IDENTITY_BYTES,
    KEY_TYPES,
    SIGNED_BY,
    SIGNER_FIELDS,
    TRANSFERABLE,
    Record,
    RecordError,
)
from ledger.registry import EntryHead, KeyRegistry, UnknownKeyError
from ledger.sigcheck import SignatureChecker
from ledger.tiles import TILE_WIDTH, TileError, TileHashReader, parse_tile_path, tile_path
from ledger.tlog_proof import format_tlog_proof

BATCH = 32768
"""Entries a batch grows to (one transaction). 32k rather than 16k: a meter's heartbeats
(~15 a day, 16k meters a city) then share their heartbeat_days upsert twice as often,
and commits and per-batch rule queries halve; measured ~4 µs an entry less on the
ordering thread of a full sync, at ~10 MiB more held per batch in the pipeline."""
FIRST_BATCH = 1024
BATCH_BYTES = 32 << 20
"""A batch also ends once its entries reach this many bytes. Ordinary records (~300
bytes) never get there (32,768 of them are ~10 MiB); a log of huge entries cannot make
the two or three batches in the pipeline take gigabytes."""
_REGISTRY_TYPES = KEY_TYPES  # live: every registered kind's signers


class SyncError(RuntimeError):
    """Sync stopped; the message is meant for the regulator."""


class Offline(SyncError):
    """The platform cannot be reached: the store is intact but stale."""


class Misbehaviour(SyncError):
    """The platform served something provably wrong. Evidence is stored; sync is halted."""

    def __init__(self, kind: str, message: str, **evidence: object) -> None:
        super().__init__(message)
        self.kind, self.evidence = kind, evidence


@dataclass
class Progress:
    phase: str
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class SyncResult:
    origin: str
    old_size: int
    new_size: int
    checkpoint: Checkpoint
    seconds: float
    affected_piles: set[str] = field(default_factory=set)

    @property
    def applied(self) -> int:
        return self.new_size - self.old_size


def unchecked_key(text: str) -> PublicKey:
    """A registry key as the sync's ordering thread needs it: its text and key ID, the
    point not decoded. Decoding a P-256 point costs ~45 µs: for a city's ~16k meters,
    0.7 s at the start of every sync (`registry_from_store`) and again on the ordering
    thread of a first sync. The keys in the store were validated when they were
    applied, and a registry record's key is parsed strictly by the signature workers
    (`validate_body`), which report a bad one as that entry's fault; `PublicKey.verify`
    decodes the point if this object is ever used to verify. The text is kept exactly
    as the record has it, so the key ID is the one its entries name."""
    alg, _, b64 = text.partition(":")
    key = PublicKey(alg, base64.b64decode(b64))  # ValueError when not base64: a bad entry
    key.__dict__["text"] = text  # the cached property, as given (PublicKey is frozen)
    return key


def registry_from_store(conn) -> KeyRegistry:
    """Rebuilds the signer registry from what earlier batches applied."""
    registry = KeyRegistry()
    for row in conn.execute(
        select(st.authority_keys.c.key, st.authority_keys.c.enc_key).order_by(
            st.authority_keys.c.entry_index
        )
    ):
        key = unchecked_key(row.key)
        registry.authority[key.key_id] = key
        registry.enc_key = row.enc_key
    key_tables = [
        (st.operators, "operator_id", "operator"),
        (st.inspectors, "inspector_id", "inspector"),
    ]
    for kind in PROJECTIONS.values():
        key_tables.extend(kind.key_tables)
    for table, column, signer in key_tables:
        target = registry.sources.setdefault(signer, {})
        for source_id, key in conn.execute(select(table.c[column], table.c.key)):
            target[source_id] = unchecked_key(key)
    return registry


def _direct_signers(registry: KeyRegistry) -> dict[str, tuple[str, dict[str, PublicKey]]]:
    """{record type: (ID field, that signer's key table)} for the types whose signer
    `KeyRegistry.signer_of` finds by one lookup: signed by a registered source (a meter,
    an operator, …), never by the authority instead (not TRANSFERABLE), and not a
    registry record. For those, a key found under the body's ID whose key ID is the
    entry's is exactly what ``signer_of`` returns; the sync's ordering thread then skips
    its per-entry branches (~2 µs an entry of a full sync). A miss takes ``signer_of``."""
    direct: dict[str, tuple[str, dict[str, PublicKey]]] = {}
    for rtype, signer in SIGNED_BY.items():
        if signer == "authority" or rtype in TRANSFERABLE or rtype in _REGISTRY_TYPES:
            continue
        table = registry.sources.get(signer)
        field_name = SIGNER_FIELDS.get(signer)
        if table is not None and field_name is not None:
            direct[rtype] = (field_name, table)
    return direct


class LogSync:
    """Syncs one log (origin + pinned key) from one platform into one store."""

    def __init__(
        self,
        store: st.Store,
        client: LogClient,
        checker: SignatureChecker | None = None,
        batch: int = BATCH,
        on_batch: Callable | None = None,
        apply_lock: threading.Lock | None = None,
    ) -> None:
        """``on_batch(conn, summary)`` runs inside each batch's transaction (the anomaly
        rules), so findings and the data they rest on commit together. Syncs of several
        logs into one store share an ``apply_lock``: their fetching and signature checks
        overlap, their transactions (the rules read across logs) take turns."""
        self.store, self.client, self.batch = store, client, batch
        self.on_batch = on_batch
        self.apply_lock = apply_lock or threading.Lock()
        self.origin = client.origin
        self.log_no: int | None = None
        """The log's number in this store (app.models.logs); its rows' keys start at
        ``log_no << LOG_BITS``. Looked up (or given) on the first sync."""
        self.checker = checker or SignatureChecker()
        self._owns_checker = checker is None
        self._tile_pool = ThreadPoolExecutor(8, thread_name_prefix="tiles")
        self._tile_cache: dict[str, bytes] = {}
        self._tiles_seen: dict[str, bytes] = {}  # upper-level and partial tiles (evidence)
        self._recent_tiles: OrderedDict[str, bytes] = OrderedDict()  # last level-0 tiles
        self._stop_fetch = threading.Event()

    def close(self) -> None:
        self._tile_pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_checker:
            self.checker.close()

    # ---- public -------------------------------------------------------------------------
    def sync_once(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        wait_after: int | None = None,
    ) -> SyncResult:
        started = time.monotonic()
        if self.log_no is None:
            with self.apply_lock, self.store.transaction() as conn:
                self.log_no = log_number(conn, self.origin)
        state = self.store.get_sync_state(self.origin)
        old_size = state.size if state else 0
        if state and state.status == "halted":
            raise SyncError(
                f"sync of {self.origin} is halted after platform misbehaviour: "
                f"{state.last_error} — the evidence is in the store; an administrator must "
                "review it before syncing again (main.py sync --clear-halt)"
            )
        self._tiles_seen.clear()
        self._recent_tiles.clear()
        try:
            checkpoint, note = self.client.checkpoint(after=wait_after)
        except FetchError as exc:
            raise self._offline(exc, "cannot reach the platform") from exc
        try:
            result = self._sync_to(state, checkpoint, note, on_progress, should_stop)
        except Misbehaviour as exc:
            raise self._halt(exc) from exc
        except Offline as exc:  # raised by the sync itself (a stale checkpoint)
            self._mark(status="offline", error=str(exc))
            raise
        except FetchError as exc:
            raise self._offline(exc, "connection lost during sync") from exc
        except Exception as exc:
            # Not the platform's doing as far as we can tell (a store error, a bug): the
            # attempt is recorded and the error goes on to the caller's edge (the CLI
            # prints it as one line, the GUI worker shows it and retries).
            with contextlib.suppress(Exception):  # the store itself may be what failed
                self._mark(status="error", error=f"{type(exc).__name__}: {exc}")
            raise
        result.seconds = time.monotonic() - started
        result.old_size = old_size
        return result

    def _offline(self, exc: FetchError, what: str) -> Offline:
        """Records an offline attempt (the verified store is not touched)."""
        if isinstance(exc, MissingCosignatures):  # the office's witness policy (docs/witness.md)
            message = f"checkpoint refused: {exc.quorum}"
        elif isinstance(exc, BadAnswer):
            message = (
                f"the platform's answer is unusable: {exc}. Nothing from it was applied; "
                "the sync will try again (if this persists, check the platform address "
                "and tell the platform's operator)"
            )
        else:
            message = f"{what}: {exc}"
        self._mark(status="offline", error=message)
        return Offline(message)

    # ---- steps --------------------------------------------------------------------------
    def _sync_to(self, state, checkpoint: Checkpoint, note: bytes, on_progress, should_stop):
        size0 = state.size if state else 0
        root0 = state.root if state and state.root else merkle.EMPTY_ROOT
        compact = (
            CompactRange.from_bytes(state.compact_range)
            if state and state.compact_range
            else CompactRange()
        )
        last_note = self._last_checkpoint_note()
        if checkpoint.size < size0:
            self._check_older(checkpoint, note, size0, root0, last_note)
        reader = TileHashReader(checkpoint.size, checkpoint.root, self._fetch_tile)
        if size0 and checkpoint.size == size0 and checkpoint.root != root0:
            raise Misbehaviour(
                "fork",
                f"two different logs of size {size0} were signed with the same key: "
                "the platform is showing a split view",
                checkpoint_a=last_note,
                checkpoint_b=note,
            )
        if 0 < size0 < checkpoint.size:
            try:
                proof = reader.consistency_proof(size0)
            except TileError as exc:
                raise self._bad_tile(exc, note) from exc
            try:
                merkle.verify_consistency(size0, checkpoint.size, proof, root0, checkpoint.root)
            except ProofError as exc:
                raise _not_a_prefix(
                    "fork",
                    f"the new checkpoint (size {checkpoint.size}) is not consistent with the "
                    f"verified log (size {size0}): history was rewritten ({exc})",
                    reader,
                    size0,
                    proof,
                    checkpoint_a=last_note,
                    checkpoint_b=note,
                ) from exc
        progress = Progress("sync", 0, checkpoint.size - size0)
        result = SyncResult(self.origin, size0, size0, checkpoint, 0.0)
        with self.store.engine.connect() as conn:
            registry = registry_from_store(conn)
        # A pipeline: while the worker processes check batch k's signatures, this thread
        # applies batch k-1 and a fetch thread downloads batch k+1.
        fetched = self._fetch_ahead(size0, checkpoint.size)
        pending: _Batch | None = None
        try:
            while True:
                item = None if should_stop() else fetched.get()
                if isinstance(item, BaseException):
                    raise item
                with gc_paused():
                    if item is not None:
                        position, end, batch = item
                        try:
                            expected = reader.leaf_hashes(position, end)
                        except TileError as exc:
                            raise self._bad_tile(exc, note) from exc
                        try:
                            current, registry = self._check_batch(batch, expected, registry)
                        except Misbehaviour as exc:
                            raise self._with_inclusion(exc, reader, note) from None
                        compact.extend(expected)
                        current.end, current.state = end, compact.to_bytes()
                        current.root = compact.root()
                        if end == checkpoint.size and current.root != checkpoint.root:
                            raise Misbehaviour(
                                "bad-bundle",
                                "the entries do not hash to the checkpoint's root",
                                checkpoint_b=note,
                            )
                    if pending is not None:
                        try:
                            self._apply(pending, checkpoint, note, result)
                        except Misbehaviour as exc:
                            raise self._with_inclusion(exc, reader, note) from None
                        progress.done = pending.end - size0
                        if on_progress:
                            on_progress(progress)
                if item is None:
                    break
                pending = current
        finally:
            self._stop_fetch.set()
        if checkpoint.size == size0:
            self._mark(status="ok", error=None, success=True)
        return result

    def _fetch_ahead(self, start: int, size: int) -> queue.Queue:
        """Downloads bundles and level-0 tiles one or two batches ahead, on a thread.

        Batches start at FIRST_BATCH entries and double up to ``batch``, so the
        signature workers get their first entries after a few bundles rather than
        after a whole batch is fetched and read (~0.4 s idle at 16k entries)."""
        out: queue.Queue = queue.Queue(maxsize=2)
        self._stop_fetch = stop = threading.Event()

        def run() -> None:
            try:
                bundles = self.client.bundles(start, size, size)
                ready: list[tuple[int, bytes]] = []  # fetched, not yet in a batch
                position = start
                step = min(self.batch, FIRST_BATCH)
                while position < size and not stop.is_set():
                    end = min(size, position + step)
                    step = min(self.batch, 2 * step)
                    held = sum(len(data) for _, data in ready)
                    while len(ready) < end - position and held < BATCH_BYTES:
                        first, entries = next(bundles)
                        ready.extend(zip(range(first, first + len(entries)), entries))
                        held += sum(map(len, entries))
                    end = min(end, position + len(ready))
                    batch, ready = ready[: end - position], ready[end - position :]
                    self._prefetch_leaf_tiles(position, end, size)
                    while not stop.is_set():
                        try:
                            out.put((position, end, batch), timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    position = end
                out.put(None)
            except BaseException as exc:  # handed to the sync thread, which raises it
                out.put(exc)

        threading.Thread(target=run, name="sync-fetch", daemon=True).start()
        return out

    def _apply(self, batch: _Batch, checkpoint: Checkpoint, note: bytes, result) -> None:
        """Waits for the batch's signature checks, then applies it with the sync position."""
        records = self._finish_batch(batch)
        if self.log_no:  # this log's keys (app.models.logs); log 0's are its indexes
            base = self.log_no << LOG_BITS
            records = [(base + index, head) for index, head in records]
        final = batch.end == checkpoint.size
        with self.apply_lock, self.store.transaction() as conn:
            summary = apply_records(conn, records, origin=self.origin)
            if self.on_batch is not None:
                self.on_batch(conn, summary)
            now = datetime.now(UTC)
            st.put_sync_state(
                conn,
                st.SyncState(
                    self.origin,
                    batch.end,
                    batch.root,
                    batch.state,
                    "ok" if final else "syncing",
                    None,
                    now,
                    now if final else None,
                    now,
                ),
            )
            if final:
                conn.execute(
                    insert(st.checkpoints),
                    {
                        "origin": self.origin,
                        "size": checkpoint.size,
                        "root": checkpoint.root,
                        "note": note,
                        "accepted_at": now,
                    },
                )
        result.affected_piles |= summary.pile_ids
        result.new_size = batch.end

    def _check_batch(self, batch, expected, registry: KeyRegistry):
        """Leaf hashes against the tiles and signers in log order, here; signature
        checks submitted to the worker processes (collected by _finish_batch).

        The one loop of a sync that runs per entry on this thread, so it is kept
        lean: the leaf hashes are compared as a list, and only a registry record
        (rare after the first day of a log) leaves the common path."""
        entries = [data for _, data in batch]
        hashes = merkle.leaf_hashes(entries)
        if hashes != expected:
            if len(hashes) != len(expected):
                raise ValueError(f"{len(entries)} entries for {len(expected)} leaf hashes")
            at = next(i for i, (a, b) in enumerate(zip(hashes, expected)) if a != b)
            index, data = batch[at]
            raise Misbehaviour(
                "bad-bundle",
                f"entry {index} in the entry bundle does not match the log's tiles",
                offending_bytes=data,
                index=index,
            )
        keys: list[str] = []
        heads: list[tuple[int, EntryHead]] = []
        working = registry
        peek, signer_of = EntryHead.peek, working.signer_of
        direct = _direct_signers(working)
        for index, data in batch:
            try:
                head = peek(data, False)  # identity: hashed by the signature workers
                # The common case (a meter's heartbeat) looked up here; anything else,
                # and any miss or mismatch, goes to signer_of, which names the fault.
                spec = direct.get(head.type)
                key = spec[1].get(head.body[spec[0]]) if spec is not None else None
                if key is not None and key.key_id == head.key_id:
                    keys.append(key.text)
                    heads.append((index, head))
                    continue
                keys.append(signer_of(head).text)
                if head.type in _REGISTRY_TYPES:
                    if working is registry:
                        working = registry.copy()
                        signer_of = working.signer_of
                    # same type and body; the workers parse it (and its key) strictly
                    working.apply(head, unchecked_key)
                    direct = _direct_signers(working)  # the copy's tables, maybe a new one
            except (RecordError, ValueError) as exc:
                kind = "unknown-key" if isinstance(exc, UnknownKeyError) else "bad-entry"
                raise Misbehaviour(
                    kind, f"entry {index}: {exc}", offending_bytes=data, index=index
                ) from exc
            heads.append((index, head))
        futures = self.checker.submit(entries, keys, identify=True)
        return _Batch(batch, heads, futures, keys=keys), working

    def _finish_batch(self, pending: _Batch) -> list[tuple[int, Record]]:
        results: list = []
        ids: list[bytes] = []
        width = IDENTITY_BYTES
        for future in pending.futures:
            outcomes, joined = future.result()
            results.extend(outcomes)
            ids.extend([joined[at : at + width] for at in range(0, len(joined), width)])
        if len(results) != len(pending.batch):
            raise ValueError(f"{len(results)} signature results for {len(pending.batch)} entries")
        if results.count(None) != len(results):  # all verified: counted in C, no loop here
            at = next(at for at, outcome in enumerate(results) if outcome is not None)
            (index, data), outcome = pending.batch[at], results[at]
            raise Misbehaviour(
                "bad-signature" if outcome[0] == "signature" else "bad-entry",
                f"entry {index}: {outcome[1]}",
                offending_bytes=data,
                index=index,
                signer_key=pending.keys[at],
            )
        # The heads carry exactly what the projection reads (type, body, identity); the
        # worker processes have parsed and checked the full records.
        for (_, head), identity in zip(pending.heads, ids, strict=True):
            head.identity = identity
        return pending.heads

    # ---- evidence -----------------------------------------------------------------------
    def _check_older(
        self, checkpoint: Checkpoint, note: bytes, size0: int, root0: bytes, last_note
    ) -> None:
        """A signed checkpoint smaller than what is verified. A CDN or a restarted
        platform can serve a stale one; it is only misbehaviour if it is not a prefix of
        the verified log, which the platform's own tiles (checked against our root)
        decide. Raises Offline (stale) or Misbehaviour (a fork below our size)."""
        if checkpoint.size > 0:
            ours = TileHashReader(size0, root0, self._fetch_tile)
            try:
                proof = ours.consistency_proof(checkpoint.size)
            except TileError as exc:
                raise self._bad_tile(exc, last_note) from exc
            try:
                merkle.verify_consistency(checkpoint.size, size0, proof, checkpoint.root, root0)
            except ProofError as exc:
                raise _not_a_prefix(
                    "rollback",
                    f"the platform now signs a log of {checkpoint.size} entries that is not "
                    f"the beginning of the {size0} entries already verified: history was "
                    f"rewritten ({exc})",
                    ours,
                    checkpoint.size,
                    proof,
                    checkpoint_a=last_note,
                    checkpoint_b=note,
                ) from exc
        raise Offline(
            f"the platform serves an older checkpoint ({checkpoint.size} entries) than the "
            f"{size0} already verified; it is consistent with them, so probably a stale "
            "cache or a platform restored from backup. Nothing was applied; the sync will "
            "try again"
        )

    def _bad_tile(self, exc: TileError, note: bytes | None) -> Misbehaviour:
        """A tile (of the right length) that does not hash into the signed tree. The
        evidence keeps the checkpoint and the tiles as received that show it: the
        offending one(s), and every edge and upper-level tile fetched for this tree."""
        tiles = dict(self._tiles_seen)
        offending = b""
        for path in exc.path.split(", "):
            data = self._recent_tiles.get(path, tiles.get(path))
            if data is not None:
                tiles[path] = data
                offending = offending or data
        return Misbehaviour(
            "bad-tile",
            f"a tile of the log does not match its signed checkpoint: {exc}",
            checkpoint_b=note,
            offending_bytes=offending or None,
            tile=exc.path,
            tiles={p: base64.b64encode(d).decode() for p, d in sorted(tiles.items())},
        )

    @staticmethod
    def _with_inclusion(exc: Misbehaviour, reader: TileHashReader, note: bytes) -> Misbehaviour:
        """Adds what makes an entry's fault evidence: the signed checkpoint and a C2SP
        tlog-proof that the entry's leaf (its expected hash, from tiles proven against
        that checkpoint) is at its index."""
        index = exc.evidence.get("index")
        if not isinstance(index, int) or "tlog_proof" in exc.evidence:
            return exc
        exc.evidence.setdefault("checkpoint_b", note)
        try:
            exc.evidence["leaf_hash"] = reader.node_hash(0, index).hex()
            exc.evidence["tlog_proof"] = format_tlog_proof(
                index, reader.inclusion_proof(index), note
            )
        except (TileError, ProofError, FetchError, ValueError) as err:
            exc.evidence["proof_error"] = str(err)
        return exc

    # ---- plumbing -----------------------------------------------------------------------
    def _fetch_tile(self, path: str) -> bytes:
        """A tile for the verifying readers, remembering it as received: upper-level
        and partial tiles (few) for as long as the sync runs, level-0 tiles for a while,
        so a tile that fails can be kept as evidence with those that authenticate it."""
        data = self._tile_cache.pop(path, None)
        if data is None:
            data = self.client.fetch(path)
        try:
            ref = parse_tile_path(path)
        except ValueError:
            return data
        if ref.level > 0 or ref.width < TILE_WIDTH:
            self._tiles_seen[path] = data
        else:
            self._recent_tiles[path] = data
            if len(self._recent_tiles) > 64:
                self._recent_tiles.popitem(last=False)
        return data

    def _prefetch_leaf_tiles(self, start: int, end: int, size: int) -> None:
        """Full level-0 tiles of a batch, fetched in parallel into a cache that the
        verifying TileHashReader consumes (partial edge tiles it fetches itself)."""
        full = [
            t
            for t in range(start // TILE_WIDTH, end // TILE_WIDTH + 1)
            if (t + 1) * TILE_WIDTH <= size
        ]
        paths = [tile_path(0, t) for t in full]
        for path, data in zip(paths, self._tile_pool.map(self.client.fetch, paths), strict=True):
            self._tile_cache[path] = data

    def _last_checkpoint_note(self) -> bytes | None:
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(st.checkpoints.c.note)
                .where(st.checkpoints.c.origin == self.origin)
                .order_by(st.checkpoints.c.size.desc(), st.checkpoints.c.id.desc())
                .limit(1)
            ).scalar()

    def _mark(self, status: str, error: str | None, success: bool = False) -> None:
        with self.apply_lock, self.store.transaction() as conn:
            state = st.get_sync_state(conn, self.origin)
            now = datetime.now(UTC)
            st.put_sync_state(
                conn,
                st.SyncState(
                    self.origin,
                    state.size if state else 0,
                    state.root if state else None,
                    state.compact_range if state else None,
                    status,
                    error,
                    now if status != "offline" else (state.last_contact_at if state else None),
                    now if success else (state.last_success_at if state else None),
                    now,
                ),
            )

    def _halt(self, exc: Misbehaviour) -> Misbehaviour:
        """Stores the evidence and a critical alarm, marks the log halted."""
        import json

        now = datetime.now(UTC)
        evidence = exc.evidence
        plain = {
            k: (v.hex() if isinstance(v, bytes) else v)
            for k, v in evidence.items()
            if k not in ("checkpoint_a", "checkpoint_b", "offending_bytes", "tlog_proof")
        }
        with self.apply_lock, self.store.transaction() as conn:
            conn.execute(
                insert(st.misbehaviour),
                {
                    "origin": self.origin,
                    "kind": exc.kind,
                    "detected_at": now,
                    "description": str(exc),
                    "evidence": json.loads(json.dumps(plain)),
                    "checkpoint_a": evidence.get("checkpoint_a"),
                    "checkpoint_b": evidence.get("checkpoint_b"),
                    "offending_bytes": evidence.get("offending_bytes"),
                    "proof": evidence.get("tlog_proof"),
                },
            )
            conn.execute(
                insert(st.alarms),
                {
                    "created_at": now,
                    "kind": "log-misbehaviour",
                    "severity": "critical",
                    "pile_id": None,
                    "rule_id": "L1",
                    "title_zh": "监管账本异常：平台数据无法验证，同步已停止",
                    "title_en": "Ledger misbehaviour: platform data failed verification; "
                    "sync halted",
                    "evidence": {"kind": exc.kind, "description": str(exc)},
                    "state": "new",
                    "updated_at": now,
                    "updated_by": "sync",
                    "version": 1,
                },
            )
            st.write_audit(
                conn,
                "sync",
                "misbehaviour",
                self.origin,
                {"kind": exc.kind, "description": str(exc)},
            )
        self._mark(status="halted", error=str(exc))
        return exc


def _not_a_prefix(
    kind: str, message: str, big: TileHashReader, small_size: int, proof: list[bytes], **notes
) -> Misbehaviour:
    """Evidence that two signed checkpoints disagree: in the bigger tree (tiles proven
    against its signed root) the first ``small_size`` entries have root ``prefix_root``,
    shown by a consistency proof from it to the bigger root; the smaller checkpoint
    signs another root for that size. Checkable with `merkle.verify_consistency` and
    the two notes alone (`app.models.sync_evidence`)."""
    extra: dict[str, object] = {}
    try:
        extra["prefix_root"] = merkle.root_from_nodes(small_size, big.node_hash).hex()
    except (TileError, ProofError, FetchError) as exc:  # the halt stands; say what is missing
        extra["prefix_error"] = str(exc)
    return Misbehaviour(
        kind,
        message,
        **notes,
        small_size=small_size,
        big_size=big.tree_size,
        proof=[h.hex() for h in proof],
        **extra,
    )


@dataclass
class _Batch:
    """A batch between its checks and its application."""

    batch: list[tuple[int, bytes]]
    heads: list[tuple[int, EntryHead]]  # (entry index, head), as the projection takes them
    futures: list
    end: int = 0
    root: bytes = b""
    state: bytes = b""
    keys: list[str] = field(default_factory=list)  # each entry's signer key, as text
