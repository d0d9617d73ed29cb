"""Evidence bundles from a real platform + store: the untampered bundle passes the
independent verifier, and every kind of tampering is rejected with a reason."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from app.models import evidence
from ledger import bundle_verify
from ledger.bundle import build_bundle, manifest_bytes
from ledger.note import Verifier
from ledger.ocmf import ocmf_to_bundle_entries
from ledger.records import Record
from ledger.tlog_proof import parse_tlog_proof

OCMF_DATA = Path(__file__).resolve().parent.parent / "data" / "ocmf"
NOTE_DATA = Path(__file__).resolve().parent.parent / "data" / "note"


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(files: dict[str, bytes], *, remanifest: bool = False) -> bytes:
    """Writes ``files`` back; with ``remanifest`` recomputes every hash, as a forger would."""
    files = dict(files)
    if remanifest:
        manifest = json.loads(files["manifest.json"])
        manifest["files"] = {
            name: hashlib.sha256(files[name]).hexdigest() for name in manifest["files"]
        }
        files["manifest.json"] = manifest_bytes(manifest)
        files["manifest.sha256"] = hashlib.sha256(files["manifest.json"]).hexdigest().encode()
        files["manifest.sha256"] += b"\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def ocmf_items():
    pairs = [
        ((OCMF_DATA / f"{n}.ocmf").read_text(), (OCMF_DATA / f"{n}.pubkey").read_text())
        for n in ("bauer-bsm-begin", "bauer-bsm-end")
    ]
    return ocmf_to_bundle_entries(pairs)


@pytest.fixture(scope="module")
def session_zip(env, ocmf_items) -> bytes:
    inputs = evidence.session_evidence(
        env.store, env.client, "S2", since_note=env.early_note, ocmf=ocmf_items
    )
    return build_bundle(inputs, {"README.txt": b"how to check\n", "report.pdf": b"%PDF-1.4 x"})


def verify(data: bytes, env, **kw) -> bundle_verify.Result:
    return bundle_verify.verify_bundle(data, env.vkey, **kw)


def test_session_bundle_passes_and_says_what_it_checked(env, session_zip):
    res = verify(session_zip, env, since_checkpoint=env.early_note)
    assert res.ok, res.text()
    files = unzip(session_zip)
    types = {v.rtype: v for v in res.entries}
    # subject entries and the signer chain meter -> operator -> authority (index 0)
    assert {"session", "billing", "tariff", "meter", "operator", "authority"} <= set(types)
    assert types["authority"].index == 0
    assert [v.role for v in res.entries if v.rtype in ("session", "billing", "tariff")] == [
        "subject"
    ] * 3
    text = res.text()
    assert "全部检查通过" in text and "all checks passed" in text
    assert "signature only, NOT proven in the log" in text  # the OCMF records
    assert "consistency:" in text
    # each entry's proof is an ordinary C2SP tlog-proof, checkable without the bundle
    for v in res.entries:
        proof = files[f"proofs/{v.index:012d}.tlog-proof"]
        assert parse_tlog_proof(proof).index == v.index
        assert Record.parse(files[f"entries/{v.index:012d}.entry"]).type == v.rtype
    assert set(json.loads(files["manifest.json"])["files"]) == set(files) - {
        "manifest.json",
        "manifest.sha256",
    }


def test_bundle_is_reproducible(env, ocmf_items, session_zip):
    inputs = evidence.session_evidence(
        env.store, env.client, "S2", since_note=env.early_note, ocmf=ocmf_items
    )
    again = build_bundle(inputs, {"README.txt": b"how to check\n", "report.pdf": b"%PDF-1.4 x"})
    assert again == session_zip


def test_every_flipped_byte_of_every_file_is_rejected(env, session_zip):
    files = unzip(session_zip)
    evidence_files = [n for n in files if n not in ("README.txt", "report.pdf")]
    tried = 0
    for name, data in files.items():
        positions = sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1})
        for pos in positions:
            if not 0 <= pos < len(data):
                continue
            bad = dict(files)
            bad[name] = data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1 :]
            res = verify(rezip(bad), env)
            assert not res.ok, f"{name}@{pos} passed"
            assert any(c.ok is False for c in res.checks)
            if name in evidence_files and name not in ("manifest.json", "manifest.sha256"):
                # a forger who also rewrites the manifest is caught by proofs and signatures
                res = verify(rezip(bad, remanifest=True), env)
                assert not res.ok, f"{name}@{pos} passed with a rewritten manifest"
            tried += 1
    assert tried > 5 * len(files) - 5


def _first(res: bundle_verify.Result) -> str:
    return next(c.en for c in res.checks if c.ok is False)


def test_dropped_proof_line_is_rejected(env, session_zip):
    files = unzip(session_zip)
    name = next(n for n in files if n.startswith("proofs/"))
    lines = files[name].split(b"\n")
    files[name] = b"\n".join(lines[:2] + lines[3:])  # drop the first hash
    res = verify(rezip(files, remanifest=True), env)
    assert not res.ok
    assert "inclusion proof fails" in _first(res)


def test_swapped_entries_are_rejected(env, session_zip):
    files = unzip(session_zip)
    a, b = sorted(n for n in files if n.startswith("entries/"))[-2:]
    files[a], files[b] = files[b], files[a]
    res = verify(rezip(files), env)
    assert not res.ok and "SHA-256 does not match" in _first(res)
    res = verify(rezip(files, remanifest=True), env)
    assert not res.ok
    bad = [v for v in res.entries if not v.ok]
    assert len(bad) >= 2 and all("inclusion proof fails" in " ".join(v.reasons) for v in bad)


def test_checkpoint_from_a_forked_log_is_rejected(env, session_zip, forked_note):
    Verifier(env.vkey)  # the fork is signed by the very same key
    files = unzip(session_zip)
    files["checkpoint"] = forked_note
    res = verify(rezip(files, remanifest=True), env)
    assert not res.ok
    assert "another checkpoint" in " ".join(r for v in res.entries for r in v.reasons)
    # and with every proof re-pointed at the forked checkpoint too
    for name in files:
        if name.startswith("proofs/"):
            head = files[name].split(b"\n\n", 1)[0]
            files[name] = head + b"\n\n" + forked_note
    res = verify(rezip(files, remanifest=True), env)
    assert not res.ok
    failures = " ".join(r for v in res.entries for r in v.reasons)
    assert "inclusion proof fails" in failures or "consistency" in res.text()


def test_key_handling(env, session_zip, tmp_path):
    res = bundle_verify.verify_bundle(session_zip, None)
    assert not res.ok and "no log key" in _first(res)
    res = bundle_verify.verify_bundle(session_zip, None, trust_bundled_key=True)
    assert res.ok and "WARNING" in res.text()
    other = (NOTE_DATA / "sigsum-gentest.vkey").read_text()
    res = bundle_verify.verify_bundle(session_zip, other)
    assert not res.ok and "differs" in _first(res)


def test_since_checkpoint_must_be_the_recipients(env, session_zip):
    res = verify(session_zip, env, since_checkpoint=env.client.checkpoint()[1])
    assert not res.ok and "not to the checkpoint you gave" in res.text()


def test_not_a_zip(env):
    res = verify(b"PK\x03\x04 not really", env)
    assert not res.ok and "not a valid zip" in _first(res)


def test_pile_and_alarm_bundles(env):
    from ledger.bundle import build_bundle as build
    from tests.world import T0

    inputs = evidence.pile_evidence(env.store, env.client, "P1", T0, T0 + 86_400_000)
    res = verify(build(inputs), env)
    assert res.ok, res.text()
    kinds = {v.rtype for v in res.entries if v.role == "subject"}
    assert {"session", "billing", "heartbeat"} <= kinds
    assert all(v.body.get("session_id") != "S2" for v in res.entries)
    with pytest.raises(evidence.EvidenceError):
        evidence.session_evidence(env.store, env.client, "no-such-session")


def test_cli_verify_bundle_and_foreign_tlog_proof(env, session_zip, tmp_path, capsys):
    from ledger.__main__ import main

    path = tmp_path / "b.zip"
    path.write_bytes(session_zip)
    key = tmp_path / "log.vkey"
    key.write_text(env.vkey + "\n")
    assert main(["verify-bundle", str(path), "--log-key", str(key)]) == 0
    assert "✓" in capsys.readouterr().out
    path.write_bytes(session_zip[:-30])
    assert main(["verify-bundle", str(path), "--log-key", env.vkey]) == 1
    assert "×" in capsys.readouterr().out
    # a tlog-proof made by another tool for another log (Sigsum)
    proof = NOTE_DATA / "sigsum-gentest-5-index-2.tlog-proof"
    vkey = NOTE_DATA / "sigsum-gentest.vkey"
    leaf = (bytes([0x2A, 2]) + bytes(30)).hex()
    args = ["verify-bundle", "--tlog-proof", str(proof), "--log-key", str(vkey)]
    assert main([*args, "--leaf-hash", leaf]) == 0
    assert "index 2 of 5" in capsys.readouterr().out
    assert main([*args, "--leaf-hash", (bytes([0x2A, 3]) + bytes(30)).hex()]) == 1
    # one of our own entries with its own proof file
    files = unzip(session_zip)
    name = next(n for n in files if n.startswith("entries/"))
    (tmp_path / "e").write_bytes(files[name])
    (tmp_path / "p").write_bytes(
        files[name.replace("entries", "proofs").replace(".entry", ".tlog-proof")]
    )
    own = ["verify-bundle", "--tlog-proof", str(tmp_path / "p"), "--leaf", str(tmp_path / "e")]
    assert main([*own, "--log-key", env.vkey]) == 0


def test_verifier_imports_stay_small():
    import subprocess
    import sys

    code = (
        "import sys, ledger.bundle_verify; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('app', 'PySide6', 'sqlalchemy', 'numpy', 'aiohttp') or m in "
        "('ledger.bundle', 'ledger.client', 'ledger.tiles', 'ledger.registry')]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_alarm_bundle_carries_the_alarms_evidence(env):
    from app.models import store as st

    with env.store.engine.connect() as conn:
        rows = conn.execute(st.sessions.select().where(st.sessions.c.session_id == "S1")).mappings()
        session_index = next(iter(rows))["entry_index"]
    now = st.utcnow()
    with env.store.transaction() as conn:
        alarm_id = conn.execute(
            st.alarms.insert().returning(st.alarms.c.id),
            {
                "created_at": now,
                "kind": "anomaly",
                "severity": "high",
                "pile_id": "P1",
                "title_zh": "测试告警",
                "title_en": "test alarm",
                "evidence": {"entries": [session_index]},
                "updated_at": now,
            },
        ).scalar_one()
    data = build_bundle(evidence.alarm_evidence(env.store, env.client, alarm_id))
    res = verify(data, env)
    assert res.ok, res.text()
    assert [v.index for v in res.entries if v.role == "subject"] == [session_index]
    assert "alarm number is a workstation label" in res.text()
    with pytest.raises(evidence.EvidenceError):
        evidence.alarm_evidence(env.store, env.client, 999_999)


def test_forged_ocmf_record_fails_with_a_reason(env, ocmf_items):
    from ledger.ocmf import OcmfBundleItem

    genuine = ocmf_items[1]
    forged = OcmfBundleItem(
        genuine.name,
        genuine.record.replace(b'"RV":0.15', b'"RV":9.15'),
        genuine.public_key,
        genuine.meter_serial,
        False,
    )
    inputs = evidence.session_evidence(env.store, env.client, "S1", ocmf=[forged])
    res = verify(build_bundle(inputs), env)
    assert not res.ok
    assert "OCMF signature does not verify" in _first(res)


def test_verifier_never_raises_on_a_mangled_manifest(env, session_zip):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    files = unzip(session_zip)
    manifest = json.loads(files["manifest.json"])
    paths = [
        ("format",),
        ("origin",),
        ("tree_size",),
        ("subject",),
        ("checkpoint",),
        ("log_key",),
        ("consistency",),
        ("ocmf",),
        ("entries", 0, "index"),
        ("entries", 0, "role"),
        ("entries", 0, "type"),
        ("entries", 0, "entry"),
        ("entries", 1),
        ("ocmf", 0),
        ("subject", "session_id"),
        ("entries",),
    ]
    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.text(max_size=20),
        st.lists(st.integers(0, 50), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(paths), values)
    def check(path, value):
        changed = json.loads(json.dumps(manifest))
        target = changed
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, list) and path[-1] >= len(target):
            return
        if target[path[-1]] == value:
            return
        target[path[-1]] = value
        bad = dict(files)
        bad["manifest.json"] = manifest_bytes(changed)
        res = verify(rezip(bad, remanifest=True), env)
        assert not res.ok

    check()


def test_building_against_a_forked_recipient_checkpoint_refuses(env, forked_note):
    from ledger.bundle import BundleError

    with pytest.raises(BundleError, match="NOT consistent"):
        evidence.session_evidence(env.store, env.client, "S1", since_note=forked_note)
