"""The witness's add-checkpoint logic as c2sp.org/tlog-witness states it, in process.

Each case quotes the rule it checks. The log, its tree and its key are real
(ledger.merkle, ledger.note); the witness is `ledger.witness.Witness` with its state on
disk, exactly as the HTTP server drives it.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.cosignature import Cosigner, WitnessPolicy, verified_cosignatures
from ledger.merkle import MemoryTree, leaf_hash, verify_consistency
from ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Signer,
    Verifier,
    generate_signer,
    open_note,
    sign_checkpoint,
)
from ledger.witness import (
    SIZE_CONTENT_TYPE,
    Witness,
    WitnessError,
    check_evidence,
    format_add_checkpoint,
    parse_add_checkpoint,
)

ORIGIN = "hangzhou.evmetrology.example/test"
LOG_SKEY, LOG_VKEY = generate_signer(ORIGIN)
OTHER_SKEY, _ = generate_signer(ORIGIN)  # same name, another key: a forger
W_SKEY, W_VKEY = generate_signer("witness.example/w1", ALG_COSIGNATURE_V1)
TREE = MemoryTree([leaf_hash(b"entry %d" % i) for i in range(40)])
FORK = MemoryTree([leaf_hash(b"entry %d" % i) for i in range(20)] + [leaf_hash(b"x")] * 20)


def signed(size: int, tree: MemoryTree = TREE, skey: str = LOG_SKEY, origin: str = ORIGIN) -> bytes:
    return sign_checkpoint(Checkpoint(origin, size, tree.root(size)), Signer(skey))


def proof(old: int, new: int, tree: MemoryTree = TREE) -> list[bytes]:
    return tree.consistency_proof(old, new) if 0 < old < new else []


def body(old: int, new: int, tree: MemoryTree = TREE) -> bytes:
    return format_add_checkpoint(old, proof(old, new, tree), signed(new, tree))


@pytest.fixture
def witness(tmp_path):
    return Witness(tmp_path, Signer(W_SKEY), {ORIGIN: [Verifier(LOG_VKEY)]})


def test_spec_example_request_body_parses():
    """The example body of the spec, byte for byte (old size, 4 proof lines, checkpoint)."""
    example = (
        "old 20852014\n"
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
        "\n"
        "example.com/behind-the-sofa\n"
        "20852163\n"
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        "\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4U"
        "RYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    ).encode()
    request = parse_add_checkpoint(example)
    assert request.old_size == 20852014
    assert base64.b64encode(request.proof[0]).decode() == (
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw="
    )
    assert len(request.proof) == 4
    assert request.note.startswith(b"example.com/behind-the-sofa\n20852163\n")


def test_first_checkpoint_then_consistent_growth_is_cosigned(witness):
    answer = witness.add_checkpoint(body(0, 10))
    assert answer.status == 200
    # "The response body MUST be a sequence of one or more note signature lines"
    assert answer.body.startswith("\u2014 witness.example/w1 ".encode()) and answer.body.endswith(
        b"\n"
    )
    answer = witness.add_checkpoint(body(10, 25))
    assert answer.status == 200
    note = signed(25) + answer.body
    # "the client MAY concatenate it to the checkpoint, and use a note verification function"
    opened = open_note(note, [Verifier(LOG_VKEY), Verifier(W_VKEY)])
    assert [s.name for s in opened.sigs] == [ORIGIN, "witness.example/w1"]
    assert witness.size_of(ORIGIN) == 25


def test_cosignature_is_over_the_spec_message(witness):
    """tlog-cosignature: Ed25519 over "cosignature/v1\\ntime T\\n" + the checkpoint body."""
    answer = witness.add_checkpoint(body(0, 7))
    raw = base64.b64decode(answer.body.decode().split()[-1])
    key_id, timestamp, sig = raw[:4], int.from_bytes(raw[4:12], "big"), raw[12:]
    assert int.from_bytes(key_id, "big") == Verifier(W_VKEY).key_id
    text = Checkpoint(ORIGIN, 7, TREE.root(7)).to_text().encode()
    msg = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(Verifier(W_VKEY).public_key).verify(sig, msg)


def test_wrong_old_size_is_409_with_the_witness_size(witness):
    assert witness.add_checkpoint(body(0, 10)).status == 200
    # "If it doesn't match, the witness MUST respond with a 409 Conflict ... tree size
    # of the latest cosigned checkpoint in decimal, followed by a newline"
    answer = witness.add_checkpoint(body(0, 12))
    assert (answer.status, answer.body, answer.content_type) == (409, b"10\n", SIZE_CONTENT_TYPE)
    answer = witness.add_checkpoint(body(8, 12))
    assert (answer.status, answer.body) == (409, b"10\n")


def test_unknown_origin_404_bad_signature_403(witness):
    other = format_add_checkpoint(0, [], signed(5, origin="other.example/log"))
    assert witness.add_checkpoint(other).status == 404
    forged = format_add_checkpoint(0, [], signed(5, skey=OTHER_SKEY))
    assert witness.add_checkpoint(forged).status == 403
    assert witness.size_of(ORIGIN) == 0


def test_old_size_above_checkpoint_size_is_400(witness):
    assert witness.add_checkpoint(body(0, 10)).status == 200
    request = format_add_checkpoint(10, [], signed(9))
    assert witness.add_checkpoint(request).status == 400


def test_bad_proof_is_422_and_not_cosigned(witness):
    assert witness.add_checkpoint(body(0, 10)).status == 200
    good = proof(10, 20)
    bad = [good[0][:-1] + bytes([good[0][-1] ^ 1]), *good[1:]]
    answer = witness.add_checkpoint(format_add_checkpoint(10, bad, signed(20)))
    assert answer.status == 422
    assert witness.size_of(ORIGIN) == 10
    # "The proof MUST be empty if the old size is zero"
    fresh = Witness(witness.data_dir / "fresh", Signer(W_SKEY), witness.logs)
    assert fresh.add_checkpoint(format_add_checkpoint(0, good, signed(20))).status == 422


def test_fork_at_same_size_is_409_and_kept_as_evidence(witness, tmp_path):
    assert witness.add_checkpoint(body(0, 30)).status == 200
    forked = format_add_checkpoint(30, [], signed(30, FORK))
    answer = witness.add_checkpoint(forked)
    assert (answer.status, answer.body) == (409, b"30\n")
    # a forked branch that grew past the witness cannot prove consistency either
    assert witness.add_checkpoint(body(30, 40, FORK)).status == 422
    [kept] = list((tmp_path / "evidence").glob("*/split-view-*"))
    assert "SPLIT VIEW PROVEN" in check_evidence(kept, [Verifier(LOG_VKEY)])
    assert (kept / "presented.checkpoint").read_bytes() == signed(30, FORK)


def test_state_survives_a_new_witness_object(witness):
    assert witness.add_checkpoint(body(0, 16)).status == 200
    again = Witness(witness.data_dir, Signer(W_SKEY), witness.logs)
    assert again.add_checkpoint(body(0, 20)).body == b"16\n"
    state = json.loads((witness.data_dir / "state.json").read_text())
    assert state["logs"][ORIGIN]["size"] == 16


def test_corrupt_state_refuses_to_start(witness):
    assert witness.add_checkpoint(body(0, 16)).status == 200
    (witness.data_dir / "state.json").write_text("{not json")
    with pytest.raises(WitnessError, match="Do not delete it"):
        Witness(witness.data_dir, Signer(W_SKEY), witness.logs)


def test_a_log_key_cannot_be_the_witness_key(tmp_path):
    with pytest.raises(WitnessError, match="cosigner key"):
        Witness(tmp_path, Signer(LOG_SKEY), {ORIGIN: [Verifier(LOG_VKEY)]})


# ---- hypothesis: mutated add-checkpoint bodies -------------------------------------------


def _mutations():
    base = st.sampled_from([body(12, 30), body(12, 12), body(12, 13), body(12, 40)])
    flip = st.tuples(base, st.integers(0, 10_000), st.integers(1, 255)).map(
        lambda t: (
            t[0][: t[1] % len(t[0])]
            + bytes([t[0][t[1] % len(t[0])] ^ t[2]])
            + t[0][t[1] % len(t[0]) + 1 :]
        )
    )
    cut = st.tuples(base, st.integers(0, 10_000)).map(lambda t: t[0][: t[1] % len(t[0])])
    splice = st.tuples(base, st.integers(0, 10_000), st.binary(max_size=40)).map(
        lambda t: t[0][: t[1] % len(t[0])] + t[2] + t[0][t[1] % len(t[0]) :]
    )
    return st.one_of(flip, cut, splice, st.binary(max_size=300))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_mutations())
def test_mutated_bodies_never_crash_and_never_cosign_a_bad_proof(witness, data):
    witness_size = witness.size_of(ORIGIN)
    if witness_size == 0:
        assert witness.add_checkpoint(body(0, 12)).status == 200
        witness_size = 12
    known_root = TREE.root(witness_size)
    answer = witness.add_checkpoint(data)
    assert answer.status in (200, 400, 403, 404, 409, 413, 422)
    if answer.status != 200:
        return
    # Cosigned: then the body must carry a valid log signature and a proof that verifies
    request = parse_add_checkpoint(data)
    cp = Checkpoint.parse(open_note(request.note, Verifier(LOG_VKEY)).text)
    assert request.old_size == witness_size
    if cp.size > witness_size:
        verify_consistency(witness_size, cp.size, list(request.proof), known_root, cp.root)
    else:
        assert cp.root == known_root
    good, _ = verified_cosignatures(request.note + answer.body, [Cosigner(Verifier(W_VKEY))])
    assert list(good) == ["witness.example/w1"]
    witness.state.clear()  # back to a fresh witness for the next example
    witness._save({})


def test_policy_two_of_three(tmp_path):
    keys = [generate_signer(f"w{i}.example", ALG_COSIGNATURE_V1) for i in range(3)]
    policy = WitnessPolicy([Cosigner(Verifier(v)) for _, v in keys])
    assert policy.quorum == 2
    witnesses = [
        Witness(tmp_path / str(i), Signer(s), {ORIGIN: [Verifier(LOG_VKEY)]})
        for i, (s, _) in enumerate(keys)
    ]
    note = signed(9)
    lines = [w.add_checkpoint(format_add_checkpoint(0, [], note)).body for w in witnesses]
    assert set(policy.check(note + lines[0] + lines[2])) == {"w0.example", "w2.example"}
    from ledger.cosignature import QuorumError

    with pytest.raises(QuorumError, match="1 of the 3 named witnesses") as caught:
        policy.check(note + lines[1])
    assert caught.value.missing == ["w0.example", "w2.example"]
    # a cosignature over another checkpoint does not count, even with the right key
    with pytest.raises(QuorumError, match=r"invalid cosignature lines from: w0\.example"):
        policy.check(signed(8) + lines[0] + lines[1])
    # round trip of the text form
    assert WitnessPolicy.parse(policy.to_text()).to_text() == policy.to_text()


def test_policy_file_mistakes_are_named():
    keys = [generate_signer(f"w{i}.example", ALG_COSIGNATURE_V1)[1] for i in range(3)]
    from ledger.cosignature import PolicyError

    one = WitnessPolicy.parse(f"witness {keys[0]} http://127.0.0.1:1\n")
    assert one.quorum == 1 and one.cosigners[0].url == "http://127.0.0.1:1"
    assert WitnessPolicy.parse("\n".join(f"witness {k}" for k in keys)).quorum == 2
    with pytest.raises(PolicyError, match="quorum 4 is impossible with 3"):
        WitnessPolicy.parse("quorum 4\n" + "\n".join(f"witness {k}" for k in keys))
    with pytest.raises(PolicyError, match="not a cosigner key"):
        WitnessPolicy.parse(f"witness {LOG_VKEY}\n")
    with pytest.raises(PolicyError, match="line 2"):
        WitnessPolicy.parse(f"witness {keys[0]}\nwitnes {keys[1]}\n")
    with pytest.raises(PolicyError, match="distinct"):
        WitnessPolicy.parse(f"witness {keys[0]}\nwitness {keys[0]}\n")
    with pytest.raises(PolicyError, match="at least one witness"):
        WitnessPolicy.parse("quorum 1\n")


def test_max_age_refuses_a_frozen_view_and_accepts_fresh_cosignatures(tmp_path):
    """c2sp.org/tlog-cosignature: the timestamp is the witness's statement of *when* it saw
    the checkpoint consistent. An office with a max-age counts only recent ones: an old,
    honestly cosigned checkpoint shown to it while the log moved on is refused."""
    from ledger.cosignature import QuorumError

    keys = [generate_signer(f"w{i}.example", ALG_COSIGNATURE_V1) for i in range(3)]
    t0 = 1_780_000_000
    clocks = [t0, t0 + 500, t0 + 1000]  # when each witness cosigned
    witnesses = [
        Witness(tmp_path / str(i), Signer(s, clock=lambda t=t: t), {ORIGIN: [Verifier(LOG_VKEY)]})
        for i, ((s, _), t) in enumerate(zip(keys, clocks, strict=True))
    ]
    note = signed(9)
    lines = b"".join(w.add_checkpoint(format_add_checkpoint(0, [], note)).body for w in witnesses)
    policy = WitnessPolicy.parse(
        "quorum 2\nmax-age 3600\n" + "".join(f"witness {v}\n" for _, v in keys)
    )
    assert policy.max_age_s == 3600 and "max-age 3600" in policy.to_text()
    # an hour after the first cosignature, all three count; a little later only two
    assert len(policy.check(note + lines, now=t0 + 3600)) == 3
    assert set(policy.check(note + lines, now=t0 + 4000)) == {"w1.example", "w2.example"}
    with pytest.raises(QuorumError, match="older than this office's maximum age of 3600 s"):
        policy.check(note + lines, now=t0 + 1000 + 3601 - 500)  # w1's is now too old too
    # without a max-age the same note passes at any time (the behaviour before)
    plain = WitnessPolicy([Cosigner(Verifier(v)) for _, v in keys])
    assert len(plain.check(note + lines, now=t0 + 10**9)) == 3
    from ledger.cosignature import PolicyError

    with pytest.raises(PolicyError, match="at least 1 second"):
        WitnessPolicy([Cosigner(Verifier(v)) for _, v in keys], 2, 0)
