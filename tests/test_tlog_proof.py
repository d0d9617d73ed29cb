"""ledger.tlog_proof: the c2sp.org/tlog-proof@v1 text format and end-to-end verification."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    InvalidSignatureError,
    NoteError,
    OriginMismatchError,
    Signer,
    UnverifiedNoteError,
    Verifier,
    generate_signer,
    open_note,
    sign_checkpoint,
    sign_note,
)
from ledger.tlog_proof import (
    InclusionError,
    ProofFormatError,
    TlogProof,
    TlogProofError,
    format_tlog_proof,
    parse_tlog_proof,
    verify_tlog_proof,
    verify_tlog_proof_hash,
)

# The example in c2sp.org/tlog-proof, verbatim (its signatures are elided with "[...]").
SPEC_EXAMPLE = """c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
— witness2.example TnKKVHLX[...]xwYwrSjgow==
— witness3.example S4X82uH5[...]3oEcROGLFQ==
""".encode()


# --- an independent RFC 6962 reference, so the test does not trust ledger.merkle ----------


def _leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle Tree Hash of the entries."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = _split(len(leaves))
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 section 2.1.1 audit path for leaf m, leaf's sibling first."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


ORIGIN = "hangzhou.evmetrology.example/2026"
ENTRIES = [f"metering record {i}".encode() for i in range(13)]


@pytest.fixture(scope="module")
def log_keys() -> tuple[Signer, Verifier]:
    skey, vkey = generate_signer(ORIGIN)
    return Signer(skey), Verifier(vkey)


def make_proof(signer: Signer, index: int, size: int = len(ENTRIES), **kw: object) -> bytes:
    leaves = ENTRIES[:size]
    note = sign_checkpoint(Checkpoint(ORIGIN, size, mth(leaves)), signer)
    return format_tlog_proof(index, path(index, leaves), note, **kw)  # type: ignore[arg-type]


# --- format -------------------------------------------------------------------------------


def test_spec_example_round_trips_byte_for_byte():
    p = parse_tlog_proof(SPEC_EXAMPLE, check_checkpoint=False)
    assert p.index == 73894
    assert p.extra is not None and p.extra.startswith(b"age-v1.2.1-darwin-arm64.tar.gz")
    assert len(p.hashes) == 5 and all(len(h) == 32 for h in p.hashes)
    assert p.checkpoint_note.startswith(b"example.com/fancylog\n109482\n")
    assert p.to_bytes() == SPEC_EXAMPLE
    rebuilt = format_tlog_proof(
        73894,
        [base64.b64decode(line) for line in SPEC_EXAMPLE.split(b"\n")[3:8]],
        SPEC_EXAMPLE.split(b"\n\n", 1)[1],
        extra=base64.b64decode("YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ"),
    )
    assert rebuilt == SPEC_EXAMPLE


def test_spec_example_elided_signatures_are_caught_by_default():
    with pytest.raises(ProofFormatError, match="embedded checkpoint"):
        parse_tlog_proof(SPEC_EXAMPLE)


def test_format_layout(log_keys):
    signer, _ = log_keys
    data = make_proof(signer, 5)
    lines = data.split(b"\n")
    assert lines[0] == b"c2sp.org/tlog-proof@v1"
    assert lines[1] == b"index 5"
    hashes = path(5, ENTRIES)
    assert lines[2 : 2 + len(hashes)] == [base64.b64encode(h) for h in hashes]
    assert lines[2 + len(hashes)] == b""
    assert data.endswith(sign_checkpoint(Checkpoint(ORIGIN, 13, mth(ENTRIES)), signer)[-10:])


def test_round_trip_with_extra_and_without_hashes(log_keys):
    signer, _ = log_keys
    for extra in (None, b"", b"\x00vrf proof\xff"):
        data = make_proof(signer, 0, size=1, extra=extra)
        p = parse_tlog_proof(data)
        assert p == TlogProof(0, extra, [], data.split(b"\n\n", 1)[1])
        assert p.to_bytes() == data


def test_format_rejects_bad_values():
    note = b"o\n1\n" + base64.b64encode(bytes(32)) + b"\n\n- x\n"
    with pytest.raises(ProofFormatError):
        format_tlog_proof(-1, [], note)
    with pytest.raises(ProofFormatError):
        format_tlog_proof(2**64, [], note)
    with pytest.raises(ProofFormatError):
        format_tlog_proof(0, [bytes(31)], note)
    with pytest.raises(ProofFormatError):
        format_tlog_proof(0, [bytes(32)] * 65, note)
    with pytest.raises(ProofFormatError):
        format_tlog_proof(0, [], note.rstrip(b"\n"))


H = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "head",
    [
        "c2sp.org/tlog-proof@v2\nindex 0",  # wrong version
        "C2SP.org/tlog-proof@v1\nindex 0",
        "c2sp.org/tlog-proof@v1 \nindex 0",
        "c2sp.org/tlog-proof@v1",  # no index
        "c2sp.org/tlog-proof@v1\nindex",
        "c2sp.org/tlog-proof@v1\nindex ",
        "c2sp.org/tlog-proof@v1\nindex 01",  # leading zero
        "c2sp.org/tlog-proof@v1\nindex -1",
        "c2sp.org/tlog-proof@v1\nindex +1",
        "c2sp.org/tlog-proof@v1\nindex 1 ",
        "c2sp.org/tlog-proof@v1\nindex  1",
        "c2sp.org/tlog-proof@v1\nindex 1_0",
        f"c2sp.org/tlog-proof@v1\nindex {2**64}",
        "c2sp.org/tlog-proof@v1\nindex 0\r",  # CRLF
        "c2sp.org/tlog-proof@v1\nindex 0\nextra AAAA",  # extra after index
        "c2sp.org/tlog-proof@v1\nextra !!!!\nindex 0",  # bad base64
        "c2sp.org/tlog-proof@v1\nextra AAA\nindex 0",  # bad padding
        f"c2sp.org/tlog-proof@v1\nindex 0\n{H[:-4]}",  # 30-byte hash
        f"c2sp.org/tlog-proof@v1\nindex 0\n{H}\r",
        f"c2sp.org/tlog-proof@v1\nindex 0\n{H.replace('A', '_')}",
        "c2sp.org/tlog-proof@v1\nindex 0" + f"\n{H}" * 65,  # more than 64 hashes
        "index 0",
    ],
)
def test_malformed_proofs(head: str, log_keys):
    signer, _ = log_keys
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, mth(ENTRIES[:1])), signer)
    with pytest.raises(ProofFormatError):
        parse_tlog_proof(head.encode() + b"\n\n" + note)


def test_malformed_layout(log_keys):
    signer, _ = log_keys
    good = make_proof(signer, 3)
    for bad in (
        good.replace(b"\n\n", b"\n", 1),  # no empty line before the checkpoint
        good.split(b"\n\n", 1)[0] + b"\n\n",  # no checkpoint
        good.replace(b"\n", b"\r\n"),
        good.split(b"\n\n", 1)[0] + b"\n\n" + b"not a note\n",
        b"",
    ):
        with pytest.raises(ProofFormatError):
            parse_tlog_proof(bad)


# --- verification (needs ledger.merkle) ---------------------------------------------------


@pytest.fixture(scope="module")
def merkle():
    return pytest.importorskip("ledger.merkle")


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 13])
def test_verify_every_index(size: int, log_keys, merkle):
    signer, verifier = log_keys
    for index in range(size):
        data = make_proof(signer, index, size=size)
        cp = verify_tlog_proof(data, ENTRIES[index], verifier, origin=ORIGIN)
        assert (cp.origin, cp.size, cp.root) == (ORIGIN, size, mth(ENTRIES[:size]))


def test_verify_rejects_wrong_entry_or_index(log_keys, merkle):
    signer, verifier = log_keys
    data = make_proof(signer, 6)
    with pytest.raises(InclusionError, match="index 6"):
        verify_tlog_proof(data, ENTRIES[5], verifier)
    with pytest.raises(InclusionError):
        verify_tlog_proof(data, ENTRIES[6] + b" ", verifier)
    moved = data.replace(b"index 6\n", b"index 7\n")
    with pytest.raises(InclusionError):
        verify_tlog_proof(moved, ENTRIES[6], verifier)
    beyond = data.replace(b"index 6\n", b"index 13\n")
    with pytest.raises(InclusionError, match="beyond"):
        verify_tlog_proof(beyond, ENTRIES[6], verifier)


def test_verify_rejects_tampered_path(log_keys, merkle):
    signer, verifier = log_keys
    p = parse_tlog_proof(make_proof(signer, 4))
    for i in range(len(p.hashes)):
        hashes = list(p.hashes)
        hashes[i] = bytes([hashes[i][0] ^ 1]) + hashes[i][1:]
        bad = format_tlog_proof(p.index, hashes, p.checkpoint_note)
        with pytest.raises(InclusionError):
            verify_tlog_proof(bad, ENTRIES[4], verifier)
    for hashes in (p.hashes[:-1], [*p.hashes, p.hashes[0]]):
        with pytest.raises(InclusionError):
            verify_tlog_proof(format_tlog_proof(4, hashes, p.checkpoint_note), ENTRIES[4], verifier)


def test_verify_checks_the_checkpoint(log_keys, merkle):
    signer, verifier = log_keys
    data = make_proof(signer, 2)
    with pytest.raises(UnverifiedNoteError):
        verify_tlog_proof(data, ENTRIES[2], Verifier(generate_signer(ORIGIN)[1]))
    with pytest.raises(OriginMismatchError):
        verify_tlog_proof(data, ENTRIES[2], verifier, origin="shanghai.evmetrology.example/2026")
    forged_size = data.replace(f"\n{len(ENTRIES)}\n".encode(), b"\n12\n")
    with pytest.raises(InvalidSignatureError):
        verify_tlog_proof(forged_size, ENTRIES[2], verifier)


def test_verify_witnessed_proof(log_keys, merkle):
    """A proof whose checkpoint carries a witness cosignature, checked with both keys."""
    signer, verifier = log_keys
    w_skey, w_vkey = generate_signer("witness.example/w1", ALG_COSIGNATURE_V1)
    note = sign_checkpoint(Checkpoint(ORIGIN, len(ENTRIES), mth(ENTRIES)), signer)
    cosigned = sign_note(open_note(note, verifier), Signer(w_skey))
    data = format_tlog_proof(9, path(9, ENTRIES), cosigned, extra=b"ctx")
    cp = verify_tlog_proof(data, ENTRIES[9], [verifier, Verifier(w_vkey)], origin=ORIGIN)
    assert cp.size == len(ENTRIES)
    # without the witness key the cosignature is ignored, as the spec requires
    assert verify_tlog_proof(data, ENTRIES[9], verifier) == cp


# --- a proof against a checkpoint signed by another implementation -----------------------

DATA = Path(__file__).resolve().parent / "data" / "note"
SIGSUM = "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
# torchwood's gentest log: leaf hashes are 0x2a || index || zeros, the checkpoint at size 5
# is signed by sigsum-go, and node(h0, h1) = wgiIFdZ... appears in its consistency proof.
SIGSUM_LEAVES = [bytes([0x2A, i]) + bytes(30) for i in range(5)]


def test_external_checkpoint_proof_file_is_our_format():
    data = (DATA / "sigsum-gentest-5-index-2.tlog-proof").read_bytes()
    note = (DATA / "sigsum-gentest-5.checkpoint").read_bytes()
    h = SIGSUM_LEAVES
    assert data == format_tlog_proof(2, [h[3], _node(h[0], h[1]), h[4]], note)
    assert b"wgiIFdZfYNv6WU1OllBKsWnLYIS/DBMqt8Uh/S4OukE=" in data


def test_external_checkpoint_proof_verifies(merkle):
    data = (DATA / "sigsum-gentest-5-index-2.tlog-proof").read_bytes()
    verifier = Verifier((DATA / "sigsum-gentest.vkey").read_text())
    cp = verify_tlog_proof_hash(data, SIGSUM_LEAVES[2], verifier, origin=SIGSUM)
    assert cp.size == 5
    for other in (0, 1, 3, 4):
        with pytest.raises(InclusionError):
            verify_tlog_proof_hash(data, SIGSUM_LEAVES[other], verifier)
    for i in range(len(data)):
        mutated = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(ValueError):
            verify_tlog_proof_hash(mutated, SIGSUM_LEAVES[2], verifier, origin=SIGSUM)


def test_errors_are_value_errors():
    assert issubclass(ProofFormatError, TlogProofError)
    assert issubclass(InclusionError, TlogProofError)
    assert issubclass(TlogProofError, ValueError) and issubclass(NoteError, ValueError)


# --- fuzzing ------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_parse_arbitrary_bytes(data: bytes):
    with contextlib.suppress(ProofFormatError):
        parse_tlog_proof(data)


@FUZZ
@given(st.binary(max_size=300))
def test_parse_arbitrary_bytes_after_header(tail: bytes):
    with contextlib.suppress(ProofFormatError):
        parse_tlog_proof(b"c2sp.org/tlog-proof@v1\n" + tail)


@FUZZ
@given(st.data())
def test_verify_mutated_proof(log_keys, merkle, data):
    signer, verifier = log_keys
    good = make_proof(signer, 11)
    pos = data.draw(st.integers(0, len(good) - 1))
    xor = data.draw(st.integers(1, 255))
    mutated = good[:pos] + bytes([good[pos] ^ xor]) + good[pos + 1 :]
    try:
        cp = verify_tlog_proof(mutated, ENTRIES[11], verifier)
    except (TlogProofError, NoteError):
        return
    # only a change that leaves the signed checkpoint and the path intact can pass
    assert cp.root == mth(ENTRIES)
