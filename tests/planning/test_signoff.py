"""Countersigning (核验员 then 批准人) of signed verification results, Qt-free.

Cases from JJF 1069's three signatures and the separation of duties: the wrong role
calling the model directly, the same person twice, an approval before the check,
altered countersignatures and records, draft versus final.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from sqlalchemy import select, update

from app.models import signoff_workflow as so
from app.models import store as st
from app.models.plan_tables import countersignatures, result_records
from app.models.signoff import SignOff
from app.models.users import (
    PermissionDenied,
    Session,
    create_user,
    set_role,
    sign_in,
    sign_verification,
)
from tests.planning.conftest import INSPECTOR_ID, PASSWORD, Office, ms

D = dt.date


def body(pile_id: str = "P1", result: str = "pass", **extra: Any) -> dict[str, Any]:
    at_ms = ms(D(2026, 5, 20))
    out: dict[str, Any] = {
        "verification_id": f"V-{pile_id}-{at_ms}",
        "pile_id": pile_id,
        "meter_id": "M" + pile_id,
        "inspector_id": INSPECTOR_ID,
        "at_ms": at_ms,
        "kind": "periodic",
        "regulation": "JJG 1149-2022",
        "points": [{"error_ppm": 1200}],
        "clock_error_ms": 300,
        "insulation_kohm": 520_000,
        "result": result,
        "certificate_no": f"HZJLJD-{pile_id}",
        "next_due": "2029-05-19",
        "seal_closed": True,
        "accuracy_class": "1",
    }
    out.update(extra)
    return out


def logged_result(office: Office, pile_id: str = "P1", **extra: Any) -> so.StoredResult:
    """The inspector signs in the field; the platform logs it; the office syncs and takes
    it up (as ``pull_from_log`` would, with the entry's log index)."""
    assert office.inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])
    record = sign_verification(office.inspector, body(pile_id, **extra))
    office.loader.apply([record])
    with office.store.transaction() as conn:
        return so.take_up(conn, record.to_bytes(), entry_index=office.loader.next_index - 1)


def checked(office: Office, ref: str, who: Session | None = None) -> SignOff:
    with office.store.transaction() as conn:
        return so.check(conn, who or office.checker, ref)


def approved(office: Office, ref: str, who: Session | None = None) -> SignOff:
    with office.store.transaction() as conn:
        return so.approve(conn, who or office.approver, ref)


def test_checked_then_approved_is_final_and_audited_under_each_user(office: Office) -> None:
    stored = logged_result(office)
    first = checked(office, stored.verification_id)
    assert not first.final and first.checker is not None and first.approver is None
    assert first.inspector_name == "李检定"  # the authority's registry name of the inspector
    final = approved(office, stored.leaf_hash)
    assert final.final
    assert final.checker is not None and final.approver is not None
    assert (final.checker.username, final.approver.username) == ("qian", "sun")
    assert final.checker.key_id == office.checker.signing_key.key_id  # type: ignore[union-attr]
    with office.store.engine.connect() as conn:
        audit = conn.execute(
            select(st.audit_log.c.user, st.audit_log.c.action, st.audit_log.c.subject).where(
                st.audit_log.c.action.like("verification.%")
            )
        ).all()
        assert [tuple(a) for a in audit] == [
            ("qian", "verification.check", f"verification {stored.verification_id}"),
            ("sun", "verification.approve", f"verification {stored.verification_id}"),
        ]
        assert so.awaiting(conn) == []
        (row,) = so.awaiting(conn, include_final=True)
        assert row.stage == "final" and (row.checker, row.approver) == ("钱核验", "孙批准")


@pytest.mark.parametrize("role", ["regulator", "inspector", "administrator", "approver"])
def test_check_refused_for_every_other_role_called_directly(office: Office, role: str) -> None:
    stored = logged_result(office)
    session = {
        "regulator": office.regulator,
        "inspector": office.other_inspector,
        "administrator": office.admin,
        "approver": office.approver,
    }[role]
    with office.store.transaction() as conn, pytest.raises(PermissionDenied, match="核验员"):
        so.check(conn, session, stored.leaf_hash)
    with office.store.engine.connect() as conn:
        assert conn.execute(select(countersignatures)).all() == []


