"""The verification register and the due list (Qt-free).

Hangzhou's scheme replaces the yearly check with "first verification, rotation after
5–8 years, offline re-verification of piles flagged abnormal". For each pile this
module gathers every applicable deadline and the **earliest one wins**:

``first``
    A meter with neither a certificate (``meters.cert_no``/``cert_date`` from its
    registry record) nor a verification record in the log was never verified: it is due
    at once — the due date is the day it was installed (``meters.installed_ms``), so a
    pile in use is already overdue. A pile with no meter at all is treated the same
    (from its commissioning date).
``rotation``
    The latest certificate date (the meter's registry certificate or the newest passed
    verification record, whichever is later) plus the rotation period of the pile's
    instrument type (``rotation_settings``: DC 6, AC 8 years by default, each 5–8).
    Leap day: 29 February plus N years is 28 February when that year has no 29 February
    (2024-02-29 + 6 years → 2030-02-28), i.e. the certificate never outlives its period.
    A certificate with a number but no (readable) date cannot show when it expires;
    it is dated from the meter's installation day, the latest day a "verified before
    use" certificate can have been issued, so the pile is never given *more* time than
    it had.
``failed``
    The newest verification record failed: the pile is due at once (from that day)
    until a passing verification follows.
``anomaly``
    Open findings after the newest verification: rule anomalies (``anomalies``) and
    open alarms (``alarms`` not resolved or dismissed) trigger an offline
    re-verification within 3 days (critical), 7 days (high) or 30 days (warning) of the
    finding. An anomaly whose pile and rule have an alarm a regulator dismissed after
    the finding is ignored (the regulator looked and judged it a false alarm).

``expiry``
    Only when the due policy is ``regulation`` (:func:`set_due_policy`): the governing
    certificate's validity ends (see below), in place of the rotation deadline.

Two clocks, kept apart. The **certificate's validity** (有效期) follows the regulation's
verification cycle (``validity_settings``, 3 years by default, configurable per
instrument type): a certificate of day D is valid up to and including D + N years − 1 day.
The **due date** follows the rule set that applies: for piles supervised through the
platform (the default ``due_policy`` ``supervision``) Hangzhou's scheme, "首次检定、5—8年到期
轮换、异常警示充电桩线下检定"; with ``due_policy`` ``regulation`` the certificate's expiry.
Every row carries both dates and, for each, the rule set that set it (:data:`RULE_TEXT`:
``regulation``, ``supervision`` or ``anomaly``), and its explanations as codes with
arguments (:func:`explain`), so the Chinese UI shows Chinese text.

A due date is the last day by which the verification must be done; the pile is
**overdue** from the next day. Dates are calendar days in Beijing time (UTC+8), like
the certificates.

At city scale (12k piles) :func:`due_register` reads each table once and works in
memory: a handful of queries, not one per pile.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from app.models.charging import metrology
from app.models.due_sources import DueRow, DueSource, Site, sites_at_stations, verified_since_in
from app.models.plan_tables import (
    DEFAULT_ROTATION_YEARS,
    DEFAULT_VALIDITY_YEARS,
    DUE_POLICIES,
    INSTRUMENT_TYPES,
    VALIDITY_YEARS_RANGE,
    planning_settings,
    rotation_settings,
    validity_settings,
)
from app.models.store import (
    alarms,
    anomalies,
    meters,
    piles,
    stations,
    upsert,
    utcnow,
    verifications,
    write_audit,
)
from app.models.users import Session, require

CST = dt.timezone(dt.timedelta(hours=8), "CST")

#: Days allowed for the offline re-verification after a finding, by severity.
SEVERITY_DEADLINE_DAYS: dict[str, int] = {"critical": 3, "high": 7, "warning": 30}
OPEN_ALARM_STATES = ("new", "acknowledged", "dispatched")

STATUSES = ("overdue", "due_30", "due_90", "ok")

#: Reason code -> (Chinese, English). The views translate through Qt; exports use these.
REASON_TEXT: dict[str, tuple[str, str]] = {
    "first": ("首次检定缺失", "first verification missing"),
    "rotation": ("到期轮换", "rotation period ends"),
    "failed": ("检定不合格", "last verification failed"),
    "anomaly": ("异常警示线下检定", "anomaly: offline re-verification"),
    "expiry": ("证书有效期届满", "certificate expires"),
}
#: Which rule set a deadline (or the validity) comes from.
RULE_OF_REASON: dict[str, str] = {
    "first": "regulation",  # 首次检定: required before use by the Metrology Law
    "failed": "regulation",  # a failed instrument may not be used until it passes
    "expiry": "regulation",
    "rotation": "supervision",
    "anomaly": "anomaly",
}
RULE_TEXT: dict[str, tuple[str, str]] = {
    "regulation": ("检定规程周期", "regulation cycle"),
    "supervision": ("监管政策（首次检定、5—8年轮换）", "supervision policy (5–8 year rotation)"),
    "anomaly": ("异常警示", "anomaly alert"),
}
SEVERITY_TEXT: dict[str, tuple[str, str]] = {
    "critical": ("严重", "critical"),
    "high": ("高", "high"),
    "warning": ("警告", "warning"),
}
#: Explanation code -> (Chinese, English) templates; ``{name}`` fields from the args.
#: The views translate the same English templates through Qt (app/views/due_list.py).
DETAIL_TEXT: dict[str, tuple[str, str]] = {
    "no_meter": ("该桩未登记电能表", "no meter registered for the pile"),
    "no_certificate": ("电能表 {meter}：无检定证书", "meter {meter}: no certificate"),
    "failed": (
        "电能表 {meter}：检定 {number} 不合格",
        "meter {meter}: verification {number} failed",
    ),
    "certificate": (
        "电能表 {meter}：证书 {number}（{date}）",
        "meter {meter}: certificate {number} of {date}",
    ),
    "undated": (
        "电能表 {meter}：证书 {number} 无日期，按安装日计",
        "meter {meter}: certificate {number} has no date; from installation",
    ),
    "anomaly": ("{rule} 异常（{severity}，#{id}）", "{severity} anomaly {rule} (#{id})"),
    "alarm": ("{kind} 告警（{severity}，#{id}）", "{severity} alarm {kind} (#{id})"),
    "validity": ("检定周期 {years} 年", "verification cycle {years} years"),
}


def explain(code: str, args: Mapping[str, object], lang: str = "zh") -> str:
    """An explanation in Chinese (``zh``) or English, for exports and non-Qt callers."""
    i = 0 if lang == "zh" else 1
    values = dict(args)
    if "severity" in values:
        values["severity"] = SEVERITY_TEXT.get(str(values["severity"]), ("", ""))[i] or str(
            values["severity"]
        )
    template = DETAIL_TEXT.get(code)
    return template[i].format(**values) if template else code


STATUS_TEXT: dict[str, tuple[str, str]] = {
    "overdue": ("已超期", "overdue"),
    "due_30": ("30天内到期", "due within 30 days"),
    "due_90": ("90天内到期", "due within 90 days"),
    "ok": ("有效", "valid"),
}


def add_years(day: dt.date, years: int) -> dt.date:
    """Same calendar day ``years`` later; 29 February → 28 February in a common year."""
    return metrology.add_years(day, years)


def rotation_due(certificate: dt.date, years: int) -> dt.date:
    """The rotation deadline of a certificate issued on ``certificate``."""
    low, high = metrology.ROTATION_YEARS_RANGE
    if not low <= years <= high:
        raise ValueError(f"rotation period must be {low}–{high} years, got {years}")
    return add_years(certificate, years)


def anomaly_deadline(found: dt.date, severity: str) -> dt.date | None:
    """Re-verification deadline for a finding; None for severities that trigger none."""
    days = SEVERITY_DEADLINE_DAYS.get(severity)
    return None if days is None else found + dt.timedelta(days=days)


def cst_date(ms: int) -> dt.date:
    """The Beijing calendar day of a ledger time (Unix ms)."""
    return dt.datetime.fromtimestamp(ms / 1000, CST).date()


@functools.lru_cache(maxsize=65536)
def parse_cert_date(text: str | None) -> dt.date | None:
    """``2024-02-29``, ``2024/02/29``, ``2024.02.29`` or ``20240229``; None when absent or
    unreadable. Cached: a city's meters share a few thousand distinct dates."""
    if not text:
        return None
    cleaned = text.strip().replace("/", "-").replace(".", "-")
    if len(cleaned) == 8 and cleaned.isdigit():
        cleaned = f"{cleaned[:4]}-{cleaned[4:6]}-{cleaned[6:]}"
    try:
        return dt.date.fromisoformat(cleaned) if len(cleaned) == 10 else None
    except ValueError:
        return None


