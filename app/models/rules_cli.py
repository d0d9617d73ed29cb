"""`python main.py rescan [--db URL]`: re-run every anomaly rule over the whole store.

Each registered instrument kind with a ``rescan`` (`app.models.kinds.ProjectionKind`)
re-derives its findings; kinds without one (their rules run per synced batch only) are
not rescanned.

Useful after a rule changes or a first sync: findings already stored are kept (the insert
is idempotent), new ones are stored and, with ``--alarms`` (the default), high/critical
ones open or extend alarms. Exit status: 0 done; 2 bad arguments or store unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

from app.models import alarms, rule_policy
from app.models import store as st
from app.models.findings import CATALOGUE, Closure, Finding
from app.models.kinds import PROJECTIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py rescan", description="Re-run every anomaly rule over the whole store."
    )
    parser.add_argument(
        "--db", metavar="URL", help="store URL (default: EVM_DB_URL or the user's file)"
    )
    parser.add_argument(
        "--no-alarms", action="store_true", help="store findings only; open no alarms"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=None,
        help="pile ranges scanned one at a time (default: by store size)",
    )
    parser.add_argument(
        "--by-month",
        action="store_true",
        help="one window per month (partition) in the worker processes: an office's "
        "partitioned PostgreSQL store (same findings)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="worker processes (chunks are independent; default: the cores, at most 4)",
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = st.Store.open(args.db)
    except Exception as exc:  # a bad URL or an unreachable server: say so, no traceback
        print(f"rescan: cannot open the store: {exc}", file=sys.stderr)
        return 2
    with store:
        began = time.perf_counter()
        closed: list[Closure] = []
        new: list[Finding] = []
        for kind in PROJECTIONS.values():
            rescan = kind.rescan
            if args.by_month and kind.rescan_by_month is not None:
                rescan = kind.rescan_by_month
            if rescan is not None:
                new += rescan(store, chunks=args.chunks, workers=args.workers, closed=closed)
        elapsed = time.perf_counter() - began
        opened: list[alarms.Alarm] = []
        if not args.no_alarms and new:
            with store.transaction() as conn:
                opened = alarms.open_alarms_for(conn, rule_policy.apply(conn, new))
        if not args.no_alarms and closed:
            with store.transaction() as conn:
                alarms.resolve_disproved(conn, closed)
    counts = Counter(f.rule_id for f in new)
    print(f"rescan of {store.url}: {len(new)} new findings in {elapsed:.1f} s")
    if closed:
        print(f"{len(closed)} stored findings no longer derived: closed")
    for rule_id in sorted(counts):
        rule = CATALOGUE[rule_id]
        print(f"  {rule_id} {counts[rule_id]:>7}  {rule.title_zh} / {rule.title_en}")
    if opened:
        print(f"{len(opened)} alarms opened or extended")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
