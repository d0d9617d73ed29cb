"""The signed log list (ledger/loglist.py): what an office accepts and what it refuses."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from ledger.cosignature import WitnessPolicy
from ledger.loglist import LogEntry, LogList, LogListError, open_log_list, sign_log_list
from ledger.note import ALG_COSIGNATURE_V1, Signer, Verifier, generate_signer
from tests.world import ROOT

H1 = (1_767_196_800_000, 1_782_835_200_000)  # 2026-01-01 .. 2026-07-01 (UTC+8 midnights)
AUTH_SKEY, AUTH_VKEY = generate_signer("samr.gov.example/loglist")
WITNESSES = [generate_signer(f"w{i}.witness.example", ALG_COSIGNATURE_V1)[1] for i in range(3)]


def _log(origin: str, region: str, state: str = "usable", witnesses: bool = True) -> LogEntry:
    _skey, vkey = generate_signer(origin)
    return LogEntry(
        origin,
        vkey,
        f"https://{origin}",
        region,
        H1,
        state,
        2 if witnesses else None,
        tuple(WITNESSES) if witnesses else (),
    )


LIST = LogList(
    7,
    1_767_225_600_000,
    (
        _log("hangzhou.evm.example/2026h1", "330100"),
        _log("ningbo.evm.example/2026h1", "330200", "read-only"),
        _log("hangzhou.evm.example/2025h2", "330100", "retired", witnesses=False),
        _log("nanjing.evm.example/2026h1", "320100"),
    ),
)


def test_round_trip_and_what_a_province_office_follows():
    note = sign_log_list(LIST, Signer(AUTH_SKEY))
    got = open_log_list(note, Verifier(AUTH_VKEY))
    assert got == LIST
    followed = [e.origin for e in got.followed("33")]
    assert followed == ["hangzhou.evm.example/2026h1", "ningbo.evm.example/2026h1"]
    policy = got.logs[0].policy()
    assert isinstance(policy, WitnessPolicy) and policy.quorum == 2
    assert [c.verifier.vkey for c in policy.cosigners] == WITNESSES
    assert got.logs[2].policy() is None


def test_a_list_signed_by_another_key_or_changed_after_signing_is_refused():
    note = sign_log_list(LIST, Signer(AUTH_SKEY))
    other_skey, _ = generate_signer("samr.gov.example/loglist")
    with pytest.raises(LogListError, match=r"not signed by samr\.gov\.example/loglist"):
        open_log_list(sign_log_list(LIST, Signer(other_skey)), Verifier(AUTH_VKEY))
    tampered = note.replace(b"state read-only", b"state usable")  # unfreeze a shard
    assert tampered != note
    with pytest.raises(LogListError):
        open_log_list(tampered, Verifier(AUTH_VKEY))


def test_an_older_list_is_a_rollback_and_two_lists_of_one_sequence_are_evidence():
    seen = open_log_list(sign_log_list(LIST, Signer(AUTH_SKEY)), Verifier(AUTH_VKEY))
    older = LogList(6, LIST.issued_ms, LIST.logs[:1])
    with pytest.raises(LogListError, match="rollback"):
        open_log_list(sign_log_list(older, Signer(AUTH_SKEY)), Verifier(AUTH_VKEY), seen)
    twin = LogList(7, LIST.issued_ms, LIST.logs[:2])
    with pytest.raises(LogListError, match="two different log lists with sequence 7"):
        open_log_list(sign_log_list(twin, Signer(AUTH_SKEY)), Verifier(AUTH_VKEY), seen)
    newer = LogList(8, LIST.issued_ms + 1, LIST.logs)
    assert open_log_list(sign_log_list(newer, Signer(AUTH_SKEY)), Verifier(AUTH_VKEY), seen)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("state read-only", "state frozen"), "state must be one of"),
        (lambda t: t.replace("region 330200", "region 33-02"), "region must be"),
        (lambda t: t.replace("log ningbo.evm.example/2026h1", "log ningbo.evm.example/x"),
         "not the log's origin"),
        (lambda t: t.replace("url https://ningbo", "url ftp://ningbo"), "url must be"),
        (lambda t: t.replace("quorum 2", "quorum 4", 1), "quorum 4 is impossible"),
        (lambda t: t.replace(f"shard {H1[0]} {H1[1]}", f"shard {H1[1]} {H1[0]}", 1),
         "ends before it starts"),
        (lambda t: t + "log nanjing.evm.example/2026h1\n", "missing key"),
        (lambda t: t.replace("sequence 7", "sequence -7"), "expected 'sequence N'"),
        (lambda t: t.replace("state usable", "colour usable", 1), "unknown keyword 'colour'"),
    ],
)  # fmt: skip
def test_an_authoritys_mistake_is_named(edit, message):
    with pytest.raises(LogListError, match=message):
        LogList.parse(edit(LIST.to_text()))


def test_a_listed_twice_log_is_refused():
    text = LIST.to_text()
    first = "\n".join(LIST.logs[0].lines()) + "\n"
    with pytest.raises(LogListError, match="listed twice"):
        LogList.parse(text + first)


@settings(max_examples=300, deadline=None)
@given(hs.integers(0, 2000), hs.binary(min_size=1, max_size=4))
def test_mutated_text_is_a_log_list_error_or_parses(position, junk):
    text = LIST.to_text().encode()
    at = position % len(text)
    mutated = (text[:at] + junk + text[at + 1 :]).decode("utf-8", "replace")
    try:
        got = LogList.parse(mutated)
    except LogListError:
        return
    assert LogList.parse(got.to_text()) == got


def test_the_cli_signs_and_verifies(tmp_path):
    (tmp_path / "auth.skey").write_text(AUTH_SKEY + "\n")
    (tmp_path / "list.txt").write_text(LIST.to_text())
    signed = subprocess.run(
        [sys.executable, "-m", "ledger", "loglist", "sign", "--key", str(tmp_path / "auth.skey"),
         str(tmp_path / "list.txt")],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    (tmp_path / "list.note").write_bytes(signed)
    ok = subprocess.run(
        [sys.executable, "-m", "ledger", "loglist", "verify", "--key", AUTH_VKEY,
         str(tmp_path / "list.note")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "4 logs" in ok.stdout and "2 of 3 witnesses" in ok.stdout
    (tmp_path / "list.note").write_bytes(signed.replace(b"330200", b"330300"))
    bad = subprocess.run(
        [sys.executable, "-m", "ledger", "loglist", "verify", "--key", AUTH_VKEY,
         str(tmp_path / "list.note")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 1 and "not signed by" in bad.stderr


def test_a_witness_must_have_a_cosigner_key():
    log_key = LIST.logs[0].key  # an Ed25519 note key, not a cosignature/v1 key
    bad = LIST.to_text().replace(WITNESSES[0], log_key, 1)
    with pytest.raises(LogListError, match="not a cosigner key"):
        LogList.parse(bad)


def test_max_age_travels_in_the_list_and_into_the_policy():
    entry = _log("hangzhou.evm.example/2026h2", "330100")
    aged = LogEntry(
        entry.origin, entry.key, entry.url, entry.region, entry.shard, entry.state,
        entry.quorum, entry.witnesses, 86_400,
    )  # fmt: skip
    listed = LogList(8, 1_767_225_600_000, (aged,))
    got = open_log_list(sign_log_list(listed, Signer(AUTH_SKEY)), Verifier(AUTH_VKEY))
    assert got.logs[0].max_age_s == 86_400
    assert got.logs[0].policy().max_age_s == 86_400
    bare = LogEntry(
        entry.origin, entry.key, entry.url, entry.region, entry.shard, entry.state,
        None, (), 86_400,
    )  # fmt: skip
    with pytest.raises(LogListError, match="max-age without witnesses"):
        LogList.parse(LogList(9, 0, (bare,)).to_text())
