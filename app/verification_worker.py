"""Runs a :class:`VerificationProcedure` on a QThread and reports through signals.

Why this shape (pymeasure ``workers.py`` + Electrum ``QtHandlerBase``):

* The procedure, the rig and the serial port live on one worker thread; the
  GUI never touches them.  ``emit`` topics become Qt signals, which Qt queues
  to the GUI thread, so no widget is ever touched from the worker.
* Stream samples are *not* signalled one by one: the worker appends them to a
  :class:`SampleRing` and the GUI redraws from it on a timer (≥ 10 Hz), so a
  50 Hz stream cannot flood the event loop.
* A prompt from the procedure (a confirmation, an amount) is a signal to the
  GUI while the worker blocks on a ``threading.Event``; the GUI answers with
  :meth:`QtInspectorPrompt.answer` from its own thread.
* A USB unplug pauses the procedure in :meth:`VerificationWorker._reconnect`:
  it polls discovery for the same rig every second (on the worker thread) and
  also accepts a path the inspector types (:meth:`VerificationWorker.supply_port`).
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.devices.discovery import find_rigs
from app.devices.errors import DeviceDisconnected, DeviceError
from app.devices.rig import Rig
from app.models.charging.verification import (
    JournalMismatch,
    LiveSample,
    Progress,
    Question,
    ReferenceStandard,
    SiteConditions,
    StandardNotTraceable,
    VerificationAborted,
    VerificationPlan,
    VerificationProcedure,
)
from app.models.verification_parts import ChecklistItem, Journal

__all__ = ["QtInspectorPrompt", "SampleRing", "VerificationWorker"]

#: Columns of the ring: run time, U, I, P, running error (NaN when undefined).
COLUMNS = ("t", "u", "i", "p", "err")


class SampleRing:
    """Fixed-capacity ring of live samples, written by the worker, read by a GUI timer.

    Why a ring and not a list: a 10-minute run at 20 Hz is 12 000 samples,
    well inside the default capacity; a longer or faster run keeps the newest
    ones without growing without bound.  Reads copy the arrays in time order
    under the lock, so the plot never sees a half-written row.
    """

    def __init__(self, capacity: int = 65536) -> None:
        self.capacity = capacity
        self._data = np.full((capacity, len(COLUMNS)), np.nan)
        self._count = 0  # total ever written
        self._lock = threading.Lock()
        self.latest: LiveSample | None = None
        self.progress: Progress | None = None

    def append(self, sample: LiveSample) -> None:
        err = sample.running_error_percent
        row = (
            sample.run_t_s,
            sample.voltage_v,
            sample.current_a,
            sample.power_w,
            np.nan if err is None else err,
        )
        with self._lock:
            self._data[self._count % self.capacity] = row
            self._count += 1
            self.latest = sample

    def set_progress(self, progress: Progress) -> None:
        with self._lock:
            self.progress = progress

    @property
    def count(self) -> int:
        """Samples written so far (a version number for "anything new?")."""
        with self._lock:
            return self._count

    def snapshot(self) -> np.ndarray:
        """The stored samples in time order, shape (n, 5): t, U, I, P, error."""
        with self._lock:
            n = min(self._count, self.capacity)
            if self._count <= self.capacity:
                return self._data[:n].copy()
            start = self._count % self.capacity
            return np.concatenate((self._data[start:], self._data[:start]))

    def clear(self) -> None:
        with self._lock:
            self._count = 0
            self.latest = None
            self.progress = None


@dataclass(frozen=True)
class PromptRequest:
    """What the GUI is asked: ``kind`` is "confirm" or "number"."""

    kind: str
    question: Question


class QtInspectorPrompt(QObject):
    """:class:`InspectorPrompt` for the worker thread, answered by the GUI.

    The checklist is answered from what the inspector ticked on the
    pre-check page (``preset``), so the procedure does not stop for it.
    """

    requested = Signal(object)  # PromptRequest

    def __init__(self, preset: dict[str, bool] | None = None) -> None:
        super().__init__()
        self.preset = dict(preset or {})
        self._event = threading.Event()
        self._answer: object = None
        self._cancelled = False

    def checklist(self, items: Sequence[ChecklistItem]) -> dict[str, bool]:
        return {item.key: self.preset.get(item.key, False) for item in items}

    def confirm(self, question: Question) -> bool:
        return bool(self._ask(PromptRequest("confirm", question)))

    def ask_number(self, question: Question) -> Decimal | None:
        answer = self._ask(PromptRequest("number", question))
        return answer if isinstance(answer, Decimal) else None

    def _ask(self, request: PromptRequest) -> object:
        if self._cancelled:
            return None
        self._event.clear()
        self._answer = None
        self.requested.emit(request)
        self._event.wait()
        return self._answer

    def answer(self, value: object) -> None:
        """Called on the GUI thread with the inspector's answer."""
        self._answer = value
        self._event.set()

    def cancel(self) -> None:
        """Release a waiting worker (stop or window closed): the answer is "no"."""
        self._cancelled = True
        self.answer(None)


