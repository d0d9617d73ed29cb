"""The embedded demo: a reference platform and the fleet simulators, on loopback.

When nothing is configured, the workstation starts these in the background so a
new user sees a living city: the charging simulator registers Hangzhou's fleet and
then streams sessions, heartbeats, faults and seal events at a speed-up; the fuel
simulator (``python -m ledger fuel-fleet``) posts a day of a small fleet of fuel
stations with one fault of each class, so the map shows piles and dispensers
together; the taxi simulator (``python -m ledger taxi-fleet``) a day of 300 taxis with
one fault of each class. All use the same seed and so the same authority key. The workstation
syncs and verifies them like any platform. Each start is fresh.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from app.paths import ROOT, data_dir


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGTERM when the workstation
    exits, however it exits (Linux prctl PR_SET_PDEATHSIG), so no demo process lingers.

    The "parent" is the *thread* that started the child: call Demo.start from a thread
    that lives as long as the demo (the GUI thread)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class Demo:
    root: Path = field(default_factory=lambda: data_dir() / "demo")
    scale: str = "hangzhou"
    piles: int = 0
    speed: float = 60.0
    fault_scale: float = 20.0
    fuel_stations: int = 20
    """fuel stations posted once at start (a day of traffic); 0: charging only"""
    taxis: int = 300
    """taxis posted once at start (a day of trips, one fault of each class); 0: none"""
    url: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def vkey_path(self) -> Path:
        return self.root / "platform" / "log.vkey"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.root / 'workstation.sqlite'}"

    def start(self) -> str:
        """Starts both processes; returns the platform URL once it listens."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        log = open(self.root / "platform.log", "w")  # noqa: SIM115 - owned by the process
        platform = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "serve",
                "--data",
                str(self.root / "platform"),
                "--port",
                "0",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.processes.append(platform)
        line = platform.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(
                "the demo platform did not start; see " + str(self.root / "platform.log")
            )
        self.url = line.split()[-1]
        fleet = ["--scale", self.scale] if not self.piles else ["--piles", str(self.piles)]
        sim_log = open(self.root / "simulator.log", "w")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ledger",
                    "simulate",
                    "--platform",
                    self.url,
                    *fleet,
                    "--realtime",
                    "--speed",
                    str(self.speed),
                    "--fault-scale",
                    str(self.fault_scale),
                    "--seed",
                    "2026",
                    "--quiet",
                    "--workers",
                    "1",
                    "--truth",
                    str(self.root / "truth.jsonl"),
                    "--keys-out",
                    str(self.root / "keys"),
                ],
                cwd=ROOT,
                stdout=sim_log,
                stderr=subprocess.STDOUT,
            )
        )
        if self.fuel_stations:
            self.processes.insert(1, self._start_fuel())  # main() waits on the last one
        if self.taxis:
            self.processes.insert(1, self._start_taxi())
        return self.url

    def _start_fuel(self) -> subprocess.Popen:
        """The fuel fleet: the day before today, with one fault of each class, posted
        once; same seed (and so the same authority) as the charging simulator."""
        fuel_log = open(self.root / "fuel-simulator.log", "w")  # noqa: SIM115
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "fuel-fleet",
                "--post",
                self.url,
                "--stations",
                str(self.fuel_stations),
                "--days",
                "1",
                "--seed",
                "2026",
                "--faults",
                "all",
                "--out",
                str(self.root / "fuel"),
            ],
            cwd=ROOT,
            stdout=fuel_log,
            stderr=subprocess.STDOUT,
        )

    def _start_taxi(self) -> subprocess.Popen:
        """The taxi fleet (``python -m ledger taxi-fleet``): the day before today, one
        fault of each class, posted once; same seed, so the same authority key."""
        taxi_log = open(self.root / "taxi-simulator.log", "w")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "ledger", "taxi-fleet", "--post", self.url,
             "--taxis", str(self.taxis), "--days", "1", "--seed", "2026",
             "--faults", "all", "--out", str(self.root / "taxi")],
            cwd=ROOT,
            stdout=taxi_log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        """The simulator first (it flushes what it generated while the platform still
        listens), then the platform; anything that does not stop in time is killed."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self.processes.clear()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="main.py demo-platform",
        description="Run the demo platform and fleet simulator headless (Ctrl-C stops).",
    )
    parser.add_argument("--piles", type=int, default=0, help="small fleet instead of Hangzhou")
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument(
        "--fuel-stations", type=int, default=20, help="fuel stations (0: charging only)"
    )
    parser.add_argument("--taxis", type=int, default=300, help="taxis (0: none)")
    args = parser.parse_args(argv)
    demo = Demo(
        piles=args.piles, speed=args.speed, fuel_stations=args.fuel_stations, taxis=args.taxis
    )
    url = demo.start()
    print(f"platform {url}\nlog key {demo.vkey_path}\nstore {demo.store_url}", flush=True)
    try:
        demo.processes[-1].wait()
    except KeyboardInterrupt:
        pass
    finally:
        demo.stop()
    return 0
