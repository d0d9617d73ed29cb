"""What every instrument kind's rules produce, and the catalogue they are listed in.

The core (alarms, the alarm queue, rule policy, evidence bundles) works on `Finding`s
and looks a rule up in `CATALOGUE` by its ID; each kind registers its numbered rules
(charging R01–R27 in `app.models.charging.rules`, fuel F01… in `app.models.fuel.rules`). A
finding's ``pile_id`` column names the instrument it is about — a charging pile or a
fuel dispenser — and ``meter_id`` its measuring part (a pile's meter, a dispenser's
nozzle ``D…#n``): the store's column names predate the second kind (docs/architecture.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect

from app.models import store as st

SEVERITIES = ("info", "warning", "high", "critical")
ALARM_SEVERITIES = frozenset({"high", "critical"})


@dataclass(frozen=True)
class Rule:
    """One numbered rule as the regulator sees it (titles and explanations zh + en)."""

    rule_id: str
    severity: str
    title_zh: str
    title_en: str
    explain_zh: str
    explain_en: str
    evidence: str
    """Which entries a finding cites, in its evidence list (for the UI and the report)."""
    in_engine: bool = True


CATALOGUE: dict[str, Rule] = {}
"""Every registered kind's rules by ID."""


def register_rules(rules: Iterable[Rule]) -> None:
    """Adds a kind's rules; an ID already taken by another rule is a programming error."""
    for rule in rules:
        known = CATALOGUE.get(rule.rule_id)
        if known is not None and known != rule:
            raise ValueError(f"rule {rule.rule_id} is already registered as {known.title_en!r}")
        if rule.severity not in SEVERITIES:
            raise ValueError(f"rule {rule.rule_id}: unknown severity {rule.severity!r}")
        CATALOGUE[rule.rule_id] = rule


@dataclass(frozen=True)
class Finding:
    """One rule hit: what, where, when, how bad, and the entries it rests on."""

    rule_id: str
    pile_id: str | None
    """The instrument: a charging pile's or a fuel dispenser's ID."""
    meter_id: str | None
    """Its measuring part: a pile's meter, a dispenser's nozzle."""
    at_ms: int
    severity: str
    evidence: tuple[int, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)
    anomaly_id: int | None = None
    """The ``anomalies`` row id once stored."""

    @property
    def evidence_key(self) -> str:
        return st.evidence_key(self.evidence)

    @property
    def rule(self) -> Rule:
        return CATALOGUE[self.rule_id]


# ---- storing, closing and reopening findings (every kind's rules) ---------------------

RULES_ACTOR = "rules"
"""The audit log's name for the engines when they close (or reopen) a finding themselves."""
_IN_CHUNK = 5000


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def insert_findings(conn: Connection, findings: Sequence[Finding]) -> list[Finding]:
    """Stores findings, skipping ones already stored; returns the new ones (with ids),
    and the ones closed earlier that are derived again (reopened).

    ``INSERT … ON CONFLICT (rule_id, evidence_key) DO NOTHING RETURNING`` on both backends:
    a rescan, or an incremental run seeing a row twice, inserts nothing.
    """
    unique: dict[tuple[str, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule_id, f.evidence_key), f)
    if not unique:
        return []
    now = st.utcnow()
    dialect = conn.dialect.name
    ins: Any = postgresql.insert if dialect == "postgresql" else sqlite_dialect.insert
    stmt = (
        ins(st.anomalies)
        .on_conflict_do_nothing(index_elements=["rule_id", "evidence_key"])
        .returning(st.anomalies.c.id, st.anomalies.c.rule_id, st.anomalies.c.evidence_key)
    )
    items = list(unique.values())
    new: list[Finding] = []
    for start in range(0, len(items), 500):
        batch = items[start : start + 500]
        rows = [
            {
                "rule_id": f.rule_id,
                "pile_id": f.pile_id,
                "meter_id": f.meter_id,
                "at_ms": f.at_ms,
                "severity": f.severity,
                "evidence": list(f.evidence),
                "evidence_key": f.evidence_key,
                "detail": dict(f.detail),
                "detected_at": now,
            }
            for f in batch
        ]
        for anomaly_id, rule_id, key in conn.execute(stmt, rows).all():
            new.append(replace(unique[(rule_id, key)], anomaly_id=int(anomaly_id)))
    inserted = {(f.rule_id, f.evidence_key) for f in new}
    new += _reopen(conn, [f for k, f in unique.items() if k not in inserted])
    new.sort(key=lambda f: (f.at_ms, f.rule_id, f.evidence))
    return new


@dataclass(frozen=True)
class Closure:
    """A stored finding the rules closed: which, by which entry, and why."""

    anomaly_id: int
    rule_id: str
    entry: int | None
    reason: str


