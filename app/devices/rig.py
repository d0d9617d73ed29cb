"""Driver for the portable virtual-load rig (protocol: docs/rig-protocol.md).

Usage from a verification procedure (one worker thread owns the driver; it is
not thread-safe, like the serial port under it)::

    rig = Rig.from_path("/dev/ttyACM0")
    identity = rig.connect()                 # opens, identifies, enables line CRCs
    rig.reset()
    rig.set_mode(SourceMode.DC)
    rig.set_meter_constant(1000)
    mohm = rig.insulation_resistance(1000)
    rig.set_voltage(750); rig.set_current(100); rig.set_output(True)
    rig.clear_energy()
    with rig.start_stream(10) as stream:
        for frame in stream:                 # MeasurementFrame, gaps/garbling counted
            ...
            if frame.t_ms >= 60_000:
                break
    snap = rig.window()                      # WindowSnapshot, latched atomically
    error = snap.error_percent(1000)

Failures are specific: :class:`RigTimeout` (no answer after retries),
:class:`RigError` (the rig refused: SCPI code and text), :class:`GarbledFrame`
(CRC mismatch after retries), :class:`DeviceDisconnected` (the port vanished;
make a new port on the re-enumerated path and call :meth:`Rig.reconnect` —
the rig keeps its measurement window across a USB unplug).
"""

from __future__ import annotations

import contextlib
import enum
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import TypeVar

import serial

from app.devices.errors import (
    PORT_ERRORS,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    FrameError,
)
from app.devices.modbus import crc16

__all__ = [
    "BAUDRATE",
    "Calibration",
    "DeviceDisconnected",
    "GarbledFrame",
    "GateState",
    "GatedWindow",
    "Identity",
    "MeasurementFrame",
    "MeasurementStream",
    "NotARig",
    "Rig",
    "RigError",
    "RigMeterLink",
    "RigTimeout",
    "SealState",
    "SourceMode",
    "StreamGap",
    "WindowSnapshot",
    "add_line_crc",
    "strip_line_crc",
]

BAUDRATE = 115200
SEQ_MODULUS = 1 << 32
POLL_SLICE = 0.02  # s; how long one read() may block, so deadlines overshoot by at most this
T = TypeVar("T")


class RigTimeout(DeviceTimeout):
    """The rig did not answer a command within the timeout, after all retries."""


class RigError(DeviceError):
    """The rig executed the command and reported an error (SCPI code and text)."""

    def __init__(self, code: int, text: str, command: str = "") -> None:
        self.code = code
        self.text = text
        self.command = command
        where = f" after {command!r}" if command else ""
        super().__init__(f'rig error {code},"{text}"{where}')


class GarbledFrame(FrameError):
    """A line from the rig failed its CRC or grammar check (noise on the link)."""


class NotARig(DeviceError):
    """The port answered, but not like our rig (wrong *IDN? or no CRC support)."""


class StreamGap(DeviceError):
    """Stream frames were lost (raised only by a strict :class:`MeasurementStream`)."""

    def __init__(self, missing: int, seq: int) -> None:
        self.missing = missing
        self.seq = seq
        super().__init__(f"{missing} stream frame(s) lost before seq {seq}")


class SourceMode(enum.StrEnum):
    DC = "DC"
    AC = "AC"


