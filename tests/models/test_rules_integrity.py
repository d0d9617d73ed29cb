"""Issue 14's rules on hand-made signed records: each fires on its case and stays quiet on
the near miss; later data closes what it disproves; the arrival order changes nothing.

Records are signed sample records (``tests.models.samples``), not the simulator's: the
point is data the simulator never made. Thresholds come from the rule text (QualiCharge's
published data rules as adapted in docs/rules.md), not from the code's constants.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from typing import Any

import pytest
from sqlalchemy import select, text

from app.models import alarms, analysis, findings, rule_policy, users
from app.models import store as st
from app.models.charging import rules
from app.models.projection import apply_records
from app.models.store import Store
from ledger.records import Record
from tests.models import samples
from tests.models.test_rules import HB_MS, MIN, T0, World, full, of_rule, sessions_hit

HOUR = 3_600_000
DAY = 24 * HOUR


def resend(w: World, sid: str, **changes: Any) -> int:
    """The session record ``sid`` again, with ``changes`` (signed by the meter)."""
    body = next(r.body for _, r in w.entries if r.type == "session" and r.body["session_id"] == sid)
    return w.add("session", **{**body, **changes})


def bill_of(w: World, sid: str) -> dict[str, Any]:
    return dict(
        next(r.body for _, r in w.entries if r.type == "billing" and r.body["session_id"] == sid)
    )


# ---- session plausibility --------------------------------------------------------------


def test_r15_session_longer_than_three_days(store: Store) -> None:
    w = World()
    near = w.session(T0, 60, 3_000, stop_ms=T0 + 3 * DAY)  # exactly 3 days: allowed
    long = w.session(T0 + 4 * DAY, 60, 3_000, stop_ms=T0 + 7 * DAY + 1)
    found = full(store, w)
    assert sessions_hit(found, "R15") == {long}
    assert near not in sessions_hit(found, "R15")


def test_r16_energy_cap_500_kwh(store: Store) -> None:
    w = World()  # 120 kW for 5 h may hold 660 kWh: R05 stays quiet
    at_cap = w.session(T0, 300, 100_000)  # 100 kW × 5 h = 500 kWh exactly
    over = w.session(T0 + DAY, 300, 100_000, energy=500_010)
    found = full(store, w)
    assert sessions_hit(found, "R16") == {over}
    assert at_cap not in sessions_hit(found, "R16")
    assert not of_rule(found, "R05")


def test_r17_energy_against_the_records_own_registers(store: Store) -> None:
    w = World()
    sid = w.session(T0, 60, 40_000)
    body = next(r.body for _, r in w.entries if r.type == "session" and r.body["session_id"] == sid)
    w.add(
        "session",
        **{**body, "session_id": "S-step", "start_ms": T0 + DAY, "stop_ms": T0 + DAY + HOUR}
        | {"start_wh": body["stop_wh"], "stop_wh": body["stop_wh"] + body["energy_wh"] + 10},
    )
    w.add(
        "session",
        **{**body, "session_id": "S-off", "start_ms": T0 + 2 * DAY, "stop_ms": T0 + 2 * DAY + HOUR}
        | {
            "start_wh": body["stop_wh"] * 2,
            "stop_wh": body["stop_wh"] * 2 + body["energy_wh"] - 11,
        },
    )
    found = full(store, w)
    assert sessions_hit(found, "R17") == {"S-off"}
    hit = of_rule(found, "R17")[0]
    assert hit.severity == "high" and hit.detail["register_delta_wh"] == body["energy_wh"] - 11


def test_r18_more_than_50_sessions_on_a_connector_in_a_local_day(store: Store) -> None:
    w = World()
    # M000001: 51 short sessions between 06:15 and 19:00 local on one day → the 51st reports.
    sids = [w.session(T0 + k * 15 * MIN, 5, 20_000) for k in range(51)]
    # M000002: 50 the same day, then one just after local midnight (another day).
    midnight = (T0 + 8 * HOUR) // DAY * DAY + DAY - 8 * HOUR  # 00:00 local, next day
    for k in range(50):
        w.session(T0 + k * 15 * MIN, 5, 7_000, meter="M000002")
    w.session(midnight + MIN, 5, 7_000, meter="M000002")
    found = full(store, w)
    hits = of_rule(found, "R18")
    assert [(f.meter_id, f.detail["session_id"], f.detail["sessions"]) for f in hits] == [
        ("M000001", sids[50], 51)
    ]


def test_r19_implausible_rating_keeps_the_over_power_rule(store: Store) -> None:
    w = World()
    w.add("pile", rated_power_w=120_000_000)  # 120 kW entered as 120 MW
    w.session(T0, 60, 132_000)  # 120 kW × 1.1 × 1 h: the limit, fine
    over = w.session(T0 + 2 * HOUR, 60, 132_100)
    found = full(store, w)
    assert [f.detail["rated_power_w"] for f in of_rule(found, "R19")] == [120_000_000]
    assert sessions_hit(found, "R05") == {over}
    assert of_rule(found, "R05")[0].detail["rated_power_w"] == 120_000


@pytest.mark.parametrize("rated", [1_300, 4_000_000])
def test_r19_bounds_are_plausible(store: Store, rated: int) -> None:
    w = World()
    w.add("pile", rated_power_w=rated)
    assert not of_rule(full(store, w), "R19")


# ---- bills and identity ------------------------------------------------------------------


def test_r20_bill_without_session_and_r22_two_bills(store: Store) -> None:
    w = World()
    sid = w.session(T0, 60, 40_000)
    once = w.session(T0 + 2 * HOUR, 60, 40_000)
    ghost = w.add("billing", **{**bill_of(w, sid), "session_id": "S-ghost"})
    again = w.add("billing", **{**bill_of(w, sid), "amount_fen": bill_of(w, sid)["amount_fen"] + 1})
    found = full(store, w)
    assert [f.evidence for f in of_rule(found, "R20")] == [(ghost,)]
    r22 = of_rule(found, "R22")
    assert [(f.detail["session_id"], f.evidence[-1]) for f in r22] == [(sid, again)]
    assert once not in {f.detail["session_id"] for f in r22}


def test_r21_session_never_billed_after_a_day_of_the_meters_data(store: Store) -> None:
    w = World()
    late = w.session(T0, 60, 40_000, bill=False)
    recent = w.session(T0 + 2 * DAY, 60, 40_000, bill=False)
    # M000001's heartbeats run to 1 day + 15 min past the first stop, and only 23 h past the
    # second: the first is overdue, the second not yet.
    w.heartbeats(T0, T0 + HOUR + DAY + 2 * HB_MS)
    w.heartbeats(T0 + 2 * DAY, T0 + 2 * DAY + HOUR + 23 * HOUR)
    found = full(store, w)
    assert sessions_hit(found, "R21") == {late}
    assert recent not in sessions_hit(found, "R21")


def test_r23_bill_from_an_operator_who_does_not_own_the_pile(store: Store) -> None:
    w = World()
    sid = w.session(T0, 60, 40_000)
    other = w.session(T0 + 2 * HOUR, 60, 40_000, bill=False)
    foreign = w.add("billing", **{**bill_of(w, sid), "session_id": other, "operator_id": "OP002"})
    found = full(store, w)
    assert [f.evidence for f in of_rule(found, "R23")] == [(foreign,)]
    assert of_rule(found, "R23")[0].detail["pile_operator_id"] == "OP001"


def test_r24_session_id_resent_with_other_values(store: Store) -> None:
    w = World()
    changed = w.session(T0, 60, 40_000)
    twin = w.session(T0 + 2 * HOUR, 60, 40_000)
    resend(w, changed, energy_wh=40_001, stop_wh=1_040_001)
    resend(w, twin)  # the same values again: a signature twin, not this rule's
    found = full(store, w)
    hits = of_rule(found, "R24")
    assert [(f.detail["session_id"], f.detail["differs"]) for f in hits] == [
        (changed, ["stop_wh", "energy_wh"])
    ]


def test_r25_session_naming_another_pile_counts_on_the_meters_pile(store: Store) -> None:
    w = World()
    w.add("pile", pile_id="P000002", rated_power_w=480_000)  # a bigger pile to hide behind
    fine = w.session(T0, 60, 40_000)
    sid = w.session(T0 + 2 * HOUR, 60, 132_100)  # over P000001's 120 kW
    at = next(i for i, r in w.entries if r.type == "session" and r.body["session_id"] == sid)
    w.entries[at] = (
        at,
        samples.signed("session", **{**w.entries[at][1].body, "pile_id": "P000002"}),
    )
    w.session(T0 + 4 * HOUR, 60, 40_000)  # the register chain goes on through it
    found = full(store, w)
    assert sessions_hit(found, "R25") == {sid}
    assert of_rule(found, "R25")[0].detail["named_pile_id"] == "P000002"
    r05 = of_rule(found, "R05")
    assert [(f.detail["session_id"], f.pile_id) for f in r05] == [(sid, "P000001")]
    assert not of_rule(found, "R03") and not of_rule(found, "R04")
    assert fine not in sessions_hit(found, "R25")


# ---- heartbeats --------------------------------------------------------------------------


def test_r26_heartbeat_counter_or_register_backwards(store: Store) -> None:
    w = World()
    ok = [w.add("heartbeat", seq=10 + k, ref_ms=T0 + k * HB_MS, meter_ms=T0 + k * HB_MS,
                register_wh=1_000_000 + k) for k in range(3)]  # fmt: skip
    seq_back = w.add("heartbeat", seq=11, ref_ms=T0 + 3 * HB_MS, meter_ms=T0 + 3 * HB_MS,
                     register_wh=1_000_003)  # fmt: skip
    reg_back = w.add("heartbeat", seq=20, ref_ms=T0 + 4 * HB_MS, meter_ms=T0 + 4 * HB_MS,
                     register_wh=1_000_002)  # fmt: skip
    w.add("heartbeat", seq=21, ref_ms=T0 + 5 * HB_MS, meter_ms=T0 + 5 * HB_MS,
          register_wh=1_000_002)  # equal register, next seq: fine  # fmt: skip
    found = of_rule(full(store, w), "R26")
    assert [(f.evidence, f.detail["kind"], f.severity) for f in found] == [
        ((ok[2], seq_back), "seq", "warning"),
        ((seq_back, reg_back), "register", "high"),
    ]


def test_r27_heartbeats_withheld_while_sessions_continue(store: Store) -> None:
    w = World()
    last = w.heartbeat(T0)
    w.session(T0 + 2 * DAY + HOUR, 30, 30_000)  # M000001 charges on, 2 days after
    w.heartbeat(T0, meter="M000002")
    w.session(T0 + 2 * DAY - HOUR, 30, 7_000, meter="M000002")  # within 2 days: not yet
    found = of_rule(full(store, w), "R27")
    assert [(f.meter_id, f.evidence, f.severity) for f in found] == [("M000001", (last,), "high")]


# ---- late data closes, arrival order does not matter ------------------------------------


def _analyse(store: Store, w: World, a: int, b: int) -> None:
    with store.transaction() as conn:
        summary = apply_records(conn, w.entries[a:b])
        analysis.analyse_batch(conn, summary)


def _open(store: Store) -> list[rules.Finding]:
    with store.engine.connect() as conn:
        return rules.open_findings(conn)


def test_back_filled_session_closes_the_register_gap_and_its_alarm(store: Store) -> None:
    w = World()
    w.session(T0, 60, 40_000)
    w.session(T0 + 2 * HOUR, 60, 40_000)  # held back by its gateway, delivered last
    w.session(T0 + 4 * HOUR, 60, 40_000)
    held = w.entries[-4:-2]
    rest = [e for e in w.entries if e not in held]
    w.entries = [(i, r) for i, (_, r) in enumerate(rest + held)]
    n = len(w.entries)
    _analyse(store, w, 0, n - 2)
    gap = [f for f in _open(store) if f.rule_id == "R04"]
    assert len(gap) == 1 and gap[0].severity == "high"  # 40 kWh unaccounted: an alarm
    with store.engine.connect() as conn:
        assert [a.rule_id for a in alarms.list_open(conn)] == ["R04"]
        alarm_id = alarms.list_open(conn)[0].id
    _analyse(store, w, n - 2, n)
    assert not [f for f in _open(store) if f.rule_id == "R04"]
    with store.engine.connect() as conn:
        row = conn.execute(
            select(st.anomalies.c.closed_entry).where(st.anomalies.c.rule_id == "R04")
        ).one()
        assert row.closed_entry == n - 2  # the back-filled session's entry
        audit = conn.execute(
            text("SELECT \"user\" FROM audit_log WHERE action = 'anomaly.closed'")
        ).all()
        assert [a[0] for a in audit] == [findings.RULES_ACTOR]
        assert not alarms.list_open(conn)
        assert alarms.history(conn, alarm_id)[-1]["user"] == findings.RULES_ACTOR
    assert rules.full_rescan(store) == []  # the rescan agrees: nothing to add, none reopen


def test_back_filled_heartbeats_close_a_silence(store: Store) -> None:
    w = World()
    w.heartbeats(T0, T0 + 4 * HB_MS)
    held = (w.heartbeat(T0 + 4 * HB_MS), w.heartbeat(T0 + 5 * HB_MS))
    w.heartbeats(T0 + 6 * HB_MS, T0 + 10 * HB_MS)
    order = [e for e in w.entries if e[0] not in held] + [e for e in w.entries if e[0] in held]
    w.entries = [(i, r) for i, (_, r) in enumerate(order)]
    n = len(w.entries)
    _analyse(store, w, 0, n - 2)
    assert [f.detail["kind"] for f in _open(store) if f.rule_id == "R10"] == ["silent"]
    _analyse(store, w, n - 2, n)
    assert not [f for f in _open(store) if f.rule_id == "R10"]
    assert rules.full_rescan(store) == []


def _identity(record: Record) -> str:
    return hashlib.sha256(record.to_bytes()).hexdigest()[:16]


def _content(store: Store, w: World) -> set[tuple[Any, ...]]:
    """Open findings named by the records they cite, not by entry index (which the arrival
    order changes)."""
    record_of = dict(w.entries)
    return {
        (f.rule_id, f.meter_id, f.pile_id, f.at_ms, f.severity, *sorted(map(_identity, cited)))
        for f in _open(store)
        for cited in [[record_of[e] for e in f.evidence]]
    }


def faulty_world() -> World:
    """Many of issue 14's faults among healthy traffic on two meters over four days."""
    w = World()
    t = T0
    for k in range(12):
        kw: dict[str, Any] = {}
        if k == 2:
            kw = {"start_wh": w.register["M000001"] + 25_000}  # a 25 kWh gap
        if k == 4:
            kw = {"bill": False}
        w.session(t, 60, 40_000, **kw)
        w.session(t + 30 * MIN, 90, 7_000, meter="M000002")
        if k == 6:
            w.add("billing", **{**bill_of(w, f"S{w.count - 1:04d}"), "session_id": "S-ghost"})
        if k == 8:
            resend(w, f"S{w.count - 1:04d}", energy_wh=1)
        t += 8 * HOUR
    w.heartbeats(T0 - HB_MS, T0 + 20 * HOUR)
    w.heartbeats(T0 + 30 * HOUR, t)  # a 10-hour silence
    w.heartbeats(T0 - HB_MS, t, meter="M000002")
    w.add("heartbeat", seq=1, ref_ms=t + HB_MS, meter_ms=t + HB_MS, register_wh=0)
    return w


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Any:
    with Store.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as opened:
        yield opened