def open_findings(
    conn: Connection,
    rule_ids: Iterable[str] | None = None,
    meter_ids: Sequence[str] | None = None,
) -> list[Finding]:
    """Open (not closed by later data) stored findings: what the regulator should see;
    only of ``rule_ids`` and for ``meter_ids`` when given."""
    if rule_ids is None:
        rule_ids = CATALOGUE
    sql = (
        "SELECT id, rule_id, pile_id, meter_id, at_ms, severity, evidence, detail "
        "FROM anomalies WHERE closed_at IS NULL AND rule_id IN :rules"
    )
    stmt = text(sql + (" AND meter_id IN :ids" if meter_ids is not None else "")).bindparams(
        bindparam("rules", expanding=True)
    )
    if meter_ids is not None:
        stmt = stmt.bindparams(bindparam("ids", expanding=True))
    groups = [None] if meter_ids is None else list(_chunks(list(meter_ids)))
    if meter_ids is not None and not meter_ids:
        return []
    found = []
    for chunk in groups:
        params: dict[str, Any] = {"rules": sorted(rule_ids)}
        if chunk is not None:
            params["ids"] = chunk
        for r in conn.execute(stmt, params).mappings():
            evidence = (
                r["evidence"] if not isinstance(r["evidence"], str) else json.loads(r["evidence"])
            )
            detail = r["detail"] if not isinstance(r["detail"], str) else json.loads(r["detail"])
            found.append(
                Finding(
                    r["rule_id"],
                    r["pile_id"],
                    r["meter_id"],
                    int(r["at_ms"]),
                    r["severity"],
                    tuple(evidence),
                    detail,
                    int(r["id"]),
                )
            )
    return found


def close_findings(
    conn: Connection, items: Sequence[tuple[Finding, int | None, str]]
) -> list[Closure]:
    """Marks findings closed and writes one audit entry each (actor :data:`RULES_ACTOR`),
    in two statements whatever their number."""
    if not items:
        return []
    now = st.utcnow()
    ids = [f.anomaly_id for f, _entry, _reason in items]
    still_open = set()
    for chunk in _chunks(ids):  # type: ignore[arg-type]
        still_open.update(
            r[0]
            for r in conn.execute(
                select(st.anomalies.c.id).where(
                    st.anomalies.c.id.in_(chunk), st.anomalies.c.closed_at.is_(None)
                )
            )
        )
    items = [item for item in items if item[0].anomaly_id in still_open]
    if not items:
        return []
    conn.execute(
        st.anomalies.update()
        .where(st.anomalies.c.id == bindparam("aid"))
        .values(closed_entry=bindparam("entry"), closed_at=now),
        [{"aid": f.anomaly_id, "entry": entry} for f, entry, _reason in items],
    )
    conn.execute(
        st.audit_log.insert(),
        [
            {
                "at": now,
                "user": RULES_ACTOR,
                "action": "anomaly.closed",
                "subject": f"anomaly {f.anomaly_id}",
                "detail": {"rule_id": f.rule_id, "closed_by_entry": entry, "reason": reason},
            }
            for f, entry, reason in items
        ],
    )
    return [Closure(int(f.anomaly_id or 0), f.rule_id, entry, reason) for f, entry, reason in items]


def _reopen(conn: Connection, findings: Sequence[Finding]) -> list[Finding]:
    """Stored findings closed earlier that the rules derive again: reopened (audited) and
    returned with their ids, so alarms treat them as new."""
    closed = {
        (r.rule_id, r.evidence_key): int(r.id)
        for r in conn.execute(
            text("SELECT id, rule_id, evidence_key FROM anomalies WHERE closed_at IS NOT NULL")
        )
    }
    if not closed:
        return []
    again = []
    for f in findings:
        anomaly_id = closed.pop((f.rule_id, f.evidence_key), None)
        if anomaly_id is None:
            continue
        conn.execute(
            st.anomalies.update()
            .where(st.anomalies.c.id == anomaly_id)
            .values(closed_entry=None, closed_at=None)
        )
        st.write_audit(
            conn, RULES_ACTOR, "anomaly.reopened", f"anomaly {anomaly_id}", {"rule_id": f.rule_id}
        )
        again.append(replace(f, anomaly_id=anomaly_id))
    return again


def stored_findings(conn: Connection) -> list[Finding]:
    """Every stored anomaly as a Finding (tests and the CLI compare runs with this)."""
    rows = conn.execute(st.anomalies.select().order_by(st.anomalies.c.id)).mappings().all()
    return [
        Finding(
            r["rule_id"],
            r["pile_id"],
            r["meter_id"],
            int(r["at_ms"]),
            r["severity"],
            tuple(r["evidence"]),
            r["detail"],
            int(r["id"]),
        )
        for r in rows
    ]
