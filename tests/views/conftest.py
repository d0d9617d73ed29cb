"""A small, fully signed and synced store for the explorer, pile detail and lookup views.

Records are signed like the real sources sign them and applied with the sync's own
``apply_records``, so the views are tested against exactly the rows a sync produces.
The world is deterministic: tests assert exact counts and amounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import insert, update

from app.models import store as st
from app.models.projection import apply_records
from app.models.store import Store
from ledger import pii
from ledger.fleet.tariff import compute_charge, make_periods
from ledger.keys import SigningKey
from ledger.records import Record, sign_record
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, registered by import

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z = 08:00 in Hangzhou
HOUR = 3_600_000
MIN = 60_000

OPERATORS = (("OP1", "杭州快充"), ("OP2", "西湖能源"))
STATIONS = (
    ("ST1", "OP1", "文三路快充站", "西湖区"),
    ("ST2", "OP1", "钱江新城站", "上城区"),
    ("ST3", "OP2", "滨江产业园站", "滨江区"),
)
# pile_id, station, kind, rated W, sessions
PILES = (
    ("P-ST1-01", "ST1", "DC", 120_000, 160),
    ("P-ST1-02", "ST1", "AC", 7_000, 40),
    ("P-ST2-01", "ST2", "DC", 60_000, 40),
    ("P-ST3-01", "ST3", "AC", 7_000, 30),
    ("P-ST3-02", "ST3", "DC", 160_000, 30),
)
TEST_PILE = "P-ST1-01"
OVERBILLED_INDEX = 7  # the test pile's 8th session is billed for more than it metered
UNBILLED_INDEX = 9  # and its 10th has no billing record
SESSION_GAP_MS = 6 * HOUR
HEARTBEAT_MS = 6 * HOUR
N_HEARTBEATS = 180


@dataclass
class ViewWorld:
    """The synced store and the facts tests check against."""

    store: Store
    sessions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per pile, the session bodies in time order (with their ``entry_index``)."""
    seal_at_ms: int = 0
    anomaly_at_ms: int = 0
    n_heartbeats: dict[str, int] = field(default_factory=dict)
    periods: list[dict[str, int]] = field(default_factory=list)

    @property
    def test_sessions(self) -> list[dict[str, Any]]:
        return self.sessions[TEST_PILE]

    @property
    def n_power_samples(self) -> int:
        return sum(len(s["power_w"]) for s in self.test_sessions)


def _power_curve(kind: str, rated_w: int, n: int, k: int) -> list[int]:
    if kind == "AC":
        return [rated_w - 100 * ((k + i) % 3) for i in range(n)]
    # constant current, then a taper
    return [int(rated_w * (0.9 if i < n * 0.6 else 0.9 * (n - i) / (n * 0.4))) for i in range(n)]


