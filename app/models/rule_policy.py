"""The severity policy: which findings open an alarm, and the regulator's changes to it.

By default a finding opens an alarm when its severity is high or critical
(:data:`app.models.findings.ALARM_SEVERITIES`; docs/rules.md says why for each rule). A
regulator may change that per rule: "always" raises every finding of the rule to an
alarm, "never" keeps them all on the pile's finding list only. The choice is stored in
the shared database (``rule_policy``), so every desktop of an office applies the same
policy, and each change is audited under the regulator's name.

Changing it is an enforcement decision, so it needs the same permission as dismissing
an alarm (a regulator; not an inspector, not the account administrator).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from sqlalchemy import Connection, delete, select

from app.models import store as st
from app.models import users
from app.models.findings import ALARM_SEVERITIES, CATALOGUE, Finding

PERMISSION = "alarms.dismiss"


class PolicyError(ValueError):
    """A policy change names no rule of the catalogue."""


def load(conn: Connection) -> dict[str, bool]:
    """{rule_id: opens an alarm} for the rules whose default a regulator changed."""
    rows = conn.execute(select(st.rule_policy.c.rule_id, st.rule_policy.c.opens_alarm))
    return {rule_id: bool(opens) for rule_id, opens in rows}


def opens_alarm(rule_id: str, severity: str, policy: Mapping[str, bool]) -> bool:
    """Whether a finding of ``rule_id`` at ``severity`` opens an alarm under ``policy``."""
    return policy.get(rule_id, severity in ALARM_SEVERITIES)


def apply(conn: Connection, findings: Iterable[Finding]) -> list[Finding]:
    """The findings as the alarm workflow should see them: a rule set to "always" gives
    its findings at least severity high, "never" at most warning (the stored findings
    keep the rule's own severity)."""
    policy = load(conn)
    out = []
    for f in findings:
        wanted = policy.get(f.rule_id)
        if wanted is True and f.severity not in ALARM_SEVERITIES:
            f = replace(f, severity="high")
        elif wanted is False and f.severity in ALARM_SEVERITIES:
            f = replace(f, severity="warning")
        out.append(f)
    return out


def set_opens_alarm(
    conn: Connection, session: users.Session | None, rule_id: str, opens: bool | None
) -> None:
    """Sets (True/False) or resets to the default (None) whether ``rule_id`` opens alarms.

    Raises :class:`app.models.users.PermissionDenied` unless the signed-in user may
    dismiss alarms, :class:`PolicyError` for a rule the catalogue does not have.
    """
    actor = users.require(session, PERMISSION)
    if rule_id not in CATALOGUE:
        raise PolicyError(f"no rule {rule_id!r} in the catalogue (R01 … R{len(CATALOGUE):02d})")
    conn.execute(delete(st.rule_policy).where(st.rule_policy.c.rule_id == rule_id))
    if opens is not None:
        conn.execute(
            st.rule_policy.insert(),
            {
                "rule_id": rule_id,
                "opens_alarm": opens,
                "updated_at": st.utcnow(),
                "updated_by": actor.username,
            },
        )
    st.write_audit(
        conn,
        actor.username,
        "rules.policy",
        f"rule {rule_id}",
        {"opens_alarm": opens, "default": CATALOGUE[rule_id].severity in ALARM_SEVERITIES},
    )
