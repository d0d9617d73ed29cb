"""Issue 13, item 12: a consistency proof from size 0 is refused by
`merkle.verify_consistency` (transparency-dev/merkle), so nothing may ask for one.
Evidence bundles for a recipient whose earlier checkpoint is the empty log carry no
proof and still verify; an "empty" checkpoint with another root is refused."""

from __future__ import annotations

import pytest

from ledger import merkle
from ledger.bundle import BundleError, BundleInputs, LogEvidence, build_bundle
from ledger.bundle_verify import verify_bundle
from ledger.client import LogClient
from ledger.note import Checkpoint, Signer, sign_checkpoint
from tests.world import PlatformProcess, World, ndjson, post


@pytest.fixture
def platform(tmp_path):
    proc = PlatformProcess(tmp_path / "platform")
    yield proc
    proc.stop()


def test_bundles_from_an_empty_earlier_checkpoint(platform):
    client = LogClient(platform.url, platform.vkey())
    empty, empty_note = client.checkpoint()
    assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)
    world = World()
    records = world.registry() + world.heartbeats(0, 3)
    assert post(platform.url, ndjson(records))[0] == 200
    checkpoint, _ = client.checkpoint()
    while checkpoint.size < len(records):
        checkpoint, _ = client.checkpoint(after=checkpoint.size, wait=5)
    evidence = LogEvidence(client)
    consistency = evidence.consistency(empty_note)
    assert consistency.proof == ()
    subject = {"kind": "alarm", "alarm_id": 1, "pile_id": "P1", "entries": [6]}
    logged = [evidence.logged(i, "registry") for i in (0, 1, 4)] + [evidence.logged(6)]
    bundle = build_bundle(BundleInputs(subject, evidence.vkey, evidence.note, logged, consistency))
    result = verify_bundle(bundle, platform.vkey(), since_checkpoint=empty_note)
    assert result.ok, result.text()
    # a size-0 checkpoint over anything but the empty root is no honest log's
    signer = Signer((platform.data / "log.key").read_text().strip())
    forged = sign_checkpoint(Checkpoint(empty.origin, 0, b"\x01" * 32), signer)
    with pytest.raises(BundleError, match="size 0 but is not the empty tree"):
        evidence.consistency(forged)
    client.close()