def build_world(url: str) -> ViewWorld:
    """Signs the world's records and applies them to a fresh store at ``url``."""
    auth = SigningKey.from_seed("p256", b"views-auth")
    ops = {op: SigningKey.from_seed("p256", op.encode()) for op, _ in OPERATORS}
    records: list[Record] = [
        sign_record(
            "authority",
            {
                "authority_id": "HZ-AMR",
                "name": "杭州市市场监督管理局",
                "key": auth.public_key.text,
                "enc_key": pii.enc_key_text(
                    X25519PrivateKey.from_private_bytes(b"\x07" * 32).public_key()
                ),
                "at_ms": T0 - HOUR,
            },
            auth,
        )
    ]
    for op, name in OPERATORS:
        records.append(
            sign_record(
                "operator",
                {
                    "operator_id": op,
                    "name": name,
                    "key": ops[op].public_key.text,
                    "credit_code": "91330100MA" + op,
                    "at_ms": T0 - HOUR,
                },
                auth,
            )
        )
    periods = make_periods(3_500, 9_000, 11_000, 6_000, 4_000)
    for sid, op, name, district in STATIONS:
        records.append(
            sign_record(
                "station",
                {
                    "station_id": sid,
                    "operator_id": op,
                    "name": name,
                    "district": district,
                    "lon_e6": 120_100_000 + len(records),
                    "lat_e6": 30_250_000,
                    "address": "杭州市" + district,
                    "at_ms": T0 - HOUR,
                },
                ops[op],
            )
        )
        records.append(
            sign_record(
                "tariff",
                {
                    "tariff_id": sid + "-T1",
                    "operator_id": op,
                    "station_id": sid,
                    "valid_from_ms": T0 - HOUR,
                    "periods": periods,
                    "at_ms": T0 - HOUR,
                },
                ops[op],
            )
        )
    station_op = {sid: op for sid, op, _, _ in STATIONS}
    meter_keys: dict[str, SigningKey] = {}
    for pid, sid, kind, rated, _ in PILES:
        op = station_op[sid]
        records.append(
            sign_record(
                "pile",
                {
                    "pile_id": pid,
                    "station_id": sid,
                    "operator_id": op,
                    "kind": kind,
                    "rated_power_w": rated,
                    "rated_voltage_v": 750 if kind == "DC" else 220,
                    "connectors": 1,
                    "commissioned_ms": T0 - 30 * 24 * HOUR,
                    "at_ms": T0 - HOUR,
                },
                ops[op],
            )
        )
        key = SigningKey.from_seed("p256", ("meter-" + pid).encode())
        meter_keys[pid] = key
        records.append(
            sign_record(
                "meter",
                {
                    "meter_id": "M-" + pid,
                    "pile_id": pid,
                    "operator_id": op,
                    "connector": 1,
                    "accuracy_class": "1" if kind == "DC" else "2",
                    "key": key.public_key.text,
                    "heartbeat_s": HEARTBEAT_MS // 1000,
                    "cert_no": "ZJJL-2025-" + pid[-4:],
                    "cert_date": "2025-12-01",
                    "cert_verifier": "浙江省计量科学研究院",
                    "installed_ms": T0 - 30 * 24 * HOUR,
                    "at_ms": T0 - HOUR,
                },
                ops[op],
            )
        )
    world = ViewWorld(store=None, periods=periods)  # type: ignore[arg-type]
    index = len(records)
    for pid, sid, kind, rated, n_sessions in PILES:
        op, meter, key = station_op[sid], "M-" + pid, meter_keys[pid]
        register = 1_000_000
        bodies: list[dict[str, Any]] = []
        for k in range(n_sessions):
            start = T0 + HOUR + k * SESSION_GAP_MS + (k % 5) * 7 * MIN
            n = 20 + (k * 7) % 40
            power = _power_curve(kind, rated, n, k)
            energy = sum(power) * 60 // 3600
            body = {
                "session_id": f"S-{pid}-{k:04d}",
                "meter_id": meter,
                "pile_id": pid,
                "connector": 1,
                "start_ms": start,
                "stop_ms": start + n * MIN,
                "start_wh": register,
                "stop_wh": register + energy,
                "energy_wh": energy,
                "interval_s": 60,
                "power_w": power,
            }
            register += energy
            records.append(sign_record("session", body, key))
            bodies.append({**body, "entry_index": index})
            index += 1
            if pid == TEST_PILE and k == UNBILLED_INDEX:
                continue
            billed = energy + (500 if pid == TEST_PILE and k == OVERBILLED_INDEX else 0)
            e_fen, s_fen = compute_charge(periods, start, 60, power, billed)
            records.append(
                sign_record(
                    "billing",
                    {
                        "session_id": body["session_id"],
                        "operator_id": op,
                        "pile_id": pid,
                        "tariff_id": sid + "-T1",
                        "billed_wh": billed,
                        "energy_fen": e_fen,
                        "service_fen": s_fen,
                        "amount_fen": e_fen + s_fen,
                        "start_ms": start,
                        "stop_ms": body["stop_ms"],
                    },
                    ops[op],
                )
            )
            index += 1
        world.sessions[pid] = bodies
        n_beats = N_HEARTBEATS if pid == TEST_PILE else 20
        world.n_heartbeats[pid] = n_beats
        for seq in range(n_beats):
            ref = T0 + seq * HEARTBEAT_MS + 30 * MIN
            records.append(
                sign_record(
                    "heartbeat",
                    {
                        "meter_id": meter,
                        "pile_id": pid,
                        "seq": seq,
                        "ref_ms": ref,
                        "meter_ms": ref + seq * 1_000,  # drifts 1 s per beat
                        "register_wh": max(
                            [b["stop_wh"] for b in bodies if b["stop_ms"] <= ref] or [1_000_000]
                        ),
                        "temp_dc": 250,
                    },
                    key,
                )
            )
            index += 1
    seal_at = T0 + 20 * 24 * HOUR + 3 * HOUR
    world.seal_at_ms = seal_at
    test_key = meter_keys[TEST_PILE]
    for seq, (event, at) in enumerate((("opened", seal_at), ("closed", seal_at + 2 * HOUR))):
        records.append(
            sign_record(
                "seal",
                {
                    "meter_id": "M-" + TEST_PILE,
                    "pile_id": TEST_PILE,
                    "seq": seq,
                    "event": event,
                    "at_ms": at,
                    "register_wh": 1_000_000,
                },
                test_key,
            )
        )
    inspector = SigningKey.from_seed("p256", b"views-inspector")
    records.append(
        sign_record(
            "inspector",
            {
                "inspector_id": "INS1",
                "name": "王检定",
                "org": "杭州市质量技术监督检测院",
                "key": inspector.public_key.text,
                "at_ms": T0 - HOUR,
            },
            auth,
        )
    )
    for k, (at, errs) in enumerate(
        ((T0 - 20 * 24 * HOUR, (1200, 1800)), (seal_at + 3 * HOUR, (4_000, 6_000)))
    ):
        records.append(
            sign_record(
                "verification",
                {
                    "verification_id": f"V-{k}",
                    "pile_id": TEST_PILE,
                    "meter_id": "M-" + TEST_PILE,
                    "inspector_id": "INS1",
                    "at_ms": at,
                    "kind": "first" if k == 0 else "triggered",
                    "regulation": "JJG 1149-2022",
                    "points": [{"load_pct": 100, "error_ppm": e} for e in errs],
                    "clock_error_ms": 800,
                    "insulation_kohm": 50_000,
                    "result": "pass",
                    "certificate_no": f"ZJJL-2026-{k}",
                    "next_due": "2027-01-01",
                    "seal_closed": True,
                    "accuracy_class": "1",
                },
                inspector,
            )
        )
    world.store = Store.open(url)
    with world.store.transaction() as conn:
        apply_records(conn, list(enumerate(records)))
        conn.execute(
            update(st.piles).where(st.piles.c.pile_id == "P-ST3-02").values(status="alarm")
        )
        overbilled = world.sessions[TEST_PILE][OVERBILLED_INDEX]
        world.anomaly_at_ms = overbilled["stop_ms"]
        conn.execute(
            insert(st.anomalies).values(
                rule_id="billed_above_metered",
                pile_id=TEST_PILE,
                meter_id="M-" + TEST_PILE,
                at_ms=overbilled["stop_ms"],
                severity="high",
                evidence=[overbilled["entry_index"], overbilled["entry_index"] + 1],
                evidence_key=st.evidence_key(
                    [overbilled["entry_index"], overbilled["entry_index"] + 1]
                ),
                detail={"billed_wh": overbilled["energy_wh"] + 500},
                detected_at=datetime.now(UTC),
            )
        )
    return world


@pytest.fixture(scope="session")
def view_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewWorld]:
    """Built once per run (read-only for every test)."""
    path = tmp_path_factory.mktemp("views") / "views.sqlite"
    world = build_world(f"sqlite:///{path}")
    yield world
    world.store.close()


@pytest.fixture
def pg_view_world(request: pytest.FixtureRequest) -> Iterator[ViewWorld]:
    """The same world on a real PostgreSQL server (the office deployment)."""
    world = build_world(str(request.getfixturevalue("pg_url")))
    yield world
    world.store.close()
