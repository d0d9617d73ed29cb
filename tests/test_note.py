"""ledger.note against the Go note package's vectors, real public checkpoints and malformations."""

from __future__ import annotations

import base64
import contextlib
import os
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    InvalidSignatureError,
    KeyFormatError,
    MalformedCheckpointError,
    MalformedNoteError,
    Note,
    NoteError,
    OriginMismatchError,
    Signature,
    Signer,
    UnverifiedNoteError,
    Verifier,
    cosignature_timestamp,
    generate_signer,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
    verifier_key,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "note"

# --- golang.org/x/mod/sumdb/note note_test.go vectors -------------------------------------

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)
ENOCH_B64 = (
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
)
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"— EnochRoot {ENOCH_B64}\n"
PETER = Signature("PeterNeumann", 0xC74F20A3, PETER_B64)
ENOCH = Signature("EnochRoot", 0xAF0CFE78, ENOCH_B64)


def peter() -> Verifier:
    return Verifier(PETER_VKEY)


def enoch() -> Verifier:
    return Verifier(ENOCH_VKEY)


def test_go_verifier_key_parses():
    v = peter()
    assert (v.name, v.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert Signer(PETER_SKEY).vkey == PETER_VKEY


def test_go_verifier_key_manglings_rejected():
    """Go's TestNewVerifier: every proper substring and every byte+1 must fail."""
    b = PETER_VKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i != 0 or j != len(b):
                with pytest.raises(KeyFormatError):
                    Verifier(b[i:j].decode())
    for i in range(len(b)):
        mangled = b[:i] + bytes([b[i] + 1]) + b[i + 1 :]
        with pytest.raises(KeyFormatError):
            Verifier(mangled.decode())
    # wrong key length and unknown algorithm, each with a matching key ID
    with pytest.raises(KeyFormatError):
        Verifier("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(KeyFormatError):
        Verifier("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_go_signer_key_manglings_rejected():
    b = PETER_SKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if i != 0 or j != len(b):
                with pytest.raises(KeyFormatError):
                    Signer(b[i:j].decode())
    for i in range(len(b)):
        mangled = b[:i] + bytes([b[i] + 1]) + b[i + 1 :]
        with pytest.raises(KeyFormatError):
            Signer(mangled.decode())


def test_key_id_hex_must_be_plain_hex():
    """Python's int(x, 16) takes '0x', '_' and spaces; Go's ParseUint does not."""
    pub = base64.b64decode(PETER_VKEY.split("+")[2])
    for bad in ("0xc74f20", "c74f_20a", " c74f20a", "C74F20A3 "):
        with pytest.raises(KeyFormatError):
            Verifier(f"PeterNeumann+{bad}+{base64.b64encode(pub).decode()}")
    assert Verifier("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_go_sign_is_byte_identical():
    want = TEXT + "\n" + PETER_SIG
    assert sign_note(TEXT, Signer(PETER_SKEY)).decode() == want
    # an existing signature by the same key is replaced, as in Go
    old = Note(TEXT, (Signature("PeterNeumann", 0xC74F20A3, "BADSIGN="),))
    assert sign_note(old, Signer(PETER_SKEY)).decode() == want


def test_go_sign_bad_inputs():
    signer = Signer(PETER_SKEY)
    with pytest.raises(MalformedNoteError):
        sign_note("abc", signer)
    with pytest.raises(MalformedNoteError):
        sign_note(Note(TEXT, (Signature("a+b", 0, "ABCD"),)), [])
    with pytest.raises(MalformedNoteError):
        sign_note(Note(TEXT, (Signature("PeterNeumann", 0xC74F20A3, "BADHASH="),)), [])

    class BadName(Signer):
        name = "bad name"

        def __init__(self) -> None:
            pass

    with pytest.raises(KeyFormatError):
        sign_note(TEXT, BadName())


def test_go_cosign_appends_after_existing():
    """Go's doc example: Enoch re-signs Peter's note; Peter's line comes first."""
    n = open_note((TEXT + "\n" + PETER_SIG).encode(), peter())
    # Enoch's secret key is not published, so re-create the message by hand.
    two = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    both = open_note(two, [peter(), enoch()])
    assert both.sigs == (PETER, ENOCH)
    skey, _vkey = generate_signer("EnochRoot")
    out = sign_note(n, Signer(skey)).decode()
    assert out.startswith(TEXT + "\n" + PETER_SIG + "— EnochRoot ")


def test_go_open():
    msg = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    n = open_note(msg, [peter()])
    assert n.text == TEXT
    assert n.sigs == (PETER,) and n.unverified_sigs == (ENOCH,)

    n = open_note(msg, [peter(), enoch()])
    assert n.sigs == (PETER, ENOCH) and n.unverified_sigs == ()

    with pytest.raises(UnverifiedNoteError) as exc:
        open_note(msg, [])
    assert exc.value.note.unverified_sigs == (PETER, ENOCH)
    assert "no verifiable signatures" in str(exc.value)

    # a configured key listed twice is harmless
    assert open_note((TEXT + "\n" + ENOCH_SIG).encode(), [enoch(), peter(), enoch()]).sigs


def test_go_open_too_many_signatures():
    for verifiers in ([peter()], []):
        with pytest.raises(MalformedNoteError):
            open_note((TEXT + "\n" + PETER_SIG * 101).encode(), verifiers)
    # at least 16 must be accepted (c2sp.org/signed-note)
    assert open_note((TEXT + "\n" + PETER_SIG * 16).encode(), peter()).sigs == (PETER,)


def test_go_open_invalid_signature():
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError, match=r"PeterNeumann\+c74f20a3"):
        open_note((TEXT + "\n" + bad).encode(), peter())


def test_go_open_duplicates_dropped():
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    msg = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    n = open_note(msg.encode(), peter())
    assert n.sigs == (PETER,)
    assert n.unverified_sigs == (
        ENOCH,
        Signature("EnochRoot", 0xAF0CFE78, enoch_abcd[len("— EnochRoot ") : -1]),
    )


def test_tampered_duplicate_of_known_key_is_rejected():
    """Go checks only a known key's first signature; the spec says verify them all."""
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError):
        open_note((TEXT + "\n" + PETER_SIG + bad).encode(), peter())


@pytest.mark.parametrize(
    "msg",
    [
        TEXT,  # no signatures at all
        TEXT + "\n",  # blank line but no signature lines
        TEXT + "\n" + PETER_SIG[:-1],  # missing final newline
        "\x01" + TEXT + "\n" + PETER_SIG,  # control character
        TEXT + "\n" + "— Bad Name " + PETER_B64,  # space in name
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",  # trailing garbage line
        TEXT + "\n" + PETER_SIG + "garbage",  # trailing garbage, no newline
        (TEXT + "\n" + PETER_SIG).replace("\n", "\r\n"),  # CRLF
        TEXT + "\n" + PETER_SIG.replace("—", "-"),  # hyphen instead of em dash
        TEXT + "\n" + PETER_SIG.replace("—", "–"),  # en dash
        TEXT + "\n" + PETER_SIG.replace("— ", "—"),  # no space after dash
        TEXT + "\n" + "— PeterNeumann\n",  # no signature
        TEXT + "\n" + "— PeterNeumann x08g\n",  # too short (< 5 bytes)
        TEXT + "\n" + "— PeterNeumann " + PETER_B64[:-1] + "\n",  # bad padding
        TEXT + "\n" + "— PeterNeumann " + PETER_B64.replace("/", "_") + "\n",  # urlsafe
        TEXT + "\n" + "— PeterNeumann " + PETER_B64[:-2] + "N=\n",  # non-canonical bits
        TEXT + "\n" + "— PeterNeumann  " + PETER_B64 + "\n",  # double space
        TEXT + "\n" + "— Peter+Neumann " + PETER_B64 + "\n",  # plus in name
        TEXT + "\n" + PETER_SIG + "\n",  # blank line after the signatures
    ],
)
def test_malformed_notes(msg: str):
    with pytest.raises(MalformedNoteError):
        open_note(msg.encode(), peter())


def test_invalid_utf8_is_malformed():
    with pytest.raises(MalformedNoteError, match="UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), peter())


def test_wrong_key_id_or_name_is_an_unknown_key():
    """Same name but other ID, or same ID but other name: ignored, not an error."""
    raw = base64.b64decode(PETER_B64)
    other_id = base64.b64encode(b"\x00\x00\x00\x01" + raw[4:]).decode()
    with pytest.raises(UnverifiedNoteError):
        open_note((TEXT + "\n" + f"— PeterNeumann {other_id}\n").encode(), peter())
    with pytest.raises(UnverifiedNoteError):
        open_note((TEXT + "\n" + f"— CarmenSandiego {PETER_B64}\n").encode(), peter())


def test_blank_line_between_signatures_breaks_the_note():
    """The last blank line splits text from signatures, so the first line joins the text."""
    with pytest.raises(NoteError):
        open_note((TEXT + "\n" + ENOCH_SIG + "\n" + PETER_SIG).encode(), peter())


def test_text_may_contain_blank_lines():
    """c2sp.org/signed-note: 'The note text MAY contain empty lines'."""
    skey, vkey = generate_signer("example.com/a")
    text = "para one\n\npara two\n"
    n = open_note(sign_note(text, Signer(skey)), Verifier(vkey))
    assert n.text == text


def test_spec_example_text_keeps_its_blank_line():
    """The c2sp.org/signed-note example: the last blank line separates the signatures."""
    poem = (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
    )
    sig = (
        "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+"
        "EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
    )
    with pytest.raises(UnverifiedNoteError) as exc:
        open_note((poem + "\n" + sig).encode(), peter())
    assert exc.value.note.text == poem
    assert exc.value.note.unverified_sigs[0].name == "quasimodo.example/salvatore"


def test_ambiguous_configured_keys():
    v = enoch()
    impostor = peter()
    impostor.name, impostor.key_id = v.name, v.key_id
    with pytest.raises(NoteError, match="ambiguous"):
        open_note((TEXT + "\n" + ENOCH_SIG).encode(), [v, impostor])


def test_sign_refuses_text_that_cannot_be_opened():
    signer = Signer(PETER_SKEY)
    for text in ("no newline", "a\r\n", "tab\there\n"):
        with pytest.raises(MalformedNoteError):
            sign_note(text, signer)


# --- keys ---------------------------------------------------------------------------------


def test_generate_signer_round_trip():
    skey, vkey = generate_signer("hangzhou.evmetrology.example/2026")
    s, v = Signer(skey), Verifier(vkey)
    assert skey.startswith("PRIVATE+KEY+hangzhou.evmetrology.example/2026+")
    assert (s.name, s.key_id) == (v.name, v.key_id)
    assert vkey.split("+")[1] == f"{v.key_id:08x}"
    sig = s.sign(b"hi")
    assert v.verify(b"hi", sig)
    assert not v.verify(b"hI", sig)
    assert not v.verify(b"hi", bytes([sig[0] ^ 1]) + sig[1:])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\nb", "a\u00a0b", "a\u2028b", "a\u3000b"])
def test_invalid_key_names(name: str):
    with pytest.raises(KeyFormatError):
        generate_signer(name)


def test_verifier_key_from_raw_public_key():
    v = peter()
    assert verifier_key("PeterNeumann", v.public_key) == PETER_VKEY
    with pytest.raises(KeyFormatError):
        verifier_key("PeterNeumann", v.public_key[:31])


def test_private_key_is_not_accepted_as_verifier_key():
    with pytest.raises(KeyFormatError):
        Verifier(PETER_SKEY)


# --- checkpoints --------------------------------------------------------------------------

ROOT_HASH = bytes(range(32))


def test_checkpoint_round_trip():
    cp = Checkpoint("example.com/log", 20852163, ROOT_HASH, ("ext one", "ext2"))
    text = cp.to_text()
    assert text == (
        f"example.com/log\n20852163\n{base64.b64encode(ROOT_HASH).decode()}\next one\next2\n"
    )
    assert Checkpoint.parse(text) == cp
    assert Checkpoint.parse(Checkpoint("a", 0, ROOT_HASH).to_text()).size == 0


def test_spec_checkpoint_example_parses():
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(text)
    assert (cp.origin, cp.size, cp.to_text()) == ("example.com/behind-the-sofa", 20852163, text)


R64 = base64.b64encode(ROOT_HASH).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"o\n1\n{R64}",  # no final newline
        "o\n1\n",  # no root
        f"\n1\n{R64}\n",  # empty origin
        f"o\n01\n{R64}\n",  # leading zero
        f"o\n-1\n{R64}\n",
        f"o\n+1\n{R64}\n",
        f"o\n 1\n{R64}\n",
        f"o\n1_0\n{R64}\n",
        f"o\n١\n{R64}\n",  # Arabic-Indic digit, accepted by int()
        f"o\n{2**64}\n{R64}\n",
        f"o\n1\n{R64[:-4]}\n",  # 30 bytes
        f"o\n1\n{R64[:-2]}9=\n",  # non-canonical padding bits (canonical ends in 8=)
        f"o\n1\n{R64[:-1]}\n",  # bad padding
        f"o\n1\n{R64}\n\next\n",  # blank line
        f"o\n1\n{R64}\n\n",  # trailing blank line
        f"o\n1\n{R64}\r\n",
    ],
)
def test_malformed_checkpoints(text: str):
    with pytest.raises(MalformedCheckpointError):
        Checkpoint.parse(text)


def test_checkpoint_constructor_validates():
    for args in [
        ("", 1, ROOT_HASH),
        ("a\nb", 1, ROOT_HASH),
        ("o", -1, ROOT_HASH),
        ("o", 2**64, ROOT_HASH),
        ("o", True, ROOT_HASH),
        ("o", 1, ROOT_HASH[:31]),
        ("o", 1, ROOT_HASH, ("",)),
    ]:
        with pytest.raises(MalformedCheckpointError):
            Checkpoint(*args)


def test_sign_and_open_checkpoint():
    origin = "hangzhou.evmetrology.example/2026"
    skey, vkey = generate_signer(origin)
    cp = Checkpoint(origin, 42, ROOT_HASH)
    data = sign_checkpoint(cp, Signer(skey))
    got, note = open_checkpoint(data, Verifier(vkey), origin=origin)
    assert got == cp and note.sigs[0].name == origin
    assert open_checkpoint(data, Verifier(vkey))[0] == cp
    with pytest.raises(OriginMismatchError, match="shanghai"):
        open_checkpoint(data, Verifier(vkey), origin="shanghai.evmetrology.example/2026")
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(data, Verifier(generate_signer(origin)[1]))


def test_signed_non_checkpoint_is_not_a_checkpoint():
    skey, vkey = generate_signer("example.com/a")
    with pytest.raises(MalformedCheckpointError):
        open_checkpoint(sign_note("just words\n", Signer(skey)), Verifier(vkey))


# --- real checkpoints of public logs ------------------------------------------------------

REAL = [
    ("sumdb-445646.checkpoint", "sum.golang.org.vkey", "go.sum database tree", 445646),
    ("sumdb-15368405.checkpoint", "sum.golang.org.vkey", "go.sum database tree", 15368405),
    ("sumdb-63512409.checkpoint", "sum.golang.org.vkey", "go.sum database tree", 63512409),
    (
        "sigsum-gentest-5.checkpoint",
        "sigsum-gentest.vkey",
        "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562",
        5,
    ),
    (
        "aw-ftlog-ci-2-56.checkpoint",
        "aw-ftlog-ci-2.vkey",
        "transparency.dev/armored-witness/firmware_transparency/ci/2",
        56,
    ),
    (
        "aw-ftlog-ci-3-59-witnessed.checkpoint",
        "aw-ftlog-ci-3.vkey",
        "transparency.dev/armored-witness/firmware_transparency/ci/3",
        59,
    ),
]


@pytest.mark.parametrize(("note_file", "key_file", "origin", "size"), REAL)
def test_real_checkpoint_verifies(note_file: str, key_file: str, origin: str, size: int):
    data = (DATA / note_file).read_bytes()
    verifier = Verifier((DATA / key_file).read_text())
    cp, note = open_checkpoint(data, verifier, origin=origin)
    assert (cp.origin, cp.size) == (origin, size)
    assert note.sigs[0].name == verifier.name
    # we re-encode the body exactly as the log did
    assert data.startswith((cp.to_text() + "\n").encode())


@pytest.mark.parametrize(("note_file", "key_file", "origin", "size"), REAL)
def test_real_checkpoint_any_flipped_byte_fails(
    note_file: str, key_file: str, origin: str, size: int
):
    data = (DATA / note_file).read_bytes()
    verifier = Verifier((DATA / key_file).read_text())
    # Up to the end of the log's signature line; later lines are witness cosignatures
    # by keys we do not hold, which the spec says to ignore.
    log_sig = data.index(f"\n\u2014 {verifier.name} ".encode()) + 1
    end = data.index(b"\n", log_sig) + 1
    for i in range(end):
        for bit in (0x01, 0x20):
            mutated = data[:i] + bytes([data[i] ^ bit]) + data[i + 1 :]
            with pytest.raises(NoteError):
                open_checkpoint(mutated, verifier, origin=origin)


def test_real_checkpoint_unknown_witness_lines_are_ignored():
    data = (DATA / "aw-ftlog-ci-3-59-witnessed.checkpoint").read_bytes()
    verifier = Verifier((DATA / "aw-ftlog-ci-3.vkey").read_text())
    mutated = data.replace(b"CnjfIAAAAABnGRrH", b"CnjfIAAAAABnGRrI")
    _cp, note = open_checkpoint(mutated, verifier)
    assert len(note.unverified_sigs) == 2


def test_real_witness_cosignature_timestamps():
    """The distributor README shows these witness times: 16:48:23 and 16:48:19 +01:00."""
    data = (DATA / "aw-ftlog-ci-3-59-witnessed.checkpoint").read_bytes()
    _cp, note = open_checkpoint(data, Verifier((DATA / "aw-ftlog-ci-3.vkey").read_text()))
    times = {s.name: cosignature_timestamp(s) for s in note.unverified_sigs}
    assert times == {
        "ArmoredWitness-weathered-rain": 1729698503,  # 2024-10-23T15:48:23Z
        "ArmoredWitness-floral-sky": 1729698499,
    }


def test_real_checkpoint_with_wrong_origin():
    data = (DATA / "sumdb-445646.checkpoint").read_bytes()
    with pytest.raises(OriginMismatchError):
        open_checkpoint(
            data, Verifier((DATA / "sum.golang.org.vkey").read_text()), "sum.golang.org"
        )


# --- cosignatures -------------------------------------------------------------------------


def test_cosignature_v1_sign_and_verify():
    log_skey, log_vkey = generate_signer("example.com/log")
    w_skey, w_vkey = generate_signer("witness.example/w1", ALG_COSIGNATURE_V1)
    assert base64.b64decode(w_vkey.split("+", 2)[2])[0] == 0x04
    cp = Checkpoint("example.com/log", 7, ROOT_HASH)
    signed = sign_checkpoint(cp, Signer(log_skey))
    witness = Signer(w_skey, clock=lambda: 1679315147.9)
    cosigned = sign_note(open_note(signed, Verifier(log_vkey)), witness)
    assert cosigned.startswith(signed)

    note = open_note(cosigned, [Verifier(log_vkey), Verifier(w_vkey)])
    assert [s.name for s in note.sigs] == ["example.com/log", "witness.example/w1"]
    cosig = note.sigs[1]
    assert cosignature_timestamp(cosig) == 1679315147
    # the signed message is exactly the one in c2sp.org/tlog-cosignature
    msg = b"cosignature/v1\ntime 1679315147\n" + cp.to_text().encode()
    Ed25519PublicKey.from_public_bytes(witness.public_key).verify(cosig.raw[8:], msg)

    # altering the timestamp breaks the cosignature
    raw = base64.b64decode(cosig.base64)
    forged = raw[:4] + struct.pack(">Q", 1679315148) + raw[12:]
    bad = cosigned.replace(cosig.base64.encode(), base64.b64encode(forged))
    with pytest.raises(InvalidSignatureError, match=r"witness\.example/w1"):
        open_note(bad, [Verifier(log_vkey), Verifier(w_vkey)])


def test_cosignature_key_id_uses_type_0x04():
    """Same name and public key as a log key, but a different key ID."""
    _skey, vkey = generate_signer("example.com/x")
    v = Verifier(vkey)
    cosig_vkey = verifier_key("example.com/x", v.public_key, ALG_COSIGNATURE_V1)
    assert Verifier(cosig_vkey).key_id != v.key_id


# --- fuzzing ------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_open_note_arbitrary_bytes(data: bytes):
    with contextlib.suppress(NoteError):
        open_note(data, peter())


@FUZZ
@given(st.text(max_size=300))
def test_checkpoint_parse_arbitrary_text(text: str):
    with contextlib.suppress(NoteError):
        Checkpoint.parse(text)


GOOD = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()


@FUZZ
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255), st.binary(max_size=8))
def test_open_note_mutations(pos: int, xor: int, insert: bytes):
    mutated = GOOD[:pos] + bytes([GOOD[pos] ^ xor]) + insert + GOOD[pos + 1 :]
    try:
        note = open_note(mutated, [peter(), enoch()])
    except NoteError:
        return
    # both keys are known, so whatever still opens must carry the original, signed text
    assert note.text == TEXT


