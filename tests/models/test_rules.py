"""The anomaly rules: each trips on its fault and stays quiet on the near miss, on both backends.

Records are real signed records (``tests.models.samples``) applied with ``apply_records``,
so the rules see exactly what a sync would store. Bills are priced with the simulator's
``compute_charge``: R02 must agree with it to the fen, or every healthy bill would trip.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import delete

from app.models import findings
from app.models import store as st
from app.models.charging import rules
from app.models.projection import BatchSummary, apply_records
from app.models.store import Store
from ledger.fleet.tariff import compute_charge
from ledger.keys import SigningKey
from ledger.records import Record
from tests.models import samples

T0 = 1_700_000_100_000  # 06:15 local (UTC+8): valley until 08:00, then the day price
MIN = 60_000
HB_MS = 900_000
PERIODS = samples.BODIES["tariff"]["periods"]
OTHER_KEY = SigningKey.from_seed("p256", b"meter, re-keyed").public_key.text


class World:
    """A growing log: the sample registry plus sessions, bills, heartbeats, seals, ..."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, Record]] = [
            (i, samples.signed(t)) for i, t in enumerate(samples.ORDER[:7])
        ]
        self.add("meter", meter_id="M000002", connector=2, accuracy_class="2")
        self.register = {"M000001": 1_000_000, "M000002": 500_000}
        self.spans: dict[str, list[tuple[int, int, int, int]]] = {m: [] for m in self.register}
        self.count = 0

    def add(self, rtype: str, **body: Any) -> int:
        index = len(self.entries)
        self.entries.append((index, samples.signed(rtype, **body)))
        return index

    def session(
        self,
        start_ms: int,
        minutes: int,
        power_w: int = 40_000,
        *,
        meter: str = "M000001",
        energy: int | None = None,
        start_wh: int | None = None,
        billed: int | None = None,
        extra_fen: int = 0,
        sid: str | None = None,
        power: Sequence[int] | None = None,
        stop_ms: int | None = None,
        bill: bool = True,
    ) -> str:
        """A session (and its bill, priced exactly unless told otherwise); returns its ID."""
        self.count += 1
        sid = sid or f"S{self.count:04d}"
        power = list(power) if power is not None else [power_w] * minutes
        if energy is None:
            energy = round(sum(power) * 60 / 3600)
        if start_wh is None:
            start_wh = self.register[meter]
        stop_ms = start_ms + minutes * MIN if stop_ms is None else stop_ms
        self.register[meter] = start_wh + energy
        self.spans[meter].append((start_ms, stop_ms, start_wh, start_wh + energy))
        self.add(
            "session",
            session_id=sid,
            meter_id=meter,
            connector=2 if meter == "M000002" else 1,
            start_ms=start_ms,
            stop_ms=stop_ms,
            start_wh=start_wh,
            stop_wh=start_wh + energy,
            energy_wh=energy,
            interval_s=60,
            power_w=power,
        )
        if bill:
            billed = energy if billed is None else billed
            e_fen, s_fen = compute_charge(PERIODS, start_ms, 60, power, billed)
            self.add(
                "billing",
                session_id=sid,
                billed_wh=billed,
                energy_fen=e_fen,
                service_fen=s_fen,
                amount_fen=e_fen + s_fen + extra_fen,
                start_ms=start_ms,
                stop_ms=stop_ms,
            )
        return sid

    def heartbeat(
        self, ref_ms: int, offset_ms: int = 300, *, meter: str = "M000001", register: int = -1
    ) -> int:
        return self.add(
            "heartbeat",
            meter_id=meter,
            seq=len(self.entries),
            ref_ms=ref_ms,
            meter_ms=ref_ms + offset_ms,
            register_wh=self.register_at(meter, ref_ms) if register < 0 else register,
        )

    def register_at(self, meter: str, t_ms: int) -> int:
        """The register a heartbeat at ``t_ms`` shows: the last session started by then."""
        started = [span for span in self.spans[meter] if span[0] <= t_ms]
        if not started:
            return self.spans[meter][0][2] if self.spans[meter] else self.register[meter]
        _start, stop_ms, start_wh, stop_wh = max(started)
        return stop_wh if t_ms >= stop_ms else start_wh

    def heartbeats(self, t0: int, t1: int, *, meter: str = "M000001") -> None:
        for t in range(t0, t1, HB_MS):
            self.heartbeat(t, meter=meter)

    def apply(self, store: Store, start: int = 0, stop: int | None = None) -> BatchSummary:
        with store.transaction() as conn:
            return apply_records(conn, self.entries[start:stop])


