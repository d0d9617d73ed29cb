"""Fuel rules F01–F10 (docs/rules.md, "Fuel dispensers"): for each rule a case from its
text that fires and a near miss at its tolerance that does not, on a consistent day of a
station (tests/fuel/fuelmodel_world.py) with one record changed. Records go through the
core projection and the core batch analysis (`analyse_batch`: the rules, then alarms by
the severity policy), batch by batch as the sync applies them; F08's alarm is checked
through the real platform and LogSync."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from app.models import alarms
from app.models import store as st
from app.models.analysis import analyse_batch
from app.models.findings import CATALOGUE
from app.models.fuel import rules as fr
from app.models.fuel import tables as ft
from app.models.projection import apply_records
from app.models.users import Session
from ledger.records import Record, sign_record
from tests.fuel.fuelmodel_world import DAY0, DAY_MS, HOUR_MS, PRICE, FuelWorld, amount_of, find

Spec = dict[str, Any]


class Run:
    """A store fed batch by batch, as the sync feeds it."""

    def __init__(self, store: st.Store, world: FuelWorld) -> None:
        self.store, self.w, self.next = store, world, 0
        self.batch(world.registry())

    def batch(self, records: list[Record | Spec]) -> None:
        records = self.w.sign_all(records)
        entries = [(self.next + i, r) for i, r in enumerate(records)]
        self.next += len(entries)
        with self.store.transaction() as conn:
            summary = apply_records(conn, entries)
            analyse_batch(conn, summary)

    def findings(self) -> list[dict]:
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(st.anomalies)).mappings()]

    def rules(self) -> Counter[str]:
        return Counter(f["rule_id"] for f in self.findings())


def tick_totalizer(specs: list[Spec], did: str, nozzle: int, at: int, **change: int) -> Spec:
    """A later reading of a nozzle's totalizer equal to the day's closing one (no fuelling
    between): moves the station's data time without changing any balance."""
    closing = [s for s in specs if s["type"] == "totalizer" and s["body"]["dispenser_id"] == did]
    body = dict([s for s in closing if s["body"]["nozzle"] == nozzle][-1]["body"])
    body.update(at_ms=at, **change)
    return {**closing[-1], "body": body}


def day_and_tick(w: FuelWorld, specs: list[Spec], at: int) -> list[Spec]:
    return [*specs, tick_totalizer(specs, "FD1", 1, at)]


@pytest.fixture
def world() -> FuelWorld:
    return FuelWorld()


def test_every_rule_is_catalogued_with_both_languages():
    for n in range(1, 11):
        rule = CATALOGUE[f"F{n:02d}"]
        assert rule.title_zh and rule.title_en and rule.explain_zh and rule.explain_en
    assert CATALOGUE["F08"].severity == "critical"