# ---- settings -------------------------------------------------------------------------


def validity_years(conn: Connection) -> dict[str, int]:
    """The regulation's verification cycle per instrument type (defaults if missing)."""
    years = dict(DEFAULT_VALIDITY_YEARS)
    for kind, value in conn.execute(
        select(validity_settings.c.instrument_type, validity_settings.c.years)
    ):
        years[kind] = int(value)
    return years


def set_validity_years(conn: Connection, session: Session, kind: str, years: int) -> None:
    """Changes one type's verification cycle (certificate validity); regulators, audited."""
    require(session, "register.edit")
    if kind not in INSTRUMENT_TYPES:
        raise ValueError(f"unknown instrument type {kind!r}; expected one of {INSTRUMENT_TYPES}")
    low, high = VALIDITY_YEARS_RANGE
    if not low <= years <= high:
        raise ValueError(f"the verification cycle must be {low}–{high} years, got {years}")
    upsert(
        conn,
        validity_settings,
        [
            {
                "instrument_type": kind,
                "years": years,
                "updated_at": utcnow(),
                "updated_by": session.username,
            }
        ],
        ("instrument_type",),
    )
    write_audit(
        conn, session.username, "register.validity_years", f"validity {kind}", {"years": years}
    )


def due_policy(conn: Connection) -> str:
    """``supervision`` (Hangzhou's scheme, the default) or ``regulation`` (expiry only)."""
    value = conn.execute(
        select(planning_settings.c.value).where(planning_settings.c.key == "due_policy")
    ).scalar()
    return str(value) if value in DUE_POLICIES else "supervision"


