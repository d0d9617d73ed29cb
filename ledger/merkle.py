"""RFC 6962 / RFC 9162 Merkle tree maths for the ledger, in pure Python + hashlib.

Why this module exists: the workstation must prove, on its own, that the
platform's log only ever grew. Every number here must agree bit for bit with
the Go reference (``github.com/transparency-dev/merkle``) so that proofs we
produce verify there and theirs verify here, and it must be fast enough to
re-integrate a city's whole log on a laptop.

Nodes are named ``(level, index)``: the perfect subtree of height ``level``
covering leaves ``[index * 2**level, (index + 1) * 2**level)``. Node sources
(``get_node`` callbacks) are only ever asked for such *complete* subtrees; the
"ephemeral" node on the ragged right edge of a tree is recombined here, the way
Go's ``proof.Nodes.Rehash`` does it, so that a tile store never needs to hold
anything but complete subtrees.

Verification (:func:`verify_inclusion`, :func:`verify_consistency`) is a
faithful port of ``proof.VerifyInclusion`` / ``proof.VerifyConsistency``; the
only additions are explicit hash-length checks, which reject the same inputs Go
rejects (a wrong-length hash can never chain to a 32-byte root) but with a
message that says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MemoryTree",
    "NodeSource",
    "ProofError",
    "SubtreeCache",
    "consistency_proof",
    "consistency_proof_from_leaves",
    "inclusion_proof",
    "inclusion_proof_from_leaves",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "range_nodes",
    "root",
    "root_from_nodes",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Bytes in a SHA-256 digest, the only hash RFC 6962 logs and tlog-tiles use."""

MAX_TREE_SIZE = (1 << 64) - 1
"""Go uses uint64 sizes; anything larger cannot be a real log and is rejected."""

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 6962 section 2.1)."""

NodeSource = Callable[[int, int], bytes]
"""``get_node(level, index)`` -> hash of a complete (perfect) subtree."""


class ProofError(ValueError):
    """A proof, or the request for one, is invalid. The message says which check failed."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash SHA-256(0x00 || entry); the prefix stops leaves posing as nodes."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many entries at once (the batch path used when integrating)."""
    sha = _sha256
    prefix = _LEAF_PREFIX
    return [sha(prefix + e).digest() for e in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _pair_up(hashes: Sequence[bytes]) -> list[bytes]:
    """Parents of consecutive pairs; a trailing odd hash is dropped (the caller keeps it)."""
    sha = _sha256
    prefix = _NODE_PREFIX
    it = iter(hashes)
    return [sha(prefix + a + b).digest() for a, b in zip(it, it)]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of the given leaf hashes (EMPTY_ROOT for none).

    Level-by-level pairing where an odd last node is carried up unchanged
    builds exactly the RFC's left-balanced tree, and runs at hashlib speed.
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    carry: list[bytes] = []  # odd right-edge nodes, lowest level first
    while len(level) > 1:
        if len(level) & 1:
            carry.append(level[-1])
        level = _pair_up(level)
    h = level[0]
    # Carried nodes sit on the right edge; fold them in from the lowest one up.
    acc: bytes | None = None
    for c in carry:
        acc = c if acc is None else node_hash(c, acc)
    return h if acc is None else node_hash(h, acc)


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProofError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0 or value > MAX_TREE_SIZE:
        raise ProofError(f"{name} {value} is outside 0..2^64-1")


_BYTES_TYPES = (bytes, bytearray, memoryview)


def _check_hash(name: str, value: object) -> None:
    if not isinstance(value, _BYTES_TYPES):
        raise ProofError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} has {len(value)} bytes, want {HASH_SIZE}")


_JUST_BYTES = frozenset([bytes])
_JUST_HASH_SIZE = frozenset([HASH_SIZE])


def _check_proof(proof: Sequence[bytes]) -> None:
    # Fast path at C speed (this check was a third of verification time).
    if set(map(type, proof)) <= _JUST_BYTES and set(map(len, proof)) <= _JUST_HASH_SIZE:
        return
    for i, h in enumerate(proof):
        if not (isinstance(h, _BYTES_TYPES) and len(h) == HASH_SIZE):
            _check_hash(f"proof[{i}]", h)  # raises, naming the element


# --------------------------------------------------------------------------- ranges


def range_nodes(begin: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees ``(level, index)`` that exactly cover ``[begin, end)``, left to right.

    This is the compact range of Go's ``compact.RangeNodes``; for ``begin == 0``
    it is one node per set bit of ``end``, largest first.
    """
    if begin < 0 or end < begin:
        raise ProofError(f"invalid range [{begin}, {end})")
    left: list[tuple[int, int]] = []
    right: list[tuple[int, int]] = []
    # Climb from both ends: take the largest aligned node that fits on each side.
    level = 0
    while begin < end:
        if begin & 1 and begin + 1 <= end:
            left.append((level, begin))
            begin += 1
        if end & 1 and end - 1 >= begin:
            end -= 1
            right.append((level, end))
        begin >>= 1
        end >>= 1
        level += 1
    right.reverse()
    return left + right


