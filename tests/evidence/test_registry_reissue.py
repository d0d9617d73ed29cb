"""Evidence bundles find registry records at the entry in force at the time (issue 13,
item 9): once operator OP1's registry record was sent again (same operator, later entry),
``python -m app.reports.dispute`` ended with "the registry entry for operator OP1 was not
found" for every session, old and new."""

from __future__ import annotations

import io
import zipfile

from app.models.store import Store
from app.models.sync import LogSync
from app.reports import dispute
from ledger import bundle_verify
from ledger.client import LogClient
from ledger.records import Record, sign_record
from ledger.sigcheck import SignatureChecker
from tests.evidence.conftest import START, billing, publish, session, tariff
from tests.world import T0, PlatformProcess, World

DAY = 86_400_000


def reissued_operator(world: World) -> Record:
    """OP1's registry record again: same operator and key, a later entry (new name)."""
    body = {
        "operator_id": "OP1",
        "name": "测试运营商（更名）",
        "key": world.oper.public_key.text,
        "at_ms": T0 + 3 * DAY,
    }
    return sign_record("operator", body, world.auth)


def test_dispute_bundles_before_and_after_a_registry_reissue(qapp, tmp_path, capsys):
    world = World()
    records = [
        *world.registry(),
        tariff(world),
        *world.heartbeats(0, 5),
        session(world, "OLD", START),
        billing(world, "OLD", START, 30_000),
        reissued_operator(world),
        session(world, "NEW", START + 4 * DAY),
        billing(world, "NEW", START + 4 * DAY, 30_000),
    ]
    proc = PlatformProcess(tmp_path / "platform")
    try:
        publish(proc, records)
        store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        with Store.open(store_url) as store:
            client = LogClient(proc.url, proc.vkey())
            with SignatureChecker(workers=0) as checker:
                sync = LogSync(store, client, checker, batch=64)
                sync.sync_once()
                sync.close()
            client.close()
        operator_entries = [i for i, r in enumerate(records) if r.type == "operator"]
        assert len(operator_entries) == 2
        base = ["--db", store_url, "--platform", proc.url, "--log-key", proc.vkey()]
        for sid in ("OLD", "NEW"):
            out = tmp_path / f"{sid}.zip"
            code = dispute.main([*base, "--session", sid, "--out", str(out)])
            assert code == 0, capsys.readouterr().err
            assert bundle_verify.verify_bundle(out.read_bytes(), proc.vkey()).ok
            with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
                names = set(z.namelist())
            # The meter record was vouched for by the first operator record, the one in
            # force when it was logged; the new session's bill, logged after the re-issue,
            # by the re-issued one; the old session's chain never reaches the re-issue.
            first, again = operator_entries
            assert f"entries/{first:012d}.entry" in names
            assert (f"entries/{again:012d}.entry" in names) == (sid == "NEW")
    finally:
        proc.stop()
