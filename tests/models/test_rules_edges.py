"""Odd data the ledger can hold: the rescan over the facts and the SQL rules still agree,
nothing overflows into a false finding, and nothing stops the projection (found in a
review of the facts path; each case once failed)."""

from __future__ import annotations

from sqlalchemy import delete, text

from app.models import findings
from app.models import store as st
from app.models.charging import rules
from app.models.projection import apply_records
from app.models.store import Store
from tests.models.test_rules import HB_MS, MIN, T0, World

Key = tuple[str, str, str]


def _keys(found: list[rules.Finding]) -> set[Key]:
    return {(f.rule_id, f.evidence_key, f.severity) for f in found}


def rescan_and_sql(store: Store, w: World) -> tuple[set[Key], set[Key]]:
    """(full rescan over the facts, rules.scan over every meter the store names)."""
    w.apply(store)
    rescanned = _keys(rules.full_rescan(store))
    with store.engine.connect() as conn:
        meters = sorted(
            r[0]
            for r in conn.execute(
                text("SELECT meter_id FROM meters UNION SELECT meter_id FROM heartbeats")
            )
        )
        return rescanned, _keys(rules.scan(conn, meters))


def test_times_before_1970(store: Store) -> None:
    w = World()
    w.heartbeat(-5 * HB_MS, register=1_000_000)  # before the session: the same register
    w.session(-4 * HB_MS, 10, 30_000, start_wh=1_000_000, bill=False)
    w.heartbeat(-1 * HB_MS, register=1_005_000)  # after it
    rescanned, by_sql = rescan_and_sql(store, w)
    assert rescanned == by_sql
    assert not {k for k in rescanned if k[0] in ("R03", "R04")}


def test_times_after_2109(store: Store) -> None:
    far = 1 << 42  # 2109-05-15: where (meter, time) keys used to run out of bits
    w = World()
    w.heartbeat(far + 1 * HB_MS, register=1_000_000)
    w.session(far + 2 * HB_MS, 10, 30_000, start_wh=1_000_000, bill=False)
    w.heartbeat(far + 5 * HB_MS, register=1_005_000)
    rescanned, by_sql = rescan_and_sql(store, w)
    assert rescanned == by_sql
    assert not {k for k in rescanned if k[0] in ("R03", "R04")}


def test_an_overlap_is_found_whatever_another_meters_stop_time(store: Store) -> None:
    w = World()
    w.add("meter", meter_id="M000003", connector=1, accuracy_class="1")
    w.register["M000003"], w.spans["M000003"] = 0, []
    w.session(T0, 30, 7_000, meter="M000002", stop_ms=(1 << 42) + 2 * 10**12, bill=False)
    w.session(T0, 60, 7_000, meter="M000003", bill=False)
    w.session(T0 + 30 * MIN, 60, 7_000, meter="M000003", bill=False)  # overlaps: R07
    rescanned, by_sql = rescan_and_sql(store, w)
    r07 = {k for k in rescanned if k[0] == "R07"}
    assert len(r07) == 1 and r07 == {k for k in by_sql if k[0] == "R07"}


def test_heartbeats_at_equal_times_break_ties_by_log_order(store: Store) -> None:
    """A repeated heartbeat (equal ref_ms), logged out of time order: PostgreSQL's window
    sort is not stable, so both paths order ties by entry index."""
    w = World()
    for k in range(6):
        t = T0 + (6 - k) * HB_MS
        w.heartbeat(t, 0)
        w.heartbeat(t, 6_000)
    rescanned, by_sql = rescan_and_sql(store, w)
    assert rescanned == by_sql
    assert {k[0] for k in rescanned} >= {"R09"}


def test_a_huge_profile_integral_does_not_stop_the_projection(store: Store) -> None:
    """Σ p · interval beyond int64 (a signed, valid record: interval of 68 years, 2.1 GW
    samples) is saturated in the facts, and the SQL rules saturate it the same way."""
    w = World()
    w.add(
        "session",
        session_id="S-huge",
        meter_id="M000001",
        pile_id="P000001",
        start_ms=T0,
        stop_ms=T0 + MIN,
        start_wh=1_000_000,
        stop_wh=1_000_010,
        energy_wh=10,
        interval_s=2**31 - 1,
        power_w=[2**31 - 1] * 3,
    )
    rescanned, by_sql = rescan_and_sql(store, w)
    assert rescanned == by_sql and "R14" in {k[0] for k in rescanned}


def test_r14_for_a_profile_that_integrates_to_zero(store: Store) -> None:
    """5 kWh with an all-zero power channel: R14, with no error percentage (it is
    unbounded, and PostgreSQL's JSONB refuses Infinity)."""
    w = World()
    w.session(T0, 60, power=[0] * 60, energy=5_000)
    w.apply(store)
    (hit,) = [f for f in rules.full_rescan(store) if f.rule_id == "R14"]
    assert hit.detail["error_pct"] is None and hit.detail["energy_wh"] == 5_000


def test_saturated_power_samples_price_exactly(store: Store) -> None:
    """40 kWh at 2^31 - 1 W a sample (as stored), priced exactly: Σ p·price times the
    energy is beyond int64, and must not wrap into a false R02."""
    w = World()
    w.session(T0, 60, power=[2**31 - 1] * 60, energy=40_000)
    rescanned, by_sql = rescan_and_sql(store, w)
    assert rescanned == by_sql
    assert "R02" not in {k[0] for k in rescanned}


def test_a_bill_starting_after_its_session_is_checked_incrementally(store: Store) -> None:
    """A bill logged in a later batch, its start 1 s after the session's (the operator's
    clock): the incremental window reaches back to the session, as the rescan does."""
    w = World()
    sid = w.session(T0, 60, 40_000, bill=False)
    n = len(w.entries)
    w.add(
        "billing",
        session_id=sid,
        billed_wh=45_000,
        energy_fen=4000,
        service_fen=2400,
        amount_fen=6400,
        start_ms=T0 + 1_000,
        stop_ms=T0 + 60 * MIN,
    )
    for a, b in ((0, n), (n, len(w.entries))):
        with store.transaction() as conn:
            rules.run_incremental(conn, apply_records(conn, w.entries[a:b]))
    with store.engine.connect() as conn:
        incremental = {(f.rule_id, f.evidence_key) for f in findings.stored_findings(conn)}
    with store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    rescanned = {(f.rule_id, f.evidence_key) for f in rules.full_rescan(store)}
    assert "R01" in {r for r, _ in rescanned}
    assert incremental == rescanned
