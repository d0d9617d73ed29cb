"""SM2 signatures with SM3 (GB/T 32918.2-2016, GB/T 32905-2016) for the 国密 chips of
fuel dispensers (GB/T 9081-2023): curve facts, point encoding and PKCS#8 key files.

pyca/cryptography has no SM2 (its OpenSSL knows the curve, its API refuses it:
"Curve 1.2.156.10197.1.301 is not supported"), so the arithmetic comes from the
system's **OpenSSL 3 libcrypto through ctypes** (`ledger.keys` is the only user of this
module). Why that library: it is on every machine that runs our Python (Debian's
python3.11 depends on libssl3, which ships ``libcrypto.so.3``), so nothing is compiled
at set-up, and its SM2 verifies about twice as fast as the C extension used before
(gmalglib 0.5.9, a source-only package that needed gcc and python3.11-dev). If the
library or its SM2/SM3 is missing, the rest of the ledger works and only using an SM2
key raises :class:`Sm2Unavailable`, naming the package to install.

What this module adds is what the library leaves to the application and what we must
not take on trust:

* the **signer ID**: Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) binds every
  signature to an ID that GB/T 32918.2 leaves to the application. Our records use the
  default ID of GB/T 35276-2017 (GM/T 0009-2012), ``1234567812345678``
  (:data:`SM2_DEFAULT_ID`), the one that standard prescribes when none is agreed;
  it is passed to the library explicitly (``EVP_PKEY_CTX_set1_id``), never left to
  its default;
* **point checks** in Python, independent of the library: a public key is a SEC1
  compressed point (33 bytes) with x < p whose y² = x³ + ax + b has a root; the point
  at infinity has no such encoding. The curve's cofactor is 1, so every point on it is
  in the prime-order group. (OpenSSL checks the point again when it reads the key.)
* **signatures** travel as raw r ‖ s; OpenSSL takes the DER ECDSA-Sig-Value, built
  here from the two integers, and checks 1 ≤ r, s ≤ n − 1 and (r + s) mod n ≠ 0
  (GB/T 32918.2 §7.1 B1, B2, B5) before the point arithmetic;
* **key files**: PKCS#8 as OpenSSL writes SM2 keys (id-ecPublicKey with the SM2 curve
  OID), optionally encrypted as PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with the same
  parameters cryptography's ``BestAvailableEncryption`` gives the P-256 and Ed25519 key
  files, so ``openssl pkey`` reads our files and we read its.

Signing here is for simulators and tests (real dispensers sign in their chip):
:meth:`Sm2Private.sign` is OpenSSL's (fresh nonce from its RNG);
:meth:`Sm2Private.sign_deterministic` does the two lines of GB/T 32918.2 §6.1 A4-A5 in
Python around OpenSSL's k·G, with a nonce derived from the key and the message, so a
simulated fleet is reproducible. Its Python modular arithmetic is not constant-time,
which a regulator's workstation, that only verifies SM2, does not care about.

Every libcrypto call that fails leaves errors on the thread's OpenSSL error queue,
which Python's own ``ssl`` and ``hashlib`` share (same libcrypto): we clear it after
every failure, so a bad signature here never surfaces as a stray error there.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Recommended curve parameters, GB/T 32918.5-2017 (= GM/T 0003.5-2012).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

SM2_DEFAULT_ID = b"1234567812345678"
"""The signer ID (user identity) in Z_A for every SM2 record: the default of
GB/T 35276-2017 / GM/T 0009-2012 (docs/records.md, "Signatures")."""

PBKDF2_ITERATIONS = 2048
"""What cryptography's BestAvailableEncryption writes for our P-256/Ed25519 key files
(PBES2, PBKDF2-HMAC-SHA256, 2,048 rounds, AES-256-CBC): the same protection."""
_MAX_ITERATIONS = 10_000_000  # a hostile file must not make us spin for hours


class Sm2KeyError(ValueError):
    """An SM2 key or key file that cannot be used; the message says why."""


class Sm2Unavailable(Sm2KeyError):
    """This machine's OpenSSL cannot do SM2: the message names what to install."""


