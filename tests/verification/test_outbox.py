"""Signing the result with an encrypted inspector key, and the outbox against the real platform."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from app.models.charging.verification import NO_DUE_DATE, record_body, sign_result
from app.models.outbox import Outbox
from app.models.verification_parts import CST, create_inspector_key, unlock_inspector_key
from ledger.keys import KeyFormatError, SigningKey
from ledger.records import Record, sign_record
from tests.world import T0, PlatformProcess, World, ndjson, post

PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="module")
def inspector_key(tmp_path_factory) -> SigningKey:
    path = tmp_path_factory.mktemp("keys") / "inspector.pem"
    create_inspector_key(path, PASSPHRASE)
    return unlock_inspector_key(path, PASSPHRASE)


def test_key_is_encrypted_on_disk(tmp_path) -> None:
    path = tmp_path / "inspector.pem"
    key = create_inspector_key(path, PASSPHRASE)
    assert b"ENCRYPTED" in path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyFormatError, match="passphrase"):
        unlock_inspector_key(path, "wrong passphrase")
    assert unlock_inspector_key(path, PASSPHRASE).key_id == key.key_id
    with pytest.raises(ValueError, match="8 characters"):
        create_inspector_key(tmp_path / "weak.pem", "short")
    with pytest.raises(FileExistsError):
        create_inspector_key(path, PASSPHRASE)


def test_signed_record_matches_the_schema(passed_result, inspector_key) -> None:
    record = sign_result(passed_result, inspector_key, inspector_id="INS01")
    parsed = Record.parse(record.to_bytes())
    parsed.verify(inspector_key.public_key)
    body = parsed.body
    assert body["result"] == "pass" and body["regulation"] == "JJG 1149-2022"
    assert [p["label"] for p in body["points"]] == ["Imax", "0.5Imax", "Imin"]
    assert all(4000 < p["error_ppm"] < 8000 for p in body["points"])
    assert all(len(p["readings"]) == 2 for p in body["points"])
    assert body["insulation_kohm"] > 5000
    finished = dt.datetime.fromtimestamp(passed_result.finished_ms / 1000, CST).date()
    # 有效期: the 3-year verification cycle minus a day, not the 5–8-year supervision rotation
    assert (
        body["next_due"] == (finished.replace(year=finished.year + 3) - dt.timedelta(1)).isoformat()
    )
    assert body["certificate_no"].startswith("HZJLJD")
    # the reference standard and the site conditions are part of what the inspector signs
    std = body["standard"]
    assert std["serial"] == "SN2026000117" and std["kind"] == "DC" and std["source"] == "rig"
    assert std["certificate_no"] and dt.date.fromisoformat(std["expiry"]) > finished
    conditions = {"temperature_dc": 215, "humidity_pct": 55, "seal_no": "QF2026-0001"}
    assert body["conditions"] == conditions
    assert body["connector"] == 1 and body["clock_judged"] is True


def test_failed_result_has_no_due_date(failed_result) -> None:
    body = record_body(failed_result, inspector_id="INS01")
    assert body["result"] == "fail" and body["next_due"] == NO_DUE_DATE
    assert body["certificate_no"].startswith("HZJLTZ")
    assert 39_000 < body["clock_error_ms"] < 42_000


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def register_inspector(platform, key: SigningKey) -> None:
    world = World()
    inspector = sign_record(
        "inspector",
        {"inspector_id": "INS01", "name": "张检定", "org": "杭州市计量质量检测研究院",
         "key": key.public_key.text, "at_ms": T0},
        world.auth,
    )  # fmt: skip
    status, answer = post(platform.url, ndjson([*world.registry(), inspector]))
    assert status == 200, answer


def test_upload_accepted_then_duplicate_is_success(
    platform, tmp_path, passed_result, inspector_key
) -> None:
    register_inspector(platform, inspector_key)
    outbox = Outbox(tmp_path / "outbox", platform.url)
    record = sign_result(passed_result, inspector_key, inspector_id="INS01")
    entry = outbox.enqueue(record)
    # signing again (e.g. after a crash) does not queue a second copy
    again = sign_result(passed_result, inspector_key, inspector_id="INS01")
    assert outbox.enqueue(again).entry_id == entry.entry_id
    assert len(outbox.pending()) == 1
    report = outbox.upload()
    assert report.accepted == [entry.entry_id] and not outbox.pending()
    assert [e.entry_id for e in outbox.sent()] == [entry.entry_id]
    # crash after the 200 but before the rename: the entry is still pending
    sent = outbox.sent_dir / f"{entry.entry_id}.ndjson"
    (outbox.pending_dir / sent.name).write_bytes(sent.read_bytes())
    sent.unlink()
    report = outbox.upload()
    assert report.duplicates == [entry.entry_id] and not outbox.pending()


def test_rejected_entry_is_kept_with_reason(platform, tmp_path, passed_result) -> None:
    stranger = SigningKey.generate()
    outbox = Outbox(tmp_path / "outbox", platform.url)
    entry = outbox.enqueue(sign_result(passed_result, stranger, inspector_id="NOBODY"))
    report = outbox.upload()
    assert entry.entry_id in report.rejected
    [kept] = outbox.pending()
    assert kept.last_status == 403 and kept.attempts == 1
    assert "NOBODY is not registered" in kept.reason


def test_network_error_keeps_entry_queued(tmp_path, passed_result, inspector_key) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outbox = Outbox(tmp_path / "outbox", f"http://127.0.0.1:{port}")
    outbox.enqueue(sign_result(passed_result, inspector_key, inspector_id="INS01"))
    (outbox.pending_dir / ".torn.ndjson.tmp").write_bytes(b'{"b":')  # crash mid-write
    report = outbox.upload()
    assert report.unreachable and not report.done
    [kept] = Outbox(tmp_path / "outbox", outbox.platform_url).pending()
    assert kept.last_status is None and "unreachable" in kept.reason
    assert not list(outbox.pending_dir.glob(".*.tmp"))
