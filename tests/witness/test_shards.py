"""Issue #17's acceptance: four shard logs, three witnesses, one signed log list — all real
processes on loopback.

Four `python -m ledger serve` platforms are the quarterly shards of one city's ledger; each
new shard starts with the registry records its entries' signers need, carried from the shard
before. Three `python -m ledger witness` processes cosign every shard; the national
authority's signed list names the shards, their keys and URLs, and a 2-of-3 quorum. The
office follows the list (`app.models.list_sync.ListSync`), and then:

* a fifth shard appears in a newer list and is picked up; the older list is refused;
* a platform shows a second workstation another history of one shard (a split view, through
  a switching proxy at the URL the list names): the witnesses will not cosign it, both
  workstations refuse it, and a witness's kept evidence proves it to a third party with the
  shard's published key alone;
* with two witnesses down, a grown shard's checkpoint lacks its quorum and is refused while
  the other shards sync on.
"""

from __future__ import annotations

import http.client
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import evidence
from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.list_sync import ListSync, StoredLogClients
from app.models.logs import LOG_BITS, split_key
from ledger.bundle import build_bundle
from ledger.bundle_verify import verify_bundle
from ledger.client import LogClient
from ledger.cosignature import Cosigner, WitnessPolicy
from ledger.loglist import LogEntry, LogList, LogListError, sign_log_list
from ledger.note import ALG_COSIGNATURE_V1, Signer, Verifier, generate_signer
from ledger.sigcheck import SignatureChecker
from tests.witness.test_processes import WitnessProcess, logged
from tests.world import ROOT, T0, PlatformProcess, World

QUARTER_MS = 7_776_000_000  # 90 days
Q1 = 1_767_196_800_000  # 2026-01-01T00:00+08:00
HEARTBEATS = 24  # per shard


class SwitchingProxy:
    """A platform address that forwards to whichever backend it is told: how a dishonest
    operator shows different clients different logs behind one URL."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                target = urllib.parse.urlsplit(proxy.backend)
                conn = http.client.HTTPConnection(target.netloc, timeout=60)
                try:
                    conn.request("GET", self.path)
                    answer = conn.getresponse()
                    body = answer.read()
                finally:
                    conn.close()
                self.send_response(answer.status)
                for name in ("Content-Type", "Cache-Control"):
                    if answer.getheader(name):
                        self.send_header(name, answer.getheader(name))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def shard_dir(tmp: Path, name: str, skey: str, vkey: str) -> Path:
    data = tmp / name
    data.mkdir()
    (data / "log.key").write_text(skey + "\n")
    (data / "log.key").chmod(0o600)
    (data / "log.vkey").write_text(vkey + "\n")
    return data


@pytest.fixture
def city(tmp_path):
    """Four shard keys, three witnesses configured for all of them, the list's key."""
    shards = []
    for q in range(1, 5):
        origin = f"hangzhou.evm.example/2026q{q}"
        skey, vkey = generate_signer(origin)
        shards.append({"origin": origin, "skey": skey, "vkey": vkey, "q": q})
    log_keys = tmp_path / "shard-keys.txt"
    log_keys.write_text("".join(s["vkey"] + "\n" for s in shards))
    witnesses, cosigners = [], []
    for i in range(3):
        wskey, wvkey = generate_signer(f"w{i}.witness.example", ALG_COSIGNATURE_V1)
        key_file = tmp_path / f"w{i}.skey"
        key_file.write_text(wskey + "\n")
        proc = WitnessProcess(tmp_path / f"w{i}", key_file, log_keys)
        witnesses.append(proc)
        cosigners.append(Cosigner(Verifier(wvkey), proc.url))
    config = tmp_path / "platform-witnesses.txt"
    config.write_text(WitnessPolicy(cosigners).to_text())
    authority = generate_signer("samr.gov.example/loglist")
    platforms: list[PlatformProcess] = []
    try:
        yield {
            "shards": shards,
            "witnesses": witnesses,
            "cosigners": cosigners,
            "config": config,
            "authority": authority,
            "platforms": platforms,
        }
    finally:
        for proc in platforms:
            proc.stop()
        for proc in witnesses:
            proc.stop()


def start_shard(tmp: Path, city: dict, shard: dict, name: str | None = None) -> PlatformProcess:
    data = shard_dir(tmp, name or f"shard{shard['q']}", shard["skey"], shard["vkey"])
    proc = PlatformProcess(data, "--origin", shard["origin"], "--witnesses", str(city["config"]))
    city["platforms"].append(proc)
    return proc


def entry(shard: dict, url: str, state: str, cosigners: list[Cosigner]) -> LogEntry:
    start = Q1 + (shard["q"] - 1) * QUARTER_MS
    witnesses = tuple(c.verifier.vkey for c in cosigners)
    return LogEntry(
        shard["origin"], shard["vkey"], url, "330100", (start, start + QUARTER_MS), state,
        2, witnesses,
    )  # fmt: skip


