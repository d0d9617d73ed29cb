"""The partitioned office store on a real PostgreSQL (tests/pg.py): layout, months on
demand, the per-month rescan against the whole-store rescan, archiving (issue 17 item 3)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import delete, select, text

from app.models import db_cli, findings
from app.models import partitions as pt
from app.models import store as st
from app.models.charging import rules
from app.models.charging.partition_rescan import month_windows, partition_rescan
from app.models.migrations import alembic_config
from app.models.projection import apply_records
from app.models.store import Store
from ledger.records import Record
from tests.models import samples
from tests.models.test_rules import HB_MS, MIN, World

BOUNDARY = 1_701_388_800_000  # 2023-12-01T00:00:00Z: November | December
NOV, DEC = 2023 * 12 + 10, 2023 * 12 + 11


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with Store.open(pg_url) as opened:
        yield opened


def _count(conn: object, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar() or 0)  # type: ignore[attr-defined]


def _keys(found: list[rules.Finding]) -> set[tuple[str, str, str]]:
    return {(f.rule_id, f.evidence_key, f.severity) for f in found}


def test_postgresql_layout_and_sqlite_unchanged(pg_store: Store, tmp_path) -> None:
    with pg_store.engine.connect() as conn:
        assert pt.is_partitioned(conn)
        kinds = dict(
            conn.execute(
                text(
                    "SELECT relname, relkind FROM pg_class WHERE relname = ANY(:t) "
                    "AND relnamespace = CAST(current_schema() AS regnamespace)"
                ),
                {"t": [p.table for p in pt.PARTITIONED]},
            ).all()
        )
        assert kinds == {p.table: "p" for p in pt.PARTITIONED}
        for table, column in pt.PG_ONLY_COLUMNS:
            assert _count(
                conn,
                f"SELECT COUNT(*) FROM information_schema.columns WHERE table_name = '{table}' "
                f"AND column_name = '{column}' AND is_nullable = 'NO'",
            )
        # The primary keys carry the partition key (PostgreSQL refuses them otherwise).
        pk = conn.execute(
            text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_sessions'"
            )
        ).scalar()
        assert pk == "PRIMARY KEY (entry_index, start_ms)"
        assert pt.default_rows(conn) == 0
        assert len(pt.months(conn)) >= 2  # the current month and the next, ready
    with Store.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as lite, lite.engine.connect() as conn:
        assert not pt.is_partitioned(conn)
        cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(session_facts)")]
        assert cols == ["pile_no", "entry_index", "data"]
        assert pt.maintain(conn) == []


def test_any_time_syncs_and_maintenance_gives_each_month_its_partition(pg_store: Store) -> None:
    """A record of a month with no partition lands in DEFAULT (the sync must not fail on a
    signed record, however absurd its time); maintenance moves it to its month, and a
    time beyond 9999 stays in DEFAULT for good."""
    w = World()
    future = 7_258_118_400_000 + 3 * 86_400_000  # 2200-01-04
    far = 2**52  # year ~144,000: no calendar month for it
    w.session(future, 30)
    w.heartbeat(future + 40 * MIN)
    w.session(far, 30)
    w.apply(pg_store)
    with pg_store.engine.connect() as conn:
        assert pt.default_rows(conn, "sessions") == 2
        assert pt.default_rows(conn, "billing_facts") == 2
        assert pt.default_rows(conn, "heartbeat_days") == 1
    with pg_store.transaction() as conn:
        created = pt.maintain(conn)
    assert 2200 * 12 in created
    with pg_store.engine.connect() as conn:
        assert pt.default_rows(conn, "sessions") == 1  # the one beyond 9999
        assert pt.default_rows(conn, "heartbeat_days") == 0
        moved = _count(conn, f'SELECT COUNT(*) FROM {pt.PART_SCHEMA}."sessions_2200_01"')
        assert moved == 1
        assert _count(conn, f'SELECT COUNT(*) FROM {pt.PART_SCHEMA}."billing_facts_2200_01"') == 1
        # The facts' PostgreSQL-only key is the record's own start.
        starts = conn.execute(
            text(
                "SELECT f.start_ms = s.start_ms FROM session_facts f "
                "JOIN sessions s USING (entry_index)"
            )
        ).scalars()
        assert all(starts)
    with pg_store.transaction() as conn:
        assert pt.maintain(conn) == []  # idempotent


def boundary_world() -> tuple[World, dict[str, int]]:
    """Faults whose two records sit on either side of 2023-12-01T00:00Z (UTC), one of them
    exactly on it: each month window alone holds only half of each."""
    w = World()
    marks: dict[str, int] = {}
    for t in range(BOUNDARY - 3 * 3_600_000, BOUNDARY - 20 * MIN, HB_MS):
        w.heartbeat(t)
    marks["before_silence"] = w.heartbeat(BOUNDARY - 20 * MIN)  # next one 40 min later
    w.session(BOUNDARY - 120 * MIN, 30)  # November: the register then reads r
    # December's first session starts at r + 11 (its previous session is November's).
    w.session(BOUNDARY + 60 * MIN, 30, start_wh=w.register["M000001"] + 11)
    for t in range(BOUNDARY + 20 * MIN, BOUNDARY + 3 * 3_600_000, HB_MS):
        w.heartbeat(t)
    # M000002: its counters go backwards exactly at the boundary, with a clock offset.
    w.heartbeat(BOUNDARY - HB_MS, meter="M000002")
    marks["back"] = w.add(
        "heartbeat",
        meter_id="M000002",
        seq=1,
        ref_ms=BOUNDARY,
        meter_ms=BOUNDARY + 9_000,
        register_wh=w.register["M000002"],
    )
    w.heartbeat(BOUNDARY + HB_MS, meter="M000002")
    # M000003 charges across the boundary without heartbeats: silent (30 min limit) from
    # the session's November start to its December stop.
    w.add("meter", meter_id="M000003", connector=3, accuracy_class="1")
    w.register["M000003"], w.spans["M000003"] = 2_000_000, []
    for t in range(BOUNDARY - 3 * 3_600_000, BOUNDARY - 99 * MIN, HB_MS):
        w.heartbeat(t, meter="M000003")
    w.session(BOUNDARY - 90 * MIN, 150, meter="M000003")
    marks["crossing"] = len(w.entries) - 2  # the session (its bill follows)
    for t in range(BOUNDARY + 70 * MIN, BOUNDARY + 3 * 3_600_000, HB_MS):
        w.heartbeat(t, meter="M000003")
    return w, marks


@pytest.mark.parametrize("workers", [1, 2])
def test_fault_exactly_at_a_month_boundary(pg_store: Store, workers: int) -> None:
    w, marks = boundary_world()
    w.apply(pg_store)
    by_month = partition_rescan(pg_store, workers=workers)
    with pg_store.engine.connect() as conn:
        assert {NOV, DEC} <= set(pt.months(conn))
        windows = month_windows(conn)
    assert (pt.month_start_ms(DEC), pt.month_end_ms(DEC)) in windows
    silent = [
        f
        for f in by_month
        if f.rule_id == "R10" and f.detail["kind"] == "silent" and f.meter_id == "M000001"
    ]
    assert [f.evidence for f in silent] == [(marks["before_silence"],)]
    crossing = [f for f in by_month if f.rule_id == "R10" and f.meter_id == "M000003"]
    assert [(f.evidence, f.detail["silent_until_ms"]) for f in crossing] == [
        ((marks["crossing"],), BOUNDARY + 60 * MIN)
    ]
    r04 = [f for f in by_month if f.rule_id == "R04"]
    assert len(r04) == 1 and r04[0].detail["unaccounted_wh"] == 11
    assert r04[0].at_ms == BOUNDARY + 60 * MIN  # found by December, against November's
    back = [f for f in by_month if f.rule_id == "R26"]
    assert [f.evidence[-1] for f in back] == [marks["back"]]
    assert marks["back"] in {e for f in by_month if f.rule_id == "R09" for e in f.evidence}
    # The whole-store rescan finds exactly the same, and the monthly one again nothing new.
    with pg_store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    whole = rules.full_rescan(pg_store)
    assert _keys(whole) == _keys(by_month)
    closed: list = []
    assert partition_rescan(pg_store, workers=workers, closed=closed) == []
    assert closed == []


def test_boundary_on_an_unpartitioned_sqlite_store(tmp_path) -> None:
    """The same engine over calendar-month windows of an unpartitioned store."""
    w, _marks = boundary_world()
    with Store.open(f"sqlite:///{tmp_path / 'w.sqlite'}") as lite:
        w.apply(lite)
        by_month = partition_rescan(lite, workers=1)
        with lite.transaction() as conn:
            conn.execute(delete(st.anomalies))
        assert _keys(rules.full_rescan(lite)) == _keys(by_month)
        assert {f.rule_id for f in by_month} >= {"R04", "R09", "R10", "R26"}


def test_monthly_rescan_equals_the_whole_store_rescan_on_a_simulated_fleet(
    pg_store: Store,
) -> None:
    """The simulated fleet with every fault kind, over four days across 2026-03-01T00:00Z:
    partitioned by month and rescanned a month per process, it yields the whole-store
    rescan's findings exactly."""
    from ledger import pii
    from ledger.fleet import faults as fleet_faults
    from ledger.fleet import model
    from ledger.fleet.generate import DAY_MS, Simulation
    from ledger.fleet.signing import enc_private_key

    start_ms = 1_772_294_400_000  # 2026-02-28T16:00Z
    sim = Simulation(
        model.build_fleet(5, 40, start_ms),
        start_ms=start_ms,
        heartbeat_s=3600,
        rates=fleet_faults.parse_rates([], 400.0),
        public_key=lambda label: samples.METER.public_key.text,
    )
    drafts = sim.registry(pii.enc_key_text(enc_private_key(5).public_key()))
    for day in range(1, 5):
        drafts += sim.advance(start_ms + day * DAY_MS)[0]
    entries = [
        (
            i,
            Record(
                d.rtype, {k: v for k, v in d.body.items() if k != "pii"}, "ed25519", "0" * 16, b""
            ),
        )
        for i, d in enumerate(drafts)
    ]
    for a in range(0, len(entries), 5000):
        with pg_store.transaction() as conn:
            apply_records(conn, entries[a : a + 5000])
    by_month = partition_rescan(pg_store, workers=2)
    with pg_store.engine.connect() as conn:
        feb, mar = 2026 * 12 + 1, 2026 * 12 + 2
        assert {feb, mar} <= set(pt.months(conn))
        for month in (feb, mar):
            name = pt.partition_name("sessions", month)
            assert _count(conn, f'SELECT COUNT(*) FROM {pt.PART_SCHEMA}."{name}"') > 10
    with pg_store.transaction() as conn:
        conn.execute(delete(st.anomalies))
    whole = rules.full_rescan(pg_store)
    assert len({f.rule_id for f in whole}) >= 10
    assert _keys(by_month) == _keys(whole)