def set_due_policy(conn: Connection, session: Session, policy: str) -> None:
    """Chooses the rule set of the due list; regulators only, audited."""
    require(session, "register.edit")
    if policy not in DUE_POLICIES:
        raise ValueError(f"unknown due policy {policy!r}; expected one of {DUE_POLICIES}")
    upsert(
        conn,
        planning_settings,
        [
            {
                "key": "due_policy",
                "value": policy,
                "updated_at": utcnow(),
                "updated_by": session.username,
            }
        ],
        ("key",),
    )
    write_audit(conn, session.username, "register.due_policy", "due policy", {"policy": policy})


def valid_until(certificate: dt.date, years: int) -> dt.date:
    """Last day a certificate of ``certificate`` is valid: N years on, minus one day."""
    return add_years(certificate, years) - dt.timedelta(days=1)


def rotation_years(conn: Connection) -> dict[str, int]:
    """Rotation period per instrument type, from the settings table (defaults if missing)."""
    years = dict(DEFAULT_ROTATION_YEARS)
    for kind, value in conn.execute(
        select(rotation_settings.c.instrument_type, rotation_settings.c.years)
    ):
        years[kind] = int(value)
    return years


def set_rotation_years(conn: Connection, session: Session, kind: str, years: int) -> None:
    """Changes one type's rotation period (regulators only; audited)."""
    require(session, "register.edit")
    if kind not in INSTRUMENT_TYPES:
        raise ValueError(f"unknown instrument type {kind!r}; expected one of {INSTRUMENT_TYPES}")
    rotation_due(dt.date(2000, 1, 1), years)  # validates 5–8
    upsert(
        conn,
        rotation_settings,
        [
            {
                "instrument_type": kind,
                "years": years,
                "updated_at": utcnow(),
                "updated_by": session.username,
            }
        ],
        ("instrument_type",),
    )
    write_audit(
        conn, session.username, "register.rotation_years", f"rotation {kind}", {"years": years}
    )