def full(store: Store, world: World, **kwargs: Any) -> list[rules.Finding]:
    world.apply(store)
    return rules.full_rescan(store, **kwargs)


def sessions_hit(findings: Sequence[rules.Finding], rule_id: str) -> set[str]:
    return {str(f.detail.get("session_id")) for f in findings if f.rule_id == rule_id}


def of_rule(findings: Sequence[rules.Finding], rule_id: str) -> list[rules.Finding]:
    return [f for f in findings if f.rule_id == rule_id]


def stored_keys(store: Store) -> set[tuple[str, str]]:
    with store.engine.connect() as conn:
        return {(f.rule_id, f.evidence_key) for f in findings.stored_findings(conn)}


# ---- catalogue -----------------------------------------------------------------------


def test_catalogue_is_numbered_and_bilingual() -> None:
    assert [r for r in rules.CATALOGUE if r[0] == "R"] == [f"R{i:02d}" for i in range(1, 28)]
    for rule in rules.CATALOGUE.values():
        assert rule.severity in findings.SEVERITIES
        assert rule.title_zh and rule.title_en and rule.explain_zh and rule.explain_en
    assert "计量误差" in rules.CATALOGUE["R01"].title_zh
    assert "电子铅封" in rules.CATALOGUE["R11"].title_zh
    assert "时钟偏差" in rules.CATALOGUE["R09"].title_zh
    assert "多收费" in rules.CATALOGUE["R02"].title_zh
    assert not rules.CATALOGUE["R13"].in_engine  # signatures: the sync's alarm L1


# ---- session and billing rules ---------------------------------------------------------


def test_healthy_traffic_finds_nothing(store: Store) -> None:
    w = World()
    t = T0
    for k in range(6):  # crosses the 08:00 ToU boundary, both meters, heartbeats
        w.session(t, 45 + k * 7, 30_000 + k * 5_000)
        w.session(t + 5 * MIN, 120, 7_000, meter="M000002")
        t += 3 * 3_600_000
    w.heartbeats(T0 - HB_MS, t)
    w.heartbeats(T0 - HB_MS, t, meter="M000002")
    assert full(store, w) == []


def test_r01_billed_vs_metered_within_class(store: Store) -> None:
    w = World()
    ok = w.session(T0, 60, 40_000, billed=40_360)  # class 1, +0.9 %
    bad = w.session(T0 + 2 * 3_600_000, 60, 40_000, billed=40_480)  # +1.2 %
    under = w.session(T0 + 4 * 3_600_000, 60, 40_000, billed=39_500)  # -1.25 %
    c2_ok = w.session(T0, 60, 6_000, meter="M000002", billed=6_000 + 130)  # class 2: +2.17 % ok
    c2_bad = w.session(T0 + 3_600_000, 60, 6_000, meter="M000002", billed=6_000 + 140)
    found = full(store, w)
    assert sessions_hit(found, "R01") == {bad, under, c2_bad}
    assert ok not in sessions_hit(found, "R01") and c2_ok not in sessions_hit(found, "R01")
    severities = {f.detail["session_id"]: f.severity for f in of_rule(found, "R01")}
    assert severities[bad] == "high" and severities[under] == "warning"
    hit = next(f for f in of_rule(found, "R01") if f.detail["session_id"] == bad)
    assert len(hit.evidence) == 2 and hit.detail["difference_wh"] == 480


