"""Secrets at rest (issue 13 item 4): signing keys sealed with the password's argon2id
cost, legacy PKCS#8 keys still opening and re-sealed, stores and packages 0600."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.models import store as st
from app.models import users as u
from app.models.plan_tables import users
from tests.planning.conftest import PASSWORD, Office


def _blob(office: Office, username: str) -> bytes:
    with office.store.engine.connect() as conn:
        return bytes(
            conn.execute(select(users.c.key_pem).where(users.c.username == username)).scalar_one()
        )


def test_key_is_sealed_at_the_password_hash_cost(office: Office) -> None:
    blob = _blob(office, "li")
    assert blob.startswith(u.SEALED_KEY_MAGIC)
    params = json.loads(blob[len(u.SEALED_KEY_MAGIC) :])
    with office.store.engine.connect() as conn:
        phc = conn.execute(
            select(users.c.password_hash).where(users.c.username == "li")
        ).scalar_one()
    # $argon2id$v=19$m=65536,t=3,p=4$...: the same cost protects the key and the login.
    cost = dict(kv.split("=") for kv in phc.split("$")[3].split(","))
    assert (params["kdf"], params["cipher"]) == ("argon2id", "aes-256-gcm")
    assert (params["m"], params["t"], params["p"]) == (
        int(cost["m"]),
        int(cost["t"]),
        int(cost["p"]),
    )
    assert params["m"] >= 65536 and params["t"] >= 3
    assert b"PRIVATE KEY" not in blob


def test_legacy_pkcs8_key_opens_and_is_resealed_at_sign_in(office: Office) -> None:
    key = office.inspector.signing_key
    assert key is not None
    legacy = key.to_pem(PASSWORD.encode())  # PBKDF2 at 2,048 iterations, as before
    with office.store.transaction() as conn:
        conn.execute(update(users).where(users.c.username == "li").values(key_pem=legacy))
    with office.store.transaction() as conn:
        session = u.sign_in(conn, "li", PASSWORD)
    assert session.signing_key is not None
    assert session.signing_key.public_key.text == key.public_key.text
    assert _blob(office, "li").startswith(u.SEALED_KEY_MAGIC)
    with office.store.engine.connect() as conn:
        actions = conn.execute(
            select(st.audit_log.c.user, st.audit_log.c.action).where(
                st.audit_log.c.action == "user.key_resealed"
            )
        ).all()
    assert actions == [("li", "user.key_resealed")]
    with office.store.transaction() as conn:  # and it opens again the new way
        assert u.sign_in(conn, "li", PASSWORD).signing_key is not None


def test_a_key_moved_to_another_account_or_altered_does_not_open(office: Office) -> None:
    theirs = _blob(office, "zhao")
    with office.store.transaction() as conn:
        conn.execute(update(users).where(users.c.username == "li").values(key_pem=theirs))
    with (
        office.store.transaction() as conn,
        pytest.raises(u.SignInError, match="cannot be unlocked"),
    ):
        u.sign_in(conn, "li", PASSWORD)  # same password, other account's key: AAD differs
    mine = bytearray(_blob(office, "zhao"))
    params = json.loads(mine[len(u.SEALED_KEY_MAGIC) :])
    params["m"] = 1 << 30  # a tampered cost must not make sign-in allocate a terabyte
    with pytest.raises(u.KeyFormatError, match="unsupported parameters"):
        u.open_key(u.SEALED_KEY_MAGIC + json.dumps(params).encode(), PASSWORD, "p256:irrelevant")
    for bad in (b"", b"garbage", u.SEALED_KEY_MAGIC + b"{", u.SEALED_KEY_MAGIC + b"[]"):
        with pytest.raises(u.KeyFormatError):
            u.open_key(bad, PASSWORD, "p256:irrelevant")


def test_wrong_password_never_opens_the_sealed_key(office: Office) -> None:
    with pytest.raises(u.KeyFormatError, match="wrong password"):
        u.open_key(
            _blob(office, "li"), PASSWORD + "x", office.inspector.signing_key.public_key.text
        )


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_store_files_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "data" / "office.sqlite"
        with st.Store.open(f"sqlite:///{path}") as store, store.transaction() as conn:
            st.write_audit(conn, "system", "test", "x")
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(p.exists() for p in files)
            for p in files:
                assert _mode(p) == 0o600, p
        assert _mode(path.parent) == 0o700
        # A store made world-readable before this fix is tightened when opened.
        path.chmod(0o644)
        with st.Store.open(f"sqlite:///{path}"):
            assert _mode(path) == 0o600
    finally:
        os.umask(old)


def test_platform_log_key_is_created_private(tmp_path: Path) -> None:
    from ledger.platform.server import load_or_create_key

    old = os.umask(0o022)
    try:
        data = tmp_path / "platform"
        data.mkdir()
        load_or_create_key(data, "test.example/log")
    finally:
        os.umask(old)
    assert _mode(data / "log.key") == 0o600
    assert _mode(data / "log.vkey") == 0o644  # the verifier key is public


def test_saved_signing_keys_are_private_from_creation(tmp_path: Path) -> None:
    from ledger.keys import SigningKey

    old = os.umask(0o000)  # the worst case: everything world-writable by default
    try:
        path = tmp_path / "meter.pem"
        path.write_bytes(b"old")  # an existing file with a wide mode is tightened too
        path.chmod(0o666)
        SigningKey.generate().save(path)
    finally:
        os.umask(old)
    assert _mode(path) == 0o600
    assert SigningKey.from_pem(path.read_bytes()).alg == "p256"
