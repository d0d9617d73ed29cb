"""What every synced batch goes through before it commits: the incremental anomaly
rules, then alarms for high-severity findings and every seal opening. The GUI's sync
worker and the headless `main.py sync` share it, so both leave the store the same."""

from __future__ import annotations

from sqlalchemy import Connection

from app.models import alarms, rules
from app.models.projection import BatchSummary


def analyse_batch(conn: Connection, summary: BatchSummary) -> None:
    findings = rules.run_incremental(conn, summary)
    alarms.open_alarms_for(conn, findings, seal_entries=summary.seal_entries)
