"""``main.py sync --clear-halt`` needs a signed-in administrator (issue 13 item 2): it
used to need no sign-in at all and audited the change as "admin"."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.models import store as st
from app.models import sync_cli
from app.models.users import PermissionDenied, create_first_administrator, create_user, sign_in
from tests.world import PlatformProcess

PASSWORD = "Zq7!correct-horse-九"


@pytest.fixture
def halted(tmp_path):
    """A store whose sync of a real (empty) platform's log is halted, with users."""
    proc = PlatformProcess(tmp_path / "platform")
    url = f"sqlite:///{tmp_path / 'ws.sqlite'}"
    origin = proc.vkey().split("+")[0]
    with st.Store.open(url) as store, store.transaction() as conn:
        admin = create_first_administrator(conn, "root", "管理员", PASSWORD)
        create_user(conn, admin, "wang", "王监管", "regulator", PASSWORD)
        st.put_sync_state(
            conn, st.SyncState(origin, 0, None, None, "halted", "fork proved", None, None)
        )
    try:
        yield proc, url, origin
    finally:
        proc.stop()


def _state(url: str, origin: str) -> tuple[str, list[tuple[str, str]]]:
    with st.Store.open(url) as store, store.engine.connect() as conn:
        status = st.get_sync_state(conn, origin).status
        audit = conn.execute(
            select(st.audit_log.c.user, st.audit_log.c.action).where(
                st.audit_log.c.action == "clear-halt"
            )
        ).all()
    return status, [tuple(r) for r in audit]


def _cli(proc, url: str, *extra: str) -> list[str]:
    return ["--platform", proc.url, "--log-key", proc.vkey(), "--db", url, "--quiet", *extra]


def test_clear_halt_without_credentials_is_refused(halted, capsys):
    proc, url, origin = halted
    with pytest.raises(SystemExit) as exc:
        sync_cli.main(_cli(proc, url, "--clear-halt"))
    assert exc.value.code == 2 and "--user" in capsys.readouterr().err
    assert _state(url, origin) == ("halted", [])


def test_wrong_password_or_wrong_role_leaves_the_halt(halted, capsys, monkeypatch):
    proc, url, origin = halted
    monkeypatch.setenv(sync_cli.PASSWORD_ENV, "not the password")
    assert sync_cli.main(_cli(proc, url, "--clear-halt", "--user", "root")) == 2
    assert "wrong password" in capsys.readouterr().err
    monkeypatch.setenv(sync_cli.PASSWORD_ENV, PASSWORD)
    assert sync_cli.main(_cli(proc, url, "--clear-halt", "--user", "wang")) == 2
    assert "regulator (wang) may not resume a sync" in capsys.readouterr().err
    assert _state(url, origin) == ("halted", [])
    with st.Store.open(url) as store:  # and the function itself, called directly
        with store.transaction() as conn:
            wang = sign_in(conn, "wang", PASSWORD)
        with pytest.raises(PermissionDenied):
            sync_cli.clear_halt(store, origin, wang)
        with pytest.raises(PermissionDenied, match="nobody is signed in"):
            sync_cli.clear_halt(store, origin, None)
    assert _state(url, origin) == ("halted", [])


def test_administrator_clears_the_halt_under_their_name(halted, monkeypatch):
    proc, url, origin = halted
    monkeypatch.delenv(sync_cli.PASSWORD_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))  # piped, not a terminal
    assert sync_cli.main(_cli(proc, url, "--clear-halt", "--user", "root")) == 0
    status, audit = _state(url, origin)
    assert status != "halted" and audit == [("root", "clear-halt")]
