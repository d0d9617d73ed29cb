"""Workers that run blocking services on QThreads and report through signals.

Views never touch the store, the network or a serial port: these objects do,
on their own threads, and publish what changed (Anki's change-sets, Electrum's
qt_event_listener). Widgets only ever receive signals.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.sync import LogSync, Misbehaviour, Offline, SyncError
from ledger.client import LogClient
from ledger.cosignature import PolicyError, WitnessPolicy
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