# ---- libcrypto (OpenSSL 3) through ctypes ----------------------------------------------

_c = ctypes
_P, _INT_T, _SIZE, _BUF = _c.c_void_p, _c.c_int, _c.c_size_t, _c.c_char_p
_SIGNATURES = {  # name: (result, arguments); all in OpenSSL 3.0's public API
    "OpenSSL_version_num": (_c.c_ulong, []),
    "ERR_clear_error": (None, []),
    "ERR_peek_error": (_c.c_ulong, []),
    "EVP_sm3": (_P, []),
    "d2i_PUBKEY": (_P, [_P, _c.POINTER(_BUF), _c.c_long]),
    "d2i_AutoPrivateKey": (_P, [_P, _c.POINTER(_BUF), _c.c_long]),
    "EVP_PKEY_free": (None, [_P]),
    "EVP_PKEY_get_octet_string_param": (_INT_T, [_P, _BUF, _BUF, _SIZE, _c.POINTER(_SIZE)]),
    "EVP_PKEY_CTX_new": (_P, [_P, _P]),
    "EVP_PKEY_CTX_free": (None, [_P]),
    "EVP_PKEY_CTX_set1_id": (_INT_T, [_P, _BUF, _INT_T]),
    "EVP_PKEY_verify_init": (_INT_T, [_P]),
    "EVP_PKEY_verify": (_INT_T, [_P, _BUF, _SIZE, _BUF, _SIZE]),
    "EVP_MD_CTX_new": (_P, []),
    "EVP_MD_CTX_free": (None, [_P]),
    "EVP_MD_CTX_set_pkey_ctx": (None, [_P, _P]),
    "EVP_DigestVerifyInit": (_INT_T, [_P, _P, _P, _P, _P]),
    "EVP_DigestVerify": (_INT_T, [_P, _BUF, _SIZE, _BUF, _SIZE]),
    "EVP_DigestSignInit": (_INT_T, [_P, _P, _P, _P, _P]),
    "EVP_DigestSign": (_INT_T, [_P, _BUF, _c.POINTER(_SIZE), _BUF, _SIZE]),
}
# SubjectPublicKeyInfo { {id-ecPublicKey, SM2 curve 1.2.156.10197.1.301}, BIT STRING }:
# a fixed prefix, then the 65-byte uncompressed point.
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
_INSTALL = "SM2 keys need OpenSSL 3's libcrypto with SM2/SM3 (Debian/Ubuntu: apt install libssl3)"


def _candidates() -> Iterator[str]:
    """libcrypto 3 by its soname first (Linux, macOS, Windows), then what the system's
    search finds (only if the first fail: it runs ldconfig) if that is a version 3 too:
    an older or a foreign libcrypto (macOS's LibreSSL stub aborts the process when
    loaded) is never tried."""
    yield from ("libcrypto.so.3", "libcrypto.3.dylib", "libcrypto-3-x64.dll", "libcrypto-3.dll")
    found = ctypes.util.find_library("crypto")
    if found and "3" in os.path.basename(found):
        yield found


def _load() -> tuple[ctypes.CDLL | None, str]:
    """The bound library, or None and why not (said when an SM2 key is used)."""
    reasons, tried = [], set()
    for name in _candidates():
        if name in tried:
            continue
        tried.add(name)
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            for symbol, (result, arguments) in _SIGNATURES.items():
                function = getattr(lib, symbol)
                function.restype, function.argtypes = result, arguments
        except AttributeError as exc:
            reasons.append(f"{name} lacks {exc}")
            continue
        version = lib.OpenSSL_version_num()
        if version < 0x30000000:
            reasons.append(f"{name} is OpenSSL {version:#x}, not 3")
            continue
        if not lib.EVP_sm3():
            reasons.append(f"{name} has no SM3")
            continue
        if not _can_verify(lib):
            reasons.append(f"{name} has no SM2 (some distributions build OpenSSL without)")
            continue
        return lib, ""
    return None, "; ".join(reasons) or "no libcrypto.so.3 found"


