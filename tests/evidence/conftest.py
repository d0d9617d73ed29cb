"""A tiny world on a real platform, synced into a real store, for the bundle tests.

Module-scoped: starting the platform and syncing takes a second, and every test
here only reads from it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.models.store import Store
from app.models.sync import LogSync
from ledger.client import LogClient
from ledger.fleet.tariff import compute_charge, make_periods
from ledger.records import Record, sign_record
from ledger.sigcheck import SignatureChecker
from tests.world import T0, PlatformProcess, World, get, ndjson, post

PERIODS = make_periods(3000, 9000, 11000, 8000, 4000)
START = T0 + 2 * 3_600_000  # 10:00 in Hangzhou: the sharp-peak band
POWER = [60_000] * 30  # 30 one-minute samples at 60 kW = 30 kWh


def tariff(world: World) -> Record:
    return sign_record(
        "tariff",
        {
            "tariff_id": "TF1",
            "operator_id": "OP1",
            "station_id": "ST1",
            "valid_from_ms": T0,
            "periods": PERIODS,
            "at_ms": T0,
        },
        world.oper,
    )


def session(world: World, sid: str, start: int, energy_wh: int = 30_000) -> Record:
    return sign_record(
        "session",
        {
            "session_id": sid,
            "meter_id": "M1",
            "pile_id": "P1",
            "connector": 1,
            "start_ms": start,
            "stop_ms": start + len(POWER) * 60_000,
            "start_wh": 1_000_000,
            "stop_wh": 1_000_000 + energy_wh,
            "energy_wh": energy_wh,
            "interval_s": 60,
            "power_w": POWER,
        },
        world.meter,
    )


def billing(world: World, sid: str, start: int, billed_wh: int) -> Record:
    energy_fen, service_fen = compute_charge(PERIODS, start, 60, POWER, billed_wh)
    return sign_record(
        "billing",
        {
            "session_id": sid,
            "operator_id": "OP1",
            "pile_id": "P1",
            "tariff_id": "TF1",
            "billed_wh": billed_wh,
            "energy_fen": energy_fen,
            "service_fen": service_fen,
            "amount_fen": energy_fen + service_fen,
            "start_ms": start,
            "stop_ms": start + len(POWER) * 60_000,
        },
        world.oper,
    )


def traffic(world: World) -> list[Record]:
    """Registry, tariff, heartbeats, a fair session S1 and an overbilled one S2."""
    return [
        *world.registry(),
        tariff(world),
        *world.heartbeats(0, 20),
        session(world, "S1", START),
        billing(world, "S1", START, 30_000),
        *world.heartbeats(20, 10),
        session(world, "S2", START + 86_400_000),
        billing(world, "S2", START + 86_400_000, 31_500),  # 5 % more than metered
    ]


def publish(proc: PlatformProcess, records: list[Record]) -> tuple[int, bytes]:
    """Posts records in order and waits until a checkpoint covers them."""
    for record in records:  # one request each: the log order is the list order
        status, answer = post(proc.url, ndjson([record]))
        assert status == 200, answer
    sequenced = json.loads(get(proc.url + "/status"))["sequenced"]
    client = LogClient(proc.url, proc.vkey())
    checkpoint, note = client.checkpoint()
    while checkpoint.size < sequenced:
        checkpoint, note = client.checkpoint(after=checkpoint.size, wait=5)
    client.close()
    return checkpoint.size, note


@dataclass
class Env:
    platform: PlatformProcess
    store: Store
    client: LogClient
    vkey: str
    early_note: bytes  # a checkpoint the recipient held before S2 was logged
    tmp: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("evidence")
    world = World()
    proc = PlatformProcess(tmp / "platform")
    records = traffic(world)
    try:
        _size, early = publish(proc, records[:-3])
        publish(proc, records[-3:])
        store = Store.open(f"sqlite:///{tmp / 'store.sqlite'}")
        client = LogClient(proc.url, proc.vkey())
        with SignatureChecker(workers=0) as checker:
            sync = LogSync(store, client, checker, batch=64)
            sync.sync_once()
            sync.close()
        yield Env(proc, store, client, proc.vkey(), early, tmp)
        client.close()
        store.close()
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def forked_note(env: Env) -> Iterator[bytes]:
    """A checkpoint of a second platform holding the same log key but another history."""
    data = env.tmp / "fork"
    data.mkdir()
    for name in ("log.key", "log.vkey"):
        shutil.copy(env.platform.data / name, data / name)
    proc = PlatformProcess(data)
    try:
        world = World()
        records = traffic(world)
        records[-2] = session(world, "S2", START + 86_400_000, energy_wh=31_500)  # rewritten
        _size, note = publish(proc, records)
        yield note
    finally:
        proc.stop()