def test_r02_amount_against_the_tou_tariff(store: Store) -> None:
    w = World()
    # 06:15 → 09:15 local: the profile splits across the valley and the day price.
    profile = [20_000 + 300 * i for i in range(180)]
    exact = w.session(T0, 180, power=profile)
    step = w.session(T0 + 4 * 3_600_000, 60, 33_333, extra_fen=1)  # one pay step: allowed
    over = w.session(T0 + 6 * 3_600_000, 60, 33_333, extra_fen=2)
    inflated = w.session(T0 + 8 * 3_600_000, 60, 50_000, billed=50_250)  # +0.5 %: R01 quiet
    found = full(store, w)
    assert sessions_hit(found, "R02") == {over, inflated}
    assert exact not in sessions_hit(found, "R02") and step not in sessions_hit(found, "R02")
    assert inflated not in sessions_hit(found, "R01")
    hit = next(f for f in of_rule(found, "R02") if f.detail["session_id"] == over)
    assert hit.detail["over_fen"] == 2 and len(hit.evidence) == 3  # session, bill, tariff


def test_r02_tariffs_off_the_hour_and_long_profiles_are_priced_from_samples(
    store: Store,
) -> None:
    """The rescan prices from hour weights only where that is exact; a tariff changing
    price at 07:30 and a 50-hour profile go to the samples, and all three agree with the
    simulator's compute_charge and with the incremental rules."""
    w = World()
    half_hour = [
        {"start_min": 0, "end_min": 450, "energy_e4": 3500, "service_e4": 4000},
        {"start_min": 450, "end_min": 1440, "energy_e4": 9500, "service_e4": 6000},
    ]
    w.add("tariff", tariff_id="T2", periods=half_hour)
    hits = set()
    for k, extra in enumerate((0, 2)):  # 06:45 → 08:15 local: crosses 07:30
        start = T0 + 30 * MIN + k * 24 * 3_600_000
        power = [30_000 + 200 * i for i in range(90)]
        sid = w.session(start, 90, power=power, bill=False)
        energy = round(sum(power) * 60 / 3600)
        e_fen, s_fen = compute_charge(half_hour, start, 60, power, energy)
        w.add(
            "billing",
            session_id=sid,
            tariff_id="T2",
            billed_wh=energy,
            energy_fen=e_fen,
            service_fen=s_fen,
            amount_fen=e_fen + s_fen + extra,
            start_ms=start,
            stop_ms=start + 90 * MIN,
        )
        if extra:
            hits.add(sid)
    long_power = [7_000 + (i % 97) for i in range(50 * 60)]  # 50 h: beyond the hour weights
    w.session(T0 + 3 * 24 * 3_600_000, 50 * 60, power=long_power)
    hits.add(w.session(T0 + 6 * 24 * 3_600_000, 50 * 60, power=long_power, extra_fen=2))
    found = full(store, w)
    assert sessions_hit(found, "R02") == hits
    rescanned = stored_keys(store)
    with store.transaction() as conn:
        conn.execute(delete(st.anomalies))
        rules.run_incremental(conn, _everything(w))
    assert stored_keys(store) == rescanned


def _everything(w: World) -> BatchSummary:
    summary = BatchSummary()
    summary.meter_ids = set(w.register)
    summary.first_index, summary.last_index = 0, len(w.entries) - 1
    summary.counts["session"] = 1
    return summary


def test_r03_r04_register_continuity(store: Store) -> None:
    w = World()
    w.session(T0, 30)
    back = w.session(T0 + 3_600_000, 30, start_wh=w.register["M000001"] - 1)
    w.session(T0 + 2 * 3_600_000, 30, start_wh=w.register["M000001"] + 10)  # one step: ok
    gap = w.session(T0 + 3 * 3_600_000, 30, start_wh=w.register["M000001"] + 11)
    w.session(T0 + 4 * 3_600_000, 30)  # continues from the jumped register: fine
    found = full(store, w)
    assert sessions_hit(found, "R03") == {back}
    assert sessions_hit(found, "R04") == {gap}
    assert of_rule(found, "R04")[0].detail["unaccounted_wh"] == 11


@pytest.mark.parametrize(("jump", "rule_id"), [(11, "R04"), (-1, "R03")])
def test_r03_r04_first_session_against_the_heartbeat_register(
    store: Store, jump: int, rule_id: str
) -> None:
    w = World()
    w.heartbeat(T0 - HB_MS)  # M000001 shows 1,000,000 Wh; M000002 500,000 Wh
    w.heartbeat(T0 - HB_MS, meter="M000002")
    bad = w.session(T0, 30, start_wh=1_000_000 + jump)  # no previous session: ask the heartbeat
    w.session(T0, 30, meter="M000002", start_wh=500_010)  # one register step: fine
    found = full(store, w)
    assert sessions_hit(found, rule_id) == {bad}
    assert not of_rule(found, "R03" if rule_id == "R04" else "R04")
    assert of_rule(found, rule_id)[0].detail["compared_with"] == "heartbeat"


