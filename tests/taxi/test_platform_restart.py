"""A restarted platform still knows the taxi kind's keys and owners (terminal keys, the
monitoring platform, vehicles), and serves the same list at the same sequence."""

from __future__ import annotations

from ledger.taxi.client import fetch_list, verify
from tests.taxi.town import DAY, T0, Town
from tests.world import PlatformProcess, get, ndjson, post


def test_terminal_and_monitor_keys_survive_a_restart(tmp_path):
    town = Town()
    records = town.registry() + town.taxi("浙A·R0001", "JJ-R1", "TERMR1")
    records.append(town.verification("浙A·R0001", "JJ-R1", T0, "2026-12-31"))
    platform = PlatformProcess(tmp_path / "platform")
    try:
        assert post(platform.url, ndjson(records))[0] == 200
        get(f"{platform.url}/checkpoint?after={len(records) - 1}&wait=20")
        before = fetch_list(platform.url, None)
    finally:
        platform.stop()
    platform = PlatformProcess(tmp_path / "platform")
    try:
        assert verify(
            platform.url, platform.vkey(), fetch_list(platform.url, None)
        ).document.size == len(records)
        assert fetch_list(platform.url, None).split(b"\n\n")[0] == before.split(b"\n\n")[0]
        status, answer = post(
            platform.url, ndjson(town.trip("浙A·R0001", "JJ-R1", "TERMR1", T0 + DAY, 5_000, 5_000))
        )
        assert status == 200, answer
        intruder = town.meter("浙A·R0001", "JJ-X", "TERMX", operator_id="OP2")
        status, answer = post(platform.url, ndjson([intruder]))
        assert status == 403 and "belongs to operator OP1" in answer["error"]
    finally:
        platform.stop()
