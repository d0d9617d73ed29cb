"""End to end: due list → work order → field package → offline verifications on the rig
simulator → platform back → upload exactly once → due list updated after a sync."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from app.devices.rig import Rig
from app.devices.simulator import RigSimulator, SimConfig
from app.models import store as st
from app.models.charging.planning import CST, due_list, due_status_by_pile
from app.models.charging.verification import (
    AutoPrompt,
    PileSpec,
    SiteConditions,
    VerificationProcedure,
    plan_verification,
    record_body,
)
from app.models.field_package import (
    PackageError,
    export_field_package,
    office_assignment,
    open_field_package,
    outbox_dir,
    package_facts,
    queue_result,
    release_conflict,
    upload_results,
)
from app.models.plan_tables import package_proofs
from app.models.sync import LogSync
from app.models.users import (
    create_first_administrator,
    create_user,
    public_key_of,
    sign_in,
    sign_verification,
)
from app.models.workorders import create_work_order, list_orders, reassign_pile
from ledger.client import LogClient
from ledger.note import Verifier, generate_signer
from ledger.tlog_proof import verify_tlog_proof
from tests.planning.conftest import INSPECTOR_ID, PASSWORD, Office, PlanWorld, verification_record
from tests.world import PlatformProcess, ndjson, post

SPEED = 400  # rig seconds per real second: the ~500 s procedure runs in ~1.5 s
METER_ADDRESS = "000012345678"


def wait_for_size(client: LogClient, size: int) -> None:
    """Long-polls the platform's checkpoint (no sleeping) until it covers ``size``."""
    deadline = time.monotonic() + 15
    checkpoint = client.checkpoint()[0]
    while checkpoint.size < size:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the log did not reach {size} entries")
        checkpoint = client.checkpoint(after=checkpoint.size, wait=2)[0]


def sync(store: st.Store, url: str, vkey: str, size: int) -> None:
    client = LogClient(url, vkey)
    try:
        wait_for_size(client, size)
        syncer = LogSync(store, client)
        try:
            syncer.sync_once()
        finally:
            syncer.close()
    finally:
        client.close()


def verify_on_rig(pile_id: str, journal: Path) -> object:
    """One full JJG 1149 run against the simulated rig and meter on a real pty."""
    with RigSimulator(SimConfig(speed=SPEED, seed=7, meter_address=METER_ADDRESS)) as sim:
        assert sim.path is not None
        rig = Rig.from_path(sim.path, timeout=0.5)
        try:
            spec = PileSpec(pile_id=pile_id, meter_id="M" + pile_id, meter_address=METER_ADDRESS)
            procedure = VerificationProcedure(
                rig, plan_verification(spec), journal, prompt=AutoPrompt(),
                site=SiteConditions(Decimal(20), Decimal(50)),  # a verification condition
            )  # fmt: skip
            return procedure.run()
        finally:
            rig.close()