@pytest.mark.parametrize("role", ["regulator", "inspector", "checker"])
def test_approve_refused_for_every_other_role_called_directly(office: Office, role: str) -> None:
    stored = logged_result(office)
    checked(office, stored.leaf_hash)
    session = {
        "regulator": office.regulator,
        "inspector": office.other_inspector,
        "checker": office.other_checker,
    }[role]
    with office.store.transaction() as conn, pytest.raises(PermissionDenied, match="批准人"):
        so.approve(conn, session, stored.leaf_hash)


def test_no_session_is_refused(office: Office) -> None:
    stored = logged_result(office)
    with office.store.transaction() as conn, pytest.raises(PermissionDenied, match="nobody"):
        so.check(conn, None, stored.leaf_hash)  # type: ignore[arg-type]


def test_approval_before_the_check_is_refused(office: Office) -> None:
    stored = logged_result(office)
    with (
        office.store.transaction() as conn,
        pytest.raises(so.SignOffError, match="not been checked"),
    ):
        so.approve(conn, office.approver, stored.leaf_hash)


def test_checking_twice_is_refused(office: Office) -> None:
    stored = logged_result(office)
    checked(office, stored.leaf_hash)
    with (
        office.store.transaction() as conn,
        pytest.raises(so.SignOffError, match="already checked"),
    ):
        so.check(conn, office.other_checker, stored.leaf_hash)


def test_the_inspector_cannot_countersign_own_result_under_a_checker_account(
    office: Office,
) -> None:
    """An administrator gave the inspector's ledger identity to a checker account."""
    stored = logged_result(office)
    with office.store.transaction() as conn:
        create_user(
            conn, office.admin, "li2", "李检定", "checker", PASSWORD, inspector_id=INSPECTOR_ID
        )
    with office.store.transaction() as conn:
        li_as_checker = sign_in(conn, "li2", PASSWORD)
    with office.store.transaction() as conn, pytest.raises(so.SameSigner, match="inspector"):
        so.check(conn, li_as_checker, stored.leaf_hash)


def test_the_checker_cannot_approve_after_a_role_change(office: Office) -> None:
    """Same person twice: the checker is made approver and tries to approve their check."""
    stored = logged_result(office)
    checked(office, stored.leaf_hash)
    with office.store.transaction() as conn:
        set_role(conn, office.admin, "qian", "approver")
    with office.store.transaction() as conn:
        qian_as_approver = sign_in(conn, "qian", PASSWORD)
    with office.store.transaction() as conn, pytest.raises(so.SameSigner, match="someone else"):
        so.approve(conn, qian_as_approver, stored.leaf_hash)
    final = approved(office, stored.leaf_hash)  # a third person may
    assert final.final


def test_a_record_whose_inspector_signature_fails_is_not_taken_up(office: Office) -> None:
    assert office.other_inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])  # type: ignore[union-attr]
    from ledger.records import sign_record

    forged = sign_record("verification", body("P2"), office.other_inspector.signing_key)
    with office.store.transaction() as conn, pytest.raises(so.CountersignatureInvalid):
        so.take_up(conn, forged.to_bytes())


@pytest.mark.parametrize(
    "change",
    [
        {"signed_ms": 1},
        {"username": "zhou", "display_name": "周核验"},
        {"signature": base64.b64encode(b"\x01" * 64).decode()},
        {"key_id": "0123456789abcdef"},
    ],
)
def test_an_altered_countersignature_fails_verification(office: Office, change: dict) -> None:
    stored = logged_result(office)
    checked(office, stored.leaf_hash)
    with office.store.transaction() as conn:
        conn.execute(
            update(countersignatures).where(countersignatures.c.role == "checker").values(**change)
        )
    with office.store.transaction() as conn, pytest.raises(so.CountersignatureInvalid):
        so.signoff_of(conn, stored.leaf_hash)
    with office.store.transaction() as conn, pytest.raises(so.CountersignatureInvalid):
        so.approve(conn, office.approver, stored.leaf_hash)


def test_a_check_moved_to_another_result_fails(office: Office) -> None:
    """A countersignature covers one leaf hash: copied onto another result it fails."""
    a = logged_result(office, "P1")
    b = logged_result(office, "P2")
    checked(office, a.leaf_hash)
    with office.store.transaction() as conn:
        conn.execute(
            update(countersignatures)
            .where(countersignatures.c.leaf_hash == a.leaf_hash)
            .values(leaf_hash=b.leaf_hash)
        )
    with office.store.engine.connect() as conn, pytest.raises(so.CountersignatureInvalid):
        so.signoff_of(conn, b.leaf_hash)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(position=hs.integers(min_value=0), flip=hs.integers(min_value=1, max_value=255))
