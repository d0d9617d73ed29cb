"""The alarm workflow on both backends, and regulators racing on real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.models import alarms
from app.models import store as st
from app.models.charging import rules
from app.models.projection import apply_records
from app.models.store import Store
from app.models.users import PermissionDenied, Session
from tests.models.test_rules import MIN, T0, World


def signed_in(name: str, role: str = "regulator") -> Session:
    """A signed-in user of ``role`` (what sign_in returns; the key is not needed here)."""
    return Session(sum(map(ord, name)), name, name, role)


def finding(rule_id: str = "R01", at_ms: int = T0, entry: int = 100, **kw: object) -> rules.Finding:
    return rules.Finding(
        rule_id,
        str(kw.get("pile_id", "P000001")),
        "M000001",
        at_ms,
        str(kw.get("severity", rules.CATALOGUE[rule_id].severity)),
        (entry,),
        {"session_id": f"S{entry}"},
    )


def open_one(store: Store, *found: rules.Finding) -> list[alarms.Alarm]:
    with store.transaction() as conn:
        return alarms.open_alarms_for(conn, list(found) or [finding()])


def test_high_findings_open_grouped_alarms(store: Store) -> None:
    with store.transaction() as conn:
        opened = alarms.open_alarms_for(
            conn,
            [
                finding("R01", T0, 10),
                finding("R01", T0 + 3_600_000, 11),  # same pile + rule: absorbed
                finding("R04", T0, 12),  # a warning: no alarm
                finding("R09", T0, 13, severity="high"),
                finding("R01", T0, 14, pile_id="P000002"),
            ],
        )
    assert sorted((a.pile_id, a.rule_id) for a in opened) == [
        ("P000001", "R01"),
        ("P000001", "R09"),
        ("P000002", "R01"),
    ]
    r01 = next(a for a in opened if a.pile_id == "P000001" and a.rule_id == "R01")
    assert r01.evidence["entries"] == [10, 11] and r01.evidence["count"] == 2
    assert r01.state == "new" and r01.version == 1 and r01.title_zh
    # A later batch: still one alarm, more evidence, state and version untouched.
    with store.transaction() as conn:
        again = alarms.open_alarms_for(conn, [finding("R01", T0 + 7_200_000, 15)])
        assert [a.id for a in again] == [r01.id]
        assert again[0].evidence["entries"] == [10, 11, 15] and again[0].version == 1
        assert len(alarms.list_open(conn)) == 3
        assert [a.rule_id for a in alarms.list_open(conn, pile_id="P000002")] == ["R01"]


def test_every_seal_opening_alarms_and_flapping_is_debounced(store: Store) -> None:
    w = World()
    first = w.add("seal", seq=1, event="opened", at_ms=T0)
    w.add("seal", seq=2, event="closed", at_ms=T0 + 2 * MIN)
    second = w.add("seal", seq=3, event="opened", at_ms=T0 + 5 * MIN)
    # An inspector's re-sealing explains both openings (no R11 finding) — they still alarm.
    w.add("verification", at_ms=T0 + 6 * MIN, seal_closed=True)
    with store.transaction() as conn:
        summary = apply_records(conn, w.entries)
        found = rules.run_incremental(conn, summary)
        assert not [f for f in found if f.rule_id == "R11"]
        opened = alarms.open_alarms_for(conn, found, seal_entries=summary.seal_entries)
    assert len(opened) == 1 and opened[0].kind == "seal" and opened[0].severity == "critical"
    assert opened[0].evidence["entries"] == [first, second]
    with store.engine.connect() as conn:
        status = conn.execute(select(st.piles.c.status)).scalar_one()
    assert status == "seal_open"
    # Resolved, then the seal flaps again within the debounce window: no second alarm.
    alarms.resolve(store, opened[0].id, signed_in("王检定"), "re-sealed on site")
    third = len(w.entries)
    w.add("seal", seq=4, event="opened", at_ms=T0 + 9 * MIN)
    with store.transaction() as conn:
        summary = apply_records(conn, w.entries[third:])
        again = alarms.open_alarms_for(conn, [], seal_entries=summary.seal_entries)
        assert [a.id for a in again] == [opened[0].id] and again[0].state == "resolved"
        assert alarms.list_open(conn) == []
    # Beyond the window, a new opening is a new alarm.
    late = len(w.entries)
    w.add("seal", seq=5, event="opened", at_ms=T0 + 60 * MIN)
    with store.transaction() as conn:
        summary = apply_records(conn, w.entries[late:])
        new = alarms.open_alarms_for(conn, [], seal_entries=summary.seal_entries)
        assert new[0].id != opened[0].id and new[0].state == "new"


def test_workflow_transitions_write_the_audit_log(store: Store) -> None:
    (alarm,) = open_one(store)
    a = alarms.acknowledge(store, alarm.id, signed_in("李监管"), "looking")
    assert (a.state, a.version, a.updated_by) == ("acknowledged", 2, "李监管")
    a = alarms.dispatch(store, alarm.id, signed_in("李监管"), "please verify", inspector_id="INS01")
    assert a.state == "dispatched" and a.assigned_to == "INS01"
    assert a.evidence["task"]["pile_id"] == "P000001"
    assert a.evidence["task"]["kind"] == "triggered"
    a = alarms.resolve(store, alarm.id, signed_in("李监管"), "verification V1 passed")
    assert a.state == "resolved" and a.version == 4
    with store.engine.connect() as conn:
        trail = alarms.history(conn, alarm.id)
        task_rows = conn.execute(
            select(st.audit_log).where(st.audit_log.c.action == "task.created")
        ).all()
        status = conn.execute(select(st.piles.c.status)).all()
    assert [r["action"] for r in trail] == [
        "alarm.opened",
        "alarm.acknowledged",
        "alarm.dispatched",
        "alarm.resolved",
    ]
    assert trail[2]["detail"]["note"] == "please verify" and trail[2]["user"] == "李监管"
    assert trail[3]["detail"]["note"] == "verification V1 passed"
    assert len(task_rows) == 1
    assert status == []  # no pile registered in this store: nothing to colour


def test_invalid_and_stale_transitions_name_who_did_it(store: Store) -> None:
    (alarm,) = open_one(store)
    alarms.dismiss(store, alarm.id, signed_in("张三"), "false alarm: test pile")
    with pytest.raises(alarms.AlarmConflict, match="already dismissed by 张三 at 20"):
        alarms.acknowledge(store, alarm.id, signed_in("李四"))
    (other,) = open_one(store, finding("R05", T0 + 86_400_000, 200))
    alarms.acknowledge(store, other.id, signed_in("张三"))
    with pytest.raises(alarms.AlarmConflict, match="already acknowledged by 张三"):
        alarms.dispatch(store, other.id, signed_in("李四"), inspector_id="INS01", version=1)
    with pytest.raises(alarms.AlarmNotFound):
        alarms.resolve(store, 999_999, signed_in("李四"))


NOT_REGULATORS = ("inspector", "administrator")
STEPS = {
    "acknowledge": lambda store, a, who: alarms.acknowledge(store, a, who),
    "dispatch": lambda store, a, who: alarms.dispatch(store, a, who, inspector_id="INS01"),
    "resolve": lambda store, a, who: alarms.resolve(store, a, who),
    "dismiss": lambda store, a, who: alarms.dismiss(store, a, who, "not mine"),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_wrong_role_calling_the_model_directly_is_refused(store: Store, step: str) -> None:
    """Issue 13 item 2: an inspector could dismiss an alarm (the view only hid buttons)."""
    (alarm,) = open_one(store)
    call = STEPS[step]
    for role in NOT_REGULATORS:
        with pytest.raises(PermissionDenied, match=f"a{'n' if role[0] in 'ai' else ''} {role}"):
            call(store, alarm.id, signed_in("冒名", role))
    with pytest.raises(PermissionDenied, match="nobody is signed in"):
        call(store, alarm.id, None)
    with store.engine.connect() as conn:
        after = alarms.get_alarm(conn, alarm.id)
        trail = alarms.history(conn, alarm.id)
    assert (after.state, after.version) == ("new", 1)
    assert [r["action"] for r in trail] == ["alarm.opened"]
    # The right role, and the audit row names that user, not a default.
    call(store, alarm.id, signed_in("周监管"))
    with store.engine.connect() as conn:
        trail = alarms.history(conn, alarm.id)
        assert alarms.get_alarm(conn, alarm.id).updated_by == "周监管"
    assert trail[-1]["user"] == "周监管" and trail[-1]["action"] != "alarm.opened"


def test_store_level_transition_checks_the_role_too(store: Store) -> None:
    (alarm,) = open_one(store)
    inspector = signed_in("李检定", "inspector")
    with (
        pytest.raises(PermissionDenied, match="may not dismiss alarms"),
        store.transaction() as conn,
    ):
        st.transition_alarm(conn, alarm.id, 1, "dismissed", inspector)
    with store.transaction() as conn:
        assert st.transition_alarm(conn, alarm.id, 1, "dismissed", signed_in("王监管"), "误报")
    with store.engine.connect() as conn:
        assert alarms.history(conn, alarm.id)[-1]["user"] == "王监管"


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with Store.open(pg_url) as opened:
        yield opened


RACES = 100
"""Races per run: a fixed amount of work (a time budget made the count depend on the load)."""


def race(store: Store, alarm_ids: list[int]) -> tuple[int, list[str]]:
    """Two regulators dispatch each alarm at the same instant; returns (races, failures)."""
    barrier = threading.Barrier(2)
    outcome: dict[int, dict[str, object]] = {}
    users = ("甲", "乙")
    lock = threading.Lock()

    def worker(user: str) -> None:
        for alarm_id in alarm_ids:
            barrier.wait()
            try:
                alarms.dispatch(
                    store, alarm_id, signed_in(user), "race", inspector_id=f"INS-{user}"
                )
                result: object = "won"
            except alarms.AlarmConflict as exc:
                result = exc
            with lock:
                outcome.setdefault(alarm_id, {})[user] = result

    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failures = []
    for alarm_id, results in outcome.items():
        winners = [u for u, r in results.items() if r == "won"]
        if len(winners) != 1:
            failures.append(f"alarm {alarm_id}: winners {winners}")
            continue
        loser = next(r for r in results.values() if r != "won")
        if not isinstance(loser, alarms.AlarmConflict) or loser.by != winners[0]:
            failures.append(f"alarm {alarm_id}: loser told {loser!r}, winner {winners[0]}")
    return len(outcome), failures


def test_two_regulators_race_to_dispatch_on_postgresql(pg_store: Store) -> None:
    """Exactly one wins every race; the loser is told who dispatched it.

    The issue asks for 1,000 races; this runs 100 (the bench runs 1,000:
    ``python bench/anomaly_bench.py --races 1000``).
    """
    total, failures = 0, []
    while total < RACES:
        batch = [
            a.id
            for a in open_one(
                pg_store,
                *[finding("R01", T0, 1000 + total + k, pile_id=f"P{total + k}") for k in range(50)],
            )
        ]
        done, bad = race(pg_store, batch)
        total += done
        failures += bad
    print(f"{total} dispatch races, {len(failures)} failures")
    assert total >= RACES and failures == []
    with pg_store.engine.connect() as conn:
        dispatched = conn.execute(
            select(st.audit_log.c.user).where(st.audit_log.c.action == "alarm.dispatched")
        ).all()
    assert len(dispatched) == total  # one audit entry per race: the loser wrote nothing
