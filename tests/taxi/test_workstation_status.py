"""The workstation's taxi statuses equal the list the platform serves (``GET /taxi/status``,
signed and checked by the ride-hailing client) for every taxi: a town with one taxi in
each status, logged by the real platform, synced into a store by `LogSync`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.models import store as st
from app.models.taxi.queries import drift_points, statuses, taxi_ledger, taxi_rows
from ledger.records import Record
from ledger.sigcheck import SignatureChecker
from ledger.taxi.client import fetch_list, verify
from ledger.taxi.status import TaxiStatus
from tests.models.test_hostile_log import sync_all
from tests.taxi.town import DAY, T0, Town
from tests.world import PlatformProcess, get, ndjson, post

EXPECTED = {
    "浙A·V0001": "valid",
    "浙A·F0002": "failed",
    "浙A·E0003": "expired",
    "浙A·X0004": "expiring",
    "浙A·S0005": "seal_broken",
    "浙A·D0006": "drift_suspected",
    "浙A·U0007": "unverified",
}


@pytest.fixture(scope="module")
def taxiws_checker() -> Iterator[SignatureChecker]:
    with SignatureChecker(workers=0) as checker:
        yield checker


def town_log() -> list[Record]:
    """One taxi per status; the as-of time ends near 2026-02-02 (the last GNSS record)."""
    town = Town()
    log = town.registry()
    for n, plate in enumerate(EXPECTED):
        serial, terminal = f"JJ-{n}", f"TERM{n}"
        log += town.taxi(plate, serial, terminal, operator_id="OP1" if n % 2 else "OP2")
    verify_at = T0 + DAY
    log.append(town.verification("浙A·V0001", "JJ-0", verify_at, "2026-12-31"))
    log.append(town.verification("浙A·F0002", "JJ-1", verify_at, "2026-12-31", error_ppm=12_000))
    log.append(town.verification("浙A·E0003", "JJ-2", verify_at, "2026-01-20"))
    log.append(town.verification("浙A·X0004", "JJ-3", verify_at, "2026-02-20"))
    log.append(town.verification("浙A·S0005", "JJ-4", verify_at, "2026-12-31"))
    log.append(town.verification("浙A·D0006", "JJ-5", verify_at, "2026-12-31"))
    log.append(town.seal("浙A·S0005", "JJ-4", "TERM4", verify_at + DAY, "opened"))
    for day in range(2, 32):
        # +6 % on the drifting meter (beyond +1 %), +0.5 % on the good one.
        log += town.trip("浙A·D0006", "JJ-5", "TERM5", T0 + day * DAY, 5_300, 5_000)
        log += town.trip("浙A·V0001", "JJ-0", "TERM0", T0 + day * DAY, 5_025, 5_000)
    return log


def served_list(tmp_path, log: list[Record]) -> tuple[list[TaxiStatus], int]:
    """The platform's signed list over the whole log, checked by the client."""
    proc = PlatformProcess(tmp_path / "platform")
    try:
        status, answer = post(proc.url, ndjson(log))
        assert status == 200, answer
        get(f"{proc.url}/checkpoint?after={len(log) - 1}&wait=20")
        data = fetch_list(proc.url, None)
        accepted = verify(proc.url, proc.vkey(), data)
    finally:
        proc.stop()
    assert accepted.document.size == len(log)
    served = [TaxiStatus.parse(line) for line in accepted.document.lines]
    return served, accepted.document.as_of_ms


def test_workstation_statuses_equal_the_served_list_for_every_taxi(tmp_path, taxiws_checker):
    log = town_log()
    served, as_of = served_list(tmp_path, log)
    assert {s.plate: s.status for s in served} == EXPECTED  # the town covers every status
    with st.Store.open(f"sqlite:///{tmp_path / 'ws.sqlite'}") as store:
        assert sync_all(store, tmp_path / "platform", len(log), taxiws_checker)[1] is None
        with store.engine.connect() as conn:
            ours = statuses(conn)
            assert taxi_ledger(conn).as_of_ms == as_of
            rows = {r.plate: r for r in taxi_rows(conn)}
            points = drift_points(conn, "JJ-5")
    assert ours == served  # plate, serial, status and evidence (entry indexes), line by line
    assert {p: r.status for p, r in rows.items()} == EXPECTED
    assert rows["浙A·D0006"].drift_pct == pytest.approx(6.0)
    assert rows["浙A·V0001"].drift_pct == pytest.approx(0.5)
    assert rows["浙A·X0004"].next_due == "2026-02-20" and 0 <= rows["浙A·X0004"].days_left <= 30
    assert rows["浙A·U0007"].next_due is None
    assert {r.operator_id for r in rows.values()} == {"OP1", "OP2"}
    assert len(points) == 30 and all(p == pytest.approx(6.0) for _, p in points)
