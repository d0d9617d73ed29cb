"""The JJG 517-2016 verification model, checked against hand-computed numbers and the
regulation's limits (−4 % … +1 % distance; the 1-year cycle), and the signed record
against the ledger's own schema and status judgement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.taxi import verification as tv
from ledger.keys import SigningKey
from ledger.records import Record
from ledger.taxi.records import TAXI, verification_outcome

ALL_OK = {c.key: True for c in tv.CHECKLIST}
SPEC = tv.TaxiSpec("浙A·T0517", "JJ-517", 1000, model="JBC-11")
PLAN = tv.plan_verification(SPEC)
AT = 1_796_169_600_000  # 2026-12-02T00:00:00Z, 08:00 CST


def _runs(*meter_m_per_km: str) -> list[tv.DistanceReading]:
    return [tv.DistanceReading(i, Decimal(1000), Decimal(m)) for i, m in enumerate(meter_m_per_km)]


def _judge(*meter_m: str, wait_s: str = "600", checklist=None) -> tv.TaxiResult:
    return tv.judge(
        PLAN,
        ALL_OK if checklist is None else checklist,
        _runs(*meter_m),
        tv.TimeReading(Decimal(600), Decimal(wait_s)),
        finished_ms=AT,
    )


def test_sign_convention_meter_showing_more_is_positive():
    # 1010 m shown over 1000 m driven: the passenger pays for 10 m not driven.
    assert tv.distance_error_percent(Decimal(1010), Decimal(1000)) == Decimal(1)
    assert tv.distance_error_percent(Decimal(960), Decimal(1000)) == Decimal(-4)


@pytest.mark.parametrize(
    ("meter_m", "passed"),
    [
        ("961", True),  # −3.9 %
        ("959", False),  # −4.1 %
        ("960", True),  # −4.0 % exactly: on the limit passes
        ("1009", True),  # +0.9 %
        ("1011", False),  # +1.1 %
        ("1010", True),  # +1.0 %
    ],
)
def test_distance_limits_are_lopsided(meter_m, passed):
    result = _judge(meter_m, meter_m)
    assert result.passed is passed
    assert tv.record_body(result, inspector_id="INS1")["result"] == ("pass" if passed else "fail")


def test_rounding_half_even_at_the_limit():
    # −4.05 % rounds to −4.0 (half to even) and passes; −4.06 % to −4.1 and fails.
    low = tv.DistanceReading(0, Decimal(100000), Decimal(95950))
    assert tv.judge(
        PLAN, ALL_OK, [low, low], tv.TimeReading(Decimal(600), Decimal(600)), finished_ms=AT
    ).passed
    lower = tv.DistanceReading(0, Decimal(100000), Decimal(95940))
    assert not tv.judge(
        PLAN, ALL_OK, [lower, lower], tv.TimeReading(Decimal(600), Decimal(600)), finished_ms=AT
    ).passed


def test_the_worst_run_is_recorded_and_decides():
    result = _judge("1005", "1012")
    assert result.distance_error == Decimal("1.2")
    body = tv.record_body(result, inspector_id="INS1")
    assert body["distance_error_ppm"] == 12_000
    passed, _, reason = verification_outcome(body)
    assert not passed and "distance error" in reason


def test_time_error():
    assert _judge("1000", "1000", wait_s="601.2").passed  # +0.2 %
    failed = _judge("1000", "1000", wait_s="601.3")  # +0.22 %
    assert not failed.passed and "waiting time" in failed.reasons[0]


def test_pulses_over_k_when_no_display_was_read():
    run = tv.DistanceReading(0, Decimal(1000), pulses=1012)
    assert run.error_percent(1000) == Decimal("1.2")
    assert run.error_percent(1012) == Decimal(0)


def test_a_failed_check_fails_the_verification():
    result = _judge("1000", "1000", checklist={**ALL_OK, "seals": False})
    assert not result.passed and result.reasons == ("check failed: seals",)


def test_partial_test_cannot_be_judged():
    with pytest.raises(tv.VerificationError, match="1 of 2 distance runs"):
        _judge("1000")


@pytest.mark.parametrize(
    "bad",
    [
        dict(plate="", meter_serial="S", k_constant=1000),
        dict(plate="P", meter_serial="S", k_constant=0),
        dict(plate="P", meter_serial=" ", k_constant=1000),
    ],
)
def test_spec_refuses_unusable_taxis(bad):
    with pytest.raises(tv.VerificationError):
        tv.TaxiSpec(**bad)


def test_plan_refuses_unknown_method():
    with pytest.raises(tv.VerificationError, match="roller or road"):
        tv.plan_verification(SPEC, method="gps")


def test_cycle_one_year_minus_a_day_and_within_the_ledger_cap():
    result = _judge("1000", "1000")
    assert result.day == dt.date(2026, 12, 2)
    assert result.valid_until() == dt.date(2027, 12, 1)
    assert tv.valid_until(dt.date(2028, 2, 29)) == dt.date(2029, 2, 27)
    passed, until, _ = verification_outcome(tv.record_body(result, inspector_id="INS1"))
    assert passed
    assert until == 1_827_705_600_000 - 86_400_000 - 8 * 3_600_000 + 86_400_000  # end 12-01 CST


def test_signed_record_matches_the_schema_exactly():
    key = SigningKey.from_seed("p256", b"inspector-test")
    record = tv.sign_result(_judge("959", "1000"), key, inspector_id="INS1")
    assert record.type == "taxi_verification"
    assert set(record.body) == set(TAXI.schemas["taxi_verification"])
    for name, (typ, _required) in TAXI.schemas["taxi_verification"].items():
        assert type(record.body[name]) is typ, name
    assert record.body["result"] == "fail"
    assert record.body["certificate_no"].startswith("HZJLTTZ20261202-")
    assert record.body["next_due"] == "2026-12-02"
    record.verify(key.public_key)
    assert Record.parse(record.to_bytes()) == record  # the parser's schema check
    passed, _, reason = verification_outcome(record.body)
    assert not passed and "-41000" in reason


@settings(max_examples=60, deadline=None)
@given(
    meter=st.integers(min_value=900, max_value=1100),
    standard=st.integers(min_value=950, max_value=1050),
)
def test_verdict_agrees_with_the_ledgers_judgement(meter, standard):
    """Whatever the readings, the record's result and the status computed from its
    numbers agree (a "pass" the ledger would fail is never signed)."""
    result = tv.judge(
        PLAN,
        ALL_OK,
        [tv.DistanceReading(i, Decimal(standard), Decimal(meter)) for i in range(2)],
        tv.TimeReading(Decimal(600), Decimal(600)),
        finished_ms=AT,
    )
    body = tv.record_body(result, inspector_id="INS1")
    assert verification_outcome(body)[0] is (body["result"] == "pass")