def test_r05_r06_impossible_energy(store: Store) -> None:
    w = World()  # pile: 120 kW, so 60 min may hold at most 132 kWh
    w.session(T0, 60, 132_000)
    over = w.session(T0 + 2 * 3_600_000, 60, 132_100)
    zero = w.session(T0 + 4 * 3_600_000, 0, power=[], energy=5_000)
    w.session(T0 + 5 * 3_600_000, 0, power=[], energy=0)
    found = full(store, w)
    assert sessions_hit(found, "R05") == {over}
    assert sessions_hit(found, "R06") == {zero}


def test_r07_overlap_and_r08_duplicate(store: Store) -> None:
    w = World()
    first = w.session(T0, 60)
    w.session(T0 + 60 * MIN, 30)  # starts exactly at the previous stop: no overlap
    lap = w.session(T0 + 80 * MIN, 30)  # starts inside the previous one
    orig = w.session(T0 + 5 * 3_600_000, 40)
    body = dict(w.entries[-2][1].body)
    dup = "S-dup"
    w.add("session", **{**body, "session_id": dup})
    near = dict(body, session_id="S-near", energy_wh=body["energy_wh"] + 1)
    near["stop_wh"] = near["start_wh"] + near["energy_wh"]
    w.add("session", **near)
    found = full(store, w)
    assert lap in sessions_hit(found, "R07") and first not in sessions_hit(found, "R07")
    r08 = of_rule(found, "R08")
    assert [(f.detail["original_session_id"], f.detail["session_id"]) for f in r08] == [(orig, dup)]
    assert "S-near" in sessions_hit(found, "R07")  # not a duplicate, but it overlaps
    assert dup not in sessions_hit(found, "R07") | sessions_hit(found, "R03")


def test_r14_energy_against_the_power_profile(store: Store) -> None:
    w = World()
    w.session(T0, 60, 40_000, energy=40_360, billed=40_360)  # class 1: +0.9 %
    bad = w.session(T0 + 2 * 3_600_000, 60, 40_000, energy=40_480, billed=40_480)
    found = full(store, w)
    assert sessions_hit(found, "R14") == {bad}
    assert of_rule(found, "R14")[0].detail["error_pct"] == pytest.approx(1.2)


# ---- meter rules -----------------------------------------------------------------------


def test_r09_clock_offset_levels(store: Store) -> None:
    w = World()
    offsets = [4_900, 0, 5_100, 6_000, 181_000, 179_000, 0, -6_000]
    idx = [w.heartbeat(T0 + k * HB_MS, off) for k, off in enumerate(offsets)]
    found = of_rule(full(store, w), "R09")
    assert [(f.evidence, f.severity) for f in found] == [
        ((idx[2],), "warning"),
        ((idx[4],), "high"),
        ((idx[7],), "warning"),
    ]


def test_r10_silent_meter_and_frozen_register(store: Store) -> None:
    w = World()
    w.heartbeat(T0)
    last_ok = w.heartbeat(T0 + 2 * HB_MS)  # a gap of exactly 2 intervals: fine
    before_gap = w.heartbeat(T0 + 4 * HB_MS)
    w.heartbeat(T0 + 6 * HB_MS + 1_000)  # 2 intervals + 1 s: silent
    # M000002 stops early: silent up to the newest data time in the store.
    trailing = w.heartbeat(T0 + 3 * HB_MS, meter="M000002")
    w.heartbeat(T0 + 7 * HB_MS)
    # Frozen: a billed session between two heartbeats that show the same register.
    reg = w.register["M000001"]
    frozen = w.session(T0 + 7 * HB_MS + MIN, 10, 30_000)
    w.heartbeat(T0 + 8 * HB_MS, register=reg)
    found = of_rule(full(store, w), "R10")
    silent = {f.evidence for f in found if f.detail["kind"] == "silent"}
    assert silent == {(before_gap,), (trailing,)}
    assert (last_ok,) not in silent
    assert [f.detail["session_id"] for f in found if f.detail["kind"] == "register_frozen"] == [
        frozen
    ]


