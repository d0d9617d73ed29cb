"""The office's certificate comes from the signed record: rebuilt, every carried field kept.

A record signed from a real simulated run is turned back into a result
(``result_from_record``) and signed again: the body must come out byte for byte the same
(every field the record carries survives the round trip); records that lack or garble
what a certificate needs are refused with a message, never printed with invented values.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from app.models import verification_parts as vp
from app.models.charging.result_record import (
    UNITEMISED_FAILURE,
    RecordIncomplete,
    result_from_record,
)
from app.models.charging.verification import record_body
from tests.verification.conftest import make_pile

INSPECTOR = "INS-HZ-007"


def signed_body(result: Any) -> dict[str, Any]:
    return record_body(result, inspector_id=INSPECTOR)


def again(body: dict[str, Any], pile: Any = None) -> dict[str, Any]:
    rebuilt = result_from_record(body, pile)
    return record_body(rebuilt, inspector_id=INSPECTOR, certificate_no=body["certificate_no"])


@pytest.mark.parametrize("which", ["passed_result", "failed_result"])
def test_every_field_of_a_real_runs_record_round_trips(which: str, request) -> None:
    body = signed_body(request.getfixturevalue(which))
    assert body["points"] and all(p["readings"] for p in body["points"])
    assert again(body) == body
    assert again(body, make_pile()) == body  # registry data never overrides a signed field


def test_rebuilt_values_are_the_runs(passed_result) -> None:
    """Per point: the mean error to 1 ppm, the rounded error and verdict exactly; per
    reading: pulses, pile energy exactly, standard energy to the 1 mWh the record keeps."""
    rebuilt = result_from_record(signed_body(passed_result))
    assert rebuilt.plan.pile.meter_constant == passed_result.plan.pile.meter_constant
    assert rebuilt.valid_until() == passed_result.valid_until()
    assert rebuilt.verdict == "pass" and rebuilt.connector == 1
    assert rebuilt.standard == passed_result.standard
    assert rebuilt.site == passed_result.site
    assert rebuilt.plan.config.kind == passed_result.plan.config.kind
    for ours, theirs in zip(rebuilt.points, passed_result.points, strict=True):
        assert ours.point.label == theirs.point.label
        assert ours.point.current_a == theirs.point.current_a
        assert vp.to_ppm(ours.mean_error_percent) == vp.to_ppm(theirs.mean_error_percent)
        assert ours.rounded_error_percent == theirs.rounded_error_percent
        assert ours.passed == theirs.passed
        for a, b in zip(ours.readings, theirs.readings, strict=True):
            assert a.pulses == b.pulses and a.pile_energy_wh == b.pile_energy_wh
            assert abs(a.standard_energy_wh - b.standard_energy_wh) < Decimal("0.001")
    # what the record does not carry is unknown, not invented
    assert rebuilt.plan.pile.rated_power_w == 0
    assert rebuilt.insulation_test_v is None
    assert rebuilt.clock is not None and rebuilt.clock.meter_time is None
    assert rebuilt.plan.pile.model == "" and rebuilt.plan.pile.maker == ""


def test_registry_fills_the_nameplate_and_a_second_gun(passed_result) -> None:
    body = signed_body(passed_result)
    body.update(connector=2, meter_id="M000123-2")
    two_guns = make_pile(connectors=2, gun_meters=(("M000123", "AAAAAAAAAAAA"),
                                                   ("M000123-2", "000012345679")))  # fmt: skip
    rebuilt = result_from_record(body, two_guns)
    assert rebuilt.connector == 2
    assert rebuilt.plan.pile.meter_of(1) == ("M000123", "—")  # wildcard is no address
    assert rebuilt.plan.pile.meter_of(2) == ("M000123-2", "000012345679")
    assert rebuilt.plan.pile.model == "DCP-120" and rebuilt.plan.pile.rated_power_w == 120_000
    assert again(body, two_guns) == body
    alone = result_from_record(body)  # without the registry: gun 1 unknown
    assert alone.plan.pile.meter_of(1) == ("—", "—")
    assert again(body) == body


def test_a_fail_the_record_does_not_itemise_is_said_so(passed_result) -> None:
    body = signed_body(passed_result)
    body.update(result="fail", next_due="none")
    rebuilt = result_from_record(body)
    assert not rebuilt.passed and rebuilt.checklist == {UNITEMISED_FAILURE: False}
    assert again(body) == body


@pytest.mark.parametrize(
    "spoil",
    [
        lambda b: b.pop("points"),
        lambda b: b.update(points=[]),
        lambda b: b["points"][0].pop("readings"),
        lambda b: b["points"][0]["readings"][0].update(
            pulses=b["points"][0]["readings"][0]["pulses"] * 2
        ),
        lambda b: b.update(next_due="2040-01-01"),  # not a 1–3 year cycle
        lambda b: b.update(regulation="JJG 9999-2022"),
        lambda b: b["points"][1].update(current_ma="lots"),
        lambda b: b.update(accuracy_class="7"),
    ],
)
def test_an_incomplete_or_garbled_record_is_refused(passed_result, spoil) -> None:
    body = copy.deepcopy(signed_body(passed_result))
    spoil(body)
    with pytest.raises(RecordIncomplete, match=r"certificate|record|regulation|constant|cycle"):
        result_from_record(body)


@settings(max_examples=25, deadline=None)
@given(
    errors=hs.lists(hs.integers(-40_000, 40_000), min_size=3, max_size=3),
    clock_ms=hs.integers(-200_000, 200_000),
    insulation=hs.integers(5_000, 10_000_000),
    temperature=hs.integers(-250, 550),
)
def test_round_trip_holds_for_any_carried_values(
    passed_result, errors, clock_ms, insulation, temperature
) -> None:
    body = copy.deepcopy(signed_body(passed_result))
    for point, error in zip(body["points"], errors, strict=True):
        point["error_ppm"] = error
    body.update(clock_error_ms=clock_ms, insulation_kohm=insulation)
    body["conditions"]["temperature_dc"] = temperature
    assert again(body) == body