def test_migration_partitions_an_existing_store(pg_url: str) -> None:
    """A store synced at 0008 (unpartitioned) keeps every row and fact through 0009, each
    in its month, and downgrades back."""
    w, _marks = boundary_world()
    with Store.open(pg_url, upgrade=False) as old:
        with old.engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "0008_workorders")
        w.apply(old)
        with old.engine.connect() as conn:
            assert not pt.is_partitioned(conn)
            before = {
                t: _count(conn, f"SELECT COUNT(*) FROM {t}")
                for t in ("sessions", "billing", "heartbeats", "heartbeat_days", "session_facts")
            }
            facts_before = conn.execute(
                text("SELECT entry_index, data FROM billing_facts ORDER BY entry_index")
            ).all()
    with Store.open(pg_url) as new, new.engine.connect() as conn:
        assert pt.is_partitioned(conn)
        assert {NOV, DEC} <= set(pt.months(conn))
        assert pt.default_rows(conn) == 0
        for table, n in before.items():
            assert _count(conn, f"SELECT COUNT(*) FROM {table}") == n
        assert (
            conn.execute(
                text("SELECT entry_index, data FROM billing_facts ORDER BY entry_index")
            ).all()
            == facts_before
        )
        mismatched = _count(
            conn,
            "SELECT COUNT(*) FROM billing_facts f JOIN billing b USING (entry_index) "
            "WHERE f.start_ms <> b.start_ms",
        )
        assert mismatched == 0
        dec = pt.partition_name("sessions", DEC)
        assert _count(conn, f'SELECT COUNT(*) FROM {pt.PART_SCHEMA}."{dec}"') == 1
    with Store.open(pg_url, upgrade=False) as back:
        with back.engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "0008_workorders")
        with back.engine.connect() as conn:
            assert not pt.is_partitioned(conn)
            for table, n in before.items():
                assert _count(conn, f"SELECT COUNT(*) FROM {table}") == n
            billing_facts = text("SELECT entry_index, data FROM billing_facts ORDER BY entry_index")
            assert conn.execute(billing_facts).all() == facts_before


