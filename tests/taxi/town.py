"""A small signed taxi town for tests: the authority, one or two taxi companies, an
inspector, the monitoring platform, vehicles with meters, trips and verifications."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ledger import pii
from ledger.keys import SigningKey
from ledger.records import Record, sign_record

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z = 08:00 CST
DAY = 86_400_000


def _key(seed: str) -> SigningKey:
    return SigningKey.from_seed("p256", seed.encode())


@dataclass
class Town:
    auth: SigningKey = field(default_factory=lambda: _key("town-auth"))
    companies: dict[str, SigningKey] = field(
        default_factory=lambda: {"OP1": _key("town-op1"), "OP2": _key("town-op2")}
    )
    inspector: SigningKey = field(default_factory=lambda: _key("town-inspector"))
    monitor: SigningKey = field(default_factory=lambda: _key("town-monitor"))
    terminals: dict[str, SigningKey] = field(default_factory=dict)
    trip_seq: int = 0

    def terminal(self, terminal_id: str) -> SigningKey:
        if terminal_id not in self.terminals:
            self.terminals[terminal_id] = _key("town-terminal-" + terminal_id)
        return self.terminals[terminal_id]

    def registry(self) -> list[Record]:
        enc = X25519PrivateKey.from_private_bytes(b"\x09" * 32)
        records = [
            sign_record(
                "authority",
                {
                    "authority_id": "HZ-AMR",
                    "name": "杭州市市场监督管理局",
                    "key": self.auth.public_key.text,
                    "enc_key": pii.enc_key_text(enc.public_key()),
                    "at_ms": T0,
                },
                self.auth,
            )
        ]
        for operator_id, key in self.companies.items():
            records.append(
                sign_record(
                    "operator",
                    {
                        "operator_id": operator_id,
                        "name": f"出租汽车公司{operator_id}",
                        "key": key.public_key.text,
                        "at_ms": T0,
                    },
                    self.auth,
                )
            )
        records.append(
            sign_record(
                "inspector",
                {
                    "inspector_id": "INS1",
                    "name": "李检定",
                    "org": "杭州市计量院",
                    "key": self.inspector.public_key.text,
                    "at_ms": T0,
                },
                self.auth,
            )
        )
        records.append(
            sign_record(
                "monitor",
                {
                    "monitor_id": "MON1",
                    "name": "杭州市出租汽车车载监控平台",
                    "key": self.monitor.public_key.text,
                    "at_ms": T0,
                },
                self.auth,
            )
        )
        return records

    def taxi(self, plate: str, serial: str, terminal_id: str, operator_id: str = "OP1"):
        key = self.companies[operator_id]
        return [
            sign_record("vehicle", {"plate": plate, "operator_id": operator_id, "at_ms": T0}, key),
            self.meter(plate, serial, terminal_id, operator_id),
        ]

    def meter(
        self, plate: str, serial: str, terminal_id: str, operator_id: str = "OP1", at: int = T0
    ) -> Record:
        return sign_record(
            "taximeter",
            {
                "meter_serial": serial,
                "plate": plate,
                "operator_id": operator_id,
                "model": "JBC-11",
                "k_constant": 1000,
                "terminal_id": terminal_id,
                "key": self.terminal(terminal_id).public_key.text,
                "installed_ms": at,
                "at_ms": at,
            },
            self.companies[operator_id],
        )

    def verification(
        self,
        plate: str,
        serial: str,
        at_ms: int,
        next_due: str,
        error_ppm: int = -5_000,
        result: str = "pass",
        vid: str | None = None,
        k_constant: int = 1000,
    ) -> Record:
        return sign_record(
            "taxi_verification",
            {
                "verification_id": vid or f"V-{serial}-{at_ms}",
                "plate": plate,
                "meter_serial": serial,
                "inspector_id": "INS1",
                "at_ms": at_ms,
                "kind": "periodic",
                "method": "roller",
                "regulation": "JJG 517-2016",
                "distance_error_ppm": error_ppm,
                "time_error_ppm": 300,
                "k_constant": k_constant,
                "result": result,
                "certificate_no": f"HZ-T-{serial}-{at_ms}",
                "next_due": next_due,
                "seal_closed": True,
            },
            self.inspector,
        )

    def seal(self, plate: str, serial: str, terminal_id: str, at_ms: int, event: str) -> Record:
        self.trip_seq += 1
        return sign_record(
            "taxi_seal",
            {
                "terminal_id": terminal_id,
                "plate": plate,
                "meter_serial": serial,
                "seq": self.trip_seq,
                "event": event,
                "at_ms": at_ms,
            },
            self.terminal(terminal_id),
        )

    def trip(
        self,
        plate: str,
        serial: str,
        terminal_id: str,
        hire_ms: int,
        meter_m: int,
        gnss_m: int,
    ) -> list[Record]:
        """A trip as the terminal signs it and the monitoring platform's GNSS distance."""
        self.trip_seq += 1
        trip_id = f"{terminal_id}-{self.trip_seq}"
        vacant = hire_ms + 900_000
        return [
            sign_record(
                "trip",
                {
                    "trip_id": trip_id,
                    "terminal_id": terminal_id,
                    "plate": plate,
                    "meter_serial": serial,
                    "hire_ms": hire_ms,
                    "vacant_ms": vacant,
                    "start_lon_e6": 120_160_000,
                    "start_lat_e6": 30_270_000,
                    "end_lon_e6": 120_200_000,
                    "end_lat_e6": 30_250_000,
                    "meter_m": meter_m,
                    "wait_s": 120,
                    "fare_fen": 1_300 + meter_m * 25 // 10,
                },
                self.terminal(terminal_id),
            ),
            sign_record(
                "trip_gnss",
                {
                    "trip_id": trip_id,
                    "terminal_id": terminal_id,
                    "plate": plate,
                    "monitor_id": "MON1",
                    "gnss_m": gnss_m,
                    "points": 90,
                    "at_ms": vacant + 60_000,
                },
                self.monitor,
            ),
        ]


def entries(records: list[Record]) -> list[bytes]:
    return [r.to_bytes() for r in records]
