"""SM2 with SM3, the third record-signature algorithm (issue 15 item 2: fuel dispensers'
国密 chips, GB/T 9081-2023), checked against published data, not against itself.

Sources of the vectors (each cited where used):
* GB/T 32905-2016 (SM3) Annex A, examples 1 and 2.
* GB/T 32918.2-2016 (= GM/T 0003.2-2012) Annex A.2: the signature example. It runs on
  the Annex's *example* curve, which OpenSSL (recommended curve only) cannot use, so a
  small textbook SM2 written here from the standard's formulas runs it; the same code
  then checks the library (OpenSSL 3's libcrypto) and `ledger.keys` on the recommended
  curve: each verifies what the other signs, and the simulator's deterministic
  signatures are the textbook's nonce for nonce.
  The Annex values are also in Botan's src/tests/data/pubkey/sm2_sig.vec and Bouncy
  Castle's SM2SignerTest.
* GB/T 32918.5-2017 (= GM/T 0003.5-2012): the recommended curve parameters.
* OpenSSL test/recipes/30-test_evp_data/evppkey_sm2.txt: an SM2 key in PKCS#8 written
  by OpenSSL and two signatures verified on the recommended curve (digest inputs).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import sm2
from ledger.keys import SM2_DEFAULT_ID, KeyFormatError, PublicKey, SigningKey
from ledger.records import Record, sign_record
from ledger.sigcheck import BAD_SIGNATURE, SignatureChecker, check_entries
from tests.world import ROOT

# ---- a textbook SM2 from GB/T 32918.1/.2 (affine coordinates, Python integers) ----------


def sm3(data: bytes) -> bytes:
    """SM3 from OpenSSL through cryptography (checked against GB/T 32905 below)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


@dataclass(frozen=True)
class Curve:
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    def add(self, P, Q):
        if P is None:
            return Q
        if Q is None:
            return P
        (x1, y1), (x2, y2) = P, Q
        if x1 == x2 and (y1 + y2) % self.p == 0:
            return None
        if P == Q:
            lam = (3 * x1 * x1 + self.a) * pow(2 * y1, -1, self.p)
        else:
            lam = (y2 - y1) * pow(x2 - x1, -1, self.p)
        x3 = (lam * lam - x1 - x2) % self.p
        return x3, (lam * (x1 - x3) - y1) % self.p

    def mul(self, k: int, P):
        result = None
        for bit in bin(k)[2:]:
            result = self.add(result, result)
            if bit == "1":
                result = self.add(result, P)
        return result

    @property
    def G(self):
        return self.gx, self.gy

    def z(self, ident: bytes, public) -> bytes:
        """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), GB/T 32918.2 §5.5."""
        words = (self.a, self.b, self.gx, self.gy, *public)
        return sm3(
            (8 * len(ident)).to_bytes(2, "big")
            + ident
            + b"".join(w.to_bytes(32, "big") for w in words)
        )

    def e(self, ident: bytes, public, message: bytes) -> int:
        return int.from_bytes(sm3(self.z(ident, public) + message), "big")

    def sign(self, d: int, k: int, ident: bytes, message: bytes) -> tuple[int, int]:
        """GB/T 32918.2 §6.1, steps A1-A7, with the nonce k given."""
        e = self.e(ident, self.mul(d, self.G), message)
        x1, _ = self.mul(k, self.G)
        r = (e + x1) % self.n
        s = pow(1 + d, -1, self.n) * (k - r * d) % self.n
        assert r and r + k != self.n and s
        return r, s

    def verify_e(self, public, e: int, r: int, s: int) -> bool:
        """GB/T 32918.2 §7.1, steps B1-B7, from e."""
        if not (1 <= r < self.n and 1 <= s < self.n):
            return False
        t = (r + s) % self.n
        if t == 0:
            return False
        point = self.add(self.mul(s, self.G), self.mul(t, public))
        return point is not None and (e + point[0]) % self.n == r

    def verify(self, public, ident: bytes, message: bytes, r: int, s: int) -> bool:
        return self.verify_e(public, self.e(ident, public, message), r, s)