# ---- the computation --------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """One applicable deadline for a pile (a candidate for its due date)."""

    reason: str  # first | rotation | failed | anomaly | expiry
    due: dt.date
    detail: str  # English, for logs; display text comes from ``code``/``args``
    meter_id: str | None = None
    code: str = ""
    args: tuple[tuple[str, str], ...] = ()

    @property
    def rule(self) -> str:
        """``regulation``, ``supervision`` or ``anomaly``: the rule set behind the date."""
        return RULE_OF_REASON.get(self.reason, "supervision")

    def explain(self, lang: str = "zh") -> str:
        return explain(self.code, dict(self.args), lang) if self.code else self.detail


def _deadline(
    reason: str, due: dt.date, code: str, meter_id: str | None = None, **args: object
) -> Deadline:
    values = {k: str(v) for k, v in args.items()}
    if meter_id is not None:
        values.setdefault("meter", meter_id)
    return Deadline(
        reason, due, explain(code, values, "en"), meter_id, code, tuple(sorted(values.items()))
    )


@dataclass(frozen=True)
class Certificate:
    """A meter's latest evidence of verification, from the registry or the log."""

    meter_id: str
    date: dt.date | None
    number: str | None
    verifier: str | None
    source: str  # "registry" | "verification"
    passed: bool = True
    at_ms: int | None = None


@dataclass(frozen=True)
class PileDue:
    """A pile's row in the register: its due date, why, and how urgent."""

    pile_id: str
    station_id: str
    station_name: str
    district: str
    operator_id: str
    kind: str
    due_date: dt.date
    reason: str
    detail: str
    days_left: int
    status: str
    triggered: bool
    certificates: tuple[Certificate, ...]
    deadlines: tuple[Deadline, ...]
    valid_until: dt.date | None = None  # certificate validity (regulation cycle); None: none
    validity_years: int | None = None
    policy: str = "supervision"

    @property
    def winner(self) -> Deadline:
        """The deadline that set :attr:`due_date`."""
        return pick(self.deadlines)

    @property
    def due_rule(self) -> str:
        return RULE_OF_REASON.get(self.reason, "supervision")

    def explain(self, lang: str = "zh") -> str:
        return self.winner.explain(lang)

    @property
    def last_certificate(self) -> Certificate | None:
        dated = [c for c in self.certificates if c.date is not None]
        return max(dated, key=lambda c: c.date) if dated else None  # type: ignore[arg-type,return-value]


def status_for(days_left: int) -> str:
    if days_left < 0:
        return "overdue"
    if days_left <= 30:
        return "due_30"
    if days_left <= 90:
        return "due_90"
    return "ok"