def test_work_order_offline_and_back(tmp_path: Path) -> None:
    today = dt.datetime.now(CST).date()
    world = PlanWorld()
    office = st.Store.open(f"sqlite:///{tmp_path / 'office.sqlite'}")
    with office.transaction() as conn:
        admin = create_first_administrator(conn, "admin", "管理员", PASSWORD)
        create_user(conn, admin, "wang", "王监管", "regulator", PASSWORD)
        create_user(conn, admin, "li", "李检定", "inspector", PASSWORD, inspector_id=INSPECTOR_ID)
        inspector_key = public_key_of(conn, "li")
    with office.transaction() as conn:
        regulator = sign_in(conn, "wang", PASSWORD)
    registry = [*world.registry(), world.inspector(inspector_key)]
    data = tmp_path / "platform"
    platform = PlatformProcess(data)
    try:
        status, answer = post(platform.url, ndjson(registry))
        assert status == 200, answer
        vkey = platform.vkey()
        sync(office, platform.url, vkey, len(registry))

        # The regulator orders the two never-verified piles for inspector li.
        with office.engine.connect() as conn:
            due = {r.pile_id: r for r in due_list(conn, today, only="overdue")}
        assert {"P3", "P8"} <= set(due) and due["P3"].reason == "first"
        with office.transaction() as conn:
            order = create_work_order(
                conn,
                regulator,
                ["P8", "P3"],
                "li",
                reasons={p: (due[p].reason, due[p].due_date.isoformat()) for p in ("P3", "P8")},
            )
        with office.transaction() as conn:
            inspector = sign_in(conn, "li", PASSWORD)

        # Taken offline with inclusion proofs of every registry entry it relies on.
        package = tmp_path / "laptop" / "order.sqlite"
        package.parent.mkdir()
        client = LogClient(platform.url, vkey)
        try:
            summary = export_field_package(office, inspector, order, package, client=client)
            with open_field_package(package) as pkg, pkg.engine.connect() as conn:
                proof_index, proof = conn.execute(
                    select(package_proofs.c.entry_index, package_proofs.c.proof).where(
                        package_proofs.c.subject == "piles P3"
                    )
                ).one()
            entry = next(client.entries(proof_index, proof_index + 1, len(registry)))[1]
            verify_tlog_proof(proof, entry, Verifier(vkey))
        finally:
            client.close()
        assert summary.piles == 2 and summary.proofs_status.startswith("included")
        # authority, operator, inspector, 2 stations, 2 piles, 2 meters: only what the order needs
        assert summary.proofs == 9
    finally:
        platform.stop()  # the network is cut

    # ---- on the laptop, offline -------------------------------------------------------
    pkg = open_field_package(package)
    try:
        with pkg.transaction() as conn:
            li = sign_in(conn, "li", PASSWORD)  # the package carries li's account only
            assert package_facts(conn)["order_id"] == order
            assert [r.pile_id for r in due_list(conn, today)] == ["P3", "P8"]
            [laptop_order] = list_orders(conn, li)
            assert (laptop_order.id, laptop_order.piles, laptop_order.done) == (order, 2, 0)
        vids = []
        for pile_id in ("P8", "P3"):
            result = verify_on_rig(pile_id, tmp_path / f"journal-{pile_id}.jsonl")
            assert result.verdict == "pass", result.reasons  # type: ignore[attr-defined]
            assert li.inspector_id is not None
            record = sign_verification(li, record_body(result, inspector_id=li.inspector_id))  # type: ignore[arg-type]
            queue_result(pkg, li, record)
            queue_result(pkg, li, record)  # twice: still one entry
            vids.append(record.body["verification_id"])
        offline = upload_results(pkg, li, platform.url)
        assert offline.offline and offline.pending == 2 and not offline.uploaded

        # ---- back online: the platform restarts on the same data --------------------------
        platform = PlatformProcess(data)
        try:
            assignment = office_assignment(office)
            first = upload_results(pkg, li, platform.url, assignment=assignment)
            assert sorted(first.uploaded) == sorted(vids) and first.pending == 0, first
            for _ in range(2):  # retried: nothing left to send
                again = upload_results(pkg, li, platform.url, assignment=assignment)
                assert (again.uploaded, again.already_there, again.pending) == ([], [], 0)
            # An answer lost in transit: the entry is still pending locally -> 409 -> done.
            sent = outbox_dir(package) / "sent" / f"{vids[0]}.ndjson"
            shutil.move(sent, outbox_dir(package) / "pending" / sent.name)
            lost = upload_results(pkg, li, platform.url, assignment=assignment)
            assert (lost.uploaded, lost.already_there) == ([], [vids[0]])

            # ---- publication: a second workstation syncs the log -------------------------
            size = len(registry) + 2
            second = st.Store.open(f"sqlite:///{tmp_path / 'second.sqlite'}")
            try:
                sync(second, platform.url, platform.vkey(), size)
                with second.engine.connect() as conn:
                    counts = dict(
                        conn.execute(
                            select(st.verifications.c.verification_id, func.count()).group_by(
                                st.verifications.c.verification_id
                            )
                        ).all()
                    )
                    assert counts == {vid: 1 for vid in vids}  # each result once in the log
                    due_now = {r.pile_id for r in due_list(conn, today)}
                    status = due_status_by_pile(conn, today)
                assert not {"P3", "P8"} & due_now and status["P3"] == status["P8"] == "ok"
                assert client_size(platform.url, platform.vkey()) == size
            finally:
                second.close()
            sync(office, platform.url, platform.vkey(), size)
            with office.engine.connect() as conn:
                [done] = [o for o in list_orders(conn, regulator) if o.id == order]
            assert (done.piles, done.done) == (2, 2)
        finally:
            platform.stop()
    finally:
        pkg.close()
        office.close()


