"""The full rescan by month, one process per month partition (issue 17 item 3).

:func:`app.models.charging.rules.full_rescan` reads the analysis facts a pile range at a
time, each range's whole history at once. On a partitioned office store
(:mod:`app.models.partitions`) the natural unit is the month instead: a month is
what maintenance creates, what gets archived, and what a rescan after a rule change needs
again. :func:`partition_rescan` runs every month window in its own worker process and
finds exactly what the full rescan finds.

How a month sees across its boundary: each window is run by the windowed rule engine the
sync already uses after every batch (:func:`rules.scan` with ``since``/``until``), whose
findings are tested to equal the full rescan's. For every meter it loads the rows before
the window as context — the last session(s) and the last heartbeat before ``since``,
whatever month they are in (one index probe per meter; on partitioned tables an ordered
append that stops at the first partition holding one) — so the register chain, the
previous heartbeat's clock and counters and the duplicate's original are compared across
the boundary. A relation is reported by the window holding its *later* record (a silence
by the window of the heartbeat ending it), so nothing is reported twice, and rules that
look forward or at the whole store (R21 unbilled, the bill/identity rules R19–R24, the
key rule R17, silences still going on) run once over the whole store in the parent, while
the workers scan. A local day straddling a month boundary is judged whole (R18 counts
the whole day); both windows may report it, with the same evidence, and the duplicates
are merged.

Works on any store (an unpartitioned one gets calendar-month windows over its data), so
the benchmark can time the same engine on both layouts.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import Connection, text

from app.models import partitions as pt
from app.models import store as st
from app.models.charging import rules
from app.models.findings import Closure, Finding, insert_findings

EARLIEST = -(2**62)
"""``since`` of the first window: a bound rather than None, so every window runs the same
code path (context probes, whole-day R18) whatever its position."""

_worker: dict[str, Any] = {}


def _window_meters(conn: Connection, since: int, until: int | None) -> list[str]:
    """Meters with any session, heartbeat or seal event in [since, until): only they can
    have a finding whose later record lies in the window."""
    cond = "{c} >= :since" + ("" if until is None else " AND {c} < :until")
    sql = " UNION ".join(
        f"SELECT meter_id FROM {table} WHERE {cond.format(c=col)}"
        for table, col in (
            ("sessions", "start_ms"),
            ("heartbeats", "ref_ms"),
            ("seal_events", "at_ms"),
        )
    )
    params: dict[str, int] = {"since": since}
    if until is not None:
        params["until"] = until
    return sorted(r[0] for r in conn.execute(text(sql), params))


def _scan_window(conn: Connection, reg: Any, since: int, until: int | None) -> list[Finding]:
    meters = _window_meters(conn, since, until)
    if not meters:
        return []
    found = rules.scan(
        conn,
        meters,
        since,
        until,
        registry=reg,
        keys=False,
        trailing=False,
        integrity=False,
        stops_in_window=True,
    )
    if until is None:
        return found
    # A silence ending after ``until`` (at the stop of one of this window's sessions) is
    # the next window's: only it holds the records between (``stops_in_window``).
    return [
        f
        for f in found
        if not (f.rule_id == "R10" and (f.detail.get("silent_until_ms") or -1) >= until)
    ]


def _init(url: str, owner: int) -> None:
    """A month worker: its own engine and registry (read-only work); it ends with the
    process that started the rescan."""
    from ledger.sigcheck import exit_with_owner

    exit_with_owner(owner)
    engine = st.create_store_engine(url)
    _worker["engine"] = engine
    with engine.connect() as conn:
        _worker["registry"] = rules._Registry.load(conn)


def _run(since: int, until: int | None) -> list[Finding]:
    with _worker["engine"].connect() as conn:
        return _scan_window(conn, _worker["registry"], since, until)


def month_windows(conn: Connection) -> list[tuple[int, int | None]]:
    """The windows [since, until) of the rescan: one per month partition (and open ends
    for what sits in DEFAULT) on a partitioned store; else one per calendar month of the
    data between its earliest and latest record (1970–9999)."""
    if pt.is_partitioned(conn):
        found = pt.windows(conn)
    else:
        lo, hi = conn.execute(
            text(
                "SELECT MIN(t), MAX(t) FROM (SELECT MIN(start_ms) AS t FROM sessions UNION ALL "
                "SELECT MAX(start_ms) FROM sessions UNION ALL SELECT MIN(ref_ms) FROM heartbeats "
                "UNION ALL SELECT MAX(ref_ms) FROM heartbeats) q"
            )
        ).one()
        first = pt.month_of_ms(max(int(lo), 0)) if lo is not None else None
        last = pt.month_of_ms(int(hi)) if hi is not None else None
        if first is None or last is None:
            found = [(None, None)]
        else:
            months = range(first, last + 1)
            found = pt.time_windows(
                [pt.month_start_ms(m) for m in months], [pt.month_end_ms(m) for m in months]
            )
    return [(EARLIEST if a is None else a, b) for a, b in found]


def _store_wide(conn: Connection, reg: Any) -> list[Finding]:
    """What no window owns: the rules over the whole store, as ``rules.scan`` runs them
    without time bounds (keys, silences still going on, R19–R24)."""
    keyed = [r[0] for r in conn.execute(text("SELECT DISTINCT meter_id FROM meter_keys"))]
    found = rules._key_rule(conn, reg, sorted(keyed))
    found += rules._trailing_silence(conn, reg)
    out = rules._Out()
    bills = [int(r[0]) for r in conn.execute(text("SELECT entry_index FROM billing"))]
    rules._orphan_bills(conn, bills, out)
    rules._unbilled_window(conn, reg, sorted(reg.meter_pile), None, out)
    return found + out.findings + rules._store_integrity(conn, reg)


def partition_rescan(
    store: st.Store,
    *,
    chunks: int | None = None,
    workers: int = 2,
    closed: list[Closure] | None = None,
    windows: Sequence[tuple[int, int | None]] | None = None,
    timings: dict[str, float] | None = None,
) -> list[Finding]:
    """Every charging rule over the whole store, a month window per task; stores and
    returns the new findings and closes the stored ones it no longer derives (listed in
    ``closed``), like :func:`rules.full_rescan`.

    On a partitioned store the DEFAULT partitions are split first
    (:func:`app.models.partitions.maintain`), so each month is one partition.
    ``workers > 1`` scans the windows in that many processes (not for ``:memory:``);
    the parent runs the store-wide rules meanwhile. ``windows`` (default: every month)
    rescans only those; such a partial rescan stores what it finds but closes nothing
    (the months it skipped would look disproved). ``chunks`` is ignored (the months are
    the chunks; `kinds.Rescan`). ``timings`` gets "windows" and "store-wide" seconds
    (the latter overlaps the former when parallel).
    """
    del chunks
    import time

    began = time.perf_counter()
    if store.dialect == "postgresql":
        with store.transaction() as conn:
            pt.maintain(conn)
    with store.engine.connect() as conn:
        spans = list(windows) if windows is not None else month_windows(conn)
    found: list[Finding] = []
    database = store.engine.url.database or ""
    if workers > 1 and len(spans) > 1 and ":memory:" not in database:
        url = store.engine.url.render_as_string(hide_password=False)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, context, _init, (url, os.getpid())) as pool:
            results = pool.map(_run, *zip(*spans, strict=True))
            wide_began = time.perf_counter()
            with store.engine.connect() as conn:
                reg = rules._Registry.load(conn)
                found += _store_wide(conn, reg)
            wide = time.perf_counter() - wide_began
            for part in results:
                found += part
    else:
        with store.engine.connect() as conn:
            reg = rules._Registry.load(conn)
            for since, until in spans:
                found += _scan_window(conn, reg, since, until)
            wide_began = time.perf_counter()
            found += _store_wide(conn, reg)
            wide = time.perf_counter() - wide_began
    if timings is not None:
        timings["windows"] = time.perf_counter() - began
        timings["store-wide"] = wide
    unique: dict[tuple[str, str], Finding] = {}
    for f in found:  # a straddling local day (R18) may come from both of its windows
        unique.setdefault((f.rule_id, f.evidence_key), f)
    with store.transaction() as conn:
        new = insert_findings(conn, list(unique.values()))
    closures: list[Closure] = []
    if windows is None:
        with store.transaction() as conn:
            closures = rules._close_unfound(conn, set(unique))
    if closed is not None:
        closed.extend(closures)
    new.sort(key=lambda f: (f.at_ms, f.rule_id, f.evidence))
    return new
