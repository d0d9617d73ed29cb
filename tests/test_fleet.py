"""Fleet simulator: a deterministic, verifiable city whose injected faults are all on record.

The expensive run (60 piles, two days, every fault kind at a high rate) is
generated once per module through the real CLI with ``--out``; the tests then
read it back as a detector would: parse, verify in log order, and check that
each fault is visible exactly where the truth file says and nowhere else.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from ledger import geo, pii
from ledger.fleet import cli, model
from ledger.fleet.faults import (
    DEFAULT_RATES,
    FEED_FAULTS,
    METER_FAULTS,
    RECORD_FAULTS,
    SESSION_FAULTS,
    parse_rates,
)
from ledger.fleet.generate import Simulation
from ledger.fleet.send import Poster, batches
from ledger.fleet.signing import SignPool, seal_deterministic
from ledger.fleet.tariff import compute_charge, make_periods, minute_of_day
from ledger.records import Record, RecordError
from ledger.registry import KeyRegistry, UnknownKeyError
from tests.world import PlatformProcess

START = "2026-03-02"
RATES = [f"{name}=0.02" for name in SESSION_FAULTS] + [f"{name}=0.12" for name in METER_FAULTS]


@dataclass
class Run:
    entries: list[bytes]
    records: list[Record]
    truth: list[dict[str, Any]]
    keys: Path


def _simulate(tmp: Path, *extra: str) -> Run:
    out = tmp / "fleet.ndjson"
    argv = ["--out", str(out), "--start", START, "--quiet", "--workers", "1", *extra]
    assert cli.main(argv) == 0
    entries = out.read_bytes().splitlines()
    truth_lines = (tmp / "fleet.truth.jsonl").read_text().splitlines()
    return Run(
        entries,
        [Record.parse(e) for e in entries],
        [json.loads(line) for line in truth_lines],
        tmp / "keys",
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("fleet")
    rates = [arg for rate in RATES for arg in ("--fault-rate", rate)]
    return _simulate(
        tmp, "--piles", "60", "--days", "2", "--seed", "11", "--keys-out", str(tmp / "keys"), *rates
    )


def _by_type(run: Run, rtype: str) -> Iterator[Record]:
    return (r for r in run.records if r.type == rtype)


def _faulty(run: Run, *kinds: str) -> set[str]:
    return {sid for t in run.truth if t["fault"] in kinds for sid in t["session_ids"]}


# ---- fleet model -----------------------------------------------------------------------


def test_hangzhou_fleet_has_the_2022_figures_and_a_plausible_shape() -> None:
    fleet = model.build_fleet(5)
    assert (len(fleet.operators), len(fleet.stations), len(fleet.piles)) == (91, 1016, 12258)
    per_station = collections.Counter(p.station_id for p in fleet.piles)
    assert len(per_station) == 1016
    assert min(per_station.values()) >= 1 and max(per_station.values()) <= 60
    assert abs(fleet.dc_share - 0.45) < 0.01
    stations_per_op = sorted(collections.Counter(s.operator_id for s in fleet.stations).values())
    assert stations_per_op[0] >= 1
    assert sum(stations_per_op[-5:]) > 0.4 * 1016  # long tail: five networks hold most
    assert {p.rated_power_w for p in fleet.piles if p.kind == "DC"} == {
        60_000,
        120_000,
        160_000,
        240_000,
    }
    assert all(p.rated_voltage_v == 220 for p in fleet.piles if p.kind == "AC")
    assert {p.rated_voltage_v for p in fleet.piles if p.kind == "DC"} == {750, 1000}
    dc_classes = collections.Counter(m.accuracy_class for m in fleet.meters if m.pile.kind == "DC")
    assert dc_classes.most_common(1)[0][0] == "1"
    assert len(fleet.meters) == sum(p.connectors for p in fleet.piles)
    assert 0 < sum(m.cert_no is None for m in fleet.meters) < 0.2 * len(fleet.meters)
    districts = geo.load_districts()
    for station in fleet.stations:
        found = geo.district_of(station.lon_e6 / 1e6, station.lat_e6 / 1e6, districts)
        assert found is not None and found.name_zh == station.district


def test_hangzhou_registry_structure_without_signing() -> None:
    fleet = model.build_fleet(5)
    bodies = list(model.registry_bodies(fleet, lambda label: "k:" + label, "x25519:e", 0, 3600))
    counts = collections.Counter(rtype for rtype, _, _ in bodies)
    assert counts == {
        "authority": 1,
        "inspector": 4,
        "operator": 91,
        "station": 1016,
        "pile": 12258,
        "meter": len(fleet.meters),
        "tariff": 1016,
    }
    order = [rtype for rtype, _, _ in bodies]
    assert order.index("operator") < order.index("station") < order.index("meter")
    assert order[-1] == "tariff"


@pytest.mark.parametrize("piles", [2, 20, 500])
def test_small_fleets_are_proportional(piles: int) -> None:
    fleet = model.build_fleet(1, piles)
    assert len(fleet.piles) == piles
    assert len(fleet.operators) >= 2
    assert len({s.operator_id for s in fleet.stations}) == len(fleet.operators)
    assert len(fleet.stations) <= piles
    assert abs(fleet.dc_share - 0.45) <= 0.5 / piles + 1e-9
    if piles >= 500:
        assert len(fleet.stations) == round(1016 * piles / 12258)


def test_session_volume_matches_hangzhou_per_pile() -> None:
    fleet = model.build_fleet(3, 400)
    sim = Simulation(
        fleet,
        start_ms=1_772_380_800_000,
        heartbeat_s=3600,
        rates=parse_rates([], 0.0),
        public_key=lambda label: label,
    )
    sim.advance(sim.start_ms + 2 * 86_400_000)
    per_day = sim.stats["sessions"] / 2
    assert 0.85 < per_day / (28_000 * 400 / 12258) < 1.15


# ---- tariff ----------------------------------------------------------------------------


def test_charge_is_the_exact_rational_split_rounded_once() -> None:
    periods = make_periods(4000, 8000, 10000, 6000, 5000)
    # 2026-03-02 10:59 local: one minute of sharp peak, then the 11:00 valley
    start = 1_772_420_340_000
    assert minute_of_day(start) == 10 * 60 + 59
    energy_fen, service_fen = compute_charge(periods, start, 60, [6000, 6000], 200)
    # 100 Wh at 1.0000 + 100 Wh at 0.4000 yuan/kWh = 0.14 yuan; service 0.06 + 0.05
    assert (energy_fen, service_fen) == (14, 11)
    assert compute_charge(periods, start, 60, [], 1000) == (100, 60)  # zero-length: start's period
    # 8 Wh: energy 8 × 0.7 yuan/kWh on average = 0.56 fen → 1; service 8 × 0.55 = 0.44 → 0
    assert compute_charge(periods, start, 60, [1, 1], 8) == (1, 0)
    assert compute_charge(periods, start, 60, [1, 1], 5) == (0, 0)


# ---- generated traffic -----------------------------------------------------------------


def test_every_entry_parses_and_verifies_in_log_order(run: Run) -> None:
    registry = KeyRegistry()
    for record in run.records:
        registry.check(record)
    types = collections.Counter(r.type for r in run.records)
    assert types["session"] > 150 and types["billing"] == types["session"]
    assert types["heartbeat"] > 10_000
    assert [r.type for r in run.records[:2]] == ["authority", "inspector"]
    assert all(r.alg == "p256" for r in run.records)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    args = ("--piles", "20", "--days", "0.25", "--fault-scale", "500")
    runs = []
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        (tmp_path / name).mkdir()
        runs.append(_simulate(tmp_path / name, "--seed", seed, *args))
    a, b, c = runs
    assert a.truth
    assert a.entries == b.entries
    assert a.truth == b.truth
    assert a.entries != c.entries


def test_realtime_stream_is_the_batch_stream(tmp_path: Path) -> None:
    """Same windows in both modes: realtime (at a huge speed, so no waiting) is a prefix."""
    args = ("--piles", "12", "--days", str(2 / 24), "--seed", "6", "--fault-scale", "2000")
    (tmp_path / "batch").mkdir()
    (tmp_path / "live").mkdir()
    batch = _simulate(tmp_path / "batch", *args)
    live = _simulate(tmp_path / "live", *args, "--realtime", "--speed", "1e9")
    assert len(live.entries) > 100
    assert live.entries == batch.entries[: len(live.entries)]
    assert {t["fault"] for t in live.truth} <= {t["fault"] for t in batch.truth}


def test_ed25519_fleet_verifies(tmp_path: Path) -> None:
    result = _simulate(tmp_path, "--piles", "10", "--days", "0.1", "--alg", "ed25519")
    registry = KeyRegistry()
    for record in result.records:
        registry.check(record)
    assert {r.alg for r in result.records} == {"ed25519"}


def test_register_continuity_holds_except_at_injected_faults(run: Run) -> None:
    excused = _faulty(run, "register_backwards", "register_gap", "duplicate")
    duplicates = {t["session_ids"][1] for t in run.truth if t["fault"] == "duplicate"}
    by_meter: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for record in _by_type(run, "session"):
        if record.body["session_id"] not in duplicates:
            by_meter[record.body["meter_id"]].append(dict(record.body))
    breaks, firsts = set(), set()
    for sessions in by_meter.values():
        sessions.sort(key=lambda b: b["start_ms"])
        firsts.add(sessions[0]["session_id"])
        for prev, cur in itertools.pairwise(sessions):
            assert cur["stop_wh"] - cur["start_wh"] == cur["energy_wh"]
            if cur["start_wh"] != prev["stop_wh"]:
                breaks.add(cur["session_id"])
    injected = _faulty(run, "register_backwards", "register_gap")
    assert breaks <= excused
    assert injected and injected - firsts <= breaks  # a meter's first session has no "before"


def _seen(run: Run) -> set[str]:
    return {r.body["session_id"] for r in _by_type(run, "session")}


def test_heartbeat_registers_never_run_backwards_on_healthy_meters(run: Run) -> None:
    bad_meters = {
        t["meter_id"]
        for t in run.truth
        if t["fault"] in ("register_backwards", "overlapping", "duplicate")
    }
    last: dict[str, int] = {}
    for record in _by_type(run, "heartbeat"):
        meter = record.body["meter_id"]
        if meter not in bad_meters:
            assert record.body["register_wh"] >= last.get(meter, 0)
        last[meter] = record.body["register_wh"]


def test_billing_equals_the_tariff_except_at_injected_faults(run: Run) -> None:
    tariffs = {r.body["tariff_id"]: r.body["periods"] for r in _by_type(run, "tariff")}
    sessions = {r.body["session_id"]: r.body for r in _by_type(run, "session")}
    wrong = set()
    for record in _by_type(run, "billing"):
        bill, session = record.body, sessions[record.body["session_id"]]
        expected = compute_charge(
            tariffs[bill["tariff_id"]],
            session["start_ms"],
            session["interval_s"],
            session["power_w"],
            bill["billed_wh"],
        )
        assert bill["amount_fen"] == bill["energy_fen"] + bill["service_fen"]
        if bill["billed_wh"] != session["energy_wh"]:
            wrong.add(bill["session_id"])
        if (bill["energy_fen"], bill["service_fen"]) != expected:
            wrong.add(bill["session_id"])
            assert bill["energy_fen"] >= expected[0] and bill["service_fen"] >= expected[1]
    assert wrong == _faulty(run, "overbilling", "price_above_tariff")


def test_each_fault_kind_is_in_the_truth_and_its_entries_in_the_log(run: Run) -> None:
    kinds = collections.Counter(t["fault"] for t in run.truth)
    assert set(kinds) == set(SESSION_FAULTS) | set(METER_FAULTS)  # issue 14's: their own run
    leaves = {r.leaf_digest.hex() for r in run.records}
    sessions = _seen(run)
    for line in run.truth:
        assert set(line) == {
            "fault",
            "rule_hint",
            "pile_id",
            "meter_id",
            "session_ids",
            "leaf_hashes",
            "at_ms",
            "detail",
        }
        assert set(line["leaf_hashes"]) <= leaves
        assert set(line["session_ids"]) <= sessions
        if line["fault"] in SESSION_FAULTS or line["fault"] in ("seal_opened", "key_changed"):
            assert line["leaf_hashes"]


def test_session_faults_are_visible_by_their_rule_and_healthy_sessions_are_not(run: Run) -> None:
    meters = {r.body["meter_id"]: r.body for r in _by_type(run, "meter")}
    piles = {r.body["pile_id"]: r.body for r in _by_type(run, "pile")}
    flagged: dict[str, set[str]] = collections.defaultdict(set)
    by_meter: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for record in _by_type(run, "session"):
        s = record.body
        integral = sum(s["power_w"]) * s["interval_s"] / 3600
        tolerance = float(meters[s["meter_id"]]["accuracy_class"]) / 100 * integral + 1
        if s["power_w"] and abs(s["energy_wh"] - integral) > tolerance:
            flagged["meter_error"].add(s["session_id"])
        hours = (s["stop_ms"] - s["start_ms"]) / 3_600_000
        if hours and s["energy_wh"] > piles[s["pile_id"]]["rated_power_w"] * hours * 1.1:
            flagged["over_power"].add(s["session_id"])
        if s["stop_ms"] == s["start_ms"] and s["energy_wh"] > 0:
            flagged["zero_duration"].add(s["session_id"])
        by_meter[s["meter_id"]].append(s)
    for sessions in by_meter.values():
        sessions.sort(key=lambda b: (b["start_ms"], b["session_id"]))
        for prev, cur in itertools.pairwise(sessions):
            same = (prev["start_ms"], prev["energy_wh"]) == (cur["start_ms"], cur["energy_wh"])
            if same:
                flagged["duplicate"].add(cur["session_id"])
            elif cur["start_ms"] < prev["stop_ms"]:
                flagged["overlapping"].add(cur["session_id"])
    for kind in ("meter_error", "over_power", "zero_duration", "overlapping"):
        assert flagged[kind] == _faulty(run, kind), kind
    assert flagged["duplicate"] == {
        t["session_ids"][1] for t in run.truth if t["fault"] == "duplicate"
    }


def test_meter_faults_are_visible_in_heartbeats_seals_and_registry(run: Run) -> None:
    drift_leaves = {h for t in run.truth if t["fault"] == "clock_drift" for h in t["leaf_hashes"]}
    for record in _by_type(run, "heartbeat"):
        offset = abs(record.body["meter_ms"] - record.body["ref_ms"])
        assert (offset > 5000) == (record.leaf_digest.hex() in drift_leaves)
        assert offset < 1000 or offset > 5000
    seal_leaves = {h for t in run.truth if t["fault"] == "seal_opened" for h in t["leaf_hashes"]}
    opened = [r for r in _by_type(run, "seal") if r.body["event"] == "opened"]
    assert opened and all(r.leaf_digest.hex() in seal_leaves for r in opened)
    meter_records = collections.Counter(r.body["meter_id"] for r in _by_type(run, "meter"))
    rekeyed = {m for m, n in meter_records.items() if n > 1}
    assert rekeyed == {t["meter_id"] for t in run.truth if t["fault"] == "key_changed"}
    for line in (t for t in run.truth if t["fault"] == "silent"):
        begin, end = line["detail"]["silent_from_ms"], line["detail"]["silent_until_ms"]
        assert end - begin > 2 * 900_000
        for record in run.records:
            if record.body.get("meter_id") == line["meter_id"] and record.type in (
                "heartbeat",
                "session",
            ):
                t = record.body.get("ref_ms", record.body.get("start_ms"))
                assert not begin <= t < end


def test_personal_data_opens_with_the_exported_authority_key(run: Run) -> None:
    private = serialization.load_pem_private_key(
        (run.keys / "authority-enc.pem").read_bytes(), password=None
    )
    index = json.loads((run.keys / "keys.json").read_text())
    assert {k["role"] for k in index["keys"]} == {"authority", "operator", "inspector"}
    session = next(_by_type(run, "session"))
    values = pii.open_sealed(session.body["pii"], private, f"session {session.body['session_id']}")
    assert values["plate"].startswith("浙A") and len(values["vin"]) == 17
    with pytest.raises(pii.PiiError):
        pii.open_sealed(session.body["pii"], private, "session other")


def test_deterministic_sealing_is_the_pii_format() -> None:
    pool = SignPool(1, "p256", workers=0)
    recipient = pool.local.recipient
    a = seal_deterministic({"vin": "X"}, recipient, "session S", b"k")
    assert a == seal_deterministic({"vin": "X"}, recipient, "session S", b"k")
    assert a != seal_deterministic({"vin": "Y"}, recipient, "session S", b"k")


# ---- sending ---------------------------------------------------------------------------


def test_batches_respect_line_and_byte_limits() -> None:
    entries = [b"x" * 10_000] * 2500
    parts = batches(entries)
    assert [len(p) for p in parts][:2] == [419, 419]
    assert all(len(p) <= 1000 and sum(len(e) + 1 for e in p) <= 4 * 1024 * 1024 for p in parts)
    assert [e for p in parts for e in p] == entries


class FakePlatform:
    """Just the POST /ingest contract, verifying with a KeyRegistry, with scripted failures."""

    def __init__(self) -> None:
        self.registry = KeyRegistry()
        self.log: list[bytes] = []
        self.seen: set[bytes] = set()
        self.fail_next = 0
        self.drop_after_commit = 0

    async def ingest(self, request: web.Request) -> web.Response:
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": "restarting"}, status=503)
        lines = (await request.read()).rstrip(b"\n").split(b"\n")
        if len(lines) > 1000:
            return web.json_response({"error": "too many"}, status=413)
        registry = self.registry.copy()
        for number, line in enumerate(lines, 1):
            if line in self.seen:
                return web.json_response({"error": f"line {number}: duplicate"}, status=409)
            try:
                registry.check(Record.parse(line))
            except UnknownKeyError as exc:
                return web.json_response({"error": f"line {number}: {exc}"}, status=403)
            except RecordError as exc:
                return web.json_response({"error": f"line {number}: {exc}"}, status=400)
        self.registry = registry
        self.log.extend(lines)
        self.seen.update(lines)
        if self.drop_after_commit:
            self.drop_after_commit -= 1
            assert request.transport is not None
            request.transport.close()  # committed, but the client never hears back
        return web.json_response({"accepted": len(lines)})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send_all(
    fake: FakePlatform, entries: list[bytes], registry_count: int, rejects: Path
) -> Poster:
    async def go() -> Poster:
        app = web.Application()
        app.router.add_post("/ingest", fake.ingest)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = _free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            with rejects.open("wb") as handle:
                async with Poster(
                    f"http://127.0.0.1:{port}",
                    concurrency=3,
                    rejects=handle,
                    initial_backoff=0.001,
                    max_backoff=0.01,
                ) as poster:
                    await poster.send(entries[:registry_count], barrier=True)
                    await poster.send(entries[registry_count:])
            return poster
        finally:
            await runner.cleanup()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("small")
    return _simulate(tmp, "--piles", "8", "--days", "0.5", "--seed", "2")


def _registry_count(run: Run) -> int:
    return next(i for i, r in enumerate(run.records) if r.type not in model_registry_types())


def model_registry_types() -> set[str]:
    return {"authority", "operator", "inspector", "station", "pile", "meter", "tariff"}


def test_poster_delivers_everything_through_failures(small: Run, tmp_path: Path) -> None:
    fake = FakePlatform()
    fake.fail_next = 3
    fake.drop_after_commit = 2
    poster = _send_all(fake, small.entries, _registry_count(small), tmp_path / "rejects")
    assert sorted(fake.log) == sorted(small.entries)
    assert len(fake.log) == len(set(fake.log))
    assert poster.stats.accepted == len(small.entries)
    assert poster.stats.retries >= 5 and poster.stats.rejected == 0


def test_poster_sets_aside_refused_and_known_entries(small: Run, tmp_path: Path) -> None:
    fake = FakePlatform()
    n = _registry_count(small)
    entries = list(small.entries)
    beat = next(e for e in entries[n:] if b'"t":"heartbeat"' in e)
    forged = beat.replace(b'"seq":', b'"seq":9', 1)  # still canonical, signature broken
    entries.insert(n + 7, forged)
    entries.insert(n + 9, entries[n + 1])  # an exact duplicate, refused with 409
    poster = _send_all(fake, entries, n, tmp_path / "rejects")
    assert sorted(fake.log) == sorted(small.entries)
    assert poster.stats.rejected == 1 and poster.stats.duplicates == 1
    assert (tmp_path / "rejects").read_bytes() == forged + b"\n"


def test_against_the_real_platform_including_a_restart(tmp_path: Path) -> None:
    """`simulate --platform` end to end, then a resend that starts while the platform is down."""
    platform = PlatformProcess(tmp_path / "platform")
    restarted = _RestartingSend(platform.url, tmp_path / "platform")
    try:
        argv = [
            "--platform",
            platform.url,
            "--piles",
            "6",
            "--days",
            "0.25",
            "--seed",
            "9",
            "--start",
            START,
            "--quiet",
            "--workers",
            "1",
            "--truth",
            str(tmp_path / "t.jsonl"),
            "--out",
            str(tmp_path / "a.ndjson"),
        ]
        assert cli.main(argv) == 0
        sent = (tmp_path / "a.ndjson").read_bytes().splitlines()
        assert json.loads(_get(platform.url + "/status"))["sequenced"] == len(sent)
        platform.stop()
        poster = restarted.run(sent)
        # all already in the log: the retried first request's 409 counts as accepted
        assert poster.stats.accepted + poster.stats.duplicates == len(sent)
        assert poster.stats.rejected == 0 and poster.stats.retries >= 1
        assert json.loads(_get(platform.url + "/status"))["sequenced"] == len(sent)
    finally:
        platform.stop()
        if restarted.platform is not None:
            restarted.platform.stop()


class _RestartingSend:
    """Starts sending while the platform is down, then brings it back on the same port."""

    def __init__(self, url: str, data: Path) -> None:
        self.url, self.data = url, data
        self.platform: PlatformProcess | None = None

    def run(self, entries: list[bytes]) -> Poster:
        async def go() -> Poster:
            async with Poster(self.url, initial_backoff=0.01, max_backoff=0.2) as poster:
                task = asyncio.create_task(poster.send(entries[:1], barrier=True))
                while poster.stats.retries == 0:
                    await asyncio.sleep(0)  # yield until the first attempt has failed
                port = self.url.rsplit(":", 1)[1]
                self.platform = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: PlatformProcess(self.data, "--port", port)
                )
                await task
                await poster.send(entries[1:], barrier=True)
            return poster

        return asyncio.run(go())


def _get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_default_rates_give_a_few_hundred_faults_per_city_month() -> None:
    fleet = model.build_fleet(5)
    rates = parse_rates([])
    month_sessions, month_meter_days = 28_000 * 30, len(fleet.meters) * 30
    expected = (
        sum(rates[n] for n in SESSION_FAULTS) * month_sessions
        + sum(rates[n] for n in METER_FAULTS) * month_meter_days
    )
    assert 150 < expected < 600


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["meter_error"], "NAME=RATE"),
        (["nope=0.1"], "unknown fault"),
        (["silent=x"], "not a number"),
        (["silent=2"], "within 0..1"),
        (["all=0.2"], "more than 1"),
    ],
)
def test_bad_fault_rates_are_named(specs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rates(specs)


def test_fault_rate_overrides_and_scale() -> None:
    rates = parse_rates(["all=0.01", "silent=0.5"], scale=3.0)
    assert rates["silent"] == 0.5 and rates["meter_error"] == 0.01
    assert parse_rates([], 2.0)["duplicate"] == 2 * DEFAULT_RATES["duplicate"]


def test_cli_refuses_nonsense(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--piles", "5"]) == 2
    assert "--platform" in capsys.readouterr().err
    assert cli.main(["--piles", "1", "--out", "x"]) == 2
    assert cli.main(["--piles", "5", "--out", "x", "--fault-rate", "bogus=1"]) == 2


# ---- issue 14's fault classes ----------------------------------------------------------------

ISSUE14_RATES = [f"{name}=0.03" for name in RECORD_FAULTS] + [
    f"{name}=0.25" for name in FEED_FAULTS
]


@pytest.fixture(scope="module")
def run14(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("fleet14")
    zero = [f"{name}=0" for name in (*SESSION_FAULTS, *METER_FAULTS)]
    rates = [arg for rate in zero + ISSUE14_RATES for arg in ("--fault-rate", rate)]
    return _simulate(tmp, "--piles", "40", "--days", "6", "--seed", "5", "--alg", "ed25519", *rates)


def test_issue14_faults_are_in_the_truth_and_show_in_the_records(run14: Run) -> None:
    kinds = collections.Counter(t["fault"] for t in run14.truth)
    assert set(kinds) >= set(RECORD_FAULTS) - {"session_burst", "energy_cap"} | set(FEED_FAULTS)
    sessions = {r.body["session_id"]: r.body for r in _by_type(run14, "session")}
    bills = collections.Counter(r.body["session_id"] for r in _by_type(run14, "billing"))
    piles = {r.body["pile_id"]: r.body for r in _by_type(run14, "pile")}
    leaves = {r.leaf_digest.hex(): r for r in run14.records}
    for t in run14.truth:
        cited = [leaves[h] for h in t["leaf_hashes"]]
        sids = t["session_ids"]
        if t["fault"] == "long_session":
            s = sessions[sids[0]]
            assert s["stop_ms"] - s["start_ms"] > 3 * 86_400_000
        elif t["fault"] == "register_mismatch":
            s = sessions[sids[0]]
            assert abs(s["stop_wh"] - s["start_wh"] - s["energy_wh"]) >= 50
        elif t["fault"] == "unbilled":
            assert bills[sids[0]] == 0
        elif t["fault"] == "bill_without_session":
            assert t["detail"]["ghost_session_id"] not in sessions
        elif t["fault"] == "double_billing":
            assert bills[sids[0]] == 2
        elif t["fault"] == "pile_mismatch":
            s = next(r.body for r in cited if r.type == "session")
            assert s["pile_id"] == t["detail"]["named_pile_id"] != t["pile_id"]
        elif t["fault"] == "rated_power_slip":
            assert piles[t["pile_id"]]["rated_power_w"] > 4_000_000  # the later record won
        elif t["fault"] == "late_delivery":
            # delivered after records of other meters that are later in time
            positions = [run14.records.index(r) for r in cited]
            later = [
                r
                for r in run14.records[: min(positions, default=0)]
                if r.type == "heartbeat" and r.body["ref_ms"] > t["detail"]["held_from_ms"]
            ]
            assert not cited or later