def test_r11_seal_open_unless_an_inspector_closed_it(store: Store) -> None:
    w = World()
    lone = w.add("seal", seq=1, event="opened", at_ms=T0)
    w.add("seal", seq=2, event="closed", at_ms=T0 + 10 * MIN)  # the meter itself: not enough
    later = w.add("seal", seq=3, event="opened", at_ms=T0 + 30 * MIN)
    # An inspector re-seals the pile: both earlier openings were authorised.
    w.add("verification", verification_id="V2", at_ms=T0 + 40 * MIN, seal_closed=True)
    after = w.add("seal", seq=1, event="opened", at_ms=T0 + 50 * MIN, meter_id="M000002")
    w.add("verification", at_ms=T0 + 60 * MIN, meter_id="M000002", seal_closed=False)
    found = of_rule(full(store, w), "R11")
    assert [f.evidence for f in found] == [(after,)]
    assert lone not in found[0].evidence and later not in found[0].evidence
    assert found[0].severity == "critical"


def test_r11_open_seal_without_verification(store: Store) -> None:
    w = World()
    opened = w.add("seal", seq=1, event="opened", at_ms=T0)
    w.add("seal", seq=2, event="closed", at_ms=T0 + 10 * MIN)
    found = of_rule(full(store, w), "R11")
    assert [f.evidence for f in found] == [(opened,)]
    assert found[0].detail["meter_closed_at_ms"] == T0 + 10 * MIN


def test_r12_key_change_without_verification(store: Store) -> None:
    w = World()
    first_key = 5  # the sample meter record's index
    rekey = w.add("meter", key=OTHER_KEY, at_ms=T0)
    w.add("verification", at_ms=T0 + MIN)
    w.add("meter", at_ms=T0 + 2 * MIN)  # back to the first key, after a verification: fine
    found = of_rule(full(store, w), "R12")
    assert [f.evidence for f in found] == [(first_key, rekey)]


# ---- engine properties -----------------------------------------------------------------


def _emit_ms(record: Record) -> int:
    """When a source would send the record: log order follows it, as on the platform."""
    body = record.body
    if record.type == "session":
        return int(body["stop_ms"]) + 1_000
    if record.type == "billing":
        return int(body["stop_ms"]) + 20_000
    return int(body.get("ref_ms", body.get("at_ms", 0)))


def mixed_world() -> World:
    """Every rule's fault among healthy traffic on two meters, over two days, in the order
    a platform would log it (by emission time)."""
    w = World()
    t = T0
    for k in range(16):
        kw: dict[str, Any] = {}
        if k == 3:
            kw = {"billed": 41_000}
        elif k == 5:
            kw = {"extra_fen": 50}
        elif k == 7:
            kw = {"start_wh": w.register["M000001"] - 500}
        elif k == 9:
            kw = {"start_wh": w.register["M000001"] + 900}
        elif k == 11:
            kw = {"energy": 41_000}
        w.session(t + 10 * MIN, 60, 40_000, **kw)
        if k == 12:
            w.session(t + 40 * MIN, 30, 40_000)  # overlaps the previous one
        if k == 14:
            body = dict(w.entries[-2][1].body)
            w.add("session", **{**body, "session_id": "S-dup"})
        w.session(t + 20 * MIN, 90, 7_000, meter="M000002")
        if k == 8:
            w.add("seal", seq=k, event="opened", at_ms=t + 5 * MIN)
        if k == 13:
            w.add("meter", key=OTHER_KEY, at_ms=t)
        t += 3 * 3_600_000
    w.heartbeats(T0 - HB_MS, t - 6 * 3_600_000)  # then M000001 falls silent
    w.heartbeats(T0 - HB_MS, t, meter="M000002")
    w.heartbeat(T0 + 20 * 3_600_000 + 1, 9_000)  # a clock offset
    registry, traffic = w.entries[:8], [r for _, r in w.entries[8:]]
    traffic.sort(key=_emit_ms)
    w.entries = registry + [(8 + i, r) for i, r in enumerate(traffic)]
    return w


