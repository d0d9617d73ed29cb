"""Witnesses, the platform and the workstation's client as real processes on loopback.

Three `python -m ledger witness` processes cosign the checkpoints of one `python -m
ledger serve` platform; the office requires 2 of the 3 (the default policy). Then a
lying log (this test, holding the log's key, as a dishonest platform would) shows a
witness two different checkpoints of the same size.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.models import store as st
from app.models.sync import LogSync, Offline
from ledger.client import LogClient, MissingCosignatures
from ledger.cosignature import Cosigner, WitnessPolicy
from ledger.merkle import MemoryTree, leaf_hash
from ledger.note import ALG_COSIGNATURE_V1, Checkpoint, Signer, Verifier, generate_signer
from ledger.note import sign_checkpoint as sign_cp
from ledger.platform.server import DEFAULT_ORIGIN
from ledger.sigcheck import SignatureChecker
from ledger.witness import format_add_checkpoint
from tests.world import ROOT, PlatformProcess, World, get, ndjson, post


class WitnessProcess:
    """`python -m ledger witness` on a free loopback port."""

    def __init__(self, data: Path, key_file: Path, log_vkey_file: Path) -> None:
        self.data = data
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "ledger", "witness", "--data", str(data), "--port", "0",
                "--key", str(key_file), "--log-key", str(log_vkey_file),
            ],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"witness did not start: {line}{self.proc.stderr.read()}")
        self.url = line.split()[-1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def add_checkpoint(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def log_key(tmp_path):
    """The platform's key made ahead, so the witnesses can be configured with it."""
    data = tmp_path / "platform"
    data.mkdir()
    skey, vkey = generate_signer(DEFAULT_ORIGIN)
    fd = os.open(data / "log.key", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(skey + "\n")
    (data / "log.vkey").write_text(vkey + "\n")
    return data, skey, vkey


@pytest.fixture
def witnesses(tmp_path, log_key):
    procs, cosigners = [], []
    for i in range(3):
        skey, vkey = generate_signer(f"witness{i}.example", ALG_COSIGNATURE_V1)
        key_file = tmp_path / f"w{i}.skey"
        key_file.write_text(skey + "\n")
        proc = WitnessProcess(tmp_path / f"w{i}", key_file, log_key[0] / "log.vkey")
        procs.append(proc)
        cosigners.append(Cosigner(Verifier(vkey), proc.url))
    yield procs, cosigners
    for proc in procs:
        proc.stop()


def logged(proc: PlatformProcess, records: list, client: LogClient) -> int:
    """Posts records; waits until the served (cosigned) checkpoint covers them."""
    status, answer = post(proc.url, ndjson(records))
    assert status == 200, answer
    sequenced = json.loads(get(proc.url + "/status"))["sequenced"]
    checkpoint, _ = client.checkpoint()
    while checkpoint.size < sequenced:
        checkpoint, _ = client.checkpoint(after=checkpoint.size, wait=5)
    return checkpoint.size


def test_two_of_three_passes_with_one_down_and_refuses_with_two_down(tmp_path, log_key, witnesses):
    data, _skey, vkey = log_key
    procs, cosigners = witnesses
    config = tmp_path / "witnesses.txt"
    config.write_text(WitnessPolicy(cosigners).to_text())
    platform = PlatformProcess(data, "--witnesses", str(config))
    office_policy = WitnessPolicy([Cosigner(c.verifier) for c in cosigners])  # keys only
    plain = LogClient(platform.url, vkey)
    office = LogClient(platform.url, vkey, witnesses=office_policy)
    world = World()
    try:
        logged(platform, world.registry() + world.heartbeats(0, 40), plain)
        _, note = office.checkpoint()
        assert len(office_policy.check(note)) == 3

        procs[0].stop()
        size = logged(platform, world.heartbeats(40, 30), plain)
        checkpoint, note = office.checkpoint()
        assert checkpoint.size == size
        assert set(office_policy.check(note)) == {"witness1.example", "witness2.example"}

        # the workstation's sync applies it (a real store, the real sync)
        with Store(tmp_path) as store, SignatureChecker(workers=0) as checker:
            sync = LogSync(store, office, checker)
            assert sync.sync_once().new_size == size
            sync.close()

            procs[1].stop()
            size = logged(platform, world.heartbeats(70, 30), plain)
            with pytest.raises(MissingCosignatures, match="1 of the 3 named witnesses"):
                office.checkpoint()
            sync = LogSync(store, office, checker)
            with pytest.raises(Offline, match=r"missing: witness0\.example, witness1\.example"):
                sync.sync_once()
            sync.close()
            state = store.get_sync_state(DEFAULT_ORIGIN)
            assert state.size < size  # nothing of the uncosigned checkpoint was applied
            assert "requires 2" in state.last_error
        # without a policy, behaviour is unchanged: the log's signature suffices
        assert plain.checkpoint()[0].size == size
        # the office's headless sync with its policy file: refused (exit 1, offline) with
        # the quorum message; the same command without the policy syncs
        policy_file = tmp_path / "office-witnesses.txt"
        policy_file.write_text(office_policy.to_text())
        (tmp_path / "log.vkey").write_text(vkey + "\n")
        cli = [sys.executable, "main.py", "sync", "--platform", platform.url,
               "--log-key", str(tmp_path / "log.vkey"), "--quiet", "--workers", "0",
               "--db", f"sqlite:///{tmp_path / 'cli.sqlite'}"]  # fmt: skip
        refused = subprocess.run(
            [*cli, "--witnesses", str(policy_file)], cwd=ROOT, capture_output=True, text=True
        )
        assert refused.returncode == 1, refused.stderr
        assert "witness0.example" in refused.stderr and "requires 2" in refused.stderr
        synced = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True)
        assert synced.returncode == 0, synced.stderr
        policy_file.write_text("quorum 4\n" + office_policy.to_text().split("\n", 1)[1])
        bad = subprocess.run(
            [*cli, "--witnesses", str(policy_file)], cwd=ROOT, capture_output=True, text=True
        )
        assert bad.returncode == 2 and "quorum 4 is impossible" in bad.stderr, bad.stderr
        # Go's note.Open and ours ignore the unknown witness lines: the served note is
        # the log's note with lines appended, the log's signature first and intact
        served = get(platform.url + "/checkpoint")
        assert served.startswith((data / "log" / "checkpoint").read_bytes())
    finally:
        plain.close()
        office.close()
        platform.stop()
    # A restarted platform does not know the witnesses' sizes: the 409 answers tell it,
    # and the checkpoint is cosigned again before the platform listens.
    procs[0] = WitnessProcess(procs[0].data, tmp_path / "w0.skey", data / "log.vkey")
    config.write_text(
        WitnessPolicy([Cosigner(c.verifier, p.url) for c, p in zip(cosigners, procs)]).to_text()
    )
    platform = PlatformProcess(data, "--witnesses", str(config))
    office = LogClient(platform.url, vkey, witnesses=office_policy)
    try:
        checkpoint, note = office.checkpoint()
        assert checkpoint.size == size
        assert set(office_policy.check(note)) == {"witness0.example", "witness2.example"}
        status = json.loads(get(platform.url + "/status"))
        assert status["witness_sizes"]["witness0.example"] == size
        assert "witness1.example" in status["witness_errors"]
    finally:
        office.close()
        platform.stop()


