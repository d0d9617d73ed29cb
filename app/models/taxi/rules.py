"""Taxi meter rules T01–T03 (安心打车): taxi findings for the alarm queue.

The suspension list (`ledger.taxi.status`) says what a ride-hailing platform must do with
a taxi; these rules put the same three events in front of the regulator, as findings the
core turns into alarms by severity (`app.models.findings`):

* **T01** seal broken (critical): the in-vehicle terminal reported the meter's seal
  ``opened`` or ``tamper`` and no seal-closing verification of the meter followed;
* **T02** failed verification (high): a JJG 517-2016 verification that failed, or whose
  distance error is outside −4 % … +1 % whatever its result says
  (`ledger.taxi.records.verification_outcome`, the status code's own test);
* **T03** drift suspected (high): over the meter's latest `DRIFT_WINDOW` trips since its
  latest verification that have the monitoring platform's GNSS distance of at least
  `MIN_GNSS_M`, at least `DRIFT_MIN_TRIPS`, the median of (meter − GNSS) / GNSS is
  beyond +1 % / −4 % — the status rule's numbers (`ledger.taxi.status`), evaluated per
  synced batch on the meters whose trips the batch brought. One T03 per meter and
  verification: a meter already found drifting since its latest verification is not
  found again as each batch adds trips; its evidence is the trips judged when it was
  first found.

Findings name the plate in ``pile_id`` (the core's instrument column) and the meter
serial in ``meter_id`` (its measuring part). They are an alarm feed, not the list: the
status a platform acts on is the one `ledger.taxi.status` computes from the whole log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction

from sqlalchemy import Connection, bindparam, text

from app.models.findings import (
    Closure,
    Finding,
    Rule,
    close_findings,
    insert_findings,
    register_rules,
)
from app.models.projection import BatchSummary
from ledger.taxi.records import verification_outcome
from ledger.taxi.status import (
    DRIFT_LIMITS,
    DRIFT_MIN_TRIPS,
    DRIFT_WINDOW,
    MIN_GNSS_M,
    median_error,
)

_CHUNK = 5000

RULES = (
    Rule(
        "T01",
        "critical",
        "出租车计价器铅封被打开",
        "Taximeter seal broken",
        "车载终端报告计价器铅封被打开或被破坏(opened / tamper),其后没有关闭铅封的检定。"
        "JJG 517-2016 要求计价器加封;铅封破坏的出租车列入暂停名单(安心打车)。",
        "The in-vehicle terminal reported the taximeter's seal opened or tampered with, and "
        "no verification closing the seal followed. JJG 517-2016 requires the meter sealed; "
        "a taxi with a broken seal is on the suspension list (安心打车).",
        "the seal event",
    ),
    Rule(
        "T02",
        "high",
        "出租车计价器检定不合格",
        "Taximeter failed verification",
        "JJG 517-2016 检定结论不合格,或里程误差超出 −4 % … +1 %(无论结论字段如何)。"
        "该出租车列入暂停名单,直至重新检定合格。",
        "A JJG 517-2016 verification failed, or its distance error is outside −4 % … +1 % "
        "whatever its result field says. The taxi is on the suspension list until it passes "
        "a new verification.",
        "the verification",
    ),
    Rule(
        "T03",
        "high",
        "出租车计价器里程疑似漂移",
        "Taximeter distance drift suspected",
        "自最近一次检定以来、有监控平台 GNSS 里程(≥ 1 km)的最近 100 次营运中(至少 20 次),"
        "(计价器里程 − GNSS 里程)/ GNSS 里程 的中位数超出 +1 % 或 −4 %(JJG 517-2016 "
        "安装后计价器的里程误差限):轮胎磨损、K 常数被改动或作弊。",
        "Over the meter's latest 100 trips since its latest verification that have the "
        "monitoring platform's GNSS distance (≥ 1 km), at least 20, the median of (meter km − "
        "GNSS km) / GNSS km is above +1 % or below −4 % (JJG 517-2016's limits for an "
        "installed meter): tyre wear, a changed K constant, or tampering.",
        "the trips judged",
    ),
)
register_rules(RULES)


def analyse(
    conn: Connection, summary: BatchSummary, closed: list[Closure] | None = None
) -> list[Finding]:
    """Runs T01–T03 over what ``summary`` brought; stores and returns the new findings.
    Findings a later verification of the meter resolves are closed and listed in
    ``closed`` (`_verification_closures`), so their alarms resolve."""
    new = summary.new_entries
    findings: list[Finding] = []
    if new.get("taxi_seal"):
        findings += _seal_rule(conn, new["taxi_seal"])
    if new.get("taxi_verification"):
        findings += _failed_rule(conn, new["taxi_verification"])
        closures = _verification_closures(conn, new["taxi_verification"])
        if closed is not None:
            closed.extend(closures)
    if new.get("trip") or new.get("trip_gnss"):
        findings += _drift_rule(conn, new.get("trip", []), new.get("trip_gnss", []))
    return insert_findings(conn, findings)


def _rows(conn: Connection, sql: str, ids: Sequence[int] | Sequence[str]) -> list[tuple]:
    bound = text(sql).bindparams(bindparam("ids", expanding=True))
    out: list[tuple] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(conn.execute(bound, {"ids": list(ids[start : start + _CHUNK])}).all())
    return out


def _seal_rule(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    rows = _rows(
        conn,
        "SELECT entry_index, plate, meter_serial, at_ms, event FROM taxi_seal_events s"
        " WHERE entry_index IN :ids AND event IN ('opened', 'tamper')"
        " AND NOT EXISTS (SELECT 1 FROM taxi_verifications v WHERE v.meter_serial ="
        " s.meter_serial AND v.seal_closed AND v.at_ms >= s.at_ms)",
        entries,
    )
    return [
        Finding("T01", plate, serial, int(at), "critical", (int(entry),), {"event": event})
        for entry, plate, serial, at, event in rows
    ]


def _failed_rule(conn: Connection, entries: Sequence[int]) -> list[Finding]:
    rows = _rows(
        conn,
        "SELECT entry_index, plate, meter_serial, at_ms, distance_error_ppm, result, next_due,"
        " certificate_no FROM taxi_verifications WHERE entry_index IN :ids",
        entries,
    )
    out = []
    for entry, plate, serial, at, error, result, next_due, cert in rows:
        body = {"at_ms": at, "distance_error_ppm": error, "result": result, "next_due": next_due}
        passed, _until, reason = verification_outcome(body)
        if not passed:
            detail = {"reason": reason, "distance_error_ppm": int(error), "certificate_no": cert}
            out.append(Finding("T02", plate, serial, int(at), "high", (int(entry),), detail))
    return out


def _verification_closures(conn: Connection, entries: Sequence[int]) -> list[Closure]:
    """Closes what a later verification of the same meter settles, as the status does:
    a seal opening (T01) by a verification that closed the seal, a failed verification
    (T02) and suspected drift (T03) by a verification that passed — drift counts trips
    since the latest verification, and a passed one is the road test the drift asked for."""
    rows = _rows(
        conn,
        "SELECT entry_index, meter_serial, at_ms, distance_error_ppm, result, next_due,"
        " seal_closed FROM taxi_verifications WHERE entry_index IN :ids",
        entries,
    )
    items: list[tuple[Finding, int | None, str]] = []
    for entry, serial, at, error, result, next_due, seal_closed in rows:
        body = {"at_ms": at, "distance_error_ppm": error, "result": result, "next_due": next_due}
        passed = verification_outcome(body)[0]
        rules = (["T01"] if seal_closed else []) + (["T02", "T03"] if passed else [])
        if not rules:
            continue
        found = conn.execute(
            text(
                "SELECT id, rule_id, pile_id, at_ms, severity FROM anomalies"
                " WHERE closed_at IS NULL AND meter_id = :m AND at_ms <= :at"
                " AND rule_id IN :rules"
            ).bindparams(bindparam("rules", expanding=True)),
            {"m": serial, "at": int(at), "rules": rules},
        )
        for anomaly_id, rule_id, plate, at_ms, severity in found:
            if rule_id == "T02" and int(at_ms) == int(at):
                continue  # the verification itself
            finding = Finding(
                rule_id, plate, serial, int(at_ms), severity, (), anomaly_id=int(anomaly_id)
            )
            items.append((finding, int(entry), f"settled by verification entry {entry}"))
    return close_findings(conn, items)


def _drift_rule(conn: Connection, trips: Sequence[int], gnss: Sequence[int]) -> list[Finding]:
    serials = {
        r[0] for r in _rows(conn, "SELECT meter_serial FROM trips WHERE entry_index IN :ids", trips)
    }
    serials |= {
        r[0]
        for r in _rows(
            conn,
            "SELECT t.meter_serial FROM trip_gnss g JOIN trips t ON t.terminal_id ="
            " g.terminal_id AND t.trip_id = g.trip_id WHERE g.entry_index IN :ids",
            gnss,
        )
    }
    if not serials:
        return []
    # latest verification (at_ms, entry) of each meter in its current vehicle
    latest: dict[str, tuple[int, int, str]] = {}
    for serial, plate, at, entry in _rows(
        conn,
        "SELECT v.meter_serial, v.plate, v.at_ms, v.entry_index FROM taxi_verifications v"
        " JOIN taximeters m ON m.meter_serial = v.meter_serial AND m.plate = v.plate"
        " WHERE v.meter_serial IN :ids",
        sorted(serials),
    ):
        if serial not in latest or (at, entry) > latest[serial][:2]:
            latest[serial] = (int(at), int(entry), plate)
    found = {
        r[0]
        for r in _rows(
            conn,
            "SELECT meter_id FROM anomalies WHERE rule_id = 'T03' AND meter_id IN :ids",
            sorted(latest),
        )
    }
    pairs: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    # only each meter's latest DRIFT_WINDOW trips since its latest verification: a meter's
    # year of trips is never loaded (index on trips (meter_serial, hire_ms))
    for serial, entry, hire, meter_m, gnss_m in _rows(
        conn,
        "SELECT meter_serial, entry_index, hire_ms, meter_m, gnss_m FROM ("
        " SELECT t.meter_serial, t.entry_index, t.hire_ms, t.meter_m, g.gnss_m,"
        " ROW_NUMBER() OVER (PARTITION BY t.meter_serial"
        " ORDER BY t.hire_ms DESC, t.entry_index DESC) AS rn FROM trips t"
        " JOIN trip_gnss g ON g.terminal_id = t.terminal_id AND g.trip_id = t.trip_id"
        f" WHERE t.meter_serial IN :ids AND g.gnss_m >= {int(MIN_GNSS_M)}"
        " AND t.hire_ms >= (SELECT MAX(v.at_ms) FROM taxi_verifications v"
        " WHERE v.meter_serial = t.meter_serial AND v.plate = t.plate)"
        f") x WHERE rn <= {int(DRIFT_WINDOW)}",
        sorted(latest),
    ):
        if hire >= latest[serial][0]:
            pairs[serial].append((int(hire), int(entry), int(meter_m), int(gnss_m)))
    out = []
    low, high = DRIFT_LIMITS
    for serial, judged in pairs.items():
        at, v_entry, plate = latest[serial]
        if serial in found and _found_since(conn, serial, at):
            continue
        judged = sorted(judged)[-DRIFT_WINDOW:]
        if len(judged) < DRIFT_MIN_TRIPS:
            continue
        median = median_error(Fraction(m - g, g) for _, _, m, g in judged)
        if low <= median <= high:
            continue
        detail = {
            "median_ppm": int(median * 1_000_000),
            "trips": len(judged),
            "verification_entry": v_entry,
        }
        evidence = tuple(sorted(e for _, e, _, _ in judged))
        out.append(Finding("T03", plate, serial, judged[-1][0], "high", evidence, detail))
    return out


def _found_since(conn: Connection, serial: str, since_ms: int) -> bool:
    """A T03 of this meter on trips since its latest verification is already stored."""
    return (
        conn.execute(
            text(
                "SELECT 1 FROM anomalies WHERE rule_id = 'T03' AND meter_id = :s"
                " AND at_ms >= :since LIMIT 1"
            ),
            {"s": serial, "since": since_ms},
        ).first()
        is not None
    )
