"""Anomaly-rule benchmark: detection quality against the fleet simulator's ground truth,
and full-rescan speed extrapolated to a year of Hangzhou (10.1 M sessions).

Run from the repository root: ``.venv/bin/python bench/anomaly_bench.py``
(``--piles 300 --days 7`` for a quick run; ``--races 1000`` adds the alarm dispatch race
on an embedded PostgreSQL).

How: the fleet simulator's generator (``ledger.fleet.generate.Simulation``, the code behind
``python -m ledger simulate --out``) is run in-process for ``--days`` with faults scaled
by ``--fault-scale``. Signing is skipped — the bench measures detection, and the sync,
not the rules, checks signatures — so records carry a dummy signature. They are applied
to a fresh SQLite store with ``apply_records`` in 50k-entry batches, then ``full_rescan``
runs and its findings are matched to the injected faults:

* a finding matches a fault when its evidence cites one of the fault's records (the
  truth file's leaf hashes are exactly these entries), or — for ``silent``, whose
  evidence is an absence — when it names the same meter and its silence starts within
  the fault's silent period (give or take two heartbeat intervals);
* precision of rule R = matched findings of R / findings of R (a finding of R matches a
  fault only if R is among the rules expected to catch that fault kind);
* recall of fault kind F by rule R = faults of F matched by a finding of R / faults of F.

The simulation is cut at ``--days`` without draining: faults whose records were not all
emitted by then, and silences begun less than two heartbeats before the end (not yet
detectable by anyone), are left out of the truth and counted as "not yet observable".
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from app.models import alarms, rules  # noqa: E402
from app.models import store as st  # noqa: E402
from app.models.projection import apply_records  # noqa: E402
from ledger import pii  # noqa: E402
from ledger.fleet import faults as fleet_faults  # noqa: E402
from ledger.fleet import model  # noqa: E402
from ledger.fleet.generate import DAY_MS, HOUR_MS, Draft, Simulation  # noqa: E402
from ledger.fleet.signing import enc_private_key, signing_key  # noqa: E402
from ledger.records import Record  # noqa: E402

YEAR_SESSIONS = 10_136_000
TARGET_S = 60.0
TARGET_PRECISION, TARGET_RECALL = 0.95, 0.98
EXPECTED: dict[str, tuple[str, ...]] = {
    "meter_error": ("R14",),
    "overbilling": ("R01", "R02"),  # more energy billed than metered → amount above tariff too
    "price_above_tariff": ("R02",),
    "register_backwards": ("R03",),
    "register_gap": ("R04",),
    "over_power": ("R05",),
    "zero_duration": ("R06",),
    "overlapping": ("R07",),
    "duplicate": ("R08",),
    "clock_drift": ("R09",),
    "silent": ("R10",),
    "seal_opened": ("R11",),
    "key_changed": ("R12",),
}
assert set(EXPECTED) == set(fleet_faults.DEFAULT_RATES)


def simulate(
    piles: int, days: int, seed: int, fault_scale: float, heartbeat_s: int
) -> tuple[list[tuple[int, Record]], list[fleet_faults.Fault], dict[int, int], int]:
    """(entries, faults, id(draft) → entry index, end_ms) of a simulated period."""
    start_ms = 1_772_294_400_000 - 8 * HOUR_MS  # 2026-03-01 00:00 local (UTC+8)
    fleet = model.build_fleet(seed, piles, start_ms)
    rates = fleet_faults.parse_rates([], fault_scale)
    keys: dict[str, str] = {}

    def public_key(label: str) -> str:
        if label not in keys:
            keys[label] = signing_key(seed, "ed25519", label).public_key.text
        return keys[label]

    sim = Simulation(
        fleet, start_ms=start_ms, heartbeat_s=heartbeat_s, rates=rates, public_key=public_key
    )
    drafts: list[Draft] = sim.registry(pii.enc_key_text(enc_private_key(seed).public_key()))
    found: list[fleet_faults.Fault] = []
    end_ms = start_ms + days * DAY_MS
    for day_end in range(start_ms + DAY_MS, end_ms + 1, DAY_MS):
        emitted, injected = sim.advance(day_end)
        drafts += emitted
        found += injected
    entries: list[tuple[int, Record]] = []
    index_of: dict[int, int] = {}
    for index, draft in enumerate(drafts):
        draft.released = True
        body = draft.body
        if draft.rtype == "session" and "pii" in body:
            body = {k: v for k, v in body.items() if k != "pii"}
        entries.append((index, Record(draft.rtype, body, "ed25519", "0" * 16, b"")))
        index_of[id(draft)] = index
    return entries, found, index_of, end_ms


def observable(fault: fleet_faults.Fault, end_ms: int, heartbeat_ms: int) -> bool:
    if any(not d.released for d in fault.drafts):
        return False
    if fault.fault == "silent":
        return fault.detail["silent_from_ms"] <= end_ms - 2 * heartbeat_ms
    return fault.at_ms < end_ms


def score(
    findings: list[rules.Finding],
    faults: list[fleet_faults.Fault],
    index_of: dict[int, int],
    heartbeat_ms: int,
) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """({rule: (matched findings, findings)}, {(fault, rule): (detected, faults)})."""
    by_entry: dict[int, list[int]] = defaultdict(list)
    silent_by_meter: dict[str, list[int]] = defaultdict(list)
    for k, fault in enumerate(faults):
        for draft in fault.drafts:
            by_entry[index_of[id(draft)]].append(k)
        if fault.fault == "silent":
            silent_by_meter[fault.meter_id].append(k)
    precision: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    detected: set[tuple[int, str]] = set()
    for f in findings:
        candidates = {k for e in f.evidence for k in by_entry.get(e, ())}
        if f.rule_id == "R10" and f.detail.get("kind") == "silent":
            for k in silent_by_meter.get(f.meter_id or "", ()):
                d = faults[k].detail
                lo = d["silent_from_ms"] - 2 * heartbeat_ms
                if lo <= f.detail["silent_from_ms"] <= d["silent_until_ms"]:
                    candidates.add(k)
        matched = [k for k in candidates if f.rule_id in EXPECTED[faults[k].fault]]
        precision[f.rule_id][1] += 1
        if matched:
            precision[f.rule_id][0] += 1
            detected.update((k, f.rule_id) for k in matched)
    recall: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for k, fault in enumerate(faults):
        for rule_id in EXPECTED[fault.fault]:
            recall[(fault.fault, rule_id)][1] += 1
            if (k, rule_id) in detected:
                recall[(fault.fault, rule_id)][0] += 1
    return (
        {r: (a, b) for r, (a, b) in precision.items()},
        {key: (a, b) for key, (a, b) in recall.items()},
    )


def race_bench(races: int) -> str:
    """Two threads dispatch each of ``races`` alarms at once on an embedded PostgreSQL."""
    from tests.models.test_alarms import finding, race
    from tests.pg import EmbeddedPostgres

    server = EmbeddedPostgres()
    server.start()
    try:
        with st.Store.open(server.url(server.create_database())) as store:
            with store.transaction() as conn:
                ids = [
                    a.id
                    for a in alarms.open_alarms_for(
                        conn, [finding("R01", 0, k, pile_id=f"P{k}") for k in range(races)]
                    )
                ]
            began = time.perf_counter()
            done, failures = race(store, ids)
            elapsed = time.perf_counter() - began
    finally:
        server.stop()
    verdict = "OK" if not failures and done == races else f"FAILED: {failures[:3]}"
    return (
        f"dispatch races on PostgreSQL: {done} races, exactly one winner and the loser told "
        f"who in each: {verdict} ({elapsed:.1f} s, {threading.active_count()} threads left)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--piles", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-scale", type=float, default=50.0)
    parser.add_argument("--heartbeat-s", type=int, default=3600)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument(
        "--pg", action="store_true", help="use a fresh embedded PostgreSQL (tests/pg.py) instead"
    )
    parser.add_argument("--races", type=int, default=0, help="also run N dispatch races (PG)")
    parser.add_argument("--workers", type=int, default=1, help="rescan worker processes")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    entries, faults, index_of, end_ms = simulate(
        args.piles, args.days, args.seed, args.fault_scale, args.heartbeat_s
    )
    t_gen = time.perf_counter() - t0
    types = Counter(r.type for _, r in entries)
    hb_ms = args.heartbeat_s * 1000
    truth = [f for f in faults if observable(f, end_ms, hb_ms)]
    print(
        f"simulated {args.piles} piles × {args.days} days (seed {args.seed}, fault scale "
        f"{args.fault_scale:g}, heartbeat {args.heartbeat_s} s): {len(entries):,} entries "
        f"({types['session']:,} sessions, {types['heartbeat']:,} heartbeats) in {t_gen:.1f} s"
    )
    print(
        f"injected faults: {len(faults)}; observable by the end: {len(truth)} "
        f"({len(faults) - len(truth)} not yet observable)"
    )

    server = None
    if args.pg:
        from tests.pg import EmbeddedPostgres

        server = EmbeddedPostgres()
        server.start()
        args.db = server.url(server.create_database())
    with tempfile.TemporaryDirectory(prefix="anomaly-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        with st.Store.open(url) as store:
            t0 = time.perf_counter()
            for start in range(0, len(entries), 50_000):
                with store.transaction() as conn:
                    apply_records(conn, entries[start : start + 50_000])
            t_apply = time.perf_counter() - t0
            del entries
            gc.collect()
            t0 = time.perf_counter()
            timings: dict[str, float] = {}
            findings = rules.full_rescan(store, workers=args.workers, timings=timings)
            t_scan = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = rules.full_rescan(store)
            t_rescan = time.perf_counter() - t0
            t0 = time.perf_counter()
            with store.transaction() as conn:
                opened = alarms.open_alarms_for(conn, findings)
            t_alarms = time.perf_counter() - t0
            size_mb = os.path.getsize(store.engine.url.database) / 1e6 if not args.db else 0.0

    if server is not None:
        server.stop()
    size = f" ({size_mb:.0f} MB)" if size_mb else ""
    print(f"applied to {store.dialect} in {t_apply:.1f} s{size}")
    precision, recall = score(findings, truth, index_of, hb_ms)
    print()
    print("rule  findings  precision | fault kind            faults  recall")
    worst_ok = True
    rows: dict[str, list[str]] = defaultdict(list)
    for (fault, rule_id), (hit, total) in sorted(recall.items(), key=lambda kv: kv[0][1]):
        r = hit / total if total else float("nan")
        ok = total == 0 or r >= TARGET_RECALL
        worst_ok &= ok
        rows[rule_id].append(f"{fault:<20} {total:>6}  {r:6.3f}{'' if ok else '  < target'}")
    for rule_id in sorted(set(precision) | set(rows)):
        hit, total = precision.get(rule_id, (0, 0))
        p = hit / total if total else float("nan")
        ok = total == 0 or p >= TARGET_PRECISION
        worst_ok &= ok
        left = f"{rule_id}  {total:>8}  {p:9.3f}{' ' if ok else '!'}"
        for k, right in enumerate(rows.get(rule_id, ["-"])):
            print(f"{left if k == 0 else ' ' * len(left)} | {right}")
    print()
    sessions = types["session"]
    rate = sessions / t_scan
    print(
        f"full rescan: {t_scan:.2f} s for {sessions:,} sessions and "
        f"{types['heartbeat']:,} heartbeats → {rate:,.0f} sessions/s "
        f"(second rescan {t_rescan:.2f} s, {len(again)} new: idempotent)"
    )
    if timings:
        parts = ", ".join(
            f"{k} {v:.2f} s" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])
        )
        print(f"  phases: {parts}")
    per_session = t_scan / sessions
    year = per_session * YEAR_SESSIONS
    print(
        f"linear extrapolation to {YEAR_SESSIONS / 1e6:.1f} M sessions (heartbeats in the same "
        f"ratio): {year:.0f} s vs the {TARGET_S:.0f} s target — a guide only; "
        "bench/rescan_year_bench.py measures a real city-year store"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"alarms opened from the findings: {len(opened)} in {t_alarms:.2f} s")
    print(
        f"targets (precision ≥ {TARGET_PRECISION}, recall ≥ {TARGET_RECALL} per rule): "
        f"{'all met' if worst_ok else 'NOT all met'}"
    )
    if args.races:
        print(race_bench(args.races))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
