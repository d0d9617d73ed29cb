"""A small signed city for the planning tests: 4 stations, 8 piles with varied certificates."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import Connection, insert

from app.models import store as st
from app.models.projection import apply_records
from app.models.users import Session, create_first_administrator, create_user, sign_in
from ledger import pii
from ledger.keys import SigningKey
from ledger.records import Record, sign_record
from tests.pg import pg_server, pg_url  # noqa: F401 - fixtures, registered by import

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z (08:00 in Beijing)
TODAY = dt.date(2026, 6, 1)
PASSWORD = "Zq7!correct-horse-九"
INSPECTOR_ID = "INS-HZ-007"

# station_id, name, district, lon_e6, lat_e6
STATIONS = [
    ("ST1", "文三路充电站", "西湖区", 120_140_000, 30_276_000),
    ("ST2", "黄龙体育中心站", "西湖区", 120_150_000, 30_268_000),
    ("ST3", "钱江新城站", "上城区", 120_210_000, 30_245_000),
    ("ST4", "萧山机场站", "萧山区", 120_432_000, 30_229_000),
]
# pile_id, station, kind, cert_no, cert_date
PILES = [
    ("P1", "ST1", "DC", "C-001", "2024-02-29"),  # leap day: due 2030-02-28
    ("P2", "ST1", "AC", "C-002", "2020-05-01"),  # AC 8 years: due 2028-05-01
    ("P3", "ST2", "DC", None, None),  # never verified: due at installation
    ("P4", "ST2", "DC", "C-004", None),  # undated certificate: from installation
    ("P5", "ST3", "DC", "C-005", "2019-06-01"),  # overdue since 2025-06-01
    ("P6", "ST3", "DC", "C-006", "2024-01-15"),
    ("P7", "ST4", "AC", "C-007", "2023-03-10"),
    ("P8", "ST4", "DC", None, None),
]


def ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp() * 1000)


@dataclass
class PlanWorld:
    auth: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"pw-auth"))
    oper: SigningKey = field(default_factory=lambda: SigningKey.from_seed("p256", b"pw-oper"))
    enc: X25519PrivateKey = field(
        default_factory=lambda: X25519PrivateKey.from_private_bytes(b"\x09" * 32)
    )

    def meter_key(self, meter_id: str) -> SigningKey:
        return SigningKey.from_seed("p256", b"pw-meter-" + meter_id.encode())

    def registry(self, piles: Sequence[tuple[Any, ...]] = PILES) -> list[Record]:
        out = [
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
        ]
        for sid, name, district, lon, lat in STATIONS:
            out.append(
                sign_record(
                    "station",
                    {
                        "station_id": sid,
                        "operator_id": "OP1",
                        "name": name,
                        "district": district,
                        "lon_e6": lon,
                        "lat_e6": lat,
                        "at_ms": T0,
                    },
                    self.oper,
                )
            )
        for pid, sid, kind, cert_no, cert_date in piles:
            out.append(
                sign_record(
                    "pile",
                    {
                        "pile_id": pid,
                        "station_id": sid,
                        "operator_id": "OP1",
                        "kind": kind,
                        "rated_power_w": 120_000 if kind == "DC" else 7_000,
                        "rated_voltage_v": 750 if kind == "DC" else 220,
                        "connectors": 1,
                        "commissioned_ms": T0,
                        "at_ms": T0,
                    },
                    self.oper,
                )
            )
            body: dict[str, Any] = {
                "meter_id": "M" + pid,
                "pile_id": pid,
                "operator_id": "OP1",
                "connector": 1,
                "accuracy_class": "1",
                "key": self.meter_key("M" + pid).public_key.text,
                "heartbeat_s": 900,
                "installed_ms": T0,
                "at_ms": T0,
            }
            if cert_no:
                body["cert_no"] = cert_no
            if cert_date:
                body["cert_date"] = cert_date
            out.append(sign_record("meter", body, self.oper))
        return out

    def inspector(self, key_text: str, inspector_id: str = INSPECTOR_ID) -> Record:
        return sign_record(
            "inspector",
            {
                "inspector_id": inspector_id,
                "name": "李检定",
                "org": "杭州市质量技术监督检测院",
                "key": key_text,
                "at_ms": T0,
            },
            self.auth,
        )


def verification_record(
    key: SigningKey,
    pile_id: str,
    at: dt.date | int,
    *,
    result: str = "pass",
    vid: str | None = None,
    inspector_id: str = INSPECTOR_ID,
) -> Record:
    at_ms = at if isinstance(at, int) else ms(at)
    return sign_record(
        "verification",
        {
            "verification_id": vid or f"V-{pile_id}-{at_ms}",
            "pile_id": pile_id,
            "meter_id": "M" + pile_id,
            "inspector_id": inspector_id,
            "at_ms": at_ms,
            "kind": "periodic",
            "regulation": "JJG 1149-2022",
            "points": [{"error_ppm": 1200}],
            "clock_error_ms": 300,
            "insulation_kohm": 520_000,
            "result": result,
            "certificate_no": f"HZ-{pile_id}-{at_ms}",
            "next_due": "2032-01-01",
            "seal_closed": True,
            "accuracy_class": "1",
        },
        key,
    )


class Loader:
    """Applies records to a store with consecutive entry indexes (as a sync would)."""

    def __init__(self, store: st.Store) -> None:
        self.store = store
        self.next_index = 0

    def apply(self, records: Sequence[Record]) -> None:
        with self.store.transaction() as conn:
            apply_records(conn, [(self.next_index + i, r) for i, r in enumerate(records)])
        self.next_index += len(records)


def add_anomaly(
    conn: Connection, pile_id: str, at: dt.date, severity: str, rule: str = "R1"
) -> None:
    conn.execute(
        insert(st.anomalies),
        {
            "rule_id": rule,
            "pile_id": pile_id,
            "meter_id": "M" + pile_id,
            "at_ms": ms(at),
            "severity": severity,
            "evidence": [],
            "evidence_key": f"{pile_id}-{at}-{severity}",
            "detail": {},
            "detected_at": dt.datetime(at.year, at.month, at.day, 13, tzinfo=dt.UTC),
        },
    )


def add_alarm(
    conn: Connection,
    pile_id: str,
    at: dt.datetime,
    severity: str,
    state: str = "new",
    rule: str = "R1",
) -> int:
    return int(
        conn.execute(
            insert(st.alarms).returning(st.alarms.c.id),
            {
                "created_at": at,
                "kind": "anomaly",
                "severity": severity,
                "pile_id": pile_id,
                "rule_id": rule,
                "title_zh": "异常",
                "title_en": "anomaly",
                "evidence": [],
                "state": state,
                "updated_at": at,
            },
        ).scalar_one()
    )


@dataclass
class Office:
    store: st.Store
    loader: Loader
    world: PlanWorld
    admin: Session
    regulator: Session
    inspector: Session
    other_inspector: Session
    checker: Session
    approver: Session
    other_checker: Session


def make_office(url: str) -> Office:
    store = st.Store.open(url)
    world = PlanWorld()
    with store.transaction() as conn:
        admin = create_first_administrator(conn, "admin", "管理员", PASSWORD)
        create_user(conn, admin, "wang", "王监管", "regulator", PASSWORD)
        create_user(conn, admin, "li", "李检定", "inspector", PASSWORD, inspector_id=INSPECTOR_ID)
        create_user(conn, admin, "zhao", "赵检定", "inspector", PASSWORD, inspector_id="INS-HZ-008")
        create_user(conn, admin, "qian", "钱核验", "checker", PASSWORD)
        create_user(conn, admin, "sun", "孙批准", "approver", PASSWORD)
        create_user(conn, admin, "zhou", "周核验", "checker", PASSWORD)
    with store.transaction() as conn:
        regulator = sign_in(conn, "wang", PASSWORD)
        inspector = sign_in(conn, "li", PASSWORD)
        other = sign_in(conn, "zhao", PASSWORD)
        checker = sign_in(conn, "qian", PASSWORD)
        approver = sign_in(conn, "sun", PASSWORD)
        other_checker = sign_in(conn, "zhou", PASSWORD)
    loader = Loader(store)
    loader.apply(world.registry())
    return Office(
        store, loader, world, admin, regulator, inspector, other, checker, approver, other_checker
    )


@pytest.fixture(scope="session")
def _office_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Office]:
    """Built once (argon2id is deliberately slow); each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("office") / "office.sqlite"
    template = make_office(f"sqlite:///{path}")
    template.store.close()  # merges the WAL into the file
    return path, template


@pytest.fixture
def office(_office_template: tuple[Path, Office], tmp_path: Path) -> Iterator[Office]:
    source, template = _office_template
    target = tmp_path / "office.sqlite"
    shutil.copyfile(source, target)
    store = st.Store.open(f"sqlite:///{target}")
    loader = Loader(store)
    loader.next_index = template.loader.next_index
    o = Office(
        store,
        loader,
        template.world,
        template.admin,
        template.regulator,
        template.inspector,
        template.other_inspector,
        template.checker,
        template.approver,
        template.other_checker,
    )
    yield o
    store.close()
