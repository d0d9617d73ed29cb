"""The fuel fleet simulator (ledger/fuel/fleet*.py): reproducible, verifiable, and honest
about its faults.

The checks below are written from the rule texts (F01–F10 in docs/rules.md and the fuel
brief), not from the simulator's code: a small reference checker finds every violation of
each invariant in a log, and the tests demand that a clean fleet has none and that a
faulty fleet's violations are exactly where its truth file says, each truth entry
showing at least one.
"""

from __future__ import annotations

import bisect
import itertools
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from ledger.fleet.generate import DAY_MS, HOUR_MS
from ledger.fuel import fleet as fm
from ledger.fuel.faults import FAULTS, FaultSpecError, FoundRow, Truth, parse_spec, score
from ledger.fuel.fleet_cli import simulate
from ledger.fuel.fleet_sign import ALG, FuelSigner
from ledger.fuel.fleet_traffic import Traffic, preset_volume, round_half_up_fen
from ledger.records import OWNED_TYPES, Record, RecordError
from ledger.registry import KeyRegistry, Owners, SignerRuleError, UnknownKeyError

ROOT = Path(__file__).resolve().parents[2]
START = 1_772_294_400_000 - 8 * HOUR_MS  # 2026-03-01 00:00 local (UTC+8)
Bodies = dict[str, list[dict[str, Any]]]


def _traffic(stations: int, days: float, seed: int, faults: str, **kw: Any) -> Traffic:
    fleet = fm.build_fleet(seed, stations, START)
    signer = FuelSigner(seed)
    return Traffic(
        fleet,
        start_ms=START,
        days=days,
        public_key=signer.public_key,
        enc_key_text="x25519:" + "A" * 43 + "=",
        faults=parse_spec(faults),
        **kw,
    )


def _bodies(traffic: Traffic) -> tuple[Bodies, list[Truth]]:
    drafts, truth = traffic.run()
    out: Bodies = defaultdict(list)
    for d in drafts:
        out[d.rtype].append(d.body)
    return out, truth


@pytest.fixture(scope="module")
def clean() -> Bodies:
    bodies, truth = _bodies(_traffic(4, 2, 11, "none", verifications_per_year=120))
    assert truth == []
    return bodies


@pytest.fixture(scope="module")
def faulty() -> tuple[Bodies, list[Truth]]:
    return _bodies(_traffic(10, 2, 12, "all=2"))


# ---- a reference checker, one function per rule text -----------------------------------