def _can_verify(lib: ctypes.CDLL) -> bool:
    """Whether ``lib`` reads an SM2 public key (the generator) and sets up an SM3
    verification with our ID: what every verify does."""
    der = _SPKI_PREFIX + b"\x04" + GX.to_bytes(32, "big") + GY.to_bytes(32, "big")
    pkey = lib.d2i_PUBKEY(None, ctypes.byref(ctypes.c_char_p(der)), len(der))
    mctx = lib.EVP_MD_CTX_new()
    pctx = lib.EVP_PKEY_CTX_new(pkey, None) if pkey else None
    ok = bool(mctx and pctx and lib.EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, 16) == 1)
    if ok:
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        ok = lib.EVP_DigestVerifyInit(mctx, None, lib.EVP_sm3(), None, pkey) == 1
    lib.EVP_MD_CTX_free(mctx)
    lib.EVP_PKEY_CTX_free(pctx)
    lib.EVP_PKEY_free(pkey)
    lib.ERR_clear_error()
    return ok


_LIB, _WHY_NOT = _load()
_SM3 = _LIB.EVP_sm3() if _LIB is not None else None


def _lib() -> ctypes.CDLL:
    if _LIB is None:
        raise Sm2Unavailable(f"{_INSTALL}: {_WHY_NOT}")
    return _LIB


def available() -> bool:
    """Whether SM2 works on this machine (OpenSSL 3 libcrypto with SM2 and SM3)."""
    return _LIB is not None


class _Pkey:
    """An OpenSSL EVP_PKEY, freed with this object; never copied or pickled (the
    pointer would be freed twice): `ledger.keys.PublicKey` pickles its text instead."""

    __slots__ = ("_ptr",)

    def __init__(self, ptr: int) -> None:
        self._ptr = ptr

    def __del__(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr and _LIB is not None:
            _LIB.EVP_PKEY_free(ptr)

    def __reduce__(self) -> tuple:
        raise TypeError("an OpenSSL key object cannot be copied or pickled")


def _d2i(function_name: str, der: bytes) -> _Pkey:
    lib = _lib()
    cursor = ctypes.c_char_p(der)
    ptr = getattr(lib, function_name)(None, ctypes.byref(cursor), len(der))
    if not ptr:
        lib.ERR_clear_error()
        raise Sm2KeyError("OpenSSL refused the SM2 key")
    return _Pkey(ptr)


def _encoded_public(pkey: _Pkey) -> bytes:
    """The 65-byte uncompressed public point of an OpenSSL SM2 key."""
    lib = _lib()
    out, size = ctypes.create_string_buffer(65), ctypes.c_size_t(0)
    if lib.EVP_PKEY_get_octet_string_param(pkey._ptr, b"pub", out, 65, ctypes.byref(size)) != 1:
        lib.ERR_clear_error()
        raise Sm2KeyError("OpenSSL gave no public key for the SM2 private key")
    if size.value != 65 or out.raw[0] != 4:
        raise Sm2KeyError("OpenSSL gave an unexpected SM2 public key encoding")
    return out.raw


def _with_id(lib: ctypes.CDLL, pkey: _Pkey) -> tuple[int, int]:
    """(EVP_MD_CTX, EVP_PKEY_CTX) with our signer ID, or (0, 0) (errors cleared).
    The caller frees both: EVP_MD_CTX_free does not free a context it was given."""
    mctx = lib.EVP_MD_CTX_new()
    pctx = lib.EVP_PKEY_CTX_new(pkey._ptr, None)
    if mctx and pctx and lib.EVP_PKEY_CTX_set1_id(pctx, SM2_DEFAULT_ID, 16) == 1:
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        return mctx, pctx
    lib.EVP_MD_CTX_free(mctx)
    lib.EVP_PKEY_CTX_free(pctx)
    lib.ERR_clear_error()
    return 0, 0


# ---- points ----------------------------------------------------------------------------


def decompress(raw: bytes) -> bytes:
    """The 65-byte uncompressed point (04 ‖ x ‖ y) of a 33-byte SEC1 compressed one.

    Raises Sm2KeyError for anything else: another length or prefix (the point at
    infinity, 0x00, included), x ≥ p, or an x that is no point's (y² has no root)."""
    if len(raw) != 33 or raw[0] not in (2, 3):
        raise Sm2KeyError("not a compressed point (33 bytes starting 02 or 03)")
    x = int.from_bytes(raw[1:], "big")
    if x >= P:
        raise Sm2KeyError("x is not below the field prime")
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)  # p ≡ 3 (mod 4)
    if y * y % P != rhs:
        raise Sm2KeyError("not a point on the SM2 curve")
    if y & 1 != raw[0] & 1:
        y = P - y  # y = 0 cannot happen: the group has odd prime order
    return b"\x04" + raw[1:] + y.to_bytes(32, "big")