def test_a_mutated_stored_record_is_refused(office: Office, position: int, flip: int) -> None:
    with office.store.engine.connect() as conn:
        have = conn.execute(select(result_records.c.leaf_hash)).scalars().all()
    if not have:
        logged_result(office)
    with office.store.engine.connect() as conn:
        leaf, entry = conn.execute(select(result_records.c.leaf_hash, result_records.c.entry)).one()
    mutated = bytearray(entry)
    mutated[position % len(mutated)] ^= flip
    with office.store.transaction() as conn:
        conn.execute(
            update(result_records)
            .where(result_records.c.leaf_hash == leaf)
            .values(entry=bytes(mutated))
        )
    try:
        with office.store.engine.connect() as conn, pytest.raises(so.SignOffError):
            so.signoff_of(conn, leaf)
    finally:
        with office.store.transaction() as conn:
            conn.execute(
                update(result_records).where(result_records.c.leaf_hash == leaf).values(entry=entry)
            )


def test_message_binds_the_approval_to_the_check() -> None:
    leaf = "ab" * 32
    assert so.message("approver", leaf, "sun", 5, "sigA") != so.message(
        "approver", leaf, "sun", 5, "sigB"
    )
    assert so.message("checker", leaf, "qian", 5) != so.message("checker", "cd" * 32, "qian", 5)
    with pytest.raises(ValueError):
        so.message("approver", leaf, "sun", 5)  # an approval must name the check it follows


# ---- draft vs final ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_result():
    from tests.verification.conftest import _run_once

    return _run_once(true_error_pct=0.6)


def test_only_a_checked_and_approved_result_prints_final(
    qapp: Any, office: Office, run_result: Any, tmp_path: Path
) -> None:
    """The real certificate writer, read back from the PDF: final only after both steps."""
    from app.models.charging.verification import record_body
    from app.reports.certificate import write_certificate
    from tests.verification.test_certificate import pdf_text

    assert office.inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])
    record = sign_verification(office.inspector, record_body(run_result, inspector_id=INSPECTOR_ID))
    with office.store.transaction() as conn:
        stored = so.take_up(conn, record.to_bytes())
    target = tmp_path / "cert.pdf"
    for step in (None, "check"):
        if step == "check":
            checked(office, stored.leaf_hash)
        with office.store.transaction() as conn, pytest.raises(so.NotFinal, match="draft"):
            so.print_final(
                conn,
                office.regulator,
                stored.leaf_hash,
                run_result,
                target,
                writer=write_certificate,
            )
        assert not target.exists()
    approved(office, stored.leaf_hash)
    with office.store.transaction() as conn, pytest.raises(PermissionDenied):
        so.print_final(
            conn, office.inspector, stored.leaf_hash, run_result, target, writer=write_certificate
        )
    with office.store.transaction() as conn:
        so.print_final(
            conn, office.regulator, stored.leaf_hash, run_result, target, writer=write_certificate
        )
    final = pdf_text(target)
    assert "检定证书" in final and "草稿" not in final and "DRAFT" not in final
    assert "钱核验" in final and "孙批准" in final  # checker and approver printed
    write_certificate(run_result, tmp_path / "draft.pdf")  # no sign-off given: a draft
    assert "草稿" in pdf_text(tmp_path / "draft.pdf")
    with office.store.engine.connect() as conn:
        users = (
            conn.execute(
                select(st.audit_log.c.user).where(st.audit_log.c.action == "certificate.print")
            )
            .scalars()
            .all()
        )
    assert users == ["wang"]


# ---- where the office gets the signed record: the log, on a real loopback platform -------


