"""What every synced batch goes through before it commits: the incremental anomaly
rules, then alarms for the findings the severity policy says open one (and every seal
opening), and alarms resolved when every finding they rest on was disproved. The GUI's sync
worker and the headless `main.py sync` share it, so both leave the store the same."""

from __future__ import annotations

from sqlalchemy import Connection

from app.models import alarms, rule_policy
from app.models.findings import Closure, Finding
from app.models.kinds import PROJECTIONS
from app.models.projection import BatchSummary


def analyse_batch(conn: Connection, summary: BatchSummary) -> None:
    closed: list[Closure] = []
    findings: list[Finding] = []
    for kind in PROJECTIONS.values():
        if kind.analyse is not None:
            findings += kind.analyse(conn, summary, closed)
    alarms.open_alarms_for(
        conn, rule_policy.apply(conn, findings), seal_entries=summary.seal_entries
    )
    alarms.resolve_disproved(conn, closed)
