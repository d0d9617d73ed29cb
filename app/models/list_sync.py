"""Sync every log of an office's jurisdiction, as the authority's signed log list names them.

Issue #17 item 1. At province or national scale the ledger is many logs (shards by region
and half-year, docs/deployment.md); which ones, with which keys, URLs and witness quorums,
is said by one signed note (`ledger.loglist`) that an office checks with the authority's
pinned key. Per run:

1. read the list (a file or a URL; a mirror cannot forge it, and one older than the newest
   accepted — a rollback that would hide a new shard — is refused); keep it in
   ``log_lists`` and give each log its number in the store (`app.models.logs`), in shard
   order;
2. sync each followed log — usable or read-only, of the office's region — with its own
   verified state, its own client (its key, URL and witness quorum from the list) and its
   own halt, all at once: fetching and signature checks overlap (one shared pool of
   signature workers), the logs' transactions take turns (one apply lock: the rules read
   across logs, and SQLite has one writer);
3. report per log. One log halted for misbehaviour or offline does not stop the others.

A retired log is no longer synced; its rows and evidence stay in the store. A log the list
no longer names is treated the same (kept, not synced).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select

from app.models import store as st
from app.models.logs import FollowedLog, assign_logs
from app.models.sync import LogSync, Misbehaviour, Offline, Progress, SyncError, SyncResult
from ledger.client import LogClient
from ledger.cosignature import WitnessPolicy
from ledger.loglist import LogEntry, LogList, LogListError, open_log_list
from ledger.note import Verifier
from ledger.sigcheck import SignatureChecker

MAX_LIST_BYTES = 1 << 20
"""A national list of a few hundred logs is ~100 KiB; anything bigger is not a list."""


class ListUnavailable(SyncError):
    """The list cannot be read and the store holds none accepted before."""


@dataclass
class LogOutcome:
    """What one log's sync came to: a result, or the error that stopped it."""

    origin: str
    log_no: int
    result: SyncResult | None = None
    error: SyncError | Exception | None = None

    @property
    def status(self) -> str:
        if self.result is not None:
            return "ok"
        if isinstance(self.error, Misbehaviour):
            return "misbehaviour"
        if isinstance(self.error, Offline):
            return "offline"
        if isinstance(self.error, SyncError):
            return "halted"
        return "error"


@dataclass
class ListSyncResult:
    sequence: int
    outcomes: list[LogOutcome] = field(default_factory=list)
    list_note: str = ""
    """Why the list in use is not a fresh one (it could not be read), else empty."""

    @property
    def applied(self) -> int:
        return sum(o.result.applied for o in self.outcomes if o.result is not None)

    @property
    def affected_piles(self) -> set[str]:
        return {p for o in self.outcomes if o.result is not None for p in o.result.affected_piles}