class Store:
    """A migrated SQLite office store in ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.ctx = st.Store.open(f"sqlite:///{tmp / 'office.sqlite'}")

    def __enter__(self) -> st.Store:
        return self.ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.ctx.__exit__(*exc)


def test_split_view_is_refused_and_the_evidence_verifies_for_a_third_party(
    tmp_path, log_key, witnesses
):
    _, skey, vkey = log_key
    procs, cosigners = witnesses
    honest = MemoryTree([leaf_hash(b"session %d" % i) for i in range(30)])
    forked = MemoryTree([leaf_hash(b"session %d" % i) for i in range(20)] + [leaf_hash(b"!")] * 10)
    signer = Signer(skey)

    def note(tree: MemoryTree, size: int) -> bytes:
        return sign_cp(Checkpoint(DEFAULT_ORIGIN, size, tree.root(size)), signer)

    url = procs[0].url
    assert add_checkpoint(url, format_add_checkpoint(0, [], note(honest, 20)))[0] == 200
    body = format_add_checkpoint(20, honest.consistency_proof(20, 30), note(honest, 30))
    status, line = add_checkpoint(url, body)
    assert status == 200
    assert Cosigner(cosigners[0].verifier).name in WitnessPolicy(
        [Cosigner(cosigners[0].verifier)], 1
    ).check(note(honest, 30) + line)
    # the other history, same size, shown to the same witness
    assert add_checkpoint(url, format_add_checkpoint(30, [], note(forked, 30))) == (409, b"30\n")
    [kept] = list((procs[0].data / "evidence").glob("*/split-view-*"))
    # hostile bytes over HTTP: refused with a 4xx, never a server error, never a cosignature
    rng = random.Random(17)
    honest_body = format_add_checkpoint(30, honest.consistency_proof(30, 30), note(honest, 30))
    for _ in range(40):
        mutated = bytearray(honest_body)
        for _ in range(rng.randint(1, 3)):
            mutated[rng.randrange(len(mutated))] ^= rng.randint(1, 255)
        status, answer = add_checkpoint(url, bytes(mutated))
        assert 400 <= status < 500 or (status == 200 and bytes(mutated) == honest_body), answer
    assert add_checkpoint(url, b"\xff" * 70_000)[0] == 413
    # a third party: only the log's published key and the kept files
    out = subprocess.run(
        [sys.executable, "-m", "ledger", "witness", "check-evidence", str(kept),
         "--log-key", vkey],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "SPLIT VIEW PROVEN" in out.stdout and "size 30" in out.stdout
    for name in ("cosigned.checkpoint", "presented.checkpoint"):
        out = subprocess.run(
            [sys.executable, "-m", "ledger", "note", "verify", "--key", vkey, str(kept / name)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0 and "size: 30" in out.stdout, out.stderr


def test_state_survives_kill_9_mid_stream(tmp_path, log_key, witnesses):
    """SIGKILL while checkpoints stream in: the restarted witness holds the last size it
    answered 200 for, or the one in flight, never less (a rollback would let it cosign
    a fork) and never a torn state file."""
    data, skey, _vkey = log_key
    procs, _ = witnesses
    tree = MemoryTree([leaf_hash(b"e%d" % i) for i in range(400)])
    signer = Signer(skey)

    def note(size: int) -> bytes:
        return sign_cp(Checkpoint(DEFAULT_ORIGIN, size, tree.root(size)), signer)

    proc = procs[2]
    acked: list[int] = []
    sent: list[int] = []
    enough = threading.Event()

    def stream() -> None:
        old = 0
        for size in range(1, 400):
            proof = tree.consistency_proof(old, size) if old else []
            sent.append(size)
            try:
                status, _ = add_checkpoint(proc.url, format_add_checkpoint(old, proof, note(size)))
            except OSError:
                return  # the witness died under us
            if status != 200:
                return
            acked.append(size)
            old = size
            if len(acked) >= 20:
                enough.set()

    thread = threading.Thread(target=stream)
    thread.start()
    assert enough.wait(60)
    proc.kill()
    thread.join(60)
    again = WitnessProcess(proc.data, tmp_path / "w2.skey", data / "log.vkey")
    procs[2] = again
    status, answer = add_checkpoint(again.url, format_add_checkpoint(0, [], note(399)))
    assert status == 409
    held = int(answer)
    assert held in (acked[-1], sent[-1])
    body = format_add_checkpoint(held, tree.consistency_proof(held, 399), note(399))
    assert add_checkpoint(again.url, body)[0] == 200


def test_a_quiet_log_keeps_its_cosignatures_fresh(tmp_path, log_key, witnesses):
    """No new entries, yet the served checkpoint's cosignatures get newer: the platform
    offers the same checkpoint again (`--cosign-refresh`), so an office's max-age tells a
    quiet log from a frozen view."""
    import time

    from ledger.cosignature import verified_cosignatures

    data, _skey, vkey = log_key
    _procs, cosigners = witnesses
    config = tmp_path / "witnesses.txt"
    config.write_text(WitnessPolicy(cosigners).to_text())
    platform = PlatformProcess(data, "--witnesses", str(config), "--cosign-refresh", "0.5")
    plain = LogClient(platform.url, vkey)
    try:
        size = logged(platform, World().registry(), plain)
        _, note = plain.checkpoint()
        first, _ = verified_cosignatures(note, cosigners)
        assert len(first) == 3
        deadline = time.monotonic() + 30
        newer: dict[str, int] = {}
        while time.monotonic() < deadline:  # a bounded poll for the condition
            checkpoint, note = plain.checkpoint()
            assert checkpoint.size == size  # the same checkpoint, no new entries
            times, _ = verified_cosignatures(note, cosigners)
            newer = {n: t for n, t in times.items() if t > first[n]}
            if len(newer) == 3:
                break
            time.sleep(0.2)
        assert len(newer) == 3, (first, newer)
        policy = WitnessPolicy([Cosigner(c.verifier) for c in cosigners], 2, 60)
        assert len(policy.check(note)) == 3
    finally:
        plain.close()
        platform.stop()
