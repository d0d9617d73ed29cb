"""Rig simulator on a real pseudo-terminal, with the pile's meter behind ``MTR:RAW?``.

Why a pty and not a mock: the driver, discovery and the GUI then exercise the
same pyserial code path as with the USB rig, including what happens when the
cable is pulled (the pty master closes, pyserial raises on the slave).

Run it::

    python -m app.devices.simulator --true-error 0.4 --speed 60 --seed 1
    /dev/pts/7                     <- first stdout line: open this path

Options (all optional):

``--true-error PCT``   error of the meter under test (MUT), e.g. 0.4 (%)
``--noise PCT``        std of the MUT's extra error, redrawn every simulated
                       second (default 0.02 × class)
``--rig-noise PCT``    std of the rig's standard meter, redrawn every simulated
                       second (default 0.01, a fifth of its 0.05 class)
``--pulse-tick-ms MS`` the MUT emits a pulse edge on its next sampling tick
                       after its register crosses a pulse (default 1 ms): the
                       edge jitter a gated window sees
``--connector-errors PCT,PCT`` a pile with several guns (充电枪), one true
                       error per gun; the rig measures the gun its leads are on
                       (``select_connector``; the CLI starts on gun 1)
``--cal-kind DC|AC|ACDC``, ``--cal-expiry YYYY-MM-DD``, ``--cal-certificate NO``
                       what ``CAL:INFO?`` reports (default: the rig's kind,
                       expiring a year from today); ``--no-cal-info`` makes
                       the rig answer −113 like older firmware
``--class 1|2``        accuracy class of the pile (sets the default noise)
``--clock-offset S``   MUT clock minus true Beijing time, seconds
``--speed X``          simulated time runs X × real time (energy, window
                       time, faults); the MUT clock stays on real time
``--fault F``          repeatable: ``unplug@T`` (close the pty at simulated
                       second T), ``garble@RATE`` (fraction of lines sent with
                       corrupted bytes), ``timeout@RATE`` (fraction of command
                       lines ignored), ``seal-open`` or ``seal-open@T``
``--reconnect-after S`` after an unplug, open a NEW pty after S simulated
                       seconds and print its path on stdout
``--seed S``           random seed (noise, faults)
``--kind DC|AC``       pile type (default source mode and limits)
``--rated-power KW``   pile rating; the MUT saturates above 120 %
``--constant N``       MUT pulse constant, imp/kWh (what the pile's nameplate
                       says; the rig must be told with ``CONF:PULS``)
``--insulation MOHM``  insulation resistance the rig will measure
``--meter-address A``  DL/T 645 address of the MUT (12 digits)

Physics: output ON at (U, I) gives true power P = U·I (DC) or
n·U·I (AC, n = ``SOUR:PHAS`` phases, unity power factor).  Time is integrated
in steps that end on every whole simulated second (where both noises are
redrawn), so nothing depends on the speed-up.  The standard meter integrates
P·(1 + rig noise); the MUT registers P·(1 + true_error + noise) (its register
starts at 1234.56 kWh) and emits a pulse each time its register crosses a
multiple of 1/constant kWh, at its own constant (``--constant``; the rig
counts them and only *assumes* the constant it was given with ``CONF:PULS``).
Each pulse crossing time is solved exactly inside a step and delayed to the
MUT's next sampling tick; a gated window (``ENER:GATE``) latches the standard
energy at those edge times, so its reading is unbiased whatever the speed.
The MUT answers DL/T 645-2007
(read address, read energy/voltage/current/power/date/time, broadcast time
sync) and Modbus RTU (default register map of :mod:`app.devices.modbus`),
at whatever ``MTR:BAUD``/``MTR:PAR`` the rig is set to.  Stream frames are
sent at the requested rate in *real* time; their ``t_ms`` is rig time.

POSIX only (``os.openpty``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import queue
import random
import select
import signal
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from types import TracebackType

from app.devices import dlt645, modbus
from app.devices.errors import FrameError
from app.devices.rig import MeasurementFrame, add_line_crc, line_crc

__all__ = ["RigSimulator", "SimConfig", "main"]

CST = dt.timezone(dt.timedelta(hours=8), "CST")
TICK = 0.005  # s real, physics and I/O loop period
MAX_LINE = 512
MAX_OUT = 256 * 1024
ERROR_TEXT = {
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -330: "Self-test failed",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
    201: "Meter no response",
    202: "Meter reply garbled",
    301: "Line checksum error",
}
LIMITS = {"DC": (1000.0, 300.0), "AC": (300.0, 80.0)}  # V, A


@dataclass
class SimConfig:
    """Everything the simulator can be told; the CLI maps one option to one field."""

    true_error_pct: float = 0.0
    noise_pct: float | None = None
    accuracy_class: int = 1
    clock_offset_s: float = 0.0
    speed: float = 1.0
    kind: str = "DC"
    rated_power_kw: float = 120.0
    constant: int = 1000
    seed: int | None = None
    garble_rate: float = 0.0
    timeout_rate: float = 0.0
    seal_open_at_s: float | None = None
    unplug_at_s: float | None = None
    reconnect_after_s: float | None = None
    insulation_mohm: float = 520.0
    rig_noise_pct: float = 0.01
    pulse_tick_ms: float = 1.0
    connector_errors: tuple[float, ...] = ()
    cal_kind: str | None = None  # None: the rig's kind
    cal_accuracy: str = "0.05"
    cal_certificate: str = "ZJJL2026-DNJ-0417"
    cal_expiry: str | None = None  # None: a year from today
    cal_lab: str = "ZJIM"
    report_calibration: bool = True
    meter_address: str = "000012345678"
    modbus_unit: int = 1
    initial_energy_kwh: float = 1234.56
    identity: str = "EVMETRO,VLR-1000,SN2026000117,1.2.0"

    @property
    def effective_noise_pct(self) -> float:
        return 0.02 * self.accuracy_class if self.noise_pct is None else self.noise_pct


class _ScpiError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(ERROR_TEXT.get(code, "Error"))


@dataclass
class _State:
    """Rig + pile state, mutated only on the simulator thread."""

    mode: str
    phases: int = 1
    volt: float = 0.0
    curr: float = 0.0
    output: bool = False
    constant: int = 1000
    window_t: float = 0.0  # simulated s since ENER:CLE
    std_wh: float = 0.0
    mut_window_wh: float = 0.0
    mut_total_kwh: float = 1234.56
    true_total_wh: float = 0.0
    errors: deque[int] = field(default_factory=deque)
    crc_mode: bool = False
    stream_rate: float = 0.0
    stream_seq: int = 0
    next_stream: float = 0.0
    mtr_baud: int = 2400
    mtr_parity: str = "E"
    mtr_timeout_ms: int = 500
    clock_offset_s: float = 0.0
    seal_open: bool = False
    noise_now: float = 0.0
    noise_until: float = -1.0
    std_noise_now: float = 0.0
    pulse_lead: bool = True  # False: the rig's pulse input sees nothing
    gun: int = 0  # which gun's meter the rig's leads are on (0-based)
    gun_totals_kwh: list[float] = field(default_factory=list)
    gate_state: str = "IDLE"
    gate_target: int = 0
    gate_count: int = 0
    gate_t0: float = 0.0  # simulated s of the opening edge
    gate_std0: float = 0.0  # window standard energy at the opening edge
    gate_t: float = 0.0  # simulated s of the latest edge
    gate_std: float = 0.0  # window standard energy at the latest edge


class RigSimulator:
    """The rig and the pile's meter, served on a pty from a background thread.

    ``start()`` returns the slave path to open; ``unplug()`` closes the pty
    (the driver sees the port vanish) and ``replug()`` opens a new one and
    returns its path.  ``on_path`` is called with every new path (the CLI
    prints it).  Use as a context manager in tests so the thread always stops.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        on_path: Callable[[str], None] | None = None,
        **overrides: object,
    ) -> None:
        self.config = replace(config or SimConfig(), **overrides)  # type: ignore[arg-type]
        if self.config.kind not in LIMITS:
            raise ValueError("kind must be DC or AC")
        self.on_path = on_path
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._state = _State(
            mode=self.config.kind,
            mut_total_kwh=self.config.initial_energy_kwh,
            clock_offset_s=self.config.clock_offset_s,
        )
        self._gun_errors = tuple(self.config.connector_errors) or (self.config.true_error_pct,)
        self._state.gun_totals_kwh = [self.config.initial_energy_kwh] * len(self._gun_errors)
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None
        self._rx = bytearray()
        self._out = bytearray()
        self._requests: queue.Queue[tuple[str, threading.Event, list[str]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._sim_time = 0.0
        self._last_real = 0.0
        self._unplugged_at: float | None = None
        self._unplug_done = False
        self.lines_garbled = 0
        self.lines_ignored = 0

    # ------------------------------------------------------------- lifecycle

    @property
    def path(self) -> str | None:
        """Current pty slave path (None while unplugged)."""
        return self._path

    @property
    def sim_time(self) -> float:
        """Simulated seconds since start()."""
        return self._sim_time

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        path = self._open_pty()
        self._last_real = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rig-simulator", daemon=True)
        self._thread.start()
        return path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close_pty()

    def unplug(self) -> None:
        """Pull the USB cable: close the pty; the rig keeps measuring."""
        self._request("unplug")

    def replug(self) -> str:
        """Plug back in: a new pty (new path), USB session state reset."""
        return self._request("replug")

    def _request(self, action: str) -> str:
        if self._thread is None:
            raise RuntimeError("simulator not started")
        done = threading.Event()
        result: list[str] = []
        self._requests.put((action, done, result))
        if not done.wait(5):
            raise TimeoutError(f"simulator did not perform {action}")
        return result[0] if result else ""

    def __enter__(self) -> RigSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _open_pty(self) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline before a client configures it
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._path = os.ttyname(slave)
        self._rx.clear()
        self._out.clear()
        with self._lock:
            st = self._state
            st.crc_mode = False
            st.stream_rate = 0.0
        if self.on_path:
            self.on_path(self._path)
        return self._path

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._path = None
        self._state.stream_rate = 0.0  # streaming stops with the USB session

    # ------------------------------------------------------------- state for tests

    def window_energy(self) -> tuple[float, float, int]:
        """(standard Wh, MUT Wh, pulses) of the current window, for assertions."""
        with self._lock:
            st = self._state
            return st.std_wh, st.mut_window_wh, self._pulses(st)

    @property
    def connectors(self) -> int:
        return len(self._gun_errors)

    def select_connector(self, connector: int) -> None:
        """The inspector moves the rig's leads to gun ``connector`` (1-based)."""
        if not 1 <= connector <= len(self._gun_errors):
            raise ValueError(f"this pile has guns 1–{len(self._gun_errors)}, not {connector}")
        with self._lock:
            st = self._state
            st.gun_totals_kwh[st.gun] = st.mut_total_kwh
            st.gun = connector - 1
            st.mut_total_kwh = st.gun_totals_kwh[st.gun]
            self._clear_window(st)

    def set_faults(
        self,
        *,
        garble_rate: float | None = None,
        timeout_rate: float | None = None,
        seal_open: bool | None = None,
        pulse_lead: bool | None = None,
    ) -> None:
        """Change fault injection while running (``pulse_lead=False``: the lead fell off)."""
        with self._lock:
            if pulse_lead is not None:
                self._state.pulse_lead = pulse_lead
            if garble_rate is not None:
                self.config.garble_rate = garble_rate
            if timeout_rate is not None:
                self.config.timeout_rate = timeout_rate
            if seal_open is not None:
                self._state.seal_open = seal_open

    # ------------------------------------------------------------- thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._serve_requests()
                now = time.monotonic()
                with self._lock:
                    self._advance(now)
                self._scheduled_faults()
                if self._master is None:
                    self._stop.wait(TICK)
                    continue
                want_write = [self._master] if self._out else []
                try:
                    readable, writable, _ = select.select([self._master], want_write, [], TICK)
                except (OSError, ValueError):
                    continue
                if readable:
                    self._receive()
                if writable or self._out:
                    self._flush()
                self._emit_stream(time.monotonic())
        finally:
            self._close_pty()

    def _serve_requests(self) -> None:
        while True:
            try:
                action, done, result = self._requests.get_nowait()
            except queue.Empty:
                return
            if action == "unplug":
                self._close_pty()
            elif action == "replug":
                self._close_pty()
                result.append(self._open_pty())
            done.set()

    def _scheduled_faults(self) -> None:
        cfg = self.config
        t = self._sim_time
        if cfg.seal_open_at_s is not None and t >= cfg.seal_open_at_s:
            with self._lock:
                self._state.seal_open = True
            cfg.seal_open_at_s = None
        if cfg.unplug_at_s is not None and not self._unplug_done and t >= cfg.unplug_at_s:
            self._unplug_done = True
            self._unplugged_at = t
            self._close_pty()
        if (
            self._unplugged_at is not None
            and cfg.reconnect_after_s is not None
            and t >= self._unplugged_at + cfg.reconnect_after_s
        ):
            self._unplugged_at = None
            self._open_pty()

    # ------------------------------------------------------------- physics

    def _true_power_w(self, st: _State) -> float:
        if not st.output:
            return 0.0
        phases = st.phases if st.mode == "AC" else 1
        return phases * st.volt * st.curr

    def _advance(self, now: float) -> None:
        dt_sim = (now - self._last_real) * self.config.speed
        self._last_real = now
        if dt_sim <= 0:
            return
        st = self._state
        t, stop = self._sim_time, self._sim_time + dt_sim
        st.window_t += dt_sim
        p = self._true_power_w(st)
        # Steps end on whole simulated seconds, where both noises are redrawn, so the
        # physics is the same at 1x and at 5000x.
        while t < stop:
            if t >= st.noise_until:
                st.noise_now = self._rng.gauss(0.0, self.config.effective_noise_pct / 100)
                st.std_noise_now = self._rng.gauss(0.0, self.config.rig_noise_pct / 100)
                st.noise_until = math.floor(t) + 1.0
            t1 = min(stop, st.noise_until)
            if p > 0:
                self._integrate(st, t, t1, p)
            t = t1
        self._sim_time = stop

    def _integrate(self, st: _State, t0: float, t1: float, p: float) -> None:
        """Energy over [t0, t1] at constant power; pulse edges solved exactly inside it."""
        span = t1 - t0
        r_std = p / 3600.0 * (1 + st.std_noise_now)  # Wh per simulated second
        p_mut = min(p, 1.2 * self.config.rated_power_kw * 1000)  # current channel saturates
        error = self._gun_errors[st.gun] / 100
        r_mut = p_mut / 3600.0 * (1 + error + st.noise_now)
        std0, mut0 = st.std_wh, st.mut_window_wh
        st.true_total_wh += p * span / 3600.0
        st.std_wh += r_std * span
        st.mut_total_kwh += r_mut * span / 1000.0
        if not st.pulse_lead:
            return  # the meter pulses, the rig counts nothing
        st.mut_window_wh += r_mut * span
        if st.gate_state not in ("ARM", "RUN") or r_mut <= 0:
            return
        q = 1000.0 / self.config.constant  # Wh per pulse
        tick = self.config.pulse_tick_ms / 1000.0
        first = math.floor(mut0 / q) + 1
        last = math.floor(st.mut_window_wh / q)
        for k in range(first, last + 1):
            crossing = t0 + (k * q - mut0) / r_mut
            # The meter drives its pulse output on its own sampling tick.
            edge = math.ceil(crossing / tick) * tick if tick > 0 else crossing
            self._gate_edge(st, edge, std0 + r_std * (edge - t0))
            if st.gate_state not in ("ARM", "RUN"):
                return

    @staticmethod
    def _gate_edge(st: _State, edge_t: float, std_at_edge: float) -> None:
        if st.gate_state == "ARM":
            st.gate_state = "RUN"
            st.gate_count = 0
            st.gate_t0 = st.gate_t = edge_t
            st.gate_std0 = st.gate_std = std_at_edge
            return
        st.gate_count += 1
        st.gate_t, st.gate_std = edge_t, std_at_edge
        if st.gate_count >= st.gate_target:
            st.gate_state = "DONE"

    @staticmethod
    def _gate_abort(st: _State) -> None:
        if st.gate_state in ("ARM", "RUN"):
            st.gate_state = "ABRT"

    def _pulses(self, st: _State) -> int:
        # The pile's meter pulses at ITS constant; CONF:PULS only tells the rig
        # what to assume, so a wrong setting shows up as a wrong error.
        return int(st.mut_window_wh * self.config.constant / 1000.0)

    def _measured(self, st: _State) -> tuple[float, float, float]:
        if not st.output:
            return 0.0, 0.0, 0.0
        u = st.volt * (1 + self._rng.gauss(0.0, 2e-6))
        i = st.curr * (1 + self._rng.gauss(0.0, 2e-6))
        phases = st.phases if st.mode == "AC" else 1
        return u, i, phases * u * i

    # ------------------------------------------------------------- I/O

    def _receive(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            return  # no slave open right now (EIO); keep serving
        self._rx += data
        while True:
            idx = self._rx.find(b"\n")
            if idx < 0:
                if len(self._rx) > MAX_LINE:
                    self._rx.clear()
                    with self._lock:
                        self._push_error(self._state, -363)
                return
            line = bytes(self._rx[:idx])
            del self._rx[: idx + 1]
            self._handle_line(line)

    def _send_line(self, text: str) -> None:
        data = bytearray(text.encode("ascii", "replace") + b"\n")
        if self.config.garble_rate and self._rng.random() < self.config.garble_rate:
            self.lines_garbled += 1
            for _ in range(self._rng.randint(1, 3)):
                pos = self._rng.randrange(len(data) - 1) if len(data) > 1 else 0
                data[pos] = self._rng.choice([b for b in range(256) if b != 0x0A])
        if len(self._out) + len(data) <= MAX_OUT:
            self._out += data

    def _flush(self) -> None:
        if self._master is None or not self._out:
            return
        try:
            n = os.write(self._master, self._out)
        except BlockingIOError:
            return
        except OSError:
            self._out.clear()
            return
        del self._out[:n]

    def _emit_stream(self, now: float) -> None:
        with self._lock:
            st = self._state
            if st.stream_rate <= 0 or now < st.next_stream:
                return
            st.next_stream = max(st.next_stream + 1 / st.stream_rate, now)
            u, i, p = self._measured(st)
            frame = MeasurementFrame(
                seq=st.stream_seq,
                t_ms=int(st.window_t * 1000),
                voltage_v=Decimal(f"{u:.3f}"),
                current_a=Decimal(f"{i:.3f}"),
                power_w=Decimal(f"{p:.1f}"),
                standard_energy_wh=Decimal(f"{st.std_wh:.4f}"),
                pulses=self._pulses(st),
            )
            st.stream_seq = (st.stream_seq + 1) % (1 << 32)
        self._send_line(frame.to_line())

    # ------------------------------------------------------------- SCPI

    def _push_error(self, st: _State, code: int) -> None:
        if len(st.errors) >= 16:
            st.errors[-1] = -350
        else:
            st.errors.append(code)

    def _handle_line(self, raw: bytes) -> None:
        text = raw.decode("ascii", "replace").rstrip("\r")
        if not text.strip():
            return
        if self.config.timeout_rate and self._rng.random() < self.config.timeout_rate:
            self.lines_ignored += 1
            return
        with self._lock:
            st = self._state
            payload, sep, crc = text.rpartition("|")
            if sep and len(crc) == 4:
                if crc.upper() != line_crc(payload):
                    self._push_error(st, 301)
                    return
                text = payload
            replies: list[str] = []
            for part in text.split(";"):
                command = part.strip().lstrip(":")
                if not command:
                    continue
                header, _, arg = command.partition(" ")
                header = header.upper()
                arg = arg.strip()
                try:
                    reply = self._execute(st, header, arg)
                except _ScpiError as exc:
                    self._push_error(st, exc.code)
                    reply = "" if header.endswith("?") or header == "MTR:RAW" else None
                if reply is not None:
                    replies.append(reply)
            if not replies:
                return
            line = ";".join(replies)
            if st.crc_mode:
                line = add_line_crc(line)
        self._send_line(line)

    @staticmethod
    def _number(arg: str) -> float:
        if not arg:
            raise _ScpiError(-109)
        try:
            value = float(arg)
        except ValueError:
            raise _ScpiError(-104) from None
        if not math.isfinite(value):
            raise _ScpiError(-104)
        return value

    @staticmethod
    def _boolean(arg: str) -> bool:
        if not arg:
            raise _ScpiError(-109)
        value = arg.upper()
        if value in ("ON", "1"):
            return True
        if value in ("OFF", "0"):
            return False
        raise _ScpiError(-224)

    def _execute(self, st: _State, header: str, arg: str) -> str | None:
        no_arg = header in NO_ARG
        if no_arg and arg:
            raise _ScpiError(-108)
        match header:
            case "*IDN?":
                return self.config.identity
            case "*RST":
                st.mode = self.config.kind
                st.phases, st.volt, st.curr, st.output = 1, 0.0, 0.0, False
                st.constant = 1000
                st.stream_rate = 0.0
                self._clear_window(st)
                return None
            case "CAL:INFO?":
                if not self.config.report_calibration:
                    raise _ScpiError(-113)
                return self._calibration_line()
            case "ENER:GATE":
                value = self._number(arg)
                if not 1 <= value <= 1_000_000 or value != int(value):
                    raise _ScpiError(-222)
                st.gate_state, st.gate_target, st.gate_count = "ARM", int(value), 0
                st.gate_t0 = st.gate_t = st.gate_std0 = st.gate_std = 0.0
                return None
            case "ENER:GATE?":
                if st.gate_state == "RUN":
                    t_ms = int((self._sim_time - st.gate_t0) * 1000)
                    energy = st.std_wh - st.gate_std0
                else:
                    t_ms = int((st.gate_t - st.gate_t0) * 1000)
                    energy = st.gate_std - st.gate_std0
                if st.gate_state == "RUN" and st.gate_count == 0:
                    t_ms = 0
                return (
                    f"{st.gate_state},{st.gate_target},{st.gate_count},{max(t_ms, 0)},"
                    f"{max(energy, 0.0):.6f}"
                )
            case "*CLS":
                st.errors.clear()
                return None
            case "*OPC?":
                return "1"
            case "*TST?":
                return "0"
            case "SYST:ERR?":
                code = st.errors.popleft() if st.errors else 0
                return f'{code},"{ERROR_TEXT.get(code, "No error")}"'
            case "SYST:TIME?":
                return str(int(self._sim_time * 1000))
            case "SYST:CRC":
                st.crc_mode = self._boolean(arg)
                return None
            case "SYST:CRC?":
                return "1" if st.crc_mode else "0"
            case "SOUR:MODE":
                mode = arg.upper()
                if mode not in LIMITS:
                    raise _ScpiError(-224 if arg else -109)
                if st.output and mode != st.mode:
                    raise _ScpiError(-221)
                st.mode = mode
                return None
            case "SOUR:MODE?":
                return st.mode
            case "SOUR:PHAS":
                phases = self._number(arg)
                if phases not in (1, 3):
                    raise _ScpiError(-224)
                st.phases = int(phases)
                return None
            case "SOUR:PHAS?":
                return str(st.phases)
            case "SOUR:VOLT":
                value = self._number(arg)
                if not 0 <= value <= LIMITS[st.mode][0]:
                    raise _ScpiError(-222)
                if value != st.volt:
                    self._gate_abort(st)
                st.volt = value
                return None
            case "SOUR:VOLT?":
                return f"{st.volt:.3f}"
            case "SOUR:CURR":
                value = self._number(arg)
                if not 0 <= value <= LIMITS[st.mode][1]:
                    raise _ScpiError(-222)
                if value != st.curr:
                    self._gate_abort(st)
                st.curr = value
                return None
            case "SOUR:CURR?":
                return f"{st.curr:.3f}"
            case "OUTP":
                st.output = self._boolean(arg)
                if not st.output:
                    self._gate_abort(st)
                return None
            case "OUTP?":
                return "1" if st.output else "0"
            case "MEAS:VOLT?":
                return f"{self._measured(st)[0]:.3f}"
            case "MEAS:CURR?":
                return f"{self._measured(st)[1]:.3f}"
            case "MEAS:POW?":
                return f"{self._measured(st)[2]:.1f}"
            case "MEAS:INS?":
                test_v = self._number(arg) if arg else 500.0
                if test_v not in (500, 1000):
                    raise _ScpiError(-224)
                if st.output:
                    raise _ScpiError(-221)
                factor = 1.0 if test_v == 500 else 0.96
                value = self.config.insulation_mohm * factor * (1 + self._rng.gauss(0, 0.005))
                return f"{max(value, 0.0):.1f}"
            case "CONF:PULS":
                value = self._number(arg)
                if not 1 <= value <= 1_000_000 or value != int(value):
                    raise _ScpiError(-222)
                st.constant = int(value)
                return None
            case "CONF:PULS?":
                return str(st.constant)
            case "ENER:CLE":
                self._clear_window(st)
                return None
            case "ENER:STD?":
                return f"{st.std_wh:.4f}"
            case "PULS:COUN?":
                return str(self._pulses(st))
            case "ENER:ERR?":
                if st.std_wh <= 0:
                    raise _ScpiError(-221)
                pile_wh = self._pulses(st) * 1000.0 / st.constant
                return f"{(pile_wh - st.std_wh) / st.std_wh * 100:.4f}"
            case "ENER:WIND?":
                return f"{int(st.window_t * 1000)},{st.std_wh:.4f},{self._pulses(st)}"
            case "INIT:STR":
                rate = self._number(arg)
                if not 1 <= rate <= 50:
                    raise _ScpiError(-222)
                st.stream_rate = rate
                st.stream_seq = 0
                st.next_stream = time.monotonic()
                return None
            case "ABOR":
                st.stream_rate = 0.0
                return None
            case "SEAL?":
                return "OPEN" if st.seal_open else "CLOSED"
            case "MTR:RAW" | "MTR:RAW?":
                try:
                    request = dlt645.parse_hex(arg)
                except FrameError:
                    raise _ScpiError(-104) from None
                if not request:
                    raise _ScpiError(-109)
                reply = self._meter_reply(st, request)
                if reply is None:
                    raise _ScpiError(201)
                return reply.hex().upper()
            case "MTR:BAUD":
                baud = self._number(arg)
                if baud not in (1200, 2400, 4800, 9600, 19200):
                    raise _ScpiError(-224)
                st.mtr_baud = int(baud)
                return None
            case "MTR:BAUD?":
                return str(st.mtr_baud)
            case "MTR:PAR":
                if arg.upper() not in ("E", "N", "O"):
                    raise _ScpiError(-224 if arg else -109)
                st.mtr_parity = arg.upper()
                return None
            case "MTR:PAR?":
                return st.mtr_parity
            case "MTR:TOUT":
                value = self._number(arg)
                if not 10 <= value <= 10_000:
                    raise _ScpiError(-222)
                st.mtr_timeout_ms = int(value)
                return None
            case "MTR:TOUT?":
                return str(st.mtr_timeout_ms)
        raise _ScpiError(-113)

    @staticmethod
    def _clear_window(st: _State) -> None:
        st.window_t = 0.0
        st.std_wh = 0.0
        st.mut_window_wh = 0.0
        st.gate_state, st.gate_target, st.gate_count = "IDLE", 0, 0
        st.gate_t0 = st.gate_t = st.gate_std0 = st.gate_std = 0.0

    def _calibration_line(self) -> str:
        cfg = self.config
        expiry = cfg.cal_expiry or (dt.date.today() + dt.timedelta(days=365)).isoformat()
        kind = cfg.cal_kind or cfg.kind
        return f"{kind},{cfg.cal_accuracy},{cfg.cal_certificate},{expiry},{cfg.cal_lab}"

    # ------------------------------------------------------------- meter under test

    def meter_clock(self) -> dt.datetime:
        """The MUT's clock: Beijing time plus its offset, naive (as the meter keeps it)."""
        now = dt.datetime.now(CST).replace(tzinfo=None)
        return now + dt.timedelta(seconds=self._state.clock_offset_s)

    def _meter_reply(self, st: _State, request: bytes) -> bytes | None:
        stripped = request.lstrip(b"\xfe")
        if stripped[:1] == b"\x68":
            try:
                frame = dlt645.decode_frame(request)
            except FrameError:
                return None
            reply = self._dlt645_reply(st, frame)
            return None if reply is None else dlt645.encode_frame(reply, preamble=4)
        try:
            mreq = modbus.decode_frame(request, from_master=True)
        except FrameError:
            return None
        assert isinstance(mreq, modbus.ReadRequest)
        if mreq.unit != self.config.modbus_unit:
            return None
        u, i, p = self._measured(st)
        registers = modbus.snapshot_registers(
            self._register_kwh(st),
            Decimal(f"{u:.1f}"),
            Decimal(f"{i:.3f}"),
            Decimal(f"{p:.0f}"),
        )
        if mreq.address + mreq.count > len(registers):
            reply: modbus.Frame = modbus.ExceptionResponse(
                mreq.unit, mreq.function, modbus.ExceptionCode.ILLEGAL_DATA_ADDRESS
            )
        else:
            regs = registers[mreq.address : mreq.address + mreq.count]
            reply = modbus.ReadResponse(mreq.unit, mreq.function, regs)
        return modbus.encode_frame(reply)

    @staticmethod
    def _register_kwh(st: _State) -> Decimal:
        """The MUT's energy register: truncated to 0.01 kWh like a meter display."""
        return Decimal(f"{st.mut_total_kwh:.6f}").quantize(Decimal("0.01"), ROUND_DOWN)

    def _addressed(self, address: str) -> bool:
        mine = self.config.meter_address
        return all(a == "A" or a == m for a, m in zip(address, mine, strict=True))

    def _dlt645_reply(self, st: _State, frame: dlt645.Frame) -> dlt645.Frame | None:
        if frame.is_reply:
            return None
        mine = self.config.meter_address
        if frame.function == dlt645.Control.BROADCAST_TIME:
            if frame.address == dlt645.BROADCAST_ADDRESS:
                try:
                    when = dlt645.decode_time_sync(frame)
                except FrameError:
                    return None
                now = dt.datetime.now(CST).replace(tzinfo=None)
                st.clock_offset_s = (when - now).total_seconds()
            return None
        if not self._addressed(frame.address):
            return None
        if frame.function == dlt645.Control.READ_ADDRESS:
            return dlt645.address_reply(mine)
        if frame.function != dlt645.Control.READ_DATA or len(frame.data) < 4:
            return dlt645.Frame(mine, frame.function | 0xC0, bytes([dlt645.ErrorBit.OTHER]))
        di = int.from_bytes(frame.data[:4], "little")
        value = self._dlt645_value(st, di)
        if value is None:
            return dlt645.error_reply(mine, dlt645.ErrorBit.NO_DATA_REQUESTED)
        return dlt645.read_reply(mine, di, value)

    def _dlt645_value(self, st: _State, di: int) -> dlt645.Value | None:
        u, i, p = self._measured(st)
        clock = self.meter_clock()
        values: dict[int, dlt645.Value] = {
            dlt645.DI_FORWARD_ACTIVE_ENERGY: self._register_kwh(st),
            dlt645.DI_VOLTAGE_A: Decimal(f"{min(u, 999.9):.1f}"),
            dlt645.DI_CURRENT_A: Decimal(f"{min(i, 799.999):.3f}"),
            dlt645.DI_TOTAL_ACTIVE_POWER: Decimal(f"{min(p / 1000, 79.9999):.4f}"),
            dlt645.DI_DATE: clock.date(),
            dlt645.DI_TIME: clock.time().replace(microsecond=0),
        }
        return values.get(di)


NO_ARG = {
    "*IDN?",
    "*RST",
    "*CLS",
    "*OPC?",
    "*TST?",
    "SYST:ERR?",
    "SYST:TIME?",
    "SYST:CRC?",
    "SOUR:MODE?",
    "SOUR:PHAS?",
    "SOUR:VOLT?",
    "SOUR:CURR?",
    "OUTP?",
    "MEAS:VOLT?",
    "MEAS:CURR?",
    "MEAS:POW?",
    "CONF:PULS?",
    "ENER:CLE",
    "ENER:STD?",
    "PULS:COUN?",
    "ENER:WIND?",
    "ENER:ERR?",
    "ENER:GATE?",
    "CAL:INFO?",
    "ABOR",
    "SEAL?",
    "MTR:BAUD?",
    "MTR:PAR?",
    "MTR:TOUT?",
}


# --------------------------------------------------------------------------- CLI


def _parse_faults(faults: Sequence[str], config: SimConfig) -> None:
    for fault in faults:
        name, _, value = fault.partition("@")
        try:
            if name == "unplug" and value:
                config.unplug_at_s = float(value)
            elif name == "garble" and value:
                config.garble_rate = float(value)
            elif name == "timeout" and value:
                config.timeout_rate = float(value)
            elif name == "seal-open":
                config.seal_open_at_s = float(value) if value else 0.0
            else:
                raise ValueError(fault)
        except ValueError:
            raise SystemExit(f"error: bad --fault {fault!r}") from None


def _parse_errors(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise SystemExit(f"error: bad --connector-errors {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.devices.simulator",
        description="Virtual-load rig + pile meter simulator on a pty (prints the path).",
    )
    parser.add_argument("--true-error", type=float, default=0.0, metavar="PCT")
    parser.add_argument("--noise", type=float, default=None, metavar="PCT")
    parser.add_argument("--class", dest="accuracy_class", type=int, choices=(1, 2), default=1)
    parser.add_argument("--clock-offset", type=float, default=0.0, metavar="S")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X")
    parser.add_argument("--fault", action="append", default=[], metavar="F")
    parser.add_argument("--reconnect-after", type=float, default=None, metavar="S")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kind", choices=("DC", "AC"), default="DC")
    parser.add_argument("--rated-power", type=float, default=120.0, metavar="KW")
    parser.add_argument("--constant", type=int, default=1000, metavar="IMP_PER_KWH")
    parser.add_argument("--insulation", type=float, default=520.0, metavar="MOHM")
    parser.add_argument("--meter-address", default="000012345678")
    parser.add_argument("--rig-noise", type=float, default=0.01, metavar="PCT")
    parser.add_argument("--pulse-tick-ms", type=float, default=1.0, metavar="MS")
    parser.add_argument("--connector-errors", default="", metavar="PCT,PCT,...")
    parser.add_argument("--cal-kind", choices=("DC", "AC", "ACDC"), default=None)
    parser.add_argument("--cal-expiry", default=None, metavar="YYYY-MM-DD")
    parser.add_argument("--cal-certificate", default="ZJJL2026-DNJ-0417", metavar="NO")
    parser.add_argument("--no-cal-info", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.speed <= 0:
        raise SystemExit("error: --speed must be positive")
    config = SimConfig(
        true_error_pct=args.true_error,
        noise_pct=args.noise,
        accuracy_class=args.accuracy_class,
        clock_offset_s=args.clock_offset,
        speed=args.speed,
        kind=args.kind,
        rated_power_kw=args.rated_power,
        constant=args.constant,
        seed=args.seed,
        reconnect_after_s=args.reconnect_after,
        insulation_mohm=args.insulation,
        meter_address=args.meter_address,
        rig_noise_pct=args.rig_noise,
        pulse_tick_ms=args.pulse_tick_ms,
        connector_errors=_parse_errors(args.connector_errors),
        cal_kind=args.cal_kind,
        cal_expiry=args.cal_expiry,
        cal_certificate=args.cal_certificate,
        report_calibration=not args.no_cal_info,
    )
    _parse_faults(args.fault, config)

    def announce(path: str) -> None:
        print(path, flush=True)

    sim = RigSimulator(config, on_path=announce)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    sim.start()
    try:
        stopping.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