def client_size(url: str, vkey: str) -> int:
    client = LogClient(url, vkey)
    try:
        return client.checkpoint()[0].size
    finally:
        client.close()


def test_reassigned_pile_is_a_conflict_not_an_upload(office: Office, tmp_path: Path) -> None:
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3", "P8"], "li")
        other = create_work_order(conn, office.regulator, ["P1"], "zhao")
    package = tmp_path / "pkg.sqlite"
    summary = export_field_package(office.store, office.inspector, order, package)
    assert summary.proofs == 0 and "no accepted checkpoint" in summary.proofs_status
    with office.store.transaction() as conn:  # a checkpoint accepted earlier, log now gone
        conn.execute(
            insert(st.checkpoints),
            {
                "origin": "o",
                "size": 40,
                "root": bytes(32),
                "note": b"o\n40\n\n",
                "accepted_at": st.utcnow(),
            },
        )
    dead = LogClient(str(tmp_path / "no-log"), generate_signer("o")[1])
    try:
        again = export_field_package(
            office.store, office.inspector, order, tmp_path / "p2.sqlite", client=dead
        )
    finally:
        dead.close()
    assert again.proofs == 0 and "could not be reached" in again.proofs_status
    with pytest.raises(PackageError, match="already exists"):
        export_field_package(office.store, office.inspector, order, package)
    key = office.inspector.signing_key
    assert key is not None
    posted: list[str] = []

    def fake_post(url: str, body: bytes) -> tuple[int, str]:
        posted.append(json.loads(body)["b"]["pile_id"])
        return 200, '{"accepted": 1}'

    with open_field_package(package) as pkg:
        for pile_id in ("P3", "P8"):
            queue_result(
                pkg, office.inspector, verification_record(key, pile_id, 1_780_000_000_000)
            )
        with office.store.transaction() as conn:
            reassign_pile(conn, office.regulator, "P3", other)  # meanwhile, at the office
        report = upload_results(
            pkg,
            office.inspector,
            "http://platform",
            assignment=office_assignment(office.store),
            post=fake_post,
        )
        assert posted == ["P8"] and report.uploaded == ["V-P8-1780000000000"]
        [conflict] = report.conflicts
        assert (conflict.pile_id, conflict.package_order, conflict.current_order) == (
            "P3",
            order,
            other,
        )
        assert "moved from work order" in conflict.message and report.pending == 1
        release_conflict(pkg, office.inspector, conflict.entry_id)
        report = upload_results(
            pkg,
            office.inspector,
            "http://platform",
            assignment=office_assignment(office.store),
            post=fake_post,
        )
        assert posted == ["P8", "P3"] and report.pending == 0 and not report.conflicts
    with pytest.raises(PackageError, match="not a field package"):
        open_field_package(tmp_path / "office.sqlite")


def test_field_package_carries_the_facts_of_what_it_copied(office: Office, tmp_path: Path) -> None:
    """A laptop store is a store like any other: its rescan reads analysis facts, so the
    package holds those of the sessions and bills it copied."""

    import time

    from app.models.projection import apply_records
    from tests.models import samples

    start = int(time.time() * 1000) - 86_400_000  # yesterday: inside the package's 90 days
    common = {"pile_id": "P3", "start_ms": start, "stop_ms": start + 3_600_000}
    session = {**common, "session_id": "S-P3-1", "meter_id": "MP3"}
    with office.store.transaction() as conn:
        top = conn.execute(select(func.max(st.entries.c.entry_index))).scalar_one()
        apply_records(
            conn,
            [
                (top + 1, samples.signed("session", **session)),
                (top + 2, samples.signed("billing", **common, session_id="S-P3-1")),
            ],
        )
        order = create_work_order(conn, office.regulator, ["P3", "P8"], "li")
    package = tmp_path / "pkg.sqlite"
    summary = export_field_package(office.store, office.inspector, order, package)
    assert summary.sessions == 1
    with st.Store.open(f"sqlite:///{package}") as laptop, laptop.engine.connect() as conn:

        def count(table) -> int:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

        assert count(st.session_facts) == count(st.sessions) == summary.sessions
        assert count(st.billing_facts) == count(st.billing) > 0