class SealState(enum.StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"


# --------------------------------------------------------------------------- line grammar


def line_crc(payload: str) -> str:
    """CRC-16/MODBUS of the line's ASCII bytes, four upper-case hex digits."""
    return f"{crc16(payload.encode('ascii', 'replace')):04X}"


def add_line_crc(payload: str) -> str:
    return f"{payload}|{line_crc(payload)}"


def strip_line_crc(line: str) -> str:
    """The payload of a ``payload|hhhh`` line; GarbledFrame if the CRC is absent or wrong."""
    payload, sep, crc = line.rpartition("|")
    if not sep or len(crc) != 4:
        raise GarbledFrame(f"garbled reply: no line checksum in {line[:60]!r}")
    expected = line_crc(payload)
    if crc.upper() != expected:
        raise GarbledFrame(f"garbled reply: checksum {crc!r}, expected {expected}")
    return payload


_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_UINT = re.compile(r"^\d{1,12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEX4 = re.compile(r"^[0-9A-F]{4}$")
_ERROR = re.compile(r'^([+-]?\d{1,4}),"([\x20-\x7e]*)"$')


@dataclass(frozen=True)
class Identity:
    """``*IDN?`` reply: ``VENDOR,MODEL,SERIAL,FWVER``."""

    vendor: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, line: str) -> Identity:
        fields = line.split(",")
        if len(fields) != 4 or not all(_PRINTABLE.match(f) for f in fields):
            raise GarbledFrame(f"not an identification string: {line[:60]!r}")
        return cls(*(f.strip() for f in fields))

    def __str__(self) -> str:
        return f"{self.vendor},{self.model},{self.serial},{self.firmware}"


def _decimal(text: str) -> Decimal:
    if not _DECIMAL.match(text):
        raise GarbledFrame(f"not a number: {text[:40]!r}")
    return Decimal(text)


def _uint(text: str) -> int:
    if not _UINT.match(text):
        raise GarbledFrame(f"not an unsigned integer: {text[:40]!r}")
    return int(text)


def _scpi_number(value: Decimal | float | int) -> str:
    """A setpoint as plain decimal text (never an exponent, never ``nan``)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return format(number.normalize(), "f")


@dataclass(frozen=True)
class MeasurementFrame:
    """One streamed ``#M`` line: instantaneous values and window totals.

    ``standard_energy_wh`` and ``pulses`` are cumulative since ``ENER:CLE``,
    so a lost frame loses no energy.
    """

    seq: int
    t_ms: int
    voltage_v: Decimal
    current_a: Decimal
    power_w: Decimal
    standard_energy_wh: Decimal
    pulses: int

    def to_line(self) -> str:
        """The wire form (without the LF), CRC included."""
        body = (
            f"#M,{self.seq},{self.t_ms},{self.voltage_v:.3f},{self.current_a:.3f},"
            f"{self.power_w:.1f},{self.standard_energy_wh:.4f},{self.pulses}"
        )
        return f"{body},{line_crc(body)}"

    @classmethod
    def parse(cls, line: str | bytes) -> MeasurementFrame:
        """Parse one stream line; raises :class:`GarbledFrame` (a FrameError) and nothing else."""
        if isinstance(line, bytes):
            line = line.decode("ascii", "replace")
        line = line.rstrip("\r\n")
        body, sep, crc = line.rpartition(",")
        if not sep or not body.startswith("#M,"):
            raise GarbledFrame(f"garbled stream frame: {line[:60]!r}")
        if not _HEX4.match(crc):
            raise GarbledFrame(f"garbled stream frame: bad CRC field {crc[:8]!r}")
        expected = line_crc(body)
        if crc != expected:
            raise GarbledFrame(f"garbled stream frame: CRC {crc}, expected {expected}")
        fields = body.split(",")[1:]
        if len(fields) != 7:
            raise GarbledFrame(f"garbled stream frame: {len(fields)} fields, expected 7")
        seq, t_ms, u, i, p, e, n = fields
        frame = cls(
            seq=_uint(seq),
            t_ms=_uint(t_ms),
            voltage_v=_decimal(u),
            current_a=_decimal(i),
            power_w=_decimal(p),
            standard_energy_wh=_decimal(e),
            pulses=_uint(n),
        )
        if frame.seq >= SEQ_MODULUS:
            raise GarbledFrame(f"garbled stream frame: seq {frame.seq} out of range")
        return frame


@dataclass(frozen=True)
class WindowSnapshot:
    """``ENER:WIND?``: window time, standard energy and MUT pulses at one instant."""

    t_ms: int
    standard_energy_wh: Decimal
    pulses: int

    def pile_energy_wh(self, constant_imp_per_kwh: int) -> Decimal:
        """Energy registered by the meter under test, from its pulses."""
        return Decimal(self.pulses) * 1000 / Decimal(constant_imp_per_kwh)

    def error_percent(self, constant_imp_per_kwh: int) -> Decimal | None:
        """γ = (E_pile − E_std) / E_std × 100 %, or None before any energy flowed."""
        if self.standard_energy_wh <= 0:
            return None
        pile = self.pile_energy_wh(constant_imp_per_kwh)
        return (pile - self.standard_energy_wh) / self.standard_energy_wh * 100


class GateState(enum.StrEnum):
    """State of a pulse-gated reading window (``ENER:GATE?``, protocol section 3.1)."""

    IDLE = "IDLE"  # never armed, or cleared by ENER:CLE / *RST
    ARMED = "ARM"  # waiting for the opening pulse edge
    RUNNING = "RUN"  # opening edge seen, counting whole pulses
    DONE = "DONE"  # the closing edge came: the window holds exactly N pulses
    ABORTED = "ABRT"  # output switched off or setpoint changed before the closing edge


@dataclass(frozen=True)
class GatedWindow:
    """``ENER:GATE?``: the standard energy between two MUT pulse edges.

    Why gated: a window latched at an arbitrary instant loses the fraction of
    the pulse in progress, biasing every reading by up to −1/N.  Between two
    pulse edges the pile registered exactly ``pulses`` / constant kWh, so the
    error needs no correction and no minimum pulse count for resolution.
    """

    state: GateState
    target_pulses: int
    pulses: int  # whole pulses between the opening edge and the latest edge
    t_ms: int  # rig ms from the opening edge to the latest edge
    standard_energy_wh: Decimal  # standard energy over the same span

    @property
    def complete(self) -> bool:
        return self.state is GateState.DONE and self.pulses == self.target_pulses

    def pile_energy_wh(self, constant_imp_per_kwh: int) -> Decimal:
        return Decimal(self.pulses) * 1000 / Decimal(constant_imp_per_kwh)

    def error_percent(self, constant_imp_per_kwh: int) -> Decimal | None:
        """γ of a complete window; None for one that ended short of its pulses (not judged)."""
        if not self.complete or self.standard_energy_wh <= 0:
            return None
        pile = self.pile_energy_wh(constant_imp_per_kwh)
        return (pile - self.standard_energy_wh) / self.standard_energy_wh * 100


@dataclass(frozen=True)
class Calibration:
    """``CAL:INFO?``: the rig's own traceability (JJG 1192-2023 DC / JJG 1193-2023 AC).

    ``kind`` is what the rig is verified as: ``DC``, ``AC`` or ``ACDC``.
    """

    kind: str
    accuracy: str  # class ("0.05") or expanded uncertainty text, as on its certificate
    certificate_no: str
    expiry: str  # YYYY-MM-DD, last day the certificate is valid
    lab: str  # the calibrating institution's code

    @classmethod
    def parse(cls, line: str) -> Calibration:
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 5 or not all(_PRINTABLE.match(f) for f in fields):
            raise GarbledFrame(f"not a calibration record: {line[:60]!r}")
        if fields[0] not in ("DC", "AC", "ACDC") or not _DATE.match(fields[3]):
            raise GarbledFrame(f"not a calibration record: {line[:60]!r}")
        return cls(*fields)


def _gate(text: str) -> GatedWindow:
    fields = text.split(",")
    if len(fields) != 5:
        raise GarbledFrame(f"not a gate report: {text[:60]!r}")
    try:
        state = GateState(fields[0])
    except ValueError:
        raise GarbledFrame(f"unknown gate state: {fields[0][:10]!r}") from None
    return GatedWindow(state, _uint(fields[1]), _uint(fields[2]), _uint(fields[3]),
                       _decimal(fields[4]))  # fmt: skip


def parse_error(line: str) -> tuple[int, str]:
    match = _ERROR.match(line)
    if not match:
        raise GarbledFrame(f"not an error-queue entry: {line[:60]!r}")
    return int(match.group(1)), match.group(2)


# --------------------------------------------------------------------------- driver


class Rig:
    """The rig over a pyserial port. Nothing is sent before :meth:`connect`.

    ``timeout`` is per query attempt; each query is tried ``1 + retries``
    times (timeouts and garbled replies), then raises.
    """

    def __init__(
        self,
        port: serial.SerialBase,
        *,
        timeout: float = 1.0,
        retries: int = 2,
        checksums: bool = True,
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.checksums = checksums
        self._crc_mode = False
        self._rx = bytearray()
        self._stream_lines: deque[str] = deque()
        self._identity: Identity | None = None
        self._stream: MeasurementStream | None = None
        #: Reply lines that arrived when no query was waiting (late replies).
        self.stale_replies = 0

    @classmethod
    def from_path(cls, path: str, **kwargs: float | int | bool) -> Rig:
        """A Rig on a device path or pyserial URL; the port is opened by connect()."""
        port = serial.serial_for_url(path, do_not_open=True, baudrate=BAUDRATE)
        return cls(port, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------- connection

    def connect(self) -> Identity:
        """Open the port if needed, identify the rig and enable line checksums."""
        try:
            if not self.port.is_open:
                self.port.baudrate = BAUDRATE
                self.port.open()
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"cannot open {self.port.port!r}: {exc}") from exc
        self._crc_mode = False
        self._rx.clear()
        self._stream_lines.clear()
        self._stream = None
        self._io(self.port.reset_input_buffer)
        self._io(lambda: self.port.write(b"\n"))  # terminate any half-sent line
        try:
            self.query("*IDN?", Identity.parse)
        except (RigTimeout, GarbledFrame) as exc:
            raise NotARig(f"no rig identification on {self.port.port!r}: {exc}") from exc
        if self.checksums:
            self._crc_mode = True
            try:
                self.write("SYST:CRC ON;:*CLS")
            except GarbledFrame as exc:
                self._crc_mode = False
                raise NotARig(f"device on {self.port.port!r} has no line checksums") from exc
        else:
            self.write("*CLS")
        self._identity = self.query("*IDN?", Identity.parse)
        return self._identity

    def reconnect(self, port: serial.SerialBase | str | None = None) -> Identity:
        """Connect again after :class:`DeviceDisconnected`, optionally on a new path."""
        self.close()
        if isinstance(port, str):
            port = serial.serial_for_url(port, do_not_open=True, baudrate=BAUDRATE)
        if port is not None:
            self.port = port
        return self.connect()

    def close(self) -> None:
        """Close the port (no command is sent: the rig keeps its state)."""
        self._stream = None
        with contextlib.suppress(serial.SerialException, OSError):
            self.port.close()

    @property
    def identity(self) -> Identity | None:
        """What connect() read from ``*IDN?``; None before connect()."""
        return self._identity

    def __enter__(self) -> Rig:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------- I/O core

    def _io(self, op: Callable[[], T]) -> T:
        try:
            return op()
        except PORT_ERRORS as exc:
            # pyserial raises these when the USB device or pty master is gone.
            self.close()
            raise DeviceDisconnected(f"rig port {self.port.port!r} vanished: {exc}") from exc

    def _send(self, line: str) -> None:
        if self._crc_mode:
            line = add_line_crc(line)
        data = line.encode("ascii") + b"\n"
        self._io(lambda: self.port.write(data))

    def _readline(self, deadline: float) -> str | None:
        """Next complete line (without LF), or None at the deadline."""
        while True:
            idx = self._rx.find(b"\n")
            if idx >= 0:
                raw = bytes(self._rx[:idx])
                del self._rx[: idx + 1]
                return raw.decode("ascii", "replace").rstrip("\r")
            if deadline - time.monotonic() <= 0:
                return None
            if self.port.timeout != POLL_SLICE:
                # Fixed slice: pyserial re-applies termios on every timeout change.
                self.port.timeout = POLL_SLICE
            chunk = self._io(lambda: self.port.read(max(1, self.port.in_waiting)))
            self._rx += chunk
            if len(self._rx) > 65536:  # runaway garbage without LF
                self._rx.clear()

    def _discard_input(self) -> None:
        self._rx.clear()
        self._io(self.port.reset_input_buffer)

    def _drop_stale_replies(self) -> None:
        """Before a command: drop reply lines nobody waited for (keep stream frames).

        A reply that arrives after its query timed out would otherwise be
        taken as the answer to the next command.  (It can still race with
        the next command if it arrives in between; the protocol has no
        request tags, so the timeout must exceed the rig's reply time.)
        """
        waiting = self._io(lambda: self.port.in_waiting)
        if waiting:
            self._rx += self._io(lambda: self.port.read(waiting))
        end = self._rx.rfind(b"\n")
        if end < 0:
            return
        complete = bytes(self._rx[: end + 1])
        del self._rx[: end + 1]
        for raw in complete.split(b"\n")[:-1]:
            line = raw.decode("ascii", "replace").rstrip("\r")
            if line.startswith("#") and self._stream is not None:
                self._stream_lines.append(line)
            elif line:
                self.stale_replies += 1

    def _read_reply(self, deadline: float) -> str:
        while True:
            line = self._readline(deadline)
            if line is None:
                raise RigTimeout("no reply")
            if line.startswith("#"):
                if self._stream is not None:
                    self._stream_lines.append(line)
                continue
            return strip_line_crc(line) if self._crc_mode else line

    def query(
        self,
        command: str,
        parse: Callable[[str], T] = str,  # type: ignore[assignment]
        *,
        timeout: float | None = None,
        allow_empty: bool = False,
    ) -> T:
        """Send a query line and return ``parse(reply)``, retrying lost or garbled replies.

        ``parse`` raising ``GarbledFrame``/``ValueError`` counts as a garbled
        reply (retried).  An empty reply means the rig could not execute the
        query: its queued error is fetched and raised as :class:`RigError`
        (unless ``allow_empty``, for ``MTR:RAW?`` where empty means silence).
        """
        timeout = self.timeout if timeout is None else timeout
        last: Exception = RigTimeout("no attempt")
        for attempt in range(self.retries + 1):
            if attempt:
                self._discard_input()
            else:
                self._drop_stale_replies()
            self._send(command)
            try:
                reply = self._read_reply(time.monotonic() + timeout)
                if reply == "" and not allow_empty:
                    break
                return parse(reply)
            except RigTimeout:
                last = RigTimeout(
                    f"rig did not answer {command!r} within {timeout:g} s "
                    f"({self.retries + 1} tries)"
                )
            except (GarbledFrame, ValueError, InvalidOperation) as exc:
                last = GarbledFrame(f"reply to {command!r} garbled: {exc}")
        else:
            raise last
        code, text = self.query("SYST:ERR?", parse_error)
        raise RigError(code, text, command)

    def write(self, command: str, *, timeout: float | None = None) -> None:
        """Send a set command and raise :class:`RigError` if the rig queued an error.

        Sent as ``command;:SYST:ERR?`` so the outcome costs no extra round trip.
        """
        code, text = self.query(f"{command};:SYST:ERR?", parse_error, timeout=timeout)
        if code != 0:
            raise RigError(code, text, command)

    # ------------------------------------------------------------- common commands

    def identify(self) -> Identity:
        return self.query("*IDN?", Identity.parse)

    def reset(self) -> None:
        """``*RST``: outputs off, setpoints 0, window cleared, streaming stopped."""
        self._stream = None
        self.write("*RST")

    def clear_status(self) -> None:
        self.write("*CLS")

    def self_test(self) -> int:
        """``*TST?``: 0 = pass, otherwise the failure code."""
        return self.query("*TST?", _signed_int, timeout=max(self.timeout, 5.0))

    def next_error(self) -> tuple[int, str]:
        """Pop the oldest error-queue entry; ``(0, "No error")`` when empty."""
        return self.query("SYST:ERR?", parse_error)

    def rig_time_ms(self) -> int:
        """``SYST:TIME?``: the rig's clock, ms since power-on.

        Time settle waits and measurement windows by this clock (or a frame's
        ``t_ms``), never by the laptop's: the simulator's ``--speed`` then
        shortens a 10-minute procedure to seconds without changing it.
        """
        return self.query("SYST:TIME?", _uint)

    def errors(self) -> list[tuple[int, str]]:
        """Drain the error queue."""
        out = []
        for _ in range(32):
            code, text = self.next_error()
            if code == 0:
                break
            out.append((code, text))
        return out

    # ------------------------------------------------------------- sources

    def set_mode(self, mode: SourceMode) -> None:
        self.write(f"SOUR:MODE {SourceMode(mode).value}")

    def mode(self) -> SourceMode:
        return self.query("SOUR:MODE?", SourceMode)

    def set_phases(self, phases: int) -> None:
        """AC only: drive 1 or 3 phases (same U and I on each)."""
        self.write(f"SOUR:PHAS {int(phases)}")

    def phases(self) -> int:
        return self.query("SOUR:PHAS?", _uint)

    def set_voltage(self, volts: Decimal | float) -> None:
        self.write(f"SOUR:VOLT {_scpi_number(volts)}")

    def voltage_setpoint(self) -> Decimal:
        return self.query("SOUR:VOLT?", _decimal)

    def set_current(self, amps: Decimal | float) -> None:
        self.write(f"SOUR:CURR {_scpi_number(amps)}")

    def current_setpoint(self) -> Decimal:
        return self.query("SOUR:CURR?", _decimal)

    def set_output(self, on: bool) -> None:
        self.write("OUTP ON" if on else "OUTP OFF")

    def output_enabled(self) -> bool:
        return self.query("OUTP?", _bool)

    def measure_voltage(self) -> Decimal:
        return self.query("MEAS:VOLT?", _decimal)

    def measure_current(self) -> Decimal:
        return self.query("MEAS:CURR?", _decimal)

    def measure_power_w(self) -> Decimal:
        return self.query("MEAS:POW?", _decimal)

    def insulation_resistance(self, test_voltage: int = 500) -> Decimal:
        """Insulation resistance in MΩ at 500 or 1000 V (output must be off)."""
        if test_voltage not in (500, 1000):
            raise ValueError("insulation test voltage must be 500 or 1000 V")
        return self.query(f"MEAS:INS? {test_voltage}", _decimal, timeout=max(self.timeout, 5.0))

    # ------------------------------------------------------------- energy window

    def set_meter_constant(self, imp_per_kwh: int) -> None:
        """Meter constant of the pile's pulse output (imp/kWh, printed on the meter)."""
        self.write(f"CONF:PULS {int(imp_per_kwh)}")

    def meter_constant(self) -> int:
        return self.query("CONF:PULS?", _uint)

    def clear_energy(self) -> None:
        """``ENER:CLE``: start a new measurement window (time, energy, pulses from 0)."""
        self.write("ENER:CLE")

    def standard_energy_wh(self) -> Decimal:
        return self.query("ENER:STD?", _decimal)

    def pulse_count(self) -> int:
        return self.query("PULS:COUN?", _uint)

    def window(self) -> WindowSnapshot:
        """Window time, standard energy and pulses latched at one instant."""
        return self.query("ENER:WIND?", _window)

    def window_error_percent(self) -> Decimal:
        """``ENER:ERR?``: the rig's own γ for the window, using the ``CONF:PULS`` constant.

        A cross-check for :meth:`WindowSnapshot.error_percent`; raises
        :class:`RigError` (-221) before any energy has flowed.
        """
        return self.query("ENER:ERR?", _decimal)

    def arm_gate(self, pulses: int) -> None:
        """``ENER:GATE N``: measure the standard energy over the next N whole MUT pulses.

        The window opens on the next pulse edge and closes on the N-th edge after
        it; read it with :meth:`gate`.
        """
        if not 1 <= int(pulses) <= 1_000_000:
            raise ValueError(f"pulses per reading must be 1–1000000, got {pulses}")
        self.write(f"ENER:GATE {int(pulses)}")

    def gate(self) -> GatedWindow:
        """``ENER:GATE?``: state, pulses so far, gate time and standard energy."""
        return self.query("ENER:GATE?", _gate)

    def calibration(self) -> Calibration | None:
        """``CAL:INFO?``; None when the rig does not report it (older firmware: −113).

        Then the inspector registers the rig's certificate by hand.
        """
        try:
            return self.query("CAL:INFO?", Calibration.parse)
        except RigError as exc:
            if exc.code == -113:
                return None
            raise

    def seal_state(self) -> SealState:
        return self.query("SEAL?", SealState)

    # ------------------------------------------------------------- streaming

    def start_stream(self, rate_hz: int, *, strict: bool = False) -> MeasurementStream:
        """``INIT:STR``: start streamed frames; iterate the returned stream."""
        self._stream_lines.clear()
        self._stream = MeasurementStream(self, rate_hz, strict=strict)
        try:
            self.write(f"INIT:STR {int(rate_hz)}")
        except DeviceError:
            self._stream = None
            raise
        return self._stream

    def stop_stream(self) -> None:
        """``ABOR``; frames still in flight are discarded."""
        try:
            self.write("ABOR")
        finally:
            self._stream = None
            self._stream_lines.clear()

    def _next_stream_line(self, deadline: float) -> str | None:
        if self._stream_lines:
            return self._stream_lines.popleft()
        return self._readline(deadline)

    # ------------------------------------------------------------- meter pass-through

    def meter_raw(self, request: bytes, *, timeout: float | None = None) -> bytes:
        """Send bytes to the meter under test over the rig's RS-485; b"" if it was silent."""
        reply = self.query(
            f"MTR:RAW? {request.hex().upper()}", _hex_bytes, timeout=timeout, allow_empty=True
        )
        if not reply:
            self.next_error()  # pop "201 Meter no response" so it does not surface later
        return reply

    def set_meter_port(self, baud: int = 2400, parity: str = "E", timeout_ms: int = 500) -> None:
        """RS-485 settings of the pass-through (DL/T 645: 2400 or 9600 baud, even parity)."""
        self.write(f"MTR:BAUD {int(baud)};:MTR:PAR {parity};:MTR:TOUT {int(timeout_ms)}")

    def meter_link(self, *, timeout: float | None = None) -> RigMeterLink:
        """A FrameLink for Dlt645Meter / ModbusMeter that goes through this rig."""
        return RigMeterLink(self, timeout=timeout)


def _signed_int(text: str) -> int:
    if not re.match(r"^[+-]?\d{1,9}$", text):
        raise GarbledFrame(f"not an integer: {text[:40]!r}")
    return int(text)


def _bool(text: str) -> bool:
    if text not in ("0", "1"):
        raise GarbledFrame(f"not a boolean: {text[:40]!r}")
    return text == "1"


def _hex_bytes(text: str) -> bytes:
    if not re.match(r"^([0-9A-Fa-f]{2})*$", text):
        raise GarbledFrame(f"not hex bytes: {text[:40]!r}")
    return bytes.fromhex(text)


def _window(text: str) -> WindowSnapshot:
    fields = text.split(",")
    if len(fields) != 3:
        raise GarbledFrame(f"not a window snapshot: {text[:60]!r}")
    return WindowSnapshot(_uint(fields[0]), _decimal(fields[1]), _uint(fields[2]))


class RigMeterLink:
    """FrameLink through ``MTR:RAW?``: the meter drivers read the MUT via the rig."""

    def __init__(self, rig: Rig, *, timeout: float | None = None) -> None:
        self.rig = rig
        self.timeout = timeout

    def transact(self, request: bytes, *, expect_reply: bool = True) -> bytes:
        reply = self.rig.meter_raw(request, timeout=self.timeout)
        if expect_reply and not reply:
            raise DeviceTimeout("meter under test silent on the rig's RS-485 port")
        return reply


class MeasurementStream:
    """Iterator over streamed :class:`MeasurementFrame`s (see ``Rig.start_stream``).

    Garbled lines are skipped and counted in :attr:`garbled`; sequence gaps
    are counted in :attr:`dropped` (a garbled frame is also a gap).  With
    ``strict=True`` they raise :class:`GarbledFrame` / :class:`StreamGap`
    instead.  Energy and pulses are cumulative, so skipping is safe for the
    error calculation; the counters tell the UI how healthy the link is.
    """

    def __init__(self, rig: Rig, rate_hz: int, *, strict: bool = False) -> None:
        self.rig = rig
        self.rate_hz = rate_hz
        self.strict = strict
        self.frames = 0
        self.garbled = 0
        self.dropped = 0
        self.last_gap = 0
        self.last_seq: int | None = None
        self.stopped = False

    def read(self, timeout: float | None = None) -> MeasurementFrame:
        """Next good frame; :class:`RigTimeout` if none arrives within ``timeout``."""
        if timeout is None:
            timeout = 1.0 + 5.0 / max(self.rate_hz, 1)
        deadline = time.monotonic() + timeout
        while True:
            line = self.rig._next_stream_line(deadline)
            if line is None:
                raise RigTimeout(f"no stream frame within {timeout:g} s")
            try:
                frame = MeasurementFrame.parse(line)
            except GarbledFrame:
                self.garbled += 1
                if self.strict:
                    raise
                continue
            gap = 0 if self.last_seq is None else (frame.seq - self.last_seq - 1) % SEQ_MODULUS
            self.last_seq = frame.seq
            self.last_gap = gap
            self.dropped += gap
            self.frames += 1
            if gap and self.strict:
                raise StreamGap(gap, frame.seq)
            return frame

    def __iter__(self) -> Iterator[MeasurementFrame]:
        while not self.stopped:
            yield self.read()

    def stop(self) -> None:
        """Stop streaming (``ABOR``) unless the port is already gone."""
        if not self.stopped:
            self.stopped = True
            if self.rig._stream is self and self.rig.port.is_open:
                self.rig.stop_stream()

    def __enter__(self) -> MeasurementStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or not issubclass(exc_type, DeviceDisconnected):
            self.stop()