class VerificationWorker(QObject):
    """Owns the rig and the procedure on its thread; talk to it only via signals/methods below.

    Thread-safe entry points for the GUI: :meth:`stop`, :meth:`supply_port`
    and ``prompt.answer``; :meth:`run` is the slot the QThread starts.
    """

    step_changed = Signal(str)
    reading_taken = Signal(object)  # Reading
    point_done = Signal(object)  # PointResult
    insulation_measured = Signal(object)  # Decimal MΩ
    clock_checked = Signal(object)  # ClockResult
    paused = Signal(str)  # why (the disconnect message)
    resumed = Signal(str)  # rig identity
    log = Signal(str)
    finished = Signal(object)  # VerificationResult
    failed = Signal(str)  # an error the inspector must act on
    aborted = Signal(str)
    done = Signal()  # always last, whatever happened

    def __init__(
        self,
        plan: VerificationPlan,
        port_path: str,
        journal: Path,
        *,
        checklist: dict[str, bool] | None = None,
        ring: SampleRing | None = None,
        rig_factory: Callable[[str], Rig] | None = None,
        discover: Callable[[], list[str]] | None = None,
        site: SiteConditions | None = None,
        standard: ReferenceStandard | None = None,
    ) -> None:
        super().__init__()
        self.site = site
        self.standard = standard
        self.plan = plan
        self.port_path = port_path
        self.journal = Journal(journal)
        self.ring = ring or SampleRing()
        self.prompt = QtInspectorPrompt(checklist)
        self._rig_factory = rig_factory or (lambda path: Rig.from_path(path))
        self._discover = discover or _discover_paths
        self._stop = threading.Event()
        self._ports: queue.Queue[str] = queue.Queue()
        self.procedure: VerificationProcedure | None = None

    # ------------------------------------------------------------- GUI-side API

    def stop(self) -> None:
        """Ask the run to stop at the next check (sources are switched off)."""
        self._stop.set()
        self.prompt.cancel()
        self._ports.put("")

    def supply_port(self, path: str) -> None:
        """The inspector typed or picked the re-enumerated port after an unplug."""
        self._ports.put(path)

    # ------------------------------------------------------------- worker thread

    @Slot()
    def run(self) -> None:
        rig = self._rig_factory(self.port_path)
        procedure = VerificationProcedure(
            rig,
            self.plan,
            self.journal,
            prompt=self.prompt,
            reconnect=self._reconnect,
            emit=self._emit,
            should_stop=self._stop.is_set,
            site=self.site,
            standard=self.standard,
        )
        self.procedure = procedure
        try:
            result = procedure.run()
        except VerificationAborted as exc:
            self.aborted.emit(str(exc))
        except (DeviceError, JournalMismatch, StandardNotTraceable, OSError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # the edge: report, never kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        else:
            self.finished.emit(result)
        finally:
            rig.close()
            self.done.emit()

    def _emit(self, topic: str, payload: object) -> None:
        if topic == "sample":
            assert isinstance(payload, LiveSample)
            self.ring.append(payload)
        elif topic == "progress":
            assert isinstance(payload, Progress)
            self.ring.set_progress(payload)
        elif topic == "step":
            self.step_changed.emit(str(payload))
        elif topic == "reading":
            self.reading_taken.emit(payload)
        elif topic == "point":
            self.point_done.emit(payload)
        elif topic == "insulation":
            self.insulation_measured.emit(payload)
        elif topic == "clock":
            self.clock_checked.emit(payload)
        elif topic == "paused":
            self.paused.emit(str(payload))
        elif topic == "resumed":
            self.resumed.emit(str(payload))
        elif topic == "log":
            self.log.emit(str(payload))

    def _reconnect(self, exc: DeviceDisconnected) -> str | None:
        """Block until a port is supplied by the inspector or found by discovery."""
        while not self._stop.is_set():
            try:
                path = self._ports.get(timeout=1.0)
            except queue.Empty:
                # The old path is gone while unplugged, so whatever answers *IDN?
                # now is the re-enumerated rig (the procedure checks its serial).
                found = self._discover()
                if not found:
                    continue
                path = found[0]
            if self._stop.is_set():
                return None
            if path:
                self.port_path = path
                return path
        return None


def _discover_paths() -> list[str]:
    """Rig ports visible now (USB id, probed USB serial, EVM_RIG_PORTS)."""
    return [found.path for found in find_rigs(timeout=0.3)]
