"""Roles on every protected action, sign-in, and secrets that never reach the disk in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import signoff_workflow
from app.models import store as st
from app.models.charging.planning import set_rotation_years
from app.models.field_package import export_field_package, queue_result, upload_results
from app.models.plan_tables import users
from app.models.projection import apply_records
from app.models.users import (
    PERMISSIONS,
    PermissionDenied,
    Session,
    SignInError,
    UserError,
    change_password,
    create_first_administrator,
    create_user,
    guarded_alarm_transition,
    has_users,
    list_users,
    set_active,
    set_role,
    sign_in,
    sign_verification,
)
from app.models.workorders import (
    create_work_order,
    list_orders,
    order_items,
    reassign_pile,
    set_order_state,
)
from tests.planning.conftest import PASSWORD, Office, add_alarm, verification_record

ROLES = ("administrator", "regulator", "inspector", "checker", "approver")


def test_permission_matrix_is_as_documented() -> None:
    assert PERMISSIONS["administrator"] == {"users.manage", "sync.clear_halt"}
    assert "verification.sign" not in PERMISSIONS["regulator"]
    assert not {"alarms.dismiss", "register.edit", "workorders.edit"} & PERMISSIONS["inspector"]


def _session(office: Office, role: str) -> Session:
    return {
        "administrator": office.admin,
        "regulator": office.regulator,
        "inspector": office.inspector,
        "checker": office.checker,
        "approver": office.approver,
    }[role]


def _stored_result(office: Office, conn, *, checked: bool = False) -> str:
    """A signed result taken up for countersigning (and checked by the 核验员)."""
    key = office.inspector.signing_key
    assert key is not None
    apply_records(conn, [(900, office.world.inspector(key.public_key.text))])
    record = sign_verification(office.inspector, _body(office))
    stored = signoff_workflow.take_up(conn, record.to_bytes())
    if checked:
        signoff_workflow.check(conn, office.checker, stored.leaf_hash)
    return stored.leaf_hash


def _body(office: Office) -> dict:
    key = office.inspector.signing_key
    assert key is not None
    return dict(verification_record(key, "P3", 1_780_000_000_000).body)


# Every protected model call, and the roles that may make it.
ACTIONS = {
    "create user": (
        lambda o, s, c: create_user(c, s, "x" + s.role, "X", "inspector", PASSWORD),
        {"administrator"},
    ),
    "deactivate user": (lambda o, s, c: set_active(c, s, "zhao", False), {"administrator"}),
    "change role": (lambda o, s, c: set_role(c, s, "zhao", "regulator"), {"administrator"}),
    "list users": (lambda o, s, c: list_users(c, s), {"administrator"}),
    "edit rotation": (lambda o, s, c: set_rotation_years(c, s, "AC", 7), {"regulator"}),
    "create order": (
        lambda o, s, c: create_work_order(c, s, ["P3"], "li"),
        {"regulator"},
    ),
    "dismiss alarm": (
        lambda o, s, c: guarded_alarm_transition(
            c, s, add_alarm(c, "P1", st.utcnow(), "high"), 1, "dismissed"
        ),
        {"regulator"},
    ),
    "acknowledge alarm": (
        lambda o, s, c: guarded_alarm_transition(
            c, s, add_alarm(c, "P1", st.utcnow(), "high"), 1, "acknowledged"
        ),
        {"regulator"},
    ),
    "sign result": (lambda o, s, c: sign_verification(s, _body(o)), {"inspector"}),
    "see orders": (lambda o, s, c: list_orders(c, s), {"regulator", "inspector"}),
    "check result": (
        lambda o, s, c: signoff_workflow.check(c, s, _stored_result(o, c)),
        {"checker"},
    ),
    "approve result": (
        lambda o, s, c: signoff_workflow.approve(c, s, _stored_result(o, c, checked=True)),
        {"approver"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_role_checks_for_every_protected_action(office: Office, role: str, action: str) -> None:
    call, allowed = ACTIONS[action]
    session = _session(office, role)
    with office.store.transaction() as conn:
        if role in allowed:
            call(office, session, conn)
        else:
            with pytest.raises(PermissionDenied) as info:
                call(office, session, conn)
            assert role in str(info.value)


def test_order_edits_and_exports_are_guarded(office: Office, tmp_path: Path) -> None:
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3", "P8"], "li")
        for session in (office.inspector, office.admin):
            with pytest.raises(PermissionDenied, match="create or change work orders"):
                reassign_pile(conn, session, "P3", order)
            with pytest.raises(PermissionDenied, match="create or change work orders"):
                set_order_state(conn, session, order, "cancelled")
        with pytest.raises(PermissionDenied, match="work order"):
            order_items(conn, office.other_inspector, order)  # not theirs
        assert list_orders(conn, office.other_inspector) == []
        assert [o.id for o in list_orders(conn, office.inspector)] == [order]
    with pytest.raises(PermissionDenied, match="zhao"):
        export_field_package(office.store, office.other_inspector, order, tmp_path / "x.sqlite")
    with pytest.raises(PermissionDenied, match="administrator"):
        export_field_package(office.store, office.admin, order, tmp_path / "y.sqlite")
    record = sign_verification(office.inspector, _body(office))
    with pytest.raises(PermissionDenied, match="regulator"):
        queue_result(office.store, office.regulator, record)
    with pytest.raises(PermissionDenied, match="regulator"):
        upload_results(office.store, office.regulator, "http://127.0.0.1:9")


def test_inspector_signs_only_in_their_own_name(office: Office) -> None:
    body = _body(office)
    body["inspector_id"] = "INS-HZ-008"
    with pytest.raises(PermissionDenied, match="in the name of"):
        sign_verification(office.inspector, body)
    record = sign_verification(office.inspector, _body(office))
    assert office.inspector.signing_key is not None
    record.verify(office.inspector.signing_key.public_key)


def test_first_run_and_sign_in(tmp_path: Path) -> None:
    with st.Store.open(f"sqlite:///{tmp_path / 'ws.sqlite'}") as store:
        with store.transaction() as conn:
            assert not has_users(conn)
            with pytest.raises(UserError, match="at least 8"):
                create_first_administrator(conn, "root", "Root", "short")
        with store.transaction() as conn:
            admin = create_first_administrator(conn, "root", "Root", PASSWORD)
            assert admin.role == "administrator" and admin.signing_key is not None
        with store.transaction() as conn, pytest.raises(PermissionDenied, match="already exists"):
            create_first_administrator(conn, "evil", "Evil", PASSWORD)
        with store.transaction() as conn:
            create_user(conn, admin, "li", "李", "inspector", PASSWORD, inspector_id="I1")
            with pytest.raises(UserError, match="already exists"):
                create_user(conn, admin, "li", "李", "inspector", PASSWORD)
        for name, password in (("li", "wrong password"), ("nobody", PASSWORD)):
            with store.transaction() as conn, pytest.raises(SignInError, match="unknown user name"):
                sign_in(conn, name, password)
        with store.transaction() as conn:
            li = sign_in(conn, "li", PASSWORD)
            change_password(conn, li, PASSWORD, "new-passw0rd")
        with store.transaction() as conn:
            again = sign_in(conn, "li", "new-passw0rd")
            assert again.signing_key is not None and li.signing_key is not None
            assert again.signing_key.key_id == li.signing_key.key_id  # same key, re-encrypted
            set_active(conn, admin, "li", False)
        with store.transaction() as conn, pytest.raises(SignInError):
            sign_in(conn, "li", "new-passw0rd")
        with store.engine.connect() as conn:
            audit = conn.execute(select(st.audit_log.c.user, st.audit_log.c.action)).all()
    assert ("root", "user.create") in audit and ("li", "user.sign_in") in audit
    assert ("li", "user.sign_in_failed") in audit and ("li", "user.change_password") in audit
    assert ("root", "user.set_active") in audit


def _secrets(session: Session) -> list[bytes]:
    key = session.signing_key
    assert key is not None
    scalar = key._private.private_numbers().private_value.to_bytes(32, "big")  # type: ignore[attr-defined]
    return [PASSWORD.encode(), PASSWORD.encode("utf-16-le"), scalar, scalar.hex().encode()]


def test_passwords_and_keys_never_in_clear(office: Office, tmp_path: Path) -> None:
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3"], "li")
        pems = conn.execute(select(users.c.key_pem, users.c.password_hash)).all()
    for pem, phc in pems:
        assert pem.startswith(b"evm-sealed-key/v1\n")  # argon2id + AES-GCM (issue 13)
        assert phc.startswith("$argon2id$")
    package = tmp_path / "field.sqlite"
    export_field_package(office.store, office.inspector, order, package)
    office.store.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert package in files and any(p.name == "office.sqlite" for p in files)
    secrets = [
        s for who in (office.admin, office.regulator, office.inspector) for s in _secrets(who)
    ]
    for path in files:
        data = path.read_bytes()
        assert b"BEGIN PRIVATE KEY" not in data, path
        assert b"BEGIN EC PRIVATE KEY" not in data, path
        for secret in secrets:
            assert secret not in data, (path, secret[:4])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_desktops_on_a_fresh_database_make_one_administrator(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import threading

    url = (
        f"sqlite:///{tmp_path / 'ws.sqlite'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    results: list[str] = []
    with st.Store.open(url) as store:
        barrier = threading.Barrier(4)

        def first_run(name: str) -> None:
            barrier.wait()
            try:
                with store.transaction() as conn:
                    create_first_administrator(conn, name, name, PASSWORD)
                results.append("created")
            except PermissionDenied:
                results.append("refused")

        threads = [threading.Thread(target=first_run, args=(f"admin{k}",)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        with store.engine.connect() as conn:
            admins = conn.execute(select(users.c.username).where(users.c.role == "administrator"))
            assert len(admins.all()) == 1
    assert sorted(results) == ["created", "refused", "refused", "refused"]
