"""Workers that run blocking services on QThreads and report through signals.

Views never touch the store, the network or a serial port: these objects do,
on their own threads, and publish what changed (Anki's change-sets, Electrum's
qt_event_listener). Widgets only ever receive signals.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.list_sync import ListSync, ListUnavailable
from app.models.logs import write_log
from app.models.sync import LogSync, Misbehaviour, Offline, SyncError
from ledger.client import LogClient
from ledger.cosignature import PolicyError, WitnessPolicy
from ledger.loglist import LogListError
from ledger.note import NoteError, Verifier
from ledger.sigcheck import SignatureChecker


class SyncWorker(QObject):
    """Keeps the store in step with the platform: long-polls the checkpoint and syncs."""

    progress = Signal(int, int, float)  # done, total, entries/s
    synced = Signal(object)  # dict: size, applied, root, at, piles
    state_changed = Signal(str, str)  # status (ok/syncing/offline/halted/error), message

    def __init__(
        self,
        store_url: str | None,
        platform: str,
        vkey: str,
        workers: int = 1,
        witnesses: str | None = None,
    ):
        super().__init__()
        self.store_url, self.platform, self.vkey, self.workers = (
            store_url,
            platform,
            vkey,
            workers,
        )
        self.witnesses = witnesses
        """The office's witness policy file (docs/witness.md), or None: no quorum asked."""
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            policy = WitnessPolicy.load(self.witnesses) if self.witnesses else None
        except PolicyError as exc:  # nothing is synced without the quorum the office set
            self.state_changed.emit("halted", str(exc))
            return
        store = st.Store.open(self.store_url)
        client = LogClient(self.platform, self.vkey, timeout=5, witnesses=policy)
        client.long_poll_wait = 2.0  # bounds how long stop() waits
        checker = SignatureChecker(self.workers)
        sync = LogSync(store, client, checker, on_batch=analyse_batch)
        after = None
        try:
            while not self._stop.is_set():
                try:
                    result = sync.sync_once(
                        on_progress=lambda p: self.progress.emit(p.done, p.total, p.rate),
                        should_stop=self._stop.is_set,
                        wait_after=after,
                    )
                except Offline as exc:
                    self.state_changed.emit("offline", str(exc))
                    self._stop.wait(3)
                    after = None
                    continue
                except Misbehaviour as exc:
                    self.state_changed.emit("halted", str(exc))
                    return
                except SyncError as exc:
                    self.state_changed.emit("halted", str(exc))
                    return
                except Exception as exc:  # shown to the user, then retried
                    self.state_changed.emit("error", f"{type(exc).__name__}: {exc}")
                    self._stop.wait(5)
                    continue
                after = result.checkpoint.size
                self.state_changed.emit("ok", "")
                self.synced.emit(
                    {
                        "size": result.checkpoint.size,
                        "applied": result.applied,
                        "root": result.checkpoint.root.hex(),
                        "at": time.time(),
                        "piles": sorted(result.affected_piles),
                    }
                )
        finally:
            sync.close()
            checker.close()
            client.close()
            store.close()


LIST = ""
"""The ``origin`` of `ListSyncWorker.state_changed` that is about the list itself."""


def read_list_key(value: str) -> Verifier:
    """The list authority's verifier key, given as text (name+hash+base64) or as a file
    holding it. Raises `LogListError` with a message the office can act on."""
    value = value.strip()
    if not value:
        raise LogListError("no list authority key is set (Settings: list authority key)")
    text = value
    if "+" not in value or Path(value).exists():
        try:
            text = Path(value).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise LogListError(f"cannot read the list authority key file {value}: {exc}") from None
    try:
        return Verifier(text)
    except NoteError as exc:
        raise LogListError(f"the list authority key is not a valid verifier key: {exc}") from None