def meter_deadlines(
    meter_id: str,
    installed: dt.date,
    registry_cert: Certificate | None,
    latest_verification: Certificate | None,
    years: int,
    *,
    validity: int | None = None,
) -> tuple[list[Deadline], Certificate | None]:
    """First/rotation/failed deadlines of one meter; returns them and the governing certificate.

    With ``validity`` (the regulation's cycle, due policy ``regulation``) the certificate's
    expiry replaces the rotation deadline.
    """
    if latest_verification is not None and not latest_verification.passed:
        assert latest_verification.date is not None
        return [
            _deadline(
                "failed",
                latest_verification.date,
                "failed",
                meter_id,
                number=latest_verification.number or "-",
            )
        ], latest_verification
    candidates: list[Certificate] = []
    if latest_verification is not None:
        candidates.append(latest_verification)
    if registry_cert is not None and (registry_cert.number or registry_cert.date):
        if registry_cert.date is None:  # undated certificate: from the installation day
            registry_cert = Certificate(
                meter_id,
                installed,
                registry_cert.number,
                registry_cert.verifier,
                "registry-undated",
            )
        candidates.append(registry_cert)
    if not candidates:
        return [_deadline("first", installed, "no_certificate", meter_id)], None
    governing = max(candidates, key=lambda c: c.date)  # type: ignore[arg-type,return-value]
    assert governing.date is not None
    code = "undated" if governing.source == "registry-undated" else "certificate"
    args = {"number": governing.number or "-", "date": governing.date.isoformat()}
    if validity is not None:
        due = valid_until(governing.date, validity)
        return [_deadline("expiry", due, code, meter_id, **args)], governing
    due = rotation_due(governing.date, years)
    return [_deadline("rotation", due, code, meter_id, **args)], governing


def pick(deadlines: Sequence[Deadline]) -> Deadline:
    """The earliest deadline; on a tie the more specific reason (anomaly, failed) wins."""
    order = {"anomaly": 0, "failed": 1, "first": 2, "expiry": 3, "rotation": 4}
    return min(deadlines, key=lambda d: (d.due, order.get(d.reason, 9)))


def due_register(
    conn: Connection, today: dt.date, *, pile_ids: Iterable[str] | None = None
) -> list[PileDue]:
    """Every pile's due date, sorted by due date (most urgent first)."""
    wanted = set(pile_ids) if pile_ids is not None else None
    years = rotation_years(conn)
    cycles = validity_years(conn)
    policy = due_policy(conn)
    station_rows = {
        r.station_id: r
        for r in conn.execute(select(stations.c.station_id, stations.c.name, stations.c.district))
    }
    meters_by_pile: dict[str, list[Mapping]] = defaultdict(list)
    for r in conn.execute(
        select(
            meters.c.meter_id,
            meters.c.pile_id,
            meters.c.cert_no,
            meters.c.cert_date,
            meters.c.cert_verifier,
            meters.c.installed_ms,
        )
    ).mappings():
        meters_by_pile[r["pile_id"]].append(r)
    latest: dict[str, Certificate] = {}
    last_verified_ms: dict[str, int] = {}
    for r in conn.execute(
        select(
            verifications.c.pile_id,
            verifications.c.meter_id,
            verifications.c.at_ms,
            verifications.c.result,
            verifications.c.certificate_no,
            verifications.c.inspector_id,
        ).order_by(verifications.c.at_ms, verifications.c.entry_index)
    ):
        latest[r.meter_id] = Certificate(
            r.meter_id,
            cst_date(r.at_ms),
            r.certificate_no,
            r.inspector_id,
            "verification",
            r.result == "pass",
            r.at_ms,
        )
        last_verified_ms[r.pile_id] = max(last_verified_ms.get(r.pile_id, 0), r.at_ms)
    triggers = _anomaly_deadlines(conn, last_verified_ms)
    result: list[PileDue] = []
    for p in conn.execute(
        select(
            piles.c.pile_id,
            piles.c.station_id,
            piles.c.operator_id,
            piles.c.district,
            piles.c.kind,
            piles.c.commissioned_ms,
        )
    ):
        if wanted is not None and p.pile_id not in wanted:
            continue
        kind_years = years.get(p.kind, DEFAULT_ROTATION_YEARS.get(p.kind, 6))
        cycle = cycles.get(p.kind, DEFAULT_VALIDITY_YEARS.get(p.kind, 3))
        deadlines: list[Deadline] = []
        certs: list[Certificate] = []
        expiries: list[dt.date | None] = []
        pile_meters = meters_by_pile.get(p.pile_id, [])
        if not pile_meters:
            deadlines.append(_deadline("first", cst_date(p.commissioned_ms), "no_meter"))
        for m in pile_meters:
            registry_cert = Certificate(
                m["meter_id"],
                parse_cert_date(m["cert_date"]),
                m["cert_no"],
                m["cert_verifier"],
                "registry",
            )
            found, governing = meter_deadlines(
                m["meter_id"],
                cst_date(m["installed_ms"]),
                registry_cert,
                latest.get(m["meter_id"]),
                kind_years,
                validity=cycle if policy == "regulation" else None,
            )
            deadlines.extend(found)
            if governing is not None:
                certs.append(governing)
            if governing is None or not governing.passed or governing.date is None:
                expiries.append(None)  # this meter has no valid certificate at all
            else:
                expiries.append(valid_until(governing.date, cycle))
        anomaly = triggers.get(p.pile_id, [])
        deadlines.extend(anomaly)
        winner = pick(deadlines)
        days_left = (winner.due - today).days
        station = station_rows.get(p.station_id)
        result.append(
            PileDue(
                pile_id=p.pile_id,
                station_id=p.station_id,
                station_name=station.name if station else p.station_id,
                district=p.district or (station.district if station else ""),
                operator_id=p.operator_id,
                kind=p.kind,
                due_date=winner.due,
                reason=winner.reason,
                detail=winner.detail,
                days_left=days_left,
                status=status_for(days_left),
                triggered=bool(anomaly),
                certificates=tuple(certs),
                deadlines=tuple(sorted(deadlines, key=lambda d: d.due)),
                valid_until=(
                    None if not expiries or None in expiries else min(e for e in expiries if e)
                ),
                validity_years=cycle,
                policy=policy,
            )
        )
    result.sort(key=lambda r: (r.due_date, r.pile_id))
    return result