def write_list(path: Path, city: dict, sequence: int, logs: list[LogEntry]) -> None:
    text = sign_log_list(LogList(sequence, Q1, tuple(logs)), Signer(city["authority"][0]))
    path.write_bytes(text)


def post_shard(proc: PlatformProcess, shard: dict, world: World, seq0: int) -> int:
    """The shard's registry (carried from the shard before) and its quarter's heartbeats."""
    client = LogClient(proc.url, shard["vkey"])
    try:
        return logged(proc, world.registry() + world.heartbeats(seq0, HEARTBEATS), client)
    finally:
        client.close()


def keys_by_log(store: st.Store) -> dict[int, int]:
    with store.engine.connect() as conn:
        keys = conn.execute(select(st.heartbeats.c.entry_index)).scalars().all()
    counts: dict[int, int] = {}
    for key in keys:
        counts[split_key(key)[0]] = counts.get(split_key(key)[0], 0) + 1
    return counts


def test_four_shards_three_witnesses_split_view_and_quorum(tmp_path, city):
    shards, cosigners = city["shards"], city["cosigners"]
    world = World()
    procs = [start_shard(tmp_path, city, s) for s in shards[:3]]
    sizes = [post_shard(p, s, world, i * HEARTBEATS) for i, (p, s) in enumerate(zip(procs, shards))]
    proxy = SwitchingProxy(procs[1].url)  # the address the list names for Q2
    urls = [procs[0].url, proxy.url, procs[2].url]
    ningbo = LogEntry(
        "ningbo.evm.example/2026q1",
        generate_signer("ningbo.evm.example/2026q1")[1],
        "http://127.0.0.1:9",
        "330200",
        (Q1, Q1 + QUARTER_MS),
        "usable",
    )  # fmt: skip — another city's log: a Hangzhou office does not follow it
    list_file = tmp_path / "loglist.note"
    write_list(
        list_file,
        city,
        1,
        [entry(s, u, "usable", cosigners) for s, u in zip(shards, urls)] + [ningbo],
    )
    authority = Verifier(city["authority"][1])
    stores = [st.Store.open(f"sqlite:///{tmp_path / f'office{i}.sqlite'}") for i in (1, 2)]
    checker = SignatureChecker(workers=0)
    office = ListSync(stores[0], authority, str(list_file), "3301", checker=checker,
                      on_batch=analyse_batch)  # fmt: skip
    try:
        # -- the office syncs every shard of its region, each verified on its own
        result = office.sync_once()
        assert {o.origin: o.status for o in result.outcomes} == {
            s["origin"]: "ok" for s in shards[:3]
        }, [str(o.error) for o in result.outcomes]
        assert [o.result.new_size for o in result.outcomes] == sizes
        with stores[0].engine.connect() as conn:
            numbers = dict(conn.execute(select(st.logs.c.origin, st.logs.c.log_no)).all())
            twins = conn.execute(select(func.count()).select_from(st.misbehaviour)).scalar()
            alarms = conn.execute(select(st.alarms.c.rule_id)).scalars().all()
        # numbered in shard order (a pile's records keep their time order by key)
        assert [numbers[s["origin"]] for s in shards[:3]] == [
            numbers[shards[0]["origin"]] + k for k in range(3)
        ]
        assert keys_by_log(stores[0]) == {numbers[s["origin"]]: HEARTBEATS for s in shards[:3]}
        # the carried registry records are no "twins", and nothing else was accused
        assert twins == 0 and not [a for a in alarms if a and a.startswith("L")], alarms

        # -- an evidence bundle of Q3's quarter proves its entries against Q3's checkpoint,
        # signers included (their registry records carried into Q3), with Q3's key alone
        clients = StoredLogClients(stores[0])
        start_q3 = T0 + 2 * HEARTBEATS * 900_000
        inputs = evidence.pile_evidence(stores[0], clients, "P1", start_q3, start_q3 + 3_600_000)
        verdict = verify_bundle(build_bundle(inputs), shards[2]["vkey"])
        assert verdict.ok, verdict.text()
        assert verdict.checkpoint.origin == shards[2]["origin"]
        assert {v.rtype for v in verdict.entries} >= {"heartbeat", "meter", "authority"}
        with pytest.raises(evidence.EvidenceError, match="several logs"):
            evidence.pile_evidence(stores[0], clients, "P1", T0, T0 + 86_400_000)
        clients.close()

        # -- a new list: Q4 appears, Q1 becomes read-only; the older list is refused after
        procs.append(start_shard(tmp_path, city, shards[3]))
        sizes.append(post_shard(procs[3], shards[3], world, 3 * HEARTBEATS))
        urls.append(procs[3].url)
        states = ["read-only", "usable", "usable", "usable"]
        logs2 = [entry(s, u, x, cosigners) for s, u, x in zip(shards, urls, states)]
        old_list = list_file.read_bytes()
        write_list(list_file, city, 2, [*logs2, ningbo])
        result = office.sync_once()
        assert result.sequence == 2
        assert {o.origin: o.status for o in result.outcomes} == {s["origin"]: "ok" for s in shards}
        q4 = next(o for o in result.outcomes if o.origin == shards[3]["origin"])
        assert q4.result.applied == sizes[3] and q4.log_no == max(numbers.values()) + 1
        with stores[0].engine.connect() as conn:
            state_q1 = conn.execute(
                select(st.logs.c.state).where(st.logs.c.origin == shards[0]["origin"])
            ).scalar()
        assert state_q1 == "read-only"
        newest = list_file.read_bytes()
        list_file.write_bytes(old_list)  # a mirror serving the old list: a rollback
        with pytest.raises(LogListError, match="older than the 2 already accepted"):
            office.sync_once()
        list_file.write_bytes(newest)

        # -- split view: Q2's operator shows another history of the same size behind the
        # same URL. The witnesses saw the first one; they refuse and keep the evidence.
        fork = start_shard(tmp_path, city, shards[1], name="shard2-fork")
        fork_size = logged(
            fork,
            world.registry() + world.heartbeats(500, HEARTBEATS),
            LogClient(fork.url, shards[1]["vkey"]),
        )
        assert fork_size == sizes[1]
        proxy.backend = fork.url
        second = ListSync(stores[1], authority, str(list_file), "3301", checker=checker)
        try:
            seen = {o.origin: o for o in second.sync_once().outcomes}
        finally:
            second.close()
        q2 = shards[1]["origin"]
        assert seen[q2].status == "offline" and "requires 2" in str(seen[q2].error)
        assert all(seen[s["origin"]].status == "ok" for s in shards if s["origin"] != q2)
        assert stores[1].get_sync_state(q2).size == 0  # nothing of the other history
        again = {o.origin: o for o in office.sync_once().outcomes}
        assert again[q2].status == "offline"  # the first office refuses it as well
        assert stores[0].get_sync_state(q2).size == sizes[1]
        kept = [p for w in city["witnesses"] for p in (w.data / "evidence").glob("*/split-view-*")]
        assert len(kept) == 3, kept  # every witness was shown the second history
        out = subprocess.run(
            [sys.executable, "-m", "ledger", "witness", "check-evidence", str(kept[0]),
             "--log-key", shards[1]["vkey"]],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "SPLIT VIEW PROVEN" in out.stdout and f"size {sizes[1]}" in out.stdout
        proxy.backend = procs[1].url

        # -- two witnesses down: Q3 grows, its new checkpoint lacks the quorum
        city["witnesses"][0].stop()
        city["witnesses"][1].stop()
        client = LogClient(procs[2].url, shards[2]["vkey"])
        grown = logged(procs[2], world.heartbeats(900, 5), client)
        client.close()
        outcomes = {o.origin: o for o in office.sync_once().outcomes}
        q3 = shards[2]["origin"]
        assert outcomes[q3].status == "offline", outcomes[q3].error
        assert "w0.witness.example" in str(outcomes[q3].error)
        assert stores[0].get_sync_state(q3).size == sizes[2] < grown
        assert all(outcomes[s["origin"]].status == "ok" for s in shards if s["origin"] != q3)

        # the headless sync says the same, log by log; exit 1 (a log offline)
        cli = subprocess.run(
            [sys.executable, "main.py", "sync", "--log-list", str(list_file),
             "--list-key", city["authority"][1], "--region", "3301", "--quiet",
             "--workers", "0", "--db", f"sqlite:///{tmp_path / 'cli.sqlite'}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stderr
        assert f"{q3}: offline" in cli.stderr and "requires 2" in cli.stderr
        for s in (shards[0], shards[1], shards[3]):
            assert f"{s['origin']}: synced" in cli.stdout
        assert "ningbo" not in cli.stdout + cli.stderr
    finally:
        office.close()
        checker.close()
        proxy.close()
        for store in stores:
            store.close()


def test_keys_of_a_log_stay_in_its_range():
    """A log's keys never reach the next log's, at the largest index a log may have."""
    from app.models.logs import MAX_INDEX, LogLimitError, entry_key

    assert split_key(entry_key(3, MAX_INDEX)) == (3, MAX_INDEX)
    assert entry_key(3, MAX_INDEX) + 1 == entry_key(4, 0) == 4 << LOG_BITS
    assert entry_key(0, 12345) == 12345  # a single-log store's keys are its indexes
    with pytest.raises(LogLimitError):
        entry_key(3, MAX_INDEX + 1)
    assert json.loads(json.dumps(entry_key(2**22, 7))) == entry_key(2**22, 7)
