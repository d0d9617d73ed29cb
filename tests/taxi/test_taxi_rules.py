"""Taxi findings T01/T02 and what settles them: the same records, batch by batch through
the core projection and batch analysis (`analyse_batch`: rules, then alarms), as the sync
applies them. A later verification of the meter settles a broken seal (if it closed the
seal) and a failed verification (if it passed), as the suspension list does, and the
alarm resolves; a failed re-verification settles nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.projection import apply_records
from ledger.records import Record
from tests.taxi.town import T0, Town

DAY = 86_400_000
PLATE, SERIAL, TERMINAL = "浙A·R0001", "M-R1", "TERM-R1"


class Run:
    def __init__(self, store: st.Store) -> None:
        self.store, self.next = store, 0

    def batch(self, records: list[Record]) -> None:
        entries = [(self.next + i, r) for i, r in enumerate(records)]
        self.next += len(entries)
        with self.store.transaction() as conn:
            analyse_batch(conn, apply_records(conn, entries))

    def state(self) -> tuple[list[tuple[str, bool]], list[str]]:
        """((rule, open?) per taxi finding, the states of the taxi's alarms)."""
        a, al = st.anomalies, st.alarms
        with self.store.engine.connect() as conn:
            found = conn.execute(
                select(a.c.rule_id, a.c.closed_at).where(a.c.rule_id.like("T%")).order_by(a.c.id)
            ).all()
            alarms = conn.execute(
                select(al.c.state).where(al.c.pile_id == PLATE).order_by(al.c.id)
            ).scalars()
            return [(r, closed is None) for r, closed in found], list(alarms)


@pytest.fixture
def run(tmp_path):
    with st.Store.open(f"sqlite:///{tmp_path / 'taxi.sqlite'}") as store:
        town = Town()
        r = Run(store)
        r.batch([*town.registry(), *town.taxi(PLATE, SERIAL, TERMINAL)])
        r.town = town  # type: ignore[attr-defined]
        yield r


def test_a_seal_closing_verification_settles_a_broken_seal(run):
    town = run.town
    run.batch([town.verification(PLATE, SERIAL, T0 + DAY, "2027-01-01")])
    run.batch([town.seal(PLATE, SERIAL, TERMINAL, T0 + 2 * DAY, "tamper")])
    assert run.state() == ([("T01", True)], ["new"])
    run.batch([town.verification(PLATE, SERIAL, T0 + 3 * DAY, "2027-01-01")])
    assert run.state() == ([("T01", False)], ["resolved"])


def test_a_failed_verification_is_settled_by_a_passed_one_not_by_another_failure(run):
    town = run.town
    run.batch([town.verification(PLATE, SERIAL, T0 + DAY, "2027-01-01", error_ppm=-41_000)])
    assert run.state() == ([("T02", True)], ["new"])
    # a second failure: a second finding, the first one stays open
    run.batch([town.verification(PLATE, SERIAL, T0 + 2 * DAY, "2027-01-01", error_ppm=12_000)])
    findings, alarms = run.state()
    assert findings == [("T02", True), ("T02", True)] and "resolved" not in alarms
    run.batch([town.verification(PLATE, SERIAL, T0 + 3 * DAY, "2027-01-01")])
    findings, alarms = run.state()
    assert findings == [("T02", False), ("T02", False)] and set(alarms) == {"resolved"}


def test_a_verification_of_another_meter_settles_nothing(run):
    town = run.town
    run.batch([*town.taxi("浙A·R0002", "M-R2", "TERM-R2")])
    run.batch([town.seal(PLATE, SERIAL, TERMINAL, T0 + 2 * DAY, "opened")])
    run.batch([town.verification("浙A·R0002", "M-R2", T0 + 3 * DAY, "2027-01-01")])
    assert run.state() == ([("T01", True)], ["new"])
