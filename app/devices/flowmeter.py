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

from dataclasses import dataclass
from decimal import Decimal

from app.devices.line_protocol import (  # the shared checked-line client
    GarbledReply,
    LineDevice,
    LineDeviceError,
    LineDeviceTimeout,
    StandardCalibration,
)
from app.devices.rig import (  # the rig's line grammar: CRC lines, strict numbers
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


class FlowmeterTimeout(LineDeviceTimeout):
    """The flowmeter did not answer (after retries): cable, port or power."""


class FlowmeterError(LineDeviceError):
    """The flowmeter refused a command (``ERR,<code>,<text>``)."""

    noun = "flowmeter"


FlowmeterIdentity = Identity
"""``*IDN?``: vendor, model, serial, firmware — the rig's identification grammar."""


FlowmeterCalibration = StandardCalibration
"""``CAL?``: the meter's own verification (accuracy %, certificate, expiry)."""


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


class Flowmeter(LineDevice):
    """The flowmeter over a pyserial port; ``timeout`` per try, ``1 + retries`` tries.

    The I/O, retries and checks are :class:`~app.devices.line_protocol.LineDevice`'s;
    every command may be repeated without harm (BATCH:START only zeroes a batch not yet
    delivered into)."""

    noun = "flowmeter"
    baudrate = BAUDRATE
    timeout_error = FlowmeterTimeout
    refusal_error = FlowmeterError

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
