"""Driver for a standard flowmeter used to verify fuel dispensers (docs/flowmeter-protocol.md).

The flowmeter sits in series with the nozzle under test (a master meter, the
alternative JJG 443 allows to the 20 L standard metal measure). It totalises the
volume of one *batch* between ``BATCH:START`` and ``BATCH:STOP`` and reports it in mL
with its fuel temperature, so a run is: zero the batch, let the dispenser deliver its
preset, stop, read. One worker thread owns a driver (not thread-safe, like the port).

Why a checksum on every reply (``payload|hhhh``, the CRC-16 line checksum of the rig
protocol, reused from app.devices.rig): the volume decides a verdict, and a flipped
digit on a noisy RS-232 adapter must be a retried garbled reply, never a wrong error
figure.

The simulator (app/devices/flowmeter_sim.py) also plays the dispenser under test
through ``SIM:`` commands; :class:`SimulatedNozzle` drives them. A real flowmeter
answers those with ``ERR,10`` — on site the inspector presets the dispenser and types
its display.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import serial

from app.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from app.devices.rig import (  # the rig's line grammar: CRC lines, strict numbers
    GarbledFrame,
    Identity,
    _decimal,
    _uint,
    add_line_crc,
    line_crc,
    strip_line_crc,
)

__all__ = [
    "BAUDRATE",
    "BatchState",
    "Flowmeter",
    "FlowmeterCalibration",
    "FlowmeterError",
    "FlowmeterIdentity",
    "FlowmeterTimeout",
    "GarbledReply",
    "SimulatedNozzle",
    "add_line_crc",
    "line_crc",
    "strip_line_crc",
]

BAUDRATE = 9600
POLL_SLICE = 0.02
T = TypeVar("T")

try:  # a pulled cable surfaces from tcflush as termios.error, which is not an OSError
    import termios

    PORT_ERRORS: tuple[type[BaseException], ...] = (
        serial.SerialException,
        OSError,
        termios.error,
    )
except ImportError:  # Windows
    PORT_ERRORS = (serial.SerialException, OSError)


class FlowmeterTimeout(DeviceTimeout):
    """The flowmeter did not answer (after retries): cable, port or power."""


class FlowmeterError(DeviceError):
    """The flowmeter refused a command (``ERR,<code>,<text>``)."""

    def __init__(self, code: int, text: str, command: str = "") -> None:
        super().__init__(f"flowmeter refused {command!r}: error {code} ({text})")
        self.code = code
        self.text = text


GarbledReply = GarbledFrame
"""A reply with a wrong or missing line CRC or an unreadable field (after retries)."""


FlowmeterIdentity = Identity
"""``*IDN?``: vendor, model, serial, firmware — the rig's identification grammar."""


@dataclass(frozen=True)
class FlowmeterCalibration:
    """What ``CAL?`` says about the meter's own verification (its traceability)."""

    accuracy: str  # e.g. "0.05" (% of volume), as on its certificate
    certificate_no: str
    expiry: str  # YYYY-MM-DD

    @classmethod
    def parse(cls, payload: str) -> FlowmeterCalibration:
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


@dataclass(frozen=True)
class BatchState:
    """``BATCH?``: running, batch volume (mL, 0.1 mL), flow (mL/min), fuel temperature (°C)."""

    running: bool
    volume_ml: Decimal
    flow_ml_min: int
    temperature_c: Decimal

    @classmethod
    def parse(cls, payload: str) -> BatchState:
        parts = payload.split(",")
        if len(parts) != 4 or parts[0] not in ("RUN", "STOP"):
            raise GarbledReply(f"batch state {payload!r} is not RUN|STOP,volume,flow,temp")
        volume = _decimal(parts[1])
        if volume < 0:
            raise GarbledReply(f"batch volume {parts[1]} is negative")
        return cls(parts[0] == "RUN", volume, _uint(parts[2]), _decimal(parts[3]))


def _error_of(payload: str) -> tuple[int, str] | None:
    if not payload.startswith("ERR,"):
        return None
    _, code, text = [*payload.split(",", 2), ""][:3]
    try:
        return int(code), text
    except ValueError:
        raise GarbledReply(f"error reply {payload!r} has no code") from None