def subtree_hash(get_node: NodeSource, begin: int, end: int) -> bytes:
    """MTH of leaves ``[begin, end)`` for a range that is a (possibly ragged) right-edge subtree.

    ``begin`` must be aligned so the RFC tree over the range is well formed
    (true for any ephemeral node and for ``begin == 0``). The complete
    subtrees are combined from the right, as the RFC's split rule implies.
    """
    if begin == end:
        return EMPTY_ROOT
    nodes = range_nodes(begin, end)
    h = get_node(*nodes[-1])
    for lvl, idx in reversed(nodes[:-1]):
        h = node_hash(get_node(lvl, idx), h)
    return h


def root_from_nodes(size: int, get_node: NodeSource) -> bytes:
    """Root of the tree of ``size`` leaves from a node source of complete subtrees."""
    _check_size("tree size", size)
    return subtree_hash(get_node, 0, size)


# --------------------------------------------------------------------------- proof generation


class SubtreeCache:
    """Memoised :func:`subtree_hash` over one node source, for ephemeral right-edge nodes.

    Every proof into a tree of a given size recombines one of at most
    log2(size) ragged subtrees, and in an append-only log the hash of leaves
    ``[begin, end)`` never changes, so the memo never goes stale. Without it,
    recombining the ephemeral node is half the cost of a proof.
    """

    def __init__(self, get_node: NodeSource, capacity: int = 4096) -> None:
        self._get_node = get_node
        self._capacity = capacity
        self._memo: dict[tuple[int, int], bytes] = {}

    def __call__(self, begin: int, end: int) -> bytes:
        key = (begin, end)
        h = self._memo.get(key)
        if h is None:
            h = subtree_hash(self._get_node, begin, end)
            if len(self._memo) >= self._capacity:
                self._memo.clear()
            self._memo[key] = h
        return h


def _inclusion_path(
    level: int,
    index: int,
    size: int,
    get_node: NodeSource,
    subtree: Callable[[int, int], bytes] | None = None,
) -> list[bytes]:
    """Proof that complete node ``(level, index)`` is in the tree of ``size``, bottom up.

    Same node order as Go's ``proof.nodes`` + ``Rehash``: siblings below the
    fork point, then the (recombined) ephemeral node, then the left-edge nodes.
    """
    proof: list[bytes] = []
    append = proof.append
    last = (size - 1) >> level  # index of the right-most node at this level
    i = index
    while last:
        if i & 1:
            append(get_node(level, i - 1))
        elif i < last:
            sib = i + 1
            if (sib + 1) << level <= size:
                append(get_node(level, sib))
            else:  # the ephemeral node: ragged right edge, recombine it
                if subtree is None:
                    append(subtree_hash(get_node, sib << level, size))
                else:
                    append(subtree(sib << level, size))
        i >>= 1
        last >>= 1
        level += 1
    return proof


