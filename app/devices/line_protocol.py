"""The checked ASCII line protocol that the verification standards share (flowmeter, taxi
distance/time standard): one command per line, one reply per line, every reply ending in
``|hhhh`` (the rig protocol's CRC-16 line checksum), ``ERR,<code>,<text>`` for a refusal.

Why one module: the fuel dispenser's standard flowmeter (docs/flowmeter-protocol.md) and
the taxi meter's distance/time standard (docs/metrology.md, "Taxi meters") talk the same
grammar over the same USB–RS-232 cable, so the retrying client (:class:`LineDevice`) and the
pty simulator's serving loop (:class:`LinePtySimulator`) exist once; each instrument adds
only its commands and its physics.

Kind-free: nothing here names fuel or taxis.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, TypeVar

import serial

from app.devices.errors import PORT_ERRORS, DeviceDisconnected, DeviceError, DeviceTimeout
from app.devices.rig import GarbledFrame, Identity, add_line_crc, strip_line_crc

__all__ = [
    "POLL_SLICE",
    "GarbledReply",
    "LineDevice",
    "LineDeviceError",
    "LineDeviceTimeout",
    "LinePtySimulator",
    "SimConfig",
    "StandardCalibration",
    "error_of",
    "serve_until_signal",
]

POLL_SLICE = 0.02
SIM_TICK_S = 0.005
T = TypeVar("T")

GarbledReply = GarbledFrame
"""A reply with a wrong or missing line CRC or an unreadable field (after retries)."""


@dataclass(frozen=True)
class StandardCalibration:
    """What ``CAL?`` says about a standard's own verification (its traceability)."""

    accuracy: str  # e.g. "0.05" (% of reading), as on its certificate
    certificate_no: str
    expiry: str  # YYYY-MM-DD

    @classmethod
    def parse(cls, payload: str) -> StandardCalibration:
        parts = payload.split(",")
        if len(parts) != 3 or len(parts[2]) != 10:
            raise GarbledReply(f"calibration {payload!r} is not accuracy,certificate,expiry")
        return cls(*parts)

    def to_json(self) -> dict[str, str]:
        return {
            "accuracy": self.accuracy,
            "certificate_no": self.certificate_no,
            "expiry": self.expiry,
        }


class LineDeviceTimeout(DeviceTimeout):
    """The instrument did not answer (after retries): cable, port or power."""


class LineDeviceError(DeviceError):
    """The instrument refused a command (``ERR,<code>,<text>``)."""

    noun = "instrument"

    def __init__(self, code: int, text: str, command: str = "") -> None:
        super().__init__(f"{self.noun} refused {command!r}: error {code} ({text})")
        self.code = code
        self.text = text


def error_of(payload: str) -> tuple[int, str] | None:
    """(code, text) of an ``ERR,<code>,<text>`` payload, None for any other payload."""
    if not payload.startswith("ERR,"):
        return None
    _, code, text = [*payload.split(",", 2), ""][:3]
    try:
        return int(code), text
    except ValueError:
        raise GarbledReply(f"error reply {payload!r} has no code") from None


class LineDevice:
    """An instrument over a pyserial port; ``timeout`` per try, ``1 + retries`` tries.

    Subclasses set ``noun`` (for messages), ``timeout_error``/``refusal_error`` (their
    exception types) and add their commands on top of :meth:`query`. One worker thread
    owns a driver (not thread-safe, like the port)."""

    noun = "instrument"
    baudrate = 9600
    timeout_error: type[LineDeviceTimeout] = LineDeviceTimeout
    refusal_error: type[LineDeviceError] = LineDeviceError

    def __init__(self, port: serial.SerialBase, *, timeout: float = 1.0, retries: int = 2) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._rx = bytearray()
        self.identity: Identity | None = None

    @classmethod
    def from_path(cls, path: str, **kwargs: float | int) -> Self:
        port = serial.serial_for_url(path, do_not_open=True, baudrate=cls.baudrate)
        return cls(port, **kwargs)  # type: ignore[arg-type]

    def connect(self) -> Identity:
        """Open the port and identify; DeviceDisconnected if it cannot be opened."""
        try:
            if not self.port.is_open:
                self.port.open()
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"cannot open {self.port.port!r}: {exc}") from exc
        self._io(lambda: self.port.write(b"\n"))  # end any half-sent line
        self.identity = self.query("*IDN?", Identity.parse)
        return self.identity

    def close(self) -> None:
        with contextlib.suppress(*PORT_ERRORS):
            self.port.close()

    def _io(self, op: Callable[[], T]) -> T:
        """``op()`` on the port; a pulled cable (SerialException/OSError) closes it and
        raises DeviceDisconnected, which the worker reports and never retries."""
        failure: BaseException
        try:
            return op()
        except PORT_ERRORS as exc:
            failure = exc
        self.close()
        raise DeviceDisconnected(f"{self.noun} port {self.port.port!r} vanished: {failure}")

    def _readline(self, deadline: float) -> str | None:
        while True:
            idx = self._rx.find(b"\n")
            if idx >= 0:
                raw = bytes(self._rx[:idx])
                del self._rx[: idx + 1]
                return raw.decode("ascii", "replace").rstrip("\r")
            if time.monotonic() >= deadline:
                return None
            if self.port.timeout != POLL_SLICE:
                self.port.timeout = POLL_SLICE
            self._rx += self._io(lambda: self.port.read(max(1, self.port.in_waiting)))
            if len(self._rx) > 4096:  # garbage without a line end
                self._rx.clear()

    def query(self, command: str, parse: Callable[[str], T] = str) -> T:  # type: ignore[assignment]
        """Send ``command`` and return ``parse(payload)`` of its checked reply.

        Timeouts and garbled replies are retried (every command of these protocols may be
        repeated without harm); an ``ERR`` reply raises ``refusal_error`` at once.
        """
        last: Exception = self.timeout_error("no attempt")
        for _ in range(self.retries + 1):
            self._rx.clear()
            self._io(self.port.reset_input_buffer)
            self._io(lambda: self.port.write(command.encode("ascii") + b"\n"))
            line = self._readline(time.monotonic() + self.timeout)
            if line is None:
                last = self.timeout_error(
                    f"the {self.noun} did not answer {command!r} within {self.timeout:g} s "
                    f"({self.retries + 1} tries): check its cable and power"
                )
                continue
            try:
                payload = strip_line_crc(line)
                error = error_of(payload)
                if error is not None:
                    raise self.refusal_error(error[0], error[1], command)
                return parse(payload)
            except GarbledReply as exc:
                last = GarbledReply(f"reply to {command!r} garbled: {exc}")
        raise last

    def _ok(self, command: str) -> None:
        reply = self.query(command)
        if reply != "OK":
            raise GarbledReply(f"{command!r} answered {reply!r}, not OK")


