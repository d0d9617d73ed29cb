"""Driver for a taximeter verification standard: a roller bench (滚轮测距法) or a road
course counter (行车测距法) with a stopwatch, over the shared checked-line protocol
(app/devices/line_protocol.py; commands in docs/metrology.md, "Taxi meters").

What the standard measures for one run (``RUN:START`` … ``RUN:STOP``, ``RUN?``):

* the **true distance** the wheels rolled (the roller's revolutions × its circumference,
  or the measured course), in m to 0.1 m;
* the **pulses** of the vehicle's distance sensor over that distance (what the meter
  counts and divides by its K constant);
* the **elapsed time** of the run, s to 0.01 s (the time standard of the waiting-time test).

Why a checksum on every reply: the distance decides whether a taxi may carry passengers;
a flipped digit must be a retried garbled reply, never a wrong error figure.

The simulator (app/devices/taxi_standard_sim.py) also plays the taxi and its meter
through ``SIM:`` commands (:class:`SimulatedTaxi`). A real standard answers those with
``ERR,10``: on site the inspector drives (or spins the roller) and types the meter display.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.devices.line_protocol import (
    GarbledReply,
    LineDevice,
    LineDeviceError,
    LineDeviceTimeout,
    StandardCalibration,
)
from app.devices.rig import _decimal, _uint

__all__ = [
    "MeterDisplay",
    "RunState",
    "SimulatedTaxi",
    "StandardCalibration",
    "TaxiStandard",
    "TaxiStandardError",
    "TaxiStandardTimeout",
]


class TaxiStandardTimeout(LineDeviceTimeout):
    """The distance/time standard did not answer (after retries): cable, port or power."""


class TaxiStandardError(LineDeviceError):
    """The standard refused a command (``ERR,<code>,<text>``)."""

    noun = "distance/time standard"


@dataclass(frozen=True)
class RunState:
    """``RUN?``: running, true distance (m, 0.1 m), sensor pulses, elapsed time (s, 0.01 s)."""

    running: bool
    distance_m: Decimal
    pulses: int
    elapsed_s: Decimal

    @classmethod
    def parse(cls, payload: str) -> RunState:
        parts = payload.split(",")
        if len(parts) != 4 or parts[0] not in ("RUN", "STOP"):
            raise GarbledReply(f"run state {payload!r} is not RUN|STOP,metres,pulses,seconds")
        distance, elapsed = _decimal(parts[1]), _decimal(parts[3])
        if distance < 0 or elapsed < 0:
            raise GarbledReply(f"run state {payload!r}: negative distance or time")
        return cls(parts[0] == "RUN", distance, _uint(parts[2]), elapsed)


class TaxiStandard(LineDevice):
    """The roller/road standard over a pyserial port (I/O and retries: LineDevice).

    Every command may be repeated without harm: RUN:START only zeroes a run the vehicle
    has not yet moved in."""

    noun = "distance/time standard"
    timeout_error = TaxiStandardTimeout
    refusal_error = TaxiStandardError

    def calibration(self) -> StandardCalibration:
        return self.query("CAL?", StandardCalibration.parse)

    def start_run(self) -> None:
        """Zero distance, pulses and time, and start counting."""
        self._ok("RUN:START")

    def stop_run(self) -> None:
        """Stop counting; the run stays readable until the next start."""
        self._ok("RUN:STOP")

    def run(self) -> RunState:
        return self.query("RUN?", RunState.parse)


@dataclass(frozen=True)
class MeterDisplay:
    """The simulated taximeter's test display: distance (m), waiting time (s), state."""

    distance_m: int
    wait_s: Decimal
    state: str  # DRIVE, WAIT or IDLE

    @classmethod
    def parse(cls, payload: str) -> MeterDisplay:
        parts = payload.split(",")
        if len(parts) != 3 or parts[2] not in ("DRIVE", "WAIT", "IDLE"):
            raise GarbledReply(f"meter display {payload!r} is not metres,seconds,state")
        return cls(_uint(parts[0]), _decimal(parts[1]), parts[2])


class SimulatedTaxi:
    """The simulator's taxi and meter, over the standard's port (``SIM:`` commands).

    Stands in for the driver and the inspector at the meter: drive a distance (by the
    meter's own display, as an inspector stops the roller when the meter shows the test
    distance), stand still for a time, read the meter's test display."""

    def __init__(self, standard: TaxiStandard) -> None:
        self.standard = standard

    def drive(self, meter_m: int, speed_kmh: int) -> None:
        """Drive until the meter shows ``meter_m`` more metres, at ``speed_kmh``."""
        self.standard._ok(f"SIM:DRIVE {int(meter_m)},{int(speed_kmh)}")

    def wait(self, seconds: int) -> None:
        """Stand still (the meter counts waiting time) for ``seconds`` true seconds."""
        self.standard._ok(f"SIM:WAIT {int(seconds)}")

    def display(self) -> MeterDisplay:
        return self.standard.query("SIM:DISP?", MeterDisplay.parse)

    def clear(self) -> None:
        """Zero the meter's test display (a new hire on the meter)."""
        self.standard._ok("SIM:CLEAR")