def inclusion_proof(index: int, size: int, get_node: NodeSource) -> list[bytes]:
    """RFC 9162 inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
    _check_size("tree size", size)
    _check_size("index", index)
    if index >= size:
        raise ProofError(f"index {index} out of range for tree size {size}")
    return _inclusion_path(0, index, size, get_node)


def consistency_proof(size1: int, size2: int, get_node: NodeSource) -> list[bytes]:
    """RFC 9162 consistency proof from ``size1`` to ``size2`` (``get_node`` over the size2 tree).

    ``size1 == 0`` gives an empty proof, which :func:`verify_consistency` refuses
    (as Go's verifier now does): a client starting from nothing has nothing to prove
    and must not ask for one.
    """
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 > size2:
        raise ProofError(f"tree size {size1} > {size2}")
    if size1 == size2 or size1 == 0:
        return []
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    proof = _inclusion_path(level, index, size2, get_node)
    if index:  # size1 is not a power of two: the client needs the seed node too
        proof.insert(0, get_node(level, index))
    return proof


# --------------------------------------------------------------------------- verification


def _verify(
    index: int, level: int, size: int, hash_: bytes, proof: Sequence[bytes], root_: bytes
) -> None:
    """Port of Go ``proof.verify``: chain ``hash_`` at ``(level, index)`` up to ``root_``."""
    inner = (index ^ (size >> level)).bit_length() - 1
    fork_level = level + inner
    fork_index = index >> inner
    begin = fork_index << fork_level
    end = (fork_index + 1) << fork_level
    left = begin.bit_count()  # compact.RangeSize(0, begin)
    right = 0 if end == size else 1
    want = inner + right + left
    if len(proof) != want:
        raise ProofError(f"incorrect proof size: {len(proof)}, want {want}")
    sha = _sha256
    prefix = _NODE_PREFIX
    h = bytes(hash_)
    node = index
    for p in proof[:inner]:
        h = sha(prefix + h + p).digest() if node & 1 == 0 else sha(prefix + p + h).digest()
        node >>= 1
    if right:
        h = sha(prefix + h + proof[inner]).digest()
    for p in proof[inner + right :]:
        h = sha(prefix + p + h).digest()
    if h != root_:
        raise ProofError(
            f"root hash at size {size} mismatched: "
            f"computed {h.hex()}, expected {bytes(root_).hex()}"
        )


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``tree_size`` with ``root``.

    Same accept/reject behaviour as Go ``proof.VerifyInclusion``; raises
    :class:`ProofError` on any failure and returns None on success.
    """
    _check_size("index", index)
    _check_size("tree size", tree_size)
    if index >= tree_size:
        raise ProofError(f"index {index} out of range for size {tree_size}")
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof(proof)
    _verify(index, 0, tree_size, leaf_hash, proof, root)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree ``(size2, root2)`` extends ``(size1, root1)``.

    Port of Go ``proof.VerifyConsistency``: ``size1 == size2`` needs an empty
    proof and equal roots. A proof from size 0 to a larger tree is refused, as
    transparency-dev/merkle has done since June 2026 ("consistency proof from
    empty tree is meaningless"): the empty tree is a prefix of every tree, so
    such a "proof" proves nothing and a caller that asks for one has lost track
    of what it verified. Callers starting from an empty state must not ask for a
    consistency proof at all (the sync does not). Raises :class:`ProofError`.
    """
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 > size2:
        raise ProofError(f"tree size {size1} > {size2}")
    if size1 == size2:
        if len(proof) != 0:
            raise ProofError(f"incorrect proof size: got {len(proof)}, want 0")
        if bytes(root1) != bytes(root2):
            raise ProofError(
                f"root hash at size {size1} mismatched: "
                f"computed {bytes(root1).hex()}, expected {bytes(root2).hex()}"
            )
        return
    if size1 == 0:
        raise ProofError("consistency proof from empty tree is meaningless")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    _check_proof(proof)

    # The biggest perfect subtree that ends at size1.
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    if index == 0:  # size1 is a power of two: root1 is that subtree's hash
        _verify(index, level, size2, root1, proof, root2)
        return

    # Upstream (transparency-dev/merkle v0.0.2) only requires a non-empty
    # proof here; _verify then checks the exact length. (One stored revision
    # demanded 1 + bitlen(size2 - 1) - level hashes, which rejects valid RFC
    # proofs such as 5 -> 6; we follow the released behaviour.)
    if not proof:
        raise ProofError("empty proof")
    _verify(index, level, size2, proof[0], proof[1:], root2)

    # Recompute root1 from the same path: below the fork only the left-hand
    # siblings belonged to the tree of size1, the ephemeral right-hand node (if
    # any) did not, and the left-edge nodes above the fork all did.
    inner = (index ^ (size2 >> level)).bit_length() - 1
    fork_level = level + inner
    right = 0 if ((index >> inner) + 1) << fork_level == size2 else 1
    h = bytes(proof[0])
    for i, p in enumerate(proof[1 : 1 + inner]):
        if (index >> i) & 1:
            h = node_hash(p, h)
    for p in proof[1 + inner + right :]:
        h = node_hash(p, h)
    if h != root1:
        raise ProofError(
            f"root hash at size {size1} mismatched: computed {h.hex()}, expected {root1.hex()}"
        )


# --------------------------------------------------------------------------- compact range

NodeCallback = Callable[[int, int, bytes], None]
NodesCallback = Callable[[int, int, list[bytes]], None]


class CompactRange:
    """The right edge of a tree: one perfect-subtree hash per set bit of ``size``.

    This is all a log writer needs to keep in memory to integrate new leaves
    and compute the root; it persists in ``8 + 32 * popcount(size)`` bytes.

    ``on_node(level, index, hash)`` is called for every complete node as it is
    formed (leaves included, level 0), and ``on_nodes(level, first_index,
    hashes)`` for each batch of consecutive nodes at one level; a tile writer
    uses them to record hashes without recomputing them. Both see nodes in
    bottom-up order per :meth:`extend` call.
    """

    __slots__ = ("_frontier", "_on_node", "_on_nodes", "_size")

    def __init__(
        self,
        size: int = 0,
        hashes: Sequence[bytes] = (),
        *,
        on_node: NodeCallback | None = None,
        on_nodes: NodesCallback | None = None,
    ) -> None:
        _check_size("size", size)
        hashes = list(hashes)
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a compact range of size {size} has {size.bit_count()} hashes, got {len(hashes)}"
            )
        for i, h in enumerate(hashes):
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise ValueError(f"compact range hash {i} is not {HASH_SIZE} bytes")
        self._size = size
        self._frontier: list[bytes | None] = [None] * 64
        # hashes are left to right, i.e. from the highest set bit down.
        levels = [lvl for lvl in range(63, -1, -1) if size >> lvl & 1]
        for lvl, h in zip(levels, hashes):
            self._frontier[lvl] = h
        self._on_node = on_node
        self._on_nodes = on_nodes

    @property
    def size(self) -> int:
        """Number of leaves integrated so far."""
        return self._size

    @property
    def hashes(self) -> list[bytes]:
        """The perfect-subtree roots, left to right (largest subtree first), as in Go."""
        return [h for h in reversed(self._frontier) if h is not None]

    def append(self, leaf_hash: bytes) -> None:
        """Integrate one leaf hash. Prefer :meth:`extend` for batches."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash has {len(leaf_hash)} bytes, want {HASH_SIZE}")
        if self._on_node is not None or self._on_nodes is not None:
            self.extend([leaf_hash])
            return
        frontier = self._frontier
        n = self._size
        h = bytes(leaf_hash)
        level = 0
        while n >> level & 1:
            h = _sha256(_NODE_PREFIX + frontier[level] + h).digest()  # type: ignore[operator]
            frontier[level] = None
            level += 1
        frontier[level] = h
        self._size = n + 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Integrate many leaf hashes, a whole level at a time (the fast path).

        Each level is paired up by one list comprehension over hashlib, which is
        what lets pure Python exceed half a million leaves per second.
        """
        new = list(leaf_hashes)
        k = len(new)
        if not k:
            return
        for i, h in enumerate(new):
            if len(h) != HASH_SIZE:
                raise ValueError(f"leaf hash {i} has {len(h)} bytes, want {HASH_SIZE}")
        if self._size + k > MAX_TREE_SIZE:
            raise ValueError("tree would exceed 2^64-1 leaves")
        frontier = self._frontier
        on_node = self._on_node
        on_nodes = self._on_nodes
        sha = _sha256
        prefix = _NODE_PREFIX
        first = self._size  # index of new[0] at the current level
        level = 0
        while new:
            if on_nodes is not None:
                on_nodes(level, first, new)
            if on_node is not None:
                for j, h in enumerate(new, first):
                    on_node(level, j, h)
            f = frontier[level]
            if f is not None:
                seq = [f, *new]
                start = first - 1
            else:
                seq = new
                start = first
            frontier[level] = seq[-1] if len(seq) & 1 else None
            it = iter(seq)
            new = [sha(prefix + a + b).digest() for a, b in zip(it, it)]
            first = start >> 1
            level += 1
        self._size += k

    def root(self) -> bytes:
        """Root hash of the tree of :attr:`size` leaves (EMPTY_ROOT when empty)."""
        acc: bytes | None = None
        for h in self._frontier:
            if h is not None:
                acc = h if acc is None else _sha256(_NODE_PREFIX + h + acc).digest()
        return EMPTY_ROOT if acc is None else acc

    def copy(self) -> CompactRange:
        """An independent copy without callbacks (for computing 'what if' roots)."""
        return CompactRange(self._size, self.hashes)

    def to_bytes(self) -> bytes:
        """``size`` as big-endian uint64 followed by :attr:`hashes`, for persistence."""
        return self._size.to_bytes(8, "big") + b"".join(self.hashes)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        on_node: NodeCallback | None = None,
        on_nodes: NodesCallback | None = None,
    ) -> CompactRange:
        """Inverse of :meth:`to_bytes`; raises ValueError on a malformed encoding."""
        if len(data) < 8:
            raise ValueError(f"compact range encoding is {len(data)} bytes, need at least 8")
        size = int.from_bytes(data[:8], "big")
        want = 8 + HASH_SIZE * size.bit_count()
        if len(data) != want:
            raise ValueError(f"compact range of size {size} must be {want} bytes, got {len(data)}")
        hashes = [bytes(data[i : i + HASH_SIZE]) for i in range(8, want, HASH_SIZE)]
        return cls(size, hashes, on_node=on_node, on_nodes=on_nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._frontier == other._frontier

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()[:16]}…)"


# --------------------------------------------------------------------------- in-memory tree


class MemoryTree:
    """All complete nodes of a tree in memory: a fast node source for tests and benchmarks.

    ``levels[l][i]`` is the hash of node ``(l, i)``; only complete subtrees are
    stored, exactly what :func:`inclusion_proof` and friends ask for.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = []
        self._range = CompactRange(on_nodes=self._record)
        self._subtree = SubtreeCache(self.get_node)
        self.extend(leaf_hashes)

    def _record(self, level: int, first: int, hashes: list[bytes]) -> None:
        levels = self.levels
        if level == len(levels):
            levels.append([])
        levels[level].extend(hashes)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes."""
        self._range.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return self._range.size

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of complete node ``(level, index)``; IndexError if it is not complete."""
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """Root of the first ``size`` leaves (default: all)."""
        if size is None or size == self.size:
            return self._range.root()
        if size > self.size:
            raise ProofError(f"tree size {size} > {self.size} leaves held")
        return root_from_nodes(size, self.get_node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of leaf ``index`` in the tree of ``size`` (default: all)."""
        size = self.size if size is None else size
        if size > self.size:
            raise ProofError(f"tree size {size} > {self.size} leaves held")
        _check_size("tree size", size)
        _check_size("index", index)
        if index >= size:
            raise ProofError(f"index {index} out of range for tree size {size}")
        return _inclusion_path(0, index, size, self.get_node, self._subtree)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Consistency proof from ``size1`` to ``size2`` (default: all)."""
        size2 = self.size if size2 is None else size2
        if size2 > self.size:
            raise ProofError(f"tree size {size2} > {self.size} leaves held")
        return consistency_proof(size1, size2, self.get_node)


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Inclusion proof for ``index`` in the tree of exactly these leaf hashes (test helper)."""
    return MemoryTree(leaf_hashes).inclusion_proof(index)


def consistency_proof_from_leaves(size1: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Consistency proof from ``size1`` to ``len(leaf_hashes)`` (test helper)."""
    return MemoryTree(leaf_hashes).consistency_proof(size1)
