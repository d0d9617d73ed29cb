"""The alarm workflow: which findings become alarms, and what regulators do with them.

An alarm is the unit of work on the regulator's desk. Findings of severity high/critical,
and every electronic-seal opening, open one; everything else stays a finding (visible on
the pile, not pushed at anyone). Why the rules below:

* **Grouped per pile and rule.** A faulty meter produces a finding per session; the
  regulator wants one alarm "P000123: metered vs billed" that collects the evidence, not
  forty. An open alarm for the same (pile, rule) absorbs new findings.
* **Debounced.** A source that flaps (seal opened, closed, opened again within
  :data:`DEBOUNCE_MS` of data time) gives one alarm: a finding within the debounce window
  of an alarm's last evidence is absorbed even if the alarm was just resolved or dismissed
  (its state is left alone; the absorption is audited).
* **Workflow** ``new → acknowledged → dispatched → resolved | dismissed`` (dismissed = false
  alarm; resolve/dismiss are allowed from any open state). Every change goes through
  :func:`app.models.store.transition_alarm` — optimistic version check and the audit entry
  in the same transaction — so two regulators racing on one alarm cannot both win, and the
  loser is told who did it (:class:`AlarmConflict`).
* **Dispatch creates the verification task.** The schema has no task table, so the task
  (inspector, pile, kind "triggered", who/when/note) is stored in the alarm's
  ``evidence["task"]`` and ``assigned_to``, and written to the audit log as
  ``task.created`` with the pile as subject: the inspector's verification record, when it
  comes back through the ledger, names the same pile.
* **Roles checked here, not in the view** (issue 13 item 2): every workflow step takes
  the signed-in :class:`app.models.users.Session`; dismissing needs ``alarms.dismiss``,
  the other steps ``alarms.handle`` (regulators). The audit row and ``updated_by`` name
  that user — never a default. Opening alarms is the sync's work, audited as
  :data:`SYSTEM_USER`.
* ``piles.status`` follows the open alarms (``seal_open`` / ``alarm`` / ``normal``) so the
  map can colour piles without a join.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from app.models import store as st
from app.models.findings import ALARM_SEVERITIES, CATALOGUE, SEVERITIES, Finding
from app.models.users import RULES_ENGINE, Session, require

DEBOUNCE_MS = 10 * 60_000
"""Findings of one (pile, rule) closer than this (data time) belong to one alarm."""
OPEN_STATES = ("new", "acknowledged", "dispatched")
CLOSED_STATES = ("resolved", "dismissed")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "acknowledged": ("new",),
    "dispatched": ("new", "acknowledged"),
    "resolved": OPEN_STATES,
    "dismissed": OPEN_STATES,
}
MAX_FINDINGS_KEPT = 200
"""Findings listed in an alarm's evidence (all entries are kept; the list is for the UI)."""
SEAL_RULE = "R11"
SYSTEM_USER = "system"
STATUS_HOOKS: list[Callable[[Connection, str, frozenset[str]], None]] = []
"""Instrument kinds keep their own instrument's status column in step with its open
alarms (a fuel dispenser's: registered by the composition root); each is called with the
instrument ID (``alarms.pile_id``) and the rule IDs of its open alarms."""


class AlarmConflict(RuntimeError):
    """Someone else changed the alarm first; the message says who, to what, and when."""

    def __init__(self, alarm_id: int, state: str, by: str | None, at: datetime | None) -> None:
        when = at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "an unknown time"
        super().__init__(f"alarm {alarm_id} already {state} by {by or 'unknown'} at {when}")
        self.alarm_id, self.state, self.by, self.at = alarm_id, state, by, at


class AlarmNotFound(KeyError):
    """No alarm with that id."""


@dataclass(frozen=True)
class Alarm:
    """One ``alarms`` row."""

    id: int
    created_at: datetime
    kind: str
    severity: str
    pile_id: str | None
    rule_id: str | None
    title_zh: str
    title_en: str
    evidence: Mapping[str, Any]
    state: str
    assigned_to: str | None
    updated_at: datetime
    updated_by: str | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def _alarm(row: Mapping[str, Any]) -> Alarm:
    return Alarm(**{k: row[k] for k in Alarm.__dataclass_fields__})


def get_alarm(conn: Connection, alarm_id: int) -> Alarm:
    row = conn.execute(select(st.alarms).where(st.alarms.c.id == alarm_id)).mappings().first()
    if row is None:
        raise AlarmNotFound(alarm_id)
    return _alarm(row)