@dataclass
class SimConfig:
    """What every simulator's config carries; a simulator's config subclasses it with
    its physics (one CLI option per field)."""

    speed: float = 1.0
    seed: int | None = None
    garble_rate: float = 0.0
    timeout_rate: float = 0.0


class LinePtySimulator:
    """Serve a line protocol on a real pty from a thread, with injectable faults.

    Subclasses implement :meth:`reply` (one command → one payload, or None to stay
    silent) and :meth:`advance` (their physics up to ``now``, called under the lock
    before every command and every tick). ``garble_rate``/``timeout_rate``/``seed``/
    ``speed`` come from the config object."""

    thread_name = "line-sim"

    def __init__(self, config: SimConfig, *, on_path: Callable[[str], None] | None = None) -> None:
        if config.speed <= 0:
            raise ValueError("speed must be positive")
        self.config = config
        self.on_path = on_path
        self.garble_rate = config.garble_rate
        self.timeout_rate = config.timeout_rate
        self._rng = random.Random(config.seed)
        self._fds: tuple[int, int] | None = None
        self.path: str | None = None
        self._rx = bytearray()
        self._tx = bytearray()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last = 0.0

    # ------------------------------------------------------------- to implement

    def reply(self, command: str) -> str | None:
        raise NotImplementedError

    def advance(self, now: float) -> None:
        """Move the simulated physics to ``now`` (time.monotonic())."""

    # ------------------------------------------------------------- lifecycle

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._fds = (master, slave)
        self.path = os.ttyname(slave)
        if self.on_path:
            self.on_path(self.path)
        self._last = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def unplug(self) -> None:
        """Pull the cable: the pty goes away; the driver sees the port vanish."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fds = None
        self.path = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------- serving

    def _handle(self, line: bytes) -> None:
        text = line.decode("ascii", "replace").rstrip("\r")
        if not text.strip():
            return
        if self.timeout_rate and self._rng.random() < self.timeout_rate:
            return
        answer = self.reply(text)
        if answer is None:
            return
        data = bytearray(add_line_crc(answer).encode("ascii") + b"\n")
        if self.garble_rate and self._rng.random() < self.garble_rate:
            pos = self._rng.randrange(len(data) - 1)
            data[pos] = (data[pos] + 1 + self._rng.randrange(200)) % 256 or 1
            if data[pos] == 0x0A:
                data[pos] = 0x3F
        self._tx += data

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self.advance(time.monotonic())
                fds = self._fds
            if fds is None:
                self._stop.wait(SIM_TICK_S)
                continue
            master = fds[0]
            try:
                readable, _, _ = select.select([master], [], [], SIM_TICK_S)
                if readable:
                    self._rx += os.read(master, 4096)
                while (idx := self._rx.find(b"\n")) >= 0:
                    line = bytes(self._rx[:idx])
                    del self._rx[: idx + 1]
                    with self._lock:
                        self.advance(time.monotonic())
                        self._handle(line)
                if self._tx:
                    del self._tx[: os.write(master, self._tx)]
            except BlockingIOError:
                continue
            except (OSError, ValueError):
                self._rx.clear()
                self._tx.clear()
                self._stop.wait(SIM_TICK_S)


def serve_until_signal(make: Callable[[SimConfig], LinePtySimulator], config: SimConfig) -> int:
    """The simulators' command line: print the pty path, serve until Ctrl-C or SIGTERM."""
    if config.speed <= 0:
        raise SystemExit("error: --speed must be positive")
    sim = make(config)
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    sim.on_path = lambda path: print(path, flush=True)
    with sim:
        stopping.wait()  # leaving the block stops the thread
    return 0
