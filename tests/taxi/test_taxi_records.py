"""Taxi records: who may sign them (terminal, monitoring platform, company) and the
JJG 517-2016 judgement of a verification record from its own numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.records import Record, sign_record
from ledger.registry import KeyRegistry, Owners, SignerRuleError, UnknownKeyError
from ledger.taxi.records import due_limit_ms, verification_outcome
from tests.taxi.town import DAY, T0, Town


def _ledger(town: Town, records: list[Record]) -> tuple[KeyRegistry, Owners]:
    """Runs the platform's rules (key registry, then owners) over records in order."""
    registry, owners = KeyRegistry(), Owners()
    for record in records:
        registry.check(record)
        by_authority = record.key_id in registry.authority
        owners.check(record.type, record.body, by_authority)
        owners.apply(record.type, record.body)
    return registry, owners


def test_terminal_and_monitor_sign_their_records():
    town = Town()
    records = town.registry() + town.taxi("浙A0001", "M1", "TERM1")
    records += town.trip("浙A0001", "M1", "TERM1", T0 + DAY, 5_000, 5_010)
    _ledger(town, records)


def test_a_trip_signed_by_another_terminal_is_refused():
    town = Town()
    registry, _ = _ledger(town, town.registry() + town.taxi("浙A0001", "M1", "TERM1"))
    trip, _gnss = town.trip("浙A0001", "M1", "TERM1", T0 + DAY, 5_000, 5_010)
    forged = sign_record("trip", trip.body, town.terminal("TERM9"))
    with pytest.raises(UnknownKeyError, match="taximeter TERM1's registered key"):
        registry.check(forged)


def test_gnss_distance_only_from_the_registered_monitoring_platform():
    town = Town()
    registry, _ = _ledger(town, town.registry() + town.taxi("浙A0001", "M1", "TERM1"))
    _trip, gnss = town.trip("浙A0001", "M1", "TERM1", T0 + DAY, 5_000, 5_010)
    by_company = sign_record("trip_gnss", gnss.body, town.companies["OP1"])
    with pytest.raises(UnknownKeyError, match="monitor MON1"):
        registry.check(by_company)


def test_a_company_cannot_register_the_monitoring_platform():
    town = Town()
    registry, _ = _ledger(town, town.registry())
    body = {**town.registry()[-1].body, "monitor_id": "MON2"}
    with pytest.raises(UnknownKeyError, match="not a registered authority key"):
        registry.check(sign_record("monitor", body, town.companies["OP1"]))


def test_a_company_cannot_put_a_meter_in_another_companys_taxi():
    town = Town()
    _, owners = _ledger(town, town.registry() + town.taxi("浙A0001", "M1", "TERM1", "OP1"))
    intruder = town.meter("浙A0001", "M2", "TERM2", operator_id="OP2")
    with pytest.raises(SignerRuleError, match="belongs to operator OP1"):
        owners.check(intruder.type, intruder.body, by_authority=False)


def test_a_company_cannot_take_over_another_companys_vehicle():
    town = Town()
    _, owners = _ledger(town, town.registry() + town.taxi("浙A0001", "M1", "TERM1", "OP1"))
    grab = sign_record(
        "vehicle", {"plate": "浙A0001", "operator_id": "OP2", "at_ms": T0}, town.companies["OP2"]
    )
    with pytest.raises(SignerRuleError, match="vehicle 浙A0001 belongs to operator OP1"):
        owners.check(grab.type, grab.body, by_authority=False)


def test_a_meter_in_an_unregistered_vehicle_is_refused():
    town = Town()
    _, owners = _ledger(town, town.registry())
    meter = town.meter("浙A9999", "M1", "TERM1")
    with pytest.raises(SignerRuleError, match="not registered"):
        owners.check(meter.type, meter.body, by_authority=False)


def test_the_authority_may_move_a_vehicle_between_companies():
    town = Town()
    _, owners = _ledger(town, town.registry() + town.taxi("浙A0001", "M1", "TERM1", "OP1"))
    move = sign_record(
        "vehicle", {"plate": "浙A0001", "operator_id": "OP2", "at_ms": T0 + DAY}, town.auth
    )
    owners.check(move.type, move.body, by_authority=True)


# ---- JJG 517-2016 judgement ----------------------------------------------------------------


def _verification(town: Town, **changes) -> dict:
    body = dict(town.verification("浙A0001", "M1", T0, "2026-12-31").body)
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("error_ppm", "passed"),
    [(-40_000, True), (-40_001, False), (10_000, True), (10_001, False), (0, True)],
)
def test_distance_error_limits_minus_4_plus_1_percent(error_ppm, passed):
    body = _verification(Town(), distance_error_ppm=error_ppm)
    assert verification_outcome(body)[0] is passed


def test_a_pass_outside_the_limits_is_judged_failed():
    body = _verification(Town(), distance_error_ppm=12_000, result="pass")
    ok, _until, reason = verification_outcome(body)
    assert not ok and "12000" in reason


def test_validity_never_runs_past_one_year():
    # Verified 2026-01-01 08:00 CST; a certificate claiming 2028 is held to 2027-01-01.
    body = _verification(Town(), next_due="2028-06-30")
    assert verification_outcome(body)[1] == due_limit_ms("2027-01-01")
    body = _verification(Town(), next_due="2026-12-31")
    assert verification_outcome(body)[1] == due_limit_ms("2026-12-31")


def test_next_due_is_valid_through_the_whole_day_in_china_standard_time():
    # 2026-12-31 ends at 2027-01-01 00:00 CST = 2026-12-31 16:00 UTC.
    assert due_limit_ms("2026-12-31") == 1_798_732_800_000
    with pytest.raises(ValueError):
        due_limit_ms("20261231")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.text(max_size=12) | st.dates().map(str),
    st.integers(-(2**53) + 1, 2**53 - 1),
)
def test_any_signed_verification_is_judged_without_crashing(at_ms, next_due, error_ppm):
    """A verification with absurd dates must not take the suspension list down: it is
    judged (failed if unusable), never an exception."""
    body = _verification(Town(), at_ms=at_ms, next_due=next_due, distance_error_ppm=error_ppm)
    passed, until, reason = verification_outcome(body)
    assert isinstance(until, int) and reason
    if passed:
        assert -40_000 <= error_ppm <= 10_000 and until > at_ms
