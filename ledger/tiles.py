"""C2SP tlog-tiles: the static-file layout of our transparency logs, written and read.

Why tiles: a log laid out this way is a tree of immutable files that any
static server or CDN can serve, that the Go tools (golang.org/x/mod/sumdb/tlog
readers, transparency-dev/tessera) understand, and from which a client can
compute every proof itself. The spec is https://c2sp.org/tlog-tiles:

* ``tile/<L>/<N>[.p/<W>]``: 256 hashes (8,192 bytes) per full tile; at level
  ``L`` each hash is the root of a perfect subtree of ``256**L`` leaves, i.e.
  Merkle node ``(8 * L, n * 256 + i)``. The right-most tile of each level is
  *partial* (``.p/W``, 1 <= W <= 255) and is never hashed into the level above.
* ``tile/entries/<N>[.p/<W>]``: entry bundles, each entry prefixed by its
  big-endian uint16 length.
* ``<N>`` is split into 3-digit groups, all but the last prefixed ``x``
  (1234067 -> ``x001/x234/067``), like Tessera's ``layout.TilePath``.

:class:`TileLog` is the single-writer, crash-safe on-disk log (the platform's
side); :class:`TileHashReader` is the client side that authenticates every
tile it fetches against a trusted checkpoint root before using a hash from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from ledger import merkle
from ledger.merkle import HASH_SIZE, CompactRange, ProofError

__all__ = [
    "MAX_ENTRY_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileError",
    "TileHashReader",
    "TileLog",
    "TileLogError",
    "TileRef",
    "decode_bundle",
    "edge_tiles",
    "encode_bundle",
    "entries_path",
    "parse_tile_path",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
"""Levels of the Merkle tree inside one tile; fixed by the spec."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (256)."""
MAX_ENTRY_SIZE = 0xFFFF
"""Largest entry a bundle can carry (uint16 length prefix)."""
MAX_LEVEL = 63

_sha256 = hashlib.sha256
_NODE = b"\x01"


class TileError(ValueError):
    """A fetched tile is malformed or does not lead to the trusted root; names the tile path."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"tile {path}: {reason}")
        self.path = path
        self.reason = reason


class TileLogError(RuntimeError):
    """The on-disk log is unusable (state missing its tiles, corrupt state file, ...)."""


# --------------------------------------------------------------------------- paths


class TileRef(NamedTuple):
    """A parsed tile path: hash tile ``(level, index, width)`` or entry bundle (``entries``)."""

    level: int
    index: int
    width: int
    entries: bool = False


def _fmt_index(index: int) -> str:
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int) -> str:
    if not isinstance(width, int) or not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width {width!r} is not in 1..{TILE_WIDTH}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def _check_index(index: int) -> None:
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"tile index {index!r} must be a non-negative integer")


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` for hash tile ``index`` at tile level ``level``."""
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"tile level {level!r} is not in 0..{MAX_LEVEL}")
    _check_index(index)
    return f"tile/{level}/{_fmt_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]`` for entry bundle ``index``."""
    _check_index(index)
    return f"tile/entries/{_fmt_index(index)}{_suffix(width)}"


