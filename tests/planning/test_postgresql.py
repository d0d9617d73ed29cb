"""The office on a real PostgreSQL server: register, orders, progress, field package export."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.models import signoff_workflow
from app.models import store as st
from app.models.charging.planning import due_register, set_rotation_years
from app.models.field_package import export_field_package, open_field_package
from app.models.plan_tables import users
from app.models.users import sign_in, sign_verification
from app.models.workorders import create_work_order, list_orders, order_items
from tests.planning.conftest import PASSWORD, TODAY, make_office, verification_record


def test_office_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    office = make_office(pg_url)
    try:
        with office.store.transaction() as conn:
            set_rotation_years(conn, office.regulator, "DC", 5)
            order = create_work_order(conn, office.regulator, ["P3", "P5", "P1"], "li")
        key = office.inspector.signing_key
        assert key is not None
        office.loader.apply(
            [verification_record(key, "P3", int(st.utcnow().timestamp() * 1000) + 1)]
        )
        with office.store.engine.connect() as conn:
            rows = {r.pile_id: r for r in due_register(conn, TODAY)}
            [summary] = list_orders(conn, office.inspector)
            items = order_items(conn, office.inspector, order)
        assert rows["P1"].due_date.isoformat() == "2029-02-28"  # leap day, DC now 5 years
        assert rows["P3"].status == "ok" and rows["P5"].status == "overdue"
        assert (summary.piles, summary.done) == (3, 1)
        assert [i.station_id for i in items] == ["ST2", "ST1", "ST3"]  # P3's station first
        package = tmp_path / "pg-order.sqlite"
        export_field_package(office.store, office.inspector, order, package)
        with open_field_package(package) as pkg, pkg.transaction() as conn:
            assert sign_in(conn, "li", PASSWORD).inspector_id == office.inspector.inspector_id
            assert conn.execute(select(users.c.username)).scalars().all() == ["li"]
            assert {r.pile_id for r in due_register(conn, TODAY)} == {"P1", "P3", "P5"}
        # Countersigning on PostgreSQL (migration 0005 rebuilt the users role check there too).
        office.loader.apply([office.world.inspector(key.public_key.text)])
        record = sign_verification(office.inspector, dict(verification_record(key, "P5", 1).body))
        with office.store.transaction() as conn:
            leaf = signoff_workflow.take_up(conn, record.to_bytes()).leaf_hash
            signoff_workflow.check(conn, office.checker, leaf)
            assert signoff_workflow.approve(conn, office.approver, leaf).final
    finally:
        office.store.close()