def list_open(
    conn: Connection,
    *,
    pile_id: str | None = None,
    min_severity: str | None = None,
    limit: int = 1000,
) -> list[Alarm]:
    """Open alarms, most severe first, then oldest first (the regulator's work queue)."""
    stmt = select(st.alarms).where(st.alarms.c.state.in_(OPEN_STATES))
    if pile_id is not None:
        stmt = stmt.where(st.alarms.c.pile_id == pile_id)
    if min_severity is not None:
        allowed = SEVERITIES[SEVERITIES.index(min_severity) :]
        stmt = stmt.where(st.alarms.c.severity.in_(allowed))
    rows = conn.execute(stmt.order_by(st.alarms.c.created_at, st.alarms.c.id)).mappings()
    alarms = [_alarm(r) for r in rows]
    alarms.sort(key=lambda a: -SEVERITIES.index(a.severity) if a.severity in SEVERITIES else 0)
    return alarms[:limit]


# ---- opening -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """Something that may open an alarm: a stored finding or a seal event."""

    rule_id: str
    pile_id: str | None
    at_ms: int
    severity: str
    entries: tuple[int, ...]
    anomaly_id: int | None
    detail: Mapping[str, Any]
    kind: str


def _seal_items(conn: Connection, seal_entries: Sequence[int]) -> list[_Item]:
    if not seal_entries:
        return []
    stmt = text(
        "SELECT entry_index, meter_id, pile_id, at_ms FROM seal_events "
        "WHERE entry_index IN :ids AND event = 'opened'"
    ).bindparams(bindparam("ids", expanding=True))
    items = []
    for start in range(0, len(seal_entries), 5000):
        chunk = list(seal_entries[start : start + 5000])
        for entry, meter_id, pile_id, at_ms in conn.execute(stmt, {"ids": chunk}):
            items.append(
                _Item(
                    SEAL_RULE,
                    pile_id,
                    int(at_ms),
                    "critical",
                    (int(entry),),
                    None,
                    {"meter_id": meter_id, "event": "opened"},
                    "seal",
                )
            )
    return items


def open_alarms_for(
    conn: Connection,
    findings: Iterable[Finding],
    *,
    seal_entries: Sequence[int] = (),
    user: str = SYSTEM_USER,
) -> list[Alarm]:
    """Opens or extends alarms for new findings (and seal openings); returns those touched.

    Call in the transaction that stored the findings (``run_incremental``/``full_rescan``
    output) with ``seal_entries=summary.seal_entries`` so every seal opening alarms, even
    one an inspector's verification already explains.
    """
    items = [
        _Item(
            f.rule_id,
            f.pile_id,
            f.at_ms,
            f.severity,
            f.evidence,
            f.anomaly_id,
            f.detail,
            "seal" if f.rule_id == SEAL_RULE else "anomaly",
        )
        for f in findings
        if f.severity in ALARM_SEVERITIES
    ]
    items += _seal_items(conn, seal_entries)
    groups: dict[tuple[str | None, str], list[_Item]] = defaultdict(list)
    for item in items:
        groups[(item.pile_id, item.rule_id)].append(item)
    touched: dict[int, Alarm] = {}
    for (pile_id, rule_id), group in sorted(groups.items(), key=lambda kv: str(kv[0])):
        group.sort(key=lambda i: (i.at_ms, i.entries))
        target = _absorbing_alarm(conn, pile_id, rule_id, group[0].at_ms)
        if target is None:
            alarm_id = _create(conn, pile_id, rule_id, group, user)
        else:
            alarm_id = target.id
            _absorb(conn, target, group, user)
        touched[alarm_id] = get_alarm(conn, alarm_id)
        _refresh_pile_status(conn, pile_id)
    return list(touched.values())