def h(text: str) -> int:
    return int(text.replace(" ", ""), 16)


# GB/T 32918.2-2016 Annex A.2 (example curve over F_p, 256 bits)
EXAMPLE = Curve(
    p=h("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3"),
    a=h("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498"),
    b=h("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A"),
    gx=h("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D"),
    gy=h("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2"),
    n=h("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7"),
)

# GB/T 32918.5-2017 recommended curve, typed from the standard (not from ledger.sm2)
RECOMMENDED = Curve(
    p=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF"),
    a=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC"),
    b=h("28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93"),
    gx=h("32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7"),
    gy=h("BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0"),
    n=h("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123"),
)
N = RECOMMENDED.n


def point_of(key: PublicKey) -> tuple[int, int]:
    full = sm2.decompress(key.raw)
    return int.from_bytes(full[1:33], "big"), int.from_bytes(full[33:], "big")


def raw_sig(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def split(sig: bytes) -> tuple[int, int]:
    return int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")


KEY = SigningKey.from_seed("sm2", b"dispenser-0001")
MESSAGE = b'evmetrology-record/v1\nfuelling\n{"volume_ml":40120}'

# ---- SM3 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        # GB/T 32905-2016 Annex A.1, example 1: "abc"
        (b"abc", "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"),
        # GB/T 32905-2016 Annex A.2, example 2: "abcd" sixteen times (512 bits)
        (b"abcd" * 16, "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732"),
    ],
)
def test_sm3_vectors_of_gbt_32905(message: bytes, digest: str) -> None:
    expected = bytes.fromhex(digest.replace(" ", ""))
    assert sm3(message) == expected  # the reference's hash (cryptography's own OpenSSL)
    if "sm3" in hashlib.algorithms_available:  # the system libcrypto that ledger.sm2 loads
        assert hashlib.new("sm3", message).digest() == expected


# ---- the standard's example, and the library against it --------------------------------