def test_results_are_taken_up_from_the_real_platforms_log(tmp_path: Path) -> None:
    from app.models.users import create_first_administrator, public_key_of
    from ledger.client import LogClient
    from tests.planning.conftest import PlanWorld
    from tests.planning.test_field_e2e import sync
    from tests.world import PlatformProcess, ndjson, post

    world = PlanWorld()
    office = st.Store.open(f"sqlite:///{tmp_path / 'office.sqlite'}")
    with office.transaction() as conn:
        admin = create_first_administrator(conn, "admin", "管理员", PASSWORD)
        create_user(conn, admin, "li", "李检定", "inspector", PASSWORD, inspector_id=INSPECTOR_ID)
        create_user(conn, admin, "qian", "钱核验", "checker", PASSWORD)
        inspector_key = public_key_of(conn, "li")
    with office.transaction() as conn:
        inspector, checker = sign_in(conn, "li", PASSWORD), sign_in(conn, "qian", PASSWORD)
    entries = [*world.registry(), world.inspector(inspector_key)]
    entries.append(sign_verification(inspector, body("P3")))  # uploaded from the laptop
    platform = PlatformProcess(tmp_path / "platform")
    try:
        status, answer = post(platform.url, ndjson(entries))
        assert status == 200, answer
        sync(office, platform.url, platform.vkey(), len(entries))
        # A lying platform: the same log with one byte of the result entry changed.
        lying = tmp_path / "lying"
        shutil.copytree(tmp_path / "platform" / "log", lying)
        (bundle,) = [f for f in (lying / "tile" / "entries").rglob("*") if f.is_file()]
        data = bytearray(bundle.read_bytes())
        data[-3] ^= 0x01  # inside the last entry (the result), framing untouched
        bundle.write_bytes(bytes(data))
        liar = LogClient(str(lying), platform.vkey())
        try:
            with pytest.raises(so.SignOffError, match="wrong leaf hash"):
                so.pull_from_log(office, liar)
        finally:
            liar.close()
        client = LogClient(platform.url, platform.vkey())
        try:
            with office.engine.connect() as conn:
                assert so.awaiting(conn) == []  # nothing taken from the liar
            assert so.pull_from_log(office, client) == 1
            assert so.pull_from_log(office, client) == 0  # idempotent
        finally:
            client.close()
        with office.engine.connect() as conn:
            (row,) = so.awaiting(conn)
            stored = conn.execute(select(result_records)).mappings().one()
        assert row.verification_id == body("P3")["verification_id"] and row.stage == "check"
        assert stored["entry_index"] == len(entries) - 1
        assert bytes(stored["entry"]) == entries[-1].to_bytes()  # byte for byte as logged
        with office.transaction() as conn:
            assert so.check(conn, checker, row.verification_id).checker is not None
    finally:
        platform.stop()
        office.close()


def test_the_office_prints_the_final_certificate_from_the_signed_record_alone(
    qapp: Any, office: Office, run_result: Any, tmp_path: Path
) -> None:
    """No run in the office: the PDF is rebuilt from the stored record and shows the run's
    per-point means, every reading's pulses, the rig's certificate and all three names."""
    from app.models.charging.verification import record_body
    from app.reports.certificate import CertificateInfo, write_certificate
    from tests.verification.test_certificate import pdf_text

    assert office.inspector.signing_key is not None
    office.loader.apply([office.world.inspector(office.inspector.signing_key.public_key.text)])
    body = record_body(run_result, inspector_id=INSPECTOR_ID)
    record = sign_verification(office.inspector, body)
    with office.store.transaction() as conn:
        stored = so.take_up(conn, record.to_bytes())
        info = CertificateInfo(**so.certificate_details(conn, stored.leaf_hash))
    draft, final = tmp_path / "draft.pdf", tmp_path / "final.pdf"
    with office.store.transaction() as conn:
        so.print_draft(conn, office.regulator, stored.leaf_hash, None, draft,
                       writer=write_certificate, info=info)  # fmt: skip
    assert "草稿" in pdf_text(draft)
    checked(office, stored.leaf_hash)
    approved(office, stored.leaf_hash)
    with office.store.transaction() as conn, pytest.raises(so.SignOffError, match="final"):
        so.print_draft(conn, office.regulator, stored.leaf_hash, None, draft,
                       writer=write_certificate, info=info)  # fmt: skip
    with office.store.transaction() as conn:
        so.print_final(conn, office.regulator, stored.leaf_hash, None, final,
                       writer=write_certificate, info=info)  # fmt: skip
    text = pdf_text(final)
    assert "检定证书" in text and "草稿" not in text
    assert "钱核验" in text and "孙批准" in text and INSPECTOR_ID in text
    assert body["certificate_no"] in text and stored.leaf_hash in text
    assert run_result.standard.certificate_no in text
    for point in run_result.points:
        assert f"{point.mean_error_percent:+.3f}" in text
        assert f"{point.rounded_error_percent:+.1f}" in text
        for reading in point.readings:
            assert str(reading.pulses) in text
    assert "kW" not in text.split("型号规格")[1].split("\n")[0]  # rated power not carried: —


# ---- the registry's nameplate data: every gun with its own meter ---------------------------