def _by_nozzle(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    out: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[(r["dispenser_id"], r["nozzle"])].append(r)
    return out


def violations(b: Bodies) -> dict[str, list[tuple[str, Any, int]]]:
    """rule -> [(dispenser or tank ID, nozzle or None, time)] of every broken invariant."""
    v: dict[str, list[tuple[str, Any, int]]] = defaultdict(list)
    fuellings = _by_nozzle(b["fuelling"])
    for key, rows in fuellings.items():
        rows.sort(key=lambda r: r["start_ms"])
        for prev, cur in itertools.pairwise(rows):
            if cur["total_before_ml"] != prev["total_after_ml"]:
                v["F06"].append((*key, cur["start_ms"]))
        for r in rows:
            if r["total_after_ml"] - r["total_before_ml"] != r["volume_ml"]:
                v["F06"].append((*key, r["start_ms"]))
            if abs(r["amount_fen"] - round_half_up_fen(r["volume_ml"], r["price_fen_l"])) > 1:
                v["F03"].append((*key, r["start_ms"]))
    for key, reads in _by_nozzle(b["totalizer"]).items():
        reads.sort(key=lambda r: r["at_ms"])
        stops = sorted((f["stop_ms"], f["volume_ml"], f["amount_fen"]) for f in fuellings[key])
        times = [s for s, _v, _a in stops]
        for r1, r2 in itertools.pairwise(reads):
            if r2["volume_total_ml"] < r1["volume_total_ml"]:
                v["F06"].append((*key, r2["at_ms"]))
            lo = bisect.bisect_right(times, r1["at_ms"])
            hi = bisect.bisect_right(times, r2["at_ms"])
            sold = sum(x[1] for x in stops[lo:hi])
            if abs(r2["volume_total_ml"] - r1["volume_total_ml"] - sold) > 10:
                v["F01"].append((*key, r2["at_ms"]))
            d_vol = r2["volume_total_ml"] - r1["volume_total_ml"]
            d_tax = r2["tax_volume_total_ml"] - r1["tax_volume_total_ml"]
            d_amt = r2["amount_total_fen"] - r1["amount_total_fen"]
            d_taxamt = r2["tax_amount_total_fen"] - r1["tax_amount_total_fen"]
            if abs(d_vol - d_tax) > 10 or abs(d_amt - d_taxamt) > 1:
                v["F02"].append((*key, r2["at_ms"]))
    sales = {s["fuelling_id"]: s for s in b["fuel_sale"]}
    ids = set()
    for r in b["fuelling"]:
        ids.add(r["fuelling_id"])
        s = sales.get(r["fuelling_id"])
        if s is None or any(s[k] != r[k] for k in ("volume_ml", "amount_fen", "price_fen_l")):
            v["F04"].append((r["dispenser_id"], r["nozzle"], r["start_ms"]))
    for s in b["fuel_sale"]:
        if s["fuelling_id"] not in ids:
            v["F04"].append((s["dispenser_id"], s["nozzle"], s["at_ms"]))
    posted: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for p in b["fuel_price"]:
        posted[(p["station_id"], p["product"])].append((p["valid_from_ms"], p["price_fen_l"]))
    for rows in posted.values():
        rows.sort()
    for r in b["fuelling"]:
        board = posted[(r["station_id"], r["product"])]
        k = bisect.bisect_right(board, (r["start_ms"], 10**9)) - 1
        if k < 0 or board[k][1] != r["price_fen_l"]:
            v["F05"].append((r["dispenser_id"], r["nozzle"], r["start_ms"]))
    inits = {
        (i["dispenser_id"], i["component"], i["new_id"]): i["at_ms"] for i in b["component_init"]
    }
    for c in b["component"]:
        at = inits.get((c["dispenser_id"], c["component"], c["new_id"]))
        if at is None or at > c["at_ms"] + 7 * DAY_MS:
            v["F07"].append((c["dispenser_id"], None, c["at_ms"]))
    verified = defaultdict(list)
    for r in b["fuel_verification"]:
        verified[r["dispenser_id"]].append(r["at_ms"])
    seals = sorted(b["fuel_seal"], key=lambda s: s["at_ms"])
    for s in seals:
        if s["event"] == "tamper":
            v["F08"].append((s["dispenser_id"], None, s["at_ms"]))
        elif s["event"] == "opened":
            closes = [
                c["at_ms"]
                for c in seals
                if c["dispenser_id"] == s["dispenser_id"]
                and c["position"] == s["position"]
                and c["event"] == "closed"
                and c["at_ms"] > s["at_ms"]
            ]
            until = min(closes, default=s["at_ms"] + DAY_MS)
            if not any(s["at_ms"] <= t <= until for t in verified[s["dispenser_id"]]):
                v["F08"].append((s["dispenser_id"], None, s["at_ms"]))
    v["F09"] = _wet_stock(b)
    v["F10"] = _round_amounts(b)
    return v


def _wet_stock(b: Bodies) -> list[tuple[str, Any, int]]:
    """Per tank and local day: opening + deliveries − sales − closing within
    max(0.5 % of the day's sales, 50 L)."""
    tank_of = {}
    for d in b["dispenser"]:
        for n in d["nozzles"]:
            tank_of[(d["dispenser_id"], n["nozzle"])] = n["tank_id"]
    level = {(r["tank_id"], r["at_ms"]): r["volume_ml"] for r in b["tank_level"]}
    out = []
    for tank in {r["tank_id"] for r in b["tank_level"]}:
        days = sorted(t for (k, t) in level if k == tank and t == fm.local_midnight(t))
        for d0, d1 in itertools.pairwise(days):
            sold = sum(
                f["volume_ml"]
                for f in b["fuelling"]
                if tank_of[(f["dispenser_id"], f["nozzle"])] == tank and d0 < f["stop_ms"] <= d1
            )
            delivered = sum(
                x["volume_ml"]
                for x in b["tank_delivery"]
                if x["tank_id"] == tank and d0 < x["at_ms"] <= d1
            )
            gap = level[(tank, d0)] + delivered - sold - level[(tank, d1)]
            if abs(gap) > max(sold // 200, 50_000):
                out.append((tank, None, d0))
    return out


def _round_amounts(b: Bodies) -> list[tuple[str, Any, int]]:
    """A dispenser's local day where ≥ 30 % of ≥ 10 fuellings end in [¥N·100 − ¥1, ¥N·100)."""
    days: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for f in b["fuelling"]:
        cell = days[(f["dispenser_id"], fm.local_midnight(f["start_ms"]))]
        cell[0] += 1
        cell[1] += f["amount_fen"] % 10_000 >= 9_900
    return [(d, None, day) for (d, day), (n, hit) in days.items() if n >= 10 and hit >= 0.3 * n]


def _covers(t: Truth, rule: str, where: tuple[str, Any, int]) -> bool:
    ident, nozzle, at = where
    if rule == "F09":
        return t.tank_id == ident and t.from_ms <= at < t.to_ms
    if ident != t.dispenser_id:
        return False
    if t.nozzle is not None and nozzle is not None and nozzle != t.nozzle:
        return False
    slack = 2 * HOUR_MS if rule in ("F01", "F02", "F06") else 0
    if rule == "F06" and t.detail.get("kind") == "backwards":
        slack = 2 * DAY_MS  # the next readings sit below the old ones
    if rule == "F10":
        return t.from_ms <= at < t.to_ms
    return t.from_ms - slack <= at <= t.to_ms + slack


# ---- tests -----------------------------------------------------------------------------


def test_fleet_shape_follows_the_brief() -> None:
    fleet = fm.build_fleet(3, 40, START)
    assert len(fleet.stations) == 40
    districts = {d.name_zh: d for d in fm.geo.load_districts()}
    for st in fleet.stations:
        assert districts[st.district].contains(st.lon_e6 / 1e6, st.lat_e6 / 1e6)
        assert 3 <= len(st.tanks) <= 4 and {"92", "95", "0"} <= {t.product for t in st.tanks}
        assert 4 <= len(st.dispensers) <= 12
        for d in st.dispensers:
            assert 2 <= len(d.nozzles) <= 4
            tanks = {t.tank_id: t.product for t in st.tanks}
            assert all(tanks[n.tank_id] == n.product for n in d.nozzles)


def test_prices_stay_in_the_published_range_and_change_at_midnight(clean: Bodies) -> None:
    traffic = _traffic(3, 60, 4, "none")  # the schedule only: nothing is simulated
    changes = [t for t, _p in traffic.schedule[1:]]
    assert len(changes) >= 4, "60 days hold at least four adjustment dates (every 14 days)"
    assert all(t == fm.local_midnight(t) for t in changes)
    assert all(b - a == 14 * DAY_MS for a, b in itertools.pairwise(changes))
    for t, prices in traffic.schedule:
        assert 750 <= prices["92"] <= 810
        assert prices["0"] < prices["92"] < prices["95"] < prices["98"]
        for st in traffic.fleet.stations:
            assert 0 <= prices["92"] - traffic.price_at(st, "92", t) <= 15
    for p in clean["fuel_price"]:  # posted before they are valid
        assert p["at_ms"] >= p["valid_from_ms"] or p["valid_from_ms"] - p["at_ms"] <= 3 * HOUR_MS


def test_preset_fuellings_stop_at_the_first_step_reaching_the_preset() -> None:
    for price in (731, 777, 785, 802, 859):
        for preset in (10_000, 20_000, 30_000):
            v = preset_volume(preset, price)
            assert v % 10 == 0
            assert round_half_up_fen(v, price) >= preset > round_half_up_fen(v - 10, price)


def test_faults_spec() -> None:
    assert parse_spec("none") == dict.fromkeys(FAULTS, 0)
    assert parse_spec("all=2,seal=0")["seal"] == 0
    assert parse_spec("all=2,seal=0")["price"] == 2
    for bad in ("nosuch=1", "seal=x", "seal=-1"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    one = simulate(2, 0.25, 7, parse_spec("all"), START)
    two = simulate(2, 0.25, 7, parse_spec("all"), START)
    other = simulate(2, 0.25, 8, parse_spec("all"), START)
    assert one[1] == two[1] and [t.to_json() for t in one[2]] == [t.to_json() for t in two[2]]
    assert one[1] != other[1]


def test_every_entry_parses_and_verifies_against_the_registry_in_log_order() -> None:
    types, entries, _truth, _ = simulate(
        2, 1, 21, parse_spec("all"), START, verifications_per_year=300
    )
    assert {"fuel_verification", "fuel_seal", "component", "fuelling", "tank_level"} <= set(types)
    registry, owners = KeyRegistry(), Owners()
    modules = set()
    operators: list[str] = []
    for entry in entries:
        record = Record.parse(entry)
        assert record.to_bytes() == entry  # canonical: the one byte form
        registry.check(record)
        if record.type in OWNED_TYPES:
            owners.check(record.type, record.body, by_authority=record.key_id in registry.authority)
            owners.apply(record.type, record.body)
        if record.type == "fuelling":
            modules.add(record.alg)
        if record.type == "operator":
            operators.append(record.body["operator_id"])
    assert modules == {ALG}
    # the wrong signer: a fuelling signed by the operator, a sale by a module
    fuelling = next(Record.parse(e) for e in entries if b'"t":"fuelling"' in e)
    sale = next(Record.parse(e) for e in entries if b'"t":"fuel_sale"' in e)
    signer = FuelSigner(21)
    forged = signer.record(
        "fuelling", dict(fuelling.body), fm.operator_label(sale.body["operator_id"])
    )
    with pytest.raises(UnknownKeyError):
        registry.check(forged)
    module = signer.record(
        "fuel_sale", dict(sale.body), fm.dispenser_label(sale.body["dispenser_id"])
    )
    with pytest.raises(RecordError):
        registry.check(module)
    # another operator signing a sale at this operator's dispenser
    other = next(o for o in operators if o != sale.body["operator_id"])
    with pytest.raises(SignerRuleError):
        owners.check("fuel_sale", {**sale.body, "operator_id": other}, by_authority=False)


def test_clean_fleet_keeps_every_invariant_the_rules_rely_on(clean: Bodies) -> None:
    assert len(clean["fuelling"]) > 500 and clean["tank_delivery"]
    assert clean["fuel_verification"], "verifications open and close seals in a clean fleet too"
    found = violations(clean)
    assert {rule: hits for rule, hits in found.items() if hits} == {}
    assert len(clean["fuel_sale"]) == len(clean["fuelling"])


def test_the_module_sends_a_fuelling_before_any_reading_that_counts_it(clean: Bodies) -> None:
    """The monitoring module numbers its records in the order it sends them: a totalizer
    reading (or seal event) never counts a fuelling the module had not yet sent."""
    fuellings = _by_nozzle(clean["fuelling"])
    for key, reads in _by_nozzle(clean["totalizer"]).items():
        rows = fuellings[key]
        for r in reads:
            for f in rows:
                assert (f["stop_ms"] <= r["at_ms"]) == (f["seq"] < r["seq"]), (f, r)
    module = [
        (b["dispenser_id"], b["seq"])
        for t in ("fuelling", "totalizer", "fuel_seal")
        for b in clean[t]
    ]
    assert len(module) == len(set(module)), "one counter per module, never repeated"


def test_clean_fleet_has_a_daily_rush_hour_profile(clean: Bodies) -> None:
    by_hour = [0] * 24
    for f in clean["fuelling"]:
        by_hour[((f["start_ms"] + fm.CST_OFFSET_MS) // HOUR_MS) % 24] += 1
    assert by_hour[8] > 4 * by_hour[3] and by_hour[17] > 4 * by_hour[2]


def test_each_fault_breaks_its_invariant_and_nothing_else_does(
    faulty: tuple[Bodies, list[Truth]],
) -> None:
    bodies, truth = faulty
    assert {t.fault for t in truth} == set(FAULTS)
    found = violations(bodies)
    for t in truth:
        for rule in t.rules:
            assert any(_covers(t, rule, w) for w in found[rule]), (t.to_json(), rule)
    for rule, hits in found.items():
        for where in hits:
            assert any(
                rule in t.rules or rule == "F09" for t in truth if _covers(t, rule, where)
            ), (
                rule,
                where,
            )


def test_cli_writes_entries_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "ledger", "fuel-fleet", "--stations", "1", "--days", "0.1",
         "--seed", "3", "--faults", "seal", "--start", "2026-03-01", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (out / "entries.ndjson").read_bytes().splitlines()
    assert Record.parse(lines[0]).type == "authority"
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text().splitlines()]
    assert [t["fault"] for t in truth] == ["seal"] and truth[0]["rules"] == ["F08"]
    bad = subprocess.run(
        [sys.executable, "-m", "ledger", "fuel-fleet", "--faults", "bogus", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown fault class" in bad.stderr


# ---- the bench's scoring (ledger.fuel.faults.score), on hand-made findings ------------------


def test_scoring_matches_findings_to_truth_by_instrument_rule_and_time() -> None:
    day = fm.local_midnight(START + DAY_MS)
    truth = [
        {"fault": "price", "rules": ["F05"], "dispenser_id": "FD1", "nozzle": 2,
         "from_ms": day + 9 * HOUR_MS, "to_ms": day + 14 * HOUR_MS},
        {"fault": "cheat_board", "rules": ["F09"], "dispenser_id": "FD7", "tank_id": "FS3-T1",
         "from_ms": day, "to_ms": day + DAY_MS},
        {"fault": "cheat_board", "rules": [], "dispenser_id": "FD7", "tank_id": "FS3-T2",
         "from_ms": day, "to_ms": day + DAY_MS},
        {"fault": "seal", "rules": ["F08"], "dispenser_id": "FD9",
         "from_ms": day + HOUR_MS, "to_ms": day + HOUR_MS},
        {"fault": "component_swap", "rules": ["F07"], "dispenser_id": "FD4",
         "from_ms": day, "to_ms": day + 7 * DAY_MS},  # not observable in a 3-day run
    ]  # fmt: skip
    end = day + 2 * DAY_MS
    rows = [
        FoundRow("F05", "FD1", "FD1#2", day + 10 * HOUR_MS),  # right
        FoundRow("F05", "FD1", "FD1#3", day + 10 * HOUR_MS),  # other nozzle: wrong
        FoundRow("F03", "FD1", "FD1#2", day + 10 * HOUR_MS),  # price claims F03 (amount variant)
        FoundRow("F09", "FS3", "FS3-T1", day),  # right
        FoundRow("F09", "FS3", "FS3-T2", day),  # small cheat, still right, not required
        FoundRow("F08", "FD9", "FD9", day + HOUR_MS + 1_000),  # right
        FoundRow("F08", "FD9", "FD9", day + 5 * HOUR_MS),  # hours later: wrong
        FoundRow("F08", "FD8", "FD8", day + HOUR_MS),  # another dispenser: wrong
    ]
    precision, recall = score(rows, truth, end)
    assert precision == {"F05": (1, 2), "F03": (1, 1), "F09": (2, 2), "F08": (1, 3)}
    assert recall == {
        ("price", "F05"): (1, 1),
        ("cheat_board", "F09"): (1, 1),
        ("seal", "F08"): (1, 1),
    }
    assert score([], truth, end)[1][("seal", "F08")] == (0, 1)
    assert score(rows, truth, day + 9 * DAY_MS)[1][("component_swap", "F07")] == (0, 1)


def test_post_to_the_real_platform_accepts_every_entry_and_a_resend_is_all_known(
    tmp_path: Path,
) -> None:
    """`fuel-fleet --post` against `python -m ledger serve`: the platform checks every
    signer and owner rule (strict) and takes all; the same run again is all duplicates."""
    from tests.world import PlatformProcess, get

    platform = PlatformProcess(tmp_path / "platform")
    try:
        argv = [sys.executable, "-m", "ledger", "fuel-fleet", "--stations", "1", "--days", "0.1",
                "--seed", "9", "--faults", "seal,component_swap", "--start", "2026-03-01",
                "--post", platform.url]  # fmt: skip
        first = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stderr.rsplit("fuel-fleet: ", 1)[1])
        assert summary["accepted"] == summary["entries"] and summary["refused"] == 0
        status = json.loads(get(platform.url + "/status"))
        assert status["sequenced"] == summary["entries"]
        again = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        resent = json.loads(again.stderr.rsplit("fuel-fleet: ", 1)[1])
        assert resent["already_in_log"] == summary["entries"] and resent["refused"] == 0
    finally:
        platform.stop()
