"""A standard flowmeter and the fuel dispenser under test, simulated on a real pty.

Why a pty: the driver (app/devices/flowmeter.py), the wizard's worker and its tests then
run the same pyserial code as with the USB–RS-232 cable to a real master meter.

Run it::

    python -m app.devices.flowmeter_sim --dispenser-error-pct 0.32 --speed 200 --seed 1
    /dev/pts/9                      <- first stdout line: open this path

Physics (simulated time = real time × ``--speed``): ``SIM:FILL q,preset`` starts a
delivery at q mL/min. The fuel that really flows is integrated; the dispenser's
register counts it × (1 + e), where e = ``--dispenser-error-pct`` plus a normal draw
of std ``--dispenser-noise-pct`` per delivery; its display shows the register cut to
the 10 mL display step and the pump stops when the register reaches the preset (the
display then shows the preset exactly, as a dispenser stopping on its preset does).
The flowmeter totalises the same true volume × (1 + b), b a normal draw of std
``--meter-noise-pct`` per batch (its own repeatability), shown to 0.1 mL. Fuel
temperature ``--fuel-temp`` °C at the meter; the dispenser's sensor reads
``--dispenser-temp-offset`` more (for the temperature-correction path).

Faults for tests: ``garble_rate`` (fraction of replies with a corrupted byte),
``timeout_rate`` (fraction of commands ignored), ``unplug()`` (close the pty).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.devices.line_protocol import LinePtySimulator, SimConfig, serve_until_signal

__all__ = ["FlowSimConfig", "FlowmeterSimulator", "main"]

DISPLAY_STEP_ML = 10


@dataclass
class FlowSimConfig(SimConfig):
    """What the simulator can be told; one CLI option per field."""

    dispenser_error_pct: float = 0.0
    dispenser_noise_pct: float = 0.005
    meter_noise_pct: float = 0.005
    fuel_temp_c: float = 18.5
    dispenser_temp_offset_c: float = 0.0
    identity: str = "HZFLOW,SFM-50,SN2026-0042,2.1"
    calibration: str = "0.05,ZJJL2026-LL-0311,2027-06-30"


class FlowmeterSimulator(LinePtySimulator):
    """Serve the line protocol of docs/flowmeter-protocol.md on a pty from a thread
    (the serving loop, faults and lifecycle are app.devices.line_protocol's)."""

    thread_name = "flowmeter-sim"

    def __init__(
        self,
        config: FlowSimConfig | None = None,
        *,
        on_path: Callable[[str], None] | None = None,
    ) -> None:
        config = config or FlowSimConfig()
        super().__init__(config, on_path=on_path)
        self.config: FlowSimConfig = config
        # delivery (the dispenser) and batch (the flowmeter)
        self._flow_ml_s = 0.0
        self._preset_ml = 0.0
        self._register_ml = 0.0
        self._delivery_error = 0.0
        self._batch_running = False
        self._batch_ml = 0.0
        self._batch_bias = 0.0
        self.deliveries: list[tuple[float, float]] = []
        """(true mL delivered, dispenser error fraction) of each finished delivery."""

    # ------------------------------------------------------------- physics

    def advance(self, now: float) -> None:
        dt = (now - self._last) * self.config.speed
        self._last = now
        if self._flow_ml_s <= 0 or dt <= 0:
            return
        true_ml = self._flow_ml_s * dt
        factor = 1 + self._delivery_error
        left_true = (self._preset_ml - self._register_ml) / factor
        done = true_ml >= left_true
        if done:
            true_ml = max(left_true, 0.0)
        self._register_ml = self._preset_ml if done else self._register_ml + true_ml * factor
        if self._batch_running:
            self._batch_ml += true_ml * (1 + self._batch_bias)
        if done:
            self._flow_ml_s = 0.0
            self.deliveries.append((self._preset_ml / factor, self._delivery_error))

    def _display_ml(self) -> int:
        if self._flow_ml_s <= 0:
            return round(self._register_ml)
        return int(self._register_ml // DISPLAY_STEP_ML) * DISPLAY_STEP_ML

    # ------------------------------------------------------------- protocol

    def reply(self, command: str) -> str | None:
        head, _, arg = command.strip().partition(" ")
        head = head.upper()
        cfg = self.config
        if head == "*IDN?":
            return cfg.identity
        if head == "CAL?":
            return cfg.calibration
        if head == "BATCH:START":
            self._batch_running = True
            self._batch_ml = 0.0
            self._batch_bias = self._rng.gauss(0.0, cfg.meter_noise_pct / 100)
            return "OK"
        if head == "BATCH:STOP":
            self._batch_running = False
            return "OK"
        if head == "BATCH?":
            state = "RUN" if self._batch_running else "STOP"
            flow = round(self._flow_ml_s * 60) if self._batch_running else 0
            return f"{state},{self._batch_ml:.1f},{flow},{cfg.fuel_temp_c:.1f}"
        if head == "TEMP?":
            return f"{cfg.fuel_temp_c:.1f}"
        if head == "SIM:FILL":
            try:
                q, preset = (int(x) for x in arg.split(","))
            except ValueError:
                return "ERR,12,SIM:FILL needs flow_ml_min,preset_ml"
            if q <= 0 or preset <= 0 or preset % DISPLAY_STEP_ML:
                return "ERR,13,flow and preset must be positive; preset in 10 mL steps"
            if self._flow_ml_s > 0:
                return "ERR,14,a delivery is running"
            self._flow_ml_s = q / 60
            self._preset_ml = float(preset)
            self._register_ml = 0.0
            self._delivery_error = (
                cfg.dispenser_error_pct + self._rng.gauss(0.0, cfg.dispenser_noise_pct)
            ) / 100
            return "OK"
        if head == "SIM:DISP?":
            state = "FILL" if self._flow_ml_s > 0 else "IDLE"
            temp = cfg.fuel_temp_c + cfg.dispenser_temp_offset_c
            return f"{self._display_ml()},{state},{temp:.1f}"
        return "ERR,10,unknown command"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.devices.flowmeter_sim",
        description="Standard flowmeter + dispenser under test on a pty (prints the path).",
    )
    p.add_argument("--dispenser-error-pct", type=float, default=0.0, metavar="PCT")
    p.add_argument("--dispenser-noise-pct", type=float, default=0.005, metavar="PCT")
    p.add_argument("--meter-noise-pct", type=float, default=0.005, metavar="PCT")
    p.add_argument("--fuel-temp", dest="fuel_temp_c", type=float, default=18.5, metavar="C")
    p.add_argument(
        "--dispenser-temp-offset", dest="dispenser_temp_offset_c", type=float, default=0.0
    )
    p.add_argument("--speed", type=float, default=1.0, metavar="X")
    p.add_argument("--seed", type=int, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    config = FlowSimConfig(**vars(build_parser().parse_args(argv)))  # option dest = field
    return serve_until_signal(FlowmeterSimulator, config)


if __name__ == "__main__":
    sys.exit(main())