def compress(point: bytes) -> bytes:
    """The 33-byte SEC1 compressed form of a 65-byte uncompressed point on the curve."""
    if len(point) != 65 or point[0] != 4:
        raise Sm2KeyError("not an uncompressed point (65 bytes starting 04)")
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    if not (x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0):
        raise Sm2KeyError("not a point on the SM2 curve")
    return bytes([2 | (y & 1)]) + point[1:33]


def verifier(compressed: bytes) -> _Pkey:
    """An OpenSSL public key for a compressed SM2 point (checked here, then by OpenSSL):
    what `ledger.keys.PublicKey` caches, so a verify is one context and one call."""
    return _d2i("d2i_PUBKEY", _SPKI_PREFIX + decompress(compressed))


def _dss(signature: bytes) -> bytes:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return encode_dss_signature(r, s)


def verify(pkey: _Pkey, message: bytes, signature: bytes) -> bool:
    """SM2 verification with SM3 and our signer ID; False for any bad input or library
    failure, never an exception (the error queue is cleared)."""
    if len(signature) != 64:
        return False
    lib = _LIB
    if lib is None:  # no such key object can exist then; be safe anyway
        return False
    der, message = _dss(signature), bytes(message)
    mctx, pctx = _with_id(lib, pkey)
    if not mctx:
        return False
    try:
        ok = (
            lib.EVP_DigestVerifyInit(mctx, None, _SM3, None, pkey._ptr) == 1
            and lib.EVP_DigestVerify(mctx, der, len(der), message, len(message)) == 1
        )
    finally:
        lib.EVP_MD_CTX_free(mctx)
        lib.EVP_PKEY_CTX_free(pctx)
    if not ok:
        lib.ERR_clear_error()
    return ok


def verify_digest(pkey: _Pkey, e: bytes, signature: bytes) -> bool:
    """Verification of a given 32-byte e = SM3(Z_A ‖ M) (published vectors give e);
    the same range checks as :func:`verify`. False for any bad input."""
    if len(signature) != 64 or len(e) != 32:
        return False
    lib = _lib()
    der = _dss(signature)
    pctx = lib.EVP_PKEY_CTX_new(pkey._ptr, None)
    try:
        ok = bool(pctx) and (
            lib.EVP_PKEY_verify_init(pctx) == 1
            and lib.EVP_PKEY_verify(pctx, der, len(der), e, 32) == 1
        )
    finally:
        lib.EVP_PKEY_CTX_free(pctx)
    if not ok:
        lib.ERR_clear_error()
    return ok


def sm3(data: bytes) -> bytes:
    """SM3 (GB/T 32905), from OpenSSL through cryptography."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def z_digest(public_point: bytes, ident: bytes = SM2_DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA), GB/T 32918.2 §5.5."""
    words = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3((8 * len(ident)).to_bytes(2, "big") + ident + words + public_point[1:])


# ---- private keys ----------------------------------------------------------------------


def _private_pkey(d: bytes) -> _Pkey:
    """OpenSSL's key for scalar d (PKCS#8 without the public key: OpenSSL computes d·G)."""
    return _d2i("d2i_AutoPrivateKey", _private_key_info(d, None))


def _base_multiple(k: int) -> bytes:
    """k·G as 65 bytes, by OpenSSL (k in [1, n − 1])."""
    return _encoded_public(_private_pkey(k.to_bytes(32, "big")))


