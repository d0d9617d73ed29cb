"""A tiny signed world for tests: one authority, operator, pile, meter and traffic."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger import pii
from ledger.keys import SigningKey
from ledger.records import Record, sign_record

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass
class World:
    auth: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"w-auth"))
    oper: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"w-oper"))
    meter: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"w-meter"))
    enc: X25519PrivateKey = field(
        default_factory=lambda: X25519PrivateKey.from_private_bytes(b"\x07" * 32)
    )

    def registry(self) -> list[Record]:
        return [
            sign_record(
                "authority",
                {
                    "authority_id": "HZ-AMR",
                    "name": "杭州市市场监督管理局",
                    "key": self.auth.public_key.text,
                    "enc_key": pii.enc_key_text(self.enc.public_key()),
                    "at_ms": T0,
                },
                self.auth,
            ),
            sign_record(
                "operator",
                {
                    "operator_id": "OP1",
                    "name": "测试运营商",
                    "key": self.oper.public_key.text,
                    "at_ms": T0,
                },
                self.auth,
            ),
            sign_record(
                "station",
                {
                    "station_id": "ST1",
                    "operator_id": "OP1",
                    "name": "测试站",
                    "district": "西湖区",
                    "lon_e6": 120_140_000,
                    "lat_e6": 30_250_000,
                    "at_ms": T0,
                },
                self.oper,
            ),
            sign_record(
                "pile",
                {
                    "pile_id": "P1",
                    "station_id": "ST1",
                    "operator_id": "OP1",
                    "kind": "DC",
                    "rated_power_w": 120_000,
                    "rated_voltage_v": 750,
                    "connectors": 1,
                    "commissioned_ms": T0,
                    "at_ms": T0,
                },
                self.oper,
            ),
            sign_record(
                "meter",
                {
                    "meter_id": "M1",
                    "pile_id": "P1",
                    "operator_id": "OP1",
                    "connector": 1,
                    "accuracy_class": "1",
                    "key": self.meter.public_key.text,
                    "heartbeat_s": 900,
                    "installed_ms": T0,
                    "at_ms": T0,
                },
                self.oper,
            ),
        ]

    def heartbeats(self, start: int, count: int) -> list[Record]:
        return [
            sign_record(
                "heartbeat",
                {
                    "meter_id": "M1",
                    "pile_id": "P1",
                    "seq": seq,
                    "ref_ms": T0 + seq * 900_000,
                    "meter_ms": T0 + seq * 900_000 + 120,
                    "register_wh": 1_000_000,
                    "temp_dc": 250,
                },
                self.meter,
            )
            for seq in range(start, start + count)
        ]


def ndjson(records: list[Record]) -> bytes:
    return b"".join(r.to_bytes() + b"\n" for r in records)


def post(url: str, body: bytes, timeout: float = 30) -> tuple[int, dict]:
    import json

    request = urllib.request.Request(
        url + "/ingest", data=body, method="POST", headers={"Content-Type": "application/x-ndjson"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read()


class PlatformProcess:
    """`python -m ledger serve` on a free loopback port, for real."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.data = data
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "serve",
                "--data",
                str(data),
                "--port",
                "0",
                "--workers",
                "1",
                "--interval",
                "0.05",
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"platform did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split()[-1]

    def vkey(self) -> str:
        return (self.data / "log.vkey").read_text().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
