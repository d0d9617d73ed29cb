"""Analysis facts: what the projection writes is what the event tables say, byte for byte,
and hour weights price a bill exactly like the samples do for on-the-hour tariffs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs
from sqlalchemy import text

from app.models.charging import facts
from app.models.store import Store
from ledger.fleet.tariff import ZHEJIANG_TOU, compute_charge
from tests.models.test_rules import HB_MS, T0, World

PRICES = {"valley": (3500, 4000), "peak": (9500, 6000), "sharp": (11_500, 6000)}
PERIODS = [
    {"start_min": a, "end_min": b, "energy_e4": PRICES[band][0], "service_e4": PRICES[band][1]}
    for band, a, b in ZHEJIANG_TOU
]


def _dump(store: Store) -> dict[str, list[tuple]]:
    with store.engine.connect() as conn:
        return {
            table: [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2, 3"))
            ]
            for table in ("session_facts", "billing_facts", "heartbeat_days")
        }


def test_rebuild_from_the_event_tables_equals_what_the_projection_wrote(store: Store) -> None:
    w = World()
    w.heartbeats(T0 - HB_MS, T0 + 30 * HB_MS)
    w.heartbeats(T0 - HB_MS, T0 + 30 * HB_MS, meter="M000002")
    w.session(T0, 60, 40_000)
    w.session(T0 + 3_600_000, 45, power=[-5, 0, 2**31 - 1, *range(42)])
    w.session(T0 + 86_400_000, 30, 7_000, meter="M000002")
    # Applied in three batches, so heartbeat days are appended to, not written once.
    n = len(w.entries)
    for a, b in ((0, n // 3), (n // 3, 2 * n // 3), (2 * n // 3, n)):
        w.apply(store, a, b)
    written = _dump(store)
    assert len(written["session_facts"]) == 3 and len(written["billing_facts"]) == 3
    hb_records = sum(len(row[-1]) for row in written["heartbeat_days"]) // facts._HEARTBEAT.size
    assert hb_records == 2 * 31
    with store.transaction() as conn:
        facts.rebuild(conn)
    assert _dump(store) == written


def test_read_back_gives_the_record_numbers(store: Store) -> None:
    w = World()
    w.heartbeat(T0 - HB_MS, 7_000)
    w.session(T0, 60, 40_000)
    w.apply(store)
    with store.engine.connect() as conn:
        s, weights, offsets = facts.read_sessions(conn, 0, facts.CODE_SPACE - 1)
        b = facts.read_billing(conn, 0, facts.CODE_SPACE - 1)
        h = facts.read_heartbeats(conn, 0, facts.CODE_SPACE - 1)
    assert s["start_ms"].tolist() == [T0] and s["energy_wh"].tolist() == [40_000]
    assert s["meter_no"].tolist() == [facts.code("M000001")]
    assert s["session_no"].tolist() == b["session_no"].tolist() == [facts.code("S0001")]
    assert s["profile_ws"].tolist() == [40_000 * 60 * 60]
    assert weights.sum() == 40_000 * 60 and offsets.tolist() == [0, len(weights)]
    assert h["offset_ms"].tolist() == [7_000] and h["ref_ms"].tolist() == [T0 - HB_MS]


@settings(max_examples=200, deadline=None)
@given(
    start_min=hs.integers(0, 10 * 1440),
    interval_s=hs.sampled_from([1, 15, 60, 300, 900, 3600, 5400]),
    power=hs.lists(hs.integers(-50_000, 400_000), max_size=300),
    energy=hs.integers(0, 500_000),
)
def test_hour_weights_price_like_the_samples(
    start_min: int, interval_s: int, power: list[int], energy: int
) -> None:
    """For on-the-hour tariffs, Σ_hour weight·price over the hour weights is the
    samples' Σ p·price, so the rescan's fen equal compute_charge's."""
    start_ms = 1_772_294_400_000 + start_min * 60_000 + 17_000
    weights = facts.hour_weights(start_ms, interval_s, power)
    if weights is None:  # beyond MAX_BINS hours: the rescan prices from the samples
        assert (len(power) - 1) * interval_s >= (facts.MAX_BINS - 1) * 3600
        return
    hour0 = ((start_ms + facts.CST_OFFSET_MS) % facts.DAY_MS) // facts.HOUR_MS
    minute_price = np.zeros(1440, np.int64)
    minute_service = np.zeros(1440, np.int64)
    for p in PERIODS:
        minute_price[p["start_min"] : p["end_min"]] = p["energy_e4"]
        minute_service[p["start_min"] : p["end_min"]] = p["service_e4"]
    w = sum(max(x, 0) for x in weights)
    num_e = sum(max(x, 0) * minute_price[(hour0 + j) % 24 * 60] for j, x in enumerate(weights))
    num_s = sum(max(x, 0) * minute_service[(hour0 + j) % 24 * 60] for j, x in enumerate(weights))
    if w == 0:
        minute = ((start_ms + facts.CST_OFFSET_MS) % facts.DAY_MS) // 60_000
        w, num_e, num_s = 1, minute_price[minute], minute_service[minute]
    den = w * 100_000
    expected = ((2 * energy * num_e + den) // (2 * den), (2 * energy * num_s + den) // (2 * den))
    assert expected == compute_charge(PERIODS, start_ms, interval_s, power, energy)
    assert sum(1 for x in weights if x >= 0) == len(
        {
            ((start_ms + facts.CST_OFFSET_MS) % facts.DAY_MS + i * interval_s * 1000) // 3_600_000
            for i in range(len(power))
        }
    )


def test_upgrading_an_older_store_builds_its_facts(store: Store) -> None:
    """A store synced before revision 0003 (no facts) rescans like a new one after the
    upgrade: the migration computes the facts from its event tables."""
    from alembic import command

    from app.models.charging import rules
    from app.models.migrations import alembic_config, upgrade_to_head

    w = World()
    w.heartbeats(T0 - HB_MS, T0 + 20 * HB_MS)
    w.session(T0, 60, 40_000, billed=41_000)
    w.session(T0 + 3 * 3_600_000, 30, 20_000, extra_fen=5)
    w.apply(store)
    written = _dump(store)
    expected = {(f.rule_id, f.evidence_key) for f in rules.full_rescan(store)}
    assert {r for r, _ in expected} >= {"R01", "R02"}
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "0002")
        conn.execute(text("DELETE FROM anomalies"))
    upgrade_to_head(store.engine)
    assert _dump(store) == written
    assert {(f.rule_id, f.evidence_key) for f in rules.full_rescan(store)} == expected
