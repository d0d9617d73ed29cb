"""Taxi meter statuses from the regulation's numbers: JJG 517-2016's −4 % … +1 % at its
boundaries (drift as a median over trips), 19 vs 20 trips, 30 vs 31 days to the due date,
and the as-of time that only non-terminal records move."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.records import Record, sign_record
from ledger.taxi.records import due_limit_ms
from ledger.taxi.status import TaxiStatus, compute, escape, unescape
from tests.taxi.town import DAY, T0, Town, entries

PLATE, SERIAL, TERM = "浙A·T0001", "JJ-0001", "TERM1"
DUE = "2026-12-31"  # verified T0 = 2026-01-01 08:00 CST; valid through 2026-12-31 CST
UNTIL = due_limit_ms(DUE)


def _base(town: Town, verified: bool = True, **verification) -> list[Record]:
    records = town.registry() + town.taxi(PLATE, SERIAL, TERM)
    if verified:
        records.append(town.verification(PLATE, SERIAL, T0, DUE, **verification))
    return records


def _clock(town: Town, at_ms: int) -> Record:
    """Moves the as-of time: a vehicle registration (a company's record) at ``at_ms``."""
    return sign_record(
        "vehicle",
        {"plate": f"CLOCK{at_ms}", "operator_id": "OP2", "at_ms": at_ms},
        town.companies["OP2"],
    )


def _status(records: list[Record], plate: str = PLATE) -> TaxiStatus:
    ledger = compute(entries(records))
    return {s.plate: s for s in ledger.statuses()}[plate]


def _trips(town: Town, meter_gnss: list[tuple[int, int]], start: int = T0 + DAY) -> list[Record]:
    out: list[Record] = []
    for i, (meter_m, gnss_m) in enumerate(meter_gnss):
        out += town.trip(PLATE, SERIAL, TERM, start + i * 3_600_000, meter_m, gnss_m)
    return out


# ---- drift ---------------------------------------------------------------------------------


def test_median_exactly_plus_1_percent_is_not_drift():
    town = Town()
    status = _status(_base(town) + _trips(town, [(10_100, 10_000)] * 20))
    assert status.status == "valid"


def test_median_just_over_plus_1_percent_is_drift_with_the_trips_as_evidence():
    town = Town()
    records = _base(town) + _trips(town, [(10_101, 10_000)] * 20)
    status = _status(records)
    assert status.status == "drift_suspected"
    trip_indexes = [i for i, r in enumerate(records) if r.type == "trip"]
    assert status.evidence == (
        "median_ppm=+10100;trips=20;entries=" + ",".join(map(str, trip_indexes))
    )


def test_median_exactly_minus_4_percent_is_not_drift_just_under_is():
    town = Town()
    assert _status(_base(town) + _trips(town, [(9_600, 10_000)] * 20)).status == "valid"
    town = Town()
    status = _status(_base(town) + _trips(town, [(9_599, 10_000)] * 20))
    assert status.status == "drift_suspected"
    assert status.evidence.startswith("median_ppm=-40100;trips=20;")


def test_19_trips_are_not_enough_20_are():
    town = Town()
    records = _base(town) + _trips(town, [(10_500, 10_000)] * 19)
    assert _status(records).status == "valid"
    records += town.trip(PLATE, SERIAL, TERM, T0 + 30 * DAY, 10_500, 10_000)
    assert _status(records).status == "drift_suspected"


def test_a_trip_without_a_gnss_distance_does_not_count():
    town = Town()
    records = _base(town) + _trips(town, [(10_500, 10_000)] * 19)
    trip, _gnss = town.trip(PLATE, SERIAL, TERM, T0 + 30 * DAY, 10_500, 10_000)
    assert _status([*records, trip]).status == "valid"


def test_the_median_of_an_even_count_averages_the_middle_two():
    # 10 trips at +2 %, 10 at 0 %: the median is exactly +1 %, not drift; one more
    # ppm on the upper half would make it drift.
    town = Town()
    half = [(10_200, 10_000)] * 10 + [(10_000, 10_000)] * 10
    assert _status(_base(town) + _trips(town, half)).status == "valid"
    town = Town()
    half = [(10_201, 10_000)] * 10 + [(10_000, 10_000)] * 10
    assert _status(_base(town) + _trips(town, half)).status == "drift_suspected"


def test_a_majority_of_good_trips_outvotes_outliers():
    town = Town()
    trips = [(13_000, 10_000)] * 9 + [(10_020, 10_000)] * 11
    assert _status(_base(town) + _trips(town, trips)).status == "valid"


def test_trips_before_the_latest_verification_are_not_counted():
    town = Town()
    records = _base(town) + _trips(town, [(10_500, 10_000)] * 20)
    assert _status(records).status == "drift_suspected"
    records.append(town.verification(PLATE, SERIAL, T0 + 40 * DAY, DUE, vid="re-verified"))
    assert _status(records).status == "valid"


def test_short_trips_are_not_used_for_drift():
    town = Town()
    records = _base(town) + _trips(town, [(1_100, 999)] * 25)
    assert _status(records).status == "valid"


def test_trips_signed_by_a_terminal_for_another_meter_are_ignored():
    town = Town()
    records = _base(town) + town.taxi("浙A·T0002", "JJ-0002", "TERM2")
    for i in range(20):  # TERM2 signs trips naming TERM1's meter
        trip, gnss = town.trip("浙A·T0002", SERIAL, "TERM2", T0 + DAY + i, 12_000, 10_000)
        records += [trip, gnss]
    assert _status(records).status == "valid"


# ---- validity ------------------------------------------------------------------------------


def test_expiring_at_30_days_valid_at_31():
    town = Town()
    base = _base(town)
    assert _status([*base, _clock(town, UNTIL - 31 * DAY)]).status == "valid"
    assert _status([*base, _clock(town, UNTIL - 30 * DAY - 1)]).status == "valid"
    assert _status([*base, _clock(town, UNTIL - 30 * DAY)]).status == "expiring"


def test_expired_from_the_first_millisecond_after_the_due_day():
    town = Town()
    base = _base(town)
    assert _status([*base, _clock(town, UNTIL - 1)]).status == "expiring"
    assert _status([*base, _clock(town, UNTIL)]).status == "expired"


def test_a_terminal_clock_running_ahead_does_not_expire_the_meter():
    town = Town()
    records = _base(town) + town.trip(PLATE, SERIAL, TERM, UNTIL + 400 * DAY, 5_000, 5_000)[:1]
    ledger = compute(entries(records))
    assert ledger.as_of_ms == T0
    assert _status(records).status == "valid"


def test_unverified_failed_and_judged_failed():
    town = Town()
    assert _status(_base(town, verified=False)).status == "unverified"
    assert _status(_base(Town(), result="fail")).status == "failed"
    # A "pass" outside JJG 517's −4 % … +1 % is a failed meter whatever the record says.
    status = _status(_base(Town(), error_ppm=10_001))
    assert (status.status, status.evidence) == ("failed", "verification@7")


def test_the_latest_verification_decides():
    town = Town()
    records = _base(town)
    records.append(town.verification(PLATE, SERIAL, T0 + DAY, DUE, result="fail", vid="v2"))
    assert _status(records).status == "failed"
    records.append(town.verification(PLATE, SERIAL, T0 + 2 * DAY, DUE, vid="v3"))
    assert _status(records).status == "valid"


def test_seal_opened_after_verification_breaks_it_before_does_not():
    town = Town()
    before = town.seal(PLATE, SERIAL, TERM, T0 - 1, "opened")
    records = _base(town)
    records.insert(len(records) - 1, before)
    assert _status(records).status == "valid"
    records.append(town.seal(PLATE, SERIAL, TERM, T0 + DAY, "tamper"))
    status = _status(records)
    assert (status.status, status.evidence) == ("seal_broken", f"seal@{len(records) - 1}")


def test_a_seal_event_from_another_terminal_is_ignored():
    town = Town()
    records = _base(town) + town.taxi("浙A·T0002", "JJ-0002", "TERM2")
    records.append(town.seal(PLATE, SERIAL, "TERM2", T0 + DAY, "opened"))
    assert _status(records).status == "valid"


def test_expired_outranks_a_broken_seal_and_drift():
    town = Town()
    records = _base(town) + _trips(town, [(11_000, 10_000)] * 20)
    records.append(town.seal(PLATE, SERIAL, TERM, T0 + DAY, "opened"))
    assert _status(records).status == "seal_broken"
    records.append(_clock(town, UNTIL))
    assert _status(records).status == "expired"


def test_a_meter_moved_to_another_taxi_leaves_both_unverified():
    town = Town()
    records = [
        *_base(town),
        sign_record(
            "vehicle",
            {"plate": "浙A·T0002", "operator_id": "OP1", "at_ms": T0},
            town.companies["OP1"],
        ),
        town.meter("浙A·T0002", SERIAL, TERM, at=T0 + DAY),
    ]
    first, second = _status(records), _status(records, "浙A·T0002")
    assert (first.meter_serial, first.status) == ("-", "unverified")
    # Its verification was of the installation in the first taxi.
    assert (second.meter_serial, second.status) == (SERIAL, "unverified")
    records.append(town.verification("浙A·T0002", SERIAL, T0 + 2 * DAY, DUE, vid="moved"))
    assert _status(records, "浙A·T0002").status == "valid"


# ---- the list line -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=20), st.sampled_from(["valid", "failed"]))
def test_a_line_round_trips_whatever_the_plate(plate, status):
    item = TaxiStatus(plate, "JJ 1%", status, "verification@3")
    line = item.line()
    assert "\n" not in line and line.count(" ") == 3
    assert TaxiStatus.parse(line) == item
    assert unescape(escape(plate)) == plate


def test_a_verification_in_another_taxi_does_not_cover_the_meter():
    town = Town()
    records = _base(town, verified=False)
    records.append(town.verification("浙A·OTHER", SERIAL, T0, DUE))
    assert _status(records).status == "unverified"


def test_a_meter_re_registered_with_another_k_constant_needs_a_new_verification():
    town = Town()
    records = _base(town)
    adjusted = town.meter(PLATE, SERIAL, TERM, at=T0 + DAY)
    body = {**adjusted.body, "k_constant": 1_020}
    records.append(sign_record("taximeter", body, town.companies["OP1"]))
    status = _status(records)
    assert (status.status, status.evidence) == ("unverified", f"meter@{len(records) - 1}")
    records.append(town.verification(PLATE, SERIAL, T0 + 2 * DAY, DUE, vid="v-k", k_constant=1_020))
    assert _status(records).status == "valid"


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(9_000, 11_000), st.integers(1_000, 20_000)), min_size=15, max_size=30
    )
)
def test_drift_agrees_with_the_statistics_module(pairs):
    """An independent oracle: statistics.median over exact fractions, the limits as the
    regulation states them (−4 % … +1 %, inclusive), at least 20 trips."""
    import statistics
    from fractions import Fraction

    town = Town()
    trips = [(gnss * meter // 10_000, gnss) for meter, gnss in pairs]
    status = _status(_base(town) + _trips(town, trips))
    errors = [Fraction(m - g, g) for m, g in trips]
    median = statistics.median(errors)
    drifting = len(trips) >= 20 and not Fraction(-4, 100) <= median <= Fraction(1, 100)
    assert (status.status == "drift_suspected") is drifting


def test_trip_halves_without_a_partner_for_a_week_are_forgotten():
    from ledger.taxi.status import TaxiLedger

    town = Town()
    records = _base(town)
    stale_trip, stale_gnss = town.trip(PLATE, SERIAL, TERM, T0 + DAY, 12_000, 10_000)
    fresh = town.trip(PLATE, SERIAL, TERM, T0 + 9 * DAY, 12_000, 10_000)
    ledger = TaxiLedger(prune_every=4).apply_all(entries([*records, stale_trip]))
    ledger.apply_all(entries([_clock(town, T0 + 8 * DAY + 1)]))
    ledger.apply_all([b"padding"] * 4)  # reaches a pruning point
    assert ledger.trips == {}
    ledger.apply_all(entries([stale_gnss, *fresh]))
    assert [t[1] for t in ledger.matched[SERIAL]] == [ledger.size - 2]
