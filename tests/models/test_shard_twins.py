"""Records met in two logs of one store (app.models.logs): a registry record carried into a
new shard is applied once and accuses no one; an event in two shards is a twin (L2)."""

from __future__ import annotations

from sqlalchemy import select

from app.models import store as st
from app.models.logs import FollowedLog, assign_logs, entry_key
from app.models.projection import apply_records
from tests.world import World


def test_carried_registry_is_no_twin_but_an_event_in_two_shards_is(tmp_path):
    world = World()
    registry = world.registry()
    beats = world.heartbeats(0, 3)
    with st.Store.open(f"sqlite:///{tmp_path / 'office.sqlite'}") as store:
        with store.transaction() as conn:
            assign_logs(conn, [FollowedLog(-1, "a.example/q1"), FollowedLog(-1, "a.example/q2")])
            first = [(entry_key(0, i), r) for i, r in enumerate(registry + beats)]
            apply_records(conn, first, origin="a.example/q1")
            # the next shard: the registry re-signed (same identity), then a heartbeat
            # already logged in the first shard, then a new one
            carried = [(entry_key(1, i), r) for i, r in enumerate(World().registry())]
            n = len(carried)
            again = [(entry_key(1, n), beats[1]), (entry_key(1, n + 1), world.heartbeats(3, 1)[0])]
            summary = apply_records(conn, carried + again, origin="a.example/q2")
        assert summary.twins == [(entry_key(1, n), entry_key(0, len(registry) + 1))]
        with store.engine.connect() as conn:
            rows = conn.execute(select(st.misbehaviour.c.description)).scalars().all()
            beat_keys = conn.execute(select(st.heartbeats.c.entry_index)).scalars().all()
            meters = conn.execute(select(st.meters.c.entry_index)).scalars().all()
        assert len(rows) == 1
        assert f"entry {n} of a.example/q2" in rows[0] and "of a.example/q1" in rows[0]
        assert sorted(beat_keys) == [entry_key(0, len(registry) + i) for i in range(3)] + [
            entry_key(1, n + 1)
        ]
        assert len(meters) == 1 and meters[0] < entry_key(1, 0)  # applied once, from q1