def _anomaly_deadlines(
    conn: Connection, last_verified_ms: Mapping[str, int]
) -> dict[str, list[Deadline]]:
    """Re-verification deadlines from findings newer than each pile's last verification."""
    severities = tuple(SEVERITY_DEADLINE_DAYS)
    dismissed: dict[tuple[str, str | None], dt.datetime] = {}
    for r in conn.execute(
        select(alarms.c.pile_id, alarms.c.rule_id, alarms.c.updated_at).where(
            alarms.c.state == "dismissed", alarms.c.pile_id.is_not(None)
        )
    ):
        key = (r.pile_id, r.rule_id)
        if key not in dismissed or r.updated_at > dismissed[key]:
            dismissed[key] = r.updated_at
    out: dict[str, list[Deadline]] = defaultdict(list)
    for r in conn.execute(
        select(
            anomalies.c.id,
            anomalies.c.pile_id,
            anomalies.c.rule_id,
            anomalies.c.at_ms,
            anomalies.c.severity,
            anomalies.c.detected_at,
        ).where(
            anomalies.c.severity.in_(severities),
            anomalies.c.pile_id.is_not(None),
            anomalies.c.closed_at.is_(None),  # disproved by later data (rules.close_disproved)
        )
    ):
        if r.at_ms <= last_verified_ms.get(r.pile_id, -1):
            continue
        gone = dismissed.get((r.pile_id, r.rule_id))
        if gone is not None and gone >= r.detected_at:
            continue
        deadline = anomaly_deadline(cst_date(r.at_ms), r.severity)
        assert deadline is not None
        out[r.pile_id].append(
            _deadline("anomaly", deadline, "anomaly", severity=r.severity, rule=r.rule_id, id=r.id)
        )
    for r in conn.execute(
        select(
            alarms.c.id, alarms.c.pile_id, alarms.c.kind, alarms.c.severity, alarms.c.created_at
        ).where(
            alarms.c.state.in_(OPEN_ALARM_STATES),
            alarms.c.severity.in_(severities),
            alarms.c.pile_id.is_not(None),
        )
    ):
        created_ms = int(r.created_at.timestamp() * 1000)
        if created_ms <= last_verified_ms.get(r.pile_id, -1):
            continue
        found = r.created_at.astimezone(CST).date()
        deadline = anomaly_deadline(found, r.severity)
        assert deadline is not None
        out[r.pile_id].append(
            _deadline("anomaly", deadline, "alarm", severity=r.severity, kind=r.kind, id=r.id)
        )
    return out