def _permuted(w: World, seed: int) -> World:
    """The same records in another arrival order: registry first (the platform needs it),
    then traffic shuffled in blocks, some held back and delivered last (back-fills)."""
    rnd = random.Random(seed)
    registry, traffic = w.entries[:8], [r for _, r in w.entries[8:]]
    rnd.shuffle(traffic)
    held = [r for r in traffic if rnd.random() < 0.15]
    traffic = [r for r in traffic if not any(r is h for h in held)] + held
    out = World.__new__(World)
    out.entries = registry + [(8 + i, r) for i, r in enumerate(traffic)]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_arrival_order_permutations_give_the_same_findings(
    tmp_path: Any, sqlite_store: Store, seed: int
) -> None:
    w = faulty_world()
    with Store.open(f"sqlite:///{tmp_path / 'ordered.sqlite'}") as ordered:
        ordered_found = full(ordered, w)
        expected = _content(ordered, w)
    assert {f.rule_id for f in ordered_found} >= {"R04", "R10", "R20", "R21", "R24", "R26"}
    p = _permuted(w, seed)
    n = len(p.entries)
    cuts = sorted({0, n, *random.Random(seed).sample(range(1, n), 6)})
    for a, b in itertools.pairwise(cuts):
        _analyse(sqlite_store, p, a, b)
    assert _content(sqlite_store, p) == expected  # the sync path, batch by batch
    closed: list[rules.Closure] = []
    assert rules.full_rescan(sqlite_store, closed=closed) == []  # the rescan adds nothing ...
    assert closed == []  # ... and closes nothing the sync left open
    assert _content(sqlite_store, p) == expected


