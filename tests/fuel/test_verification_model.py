"""JJG 443-2023 arithmetic and verdict from hand-computed readings (no Qt, no devices).

Every expected figure is worked out in the comment next to it, from
E = (V_J − V_B) / V_B × 100 % with a 20 L (20 000 mL) standard reading.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.fuel import verification as fv
from ledger.keys import SigningKey
from ledger.records import Record, RecordError, validate_body

ALL_OK = {item.key: True for item in fv.CHECKLIST}
AT_MS = 1_796_529_600_000  # 2026-12-06 12:00 CST


def plan(**kw) -> fv.FuelPlan:
    return fv.plan_verification(fv.DispenserSpec("FD000001", nozzle=2, product="92"), **kw)


def runs_for(p: fv.FuelPlan, indicated: list[int] | dict[int, list[int]]) -> list[fv.RunReading]:
    """Readings of a 20 000 mL standard; ``indicated`` per point (or the same at every point)."""
    out = []
    for point in p.points:
        values = indicated[point.index] if isinstance(indicated, dict) else indicated
        for j, v in enumerate(values):
            out.append(fv.RunReading(point.index, j, v, Decimal(20_000)))
    return out


def verdict(indicated) -> fv.FuelResult:
    p = plan()
    return fv.judge(p, ALL_OK, runs_for(p, indicated), finished_ms=AT_MS)


def test_plan_is_three_points_three_runs() -> None:
    p = plan()
    assert [pt.label for pt in p.points] == ["Qmax", "Qmid", "Qmin"]
    # 40 L/min, (40 + 5) / 2 = 22.5 L/min, 5 L/min
    assert [pt.flow_ml_min for pt in p.points] == [40_000, 22_500, 5_000]
    assert p.runs_per_point == 3 and p.regulation == "JJG 443-2023"


@pytest.mark.parametrize(
    ("indicated", "percent"),
    [
        (20_056, Decimal("0.28")),  # 56 / 20000 = 0.0028
        (19_944, Decimal("-0.28")),  # −56 / 20000
        (20_064, Decimal("0.32")),  # 64 / 20000
        (19_936, Decimal("-0.32")),
    ],
)
def test_run_error_formula(indicated: int, percent: Decimal) -> None:
    assert fv.run_error_percent(Decimal(indicated), Decimal(20_000)) == percent


@pytest.mark.parametrize("indicated", [20_056, 19_944])
def test_plus_minus_0_28_percent_pass(indicated: int) -> None:
    result = verdict([indicated] * 3)
    assert result.verdict == "pass", result.reasons
    expected = Decimal("0.28") if indicated > 20_000 else Decimal("-0.28")
    assert [pr.worst_percent for pr in result.points] == [expected] * 3


@pytest.mark.parametrize("indicated", [20_064, 19_936])
def test_plus_minus_0_32_percent_fail(indicated: int) -> None:
    result = verdict([indicated] * 3)
    assert result.verdict == "fail"
    assert all(not pr.error_passed and pr.repeat_passed for pr in result.points)
    assert "beyond ±0.30%" in result.reasons[0]


def test_one_bad_run_at_one_point_fails_the_nozzle() -> None:
    result = verdict({0: [20_056] * 3, 1: [20_040, 20_040, 20_064], 2: [20_000] * 3})
    assert result.verdict == "fail"
    assert [pr.passed for pr in result.points] == [True, False, True]
    assert result.points[1].worst_percent == Decimal("0.32")


def test_repeatability_0_09_passes_0_11_fails() -> None:
    # 20020, 20030, 20038 → 0.10 %, 0.15 %, 0.19 %: spread 0.19 − 0.10 = 0.09 %
    ok = verdict([20_020, 20_030, 20_038])
    assert ok.verdict == "pass", ok.reasons
    assert {pr.repeat_percent for pr in ok.points} == {Decimal("0.09")}
    # 20020, 20030, 20042 → 0.10 %, 0.15 %, 0.21 %: spread 0.11 % (every run within ±0.30 %)
    bad = verdict([20_020, 20_030, 20_042])
    assert bad.verdict == "fail"
    assert all(pr.error_passed and not pr.repeat_passed for pr in bad.points)
    assert "repeatability 0.11%" in bad.reasons[0]


def test_rounding_half_even_at_the_limit() -> None:
    # 20061: 61/20000 = 0.305 % → 0.30 % (half to even): pass; 20062: 0.31 %: fail
    assert fv.rounded(fv.run_error_percent(Decimal(20_061), Decimal(20_000))) == Decimal("0.30")
    assert verdict([20_061] * 3).verdict == "pass"
    assert verdict([20_062] * 3).verdict == "fail"


def test_temperature_correction_hand_computed() -> None:
    # can at 15 °C, dispenser at 25 °C, petrol: 1 + 0.0012·10 + 0.00005·(15 − 20)
    # = 1.01175 → V_B = 20000 × 1.01175 = 20235 mL
    v = fv.standard_volume_ml(
        Decimal(20_000),
        product="92",
        standard_temp_c=Decimal(15),
        dispenser_temp_c=Decimal(25),
        metal_measure=True,
    )
    assert v == Decimal("20235.00000")
    # diesel through a flowmeter at 20 °C, dispenser 18 °C: 1 + 0.0009·(−2) = 0.9982
    v = fv.standard_volume_ml(
        Decimal(20_000),
        product="0",
        standard_temp_c=Decimal(20),
        dispenser_temp_c=Decimal(18),
        metal_measure=False,
    )
    assert v == Decimal("19964.0000")
    # one temperature missing: no correction
    assert (
        fv.standard_volume_ml(
            Decimal(20_000),
            product="92",
            standard_temp_c=None,
            dispenser_temp_c=Decimal(25),
            metal_measure=True,
        )
        == 20_000
    )


def test_a_warm_dispenser_turns_a_pass_into_a_fail() -> None:
    """20056 mL shown for a can read at 20000 mL: 0.28 % uncorrected; the fuel was 0.5 °C
    colder in the can than at the meter, so V_B = 20000·(1 + 0.0012·(−0.5)) = 19988 mL
    and E = 68 / 19988 = 0.340 %: fail. Why it matters: ignoring it would pass the nozzle."""
    p = plan(medium_point=False)
    runs = [
        fv.RunReading(pt.index, j, 20_056, Decimal(20_000), Decimal("20.5"), Decimal(20))
        for pt in p.points
        for j in range(3)
    ]
    result = fv.judge(p, ALL_OK, runs, finished_ms=AT_MS)
    assert result.verdict == "fail"
    assert result.points[0].worst_percent == Decimal("0.34")


def test_failed_check_fails_and_missing_runs_refuse() -> None:
    p = plan()
    result = fv.judge(p, {**ALL_OK, "seals": False}, runs_for(p, [20_000] * 3), finished_ms=AT_MS)
    assert result.verdict == "fail" and result.reasons == ("check failed: seals",)
    with pytest.raises(fv.VerificationError, match="2 of 3 runs"):
        fv.judge(p, ALL_OK, runs_for(p, [20_000] * 2), finished_ms=AT_MS)
    with pytest.raises(fv.VerificationError, match="positive"):
        fv.standard_volume_ml(
            Decimal(0),
            product="92",
            standard_temp_c=None,
            dispenser_temp_c=None,
            metal_measure=True,
        )


def test_cycle_is_six_months_minus_a_day() -> None:
    assert fv.valid_until(dt.date(2026, 12, 6)) == dt.date(2027, 6, 5)
    assert fv.valid_until(dt.date(2026, 8, 31)) == dt.date(2027, 2, 27)  # 28 Feb − 1 day
    assert verdict([20_000] * 3).valid_until() == dt.date(2027, 6, 5)
    assert verdict([20_064] * 3).valid_until() is None


def test_signed_body_fits_the_schema_and_verifies() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    p = plan()
    runs = [
        fv.RunReading(pt.index, j, 19_990, Decimal(20_000), Decimal(18), Decimal(21))
        for pt in p.points
        for j in range(3)
    ]
    result = fv.judge(p, ALL_OK, runs, finished_ms=AT_MS, standard={"kind": "measure"})
    record = fv.sign_result(result, key, inspector_id="INS01")
    again = Record.parse(record.to_bytes())
    again.verify(key.public_key)
    with pytest.raises(Exception):  # noqa: B017 — any signature failure will do
        again.verify(other.public_key)
    body = again.body
    assert body["regulation"] == "JJG 443-2023" and body["nozzle"] == 2
    run = body["points"][0]["runs"][0]
    # can 18 °C, dispenser 21 °C: 1 + 0.0012·3 + 0.00005·(18 − 20) = 1.0035 → V_B = 20070 mL;
    # E = (19990 − 20070) / 20070 = −0.39861 % → −3986 ppm, judged as −0.40 %
    assert run["standard_ml"] == 20_070 and run["error_ppm"] == -3986
    assert run["standard_temp_dc"] == 180 and run["dispenser_temp_dc"] == 210
    assert body["points"][0]["error_ppm"] == -4000
    assert body["result"] == "fail" and body["next_due"] == fv.NO_DUE_DATE
    assert body["certificate_no"].startswith("HZJLFTZ20261206-")


def test_schema_refuses_a_mangled_body() -> None:
    result = verdict([20_000] * 3)
    body = fv.record_body(result, inspector_id="INS01")
    validate_body("fuel_verification", body)
    del body["points"][0]["error_ppm"]
    with pytest.raises(RecordError, match="points\\[0\\]"):
        validate_body("fuel_verification", body)


def _single(indicated: int) -> fv.FuelResult:
    p = fv.plan_verification(fv.DispenserSpec("FD1"), medium_point=False)
    return fv.judge(p, ALL_OK, runs_for(p, [indicated] * 3), finished_ms=AT_MS)


@settings(max_examples=60, deadline=None)
@given(st.integers(-200, 200), st.integers(-200, 200))
def test_verdict_is_monotone_in_error_magnitude(a: int, b: int) -> None:
    """A nozzle that passes with error offset b passes with any smaller |offset| a."""
    small, large = sorted((a, b), key=abs)
    if _single(20_000 + large).passed:
        assert _single(20_000 + small).passed
    # and the boundary is exactly ±0.30 % after rounding (±60 mL, ±61 by half-even)
    assert _single(20_000 + small).passed == (abs(small) <= 61)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-29, 29).map(lambda n: 2 * n), min_size=3, max_size=3))
def test_spread_decides_when_errors_are_within_mpe(offsets: list[int]) -> None:
    """Even offsets of 20000 mL are whole hundredths of a percent (2 mL = 0.01 %), so no
    rounding enters: the nozzle passes iff the offsets span at most 20 mL."""
    p = fv.plan_verification(fv.DispenserSpec("FD1"), medium_point=False)
    result = fv.judge(p, ALL_OK, runs_for(p, [20_000 + o for o in offsets]), finished_ms=AT_MS)
    assert result.passed == (max(offsets) - min(offsets) <= 20)


def test_only_the_registered_inspector_key_is_accepted() -> None:
    """The ledger's signer rule for fuel_verification: the inspector named in the body,
    with the key registered for that inspector; an operator's or another key is refused."""
    from ledger.registry import KeyRegistry, UnknownKeyError

    inspector, operator = SigningKey.generate(), SigningKey.generate()
    registry = KeyRegistry()
    registry.inspectors["INS01"] = inspector.public_key
    registry.operators["OP001"] = operator.public_key
    result = verdict([20_000] * 3)
    registry.check(fv.sign_result(result, inspector, inspector_id="INS01"))
    with pytest.raises(UnknownKeyError, match="registered key"):
        registry.check(fv.sign_result(result, operator, inspector_id="INS01"))
    with pytest.raises(UnknownKeyError, match="INS02 is not registered"):
        registry.check(fv.sign_result(result, inspector, inspector_id="INS02"))


def test_a_run_with_fuel_temperatures_4_degrees_apart_does_not_count() -> None:
    """4.0 °C apart is still a run; 4.1 °C apart is refused (the run must be repeated)."""
    p = plan(medium_point=False)

    def runs(t_disp: str) -> list[fv.RunReading]:
        return [
            fv.RunReading(pt.index, j, 20_000, Decimal(20_000), Decimal(18), Decimal(t_disp))
            for pt in p.points
            for j in range(3)
        ]

    fv.judge(p, ALL_OK, runs("22.0"), finished_ms=AT_MS)
    with pytest.raises(fv.VerificationError, match=r"differ by 4\.1 °C"):
        fv.judge(p, ALL_OK, runs("22.1"), finished_ms=AT_MS)