@FUZZ
@given(st.text(max_size=60))
def test_key_parsing_arbitrary_text(text: str):
    for parse in (Verifier, Signer):
        with contextlib.suppress(NoteError):
            parse(text)


# --- CLI ----------------------------------------------------------------------------------


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "note", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_verify_real_checkpoint():
    r = run_cli("verify", "--key", DATA / "sum.golang.org.vkey", DATA / "sumdb-445646.checkpoint")
    assert r.returncode == 0, r.stderr
    assert "origin: go.sum database tree" in r.stdout
    assert "size: 445646" in r.stdout
    assert "root: jEFFy4AtYgBBNTSZTiNnQrgQqMbcH0mfO2oP2FxR9VU=" in r.stdout
    root_hex = base64.b64decode("jEFFy4AtYgBBNTSZTiNnQrgQqMbcH0mfO2oP2FxR9VU=").hex()
    assert root_hex in r.stdout


def test_cli_verify_with_key_string_and_several_keys(tmp_path: Path):
    vkey = (DATA / "aw-ftlog-ci-3.vkey").read_text().strip()
    r = run_cli(
        "verify",
        "--key",
        (DATA / "sum.golang.org.vkey").read_text().strip(),
        "--key",
        vkey,
        "--origin",
        "transparency.dev/armored-witness/firmware_transparency/ci/3",
        DATA / "aw-ftlog-ci-3-59-witnessed.checkpoint",
    )
    assert r.returncode == 0, r.stderr
    assert "size: 59" in r.stdout and "unverified (unknown key): ArmoredWitness" in r.stdout


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_cli_verify_failures(tmp_path: Path):
    good = (DATA / "sumdb-445646.checkpoint").read_bytes()
    key = DATA / "sum.golang.org.vkey"
    tampered = tmp_path / "tampered"
    tampered.write_bytes(good.replace(b"445646", b"445647"))
    assert "invalid signature" in one_error_line(run_cli("verify", "--key", key, tampered))

    other = DATA / "aw-ftlog-ci-2.vkey"
    sumdb = DATA / "sumdb-445646.checkpoint"
    assert "no verifiable" in one_error_line(run_cli("verify", "--key", other, sumdb))

    malformed = tmp_path / "malformed"
    malformed.write_bytes(good.replace(b"\n", b"\r\n"))
    assert "malformed" in one_error_line(run_cli("verify", "--key", key, malformed))

    missing = tmp_path / "missing"
    assert "cannot read" in one_error_line(run_cli("verify", "--key", key, missing))
    assert "cannot read" in one_error_line(run_cli("verify", "--key", missing, sumdb))
    bad_key = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ovvh7bqJ+ZqB7IhqE7"
    assert "verifier key" in one_error_line(run_cli("verify", "--key", bad_key, sumdb))
    r = run_cli("verify", "--key", key, "--origin", "sum.golang.org", sumdb)
    assert "expected 'sum.golang.org'" in one_error_line(r)