class Sm2Private:
    """An SM2 private key d (1 ≤ d ≤ n − 2, so that 1 + d is invertible) and its signer."""

    def __init__(self, d: bytes) -> None:
        if len(d) != 32 or not 1 <= int.from_bytes(d, "big") <= N - 2:
            raise Sm2KeyError("SM2 private key must be an integer in [1, n − 2]")
        self._d = d
        self._pkey = _private_pkey(d)
        self.public_point = _encoded_public(self._pkey)  # 65 bytes, 04 ‖ x ‖ y
        compress(self.public_point)  # on the curve, by our own check too

    @classmethod
    def generate(cls) -> Sm2Private:
        """A new key, d uniform in [1, n − 2] from the OS's CSPRNG."""
        return cls((secrets.randbelow(N - 2) + 1).to_bytes(32, "big"))

    @classmethod
    def from_seed_digest(cls, digest: bytes) -> Sm2Private:
        value = int.from_bytes(digest, "big") % (N - 2) + 1
        return cls(value.to_bytes(32, "big"))

    @property
    def public_compressed(self) -> bytes:
        return compress(self.public_point)

    def sign(self, message: bytes) -> bytes:
        """Raw r ‖ s (64 bytes), by OpenSSL with a fresh nonce from its RNG."""
        lib = _lib()
        mctx, pctx = _with_id(lib, self._pkey)
        if not mctx:
            raise Sm2KeyError("OpenSSL could not set up SM2 signing")
        out, size = ctypes.create_string_buffer(80), ctypes.c_size_t(80)
        message = bytes(message)
        try:
            ok = (
                lib.EVP_DigestSignInit(mctx, None, _SM3, None, self._pkey._ptr) == 1
                and lib.EVP_DigestSign(mctx, out, ctypes.byref(size), message, len(message)) == 1
            )
        finally:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)
        if not ok:
            lib.ERR_clear_error()
            raise Sm2KeyError("OpenSSL failed to make an SM2 signature")
        r, s = decode_dss_signature(out.raw[: size.value])
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def deterministic_nonce(self, message: bytes) -> int:
        """k in [1, n − 1] from HMAC-SHA512(d, message): the same record, the same bytes."""
        mac = hmac.new(self._d, b"evm-sm2-nonce\x00" + message, hashlib.sha512).digest()
        return int.from_bytes(mac, "big") % (N - 1) + 1

    def sign_deterministic(self, message: bytes) -> bytes:
        """GB/T 32918.2 §6.1 with the nonce from :meth:`deterministic_nonce`, for the
        simulator's reproducible fleets (as RFC 6979 is for P-256 there). OpenSSL has no
        way to take a nonce for SM2, so: e = SM3(Z_A ‖ M), (x1, y1) = k·G by OpenSSL,
        r = (e + x1) mod n, s = (1 + d)⁻¹(k − r·d) mod n. Never for real keys: a chip
        signs with its own nonces."""
        d = int.from_bytes(self._d, "big")
        k = self.deterministic_nonce(message)
        e = int.from_bytes(sm3(z_digest(self.public_point) + message), "big")
        r = (e + int.from_bytes(_base_multiple(k)[1:33], "big")) % N
        s = pow(1 + d, -1, N) * (k - r * d) % N
        if r == 0 or r + k == N or s == 0:  # §6.1 A5, A6: a new k; probability ~2^-255
            raise Sm2KeyError("deterministic nonce unusable for this message")
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    # -- PKCS#8 ---------------------------------------------------------------------

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        der = _private_key_info(self._d, self.public_point)
        if passphrase:
            return _pem("ENCRYPTED PRIVATE KEY", _encrypt(der, passphrase))
        return _pem("PRIVATE KEY", der)

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes | None = None) -> Sm2Private:
        """Reads a PKCS#8 SM2 key, plain or PBES2-encrypted (ours or OpenSSL's)."""
        label, der = _unpem(data)
        if label == "ENCRYPTED PRIVATE KEY":
            if not passphrase:
                raise Sm2KeyError("the key file is encrypted: a passphrase is needed")
            der = _decrypt(der, passphrase)
        elif label != "PRIVATE KEY":
            raise Sm2KeyError(f"not a PKCS#8 key file ({label})")
        return cls(_read_private_key_info(der))