def test_incremental_equals_full_rescan_and_rescans_are_idempotent(store: Store) -> None:
    w = mixed_world()
    n = len(w.entries)
    cuts = [0, 9, n // 3, n // 3 + 1, 2 * n // 3, n]
    incremental: list[rules.Finding] = []
    for a, b in itertools.pairwise(cuts):
        with store.transaction() as conn:
            summary = apply_records(conn, w.entries[a:b])
            incremental += rules.run_incremental(conn, summary)
    inc_keys = stored_keys(store)
    assert {(f.rule_id, f.evidence_key) for f in incremental} == inc_keys
    assert {k[0] for k in inc_keys} >= {"R01", "R02", "R03", "R04", "R07", "R08", "R09"}
    assert {k[0] for k in inc_keys} >= {"R10", "R11", "R12", "R14"}
    assert rules.full_rescan(store) == []  # nothing new: incremental found it all
    with store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    full_new = rules.full_rescan(store)
    assert {(f.rule_id, f.evidence_key) for f in full_new} == inc_keys
    assert rules.full_rescan(store) == []  # idempotent
    # Many small chunks (most of them empty) find exactly the same.
    with store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    chunked = rules.full_rescan(store, chunks=64)
    assert {(f.rule_id, f.evidence_key) for f in chunked} == inc_keys
    assert all(f.anomaly_id is not None for f in chunked)
    # ... and so do two worker processes.
    with store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    parallel = rules.full_rescan(store, chunks=5, workers=2)
    assert {(f.rule_id, f.evidence_key) for f in parallel} == inc_keys


def test_rescan_cli_stores_findings_and_opens_alarms(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.models import alarms, rules_cli

    w = World()
    w.session(T0, 60, 40_000, billed=41_000)
    w.apply(store)
    url = store.engine.url.render_as_string(hide_password=False)
    assert rules_cli.main(["--db", url]) == 0
    out = capsys.readouterr().out
    assert "R01" in out and "R02" in out and "2 alarms opened" in out
    assert rules_cli.main(["--db", url]) == 0
    assert "0 new findings" in capsys.readouterr().out
    with store.engine.connect() as conn:
        assert {a.rule_id for a in alarms.list_open(conn)} == {"R01", "R02"}


def test_rescan_equals_the_sql_rules_on_a_simulated_fleet(store: Store) -> None:
    """A simulated fleet with every fault kind, heavily injected: the facts-based rescan
    and the SQL rules of the incremental path find exactly the same."""
    from ledger import pii
    from ledger.fleet import faults as fleet_faults
    from ledger.fleet import model
    from ledger.fleet.generate import DAY_MS, Simulation
    from ledger.fleet.signing import enc_private_key

    start_ms = 1_772_294_400_000
    sim = Simulation(
        model.build_fleet(5, 40, start_ms),
        start_ms=start_ms,
        heartbeat_s=3600,
        rates=fleet_faults.parse_rates([], 400.0),
        public_key=lambda label: samples.METER.public_key.text,
    )
    drafts = sim.registry(pii.enc_key_text(enc_private_key(5).public_key()))
    kinds: set[str] = set()
    for day in range(1, 5):
        emitted, injected = sim.advance(start_ms + day * DAY_MS)
        drafts += emitted
        kinds |= {f.fault for f in injected}
    # Unsigned (the sync, not the rules, checks signatures), and without the PII to seal.
    entries = [
        (
            i,
            Record(
                d.rtype, {k: v for k, v in d.body.items() if k != "pii"}, "ed25519", "0" * 16, b""
            ),
        )
        for i, d in enumerate(drafts)
    ]
    for a in range(0, len(entries), 5000):
        with store.transaction() as conn:
            apply_records(conn, entries[a : a + 5000])
    assert len(kinds) >= 10
    rescanned = {(f.rule_id, f.evidence_key, f.severity) for f in rules.full_rescan(store)}
    with store.engine.connect() as conn:
        meters = [
            r[0] for r in conn.execute(st.meters.select().with_only_columns(st.meters.c.meter_id))
        ]
        by_sql = {(f.rule_id, f.evidence_key, f.severity) for f in rules.scan(conn, meters)}
    assert len({r for r, _, _ in rescanned}) >= 10
    assert rescanned == by_sql