# ---- the severity policy -----------------------------------------------------------------


def _session(role: str) -> users.Session:
    return users.Session(1, f"{role}-1", role, role)


def test_policy_is_a_regulators_decision_and_changes_which_findings_alarm(store: Store) -> None:
    w = World()
    w.session(T0, 60, 3_000, stop_ms=T0 + 4 * DAY)  # R15: a warning, no alarm by default
    with store.transaction() as conn:
        for role in ("inspector", "administrator"):
            with pytest.raises(users.PermissionDenied):
                rule_policy.set_opens_alarm(conn, _session(role), "R15", True)
        with pytest.raises(users.PermissionDenied):
            rule_policy.set_opens_alarm(conn, None, "R15", True)
        with pytest.raises(rule_policy.PolicyError):
            rule_policy.set_opens_alarm(conn, _session("regulator"), "R99", True)
        rule_policy.set_opens_alarm(conn, _session("regulator"), "R15", True)
        rule_policy.set_opens_alarm(conn, _session("regulator"), "R14", False)
        assert rule_policy.load(conn) == {"R15": True, "R14": False}
    _analyse(store, w, 0, len(w.entries))
    with store.engine.connect() as conn:
        assert [a.rule_id for a in alarms.list_open(conn)] == ["R15"]
        who = conn.execute(text("SELECT \"user\" FROM audit_log WHERE action = 'rules.policy'"))
        assert {r[0] for r in who} == {"regulator-1"}