# ---- DER (only the shapes PKCS#8 SM2 keys need; strict: one encoding each) ------------

_OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_SM2 = bytes.fromhex("2a811ccf5501822d")  # 1.2.156.10197.1.301
_OID_PBES2 = bytes.fromhex("2a864886f70d01050d")  # 1.2.840.113549.1.5.13
_OID_PBKDF2 = bytes.fromhex("2a864886f70d01050c")  # 1.2.840.113549.1.5.12
_OID_HMAC_SHA256 = bytes.fromhex("2a864886f70d0209")  # 1.2.840.113549.2.9
_OID_AES256_CBC = bytes.fromhex("60864801650304012a")  # 2.16.840.1.101.3.4.1.42

_SEQ, _INT, _OCTETS, _BITS, _OID, _NULL = 0x30, 0x02, 0x04, 0x03, 0x06, 0x05


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _int(value: int) -> bytes:
    return _tlv(_INT, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) items of a DER string, all of it; Sm2KeyError if malformed."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise Sm2KeyError("truncated DER")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            raw = data[pos : pos + count]
            if not 1 <= count <= 4 or len(raw) != count or raw[0] == 0:
                raise Sm2KeyError("bad DER length")
            length = int.from_bytes(raw, "big")
            if length < 0x80:
                raise Sm2KeyError("non-minimal DER length")
            pos += count
        if pos + length > len(data):
            raise Sm2KeyError("truncated DER")
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _expect(data: bytes, *tags: int) -> list[bytes]:
    items = _items(data)
    if [tag for tag, _ in items] != list(tags):
        raise Sm2KeyError("unexpected DER structure")
    return [content for _, content in items]


def _read_int(content: bytes) -> int:
    if not content or (len(content) > 1 and content[0] == 0 and content[1] < 0x80):
        raise Sm2KeyError("non-minimal DER integer")
    if content[0] >= 0x80:
        raise Sm2KeyError("negative DER integer")
    return int.from_bytes(content, "big")


def _private_key_info(d: bytes, public_point: bytes | None) -> bytes:
    """PKCS#8 PrivateKeyInfo of an SM2 key; the public key is optional (RFC 5915)."""
    public = _tlv(0xA1, _tlv(_BITS, b"\x00" + public_point)) if public_point else b""
    ec_private_key = _tlv(_SEQ, _int(1) + _tlv(_OCTETS, d) + public)
    algorithm = _tlv(_SEQ, _tlv(_OID, _OID_EC_PUBLIC_KEY) + _tlv(_OID, _OID_SM2))
    return _tlv(_SEQ, _int(0) + algorithm + _tlv(_OCTETS, ec_private_key))


def _read_private_key_info(der: bytes) -> bytes:
    (info,) = _expect(der, _SEQ)
    items = _items(info)
    if len(items) < 3 or [t for t, _ in items[:3]] != [_INT, _SEQ, _OCTETS]:
        raise Sm2KeyError("not a PKCS#8 private key")
    if _read_int(items[0][1]) not in (0, 1):
        raise Sm2KeyError("unknown PKCS#8 version")
    algorithm = _expect(items[1][1], _OID, _OID)
    if algorithm != [_OID_EC_PUBLIC_KEY, _OID_SM2]:
        raise Sm2KeyError("not an SM2 key (id-ecPublicKey on curve 1.2.156.10197.1.301)")
    (ec_key,) = _expect(items[2][1], _SEQ)
    fields = _items(ec_key)
    if len(fields) < 2 or [t for t, _ in fields[:2]] != [_INT, _OCTETS]:
        raise Sm2KeyError("not an EC private key")
    if _read_int(fields[0][1]) != 1 or len(fields[1][1]) != 32:
        raise Sm2KeyError("EC private key: version 1 and a 32-byte scalar expected")
    d = fields[1][1]
    for tag, content in fields[2:]:
        if tag == 0xA0 and _expect(content, _OID) != [_OID_SM2]:
            raise Sm2KeyError("EC private key names another curve")
        if tag == 0xA1:
            (bits,) = _expect(content, _BITS)
            key = Sm2Private(d)  # validates d
            if bits != b"\x00" + key.public_point:
                raise Sm2KeyError("the key file's public key does not match its private key")
        elif tag != 0xA0:
            raise Sm2KeyError("unexpected field in EC private key")
    return d