def certificates_of(conn: Connection, pile_id: str) -> list[Certificate]:
    """The pile's whole certificate history, newest first: each meter's registry
    certificate (``meters.cert_*``; undated ones last) and every synced verification
    record (passed or failed). For the pile detail and the certificate register."""
    out: list[Certificate] = []
    for m in conn.execute(
        select(meters.c.meter_id, meters.c.cert_no, meters.c.cert_date, meters.c.cert_verifier)
        .where(meters.c.pile_id == pile_id)
        .order_by(meters.c.meter_id)
    ):
        if m.cert_no or m.cert_date:
            date = parse_cert_date(m.cert_date)
            source = "registry" if date else "registry-undated"
            out.append(Certificate(m.meter_id, date, m.cert_no, m.cert_verifier, source))
    for v in conn.execute(
        select(
            verifications.c.meter_id,
            verifications.c.at_ms,
            verifications.c.certificate_no,
            verifications.c.inspector_id,
            verifications.c.result,
        ).where(verifications.c.pile_id == pile_id)
    ):
        out.append(
            Certificate(
                v.meter_id,
                cst_date(v.at_ms),
                v.certificate_no,
                v.inspector_id,
                "verification",
                v.result == "pass",
                v.at_ms,
            )
        )
    out.sort(key=lambda c: (c.date or dt.date.min, c.at_ms or 0), reverse=True)
    return out


# ---- the due list -------------------------------------------------------------------------


def due_list(
    conn: Connection,
    today: dt.date,
    *,
    horizon_days: int = 90,
    only: str | None = None,
) -> list[PileDue]:
    """Piles overdue, due within ``horizon_days``, or triggered by anomalies.

    ``only``: ``"overdue"``, ``"due_30"`` (0–30 days left), ``"due_90"`` or
    ``"triggered"`` narrows the list to one group, as the view's filter does.
    """
    rows = [r for r in due_register(conn, today) if r.days_left <= horizon_days or r.triggered]
    if only is None:
        return rows
    if only == "triggered":
        return [r for r in rows if r.triggered]
    if only not in STATUSES:
        raise ValueError(f"unknown filter {only!r}")
    return [r for r in rows if r.status == only]


def due_status_by_pile(conn: Connection, today: dt.date) -> dict[str, str]:
    """``pile_id -> "overdue" | "due_30" | "due_90" | "ok"`` for the map layer.

    The map colours ``"overdue"`` as "verification overdue"; every registered pile has
    an entry.
    """
    return {r.pile_id: r.status for r in due_register(conn, today)}


# ---- export ---------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("桩编号", "Pile"),
    ("充电站", "Station"),
    ("区县", "District"),
    ("运营商", "Operator"),
    ("类型", "Type"),
    ("到期日", "Due date"),
    ("剩余天数", "Days left"),
    ("状态", "Status"),
    ("原因", "Reason"),
    ("说明", "Detail"),
    ("最近证书日期", "Last certificate"),
    ("证书编号", "Certificate no."),
    ("证书有效期至", "Certificate valid until"),
    ("有效期依据", "Validity set by"),
    ("到期日依据", "Due date set by"),
)


