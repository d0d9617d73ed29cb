"""SIGKILL the sync 20 times at random points of a 100k-entry sync: the store it ends
with equals a clean sync's store, row for row (no duplicates, nothing missing)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from sqlalchemy import select

from app.models import store as st
from ledger.note import Checkpoint, Signer, generate_signer, sign_checkpoint
from ledger.tiles import TileLog
from tests.models.test_sync import TamperedServer
from tests.world import ROOT, World

ENTRIES = 100_000
TABLES = (
    "entries",
    "operators",
    "stations",
    "piles",
    "meters",
    "meter_keys",
    "heartbeats",
    "authority_keys",
    "checkpoints",
)


@pytest.fixture(scope="module")
def log_server(tmp_path_factory):
    """A 100k-entry log in tlog-tiles layout, served over HTTP on loopback."""
    directory = tmp_path_factory.mktemp("log")
    skey, vkey = generate_signer("kill.example/log")
    world = World()
    log = TileLog(directory, fsync=False)
    log.append([r.to_bytes() for r in world.registry()])
    step = 10_000
    for start in range(0, ENTRIES - log.size, step):
        count = min(step, ENTRIES - log.size)
        log.append([r.to_bytes() for r in world.heartbeats(start, count)])
    note = sign_checkpoint(Checkpoint("kill.example/log", log.size, log.root()), Signer(skey))
    (directory / "checkpoint").write_bytes(note)
    server = TamperedServer(directory)
    yield server.url, vkey
    server.stop()


def sync_command(url: str, vkey: str, db: str) -> list[str]:
    return [
        sys.executable,
        "main.py",
        "sync",
        "--platform",
        url,
        "--log-key",
        vkey,
        "--db",
        db,
        "--quiet",
        "--workers",
        "2",
    ]


def dump(url: str) -> dict[str, list[tuple]]:
    with st.Store.open(url) as store, store.engine.connect() as conn:
        out = {}
        for name in TABLES:
            table = st.metadata.tables[name]
            columns = [c for c in table.c if c.name not in ("id", "accepted_at")]
            out[name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*columns))]
        state = st.get_sync_state(conn, "kill.example/log")
        out["sync_state"] = [(state.size, state.root, state.compact_range, state.status)]
        return out


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request, tmp_path):
    """Two empty stores of one backend: one for the clean sync, one for the killed one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clean.sqlite'}", f"sqlite:///{tmp_path / 'killed.sqlite'}"
        return
    server = request.getfixturevalue("pg_server")
    names = [server.create_database(), server.create_database()]
    try:
        yield server.url(names[0]), server.url(names[1])
    finally:
        for name in names:
            server.drop_database(name)


def test_sigkill_during_sync_then_resume_equals_clean_sync(log_server, two_databases, tmp_path):
    url, vkey = log_server
    clean, killed = two_databases
    subprocess.run(sync_command(url, vkey, clean), cwd=ROOT, check=True, capture_output=True)
    rng = random.Random(2026)
    kills = 0
    progress = []
    while kills < 20:
        errors = tmp_path / f"sync-{kills}.err"
        with errors.open("wb") as err:
            proc = subprocess.Popen(
                sync_command(url, vkey, killed), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            proc.wait(timeout=rng.uniform(0.3, 2.5))  # a random point of the sync
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            kills += 1
            with st.Store.open(killed) as store:
                state = store.get_sync_state("kill.example/log")
                progress.append(state.size if state else 0)
            continue
        assert proc.returncode == 0, errors.read_text(errors="replace")[-3000:]
        break  # finished before it could be killed again
    subprocess.run(sync_command(url, vkey, killed), cwd=ROOT, check=True, capture_output=True)
    assert kills >= 5, progress
    assert progress == sorted(progress)  # every run resumed, none went backwards
    assert dump(killed) == dump(clean)
    assert len(dump(clean)["entries"]) == ENTRIES