def test_cli_keygen_sign_verify(tmp_path: Path):
    prefix = tmp_path / "city"
    r = run_cli("keygen", "hangzhou.evmetrology.example/2026", "--out", prefix)
    assert r.returncode == 0, r.stderr
    skey_file, vkey_file = Path(f"{prefix}.skey"), Path(f"{prefix}.vkey")
    assert stat.S_IMODE(os.stat(skey_file).st_mode) == 0o600
    assert r.stdout.strip() == vkey_file.read_text().strip()
    assert Signer(skey_file.read_text()).vkey == vkey_file.read_text().strip()
    assert "already exists" in one_error_line(
        run_cli("keygen", "hangzhou.evmetrology.example/2026", "--out", prefix)
    )

    body = tmp_path / "cp.txt"
    body.write_text(Checkpoint("hangzhou.evmetrology.example/2026", 3, ROOT_HASH).to_text())
    signed = tmp_path / "cp.note"
    r = run_cli("sign", "--skey", skey_file, "--out", signed, body)
    assert r.returncode == 0, r.stderr
    r = run_cli("verify", "--key", vkey_file, signed)
    assert r.returncode == 0 and "size: 3" in r.stdout and ROOT_HASH.hex() in r.stdout

    # a plain note prints its text
    plain = tmp_path / "plain.txt"
    plain.write_text("hello regulator\n")
    r = run_cli("sign", "--skey", skey_file, plain)
    assert r.returncode == 0
    plain_note = tmp_path / "plain.note"
    plain_note.write_text(r.stdout)
    r = run_cli("verify", "--key", vkey_file, plain_note)
    assert r.returncode == 0 and r.stdout.startswith("hello regulator\n")

    # a private key is refused as --key
    r = run_cli("verify", "--key", skey_file, signed)
    assert "private" in one_error_line(r)

    r = run_cli("sign", "--skey", skey_file, "--out", tmp_path / "no" / "dir", body)
    assert "No such file" in one_error_line(r)