def _export_rows(rows: Sequence[PileDue], lang: str) -> list[list[object]]:
    i = 0 if lang == "zh" else 1
    out: list[list[object]] = []
    for r in rows:
        cert = r.last_certificate
        out.append(
            [
                r.pile_id,
                r.station_name,
                r.district,
                r.operator_id,
                r.kind,
                r.due_date,
                r.days_left,
                STATUS_TEXT[r.status][i],
                REASON_TEXT[r.reason][i],
                r.explain("zh" if i == 0 else "en"),
                cert.date if cert else None,
                cert.number if cert else None,
                r.valid_until,
                explain("validity", {"years": r.validity_years}, "zh" if i == 0 else "en")
                if r.validity_years
                else None,
                RULE_TEXT[r.due_rule][i],
            ]
        )
    return out


def export_csv(rows: Sequence[PileDue], path: Path | str, *, lang: str = "zh") -> None:
    """UTF-8 with BOM so Excel on a Chinese Windows desktop opens it without mojibake."""
    i = 0 if lang == "zh" else 1
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow([c[i] for c in EXPORT_COLUMNS])
        for row in _export_rows(rows, lang):
            writer.writerow(
                ["" if v is None else (v.isoformat() if isinstance(v, dt.date) else v) for v in row]
            )


def export_xlsx(rows: Sequence[PileDue], path: Path | str, *, lang: str = "zh") -> None:
    """An XLSX with real date cells, a bold frozen header and an auto-filter."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    i = 0 if lang == "zh" else 1
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "检定到期" if lang == "zh" else "Due list"
    ws.append([c[i] for c in EXPORT_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in _export_rows(rows, lang):
        ws.append(row)
    for col in ("F", "K", "M"):
        for cell in ws[col][1:]:
            cell.number_format = "yyyy-mm-dd"
    widths = (14, 24, 10, 10, 6, 12, 8, 14, 18, 48, 14, 18, 14, 18, 30)
    for letter, width in zip("ABCDEFGHIJKLMNO", widths, strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(path)


# ---- the charging piles' due source (app.models.due_sources) ----------------------------

#: Charging's order inside the due list is the due date (the earliest deadline wins);
#: the priority only lifts the event-driven reasons above the calendar on equal dates.
_CHARGING_PRIORITY = {"anomaly": 0, "failed": 1, "first": 2, "expiry": 3, "rotation": 4}


def charging_due(conn: Connection, today: dt.date) -> list[DueRow]:
    """:func:`due_list` as the core's rows (the due-list view keeps its richer
    :class:`PileDue` columns for charging; work orders and other callers use these)."""
    return [
        DueRow(
            kind="charging",
            instrument_id=r.pile_id,
            site_id=r.station_id,
            site_name=r.station_name,
            district=r.district,
            operator_id=r.operator_id,
            reason=r.reason,
            priority=_CHARGING_PRIORITY.get(r.reason, 9),
            valid_until=r.valid_until,
            due_date=r.due_date,
            days_left=r.days_left,
            status=r.status,
            flagged=r.triggered or r.reason == "failed",
            evidence=r.explain("en"),
            extra=r.kind,
        )
        for r in due_list(conn, today)
    ]


def locate_piles(conn: Connection, pile_ids: Sequence[str]) -> dict[str, Site | None]:
    """Each pile's station; a pile whose station is not registered has no coordinates."""
    return sites_at_stations(conn, pile_ids, piles.c.pile_id, piles.c.station_id, stations)


def piles_verified_since(conn: Connection, pile_ids: Collection[str], since_ms: int) -> set[str]:
    """Piles with a synced verification record at or after ``since_ms``."""
    v = verifications.c
    return verified_since_in(conn, v.pile_id, v.at_ms, pile_ids, since_ms)


CHARGING_DUE = DueSource(
    name="charging",
    label=("充电桩", "charging piles"),
    rows=charging_due,
    locate=locate_piles,
    verified_since=piles_verified_since,
    minutes_per_item=10,  # the virtual-load verification's budget (app.models.workorders)
)