def test_reference_sm2_reproduces_gbt_32918_2_annex_a2() -> None:
    d = h("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263")
    k = h("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F")
    ident, message = b"ALICE123@YAHOO.COM", b"message digest"
    public = EXAMPLE.mul(d, EXAMPLE.G)
    assert public == (
        h("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A"),
        h("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857"),
    )
    assert EXAMPLE.z(ident, public) == bytes.fromhex(
        "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    )
    r, s = EXAMPLE.sign(d, k, ident, message)
    assert (r, s) == (
        h("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1"),
        h("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7"),
    )
    assert EXAMPLE.verify(public, ident, message, r, s)
    assert not EXAMPLE.verify(public, ident, b"message digesT", r, s)
    assert not EXAMPLE.verify(public, b"ALICE123@YAHOO.CON", message, r, s)


def test_library_and_our_constants_are_the_recommended_curve_of_gbt_32918_5() -> None:
    c = RECOMMENDED
    ours = (sm2.P, sm2.A, sm2.B, sm2.N, sm2.GX, sm2.GY)
    assert ours == (c.p, c.a, c.b, c.n, c.gx, c.gy)
    assert (c.gy**2 - c.gx**3 - c.a * c.gx - c.b) % c.p == 0
    assert c.mul(c.n, c.G) is None  # G has order n (cofactor 1)
    # OpenSSL's curve: its 1·G is G, its (n − 1)·G is −G, its 7·G is the textbook's
    g = c.gx.to_bytes(32, "big")
    assert sm2._base_multiple(1) == b"\x04" + g + c.gy.to_bytes(32, "big")
    assert sm2._base_multiple(c.n - 1) == b"\x04" + g + (c.p - c.gy).to_bytes(32, "big")
    x7, y7 = c.mul(7, c.G)
    assert sm2._base_multiple(7) == b"\x04" + x7.to_bytes(32, "big") + y7.to_bytes(32, "big")


def test_library_and_textbook_agree_with_our_id_for_a_random_key() -> None:
    """OpenSSL takes no nonce for SM2, so no bit-for-bit signature: each side verifies
    what the other signs, and neither accepts it under another ID."""
    assert SM2_DEFAULT_ID == b"1234567812345678"
    d = int.from_bytes(os.urandom(32), "big") % (N - 2) + 1
    k = int.from_bytes(os.urandom(32), "big") % (N - 1) + 1
    private = sm2.Sm2Private(d.to_bytes(32, "big"))
    public = RECOMMENDED.mul(d, RECOMMENDED.G)
    assert private.public_point == b"\x04" + b"".join(v.to_bytes(32, "big") for v in public)
    assert sm2.z_digest(private.public_point) == RECOMMENDED.z(SM2_DEFAULT_ID, public)
    pkey = sm2.verifier(private.public_compressed)
    ours = private.sign(MESSAGE)
    assert RECOMMENDED.verify(public, SM2_DEFAULT_ID, MESSAGE, *split(ours))
    assert not RECOMMENDED.verify(public, b"1234567812345679", MESSAGE, *split(ours))
    textbook = raw_sig(*RECOMMENDED.sign(d, k, SM2_DEFAULT_ID, MESSAGE))
    assert sm2.verify(pkey, MESSAGE, textbook)
    other_id = raw_sig(*RECOMMENDED.sign(d, k, b"ALICE123@YAHOO.COM", MESSAGE))
    assert not sm2.verify(pkey, MESSAGE, other_id)


def test_our_keys_sign_and_verify_as_the_standard_says() -> None:
    public = point_of(KEY.public_key)
    assert RECOMMENDED.mul(int.from_bytes(KEY._private._d, "big"), RECOMMENDED.G) == public
    signature = KEY.sign(MESSAGE)
    assert len(signature) == 64
    assert RECOMMENDED.verify(public, SM2_DEFAULT_ID, MESSAGE, *split(signature))
    # ... and not under another ID: the ID is in every signature
    assert not RECOMMENDED.verify(public, b"", MESSAGE, *split(signature))
    # the textbook's signature verifies with our PublicKey
    d = int.from_bytes(KEY._private._d, "big")
    r, s = RECOMMENDED.sign(d, 0xC0FFEE, SM2_DEFAULT_ID, MESSAGE)
    assert KEY.public_key.verify(MESSAGE, raw_sig(r, s))


def test_deterministic_signing_for_the_simulator_is_the_standard_with_a_derived_nonce() -> None:
    private = KEY._private
    signature = private.sign_deterministic(MESSAGE)
    assert signature == private.sign_deterministic(MESSAGE)
    assert signature != private.sign_deterministic(MESSAGE + b" ")
    d, k = int.from_bytes(private._d, "big"), private.deterministic_nonce(MESSAGE)
    assert 1 <= k < N
    assert split(signature) == RECOMMENDED.sign(d, k, SM2_DEFAULT_ID, MESSAGE)
    assert KEY.public_key.verify(MESSAGE, signature)


# OpenSSL test/recipes/30-test_evp_data/evppkey_sm2.txt, SM2_key1 and its SM3 vectors
OPENSSL_KEY = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg0JFWczAXva2An9m7
2MaT9gIwWTFptvlKrxyO4TjMmbWhRANCAAQ5OirZ4n5DrKqrhaGdO4VZHhRAYVcX
Wt3Te/d/8Mr57Tf886i09VwDhSMmH8pmNq/mp6+ioUgqYG9cs6GLLioe
-----END PRIVATE KEY-----
"""
OPENSSL_VECTORS = [
    (
        "D7AD397F6FFA5D4F7F11E7217F241607DC30618C236D2C09C1B9EA8FDADEE2E8",
        "3046022100AB1DB64DE7C40EDBDE6651C9B8EBDB804673DB836E5D5C7FE15DCF9ED2725037022100EBA7"
        "14451FF69B0BB930B379E192E7CD5FA6E3C41C7FBD8303B799AB54A54621",
    ),
    (
        "B1139602C6ECC9E15E2F3F9C635A1AFE737058BC15387479C1EA0D0B3D90E9E5",
        "3045022100E6E0414EBD3A656C35602AF14AB20287DBF30D57AF75C49A188ED4B42391F22402202F54F2"
        "77C606F4605E1CE9514947FFDDF94C67A539804A4ED17F852288BDBE2E",
    ),
]


@pytest.mark.parametrize(("digest", "der"), OPENSSL_VECTORS)
def test_openssl_published_signatures_on_the_recommended_curve(digest: str, der: str) -> None:
    key = SigningKey.from_pem(OPENSSL_KEY)  # OpenSSL's PKCS#8 file, read by us
    assert key.alg == "sm2"
    r, s = decode_dss_signature(bytes.fromhex(der))
    e = bytes.fromhex(digest)
    verifier = key.public_key._obj
    assert RECOMMENDED.verify_e(point_of(key.public_key), int(digest, 16), r, s)
    assert sm2.verify_digest(verifier, e, raw_sig(r, s))
    assert not sm2.verify_digest(verifier, e, raw_sig(r, s ^ 1))
    assert not sm2.verify_digest(verifier, bytes([e[0] ^ 0x80]) + e[1:], raw_sig(r, s))


# ---- no keyless twin (why there is no low-S rule for SM2) ----------------------------


def test_the_only_twin_needs_the_private_key_and_nonce() -> None:
    d = int.from_bytes(KEY._private._d, "big")
    k = 0x1234567890ABCDEF
    r, s = RECOMMENDED.sign(d, k, SM2_DEFAULT_ID, MESSAGE)
    # the docstring's algebra: -(sG + tP) has the same x, reached by s - 2k/(1+d)
    twin = (s - 2 * k * pow(1 + d, -1, N)) % N
    assert twin != s and KEY.public_key.verify(MESSAGE, raw_sig(r, twin))
    # what a forger can do without d and k is refused
    forged = [
        raw_sig(r, N - s),  # ECDSA's twin
        raw_sig(N - r, s),
        raw_sig(r, s + N) if s + N < 2**256 else raw_sig(r, N),  # s out of range
        raw_sig(r + N, s) if r + N < 2**256 else raw_sig(N, s),  # r out of range
        raw_sig(0, s),
        raw_sig(r, 0),
        raw_sig(r, N - r),  # t = r + s = n
        raw_sig(r, s)[:63],
        raw_sig(r, s) + b"\x00",
    ]
    assert KEY.public_key.verify(MESSAGE, raw_sig(r, s))
    assert [KEY.public_key.verify(MESSAGE, f) for f in forged] == [False] * len(forged)


def test_out_of_range_encodings_of_a_valid_signature_are_refused() -> None:
    """r + n and s + n fit in 32 bytes when r or s < 2^256 − n (≈ 2^224). Such signatures
    are built here for a chosen digest e (the library's verify_digest, the same range
    checks as verify, OpenSSL's EVP_PKEY_verify): r = 1 by choosing e, s = 1 by choosing
    the key."""
    k = 0xDEADBEEF
    x1 = RECOMMENDED.mul(k, RECOMMENDED.G)[0]
    e = (1 - x1) % N  # so r = (e + x1) mod n = 1
    r = 1
    for s in (1, 2):
        d = (k - s) * pow(s + r, -1, N) % N  # so s = (k − r·d)/(1 + d)
        public = PublicKey.parse(_text(sm2.Sm2Private(d.to_bytes(32, "big")).public_compressed))
        lib, digest = public._obj, e.to_bytes(32, "big")
        assert RECOMMENDED.verify_e(point_of(public), e, r, s)
        assert sm2.verify_digest(lib, digest, raw_sig(r, s))
        assert not sm2.verify_digest(lib, digest, raw_sig(r, s + N))
        assert not sm2.verify_digest(lib, digest, raw_sig(r + N, s))
        assert not sm2.verify_digest(lib, digest, raw_sig(r + N, s + N))


# ---- public keys -----------------------------------------------------------------------


def test_public_key_text_is_the_compressed_point() -> None:
    text = KEY.public_key.text
    assert text.startswith("sm2:")
    raw = base64.b64decode(text[4:])
    assert len(raw) == 33 and raw[0] in (2, 3)
    x, y = point_of(KEY.public_key)
    assert raw[1:] == x.to_bytes(32, "big") and raw[0] == 2 + (y & 1)
    assert PublicKey.parse(text) == KEY.public_key
    assert pickle.loads(pickle.dumps(KEY.public_key)).verify(MESSAGE, KEY.sign(MESSAGE))


def _text(raw: bytes) -> str:
    return "sm2:" + base64.b64encode(raw).decode()


def test_bad_public_keys_are_refused_with_a_reason() -> None:
    raw = KEY.public_key.raw
    full = sm2.decompress(raw)
    x = int.from_bytes(raw[1:], "big")
    euler = (sm2.P - 1) // 2  # y² = rhs has a root iff rhs^((p−1)/2) = 1
    not_on_curve = next(
        v for v in range(x + 1, x + 200) if pow(v**3 + sm2.A * v + sm2.B, euler, sm2.P) != 1
    )
    bad = {
        "infinity": b"\x00",
        "uncompressed": full,
        "hybrid": b"\x06" + full[1:],
        "prefix 04 on 33 bytes": b"\x04" + raw[1:],
        "x = p": b"\x02" + sm2.P.to_bytes(32, "big"),
        "x beyond p": b"\x03" + (sm2.P + x % 2**16).to_bytes(32, "big")[-32:],
        "not on curve": b"\x02" + not_on_curve.to_bytes(32, "big"),
        "short": raw[:32],
        "long": raw + b"\x00",
    }
    for name, value in bad.items():
        with pytest.raises(KeyFormatError, match="sm2"):
            PublicKey.parse(_text(value))
        assert name  # (for the failure message)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.sampled_from([2, 3]))
def test_compress_decompress_roundtrip_on_and_off_the_curve(x: bytes, prefix: int) -> None:
    raw = bytes([prefix]) + x
    try:
        full = sm2.decompress(raw)
    except sm2.Sm2KeyError:
        with pytest.raises(KeyFormatError):
            PublicKey.parse(_text(raw))
        return
    px, py = int.from_bytes(full[1:33], "big"), int.from_bytes(full[33:], "big")
    assert (py * py - px**3 - sm2.A * px - sm2.B) % sm2.P == 0
    assert sm2.compress(full) == raw
    sm2.verifier(raw)  # OpenSSL takes it ...
    off_curve = full[:33] + ((py + 1) % sm2.P).to_bytes(32, "big")
    with pytest.raises(sm2.Sm2KeyError, match="OpenSSL refused"):  # ... and checks it itself
        sm2._d2i("d2i_PUBKEY", sm2._SPKI_PREFIX + off_curve)


# ---- mutations: refused, never an exception --------------------------------------------

SIGNATURE = KEY.sign(MESSAGE)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 64 * 8 - 1))
def test_any_flipped_signature_bit_is_refused(bit: int) -> None:
    mutated = bytearray(SIGNATURE)
    mutated[bit // 8] ^= 1 << (bit % 8)
    assert KEY.public_key.verify(MESSAGE, bytes(mutated)) is False


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_flipped_message_bit_is_refused(data: st.DataObject) -> None:
    bit = data.draw(st.integers(0, len(MESSAGE) * 8 - 1))
    mutated = bytearray(MESSAGE)
    mutated[bit // 8] ^= 1 << (bit % 8)
    assert KEY.public_key.verify(bytes(mutated), SIGNATURE) is False


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=80), st.binary(max_size=200))
def test_random_signatures_and_messages_never_raise(signature: bytes, message: bytes) -> None:
    assert KEY.public_key.verify(message, signature) is False


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=70))
def test_random_key_texts_fail_only_with_key_format_error(raw: bytes) -> None:
    try:
        key = PublicKey.parse(_text(raw))
    except KeyFormatError:
        return
    assert key.verify(MESSAGE, SIGNATURE) is (key == KEY.public_key)


def test_another_keys_signature_is_refused() -> None:
    other = SigningKey.from_seed("sm2", b"dispenser-0002")
    assert other.public_key != KEY.public_key
    assert not other.public_key.verify(MESSAGE, SIGNATURE)
    assert not KEY.public_key.verify(MESSAGE, other.sign(MESSAGE))


# ---- the library binding: error queue, threads, key objects, absence ------------------


def test_refusals_leave_nothing_on_openssl_error_queue() -> None:
    """Python's ssl and hashlib share the system libcrypto and its per-thread error
    queue: a refused signature or key here must not leave an error there."""
    bad = bytearray(SIGNATURE)
    bad[5] ^= 1
    refusals = [
        lambda: KEY.public_key.verify(MESSAGE, bytes(bad)),
        lambda: KEY.public_key.verify(MESSAGE, raw_sig(0, N)),  # out of range: OpenSSL errs
        lambda: KEY.public_key.verify(MESSAGE, raw_sig(N, 1)),
        lambda: sm2.verify_digest(KEY.public_key._obj, bytes(32), raw_sig(0, 1)),
    ]
    for refuse in refusals:
        assert refuse() is False
        assert sm2._LIB.ERR_peek_error() == 0
    with pytest.raises(sm2.Sm2KeyError):
        sm2._d2i("d2i_PUBKEY", sm2._SPKI_PREFIX + b"\x04" + bytes(64))
    assert sm2._LIB.ERR_peek_error() == 0


def test_one_key_verifies_from_many_threads_at_once() -> None:
    """ctypes lets go of the GIL in OpenSSL, so threads really overlap: each verify has
    its own contexts around the one shared key object."""
    good = [(MESSAGE + bytes([i]), KEY.sign(MESSAGE + bytes([i]))) for i in range(8)]
    cases = [(m, sig, True) for m, sig in good] + [(m + b"!", sig, False) for m, sig in good]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: KEY.public_key.verify(c[0], c[1]), cases * 10))
    assert results == [expected for _, _, expected in cases] * 10


def test_library_key_objects_cannot_be_copied_or_pickled() -> None:
    """Each holds an EVP_PKEY that it frees: a copy would free it twice."""
    for obj in (KEY.public_key._obj, KEY._private._pkey):
        with pytest.raises(TypeError):
            copy.copy(obj)
        with pytest.raises(TypeError):
            pickle.dumps(obj)


NO_LIBCRYPTO = """
import ctypes, ctypes.util
real = ctypes.CDLL
def no_libcrypto(name, *args, **kwargs):
    if name and "crypto" in str(name):
        raise OSError(f"{name}: cannot open shared object file")
    return real(name, *args, **kwargs)
ctypes.CDLL = no_libcrypto
ctypes.util.find_library = lambda name: None
"""
WITHOUT_SM2 = """
from ledger.keys import KeyFormatError, PublicKey, SigningKey
for alg in ("p256", "ed25519"):  # the rest of the ledger works
    key = SigningKey.from_seed(alg, b"x")
    assert key.public_key.verify(b"m", key.sign(b"m"))
for attempt in (
    lambda: PublicKey.parse(%r),
    lambda: SigningKey.generate("sm2"),
    lambda: SigningKey.from_seed("sm2", b"x"),
    lambda: SigningKey.from_pem(%r),
):
    try:
        attempt()
    except KeyFormatError as exc:
        assert "libssl3" in str(exc) and %r in str(exc), exc
    else:
        raise AssertionError("an SM2 key worked without OpenSSL's SM2")
print("ok")
"""
# OpenSSL with only its "base" provider: libcrypto loads, has no SM2 key management
BASE_PROVIDER_ONLY = """openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
base = base_sect
[base_sect]
activate = 1
"""


@pytest.mark.parametrize("case", ["no libcrypto", "libcrypto without SM2"])
def test_without_openssl_sm2_only_sm2_keys_fail_and_say_what_to_install(case, tmp_path) -> None:
    """A machine whose libcrypto cannot be loaded (here: refused to the process), or
    whose OpenSSL has no SM2 (here: a real OpenSSL configuration without it)."""
    env = dict(os.environ)
    if case == "no libcrypto":
        prelude, reason = NO_LIBCRYPTO, "no libcrypto.so.3 found"
    else:
        (tmp_path / "openssl.cnf").write_text(BASE_PROVIDER_ONLY)
        env["OPENSSL_CONF"] = str(tmp_path / "openssl.cnf")
        prelude, reason = "", "has no SM2"
    script = prelude + WITHOUT_SM2 % (KEY.public_key.text, KEY.to_pem(), reason)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# ---- keys: generation, seeds, files ----------------------------------------------------


def test_generate_and_seed() -> None:
    a, b = SigningKey.generate("sm2"), SigningKey.generate("sm2")
    assert a.alg == "sm2" and a.public_key != b.public_key
    x1, x2, y = (SigningKey.from_seed("sm2", seed).public_key for seed in (b"x", b"x", b"y"))
    assert x1 == x2 != y
    # two signatures of one message differ (fresh nonce) and both verify
    s1, s2 = a.sign(MESSAGE), a.sign(MESSAGE)
    assert s1 != s2 and a.public_key.verify(MESSAGE, s1) and a.public_key.verify(MESSAGE, s2)
    with pytest.raises(KeyFormatError, match="unknown signature algorithm"):
        SigningKey.from_seed("sm9", b"x")


def test_private_key_range_is_enforced() -> None:
    for d in (0, N - 1, N, 2**256 - 1):
        with pytest.raises(sm2.Sm2KeyError, match=r"\[1, n − 2\]"):
            sm2.Sm2Private(d.to_bytes(32, "big"))
    assert sm2.Sm2Private((N - 2).to_bytes(32, "big")).public_point[0] == 4


@pytest.mark.parametrize("passphrase", [None, b"correct horse"])
def test_pem_roundtrip(passphrase: bytes | None) -> None:
    pem = KEY.to_pem(passphrase)
    label = b"ENCRYPTED PRIVATE KEY" if passphrase else b"PRIVATE KEY"
    assert pem.startswith(b"-----BEGIN " + label + b"-----\n")
    again = SigningKey.from_pem(pem, passphrase)
    assert again.alg == "sm2" and again.public_key == KEY.public_key
    assert KEY.public_key.verify(MESSAGE, again.sign(MESSAGE))


def test_pem_wrong_or_missing_passphrase_and_damage() -> None:
    pem = KEY.to_pem(b"pw")
    with pytest.raises(KeyFormatError, match="wrong passphrase"):
        SigningKey.from_pem(pem, b"pW")
    with pytest.raises(KeyFormatError, match="passphrase is needed"):
        SigningKey.from_pem(pem)
    plain = KEY.to_pem()
    der = bytearray(base64.b64decode(b"".join(plain.splitlines()[1:-1])))
    der[-1] ^= 1  # the public key stored beside d no longer matches it
    damaged = b"-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % (
        base64.b64encode(bytes(der))
    )
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(damaged)


def test_save_writes_owner_only_and_other_algorithms_still_load(tmp_path) -> None:
    path = tmp_path / "k.pem"
    KEY.save(path, b"pw")
    assert path.stat().st_mode & 0o777 == 0o600
    assert SigningKey.from_pem(path.read_bytes(), b"pw").public_key == KEY.public_key
    for alg in ("p256", "ed25519"):
        key = SigningKey.from_seed(alg, b"x")
        assert SigningKey.from_pem(key.to_pem(b"pw"), b"pw").public_key == key.public_key


def _openssl_with_sm2() -> str | None:
    exe = shutil.which("openssl")
    if exe is None:
        return None
    listing = subprocess.run(
        [exe, "list", "-public-key-algorithms"], capture_output=True, text=True, check=False
    )
    return exe if "sm2" in listing.stdout.lower() else None


@pytest.mark.skipif(_openssl_with_sm2() is None, reason="no openssl command with SM2 here")
def test_openssl_reads_our_key_files_and_its_signatures_verify_with_our_id(tmp_path) -> None:
    exe = _openssl_with_sm2()
    key_file, msg_file, sig_file = tmp_path / "k.pem", tmp_path / "m", tmp_path / "sig"
    KEY.save(key_file, b"pw")
    msg_file.write_bytes(MESSAGE)
    spki = subprocess.run(
        [exe, "pkey", "-in", key_file, "-passin", "pass:pw", "-pubout", "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    assert spki[-65:] == sm2.decompress(KEY.public_key.raw)
    distid = "distid:1234567812345678"  # GB/T 35276 default, typed here
    sign = [exe, "dgst", "-sm3", "-sign", key_file, "-passin", "pass:pw", "-sigopt", distid]
    subprocess.run([*sign, "-out", sig_file, msg_file], check=True)
    r, s = decode_dss_signature(sig_file.read_bytes())
    assert KEY.public_key.verify(MESSAGE, raw_sig(r, s))
    assert not KEY.public_key.verify(MESSAGE + b" ", raw_sig(r, s))


# ---- records, the signature workers and the command line -------------------------------

BODY = {
    "session_id": "S0",
    "meter_id": "M1",
    "pile_id": "P1",
    "connector": 1,
    "start_ms": 1_767_225_600_000,
    "stop_ms": 1_767_229_200_000,
    "start_wh": 1_000_000,
    "stop_wh": 1_040_000,
    "energy_wh": 40_000,
    "interval_s": 60,
    "power_w": [40_000] * 60,
}


def test_sm2_records_parse_verify_and_go_through_the_signature_workers() -> None:
    record = sign_record("session", BODY, KEY)
    entry = record.to_bytes()
    assert b'"a":"sm2"' in entry
    parsed = Record.parse(entry)
    parsed.verify(KEY.public_key)
    tampered = entry.replace(b'"energy_wh":40000', b'"energy_wh":40001')
    entries, keys = [entry, tampered], [KEY.public_key.text] * 2
    with SignatureChecker(workers=1) as checker:  # a real worker process
        results = checker.check(entries, keys)
    assert results[0] is None
    assert results[1] is not None and results[1][0] == BAD_SIGNATURE
    assert check_entries(entries, keys) == results


def test_keygen_command_makes_sm2_keys(tmp_path) -> None:
    out = tmp_path / "dispenser"
    passfile = tmp_path / "pass"
    passfile.write_text("s3cret\n")
    keygen = [sys.executable, "-m", "ledger", "keygen", "--alg", "sm2", "--out", out]
    done = subprocess.run(
        [*keygen, "--passphrase-file", passfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    public = PublicKey.parse((tmp_path / "dispenser.pub").read_text().strip())
    assert public.alg == "sm2" and public.text in done.stdout
    key = SigningKey.from_pem((tmp_path / "dispenser.pem").read_bytes(), b"s3cret")
    assert key.public_key == public
    assert (tmp_path / "dispenser.pem").stat().st_mode & 0o777 == 0o600
