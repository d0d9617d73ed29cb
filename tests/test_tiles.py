"""Tests for ledger.tiles: tlog-tiles paths and bundles, TileLog on disk, the verifying reader."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.merkle import MemoryTree, ProofError
from ledger.tiles import (
    MAX_ENTRY_SIZE,
    TileError,
    TileHashReader,
    TileLog,
    TileLogError,
    TileRef,
    decode_bundle,
    edge_tiles,
    encode_bundle,
    entries_path,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)

# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "args,path",
    [
        ((0, 0), "tile/0/000"),
        ((0, 1234), "tile/0/x001/234"),
        ((0, 1234, 12), "tile/0/x001/234.p/12"),
        ((0, 1234067), "tile/0/x001/x234/067"),
        ((2, 5, 1), "tile/2/005.p/1"),
        ((63, 1000, 255), "tile/63/x001/000.p/255"),
        ((1, 999_999_999), "tile/1/x999/x999/999"),
    ],
)
def test_tile_path(args: tuple[int, ...], path: str) -> None:
    assert tile_path(*args) == path
    level, index, *width = args
    assert parse_tile_path(path) == TileRef(level, index, width[0] if width else 256, False)


def test_entries_path() -> None:
    assert entries_path(1234) == "tile/entries/x001/234"
    assert entries_path(1234, 7) == "tile/entries/x001/234.p/7"
    assert parse_tile_path("tile/entries/x001/x234/067.p/8") == TileRef(0, 1234067, 8, True)


@pytest.mark.parametrize(
    "args", [(64, 0), (-1, 0), (0, -1), (0, 0, 0), (0, 0, 257), (True, 0), (0, 1.5)]
)
def test_tile_path_rejects(args: tuple[object, ...]) -> None:
    with pytest.raises(ValueError):
        tile_path(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/001",  # leading zero group
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/0/01",
        "tile/0/0001",
        "tile/0/x001",
        "tile/0/001/x234",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/012",
        "tile/0/001.p/",
        "tile/0/001.p/1/",
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/x1/000",
        "tile/entries/001.p/1x",
        "tile/8/0/000",  # sumdb's height-prefixed form is not tlog-tiles
        "tile/data/000",
        "tile//000",
        "tile/0/-01",
        "tile/0/00a",
        "tile/0/x001/0x3",
        "tile/0/000.p/8.p/9",
    ],
)
def test_parse_rejects_non_canonical(path: str) -> None:
    with pytest.raises(ValueError):
        parse_tile_path(path)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 63), st.integers(0, 10**15), st.integers(1, 256), st.booleans())
def test_path_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    path = entries_path(index, width) if entries else tile_path(level, index, width)
    assert parse_tile_path(path) == TileRef(0 if entries else level, index, width, entries)


def test_tiles_for_size_follows_spec_example() -> None:
    tiles = tiles_for_size(70_000)
    level0 = [t for t in tiles if t[0] == 0]
    assert len(level0) == 274 and level0[-1] == (0, 273, 112)
    assert all(w == 256 for _l, _i, w in level0[:-1])
    assert [t for t in tiles if t[0] == 1] == [(1, 0, 256), (1, 1, 17)]
    assert [t for t in tiles if t[0] == 2] == [(2, 0, 1)]
    assert tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)]
    assert tiles_for_size(0) == []
    assert edge_tiles(70_000) == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert edge_tiles(65536) == [(2, 0, 1)]


# --------------------------------------------------------------------------- bundles


def test_bundle_round_trip_and_format() -> None:
    entries = [b"", b"a", b"\x00" * 300, b"x" * MAX_ENTRY_SIZE]
    data = encode_bundle(entries)
    assert data[:3] == b"\x00\x00\x00" and data[3:6] == b"\x01a\x01"
    assert decode_bundle(data) == entries
    assert decode_bundle(b"") == []


def test_bundle_limits_and_truncation() -> None:
    with pytest.raises(ValueError, match="65535"):
        encode_bundle([b"x" * (MAX_ENTRY_SIZE + 1)])
    data = encode_bundle([b"abc", b"defg"])
    with pytest.raises(ValueError, match="offset 5: incomplete length prefix"):
        decode_bundle(data[:6])
    with pytest.raises(ValueError, match="offset 5: entry of 4 bytes, 2 left"):
        decode_bundle(data[:9])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=40))
def test_bundle_property(entries: list[bytes]) -> None:
    assert decode_bundle(encode_bundle(entries)) == entries


# --------------------------------------------------------------------------- TileLog

RNG = random.Random(20261125)
ENTRIES = [RNG.randbytes(RNG.randint(0, 80)) for _ in range(70_100)]
LEAVES = merkle.leaf_hashes(ENTRIES)


@pytest.fixture(scope="module")
def memtree() -> MemoryTree:
    return MemoryTree(LEAVES)


def files(directory: Path, only_unlinked: bool = False) -> dict[str, bytes]:
    """Every file's contents by path; with ``only_unlinked``, ``b""`` for hard-linked ones.

    Hard-linked files are still the pristine copy (TileLog never writes in
    place), so skipping their contents keeps the crash test fast.
    """
    out = {}
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            if name.startswith(".tmp-"):
                continue
            p = Path(dirpath, name)
            rel = p.relative_to(directory).as_posix()
            out[rel] = b"" if only_unlinked and p.stat().st_nlink > 1 else p.read_bytes()
    return out


def build(directory: Path, batches: list[int], fsync: bool = False) -> TileLog:
    log = TileLog(directory, fsync=fsync)
    for b in batches:
        log.append(ENTRIES[log.size : log.size + b])
    return log


def test_odd_batches_reopen_and_proofs(tmp_path: Path, memtree: MemoryTree) -> None:
    batches = [1, 255, 256, 257, 1000, 3, 1]
    log = build(tmp_path, batches, fsync=True)
    n = sum(batches)
    assert log.size == n and log.root() == memtree.root(n) == merkle.root(LEAVES[:n])

    log = TileLog.open(tmp_path)
    assert log.size == n and log.root() == memtree.root(n)
    rng = random.Random(1)
    for size in [1, 2, 255, 256, 257, 511, 512, 513, 768, 1000, n - 1, n]:
        assert log.root(size) == memtree.root(size)
        for i in {0, size - 1, rng.randrange(size)}:
            assert log.inclusion_proof(i, size) == memtree.inclusion_proof(i, size)
        for s1 in {0, 1, size // 2, size - 1, size}:
            assert log.consistency_proof(s1, size) == memtree.consistency_proof(s1, size)
    assert log.read_entries(0, n) == ENTRIES[:n]
    assert log.read_entries(250, 770) == ENTRIES[250:770]
    assert log.read_entries(n, n) == []
    with pytest.raises(ProofError):
        log.inclusion_proof(0, n + 1)
    with pytest.raises(ValueError):
        log.read_entries(0, n + 1)


def test_layout_is_exactly_the_spec_tiles(tmp_path: Path) -> None:
    log = build(tmp_path, [70_000])
    on_disk = set(files(tmp_path)) - {".tilelog-state"}
    want = {tile_path(*t) for t in tiles_for_size(70_000)}
    want |= {entries_path(i) for i in range(273)} | {entries_path(273, 112)}
    assert on_disk == want
    # Each level-1 hash is the root of the level-0 tile under it (tile maths per spec).
    level1 = (tmp_path / tile_path(1, 0)).read_bytes()
    for i in (0, 17, 255):
        assert level1[32 * i : 32 * i + 32] == merkle.root(LEAVES[256 * i : 256 * (i + 1)])
    bundle = decode_bundle((tmp_path / entries_path(273, 112)).read_bytes())
    assert bundle == ENTRIES[273 * 256 : 70_000]
    assert log.size == 70_000


def test_partial_tiles_replaced_when_filled_and_full_tiles_immutable(tmp_path: Path) -> None:
    log = build(tmp_path, [100])
    assert (tmp_path / "tile/0/000.p/100").is_file()
    assert (tmp_path / "tile/entries/000.p/100").is_file()
    log.append(ENTRIES[100:200])
    # Partials for sizes that had a checkpoint stay until the tile fills.
    assert (tmp_path / "tile/0/000.p/100").is_file() and (tmp_path / "tile/0/000.p/200").is_file()
    log.append(ENTRIES[200:300])
    assert not (tmp_path / "tile/0/000.p").exists()
    assert not (tmp_path / "tile/entries/000.p").exists()
    full = tmp_path / "tile/0/000"
    before = (full.read_bytes(), full.stat().st_ino, full.stat().st_mtime_ns)
    log.append(ENTRIES[300:1000])
    assert (full.read_bytes(), full.stat().st_ino, full.stat().st_mtime_ns) == before
    assert (tmp_path / "tile/1/000.p/3").is_file()


class Crash(Exception):
    pass


def crash_after(monkeypatch: pytest.MonkeyPatch, k: int) -> list[str]:
    """Make TileLog._write_file fail on its (k+1)-th call; returns the paths written."""
    written: list[str] = []
    original = TileLog._write_file

    def failing(self: TileLog, rel: str, data: bytes) -> None:
        if len(written) == k:
            raise Crash(rel)
        original(self, rel, data)
        written.append(rel)

    monkeypatch.setattr(TileLog, "_write_file", failing)
    return written


def count_writes(directory: Path, batch: list[bytes], monkeypatch: pytest.MonkeyPatch) -> int:
    written = crash_after(monkeypatch, 10**9)
    TileLog(directory, fsync=False).append(batch)
    monkeypatch.undo()
    return len(written)


@pytest.mark.parametrize("base,extra", [([600, 70], 700), ([65_000], 1_000)])
def test_crash_at_every_write_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: list[int], extra: int
) -> None:
    """Kill the append at each file write; reopen; re-append what is missing; same log."""
    old = sum(base)
    batch = ENTRIES[old : old + extra]
    pristine = tmp_path / "pristine"
    build(pristine, base)
    shutil.copytree(pristine, tmp_path / "ref", copy_function=os.link)
    n_writes = count_writes(tmp_path / "ref", batch, monkeypatch)
    want_files = files(tmp_path / "ref", only_unlinked=True)
    want_root = merkle.root(LEAVES[: old + extra])
    assert n_writes >= 8  # bundles, level-0 tiles, a level-1 tile, the state file

    # Every write for the small log; around the level-1 tile fill for the big one.
    ks = (
        range(n_writes)
        if old < 65_000
        else sorted({0, 1, n_writes // 2, *range(n_writes - 4, n_writes)})
    )
    for k in ks:
        work = tmp_path / f"crash{k}"
        # Hard links are safe: TileLog never writes a file in place.
        shutil.copytree(pristine, work, copy_function=os.link)
        crash_after(monkeypatch, k)
        with pytest.raises(Crash):
            TileLog(work, fsync=False).append(batch)
        monkeypatch.undo()
        log = TileLog.open(work, fsync=False)
        assert log.size == old, k  # the state file is the last write: nothing committed
        assert log.root() == merkle.root(LEAVES[:old])
        # The platform re-appends what the log does not have.
        log.append(ENTRIES[log.size : old + extra])
        assert log.root() == want_root
        assert files(work, only_unlinked=True) == want_files, k


def test_lost_state_file_rescans_last_complete_size(tmp_path: Path, memtree: MemoryTree) -> None:
    build(tmp_path, [600, 300])
    (tmp_path / ".tilelog-state").unlink()
    log = TileLog(tmp_path, fsync=False)
    assert log.size == 900 and log.root() == memtree.root(900)

    # A torn edge tile (no fsync, power loss) makes that size unusable: fall back.
    (tmp_path / ".tilelog-state").unlink()
    (tmp_path / "tile/0/003.p/132").write_bytes(b"\0" * 100)
    log = TileLog(tmp_path, fsync=False)
    assert log.size == 768 and log.root() == memtree.root(768)
    log.append(ENTRIES[768:900])
    assert log.root() == memtree.root(900)
    assert (tmp_path / "tile/0/003.p/132").read_bytes() == b"".join(LEAVES[768:900])

    # Entry bundle written but its tiles never were: not complete.
    (tmp_path / ".tilelog-state").unlink()
    for p in (tmp_path / "tile/0/003.p").iterdir():
        p.unlink()
    log = TileLog(tmp_path, fsync=False)
    assert log.size == 768


def test_corrupt_state_is_an_error(tmp_path: Path) -> None:
    build(tmp_path, [10])
    state = tmp_path / ".tilelog-state"
    data = bytearray(state.read_bytes())
    data[20] ^= 1
    state.write_bytes(bytes(data))
    with pytest.raises(TileLogError, match="corrupt"):
        TileLog(tmp_path)


def test_state_pointing_at_missing_tiles_is_an_error(tmp_path: Path) -> None:
    build(tmp_path, [10])
    (tmp_path / "tile/0/000.p/10").unlink()
    with pytest.raises(TileLogError, match="missing"):
        TileLog(tmp_path)


def test_append_validates_entries(tmp_path: Path) -> None:
    log = TileLog(tmp_path, fsync=False)
    assert log.append([]) == 0
    with pytest.raises(ValueError, match="65535"):
        log.append([b"ok", b"x" * (MAX_ENTRY_SIZE + 1)])
    with pytest.raises(TypeError):
        log.append(["text"])  # type: ignore[list-item]
    assert log.size == 0 and log.root() == merkle.EMPTY_ROOT


# --------------------------------------------------------------------------- TileHashReader


def file_fetch(directory: Path) -> Callable[[str], bytes]:
    return lambda path: (directory / path).read_bytes()


@pytest.fixture(scope="module")
def served_log(tmp_path_factory: pytest.TempPathFactory) -> TileLog:
    return build(tmp_path_factory.mktemp("served"), [300, 70_000 - 300])


@pytest.fixture(scope="module")
def served(served_log: TileLog) -> Path:
    return served_log.directory


def test_reader_proofs_match(served: Path, memtree: MemoryTree) -> None:
    n = 70_000
    reader = TileHashReader(n, memtree.root(n), file_fetch(served))
    rng = random.Random(2)
    for i in [0, 255, 256, n - 1, *(rng.randrange(n) for _ in range(50))]:
        assert reader.inclusion_proof(i) == memtree.inclusion_proof(i, n)
    for s1 in [0, 1, 256, 65536, n - 1, n, *(rng.randrange(n) for _ in range(20))]:
        assert reader.consistency_proof(s1) == memtree.consistency_proof(s1, n)
    assert reader.leaf_hashes(200, 800) == LEAVES[200:800]
    assert reader.leaf_hashes(69_990, n) == LEAVES[69_990:n]
    assert reader.node_hash(16, 0) == memtree.get_node(16, 0)
    with pytest.raises(ProofError):
        reader.node_hash(0, n)


def test_reader_older_checkpoint_falls_back_to_full_tile(served: Path, memtree: MemoryTree) -> None:
    # Size 300's partial tile/0/001.p/44 was deleted once the tile filled.
    assert not (served / "tile/0/001.p/44").exists()
    reader = TileHashReader(300, memtree.root(300), file_fetch(served))
    assert reader.inclusion_proof(299) == memtree.inclusion_proof(299, 300)


def replace_file(path: Path, data: bytes) -> None:
    """Write a new file (never through a hard link shared with the served log)."""
    path.unlink()
    path.write_bytes(data)


def corrupt_copy(src: Path, dst: Path, rel: str, offset: int = 0) -> None:
    shutil.copytree(src, dst, copy_function=os.link)
    data = bytearray((dst / rel).read_bytes())
    data[offset] ^= 0x40
    replace_file(dst / rel, bytes(data))


def test_reader_rejects_corrupted_full_tile(
    served: Path, tmp_path: Path, memtree: MemoryTree
) -> None:
    corrupt_copy(served, tmp_path / "c", "tile/0/105", offset=33)
    reader = TileHashReader(70_000, memtree.root(70_000), file_fetch(tmp_path / "c"))
    assert reader.inclusion_proof(0) == memtree.inclusion_proof(0, 70_000)  # other tiles fine
    with pytest.raises(TileError, match="tile/0/105") as err:
        reader.inclusion_proof(105 * 256 + 7)
    assert err.value.path == "tile/0/105"


def test_reader_rejects_corrupted_level1_tile(
    served: Path, tmp_path: Path, memtree: MemoryTree
) -> None:
    corrupt_copy(served, tmp_path / "c", "tile/1/000", offset=32 * 9)
    reader = TileHashReader(70_000, memtree.root(70_000), file_fetch(tmp_path / "c"))
    with pytest.raises(TileError, match="tile/1/000: does not match its hash in tile/2/000"):
        reader.inclusion_proof(9 * 256 + 1)


def test_reader_rejects_corrupted_edge_tile(
    served: Path, tmp_path: Path, memtree: MemoryTree
) -> None:
    corrupt_copy(served, tmp_path / "c", "tile/0/273.p/112", offset=5)
    reader = TileHashReader(70_000, memtree.root(70_000), file_fetch(tmp_path / "c"))
    with pytest.raises(TileError, match=r"tile/0/273\.p/112") as err:
        reader.inclusion_proof(3)
    assert "do not lead to the root" in str(err.value)


def test_reader_rejects_wrong_root_and_bad_lengths(
    served: Path, tmp_path: Path, memtree: MemoryTree
) -> None:
    reader = TileHashReader(70_000, memtree.root(69_999), file_fetch(served))
    with pytest.raises(TileError):
        reader.node_hash(0, 0)
    shutil.copytree(served, tmp_path / "c", copy_function=os.link)
    p = tmp_path / "c" / "tile/0/000"
    replace_file(p, p.read_bytes()[:-1])
    reader = TileHashReader(70_000, memtree.root(70_000), file_fetch(tmp_path / "c"))
    with pytest.raises(TileError, match="tile/0/000: has 8191 bytes, want 8192"):
        reader.node_hash(0, 0)
    with pytest.raises(TileError):
        TileHashReader(0, memtree.root(1), file_fetch(served))
    empty = TileHashReader(0, merkle.EMPTY_ROOT, file_fetch(served))
    assert empty.consistency_proof(0) == []


def test_reader_fetch_counts_stay_small(served: Path, memtree: MemoryTree) -> None:
    fetched: list[str] = []

    def fetch(path: str) -> bytes:
        fetched.append(path)
        return (served / path).read_bytes()

    reader = TileHashReader(70_000, memtree.root(70_000), fetch)
    reader.inclusion_proof(12_345)
    # Edge tiles (3) plus the leaf's level-0 tile and its level-1 parent.
    assert sorted(set(fetched)) == sorted(
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1", "tile/0/048", "tile/1/000"]
    )
    n = len(fetched)
    reader.inclusion_proof(12_346)
    assert len(fetched) == n  # cached
    assert os.path.basename(fetched[0])  # paths are relative, fetchable from any prefix


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 70_000), st.data())
def test_tile_proofs_equal_plain_proofs(
    served_log: TileLog, memtree: MemoryTree, size: int, data: st.DataObject
) -> None:
    """The per-tile fast path gives exactly merkle's proofs, for any size the log has held."""
    log, mem = served_log, memtree
    i = data.draw(st.integers(0, size - 1))
    s1 = data.draw(st.integers(0, size))
    assert log.inclusion_proof(i, size) == mem.inclusion_proof(i, size)
    assert log.consistency_proof(s1, size) == mem.consistency_proof(s1, size)