def test_archive_cli_detaches_old_months_and_audits(
    pg_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    w, _marks = boundary_world()
    w.apply(pg_store)
    url = pg_store.engine.url.render_as_string(hide_password=False)
    with pg_store.engine.connect() as conn:
        total = _count(conn, "SELECT COUNT(*) FROM heartbeats")
        december = _count(conn, f"SELECT COUNT(*) FROM heartbeats WHERE ref_ms >= {BOUNDARY}")
    assert db_cli.main(["archive", "--before", "2023-12", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "2023-11" in out and "evm_archive" in out
    with pg_store.engine.connect() as conn:
        assert NOV not in pt.months(conn) and DEC in pt.months(conn)
        assert pt.archived_months(conn) == [NOV]
        assert _count(conn, "SELECT COUNT(*) FROM heartbeats") == december
        kept = _count(conn, f'SELECT COUNT(*) FROM {pt.ARCHIVE_SCHEMA}."heartbeats_2023_11"')
        assert kept == total - december
        audit = conn.execute(
            select(st.audit_log.c.action, st.audit_log.c.subject, st.audit_log.c.detail)
        ).all()
        assert [(a, s) for a, s, _ in audit] == [("db.archive", "partition 2023-11")]
        assert audit[0][2]["rows"] > 0 and len(audit[0][2]["tables"]) == len(pt.PARTITIONED)
    # A late November record still syncs (into DEFAULT: the month is archived), and
    # archiving again finds nothing more to detach.
    late = World()
    late.session(BOUNDARY - 10 * 3_600_000, 30, sid="LATE1")
    records = [(10_000 + k, r) for k, (_, r) in enumerate(late.entries[-2:])]
    with pg_store.transaction() as conn:
        apply_records(conn, records)
        assert NOV not in pt.maintain(conn)
    with pg_store.engine.connect() as conn:
        assert pt.default_rows(conn, "sessions") == 1
    assert db_cli.main(["archive", "--before", "2023-12", "--db", url]) == 0
    assert "nothing to archive" in capsys.readouterr().out


def test_archive_refuses_sqlite_and_bad_months(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert db_cli.main(["archive", "--before", "2023-12", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "PostgreSQL" in err and "sqlite" in err
    assert db_cli.main(["archive", "--before", "2023-13", "--db", url]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_rescan_cli_by_month(pg_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """`main.py rescan --by-month` stores what the whole-store rescan would, and a second
    run (either way) finds nothing new and closes nothing."""
    from app.models import rules_cli

    w, _marks = boundary_world()
    w.apply(pg_store)
    url = pg_store.engine.url.render_as_string(hide_password=False)
    assert rules_cli.main(["--db", url, "--by-month", "--workers", "1", "--no-alarms"]) == 0
    first = capsys.readouterr().out
    with pg_store.engine.connect() as conn:
        stored = {(f.rule_id, f.evidence_key) for f in findings.stored_findings(conn)}
    assert {r for r, _ in stored} >= {"R04", "R09", "R10", "R26"}
    assert f"{len(stored)} new findings" in first
    assert rules_cli.main(["--db", url, "--no-alarms"]) == 0
    again = capsys.readouterr().out
    assert "0 new findings" in again and "no longer derived" not in again
