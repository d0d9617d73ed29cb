"""apply_records on SQLite and PostgreSQL: every record type lands as the rows it should."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import store as s
from app.models.charging.projection import pack_power, unpack_power
from app.models.projection import BatchSummary, apply_records
from app.models.store import Store
from ledger.records import Record
from tests.models.samples import BODIES, METER, METER2, OPER, POWER, every_type, signed


def _rows(store: Store, table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_power_blob_is_little_endian_int32() -> None:
    blob = pack_power([1, -2, 40_000])
    assert blob == b"\x01\x00\x00\x00\xfe\xff\xff\xff\x40\x9c\x00\x00"
    assert unpack_power(blob).tolist() == [1, -2, 40_000]
    assert unpack_power(pack_power([2**40, -(2**40)])).tolist() == [2**31 - 1, -(2**31)]


def test_every_record_type_projects(store: Store) -> None:
    entries = every_type(start=100)
    with store.transaction() as conn:
        summary = apply_records(conn, entries)

    index = {record.type: i for i, record in entries}
    assert summary.counts == {rtype: 1 for rtype in index}
    assert summary.total == 12
    assert (summary.first_index, summary.last_index) == (100, 111)
    assert summary.session_entries == [index["session"]]
    assert summary.seal_entries == [index["seal"]]
    assert summary.billing_entries == [index["billing"]]
    assert summary.pile_ids == {"P000001"}
    assert summary.station_ids == {"ST0001"}
    assert summary.meter_ids == {"M000001"}
    assert summary.meter_key_changes == []
    assert summary.registry_changed

    assert {r["entry_index"]: r["type"] for r in _rows(store, s.entries)} == {
        i: record.type for i, record in entries
    }
    [auth] = _rows(store, s.authority_keys)
    assert auth["entry_index"] == index["authority"]
    assert auth["key_id"] == signed("authority").key_id
    [op] = _rows(store, s.operators)
    assert (op["operator_id"], op["name"], op["key_id"]) == ("OP001", "星星充电", OPER.key_id)
    assert op["credit_code"] is None
    [insp] = _rows(store, s.inspectors)
    assert insp["org"] == "杭州市质量技术监督检测院"
    [station] = _rows(store, s.stations)
    assert (station["lon_e6"], station["lat_e6"]) == (120_163_000, 30_279_000)
    assert station["lon"] == pytest.approx(120.163)
    assert station["lat"] == pytest.approx(30.279)
    assert station["district"] == "拱墅区"
    [pile] = _rows(store, s.piles)
    assert pile["district"] == "拱墅区"  # copied from the station for the map
    assert pile["status"] == "normal"
    assert pile["rated_power_w"] == 120_000
    assert pile["max_current_a"] is None
    [meter] = _rows(store, s.meters)
    assert (meter["key_id"], meter["entry_index"]) == (METER.key_id, index["meter"])
    [mkey] = _rows(store, s.meter_keys)
    assert (mkey["meter_id"], mkey["key_id"], mkey["entry_index"]) == (
        "M000001",
        METER.key_id,
        index["meter"],
    )
    [tariff] = _rows(store, s.tariffs)
    assert tariff["periods"] == BODIES["tariff"]["periods"]

    [session] = _rows(store, s.sessions)
    assert session["entry_index"] == index["session"]
    assert session["station_id"] == "ST0001"
    assert session["energy_wh"] == 40_000
    assert session["pii"] == BODIES["session"]["pii"]
    assert isinstance(session["power_w"], bytes)
    assert len(session["power_w"]) == 4 * len(POWER)
    assert unpack_power(session["power_w"]).tolist() == POWER
    [bill] = _rows(store, s.billing)
    assert (bill["amount_fen"], bill["station_id"], bill["session_id"]) == (6200, "ST0001", "S1")
    [seal] = _rows(store, s.seal_events)
    assert (seal["event"], seal["seq"], seal["register_wh"]) == ("opened", 1, 1_040_000)
    [beat] = _rows(store, s.heartbeats)
    assert (beat["ref_ms"], beat["meter_ms"], beat["temp_dc"]) == (
        1_700_000_300_000,
        1_700_000_302_000,
        315,
    )
    [verification] = _rows(store, s.verifications)
    assert verification["points"] == [{"label": "Imax", "error_ppm": 3100}]
    assert verification["seal_closed"] is True
    assert verification["result"] == "pass"


def test_registry_latest_wins_and_meter_key_changes_are_kept(store: Store) -> None:
    with store.transaction() as conn:
        apply_records(conn, every_type(start=0))
    moved = signed("station", district="西湖区", name="新站名", at_ms=1_700_000_500_000)
    rekeyed = signed("meter", key=METER2.public_key.text, at_ms=1_700_000_600_000)
    same_key_again = signed("meter", heartbeat_s=600, at_ms=1_700_000_700_000)
    with store.transaction() as conn:
        summary = apply_records(
            conn,
            [
                (12, moved),
                # the same session id again, for another charge: a fault of the source (R08)
                (13, signed("session", session_id="S1", connector=2)),
                (14, rekeyed),
                (15, same_key_again),
            ],
        )
    assert summary.meter_key_changes == [14, 15]  # METER -> METER2 -> METER
    assert summary.station_ids == {"ST0001"}
    [station] = _rows(store, s.stations)
    assert (station["district"], station["name"], station["entry_index"]) == (
        "西湖区",
        "新站名",
        12,
    )
    [pile] = _rows(store, s.piles)
    assert pile["district"] == "西湖区"
    [meter] = _rows(store, s.meters)
    assert (meter["key_id"], meter["heartbeat_s"], meter["entry_index"]) == (
        METER.key_id,
        600,
        15,
    )
    history = sorted((r["entry_index"], r["key_id"]) for r in _rows(store, s.meter_keys))
    assert history == [(5, METER.key_id), (14, METER2.key_id), (15, METER.key_id)]
    sessions = _rows(store, s.sessions)
    assert sorted(r["session_id"] for r in sessions) == ["S1", "S1"]


def test_an_older_registry_record_does_not_roll_back(store: Store) -> None:
    with store.transaction() as conn:
        apply_records(conn, [(50, signed("operator", name="新名称"))])
        apply_records(conn, [(10, signed("operator", name="旧名称"))])
    [op] = _rows(store, s.operators)
    assert (op["name"], op["entry_index"]) == ("新名称", 50)


def test_reapplying_an_entry_is_an_integrity_error(store: Store) -> None:
    entries = every_type(start=0)
    with store.transaction() as conn:
        apply_records(conn, entries)
    for again in ([entries[1]], [entries[7]], [(7, signed("heartbeat", seq=99))]):
        with pytest.raises(IntegrityError), store.transaction() as conn:
            apply_records(conn, again)
    assert _count(store, s.entries) == 12
    assert _count(store, s.sessions) == 1


def test_unregistered_pile_is_stored_without_station(store: Store) -> None:
    with store.transaction() as conn:
        apply_records(conn, [(0, signed("session", pile_id="P999"))])
    [session] = _rows(store, s.sessions)
    assert (session["pile_id"], session["station_id"]) == ("P999", None)


def test_empty_batch_and_unknown_type(store: Store) -> None:
    with store.transaction() as conn:
        summary = apply_records(conn, [])
        assert summary.total == 0 and summary.first_index is None
        bogus = Record("tachograph", {}, "p256", "0" * 16, b"")
        with pytest.raises(ValueError, match="no projection for record type"):
            apply_records(conn, [(0, bogus)])


def test_summaries_merge() -> None:
    a = BatchSummary(first_index=5, last_index=9)
    a.counts["session"] = 2
    a.new_entries["session"].extend([5, 9])
    a.pile_ids.add("P1")
    b = BatchSummary(first_index=10, last_index=12)
    b.counts.update({"session": 1, "seal": 1})
    b.new_entries["session"].append(11)
    b.new_entries["seal"].append(12)
    b.pile_ids.add("P2")
    merged = a.merge(b)
    assert merged.counts == {"session": 3, "seal": 1}
    assert merged.session_entries == [5, 9, 11]
    assert merged.seal_entries == [12]
    assert merged.pile_ids == {"P1", "P2"}
    assert (merged.first_index, merged.last_index) == (5, 12)


def test_many_sessions_in_one_batch(store: Store) -> None:
    base = signed("session")
    # distinct records (the projection applies verified entries; signatures are not its
    # business, and one record logged 3,000 times would be 2,999 twins)
    entries = [(i, replace(base, body={**base.body, "session_id": f"S{i}"})) for i in range(3000)]
    with store.transaction() as conn:
        summary = apply_records(conn, entries)
    assert summary.counts["session"] == 3000
    assert summary.session_entries == list(range(3000))
    assert _count(store, s.sessions) == 3000
    with store.engine.connect() as conn:
        blobs = conn.execute(select(s.sessions.c.power_w).limit(5)).scalars().all()
    assert all(unpack_power(b).tolist() == POWER for b in blobs)


# ---- issue 13: one record, one entry; who may sign what ----------------------------------


def test_a_twin_is_not_applied_but_reported_against_the_platform(store: Store) -> None:
    """Item 1, without a platform: the same session under its other ECDSA signature,
    in the same batch and in a later one, and re-signed with a fresh nonce."""
    from tests.test_hostile_ingest import twin

    registry = every_type(start=0)
    session = next(r for _, r in registry if r.type == "session")
    with store.transaction() as conn:
        apply_records(conn, registry)
        first = next(i for i, r in registry if r.type == "session")
        same_batch = Record.parse(twin(session.to_bytes()))
        summary = apply_records(conn, [(20, same_batch), (21, signed("session"))], origin="log")
        assert summary.twins == [(20, first), (21, first)]
        assert summary.session_entries == [] and summary.counts["session"] == 0
        assert summary.last_index == 21  # positions still advance over them
    assert [r["entry_index"] for r in _rows(store, s.sessions)] == [first]
    found = sorted((r["evidence"]["entry"], r["evidence"]["first_entry"], r["origin"])
                   for r in _rows(store, s.misbehaviour))  # fmt: skip
    assert found == [(20, first, "log"), (21, first, "log")]
    assert _count(store, s.entries) == len(registry) + 2
    [alarm] = _rows(store, s.alarms)
    assert (alarm["rule_id"], alarm["evidence"]["pairs"]) == ("L2", [[20, first], [21, first]])
    assert alarm["evidence"]["entries"] == [first, 20, 21]  # what its evidence bundle proves
    # a twin of a twin inside one batch points at the first entry, not at the twin
    with store.transaction() as conn:
        summary = apply_records(conn, [(30, signed("seal", seq=9)), (31, signed("seal", seq=9))])
    assert summary.twins == [(31, 30)]


def test_applying_an_entry_twice_still_raises(store: Store) -> None:
    with store.transaction() as conn:
        apply_records(conn, every_type(start=0))
    with pytest.raises(IntegrityError), store.transaction() as conn:
        apply_records(conn, [(7, signed("session"))])  # entry 7 is the session, applied


def _two_operator_log():
    from tests.test_hostile_ingest import TwoOperators

    t = TwoOperators()
    return t, list(enumerate(t.registry()))


@pytest.mark.parametrize(
    "rule",
    [
        "re-key another operator's meter",
        "take over another operator's pile",
        "take over another operator's station",
        "a pile in another operator's station",
        "a meter on another operator's pile",
        "a tariff for another operator's station",
        "a bill for another operator's pile",
    ],
)
def test_each_signer_rule_is_enforced_in_the_workstation(store: Store, rule: str) -> None:
    """Item 3: a record the platform must refuse, found in a log anyway, halts the sync
    (the sync's Misbehaviour, with the entry) and changes nothing."""
    from app.models.sync import Misbehaviour
    from tests.test_hostile_ingest import _violations

    t, registry = _two_operator_log()
    with store.transaction() as conn:
        apply_records(conn, registry, origin="log")
    before = (_rows(store, s.meters), _rows(store, s.piles), _rows(store, s.stations))
    record, message = _violations(t)[rule]
    index = len(registry)
    with pytest.raises(Misbehaviour) as caught, store.transaction() as conn:
        apply_records(conn, [(index, record)], origin="log")
    assert caught.value.kind == "signer-rule"
    assert message in str(caught.value) and f"entry {index}" in str(caught.value)
    assert caught.value.evidence["offending_bytes"] == record.to_bytes()
    assert (_rows(store, s.meters), _rows(store, s.piles), _rows(store, s.stations)) == before


def test_authority_transfers_and_own_rekeys_are_applied(store: Store) -> None:
    t, registry = _two_operator_log()
    from tests.test_hostile_ingest import TwoOperators as T

    later = [
        T.meter("M1", "P1", "OP1", t.m1_new, t.op1),  # the owner re-keys its meter
        T.pile("P1", "ST2", "OP2", t.auth),  # the authority moves P1, then M1, to OP2
        T.meter("M1", "P1", "OP2", t.m1_new, t.auth),
        T.bill("P1", "OP2", t.op2),
    ]
    with store.transaction() as conn:
        apply_records(conn, registry, origin="log")
        apply_records(conn, list(enumerate(later, start=len(registry))), origin="log")
    [m1] = [m for m in _rows(store, s.meters) if m["meter_id"] == "M1"]
    assert (m1["operator_id"], m1["key_id"]) == ("OP2", t.m1_new.key_id)
    assert [b["operator_id"] for b in _rows(store, s.billing)] == ["OP2"]