def read_list_source(source: str, timeout: float = 10.0) -> bytes:
    """The signed list's bytes from a file path or an http(s) URL (capped)."""
    if urllib.parse.urlsplit(source).scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(source, timeout=timeout) as answer:
                data = answer.read(MAX_LIST_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OSError(f"cannot fetch the log list from {source}: {exc}") from exc
    else:
        with open(Path(source), "rb") as f:
            data = f.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise LogListError(f"{source} is larger than {MAX_LIST_BYTES} bytes: not a log list")
    return data


def accepted_list(conn, authority: Verifier) -> LogList | None:
    """The newest list this store accepted (re-checked: the row is only a cache)."""
    note = conn.execute(
        select(st.log_lists.c.note).order_by(st.log_lists.c.sequence.desc()).limit(1)
    ).scalar()
    return None if note is None else open_log_list(bytes(note), authority)


def accept_list(store: st.Store, data: bytes, authority: Verifier, region: str = "") -> LogList:
    """Checks ``data`` against the authority's key and the newest accepted list, keeps it,
    and numbers the logs of ``region`` (and brings those it knows up to date). Raises
    `LogListError` (forged, malformed, or a rollback)."""
    with store.transaction() as conn:
        seen = accepted_list(conn, authority)
        log_list = open_log_list(data, authority, seen)
        if seen is None or log_list.sequence > seen.sequence:
            conn.execute(
                insert(st.log_lists),
                {"sequence": log_list.sequence, "note": data, "accepted_at": st.utcnow()},
            )
        keys = dict(conn.execute(select(st.logs.c.origin, st.logs.c.key)).all())
        for entry in log_list.logs:
            if keys.get(entry.origin) not in (None, entry.key):
                raise LogListError(
                    f"list {log_list.sequence} gives log {entry.origin} another key than the "
                    "one this office verified it with: a log's key never changes (a new key "
                    "is a new log, with a new origin); the list is not followed — tell the "
                    "list's authority"
                )
        known = set(keys)
        mine = [e for e in log_list.logs if e.region.startswith(region) or e.origin in known]
        mine.sort(key=lambda e: (e.shard[0], e.region, e.origin))
        assign_logs(conn, [_followed(e) for e in mine])
    return log_list


def _followed(entry: LogEntry) -> FollowedLog:
    return FollowedLog(
        -1,
        entry.origin,
        entry.key,
        entry.url,
        entry.region,
        entry.shard[0],
        entry.shard[1],
        entry.state,
    )


class ListSync:
    """Follows the logs of a signed list for one office (its region prefix)."""

    def __init__(
        self,
        store: st.Store,
        authority: Verifier,
        source: str,
        region: str = "",
        *,
        checker: SignatureChecker | None = None,
        on_batch: Callable | None = None,
        witnesses: WitnessPolicy | None = None,
        timeout: float = 30.0,
        configure_client: Callable[[LogClient], None] | None = None,
    ) -> None:
        """``witnesses``: the office's own policy, for logs the list gives none."""
        self.store, self.authority, self.source, self.region = store, authority, source, region
        self.checker = checker or SignatureChecker()
        self._owns_checker = checker is None
        self.on_batch, self.witnesses, self.timeout = on_batch, witnesses, timeout
        self.configure_client = configure_client
        self.apply_lock = threading.Lock()
        self._syncs: dict[str, tuple[LogEntry, LogSync]] = {}

    def close(self) -> None:
        for _, sync in self._syncs.values():
            sync.close()
            sync.client.close()
        self._syncs.clear()
        if self._owns_checker:
            self.checker.close()

    def refresh_list(self) -> tuple[LogList, str]:
        """The list to follow, and why it is not fresh ("" when it is).

        The list unreadable (the authority's server down, a field laptop offline): the
        newest accepted one is followed, and the reason reported. A list that is read
        but fails its checks is an error: a forged or rolled-back list must be seen."""
        try:
            data = read_list_source(self.source)
        except OSError as exc:
            with self.store.engine.connect() as conn:
                seen = accepted_list(conn, self.authority)
            if seen is None:
                raise ListUnavailable(
                    f"cannot read the log list and none was accepted before: {exc}"
                ) from exc
            return seen, f"the log list could not be read ({exc}); following list {seen.sequence}"
        return accept_list(self.store, data, self.authority, self.region), ""

    def _sync_for(self, entry: LogEntry) -> LogSync:
        known = self._syncs.get(entry.origin)
        if known is not None and known[0] == entry:
            return known[1]
        if known is not None:  # the list changed its URL, key or quorum: a new client
            known[1].close()
            known[1].client.close()
        client = LogClient(
            entry.url, entry.key, timeout=self.timeout, witnesses=entry.policy() or self.witnesses
        )
        if self.configure_client is not None:
            self.configure_client(client)
        sync = LogSync(
            self.store, client, self.checker, on_batch=self.on_batch, apply_lock=self.apply_lock
        )
        self._syncs[entry.origin] = (entry, sync)
        return sync

    def sync_once(
        self,
        on_progress: Callable[[str, Progress], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        wait_after: dict[str, int] | None = None,
    ) -> ListSyncResult:
        """One pass over every followed log, concurrently. ``wait_after``: per origin, the
        checkpoint size to long-poll past (the previous pass's), as `LogSync.sync_once`."""
        log_list, note = self.refresh_list()
        followed = log_list.followed(self.region)
        for origin in set(self._syncs) - {e.origin for e in followed}:  # retired or dropped
            _, sync = self._syncs.pop(origin)
            sync.close()
            sync.client.close()
        result = ListSyncResult(log_list.sequence, list_note=note)
        if not followed:
            return result
        syncs = [self._sync_for(entry) for entry in followed]

        def one(sync: LogSync) -> LogOutcome:
            progress = None
            if on_progress is not None:
                progress = lambda p, origin=sync.origin: on_progress(origin, p)  # noqa: E731
            after = (wait_after or {}).get(sync.origin)
            try:
                done = sync.sync_once(progress, should_stop, wait_after=after)
            except Exception as exc:  # reported per log; the others go on
                return LogOutcome(sync.origin, sync.log_no or 0, error=exc)
            return LogOutcome(sync.origin, sync.log_no or 0, result=done)

        with ThreadPoolExecutor(len(syncs), thread_name_prefix="log-sync") as pool:
            result.outcomes = list(pool.map(one, syncs))
        return result


class StoredLogClients:
    """``origin → LogClient`` from the ``logs`` rows (URL and key as the accepted list
    gave them): what evidence bundles need when a store follows several logs
    (`app.models.evidence`'s ``client`` argument). Clients are made once and kept."""

    def __init__(self, store: st.Store, timeout: float = 30.0) -> None:
        self.store, self.timeout = store, timeout
        self._clients: dict[str, LogClient] = {}

    def __call__(self, origin: str) -> LogClient:
        client = self._clients.get(origin)
        if client is None:
            with self.store.engine.connect() as conn:
                row = conn.execute(
                    select(st.logs.c.url, st.logs.c.key).where(st.logs.c.origin == origin)
                ).first()
            if row is None or not row.url or not row.key:
                raise SyncError(
                    f"log {origin or '(unknown)'} is not in the accepted log list: its URL and "
                    "key are unknown here"
                )
            client = self._clients[origin] = LogClient(row.url, row.key, timeout=self.timeout)
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