def test_a_clean_day_gives_no_finding(fuelmodel_store, world):
    run = Run(fuelmodel_store, world)
    specs = world.clean_day(per_nozzle=12)
    run.batch(specs[: len(specs) // 2])
    run.batch(specs[len(specs) // 2 :])
    # the next days: a reading past every grace (F04 one day, F09/F10 the day's end + 1 h)
    level = specs[-1]["body"]
    run.batch(
        [
            tick_totalizer(specs, "FD1", 1, DAY0 + 2 * DAY_MS),
            {**specs[-1], "body": {**level, "at_ms": DAY0 + DAY_MS + 2 * HOUR_MS}},
        ]
    )
    assert run.findings() == []


# ---- F01 / F02: totalizers ------------------------------------------------------------


@pytest.mark.parametrize(("extra_ml", "fires"), [(10, False), (11, True), (-11, True)])
def test_f01_fuellings_against_the_totalizer_at_one_display_step(
    fuelmodel_store, world, extra_ml, fires
):
    specs = world.clean_day()
    closing = [s["body"] for s in specs if s["type"] == "totalizer"][-1]
    closing["volume_total_ml"] += extra_ml
    closing["tax_volume_total_ml"] += extra_ml  # the tax box follows: F01 only
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.rules() == (Counter({"F01": 1}) if fires else Counter())


@pytest.mark.parametrize(
    ("field", "delta", "fires"),
    [
        ("tax_volume_total_ml", -10, False),
        ("tax_volume_total_ml", -11, True),
        ("tax_amount_total_fen", -1, False),
        ("tax_amount_total_fen", -2, True),
    ],
)
def test_f02_tax_box_against_the_dispenser_totals(fuelmodel_store, world, field, delta, fires):
    specs = world.clean_day()
    closing = [s["body"] for s in specs if s["type"] == "totalizer"][-1]
    closing[field] += delta  # back-office software cuts the tax box's totals
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.rules() == (Counter({"F02": 1}) if fires else Counter())


# ---- F03: amount = volume × unit price -------------------------------------------------


@pytest.mark.parametrize(("amount", "fires"), [(23_550, False), (23_551, False), (23_552, True)])
def test_f03_30_litres_at_7_85_is_235_50_yuan(fuelmodel_store, world, amount, fires):
    specs = world.clean_day(volumes={"FD1-1-0-0": 30_000})
    fuelling = find(specs, "fuelling", fuelling_id="FD1-1-0-0")
    assert (fuelling["volume_ml"], fuelling["price_fen_l"], fuelling["amount_fen"]) == (
        30_000,
        785,
        23_550,
    )
    fuelling["amount_fen"] = amount
    find(specs, "fuel_sale", fuelling_id="FD1-1-0-0")["amount_fen"] = amount
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.rules() == (Counter({"F03": 1}) if fires else Counter())
    if fires:
        [f] = run.findings()
        assert (f["pile_id"], f["meter_id"], f["detail"]["expected_fen"]) == (
            "FD1",
            "FD1#1",
            23_550,
        )


# ---- F04: POS sale vs fuelling ---------------------------------------------------------


def test_f04_a_sale_that_differs_from_its_fuelling(fuelmodel_store, world):
    specs = world.clean_day()
    find(specs, "fuel_sale", fuelling_id="FD2-1-0-3")["volume_ml"] -= 10
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    [f] = run.findings()
    assert (f["rule_id"], f["pile_id"], f["detail"]["kind"]) == ("F04", "FD2", "mismatch")


@pytest.mark.parametrize(("after_ms", "fires"), [(DAY_MS - 1, False), (DAY_MS, True)])
def test_f04_a_fuelling_with_no_sale_one_day_later(fuelmodel_store, world, after_ms, fires):
    specs = world.clean_day()
    fuelling = find(specs, "fuelling", fuelling_id="FD1-2-0-5")
    specs = [s for s in specs if s["body"].get("sale_id") != "POS-FD1-2-0-5"]
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.findings() == []  # not yet: the POS may post late
    run.batch([tick_totalizer(specs, "FD1", 1, fuelling["stop_ms"] + after_ms)])
    got = [(f["rule_id"], f["detail"]["kind"]) for f in run.findings()]
    assert got == ([("F04", "no sale")] if fires else [])


def test_f04_a_sale_naming_no_fuelling(fuelmodel_store, world):
    specs = world.clean_day()
    ghost = dict(find(specs, "fuel_sale", fuelling_id="FD1-1-0-1"))
    ghost.update(sale_id="POS-GHOST", fuelling_id="FD1-1-0-GHOST")
    specs.append({"type": "fuel_sale", "key": world.op1, "body": ghost})
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    run.batch([tick_totalizer(specs, "FD1", 1, ghost["at_ms"] + DAY_MS)])
    [f] = run.findings()
    assert (f["rule_id"], f["detail"]) == (
        "F04",
        {"kind": "no fuelling", "fuelling_id": "FD1-1-0-GHOST"},
    )


# ---- F05: the posted price -------------------------------------------------------------


@pytest.mark.parametrize(("valid_from_delta", "fires"), [(0, False), (1, True)])
def test_f05_price_against_the_price_posted_at_the_start(
    fuelmodel_store, world, valid_from_delta, fires
):
    """The station posts 7.90 yuan/L from exactly the fuelling's start (valid: no
    finding) or 1 ms after it (the fuelling charged a price not yet posted)."""
    specs = world.clean_day()
    fuelling = find(specs, "fuelling", fuelling_id="FD1-1-0-2")
    fuelling["price_fen_l"] = 790
    fuelling["amount_fen"] = amount_of(fuelling["volume_ml"], 790)
    sale = find(specs, "fuel_sale", fuelling_id="FD1-1-0-2")
    sale.update(price_fen_l=790, amount_fen=fuelling["amount_fen"])
    run = Run(fuelmodel_store, world)
    run.batch([world.price(790, fuelling["start_ms"] + valid_from_delta)])
    run.batch(specs)
    # the next fuellings, at the old price, are then off the new posted price too
    later = {r["rule_id"] for r in run.findings()} - {"F05"}
    assert later == set()
    wrong = [f for f in run.findings() if f["detail"].get("price_fen_l") == 790]
    assert len(wrong) == (1 if fires else 0)
    if fires:
        assert wrong[0]["detail"]["posted_fen_l"] == PRICE


def _open(run: Run) -> Counter[str]:
    return Counter(f["rule_id"] for f in run.findings() if f["closed_at"] is None)


def test_a_fuelling_synced_after_the_readings_around_it_closes_what_its_absence_raised(
    fuelmodel_store, world
):
    """The log's order is arrival order: a station posting on several connections can get
    a nozzle's closing reading and its next fuelling into the log before a fuelling that
    happened earlier. What the gap raised (F01: Σ fuellings short of Δ totalizer; F06: the
    next fuelling starting off the previous total) is closed when the fuelling arrives,
    with an audit entry naming it, and a real fault in the same interval stays open."""
    specs = world.clean_day()
    late = next(
        s for s in specs if s["type"] == "fuelling" and s["body"]["fuelling_id"] == "FD1-2-0-3"
    )
    run = Run(fuelmodel_store, world)
    run.batch([s for s in specs if s is not late])
    assert _open(run) == Counter({"F01": 1, "F06": 1})
    run.batch([late])
    assert _open(run) == Counter()
    closed = [f for f in run.findings() if f["closed_at"] is not None]
    assert {f["closed_entry"] for f in closed} == {run.next - 1}
    with fuelmodel_store.engine.connect() as conn:
        audit = (
            conn.execute(
                select(st.audit_log.c.detail).where(st.audit_log.c.action == "anomaly.closed")
            )
            .scalars()
            .all()
        )
    assert sorted(a["rule_id"] for a in audit) == ["F01", "F06"]


def test_a_late_fuelling_does_not_close_a_real_shortfall_in_its_interval(fuelmodel_store, world):
    specs = world.clean_day()
    closing = [s["body"] for s in specs if s["type"] == "totalizer"][-2]  # FD1 nozzle 2
    assert (closing["dispenser_id"], closing["nozzle"]) == ("FD1", 2)
    closing["volume_total_ml"] += 11
    closing["tax_volume_total_ml"] += 11
    late = next(
        s for s in specs if s["type"] == "fuelling" and s["body"]["fuelling_id"] == "FD1-2-0-3"
    )
    run = Run(fuelmodel_store, world)
    run.batch([s for s in specs if s is not late])
    run.batch([late])
    assert _open(run) == Counter({"F01": 1})
    [f01] = [f for f in run.findings() if f["rule_id"] == "F01" and f["closed_at"] is None]
    assert f01["detail"]["delta_totalizer_ml"] - f01["detail"]["fuellings_ml"] == 11


def test_fuellings_synced_in_reverse_order_leave_no_finding(fuelmodel_store, world):
    """Worst case of arrival order: every fuelling of the day, newest first, one batch each,
    after the readings."""
    specs = world.clean_day()
    fuellings = [s for s in specs if s["type"] == "fuelling"]
    run = Run(fuelmodel_store, world)
    run.batch([s for s in specs if s["type"] != "fuelling"])
    for f in reversed(fuellings):
        run.batch([f])
    assert _open(run) == Counter()


# ---- F06: totalizer backwards or jumping ---------------------------------------------


@pytest.mark.parametrize(
    ("delta", "severity"), [(0, None), (10, "high"), (-10, "critical"), (-1, "critical")]
)
def test_f06_a_fuelling_starting_off_the_previous_total(fuelmodel_store, world, delta, severity):
    specs = world.clean_day()
    last = find(specs, "fuelling", fuelling_id="FD1-2-0-5")
    last["total_before_ml"] += delta
    last["total_after_ml"] += delta
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    got = [(f["rule_id"], f["severity"]) for f in run.findings()]
    assert got == ([("F06", severity)] if severity else [])


@pytest.mark.parametrize(("delta", "fires"), [(0, False), (-1, True)])
def test_f06_a_totalizer_reading_below_the_previous_one(fuelmodel_store, world, delta, fires):
    specs = world.clean_day()
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    closing = [s for s in specs if s["type"] == "totalizer"][-1]["body"]
    tick = tick_totalizer(
        specs,
        closing["dispenser_id"],
        closing["nozzle"],
        DAY0 + DAY_MS + HOUR_MS,
        volume_total_ml=closing["volume_total_ml"] + delta,
        tax_volume_total_ml=closing["volume_total_ml"] + delta,
    )
    run.batch([tick])
    got = [(f["rule_id"], f["severity"]) for f in run.findings()]
    assert got == ([("F06", "critical")] if fires else [])


# ---- F07: replaced component, not initialised ---------------------------------------


@pytest.mark.parametrize(("init_after_ms", "fires"), [(7 * DAY_MS, False), (7 * DAY_MS + 1, True)])
def test_f07_a_replaced_encoder_needs_an_inspectors_initialisation_within_7_days(
    fuelmodel_store, world, init_after_ms, fires
):
    specs = world.clean_day()
    t = DAY0 + 20 * HOUR_MS
    run = Run(fuelmodel_store, world)
    run.batch([*specs, world.component("FD2", t)])
    run.batch([world.component_init("FD2", t + init_after_ms)])
    assert run.findings() == []
    run.batch([tick_totalizer(specs, "FD1", 1, t + 7 * DAY_MS + 2 * HOUR_MS)])
    got = [(f["rule_id"], f["pile_id"], f["detail"]["new_id"]) for f in run.findings()]
    assert got == ([("F07", "FD2", "EN-NEW")] if fires else [])


def test_f07_an_initialisation_of_another_component_id_does_not_count(fuelmodel_store, world):
    specs = world.clean_day()
    t = DAY0 + 20 * HOUR_MS
    run = Run(fuelmodel_store, world)
    run.batch([*specs, world.component("FD2", t), world.component_init("FD2", t, "EN-OTHER")])
    run.batch([tick_totalizer(specs, "FD1", 1, t + 8 * DAY_MS)])
    assert run.rules() == Counter({"F07": 1})


# ---- F08: seals (alarm in the batch; dispenser status) ------------------------------


def test_f08_a_closed_seal_event_is_no_finding(fuelmodel_store, world):
    run = Run(fuelmodel_store, world)
    run.batch([world.seal("FD1", DAY0 + HOUR_MS, "closed")])
    assert run.findings() == []


def test_f08_seal_opened_alarms_in_the_same_sync_and_sets_the_dispenser_status(
    fuelmodel_store, world, tmp_path, fuelmodel_checker
):
    from tests.fuel.test_projection import publish, rows
    from tests.models.test_hostile_log import sync_all

    data = tmp_path / "platform"
    registry = world.registry()
    publish(data, registry)
    assert sync_all(fuelmodel_store, data, len(registry), fuelmodel_checker)[1] is None
    assert {r["status"] for r in rows(fuelmodel_store, ft.dispensers)} == {"normal"}
    opened = world.seal("FD1", DAY0 + HOUR_MS, "tamper")
    publish(data, [opened])
    assert sync_all(fuelmodel_store, data, len(registry) + 1, fuelmodel_checker)[1] is None
    # right after the sync that brought the seal event: the finding, the alarm, the status
    [finding] = rows(fuelmodel_store, st.anomalies)
    assert (finding["rule_id"], finding["pile_id"], finding["evidence"]) == (
        "F08",
        "FD1",
        [len(registry)],
    )
    [alarm] = rows(fuelmodel_store, st.alarms)
    assert (alarm["rule_id"], alarm["pile_id"], alarm["severity"], alarm["state"]) == (
        "F08",
        "FD1",
        "critical",
        "new",
    )
    assert alarm["title_zh"] == CATALOGUE["F08"].title_zh
    status = {r["dispenser_id"]: r["status"] for r in rows(fuelmodel_store, ft.dispensers)}
    assert status == {"FD1": "seal_open", "FD2": "normal"}
    # resolving the alarm (re-sealed on site) puts the dispenser back to normal
    regulator = Session(7, "li", "李监管", "regulator")
    alarms.resolve(fuelmodel_store, alarm["id"], regulator, "re-sealed on site")
    status = {r["dispenser_id"]: r["status"] for r in rows(fuelmodel_store, ft.dispensers)}
    assert status == {"FD1": "normal", "FD2": "normal"}


def test_a_high_finding_sets_the_dispenser_to_alarm(fuelmodel_store, world):
    specs = world.clean_day()
    find(specs, "fuel_sale", fuelling_id="FD2-1-0-3")["amount_fen"] += 5
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    with fuelmodel_store.engine.connect() as conn:
        status = dict(
            conn.execute(select(ft.dispensers.c.dispenser_id, ft.dispensers.c.status)).all()
        )
    assert status == {"FD1": "normal", "FD2": "alarm"}


# ---- F09: wet stock --------------------------------------------------------------------


@pytest.mark.parametrize(("over_ml", "fires"), [(50_000, False), (50_001, True), (-50_001, True)])
def test_f09_a_tank_losing_less_than_the_sales_say(fuelmodel_store, world, over_ml, fires):
    """A cheat board over-counts litres: the closing level stays higher than opening +
    deliveries − sales. The day sells ~0.5 m³, so the 50 L floor is the tolerance."""
    specs = world.clean_day()
    closing = [s for s in specs if s["type"] == "tank_level"][-1]
    closing["body"]["volume_ml"] += over_ml
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.findings() == []  # the day is judged an hour after its end
    later = {**closing, "body": {**closing["body"], "at_ms": DAY0 + DAY_MS + HOUR_MS}}
    run.batch([later])
    found = run.findings()
    assert [f["rule_id"] for f in found] == (["F09"] if fires else [])
    if fires:
        detail = found[0]["detail"]
        assert (found[0]["pile_id"], detail["loss_ml"], detail["tolerance_ml"]) == (
            "T1",
            -over_ml,
            50_000,
        )
        assert detail["sales_ml"] == sum(
            s["body"]["volume_ml"] for s in specs if s["type"] == "fuelling"
        )
    # judged once: a further reading the same morning judges nothing again
    run.batch([{**closing, "body": {**closing["body"], "at_ms": DAY0 + DAY_MS + 2 * HOUR_MS}}])
    assert len(run.findings()) == (1 if fires else 0)


def test_f09_tolerance_is_half_a_percent_of_a_busy_days_sales(fuelmodel_store, world):
    """40 fuellings a nozzle (~4.3 m³ sold): 0.5 % is above 50 L."""
    specs = world.clean_day(per_nozzle=40)
    sold = sum(s["body"]["volume_ml"] for s in specs if s["type"] == "fuelling")
    tolerance = sold * 5 // 1000
    assert tolerance > 50_000
    closing = [s for s in specs if s["type"] == "tank_level"][-1]
    closing["body"]["volume_ml"] += tolerance  # within
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    run.batch([{**closing, "body": {**closing["body"], "at_ms": DAY0 + DAY_MS + HOUR_MS}}])
    assert run.findings() == []


# ---- F10: round amounts ----------------------------------------------------------------


def _round_day(world: FuelWorld, volume: int) -> list[Spec]:
    """FD1 sells 12 of its 24 fuellings at ``volume`` (FD2: 12 ordinary ones)."""
    return world.clean_day(
        per_nozzle=12, volumes={f"FD1-{n}-0-{k}": volume for n in (1, 2) for k in range(0, 12, 2)}
    )


def _next_morning(world: FuelWorld, specs: list[Spec]) -> list[Spec]:
    """FD2's first fuelling of the next day, an hour past the day's end."""
    closing = [s for s in specs if s["type"] == "totalizer" and s["body"]["dispenser_id"] == "FD2"]
    total = closing[-1]["body"]["volume_total_ml"]
    start = DAY0 + DAY_MS + HOUR_MS
    body = dict(find(specs, "fuelling", fuelling_id="FD2-1-0-0"))
    body.update(
        fuelling_id="FD2-1-1-0",
        start_ms=start,
        stop_ms=start + 60_000,
        total_before_ml=total,
        total_after_ml=total + body["volume_ml"],
    )
    sale = {**world._sale_body(body)}
    return [
        {"type": "fuelling", "key": world.fd2, "body": body},
        {"type": "fuel_sale", "key": world.op1, "body": sale},
    ]


@pytest.mark.parametrize(
    ("volume", "amount", "fires"), [(25_414, 19_950, True), (25_478, 20_000, False)]
)
def test_f10_a_dispenser_whose_fuellings_end_just_under_round_amounts(
    fuelmodel_store, world, volume, amount, fires
):
    """¥199.50 (just under ¥200) on half of FD1's day fires; exactly ¥200.00 — an honest
    preset — does not."""
    assert amount_of(volume, PRICE) == amount
    specs = _round_day(world, volume)
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    assert run.findings() == []
    run.batch(_next_morning(world, specs))
    found = run.findings()
    assert [(f["rule_id"], f["pile_id"]) for f in found] == ([("F10", "FD1")] if fires else [])
    if fires:
        assert len(found[0]["evidence"]) == 12
        assert found[0]["detail"]["p_value"] < fr.ROUND_P_VALUE


def test_binomial_tail_against_exact_values():
    assert fr.binomial_tail(0, 10, 0.3) == 1.0
    assert fr.binomial_tail(10, 10, 0.5) == pytest.approx(1 / 1024)
    assert fr.binomial_tail(9, 10, 0.5) == pytest.approx(11 / 1024)
    assert fr.binomial_tail(1, 3, 0.2) == pytest.approx(1 - 0.8**3)


def test_local_day_is_beijing_time():
    assert fr.local_day_start(DAY0) == DAY0
    assert fr.local_day_start(DAY0 - 1) == DAY0 - DAY_MS
    assert fr.local_day_start(DAY0 + DAY_MS - 1) == DAY0


def test_a_charging_full_rescan_leaves_fuel_findings_open(fuelmodel_store, world):
    """The charging engine's rescan closes the findings *it* no longer derives; fuel
    findings are not its to close."""
    from app.models.charging import rules as charging

    specs = world.clean_day()
    find(specs, "fuel_sale", fuelling_id="FD2-1-0-3")["volume_ml"] -= 10
    run = Run(fuelmodel_store, world)
    run.batch(specs)
    charging.full_rescan(fuelmodel_store)
    [f] = run.findings()
    assert (f["rule_id"], f["closed_at"]) == ("F04", None)


def _verification(world, did: str, at: int, seal_closed: bool = True):
    """The inspector's JJG 443 verification of nozzle 1, re-sealing the dispenser."""
    body = {
        "verification_id": f"V-{did}-{at}",
        "dispenser_id": did,
        "nozzle": 1,
        "inspector_id": "INS1",
        "at_ms": at,
        "kind": "periodic",
        "regulation": "JJG 443-2023",
        "points": [{"flow_ml_min": 40_000, "runs": [], "error_ppm": 500}],
        "result": "pass",
        "certificate_no": f"C-{did}",
        "next_due": "2026-07-01",
        "seal_closed": seal_closed,
    }
    return sign_record("fuel_verification", body, world.insp)


def test_f08_an_opening_the_inspectors_verification_closes_is_no_finding(fuelmodel_store, world):
    """As R11 for piles: the inspector breaks the seal to verify and seals again."""
    run = Run(fuelmodel_store, world)
    run.batch([world.seal("FD1", DAY0 + HOUR_MS), _verification(world, "FD1", DAY0 + 2 * HOUR_MS)])
    assert run.findings() == []


def test_f08_a_later_seal_closing_verification_closes_the_finding_and_resolves_its_alarm(
    fuelmodel_store, world
):
    run = Run(fuelmodel_store, world)
    run.batch([world.seal("FD1", DAY0 + HOUR_MS)])
    [finding] = run.findings()
    with fuelmodel_store.engine.connect() as conn:
        [alarm] = conn.execute(select(st.alarms)).mappings().all()
    assert (finding["rule_id"], finding["closed_at"], alarm["state"]) == ("F08", None, "new")
    # a verification that leaves the seal open closes nothing
    run.batch([_verification(world, "FD1", DAY0 + 2 * HOUR_MS, seal_closed=False)])
    assert run.findings()[0]["closed_at"] is None
    run.batch([_verification(world, "FD1", DAY0 + 3 * HOUR_MS)])
    [finding] = run.findings()
    with fuelmodel_store.engine.connect() as conn:
        [alarm] = conn.execute(select(st.alarms)).mappings().all()
        status = conn.execute(
            select(ft.dispensers.c.status).where(ft.dispensers.c.dispenser_id == "FD1")
        ).scalar_one()
    assert finding["closed_at"] is not None and finding["closed_entry"] == run.next - 1
    assert (alarm["state"], status) == ("resolved", "normal")


def test_f08_a_verification_of_another_dispenser_or_before_the_opening_closes_nothing(
    fuelmodel_store, world
):
    run = Run(fuelmodel_store, world)
    run.batch([_verification(world, "FD1", DAY0), world.seal("FD1", DAY0 + HOUR_MS)])
    run.batch([_verification(world, "FD2", DAY0 + 2 * HOUR_MS)])
    [finding] = run.findings()
    assert (finding["rule_id"], finding["closed_at"]) == ("F08", None)