class Flowmeter:
    """The flowmeter over a pyserial port; ``timeout`` per try, ``1 + retries`` tries."""

    def __init__(self, port: serial.SerialBase, *, timeout: float = 1.0, retries: int = 2) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._rx = bytearray()
        self.identity: FlowmeterIdentity | None = None

    @classmethod
    def from_path(cls, path: str, **kwargs: float | int) -> Flowmeter:
        port = serial.serial_for_url(path, do_not_open=True, baudrate=BAUDRATE)
        return cls(port, **kwargs)  # type: ignore[arg-type]

    def connect(self) -> FlowmeterIdentity:
        """Open the port and identify; DeviceDisconnected if it cannot be opened."""
        try:
            if not self.port.is_open:
                self.port.open()
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"cannot open {self.port.port!r}: {exc}") from exc
        self._io(lambda: self.port.write(b"\n"))  # end any half-sent line
        self.identity = self.query("*IDN?", FlowmeterIdentity.parse)
        return self.identity

    def close(self) -> None:
        with contextlib.suppress(*PORT_ERRORS):
            self.port.close()

    # ------------------------------------------------------------- I/O

    def _io(self, op: Callable[[], T]) -> T:
        """``op()`` on the port; a pulled cable (SerialException/OSError) closes it and
        raises DeviceDisconnected, which the worker reports and never retries."""
        failure: BaseException
        try:
            return op()
        except PORT_ERRORS as exc:
            failure = exc
        self.close()
        raise DeviceDisconnected(f"flowmeter port {self.port.port!r} vanished: {failure}")

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

        Timeouts and garbled replies are retried (every command of the protocol may be
        repeated without harm: BATCH:START only zeroes a batch not yet delivered into);
        an ``ERR`` reply raises :class:`FlowmeterError` at once.
        """
        last: Exception = FlowmeterTimeout("no attempt")
        for _ in range(self.retries + 1):
            self._rx.clear()
            self._io(self.port.reset_input_buffer)
            self._io(lambda: self.port.write(command.encode("ascii") + b"\n"))
            line = self._readline(time.monotonic() + self.timeout)
            if line is None:
                last = FlowmeterTimeout(
                    f"the flowmeter did not answer {command!r} within {self.timeout:g} s "
                    f"({self.retries + 1} tries): check its cable and power"
                )
                continue
            try:
                payload = strip_line_crc(line)
                error = _error_of(payload)
                if error is not None:
                    raise FlowmeterError(error[0], error[1], command)
                return parse(payload)
            except GarbledReply as exc:
                last = GarbledReply(f"reply to {command!r} garbled: {exc}")
        raise last

    def _ok(self, command: str) -> None:
        reply = self.query(command)
        if reply != "OK":
            raise GarbledReply(f"{command!r} answered {reply!r}, not OK")

    # ------------------------------------------------------------- commands

    def calibration(self) -> FlowmeterCalibration:
        return self.query("CAL?", FlowmeterCalibration.parse)

    def start_batch(self) -> None:
        """Zero the batch volume and start totalising."""
        self._ok("BATCH:START")

    def stop_batch(self) -> None:
        """Stop totalising; the batch volume stays readable until the next start."""
        self._ok("BATCH:STOP")

    def batch(self) -> BatchState:
        return self.query("BATCH?", BatchState.parse)

    def temperature_c(self) -> Decimal:
        return self.query("TEMP?", _decimal)


@dataclass(frozen=True)
class _Display:
    indicated_ml: int
    delivering: bool
    temperature_c: Decimal

    @classmethod
    def parse(cls, payload: str) -> _Display:
        parts = payload.split(",")
        if len(parts) != 3 or parts[1] not in ("FILL", "IDLE"):
            raise GarbledReply(f"dispenser display {payload!r} is not mL,FILL|IDLE,temp")
        return cls(_uint(parts[0]), parts[1] == "FILL", _decimal(parts[2]))


class SimulatedNozzle:
    """The simulator's dispenser under test, over the flowmeter's port (``SIM:`` commands).

    Stands in for the inspector at the nozzle: preset and deliver, then read the display.
    """

    def __init__(self, meter: Flowmeter) -> None:
        self.meter = meter
        self._last: _Display | None = None

    def fill(self, flow_ml_min: int, preset_ml: int) -> None:
        self.meter._ok(f"SIM:FILL {int(flow_ml_min)},{int(preset_ml)}")

    def display(self) -> tuple[int, bool]:
        self._last = self.meter.query("SIM:DISP?", _Display.parse)
        return self._last.indicated_ml, self._last.delivering

    def dispenser_temp_c(self) -> Decimal | None:
        if self._last is None:
            self.display()
        assert self._last is not None
        return self._last.temperature_c
