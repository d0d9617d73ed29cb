"""The store on SQLite and PostgreSQL: migrations, pragmas, audit log, alarm locking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.models import db_cli
from app.models.migrations import alembic_config, current_revision, head_revision, include_name
from app.models.store import (
    Store,
    StoreError,
    SyncState,
    alarms,
    anomalies,
    audit_log,
    evidence_key,
    metadata,
    put_sync_state,
    transition_alarm,
    write_audit,
)
from app.models.users import Session


def _diffs(store: Store) -> list[object]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        from app.models import plan_tables

        # Each migration owns its module's MetaData; together they are the whole schema.
        return list(compare_metadata(context, [metadata, plan_tables.metadata]))


def test_migrated_database_matches_the_models(store: Store) -> None:
    """`alembic check`: the migration creates exactly what app.models.store declares."""
    assert current_revision(store.engine) == head_revision()
    assert _diffs(store) == []
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_downgrade_to_base_and_back(store: Store) -> None:
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    again = Store.open(store.engine.url.render_as_string(hide_password=False))
    try:
        assert _diffs(again) == []
    finally:
        again.close()


def test_reopen_is_a_no_op(store_url: str) -> None:
    with Store.open(store_url) as first, first.transaction() as conn:
        write_audit(conn, "admin", "test", "store", {"n": 1})
    with Store.open(store_url) as second, second.engine.connect() as conn:
        assert conn.execute(select(audit_log.c.action)).scalars().all() == ["test"]


def test_sqlite_default_location_and_pragmas(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("EVM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EVM_DB_URL", raising=False)
    with Store.open() as store, store.engine.connect() as conn:
        assert store.engine.url.database == str(tmp_path / "data" / "workstation.sqlite")
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        write_audit(conn, "admin", "doomed", "store")
        raise RuntimeError("boom")
    with store.engine.connect() as conn:
        assert conn.execute(select(audit_log)).all() == []


@pytest.mark.parametrize(
    "statement",
    [
        update(audit_log).values(action="rewritten"),
        delete(audit_log),
    ],
    ids=["update", "delete"],
)
def test_audit_log_is_append_only(store: Store, statement) -> None:
    with store.transaction() as conn:
        entry = write_audit(conn, "王检定", "alarm.dispatched", "alarm 1", {"note": "现场核查"})
    with pytest.raises(DBAPIError, match="append-only"), store.transaction() as conn:
        conn.execute(statement)
    with store.engine.connect() as conn:
        row = conn.execute(select(audit_log)).mappings().one()
    assert row["id"] == entry
    assert row["action"] == "alarm.dispatched"
    assert row["detail"] == {"note": "现场核查"}
    assert row["at"].tzinfo is not None


def test_audit_log_truncate_refused_on_postgresql(pg_url: str) -> None:
    with Store.open(pg_url) as store:
        with store.transaction() as conn:
            write_audit(conn, "admin", "keep", "store")
        with pytest.raises(DBAPIError, match="append-only"), store.transaction() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def _new_alarm(conn) -> int:
    now = datetime.now(UTC)
    return int(
        conn.execute(
            insert(alarms).returning(alarms.c.id),
            {
                "created_at": now,
                "updated_at": now,
                "kind": "seal_opened",
                "severity": "critical",
                "pile_id": "P000001",
                "rule_id": "seal.opened",
                "title_zh": "电子铅封被打开",
                "title_en": "Electronic seal opened",
                "evidence": {"entries": [9]},
            },
        ).scalar_one()
    )


def signed_in(name: str, role: str = "regulator") -> Session:
    return Session(sum(map(ord, name)), name, name, role)


def test_alarm_optimistic_locking(store: Store) -> None:
    with store.transaction() as conn:
        alarm_id = _new_alarm(conn)
    with store.engine.connect() as conn:
        version = conn.execute(select(alarms.c.version).where(alarms.c.id == alarm_id)).scalar()
    assert version == 1
    # Two regulators read version 1 and act; the first wins, the second must reload.
    with store.transaction() as conn:
        assert transition_alarm(conn, alarm_id, 1, "acknowledged", signed_in("张三"), "收到")
    with store.transaction() as conn:
        assert not transition_alarm(conn, alarm_id, 1, "dismissed", signed_in("李四"), "误报")
    with store.transaction() as conn:
        assert transition_alarm(
            conn, alarm_id, 2, "dispatched", signed_in("张三"), "派单", assigned_to="INS01"
        )
    with store.engine.connect() as conn:
        row = conn.execute(select(alarms).where(alarms.c.id == alarm_id)).mappings().one()
        audit = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
    assert (row["state"], row["version"], row["updated_by"]) == ("dispatched", 3, "张三")
    assert row["assigned_to"] == "INS01"
    assert row["updated_at"].tzinfo is not None
    assert [(a["user"], a["action"], a["subject"]) for a in audit] == [
        ("张三", "alarm.acknowledged", f"alarm {alarm_id}"),
        ("张三", "alarm.dispatched", f"alarm {alarm_id}"),
    ]
    assert audit[0]["detail"] == {"state": "acknowledged", "version": 2, "note": "收到"}


def test_alarm_state_is_checked(store: Store) -> None:
    with store.transaction() as conn:
        alarm_id = _new_alarm(conn)
    with pytest.raises(ValueError, match="unknown alarm state"), store.transaction() as conn:
        transition_alarm(conn, alarm_id, 1, "closed", signed_in("张三"))
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(update(alarms).values(state="closed"))


def test_sync_state_round_trip(store: Store) -> None:
    origin = "hangzhou.evmetrology.example/2026"
    assert store.get_sync_state(origin) is None
    contact = datetime(2026, 11, 25, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    state = SyncState(origin, 12, b"\x01" * 32, b"range", "ok", None, contact, contact)
    with store.transaction() as conn:
        put_sync_state(conn, state)
    assert store.get_sync_state(origin) == state
    later = SyncState(origin, 40, b"\x02" * 32, b"r2", "error", "tile 404", contact, None)
    with store.transaction() as conn:
        put_sync_state(conn, later)
    got = store.get_sync_state(origin)
    assert got == later
    assert got is not None and got.last_contact_at is not None
    assert got.last_contact_at.tzinfo == UTC


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="aware datetime"), store.transaction() as conn:
        write_audit(conn, "admin", "x", "y", at=datetime(2026, 1, 1))


def test_anomaly_unique_per_rule_and_evidence(store: Store) -> None:
    now = datetime.now(UTC)
    row = {
        "rule_id": "session.register_gap",
        "pile_id": "P000001",
        "meter_id": "M000001",
        "at_ms": 1_700_000_000_000,
        "severity": "warning",
        "evidence": [41, 12],
        "evidence_key": evidence_key([41, 12, 12]),
        "detail": {"gap_wh": 300},
        "detected_at": now,
    }
    assert row["evidence_key"] == "12,41"
    with store.transaction() as conn:
        conn.execute(insert(anomalies), row)
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(insert(anomalies), row)


def test_db_cli_upgrade_and_current(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert db_cli.main(["current", "--db", store_url]) == 3
    assert "needs `db upgrade`" in capsys.readouterr().out
    assert db_cli.main(["upgrade", "--db", store_url]) == 0
    assert f"head {head_revision()}" in capsys.readouterr().out
    assert db_cli.main(["current", "--db", store_url]) == 0
    assert "up to date" in capsys.readouterr().out


def test_concurrent_first_open_migrates_once(store_url: str) -> None:
    """Two desktops starting against a fresh office database: both come up, one migrates."""
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            Store.open(store_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with Store.open(store_url) as store:
        assert _diffs(store) == []


def test_unreachable_database_is_a_store_error(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(StoreError, match="cannot open the workstation store") as info:
        Store.open(url)
    assert "secret" not in str(info.value)
    assert db_cli.main(["upgrade", "--db", url]) == 1
    assert "secret" not in capsys.readouterr().err
