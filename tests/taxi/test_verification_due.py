"""The taxi due list, from a signed town's log: who needs a JJG 517 verification, most
urgent first, with the validity end and days left at the log's as-of time."""

from __future__ import annotations

import datetime as dt

from app.models.taxi.due import due_list, to_csv
from ledger.taxi.status import compute
from tests.taxi.town import DAY, T0, Town, entries


def _log() -> list:
    town = Town()
    records = town.registry()
    plates = {
        "浙A·V0001": "JJ-1",  # valid: verified on day 200, due a year later
        "浙A·E0002": "JJ-2",  # expiring: verified on day 0, validity ends 2027-01-01
        "浙A·X0003": "JJ-3",  # expired: next_due 2026-06-30
        "浙A·F0004": "JJ-4",  # failed: −4.1 %
        "浙A·U0005": "JJ-5",  # unverified
        "浙A·S0006": "JJ-6",  # seal opened after the verification
    }
    for n, (plate, serial) in enumerate(plates.items(), 1):
        records += town.taxi(plate, serial, f"TERM{n}")
    records.append(town.verification("浙A·V0001", "JJ-1", T0 + 200 * DAY, "2027-07-19"))
    records.append(town.verification("浙A·E0002", "JJ-2", T0, "2026-12-31"))
    records.append(town.verification("浙A·X0003", "JJ-3", T0, "2026-06-30"))
    records.append(
        town.verification("浙A·F0004", "JJ-4", T0 + 300 * DAY, "2026-10-28", -41_000, "fail")
    )
    records.append(town.verification("浙A·S0006", "JJ-6", T0 + 100 * DAY, "2027-04-10"))
    records.append(town.seal("浙A·S0006", "JJ-6", "TERM6", T0 + 150 * DAY, "opened"))
    # The monitoring platform's GNSS distance sets the as-of time: 2026-12-07 (day 340).
    records += town.trip("浙A·V0001", "JJ-1", "TERM1", T0 + 340 * DAY, 10_000, 10_000)
    return records


def test_most_urgent_first_with_reasons_and_days():
    rows = due_list(compute(entries(_log())))
    assert [(r.plate, r.status, r.kind) for r in rows] == [
        ("浙A·F0004", "failed", "triggered"),
        ("浙A·S0006", "seal_broken", "triggered"),
        ("浙A·X0003", "expired", "periodic"),
        ("浙A·U0005", "unverified", "first"),
        ("浙A·E0002", "expiring", "periodic"),
    ]
    by_plate = {r.plate: r for r in rows}
    # Valid through 2026-12-31 (CST); 2027-01-01 00:00 CST is 24 whole days after the
    # as-of time 2026-12-07 00:16 UTC.
    assert by_plate["浙A·E0002"].valid_until == dt.date(2026, 12, 31)
    assert by_plate["浙A·E0002"].days_left == 24
    assert by_plate["浙A·X0003"].valid_until == dt.date(2026, 6, 30)
    assert by_plate["浙A·X0003"].days_left < 0
    assert by_plate["浙A·U0005"].valid_until is None and by_plate["浙A·U0005"].days_left is None
    assert "浙A·V0001" not in by_plate


def test_csv_has_one_row_per_taxi():
    text = to_csv(due_list(compute(entries(_log()))))
    lines = text.splitlines()
    assert lines[0].startswith("plate,meter_serial,status,kind")
    assert len(lines) == 6 and lines[1].startswith("浙A·F0004,JJ-4,failed,triggered,")