class ListSyncWorker(QObject):
    """Keeps the store in step with every log of the signed log list (`ListSync`), for
    the office's region: the list mode's SyncWorker. Signals carry the log's origin; an
    empty origin (`LIST`) is about the list itself (refused, or unreadable)."""

    progress = Signal(str, "qint64", "qint64", float)  # origin, done, total, entries/s
    synced = Signal(object)  # dict: sequence, note, at, applied, piles, logs (_report), write_url
    state_changed = Signal(str, str, str)  # origin, status (ok/syncing/offline/halted/…), message

    LIST_RETRY_S = 30.0
    """A refused list (forged, rolled back) is re-read this often: the authority may fix it."""

    def __init__(
        self,
        store_url: str | None,
        source: str,
        list_key: str,
        region: str = "",
        workers: int = 1,
        witnesses: str | None = None,
    ) -> None:
        super().__init__()
        self.store_url, self.source, self.list_key = store_url, source, list_key
        self.region, self.workers, self.witnesses = region, workers, witnesses
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            authority = read_list_key(self.list_key)
            policy = WitnessPolicy.load(self.witnesses) if self.witnesses else None
        except (LogListError, PolicyError) as exc:  # nothing is synced without them
            self.state_changed.emit(LIST, "halted", str(exc))
            return
        store = st.Store.open(self.store_url)
        checker = SignatureChecker(self.workers)
        sync = ListSync(
            store,
            authority,
            self.source,
            self.region,
            checker=checker,
            on_batch=analyse_batch,
            witnesses=policy,
            timeout=5,
            configure_client=_short_long_poll,
        )
        after: dict[str, int] = {}
        syncing: set[str] = set()
        shown: dict[str, float] = {}

        def on_progress(origin: str, p) -> None:
            """From the logs' sync threads; at most ~10 reports a second per log."""
            if origin not in syncing:
                syncing.add(origin)
                self.state_changed.emit(origin, "syncing", "")
            now = time.monotonic()
            if now - shown.get(origin, 0.0) >= 0.1 or p.done >= p.total:
                shown[origin] = now
                self.progress.emit(origin, p.done, p.total, p.rate)

        try:
            while not self._stop.is_set():
                started = time.monotonic()
                syncing.clear()
                try:
                    result = sync.sync_once(on_progress, self._stop.is_set, after or None)
                except LogListError as exc:  # read, but not a list this office may follow
                    self.state_changed.emit(LIST, "halted", str(exc))
                    self._stop.wait(self.LIST_RETRY_S)
                    continue
                except ListUnavailable as exc:
                    self.state_changed.emit(LIST, "offline", str(exc))
                    self._stop.wait(3)
                    continue
                except Exception as exc:  # shown to the user, then retried
                    self.state_changed.emit(LIST, "error", f"{type(exc).__name__}: {exc}")
                    self._stop.wait(5)
                    continue
                list_status = "offline" if result.list_note else "ok"
                self.state_changed.emit(LIST, list_status, result.list_note)
                for outcome in result.outcomes:
                    if outcome.result is not None:
                        after[outcome.origin] = outcome.result.checkpoint.size
                        self.state_changed.emit(outcome.origin, "ok", "")
                    else:
                        after.pop(outcome.origin, None)
                        status = outcome.status
                        status = "halted" if status == "misbehaviour" else status
                        self.state_changed.emit(outcome.origin, status, str(outcome.error))
                report = _report(result)
                with store.engine.connect() as conn:  # here, not on the GUI thread
                    target = write_log(conn, self.region, int(time.time() * 1000))
                report["write_url"] = target.url if target is not None and target.url else ""
                self.synced.emit(report)
                healthy = [o for o in result.outcomes if o.result is not None]
                if not healthy and time.monotonic() - started < 1.0:
                    self._stop.wait(3)  # every log offline or halted: no long poll paced us
        finally:
            sync.close()
            checker.close()
            store.close()


def _short_long_poll(client: LogClient) -> None:
    client.long_poll_wait = 2.0  # bounds how long stop() waits


def _report(result) -> dict:
    """What one list pass came to, as plain data for the GUI thread."""
    logs = []
    for o in result.outcomes:
        r = o.result
        logs.append(
            {
                "origin": o.origin,
                "log_no": o.log_no,
                "status": o.status,
                "message": "" if o.error is None else str(o.error),
                "size": None if r is None else r.checkpoint.size,
                "root": None if r is None else r.checkpoint.root.hex(),
                "applied": 0 if r is None else r.applied,
            }
        )
    return {
        "sequence": result.sequence,
        "note": result.list_note,
        "at": time.time(),
        "applied": result.applied,
        "piles": sorted(result.affected_piles),
        "logs": logs,
    }


class Call(QObject):
    """Runs one function on a worker thread and hands its result back as a signal."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, function, *args) -> None:
        super().__init__()
        self.function, self.args = function, args

    @Slot()
    def run(self) -> None:
        try:
            result = self.function(*self.args)
        except Exception as exc:
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)


def start_in_thread(worker: QObject, parent: QObject) -> QThread:
    """Moves ``worker`` to a new QThread owned by ``parent`` and starts its run()."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    return thread