_PATH_RE = re.compile(
    r"tile/(?P<level>0|[1-9][0-9]?|entries)/"
    r"(?P<n>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<w>[1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> TileRef:
    """Inverse of :func:`tile_path` / :func:`entries_path`; ValueError unless canonical.

    Rejected: leading ``x000`` groups, leading zeros in level or width, level
    above 63, width 0 or >= 256, anything before ``tile/`` or after the width.
    """
    m = _PATH_RE.fullmatch(path)
    if m is None:
        raise ValueError(f"not a tlog-tiles path: {path!r}")
    groups = m["n"].split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise ValueError(f"non-canonical tile index (leading zero group) in {path!r}")
    index = 0
    for g in groups:
        index = index * 1000 + int(g.lstrip("x"))
    width = TILE_WIDTH
    if m["w"] is not None:
        width = int(m["w"])
        if width >= TILE_WIDTH:
            raise ValueError(f"partial tile width {width} is not in 1..255 in {path!r}")
    if m["level"] == "entries":
        return TileRef(0, index, width, True)
    level = int(m["level"])
    if level > MAX_LEVEL:
        raise ValueError(f"tile level {level} is above {MAX_LEVEL} in {path!r}")
    return TileRef(level, index, width, False)


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every hash tile ``(level, index, width)`` of a tree of ``size`` leaves, bottom up.

    Per the spec, size 70,000 is 273 full level-0 tiles, a level-0 partial of
    width 112, one full level-1 tile, a level-1 partial of 17 and a level-2
    partial of 1.
    """
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    out: list[tuple[int, int, int]] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        n = size >> (TILE_HEIGHT * level)
        full, part = divmod(n, TILE_WIDTH)
        out.extend((level, t, TILE_WIDTH) for t in range(full))
        if part:
            out.append((level, full, part))
        level += 1
    return out


def edge_tiles(size: int) -> list[tuple[int, int, int]]:
    """The partial tiles of a tree of ``size`` leaves: its ragged right edge, bottom up.

    Together they determine the root hash, which is how a reader
    authenticates them (and, through them, every full tile).
    """
    out: list[tuple[int, int, int]] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        n = size >> (TILE_HEIGHT * level)
        if n % TILE_WIDTH:
            out.append((level, n // TILE_WIDTH, n % TILE_WIDTH))
        level += 1
    return out


# --------------------------------------------------------------------------- bundles


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Entry bundle bytes: each entry as big-endian uint16 length + data."""
    for i, e in enumerate(entries):
        if len(e) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry {i} is {len(e)} bytes; bundles allow at most {MAX_ENTRY_SIZE}")
    return _encode_unchecked(entries)


def _encode_unchecked(entries: Iterable[bytes]) -> bytes:
    parts: list[bytes] = []
    append = parts.append
    for e in entries:
        append(len(e).to_bytes(2, "big"))
        append(e)
    return b"".join(parts)


def decode_bundle(data: bytes) -> list[bytes]:
    """Inverse of :func:`encode_bundle`; ValueError naming the offset if truncated."""
    out: list[bytes] = []
    mv = memoryview(data)
    off = 0
    end = len(data)
    while off < end:
        if off + 2 > end:
            raise ValueError(f"entry bundle truncated at offset {off}: incomplete length prefix")
        n = (mv[off] << 8) | mv[off + 1]
        if off + 2 + n > end:
            raise ValueError(
                f"entry bundle truncated at offset {off}: entry of {n} bytes, {end - off - 2} left"
            )
        out.append(bytes(mv[off + 2 : off + 2 + n]))
        off += 2 + n
    return out


# --------------------------------------------------------------------------- tile maths


def _split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def _tile_rows(hashes: list[bytes]) -> list[list[bytes]]:
    """All complete nodes inside one tile: ``rows[r][j]`` is node ``(8L + r, t*256>>r + j)``."""
    rows = [hashes]
    row = hashes
    sha = _sha256
    prefix = _NODE
    while len(row) > 1:
        it = iter(row)
        row = [sha(prefix + a + b).digest() for a, b in zip(it, it)]
        rows.append(row)
    return rows


def _locate(level: int, index: int) -> tuple[int, int, int, int]:
    """Node ``(level, index)`` -> (tile level, tile index, row inside tile, position in row)."""
    tl, r = divmod(level, TILE_HEIGHT)
    per_tile = TILE_WIDTH >> r
    t, j = divmod(index, per_tile)
    return tl, t, r, j


def _tile_width(size: int, tile_level: int, tile_index: int) -> int:
    """Width of tile ``(tile_level, tile_index)`` in the tree of ``size`` (0: not present)."""
    n = size >> (TILE_HEIGHT * tile_level)
    return max(0, min(TILE_WIDTH, n - tile_index * TILE_WIDTH))


RowsSource = Callable[[int, int], list[list[bytes]]]


def _tiled_path(
    level: int,
    index: int,
    size: int,
    rows_for: RowsSource,
    subtree: Callable[[int, int], bytes],
) -> list[bytes]:
    """:mod:`ledger.merkle` 's inclusion path, reading siblings straight from tile rows.

    Every sibling on one tile level lies in the same tile, so this costs one
    cache look-up per tile level instead of one call per tree level; together
    with the memoised ephemeral node (``subtree``) it is what makes
    tile-backed proofs as fast as an in-memory tree.
    """
    proof: list[bytes] = []
    append = proof.append
    last = (size - 1) >> level
    i = index
    cur: tuple[int, int] | None = None
    rows: list[list[bytes]] = []
    while last:
        if i & 1 or i < last:
            sib = i ^ 1
            if (sib + 1) << level <= size:
                r = level & 7
                t = (sib << r) >> 8
                key = (level >> 3, t)
                if key != cur:
                    rows = rows_for(*key)
                    cur = key
                append(rows[r][sib - (t << (8 - r))])
            else:
                append(subtree(sib << level, size))
        i >>= 1
        last >>= 1
        level += 1
    return proof


def _tiled_inclusion_proof(
    index: int, size: int, rows_for: RowsSource, subtree: Callable[[int, int], bytes]
) -> list[bytes]:
    if not 0 <= index < size:
        raise ProofError(f"index {index} out of range for tree size {size}")
    return _tiled_path(0, index, size, rows_for, subtree)


def _tiled_consistency_proof(
    size1: int,
    size2: int,
    rows_for: RowsSource,
    node_hash: merkle.NodeSource,
    subtree: Callable[[int, int], bytes],
) -> list[bytes]:
    if not 0 <= size1 <= size2:
        raise ProofError(f"tree size {size1} > {size2}" if size1 > size2 else "negative size")
    if size1 == size2 or size1 == 0:
        return []
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    proof = _tiled_path(level, index, size2, rows_for, subtree)
    if index:
        proof.insert(0, node_hash(level, index))
    return proof


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _TileCache(dict[tuple[int, int], list[list[bytes]]]):
    """Tile interiors by ``(tile level, tile index)``, so proofs cost dict look-ups, not hashing.

    First-in first-out eviction: a plain dict hit is what keeps proof
    generation several times faster than pymerkle, and an LRU's bookkeeping
    on every hit would cost more than the occasional re-read it saves.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = max(1, capacity)

    def add(self, key: tuple[int, int], rows: list[list[bytes]]) -> None:
        self[key] = rows
        if len(self) > self.capacity:
            del self[next(iter(self))]


# --------------------------------------------------------------------------- writer

_STATE_NAME = ".tilelog-state"
_STATE_MAGIC = b"evm-tilelog-v1\n"


class TileLog:
    """An append-only log on disk in tlog-tiles layout, for a single writer.

    Crash safety: every file is written to a temporary name and moved into
    place with ``os.replace`` (fsynced first when ``fsync=True``); files are
    written bottom-up (bundles, level-0 tiles, level-1 tiles, ...) and the
    append is committed last by replacing a small state file holding the
    size and compact range. Partial tiles carry their width in the name, so
    the tiles of the committed size are never overwritten by a later append;
    full tiles are written once, when they fill. A crash mid-append therefore
    leaves the committed state intact plus some stray files, which the
    caller's re-append of the same entries overwrites idempotently. If the
    state file itself is lost, :meth:`open` rescans the tiles for the last
    fully written size (:meth:`scan_size`).

    ``fsync=False`` keeps the same ordering but not durability (benchmarks,
    tests, logs rebuilt from elsewhere).
    """

    def __init__(
        self, directory: Path | str, *, fsync: bool = True, cache_tiles: int = 512
    ) -> None:
        self.directory = Path(directory)
        self.fsync = fsync
        self._tiles = _TileCache(cache_tiles)
        self._subtree = merkle.SubtreeCache(self.node_hash)
        self._dirs: set[Path] = set()
        self._tmp_counter = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._size = 0  # what readers may see; equals self._range.size once loaded
        self._range = self._load_state()
        self._size = self._range.size

    @classmethod
    def open(cls, directory: Path | str, *, fsync: bool = True, cache_tiles: int = 512) -> TileLog:
        """Open (or create) the log in ``directory``, recovering to the last committed size."""
        return cls(directory, fsync=fsync, cache_tiles=cache_tiles)

    # ----------------------------------------------------------------- state

    @property
    def size(self) -> int:
        """Number of entries in the last fully written (committed) tree."""
        return self._size

    def _state_path(self) -> Path:
        return self.directory / _STATE_NAME

    def _load_state(self) -> CompactRange:
        path = self._state_path()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            size = self.scan_size()
            self._size = size
            cr = CompactRange(
                size, [self.node_hash(lvl, idx) for lvl, idx in merkle.range_nodes(0, size)]
            )
            if size:
                self._write_state(cr)
            return cr
        body, check = data[:-HASH_SIZE], data[-HASH_SIZE:]
        if not body.startswith(_STATE_MAGIC) or _sha256(body).digest() != check:
            raise TileLogError(f"{path} is corrupt (bad magic or checksum)")
        try:
            cr = CompactRange.from_bytes(body[len(_STATE_MAGIC) :])
        except ValueError as exc:
            raise TileLogError(f"{path} is corrupt: {exc}") from exc
        for level, index, width in edge_tiles(cr.size):
            if not (self.directory / tile_path(level, index, width)).exists():
                raise TileLogError(
                    f"{path} says size {cr.size} but {tile_path(level, index, width)} is missing"
                )
        return cr

    def _write_state(self, cr: CompactRange) -> None:
        body = _STATE_MAGIC + cr.to_bytes()
        self._write_file(_STATE_NAME, body + _sha256(body).digest())

    def scan_size(self) -> int:
        """The largest size whose bundles and tiles are all on disk and agree.

        Used when the state file is missing. Looks only at the directory
        listing of ``tile/entries`` and at the edge tiles of each candidate,
        checking that the last bundle hashes to the last level-0 tile.
        """
        full: set[int] = set()
        partial: dict[int, set[int]] = {}
        root = self.directory / "tile" / "entries"
        if not root.exists():
            return 0
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                rel = Path(dirpath, name).relative_to(self.directory).as_posix()
                try:
                    ref = parse_tile_path(rel)
                except ValueError:
                    continue
                if ref.width == TILE_WIDTH:
                    full.add(ref.index)
                else:
                    partial.setdefault(ref.index, set()).add(ref.width)
        n_full = 0
        while n_full in full:
            n_full += 1
        candidates = [
            n_full * TILE_WIDTH + w for w in sorted(partial.get(n_full, ()), reverse=True)
        ]
        candidates.append(n_full * TILE_WIDTH)
        # A full bundle may exist while its level-0 tile was never written.
        candidates.extend(k * TILE_WIDTH for k in range(n_full - 1, -1, -1))
        for size in candidates:
            if self._complete_at(size):
                return size
        return 0

    def _complete_at(self, size: int) -> bool:
        if size == 0:
            return True
        for level, index, width in edge_tiles(size) + [
            (lvl, idx, TILE_WIDTH) for lvl, idx, _w in self._last_full_tiles(size)
        ]:
            p = self.directory / tile_path(level, index, width)
            if not p.is_file() or p.stat().st_size != width * HASH_SIZE:
                return False
        last = (size - 1) // TILE_WIDTH
        width = size - last * TILE_WIDTH
        try:
            entries = decode_bundle((self.directory / entries_path(last, width)).read_bytes())
            tile = (self.directory / tile_path(0, last, width)).read_bytes()
        except (OSError, ValueError):
            return False
        return len(entries) == width and b"".join(merkle.leaf_hashes(entries)) == tile

    @staticmethod
    def _last_full_tiles(size: int) -> list[tuple[int, int, int]]:
        out = []
        level = 0
        while size >> (TILE_HEIGHT * level):
            n = size >> (TILE_HEIGHT * level)
            if n >= TILE_WIDTH:
                out.append((level, n // TILE_WIDTH - 1, TILE_WIDTH))
            level += 1
        return out

    # ----------------------------------------------------------------- writing

    def _write_file(self, rel: str, data: bytes) -> None:
        """Atomically (re)place ``rel`` under the log directory: temp file, fsync, rename."""
        path = self.directory / rel
        parent = path.parent
        if parent not in self._dirs:
            self._make_dirs(parent)
        self._tmp_counter += 1
        # Single writer: a pid + counter name cannot collide, and is cheaper than mkstemp.
        tmp = parent / f".tmp-{os.getpid()}-{self._tmp_counter}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.fsync:
            _fsync_dir(parent)

    def _make_dirs(self, directory: Path) -> None:
        """mkdir -p, fsyncing each new directory's parent so the new names are durable too."""
        missing: list[Path] = []
        d = directory
        while not d.is_dir():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            d.mkdir(exist_ok=True)
            if self.fsync:
                _fsync_dir(d.parent)
        self._dirs.add(directory)

    def _read_tile_hashes(self, level: int, index: int, width: int) -> list[bytes]:
        data = (self.directory / tile_path(level, index, width)).read_bytes()
        if len(data) != width * HASH_SIZE:
            raise TileLogError(
                f"{tile_path(level, index, width)} has {len(data)} bytes, want {width * HASH_SIZE}"
            )
        return _split_hashes(data)

    def append(self, entries: Sequence[bytes]) -> int:
        """Append entries, write their bundles and tiles, commit; returns the new size."""
        entries = list(entries)
        if not all(isinstance(e, bytes) for e in entries):
            i, e = next((i, e) for i, e in enumerate(entries) if not isinstance(e, bytes))
            raise TypeError(f"entry {i} is {type(e).__name__}, not bytes")
        if entries and max(map(len, entries)) > MAX_ENTRY_SIZE:
            i = next(i for i, e in enumerate(entries) if len(e) > MAX_ENTRY_SIZE)
            raise ValueError(
                f"entry {i} is {len(entries[i])} bytes; tlog-tiles allows at most {MAX_ENTRY_SIZE}"
            )
        if not entries:
            return self.size
        old = self.size
        new = old + len(entries)

        captured: dict[int, list[bytes]] = {}

        def capture(level: int, first: int, hashes: list[bytes]) -> None:
            if level % TILE_HEIGHT == 0:
                captured[level // TILE_HEIGHT] = hashes

        cr = CompactRange(old, self._range.hashes, on_nodes=capture)
        cr.extend(merkle.leaf_hashes(entries))

        # 1. entry bundles
        self._write_level(old, new, entries, self._read_bundle, entries_path, _encode_unchecked)
        # 2. hash tiles, bottom up
        for tl in sorted(captured):
            s_old = old >> (TILE_HEIGHT * tl)
            s_new = new >> (TILE_HEIGHT * tl)
            self._write_level(
                s_old,
                s_new,
                captured[tl],
                lambda t, w, tl=tl: self._read_tile_hashes(tl, t, w),
                lambda t, w, tl=tl: tile_path(tl, t, w),
                b"".join,
            )
        # 3. commit
        self._write_state(cr)
        self._range = CompactRange(cr.size, cr.hashes)
        self._size = new
        for tl in captured:  # cached edge tiles have grown
            shift = TILE_HEIGHT * (tl + 1)
            for t in range(old >> shift, ((new >> (TILE_HEIGHT * tl)) - 1 >> TILE_HEIGHT) + 1):
                self._tiles.pop((tl, t), None)
        # 4. tidy: partial tiles whose full tile now exists are no longer needed
        self._remove_filled_partials(old, new, sorted(captured))
        return new

    def _read_bundle(self, index: int, width: int) -> list[bytes]:
        return decode_bundle((self.directory / entries_path(index, width)).read_bytes())

    def _write_level(
        self,
        old: int,
        new: int,
        items: list[bytes],
        read_prefix: Callable[[int, int], list[bytes]],
        path_of: Callable[[int, int], str],
        encode: Callable[[list[bytes]], bytes],
    ) -> None:
        """Write the tiles of one level that items ``[old, new)`` touch."""
        if new <= old:
            return
        first_tile = old // TILE_WIDTH
        last_tile = (new - 1) // TILE_WIDTH
        for t in range(first_tile, last_tile + 1):
            start = t * TILE_WIDTH
            end = min(start + TILE_WIDTH, new)
            chunk: list[bytes] = []
            if start < old:  # the old partial tile's contents come first
                chunk = read_prefix(t, old - start)
            chunk = chunk + items[max(start, old) - old : end - old]
            self._write_file(path_of(t, end - start), encode(chunk))

    def _remove_filled_partials(self, old: int, new: int, tile_levels: Iterable[int]) -> None:
        for tl in [None, *tile_levels]:
            shift = 0 if tl is None else TILE_HEIGHT * tl
            s_old, s_new = old >> shift, new >> shift
            for t in range(s_old // TILE_WIDTH, s_new // TILE_WIDTH):
                full = entries_path(t) if tl is None else tile_path(tl, t)
                pdir = self.directory / (full + ".p")
                if pdir.is_dir():
                    for child in pdir.iterdir():
                        with contextlib.suppress(OSError):
                            child.unlink()
                    with contextlib.suppress(OSError):
                        pdir.rmdir()

    # ----------------------------------------------------------------- reading

    def _load_rows(self, tile_level: int, tile_index: int) -> list[list[bytes]]:
        width = _tile_width(self._size, tile_level, tile_index)
        rows = _tile_rows(self._read_tile_hashes(tile_level, tile_index, width))
        self._tiles.add((tile_level, tile_index), rows)
        return rows

    def _rows(self, tile_level: int, tile_index: int) -> list[list[bytes]]:
        rows = self._tiles.get((tile_level, tile_index))
        return self._load_rows(tile_level, tile_index) if rows is None else rows

    def node_hash(self, level: int, index: int) -> bytes:
        """Hash of complete node ``(level, index)``, read from tiles (cached per tile).

        The hot path of proof generation, hence inlined arithmetic: node
        ``(level, index)`` is row ``level % 8`` of tile ``(level // 8, t)``.
        """
        if level < 0 or index < 0 or ((index + 1) << level) > self._size:
            raise ProofError(f"node ({level}, {index}) is not complete at size {self._size}")
        r = level & 7
        t = (index << r) >> 8
        rows = self._tiles.get((level >> 3, t))
        if rows is None:
            rows = self._load_rows(level >> 3, t)
        return rows[r][index - (t << (8 - r))]

    def root(self, size: int | None = None) -> bytes:
        """Root hash at ``size`` (default: the committed size)."""
        if size is None or size == self.size:
            return self._range.root()
        if not 0 <= size <= self.size:
            raise ProofError(f"tree size {size} is beyond the log's size {self.size}")
        return merkle.root_from_nodes(size, self.node_hash)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof for entry ``index`` in the tree of ``size`` (default: all)."""
        size = self.size if size is None else size
        if size > self.size:
            raise ProofError(f"tree size {size} is beyond the log's size {self.size}")
        return _tiled_inclusion_proof(index, size, self._rows, self._subtree)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from ``size1`` to ``size2`` (default: all)."""
        size2 = self.size if size2 is None else size2
        if size2 > self.size:
            raise ProofError(f"tree size {size2} is beyond the log's size {self.size}")
        return _tiled_consistency_proof(size1, size2, self._rows, self.node_hash, self._subtree)

    def read_entries(self, start: int, end: int) -> list[bytes]:
        """Entries ``[start, end)`` from the bundles."""
        if not 0 <= start <= end <= self.size:
            raise ValueError(f"entry range [{start}, {end}) is outside 0..{self.size}")
        out: list[bytes] = []
        t = start // TILE_WIDTH
        while t * TILE_WIDTH < end:
            width = _tile_width(self.size, 0, t)
            bundle = self._read_bundle(t, width)
            if len(bundle) != width:
                raise TileLogError(f"{entries_path(t, width)} holds {len(bundle)} entries")
            lo = max(start - t * TILE_WIDTH, 0)
            hi = min(end - t * TILE_WIDTH, width)
            out.extend(bundle[lo:hi])
            t += 1
        return out


# --------------------------------------------------------------------------- reader


class TileHashReader:
    """Node hashes and proofs for one checkpoint ``(tree_size, root)`` from fetched tiles.

    Nothing fetched is trusted until checked, like Go's ``tlog.TileHashReader``:
    the partial tiles on the right edge must rebuild ``root`` exactly, and each
    full tile must hash to its entry in the (already verified) tile above it.
    A tile that fails raises :class:`TileError` naming its path. ``fetch(path)``
    returns the bytes at a tlog-tiles path (over HTTP, from files, ...); if a
    partial tile cannot be fetched (OSError or LookupError) the full tile is
    tried instead, as the spec allows once a tile has filled.
    """

    def __init__(
        self, tree_size: int, root: bytes, fetch: Callable[[str], bytes], *, cache_tiles: int = 512
    ) -> None:
        if tree_size < 0:
            raise ValueError(f"tree size {tree_size} is negative")
        if len(root) != HASH_SIZE:
            raise ValueError(f"root has {len(root)} bytes, want {HASH_SIZE}")
        if tree_size == 0 and root != merkle.EMPTY_ROOT:
            raise TileError("(none)", "an empty tree must have the empty root")
        self.tree_size = tree_size
        self.root = bytes(root)
        self._fetch = fetch
        self._tiles = _TileCache(cache_tiles)
        self._subtree = merkle.SubtreeCache(self.node_hash)
        self._edge: dict[tuple[int, int], list[list[bytes]]] | None = None

    def _fetch_tile(self, level: int, index: int, width: int) -> list[bytes]:
        path = tile_path(level, index, width)
        try:
            data = self._fetch(path)
        except (OSError, LookupError):
            if width == TILE_WIDTH:
                raise
            data = self._fetch(tile_path(level, index))[: width * HASH_SIZE]
        if len(data) != width * HASH_SIZE:
            raise TileError(path, f"has {len(data)} bytes, want {width * HASH_SIZE}")
        return _split_hashes(bytes(data))

    def _verify_edge(self) -> dict[tuple[int, int], list[list[bytes]]]:
        if self._edge is not None:
            return self._edge
        edge: dict[tuple[int, int], list[list[bytes]]] = {}
        for level, index, width in edge_tiles(self.tree_size):
            edge[(level, index)] = _tile_rows(self._fetch_tile(level, index, width))

        def from_edge(lvl: int, idx: int) -> bytes:
            tl, t, r, j = _locate(lvl, idx)
            return edge[(tl, t)][r][j]

        if merkle.root_from_nodes(self.tree_size, from_edge) != self.root:
            paths = ", ".join(tile_path(*e) for e in edge_tiles(self.tree_size))
            raise TileError(
                paths, f"right-edge tiles do not lead to the root at size {self.tree_size}"
            )
        self._edge = edge
        for key, rows in edge.items():
            self._tiles.add(key, rows)
        return edge

    def _rows_for(self, tile_level: int, tile_index: int) -> list[list[bytes]]:
        rows = self._tiles.get((tile_level, tile_index))
        if rows is not None:
            return rows
        width = _tile_width(self.tree_size, tile_level, tile_index)
        if width == 0:
            raise ProofError(f"tile {tile_level}/{tile_index} is beyond tree size {self.tree_size}")
        if width < TILE_WIDTH:
            return self._verify_edge()[(tile_level, tile_index)]
        rows = _tile_rows(self._fetch_tile(tile_level, tile_index, TILE_WIDTH))
        # A full tile is authenticated by its hash in the tile above.
        parent_level = tile_level + 1
        parent = self._rows_for(parent_level, tile_index // TILE_WIDTH)[0]
        if rows[-1][0] != parent[tile_index % TILE_WIDTH]:
            raise TileError(
                tile_path(tile_level, tile_index),
                f"does not match its hash in {tile_path(parent_level, tile_index // 256)}",
            )
        self._tiles.add((tile_level, tile_index), rows)
        return rows

    def node_hash(self, level: int, index: int) -> bytes:
        """Verified hash of complete node ``(level, index)`` of this tree."""
        if level < 0 or index < 0 or ((index + 1) << level) > self.tree_size:
            raise ProofError(f"node ({level}, {index}) is not complete at size {self.tree_size}")
        r = level & 7
        t = (index << r) >> 8
        rows = self._tiles.get((level >> 3, t))
        if rows is None:
            rows = self._rows_for(level >> 3, t)
        return rows[r][index - (t << (8 - r))]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """Inclusion proof for leaf ``index`` in this tree, from verified tiles."""
        return _tiled_inclusion_proof(index, self.tree_size, self._rows_for, self._subtree)

    def consistency_proof(self, size1: int) -> list[bytes]:
        """Consistency proof from ``size1`` to this tree, from verified tiles."""
        return _tiled_consistency_proof(
            size1, self.tree_size, self._rows_for, self.node_hash, self._subtree
        )

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Verified leaf hashes ``[start, end)`` (to check fetched entry bundles against)."""
        if not 0 <= start <= end <= self.tree_size:
            raise ValueError(f"leaf range [{start}, {end}) is outside 0..{self.tree_size}")
        out: list[bytes] = []
        t = start // TILE_WIDTH
        while t * TILE_WIDTH < end:
            row = self._rows_for(0, t)[0]
            lo = max(start - t * TILE_WIDTH, 0)
            hi = min(end - t * TILE_WIDTH, len(row))
            out.extend(row[lo:hi])
            t += 1
        return out
