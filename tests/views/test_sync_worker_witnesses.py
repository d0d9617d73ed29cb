"""The GUI sync worker honours the office's witness policy setting (docs/witness.md):
a policy it cannot use stops the sync with the reason instead of syncing without it."""

from __future__ import annotations

from app.workers import SyncWorker


def test_an_unreadable_witness_policy_halts_the_sync_with_its_reason(tmp_path):
    states: list[tuple[str, str]] = []
    worker = SyncWorker(
        f"sqlite:///{tmp_path / 's.sqlite'}",
        "http://127.0.0.1:9",  # never contacted: the policy is checked first
        "example.org/log+01234567+AQ==",
        workers=0,
        witnesses=str(tmp_path / "missing-policy.txt"),
    )
    worker.state_changed.connect(lambda state, message: states.append((state, message)))
    worker.run()
    assert len(states) == 1
    state, message = states[0]
    assert state == "halted" and "cannot read the witness policy" in message


def test_a_policy_asking_more_cosigners_than_it_names_halts_the_sync(tmp_path):
    policy = tmp_path / "policy.txt"
    policy.write_text("quorum 2\n")  # no witness named
    states: list[tuple[str, str]] = []
    worker = SyncWorker(None, "http://127.0.0.1:9", "x+1+AQ==", 0, witnesses=str(policy))
    worker.state_changed.connect(lambda state, message: states.append((state, message)))
    worker.run()
    assert [s for s, _m in states] == ["halted"] and "at least one witness" in states[0][1]