def _encrypt(der: bytes, passphrase: bytes) -> bytes:
    salt, iv = os.urandom(16), os.urandom(16)
    key = _pbkdf2(passphrase, salt, PBKDF2_ITERATIONS)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(padder.update(der) + padder.finalize()) + encryptor.finalize()
    kdf = _tlv(
        _SEQ,
        _tlv(_OID, _OID_PBKDF2)
        + _tlv(
            _SEQ,
            _tlv(_OCTETS, salt)
            + _int(PBKDF2_ITERATIONS)
            + _tlv(_SEQ, _tlv(_OID, _OID_HMAC_SHA256) + _tlv(_NULL, b"")),
        ),
    )
    cipher = _tlv(_SEQ, _tlv(_OID, _OID_AES256_CBC) + _tlv(_OCTETS, iv))
    algorithm = _tlv(_SEQ, _tlv(_OID, _OID_PBES2) + _tlv(_SEQ, kdf + cipher))
    return _tlv(_SEQ, algorithm + _tlv(_OCTETS, body))


def _decrypt(der: bytes, passphrase: bytes) -> bytes:
    unsupported = Sm2KeyError(
        "encrypted key file: only PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC is read"
    )
    (outer,) = _expect(der, _SEQ)
    algorithm, body = _expect(outer, _SEQ, _OCTETS)
    oid, params = _expect(algorithm, _OID, _SEQ)
    if oid != _OID_PBES2:
        raise unsupported
    kdf, cipher = _expect(params, _SEQ, _SEQ)
    kdf_oid, kdf_params = _expect(kdf, _OID, _SEQ)
    cipher_oid, iv = _expect(cipher, _OID, _OCTETS)
    if kdf_oid != _OID_PBKDF2 or cipher_oid != _OID_AES256_CBC or len(iv) != 16:
        raise unsupported
    items = _items(kdf_params)
    tags = [t for t, _ in items]
    if tags == [_OCTETS, _INT, _INT, _SEQ]:  # optional keyLength
        if _read_int(items[2][1]) != 32:
            raise unsupported
        del items[2]
    elif tags != [_OCTETS, _INT, _SEQ]:  # the PRF defaults to HMAC-SHA1: not read
        raise unsupported
    if _expect(items[2][1], _OID, _NULL) != [_OID_HMAC_SHA256, b""]:
        raise unsupported
    iterations = _read_int(items[1][1])
    if not 1 <= iterations <= _MAX_ITERATIONS:
        raise Sm2KeyError(f"encrypted key file: {iterations} PBKDF2 rounds is out of range")
    if not body or len(body) % 16:
        raise Sm2KeyError("encrypted key file: ciphertext is not whole AES blocks")
    key = _pbkdf2(passphrase, items[0][1], iterations)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(decryptor.update(body) + decryptor.finalize())
        plain += unpadder.finalize()
    except ValueError as exc:
        raise Sm2KeyError("cannot read the key file: wrong passphrase or not a key") from exc
    try:
        _read_private_key_info(plain)
    except Sm2KeyError as exc:  # padding matched by chance (1 in 256): still wrong
        raise Sm2KeyError("cannot read the key file: wrong passphrase or not a key") from exc
    return plain


def _pbkdf2(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)


_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*\Z")


def _pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der)
    lines = b"\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label.encode(), lines, label.encode())


def _unpem(data: bytes) -> tuple[str, bytes]:
    match = _PEM.search(data.strip() + b"\n")
    if not match:
        raise Sm2KeyError("not a PEM key file")
    try:
        der = base64.b64decode(re.sub(rb"\s", b"", match.group(2)), validate=True)
    except ValueError as exc:
        raise Sm2KeyError("PEM key file: bad base64") from exc
    return match.group(1).decode(), der
