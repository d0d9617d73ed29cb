"""A taximeter verification standard (roller bench + stopwatch) and the taxi under test,
simulated on a real pty.

Why a pty: the driver (app/devices/taxi_standard.py), the wizard's worker and the tests
then run the same pyserial code as with the cable to a real roller bench.

Run it::

    python -m app.devices.taxi_standard_sim --distance-error-pct -4.1 --speed 100 --seed 1
    /dev/pts/9                      <- first stdout line: open this path

Physics (simulated time = real time × ``--speed``): ``SIM:DRIVE m,kmh`` rolls the wheels at
kmh until the meter has counted m more metres. The vehicle's sensor gives K·(1 + e)
pulses per true km, e = ``--distance-error-pct`` (worn tyres: e < 0 means the meter shows
less than was driven); the meter, set to K, shows pulses / K km, cut to 1 m. So the
meter's distance error is e, as JJG 517 defines it. The standard counts the true
distance (to 0.1 m), the pulses and the elapsed time. ``SIM:WAIT s`` stands still for s
true seconds; the meter's waiting timer runs at (1 + t), t = ``--time-error-pct``, shown
to 0.1 s. The standard's stopwatch is gated by the meter's test signal (it runs while
the taxi drives or waits during a run), as a bench wired to the meter's test interface
is. Faults for tests: ``garble_rate``, ``timeout_rate``, ``unplug()``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.devices.line_protocol import LinePtySimulator, SimConfig, serve_until_signal

__all__ = ["TaxiSimConfig", "TaxiStandardSimulator", "main"]


@dataclass
class TaxiSimConfig(SimConfig):
    """What the simulator can be told; one CLI option per field."""

    distance_error_pct: float = 0.0
    time_error_pct: float = 0.0
    k_constant: int = 1000
    identity: str = "HZTAXI,JJZ-517R,SN2026-0517,1.3"
    calibration: str = "0.1,ZJJL2026-JJQ-0517,2027-09-30"


class TaxiStandardSimulator(LinePtySimulator):
    """Serve the standard's line protocol on a pty; the taxi's meter answers ``SIM:``."""

    thread_name = "taxi-standard-sim"

    def __init__(
        self,
        config: TaxiSimConfig | None = None,
        *,
        on_path: Callable[[str], None] | None = None,
    ) -> None:
        config = config or TaxiSimConfig()
        if config.k_constant <= 0:
            raise ValueError("the K constant must be positive")
        super().__init__(config, on_path=on_path)
        self.config: TaxiSimConfig = config
        self._mode = "IDLE"
        self._speed_m_s = 0.0
        self._target_meter_m = 0.0
        self._true_m = 0.0  # since the meter was cleared
        self._wait_left_s = 0.0
        self._meter_wait_s = 0.0
        self._run_running = False
        self._run_m = 0.0
        self._run_s = 0.0
        self._run_pulses_exact = 0.0

    @property
    def _pulses_per_m(self) -> float:
        return self.config.k_constant * (1 + self.config.distance_error_pct / 100) / 1000

    def _meter_m(self) -> int:
        return math.floor(self._true_m * self._pulses_per_m * 1000 / self.config.k_constant)

    # ------------------------------------------------------------- physics

    def advance(self, now: float) -> None:
        dt = (now - self._last) * self.config.speed
        self._last = now
        if dt <= 0:
            return
        if self._mode == "DRIVE":
            factor = self._pulses_per_m * 1000 / self.config.k_constant
            left_true = max((self._target_meter_m - self._true_m * factor) / factor, 0.0)
            step = min(self._speed_m_s * dt, left_true)
            self._true_m += step
            if self._run_running:
                self._run_s += step / self._speed_m_s
                self._run_m += step
                self._run_pulses_exact += step * self._pulses_per_m
            if step >= left_true:
                self._true_m = self._target_meter_m / factor + 1e-9
                self._mode = "IDLE"
        elif self._mode == "WAIT":
            step = min(dt, self._wait_left_s)
            self._wait_left_s -= step
            if self._run_running:
                self._run_s += step
            self._meter_wait_s += step * (1 + self.config.time_error_pct / 100)
            if self._wait_left_s <= 0:
                self._mode = "IDLE"

    # ------------------------------------------------------------- protocol

    def reply(self, command: str) -> str | None:
        head, _, arg = command.strip().partition(" ")
        head = head.upper()
        cfg = self.config
        if head == "*IDN?":
            return cfg.identity
        if head == "CAL?":
            return cfg.calibration
        if head == "RUN:START":
            self._run_running = True
            self._run_m = self._run_s = self._run_pulses_exact = 0.0
            return "OK"
        if head == "RUN:STOP":
            self._run_running = False
            return "OK"
        if head == "RUN?":
            state = "RUN" if self._run_running else "STOP"
            pulses = math.floor(self._run_pulses_exact)
            return f"{state},{self._run_m:.1f},{pulses},{self._run_s:.2f}"
        if head in ("SIM:DRIVE", "SIM:WAIT") and self._mode != "IDLE":
            return "ERR,14,the taxi is still moving or waiting"
        if head == "SIM:DRIVE":
            try:
                metres, kmh = (int(x) for x in arg.split(","))
            except ValueError:
                return "ERR,12,SIM:DRIVE needs metres,kmh"
            if metres <= 0 or not 0 < kmh <= 200:
                return "ERR,13,metres must be positive and speed 1..200 km/h"
            self._mode = "DRIVE"
            self._speed_m_s = kmh / 3.6
            self._target_meter_m = self._meter_m() + metres
            return "OK"
        if head == "SIM:WAIT":
            try:
                seconds = int(arg)
            except ValueError:
                return "ERR,12,SIM:WAIT needs seconds"
            if seconds <= 0:
                return "ERR,13,seconds must be positive"
            self._mode = "WAIT"
            self._wait_left_s = float(seconds)
            return "OK"
        if head == "SIM:CLEAR":
            if self._mode != "IDLE":
                return "ERR,14,the taxi is still moving or waiting"
            self._true_m = 0.0
            self._meter_wait_s = 0.0
            return "OK"
        if head == "SIM:DISP?":
            return f"{self._meter_m()},{self._meter_wait_s:.1f},{self._mode}"
        return "ERR,10,unknown command"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.devices.taxi_standard_sim",
        description="Taximeter roller standard + taxi under test on a pty (prints the path).",
    )
    p.add_argument("--distance-error-pct", type=float, default=0.0, metavar="PCT")
    p.add_argument("--time-error-pct", type=float, default=0.0, metavar="PCT")
    p.add_argument("--k-constant", type=int, default=1000, metavar="PULSES_PER_KM")
    p.add_argument("--speed", type=float, default=1.0, metavar="X")
    p.add_argument("--seed", type=int, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    config = TaxiSimConfig(**vars(build_parser().parse_args(argv)))  # option dest = field
    return serve_until_signal(TaxiStandardSimulator, config)


if __name__ == "__main__":
    sys.exit(main())