def test_registry_gives_the_wizard_every_gun_and_its_meter(office: Office) -> None:
    from app.main_window import _pile_specs
    from app.models.charging.result_record import registry_pile_specs
    from ledger.records import sign_record
    from tests.planning.conftest import T0

    oper = office.world.oper
    records = []
    for pid, guns, metered in (("PX2", 2, (1, 2)), ("PX3", 3, (1, 3))):
        records.append(
            sign_record(
                "pile",
                {"pile_id": pid, "station_id": "ST1", "operator_id": "OP1", "kind": "DC",
                 "rated_power_w": 240_000, "rated_voltage_v": 750, "connectors": guns,
                 "commissioned_ms": T0, "at_ms": T0},
                oper,
            )
        )  # fmt: skip
        for gun in metered:
            mid = f"M{pid}-{gun}"
            records.append(
                sign_record(
                    "meter",
                    {"meter_id": mid, "pile_id": pid, "operator_id": "OP1", "connector": gun,
                     "accuracy_class": "1" if gun == 1 else "2",
                     "key": office.world.meter_key(mid).public_key.text, "heartbeat_s": 900,
                     "installed_ms": T0, "at_ms": T0},
                    oper,
                )
            )  # fmt: skip
    office.loader.apply(records)
    with office.store.engine.connect() as conn:
        two, three = registry_pile_specs(conn, ["PX2", "PX3"])
    assert (two.pile_id, two.connectors) == ("PX2", 2)
    assert [two.meter_of(g)[0] for g in (1, 2)] == ["MPX2-1", "MPX2-2"]
    assert two.operator == "测试运营商" and two.station == "文三路充电站"
    assert two.accuracy_class == "1"  # gun 1's meter
    # gun 2 has no registered meter: only gun 1 can be verified from the registry
    assert (three.connectors, three.meter_of(1)[0]) == (1, "MPX3-1")
    every = {p.pile_id: p for p in _pile_specs(office.store.url)}
    assert every["PX2"].connectors == 2 and every["P1"].meter_id == "MP1"


def test_results_of_a_second_log_are_taken_up_from_that_log(tmp_path: Path) -> None:
    """A store following several logs (list mode): the result synced from the office's
    second log is fetched from that log, checked against that log's checkpoint, and kept
    under its store key — through the clients the accepted list gives."""
    from app.models.list_sync import StoredLogClients
    from app.models.logs import FollowedLog, assign_logs, entry_key
    from app.models.users import create_first_administrator, public_key_of
    from ledger.client import LogClient
    from tests.planning.conftest import PlanWorld
    from tests.planning.test_field_e2e import sync
    from tests.world import PlatformProcess, ndjson, post

    world = PlanWorld()
    office = st.Store.open(f"sqlite:///{tmp_path / 'office.sqlite'}")
    with office.transaction() as conn:
        admin = create_first_administrator(conn, "admin", "管理员", PASSWORD)
        create_user(conn, admin, "li", "李检定", "inspector", PASSWORD, inspector_id=INSPECTOR_ID)
        inspector_key = public_key_of(conn, "li")
    with office.transaction() as conn:
        inspector = sign_in(conn, "li", PASSWORD)
    entries = [*world.registry(), world.inspector(inspector_key)]
    entries.append(sign_verification(inspector, body("P3")))
    platform = PlatformProcess(tmp_path / "platform")
    try:
        status, answer = post(platform.url, ndjson(entries))
        assert status == 200, answer
        vkey = platform.vkey()
        origin = vkey.split("+", 1)[0]
        with office.transaction() as conn:  # the list's first log is another shard
            assign_logs(
                conn,
                [
                    FollowedLog(-1, "hangzhou.evm.example/2025h2"),
                    FollowedLog(-1, origin, vkey, platform.url, "330100", 0, 1),
                ],
            )
        sync(office, platform.url, vkey, len(entries))
        clients = StoredLogClients(office)
        try:
            assert so.pull_from_log(office, clients) == 1
            assert so.pull_from_log(office, clients) == 0
        finally:
            clients.close()
        with office.engine.connect() as conn:
            stored = conn.execute(select(result_records)).mappings().one()
        assert stored["entry_index"] == entry_key(1, len(entries) - 1)
        # the single-platform pull with that log's client finds nothing more to take
        client = LogClient(platform.url, vkey)
        try:
            assert so.pull_from_log(office, client) == 0
        finally:
            client.close()
    finally:
        platform.stop()
        office.close()