def test_data_withheld_and_overlaps_open_alarms_by_default() -> None:
    policy: dict[str, bool] = {}
    for rule_id in ("R27", "R07"):
        assert rule_policy.opens_alarm(rule_id, rules.CATALOGUE[rule_id].severity, policy)
    assert not rule_policy.opens_alarm("R15", rules.CATALOGUE["R15"].severity, policy)


def test_r18_on_the_sync_path_counts_whole_days(sqlite_store: Store) -> None:
    """Batches that cut a day in two still count the day whole (and name the same 51st)."""
    w = World()
    sids = [w.session(T0 + k * 15 * MIN, 5, 20_000) for k in range(51)]
    n = len(w.entries)
    for a, b in ((0, n - 30), (n - 30, n - 1), (n - 1, n)):
        _analyse(sqlite_store, w, a, b)
    hits = [f for f in _open(sqlite_store) if f.rule_id == "R18"]
    assert [f.detail["session_id"] for f in hits] == [sids[50]]


def test_the_rescan_closes_what_it_does_not_derive_and_reopens_what_it_does(
    sqlite_store: Store,
) -> None:
    w = World()
    w.session(T0, 60, 40_000)
    gap = w.session(T0 + 2 * HOUR, 60, 40_000, start_wh=1_040_000 + 5_000)
    stored = of_rule(full(sqlite_store, w), "R04")
    assert [f.detail["session_id"] for f in stored] == [gap]
    bogus = rules.Finding("R15", "P000001", "M000001", T0, "warning", (9,), {"session_id": "x"})
    with sqlite_store.transaction() as conn:
        rules.insert_findings(conn, [bogus])
        rules.close_findings(conn, [(stored[0], 9, "test: closed by hand")])
    closed: list[rules.Closure] = []
    again = rules.full_rescan(sqlite_store, closed=closed)
    assert [(f.rule_id, f.anomaly_id) for f in again] == [("R04", stored[0].anomaly_id)]
    assert [(c.rule_id, c.reason) for c in closed] == [("R15", "not derived by a full rescan")]
    with sqlite_store.engine.connect() as conn:
        actions = [
            r[0]
            for r in conn.execute(
                text("SELECT action FROM audit_log WHERE \"user\" = 'rules' ORDER BY id")
            )
        ]
    assert actions == ["anomaly.closed", "anomaly.reopened", "anomaly.closed"]
    assert {f.rule_id for f in _open(sqlite_store)} == {"R04"}