def _absorbing_alarm(
    conn: Connection, pile_id: str | None, rule_id: str, at_ms: int
) -> Alarm | None:
    """The open alarm of (pile, rule), else a closed one whose evidence ends within the
    debounce window before ``at_ms`` (a flapping source)."""
    pile_cond = st.alarms.c.pile_id.is_(None) if pile_id is None else st.alarms.c.pile_id == pile_id
    base = select(st.alarms).where(pile_cond, st.alarms.c.rule_id == rule_id)
    row = (
        conn.execute(base.where(st.alarms.c.state.in_(OPEN_STATES)).order_by(st.alarms.c.id.desc()))
        .mappings()
        .first()
    )
    if row is not None:
        return _alarm(row)
    row = conn.execute(base.order_by(st.alarms.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    last = int(row["evidence"].get("last_at_ms", -(2**62)))
    return _alarm(row) if abs(at_ms - last) <= DEBOUNCE_MS else None


def _finding_json(item: _Item) -> dict[str, Any]:
    return {
        "rule_id": item.rule_id,
        "at_ms": item.at_ms,
        "severity": item.severity,
        "entries": list(item.entries),
        "anomaly_id": item.anomaly_id,
        "detail": dict(item.detail),
    }


def _merge_evidence(evidence: Mapping[str, Any], group: Sequence[_Item]) -> dict[str, Any]:
    merged = dict(evidence)
    entries = set(merged.get("entries", []))
    anomaly_ids = set(merged.get("anomaly_ids", []))
    findings = list(merged.get("findings", []))
    for item in group:
        entries.update(item.entries)
        if item.anomaly_id is not None:
            anomaly_ids.add(item.anomaly_id)
        if len(findings) < MAX_FINDINGS_KEPT:
            findings.append(_finding_json(item))
    times = [i.at_ms for i in group]
    merged.update(
        entries=sorted(entries),
        anomaly_ids=sorted(anomaly_ids),
        findings=findings,
        count=int(merged.get("count", 0)) + len(group),
        first_at_ms=min([*times, *([merged["first_at_ms"]] if "first_at_ms" in merged else [])]),
        last_at_ms=max([*times, *([merged["last_at_ms"]] if "last_at_ms" in merged else [])]),
    )
    return merged


def _worst(severities: Iterable[str]) -> str:
    return max(severities, key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else -1)


def _create(
    conn: Connection, pile_id: str | None, rule_id: str, group: Sequence[_Item], user: str
) -> int:
    rule = CATALOGUE.get(rule_id)
    now = st.utcnow()
    evidence = _merge_evidence({}, group)
    severity = _worst(i.severity for i in group)
    alarm_id = int(
        conn.execute(
            insert(st.alarms).returning(st.alarms.c.id),
            {
                "created_at": now,
                "kind": group[0].kind,
                "severity": severity,
                "pile_id": pile_id,
                "rule_id": rule_id,
                "title_zh": rule.title_zh if rule else rule_id,
                "title_en": rule.title_en if rule else rule_id,
                "evidence": evidence,
                "state": "new",
                "updated_at": now,
                "updated_by": user,
                "version": 1,
            },
        ).scalar_one()
    )
    st.write_audit(
        conn,
        user,
        "alarm.opened",
        f"alarm {alarm_id}",
        {"pile_id": pile_id, "rule_id": rule_id, "severity": severity, "count": len(group)},
        at=now,
    )
    return alarm_id


def _absorb(conn: Connection, alarm: Alarm, group: Sequence[_Item], user: str) -> None:
    """Adds evidence to an alarm without changing its state or version (a regulator
    working on it is not interrupted by the sync; the UI reloads the evidence)."""
    evidence = _merge_evidence(alarm.evidence, group)
    severity = _worst([alarm.severity, *(i.severity for i in group)])
    conn.execute(
        update(st.alarms)
        .where(st.alarms.c.id == alarm.id)
        .values(evidence=evidence, severity=severity)
    )
    st.write_audit(
        conn,
        user,
        "alarm.evidence",
        f"alarm {alarm.id}",
        {
            "added": len(group),
            "entries": sorted({e for i in group for e in i.entries})[:100],
            "state": alarm.state,
            "debounced": alarm.state in CLOSED_STATES,
        },
    )


def _refresh_pile_status(conn: Connection, pile_id: str | None) -> None:
    if pile_id is None:
        return
    rules = {
        r[0]
        for r in conn.execute(
            select(st.alarms.c.rule_id).where(
                st.alarms.c.pile_id == pile_id, st.alarms.c.state.in_(OPEN_STATES)
            )
        )
    }
    status = "seal_open" if SEAL_RULE in rules else "alarm" if rules else "normal"
    conn.execute(update(st.piles).where(st.piles.c.pile_id == pile_id).values(status=status))
    for hook in STATUS_HOOKS:
        hook(conn, pile_id, frozenset(rules))


def resolve_disproved(
    conn: Connection, closures: Sequence[Any], actor: Session | None = None
) -> list[int]:
    """Resolves open alarms all of whose findings the rules closed (later data disproved
    them: ``rules.Closure`` items); the audit note names the closing entries. An alarm
    with one finding still open stays as it is. Returns the resolved alarm ids."""
    closed = {c.anomaly_id: c for c in closures}
    if not closed:
        return []
    open_ids = {
        r[0] for r in conn.execute(text("SELECT id FROM anomalies WHERE closed_at IS NULL"))
    }
    resolved = []
    rows = conn.execute(select(st.alarms).where(st.alarms.c.state.in_(OPEN_STATES))).mappings()
    for alarm in [_alarm(r) for r in rows]:
        ids = set(alarm.evidence.get("anomaly_ids", []))
        if not ids & closed.keys() or ids & open_ids:
            continue
        entries = sorted(
            {closed[i].entry for i in ids if i in closed and closed[i].entry is not None}
        )
        note = f"disproved by later data: entries {entries}"
        if st.transition_alarm(
            conn, alarm.id, alarm.version, "resolved", actor or RULES_ENGINE, note
        ):
            resolved.append(alarm.id)
            _refresh_pile_status(conn, alarm.pile_id)
    return resolved


# ---- workflow ------------------------------------------------------------------------


def action_for(new_state: str) -> str:
    """The permission a step needs: dismissing a false alarm is its own duty."""
    return "alarms.dismiss" if new_state == "dismissed" else "alarms.handle"


def _transition(
    store: st.Store,
    alarm_id: int,
    new_state: str,
    session: Session,
    note: str,
    *,
    version: int | None,
    assigned_to: str | None = None,
    task: Mapping[str, Any] | None = None,
) -> Alarm:
    """One workflow step in one transaction; raises AlarmConflict naming the winner.

    Raises :class:`app.models.users.PermissionDenied` before touching anything when the
    session's role may not take the step.
    """
    require(session, action_for(new_state))
    user = session.username
    with store.transaction() as conn:
        current = get_alarm(conn, alarm_id)
        expected = current.version if version is None else version
        if current.version != expected or current.state not in ALLOWED_FROM[new_state]:
            raise AlarmConflict(alarm_id, current.state, current.updated_by, current.updated_at)
        if not st.transition_alarm(
            conn, alarm_id, expected, new_state, session, note, assigned_to=assigned_to
        ):
            winner = get_alarm(conn, alarm_id)  # READ COMMITTED: sees the winner's commit
            raise AlarmConflict(alarm_id, winner.state, winner.updated_by, winner.updated_at)
        if task is not None:
            evidence = {**current.evidence, "task": dict(task)}
            conn.execute(
                update(st.alarms).where(st.alarms.c.id == alarm_id).values(evidence=evidence)
            )
            st.write_audit(conn, user, "task.created", f"pile {current.pile_id}", dict(task))
        if new_state in CLOSED_STATES:
            _refresh_pile_status(conn, current.pile_id)
        return get_alarm(conn, alarm_id)


def acknowledge(
    store: st.Store, alarm_id: int, session: Session, note: str = "", *, version: int | None = None
) -> Alarm:
    """A regulator has seen the alarm and owns it (new → acknowledged)."""
    return _transition(store, alarm_id, "acknowledged", session, note, version=version)


def dispatch(
    store: st.Store,
    alarm_id: int,
    session: Session,
    note: str = "",
    *,
    inspector_id: str,
    due: str | None = None,
    version: int | None = None,
) -> Alarm:
    """Sends an inspector to verify the pile: creates the verification task (see module doc)."""
    require(session, action_for("dispatched"))
    user = session.username
    with store.engine.connect() as conn:
        pile_id = get_alarm(conn, alarm_id).pile_id
    task = {
        "task_id": f"alarm-{alarm_id}",
        "kind": "triggered",
        "pile_id": pile_id,
        "inspector_id": inspector_id,
        "created_by": user,
        "created_at": st.utcnow().isoformat(),
        "due": due,
        "note": note,
        "status": "open",
    }
    return _transition(
        store,
        alarm_id,
        "dispatched",
        session,
        note,
        version=version,
        assigned_to=inspector_id,
        task=task,
    )


def resolve(
    store: st.Store, alarm_id: int, session: Session, note: str = "", *, version: int | None = None
) -> Alarm:
    """The cause is dealt with (e.g. the inspector's verification came back)."""
    return _transition(store, alarm_id, "resolved", session, note, version=version)


def dismiss(
    store: st.Store, alarm_id: int, session: Session, note: str = "", *, version: int | None = None
) -> Alarm:
    """A false alarm; the note should say why (it is the audit trail's explanation)."""
    return _transition(store, alarm_id, "dismissed", session, note, version=version)


def history(conn: Connection, alarm_id: int) -> list[dict[str, Any]]:
    """The alarm's audit entries, oldest first."""
    rows = conn.execute(
        select(st.audit_log)
        .where(st.audit_log.c.subject == f"alarm {alarm_id}")
        .order_by(st.audit_log.c.id)
    ).mappings()
    return [dict(r) for r in rows]
