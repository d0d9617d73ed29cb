"""Sealed field packages (issue 13 item 5): editing ``users.role`` inside a package made
its user an administrator on the laptop, and a result signed by one inspector uploaded
under another's session. Also: packages are 0600 and corrupted ones fail cleanly."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from sqlalchemy import select

from app.models import store as st
from app.models.field_package import (
    TRUST_FILE,
    WORKSTATION_KEY_FILE,
    PackageError,
    export_field_package,
    open_field_package,
    package_outbox,
    queue_result,
    upload_results,
)
from app.models.users import change_password, sign_in
from app.models.workorders import create_work_order
from tests.planning.conftest import INSPECTOR_ID, PASSWORD, Office, verification_record


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _export(office: Office, tmp_path: Path, name: str = "pkg.sqlite", **kw) -> Path:
    with office.store.transaction() as conn:
        order = create_work_order(conn, office.regulator, ["P3", "P8"], "li", reassign=True)
    package = tmp_path / name
    export_field_package(office.store, office.inspector, order, package, **kw)
    return package


def _raw(package: Path, sql: str, *args) -> None:
    """What someone with the file and the sqlite3 shell can do."""
    conn = sqlite3.connect(package)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def test_sealed_package_opens_and_pins_the_office_key(office: Office, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        package = _export(office, tmp_path, key_dir=tmp_path)
    finally:
        os.umask(old)
    assert _mode(package) == 0o600  # the package holds a password hash and a sealed key
    assert _mode(tmp_path / WORKSTATION_KEY_FILE) == 0o600
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    with open_field_package(package, trust_dir=laptop) as pkg, pkg.transaction() as conn:
        li = sign_in(conn, "li", PASSWORD)
    assert li.role == "inspector"
    pinned = json.loads((laptop / TRUST_FILE).read_text())
    office_key = (tmp_path / WORKSTATION_KEY_FILE).read_bytes()
    from ledger.keys import SigningKey

    assert pinned["key"] == SigningKey.from_pem(office_key).public_key.text
    assert _mode(laptop / TRUST_FILE) == 0o600


@pytest.mark.parametrize(
    ("sql", "args"),
    [
        ("UPDATE users SET role = ? WHERE username = 'li'", ("administrator",)),
        ("UPDATE users SET inspector_id = ? WHERE username = 'li'", ("INS-HZ-008",)),
        ("UPDATE work_order_items SET pile_id = ? WHERE pile_id = 'P3'", ("P1",)),
        ("UPDATE meters SET key = ? WHERE meter_id = 'MP3'", ("p256:AAAA",)),
        ("DELETE FROM entries WHERE entry_index = (SELECT min(entry_index) FROM entries)", ()),
        ("UPDATE piles SET rated_power_w = ? WHERE pile_id = 'P3'", (1,)),
        ("INSERT INTO package_info (key, value) VALUES ('extra', ?)", ('"x"',)),
    ],
)
def test_a_package_edited_after_export_does_not_open(
    office: Office, tmp_path: Path, sql: str, args: tuple
) -> None:
    package = _export(office, tmp_path)
    _raw(package, sql, *args)
    with pytest.raises(PackageError, match="changed after the office exported it"):
        open_field_package(package)


def test_a_package_without_its_seal_or_with_a_broken_one_does_not_open(
    office: Office, tmp_path: Path
) -> None:
    package = _export(office, tmp_path)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(package, copy)
    _raw(package, "DELETE FROM package_info WHERE key = 'seal'")
    with pytest.raises(PackageError, match="not sealed"):
        open_field_package(package)
    _raw(copy, "UPDATE package_info SET value = ? WHERE key = 'seal'", '{"key": 1, "sig": "!"}')
    with pytest.raises(PackageError, match="seal is damaged"):
        open_field_package(copy)


def test_a_package_of_another_schema_version_is_refused_clearly(
    office: Office, tmp_path: Path
) -> None:
    package = _export(office, tmp_path)
    _raw(package, "UPDATE alembic_version SET version_num = ?", "0001")
    with pytest.raises(PackageError, match="another version of the workstation"):
        open_field_package(package)


def test_a_package_from_another_workstation_is_refused_after_the_first(
    office: Office, tmp_path: Path
) -> None:
    first_office, other_office, laptop = tmp_path / "a", tmp_path / "b", tmp_path / "laptop"
    for d in (first_office, other_office, laptop):
        d.mkdir()
    ours = _export(office, tmp_path, "ours.sqlite", key_dir=first_office)
    theirs = _export(office, tmp_path, "theirs.sqlite", key_dir=other_office)
    open_field_package(ours, trust_dir=laptop).close()
    with pytest.raises(PackageError, match="trusts only the office key"):
        open_field_package(theirs, trust_dir=laptop)
    open_field_package(ours, trust_dir=laptop).close()  # the pinned one still opens


def test_laptop_work_does_not_break_the_seal(office: Office, tmp_path: Path) -> None:
    """Sign-in, audit, queued results, a password change: the package still opens."""
    package = _export(office, tmp_path)
    key = office.inspector.signing_key
    assert key is not None
    with open_field_package(package) as pkg:
        with pkg.transaction() as conn:
            li = sign_in(conn, "li", PASSWORD)
        queue_result(pkg, li, verification_record(key, "P3", 1_780_000_000_000))
        with pkg.transaction() as conn:
            change_password(conn, li, PASSWORD, PASSWORD + "-new")
    with open_field_package(package) as pkg, pkg.transaction() as conn:
        assert sign_in(conn, "li", PASSWORD + "-new").signing_key is not None


def test_uploads_are_bound_to_the_signer_of_each_result(office: Office, tmp_path: Path) -> None:
    package = _export(office, tmp_path)
    li_key, zhao_key = office.inspector.signing_key, office.other_inspector.signing_key
    assert li_key is not None and zhao_key is not None
    posted: list[str] = []

    def post(url: str, body: bytes) -> tuple[int, str]:
        posted.append(json.loads(body)["b"]["verification_id"])
        return 200, '{"accepted": 1}'

    with open_field_package(package) as pkg:
        genuine = verification_record(li_key, "P3", 1_780_000_000_000)
        queue_result(pkg, office.inspector, genuine)
        # Zhao's key, in li's name, dropped straight into the outbox folder.
        forged = verification_record(zhao_key, "P8", 1_780_000_000_000, vid="V-forged")
        assert forged.body["inspector_id"] == INSPECTOR_ID
        package_outbox(pkg).enqueue(forged)
        # Uploaded while zhao is signed in: the upload is li's result, not zhao's.
        report = upload_results(pkg, office.other_inspector, "http://platform", post=post)
        with pkg.engine.connect() as conn:
            audit = conn.execute(
                select(st.audit_log.c.user, st.audit_log.c.detail).where(
                    st.audit_log.c.action == "result.uploaded"
                )
            ).all()
    assert posted == [genuine.body["verification_id"]]
    assert "not the registered key of inspector" in report.rejected["V-forged"]
    assert report.pending == 1
    [(user, detail)] = audit
    assert user == "zhao"
    assert (detail["signed_by"], detail["signer_account"]) == (INSPECTOR_ID, "li")


def test_corrupted_packages_raise_only_package_error(office: Office, tmp_path: Path) -> None:
    """Mutated bytes (hypothesis, bounded): the documented error, never sqlite3/Unicode."""
    package = _export(office, tmp_path)
    pristine = package.read_bytes()
    trial = tmp_path / "trial.sqlite"
    outcomes: dict[str, int] = {"opened": 0, "refused": 0}

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        hst.lists(
            hst.tuples(hst.integers(0, len(pristine) - 1), hst.integers(1, 255)),
            min_size=1,
            max_size=8,
        ),
        hst.booleans(),
    )
    def mutate(flips: list[tuple[int, int]], truncate: bool) -> None:
        data = bytearray(pristine)
        for offset, xor in flips:
            data[offset] ^= xor
        if truncate:
            data = data[: flips[0][0]]
        for suffix in ("", "-wal", "-shm"):
            Path(f"{trial}{suffix}").unlink(missing_ok=True)
        trial.write_bytes(bytes(data))
        try:
            open_field_package(trial).close()
        except PackageError as exc:
            assert str(trial) in str(exc)
            outcomes["refused"] += 1
        else:
            outcomes["opened"] += 1  # the flip hit free space: the content is intact

    mutate()
    assert outcomes["refused"] > 0


def test_an_error_that_says_nothing_still_gives_a_one_line_reason() -> None:
    """bench/fuzz.py found an IndexError: a driver error with an empty message had no first
    line to quote, so a damaged package escaped its documented PackageError."""
    from app.models.field_package import _first_line

    assert _first_line(ValueError()) == "ValueError"
    assert _first_line(sqlite3.DatabaseError("   ")) == "DatabaseError"
    assert _first_line(sqlite3.DatabaseError("file is not a database\nmore")) == (
        "file is not a database"
    )
